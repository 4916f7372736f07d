"""``memgpt storage status``."""

from __future__ import annotations

import click

from memgpt.cli.output import echo_json, echo_table


@click.group("storage")
def storage_group() -> None:
    """Inspect the configured storage."""


@storage_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def status_command(as_json: bool) -> None:
    """Show what is configured, whether it answers, and how many records each table holds."""
    from memgpt.config import MemGPTConfig
    from memgpt.config_status import storage_status

    config = MemGPTConfig.load()
    report = storage_status(config)
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
    echo_table(["table", "role", "backend", "records"], rows)
    for table in report["tables"]:
        if table["error"]:
            click.echo(f"ERROR in {table['table']}: {table['error']}")
    for problem in report["problems"]:
        click.echo(f"DAMAGED: {problem}")
    if not report["ok"]:
        raise SystemExit(1)
