"""Helpers for memgpt-core's tests: running the CLI, and sources of throw-away plugins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def damage_saved_file(path: Path, seq: int, damage: str) -> None:
    """Damage a saved graph or index (``<stem>.<seq>-<bytes>.<kind>``) as a disk, a copy or a backup might.

    ``garbage``: other bytes of the same size; ``truncated``: cut in half;
    ``flipped-last-byte``: one bit of its last byte changed; ``from-the-future``:
    named after a change-log position the SQLite file has not reached (the
    file was restored from an older backup).
    """
    data = path.read_bytes()
    if damage == "garbage":
        path.write_bytes((b"not a saved file " * (len(data) // 17 + 1))[: len(data)])
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flipped-last-byte":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 0x01]))
    elif damage == "from-the-future":
        path.rename(path.with_name(path.name.replace(f".{seq}-", f".{seq + 50}-")))
    else:
        raise ValueError(f"unknown damage {damage!r}")


def write_once_meanwhile(monkeypatch, owner: object, name: str, program: str) -> list[subprocess.CompletedProcess[str]]:
    """After the first call of ``owner.name``, run ``program`` (a local-backend writer) as another process, once.

    The writer gets a 2-second busy timeout: it fails if the call's caller
    holds the file's lock meanwhile (a build or a save inside a read
    transaction). Returns the list that receives the writer's result.
    """
    writes: list[subprocess.CompletedProcess[str]] = []
    original = getattr(owner, name)
    program = program.replace(
        "backend = LocalBackend()", "import memgpt.local.database as d; d.BUSY_TIMEOUT_MS = 2000\nbackend = LocalBackend()"
    )

    def then_write(*args, **kwargs):
        result = original(*args, **kwargs)
        if not writes:
            writes.append(subprocess.run([sys.executable, "-c", program], capture_output=True, text=True))
        return result

    monkeypatch.setattr(owner, name, then_write)
    return writes


def run_cli(
    *args: str, env: dict[str, str] | None = None, input: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m memgpt ARGS`` in a subprocess with the test's environment."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "memgpt", *args],
        capture_output=True,
        text=True,
        env=full_env,
        input=input,
        cwd=cwd,
        timeout=120,
    )


TEST_BACKEND_SOURCE = '''
from memgpt import hookimpl
from memgpt.kinds import RecordKind
from memgpt.storage.backend import Backend, Question


class TestDBBackend(Backend):
    """A third party's backend: the local engine under another name, archival and sources only."""

    name = "testdb"
    label = "Test database from a third-party distribution"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES})
    questions = (
        Question("path", "Enter testdb folder:", default="testdb-data", env="TESTDB_PATH"),
        Question("password", "Enter testdb password:", default="", secret=True),
    )
    uri_help = "a folder path"

    def settings_from_uri(self, uri):
        return {"path": uri} if uri else {}

    def open(self, settings):
        from memgpt.local.store import open_local_store
        from memgpt.paths import expand_home

        return open_local_store(expand_home(settings.get("path") or "~/.memgpt/testdb-data"))


@hookimpl
def register_backends(register):
    register(TestDBBackend())
'''

BROKEN_PLUGIN_SOURCE = """
import memgpt_dependency_that_is_not_installed  # noqa: F401
"""
