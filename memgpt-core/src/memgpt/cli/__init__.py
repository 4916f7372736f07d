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


from memgpt.cli import backends_cmd, configure_cmd, storage_cmd  # noqa: E402

main.add_command(backends_cmd.backends_command)
main.add_command(backends_cmd.plugins_command)
main.add_command(configure_cmd.configure_command)
main.add_command(storage_cmd.storage_group)
