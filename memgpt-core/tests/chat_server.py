"""A local HTTP server speaking OpenAI's ``/v1/chat/completions``, answering from a script, for tests.

Each request takes the next scripted answer: an assistant message (text,
tool calls) or an HTTP error status. Requests are kept for the test to read.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


class ChatServer:
    def __init__(self, models: tuple[str, ...] = ("test-model",), key: str | None = None) -> None:
        self.models = models
        self.key = key
        self.script: deque[Any] = deque()
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                if self.path != "/v1/chat/completions":
                    self._send(404, {"error": {"message": "not found"}})
                elif server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
                    self._send(401, {"error": {"message": "Incorrect API key provided"}})
                elif body.get("model") not in server.models:
                    self._send(404, {"error": {"message": f"model '{body.get('model')}' not found"}})
                else:
                    answer = server.script.popleft() if server.script else {"content": "(nothing scripted)"}
                    if isinstance(answer, int):
                        self._send(answer, {"error": {"message": f"simulated {answer}"}})
                        return
                    message = {"role": "assistant", "content": answer.get("content"), "tool_calls": answer.get("tool_calls")}
                    finish = "tool_calls" if answer.get("tool_calls") else "stop"
                    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
                    self._send(200, {"choices": [{"index": 0, "message": message, "finish_reason": finish}], "usage": usage})

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
