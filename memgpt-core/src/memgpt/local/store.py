"""The local store: one root folder, its partitions and its registry."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from memgpt.errors import StorageError
from memgpt.local.database import Database
from memgpt.local.schema import GROUP_FILES, GROUP_TABLES, REGISTRY_SQL, group_upgrades
from memgpt.names import folder_name, name_from_folder
from memgpt.records import EmbeddingSpec, Table
from memgpt.storage.ann import ANN_AFTER
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
        self._partitions: dict[tuple[str, str, str], Database] = {}
        self._registry: Database | None = None
        self._connectors: dict[tuple[Table, str], Connector] = {}
        self.refs = 0
        self.ann_after = ANN_AFTER
        """Vectors in one partition from which its searches go through a graph (:mod:`memgpt.storage.ann`)."""

    def __repr__(self) -> str:
        return f"<LocalStore {self.root}>"

    # -- partitions -------------------------------------------------------------------
    def partition_path(self, group: str, key: str, shelf: str = "") -> Path:
        """The file of one agent or source: ``memory.sqlite``/``source.sqlite``, or ``memory.<shelf>.sqlite`` for a shelf."""
        return self.root / group / folder_name(key) / _file_name(group, shelf)

    def partition(self, group: str, key: str, create: bool, shelf: str = "") -> Database | None:
        """The database of one agent or source on ``shelf``; ``None`` if absent and ``create`` is false."""
        with self._lock:
            db = self._partitions.get((group, key, shelf))
            if db is None:
                path = self.partition_path(group, key, shelf)
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
                self._partitions[(group, key, shelf)] = db
            return db

    def discard_if_unused(self, group: str, key: str, shelf: str = "") -> None:
        """Remove a partition file this process created and never committed to (its first write failed)."""
        with self._lock:
            db = self._partitions.get((group, key, shelf))
            if db is None or not db.created or db.committed:
                return
            if not db.holds_nothing([layout.sql_name for layout in GROUP_TABLES[group]]):
                return
            db.close()
            del self._partitions[(group, key, shelf)]
            _remove_file_and_empty_folder(db.path)

    def partition_keys(self, group: str, shelf: str = "") -> list[str]:
        """Every agent id or source name with a partition file on ``shelf``, sorted."""
        folder = self.root / group
        file = _file_name(group, shelf)
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

    def get_spec(self, table: Table, shelf: str = "") -> EmbeddingSpec | None:
        db = self._registry_db(create=False)
        if db is None:
            return None
        with db.using() as conn:
            row = conn.execute(
                "SELECT model, dim FROM embedding_specs WHERE table_name = ?", (_spec_key(table, shelf),)
            ).fetchone()
        return EmbeddingSpec(row[0], int(row[1])) if row else None

    def ensure_spec(self, table: Table, spec: EmbeddingSpec, shelf: str = "") -> EmbeddingSpec:
        db = self._registry_db(create=True)
        assert db is not None
        key = _spec_key(table, shelf)
        with db.write() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO embedding_specs (table_name, model, dim) VALUES (?, ?, ?)", (key, spec.model, spec.dim)
            )
            row = conn.execute("SELECT model, dim FROM embedding_specs WHERE table_name = ?", (key,)).fetchone()
        return EmbeddingSpec(row[0], int(row[1]))

    def forget_spec(self, table: Table, shelf: str = "") -> None:
        db = self._registry_db(create=False)
        if db is not None:
            with db.write() as conn:
                conn.execute("DELETE FROM embedding_specs WHERE table_name = ?", (_spec_key(table, shelf),))

    # -- Store --------------------------------------------------------------------------
    def connector(self, table: Table, shelf: str = "") -> Connector:
        from memgpt.local.connector import LocalConnector

        with self._lock:
            connector = self._connectors.get((table, shelf))
            if connector is None:
                connector = self._connectors[(table, shelf)] = LocalConnector(self, table, shelf)
            return connector

    def _shelves(self, group: str) -> list[str]:
        """Every shelf with at least one file in ``group`` ("" first)."""
        found = {""}
        prefix = _file_name(group, "").removesuffix(".sqlite") + "."
        for path in (self.root / group).glob(f"*/{prefix}*.sqlite"):
            found.add(path.name.removeprefix(prefix).removesuffix(".sqlite"))
        return sorted(found)

    def problems(self) -> list[str]:
        """Every SQLite file of this folder checked (``PRAGMA quick_check``): one line per damaged file."""
        found: list[str] = []
        files: list[tuple[str | None, str, str, Path]] = [(None, "", "", self.root / REGISTRY_FILE)]
        files += [
            (group, key, shelf, self.partition_path(group, key, shelf))
            for group in GROUP_TABLES
            for shelf in self._shelves(group)
            for key in self.partition_keys(group, shelf)
        ]
        for group, key, shelf, path in files:
            if not path.exists():
                continue
            try:
                if group is None:
                    db = self._registry_db(create=False)
                else:
                    db = self.partition(group, key, create=False, shelf=shelf)
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


def _file_name(group: str, shelf: str) -> str:
    stem = GROUP_FILES[group]
    return f"{stem}.{shelf}.sqlite" if shelf else f"{stem}.sqlite"


def _spec_key(table: Table, shelf: str) -> str:
    return f"{table.value}.{shelf}" if shelf else table.value


def _remove_file_and_empty_folder(path: Path) -> None:
    """Remove a SQLite file, its journal, its checked stamp and its folder if that is then empty (what a failed create left)."""
    for file in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + ".checked")):
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


def open_local_store(root: Path, ann_after: int | None = None) -> LocalStore:
    """The process-wide store for ``root`` (reference-counted; ``close()`` releases one reference).

    ``ann_after``, when given, sets the store's graph threshold (the last
    opener's value holds for every user of the store in this process).
    """
    root = Path(os.path.realpath(root))
    with _OPEN_LOCK:
        store = _OPEN.get(root)
        if store is None:
            store = _OPEN[root] = LocalStore(root)
        if ann_after is not None:
            store.ann_after = ann_after
        store.refs += 1
        return store


def _release(store: LocalStore) -> None:
    with _OPEN_LOCK:
        store.refs -= 1
        if store.refs <= 0:
            store._close_now()
            if _OPEN.get(store.root) is store:
                del _OPEN[store.root]
