"""Keeping secrets out of what memgpt prints, logs and raises.

Backends pass every message that may echo a connection string or a driver
error through :func:`scrub` before raising it, and display locations with
:func:`mask_uri`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

MASK = "****"

# scheme://user:password@host  -> the password part
_USERINFO_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<pw>[^@\s]*)(?P<at>@)")
# key=value secrets in query strings and DSNs: password=..., api_key=..., token=...
_KEY_VALUE_SECRET = re.compile(
    r"(?P<key>\b(?:password|passwd|pwd|api[_-]?key|apikey|token|secret)\s*[=:]\s*)(?P<value>[^&\s;,'\"]+)",
    re.IGNORECASE,
)


def mask(value: str | None) -> str:
    """Replace a whole secret value by ``****`` (empty stays empty)."""
    return MASK if value else ""


def mask_uri(uri: str) -> str:
    """Hide the password and secret query parameters of a URI.

    >>> mask_uri("postgresql+pg8000://memgpt:hunter2@localhost:8888/memgpt")
    'postgresql+pg8000://memgpt:****@localhost:8888/memgpt'
    """
    text = _USERINFO_PASSWORD.sub(lambda m: m["head"] + (MASK if m["pw"] else "") + m["at"], uri)
    return _KEY_VALUE_SECRET.sub(lambda m: m["key"] + MASK, text)


def uri_password(uri: str) -> str | None:
    """The password in ``scheme://user:password@host/...``, if any."""
    try:
        return urlsplit(uri).password
    except ValueError:
        match = _USERINFO_PASSWORD.search(uri)
        return match["pw"] if match else None


def scrub(message: str, secrets: Iterable[str | None] = ()) -> str:
    """Remove known secret values and URI passwords from a message.

    Use it on driver error text before re-raising: drivers sometimes echo the
    connection string, and a password must never reach the terminal or a log.
    """
    text = mask_uri(str(message))
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, MASK)
    return text
