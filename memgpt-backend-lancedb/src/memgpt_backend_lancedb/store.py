"""Opening a LanceDB database folder."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from memgpt.errors import StorageError
from memgpt.kinds import Table
from memgpt.storage.backend import Store
from memgpt.storage.connector import Connector


@contextmanager
def translated(where: str) -> Iterator[None]:
    """LanceDB's exceptions as one-line memgpt errors."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:  # lancedb raises ValueError, OSError, RuntimeError and its own types
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise StorageError(f"LanceDB at {where}: {message[:300]}") from None


class LanceDBStore(Store):
    persistent = True

    def __init__(self, uri: str) -> None:
        import lancedb

        self.uri = uri
        with self.errors():
            if "://" not in uri:
                Path(uri).mkdir(parents=True, exist_ok=True)
            # Strong consistency: a cached table handle sees other processes' writes on every read.
            self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))
        self._connectors: dict[Table, Connector] = {}

    def errors(self) -> Any:
        return translated(self.uri)

    def connector(self, table: Table) -> Connector:
        from memgpt_backend_lancedb.connector import LanceDBConnector

        connector = self._connectors.get(table)
        if connector is None:
            connector = self._connectors[table] = LanceDBConnector(self, table)
        return connector

    def table_names(self) -> set[str]:
        with self.errors():
            listed = self.db.list_tables() if hasattr(self.db, "list_tables") else self.db.table_names()
        names = getattr(listed, "tables", listed)
        return set(names)

    def ping(self) -> None:
        self.table_names()

    def close(self) -> None:
        self._connectors.clear()
