"""``memgpt migrate``, ``memgpt export`` and ``memgpt import``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from memgpt.cli.output import echo_json, echo_table


class _Bars:
    """One progress bar per collection, on stderr when it is a terminal."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.bar: Any = None
        self.table: Any = None
        self.shown = 0

    def __call__(self, table: Any, done: int, total: int) -> None:
        if table is not self.table:
            self.close()
            self.table, self.shown = table, 0
            self.bar = click.progressbar(
                length=max(total, 1), label=f"{self.verb} {table.value}", file=sys.stderr, hidden=not sys.stderr.isatty()
            )
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _storage(name: str | None, uri: str | None, role: str) -> Any:
    from memgpt.config import StorageConfig
    from memgpt.configure_questions import check_storage_backend

    if name is None and uri is None:
        return None
    from memgpt.config import MemGPTConfig

    current = MemGPTConfig.load().storage(role)
    backend = check_storage_backend(role, name or current.type)
    return StorageConfig(backend.name, backend.settings_from_uri(uri or ""))


@click.command("migrate")
@click.option("--to-archival", help="Backend for archival memory and data sources after the move.")
@click.option("--to-archival-uri", help="Its location as one URI (see `memgpt backends`).")
@click.option("--to-recall", help="Backend for recall memory after the move.")
@click.option("--to-recall-uri", help="Its location as one URI.")
@click.option("--dry-run", is_flag=True, help="Only report what would move.")
@click.option("--switch", is_flag=True, help="Once the copy is verified, make the target the configured storage.")
@click.option("--re-embed", is_flag=True, help="Re-embed passages with the configured embedding model while copying.")
@click.option("--batch-size", type=click.IntRange(min=1, max=100_000), default=1_000, show_default=True)
@click.option("--all-users", is_flag=True, help="Move every user's memories (an administrator's move), not only yours.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def migrate_command(
    to_archival, to_archival_uri, to_recall, to_recall_uri, dry_run, switch, re_embed, batch_size, all_users, as_json
) -> None:
    """Copy your data sources, agents, archival and recall memory to other storage, and verify the copy.

    Ids, texts, metadata, times, scopes, embeddings and attachments are kept
    exactly; every collection is checked (count and content checksum) on both
    sides. The source is never modified. Only the configured user's memories
    move, unless --all-users. A migration that was interrupted (even killed)
    finishes when run again, copying whatever changed at the source
    meanwhile. With --switch the configuration then points at the target.
    """
    from memgpt.config import MemGPTConfig
    from memgpt.transfer.migrate import Migration, target_config

    archival = _storage(to_archival, to_archival_uri, "archival")
    recall = _storage(to_recall, to_recall_uri, "recall")
    if archival is None and recall is None:
        raise click.UsageError("say where to: --to-archival and/or --to-recall (with --to-...-uri for a location)")
    config = MemGPTConfig.load()
    target = target_config(config, archival, recall)
    user_id = None if all_users else config.user_id
    with Migration(config, target, reembed=re_embed, batch_size=batch_size, user_id=user_id) as migration:
        if dry_run:
            plan = migration.plan()
            if as_json:
                echo_json(plan)
            else:
                echo_table(
                    ["collection", "records", "from", "to", "in target"],
                    [
                        [
                            p["table"],
                            p["records"],
                            p["from"],
                            "(stays)" if p["stays"] else p["to"],
                            "-" if p["in_target"] is None else p["in_target"],
                        ]
                        for p in plan
                    ],
                )
                click.echo("Dry run: nothing was copied.")
            return
        bars = _Bars("Copying")
        try:
            report = migration.run(progress=bars)
        finally:
            bars.close()
    if switch:
        target.save(config.path)
        report.switched = True
    if as_json:
        echo_json(report.to_dict())
        return
    echo_table(
        ["collection", "records", "copied", "checksum", "verified"],
        [
            [r.unit.label, r.source.count, "stays" if r.stays else r.copied]
            + (["-", "-"] if r.stays else [r.source.hexdigest[:16], "identical"])
            for r in report.results
        ],
    )
    click.echo(
        "Migration verified: every collection is identical in the target."
        + (" The configuration now points at it." if switch else " Run again with --switch to use it.")
    )


@click.command("export")
@click.argument("path", type=click.Path(file_okay=False, path_type=Path))
@click.option("--all-users", is_flag=True, help="Export every user's memories (an administrator's backup), not only yours.")
@click.option("--json", "as_json", is_flag=True, help="Print the manifest as JSON.")
def export_command(path: Path, all_users: bool, as_json: bool) -> None:
    """Write your memories in the configured storage to PATH (a new folder): JSON Lines, numpy vectors, a manifest.

    The folder and its files are readable by you only.
    """
    from memgpt.config import MemGPTConfig
    from memgpt.storage.configured import open_storage
    from memgpt.transfer.archive import export_storage

    config = MemGPTConfig.load()
    bars = _Bars("Exporting")
    with open_storage(config) as storage:
        try:
            manifest = export_storage(storage, path, progress=bars, user_id=None if all_users else config.user_id)
        finally:
            bars.close()
    if as_json:
        echo_json(manifest)
        return
    echo_table(
        ["collection", "records", "embedding"],
        [
            [t, e["count"], f"{e['embedding']['model']} ({e['embedding']['dim']}-d)" if e["embedding"] else "-"]
            for t, e in manifest["tables"].items()
        ],
    )
    click.echo(f"Exported to {path} (format version {manifest['format_version']}).")


@click.command("import")
@click.argument("path", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--overwrite", is_flag=True, help="Replace records whose ids exist already (default: refuse and import nothing).")
@click.option(
    "--keep-user-ids",
    is_flag=True,
    help="Keep the exported user id, which must be yours. Default: the records become the configured user's.",
)
@click.option("--all-users", is_flag=True, help="Restore every user's records as they are (an administrator's restore).")
@click.option("--check", is_flag=True, help="Only verify the export's files against its manifest; import nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print what was imported (or checked) as JSON.")
def import_command(path: Path, overwrite: bool, keep_user_ids: bool, all_users: bool, check: bool, as_json: bool) -> None:
    """Load an export (from `memgpt export`) into the configured storage, and verify it.

    The archive is checked first (files against the manifest's checksums,
    embedding model, existing ids): when a check fails nothing is written.
    Only your records are written, compared or replaced unless --all-users.
    """
    from memgpt.config import MemGPTConfig
    from memgpt.storage.configured import open_storage
    from memgpt.transfer.archive import import_storage, verify_archive

    if check:
        manifest = verify_archive(path)
        total = sum(e["count"] for e in manifest["tables"].values())
        if as_json:
            echo_json(
                {"path": str(path), "checked": True, "records": total, "users": manifest["users"], "tables": manifest["tables"]}
            )
            return
        click.echo(f"{path}: {total} records of {len(manifest['users'])} user(s), every file matches its manifest.")
        return

    config = MemGPTConfig.load()
    bars = _Bars("Importing")
    with open_storage(config) as storage:
        try:
            manifest = import_storage(
                storage,
                path,
                user_id=config.user_id,
                keep_user_ids=keep_user_ids,
                all_users=all_users,
                overwrite=overwrite,
                progress=bars,
            )
        finally:
            bars.close()
    total = sum(e["count"] for e in manifest["tables"].values())
    if as_json:
        echo_json(
            {"path": str(path), "records": total, "imported_users": manifest["imported_users"], "tables": manifest["tables"]}
        )
        return
    owners = ", ".join(manifest["imported_users"]) or "-"
    click.echo(f"Imported {total} records from {path} for user {owners}; every collection verified against the export.")
