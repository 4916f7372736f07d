"""The local store: one root folder, its partitions and its registry."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from memgpt.errors import StorageError
from memgpt.local.database import Database
from memgpt.local.schema import GROUP_TABLES, REGISTRY_SQL, group_upgrades
from memgpt.names import folder_name, name_from_folder
from memgpt.records import EmbeddingSpec, Table
from memgpt.storage.backend import Store
from memgpt.storage.connector import Connector

REGISTRY_FILE = "local.sqlite"


class LocalStore(Store):
    """A ``MEMGPT_HOME``-style folder opened by this process.

    One instance per folder and process is shared by every connector (see
    :func:`open_local_store`), so each SQLite file has one connection here and
    vectors are cached once.
    """

    persistent = True

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.RLock()
        self._partitions: dict[tuple[str, str], Database] = {}
        self._registry: Database | None = None
        self._connectors: dict[Table, Connector] = {}
        self.refs = 0

    def __repr__(self) -> str:
        return f"<LocalStore {self.root}>"

    # -- partitions -------------------------------------------------------------------
    def partition_path(self, group: str, key: str) -> Path:
        file = "memory.sqlite" if group == "agents" else "source.sqlite"
        return self.root / group / folder_name(key) / file

    def partition(self, group: str, key: str, create: bool) -> Database | None:
        """The database of one agent or source; ``None`` if absent and ``create`` is false."""
        with self._lock:
            db = self._partitions.get((group, key))
            if db is None:
                path = self.partition_path(group, key)
                if not create and not path.exists():
                    return None
                schema = [s for layout in GROUP_TABLES[group] for s in layout.create_sql()]
                existed = path.exists()
                try:
                    db = Database(path, schema, create=True, upgrades=group_upgrades(group))
                except StorageError:
                    if not existed:  # a file this call created and could not set up (a full disk): leave nothing
                        _remove_file_and_empty_folder(path)
                    raise
                self._partitions[(group, key)] = db
            return db

    def discard_if_unused(self, group: str, key: str) -> None:
        """Remove a partition file this process created and never committed to (its first write failed)."""
        with self._lock:
            db = self._partitions.get((group, key))
            if db is None or not db.created or db.committed:
                return
            if not db.holds_nothing([layout.sql_name for layout in GROUP_TABLES[group]]):
                return
            db.close()
            del self._partitions[(group, key)]
            _remove_file_and_empty_folder(db.path)

    def partition_keys(self, group: str) -> list[str]:
        """Every agent id or source name with a partition file, sorted."""
        folder = self.root / group
        file = "memory.sqlite" if group == "agents" else "source.sqlite"
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return []
        keys = [name_from_folder(e.name) for e in entries if e.is_dir() and (Path(e.path) / file).exists()]
        return sorted(keys)

    # -- registry: embedding specs ----------------------------------------------------------
    def _registry_db(self, create: bool) -> Database | None:
        with self._lock:
            if self._registry is None:
                path = self.root / REGISTRY_FILE
                if not create and not path.exists():
                    return None
                self._registry = Database(path, list(REGISTRY_SQL), create=True)
            return self._registry

    def get_spec(self, table: Table) -> EmbeddingSpec | None:
        db = self._registry_db(create=False)
        if db is None:
            return None
        with db.using() as conn:
            row = conn.execute("SELECT model, dim FROM embedding_specs WHERE table_name = ?", (table.value,)).fetchone()
        return EmbeddingSpec(row[0], int(row[1])) if row else None

    def ensure_spec(self, table: Table, spec: EmbeddingSpec) -> EmbeddingSpec:
        db = self._registry_db(create=True)
        assert db is not None
        with db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO embedding_specs (table_name, model, dim) VALUES (?, ?, ?)",
                (table.value, spec.model, spec.dim),
            )
            row = conn.execute("SELECT model, dim FROM embedding_specs WHERE table_name = ?", (table.value,)).fetchone()
        return EmbeddingSpec(row[0], int(row[1]))

    def forget_spec(self, table: Table) -> None:
        db = self._registry_db(create=False)
        if db is not None:
            with db.write() as conn:
                conn.execute("DELETE FROM embedding_specs WHERE table_name = ?", (table.value,))

    # -- Store --------------------------------------------------------------------------
    def connector(self, table: Table) -> Connector:
        from memgpt.local.connector import LocalConnector

        with self._lock:
            connector = self._connectors.get(table)
            if connector is None:
                connector = self._connectors[table] = LocalConnector(self, table)
            return connector

    def problems(self) -> list[str]:
        """Every SQLite file of this folder checked (``PRAGMA quick_check``): one line per damaged file."""
        found: list[str] = []
        files = [(None, None, self.root / REGISTRY_FILE)]
        files += [(group, key, self.partition_path(group, key)) for group in GROUP_TABLES for key in self.partition_keys(group)]
        for group, key, path in files:
            if not path.exists():
                continue
            try:
                if group is None:
                    db = self._registry_db(create=False)
                else:
                    db = self.partition(group, key, create=False)
                problem = db.check() if db is not None else None
            except StorageError as exc:
                found.append(str(exc))
                continue
            if problem is not None:
                found.append(f"{path} is damaged ({problem[:200]}): restore it from a backup or an export, or move it away")
        return found

    def ping(self) -> None:
        probe = self.root
        while not probe.exists():
            if probe.parent == probe:
                break
            probe = probe.parent
        if not probe.is_dir():
            raise StorageError(f"local storage folder {self.root} is not usable: {probe} is not a folder")
        if not os.access(probe, os.W_OK | os.X_OK):
            raise StorageError(f"local storage folder {self.root} is not writable by this user")

    def close(self) -> None:
        _release(self)

    def _close_now(self) -> None:
        with self._lock:
            for db in self._partitions.values():
                db.close()
            self._partitions.clear()
            if self._registry is not None:
                self._registry.close()
                self._registry = None
            self._connectors.clear()


def _remove_file_and_empty_folder(path: Path) -> None:
    """Remove a SQLite file, its journal and its folder if that is then empty (what a failed create left)."""
    for file in (path, path.with_name(path.name + "-journal")):
        try:
            file.unlink(missing_ok=True)
        except OSError:
            pass
    try:
        path.parent.rmdir()  # only if empty
    except OSError:
        pass


_OPEN: dict[Path, LocalStore] = {}
_OPEN_LOCK = threading.Lock()


def open_local_store(root: Path) -> LocalStore:
    """The process-wide store for ``root`` (reference-counted; ``close()`` releases one reference)."""
    root = Path(os.path.realpath(root))
    with _OPEN_LOCK:
        store = _OPEN.get(root)
        if store is None:
            store = _OPEN[root] = LocalStore(root)
        store.refs += 1
        return store


def _release(store: LocalStore) -> None:
    with _OPEN_LOCK:
        store.refs -= 1
        if store.refs <= 0:
            store._close_now()
            if _OPEN.get(store.root) is store:
                del _OPEN[store.root]
