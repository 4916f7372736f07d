"""The memory commands, end to end on the local backend, as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from memgpt.cli import main


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text("# Tea\n\nGreen tea is brewed at eighty degrees for two minutes.")
    (docs / "trains.html").write_text("<html><body><p>The night train leaves at midnight.</p></body></html>")
    (docs / "broken.json").write_text("{oops")
    (docs / "faq.jsonl").write_text('{"text": "Rivers flood in spring."}\n')
    return docs


def test_load_attach_search_list_delete(folder: Path) -> None:
    run("configure", "--defaults")
    out = run("load", "directory", "--name", "docs", "--input-dir", str(folder))
    assert "Read 4 files of 4 (1 .html, 1 .json, 1 .jsonl, 1 .md); 1 file read as plain text" in out
    assert "Data source 'docs' (new): 4 passages written" in out
    again = _json_part(run("load", "directory", "--name", "docs", "--input-dir", str(folder), "--json"))
    assert again["unchanged"] == 4 and again["passages_written"] == 0
    assert [Path(f["file"]).name for f in again["as_text"]] == ["broken.json"] and "not valid JSON" in again["as_text"][0][
        "reason"
    ]

    assert "Created agent 'sam'" in run("create", "agent", "--name", "sam")
    assert "now reads: docs" in run("attach", "--agent", "sam", "--data-source", "docs")
    found = json.loads(run("archival", "search", "--agent", "sam", "how hot for green tea", "--json"))
    assert found["total"] == 4 and found["results"][0]["source"] == "docs"
    assert "eighty degrees" in found["results"][0]["text"]
    assert "Showing 4 of 4 results (page 0/0)" in run("archival", "search", "--agent", "sam", "green tea")

    run("archival", "insert", "--agent", "sam", "The user prefers oolong.")
    own = json.loads(run("archival", "list", "--agent", "sam", "--json"))
    assert [p["text"] for p in own] == ["The user prefers oolong."]

    run("recall", "append", "--agent", "sam", "--role", "user", "I will travel by night train")
    run("recall", "append", "--agent", "sam", "--role", "assistant", "Enjoy the trip")
    hits = json.loads(run("recall", "search", "--agent", "sam", "NIGHT", "--json"))
    assert hits["total"] == 1 and hits["results"][0]["role"] == "user"
    from datetime import date

    today = date.today().isoformat()
    by_date = json.loads(run("recall", "search", "--agent", "sam", "--start", today, "--end", today, "--json"))
    assert by_date["total"] == 2
    assert [m["text"] for m in json.loads(run("recall", "list", "--agent", "sam", "--json"))] == [
        "I will travel by night train",
        "Enjoy the trip",
    ]

    sources = json.loads(run("list", "sources", "--json"))
    assert sources == [
        {
            "name": "docs",
            "passages": 4,
            "embedding_model": "lexical-hash-384",
            "embedding_dim": 384,
            "attached_agents": ["sam"],
            "created_at": sources[0]["created_at"],
            "description": None,
        }
    ]
    agents = json.loads(run("list", "agents", "--json"))
    assert agents[0]["attached_sources"] == ["docs"] and agents[0]["archival_passages"] == 1 and agents[0]["recall_messages"] == 2

    assert "Detached" in run("detach", "--agent", "sam", "--data-source", "docs")
    assert json.loads(run("archival", "search", "--agent", "sam", "green tea", "--json"))["total"] == 1
    assert "Deleted data source 'docs' (4 passages)" in run("delete", "source", "docs")
    assert json.loads(run("list", "sources", "--json")) == []
    assert "Deleted agent 'sam' (1 archival passage, 2 messages)" in run("delete", "agent", "sam")
    assert json.loads(run("list", "agents", "--json")) == []


def _json_part(output: str) -> dict:
    start = output.index("{")
    return json.loads(output[start : output.rindex("}") + 1])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["archival", "search", "--agent", "ghost", "x"], "Error: no agent named 'ghost'"),
        (["attach", "--agent", "ghost", "--data-source", "docs"], "Error: no agent named 'ghost'"),
        (["delete", "source", "nothing"], "Error: no data source named 'nothing'"),
        (["load", "directory", "--name", "docs"], "give --input-dir DIR or --input-files FILE"),
        (["load", "directory", "--name", "../x", "--input-files", __file__], "Error: source name '../x' may not contain"),
        (["recall", "search", "--agent", "ghost"], "Error: no agent named 'ghost'"),
    ],
)
def test_errors_are_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output


def test_load_several_files_after_input_files(folder: Path) -> None:
    out = run("load", "directory", "--name", "two", "--input-files", str(folder / "tea.md"), str(folder / "faq.jsonl"))
    assert "Read 2 files of 2 (1 .jsonl, 1 .md)" in out


def test_show_agent() -> None:
    run("create", "agent", "--name", "sam", "--persona", "sam_pov", "--human", "basic")
    out = run("show", "agent", "sam")
    assert "persona            sam_pov" in out and "embeddings         hashing:lexical-hash-384 (384-d)" in out
    assert "core memory: human (59/2,000 characters)\n  First name: unknown\n" in out
    details = json.loads(run("show", "agent", "sam", "--json"))
    assert details["name"] == "sam" and details["archival_passages"] == 0 and details["attached_sources"] == []
    assert "Error: no agent named 'nobody'" in CliRunner().invoke(main, ["show", "agent", "nobody"]).output
