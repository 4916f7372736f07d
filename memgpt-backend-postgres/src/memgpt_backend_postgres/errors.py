"""PostgreSQL driver errors as one-line memgpt errors, with the password masked."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from memgpt.plugin import StorageError, StorageUnavailable, scrub

PGVECTOR_HINT = "install pgvector (https://github.com/pgvector/pgvector#installation) or start the server with db/run_postgres.sh"

SERVER_ENDED_SESSION = frozenset({"57P01", "57P02"})
"""SQLSTATEs a server sends as it ends a session: ``admin_shutdown`` (shutdown, restart, ``pg_terminate_backend``,
a failover) and ``crash_shutdown``."""


class ConnectionLost(StorageUnavailable):
    """The connection died under an operation (a restart, a failover, an ended session): a new one may well work."""


def _fields(exc: BaseException) -> dict[str, Any]:
    """The server's error fields (pg8000 passes a dict with code 'C' and message 'M')."""
    for cause in _causes(exc):
        for arg in getattr(cause, "args", ()):
            if isinstance(arg, dict) and "C" in arg:
                return arg
    return {}


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, then the driver error SQLAlchemy wrapped and what that one was raised from."""
    current: BaseException | None = exc
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = getattr(current, "orig", None) or current.__cause__


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says an open connection died (not that none could be made).

    pg8000 reports a dead socket as ``InterfaceError("network error")``, but
    lets a reset seen on the first read of an answer through as the bare
    ``ConnectionResetError``; a server ending the session first sends its
    reason (SQLSTATE 57P01 or 57P02). A connection that could not be made
    (``ConnectionRefusedError``, pg8000's "Can't create a connection") is no
    disconnect: nothing was open.
    """
    if getattr(exc, "connection_invalidated", False):
        return True
    if _fields(exc).get("C") in SERVER_ENDED_SESSION:
        return True
    for cause in _causes(exc):
        if isinstance(cause, ConnectionError) and not isinstance(cause, ConnectionRefusedError):
            return True
        if type(cause).__name__ == "InterfaceError" and "network error" in str(cause):
            return True
    return False


def translate(exc: BaseException, where: str, password: str | None) -> StorageError:
    """The memgpt error for a driver error at ``where`` (``host:port/db``)."""
    fields = _fields(exc)
    code, message = fields.get("C", ""), fields.get("M", "")
    if code == "28P01" or code == "28000":
        return StorageUnavailable(f"PostgreSQL at {where} refused the login ({message}); check the user and password in the URI")
    if code == "3D000":
        return StorageUnavailable(f"PostgreSQL at {where}: {message}; create it (createdb) or fix the URI")
    if code in ("0A000", "58P01") and "vector" in message:
        return StorageError(f"PostgreSQL at {where} has no pgvector extension ({message}); {PGVECTOR_HINT}")
    if code == "42501" and "vector" in message:
        return StorageError(f"PostgreSQL at {where}: {message}; a superuser must run CREATE EXTENSION vector once")
    text = str(getattr(exc, "orig", None) or exc)
    if is_disconnect(exc):
        return ConnectionLost(
            scrub(
                f"lost the connection to PostgreSQL at {where} (did the server restart?): {message or text.splitlines()[0]}; "
                "the next call connects again",
                [password],
            )
        )
    if not fields and ("connection" in text.lower() or "connect" in text.lower() or "timeout" in text.lower()):
        return StorageUnavailable(scrub(f"cannot reach PostgreSQL at {where}: {text.splitlines()[0]}", [password]))
    detail = message or text.splitlines()[0] if text else type(exc).__name__
    return StorageError(scrub(f"PostgreSQL at {where}: {detail}", [password]))


@contextmanager
def translated(where: str, password: str | None) -> Iterator[None]:
    """Re-raise SQLAlchemy and pg8000 errors inside the block as one-line memgpt errors."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except StorageError:
        raise
    except (SQLAlchemyError, OSError) as exc:
        raise translate(exc, where, password) from None
    except Exception as exc:
        if type(exc).__module__.startswith("pg8000"):
            raise translate(exc, where, password) from None
        raise
