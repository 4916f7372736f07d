"""`memgpt load`: idempotent, replaces changed files, skips unreadable ones, resumes after interruption."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memgpt.client import MemGPTClient
from memgpt.config import MemGPTConfig
from memgpt.embeddings import Embedder, EmbeddingConfig
from memgpt.embeddings.hashing import hash_vector
from memgpt.kinds import Table
from memgpt.sources.loader import NoFilesToLoad, collect_files, expected_passages, readers_by_extension
from memgpt.storage import Where


class CountingEmbedder(Embedder):
    """The hashing embedder, counting texts and able to fail after a number of batches."""

    model, dim, batch_size = "lexical-hash-384", 384, 8

    def __init__(self, fail_after_batches: int | None = None, model: str = "lexical-hash-384", dim: int = 384) -> None:
        self.model, self.dim = model, dim
        self.texts: list[str] = []
        self.batches = 0
        self.fail_after_batches = fail_after_batches

    def embed(self, texts):
        if self.fail_after_batches is not None and self.batches >= self.fail_after_batches:
            raise KeyboardInterrupt("simulated interruption")
        self.batches += 1
        self.texts.extend(texts)
        return np.stack([hash_vector(t, self.dim) for t in texts])


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    for i in range(6):
        (folder / f"note{i}.md").write_text(f"# Note {i}\n\n" + " ".join(f"word{i}-{j}" for j in range(120)))
    (folder / "sub" / "deep.txt").write_text("a file in a sub-folder about tea ceremonies")
    (folder / ".hidden" / "secret.md").write_text("should not be loaded")
    (folder / "image.png").write_bytes(b"\x89PNG")
    return folder


def client_with(embedder: Embedder) -> MemGPTClient:
    config = MemGPTConfig.load()
    config.embedding_chunk_size = 50
    return MemGPTClient(config, embedder=embedder)


def all_passages(client: MemGPTClient, source: str = "docs") -> dict[str, object]:
    coll = client.storage.collection(Table.SOURCE_PASSAGES, Where.of(source=source))
    return {p.id: p for p in coll.iterate()}


def test_collect_files_by_extension_and_recursion(docs: Path) -> None:
    from memgpt.plugins import readers

    known = readers_by_extension(r.item for r in readers().values())
    top = collect_files(docs, [], False, None, known)
    assert [p.name for p in top] == [f"note{i}.md" for i in range(6)]
    everything = collect_files(docs, [], True, None, known)
    assert [p.name for p in everything][-1] == "deep.txt" and len(everything) == 7
    assert [p.name for p in collect_files(docs, [], True, [".txt"], known)] == ["deep.txt"]
    with pytest.raises(NoFilesToLoad, match=r"no installed reader handles \.png"):
        collect_files(docs, [], False, [".png"], known)
    with pytest.raises(NoFilesToLoad, match="is not a folder"):
        collect_files(docs / "missing", [], False, None, known)


def test_loading_twice_embeds_nothing_the_second_time(docs: Path) -> None:
    embedder = CountingEmbedder()
    files = sorted(docs.glob("*.md"))
    with client_with(embedder) as client:
        first = client.load("docs", files)
        stored = all_passages(client)
        embedded = len(embedder.texts)
        again = client.load("docs", files)
        assert (again.files, again.unchanged, again.passages_written, again.passages_removed) == (6, 6, 0, 0)
        assert len(embedder.texts) == embedded
        assert all_passages(client) == stored
    assert first.passages_written == len(stored) == embedded == first.passages_total
    passage = next(iter(stored.values()))
    assert {"file", "file_name", "chunk", "char_start", "char_end", "content_hash", "reader"} <= set(passage.metadata)


def test_changed_file_replaces_its_passages_and_embeds_only_new_text(docs: Path) -> None:
    embedder = CountingEmbedder()
    files = sorted(docs.glob("*.md"))
    with client_with(embedder) as client:
        client.load("docs", files)
        before = all_passages(client)
        target = str(files[2])
        old_ids = {i for i, p in before.items() if p.document_id == target}
        files[2].write_text("# Note 2\n\ncompletely different and much shorter")
        embedder.texts.clear()
        report = client.load("docs", files)
        after = all_passages(client)
    new_ids = {i for i, p in after.items() if p.document_id == target}
    assert new_ids and not (new_ids & old_ids)
    assert report.passages_removed == len(old_ids) and report.passages_written == len(new_ids) == len(embedder.texts)
    assert report.unchanged == 5
    assert {i: p for i, p in after.items() if p.document_id != target} == {
        i: p for i, p in before.items() if p.document_id != target
    }


def test_a_file_its_reader_refuses_is_loaded_as_plain_text(docs: Path) -> None:
    bad = docs / "broken.json"
    bad.write_text("{not json, but text all the same")
    with client_with(CountingEmbedder()) as client:
        report = client.load("docs", [*sorted(docs.glob("*.md")), bad])
        texts = [p.text for p in all_passages(client).values() if p.document_id == str(bad)]
    assert report.files == 7 and report.failed == [] and [f for f, _ in report.as_text] == [str(bad)]
    assert "not valid JSON" in report.as_text[0][1] and texts == ["{not json, but text all the same"]


def test_every_text_file_loads_and_binaries_are_skipped_and_named(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    texts = {
        "main.py": "def brew(tea):\n    return tea.steep(minutes=2)\n",
        "Makefile": "all:\n\tpython main.py\n",
        "README": "The project brews tea.",
        "LICENSE": "Permission is granted to brew.",
        "settings.toml": "[tea]\ntemperature = 80\n",
        "table.csv": "tea,minutes\ngreen,2\n",
        "page.html": "<p>Oolong likes hotter water.</p>",
        "notes.utf16.txt": "UTF-16 with a byte order mark",
    }
    for name, text in texts.items():
        encoding = "utf-16" if "utf16" in name else "utf-8"
        (folder / name).write_bytes(text.encode(encoding))
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "archive.bin").write_bytes(bytes(range(256)))
    (folder / "old.txt").write_bytes("caf\xe9".encode("latin-1"))
    (folder / ".hidden").write_text("never loaded")
    from memgpt.plugins import readers

    known = readers_by_extension(r.item for r in readers().values())
    files = collect_files(folder, [], False, None, known, any_file=True)
    assert sorted(p.name for p in files) == sorted([*texts, "logo.png", "archive.bin", "old.txt"])
    with client_with(CountingEmbedder()) as client:
        report = client.load("project", files)
        stored = {Path(p.document_id).name for p in all_passages(client, "project").values()}
    assert stored == set(texts) and report.files == len(texts) and report.failed == []
    assert report.kinds == {"(no extension)": 3, ".csv": 1, ".html": 1, ".py": 1, ".toml": 1, ".txt": 1}
    skipped = {Path(f).name: why for f, why in report.skipped}
    assert set(skipped) == {"logo.png", "archive.bin", "old.txt"}
    assert "NUL" in skipped["logo.png"] and "UTF-8" in skipped["old.txt"]


def test_the_passages_a_load_expects_from_file_sizes_are_about_what_it_writes(tmp_path: Path) -> None:
    """The hint a load gives the engine (``Collection.bulk_load``): within a factor of two for English text."""
    sentence = "The night train to Vienna leaves at ten, and the tea in its dining car is surprisingly good. "
    for i in range(8):
        (tmp_path / f"story{i}.txt").write_text(sentence * (40 + 30 * i))
    files = sorted(tmp_path.glob("*.txt"))
    with client_with(CountingEmbedder()) as client:
        written = client.load("stories", files).passages_written
    expected = expected_passages(files, chunk_size=50)
    assert written / 2 <= expected <= written * 2, (expected, written)
    assert expected_passages([*files, tmp_path / "gone.txt"], chunk_size=50) == expected  # a missing file counts nothing
    assert expected_passages(files, chunk_size=50, chunk_overlap=25) > expected  # overlapping chunks: more of them


def test_a_load_that_stores_nothing_creates_no_source(tmp_path: Path) -> None:
    (tmp_path / "image.png").write_bytes(b"\x89PNG\x00\x00")
    (tmp_path / "empty.txt").write_text("")
    with client_with(CountingEmbedder()) as client:
        report = client.load("nothing", [tmp_path / "image.png", tmp_path / "empty.txt"])
        assert report.passages_total == 0 and not report.created
        assert client.list_sources() == []


def test_a_failed_first_write_leaves_no_empty_source(docs: Path) -> None:
    interrupted = CountingEmbedder(fail_after_batches=0)
    with client_with(interrupted) as client, pytest.raises(KeyboardInterrupt):
        client.load("docs", sorted(docs.glob("*.md")))
    with client_with(CountingEmbedder()) as client:
        assert client.list_sources() == []


def test_interrupted_load_runs_again_to_the_same_result(docs: Path, tmp_path: Path) -> None:
    files = sorted(docs.glob("*.md"))
    with client_with(CountingEmbedder()) as client:
        client.load("reference", files)
        reference = {(p.document_id, p.text) for p in all_passages(client, "reference").values()}
    interrupted = CountingEmbedder(fail_after_batches=1)
    with client_with(interrupted) as client, pytest.raises(KeyboardInterrupt):
        client.load("docs", files)
    with client_with(CountingEmbedder()) as client:
        assert len(all_passages(client)) < len(reference)
        report = client.load("docs", files)
        assert {(p.document_id, p.text) for p in all_passages(client).values()} == reference
        assert report.passages_total == len(reference)


def test_loading_more_into_a_source_uses_its_own_model(docs: Path) -> None:
    files = sorted(docs.glob("*.md"))
    with client_with(CountingEmbedder()) as client:
        client.load("docs", files[:1])
    config = MemGPTConfig.load()
    config.embedding_model, config.embedding_dim = "lexical-hash-1024", 1024
    configured = CountingEmbedder(
        model="lexical-hash-1024", dim=1024
    )  # the configured model's embedder: a new source uses it, the old one does not
    with MemGPTClient(config, embedder=configured) as client:
        report = client.load("docs", files)
        assert report.passages_written > 0 and configured.texts == []
        client.load("fresh", files[:1])
        assert configured.texts
        models = {s.source.name: (s.source.embedding_model, s.passages > 0) for s in client.list_sources()}
    assert models == {"docs": ("lexical-hash-384", True), "fresh": ("lexical-hash-1024", True)}


def test_the_source_records_its_model(docs: Path) -> None:
    with client_with(CountingEmbedder()) as client:
        client.load("docs", sorted(docs.glob("*.md")))
        [summary] = client.list_sources()
    assert (summary.source.embedding_model, summary.source.embedding_dim) == ("lexical-hash-384", 384)
    assert summary.source.metadata["embedding"] == EmbeddingConfig("hashing", "lexical-hash-384", 384, "", 50).to_dict()
