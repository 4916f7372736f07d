"""What the chroma backend promises beyond the conformance suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from memgpt.errors import ConfigError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing import make_record
from memgpt_backend_chroma.connector import regex_literal
from memgpt_backend_chroma.plugin import ChromaBackend


def test_uri_forms(memgpt_home: Path) -> None:
    backend = ChromaBackend()
    assert backend.settings_from_uri("") == {"mode": "persistent", "path": str(memgpt_home / "chroma")}
    assert backend.settings_from_uri("/data/chroma") == {"mode": "persistent", "path": "/data/chroma"}
    assert backend.settings_from_uri("http://127.0.0.1:9000") == {
        "mode": "http",
        "host": "127.0.0.1",
        "port": "9000",
        "ssl": "false",
    }
    assert backend.settings_from_uri("https://chroma.example.com")["port"] == "443"
    with pytest.raises(ConfigError, match="folder path or http"):
        backend.settings_from_uri("postgresql://x/y")
    with pytest.raises(ConfigError, match="malformed"):
        backend.settings_from_uri("http://host:notaport")


def test_http_settings_really_use_the_server(tmp_path: Path, memgpt_home: Path) -> None:
    """The original fell back to a local folder when both were set; an HTTP configuration must fail without a server."""
    backend = ChromaBackend()
    settings = {"mode": "http", "host": "127.0.0.1", "port": "9", "path": str(tmp_path / "never")}
    with pytest.raises(StorageUnavailable, match=r"cannot reach the Chroma server at http://127\.0\.0\.1:9"):
        backend.open(settings)
    assert not (tmp_path / "never").exists() and not (memgpt_home / "chroma").exists()
    assert not backend.check(settings).ok


def test_http_records_live_on_the_server(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings

    host, port = chroma_server
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(f"http://{host}:{port}"))
    coll = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    coll.drop()
    coll.insert([make_record(Table.ARCHIVAL, i, owner="server-agent") for i in range(7)])
    direct = chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
    assert direct.get_collection("memgpt_archival").count() == 7


def test_every_collection_uses_cosine_distance(tmp_path: Path) -> None:
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    for table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL):
        store.connector(table)
    spaces = {c.name: c.configuration["hnsw"]["space"] for c in store.client.list_collections() if not c.name.endswith("_plain")}
    assert spaces == {"memgpt_archival": "cosine", "memgpt_source_passages": "cosine", "memgpt_recall": "cosine"}


def test_regex_literal_escapes_every_meta_character() -> None:
    assert regex_literal("a.b*c") == r"a\.b\*c"
    assert regex_literal("(x)|[y]{2}^$#&-~\\") == r"\(x\)\|\[y\]\{2\}\^\$\#\&\-\~\\"
    assert regex_literal("plain words, ümlaut") == "plain words, ümlaut"


def test_importing_the_plugin_loads_no_chromadb() -> None:
    code = (
        "import memgpt_backend_chroma.plugin, sys; print([m for m in ('chromadb', 'numpy', 'onnxruntime') if m in sys.modules])"
    )
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def run_cli(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
    full.update(MEMGPT_HOME=str(home), HOME=str(home.parent), **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "memgpt", *args], capture_output=True, text=True, env=full, timeout=300, cwd=home
    )


def test_memories_round_trip_through_the_cli_and_survive_restarts(tmp_path: Path) -> None:
    """Each command is a new process: what one wrote, the next one reads back."""
    home = tmp_path / "home"
    home.mkdir()
    listed = json.loads(run_cli("backends", "--json", home=home).stdout)
    assert [b["name"] for b in listed] == ["local", "chroma"]
    configured = run_cli("configure", "--defaults", "--archival-storage", "chroma", "--recall-storage", "chroma", home=home)
    assert configured.returncode == 0, configured.stderr
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "tea.md").write_text("Green tea is brewed at eighty degrees.")
    for args in (
        ("load", "directory", "--name", "docs", "--input-dir", str(docs)),
        ("create", "agent", "--name", "c-agent"),
        ("attach", "--agent", "c-agent", "--data-source", "docs"),
        ("archival", "insert", "--agent", "c-agent", "The user likes oolong tea best."),
        ("recall", "append", "--agent", "c-agent", "Which tea should I buy?"),
    ):
        result = run_cli(*args, home=home)
        assert result.returncode == 0, (args, result.stderr)
    found = json.loads(run_cli("archival", "search", "--agent", "c-agent", "oolong tea", "--json", home=home).stdout)
    assert found["total"] == 2 and found["results"][0]["text"] == "The user likes oolong tea best."
    assert json.loads(run_cli("recall", "search", "--agent", "c-agent", "TEA", "--json", home=home).stdout)["total"] == 1
    assert (home / "chroma").is_dir()  # the seed's persistent default, under MEMGPT_HOME
    assert not (tmp_path / ".cache" / "chroma").exists()  # Chroma's default embedding model was never downloaded


def test_configure_asks_the_seed_questions(memgpt_home: Path) -> None:
    from memgpt.config import MemGPTConfig
    from memgpt.configure import DefaultsAsker, run_configure

    class Answering(DefaultsAsker):
        asked: list[str] = []  # noqa: RUF012

        def ask(self, question, default, choices):
            self.asked.append(question.prompt)
            if question.prompt == "Select storage backend for archival data:":
                return "chroma"
            if question.prompt == "Select chroma backend:":
                return "http"
            return super().ask(question, default, choices)

    config = run_configure(MemGPTConfig.load(), False, {}, Answering()).config
    assert "Select chroma backend:" in Answering.asked and "Enter chroma host:" in Answering.asked
    assert config.archival_storage.settings == {"mode": "http", "host": "localhost", "port": "8000"}
    persistent = run_configure(MemGPTConfig.load(), False, {"archival_storage": "chroma"}, DefaultsAsker()).config
    assert persistent.archival_storage.settings == {"mode": "persistent", "path": str(memgpt_home / "chroma")}
