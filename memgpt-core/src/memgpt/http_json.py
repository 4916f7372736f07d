"""POSTing JSON to OpenAI-compatible HTTP APIs, with the retries both the embedding and the chat clients need.

HTTP 429 and 5xx answers and dropped connections are retried with
exponential backoff (honouring ``Retry-After``); any other HTTP error is
:class:`HTTPRefusal` at once; a server that never answers is :class:`HTTPGaveUp`.
Callers turn both into their own one-line errors.
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class HTTPRefusal(Exception):
    """The server answered with an HTTP error that retrying does not fix (4xx but 429)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}{detail}")
        self.status = status
        self.detail = detail
        """``": <the server's message>"`` or ``""``."""


class HTTPGaveUp(Exception):
    """Every attempt failed (busy server, dropped connection), or nothing listens at the address."""

    def __init__(self, last: str, attempts: int, refused: bool) -> None:
        super().__init__(last)
        self.last = last
        self.attempts = attempts
        self.refused = refused
        """True when nothing listened at the address (the connection was refused at once)."""


@dataclass
class Retries:
    attempts: int = 6
    backoff_seconds: float = 0.5
    max_backoff_seconds: float = 20.0

    def wait(self, attempt: int, retry_after: str | None) -> None:
        delay = self.backoff_seconds * (2**attempt) * (1 + random.random() / 4)
        if retry_after:
            try:
                delay = max(delay, float(retry_after))
            except ValueError:
                pass
        time.sleep(min(delay, self.max_backoff_seconds))


def post_json(
    url: str,
    body: Mapping[str, Any],
    key: str | None,
    timeout: float,
    retries: Retries,
    give_up_when_refused: bool = False,
) -> dict[str, Any]:
    """The JSON answer to ``body`` posted at ``url`` (``Authorization: Bearer key`` when there is a key)."""
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode()
    last = ""
    for attempt in range(retries.attempts):
        try:
            request = urllib.request.Request(url, data=data, headers=headers, method="POST")
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            detail = _detail(exc)
            if exc.code != 429 and exc.code < 500:
                raise HTTPRefusal(exc.code, detail) from None
            last = f"HTTP {exc.code}{detail}"
            retries.wait(attempt, exc.headers.get("Retry-After") if exc.headers else None)
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            last = str(getattr(exc, "reason", exc))
            if give_up_when_refused and attempt == 0 and "refused" in last.lower():
                raise HTTPGaveUp(last, 1, refused=True) from None
            retries.wait(attempt, None)
    raise HTTPGaveUp(last, retries.attempts, refused=False)


def _detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace") or "{}")
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
    except (ValueError, AttributeError, OSError):
        message = None
    return f": {str(message)[:200]}" if message else ""
