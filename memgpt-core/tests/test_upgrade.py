"""A home written by memgpt 0.4 keeps working: its files are upgraded in place, once, and nothing is lost.

``data/home-0.4.tar.gz`` was made with memgpt 0.4 (commit 74247a6) from the
command line: a data source ``docs`` and an agent ``ada`` (with archival and
recall memories, ``docs`` attached) for the home's user, then, with the
config's ``anon_clientid`` changed, a source ``notes`` and an agent ``bob``
for ``second-user``; ``export04`` is that release's ``memgpt export`` of it.
0.4 keyed rows by bare record ids; this release keys them by user.
"""

from __future__ import annotations

import json
import sqlite3
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from memgpt.cli import main
from memgpt.local.schema import SCHEMA_VERSION

FIXTURE = Path(__file__).with_name("data") / "home-0.4.tar.gz"
FIRST_USER = "02fceade9c5d5d5b97db09c84a78d9c0"


def run(*args: str) -> str:
    result = CliRunner().invoke(main, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.output


@pytest.fixture
def old_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(tmp_path, filter="data")
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "home04"))
    return tmp_path


def schema_versions(home: Path) -> set[int]:
    versions = set()
    for path in [home / "local.sqlite", *home.glob("*/*/*.sqlite")]:
        with sqlite3.connect(path) as conn:
            versions.add(conn.execute("PRAGMA user_version").fetchone()[0])
    return versions


def test_a_home_of_memgpt_0_4_is_upgraded_in_place_and_loses_nothing(old_home: Path) -> None:
    home = old_home / "home04"
    assert schema_versions(home) == {1}
    assert [a["name"] for a in json.loads(run("list", "agents", "--json"))] == ["ada"]
    sources = json.loads(run("list", "sources", "--json"))
    assert [(s["name"], s["passages"], s["attached_agents"]) for s in sources] == [("docs", 2, ["ada"])]
    found = json.loads(run("archival", "search", "--agent", "ada", "green tea", "--json"))
    assert found["total"] == 3 and "green tea" in found["results"][0]["text"].lower()
    said = json.loads(run("recall", "search", "--agent", "ada", "tea", "--json"))
    assert [m["text"] for m in said["results"]] == ["Which tea should I buy?"]

    # Every record of both users, exactly as 0.4 exported them: the same checksums.
    run("export", str(old_home / "after"), "--all-users")
    before = json.loads((old_home / "export04" / "manifest.json").read_text())
    after = json.loads((old_home / "after" / "manifest.json").read_text())
    assert after["users"] == before["users"] == sorted([FIRST_USER, "second-user"])
    for table, entry in before["tables"].items():
        assert (after["tables"][table]["count"], after["tables"][table]["checksum"]) == (entry["count"], entry["checksum"]), table
    assert schema_versions(home) == {SCHEMA_VERSION}  # each file is upgraded (in one transaction) when first opened

    run("configure", "--defaults", "--user-id", "second-user")  # the other user of the home sees their own
    assert [a["name"] for a in json.loads(run("list", "agents", "--json"))] == ["bob"]
    assert [s["name"] for s in json.loads(run("list", "sources", "--json"))] == ["notes"]
    assert json.loads(run("show", "agent", "bob", "--json"))["archival_passages"] == 1


def test_an_upgraded_home_accepts_writes_without_duplicates(old_home: Path) -> None:
    run("archival", "insert", "--agent", "ada", "Ada moved to Lisbon.")
    for _ in range(2):  # the same files, from where they are now (documents are known by their path): added once
        run("load", "directory", "--name", "docs", "--input-dir", str(old_home / "docs04"))
        sources = json.loads(run("list", "sources", "--json"))
        assert [(s["name"], s["passages"]) for s in sources] == [("docs", 4)]
    assert json.loads(run("show", "agent", "ada", "--json"))["archival_passages"] == 2
    assert json.loads(run("archival", "search", "--agent", "ada", "Lisbon", "--json"))["total"] == 6
