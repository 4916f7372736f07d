"""SQLite connections of the local backend: opening, schema versions, transactions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memgpt.errors import StorageError, StorageLocked
from memgpt.files import create_private_file, describe_os_error
from memgpt.local.schema import SCHEMA_VERSION

BUSY_TIMEOUT_MS = 60_000
JOURNAL_MODE = "truncate"
"""A rollback journal, not WAL: batches of passages are written once instead of twice
(WAL copies every page again at checkpoint), about 35% faster for bulk writes; with
``synchronous=FULL`` a committed batch also survives a power loss. Readers wait only
while a writer commits."""
PAGE_SIZE = 16_384
"""Large pages: passages with their vectors are 1-6 KiB, and 16 KiB pages roughly halve
write and load time against SQLite's default 4 KiB (measured in benchmarks/)."""

MMAP_BYTES = 1 << 30
"""Reads go through a memory map of the file (address space, not memory): a search's few rows are then
read from the OS page cache without a system call per page. Writes still go through the rollback
journal, so crash safety is unchanged."""


def _casefold_contains(text: str | None, needle: str | None) -> int:
    if text is None or needle is None:
        return 0
    return int(needle.casefold() in text.casefold())


class Database:
    """One SQLite file: a connection (shared by this process's threads under a lock)."""

    def __init__(self, path: Path, schema: list[str], create: bool, upgrades: dict[int, list[str]] | None = None) -> None:
        self.path = path
        self.upgrades = upgrades or {}
        self.lock = threading.RLock()
        if create:
            try:
                create_private_file(path)  # 0600 before SQLite opens it: its journals take the file's mode
            except OSError as exc:
                raise _os_error(exc, path) from None
        elif not path.exists():
            raise FileNotFoundError(path)
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {exc}") from None
        self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.conn.create_function("memgpt_contains", 2, _casefold_contains, deterministic=True)
        try:
            self._prepare(schema)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise _storage_error(exc, path) from None

    def _prepare(self, schema: list[str]) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{self.path} was written by a newer memgpt (schema {version}, this one knows {SCHEMA_VERSION}); "
                "upgrade memgpt-core"
            )
        if version == 0:
            conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # only takes effect on a new, empty file
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != JOURNAL_MODE:
            conn.execute(f"PRAGMA journal_mode={JOURNAL_MODE}")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
        if version == SCHEMA_VERSION:
            return
        with self.write():  # one transaction: a file is upgraded whole or not at all
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version < SCHEMA_VERSION:
                if version > 0:  # a file of an earlier release: its upgrades, one version after the other
                    for step in range(version, SCHEMA_VERSION):
                        for statement in self.upgrades.get(step, ()):
                            conn.execute(statement)
                for statement in schema:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error)."""
        with self.lock:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _storage_error(exc, self.path) from None
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                try:
                    self.conn.execute("COMMIT")
                except sqlite3.Error as exc:
                    self.conn.execute("ROLLBACK")
                    raise _storage_error(exc, self.path) from None

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: one ``BEGIN`` ... ``COMMIT`` snapshot (inside a transaction already open, that one)."""
        with self.lock:
            if self.conn.in_transaction:
                yield self.conn
                return
            self.conn.execute("BEGIN")
            try:
                yield self.conn
            finally:
                self.conn.execute("COMMIT")

    def data_version(self) -> int:
        """Changes whenever another connection commits to this file."""
        with self.lock:
            return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _os_error(exc: OSError, path: Path) -> StorageError:
    return StorageError(f"cannot create {path}: {describe_os_error(exc)}")


def _storage_error(exc: sqlite3.Error, path: Path) -> StorageError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StorageLocked(f"{path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s ({text})")
    if "not a database" in text or "malformed" in text:
        return StorageError(f"{path} is not a usable SQLite database ({text}); restore it from a backup or move it away")
    return StorageError(f"{path}: {text}")
