"""Embedding providers: plugins that turn texts into vectors.

Built in: ``hashing`` (offline, lexical feature hashing: no network, no key,
no model download) and ``openai`` (any OpenAI-compatible ``/v1/embeddings``
endpoint: OpenAI, Ollama, vLLM, LM Studio, llama.cpp...).
"""

from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider, open_embedder

__all__ = ["Embedder", "EmbeddingConfig", "EmbeddingProvider", "open_embedder"]
