"""Chat completions with tool calling from any OpenAI-compatible ``/chat/completions`` endpoint.

OpenAI itself, Ollama (``http://localhost:11434/v1``), vLLM, LM Studio and
llama.cpp's server speak it. The API key comes from the environment (the
provider's ``key_variables``, also read from ``./.env``) and is never written
to the config file or printed. HTTP 429 and 5xx answers and dropped
connections are retried with exponential backoff (honouring ``Retry-After``);
everything else fails at once with one line that says what to do.

TODO before landing (issue 21): share the request/retry loop with
``memgpt.embeddings.openai_compat`` (one helper for both).
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any

from memgpt.environment import first_set
from memgpt.errors import LLMError, LLMUnavailable
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

    def _post(self, body: Mapping[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        request = urllib.request.Request(self.url, data=json.dumps(body).encode(), headers=headers, method="POST")
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

    def complete(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = ()) -> ChatResponse:
        body: dict[str, Any] = {"model": self.model, "messages": [m.to_openai() for m in messages]}
        if tools:
            body["tools"] = [{"type": "function", "function": dict(tool)} for tool in tools]
            body["tool_choice"] = "auto"
        last = ""
        for attempt in range(self.max_attempts):
            try:
                return self._response(self._post(body))
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                if exc.code in (401, 403):
                    keys = " or ".join(self.key_variables) or "the server's configuration"
                    raise LLMError(
                        self._clean(
                            f"the LLM server at {self.endpoint} refused the request (HTTP {exc.code}{detail}); check the API key in {keys}"
                        )
                    ) from None
                if exc.code == 404:
                    raise LLMError(
                        self._clean(
                            f"the LLM server at {self.endpoint} does not serve model {self.model!r} (HTTP 404{detail}); pull or load it, or run memgpt configure"
                        )
                    ) from None
                if exc.code == 429 or exc.code >= 500:
                    last = f"HTTP {exc.code}{detail}"
                    self._wait(attempt, exc.headers.get("Retry-After") if exc.headers else None)
                    continue
                raise LLMError(
                    self._clean(f"the LLM server at {self.endpoint} rejected the request (HTTP {exc.code}{detail})")
                ) from None
            except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
                last = str(getattr(exc, "reason", exc))
                if attempt == 0 and "refused" in last.lower():
                    raise LLMUnavailable(
                        self._clean(f"cannot reach the LLM server at {self.endpoint} ({last}); is it running?")
                    ) from None
                self._wait(attempt, None)
        raise LLMUnavailable(self._clean(f"the LLM server at {self.endpoint} failed {self.max_attempts} times; last: {last}"))

    def _clean(self, message: str) -> str:
        return scrub(message, [self.key])

    def _response(self, payload: Mapping[str, Any]) -> ChatResponse:
        try:
            choice = payload["choices"][0]
            message = choice["message"]
            calls = tuple(
                ToolCall(str(c.get("id") or f"call_{i}"), str(c["function"]["name"]), str(c["function"].get("arguments") or "{}"))
                for i, c in enumerate(message.get("tool_calls") or ())
            )
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError(
                f"the LLM server at {self.endpoint} answered in an unknown format ({type(exc).__name__}: {exc})"
            ) from None
        usage = {k: int(v) for k, v in (payload.get("usage") or {}).items() if isinstance(v, int)}
        return ChatResponse(
            ChatMessage("assistant", message.get("content"), calls), str(choice.get("finish_reason") or ""), usage
        )


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace") or "{}")
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
    except (ValueError, AttributeError, OSError):
        message = None
    return f": {str(message)[:200]}" if message else ""
