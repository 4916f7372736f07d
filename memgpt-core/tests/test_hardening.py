"""Hostile input, private files and credentials: one-line errors, nothing lost, nothing readable by others.

Every command here runs as a user runs it, in a new process, and must print
no traceback.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import run_cli
from memgpt.config import MemGPTConfig

TRACEBACK = "Traceback (most recent call last)"


def ok(*args: str, **kwargs) -> str:
    result = run_cli(*args, **kwargs)
    assert result.returncode == 0 and TRACEBACK not in result.stderr, (args, result.stdout, result.stderr)
    return result.stdout


def fails(*args: str, code: int = 1, **kwargs) -> str:
    """The command fails with one line on stderr (no traceback); returns that line."""
    result = run_cli(*args, **kwargs)
    assert result.returncode == code, (args, result.returncode, result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and TRACEBACK not in result.stderr, result.stderr
    return lines[0]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_everything_memgpt_creates_is_readable_by_its_owner_only(memgpt_home: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text("Green tea is brewed at eighty degrees.")
    loose = {"env": {"MEMGPT_LOAD_PLUGINS": ""}}
    # a permissive umask, as many systems have: it must not matter
    code = "import os, runpy, sys; os.umask(0o022); sys.argv[0] = 'memgpt'; runpy.run_module('memgpt', run_name='__main__')"
    for args in (
        ["configure", "--defaults"],
        ["load", "directory", "--name", "docs", "--input-dir", str(docs)],
        ["create", "agent", "--name", "sam"],
        ["archival", "insert", "--agent", "sam", "private thought"],
        ["export", str(tmp_path / "backup")],
    ):
        result = subprocess.run(
            [sys.executable, "-c", code, *args], capture_output=True, text=True, env={**os.environ, **loose["env"]}
        )
        assert result.returncode == 0, result.stderr
    assert mode(memgpt_home) == 0o700
    assert mode(memgpt_home / "config") == 0o600
    databases = [p for p in memgpt_home.rglob("*") if p.is_file()]
    assert databases and all(mode(p) == 0o600 for p in databases), {str(p): oct(mode(p)) for p in databases}
    assert all(mode(p) == 0o700 for p in memgpt_home.rglob("*") if p.is_dir())
    assert mode(tmp_path / "backup") == 0o700 and all(mode(p) == 0o600 for p in (tmp_path / "backup").iterdir())


def test_credentials_in_endpoints_are_never_stored_in_records_or_printed(memgpt_home: Path, tmp_path: Path) -> None:
    secret = "sk-very-secret-42"
    endpoint = f"https://me:{secret}@llm.example.com/v1?api_key={secret}&region=eu"
    env = {"MEMGPT_LOAD_PLUGINS": ""}
    ok("configure", "--defaults", "--model-endpoint", endpoint, env=env)
    ok("create", "agent", "--name", "sam", env=env)
    shown = json.loads(ok("show", "agent", "sam", "--json", env=env))
    assert shown["llm_config"]["model_endpoint"] == "https://llm.example.com/v1?region=eu"
    ok("export", str(tmp_path / "backup"), env=env)
    printed = "".join(ok(*args, env=env) for args in (["show", "agent", "sam"], ["list", "agents"], ["storage", "status"]))
    assert secret not in printed
    stored = [p for p in memgpt_home.rglob("*.sqlite")] + list((tmp_path / "backup").iterdir())
    assert all(secret.encode() not in p.read_bytes() for p in stored)
    assert secret in (memgpt_home / "config").read_text()  # where it comes from when used: the owner-only config


def test_a_bad_file_is_skipped_and_named_and_the_rest_of_the_load_lands(memgpt_home: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text("Green tea is brewed at eighty degrees.")
    (docs / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (docs / "nul.txt").write_bytes(b"a text with a \x00 in it")
    (docs / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (docs / os.fsdecode(b"caf\xe9-name.txt")).write_text("A file whose name is not UTF-8.")
    env = {"MEMGPT_LOAD_PLUGINS": ""}
    ok("configure", "--defaults", env=env)
    result = run_cli("load", "directory", "--name", "docs", "--input-dir", str(docs), "--json", env=env)
    assert TRACEBACK not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    skipped = {Path(f["file"]).name: f["reason"] for f in report["skipped"]}
    assert set(skipped) == {"nul.txt", "latin1.txt"} and report["failed"] == [], report
    assert "NUL" in skipped["nul.txt"] and "UTF-8" in skipped["latin1.txt"]
    as_text = {Path(f["file"]).name: f["reason"] for f in report["as_text"]}
    assert list(as_text) == ["deep.json"] and "nested too deeply" in as_text["deep.json"]  # still text: loaded as such
    assert report["files"] == 3 and report["kinds"] == {".json": 1, ".md": 1, ".txt": 1}
    ok("create", "agent", "--name", "sam", env=env)
    ok("attach", "--agent", "sam", "--data-source", "docs", env=env)
    found = json.loads(ok("archival", "search", "--agent", "sam", "file name", "--json", env=env))
    assert any("\\xe9" in (r["metadata"].get("file_name") or "") for r in found["results"])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["create", "agent", "--name", "名" * 100], "too long"),
        (["archival", "search", "--agent", "sam", "tea", "--page-size", str(2**63)], "page-size"),
        (["archival", "search", "--agent", "sam", "tea", "--page", str(2**63)], "--page"),
        (["recall", "search", "--agent", "sam", "--start", "2024-13-45"], "YYYY-MM-DD"),
        (["recall", "search", "--agent", "sam", "--start", "99999-01-01"], "YYYY-MM-DD"),
    ],
)
def test_absurd_arguments_get_one_line_errors(memgpt_home: Path, args: list[str], says: str) -> None:
    env = {"MEMGPT_LOAD_PLUGINS": ""}
    ok("configure", "--defaults", env=env)
    ok("create", "agent", "--name", "sam", env=env)
    line = fails(*args, code=2 if "--page" in " ".join(args) else 1, env=env)
    assert says in line, line


def test_texts_no_backend_can_hold_are_refused_before_writing(memgpt_home: Path) -> None:
    from memgpt.client import MemGPTClient
    from memgpt.errors import InvalidRecord

    with MemGPTClient() as client:
        client.create_agent("sam")
        memory = client.memory("sam")
        for text, says in (("nul \x00 inside", "NUL"), ("lone \udcff surrogate", "not valid Unicode")):
            with pytest.raises(InvalidRecord, match=says):
                memory.insert_archival(text)
            with pytest.raises(InvalidRecord, match=says):
                memory.append_message("user", text)
        assert memory.archival.count() == 0 and memory.recall.count() == 0


def test_arguments_that_are_not_utf8_are_refused_before_anything_runs(memgpt_home: Path) -> None:
    env = {**os.environ, "MEMGPT_LOAD_PLUGINS": ""}
    result = subprocess.run(
        [sys.executable, "-m", "memgpt", "create", "agent", "--name", b"caf\xe9"], capture_output=True, env=env, timeout=60
    )
    assert result.returncode == 2 and TRACEBACK.encode() not in result.stderr
    assert result.stderr.strip().splitlines() == [b"Error: argument 4 is not valid UTF-8 text; pass text in UTF-8"]
    assert not memgpt_home.exists() or not list(memgpt_home.rglob("*.sqlite"))


CRASHING_BACKEND = '''
from memgpt import hookimpl
from memgpt.kinds import RecordKind
from memgpt.storage.backend import Backend


class CrashingBackend(Backend):
    """A third party's backend with a bug: its open() raises something memgpt does not know."""

    name = "crashing"
    label = "Crashes when opened"
    kinds = frozenset(RecordKind)

    def settings_from_uri(self, uri):
        return {}

    def open(self, settings):
        raise ZeroDivisionError("the plugin divided by zero")


