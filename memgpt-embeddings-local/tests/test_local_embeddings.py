"""The ``local`` provider with the model pip installed: offline, by meaning, checked, and the default of a new home."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import numpy as np
import pytest

from memgpt.config import MemGPTConfig
from memgpt.embeddings import EmbeddingConfig, EmbeddingProvider, open_embedder
from memgpt.embeddings.hashing import hash_vector
from memgpt.errors import ConfigError, EmbeddingUnavailable
from memgpt.testing import EmbeddingProviderConformance
from memgpt_embeddings_local import embedder as embedder_module
from memgpt_embeddings_local.models import PACKAGED, packaged_folder, read_dimension, verify
from memgpt_embeddings_local.plugin import LocalProvider

MODEL = "static-minilm-l6-v2"

# Questions that share no word with their passage (a different set from benchmarks/data/paraphrase.json).
PARAPHRASES = [
    ("The flight to Madrid was cancelled because of fog.", "Why didn't the plane to Spain take off?"),
    ("Our cat refuses to eat dry food.", "What does the kitten dislike at mealtime?"),
    ("The printer ran out of ink during the report.", "Why did the copier stop producing pages?"),
    ("She learned to swim at the age of forty.", "When did the woman first paddle in a pool?"),
    ("The river overflowed after a week of storms.", "What caused the stream to flood?"),
    ("He sold his bicycle to buy a used motorcycle.", "What did the man trade his bike for?"),
    ("The bakery opens at six every morning.", "When can I get fresh bread?"),
    ("My phone battery dies before lunch.", "Why does the mobile lose charge so quickly?"),
    ("The surgeon operated on the patient's heart for five hours.", "How long was the cardiac procedure?"),
    ("Snow closed the mountain road overnight.", "Why was the highway through the peaks shut?"),
    ("The orchestra performed Beethoven's ninth symphony.", "Which piece of classical music did the musicians play?"),
    ("Our neighbours are building a swimming pool in the backyard.", "What construction is happening next door?"),
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here runs with the network refused: the packaged model must never need it."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network refused by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def run_cli(*args: str) -> tuple[int, str]:
    """The CLI in this process, so the network stays refused (click's runner)."""
    from click.testing import CliRunner

    from memgpt.cli import main as cli

    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def cosine_ranks(queries: np.ndarray, passages: np.ndarray) -> list[int]:
    scores = queries @ passages.T
    return [int((scores[i] > scores[i, i]).sum()) for i in range(len(queries))]


class TestLocalConformance(EmbeddingProviderConformance):
    @pytest.fixture
    def provider(self) -> EmbeddingProvider:
        return LocalProvider()


def test_the_packaged_model_is_declared_with_its_dimension() -> None:
    assert PACKAGED == (MODEL,)
    assert LocalProvider().models == {MODEL: 256}
    assert LocalProvider.default_priority > 0  # above the hasher: a new home picks it


def test_searches_by_meaning_where_the_hasher_cannot() -> None:
    embedder = open_embedder(EmbeddingConfig("local", MODEL, 256))
    passages = embedder.embed([p for p, _ in PARAPHRASES])
    questions = embedder.embed([q for _, q in PARAPHRASES])
    local_ranks = cosine_ranks(questions, passages)
    hashed_p = np.stack([hash_vector(p, 384) for p, _ in PARAPHRASES])
    hashed_q = np.stack([hash_vector(q, 384) for _, q in PARAPHRASES])
    hash_ranks = cosine_ranks(hashed_q, hashed_p)
    local_first = sum(r == 0 for r in local_ranks)
    assert local_first >= 9, local_ranks  # measured: 11 of 12
    assert local_first > sum(r == 0 for r in hash_ranks) + 5, (local_ranks, hash_ranks)


def test_the_fast_reader_gives_model2vecs_own_vectors() -> None:
    from model2vec import StaticModel

    folder = packaged_folder(MODEL)
    assert folder is not None
    ours = embedder_module.read_folder(folder)
    theirs = StaticModel.from_pretrained(str(folder))
    texts = [p for p, _ in PARAPHRASES] + ["word " * 2000, "naïve façade 名前"]
    assert np.allclose(ours.encode(texts), theirs.encode(texts), atol=1e-6)


def test_texts_with_no_known_token_get_a_stable_unit_vector() -> None:
    embedder = open_embedder(EmbeddingConfig("local", MODEL, 256))
    first = embedder.embed(["\U0001f600\U0001f600", "", "\U0001f600\U0001f600"])
    assert np.allclose(np.linalg.norm(first, axis=1), 1.0, atol=1e-5)
    assert np.allclose(first[0], first[2]) and not np.allclose(first[0], first[1])


def test_a_damaged_packaged_file_is_named_in_one_line(tmp_path: Path) -> None:
    folder = packaged_folder(MODEL)
    assert folder is not None
    copy = tmp_path / MODEL
    shutil.copytree(folder, copy)
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (copy / "model.safetensors").write_bytes(bytes(data))
    verify(folder)  # the installed one is intact
    with pytest.raises(EmbeddingUnavailable) as caught:
        verify(copy)
    assert "model.safetensors" in str(caught.value) and "reinstall" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_provenance_names_the_source_model_and_its_published_checksum() -> None:
    folder = packaged_folder(MODEL)
    assert folder is not None
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["derived_from"]["repo"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert provenance["derived_from"]["sha256"]["model.safetensors"].startswith("53aa51172d142c89")
    assert set(provenance["files"]) == {"config.json", "model.safetensors", "tokenizer.json"}


def test_another_model_by_folder(tmp_path: Path) -> None:
    folder = packaged_folder(MODEL)
    assert folder is not None
    mine = tmp_path / "my-model"
    shutil.copytree(folder, mine)
    provider = LocalProvider()
    assert read_dimension(str(mine)) == 256
    assert provider.dimension(str(mine)) == 256
    vectors = open_embedder(EmbeddingConfig("local", str(mine), 256)).embed(["tea", "coffee"])
    assert vectors.shape == (2, 256)


def test_a_hugging_face_id_needs_its_dimension_and_offline_fails_in_one_line() -> None:
    provider = LocalProvider()
    with pytest.raises(ConfigError, match="--embedding-dim"):
        provider.dimension("someone/some-static-model")
    assert provider.dimension("someone/some-static-model", 128) == 128
    with pytest.raises(EmbeddingUnavailable) as caught:
        open_embedder(EmbeddingConfig("local", "someone/some-static-model", 128)).embed(["text"])
    assert "someone/some-static-model" in str(caught.value) and "\n" not in str(caught.value)


def test_a_new_home_picks_local_and_searches_by_meaning(tmp_path: Path) -> None:
    assert MemGPTConfig.load().embedding_endpoint_type == "local"  # no config file yet
    code, output = run_cli("configure", "--defaults")
    assert code == 0, output
    config = MemGPTConfig.load()
    assert (config.embedding_endpoint_type, config.embedding_model, config.embedding_dim) == ("local", MODEL, 256)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, (passage, _) in enumerate(PARAPHRASES):
        (docs / f"note-{i:02d}.txt").write_text(passage)
    assert run_cli("load", "directory", "--name", "notes", "--input-dir", str(docs))[0] == 0
    assert run_cli("create", "agent", "--name", "reader")[0] == 0
    assert run_cli("attach", "--agent", "reader", "--data-source", "notes")[0] == 0
    code, output = run_cli("archival", "search", "--agent", "reader", "--json", "Why was the highway through the peaks shut?")
    assert code == 0, output
    found = json.loads(output)
    assert found["results"][0]["text"] == "Snow closed the mountain road overnight."


def test_registering_the_provider_imports_no_model_library() -> None:
    from memgpt.testing import heavy_imports

    assert heavy_imports("memgpt_embeddings_local.plugin", ["numpy", "model2vec", "tokenizers", "safetensors"]) == []
