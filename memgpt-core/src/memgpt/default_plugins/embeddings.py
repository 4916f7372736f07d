"""The built-in embedding providers: ``hashing`` (offline default) and ``openai`` (OpenAI-compatible).

This module is imported whenever plugins load, so it declares the providers
only; each ``embedder()`` imports its implementation (and numpy) when called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar

from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider
from memgpt.hookspecs import hookimpl

OPENAI_KEY_VARIABLES = ("MEMGPT_EMBEDDING_API_KEY", "OPENAI_API_KEY")
"""Where the OpenAI-compatible provider reads its key (also from ``./.env``); never written to the config file."""


class HashingProvider(EmbeddingProvider):
    """Offline lexical feature hashing: no network, no key, no download (see :mod:`memgpt.embeddings.hashing`)."""

    name = "hashing"
    label = "Offline lexical feature hashing (words and 4-grams; not a neural model)"
    models: ClassVar[Mapping[str, int]] = {"lexical-hash-384": 384, "lexical-hash-1024": 1024}
    default_model = "lexical-hash-384"
    batch_size = 256

    def embedder(self, config: EmbeddingConfig) -> Embedder:
        from memgpt.embeddings.hashing import HashingEmbedder

        return HashingEmbedder(config.model, self.dimension(config.model))


class OpenAICompatibleProvider(EmbeddingProvider):
    """OpenAI's embedding models, or any server speaking the same ``/v1/embeddings`` protocol."""

    name = "openai"
    label = "OpenAI-compatible /v1/embeddings endpoint (OpenAI, Ollama, vLLM, LM Studio, llama.cpp)"
    models: ClassVar[Mapping[str, int]] = {
        "text-embedding-3-small": 1536,
        "text-embedding-3-large": 3072,
        "text-embedding-ada-002": 1536,
    }
    default_model = "text-embedding-3-small"
    default_endpoint = "https://api.openai.com/v1"
    open_models = True
    batch_size = 96
    default_priority = -10  # needs a key or a server
    key_variables = OPENAI_KEY_VARIABLES

    def embedder(self, config: EmbeddingConfig) -> Embedder:
        from memgpt.embeddings.openai_compat import OpenAICompatibleEmbedder

        return OpenAICompatibleEmbedder(config, self.dimension(config.model, config.dim), self.batch_size, self.key_variables)


@hookimpl
def register_embedding_providers(register: Callable[[EmbeddingProvider], None]) -> None:
    register(HashingProvider())
    register(OpenAICompatibleProvider())
