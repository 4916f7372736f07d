"""Qdrant clients: one per process for ``:memory:`` and for each local folder.

Qdrant's local mode lets one process use a folder at a time (it locks it).
memgpt processes take turns: a store holds the folder's lock
(``<folder>/.memgpt.lock``) from open to close, and another process waits for
it (up to ``MEMGPT_LOCK_TIMEOUT`` seconds, default 60) before failing in one
line that says to run a Qdrant server for concurrent use.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from memgpt.plugin import (
    EngineStore,
    MemGPTError,
    ProcessLock,
    SharedClients,
    StorageLocked,
    StorageUnavailable,
    getenv,
    private_dirs,
    process_lock,
)

API_KEY_VARIABLE = "QDRANT_API_KEY"

LOCAL_LOCKS: dict[int, ProcessLock] = {}
"""memgpt's lock on the folder of each open local-mode client (by ``id``), released when it closes."""


def _close(client: Any) -> None:
    try:
        client.close()
    finally:
        lock = LOCAL_LOCKS.pop(id(client), None)
        if lock is not None:
            lock.release()


CLIENTS: SharedClients[Any] = SharedClients(close=_close)


def _client(mode: str, location: str) -> Any:
    from qdrant_client import QdrantClient

    with QdrantStore.translated(location):
        if mode == "memory":
            return QdrantClient(location=":memory:")
        if mode == "local":
            folder = private_dirs(Path(location))
            lock = process_lock(
                folder / ".memgpt.lock",
                f"Qdrant folder {location}",
                "; Qdrant's local mode serves one process at a time: for several at once, run a Qdrant server "
                "and configure its URL (with QDRANT_API_KEY if it needs one)",
            )
            lock.acquire()
            try:
                client = QdrantClient(path=location)
            except BaseException:
                lock.release()
                raise
            LOCAL_LOCKS[id(client)] = lock
            return client
        client = QdrantClient(url=location, api_key=getenv(API_KEY_VARIABLE), timeout=30)
        client.get_collections()  # fail now, in one line, if the server does not answer
        return client


def open_store(mode: str, location: str) -> QdrantStore:
    """The store for a mode and location; in-memory and local clients are shared within the process."""
    key = (mode, location)
    return QdrantStore(key, CLIENTS.acquire(key, lambda: _client(mode, location)))


class QdrantStore(EngineStore):
    engine = "Qdrant"
    connector_class = "memgpt_backend_qdrant.connector:QdrantConnector"

    def __init__(self, key: tuple[str, str], client: Any) -> None:
        self.key = key
        self.mode, where = key
        super().__init__(client, where, persistent=self.mode != "memory")

    @classmethod
    def classify(cls, where: str, message: str) -> MemGPTError | None:
        lowered = message.lower()
        if "already accessed by another instance" in message:
            return StorageLocked(
                f"Qdrant folder {where} is in use by another process (local mode allows one client at a time); "
                "stop it, or use a Qdrant server for concurrent access"
            )
        if any(
            word in lowered for word in ("connection refused", "connecterror", "connect error", "timed out", "name or service")
        ):
            return StorageUnavailable(f"cannot reach the Qdrant server at {where} ({message[:200]})")
        if "401" in message or "403" in message or "unauthorized" in lowered or "forbidden" in lowered:
            return StorageUnavailable(f"the Qdrant server at {where} refused the API key; check {API_KEY_VARIABLE}")
        return None

    @classmethod
    def secret_values(cls) -> Iterable[str | None]:
        return [getenv(API_KEY_VARIABLE)]

    def answer(self) -> None:
        self.client.get_collections()

    def release(self) -> None:
        """Release this reference; the last one closes the client (and a local folder's lock)."""
        CLIENTS.release(self.key, keep=self.mode == "memory")  # in-memory data lives as long as the process
