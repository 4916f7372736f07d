"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

Works with OpenAI itself and with local servers that speak the same protocol
(Ollama, vLLM, LM Studio, llama.cpp's server...). The API key comes from the
environment (``MEMGPT_EMBEDDING_API_KEY``, else ``OPENAI_API_KEY``, also read
from ``./.env``), is never written to the config file and never printed.
Requests are batched; HTTP 429 and 5xx answers and dropped connections are
retried with exponential backoff (honouring ``Retry-After``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.environment import first_set
from memgpt.errors import EmbeddingError, EmbeddingMismatch, EmbeddingUnavailable
from memgpt.http_json import HTTPGaveUp, HTTPRefusal, Retries, post_json
from memgpt.secrets import scrub

DEFAULT_ENDPOINT = "https://api.openai.com/v1"


class OpenAICompatibleEmbedder(Embedder):
    """Posts batches to ``{endpoint}/embeddings``."""

    max_attempts = 6
    backoff_seconds = 0.5
    max_backoff_seconds = 20.0
    timeout_seconds = 60.0

    def __init__(self, config: EmbeddingConfig, dim: int, batch_size: int, key_variables: Sequence[str]) -> None:
        self.key_variables = tuple(key_variables)
        self.model = config.model
        self.dim = dim
        self.batch_size = batch_size
        self.endpoint = (config.endpoint or DEFAULT_ENDPOINT).rstrip("/")
        self.url = self.endpoint + "/embeddings"
        self.key = first_set(self.key_variables)

    def _error(self, message: str) -> str:
        return scrub(message, [self.key])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        body = {"model": self.model, "input": list(texts), "encoding_format": "float"}
        retries = Retries(self.max_attempts, self.backoff_seconds, self.max_backoff_seconds)
        try:
            payload = post_json(self.url, body, self.key, self.timeout_seconds, retries)
        except HTTPRefusal as exc:
            if exc.status in (401, 403):
                raise EmbeddingError(
                    self._error(
                        f"embedding endpoint {self.endpoint} refused the request (HTTP {exc.status}{exc.detail}); "
                        f"check the API key in {' or '.join(self.key_variables)}"
                    )
                ) from None
            raise EmbeddingError(
                self._error(f"embedding endpoint {self.endpoint} rejected model {self.model!r} (HTTP {exc.status}{exc.detail})")
            ) from None
        except HTTPGaveUp as exc:
            raise EmbeddingUnavailable(
                self._error(f"embedding endpoint {self.endpoint} failed {exc.attempts} times; last: {exc.last}")
            ) from None
        return self._vectors(payload, len(texts))

    def _vectors(self, payload: dict[str, Any], expected: int) -> np.ndarray:
        try:
            items = sorted(payload["data"], key=lambda item: item.get("index", 0))
            vectors = np.asarray([item["embedding"] for item in items], dtype=np.float32)
        except (KeyError, TypeError, ValueError) as exc:
            raise EmbeddingError(f"embedding endpoint {self.endpoint} answered in an unknown format ({exc})") from None
        if vectors.ndim != 2 or vectors.shape[0] != expected:
            raise EmbeddingError(f"embedding endpoint {self.endpoint} returned {len(items)} vectors for {expected} texts")
        if vectors.shape[1] != self.dim:
            raise EmbeddingMismatch(
                f"model {self.model!r} at {self.endpoint} returned {vectors.shape[1]}-d vectors; "
                f"the configuration says {self.dim}-d (set --embedding-dim {vectors.shape[1]} or change the model)"
            )
        return vectors
