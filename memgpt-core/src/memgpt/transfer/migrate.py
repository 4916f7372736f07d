"""``memgpt migrate``: copy every collection from the configured storage to another, then verify.

Order: the catalog (sources, agents), then data-source passages, archival
memory and recall memory. Each collection is streamed in batches (bounded
memory) and written with idempotent upserts that keep ids, so a run that was
killed can simply be run again: collections already copied are skipped (a
small state file under ``$MEMGPT_HOME/migrations`` remembers them), a
collection that was cut short is copied again in full, and nothing is ever
duplicated. At the end every collection is verified (count and content
checksum on both sides); the source is never modified.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
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
from memgpt.transfer.checksum import Digest, collection_digest

ORDER = (Table.SOURCES, Table.AGENTS, Table.SOURCE_PASSAGES, Table.ARCHIVAL, Table.RECALL)
BATCH = 1_000


class VerificationFailed(MemGPTError):
    """A copied collection differs from its source."""


@dataclass
class TableResult:
    table: Table
    source: Digest
    target: Digest | None = None
    copied: int = 0
    skipped: bool = False
    stays: bool = False
    """Source and target are the same place: nothing to copy or verify."""

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
                r.table.value: {
                    "source_count": r.source.count,
                    "source_checksum": r.source.hexdigest,
                    "target_count": None if r.target is None else r.target.count,
                    "target_checksum": None if r.target is None else r.target.hexdigest,
                    "copied": r.copied,
                    "skipped_as_done": r.skipped,
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
        from memgpt.embeddings.provider import open_embedder

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
    """One migration from a source configuration to a target configuration."""

    def __init__(self, source: MemGPTConfig, target: MemGPTConfig, reembed: bool = False, batch_size: int = BATCH) -> None:
        self.source_config, self.target_config = source, target
        self.source, self.target = Storage(source), Storage(target)
        self.reembedder = Reembedder(source.embedding()) if reembed else None
        self.batch_size = batch_size
        key = json.dumps([self._where(self.source), self._where(self.target), reembed], sort_keys=True)
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
    def _done(self) -> set[str]:
        try:
            return set(json.loads(self.state_path.read_text())["done"])
        except (FileNotFoundError, ValueError, KeyError):
            return set()

    def _mark_done(self, table: Table) -> None:
        done = self._done() | {table.value}
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": sorted(done), "source": self._where(self.source), "target": self._where(self.target)}))
        os.replace(tmp, self.state_path)

    def forget_state(self) -> None:
        self.state_path.unlink(missing_ok=True)

    # -- checks -------------------------------------------------------------------------------
    def collections(self, table: Table) -> tuple[Any, Any]:
        return self.source.collection(table, Where.everything()), self.target.collection(table, Where.everything())

    def stays(self, table: Table) -> bool:
        """Whether ``table`` is stored in the same place before and after (a role that does not move)."""
        source, target = self.source.location(table), self.target.location(table)
        return (source.backend.name, source.description) == (target.backend.name, target.description)

    def check_embeddings(self) -> None:
        """Refuse, before anything is written, a target that holds vectors of another model or dimension."""
        for table in (Table.SOURCE_PASSAGES, Table.ARCHIVAL, Table.RECALL):
            source, target = self.collections(table)
            if self.stays(table):
                continue
            wanted = self.reembedder.spec if self.reembedder else source.embedding_spec
            held = target.embedding_spec
            if wanted is not None and held is not None and wanted != held:
                hint = "" if self.reembedder else "; pass --re-embed to re-embed with the configured model"
                raise EmbeddingMismatch(
                    f"the target {table.value!r} collection ({target.backend}: {target.location}) holds {held}, "
                    f"the copy would bring {wanted}{hint}"
                )

    def plan(self) -> list[dict[str, Any]]:
        """What would move: per collection, where from, where to, how many records."""
        self.check_embeddings()
        done = self._done()
        rows = []
        for table in ORDER:
            source, target = self.collections(table)
            rows.append(
                {
                    "table": table.value,
                    "records": source.count(),
                    "from": f"{source.backend}:{source.location}",
                    "to": f"{target.backend}:{target.location}",
                    "already_copied": table.value in done,
                    "stays": self.stays(table),
                }
            )
        return rows

    # -- the copy -------------------------------------------------------------------------------
    def _transformed(self, table: Table, batches: Iterator[list[Any]]) -> Iterator[list[Any]]:
        for batch in batches:
            yield self.reembedder(table, batch) if self.reembedder else batch

    def run(self, progress: Callable[[Table, int, int], None] | None = None) -> Report:
        """Copy every collection not yet copied, then verify them all; raises VerificationFailed on any difference."""
        self.check_embeddings()
        done = self._done()
        report = Report()
        for table in ORDER:
            source, target = self.collections(table)
            total = source.count()
            result = TableResult(table, Digest(), stays=self.stays(table))
            if result.stays:
                result.source = result.target = Digest(count=total)
            elif table.value in done:
                result.skipped = True
            else:
                for batch in self._transformed(table, source.batches(batch_size=self.batch_size)):
                    result.copied += target.insert(batch)
                    if progress:
                        progress(table, result.copied, total)
                self._mark_done(table)
            report.results.append(result)
        self.verify(report)
        return report

    def verify(self, report: Report) -> None:
        vectors = self.reembedder is None
        failures = []
        for result in report.results:
            if result.stays:
                continue
            source, target = self.collections(result.table)
            result.source = collection_digest(source, self.batch_size, vectors)
            result.target = collection_digest(target, self.batch_size, vectors)
            if not result.identical:
                failures.append(f"{result.table.value}: source {result.source}, target {result.target}")
        if self.reembedder is not None:
            for table in (Table.SOURCE_PASSAGES, Table.ARCHIVAL, Table.RECALL):
                if self.stays(table):
                    continue
                held = self.collections(table)[1].embedding_spec
                if held is not None and held != self.reembedder.spec:
                    failures.append(f"{table.value}: target holds {held}, expected {self.reembedder.spec}")
        if failures:
            raise VerificationFailed(
                "the copy differs from its source in "
                + "; ".join(failures)
                + " (the target held other records before? migrate into empty storage, or rerun to finish an interrupted copy)"
            )
        self.forget_state()


__all__ = ["ORDER", "Migration", "Reembedder", "Report", "VerificationFailed", "target_config"]
