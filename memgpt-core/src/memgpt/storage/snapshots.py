"""Files that hold a copy of a partition's search structure as of a position in its change log.

A backend that keeps an in-memory structure over its rows (an exact vector
index, an HNSW graph) can save it, so that the next process maps or loads it
instead of reading every row again, and then replays the change log from the
saved position. Each save is one file named ``<stem>.<seq>-<bytes>.<kind>``:
``seq`` is the change-log position it reflects, ``bytes`` its size. It is
written to a temporary file, synced and renamed (owner-only), so a reader sees
a whole file or none; a file whose size differs from its name (cut short by a
full disk or an interrupted copy) is never loaded.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from memgpt.files import FILE_MODE, private_dirs

LEFTOVER_AGE_S = 3_600.0
"""A temporary file of a save older than this was left by a killed process (a save takes seconds): removed."""

_NAME = re.compile(r".*\.(\d+)-(\d+)\.[a-z]+")
"""A saved file's name: ``<stem>.<seq>-<bytes>.<kind>``."""


def save_snapshot(folder: Path, stem: str, kind: str, seq: int, write: Callable[[str], None]) -> Path:
    """Save ``folder/<stem>.<seq>-<bytes>.<kind>`` through ``write(temporary path)``; older saves of it are removed.

    Raises ``OSError`` (a full disk, a read-only folder) with nothing left
    behind but the older saves.
    """
    private_dirs(folder)
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.{seq}.{kind}-", dir=folder)
    os.close(fd)
    try:
        os.chmod(tmp, FILE_MODE)
        write(tmp)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
            size = os.fstat(handle.fileno()).st_size
        path = folder / f"{stem}.{seq}-{size}.{kind}"
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    for older, _ in saved_snapshots(folder, stem, kind):
        if older != path:
            try:
                older.unlink(missing_ok=True)
            except OSError:
                pass  # still open elsewhere on a system that refuses that: the next save tries again
    for leftover in folder.glob(f".{stem}.*.{kind}-*"):  # what a process killed mid-save left, long ago
        try:
            if time.time() - leftover.stat().st_mtime > LEFTOVER_AGE_S:
                leftover.unlink()
        except OSError:
            pass
    return path


def saved_snapshots(folder: Path, stem: str, kind: str) -> list[tuple[Path, int]]:
    """The saves ``<stem>.<seq>-<bytes>.<kind>`` in ``folder``, newest (highest seq) first."""
    pattern = re.compile(rf"{re.escape(stem)}\.(\d+)-\d+\.{re.escape(kind)}")
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    found = [(folder / name, int(m.group(1))) for name in names if (m := pattern.fullmatch(name))]
    return sorted(found, key=lambda item: -item[1])


def whole(path: Path) -> bool:
    """Whether the file at ``path`` has the size its name records (a save, not cut short)."""
    found = _NAME.fullmatch(path.name)
    try:
        return found is not None and path.stat().st_size == int(found.group(2))
    except OSError:
        return False
