"""Qdrant clients: one per process for ``:memory:`` and for each local folder.

Qdrant's local mode lets one process use a folder at a time (it locks it).
memgpt processes take turns: a store holds the folder's lock
(``<folder>/.memgpt.lock``) from open to close, and another process waits for
it (up to ``MEMGPT_LOCK_TIMEOUT`` seconds, default 60) before failing in one
line that says to run a Qdrant server for concurrent use.
"""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import closing
from pathlib import Path
from typing import Any

from memgpt.plugin import (
    PARTITIONABLE_TABLES,
    EngineStore,
    MemGPTError,
    ProcessLock,
    SharedClients,
    StorageError,
    StorageLocked,
    StorageUnavailable,
    Table,
    getenv,
    partition_shelves_in,
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
            except BaseException as exc:
                lock.release()
                damaged = damaged_collections(folder)
                if damaged and isinstance(exc, Exception):
                    named = f"collection {damaged[0]} is" if len(damaged) == 1 else f"collections {', '.join(damaged)} are"
                    raise StorageError(
                        f"Qdrant folder {location}: {named} damaged "
                        f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); Qdrant's local mode opens "
                        "every collection at once, so nothing in the folder can be read until the damaged ones are "
                        f"restored from a backup or an export, or moved out of {folder / 'collection'}"
                    ) from None
                raise
            LOCAL_LOCKS[id(client)] = lock
            return client
        client = QdrantClient(url=location, api_key=getenv(API_KEY_VARIABLE), timeout=30)
        client.get_collections()  # fail now, in one line, if the server does not answer
        return client


def damaged_collections(folder: Path) -> list[str]:
    """The collections of a local-mode folder whose SQLite file fails SQLite's own check (read only, nothing changed)."""
    import sqlite3

    damaged = []
    for storage in sorted((folder / "collection").glob("*/storage.sqlite")):
        try:
            with closing(sqlite3.connect(f"{storage.as_uri()}?mode=ro", uri=True)) as conn:
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.Error:
            verdict = "unreadable"
        if verdict != "ok":
            damaged.append(storage.parent.name)
    return damaged


LOCAL_MODE_ADVICE_POINTS = 10_000
"""From this many points, ``memgpt storage status`` advises a server over local mode."""
LOCAL_MODE_START_COST = (
    "measured on 2 cores at 384 dimensions: 0.9 s more per command at 10,000 points, 1.3 s at 20,000, "
    "and each search reads every point, 1.1 s at 100,000"
)
"""What local mode costs, as measured: opening a folder over importing qdrant-client alone (2.2 s here), and a
search at 100,000 points (benchmarks/results/bench-100000.md)."""


def open_store(mode: str, location: str) -> QdrantStore:
    """The store for a mode and location; in-memory and local clients are shared within the process."""
    key = (mode, location)
    return QdrantStore(key, CLIENTS.acquire(key, lambda: _client(mode, location)))


class QdrantStore(EngineStore):
    engine = "Qdrant"
    connector_class = "memgpt_backend_qdrant.connector:QdrantConnector"
    partitioned_tables = PARTITIONABLE_TABLES
    """A collection per agent (per source): one agent's search at 10,000 of 100,000 points measured 10.3 ms
    against 1.4 s filtering one shared collection in local mode."""

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

    def partition_shelves(self, table: Table, shelf: str = "") -> set[str]:
        with self.errors():
            names = [collection.name for collection in self.client.get_collections().collections]
        return partition_shelves_in(names, table, shelf)

    def answer(self) -> None:
        self.client.get_collections()

    def advice(self) -> list[str]:
        """In local mode past :data:`LOCAL_MODE_ADVICE_POINTS`, what each command pays at start and the server it would not."""
        if self.mode != "local":
            return []
        names = [c.name for c in self.client.get_collections().collections if c.name.startswith("memgpt_")]
        points = sum(int(self.client.count(name, exact=False).count) for name in names)
        if points < LOCAL_MODE_ADVICE_POINTS:
            return []
        return [
            f"Qdrant's local mode at {self.where} reads all {points:,} points into memory at every start, so each memgpt "
            f"command waits for it ({LOCAL_MODE_START_COST}); a Qdrant server keeps them loaded: "
            "memgpt migrate --to-archival qdrant --to-archival-uri http://HOST:6333 --switch"
        ]

    def release(self) -> None:
        """Release this reference; the last one closes the client (and a local folder's lock)."""
        CLIENTS.release(self.key, keep=self.mode == "memory")  # in-memory data lives as long as the process
