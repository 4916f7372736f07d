"""The installed embedding providers: which one a new home starts with, and opening an embedder for a configuration."""

from __future__ import annotations

from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider
from memgpt.errors import EmbeddingMismatch
from memgpt.plugins import embedding_providers, get_embedding_provider


def preferred_provider() -> EmbeddingProvider:
    """The installed provider a new home starts with: highest :attr:`~EmbeddingProvider.default_priority`."""
    installed = [info.item for info in embedding_providers().values()]
    return max(installed, key=lambda provider: (provider.default_priority, provider.name == "hashing"))


def open_embedder(config: EmbeddingConfig) -> Embedder:
    """The embedder of an installed provider for ``config``."""
    provider = get_embedding_provider(config.provider)
    dim = provider.dimension(config.model, config.dim)
    if dim != config.dim:
        raise EmbeddingMismatch(
            f"embedding model {config.model!r} makes {dim}-d vectors but the configuration says {config.dim}; "
            "run memgpt configure"
        )
    return provider.embedder(config)
