"""The local backend on damaged, full and read-only storage: one-line errors naming the file, nothing lost or half-written.

Each command runs in its own process, as a user runs it. A full disk is a
child process whose files may not grow past a limit (RLIMIT_FSIZE), and, where
this machine lets the tests mount one, a real 400 KiB file system.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli

TRACEBACK = "Traceback (most recent call last)"
ENV = {"MEMGPT_LOAD_PLUGINS": ""}
LIMITED = """
import resource, runpy, signal, sys
limit = int(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit a write fails (EFBIG) instead of killing the process
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["memgpt", *sys.argv[2:]]
runpy.run_module("memgpt", run_name="__main__")
"""


def ok(*args: str, **kwargs) -> str:
    result = run_cli(*args, env=ENV, **kwargs)
    assert result.returncode == 0 and not result.stderr, (args, result.stdout, result.stderr)
    return result.stdout


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0 and TRACEBACK not in result.stderr, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr
    return lines[0]


def agent_file(home: Path, name: str) -> Path:
    agent = json.loads(ok("show", "agent", name, "--json"))
    return home / "agents" / agent["id"] / "memory.sqlite"


def test_a_damaged_agent_file_fails_what_touches_it_and_nothing_else(memgpt_home: Path) -> None:
    ok("configure", "--defaults")
    from memgpt.client import MemGPTClient

    with MemGPTClient() as client:
        for name in ("good", "bad"):
            client.create_agent(name)
            memory = client.memory(name)
            for i in range(150):  # enough pages that the damage lands inside the data
                memory.insert_archival(f"passage {i} of {name}: " + "words " * 60)
            memory.append_message("user", f"hello {name}")
    damaged = agent_file(memgpt_home, "bad")
    size = damaged.stat().st_size
    with open(damaged, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(os.urandom(64 * 1024))
    before = damaged.read_bytes()
    for args in (
        ["archival", "search", "--agent", "bad", "passage"],
        ["archival", "insert", "--agent", "bad", "one more"],
        ["recall", "list", "--agent", "bad"],
        ["recall", "append", "--agent", "bad", "hi"],
        ["list", "agents"],
    ):
        line = one_line_error(run_cli(*args, env=ENV))
        assert str(damaged) in line and "damaged" in line, line
    assert damaged.read_bytes() == before  # nothing was written into it
    ok("archival", "insert", "--agent", "good", "still fine")  # the other agent keeps working
    found = json.loads(ok("archival", "search", "--agent", "good", "still fine", "--json"))
    assert found["results"][0]["text"] == "still fine"
    status = run_cli("storage", "status", "--json", env=ENV)
    assert status.returncode == 1 and TRACEBACK not in status.stderr
    report = json.loads(status.stdout)
    assert not report["ok"] and any(str(damaged) in p for p in report["problems"])


def test_a_file_that_is_not_a_database_is_named_by_status(memgpt_home: Path) -> None:
    ok("configure", "--defaults")
    ok("create", "agent", "--name", "sam")
    garbage = memgpt_home / "archival" / "docs" / "source.sqlite"
    garbage.parent.mkdir(parents=True)
    garbage.write_bytes(b"not a database at all" * 1000)
    result = run_cli("storage", "status", env=ENV)
    assert result.returncode == 1 and TRACEBACK not in result.stderr and str(garbage) in result.stdout


def run_limited(limit: int, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", LIMITED, str(limit), *args], capture_output=True, text=True, env={**os.environ, **ENV}, timeout=120
    )


def test_when_the_disk_fills_writes_fail_in_one_line_and_leave_nothing_behind(memgpt_home: Path) -> None:
    ok("configure", "--defaults")
    ok("create", "agent", "--name", "sam")
    agents = sorted(p.name for p in (memgpt_home / "agents").iterdir())
    line = one_line_error(run_limited(20_000, "create", "agent", "--name", "newcomer"))
    assert "disk" in line
    assert sorted(p.name for p in (memgpt_home / "agents").iterdir()) == agents  # no empty memory.sqlite left
    line = one_line_error(run_limited(250_000, "archival", "insert", "--agent", "sam", "word " * 20_000))
    assert "nothing of this operation was written" in line
    assert json.loads(ok("show", "agent", "sam", "--json"))["archival_passages"] == 0
    ok("archival", "insert", "--agent", "sam", "room again")  # without the limit: works, the file is sound
    assert json.loads(ok("storage", "status", "--json"))["ok"]


@pytest.fixture
def tiny_filesystem(tmp_path: Path):
    """A real 400 KiB file system (tmpfs), if this machine lets the tests mount one."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small file system here ({made.stderr.decode().strip()}); RLIMIT_FSIZE covers it")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_real_full_disk_says_so(tiny_filesystem: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMGPT_HOME", str(tiny_filesystem / "home"))
    ok("configure", "--defaults")
    ok("create", "agent", "--name", "sam")
    lines = []
    for _ in range(12):
        result = run_cli("archival", "insert", "--agent", "sam", "word " * 5000, env=ENV)
        if result.returncode:
            lines.append(one_line_error(result))
    assert lines and all("the disk is full" in line for line in lines), lines
    stored = json.loads(ok("show", "agent", "sam", "--json"))["archival_passages"]
    assert stored == 17 * (12 - len(lines))  # each insert landed whole or not at all
    assert json.loads(ok("storage", "status", "--json"))["ok"]


def test_a_read_only_home_gives_one_line_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a file system here to make read-only (as root, permissions do not stop writes)")
    try:
        monkeypatch.setenv("MEMGPT_HOME", str(mount / "home"))
        ok("configure", "--defaults")
        ok("create", "agent", "--name", "sam")
        ok("archival", "insert", "--agent", "sam", "written before")
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        found = json.loads(ok("archival", "search", "--agent", "sam", "written", "--json"))  # reading still works
        assert found["results"][0]["text"] == "written before"
        for args in (
            ["archival", "insert", "--agent", "sam", "x"],
            ["create", "agent", "--name", "new"],
            ["configure", "--defaults"],
        ):
            line = one_line_error(run_cli(*args, env=ENV))
            assert "read-only" in line, line
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_a_file_as_a_checking_process_left_it_is_not_checked_again_and_any_other_change_is(tmp_path: Path, monkeypatch) -> None:
    """The check costs about 0.5 ms per MB on every new process: it is skipped for a file exactly as memgpt left it."""
    from memgpt.default_plugins.local_backend import LocalBackend
    from memgpt.kinds import Table
    from memgpt.local.database import Database
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where
    from memgpt.testing import make_record

    checked: list[Path] = []
    check = Database.check

    def counted(db: Database) -> str | None:
        checked.append(db.path)
        return check(db)

    monkeypatch.setattr(Database, "check", counted)
    backend = LocalBackend()
    agent_file = tmp_path / "home" / "agents" / "agent-0" / "memory.sqlite"

    def session(write: bool = False, before_writing=None) -> None:
        store = backend.open(backend.settings_from_uri(str(tmp_path / "home")))
        archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
        archival.count()  # the file is opened and verified
        if before_writing is not None:
            before_writing()
        if write:
            archival.insert([make_record(Table.ARCHIVAL, len(checked) + i, owner="agent-0") for i in range(3)])
        store.close()

    session(write=True)  # created, checked, written: left as checked
    checked.clear()
    session(write=True)
    session()
    assert agent_file not in checked  # neither the reader nor the writer after it checked it again
    os.utime(agent_file, ns=(agent_file.stat().st_atime_ns, agent_file.stat().st_mtime_ns + 1))  # anything else
    session()
    assert checked.count(agent_file) == 1
    checked.clear()
    # Changed by something else while a process had it open: that process's later commit does not vouch for it.
    session(write=True, before_writing=lambda: os.utime(agent_file, ns=(1, 1)))
    session()
    assert checked.count(agent_file) == 1
