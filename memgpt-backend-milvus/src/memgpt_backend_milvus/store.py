"""Milvus clients: one per process and URI.

A Milvus Lite file can be open in one process at a time (its embedded server
locks it). memgpt processes take turns: a store holds the file's lock
(``<file>.memgpt.lock``) from open to close, and another process waits for it
(up to ``MEMGPT_LOCK_TIMEOUT`` seconds, default 60) before failing in one line
that says to run a Milvus server for concurrent use.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from memgpt.plugin import (
    EngineStore,
    MemGPTError,
    ProcessLock,
    SharedClients,
    StorageError,
    StorageLocked,
    StorageUnavailable,
    lock_timeout,
    private_dirs,
    process_lock,
)

# milvus-lite and pymilvus log errors (with tracebacks) that Python would print on stderr when
# nothing is configured; memgpt reports the same errors in one line, so give them a quiet handler.
for _name in ("milvus_lite", "pymilvus", "grpc._server"):
    logging.getLogger(_name).addHandler(logging.NullHandler())


def _quiet_query_iterator() -> None:
    """Milvus Lite has no MVCC timestamp call: pymilvus' query iterator warns on every use (on its own
    stderr handler) and falls back correctly. Called after pymilvus is imported: its ``dictConfig``
    resets the level of every ``pymilvus.*`` logger configured before."""
    logging.getLogger("pymilvus.client.iterator.query_iterator").setLevel(logging.ERROR)


LITE_FILES: dict[int, tuple[str, ProcessLock]] = {}
"""Milvus Lite file of each open Lite client (by ``id``) and memgpt's lock on it, released on close."""


def _close_client(client: Any) -> None:
    """Close a client; for a Lite file also stop its embedded server, which holds the file's lock
    until the process exits otherwise (so the next ``memgpt`` process could not open the file), then
    let the next process have its turn."""
    try:
        client.close()
    finally:
        entry = LITE_FILES.pop(id(client), None)
        if entry is not None:
            path, lock = entry
            try:
                from milvus_lite.server_manager import server_manager_instance

                release = getattr(server_manager_instance, "release_server", None)
                if release is not None:
                    release(path)
            finally:
                lock.release()


CLIENTS: SharedClients[Any] = SharedClients(close=_close_client)


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


NOT_LOADED_CODE = 101
"""pymilvus' ``CollectionNotLoaded``: the collection exists but is not in the server's memory."""
CANNOT_CONNECT_CODE = 2
"""pymilvus' ``CONNECTION_NOT_EXIST`` / "Fail connecting to server": a call that found no server."""
CONNECT_TIMEOUT_S = 10.0
"""How long connecting to a Milvus server may take."""