@hookimpl
def register_backends(register):
    register(CrashingBackend())
'''


def test_an_unexpected_error_is_one_line_that_says_how_to_see_the_traceback(fake_distribution, memgpt_home: Path) -> None:
    site = fake_distribution("memgpt-backend-crashing", "0.1", "memgpt_crashing", CRASHING_BACKEND)
    env = {"PYTHONPATH": str(site), "MEMGPT_LOAD_PLUGINS": "memgpt-backend-crashing"}
    ok("configure", "--defaults", "--archival-storage", "crashing", env=env)
    line = fails("list", "agents", env=env)
    assert line.startswith("Error: unexpected ZeroDivisionError: the plugin divided by zero") and "MEMGPT_DEBUG=1" in line
    debug = run_cli("list", "agents", env={**env, "MEMGPT_DEBUG": "1"})
    assert debug.returncode == 1 and TRACEBACK in debug.stderr and "ZeroDivisionError" in debug.stderr


def test_a_corrupt_config_can_be_rewritten_by_configure(memgpt_home: Path) -> None:
    env = {"MEMGPT_LOAD_PLUGINS": ""}
    ok("configure", "--defaults", "--user-id", "ada-lovelace", "--persona", "my_persona", env=env)
    damaged = (memgpt_home / "config").read_bytes().replace(b"[defaults]", b"[defaults\nbroken = \xff\xfe")
    (memgpt_home / "config").write_bytes(damaged)
    line = fails("list", "agents", env=env)
    assert "config" in line and "memgpt configure" in line
    ok("configure", "--defaults", env=env)
    config = MemGPTConfig.load()
    assert config.user_id == "ada-lovelace" and config.persona == "my_persona"  # what could be read is kept
    backups = list(memgpt_home.glob("config.broken*"))
    assert len(backups) == 1 and backups[0].read_bytes() == damaged and mode(backups[0]) == 0o600
