"""A local HTTP server speaking OpenAI's ``/v1/chat/completions``, answering from a script: the LLM of the tests.

No client is mocked: the agent's real HTTP client talks to this server on
127.0.0.1. Each request with tools (an agent's step) takes the next answer
from :attr:`ChatServer.script`:

* a dict with ``content`` and/or ``tool_calls`` (build calls with :func:`tool_call`);
* an ``int``: that HTTP error status;
* a callable taking the request body and returning one of the above (to
  answer from what the agent sent, e.g. the result of its last call).

A request without tools whose system message asks to summarize is the
agent's request for a summary: it is answered with :attr:`ChatServer.summary`
and counted in :attr:`ChatServer.summaries`.
When the script is empty the agent is told ``"(nothing scripted)"``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from memgpt.testing.json_server import Answer, JSONServer

Scripted = dict[str, Any] | int | Callable[[dict[str, Any]], Any]


def tool_call(name: str, arguments: dict[str, Any] | str, call_id: str = "call_1") -> dict[str, Any]:
    """A tool call as the server returns it; ``arguments`` as a dict (encoded here) or as raw text."""
    text = arguments if isinstance(arguments, str) else json.dumps(arguments)
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": text}}


def say(message: str, thoughts: str | None = None, call_id: str = "call_say") -> dict[str, Any]:
    """An answer calling ``send_message`` (and ending the turn)."""
    return {"content": thoughts, "tool_calls": [tool_call("send_message", {"message": message}, call_id)]}


def call(
    name: str, arguments: dict[str, Any], thoughts: str | None = None, heartbeat: bool = True, call_id: str = "call_1"
) -> dict[str, Any]:
    """An answer calling one function, asking for a heartbeat unless told not to."""
    return {"content": thoughts, "tool_calls": [tool_call(name, {**arguments, "request_heartbeat": heartbeat}, call_id)]}


def last_tool_result(body: dict[str, Any]) -> dict[str, Any]:
    """The last function result in a request, decoded (what the agent's last call returned)."""
    for message in reversed(body["messages"]):
        if message["role"] == "tool":
            return json.loads(message["content"])
    raise AssertionError("the request holds no function result")


class ChatServer(JSONServer):
    """Answers chat completions from :attr:`script`; see the module's docstring."""

    def __init__(self, models: tuple[str, ...] = ("test-model",), key: str | None = None) -> None:
        super().__init__()
        self.models = models
        self.key = key
        self.script: deque[Scripted] = deque()
        self.summary = "The user and I talked; nothing else happened."
        self.summaries = 0
        self.delay: Callable[[dict[str, Any]], None] | None = None
        """Called before answering a step (block here to hold an agent mid-turn)."""
        self._lock = threading.Lock()

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The request bodies of the agent's steps (requests with tools), in order."""
        return [r["body"] for r in self.requests if r["body"].get("tools")]

    def answer_step(self, body: dict[str, Any]) -> Answer:
        """The next scripted answer (subclasses may answer otherwise)."""
        if self.delay is not None:
            self.delay(body)
        with self._lock:
            scripted: Scripted = self.script.popleft() if self.script else {"content": "(nothing scripted)"}
        if callable(scripted):
            scripted = scripted(body)
        if isinstance(scripted, int):
            return self.error(scripted, f"simulated {scripted}")
        return self._completion(scripted)

    def answer(self, path: str, body: dict[str, Any], auth: str | None) -> Answer:
        if path != "/v1/chat/completions":
            return self.error(404, "not found")
        if self.key and auth != f"Bearer {self.key}":
            return self.error(401, "Incorrect API key provided")
        if body.get("model") not in self.models:
            return self.error(404, f"model '{body.get('model')}' not found")
        if not body.get("tools") and "summarize" in str(body["messages"][0].get("content", "")):
            with self._lock:
                self.summaries += 1
            return self._completion({"content": self.summary})
        return self.answer_step(body)

    @staticmethod
    def _completion(scripted: dict[str, Any]) -> Answer:
        message = {"role": "assistant", "content": scripted.get("content"), "tool_calls": scripted.get("tool_calls")}
        if "function_call" in scripted:  # the older single-function form some servers still answer with
            message["function_call"] = scripted["function_call"]
        choice = {"index": 0, "message": message, "finish_reason": "tool_calls" if scripted.get("tool_calls") else "stop"}
        usage = scripted.get("usage", {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15})
        return 200, {"choices": [choice], "usage": usage}, {}
