"""Records and shelves survive closing the store and opening the same location again (skipped for in-memory locations)."""

from __future__ import annotations

from typing import Any

import pytest

from memgpt.kinds import RecordKind, Table
from memgpt.storage.backend import Backend, Store
from memgpt.storage.configured import open_collection
from memgpt.storage.connector import Capability
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import (
    CATALOG_TABLES,
    SUITE_SPECS,
    VECTOR_TABLES,
    ConformanceBase,
    StoreOpener,
    ids_of,
    same_records,
)
from memgpt.testing.data import (
    DIM,
    USER,
    make_agent,
    make_profile,
    make_source,
)


class PersistenceConformance(ConformanceBase):
    """Records and shelves survive closing the store and opening the same location again (skipped for in-memory locations)."""

    def test_records_survive_close_and_reopen(self, backend: Backend, opener: StoreOpener, store: Store) -> None:
        if not store.persistent:
            pytest.skip("this location is not persistent (in-memory)")
        written: dict[Table, list[Any]] = {}
        for table in VECTOR_TABLES:
            if table.kind in backend.kinds:
                written[table] = self.fill(open_collection(backend, store, table, Where.everything()), table, 7)
        if RecordKind.AGENTS in backend.kinds:
            written[Table.AGENTS] = [make_agent(i) for i in range(3)]
            written[Table.SOURCES] = [make_source(f"source-{i}") for i in range(2)]
            written[Table.PROFILES] = [make_profile("persona", "sam"), make_profile("human", "sam")]
            for table in CATALOG_TABLES:
                open_collection(backend, store, table, Where.everything()).insert(written[table])
        opener.close(store)
        reopened = opener.open()
        for table, records in written.items():
            coll = open_collection(backend, reopened, table, Where.of(user_id=USER))
            assert coll.count() == len(records)
            assert same_records(coll.get_many(ids_of(records)), records)
            if table.has_vectors:
                assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM
                if Capability.VECTOR_SEARCH in coll.connector.capabilities:
                    assert coll.search(records[3].embedding, k=1)[0].record.id == records[3].id

    def test_shelves_survive_close_and_reopen(
        self, backend: Backend, opener: StoreOpener, store: Store, shelved_table: Table
    ) -> None:
        if not store.persistent:
            pytest.skip("this location is not persistent (in-memory)")
        table = shelved_table
        _, _, old_records, new_records = self._two_models(backend, store, table)
        opener.close(store)
        reopened = opener.open()
        new = open_collection(backend, reopened, table, Where.of(user_id=USER), spec=SUITE_SPECS[1])
        old = open_collection(backend, reopened, table, Where.of(user_id=USER), spec=SUITE_SPECS[0])
        assert sorted(ids_of(list(new.iterate()))) == sorted(ids_of(new_records))
        assert sorted(ids_of(list(old.iterate()))) == sorted(ids_of(old_records))
