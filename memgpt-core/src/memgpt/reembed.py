"""Re-embedding one data source or one agent's archival memory with another model (``memgpt reembed``).

Sources and agents keep the model they were made with when the configured
model changes (:mod:`memgpt.storage.shelves` keeps each model's vectors on its
own shelf). Re-embedding moves one of them to a new model: every passage is
embedded again and written to the new model's shelf, then the source or agent
record is switched to the new model, then the old passages are deleted. Each
step can be interrupted and run again: the passages keep their ids (so a rerun
overwrites instead of duplicating), the switch is one record write, and a run
that finds the switch done still deletes what the old shelf holds (the
previous model is recorded in the record's metadata until then).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from memgpt.catalog import Catalog, embedding_of_agent, embedding_of_source, spec_of
from memgpt.embeddings.batching import embed_texts
from memgpt.embeddings.installed import open_embedder
from memgpt.embeddings.provider import EmbeddingConfig
from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.collection import Collection
from memgpt.storage.where import Where

PREVIOUS = "reembedded_from"
"""Metadata key holding the previous model's spec while its passages are being deleted."""
BATCH = 500


@dataclass
class ReembedReport:
    """What :func:`reembed_source` or :func:`reembed_agent` did."""

    kind: str
    name: str
    before: str
    after: str
    passages: int = 0
    removed: int = 0
    unchanged: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "before": self.before,
            "after": self.after,
            "passages": self.passages,
            "removed": self.removed,
            "unchanged": self.unchanged,
        }


Progress = Callable[[int, int], None]
R = TypeVar("R")
"""A data source or an agent record."""


def _copy(old: Collection, new: Collection, config: EmbeddingConfig, progress: Progress | None) -> int:
    embedder = open_embedder(config)
    total, done = old.count(), 0
    for batch in old.batches(batch_size=BATCH):
        vectors = embed_texts(embedder, [p.text for p in batch])
        new.insert([replace(p, embedding=v, embedding_model=embedder.model) for p, v in zip(batch, vectors, strict=True)])
        done += len(batch)
        if progress:
            progress(done, total)
    return done


def _as_dict(spec: EmbeddingSpec) -> dict[str, Any]:
    return {"model": spec.model, "dim": spec.dim}


def _previous(metadata: dict[str, Any]) -> EmbeddingSpec | None:
    found = metadata.get(PREVIOUS)
    if isinstance(found, dict) and "model" in found and "dim" in found:
        return EmbeddingSpec(str(found["model"]), int(found["dim"]))
    return None


def _reembed(
    kind: str,
    record: R,
    current: EmbeddingConfig,
    config: EmbeddingConfig,
    switched: Callable[[R, dict[str, Any]], R],
    passages: Callable[[R, bool], Collection],
    on_model: Callable[[EmbeddingSpec], Collection],
    save: Callable[[R], R],
    progress: Progress | None,
) -> ReembedReport:
    """The steps both kinds share: copy with the new model, switch the record, delete the old model's passages.

    ``switched(record, metadata)`` is the record naming ``config`` with that
    metadata; ``passages(record, claim)`` its passages (on its model's shelf);
    ``on_model(spec)`` its passages under another model; ``save`` stores it.
    """
    report = ReembedReport(kind, record.name, str(current), str(config))  # type: ignore[attr-defined]
    if spec_of(current) == spec_of(config):
        report.unchanged = True
    else:
        moved = switched(record, {**record.metadata, PREVIOUS: _as_dict(spec_of(current))})  # type: ignore[attr-defined]
        report.passages = _copy(passages(record, False), passages(moved, True), config, progress)
        record = save(moved)  # the switch: searches and loads use the new model from here on
    previous = _previous(record.metadata)  # type: ignore[attr-defined]
    if previous is not None:
        report.removed = on_model(previous).delete_where(Where.everything())
        save(replace(record, metadata={k: v for k, v in record.metadata.items() if k != PREVIOUS}))  # type: ignore[attr-defined]
    return report


def reembed_source(catalog: Catalog, name: str, config: EmbeddingConfig, progress: Progress | None = None) -> ReembedReport:
    """Embed every passage of data source ``name`` again with ``config`` and switch the source to it."""
    source = catalog.get_source(name)
    scope = Where.of(user_id=catalog.user_id, source=source.name)
    return _reembed(
        "source",
        source,
        embedding_of_source(source),
        config,
        lambda s, metadata: replace(
            s, embedding_model=config.model, embedding_dim=config.dim, metadata={**metadata, "embedding": config.to_dict()}
        ),
        catalog.source_passages,
        lambda spec: catalog.collections.collection(Table.SOURCE_PASSAGES, scope, spec),
        catalog.add_source,
        progress,
    )


def reembed_agent(catalog: Catalog, name: str, config: EmbeddingConfig, progress: Progress | None = None) -> ReembedReport:
    """Embed the agent's archival passages again with ``config`` and switch the agent to it.

    Its recall memory has no vectors and stays as it is; attached sources keep
    their own models (the agent searches each with its own).
    """
    agent = catalog.get_agent(name)
    scope = Where.of(user_id=agent.user_id, agent_id=agent.id)
    return _reembed(
        "agent",
        agent,
        embedding_of_agent(agent),
        config,
        lambda a, metadata: replace(a, embedding_config=config.to_dict(), metadata=metadata),
        catalog.archival_of,
        lambda spec: catalog.collections.collection(Table.ARCHIVAL, scope, spec),
        catalog.save_agent,
        progress,
    )


__all__ = ["ReembedReport", "reembed_agent", "reembed_source"]
