"""The ``memgpt`` command line.

Importing this module imports click and nothing heavy: commands import what
they need when they run, so ``memgpt --help`` stays as fast as click itself.
"""

from __future__ import annotations

from typing import Any

import click

from memgpt._version import __version__

DEBUG_VARIABLE = "MEMGPT_DEBUG"
"""Set it (``MEMGPT_DEBUG=1``) to see the traceback of an unexpected error instead of its one-line summary."""


class MemGPTGroup(click.Group):
    """Every failure ends as ``Error: <one line>`` (secrets masked) and a non-zero exit, never a traceback.

    :class:`~memgpt.errors.MemGPTError` says what went wrong and what to do;
    an operating-system error (a full disk, a read-only folder) says which; an
    argument that is not valid UTF-8 is refused before anything runs; anything
    else is a bug, summed up in one line that says how to see its traceback
    (``MEMGPT_DEBUG=1``).
    """

    plugin_commands_added = False

    def add_plugin_commands(self) -> None:
        """The commands plugins register (``register_commands``), added once: this loads the plugins, so it
        happens only for a name that is not built in and for listings (``--help``)."""
        if not self.plugin_commands_added:
            self.plugin_commands_added = True
            from memgpt.plugins import add_commands

            add_commands(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and not self.plugin_commands_added:
            self.add_plugin_commands()
            command = super().get_command(ctx, cmd_name)
        return command

    def list_commands(self, ctx: click.Context) -> list[str]:
        self.add_plugin_commands()
        return super().list_commands(ctx)

    def main(
        self, args: Any = None, prog_name: Any = None, complete_var: Any = None, standalone_mode: bool = True, **extra: Any
    ) -> Any:
        import sys

        arguments = list(sys.argv[1:] if args is None else args)
        for number, argument in enumerate(arguments, start=1):
            if isinstance(argument, str) and _has_surrogates(argument):
                click.echo(f"Error: argument {number} is not valid UTF-8 text; pass text in UTF-8", err=True)
                sys.exit(2)
        import os
        import warnings

        if not os.environ.get(DEBUG_VARIABLE):  # a library's Python warnings are not the user's business
            warnings.simplefilter("ignore")
        if not standalone_mode:
            return super().main(arguments, prog_name, complete_var, standalone_mode, **extra)
        as_json = "--json" in arguments and "--" not in arguments[: arguments.index("--json")]
        import atexit

        atexit.register(_show_notices)
        try:
            result = super().main(arguments, prog_name, complete_var, False, **extra)
        except click.exceptions.UsageError as exc:  # one line, with where to look, instead of click's usage block
            command = exc.ctx.command_path if exc.ctx is not None else "memgpt"
            _fail(f"{exc.format_message()} (see: {command} --help)", exc.exit_code, as_json, "usage")
        except click.ClickException as exc:
            _fail(exc.format_message(), exc.exit_code, as_json, "error")
        except (click.exceptions.Abort, EOFError, KeyboardInterrupt):
            _fail("interrupted", 130, as_json, "interrupted", "Interrupted.")
        sys.exit(result if isinstance(result, int) else 0)

    def invoke(self, ctx: click.Context) -> Any:
        import os

        from memgpt.errors import MemGPTError
        from memgpt.secrets import scrub

        try:
            return super().invoke(ctx)
        except MemGPTError as exc:
            raise click.ClickException(scrub(str(exc))) from None
        except (click.exceptions.ClickException, click.exceptions.Abort, click.exceptions.Exit):
            raise
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            raise click.exceptions.Exit(130) from None
        except BrokenPipeError:  # the reader of our output went away (`memgpt ... | head`): nothing left to say
            raise click.exceptions.Exit(0) from None
        except Exception as exc:
            if os.environ.get(DEBUG_VARIABLE):
                raise
            raise click.ClickException(_unexpected(exc)) from None


def _show_notices() -> None:
    """Each notice of this run (:mod:`memgpt.notices`), once, on stderr, after the command's own output."""
    from memgpt.notices import take

    for message in take():
        click.secho(f"Note: {message}", fg="cyan", err=True)


def _fail(message: str, code: int, as_json: bool, kind: str, plain: str | None = None) -> None:
    """End the command: ``Error: <message>`` on stderr, or with ``--json`` a JSON object on stdout; exit ``code``."""
    import json
    import sys

    if as_json:
        click.echo(json.dumps({"error": {"message": message, "kind": kind, "exit_code": code}}, ensure_ascii=False))
    else:
        click.echo(plain or f"Error: {message}", err=True)
    sys.exit(code)


def _has_surrogates(text: str) -> bool:
    """Whether ``text`` holds bytes that were not UTF-8 (Python keeps them as lone surrogates)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _unexpected(exc: Exception) -> str:
    """One line for an error memgpt did not foresee: an OS error's meaning, or a bug's summary and how to see more."""
    from memgpt.files import describe_os_error
    from memgpt.secrets import scrub

    if isinstance(exc, OSError) and exc.errno is not None:
        where = f" ({exc.filename})" if exc.filename else ""
        return scrub(f"{describe_os_error(exc)}{where}")
    message = scrub(" ".join(str(exc).split()))[:300]
    return (
        f"unexpected {type(exc).__name__}: {message or 'no message'}; this is a bug in memgpt or a plugin: "
        f"run again with {DEBUG_VARIABLE}=1 to see the traceback, and report it"
    )


@click.group(cls=MemGPTGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="memgpt")
def main() -> None:
    """pymemgpt: MemGPT's memory storage (archival, recall, data sources, agents).

    Storage backends are plugins: `memgpt backends` lists those installed,
    `memgpt configure` chooses where each kind of memory lives.
    """


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def version(as_json: bool) -> None:
    """Print the memgpt version."""
    if as_json:
        import json

        click.echo(json.dumps({"version": __version__}))
    else:
        click.echo(__version__)


from memgpt.cli import (  # noqa: E402
    agents_cmd,
    backends_cmd,
    chat_cmd,
    configure_cmd,
    load_cmd,
    memory_cmd,
    profiles_cmd,
    reembed_cmd,
    storage_cmd,
    transfer_cmd,
)

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
    reembed_cmd.reembed_group,
    transfer_cmd.migrate_command,
    transfer_cmd.export_command,
    transfer_cmd.import_command,
    backends_cmd.backends_command,
    backends_cmd.plugins_command,
    profiles_cmd.add_group,
    chat_cmd.run_command,
    chat_cmd.send_command,
):
    main.add_command(command)
for command in profiles_cmd.LIST_COMMANDS:
    agents_cmd.list_group.add_command(command)
for command in profiles_cmd.DELETE_COMMANDS:
    agents_cmd.delete_group.add_command(command)
