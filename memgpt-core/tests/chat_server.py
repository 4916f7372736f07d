"""A local HTTP server speaking OpenAI's ``/v1/chat/completions``, answering from a script, for tests.

Each request takes the next scripted answer: an assistant message (``content``,
``tool_calls``) or an HTTP error status.
"""

from __future__ import annotations

import json
from collections import deque
from typing import Any

from json_server import Answer, JSONServer


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


class ChatServer(JSONServer):
    def __init__(self, models: tuple[str, ...] = ("test-model",), key: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.key = key
        self.script: deque[Any] = deque()

    def answer(self, path: str, body: dict[str, Any], auth: str | None) -> Answer:
        if path != "/v1/chat/completions":
            return self.error(404, "not found")
        if self.key and auth != f"Bearer {self.key}":
            return self.error(401, "Incorrect API key provided")
        if body.get("model") not in self.models:
            return self.error(404, f"model '{body.get('model')}' not found")
        scripted = self.script.popleft() if self.script else {"content": "(nothing scripted)"}
        if isinstance(scripted, int):
            return self.error(scripted, f"simulated {scripted}")
        message = {"role": "assistant", "content": scripted.get("content"), "tool_calls": scripted.get("tool_calls")}
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if scripted.get("tool_calls") else "stop"}
        return 200, {"choices": [choice], "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}, {}
