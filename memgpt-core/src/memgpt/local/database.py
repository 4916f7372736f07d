"""SQLite connections of the local backend: opening, schema versions, transactions."""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from memgpt.errors import StorageError, StorageLocked
from memgpt.files import FILE_MODE, create_private_file, describe_os_error
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


class StorageDamaged(StorageError):
    """A file is damaged: every operation on it fails, naming it, until it is restored or moved away."""


class Database:
    """One SQLite file: a connection (shared by this process's threads under a lock).

    Every use of the connection goes through :meth:`using`, :meth:`read` or
    :meth:`write`, which turn SQLite's errors into one-line
    :class:`~memgpt.errors.StorageError` s naming the file. Before its first
    use in a process a file is checked (``PRAGMA quick_check``: about 0.5 ms
    per MB, measured 0.1 s for 100,000 passages of 384 dimensions, 1 s for a
    million), so a damaged file fails every command that touches it, naming
    it, and nothing is ever written into it; other files are unaffected.

    The check is skipped when the file is exactly as a process that had
    checked it left it: each check, and each commit into a file found so
    stamped, records the file's size, times and inode in ``<file>.checked``
    (:meth:`_stamp`). Anything else that changes the file (a copy over it, a
    truncation, an editor) changes those, and the next process checks it
    again; damage that changes none of them (the disk's own bit rot) is left
    to SQLite's errors when the damaged pages are read, and to ``memgpt
    storage status``, which checks every file.
    """

    def __init__(self, path: Path, schema: list[str], create: bool, upgrades: dict[int, list[str]] | None = None) -> None:
        self.path = path
        self.upgrades = upgrades or {}
        self.lock = threading.RLock()
        self.damaged: str | None = None
        self.verified = False
        self.created = False
        """Whether this process created the file (a failed first write then removes it: see LocalStore)."""
        self.committed = False
        if create:
            try:
                self.created = create_private_file(path)  # 0600 before SQLite opens it: its journals take the file's mode
            except OSError as exc:
                raise _os_error(exc, path) from None
        elif not path.exists():
            raise FileNotFoundError(path)
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open {path}: {exc}") from None
        try:
            self.conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self.conn.create_function("memgpt_contains", 2, _casefold_contains, deterministic=True)
            self._prepare(schema)
        except sqlite3.Error as exc:
            self.conn.close()
            raise _storage_error(exc, path) from None
        except StorageError:
            self.conn.close()
            raise
        self.committed = False  # the schema is not data: see LocalStore.discard_if_unused

    def holds_nothing(self, tables: list[str]) -> bool:
        """Whether every one of ``tables`` is empty, seen under an exclusive lock (no other process mid-write)."""
        with self.lock:
            try:
                self.conn.execute("BEGIN EXCLUSIVE")
                try:
                    return all(self.conn.execute(f"SELECT 1 FROM {t} LIMIT 1").fetchone() is None for t in tables)
                finally:
                    self._rollback()
            except sqlite3.Error:
                return False

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

    # -- access ---------------------------------------------------------------------------------
    def _failed(self, exc: sqlite3.Error) -> StorageError:
        error = _storage_error(exc, self.path)
        if isinstance(error, StorageDamaged):
            self.damaged = str(error)
        return error

    def _refuse_if_damaged(self) -> None:
        if self.damaged is not None:
            raise StorageDamaged(self.damaged)

    def check(self) -> str | None:
        """What is wrong with the file (SQLite's ``quick_check``), or ``None`` when it is sound."""
        with self.lock:
            try:
                found = [row[0] for row in self.conn.execute("PRAGMA quick_check(3)")]
            except sqlite3.Error as exc:
                return str(exc)
        return None if found == ["ok"] else " ".join("; ".join(found).split())

    @property
    def stamp_path(self) -> Path:
        """Where this file's checked state is recorded (see the class docstring)."""
        return self.path.with_name(self.path.name + ".checked")

    def _file_state(self) -> bytes | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return f"{st.st_size} {st.st_mtime_ns} {st.st_ctime_ns} {st.st_ino}".encode("ascii")

    def _stamp(self) -> None:
        """Record the file's state as checked (after a check, or a commit by this process, which checked it first)."""
        state = self._file_state()
        if state is None:
            return
        try:  # in place, no sync: a torn or lost stamp only means the next process checks the file again
            fd = os.open(self.stamp_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
            try:
                os.write(fd, state)
            finally:
                os.close(fd)
        except OSError:
            pass  # a read-only folder: the file is checked every time

    def _stamped(self) -> bool:
        """Whether the file is in the state its stamp records."""
        try:
            recorded = self.stamp_path.read_bytes()
        except OSError:
            return False
        return recorded == self._file_state()

    def _verify(self) -> None:
        if self._stamped():
            self.verified = True
            return
        problem = self.check()
        if problem is not None:
            self.damaged = (
                f"{self.path} is damaged ({problem[:200]}); nothing was read from or written to it: "
                "restore it from a backup or an export, or move it away (other agents and sources are unaffected)"
            )
            raise StorageDamaged(self.damaged)
        self.verified = True
        self._stamp()

    @contextmanager
    def using(self) -> Iterator[sqlite3.Connection]:
        """The connection, under this process's lock; SQLite's errors become one-line errors naming the file."""
        with self.lock:
            self._refuse_if_damaged()
            if not self.verified:
                self._verify()
            try:
                yield self.conn
            except sqlite3.Error as exc:
                raise self._failed(exc) from None

    def _rollback(self) -> None:
        """Undo the open transaction, if SQLite has not already (it rolls back by itself on a full disk)."""
        if self.conn.in_transaction:
            try:
                self.conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: ``BEGIN IMMEDIATE`` ... ``COMMIT`` (rolled back on error); never into a damaged file."""
        with self.lock:
            self._refuse_if_damaged()
            if not self.verified:
                self._verify()
            try:
                self.conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._failed(exc) from None
            # Holding the write lock: unless the file is as a checking process left it (something else changed it
            # since this process checked it), this commit leaves the stamp alone and the next process checks the file.
            as_checked = self._stamped()
            try:
                yield self.conn
            except sqlite3.Error as exc:
                self._rollback()
                raise self._failed(exc) from None
            except BaseException:
                self._rollback()
                raise
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._rollback()
                raise self._failed(exc) from None
            self.committed = True
            if as_checked:
                self._stamp()

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """A consistent read: one ``BEGIN`` ... ``COMMIT`` snapshot (inside a transaction already open, that one)."""
        with self.using() as conn:
            if conn.in_transaction:
                yield conn
                return
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                self._rollback()  # a read-only snapshot: ending it is all a commit would do

    def data_version(self) -> int:
        """Changes whenever another connection commits to this file."""
        with self.using() as conn:
            return int(conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _os_error(exc: OSError, path: Path) -> StorageError:
    return StorageError(f"cannot create {path}: {describe_os_error(exc)}")


def _storage_error(exc: sqlite3.Error, path: Path) -> StorageError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StorageLocked(f"{path} stayed locked by another process for {BUSY_TIMEOUT_MS // 1000} s ({text})")
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return StorageDamaged(
            f"{path} is damaged ({text}); restore it from a backup or an export, or move it away (other agents and sources are unaffected)"
        )
    if "disk is full" in text or "too large" in text:
        return StorageError(f"cannot write to {path}: the disk is full ({text}); nothing of this operation was written")
    if "disk I/O error" in text:
        return StorageError(
            f"cannot write to {path}: disk I/O error (is the disk full, or failing?); nothing of this operation was written"
        )
    if "readonly" in text or "read-only" in text:
        return StorageError(f"cannot write to {path}: it is read-only ({text})")
    if "unable to open" in text:
        return StorageError(f"cannot open {path} ({text}): check that its folder exists and is writable")
    return StorageError(f"{path}: {text}")
