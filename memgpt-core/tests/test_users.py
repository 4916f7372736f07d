"""Several people on one store: two homes whose storage is one shared location, as a team shares one database.

Everything a user does, through the CLI, stays within their own records: the
same agent and source names, the same files loaded, deletes, exports,
migrations and imports. (Each backend runs the same isolation at the record
level in the conformance suite; this is what a user sees.)
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from memgpt.cli import main
from memgpt.testing.migration import snapshot


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    else:
        assert result.exit_code == 1, result.output + repr(result.exception)
        assert len(result.output.strip().splitlines()) == 1, result.output
    return result.output


@pytest.fixture
def as_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """``as_user(name)``: switch to ``name``'s home (configured on first use), whose storage is the shared folder."""
    shared = tmp_path / "shared-store"
    configured: set[str] = set()

    def switch(name: str) -> None:
        monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / f"home-{name}"))
        if name not in configured:
            where = ["--archival-storage", "local", "--archival-uri", str(shared), "--recall-storage", "local"]
            run("configure", "--defaults", "--user-id", name, *where, "--recall-uri", str(shared))
            configured.add(name)

    return switch


@pytest.fixture
def docs(tmp_path: Path) -> dict[str, Path]:
    folders = {}
    for name, text in (("tea", "Green tea is brewed at eighty degrees."), ("trains", "The night train leaves at midnight.")):
        folder = folders[name] = tmp_path / name
        folder.mkdir()
        (folder / f"{name}.md").write_text(text)
    return folders


def names(kind: str) -> list[tuple[str, int]]:
    rows = json.loads(run("list", kind, "--json"))
    return [(r["name"], r["passages"] if kind == "sources" else r["archival_passages"]) for r in rows]


def test_the_same_names_for_two_users_are_two_things(as_user, docs) -> None:
    for user, folder in (("alice", docs["tea"]), ("bob", docs["trains"])):
        as_user(user)
        run("load", "directory", "--name", "notes", "--input-dir", str(folder))
        run("create", "agent", "--name", "sam")
        run("attach", "--agent", "sam", "--data-source", "notes")
        run("archival", "insert", "--agent", "sam", f"{user} wrote this.")
    for user, word in (("alice", "tea"), ("bob", "train")):
        as_user(user)
        assert names("sources") == [("notes", 1)] and names("agents") == [("sam", 1)]
        found = json.loads(run("archival", "search", "--agent", "sam", word, "--json"))
        assert found["total"] == 2 and word in " ".join(r["text"] for r in found["results"])
        assert all(user in r["text"] or r["source"] == "notes" for r in found["results"])
    as_user("bob")
    run("delete", "source", "notes")
    run("delete", "agent", "sam")
    assert names("sources") == [] and names("agents") == []
    as_user("alice")
    assert names("sources") == [("notes", 1)] and names("agents") == [("sam", 1)]


def test_loading_the_same_file_twice_as_two_users_keeps_two_copies(as_user, docs) -> None:
    for user in ("alice", "bob"):
        as_user(user)
        run("load", "directory", "--name", "notes", "--input-dir", str(docs["tea"]))
    as_user("alice")
    run("delete", "source", "notes")
    as_user("bob")
    assert names("sources") == [("notes", 1)]
    run("load", "directory", "--name", "notes", "--input-dir", str(docs["tea"]))  # unchanged: nothing to write
    assert names("sources") == [("notes", 1)]


def test_export_migrate_and_import_act_on_the_configured_user(as_user, docs, tmp_path: Path) -> None:
    for user, folder in (("alice", docs["tea"]), ("bob", docs["trains"])):
        as_user(user)
        run("load", "directory", "--name", "notes", "--input-dir", str(folder))
        run("create", "agent", "--name", "sam")
        run("recall", "append", "--agent", "sam", f"hello from {user}")
    as_user("bob")
    bob_before = snapshot(user_id="bob")
    as_user("alice")
    alice_before = snapshot(user_id="alice")
    run("export", str(tmp_path / "alice-export"))
    manifest = json.loads((tmp_path / "alice-export" / "manifest.json").read_text())
    assert manifest["users"] == ["alice"] and manifest["tables"]["agents"]["count"] == 1
    run("export", str(tmp_path / "everyone"), "--all-users")
    assert json.loads((tmp_path / "everyone" / "manifest.json").read_text())["users"] == ["alice", "bob"]

    moved = tmp_path / "alice-moved"
    where = ["--to-archival", "local", "--to-archival-uri", str(moved), "--to-recall", "local", "--to-recall-uri", str(moved)]
    report = json.loads(run("migrate", *where, "--json"))
    assert report["tables"]["agents"]["target_count"] == 1 and all(t["identical"] for t in report["tables"].values())

    as_user("bob")  # bob's import of alice's export: as her records, refused; as his own copies, fine
    run("import", str(tmp_path / "alice-export"), "--keep-user-ids", "--overwrite", ok=False)
    run("import", str(tmp_path / "alice-export"), ok=False)  # the same names exist already for bob: refused ...
    assert snapshot(user_id="bob") == bob_before
    run("delete", "source", "notes")
    run("delete", "agent", "sam")
    run("import", str(tmp_path / "alice-export"))  # now bob gets his own copies
    assert names("sources") == [("notes", 1)] and [a for a, _ in names("agents")] == ["sam"]
    said = json.loads(run("recall", "search", "--agent", "sam", "hello", "--json"))["results"]
    assert [m["text"] for m in said] == ["hello from alice"]
    as_user("alice")
    assert snapshot(user_id="alice") == alice_before  # ... and alice's records untouched by any of it


def test_an_agent_name_cannot_be_imported_twice_for_one_user(as_user, tmp_path: Path) -> None:
    as_user("alice")
    run("create", "agent", "--name", "sam")
    run("export", str(tmp_path / "alice-export"))
    as_user("bob")
    run("create", "agent", "--name", "sam")  # bob's own sam: another agent than alice's
    out = run("import", str(tmp_path / "alice-export"), "--overwrite", ok=False)
    assert "agent 'sam' is another agent" in out
    assert [a for a, _ in names("agents")] == ["sam"]


def test_two_processes_creating_one_agent_make_one_agent(as_user) -> None:
    """Agent ids derive from the user and the name: racing creates write the same record, never two agents."""
    import subprocess
    import sys

    as_user("alice")
    code = "from memgpt.client import MemGPTClient\nwith MemGPTClient() as c:\n    c.create_agent('twin')\n"
    racers = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(4)]
    for racer in racers:
        racer.wait(timeout=120)
    assert [a for a, _ in names("agents")] == ["twin"]
