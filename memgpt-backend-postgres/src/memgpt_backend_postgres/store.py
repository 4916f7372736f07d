"""Connections: one SQLAlchemy engine (with its pool) per process and URI, and the schema."""

from __future__ import annotations

import atexit
import functools
import logging
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError

from memgpt.plugin import Connector, ConnectorCache, StorageError, StorageUnavailable, Store, Table
from memgpt_backend_postgres.errors import PGVECTOR_HINT, ConnectionLost, is_disconnect, translated
from memgpt_backend_postgres.schema import (
    LOCK_KEY,
    SCHEMA_VERSION,
    VERSION_TABLE,
    create_statements,
    schema_relations,
    upgrade_statements,
)

# SQLAlchemy's pool logs a failed close of a dead connection (pg8000 cannot say goodbye on a closed socket) with its
# traceback, which Python prints on stderr when nothing configured logging; the lost connection is reported in one
# line instead, so that logger gets a quiet handler (an application's own logging still receives the record).
logging.getLogger("sqlalchemy.pool").addHandler(logging.NullHandler())


def _no_delay(dbapi_connection: Any, _record: Any) -> None:
    """Turn off Nagle's algorithm on a new pg8000 connection (pg8000 leaves it on).

    pg8000 writes a statement in more than one segment when it is larger than
    its 8 KiB buffer (a 384-d query vector already is); with Nagle on, the last
    segment waits for the server's delayed ACK: measured 40 ms added to
    searches that take 10 ms.
    """
    sock = getattr(dbapi_connection, "_usock", None)
    if isinstance(sock, socket.socket) and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


PING_AFTER_IDLE_SECONDS = 30.0
"""A pooled connection unused for longer is asked ``SELECT 1`` before it is handed out (see :func:`_check_alive`)."""
_IDLE_SINCE = "memgpt_idle_since"


def _idle_from_now(_dbapi_connection: Any, record: Any) -> None:
    """Pool ``checkin``: remember when the connection went back to the pool."""
    record.info[_IDLE_SINCE] = time.monotonic()


