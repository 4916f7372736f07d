"""End-to-end checks a backend package runs from its own tests, through the real ``memgpt`` CLI.

Each command runs in a new process, so what one command wrote, the next reads
back after a restart; the checks fail if a library prints anything on stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def run_cli(
    *args: str, home: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m memgpt ARGS`` with ``MEMGPT_HOME=home``, in ``home``: every installed plugin loaded unless ``env`` says otherwise."""
    full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
    full["MEMGPT_HOME"] = str(home)
    full.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "memgpt", *args], capture_output=True, text=True, env=full, timeout=timeout, cwd=home
    )


def cli_round_trip(tmp_path: Path, backend: str, storage_args: Sequence[str] = (), env: Mapping[str, str] | None = None) -> Path:
    """Configure ``backend`` for archival and recall storage, then load, attach, insert, append, search and talk.

    Checks that ``memgpt backends`` lists ``local`` first and ``backend``,
    that every command succeeds without anything on stderr, that the
    searches find what earlier processes wrote, and that one turn of the
    agent (``memgpt send``, against a scripted LLM server on 127.0.0.1)
    searches both memories, edits core memory and lands in recall memory.
    Returns the home folder.

    Whatever else is installed, the commands after ``memgpt backends`` load
    only the core and the distribution that registers ``backend``
    (``MEMGPT_LOAD_PLUGINS``), and embed with the core's ``hashing``
    provider: other plugins (another embedding provider ranked first, a
    reader for ``.md`` files, a broken plugin's report on stderr) cannot
    change what this checks. ``env`` may set ``MEMGPT_LOAD_PLUGINS`` itself.
    """
    home = tmp_path / "home"
    home.mkdir(parents=True, exist_ok=True)
    listed = {b["name"]: b for b in json.loads(run_cli("backends", "--json", home=home, env=env).stdout)}
    assert next(iter(listed), None) == "local" and backend in listed, list(listed)
    env = {"MEMGPT_LOAD_PLUGINS": listed[backend]["distribution"], **(env or {})}
    storage = list(storage_args) or ["--archival-storage", backend, "--recall-storage", backend]
    docs = tmp_path / "round-trip-docs"
    docs.mkdir(exist_ok=True)
    (docs / "tea.md").write_text("Green tea is brewed at eighty degrees for two minutes.")
    (docs / "trains.md").write_text("The night train leaves the station at midnight.")
    from memgpt.testing.chat_server import ChatServer

    with ChatServer() as llm:
        _round_trip(home, env, storage, docs, llm)
    return home


def _round_trip(home: Path, env: Mapping[str, str], storage: Sequence[str], docs: Path, llm: Any) -> None:
    from memgpt.testing.chat_server import call, last_tool_result, say

    model = ("--model-endpoint-type", "openai", "--model-endpoint", llm.url, "--model", "test-model")
    steps: list[tuple[str, ...]] = [
        ("configure", "--defaults", "--embedding-provider", "hashing", *model, *storage),
        ("load", "directory", "--name", "docs", "--input-dir", str(docs)),
        ("add", "persona", "--name", "tester", "--text", "I test storage backends."),
        ("create", "agent", "--name", "round-trip", "--persona", "tester"),
        ("attach", "--agent", "round-trip", "--data-source", "docs"),
        ("archival", "insert", "--agent", "round-trip", "The user drinks oolong tea on Sundays."),
        ("recall", "append", "--agent", "round-trip", "Which TEA should I buy?"),
        ("recall", "append", "--agent", "round-trip", "--role", "assistant", "Try a green one."),
    ]
    for step in steps:
        result = run_cli(*step, home=home, env=env)
        assert result.returncode == 0, (step, result.stderr)
        assert result.stderr == "", (step, result.stderr)
    shown = json.loads(run_cli("show", "agent", "round-trip", "--json", home=home, env=env).stdout)
    assert shown["core_memory"]["persona"] == "I test storage backends.", shown
    found = json.loads(run_cli("archival", "search", "--agent", "round-trip", "oolong tea", "--json", home=home, env=env).stdout)
    assert found["total"] == 3, found
    assert found["results"][0]["text"] == "The user drinks oolong tea on Sundays.", found
    assert {r["source"] for r in found["results"]} == {None, "docs"}
    messages = json.loads(run_cli("recall", "search", "--agent", "round-trip", "tea", "--json", home=home, env=env).stdout)
    assert [m["text"] for m in messages["results"]] == ["Which TEA should I buy?"], messages
    listed_messages = json.loads(run_cli("recall", "list", "--agent", "round-trip", "--json", home=home, env=env).stdout)
    assert [m["role"] for m in listed_messages] == ["user", "assistant"]
    llm.script.extend(
        [
            call("archival_memory_search", {"query": "which tea does the user drink"}),
            call("conversation_search", {"query": "tea"}),
            call("core_memory_append", {"name": "human", "content": "Drinks oolong on Sundays."}),
            lambda body: say("You drink oolong." if "oolong" in json.dumps(llm.steps[1]) else "I do not know."),
        ]
    )
    turn = run_cli("send", "--agent", "round-trip", "What tea do I drink?", "--json", home=home, env=env)
    assert turn.returncode == 0 and turn.stderr == "", turn.stderr
    assert json.loads(turn.stdout)["replies"] == ["You drink oolong."], turn.stdout
    searched = last_tool_result(llm.steps[1])["message"]
    assert searched.startswith("Showing 3 of 3 results") and "oolong tea on Sundays" in searched, searched
    assert "Which TEA should I buy?" in last_tool_result(llm.steps[2])["message"]
    shown = json.loads(run_cli("show", "agent", "round-trip", "--json", home=home, env=env).stdout)
    assert shown["core_memory"]["human"].endswith("\nDrinks oolong on Sundays."), shown
    after = json.loads(run_cli("recall", "list", "--agent", "round-trip", "--json", home=home, env=env).stdout)
    assert [m["text"] for m in after if m["role"] == "user"][-1] == "What tea do I drink?"
    assert after[-2]["role"] == "assistant" and after[-2]["text"] == "You drink oolong.", after[-2:]
    status = run_cli("storage", "status", "--json", home=home, env=env)
    assert status.returncode == 0, status.stdout


def answer_configure(answers: Mapping[str, str], flags: Mapping[str, Any] | None = None) -> tuple[Any, list[str]]:
    """Run ``memgpt configure``'s questions with scripted answers (by prompt prefix), defaults for the rest.

    Returns the new configuration and every prompt asked, in order.
    """
    from memgpt.config import MemGPTConfig
    from memgpt.configure_questions import DefaultsAsker, run_configure

    asked: list[str] = []

    class Scripted(DefaultsAsker):
        def ask(self, question: Any, default: str | None, choices: list[str] | None, check: Any = None) -> str:
            asked.append(question.prompt)
            for prefix, answer in answers.items():
                if question.prompt.startswith(prefix):
                    return answer
            return super().ask(question, default, choices, check)

    return run_configure(MemGPTConfig.load(), False, dict(flags or {}), Scripted()).config, asked


def heavy_imports(module: str, candidates: Sequence[str]) -> list[str]:
    """Which of ``candidates`` importing ``module`` pulls in (run in a fresh interpreter)."""
    code = f"import {module}, sys; print([m for m in {list(candidates)!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    return list(json.loads(out.replace("'", '"')))
