"""The LLM provider contract: :class:`LLMProvider` opens a :class:`ChatModel` for an :class:`LLMConfig`.

A chat model takes the conversation as :class:`ChatMessage` s and the tools
(JSON schemas of functions, OpenAI's format) and answers one
:class:`ChatResponse`: an assistant message, with text, tool calls or both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

CHAT_ROLES = ("system", "user", "assistant", "tool")


@dataclass(frozen=True)
class LLMConfig:
    """Which provider, model and server answer: the ``[model]`` section, and each agent's copy."""

    provider: str
    model: str
    endpoint: str = ""
    context_window: int = 8192

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> LLMConfig:
        """From an agent's ``llm_config`` (the config file's ``[model]`` keys)."""
        return cls(
            provider=str(data.get("model_endpoint_type") or data.get("provider") or "openai"),
            model=str(data.get("model") or ""),
            endpoint=str(data.get("model_endpoint") or data.get("endpoint") or ""),
            context_window=int(data.get("context_window") or 8192),
        )


@dataclass(frozen=True)
class ToolCall:
    """A function the model asks to call: ``arguments`` is the JSON text the model wrote (it may be invalid)."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class ChatMessage:
    """One message of a conversation, as chat-completion APIs take it."""

    role: str
    content: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None
    """For a ``tool`` message: the call it answers."""
    name: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """The message in OpenAI's chat-completions format."""
        message: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            message["tool_calls"] = [
                {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in self.tool_calls
            ]
        if self.tool_call_id is not None:
            message["tool_call_id"] = self.tool_call_id
        if self.name is not None and self.role != "tool":
            message["name"] = self.name
        return message


@dataclass(frozen=True)
class ChatResponse:
    """What the model answered: one assistant message, why it stopped, and the tokens it counted."""

    message: ChatMessage
    finish_reason: str = ""
    usage: Mapping[str, int] = field(default_factory=dict)


class ChatModel(ABC):
    """An opened provider: answers conversations with one model."""

    model: str

    @abstractmethod
    def complete(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = ()) -> ChatResponse:
        """The next assistant message for ``messages``, which may call ``tools`` (OpenAI function schemas)."""


class LLMProvider(ABC):
    """A kind of LLM server. Subclass it and register an instance from ``register_llm_providers``."""

    name: ClassVar[str]
    label: ClassVar[str]
    default_endpoint: ClassVar[str] = ""
    default_model: ClassVar[str] = ""
    """``""`` when the server decides (a local server: configure asks which model it serves)."""
    key_variables: ClassVar[tuple[str, ...]] = ()
    """Environment variables the API key is read from, first set wins (never written to the config file)."""

    @abstractmethod
    def chat_model(self, config: LLMConfig) -> ChatModel:
        """Open a chat model for ``config`` (import client libraries here, not at module level)."""
