"""The context window: which recall messages are in the prompt, and how they become chat messages.

Every message of a conversation is in recall memory from the moment it
happens. The prompt shows those written since :attr:`ContextState.since`,
after a summary of the ones before (kept in the agent's state). Summarizing
moves ``since`` forward; nothing is deleted, so ``conversation_search`` still
finds every message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from memgpt.agent.prompt import function_result
from memgpt.agent.tokens import count_tokens
from memgpt.llm.provider import ChatMessage, ToolCall
from memgpt.records import AgentState, Message, to_utc, utcnow

CONTEXT_KEY = "context"
MAX_IN_CONTEXT = 500
"""At most this many recent messages are read into a prompt; older ones stay reachable through search."""
KEEP_LAST = 3
"""Summarizing always leaves at least this many recent messages in view."""
SUMMARIZED_SHARE = 0.75
"""Summarizing takes out the oldest messages that hold this share of the conversation's tokens (MemGPT's)."""
INTERRUPTED = "the process stopped before this function ran; call it again if it is still needed"


@dataclass(frozen=True)
class ContextState:
    """Where the prompt's conversation starts, and what stands for the messages before."""

    since: datetime | None = None
    summary: str | None = None
    hidden: int = 0
    """Messages summarized out of view so far."""
    warned: bool = False
    """The memory-pressure warning was given since the last summary."""

    @classmethod
    def of(cls, agent: AgentState) -> ContextState:
        stored = agent.metadata.get(CONTEXT_KEY)
        if not isinstance(stored, dict):
            return cls()
        since = stored.get("since")
        return cls(
            since=to_utc(since) if since else None,
            summary=stored.get("summary") or None,
            hidden=int(stored.get("hidden") or 0),
            warned=bool(stored.get("warned")),
        )

    def applied_to(self, agent: AgentState) -> AgentState:
        stored = {
            "since": self.since.isoformat() if self.since else None,
            "summary": self.summary,
            "hidden": self.hidden,
            "warned": self.warned,
        }
        return replace(agent, metadata={**agent.metadata, CONTEXT_KEY: stored})


def thoughts_of(message: Message) -> str | None:
    """What an assistant message said to the model (its inner monologue), as opposed to what the user saw."""
    if "thoughts" in message.metadata:
        return message.metadata["thoughts"]
    return message.text or None


def chat_messages(messages: Sequence[Message]) -> list[ChatMessage]:
    """Recall messages as the model reads them; every function call is answered.

    A call whose result is missing (the process was killed while it ran) is
    answered as interrupted, and a result whose call is not in view is
    dropped: chat APIs refuse either.
    """
    out: list[ChatMessage] = []
    pending: dict[str, str] = {}

    def answer_pending() -> None:
        for call_id in list(pending):
            out.append(ChatMessage("tool", function_result(False, INTERRUPTED, utcnow()), tool_call_id=call_id))
        pending.clear()

    for message in messages:
        if message.role == "tool":
            if message.tool_call_id in pending:
                pending.pop(message.tool_call_id)
                out.append(ChatMessage("tool", message.text, tool_call_id=message.tool_call_id))
            continue
        answer_pending()
        if message.role == "assistant":
            calls = tuple(_tool_call(c) for c in message.tool_calls)
            calls = tuple(c for c in calls if c is not None)
            out.append(ChatMessage("assistant", thoughts_of(message), calls))
            pending.update({c.id: c.name for c in calls})
        else:  # user messages, and system events (heartbeats, alerts), which MemGPT sent as user messages
            out.append(ChatMessage("user", message.text))
    answer_pending()
    return out


def _tool_call(stored: Any) -> ToolCall | None:
    try:
        function = stored["function"]
        return ToolCall(str(stored["id"]), str(function["name"]), str(function.get("arguments") or "{}"))
    except (KeyError, TypeError):
        return None


def transcript(messages: Sequence[Message]) -> str:
    """The messages as text for the summarizer."""
    lines = []
    for message in messages:
        if message.role == "assistant":
            thoughts = thoughts_of(message)
            if thoughts:
                lines.append(f"assistant (inner monologue): {thoughts}")
            for call in message.tool_calls:
                function = call.get("function", {}) if isinstance(call, dict) else {}
                lines.append(f"assistant called {function.get('name')}({function.get('arguments')})")
        elif message.role == "tool":
            lines.append(f"tool ({message.name or 'result'}): {message.text}")
        else:
            lines.append(f"{message.role}: {message.text}")
    return "\n".join(lines)


def summary_cut(messages: Sequence[Message]) -> int:
    """How many of the oldest ``messages`` to summarize: those holding :data:`SUMMARIZED_SHARE` of the tokens.

    The cut never leaves a function result in view without its call, and
    always leaves the last :data:`KEEP_LAST` messages; 0 when nothing can go.
    """
    limit = len(messages) - KEEP_LAST
    if limit <= 0:
        return 0
    sizes = [count_tokens(m.text) + count_tokens(json.dumps(m.tool_calls)) + 4 for m in messages]
    goal = SUMMARIZED_SHARE * sum(sizes)
    total, cut = 0, 0
    while cut < limit and total < goal:
        total += sizes[cut]
        cut += 1
    while cut < limit and messages[cut].role == "tool":
        cut += 1
    while cut > 0 and messages[cut].role == "tool":
        cut -= 1
    return cut
