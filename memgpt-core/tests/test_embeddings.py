"""Embedding providers: the offline default, and OpenAI-compatible endpoints over real HTTP."""

from __future__ import annotations

import numpy as np
import pytest

from embedding_server import EmbeddingServer, fake_vector
from memgpt import hookimpl, plugins
from memgpt.embeddings import EmbeddingConfig, EmbeddingProvider, open_embedder
from memgpt.embeddings.batching import embed_texts
from memgpt.embeddings.hashing import hash_vector
from memgpt.embeddings.openai_compat import OpenAICompatibleEmbedder
from memgpt.errors import ConfigError, EmbeddingError, EmbeddingMismatch, EmbeddingUnavailable, UnknownBackend
from memgpt.testing import EmbeddingProviderConformance


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenAICompatibleEmbedder, "backoff_seconds", 0.01)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MEMGPT_EMBEDDING_API_KEY", raising=False)


def openai_config(server: EmbeddingServer, model: str = "nomic-embed-text", dim: int | None = None) -> EmbeddingConfig:
    return EmbeddingConfig("openai", model, dim or server.dim, server.endpoint)


def test_built_in_providers() -> None:
    assert list(plugins.embedding_providers()) == ["hashing", "openai"]


def test_hashing_is_deterministic_unit_length_and_lexical() -> None:
    embedder = open_embedder(EmbeddingConfig("hashing", "lexical-hash-384", 384))
    vectors = embed_texts(embedder, ["Postgres stores vectors", "postgres STORES vectors!", "bananas are yellow", "the of and"])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] == pytest.approx(1.0, abs=1e-5)
    assert vectors[0] @ vectors[2] < 0.2
    assert np.array_equal(vectors[0], hash_vector("Postgres stores vectors", 384))
    assert np.linalg.norm(vectors[3]) > 0  # only stop words still gives a usable vector


def test_hashing_shares_word_parts() -> None:
    a, b, c = (hash_vector(t, 384) for t in ("configuration of the backend", "configure a backend", "unrelated banana"))
    assert a @ b > 0.4 > a @ c


def test_unknown_provider_and_model_are_clear() -> None:
    with pytest.raises(UnknownBackend, match="no embedding provider named 'nope'"):
        open_embedder(EmbeddingConfig("nope", "m", 3))
    with pytest.raises(ConfigError, match="offers: lexical-hash-384, lexical-hash-1024"):
        open_embedder(EmbeddingConfig("hashing", "word2vec", 300))
    with pytest.raises(EmbeddingMismatch, match="makes 384-d vectors but the configuration says 1024"):
        open_embedder(EmbeddingConfig("hashing", "lexical-hash-384", 1024))


def test_openai_compatible_batches_and_orders(monkeypatch: pytest.MonkeyPatch) -> None:
    with EmbeddingServer(dim=8) as server:
        embedder = open_embedder(openai_config(server))
        embedder.batch_size = 4
        texts = [f"text number {i}" for i in range(10)]
        vectors = embed_texts(embedder, texts)
    assert [len(r["body"]["input"]) for r in server.requests] == [4, 4, 2]
    assert {r["body"]["model"] for r in server.requests} == {"nomic-embed-text"}
    assert all(r["path"] == "/v1/embeddings" and r["auth"] is None for r in server.requests)
    assert np.allclose(vectors[7], fake_vector("text number 7", 8))  # answers are reordered by index


def test_openai_compatible_sends_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-secret-123")
    with EmbeddingServer(dim=8, key="sk-test-secret-123") as server:
        embed_texts(open_embedder(openai_config(server)), ["hello"])
    assert server.requests[0]["auth"] == "Bearer sk-test-secret-123"


def test_wrong_key_is_a_clear_error_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMGPT_EMBEDDING_API_KEY", "sk-wrong-key-456")
    with EmbeddingServer(dim=8, key="sk-right") as server, pytest.raises(EmbeddingError) as raised:
        embed_texts(open_embedder(openai_config(server)), ["hello"])
    message = str(raised.value)
    assert "HTTP 401" in message and "Incorrect API key" in message and "OPENAI_API_KEY" in message
    assert "sk-wrong-key-456" not in message and "\n" not in message
    assert len(server.requests) == 1  # auth failures are not retried


def test_429_and_5xx_are_retried_with_backoff() -> None:
    with EmbeddingServer(dim=8) as server:
        server.failures.extend([(429, {"Retry-After": "0"}), (503, {}), (500, {})])
        vectors = embed_texts(open_embedder(openai_config(server)), ["a", "b"])
    assert vectors.shape == (2, 8)
    assert len(server.requests) == 4


def test_endless_failures_give_up_with_the_last_error() -> None:
    with EmbeddingServer(dim=8) as server:
        server.failures.extend([(502, {})] * 10)
        with pytest.raises(EmbeddingUnavailable, match="failed 6 times; last: HTTP 502"):
            embed_texts(open_embedder(openai_config(server)), ["a"])


def test_unreachable_endpoint() -> None:
    config = EmbeddingConfig("openai", "m", 8, "http://127.0.0.1:9/v1")
    with pytest.raises(EmbeddingUnavailable, match=r"127\.0\.0\.1:9/v1 failed"):
        embed_texts(open_embedder(config), ["a"])


def test_wrong_dimension_names_both() -> None:
    with EmbeddingServer(dim=8) as server:
        embedder = open_embedder(openai_config(server, dim=16))
        with pytest.raises(EmbeddingMismatch, match="returned 8-d vectors; the configuration says 16-d"):
            embed_texts(embedder, ["a"])


def test_known_openai_models_have_their_dimension() -> None:
    with pytest.raises(EmbeddingMismatch, match="makes 1536-d"):
        open_embedder(EmbeddingConfig("openai", "text-embedding-3-small", 8, "http://127.0.0.1:9/v1"))


def test_hook_register_embedding_providers() -> None:
    """A third party's provider is offered next to the built-ins and used through the same path."""

    class Constant(EmbeddingProvider):
        name = "constant"
        label = "Constant vectors"
        models = {"const-3": 3}
        default_model = "const-3"

        def embedder(self, config):
            from memgpt.embeddings import Embedder

            class ConstantEmbedder(Embedder):
                model, dim = "const-3", 3

                def embed(self, texts):
                    return np.ones((len(texts), 3))

            return ConstantEmbedder()

    class Plugin:
        @hookimpl
        def register_embedding_providers(self, register):
            register(Constant())

    plugins.register(Plugin(), name="constant-plugin")
    assert list(plugins.embedding_providers()) == ["hashing", "openai", "constant"]
    vectors = embed_texts(open_embedder(EmbeddingConfig("constant", "const-3", 3)), ["x", "y"])
    assert vectors.tolist() == [[1.0, 1.0, 1.0]] * 2


class TestHashingConformance(EmbeddingProviderConformance):
    """The built-in lexical hasher passes the provider conformance suite."""

    @pytest.fixture
    def provider(self) -> EmbeddingProvider:
        from memgpt.default_plugins.embeddings import HashingProvider

        return HashingProvider()
