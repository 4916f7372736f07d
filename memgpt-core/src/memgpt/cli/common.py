"""What the memory commands share: opening the client, and --agent / --json options."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

agent_option = click.option("--agent", "-a", "agent", required=True, help="The agent's name.")
source_option = click.option("--data-source", "-s", "source", required=True, help="The data source's name.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def open_client() -> Any:
    """A :class:`~memgpt.client.MemGPTClient` on the configuration file (imported lazily)."""
    from memgpt.client import MemGPTClient

    return MemGPTClient()


def with_client(func: Callable[..., Any]) -> Callable[..., Any]:
    """Pass an opened client as the first argument and close it afterwards."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with open_client() as client:
            return func(client, *args, **kwargs)

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def excerpt(text: str, width: int = 100, query: str | None = None) -> str:
    """``text`` on one line, cut to ``width``; around the query's rarest-looking word when one occurs."""
    flat = " ".join(text.split())
    if len(flat) <= width:
        return flat
    start = 0
    if query:
        words = sorted({w for w in re.findall(r"\w+", query.casefold()) if len(w) > 3}, key=len, reverse=True)
        lowered = flat.casefold()
        hits = [lowered.find(w) for w in words if w in lowered]
        if hits:
            start = max(0, min(hits[0] - width // 4, len(flat) - width))
    piece = flat[start : start + width - 2 * (start > 0)]
    return ("…" if start > 0 else "") + piece[: width - 1 - (start > 0)] + "…"
