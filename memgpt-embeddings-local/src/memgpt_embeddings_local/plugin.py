"""The ``local`` embedding provider's declaration; ``embedder()`` imports model2vec when first used."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from memgpt.plugin import ConfigError, Embedder, EmbeddingConfig, EmbeddingProvider, hookimpl
from memgpt_embeddings_local.models import PACKAGED, packaged_dimension, read_dimension


class LocalProvider(EmbeddingProvider):
    """Static (model2vec) embedding models on the CPU: the packaged one offline, or any other by id or folder."""

    name = "local"
    label = "Local model on the CPU, offline: static-minilm-l6-v2 ships with it (or a model2vec id or folder)"
    models: ClassVar[Mapping[str, int]] = {name: packaged_dimension(name) for name in PACKAGED}
    default_model = "static-minilm-l6-v2"
    open_models = True
    default_priority = 10
    batch_size = 512

    def dimension(self, model: str, configured: int | None = None) -> int:
        """Known for the packaged model and for a local folder (read from its files); else the configured one."""
        if model in self.models:
            return self.models[model]
        found = read_dimension(model)
        if found is not None:
            return found
        if configured:
            return int(configured)
        raise ConfigError(
            f"local embedding model {model!r} is neither packaged ({', '.join(self.models)}) nor a model2vec folder; "
            "give a folder, or a Hugging Face id with its dimension (--embedding-dim)"
        )

    def embedder(self, config: EmbeddingConfig) -> Embedder:
        from memgpt_embeddings_local.embedder import StaticEmbedder

        return StaticEmbedder.open(config.model, self.dimension(config.model, config.dim), self.batch_size)


@hookimpl
def register_embedding_providers(register: Callable[[EmbeddingProvider], None]) -> None:
    register(LocalProvider())
