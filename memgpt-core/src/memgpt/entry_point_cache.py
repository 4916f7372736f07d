"""The ``memgpt`` entry points of the installed distributions, remembered between processes.

Finding them means reading every installed distribution's metadata
(:mod:`importlib.metadata`): on a machine with a few hundred packages that is
25-30 ms of every ``memgpt`` command, importing ``importlib.metadata`` (and the
``email`` package it parses metadata with) included. So what one process
finds is saved in ``$MEMGPT_HOME/cache/entry-points-<key>.json`` and the next
process reads it instead, as long as nothing was installed or removed since.

That is what the file's *fingerprint* checks: the modification time of every
folder on ``sys.path``. pip installs, upgrades and removes a distribution by
creating or deleting its ``*.dist-info`` folder (editable installs too), which
changes the time of the folder it sits in. The key names the interpreter and
``sys.path``, so virtual environments sharing one home keep separate files.

The cache is never trusted beyond that:

- a folder changed within :data:`RACY_SECONDS` of the scan (a file system
  with coarse times could hide a second change in the same tick) means the
  result is not saved, and the next process scans again;
- a missing, unreadable or damaged file, or one written by another memgpt
  version, means a scan;
- nothing is written unless ``$MEMGPT_HOME`` exists already (a command must
  not create the user's memgpt folder just to cache this), and a failed write
  is ignored. The file is ``0600``, written atomically.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import zlib
from dataclasses import asdict, dataclass
from importlib import import_module
from pathlib import Path
from typing import Any

from memgpt._version import __version__
from memgpt.files import write_private
from memgpt.paths import memgpt_home

RACY_SECONDS = 2.0
"""A ``sys.path`` folder changed this recently is not trusted to show the next change in its time."""

_FORMAT = 1
_VALUE = re.compile(r"(?P<module>[\w.]+)\s*(:\s*(?P<attr>[\w.]+)\s*)?(\[.*\]\s*)?$")


@dataclass(frozen=True)
class FoundEntryPoint:
    """One entry point of the group: its name, its ``module[:attr]`` value and the distribution declaring it."""

    name: str
    value: str
    distribution: str
    version: str

    def load(self) -> Any:
        """Import the module (and attribute) the entry point names, as ``EntryPoint.load`` does."""
        match = _VALUE.match(self.value)
        if match is None:
            raise ValueError(f"entry point {self.name!r} has a malformed value {self.value!r}")
        loaded: Any = import_module(match.group("module"))
        for part in (match.group("attr") or "").split(".") if match.group("attr") else ():
            loaded = getattr(loaded, part)
        return loaded


def entry_points(group: str) -> list[FoundEntryPoint]:
    """Every entry point of ``group`` in the installed distributions, in ``importlib.metadata``'s order."""
    fingerprint = _fingerprint()
    path = _cache_path(group)
    cached = _read(path, fingerprint)
    if cached is not None:
        return cached
    found = scan(group)
    if not _racy(fingerprint) and memgpt_home().is_dir():
        payload = {
            "format": _FORMAT,
            "memgpt": __version__,
            "fingerprint": fingerprint,
            "entry_points": [asdict(ep) for ep in found],
        }
        try:
            write_private(path, json.dumps(payload))
        except OSError:
            pass  # a read-only or full home: the next process scans again
    return found


def scan(group: str) -> list[FoundEntryPoint]:
    """Every entry point of ``group``, read from the distributions' metadata (no cache)."""
    from importlib import metadata

    found = []
    for ep in metadata.entry_points(group=group):
        dist = getattr(ep, "dist", None)
        name = dist.metadata["Name"] if dist is not None else ep.module
        version = dist.version if dist is not None else "?"
        found.append(FoundEntryPoint(ep.name, ep.value, str(name), str(version)))
    return found


def _search_path() -> list[str]:
    return [os.path.abspath(entry or os.curdir) for entry in sys.path]


def _fingerprint() -> list[list[Any]]:
    """Each ``sys.path`` entry with its modification time in nanoseconds (``None`` when it does not exist)."""
    out: list[list[Any]] = []
    for entry in _search_path():
        try:
            out.append([entry, os.stat(entry).st_mtime_ns])
        except OSError:
            out.append([entry, None])
    return out


def _racy(fingerprint: list[list[Any]]) -> bool:
    newest = max((mtime for _, mtime in fingerprint if mtime is not None), default=0)
    return bool(newest >= (time.time() - RACY_SECONDS) * 1e9)


def _cache_path(group: str) -> Path:
    key = zlib.crc32(json.dumps([sys.executable, group, _search_path()]).encode("utf-8"))  # a clash only costs a scan
    return memgpt_home() / "cache" / f"entry-points-{key:08x}.json"


def _read(path: Path, fingerprint: list[list[Any]]) -> list[FoundEntryPoint] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        if payload["format"] != _FORMAT or payload["memgpt"] != __version__ or payload["fingerprint"] != fingerprint:
            return None
        return [
            FoundEntryPoint(str(ep["name"]), str(ep["value"]), str(ep["distribution"]), str(ep["version"]))
            for ep in payload["entry_points"]
        ]
    except (OSError, ValueError, KeyError, TypeError):
        return None
