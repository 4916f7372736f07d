"""Core memory: the persona and human blocks an agent always sees, each with a character limit.

The blocks live in :attr:`AgentState.core_memory`; their limits in the agent's
metadata (``core_memory_limits``), so an agent keeps the limits it was made
with. Edits that would pass a limit are refused with the message MemGPT gave
the model, so it can summarize and try again.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from memgpt.errors import MemGPTError
from memgpt.profiles import CORE_MEMORY_LIMIT
from memgpt.records import AgentState

BLOCKS = ("persona", "human")
LIMITS_KEY = "core_memory_limits"


class CoreMemoryError(MemGPTError):
    """An edit of core memory that cannot be made (unknown block, over the limit, text not found)."""


@dataclass
class CoreMemory:
    """The editable blocks of one agent's core memory."""

    blocks: dict[str, str]
    limits: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, agent: AgentState) -> CoreMemory:
        """The core memory ``agent`` holds (blocks it lacks are empty)."""
        stored = agent.metadata.get(LIMITS_KEY) if isinstance(agent.metadata.get(LIMITS_KEY), dict) else {}
        blocks = {name: str(agent.core_memory.get(name, "")) for name in BLOCKS}
        blocks.update({k: str(v) for k, v in agent.core_memory.items() if k not in blocks})
        limits = {name: int(stored.get(name, CORE_MEMORY_LIMIT)) for name in blocks}
        return cls(blocks, limits)

    def applied_to(self, agent: AgentState) -> AgentState:
        """``agent`` holding this core memory."""
        return replace(agent, core_memory=dict(self.blocks), metadata={**agent.metadata, LIMITS_KEY: dict(self.limits)})

    def limit(self, name: str) -> int:
        return self.limits.get(name, CORE_MEMORY_LIMIT)

    def _block(self, name: str) -> str:
        if name not in self.blocks:
            raise CoreMemoryError(f"no core memory block named {name!r}; the blocks are {', '.join(self.blocks)}")
        return self.blocks[name]

    def _set(self, name: str, text: str) -> None:
        limit = self.limit(name)
        if len(text) > limit:
            raise CoreMemoryError(
                f"Edit failed: exceeds {limit} character limit (requested {len(text)}). "
                "Consider summarizing existing core memories in this block and/or moving details to archival memory."
            )
        self.blocks[name] = text

    def append(self, name: str, content: str) -> str:
        """Add ``content`` as a new line at the end of block ``name``; returns the block."""
        current = self._block(name)
        self._set(name, f"{current}\n{content}" if current else content)
        return self.blocks[name]

    def replace(self, name: str, old: str, new: str) -> str:
        """Replace every occurrence of ``old`` in block ``name`` with ``new`` (empty ``new`` deletes it); returns the block."""
        current = self._block(name)
        if not old:
            raise CoreMemoryError("old_content must not be empty: use core_memory_append to add text")
        if old not in current:
            raise CoreMemoryError(f"old_content not found in the {name} block: copy it exactly from the block")
        self._set(name, current.replace(old, new))
        return self.blocks[name]

    def render(self) -> str:
        """The blocks as the system prompt shows them, with their sizes."""
        parts = []
        for name, text in self.blocks.items():
            parts.append(f'<{name} characters="{len(text)}/{self.limit(name)}">\n{text}\n</{name}>')
        return "\n".join(parts)


def with_profile_texts(agent: AgentState, profiles: Any) -> AgentState | None:
    """``agent`` with the texts of its persona and human in core memory, if it holds only their names; else ``None``.

    Agents created by memgpt 0.5 kept the persona's and human's *names* as
    their core memory (there were no texts then). A block that still equals
    the name, untouched, gets the named profile's text, once.
    """
    core = CoreMemory.of(agent)
    changed = False
    for block, name in (("persona", agent.persona), ("human", agent.human)):
        if name and core.blocks.get(block) == name:
            entry = profiles.find(block, name)
            if entry is not None and entry.profile.text != name:
                core.blocks[block] = entry.profile.text
                changed = True
    return core.applied_to(agent) if changed else None
