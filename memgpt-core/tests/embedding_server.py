"""A local HTTP server speaking the OpenAI ``/v1/embeddings`` protocol, for tests.

It embeds deterministically (a hash of each text spread over ``dim`` values)
and can be told to answer the next requests with errors, to check retries and
error messages against a real HTTP exchange.
"""

from __future__ import annotations

import hashlib
from collections import deque
from typing import Any

from memgpt.testing.json_server import Answer, JSONServer


def fake_vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [((digest[i % 32] + i) % 17) / 17.0 + 0.01 for i in range(dim)]


class EmbeddingServer(JSONServer):
    def __init__(self, dim: int = 8, key: str | None = None) -> None:
        super().__init__()
        self.dim = dim
        self.key = key
        self.failures: deque[tuple[int, dict[str, str]]] = deque()

    @property
    def endpoint(self) -> str:
        return f"{self.url}/v1"

    def answer(self, path: str, body: dict[str, Any], auth: str | None) -> Answer:
        if self.failures:
            status, headers = self.failures.popleft()
            return self.error(status, f"simulated {status}", headers)
        if self.key and auth != f"Bearer {self.key}":
            return self.error(401, "Incorrect API key provided")
        if path != "/v1/embeddings":
            return self.error(404, "not found")
        data = [
            {"object": "embedding", "index": i, "embedding": fake_vector(text, self.dim)} for i, text in enumerate(body["input"])
        ]
        return 200, {"object": "list", "data": list(reversed(data)), "model": body["model"]}, {}
