"""Chat completions with tool calling from any OpenAI-compatible ``/chat/completions`` endpoint.

OpenAI itself, Ollama (``http://localhost:11434/v1``), vLLM, LM Studio and
llama.cpp's server speak it. The API key comes from the environment (the
provider's ``key_variables``, also read from ``./.env``) and is never written
to the config file or printed. HTTP 429 and 5xx answers and dropped
connections are retried with exponential backoff (honouring ``Retry-After``);
everything else fails at once with one line that says what to do.
(The request and its retries are :func:`memgpt.http_json.post_json`, shared
with the embedding client.)
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from memgpt.environment import first_set
from memgpt.errors import LLMError, LLMUnavailable
from memgpt.http_json import HTTPGaveUp, HTTPRefusal, Retries, post_json
from memgpt.llm.provider import ChatMessage, ChatModel, ChatResponse, LLMConfig, ToolCall
from memgpt.secrets import scrub


def chat_url(endpoint: str) -> str:
    """``{endpoint}/chat/completions``; a bare server address gets OpenAI's ``/v1`` prefix (Ollama's ``:11434``)."""
    base = endpoint.rstrip("/")
    if not base.endswith("/v1") and base.count("/") <= 2:  # scheme://host[:port] with no path
        base += "/v1"
    return base + "/chat/completions"


class OpenAICompatibleChat(ChatModel):
    """Posts conversations to ``{endpoint}/chat/completions``."""

    max_attempts = 6
    backoff_seconds = 0.5
    max_backoff_seconds = 20.0
    timeout_seconds = 300.0

    def __init__(self, config: LLMConfig, key_variables: Sequence[str]) -> None:
        if not config.model:
            raise LLMError(f"no LLM model is configured for {config.provider!r}; run memgpt configure")
        self.model = config.model
        self.endpoint = config.endpoint.rstrip("/")
        self.url = chat_url(self.endpoint)
        self.key_variables = tuple(key_variables)
        self.key = first_set(self.key_variables)

    def complete(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = ()) -> ChatResponse:
        body: dict[str, Any] = {"model": self.model, "messages": [m.to_openai() for m in messages]}
        if tools:
            body["tools"] = [{"type": "function", "function": dict(tool)} for tool in tools]
            body["tool_choice"] = "auto"
        retries = Retries(self.max_attempts, self.backoff_seconds, self.max_backoff_seconds)
        try:
            return self._response(post_json(self.url, body, self.key, self.timeout_seconds, retries, give_up_when_refused=True))
        except HTTPRefusal as exc:
            where, detail = f"the LLM server at {self.endpoint}", f"HTTP {exc.status}{exc.detail}"
            if exc.status in (401, 403):
                keys = " or ".join(self.key_variables) or "the server's configuration"
                raise LLMError(self._clean(f"{where} refused the request ({detail}); check the API key in {keys}")) from None
            if exc.status == 404:
                message = f"{where} does not serve model {self.model!r} ({detail}); pull or load it, or run memgpt configure"
                raise LLMError(self._clean(message)) from None
            raise LLMError(self._clean(f"{where} rejected the request ({detail})")) from None
        except HTTPGaveUp as exc:
            if exc.refused:
                raise LLMUnavailable(
                    self._clean(f"cannot reach the LLM server at {self.endpoint} ({exc.last}); is it running?")
                ) from None
            raise LLMUnavailable(
                self._clean(f"the LLM server at {self.endpoint} failed {exc.attempts} times; last: {exc.last}")
            ) from None

    def _clean(self, message: str) -> str:
        return scrub(message, [self.key])

    def _response(self, payload: Mapping[str, Any]) -> ChatResponse:
        try:
            choice = payload["choices"][0]
            message = choice["message"]
            listed = list(message.get("tool_calls") or ())
            if not listed and message.get("function_call"):  # the older single-function form
                listed = [{"id": "call_0", "function": message["function_call"]}]
            calls = tuple(
                ToolCall(
                    str(c.get("id") or f"call_{i}"), str(c["function"]["name"]), _arguments_text(c["function"].get("arguments"))
                )
                for i, c in enumerate(listed)
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(
                f"the LLM server at {self.endpoint} answered in an unknown format ({type(exc).__name__}: {exc})"
            ) from None
        usage = {k: int(v) for k, v in (payload.get("usage") or {}).items() if isinstance(v, int)}
        return ChatResponse(
            ChatMessage("assistant", message.get("content"), calls), str(choice.get("finish_reason") or ""), usage
        )


def _arguments_text(arguments: Any) -> str:
    """A call's arguments as JSON text: most servers send a string, some (Ollama's own API) an object."""
    if arguments is None or arguments == "":
        return "{}"
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments, ensure_ascii=False)
