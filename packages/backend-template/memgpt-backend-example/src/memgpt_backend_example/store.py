"""An opened location: here a folder; for a real engine, a client connection."""

from __future__ import annotations

import threading
from pathlib import Path

from memgpt.kinds import Table
from memgpt.storage.backend import ConnectorCache, Store
from memgpt.storage.connector import Connector


class ExampleStore(ConnectorCache, Store):
    persistent = True  # records survive close and reopen (the conformance suite checks it)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.lock = threading.RLock()

    def new_connector(self, table: Table) -> Connector:
        from memgpt_backend_example.connector import ExampleConnector

        return ExampleConnector(self, table)

    def ping(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        self.forget_connectors()
