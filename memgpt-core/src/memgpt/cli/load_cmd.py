"""``memgpt load directory``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from memgpt.cli.common import json_option, with_client
from memgpt.cli.output import echo_json, plural


@click.group("load")
def load_group() -> None:
    """Load documents into a data source."""


@load_group.command("directory")
@click.option("--name", required=True, help="Name of the data source (created if new).")
@click.option("--input-dir", type=click.Path(file_okay=False, path_type=Path), help="Folder to load.")
@click.option(
    "--input-files",
    "input_files",
    multiple=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="A file to load (repeat, or list several after it).",
)
@click.option("--recursive", is_flag=True, help="Also load the folder's sub-folders.")
@click.option("--extensions", help="Comma-separated extensions to load, e.g. .txt,.md (default: every readable kind).")
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1, max=100_000),
    help="Tokens per passage (default: the configured embedding_chunk_size).",
)
@click.option(
    "--chunk-overlap", type=click.IntRange(min=0), default=0, show_default=True, help="Tokens shared by consecutive passages."
)
@click.option("--text-field", help="For JSON/JSONL: the field holding the text (default: text, content or body).")
@click.argument("more_files", nargs=-1, type=click.Path(dir_okay=False, path_type=Path))
@json_option
@with_client
def directory_command(
    client, name, input_dir, input_files, recursive, extensions, chunk_size, chunk_overlap, text_field, more_files, as_json
) -> None:
    """Read files, cut them into passages, embed them and store them in data source NAME.

    Every file that is text is loaded: prose, Markdown, HTML (its text),
    JSON, PDF, and code, configuration, CSV or README files of any name;
    binaries are skipped and named. Loading the same files again changes
    nothing; a changed file has its passages replaced; an interrupted load can
    be run again; a load that stores nothing creates no source.
    """
    from memgpt.plugins import readers
    from memgpt.sources.loader import Progress, collect_files, fallback_reader, readers_by_extension

    files_given = [*input_files, *more_files]
    if input_dir is None and not files_given:
        raise click.UsageError("give --input-dir DIR or --input-files FILE ...")
    installed = [r.item for r in readers().values()]
    known = readers_by_extension(installed)
    wanted = [e.strip() for e in extensions.split(",") if e.strip()] if extensions else None
    files = collect_files(input_dir, files_given, recursive, wanted, known, any_file=fallback_reader(installed) is not None)
    options = {"text_field": text_field} if text_field else {}
    show = sys.stderr.isatty() and not as_json
    embedded = [0]
    with click.progressbar(
        length=len(files),
        label=f"Loading {len(files)} files into {name!r}",
        file=sys.stderr,
        item_show_func=lambda _: f"{embedded[0]} passages embedded",
        hidden=not show,
    ) as bar:

        def file_done(_path: Path) -> None:
            bar.update(1)

        def passages_embedded(n: int) -> None:
            embedded[0] += n
            bar.update(0)

        report = client.load(name, files, chunk_size, chunk_overlap, options, Progress(file_done, passages_embedded))
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(summary(report, len(files)))
        shown = [*report.skipped, *report.failed]
        for path, why in shown[:SHOW_SKIPPED]:
            click.secho(f"Skipped {path}: {why}", fg="yellow", err=True)
        if len(shown) > SHOW_SKIPPED:
            click.secho(f"... and {len(shown) - SHOW_SKIPPED} more skipped files (--json lists them all)", fg="yellow", err=True)
    if report.files == 0 and (report.failed or report.skipped):
        raise SystemExit(1)


SHOW_SKIPPED = 20
"""Skipped files named on the terminal; ``--json`` lists every one."""


def summary(report, given: int) -> str:
    """The load's outcome in one paragraph: files by kind, what was skipped, passages, the model."""
    kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(report.kinds.items(), key=lambda kv: (-kv[1], kv[0])))
    parts = [f"Read {plural(report.files, 'file')} of {given}" + (f" ({kinds})" if kinds else "")]
    if report.unchanged:
        parts.append(f"{report.unchanged} unchanged since the last load")
    if report.as_text:
        parts.append(f"{plural(len(report.as_text), 'file')} read as plain text (its reader refused it: --json says why)")
    if report.skipped:
        parts.append(f"skipped {plural(len(report.skipped), 'file')} that {'is' if len(report.skipped) == 1 else 'are'} not text")
    if report.failed:
        parts.append(f"{plural(len(report.failed), 'file')} could not be read")
    head = "; ".join(parts) + "."
    if report.passages_total == 0 and not report.passages_removed:
        return (
            head
            + f" Nothing was stored: data source {report.source!r} {'was not created' if report.created is False else 'is empty'}."
        )
    return (
        f"{head} Data source {report.source!r}{' (new)' if report.created else ''}: "
        f"{plural(report.passages_written, 'passage')} written, {report.passages_removed} removed, "
        f"{report.passages_total} in all, embedded with {report.embedding}."
    )