class ServerClient:
    """A ``MilvusClient`` for a Milvus server that outlives the server's restart under a running process.

    Measured with ``milvus-lite server`` restarted under a process holding a
    store, two things went wrong until that process was restarted too:

    * every read of a collection failed with "is in state 'released'; call
      load()": the restarted server had not loaded it again, and memgpt loads
      a collection once, when a process first opens it;
    * a process that had called while the server was down kept failing with
      "Fail connecting to server" once it was back: gRPC waits out a reconnect
      backoff that grows with every failed attempt (up to two minutes).

    So a call failing because its collection is not loaded is made again
    after loading it, and one failing to connect while the server's port
    accepts connections again is made again on a new client (after a restart
    a call may need both, each once). The same failure twice, or a server
    that is still down, is reported as usual. Every call
    memgpt makes is safe to repeat (reads, upserts, deletes by filter,
    ``load_collection``); creating a collection that the first call did
    create is caught where it is made (``ensure_embedding_spec``).
    """

    def __init__(self, uri: str) -> None:
        from pymilvus import MilvusClient

        self.uri = uri
        self.client = MilvusClient(uri=uri, timeout=CONNECT_TIMEOUT_S)
        self._swap = threading.Lock()

    def _server_answers(self) -> bool:
        address = urlsplit(self.uri)
        try:
            with socket.create_connection((address.hostname or "localhost", address.port or 19530), timeout=2):
                return True
        except OSError:
            return False

    def _reconnect(self, stale: Any) -> None:
        """A client on a new channel in place of ``stale`` (unless another thread replaced it already)."""
        from pymilvus import MilvusClient

        with self._swap:
            if self.client is not stale:
                return
            deadline = time.monotonic() + CONNECT_TIMEOUT_S
            while True:
                try:
                    self.client = MilvusClient(uri=self.uri, timeout=CONNECT_TIMEOUT_S, dedicated=True)
                    break
                except Exception:  # a server accepts connections a moment before it serves them (measured: 0.15 s)
                    if time.monotonic() >= deadline or not self._server_answers():
                        raise
                    time.sleep(0.1)
        try:
            stale.close()
        except Exception:  # its channel is dead already: nothing to say goodbye to
            pass

    def close(self) -> None:
        self.client.close()

    def __getattr__(self, name: str) -> Any:
        if not callable(getattr(self.client, name)):
            return getattr(self.client, name)

        def once_more(*args: Any, **kwargs: Any) -> Any:
            recovered: set[int] = set()
            while True:
                client = self.client
                try:
                    return getattr(client, name)(*args, **kwargs)
                except Exception as exc:
                    code = getattr(exc, "code", None)
                    collection = kwargs.get("collection_name", args[0] if args else None)
                    if code in recovered:
                        raise
                    if code == NOT_LOADED_CODE and isinstance(collection, str):
                        client.load_collection(collection)
                    elif code == CANNOT_CONNECT_CODE and self._server_answers():
                        self._reconnect(client)
                    else:
                        raise
                    recovered.add(code)

        return once_more


def _connect(uri: str) -> Any:
    from pymilvus import MilvusClient

    _quiet_query_iterator()
    if "://" in uri:
        with MilvusStore.translated(uri):
            server = ServerClient(uri)
            server.list_collections()
        return server
    private_dirs(Path(uri).parent)
    hint = (
        "; Milvus Lite serves one process at a time: for several at once, run a Milvus server "
        "(`milvus-lite server --data-dir DIR --host 127.0.0.1 --port 19530`) and configure http://127.0.0.1:19530"
    )
    lock = process_lock(Path(uri + ".memgpt.lock"), f"Milvus Lite file {uri}", hint)
    lock.acquire()
    deadline = time.monotonic() + lock_timeout()
    try:
        while True:
            captured = _Captured()
            logger = logging.getLogger("milvus_lite")
            logger.addHandler(captured)
            try:
                client = MilvusClient(uri=uri)
                LITE_FILES[id(client)] = (uri, lock)
                return client
            except Exception as exc:
                locked = any(
                    "DataDirLockedError" in repr(r.exc_info)
                    or "holds the lock" in r.getMessage()
                    or "holds the lock" in repr(r.exc_info)
                    for r in captured.records
                )
                if not locked:
                    raise StorageError(f"cannot open Milvus Lite file {uri}: {' '.join(str(exc).split())[:200]}") from None
                if time.monotonic() >= deadline:  # a process that is not memgpt's, or one still shutting down its server
                    raise StorageLocked(f"Milvus Lite file {uri} is in use by another process{hint}") from None
                time.sleep(0.2)
            finally:
                logger.removeHandler(captured)
    except BaseException:
        lock.release()
        raise


def open_store(uri: str) -> MilvusStore:
    return MilvusStore(CLIENTS.acquire(uri, lambda: _connect(uri)), uri)


class MilvusStore(EngineStore):
    engine = "Milvus"
    connector_class = "memgpt_backend_milvus.connector:MilvusConnector"
    native_output = True  # Milvus Lite's server thread logs on stderr

    @classmethod
    def classify(cls, where: str, message: str) -> MemGPTError | None:
        lowered = message.lower()
        if "connect" in lowered or "unavailable" in lowered or "deadline" in lowered:
            return StorageUnavailable(f"cannot reach Milvus at {where} ({message[:200]})")
        return None

    def answer(self) -> None:
        self.client.list_collections()

    def release(self) -> None:
        """Release this reference; the last one closes the client (and a Lite file's lock)."""
        CLIENTS.release(self.where)
