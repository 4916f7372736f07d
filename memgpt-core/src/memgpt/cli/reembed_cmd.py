"""``memgpt reembed source|agent NAME``: move one data source or agent to the configured embedding model."""

from __future__ import annotations

from typing import Any

import click

from memgpt.cli.common import json_option, name_argument, with_client
from memgpt.cli.output import echo_json, plural


@click.group("reembed")
def reembed_group() -> None:
    """Embed one data source or agent again with the configured embedding model.

    After `memgpt configure` changes the model, sources and agents keep the one
    they were made with (and keep working while it is installed); this moves one
    of them to the configured model. Safe to interrupt and run again.
    """


def _say(report: Any) -> None:
    what = "data source" if report.kind == "source" else "agent"
    if report.unchanged and not report.removed:
        click.echo(f"The {what} {report.name!r} is already embedded with {report.after}: nothing to do.")
        return
    if report.unchanged:
        click.echo(
            f"The {what} {report.name!r} was already switched to {report.after}; removed {plural(report.removed, 'old passage')}."
        )
        return
    click.echo(
        f"Re-embedded {plural(report.passages, 'passage')} of {what} {report.name!r} with {report.after} "
        f"(it was {report.before}); removed {plural(report.removed, 'old passage')}."
    )


def _reembed_command(kind: str, what: str, doc: str) -> None:
    """``memgpt reembed KIND NAME``: one command per kind, the same options and output."""

    def command(client: Any, name: str, as_json: bool) -> None:
        from memgpt import reembed

        run = reembed.reembed_source if kind == "source" else reembed.reembed_agent
        report = run(client.catalog, name, client.embedding)
        echo_json(report.to_dict()) if as_json else _say(report)

    command.__doc__ = doc
    reembed_group.command(kind)(name_argument(what)(json_option(with_client(command))))


_reembed_command(
    "source",
    "data source",
    "Embed every passage of data source NAME again with the configured model, and switch it to that model.",
)
_reembed_command(
    "agent", "agent", "Embed agent NAME's archival memory again with the configured model, and switch the agent to it."
)
