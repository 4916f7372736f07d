"""What memgpt imports at start-up: the provider's declaration and the hook. Keep it light.

Import what computes the vectors (numpy, a model, a client library) inside
``embedder``, never at the top of this file, so ``memgpt --help`` stays fast
with your plugin installed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from memgpt.plugin import Embedder, EmbeddingConfig, EmbeddingProvider, hookimpl


class ExampleProvider(EmbeddingProvider):
    """Character-trigram sketches: each trigram a fixed pseudo-random direction, a text the sum of its trigrams'."""

    name = "example"
    label = "Example provider: character-trigram sketches (a template for third parties)"
    models: ClassVar[Mapping[str, int]] = {"trigram-sketch-128": 128, "trigram-sketch-256": 256}
    default_model = "trigram-sketch-128"
    batch_size = 128
    default_priority = -5  # an example: never the default of a new home (hashing is 0)

    def embedder(self, config: EmbeddingConfig) -> Embedder:
        from memgpt_embeddings_example.embedder import SketchEmbedder

        return SketchEmbedder(config.model, self.dimension(config.model))


@hookimpl
def register_embedding_providers(register: Callable[[EmbeddingProvider], None]) -> None:
    register(ExampleProvider())
