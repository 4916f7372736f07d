"""The embedding-provider conformance suite: what every provider's embedder must do.

Subclass :class:`EmbeddingProviderConformance` and name the provider class::

    class TestMyProvider(EmbeddingProviderConformance):
        provider_class = MyProvider

(or override the ``provider`` fixture; override ``embedding_config`` to test
another model than the default one).

The checks: the provider is registered under its name, every vector has the
configured width, unit length and finite values, whatever the text (empty,
emoji, unknown words, very long, non-Latin); the same text gives the same
vector alone or in a batch; different texts give different vectors; and a
configuration naming another dimension is refused in one line.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from memgpt.embeddings.installed import open_embedder
from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider
from memgpt.errors import MemGPTError

AWKWARD_TEXTS = (
    "",
    "   ",
    "\U0001f600\U0001f680",
    "zzqxv-unknownword-qqq",
    "名前と住所",
    "Ünïcødé façade naïve",
    "word " * 3000,
    "x" * 20000,
    "line one\nline two\ttabbed",
)


class EmbeddingProviderConformance:
    """Checks every embedding provider must pass; see the module docstring."""

    provider_class: type[EmbeddingProvider] | None = None
    """The provider class under test: with it, ``provider`` needs no fixture."""

    @pytest.fixture
    def provider(self) -> EmbeddingProvider:
        """The provider under test: ``provider_class()`` unless overridden."""
        if self.provider_class is None:
            raise NotImplementedError("set `provider_class` or define a `provider` fixture returning your EmbeddingProvider")
        return self.provider_class()

    @pytest.fixture
    def embedding_config(self, provider: EmbeddingProvider) -> EmbeddingConfig:
        model = provider.default_model
        return EmbeddingConfig(provider.name, model, provider.dimension(model), provider.default_endpoint or "")

    @pytest.fixture
    def embedder(self, embedding_config: EmbeddingConfig) -> Embedder:
        return open_embedder(embedding_config)

    def test_registered_under_its_name(self, provider: EmbeddingProvider) -> None:
        from memgpt.plugins import get_embedding_provider

        assert type(get_embedding_provider(provider.name)) is type(provider)

    def test_default_model_is_known(self, provider: EmbeddingProvider) -> None:
        assert provider.default_model in provider.models, "the default model must be one the provider knows"
        assert provider.dimension(provider.default_model) == provider.models[provider.default_model] > 0

    def test_vectors_have_the_configured_width_and_unit_length(self, embedder: Embedder) -> None:
        texts = ["Green tea is brewed at eighty degrees.", *AWKWARD_TEXTS]
        vectors = np.asarray(embedder.embed(texts), dtype=np.float64)
        assert vectors.shape == (len(texts), embedder.dim)
        assert np.isfinite(vectors).all()
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)

    def test_same_text_same_vector_alone_or_in_a_batch(self, embedder: Embedder) -> None:
        texts = ["The cat sat on the mat.", "Quarterly revenue grew by ten percent.", ""]
        together = np.asarray(embedder.embed(texts), dtype=np.float64)
        for i, text in enumerate(texts):
            alone = np.asarray(embedder.embed([text]), dtype=np.float64)[0]
            assert np.allclose(alone, together[i], atol=1e-5)

    def test_different_texts_differ(self, embedder: Embedder) -> None:
        a, b = np.asarray(embedder.embed(["The cat sat on the mat.", "Quarterly revenue grew by ten percent."]))
        assert float(np.dot(a, b)) < 0.99

    def test_no_texts_no_rows(self, embedder: Embedder) -> None:
        assert np.asarray(embedder.embed([])).reshape(-1, embedder.dim).shape[0] == 0

    def test_a_wrong_dimension_is_refused_in_one_line(self, embedding_config: EmbeddingConfig) -> None:
        wrong = replace(embedding_config, dim=embedding_config.dim + 1)
        with pytest.raises(MemGPTError) as caught:
            open_embedder(wrong).embed(["text"])
        assert "\n" not in str(caught.value) and str(embedding_config.dim) in str(caught.value)
