"""What the memory commands share: opening the client, and --agent / --json options."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import click

agent_option = click.option("--agent", "-a", "agent", required=True, help="The agent's name.")
source_option = click.option("--data-source", "-s", "source", required=True, help="The data source's name.")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts (errors too, with a non-zero exit).")
yes_option = click.option("--yes", "-y", "yes", is_flag=True, help="Do not ask for confirmation.")


def name_argument(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``NAME`` as an argument or as ``--name NAME`` (the one spelling every command accepts), passed as ``name``."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, name_arg: str | None = None, name_opt: str | None = None, **kwargs: Any) -> Any:
            if name_arg is not None and name_opt is not None and name_arg != name_opt:
                raise click.UsageError(f"give the {what}'s name once: {name_arg!r} or --name {name_opt!r}")
            name = name_opt if name_opt is not None else name_arg
            if name is None:
                raise click.UsageError(f"give the {what}'s name: NAME or --name NAME")
            return func(*args, name=name, **kwargs)

        wrapper.__name__ = func.__name__
        wrapper.__doc__ = func.__doc__
        wrapper.__click_params__ = list(getattr(func, "__click_params__", []))  # type: ignore[attr-defined]
        wrapper = click.option("--name", "name_opt", metavar="NAME", help=f"The {what}'s name (or give it as NAME).")(wrapper)
        return click.argument("name_arg", metavar="[NAME]", required=False)(wrapper)

    return decorate


def on_a_terminal() -> bool:
    """Whether someone is there to answer a question (standard input is a terminal)."""
    import sys

    return sys.stdin.isatty()


def confirm(question: str, yes: bool) -> None:
    """Ask ``question`` on a terminal (``--yes`` skips it); without a terminal there is nobody to ask."""
    if yes or not on_a_terminal():
        return
    if not click.confirm(question, default=False, err=True):
        raise click.ClickException("nothing was changed")


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
