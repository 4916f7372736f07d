"""``memgpt backends`` and ``memgpt plugins``."""

from __future__ import annotations

import click

from memgpt.cli.output import echo_json, echo_table


@click.command("backends")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def backends_command(as_json: bool) -> None:
    """List the installed storage backends, the record kinds each can hold and the URI forms each takes; and the embedding providers.

    With --json: one object per backend (name, label, distribution, version,
    kinds, roles, uri, questions). `memgpt configure --choices` gives every
    choice of `memgpt configure`, embedding and LLM providers included.
    """
    from memgpt.configure_questions import backend_entries
    from memgpt.embeddings.installed import preferred_provider
    from memgpt.plugins import embedding_providers

    rows = backend_entries()
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["name", "distribution", "version", "record kinds", "description"],
        [[r["name"], r["distribution"], r["version"], ", ".join(r["kinds"]), r["label"]] for r in rows],
    )
    click.echo("\nWhere each one is, as --archival-uri / --recall-uri (memgpt configure) take it:")
    for row in rows:
        click.echo(f"  {row['name']}: {row['uri'] or '(no settings)'}")
    click.echo("\nEmbedding providers (memgpt configure --embedding-provider NAME):")
    for name, info in embedding_providers().items():
        first = " (the default of a new home)" if name == preferred_provider().name else ""
        click.echo(f"  {name}{first}: {info.item.label}")


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def plugins_command(as_json: bool) -> None:
    """List loaded plugins, their distributions and hooks, and plugins that failed to load."""
    from memgpt.plugins import plugins

    rows = [
        {"name": p.name, "distribution": p.distribution, "version": p.version, "hooks": p.hooks, "error": p.error}
        for p in plugins()
    ]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["plugin", "distribution", "version", "hooks / error"],
        [[r["name"], r["distribution"], r["version"], r["error"] or ", ".join(r["hooks"])] for r in rows],
    )
