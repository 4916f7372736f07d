"""The agent loop: a user's message in, steps of LLM calls and MemGPT functions, replies out.

One turn (:meth:`Agent.send`):

1. the user's message is written to recall memory;
2. each step builds the prompt (system prompt with core memory and memory
   counts, the summary of hidden messages, the messages in view), checks its
   size against the context window (a warning to the model first, then a
   summary of the oldest messages), asks the model, and runs the functions it
   called, writing the assistant message, each result and each heartbeat to
   recall memory as it happens;
3. the turn ends when the model stops asking for heartbeats, or after
   :attr:`AgentSettings.max_steps` steps.

A killed process loses at most the step in flight: the next turn reads the
conversation back from recall memory (an interrupted function call is
answered as interrupted). Turns of one agent take turns between processes
(a lock in ``MEMGPT_HOME``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from memgpt.agent.context import MAX_IN_CONTEXT, ContextState, chat_messages, summary_cut, transcript
from memgpt.agent.core_memory import CoreMemory
from memgpt.agent.functions import SCHEMAS, SEND_MESSAGE, CallResult, call_function, parse_arguments
from memgpt.agent.prompt import (
    HEARTBEAT_AFTER_FAILURE,
    HEARTBEAT_REQUESTED,
    MEMORY_PRESSURE,
    SUMMARIZER_INSTRUCTIONS,
    event,
    function_result,
    summary_alert,
    system_prompt,
)
from memgpt.agent.tokens import TokenCounter
from memgpt.agent.turn import Turn, TurnMessage
from memgpt.agent_memory import AgentMemory
from memgpt.catalog import Catalog
from memgpt.errors import InvalidRecord, LLMError
from memgpt.llm.provider import ChatMessage, ChatModel, LLMConfig
from memgpt.records import AgentState, Message, utcnow


@dataclass(frozen=True)
class AgentSettings:
    """How far a turn may go, and when the context window counts as full."""

    max_steps: int = 10
    """LLM calls per turn: heartbeats past this are not granted (MemGPT had no cap)."""
    warning_share: float = 0.65
    """Share of the context window at which the model is warned that old messages will leave its view."""
    summarize_share: float = 0.75
    """Share of the context window at which the oldest messages are summarized out of the prompt (MemGPT's 75%)."""


def open_chat_model(llm_config: Mapping[str, Any]) -> ChatModel:
    """The chat model an agent's ``llm_config`` names, from the installed LLM providers."""
    from memgpt.plugins import get_llm_provider

    config = LLMConfig.from_dict(llm_config)
    return get_llm_provider(config.provider).chat_model(config)


class Agent:
    """One agent, ready to talk: its state, memory and chat model."""

    def __init__(
        self,
        catalog: Catalog,
        state: AgentState,
        model: ChatModel,
        memory: AgentMemory | None = None,
        settings: AgentSettings | None = None,
        on_message: Callable[[TurnMessage], None] | None = None,
    ) -> None:
        self.catalog = catalog
        self.state = state
        self.model = model
        self.memory = memory or AgentMemory(catalog.collections, state)
        self.settings = settings or AgentSettings()
        self.on_message = on_message
        self.counter = TokenCounter()
        self._last_time: datetime | None = None
        self._turn: Turn | None = None
        self._view: tuple[datetime | None, list[Message], int] | None = None
        self._heartbeat_reason = HEARTBEAT_REQUESTED
        """Why the next heartbeat is given: requested, or after a failed call."""

    @property
    def context_window(self) -> int:
        return LLMConfig.from_dict(self.state.llm_config).context_window

    # -- one turn -------------------------------------------------------------------------
    def send(self, text: str) -> Turn:
        """Give the agent the user's ``text``; returns everything it did until control came back."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidRecord("a message to an agent must be non-empty text")
        with self._turn_lock():
            self.state = self.catalog.reload_agent(self.state)
            self.memory.agent = self.state
            self._view = None  # another process may have talked with this agent since our last turn
            self._last_time = None
            turn = self._turn = Turn()
            try:
                self._record("user", text, "user_message")
                heartbeat = True
                while heartbeat:
                    if turn.steps >= self.settings.max_steps:
                        turn.stopped = "step_limit"
                        break
                    heartbeat = self._step()
                    if heartbeat and turn.steps < self.settings.max_steps:
                        self._record("system", None, "heartbeat", reason=self._heartbeat_reason)
            finally:
                self._turn = None
            return turn

    def _step(self) -> bool:
        """One LLM call and the functions it asked for; returns whether the agent asked for another step."""
        turn = self._turn
        assert turn is not None
        messages = self._prompt_within_window()
        response = self.model.complete(messages, SCHEMAS)
        turn.steps += 1
        for key, value in response.usage.items():
            turn.usage[key] = turn.usage.get(key, 0) + value
        self.counter.reported(messages, SCHEMAS, response.usage.get("prompt_tokens"))
        reply = _with_unique_call_ids(response.message)
        calls = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in reply.tool_calls
        ]
        spoken = [_spoken(c.arguments) for c in reply.tool_calls if c.name == SEND_MESSAGE]
        spoken = [s for s in spoken if s is not None]
        thoughts = reply.content or ""
        # The recall text of an assistant message is what the user saw (conversation_search finds it), else its
        # thoughts, else which functions it called; the model's own words are kept as its thoughts, which the
        # prompt shows it again.
        called = ", ".join(c.name for c in reply.tool_calls)
        stored_text = "\n".join(spoken) if spoken else thoughts or (f"(called {called})" if called else "")
        assistant = self._store("assistant", stored_text, tool_calls=calls, metadata={"thoughts": thoughts})
        if thoughts and reply.tool_calls:
            self._emit("internal_monologue", thoughts, assistant)
        if not reply.tool_calls:
            if thoughts:  # a model that answered without calling send_message: its text is the reply
                self._emit("assistant_message" if not turn.replies else "internal_monologue", thoughts, assistant)
            return False
        heartbeat = False
        self._heartbeat_reason = HEARTBEAT_REQUESTED
        for call in reply.tool_calls:
            self._emit("function_call", call.arguments, assistant, function=call.name, arguments=_arguments(call.arguments))
            result = self._run(call.name, call.arguments)
            returned = self._store(
                "tool", function_result(result.ok, result.result, self._now()), name=call.name, tool_call_id=call.id
            )
            self._emit("function_return", result.result or "None", returned, function=call.name, ok=result.ok)
            if result.ok and call.name == SEND_MESSAGE:
                self._emit("assistant_message", str(result.arguments.get("message", "")), assistant)
            if not result.ok:
                self._heartbeat_reason = HEARTBEAT_AFTER_FAILURE
            heartbeat = heartbeat or result.heartbeat
        return heartbeat

    # -- the functions ----------------------------------------------------------------------
    def _run(self, name: str, raw_arguments: str) -> CallResult:
        functions: dict[str, Callable[..., Any]] = {
            "send_message": self._send_message,
            "core_memory_append": self._core_memory_append,
            "core_memory_replace": self._core_memory_replace,
            "archival_memory_insert": self.memory.archival_memory_insert,
            "archival_memory_search": self.memory.archival_memory_search,
            "conversation_search": self.memory.conversation_search,
            "conversation_search_date": self.memory.conversation_search_date,
        }
        return call_function(functions, name, raw_arguments)

    @staticmethod
    def _send_message(message: str) -> None:
        if not isinstance(message, str):
            raise TypeError("message must be a string")
        return None

    def _edit_core(self, edit: Callable[[CoreMemory], str]) -> None:
        fresh = self.catalog.reload_agent(self.state)  # apply the edit to the stored state, not to an old copy
        core = CoreMemory.of(fresh)
        edit(core)
        self.state = self.catalog.save_agent(core.applied_to(fresh))
        self.memory.agent = self.state

    def _core_memory_append(self, name: str, content: str) -> None:
        self._edit_core(lambda core: core.append(name, str(content)))
        return None

    def _core_memory_replace(self, name: str, old_content: str, new_content: str) -> None:
        self._edit_core(lambda core: core.replace(name, str(old_content), str(new_content)))
        return None

    # -- the prompt ---------------------------------------------------------------------------
    def _in_view(self, context: ContextState) -> tuple[list[Message], int]:
        """The recall messages in view (at most :data:`MAX_IN_CONTEXT`), and how many since ``since`` are left out.

        Read from recall memory once per turn (and after a summary); the turn's
        own messages are added as they are stored (the turn lock keeps other
        processes from writing to this agent's conversation meanwhile).
        """
        if self._view is not None and self._view[0] == context.since:
            return self._view[1], self._view[2]
        recall = self.memory.recall
        total = recall.date_count(context.since)
        skipped = max(0, total - MAX_IN_CONTEXT)
        messages = recall.date_search(context.since, limit=total - skipped, offset=skipped) if total else []
        self._view = (context.since, messages, skipped)
        return messages, skipped

    def _prompt(self, context: ContextState, in_view: list[Message], skipped: int) -> list[ChatMessage]:
        now = utcnow()
        system = system_prompt(CoreMemory.of(self.state), self.memory.archival.count(), self.memory.recall.count(), now)
        messages = [ChatMessage("system", system)]
        if context.summary:
            total = context.hidden + len(in_view) + skipped
            messages.append(
                ChatMessage("user", event("system_alert", summary_alert(context.summary, context.hidden, total), now))
            )
        if skipped:
            note = f"{skipped} earlier messages are not in view; conversation_search and conversation_search_date find them."
            messages.append(ChatMessage("user", event("system_alert", note, now)))
        return messages + chat_messages(in_view)

    def _prompt_within_window(self) -> list[ChatMessage]:
        """The prompt for the next step, summarizing or warning first when it fills the context window."""
        window = self.context_window
        context = ContextState.of(self.state)
        in_view, skipped = self._in_view(context)
        messages = self._prompt(context, in_view, skipped)
        size = self.counter.estimate(messages, SCHEMAS)
        if size > self.settings.summarize_share * window:
            if self._summarize(context, in_view):
                context = ContextState.of(self.state)
                in_view, skipped = self._in_view(context)
                messages = self._prompt(context, in_view, skipped)
                size = self.counter.estimate(messages, SCHEMAS)
            if size > window:
                raise LLMError(
                    f"the prompt of agent {self.state.name!r} needs about {size:,} tokens, more than its context window "
                    f"({window:,}) even after summarizing: shorten its core memory or use a model with a larger window"
                )
        elif size > self.settings.warning_share * window and not context.warned:
            self._record("system", None, "system_alert", reason=MEMORY_PRESSURE)
            self._save_context(replace(context, warned=True))
            in_view, skipped = self._in_view(context)
            messages = self._prompt(context, in_view, skipped)
        return messages

    def _summarize(self, context: ContextState, in_view: list[Message]) -> bool:
        """Summarize the oldest messages in view into the agent's state; whether any were."""
        cut = summary_cut(in_view)
        if cut == 0:
            return False
        text = transcript(in_view[:cut])
        if context.summary:
            text = f"Summary of the messages before these:\n{context.summary}\n\nThe messages:\n{text}"
        response = self.model.complete(
            [ChatMessage("system", SUMMARIZER_INSTRUCTIONS), ChatMessage("user", text)],
        )
        summary = (response.message.content or "").strip()
        if not summary:
            raise LLMError(f"the LLM returned an empty summary for agent {self.state.name!r}; try again")
        self._save_context(ContextState(since=in_view[cut].created_at, summary=summary, hidden=context.hidden + cut))
        if self._turn is not None:
            self._turn.summarized += cut
        return True

    def _save_context(self, context: ContextState) -> None:
        fresh = self.catalog.reload_agent(self.state)
        self.state = self.catalog.save_agent(context.applied_to(fresh))
        self.memory.agent = self.state

    # -- recall --------------------------------------------------------------------------------
    def _now(self) -> datetime:
        """Now, strictly after the last message this agent wrote: the conversation's order is its time order."""
        now = utcnow()
        if self._last_time is None:
            latest = self.memory.recall.date_search(limit=1, offset=max(0, self.memory.recall.date_count() - 1))
            self._last_time = latest[0].created_at if latest else None
        if self._last_time is not None and now <= self._last_time:
            now = self._last_time + timedelta(microseconds=1)
        self._last_time = now
        return now

    def _store(self, role: str, text: str, **fields: Any) -> Message:
        message = self.memory.append_message(role, text, created_at=self._now(), **fields)
        if self._view is not None:
            self._view[1].append(message)
        return message

    def _record(self, role: str, text: str | None, kind: str, reason: str = "") -> None:
        """Store a user message or a system event and report it."""
        if kind == "user_message":
            self._emit(kind, text or "", self._store(role, text or ""))
        else:
            self._emit(kind, reason, self._store(role, event(kind, reason, self._now())))

    def _emit(self, kind: str, text: str, stored: Message, **fields: Any) -> None:
        item = TurnMessage(kind, text, stored.id, stored.created_at, **fields)
        if self._turn is not None:
            self._turn.messages.append(item)
        if self.on_message is not None:
            self.on_message(item)

    def _turn_lock(self) -> Any:
        from memgpt.locks import process_lock
        from memgpt.names import folder_name
        from memgpt.paths import memgpt_home

        path = memgpt_home() / "locks" / f"agent-{folder_name(self.state.id)}.lock"
        return process_lock(path, f"agent {self.state.name!r}", "; it is answering another message: try again when it is done")


def _with_unique_call_ids(message: ChatMessage) -> ChatMessage:
    """``message`` with an id of its own for each call: servers that number every answer's calls alike (or leave
    ids out) would otherwise make one call's result answer another."""
    seen: set[str] = set()
    calls = []
    for call in message.tool_calls:
        if not call.id or call.id in seen:
            call = replace(call, id=f"call_{uuid.uuid4().hex[:16]}")
        seen.add(call.id)
        calls.append(call)
    return replace(message, tool_calls=tuple(calls))


def _arguments(raw: str) -> dict[str, Any] | None:
    """A call's arguments, or ``None`` when the model wrote no valid JSON object."""
    try:
        return parse_arguments(raw)
    except ValueError:
        return None


def _spoken(raw: str) -> str | None:
    """The message a ``send_message`` call's arguments hold, if they are valid."""
    message = (_arguments(raw) or {}).get("message")
    return message if isinstance(message, str) else None
