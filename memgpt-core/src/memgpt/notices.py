"""Notices: one line of our own, once per process, about something worth knowing (not an error).

Libraries warn in their own words, at their own times (qdrant-client's local
mode warns on every command past 20,000 points, in the middle of a progress
bar). memgpt silences library warnings on the command line and says what
matters instead, through here: code that notices something calls
:func:`notice`; the ``memgpt`` command prints each notice once, on stderr,
when the command is done (``Note: ...``).
"""

from __future__ import annotations

import threading

_LOCK = threading.Lock()
_PENDING: dict[str, str] = {}
_SAID: set[str] = set()


def notice(key: str, message: str) -> None:
    """Say ``message`` once per process (a later notice with the same ``key`` is dropped)."""
    with _LOCK:
        if key not in _SAID:
            _SAID.add(key)
            _PENDING[key] = " ".join(message.split())


def take() -> list[str]:
    """The notices not shown yet, in the order they came (and forget them)."""
    with _LOCK:
        messages = list(_PENDING.values())
        _PENDING.clear()
    return messages
