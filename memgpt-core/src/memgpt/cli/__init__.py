"""The ``memgpt`` command line.

Importing this module imports click and nothing heavy: commands import what
they need when they run, so ``memgpt --help`` stays as fast as click itself.
"""

from __future__ import annotations

from typing import Any

import click

from memgpt._version import __version__


class MemGPTGroup(click.Group):
    """Turns :class:`~memgpt.errors.MemGPTError` into ``Error: <one line>`` and exit status 1."""

    def invoke(self, ctx: click.Context) -> Any:
        from memgpt.errors import MemGPTError

        try:
            return super().invoke(ctx)
        except MemGPTError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=MemGPTGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="memgpt")
def main() -> None:
    """pymemgpt: MemGPT's memory storage (archival, recall, data sources, agents).

    Storage backends are plugins: `memgpt backends` lists those installed,
    `memgpt configure` chooses where each kind of memory lives.
    """


@main.command()
def version() -> None:
    """Print the memgpt version."""
    click.echo(__version__)


from memgpt.cli import agents_cmd, backends_cmd, configure_cmd, load_cmd, memory_cmd, storage_cmd, transfer_cmd  # noqa: E402

for command in (
    configure_cmd.configure_command,
    load_cmd.load_group,
    agents_cmd.create_group,
    agents_cmd.list_group,
    agents_cmd.show_group,
    agents_cmd.delete_group,
    agents_cmd.attach_command,
    agents_cmd.detach_command,
    memory_cmd.archival_group,
    memory_cmd.recall_group,
    storage_cmd.storage_group,
    transfer_cmd.migrate_command,
    transfer_cmd.export_command,
    transfer_cmd.import_command,
    backends_cmd.backends_command,
    backends_cmd.plugins_command,
):
    main.add_command(command)
