"""``memgpt configure``."""

from __future__ import annotations

import sys
from typing import Any

import click

_FLAGS = [
    ("--model-endpoint-type", "model_endpoint_type", str, "LLM inference provider."),
    ("--model-endpoint", "model_endpoint", str, "LLM endpoint URL."),
    ("--model", "model", str, "Default LLM model."),
    ("--context-window", "context_window", int, "The model's context window (tokens)."),
    ("--embedding-provider", "embedding_endpoint_type", str, "Embedding provider."),
    ("--embedding-endpoint", "embedding_endpoint", str, "Embedding endpoint URL."),
    ("--embedding-model", "embedding_model", str, "Embedding model."),
    ("--embedding-dim", "embedding_dim", int, "Embedding dimension."),
    ("--embedding-chunk-size", "embedding_chunk_size", int, "Chunk size for loaded documents, in tokens."),
    ("--preset", "preset", str, "Default preset."),
    ("--persona", "persona", str, "Default persona."),
    ("--human", "human", str, "Default human."),
    ("--archival-storage", "archival_storage", str, "Backend for archival memory and data sources."),
    ("--archival-uri", "archival_uri", str, "Location of archival storage as one URI (see `memgpt backends`)."),
    ("--recall-storage", "recall_storage", str, "Backend for recall memory (conversation history)."),
    ("--recall-uri", "recall_uri", str, "Location of recall storage as one URI."),
    (
        "--user-id",
        "user_id",
        str,
        "Whose memories this home reads and writes (default: an id stable for this MEMGPT_HOME). "
        "People sharing one database each need their own.",
    ),
]


def _options(func: Any) -> Any:
    for flag, dest, type_, help_ in reversed(_FLAGS):
        func = click.option(flag, dest, type=type_, default=None, help=help_)(func)
    return func


@click.command("configure")
@click.option(
    "--defaults", is_flag=True, help="Do not ask: take the current (or built-in) answer to every question not given as a flag."
)
@click.option(
    "--choices",
    is_flag=True,
    help="Print, as JSON, every choice configure offers (installed backends and their questions, providers); change nothing.",
)
@_options
@click.option("--json", "as_json", is_flag=True, help="Print the saved configuration as JSON (secrets masked).")
def configure_command(defaults: bool, choices: bool, as_json: bool, **flags: Any) -> None:
    """Choose the LLM, embeddings and where each kind of memory is stored.

    Asks on the terminal, like the original MemGPT. With --defaults it asks
    nothing: flags answer their questions and the rest keep their current or
    default answers. Only installed backends are offered.
    """
    from memgpt.config import STORAGE_ROLES, MemGPTConfig
    from memgpt.configure_questions import (
        DefaultsAsker,
        TerminalAsker,
        describe_storage,
        key_notes,
        run_configure,
        validate_flags,
    )
    from memgpt.errors import ConfigError

    if choices:
        from memgpt.cli.output import echo_json
        from memgpt.configure_questions import configure_choices

        echo_json(configure_choices())
        return
    existing = MemGPTConfig.exists()
    try:
        current = MemGPTConfig.load()
    except ConfigError as exc:  # a damaged file: configure is how to mend it, so it must still run
        current, backup = MemGPTConfig.recover()
        kept = f"; the damaged file is kept as {backup}" if backup else ""
        click.secho(f"Warning: {exc}; starting from what could be read of it{kept}", fg="yellow", err=True)
    validate_flags(flags, current)
    if defaults:
        asker: Any = DefaultsAsker()
    elif sys.stdin.isatty():
        asker = TerminalAsker()
    else:
        raise click.ClickException(
            "memgpt configure asks its questions on a terminal; pass --defaults (and flags) to configure without one"
        )
    outcome = run_configure(current, existing, flags, asker)
    path = outcome.config.save()
    for warning in outcome.warnings:
        click.secho(f"Warning: {warning}", fg="yellow", err=True)
    config = outcome.config
    if as_json:
        from memgpt.cli.output import echo_json
        from memgpt.secrets import mask_uri

        echo_json(
            {
                "config": str(path),
                "user_id": config.user_id,
                "llm": {**config.llm(), "model_endpoint": mask_uri(config.model_endpoint)},
                "embedding": {**config.embedding().to_dict(), "endpoint": mask_uri(config.embedding_endpoint)},
                "archival_storage": describe_storage(config, "archival"),
                "recall_storage": describe_storage(config, "recall"),
                "notes": key_notes(config),
                "warnings": outcome.warnings,
            }
        )
        return
    click.echo(f"Saved config to {path}")
    click.echo(f"  LLM: {config.model_endpoint_type} {config.model} ({config.context_window} tokens)")
    click.echo(f"  embeddings: {config.embedding()}")
    for note in key_notes(config):
        click.echo(f"  {note}")
    for role in STORAGE_ROLES:
        click.echo(f"  {role} storage: {describe_storage(config, role)}")
