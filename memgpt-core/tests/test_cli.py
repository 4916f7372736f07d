"""The CLI's other commands: version, backends, storage status."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from helpers import run_cli
from memgpt import __version__, hookimpl, plugins
from memgpt.cli import main
from memgpt.config import MemGPTConfig
from memgpt.errors import StorageUnavailable
from memgpt.kinds import RecordKind, Table
from memgpt.records import Message
from memgpt.storage import Where, open_storage, scope
from memgpt.storage.backend import Backend, Question, Store
from memgpt.testing import make_record


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_version() -> None:
    assert invoke("version").output.strip() == __version__
    assert __version__ in invoke("--version").output


def test_backends_lists_only_local_on_a_bare_install() -> None:
    result = invoke("backends")
    lines = result.output.splitlines()
    assert lines[0].split() == ["name", "distribution", "version", "record", "kinds", "description"]
    assert [line.split()[0] for line in lines[2 : lines.index("")]] == ["local"]
    rows = json.loads(invoke("backends", "--json").output)
    assert rows == [
        {
            "name": "local",
            "label": "Local files under MEMGPT_HOME (SQLite, exact numpy search; an HNSW graph for large archives)",
            "distribution": "memgpt-core",
            "version": __version__,
            "kinds": ["agents", "archival", "recall", "sources"],
            "roles": ["archival", "recall"],
            "uri": "a folder path or file:// URI (empty: $MEMGPT_HOME); file://DIR?ann_after=N sets the graph threshold",
            "questions": [],
        }
    ]


def test_storage_status_reports_the_local_store_and_counts(memgpt_home: Path) -> None:
    invoke("configure", "--defaults", "--user-id", "me")
    with open_storage() as storage:
        storage.collection(Table.ARCHIVAL, scope(agent_id="a")).insert(
            [make_record(Table.ARCHIVAL, i, owner="a", user="me") for i in range(3)]
        )
        storage.collection(Table.RECALL, scope(agent_id="a")).insert(
            [Message(id="m1", role="user", text="hi", user_id=user, agent_id="a") for user in ("me", "someone-else")]
        )
    result = invoke("storage", "status")
    assert result.exit_code == 0
    assert f"archival: local at {memgpt_home} (ok)" in result.output and "records of: me" in result.output
    report = json.loads(invoke("storage", "status", "--json").output)
    counts = {t["table"]: t["count"] for t in report["tables"]}
    assert counts == {
        "archival": 3,
        "recall": 1,
        "source_passages": 0,
        "sources": 0,
        "agents": 0,
        "profiles": 0,
    }  # the user's own
    assert report["config_exists"] is True and report["ok"] is True and report["problems"] == []
    everyone = json.loads(invoke("storage", "status", "--json", "--all-users").output)
    assert {t["table"]: t["count"] for t in everyone["tables"]}["recall"] == 2


def test_storage_status_before_configure_says_so(memgpt_home: Path) -> None:
    result = run_cli("storage", "status")
    assert result.returncode == 0
    assert "not written yet: run memgpt configure" in result.stdout


class DownBackend(Backend):
    name = "down"
    label = "A server that does not answer"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    questions = (Question("uri", "Enter the server URI:", default="http://127.0.0.1:9"),)

    def settings_from_uri(self, uri):
        return {"uri": uri}

    def open(self, settings) -> Store:
        raise StorageUnavailable(f"cannot reach {settings['uri']}: connection refused")


class DownPlugin:
    @hookimpl
    def register_backends(self, register):
        register(DownBackend())


def test_storage_status_reports_an_unreachable_backend(memgpt_home: Path) -> None:
    plugins.register(DownPlugin(), name="down")
    invoke("configure", "--defaults", "--recall-storage", "down")
    result = invoke("storage", "status")
    assert result.exit_code == 1
    assert "recall: down at uri=http://127.0.0.1:9 (ERROR: cannot reach http://127.0.0.1:9: connection refused)" in result.output
    report = json.loads(invoke("storage", "status", "--json").output)
    by_table = {t["table"]: t for t in report["tables"]}
    assert by_table["recall"]["count"] is None and by_table["archival"]["count"] == 0


def test_storage_errors_are_one_line_without_traceback(memgpt_home: Path) -> None:
    config = MemGPTConfig.load()
    config.archival_storage.type = "qdrant"
    config.save()
    result = run_cli("storage", "status")
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: storage backend 'qdrant' is not installed; install it with: pip install 'pymemgpt[qdrant]' (installed: local)"
    )


def test_catalog_stays_local_when_archival_backend_cannot_hold_it(memgpt_home: Path) -> None:
    class ArchivalOnly(Backend):
        name = "archival-only"
        label = "Archival only"
        kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES})

        def settings_from_uri(self, uri):
            return {}

        def open(self, settings):
            from memgpt.local.store import open_local_store

            return open_local_store(memgpt_home / "elsewhere")

    class Plugin:
        @hookimpl
        def register_backends(self, register):
            register(ArchivalOnly())

    plugins.register(Plugin(), name="archival-only")
    invoke("configure", "--defaults", "--archival-storage", "archival-only")
    with open_storage() as storage:
        assert storage.location(Table.AGENTS).backend.name == "local"
        assert storage.location(Table.ARCHIVAL).backend.name == "archival-only"
        assert storage.collection(Table.AGENTS, Where.everything()).count() == 0


def test_notices_are_printed_once_after_the_command(tmp_path) -> None:
    """What memgpt.notices collects reaches the terminal once, on stderr, after the command's own output."""
    import subprocess
    import sys

    code = (
        "from memgpt.notices import notice\n"
        "from memgpt.cli import main\n"
        "notice('k', 'something worth knowing')\n"
        "notice('k', 'something worth knowing')\n"
        "main(['version'])\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() and "Note" not in result.stdout
    assert result.stderr.count("Note: something worth knowing") == 1


def test_json_errors_go_to_stdout_as_json_with_a_non_zero_exit(tmp_path) -> None:
    import json
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "memgpt", "show", "agent", "ghost", "--json"], capture_output=True, text=True)
    assert result.returncode == 1 and result.stderr == ""
    error = json.loads(result.stdout)["error"]
    assert error["kind"] == "error" and "no agent named 'ghost'" in error["message"] and error["exit_code"] == 1
    result = subprocess.run([sys.executable, "-m", "memgpt", "show", "agent", "--json"], capture_output=True, text=True)
    assert result.returncode == 2 and json.loads(result.stdout)["error"]["kind"] == "usage"


