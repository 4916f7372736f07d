"""Stores that keep a collection per owner (:mod:`memgpt.storage.partitions`): routing, merging and the move."""

from __future__ import annotations

import pytest

from memgpt.errors import StorageError
from memgpt.kinds import Table
from memgpt.storage.backend import Backend, Store
from memgpt.storage.codec import encode_many
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.partitions import OwnerConnector, PartitionedConnector, is_partitioned, partition_shelf
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import ConformanceBase, StoreOpener, ids_of, same_records, scope_of
from memgpt.testing.data import OTHER_USER, USER, make_record, owner_field, random_unit_vectors


class PartitionsConformance(ConformanceBase):
    """For a store listing ``archival`` or ``source_passages`` in ``partitioned_tables``: each owner's records
    in a collection of their own, every wider scope answered as one table would, rows from before moved once."""

    @pytest.fixture
    def partitioned(self, shelved_table: Table, store: Store) -> Table:
        if not is_partitioned(store, shelved_table):
            pytest.skip(f"the store keeps {shelved_table.value} as one collection (no partitioned_tables)")
        return shelved_table

    def test_each_owner_s_records_live_in_a_partition_of_their_own(
        self, backend: Backend, store: Store, partitioned: Table
    ) -> None:
        table = partitioned
        owners = [(USER, "owner-1"), (USER, "owner-2"), (OTHER_USER, "owner-1")]
        written = {}
        for n, (user, owner) in enumerate(owners, start=3):
            coll = open_collection(backend, store, table, scope_of(table, owner, user))
            assert isinstance(coll.connector, OwnerConnector), "a scope of one user's owner reads its partition alone"
            written[(user, owner)] = [make_record(table, i, owner=owner, user=user) for i in range(n)]
            coll.insert(written[(user, owner)])
        shelves = {partition_shelf("", user, owner) for user, owner in owners}
        assert store.partition_shelves(table) == shelves
        assert store.connector(table).count(Where.everything()) == 0, "the table's own collection holds no rows"

        everyone = open_collection(backend, store, table, Where.everything())
        assert isinstance(everyone.connector, PartitionedConnector)
        assert everyone.count() == 3 + 4 + 5
        mine = open_collection(backend, store, table, Where.of(user_id=USER))
        assert sorted(ids_of(list(mine.iterate()))) == sorted(ids_of(written[(USER, "owner-1")] + written[(USER, "owner-2")]))
        query = random_unit_vectors(1, seed=5)[0]
        hits = mine.search(query, k=5)
        expected = sorted(
            written[(USER, "owner-1")] + written[(USER, "owner-2")],
            key=lambda r: (-float(r.embedding @ query / (r.embedding @ r.embedding) ** 0.5), r.id),
        )
        assert ids_of([h.record for h in hits]) == ids_of(expected[:5]), "the best of every partition, merged"
        by_time = sorted(written[(USER, "owner-1")] + written[(USER, "owner-2")], key=lambda r: (r.created_at, r.id))
        assert ids_of(mine.text_search("record", limit=3, offset=2)) == ids_of(by_time[2:5]), "merged by time, then paged"
        assert mine.text_count("record") == 3 + 4
        same_records(mine.get(written[(USER, "owner-2")][0].id), written[(USER, "owner-2")][0])

        owner_1 = Where.of(**{owner_field(table): "owner-1"})
        both = open_collection(backend, store, table, owner_1)
        assert sorted(ids_of(list(both.iterate()))) == sorted(
            ids_of(written[(USER, "owner-1")] + written[(OTHER_USER, "owner-1")])
        )
        assert len(everyone.connector.partitions(owner_1)) == 2, "an owner's name, of every user, reads its partitions alone"
        assert len(everyone.connector.partitions(Where.of(user_id=USER))) == 2

        # a write through the wide scope lands in each record's partition
        extra = make_record(table, 50, owner="owner-2")
        mine.insert([extra])
        assert open_collection(backend, store, table, scope_of(table, "owner-2", USER)).count() == 5
        assert mine.delete_where(Where.of(**{owner_field(table): "owner-1"})) == 3
        assert everyone.count() == 5 + 5
        everyone.drop()
        assert store.partition_shelves(table) == set() and everyone.count() == 0
        again = open_collection(backend, store, table, scope_of(table, "owner-1", USER))
        again.insert([make_record(table, 0, owner="owner-1")])  # the agent's collection is made again
        assert again.count() == 1 and store.partition_shelves(table) == {partition_shelf("", USER, "owner-1")}

    def test_rows_of_two_names_sharing_a_partition_stay_apart(self, backend: Backend, store: Store, partitioned: Table) -> None:
        """Two owners whose names share a partition's digits share its collection: every answer stays exact."""
        table = partitioned
        mine = open_collection(backend, store, table, scope_of(table, "owner-1", USER))
        query = random_unit_vectors(1, seed=21)[0]
        own = [make_record(table, i, owner="owner-1", vector=random_unit_vectors(1, seed=100 + i)[0]) for i in range(6)]
        mine.insert(own)
        twins = [make_record(table, i, owner="twin", vector=query) for i in range(4)]  # the closest to the query
        store.connector(table, partition_shelf("", USER, "owner-1")).upsert(encode_many(table, twins))

        hits = mine.search(query, k=3)
        best = sorted(own, key=lambda r: (-float(r.embedding @ query), r.id))[:3]
        assert ids_of([h.record for h in hits]) == ids_of(best) and all(h.record.id not in ids_of(twins) for h in hits)
        assert mine.count() == 6 and sorted(ids_of(list(mine.iterate()))) == sorted(ids_of(own))
        assert mine.text_count("record") == 6

    def _as_before_partitions(self, backend: Backend, opener: StoreOpener, table: Table) -> list:
        """Records written into the table's own collection, as a store from before partitions holds them."""
        store = opener.open()
        records = [make_record(table, i, owner=f"owner-{i % 3}", user=(USER, OTHER_USER)[i % 2]) for i in range(12)]
        own = Collection(store.connector(table), scope=Where.everything())
        own.insert(records)
        opener.close(store)
        return records

    def test_rows_from_before_partitions_move_to_their_partitions_once(
        self, backend: Backend, opener: StoreOpener, store: Store, partitioned: Table
    ) -> None:
        table = partitioned
        records = self._as_before_partitions(backend, opener, table)
        reopened = opener.open()
        coll = open_collection(backend, reopened, table, scope_of(table, "owner-1", USER))
        expected = [r for r in records if r.user_id == USER and getattr(r, owner_field(table)) == "owner-1"]
        assert expected
        assert sorted(ids_of(list(coll.iterate()))) == sorted(ids_of(expected))
        assert reopened.connector(table).count(Where.everything()) == 0
        assert open_collection(backend, reopened, table, Where.everything()).count() == len(records)

    def test_a_move_cut_short_is_finished_by_the_next_open_without_duplicates(
        self, backend: Backend, opener: StoreOpener, store: Store, partitioned: Table, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        table = partitioned
        records = self._as_before_partitions(backend, opener, table)
        crashing = opener.open()
        own = crashing.connector(table)

        def crash(where: Where) -> int:
            raise StorageError("the process died between writing a batch to its partitions and removing it")

        monkeypatch.setattr(own, "delete", crash)
        monkeypatch.setattr("memgpt.storage.partitions.MOVE_BATCH", 5)
        with pytest.raises(StorageError, match="process died"):
            open_collection(backend, crashing, table, Where.everything())
        opener.close(crashing)
        monkeypatch.undo()

        again = opener.open()
        everyone = open_collection(backend, again, table, Where.everything())
        stored = list(everyone.iterate())
        assert sorted(ids_of(stored)) == sorted(ids_of(records)) and everyone.count() == len(records)
        assert again.connector(table).count(Where.everything()) == 0
