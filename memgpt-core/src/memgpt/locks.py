"""Locks between processes on one machine, for engines that cannot share their files safely.

SQLite (the local backend) and the database servers coordinate writers
themselves. Some embedded engines do not: LanceDB writers that commit at once
conflict, Chroma's persistent mode keeps a private copy of its index in each
process. Their backends take a :class:`ProcessLock` (``fcntl.flock`` on a file
beside the data), waiting their turn for up to :func:`lock_timeout` seconds
and then failing in one line that names the lock and the way out.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from memgpt.errors import StorageLocked
from memgpt.files import DIR_MODE, FILE_MODE, private_dirs

TIMEOUT_VARIABLE = "MEMGPT_LOCK_TIMEOUT"
DEFAULT_TIMEOUT = 60.0
"""Seconds a process waits for another to finish with a store before giving up."""

_REGISTRY: dict[Path, ProcessLock] = {}
_REGISTRY_LOCK = threading.Lock()


def lock_timeout() -> float:
    """``$MEMGPT_LOCK_TIMEOUT`` seconds, else :data:`DEFAULT_TIMEOUT`."""
    try:
        return max(0.0, float(os.environ.get(TIMEOUT_VARIABLE, DEFAULT_TIMEOUT)))
    except ValueError:
        return DEFAULT_TIMEOUT


class ProcessLock:
    """An exclusive lock held by one process at a time, re-entrant for that process's threads.

    Use :func:`process_lock` to get the one instance per lock file (two
    ``flock`` s on separate descriptors of one process would block each other).
    """

    def __init__(self, path: Path, what: str, hint: str = "") -> None:
        self.path = path
        self.what = what
        self.hint = hint
        self._fd: int | None = None
        self._depth = 0
        self._thread_lock = threading.RLock()

    def acquire(self, timeout: float | None = None) -> None:
        """Take the lock, waiting up to ``timeout`` seconds (default :func:`lock_timeout`) for its holder."""
        import fcntl

        self._thread_lock.acquire()
        if self._depth:
            self._depth += 1
            return
        try:
            private_dirs(self.path.parent)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
        except OSError as exc:
            self._thread_lock.release()
            raise StorageLocked(f"cannot create the lock file {self.path} for {self.what}: {exc.strerror or exc}") from None
        wait = lock_timeout() if timeout is None else timeout
        deadline = time.monotonic() + wait
        pause = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = _holder(fd)
                    os.close(fd)
                    self._thread_lock.release()
                    raise StorageLocked(
                        f"{self.what} is in use by another process{holder} (lock {self.path}); waited {wait:.0f} s{self.hint}"
                    ) from None
                time.sleep(pause)
                pause = min(pause * 2, 0.1)
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd
        self._depth = 1

    def release(self) -> None:
        import fcntl

        if not self._depth:
            return
        self._depth -= 1
        if self._depth == 0 and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        self._thread_lock.release()

    @property
    def held(self) -> bool:
        return self._depth > 0

    def __enter__(self) -> ProcessLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _holder(fd: int) -> str:
    try:
        pid = os.pread(fd, 32, 0).decode().strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return f" (pid {pid})" if pid.isdigit() else ""


def process_lock(path: Path, what: str, hint: str = "") -> ProcessLock:
    """The process's one :class:`ProcessLock` on ``path`` (created on first use)."""
    path = Path(os.path.realpath(path))
    with _REGISTRY_LOCK:
        lock = _REGISTRY.get(path)
        if lock is None:
            lock = _REGISTRY[path] = ProcessLock(path, what, hint)
        return lock


__all__ = ["DEFAULT_TIMEOUT", "DIR_MODE", "TIMEOUT_VARIABLE", "ProcessLock", "lock_timeout", "process_lock"]
