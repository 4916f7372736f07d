"""Opening a LanceDB database folder.

LanceDB lets several processes read a folder while others write, but writers
that commit at once conflict (and its maintenance, compaction and index
builds, conflicts with everything). Every write of this backend therefore
holds a lock beside the data (``.memgpt-write.lock``, between processes),
waiting its turn; readers never wait, and retry a read that a concurrent
compaction pulled from under them.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path
from typing import Any

from memgpt.files import private_dirs
from memgpt.kinds import Table
from memgpt.locks import process_lock
from memgpt.storage.backend import ConnectorCache, Store
from memgpt.storage.connector import Connector
from memgpt.storage.helpers import engine_errors


def translated(where: str) -> Any:
    """LanceDB's exceptions (ValueError, OSError, RuntimeError, its own) as one-line memgpt errors."""
    return engine_errors("LanceDB", where, native=True)


WRITE_LOCK = ".memgpt-write.lock"


class LanceDBStore(ConnectorCache, Store):
    persistent = True

    def __init__(self, uri: str) -> None:
        # LanceDB's engine logs to stderr (WARN lines on the user's terminal) unless told otherwise, once, at import.
        os.environ.setdefault("LANCEDB_LOG", "error")
        import lancedb

        self.uri = uri
        self.lock = None
        with self.errors():
            if "://" not in uri:
                private_dirs(Path(uri))
                self.lock = process_lock(
                    Path(uri) / WRITE_LOCK,
                    f"LanceDB folder {uri}",
                    "; another process is writing to it for that long: wait for it, or raise MEMGPT_LOCK_TIMEOUT",
                )
            # Strong consistency: a cached table handle sees other processes' writes on every read.
            self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))

    def writing(self) -> Any:
        """Hold the folder's write lock (waits for another process's write; re-entrant within this one)."""
        return self.lock if self.lock is not None else nullcontext()

    def errors(self) -> Any:
        return translated(self.uri)

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        from memgpt_backend_lancedb.connector import LanceDBConnector

        return LanceDBConnector(self, table, shelf)

    def table_names(self) -> set[str]:
        with self.errors():
            listed = self.db.list_tables() if hasattr(self.db, "list_tables") else self.db.table_names()
        names = getattr(listed, "tables", listed)
        return set(names)

    def ping(self) -> None:
        self.table_names()

    def close(self) -> None:
        self.forget_connectors()
