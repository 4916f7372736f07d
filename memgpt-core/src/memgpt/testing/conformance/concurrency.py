"""Several processes on one store, and racing to record the embedding spec."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.backend import Backend, Store
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import VECTOR_TABLES, ConformanceBase, StoreOpener
from memgpt.testing.data import (
    DIM,
    MODEL,
    USER,
)


class ConcurrencyConformance(ConformanceBase):
    """Several processes on one store, and racing to record the embedding spec."""

    def test_several_processes_write_and_read_without_loss_or_duplicates(
        self, backend: Backend, backend_settings: dict[str, str], opener: StoreOpener, store: Store
    ) -> None:
        """Three writer processes (single-record inserts, racing to record the embedding spec) and a reader at once.

        No operation may fail, nothing may be stored twice or lost, and no
        process may print anything on stderr. An engine that cannot share its
        files makes processes take turns (memgpt.locks), so they still succeed.
        """
        from memgpt.testing.processes import run_workers

        if not store.persistent:
            pytest.skip("this location lives in one process (in memory)")
        table = next((t for t in VECTOR_TABLES if t.kind in backend.kinds), None)
        if table is None:
            pytest.skip(f"backend {backend.name!r} declares no passage or message table")
        writers, count = 3, 40
        opener.close(store)  # this process lets go too: an engine that serves one process at a time would wait for it
        reports = run_workers(backend, dict(backend_settings), table, writers=writers, count=count, readers=1, rounds=8)
        problems = [(r.get("who", "reader"), r["errors"][:2], r["stderr"][-300:]) for r in reports if r["errors"] or r["stderr"]]
        assert not problems, problems
        everyone = open_collection(backend, opener.open(), table, Where.of(user_id=USER))
        ids = [r.id for r in everyone.iterate()]
        assert len(ids) == len(set(ids)) == writers * count
        assert set(ids) == {f"w{n}-{i}" for n in range(writers) for i in range(count)}
        assert everyone.embedding_spec == EmbeddingSpec(MODEL, DIM)

    def test_recording_the_embedding_spec_twice_is_safe(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table, Where.everything())
        spec = EmbeddingSpec(MODEL, DIM)
        assert coll.connector.ensure_embedding_spec(spec) == spec
        assert coll.connector.ensure_embedding_spec(spec) == spec
        assert coll.connector.ensure_embedding_spec(EmbeddingSpec("another-model", DIM * 2)) == spec
        assert coll.embedding_spec == spec
        self.fill(collection(table), table, 3)
        assert collection(table).count() == 3
