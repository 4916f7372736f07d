"""A local HTTP server speaking the OpenAI ``/v1/embeddings`` protocol, for tests.

It embeds deterministically (a hash of each text spread over ``dim`` values)
and can be told to answer the next requests with errors, to check retries and
error messages against a real HTTP exchange.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def fake_vector(text: str, dim: int) -> list[float]:
    digest = hashlib.sha256(text.encode()).digest()
    return [((digest[i % 32] + i) % 17) / 17.0 + 0.01 for i in range(dim)]


class EmbeddingServer:
    def __init__(self, dim: int = 8, key: str | None = None) -> None:
        self.dim = dim
        self.key = key
        self.requests: list[dict[str, Any]] = []
        self.failures: deque[tuple[int, dict[str, str]]] = deque()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if server.failures:
                    status, headers = server.failures.popleft()
                    self._send(status, {"error": {"message": f"simulated {status}"}}, headers)
                    return
                if server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
                    self._send(401, {"error": {"message": "Incorrect API key provided"}})
                    return
                if self.path != "/v1/embeddings":
                    self._send(404, {"error": {"message": "not found"}})
                    return
                data = [
                    {"object": "embedding", "index": i, "embedding": fake_vector(text, server.dim)}
                    for i, text in enumerate(body["input"])
                ]
                self._send(200, {"object": "list", "data": list(reversed(data)), "model": body["model"]})

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> EmbeddingServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
