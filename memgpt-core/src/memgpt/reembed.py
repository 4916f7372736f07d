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
from typing import Any

from memgpt.catalog import Catalog, embedding_of_agent, embedding_of_source, spec_of
from memgpt.embeddings.batching import embed_texts
from memgpt.embeddings.provider import EmbeddingConfig, open_embedder
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


def reembed_source(catalog: Catalog, name: str, config: EmbeddingConfig, progress: Progress | None = None) -> ReembedReport:
    """Embed every passage of data source ``name`` again with ``config`` and switch the source to it."""
    source = catalog.get_source(name)
    current = embedding_of_source(source)
    report = ReembedReport("source", source.name, str(current), str(config))
    scope = Where.of(user_id=catalog.user_id, source=source.name)
    if spec_of(current) == spec_of(config):
        report.unchanged = True
    else:
        new_source = replace(
            source,
            embedding_model=config.model,
            embedding_dim=config.dim,
            metadata={**source.metadata, "embedding": config.to_dict(), PREVIOUS: _as_dict(spec_of(current))},
        )
        report.passages = _copy(
            catalog.source_passages(source), catalog.source_passages(new_source, claim=True), config, progress
        )
        catalog.add_source(new_source)  # the switch: searches and loads use the new model from here on
        source = new_source
    previous = _previous(source.metadata)
    if previous is not None:
        old = catalog.collections.collection(Table.SOURCE_PASSAGES, scope, previous)
        report.removed = old.delete_where(Where.everything())
        catalog.add_source(replace(source, metadata={k: v for k, v in source.metadata.items() if k != PREVIOUS}))
    return report


def reembed_agent(catalog: Catalog, name: str, config: EmbeddingConfig, progress: Progress | None = None) -> ReembedReport:
    """Embed the agent's archival passages again with ``config`` and switch the agent to it.

    Its recall memory has no vectors and stays as it is; attached sources keep
    their own models (the agent searches each with its own).
    """
    agent = catalog.get_agent(name)
    current = embedding_of_agent(agent)
    report = ReembedReport("agent", agent.name, str(current), str(config))
    scope = Where.of(user_id=agent.user_id, agent_id=agent.id)
    if spec_of(current) == spec_of(config):
        report.unchanged = True
    else:
        new_agent = replace(
            agent, embedding_config=config.to_dict(), metadata={**agent.metadata, PREVIOUS: _as_dict(spec_of(current))}
        )
        report.passages = _copy(catalog.archival_of(agent), catalog.archival_of(new_agent, claim=True), config, progress)
        agent = catalog.save_agent(new_agent)
    previous = _previous(agent.metadata)
    if previous is not None:
        old = catalog.collections.collection(Table.ARCHIVAL, scope, previous)
        report.removed = old.delete_where(Where.everything())
        catalog.save_agent(replace(agent, metadata={k: v for k, v in agent.metadata.items() if k != PREVIOUS}))
    return report


__all__ = ["ReembedReport", "reembed_agent", "reembed_source"]
