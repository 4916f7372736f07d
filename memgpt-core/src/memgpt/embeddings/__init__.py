"""Embedding providers: plugins that turn texts into vectors.

Built in: ``hashing`` (offline, lexical feature hashing: no network, no key,
no model download) and ``openai`` (any OpenAI-compatible ``/v1/embeddings``
endpoint: OpenAI, Ollama, vLLM, LM Studio, llama.cpp...).
"""

from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider

__all__ = ["Embedder", "EmbeddingConfig", "EmbeddingProvider", "open_embedder"]


def __getattr__(name: str) -> object:
    if name == "open_embedder":  # lazily: it reads the installed plugins
        from memgpt.embeddings.installed import open_embedder

        return open_embedder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
