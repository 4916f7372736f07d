"""``memgpt migrate``: copy every collection from the configured storage to another, then verify.

Order: the catalog (sources, agents), then data-source passages, archival
memory and recall memory. Each collection is streamed in batches (bounded
memory) and written with idempotent upserts that keep ids, so a run that was
killed can simply be run again: a rerun compares what the target holds with
the source and copies only what is missing or different, so nothing is ever
duplicated and memories written at the source meanwhile are copied too. At
the end every collection is verified (count and content checksum on both
sides); the source is never modified. By default only the configured user's
records move; ``user_id=None`` moves every user's.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from memgpt.config import MemGPTConfig, StorageConfig
from memgpt.embeddings.provider import EmbeddingConfig
from memgpt.errors import EmbeddingMismatch, MemGPTError
from memgpt.kinds import Table
from memgpt.paths import memgpt_home
from memgpt.records import EmbeddingSpec
from memgpt.storage.configured import Storage
from memgpt.storage.where import Where
from memgpt.transfer.checksum import MODULUS, Digest, collection_digest, record_digest
from memgpt.transfer.units import ORDER, Unit, units

BATCH = 1_000


class VerificationFailed(MemGPTError):
    """A copied collection differs from its source."""


@dataclass
class TableResult:
    """What happened to one collection (a table, or one embedding model's shelf of it)."""

    unit: Unit
    source: Digest
    target: Digest | None = None
    copied: int = 0
    removed: int = 0
    """Records this migration had copied earlier that the source no longer holds, removed from the target."""
    foreign: int = 0
    """Records of the migrated users in the target that the source lacks and this migration did not copy."""
    stays: bool = False
    """Source and target are the same place: nothing to copy or verify."""

    @property
    def table(self) -> Table:
        return self.unit.table

    @property
    def identical(self) -> bool:
        return self.stays or (
            self.target is not None and (self.source.count, self.source.total) == (self.target.count, self.target.total)
        )


@dataclass
class Report:
    results: list[TableResult] = field(default_factory=list)
    switched: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "switched": self.switched,
            "tables": {
                r.unit.key: {
                    "table": r.table.value,
                    "embedding": None if r.unit.spec is None else {"model": r.unit.spec.model, "dim": r.unit.spec.dim},
                    "source_count": r.source.count,
                    "source_checksum": r.source.hexdigest,
                    "target_count": None if r.target is None else r.target.count,
                    "target_checksum": None if r.target is None else r.target.hexdigest,
                    "copied": r.copied,
                    "removed": r.removed,
                    "stays": r.stays,
                    "identical": r.identical,
                }
                for r in self.results
            },
        }


def target_config(config: MemGPTConfig, archival: StorageConfig | None, recall: StorageConfig | None) -> MemGPTConfig:
    """The configuration with the given storage replaced (the rest unchanged)."""
    return replace(config, archival_storage=archival or config.archival_storage, recall_storage=recall or config.recall_storage)


class Reembedder:
    """Re-embeds passages and messages with the configured model, and points agents and sources at it."""

    def __init__(self, config: EmbeddingConfig) -> None:
        from memgpt.embeddings.installed import open_embedder

        self.config = config
        self.embedder = open_embedder(config)

    @property
    def spec(self) -> EmbeddingSpec:
        return EmbeddingSpec(self.config.model, self.config.dim)

    def __call__(self, table: Table, records: list[Any]) -> list[Any]:
        from memgpt.embeddings.batching import embed_texts

        if table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL):
            embedded = [r for r in records if r.embedding is not None]
            if embedded:
                vectors = embed_texts(self.embedder, [r.text for r in embedded])
                for record, vector in zip(embedded, vectors, strict=True):
                    record.embedding, record.embedding_model = vector, self.config.model
            return records
        if table is Table.AGENTS:
            return [replace(a, embedding_config=self.config.to_dict()) for a in records]
        if table is Table.SOURCES:
            return [
                replace(
                    s,
                    embedding_model=self.config.model,
                    embedding_dim=self.config.dim,
                    metadata={**s.metadata, "embedding": self.config.to_dict()},
                )
                for s in records
            ]
        return records


