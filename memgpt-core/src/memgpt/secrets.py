"""Keeping secrets out of what memgpt prints, logs and raises.

Backends pass every message that may echo a connection string or a driver
error through :func:`scrub` before raising it, and display locations with
:func:`mask_uri`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

MASK = "****"

SECRET_PARAMETERS = (
    "password",
    "passwd",
    "pwd",
    "api_key",
    "api-key",
    "apikey",
    "key",
    "token",
    "access_token",
    "auth",
    "secret",
    "sig",
    "signature",
)
"""Query parameters (and ``key=value`` pairs of DSNs) whose values are credentials."""

# scheme://USERINFO@ -- userinfo runs to the last "@" of the word, so a password holding an unencoded "@" is covered
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^\s]*)@")
# key=value secrets in query strings and DSNs: password=..., api_key=..., token=...
_KEY_VALUE_SECRET = re.compile(
    r"(?P<key>(?<![A-Za-z0-9_-])(?:" + "|".join(re.escape(p) for p in SECRET_PARAMETERS) + r")\s*[=:]\s*)(?P<value>[^&\s;,'\"]+)",
    re.IGNORECASE,
)


def mask(value: str | None) -> str:
    """Replace a whole secret value by ``****`` (empty stays empty)."""
    return MASK if value else ""


def _masked_userinfo(match: re.Match[str]) -> str:
    userinfo = match["userinfo"]
    user, colon, _ = userinfo.partition(":")
    if colon and "@" not in user and "/" not in user:
        return f"{match['head']}{user}:{MASK}@"  # user:password -> the user stays readable
    return f"{match['head']}{MASK}@"  # a bare token (or something unparseable): all of it


def mask_uri(uri: str) -> str:
    """Hide the credentials of a URI: its userinfo's password (or a bare token) and secret query parameters.

    >>> mask_uri("postgresql+pg8000://memgpt:hunter2@localhost:8888/memgpt")
    'postgresql+pg8000://memgpt:****@localhost:8888/memgpt'
    >>> mask_uri("postgresql://memgpt:p@ss@localhost/db")
    'postgresql://memgpt:****@localhost/db'
    """
    text = _USERINFO.sub(_masked_userinfo, uri)
    return _KEY_VALUE_SECRET.sub(lambda m: m["key"] + MASK, text)


def mask_values(value: Any) -> Any:
    """``value`` with :func:`mask_uri` applied to every string inside it (dicts, lists, tuples): for printing records."""
    if isinstance(value, str):
        return mask_uri(value) if ("://" in value or "=" in value) else value
    if isinstance(value, dict):
        return {k: mask_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_values(v) for v in value]
    return value


def strip_credentials(url: str) -> str:
    """``url`` without credentials: no userinfo and no secret query parameters. What records keep of an endpoint.

    >>> strip_credentials("https://me:sk-123@api.example.com/v1?api_key=sk-123&region=eu")
    'https://api.example.com/v1?region=eu'
    """
    if not isinstance(url, str) or "://" not in url:
        return url
    text = _USERINFO.sub(lambda m: m["head"], url, count=1)
    head, question, query = text.partition("?")
    if not question:
        return text
    fragment = ""
    if "#" in query:
        query, fragment = query.split("#", 1)
        fragment = "#" + fragment
    secret = {p.lower() for p in SECRET_PARAMETERS}
    kept = [part for part in query.split("&") if part and part.split("=", 1)[0].strip().lower() not in secret]
    return head + ("?" + "&".join(kept) if kept else "") + fragment


def without_credentials(config: Mapping[str, Any]) -> dict[str, Any]:
    """A configuration dict (an agent's LLM or embedding config) whose URL values carry no credentials."""
    return {k: strip_credentials(v) if isinstance(v, str) else v for k, v in config.items()}


def uri_password(uri: str) -> str | None:
    """The password in ``scheme://user:password@host/...``, if any."""
    try:
        return urlsplit(uri).password
    except ValueError:
        match = _USERINFO.search(uri)
        return match["userinfo"].partition(":")[2] or None if match else None


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
