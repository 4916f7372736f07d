"""Files and folders memgpt creates: readable by their owner only, written atomically.

Memories are private: a home shared by the machine's users must not let one
read another's. Whatever umask the process has, folders memgpt creates are
``0700`` and files ``0600``; folders that existed already keep their modes
(the user chose them).
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dirs(path: Path) -> Path:
    """Create ``path`` and its missing parents, each new one ``0700``; returns ``path``."""
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another process: its mode is its own business
        os.chmod(folder, DIR_MODE)  # mkdir's mode passes through the umask; this does not
    return path


def write_private(path: Path, text: str | bytes) -> Path:
    """Write ``path`` atomically (a temporary file, fsync, rename), mode ``0600``; returns ``path``."""
    private_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def open_private(path: Path, mode: str = "w", **kwargs: object):  # type: ignore[no-untyped-def]
    """``open(path, mode)`` for a new file created ``0600`` (whatever the umask)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return os.fdopen(fd, mode, **kwargs)


def create_private_file(path: Path) -> bool:
    """Create ``path`` (and its folders) as an empty ``0600`` file unless it exists; returns whether it was created."""
    if path.exists():
        return False
    private_dirs(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    except FileExistsError:
        return False
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return True


def describe_os_error(exc: OSError) -> str:
    """What an OS error means for the user, in a few words (full disk, read-only, permissions...)."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is used up",
        errno.EROFS: "the file system is read-only",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENAMETOOLONG: "the name is too long for the file system",
        errno.EFBIG: "the file is larger than this process may write",
    }
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))


def require_free_space(folder: Path, needed: int, what: str) -> None:
    """Refuse, before anything is written, a write of about ``needed`` bytes that the disk under ``folder`` cannot hold.

    For engines that commit record by record (a full disk would leave part of
    a batch behind): with the store's lock held, no other memgpt process can
    take the space meanwhile.
    """
    from memgpt.errors import StorageError

    try:
        stats = os.statvfs(folder)
    except OSError:
        return  # nothing to measure: the write itself will say what is wrong
    free = stats.f_bavail * stats.f_frsize
    if free < needed:
        raise StorageError(
            f"the disk is full: {what} needs about {needed / 1e6:.1f} MB and {folder} has {free / 1e6:.1f} MB free; "
            "nothing was written"
        )