def test_every_command_takes_json() -> None:
    def leaves(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                yield from leaves(sub, [*path, name])
        else:
            yield " ".join(path), {opt for param in command.params for opt in getattr(param, "opts", [])}

    missing = [path for path, options in leaves(main, ["memgpt"]) if "--json" not in options]
    assert missing == []


def test_names_are_an_argument_or_name_everywhere(memgpt_home) -> None:
    assert invoke("create", "agent", "sam").exit_code == 0
    assert invoke("create", "agent", "--name", "tom").exit_code == 0
    assert json.loads(invoke("show", "agent", "--name", "sam", "--json").output)["name"] == "sam"
    assert json.loads(invoke("show", "agent", "tom", "--json").output)["name"] == "tom"
    result = invoke("show", "agent", "sam", "--name", "tom")
    assert result.exit_code == 2 and "give the agent's name once" in result.output


def test_delete_asks_on_a_terminal_and_yes_skips_it(memgpt_home, monkeypatch) -> None:
    from memgpt.cli import common

    invoke("create", "agent", "--name", "sam")
    monkeypatch.setattr(common, "on_a_terminal", lambda: True)
    result = CliRunner().invoke(main, ["delete", "agent", "sam"], input="n\n")
    assert result.exit_code == 1 and "Delete agent 'sam'" in result.output and "nothing was changed" in result.output
    assert invoke("show", "agent", "sam").exit_code == 0
    result = CliRunner().invoke(main, ["delete", "agent", "sam", "--yes"])
    assert result.exit_code == 0 and "Deleted agent 'sam'" in result.output and "Delete agent 'sam'?" not in result.output


def test_the_search_table_shows_source_and_file(memgpt_home, tmp_path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text("Green tea is brewed at eighty degrees.")
    invoke("load", "directory", "--name", "docs", "--input-dir", str(docs))
    invoke("create", "agent", "--name", "sam")
    invoke("attach", "--agent", "sam", "--data-source", "docs")
    invoke("archival", "insert", "--agent", "sam", "Green tea is the user's favourite.")
    lines = invoke("archival", "search", "--agent", "sam", "green tea").output.splitlines()
    assert lines[1].split()[:4] == ["score", "source", "file", "text"]
    rows = {tuple(line.split()[1:3]) for line in lines[3:]}
    assert rows == {("docs", "tea.md"), ("(own", "memory)")}
