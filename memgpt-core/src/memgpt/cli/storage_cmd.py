"""``memgpt storage status``."""

from __future__ import annotations

import click

from memgpt.cli.output import echo_json, echo_table


@click.group("storage")
def storage_group() -> None:
    """Inspect the configured storage."""


@storage_group.command("status")
@click.option("--all-users", is_flag=True, help="Count every user's records, not only yours.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status_command(all_users: bool, as_json: bool) -> None:
    """Show what is configured, whether it answers, how many of your records each table holds, and any damage found.

    Exits 1 when a location does not answer, a table cannot be read or
    searched, or a file or collection is damaged.
    """
    from memgpt.config import MemGPTConfig
    from memgpt.storage_status import storage_status

    config = MemGPTConfig.load()
    report = storage_status(config, all_users=all_users)
    if as_json:
        echo_json(report)
        if not report["ok"]:
            raise SystemExit(1)
        return
    click.echo(f"config: {report['config']}" + ("" if report["config_exists"] else " (not written yet: run memgpt configure)"))
    for location in report["locations"]:
        state = "ok" if location["ok"] else f"ERROR: {location['message']}"
        click.echo(f"{location['role']}: {location['backend']} at {location['location']} ({state})")
    rows = [[t["table"], t["role"], t["backend"], t["count"] if t["count"] is not None else "-"] for t in report["tables"]]
    click.echo(f"records of: {report['user'] or 'every user'}")
    echo_table(["table", "role", "backend", "records"], rows)
    for table in report["tables"]:
        if table["error"]:
            click.echo(f"ERROR in {table['table']}: {table['error']}")
    for problem in report["problems"]:
        click.echo(f"DAMAGED: {problem}")
    for line in report["advice"]:
        click.echo(f"advice: {line}")
    if not report["ok"]:
        raise SystemExit(1)