def _check_alive(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Pool ``checkout``: hand out a connection only if its server is still there (else the pool makes another).

    SQLAlchemy's ``pool_pre_ping`` asks ``SELECT 1`` at every checkout: one
    round trip on every operation (an agent's count took 1.6 ms against its
    client's 0.9). An idle connection has nothing to read, while a server that
    shut down or restarted has sent its farewell and closed the socket, so a
    connection whose socket is readable is dropped, with no round trip. One
    unused for more than :data:`PING_AFTER_IDLE_SECONDS` (which a firewall or
    proxy may have cut silently) is still pinged.
    """
    idle = time.monotonic() - record.info.get(_IDLE_SINCE, time.monotonic())
    sock = getattr(dbapi_connection, "_usock", None)
    if idle <= PING_AFTER_IDLE_SECONDS and isinstance(sock, socket.socket):
        try:
            readable, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError) as exc:  # closed socket
            raise DisconnectionError(str(exc)) from exc
        if readable:
            raise DisconnectionError("the server closed the connection")
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("SELECT 1")
            cursor.fetchall()
        finally:
            cursor.close()
        dbapi_connection.rollback()
    except Exception as exc:
        raise DisconnectionError(str(exc)) from exc


def _mark_disconnects(context: Any) -> None:
    """Engine ``handle_error``: a connection that died is dropped from the pool, whatever pg8000 raised.

    SQLAlchemy only asks the dialect about errors of the driver's own classes;
    pg8000 lets some resets through as a bare ``ConnectionResetError``, and a
    session the server ended answers with SQLSTATE 57P01. Without this the dead
    connection would go back to the pool and fail the next operation too.
    """
    if is_disconnect(context.original_exception):
        context.is_disconnect = True


_P = ParamSpec("_P")
_T = TypeVar("_T")


def reconnecting(operation: Callable[_P, _T]) -> Callable[_P, _T]:
    """Run ``operation`` once more, on a new connection, when the one it had died under it.

    The pool's check at checkout costs no round trip (see :func:`_check_alive`),
    so a server that ends a session just then (a restart, a failover,
    ``pg_terminate_backend``) is only seen by the operation's first statement;
    without this, that one call would fail although the server is up again.
    Every operation decorated so is safe to run twice: reads, the upsert
    (``ON CONFLICT DO UPDATE`` with the same values), ``IF NOT EXISTS`` DDL.
    A delete whose commit reached the server just before the connection died
    deletes nothing the second time and reports 0. A second loss is reported.
    """

    @functools.wraps(operation)
    def once_more(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        try:
            return operation(*args, **kwargs)
        except ConnectionLost:
            return operation(*args, **kwargs)

    return once_more


POOL_SIZE = 5
MAX_OVERFLOW = 5
CONNECT_TIMEOUT_SECONDS = 10


class _Engines:
    """Process-wide engines by URI, created once; schema checked once per engine."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.engines: dict[str, Engine] = {}
        self.ready: set[str] = set()

    def get(self, uri: str) -> Engine:
        with self.lock:
            engine = self.engines.get(uri)
            if engine is None:
                engine = self.engines[uri] = create_engine(
                    uri,
                    pool_size=POOL_SIZE,
                    max_overflow=MAX_OVERFLOW,
                    pool_recycle=1800,
                    connect_args={"application_name": "memgpt"},
                )
                event.listen(engine, "connect", _no_delay)
                event.listen(engine, "checkin", _idle_from_now)
                event.listen(engine, "checkout", _check_alive)
                event.listen(engine, "handle_error", _mark_disconnects)
            return engine

    def dispose_all(self) -> None:
        with self.lock:
            for engine in self.engines.values():
                engine.dispose()
            self.engines.clear()
            self.ready.clear()


ENGINES = _Engines()
atexit.register(ENGINES.dispose_all)


class PostgresStore(ConnectorCache, Store):
    """A PostgreSQL database opened through the process's pooled engine for its URI."""

    persistent = True

    def __init__(self, uri: str) -> None:
        url = make_url(uri)
        self.uri = uri
        self.where = f"{url.host}:{url.port or 5432}/{url.database}"
        self.password = url.password
        self.engine = ENGINES.get(uri)
        self.ensure_schema()

    def errors(self) -> Any:
        """Context manager turning driver errors into one-line memgpt errors (password masked)."""
        return translated(self.where, self.password)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction on a pooled connection (returned to the pool on every path)."""
        with self.errors(), self.engine.begin() as conn:
            yield conn

    def _probe(self, host: str, port: int) -> None:
        """Fail fast, in one line, when nothing answers at host:port (pg8000 has no connect-only timeout)."""
        try:
            with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_SECONDS):
                pass
        except OSError as exc:
            raise StorageUnavailable(
                f"cannot reach PostgreSQL at {host}:{port} ({exc.strerror or exc}); is the server running?"
            ) from None

    @reconnecting
    def _schema_is_current(self) -> bool:
        """Whether every table and index of this schema version exists: two reads, no lock, nothing created.

        The usual open of a store some process already set up. Measured on a
        local server, the whole check with its advisory lock and its twenty
        ``IF NOT EXISTS`` statements (each answered with a notice) took about
        30 ms of every new process.
        """
        names = schema_relations()
        with self.begin() as conn:
            present = conn.execute(
                text("SELECT count(*) FROM unnest(CAST(:names AS text[])) AS n WHERE to_regclass(n) IS NOT NULL"),
                {"names": names},
            ).scalar()
            if present != len(names):
                return False
            return bool(conn.execute(text(f"SELECT max(version) FROM {VERSION_TABLE}")).scalar() == SCHEMA_VERSION)

    def ensure_schema(self) -> None:
        if self.uri in ENGINES.ready:
            return
        url = make_url(self.uri)
        self._probe(url.host or "localhost", url.port or 5432)
        if not self._schema_is_current():
            self._create_schema()
        ENGINES.ready.add(self.uri)

    @reconnecting
    def _create_schema(self) -> None:
        """Create (or upgrade) every table and index, under the schema's advisory lock, in one transaction."""
        with self.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            available = conn.execute(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
            if available is None:
                raise StorageError(f"PostgreSQL at {self.where} has no pgvector extension; {PGVECTOR_HINT}")
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(text(f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (version INTEGER NOT NULL)"))
            version = conn.execute(text(f"SELECT max(version) FROM {VERSION_TABLE}")).scalar()
            if version is not None and version > SCHEMA_VERSION:
                raise StorageError(
                    f"the memgpt tables at {self.where} have schema version {version}; this memgpt knows {SCHEMA_VERSION}: "
                    "upgrade memgpt-backend-postgres"
                )
            for statement in create_statements():
                conn.execute(text(statement))
            # Tables of an earlier release are upgraded here, in this one transaction: all of it or nothing.
            for step in range(version or SCHEMA_VERSION, SCHEMA_VERSION):
                for statement in upgrade_statements(step):
                    conn.execute(text(statement))
            if version != SCHEMA_VERSION:
                conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))
                conn.execute(text(f"INSERT INTO {VERSION_TABLE} (version) VALUES (:v)"), {"v": SCHEMA_VERSION})

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        from memgpt_backend_postgres.connector import PostgresConnector

        return PostgresConnector(self, table, shelf)

    @reconnecting
    def ping(self) -> None:
        with self.begin() as conn:
            conn.execute(text("SELECT 1"))

    def close(self) -> None:
        """Nothing to release: connections go back to the process's pool after every transaction."""
        self.forget_connectors()
