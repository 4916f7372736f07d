"""``memgpt export`` / ``memgpt import``: memories as files, independent of any backend.

Format (version 2), one folder::

    manifest.json             {"format": "memgpt-export", "format_version": 2, "memgpt_version": ...,
                               "created_at": ISO time, "users": [...], "tables": {KEY: {"table": TABLE,
                               "count": N, "checksum": HEX, "embedding": {"model": M, "dim": D} or null,
                               "records": FILE, "vectors": FILE or null}}}
    <key>.jsonl               one record per line: its fields but the embedding (``canonical_fields``), and
                              "vector": the record's row in <key>.vectors.npy, or null
    <key>.vectors.npy         float32 matrix, one row per record with an embedding (numpy.load reads it)

TABLE is archival, recall, source_passages, sources or agents. KEY is TABLE,
or ``TABLE@SHELF`` for passages of another embedding model than the table's
own (see :mod:`memgpt.transfer.units`); version 1 had one entry per table,
keyed by TABLE, and is read as well. Checksums are
those of :mod:`memgpt.transfer.checksum`. Export and import stream: memory
stays bounded whatever the size. ``docs/migration.md`` is the user-facing
description of the format.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from memgpt._version import __version__
from memgpt.errors import AlreadyExists, EmbeddingMismatch, MemGPTError
from memgpt.files import open_private, private_dirs, write_private
from memgpt.kinds import Table
from memgpt.records import RECORD_TYPES, EmbeddingSpec
from memgpt.storage.configured import Storage
from memgpt.storage.where import Where
from memgpt.transfer.checksum import Digest, canonical_fields
from memgpt.transfer.migrate import VerificationFailed
from memgpt.transfer.units import ORDER, Unit, units

FORMAT = "memgpt-export"
FORMAT_VERSION = 2
READS_VERSIONS = (1, 2)
BATCH = 1_000


class ArchiveError(MemGPTError):
    """An export folder that cannot be read or written."""


def _write_npy_header(handle: Any, rows: int, dim: int) -> None:
    np.lib.format.write_array_header_1_0(handle, {"descr": "<f4", "fortran_order": False, "shape": (rows, dim)})


def user_scope(user_id: str | None) -> Where:
    """The records of ``user_id``, or of every user for ``None``."""
    return Where.everything() if user_id is None else Where.of(user_id=user_id)


def export_storage(
    storage: Storage,
    folder: Path,
    progress: Callable[[Table, int, int], None] | None = None,
    user_id: str | None = None,
) -> dict[str, Any]:
    """Write the records of ``user_id`` (``None``: every user's) into ``folder`` (which must not exist or be empty).

    The folder and its files are readable by their owner only.
    """
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ArchiveError(f"{folder} is not an empty folder; export into a new folder")
    try:
        private_dirs(folder)
    except OSError as exc:
        raise ArchiveError(f"cannot create {folder}: {exc.strerror or exc}") from None
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "memgpt_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "users": [],
        "tables": {},
    }
    users: set[str] = set()
    scope = user_scope(user_id)
    for unit in units(storage, scope):
        table = unit.table
        collection = unit.collection(storage, scope)
        total = collection.count()
        spec = collection.embedding_spec if table.has_vectors else None
        digest, vectors, written = Digest(), 0, 0
        records_file, raw_file = folder / f"{unit.key}.jsonl", folder / f"{unit.key}.vectors.f32"
        with open_private(records_file, "w", encoding="utf-8") as lines, open_private(raw_file, "wb") as raw:
            for batch in collection.batches(batch_size=BATCH):
                digest.add(batch)
                users.update(record.user_id for record in batch)
                for record in batch:
                    data = canonical_fields(record)
                    embedding = getattr(record, "embedding", None)
                    data["vector"] = None
                    if embedding is not None:
                        raw.write(np.asarray(embedding, dtype="<f4").tobytes())
                        data["vector"] = vectors
                        vectors += 1
                    lines.write(json.dumps(data, ensure_ascii=False, sort_keys=True) + "\n")
                written += len(batch)
                if progress:
                    progress(table, written, total)
        vectors_name = None
        if vectors:
            vectors_name = f"{unit.key}.vectors.npy"
            with open_private(folder / vectors_name, "wb") as npy, open(raw_file, "rb") as raw:
                _write_npy_header(npy, vectors, spec.dim if spec else raw_file.stat().st_size // 4 // vectors)
                shutil.copyfileobj(raw, npy)
        raw_file.unlink()
        manifest["tables"][unit.key] = {
            "table": table.value,
            "count": digest.count,
            "checksum": digest.hexdigest,
            "embedding": None if spec is None else {"model": spec.model, "dim": spec.dim},
            "records": records_file.name,
            "vectors": vectors_name,
        }
    manifest["users"] = sorted(users)
    write_private(folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")  # last: a folder with a manifest is complete
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except FileNotFoundError:
        raise ArchiveError(f"{folder} has no manifest.json: not a (complete) memgpt export") from None
    except ValueError as exc:
        raise ArchiveError(f"{folder}/manifest.json is not valid JSON ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise ArchiveError(f"{folder} is not a memgpt export (format {manifest.get('format')!r})")
    if manifest.get("format_version") not in READS_VERSIONS:
        raise ArchiveError(
            f"{folder} has export format version {manifest.get('format_version')}; this memgpt reads versions "
            f"{', '.join(map(str, READS_VERSIONS))}"
        )
    tables = manifest.get("tables")
    if not isinstance(tables, dict) or not all(isinstance(e, dict) for e in tables.values()):
        raise ArchiveError(f"{folder}/manifest.json has no valid table list: not a (complete) memgpt export")
    return manifest


def archive_units(manifest: dict[str, Any]) -> list[tuple[Unit, dict[str, Any]]]:
    """The collections an export holds, in :data:`ORDER`, each with its manifest entry."""
    found = []
    for key, entry in manifest["tables"].items():
        try:
            table = Table(entry.get("table", key))
        except ValueError:
            raise ArchiveError(f"the export's manifest names an unknown table {key!r}") from None
        embedding = entry.get("embedding")
        spec = None
        if key != table.value:  # a shelf: passages of another model than the table's own
            if not isinstance(embedding, dict):
                raise ArchiveError(f"the export's manifest entry {key!r} names no embedding model")
            spec = EmbeddingSpec(str(embedding["model"]), int(embedding["dim"]))
        found.append((Unit(table, spec), entry))
    return sorted(found, key=lambda pair: (ORDER.index(pair[0].table), pair[0].spec is not None, pair[0].key))


def _records(folder: Path, table: Table, entry: dict[str, Any]) -> Iterator[list[Any]]:
    vectors = np.load(folder / entry["vectors"], mmap_mode="r") if entry.get("vectors") else None
    record_type = RECORD_TYPES[table]
    batch: list[Any] = []
    with open(folder / entry["records"], encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            try:
                data = json.loads(line)
                row = data.pop("vector")
            except (ValueError, AttributeError, KeyError) as exc:
                raise ArchiveError(f"{entry['records']} line {number} is not an exported record ({exc})") from None
            if row is not None:
                if vectors is None:
                    raise ArchiveError(f"{entry['records']} refers to vector {row} but the export has no vectors file")
                data["embedding"] = np.array(vectors[row], dtype=np.float32)
            batch.append(record_type.from_dict(data))
            if len(batch) >= BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


@dataclass
class ImportPlan:
    """What :func:`check_archive` found: the users the export's records belong to."""

    users: set[str] = field(default_factory=set)


def _spec(entry: dict[str, Any]) -> EmbeddingSpec | None:
    embedding = entry.get("embedding")
    return EmbeddingSpec(str(embedding["model"]), int(embedding["dim"])) if isinstance(embedding, dict) else None


def check_archive(
    folder: Path,
    manifest: dict[str, Any],
    found: list[tuple[Unit, dict[str, Any]]],
    storage: Storage | None = None,
    overwrite: bool = False,
    as_user: str | None = None,
    scope: Where | None = None,
) -> ImportPlan:
    """Every file matches the manifest's count and checksum; with ``storage``, also that its recall
    messages carry no vectors of another model than the target's (passages of another model go to a
    shelf of their own) and (unless ``overwrite``) none of the records it would write exist already
    (the same user and id, after ``as_user`` rewrites the user). Writes nothing."""
    plan = ImportPlan()
    for unit, entry in found:
        table = unit.table
        where = Where.everything() if scope is None else scope
        collection = unit.target(storage, where, _spec(entry), claim=False) if storage is not None else None
        if collection is not None:
            wanted, held = entry.get("embedding"), collection.embedding_spec
            if wanted and held is not None and (wanted["model"], wanted["dim"]) != (held.model, held.dim):
                raise EmbeddingMismatch(
                    f"the target {table.value!r} collection holds {held}, the export brings {wanted['dim']}-d vectors of "
                    f"model {wanted['model']!r}; nothing was imported: import into empty storage, then `memgpt migrate --re-embed`"
                )
        check_clashes = collection is not None and not overwrite and collection.count() > 0
        digest = Digest()
        for batch in _records(folder, table, entry):
            digest.add(batch)
            plan.users.update(r.user_id for r in batch)
            mine = batch if as_user is None else [replace(r, user_id=as_user) for r in batch]
            if check_clashes:
                clashes = collection.find(mine)  # type: ignore[union-attr]
                if clashes:
                    raise AlreadyExists(
                        f"{len(clashes)}+ records of {table.value!r} exist already in the target (first: {clashes[0].id!r}); "
                        "nothing was imported: pass --overwrite to replace them"
                    )
            if table is Table.AGENTS and collection is not None:
                _check_agent_names(collection, mine)
        if (digest.count, digest.hexdigest) != (entry["count"], entry["checksum"]):
            raise ArchiveError(
                f"{folder / entry['records']} does not match its manifest (manifest: {entry['count']} records, "
                f"checksum {entry['checksum'][:16]}; files: {digest}): the export is damaged, nothing was imported"
            )
    return plan


def _check_agent_names(collection: Any, agents: list[Any]) -> None:
    """Agent names are unique per user: refuse an agent whose user has another agent of that name."""
    for agent in agents:
        same_name = Where.of(user_id=agent.user_id, name=agent.name)
        for other in collection.iterate(same_name):
            if other.id != agent.id:
                raise AlreadyExists(
                    f"the export's agent {agent.name!r} is another agent than the one of that name in the target "
                    f"(user {agent.user_id}); nothing was imported: delete or rename one of them first"
                )


def verify_archive(folder: Path) -> dict[str, Any]:
    """Check an export's files against its manifest (counts and checksums); returns the manifest."""
    manifest = read_manifest(folder)
    check_archive(folder, manifest, archive_units(manifest))
    return manifest


def _exported_users(manifest: dict[str, Any]) -> set[str]:
    users = manifest.get("users")
    return {str(u) for u in users} if isinstance(users, list) else set()


def import_storage(
    storage: Storage,
    folder: Path,
    user_id: str,
    keep_user_ids: bool = False,
    all_users: bool = False,
    overwrite: bool = False,
    progress: Callable[[Table, int, int], None] | None = None,
) -> dict[str, Any]:
    """Load an export into ``storage`` and verify every record read back from it.

    ``user_id`` is the configured user. By default every record becomes
    theirs (its ``user_id`` is rewritten; ids and everything else are kept).
    ``keep_user_ids`` keeps the exported user ids, which must then all be
    ``user_id``'s; ``all_users`` restores every user's records as they are
    (an administrator's restore). Only the records of the users imported for
    are ever read, compared or replaced: ``overwrite`` replaces existing
    records with the same user and id, never another user's. Nothing is
    written when a check fails.
    """
    manifest = read_manifest(folder)
    found = archive_units(manifest)
    keep = keep_user_ids or all_users
    if keep and not all_users:
        others = sorted(_exported_users(manifest) - {user_id})
        if others:
            raise ArchiveError(
                f"{folder} holds records of {len(others)} other user(s) ({', '.join(others[:3])}); nothing was imported: "
                "without --keep-user-ids they become yours, with --all-users every user's records are restored as they are"
            )
    as_user = None if keep else user_id
    scope = Where.everything() if all_users else Where.of(user_id=user_id)
    if as_user is not None and len(_exported_users(manifest)) > 1:
        raise ArchiveError(
            f"{folder} holds the memories of {len(_exported_users(manifest))} users; nothing was imported: "
            "pass --all-users to restore each user's records as they are"
        )
    plan = check_archive(folder, manifest, found, storage, overwrite, as_user=as_user, scope=scope)
    if as_user is not None and len(plan.users) > 1:
        raise ArchiveError(f"{folder} holds records of users its manifest does not list; nothing was imported")
    if keep and not all_users and plan.users - {user_id}:
        raise ArchiveError(f"{folder} holds records of users its manifest does not list; nothing was imported")

    def records(unit: Unit, entry: dict[str, Any]) -> Iterator[list[Any]]:
        for batch in _records(folder, unit.table, entry):
            yield batch if as_user is None else [replace(r, user_id=as_user) for r in batch]

    for unit, entry in found:
        written = 0
        collection = unit.target(storage, scope, _spec(entry))
        with collection.bulk_load(entry["count"]):  # an engine may build its index once, after the import
            for batch in records(unit, entry):
                written += collection.insert(batch)
                if progress:
                    progress(unit.table, written, entry["count"])
    failures = []
    for unit, entry in found:  # read every imported record back from the target: bounded by the batch size
        collection = unit.target(storage, scope, _spec(entry))
        expected, stored = Digest(), Digest()
        for batch in records(unit, entry):
            expected.add(batch)
            stored.add(collection.find(batch))
        if (expected.count, expected.total) != (stored.count, stored.total):
            failures.append(f"{unit.label}: export {expected}, stored {stored}")
    if failures:
        raise VerificationFailed("the import differs from the export in " + "; ".join(failures))
    manifest["imported_users"] = sorted(plan.users) if as_user is None else [user_id]
    return manifest
