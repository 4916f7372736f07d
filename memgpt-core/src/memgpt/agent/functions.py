"""The functions a MemGPT agent calls, as tools: their JSON schemas and how a call runs.

The seven functions are MemGPT's, with its arguments and paging:
``send_message``, ``core_memory_append``, ``core_memory_replace``,
``archival_memory_insert``, ``archival_memory_search``,
``conversation_search`` and ``conversation_search_date``. Every function but
``send_message`` takes ``request_heartbeat``: true asks for another step
after the result, so the agent can chain calls.

A call the model got wrong (unknown function, arguments that are not JSON or
do not fit, a core-memory edit over the limit, a bad date) is not an error of
the program: its message goes back to the model as the function's result.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from memgpt.agent.core_memory import CoreMemoryError
from memgpt.agent_memory import InvalidArgument
from memgpt.errors import InvalidRecord, NotFound

HEARTBEAT = "request_heartbeat"
SEND_MESSAGE = "send_message"

_HEARTBEAT_PROPERTY = {
    "type": "boolean",
    "description": "Request an immediate heartbeat after function execution. Set to true to call another function "
    "right after this one (chaining); false returns control to the user.",
}
_PAGE_PROPERTY = {
    "type": "integer",
    "description": "Which page of results to return (0 is the first; each page holds 5).",
}


def _schema(
    name: str, description: str, properties: dict[str, Any], required: list[str], heartbeat: bool = True
) -> dict[str, Any]:
    props = dict(properties)
    needed = list(required)
    if heartbeat:
        props[HEARTBEAT] = _HEARTBEAT_PROPERTY
        needed.append(HEARTBEAT)
    return {"name": name, "description": description, "parameters": {"type": "object", "properties": props, "required": needed}}


SCHEMAS: list[dict[str, Any]] = [
    _schema(
        SEND_MESSAGE,
        "Sends a message to the human user. This is the only way the user sees what you say.",
        {"message": {"type": "string", "description": "Message contents. All unicode (including emojis) are supported."}},
        ["message"],
        heartbeat=False,
    ),
    _schema(
        "core_memory_append",
        "Append to the contents of core memory (a new line at the end of the block).",
        {
            "name": {"type": "string", "enum": ["persona", "human"], "description": "Section of the memory to be edited."},
            "content": {"type": "string", "description": "Content to write to the memory."},
        },
        ["name", "content"],
    ),
    _schema(
        "core_memory_replace",
        "Replace the contents of core memory. To delete memories, use an empty string for new_content.",
        {
            "name": {"type": "string", "enum": ["persona", "human"], "description": "Section of the memory to be edited."},
            "old_content": {"type": "string", "description": "String to replace. Must be an exact match."},
            "new_content": {"type": "string", "description": "Content to write to the memory."},
        },
        ["name", "old_content", "new_content"],
    ),
    _schema(
        "archival_memory_insert",
        "Add to archival memory. Make sure to phrase the memory contents such that it can be easily queried later.",
        {"content": {"type": "string", "description": "Content to write to the memory."}},
        ["content"],
    ),
    _schema(
        "archival_memory_search",
        "Search archival memory using semantic (embedding-based) search.",
        {"query": {"type": "string", "description": "String to search for."}, "page": _PAGE_PROPERTY},
        ["query"],
    ),
    _schema(
        "conversation_search",
        "Search prior conversation history using case-insensitive string matching.",
        {"query": {"type": "string", "description": "String to search for."}, "page": _PAGE_PROPERTY},
        ["query"],
    ),
    _schema(
        "conversation_search_date",
        "Search prior conversation history using a date range.",
        {
            "start_date": {"type": "string", "description": "The start of the date range to search, in the format 'YYYY-MM-DD'."},
            "end_date": {"type": "string", "description": "The end of the date range to search, in the format 'YYYY-MM-DD'."},
            "page": _PAGE_PROPERTY,
        },
        ["start_date", "end_date"],
    ),
]
"""The tools sent with every request, in OpenAI's function-schema format."""

FUNCTION_NAMES = tuple(schema["name"] for schema in SCHEMAS)

CALLER_ERRORS = (CoreMemoryError, InvalidArgument, InvalidRecord, NotFound, TypeError, ValueError)
"""What a function raises when the model called it wrongly: fed back to the model, not raised."""


@dataclass(frozen=True)
class CallResult:
    """What one function call returned, and whether the agent asked to go on."""

    name: str
    arguments: dict[str, Any]
    ok: bool
    result: str | None
    """The function's return value as text (``None`` when it returned nothing), or the error for the model."""
    heartbeat: bool
    """The model set ``request_heartbeat`` (a failed call always gets another step)."""


def parse_arguments(raw: str) -> dict[str, Any]:
    """The JSON object the model wrote as arguments; a :class:`ValueError` the model can act on otherwise."""
    try:
        parsed = json.loads(raw or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the arguments are not valid JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(parsed, dict):
        raise ValueError(f"the arguments must be a JSON object, got {type(parsed).__name__}")
    return parsed


def _wants_heartbeat(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


def call_function(functions: Mapping[str, Callable[..., Any]], name: str, raw_arguments: str) -> CallResult:
    """Run ``name`` with the model's ``raw_arguments``; errors of the call come back in the result."""
    arguments: dict[str, Any] = {}
    try:
        arguments = parse_arguments(raw_arguments)
        heartbeat = _wants_heartbeat(arguments.pop(HEARTBEAT, False))
        function = functions.get(name)
        if function is None:
            raise ValueError(f"no function named {name!r}; the functions are {', '.join(functions)}")
        _check_signature(function, name, arguments)
        value = function(**arguments)
    except CALLER_ERRORS as exc:
        return CallResult(name, arguments, False, f"Error calling function {name}: {exc}", True)
    return CallResult(name, arguments, True, None if value is None else str(value), heartbeat)


def _check_signature(function: Callable[..., Any], name: str, arguments: Mapping[str, Any]) -> None:
    """A :class:`TypeError` naming missing and unknown arguments, before anything runs."""
    parameters = inspect.signature(function).parameters
    unknown = [a for a in arguments if a not in parameters]
    missing = [p.name for p in parameters.values() if p.default is inspect.Parameter.empty and p.name not in arguments]
    if unknown or missing:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if unknown:
            parts.append(f"unknown {', '.join(unknown)}")
        raise TypeError(f"{name}() got wrong arguments ({'; '.join(parts)})")
