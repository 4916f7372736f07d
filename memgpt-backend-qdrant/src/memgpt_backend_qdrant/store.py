"""Qdrant clients: one per process for ``:memory:`` and for each local folder (local mode locks its folder)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from memgpt.environment import getenv
from memgpt.errors import StorageError, StorageLocked, StorageUnavailable
from memgpt.kinds import Table
from memgpt.secrets import scrub
from memgpt.storage.backend import Store
from memgpt.storage.connector import Connector

API_KEY_VARIABLE = "QDRANT_API_KEY"

_lock = threading.Lock()
_shared: dict[tuple[str, str], list[Any]] = {}  # (mode, location) -> [client, references]


@contextmanager
def translated(where: str, secret: str | None = None) -> Iterator[None]:
    """qdrant-client's exceptions as one-line memgpt errors (the API key scrubbed)."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:  # qdrant-client raises RuntimeError, ValueError, httpx and grpc errors
        message = scrub(" ".join(str(exc).split()) or type(exc).__name__, [secret])
        if "already accessed by another instance" in message:
            raise StorageLocked(
                f"Qdrant folder {where} is in use by another process (local mode allows one client at a time); "
                "stop it, or use a Qdrant server for concurrent access"
            ) from None
        lowered = message.lower()
        if any(
            word in lowered for word in ("connection refused", "connecterror", "connect error", "timed out", "name or service")
        ):
            raise StorageUnavailable(f"cannot reach the Qdrant server at {where} ({message[:200]})") from None
        if "401" in message or "403" in message or "unauthorized" in lowered or "forbidden" in lowered:
            raise StorageUnavailable(f"the Qdrant server at {where} refused the API key; check {API_KEY_VARIABLE}") from None
        raise StorageError(f"Qdrant at {where}: {message[:300]}") from None


def _client(mode: str, location: str) -> Any:
    from qdrant_client import QdrantClient

    if mode == "memory":
        return QdrantClient(location=":memory:")
    if mode == "local":
        return QdrantClient(path=location)
    return QdrantClient(url=location, api_key=getenv(API_KEY_VARIABLE), timeout=30)


def open_store(mode: str, location: str) -> QdrantStore:
    """The store for a mode and location; in-memory and local clients are shared within the process."""
    key = (mode, location)
    with _lock:
        entry = _shared.get(key)
        if entry is None:
            with translated(location, getenv(API_KEY_VARIABLE)):
                client = _client(mode, location)
                if mode == "server":
                    client.get_collections()  # fail now, in one line, if the server does not answer
            entry = _shared[key] = [client, 0]
        entry[1] += 1
    return QdrantStore(key, entry[0])


class QdrantStore(Store):
    def __init__(self, key: tuple[str, str], client: Any) -> None:
        self.key = key
        self.mode, self.where = key
        self.client = client
        self.persistent = self.mode != "memory"
        self._connectors: dict[Table, Connector] = {}
        self._closed = False

    def errors(self) -> Any:
        return translated(self.where, getenv(API_KEY_VARIABLE))

    def connector(self, table: Table) -> Connector:
        from memgpt_backend_qdrant.connector import QdrantConnector

        connector = self._connectors.get(table)
        if connector is None:
            connector = self._connectors[table] = QdrantConnector(self, table)
        return connector

    def ping(self) -> None:
        with self.errors():
            self.client.get_collections()

    def close(self) -> None:
        """Release this reference; the last one closes the client (and a local folder's lock)."""
        if self._closed:
            return
        self._closed = True
        self._connectors.clear()
        with _lock:
            entry = _shared.get(self.key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0 and self.mode != "memory":  # memory lives as long as the process
                del _shared[self.key]
                entry[0].close()
