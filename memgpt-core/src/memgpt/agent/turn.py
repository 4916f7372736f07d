"""What one turn of an agent produced, as the CLI prints it and ``memgpt send --json`` returns it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MESSAGE_TYPES = (
    "user_message",
    "internal_monologue",
    "function_call",
    "function_return",
    "assistant_message",
    "heartbeat",
    "system_alert",
)
"""What a :class:`TurnMessage` can be: what the user wrote, the agent's private thoughts, a function it called and
what that returned, what it said to the user (through ``send_message``, or as plain text from a model that
answered without calling it), and the system's own events."""


@dataclass(frozen=True)
class TurnMessage:
    """One thing that happened in a turn, in order; ``id`` is the recall message it is stored in."""

    type: str
    text: str
    id: str
    created_at: datetime
    function: str | None = None
    arguments: dict[str, Any] | None = None
    ok: bool | None = None
    """For a ``function_return``: whether the call succeeded (a failure's text is what the model was told)."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "text": self.text, "id": self.id, "created_at": self.created_at.isoformat()}
        if self.function is not None:
            out["function"] = self.function
        if self.arguments is not None:
            out["arguments"] = self.arguments
        if self.ok is not None:
            out["ok"] = self.ok
        return out


@dataclass
class Turn:
    """A user's message and everything the agent did until it returned control."""

    messages: list[TurnMessage] = field(default_factory=list)
    steps: int = 0
    """LLM calls made (a summary's call not counted)."""
    stopped: str = "done"
    """``done``, or ``step_limit`` when the agent kept asking for heartbeats past the limit."""
    summarized: int = 0
    """Messages summarized out of the prompt during this turn (they stay in recall memory)."""
    usage: dict[str, int] = field(default_factory=dict)
    """Tokens the server reported, summed over the turn's calls."""

    @property
    def replies(self) -> list[str]:
        """What the agent said to the user."""
        return [m.text for m in self.messages if m.type == "assistant_message"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "messages": [m.to_dict() for m in self.messages],
            "replies": self.replies,
            "steps": self.steps,
            "stopped": self.stopped,
            "summarized": self.summarized,
            "usage": dict(self.usage),
        }
