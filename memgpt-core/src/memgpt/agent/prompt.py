"""What the model reads: the system prompt, and the packaging of system events and function results.

The system prompt is rebuilt at every step from the agent's core memory and
the sizes of its archival and recall memory, so an edit shows at once. Events
the user did not write (a heartbeat, a warning, the summary of hidden
messages) reach the model as user-role JSON, as MemGPT sent them.
"""

from __future__ import annotations

import json
from datetime import datetime

from memgpt.agent.core_memory import CoreMemory
from memgpt.agent_memory import timestamp

INSTRUCTIONS = """\
You are a MemGPT agent: a conversational agent whose memory outlasts any single conversation.
You only speak to the user through the send_message function; anything else you write is your private inner \
monologue (keep it short: a sentence or two of reasoning). Stay in character as the persona below.

You think in steps. After the user's message you may call functions; a function called with \
request_heartbeat=true gives you another step right after its result, so you can chain calls \
(search, then answer). Without it, control returns to the user after the function runs.

Your memory:
- Core memory (below) is always in view: your persona and what you know about the human. Keep it current \
with core_memory_append and core_memory_replace; each block has a character limit.
- Recall memory holds the whole conversation, including messages no longer in view. Search it with \
conversation_search and conversation_search_date.
- Archival memory is your unlimited long-term store, and includes documents attached to you. Write to it with \
archival_memory_insert and search it by meaning with archival_memory_search.
When the conversation grows long, older messages leave your view (a summary stays); save what matters first."""


def system_prompt(core: CoreMemory, archival_count: int, recall_count: int, now: datetime) -> str:
    """The system message for one step."""
    return (
        f"{INSTRUCTIONS}\n\n"
        f"### Memory [last modified: {timestamp(now)}]\n"
        f"{recall_count} previous messages between you and the user are stored in recall memory "
        "(use functions to access them)\n"
        f"{archival_count} total memories you created are stored in archival memory (use functions to access them)\n\n"
        "Core memory shown below (limited in size, additional information stored in archival / recall memory):\n"
        f"{core.render()}"
    )


def event(kind: str, text: str, now: datetime) -> str:
    """A system event as the model reads it: ``heartbeat`` (with its reason) or ``system_alert``."""
    key = "reason" if kind == "heartbeat" else "message"
    return json.dumps({"type": kind, key: text, "time": timestamp(now)}, ensure_ascii=False)


def function_result(ok: bool, message: str | None, now: datetime) -> str:
    """A function's result as the model reads it."""
    return json.dumps({"status": "OK" if ok else "Failed", "message": message, "time": timestamp(now)}, ensure_ascii=False)


HEARTBEAT_REQUESTED = (
    "[This is an automated system message hidden from the user] Function called using request_heartbeat=true, returning control"
)
HEARTBEAT_AFTER_FAILURE = "[This is an automated system message hidden from the user] Function call failed, returning control"
MEMORY_PRESSURE = (
    "Warning: the conversation history will soon reach its maximum length and be trimmed. "
    "Make sure to save any important information from the conversation to your memories before it is removed."
)


def summary_alert(summary: str, hidden: int, total: int) -> str:
    """The text that stands in for the messages summarized out of the prompt."""
    return (
        f"Note: prior messages ({hidden} of {total} total messages) have been hidden from view due to conversation "
        f"memory constraints.\nThe following is a summary of the previous {hidden} messages:\n{summary}"
    )


SUMMARIZER_INSTRUCTIONS = """\
Your job is to summarize a history of previous messages in a conversation between an AI persona and a human.
The conversation you are given is from a fixed context window and may not be complete.
Messages sent by the AI are marked with the 'assistant' role; the AI may also call functions, whose results are \
marked 'tool'. Things the AI says in its inner monologue are not seen by the user.
Summarize what happened from the AI's point of view, in the first person, keeping names, facts, dates, \
decisions and open questions. Keep the summary under 150 words. Reply with the summary only."""