class Migration:
    """One migration from a source configuration to a target configuration.

    ``user_id``: whose records move (the configured user, as the CLI passes
    it), or ``None`` for every user's (``--all-users``, for an administrator).

    A run copies each collection, then verifies every one (count and content
    checksum on both sides). Running it again after an interruption, or after
    memories changed at the source meanwhile, copies again only what differs
    (records missing in the target or different there) and removes from the
    target what this migration copied there but the source no longer holds;
    it never skips a collection on the word of a state file, so it always
    finishes. The state file (``$MEMGPT_HOME/migrations``) only remembers
    which target collections were empty when this migration began, so that
    their extra records are known to be its own; if the file is lost or
    unreadable, extra records are reported instead of removed.
    """

    def __init__(
        self,
        source: MemGPTConfig,
        target: MemGPTConfig,
        reembed: bool = False,
        batch_size: int = BATCH,
        user_id: str | None = None,
    ) -> None:
        self.source_config, self.target_config = source, target
        self.user_id = user_id
        self.scope = Where.everything() if user_id is None else Where.of(user_id=user_id)
        self.source, self.target = Storage(source), Storage(target)
        self._units: list[Unit] = []
        self.reembedder = Reembedder(source.embedding()) if reembed else None
        self.batch_size = batch_size
        key = json.dumps([self._where(self.source), self._where(self.target), reembed, user_id], sort_keys=True)
        self.state_path = memgpt_home() / "migrations" / (hashlib.sha256(key.encode()).hexdigest()[:16] + ".json")

    @staticmethod
    def _where(storage: Storage) -> dict[str, str]:
        return {t.value: f"{storage.location(t).backend.name}:{storage.location(t).description}" for t in ORDER}

    def close(self) -> None:
        self.source.close()
        self.target.close()

    def __enter__(self) -> Migration:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- state ------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        """The state file's content; a missing or damaged file is an empty state (never an error)."""
        try:
            state = json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _save_state(self, state: dict[str, Any]) -> None:
        from memgpt.files import write_private

        state = {**state, "source": self._where(self.source), "target": self._where(self.target), "user": self.user_id}
        try:
            write_private(self.state_path, json.dumps(state, sort_keys=True))
        except OSError:
            pass  # the state only saves work on a rerun: a migration without it is still correct

    def _owned(self, unit: Unit, target: Any) -> bool:
        """Whether the target collection was empty when this migration began (recorded at its first run)."""
        state = self._state()
        owned = state.get("owned")
        if not isinstance(owned, dict):
            owned = {}
        if unit.key not in owned:
            owned[unit.key] = target.count() == 0
            self._save_state({**state, "owned": owned})
        return bool(owned[unit.key])

    def _mark_done(self, unit: Unit) -> None:
        """Record progress (what the last run has copied); informational, never a reason to skip."""
        state = self._state()
        done = state.get("done") if isinstance(state.get("done"), list) else []
        self._save_state({**state, "done": sorted({*done, unit.key})})

    def forget_state(self) -> None:
        self.state_path.unlink(missing_ok=True)

    # -- checks -------------------------------------------------------------------------------
    def units(self) -> list[Unit]:
        """The collections to move: each table, and each embedding model's shelf (read from the source's catalog)."""
        return units(self.source, self.scope)

    def target_spec(self, unit: Unit, source: Any) -> EmbeddingSpec | None:
        """The model of the vectors this collection's records carry in the target."""
        if not unit.table.has_vectors:
            return None
        return self.reembedder.spec if self.reembedder else source.embedding_spec

    def collections(self, unit: Unit, claim: bool = True) -> tuple[Any, Any]:
        """The unit's collection at the source, and where its records go in the target (``claim``: about to write)."""
        source = unit.collection(self.source, self.scope)
        return source, unit.target(self.target, self.scope, self.target_spec(unit, source), claim)

    def stays(self, table: Table) -> bool:
        """Whether ``table`` is stored in the same place before and after (a role that does not move)."""
        source, target = self.source.location(table), self.target.location(table)
        return (source.backend.name, source.description) == (target.backend.name, target.description)

    def check_embeddings(self) -> None:
        """Refuse, before anything is written, a target whose recall collection holds vectors of another model.

        Archival and data-source passages never clash: another model's vectors go to a shelf of their own.
        """
        unit = Unit(Table.RECALL)
        if self.stays(unit.table):
            return
        source = unit.collection(self.source, self.scope)
        target = unit.collection(self.target, self.scope)
        wanted, held = self.target_spec(unit, source), target.embedding_spec
        if wanted is not None and held is not None and wanted != held:
            hint = "" if self.reembedder else "; pass --re-embed to re-embed with the configured model"
            raise EmbeddingMismatch(
                f"the target {unit.table.value!r} collection ({target.backend}: {target.location}) holds {held}, "
                f"the copy would bring {wanted}{hint}"
            )

    def plan(self) -> list[dict[str, Any]]:
        """What would move: per collection, where from, where to, how many records (and how many the target holds)."""
        self.check_embeddings()
        rows = []
        for unit in self.units():
            stays = self.stays(unit.table)
            source = unit.collection(self.source, self.scope)
            target = unit.collection(self.target, self.scope) if stays else self.collections(unit, claim=False)[1]
            rows.append(
                {
                    "table": unit.label,
                    "records": source.count(),
                    "from": f"{source.backend}:{source.location}",
                    "to": f"{target.backend}:{target.location}",
                    "in_target": None if stays else target.count(),
                    "stays": stays,
                }
            )
        return rows

    # -- the copy -------------------------------------------------------------------------------
    def _transformed(self, table: Table, batch: list[Any]) -> list[Any]:
        return self.reembedder(table, batch) if self.reembedder else batch

    def _changed(self, batch: list[Any], target: Any) -> list[Any]:
        """The records of ``batch`` that the target lacks or holds differently (ignoring vectors when re-embedding)."""
        vectors = self.reembedder is None
        stored = {(r.user_id, r.id): record_digest(r, vectors) for r in target.find(batch)}
        return [r for r in batch if stored.get((r.user_id, r.id)) != record_digest(r, vectors)]

    def _copy(self, result: TableResult, progress: Callable[[Table, int, int], None] | None) -> None:
        unit = result.unit
        source, target = self.collections(unit)
        total = source.count()
        owned = self._owned(unit, target)
        fresh = target.count() == 0  # nothing there yet: no need to compare before writing
        seen = 0
        with target.bulk_load(total):  # an engine may build its index once, after the copy
            for batch in source.batches(batch_size=self.batch_size):
                seen += len(batch)
                changed = batch if fresh else self._changed(batch, target)
                if changed:
                    result.copied += target.insert(self._transformed(unit.table, changed))
                if progress:
                    progress(unit.table, seen, total)
        if target.count() > total and not self._shares_target(unit):  # records the source no longer holds
            extra = self._extra(source, target)
            if owned and extra:
                result.removed += target.remove(extra)
            elif extra:
                result.foreign = len(extra)
        self._mark_done(unit)

    def _shares_target(self, unit: Unit) -> bool:
        """Whether other collections of the source go to the same target collection (re-embedding merges shelves)."""
        return self.reembedder is not None and any(u.table is unit.table and u != unit for u in self._units)

    def _extra(self, source: Any, target: Any) -> list[Any]:
        """Records of the target that the source does not hold (streamed; only their ids are kept)."""
        extra: list[Any] = []
        for batch in target.batches(batch_size=self.batch_size):
            present = {(r.user_id, r.id) for r in source.find(batch)}
            extra.extend(r for r in batch if (r.user_id, r.id) not in present)
        return extra

    def run(self, progress: Callable[[Table, int, int], None] | None = None) -> Report:
        """Copy what the target lacks or holds differently, then verify everything; raises VerificationFailed on any difference."""
        self.check_embeddings()
        report = Report()
        self._units = self.units()
        for unit in self._units:
            result = TableResult(unit, Digest(), stays=self.stays(unit.table))
            if result.stays:
                count = unit.collection(self.source, self.scope).count()
                result.source = result.target = Digest(count=count)
            else:
                self._copy(result, progress)
            report.results.append(result)
        self.verify(report)
        return report

    def verify(self, report: Report) -> None:
        """Count and checksum every collection on both sides.

        Collections re-embedded into one target collection (shelves of several
        models, with ``--re-embed``) are compared together: the target must hold
        exactly their union; each then reports its share as its target digest.
        """
        vectors = self.reembedder is None
        failures = []
        groups: dict[int, tuple[Any, list[TableResult]]] = {}
        for result in report.results:
            if result.stays:
                continue
            source, target = self.collections(result.unit)
            result.source = collection_digest(source, self.batch_size, vectors)
            groups.setdefault(id(target.connector), (target, []))[1].append(result)
        for target, members in groups.values():
            held = collection_digest(target, self.batch_size, vectors)
            if len(members) == 1:
                member = members[0]
                member.target = held
                if not member.identical:
                    extra = f" ({member.foreign} of them not at the source)" if member.foreign else ""
                    failures.append(f"{member.unit.label}: source {member.source}, target {member.target}{extra}")
                continue
            union = Digest(sum(m.source.count for m in members), sum(m.source.total for m in members) % MODULUS)
            if (union.count, union.total) != (held.count, held.total):
                failures.append(f"{members[0].table.value}: sources {union}, target {held}")
            for member in members:
                member.target = member.source if (union.count, union.total) == (held.count, held.total) else held
        if self.reembedder is not None:
            for result in report.results:
                if result.stays or not result.table.has_vectors:
                    continue
                held = self.collections(result.unit)[1].embedding_spec
                if held is not None and held != self.reembedder.spec:
                    failures.append(f"{result.unit.label}: target holds {held}, expected {self.reembedder.spec}")
        if failures:
            raise VerificationFailed(
                "the copy differs from its source in "
                + "; ".join(failures)
                + " (the target held records of its own before this migration: migrate into empty storage, "
                "or delete them from the target)"
            )
        self.forget_state()


__all__ = ["ORDER", "Migration", "Reembedder", "Report", "TableResult", "VerificationFailed", "target_config"]
