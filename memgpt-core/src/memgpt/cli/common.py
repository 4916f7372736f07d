"""What the memory commands share: opening the client, and --agent / --json options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

agent_option = click.option("--agent", "-a", "agent", required=True, help="The agent's name.")
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


def excerpt(text: str, width: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
