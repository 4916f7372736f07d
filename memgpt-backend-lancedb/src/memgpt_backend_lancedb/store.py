"""Opening a LanceDB database folder."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from memgpt.kinds import Table
from memgpt.storage.backend import ConnectorCache, Store
from memgpt.storage.connector import Connector
from memgpt.storage.helpers import engine_errors


def translated(where: str) -> Any:
    """LanceDB's exceptions (ValueError, OSError, RuntimeError, its own) as one-line memgpt errors."""
    return engine_errors("LanceDB", where)


class LanceDBStore(ConnectorCache, Store):
    persistent = True

    def __init__(self, uri: str) -> None:
        import lancedb

        self.uri = uri
        with self.errors():
            if "://" not in uri:
                Path(uri).mkdir(parents=True, exist_ok=True)
            # Strong consistency: a cached table handle sees other processes' writes on every read.
            self.db = lancedb.connect(uri, read_consistency_interval=timedelta(0))

    def errors(self) -> Any:
        return translated(self.uri)

    def new_connector(self, table: Table) -> Connector:
        from memgpt_backend_lancedb.connector import LanceDBConnector

        return LanceDBConnector(self, table)

    def table_names(self) -> set[str]:
        with self.errors():
            listed = self.db.list_tables() if hasattr(self.db, "list_tables") else self.db.table_names()
        names = getattr(listed, "tables", listed)
        return set(names)

    def ping(self) -> None:
        self.table_names()

    def close(self) -> None:
        self.forget_connectors()
