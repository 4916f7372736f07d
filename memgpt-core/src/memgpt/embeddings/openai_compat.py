"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint.

Works with OpenAI itself and with local servers that speak the same protocol
(Ollama, vLLM, LM Studio, llama.cpp's server...). The API key comes from the
environment (``MEMGPT_EMBEDDING_API_KEY``, else ``OPENAI_API_KEY``, also read
from ``./.env``), is never written to the config file and never printed.
Requests are batched; HTTP 429 and 5xx answers and dropped connections are
retried with exponential backoff (honouring ``Retry-After``).
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import numpy as np

from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.environment import first_set
from memgpt.errors import EmbeddingError, EmbeddingMismatch, EmbeddingUnavailable
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

    def _request(self, texts: Sequence[str]) -> dict[str, Any]:
        body = json.dumps({"model": self.model, "input": list(texts), "encoding_format": "float"}).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
            return json.loads(response.read().decode("utf-8"))

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff_seconds * (2**attempt) * (1 + random.random() / 4)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        time.sleep(min(delay, self.max_backoff_seconds))

    def _error(self, message: str) -> str:
        return scrub(message, [self.key])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        last = ""
        for attempt in range(self.max_attempts):
            try:
                payload = self._request(texts)
                break
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code in (401, 403):
                    raise EmbeddingError(
                        self._error(
                            f"embedding endpoint {self.endpoint} refused the request (HTTP {exc.code}{detail}); "
                            f"check the API key in {' or '.join(self.key_variables)}"
                        )
                    ) from None
                if exc.code == 429 or exc.code >= 500:
                    last = f"HTTP {exc.code}{detail}"
                    self._wait(attempt, exc.headers.get("Retry-After") if exc.headers else None)
                    continue
                raise EmbeddingError(
                    self._error(f"embedding endpoint {self.endpoint} rejected model {self.model!r} (HTTP {exc.code}{detail})")
                ) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = str(getattr(exc, "reason", exc))
                self._wait(attempt, None)
                continue
        else:
            raise EmbeddingUnavailable(
                self._error(f"embedding endpoint {self.endpoint} failed {self.max_attempts} times; last: {last}")
            )
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


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace") or "{}")
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
    except (ValueError, AttributeError, OSError):
        message = None
    return f": {str(message)[:200]}" if message else ""
