"""An opened location: here a folder; for a real engine, a client connection."""

from __future__ import annotations

from pathlib import Path

from memgpt.plugin import Connector, ConnectorCache, Store, Table, private_dirs, process_lock


class ExampleStore(ConnectorCache, Store):
    persistent = True  # records survive close and reopen (the conformance suite checks it)

    def __init__(self, folder: Path) -> None:
        self.folder = private_dirs(folder)
        # Each write reads a file, changes it and writes it back: one process (and thread) at a time, or one's
        # changes would overwrite another's. memgpt.locks waits for the holder, then fails in one clear line.
        self.lock = process_lock(folder / ".lock", f"example store {folder}")

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        from memgpt_backend_example.connector import ExampleConnector

        return ExampleConnector(self, table, shelf)

    def ping(self) -> None:
        private_dirs(self.folder)

    def close(self) -> None:
        self.forget_connectors()
