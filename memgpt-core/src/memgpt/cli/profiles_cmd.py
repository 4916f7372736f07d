"""``memgpt add|list|delete`` personas and humans: the texts an agent's core memory starts from."""

from __future__ import annotations

from pathlib import Path

import click

from memgpt.cli.common import confirm, json_option, name_argument, with_client, yes_option
from memgpt.cli.output import echo_json, echo_table
from memgpt.kinds import PROFILE_KINDS


@click.group("add")
def add_group() -> None:
    """Add a persona or a human."""


def _read_text(text: str | None, file: str | None, kind: str) -> str:
    """The text given with --text, or read from --file (``-`` for standard input): exactly one of them."""
    if (text is None) == (file is None):
        raise click.UsageError(f"give the {kind}'s text once: --text TEXT or -f FILE")
    if text is not None:
        return text
    try:  # a file's final newline is not part of the text
        read = click.get_text_stream("stdin").read() if file == "-" else Path(file).read_text(encoding="utf-8")  # type: ignore[arg-type]
    except UnicodeDecodeError:
        raise click.UsageError(f"{file} is not UTF-8 text") from None
    return read.rstrip("\r\n")


def _add_command(kind: str) -> click.Command:
    @name_argument(kind)
    @click.option("--text", help=f"The {kind}'s text.")
    @click.option(
        "-f",
        "--file",
        "file",
        type=click.Path(exists=True, dir_okay=False, allow_dash=True),
        help="Read the text from FILE (- for standard input).",
    )
    @click.option("--replace", is_flag=True, help=f"Change the text of an existing {kind} (agents made from it keep theirs).")
    @json_option
    @with_client
    def command(client, name, text, file, replace, as_json) -> None:
        profile = client.add_profile(kind, name, _read_text(text, file, kind), replace=replace)
        if as_json:
            echo_json(profile.to_dict())
            return
        click.echo(f"{'Changed' if replace else 'Added'} {kind} {name!r} ({len(profile.text):,} characters).")

    command.__doc__ = f"Keep a {kind} called NAME, for memgpt create agent --{kind} NAME."
    return click.command(kind)(command)


def _list_command(kind: str) -> click.Command:
    @click.option("--full", is_flag=True, help="Show whole texts, not their first line.")
    @json_option
    @with_client
    def command(client, full, as_json) -> None:
        entries = client.list_profiles(kind)
        if as_json:
            echo_json([e.to_dict() for e in entries])
            return
        echo_table(
            ["name", "origin", "text"],
            [[e.profile.name, "built in" if e.built_in else "yours", _preview(e.profile.text, full)] for e in entries],
        )

    command.__doc__ = f"Every {kind} you can start an agent with: built-in ones and yours."
    return click.command(f"{kind}s")(command)


def _delete_command(kind: str) -> click.Command:
    @name_argument(kind)
    @yes_option
    @json_option
    @with_client
    def command(client, name, yes, as_json) -> None:
        confirm(f"Delete {kind} {name!r}? Agents made from it keep their own copy.", yes)
        built_in_back = client.delete_profile(kind, name)
        if as_json:
            echo_json({"kind": kind, "name": name, "deleted": True, "built_in_remains": built_in_back})
            return
        again = f"; the built-in {kind} of that name is used again" if built_in_back else ""
        click.echo(f"Deleted {kind} {name!r}{again}.")

    command.__doc__ = f"Delete your {kind} NAME (agents made from it keep their copy)."
    return click.command(kind)(command)


def _preview(text: str, full: bool) -> str:
    if full:
        return text
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= 70 else first[:69] + "…"


ADD_COMMANDS = [_add_command(kind) for kind in PROFILE_KINDS]
LIST_COMMANDS = [_list_command(kind) for kind in PROFILE_KINDS]
DELETE_COMMANDS = [_delete_command(kind) for kind in PROFILE_KINDS]
for _command in ADD_COMMANDS:
    add_group.add_command(_command)
