"""Changing the embedding model: old sources and agents keep theirs, `memgpt reembed` moves one, a missing model says how."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from memgpt import hookimpl, plugins
from memgpt.catalog import embedding_of_source
from memgpt.cli import main
from memgpt.config import MemGPTConfig
from memgpt.embeddings.hashing import hash_vector
from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider
from memgpt.kinds import Table
from memgpt.reembed import PREVIOUS, reembed_source
from memgpt.storage.configured import Storage
from memgpt.storage.where import Where


def run(*args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, list(args))
    assert (result.exit_code == 0) == ok, result.output
    return result.output


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "tea.md").write_text("Green tea is brewed at eighty degrees for two minutes.")
    (folder / "trains.md").write_text("The night train leaves the station at midnight.")
    return folder


def switch_to_1024() -> None:
    run("configure", "--defaults", "--embedding-provider", "hashing", "--embedding-model", "lexical-hash-1024")


def shelf_counts() -> dict[str, int]:
    status = json.loads(run("storage", "status", "--json"))
    return {t["table"]: t["count"] for t in status["tables"] if t["table"].startswith(("archival", "source_passages"))}


def test_reembed_moves_a_source_and_an_agent_to_the_configured_model(docs: Path) -> None:
    run("configure", "--defaults", "--embedding-provider", "hashing")
    run("load", "directory", "--name", "docs", "--input-dir", str(docs))
    run("create", "agent", "--name", "sam")
    run("attach", "--agent", "sam", "--data-source", "docs")
    run("archival", "insert", "--agent", "sam", "The user prefers oolong.")
    switch_to_1024()
    report = json.loads(run("reembed", "source", "docs", "--json"))
    assert report["passages"] == 2 and report["removed"] == 2 and "lexical-hash-1024" in report["after"]
    report = json.loads(run("reembed", "agent", "--name", "sam", "--json"))
    assert report["passages"] == 1 and report["removed"] == 1
    assert json.loads(run("reembed", "agent", "sam", "--json"))["unchanged"] is True
    sources = json.loads(run("list", "sources", "--json"))
    assert [(s["embedding_model"], s["passages"]) for s in sources] == [("lexical-hash-1024", 2)]
    assert json.loads(run("show", "agent", "sam", "--json"))["embedding_config"]["model"] == "lexical-hash-1024"
    assert shelf_counts() == {
        "source_passages": 0,
        "source_passages (lexical-hash-1024, 1024-d)": 2,
        "archival": 0,
        "archival (lexical-hash-1024, 1024-d)": 1,
    }
    found = json.loads(run("archival", "search", "--agent", "sam", "night train", "--json"))
    assert found["total"] == 3 and found["results"][0]["text"].startswith("The night train")


def test_an_interrupted_reembed_finishes_when_run_again(docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run("configure", "--defaults", "--embedding-provider", "hashing")
    run("load", "directory", "--name", "docs", "--input-dir", str(docs))
    switch_to_1024()
    config = MemGPTConfig.load()
    from memgpt.catalog import Catalog

    with Storage(config) as storage:  # killed after the switch, before the old passages were deleted
        catalog = Catalog(storage, config.user_id)
        import memgpt.reembed as reembed

        original = reembed.Collection.delete_where

        def interrupted(self, where):  # the first delete of the old shelf does not happen
            monkeypatch.setattr(reembed.Collection, "delete_where", original)
            raise KeyboardInterrupt

        monkeypatch.setattr(reembed.Collection, "delete_where", interrupted)
        with pytest.raises(KeyboardInterrupt):
            reembed_source(catalog, "docs", config.embedding())
        source = catalog.get_source("docs")
        assert embedding_of_source(source).model == "lexical-hash-1024" and PREVIOUS in source.metadata
    assert shelf_counts()["source_passages"] == 2  # the old passages, still there
    report = json.loads(run("reembed", "source", "docs", "--json"))
    assert report["unchanged"] is True and report["removed"] == 2
    assert shelf_counts() == {"source_passages": 0, "source_passages (lexical-hash-1024, 1024-d)": 2, "archival": 0}
    assert PREVIOUS not in json.loads(run("list", "sources", "--json"))[0].get("metadata", {})


class GoneProvider(EmbeddingProvider):
    """A provider that is installed while the source is made, and uninstalled afterwards."""

    name = "vanishing"
    label = "A provider that will be uninstalled"
    models = {"vanishing-64": 64}
    default_model = "vanishing-64"

    def embedder(self, config: EmbeddingConfig) -> Embedder:
        class Hashing(Embedder):
            model, dim = "vanishing-64", 64

            def embed(self, texts):
                import numpy as np

                return np.stack([hash_vector(t, 64) for t in texts])

        return Hashing()


class Plugin:
    @hookimpl
    def register_embedding_providers(self, register):
        register(GoneProvider())


def test_a_model_that_is_gone_fails_in_one_line_naming_the_command(docs: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plugins.register(Plugin(), name="vanishing", distribution="memgpt-embeddings-vanishing", version="1.0")
    run("configure", "--defaults", "--embedding-provider", "vanishing")
    run("load", "directory", "--name", "old notes", "--input-dir", str(docs))
    plugins.reset()  # uninstalled
    monkeypatch.setenv("MEMGPT_LOAD_PLUGINS", "")
    run("configure", "--defaults", "--embedding-provider", "hashing")
    run("create", "agent", "--name", "sam")
    run("attach", "--agent", "sam", "--data-source", "old notes")
    out = run("archival", "search", "--agent", "sam", "tea", ok=False)
    assert len(out.strip().splitlines()) == 1
    assert "data source 'old notes' is embedded with vanishing:vanishing-64 (64-d)" in out
    assert "memgpt reembed source 'old notes'" in out
    run("load", "directory", "--name", "old notes", "--input-dir", str(docs))  # nothing new to embed: fine
    (docs / "rivers.md").write_text("The river floods every spring.")
    out = run("load", "directory", "--name", "old notes", "--input-dir", str(docs), ok=False)
    assert "memgpt reembed source 'old notes'" in out
    with Storage(MemGPTConfig.load()) as storage:
        old = storage.collection(Table.SOURCE_PASSAGES, Where.everything())
        assert old.count() == 2  # nothing was lost: re-embedding (with the model gone, from the stored texts) can follow
    assert json.loads(run("reembed", "source", "old notes", "--json"))["passages"] == 2
    found = json.loads(run("archival", "search", "--agent", "sam", "green tea", "--json"))
    assert found["results"][0]["text"].startswith("Green tea")
