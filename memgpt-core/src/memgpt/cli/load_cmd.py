"""``memgpt load directory``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from memgpt.cli.common import json_option, with_client
from memgpt.cli.output import echo_json


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

    Loading the same files again changes nothing; a changed file has its
    passages replaced; an unreadable file is reported and skipped; an
    interrupted load can be run again.
    """
    from memgpt.plugins import readers
    from memgpt.sources.loader import Progress, collect_files, readers_by_extension

    files_given = [*input_files, *more_files]
    if input_dir is None and not files_given:
        raise click.UsageError("give --input-dir DIR or --input-files FILE ...")
    known = readers_by_extension(r.item for r in readers().values())
    wanted = [e.strip() for e in extensions.split(",") if e.strip()] if extensions else None
    files = collect_files(input_dir, files_given, recursive, wanted, known)
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
        click.echo(
            f"Loaded {report.files} of {len(files)} files into data source {name!r}: "
            f"{report.passages_written} passages written, {report.passages_removed} removed, "
            f"{report.unchanged} files unchanged; the source now holds {report.passages_total} passages "
            f"({client.embedding.model}, {client.embedding.dim}-d)."
        )
    for path, error in report.failed:
        click.secho(f"Skipped {path}: {error}", fg="yellow", err=True)
    if report.failed and report.files == 0:
        raise SystemExit(1)
