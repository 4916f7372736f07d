"""Every operation stays inside its scope: owners, users, and filter values that look like query syntax."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from memgpt.errors import InvalidRecord
from memgpt.kinds import Table
from memgpt.storage.collection import Collection
from memgpt.storage.connector import Capability
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import TRICKY_NAMES, ConformanceBase, ids_of, same_records, scope_of
from memgpt.testing.data import (
    BASE_TIME,
    DIM,
    OTHER_USER,
    USER,
    make_record,
    owner_field,
    random_unit_vectors,
)


class ScopeConformance(ConformanceBase):
    """Every operation stays inside its scope: owners, users, and filter values that look like query syntax."""

    def test_scoped_search_returns_k_records_of_the_scope(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        target = random_unit_vectors(1, seed=11)[0]
        records = []
        for o in range(25):
            for i in range(40):
                noise = random_unit_vectors(1, seed=o * 1000 + i)[0]
                # every other owner's records lie closer to the query than the scope's own
                vector = (0.2 * noise + (target if o != 7 else -target)).astype(np.float32)
                records.append(make_record(table, i, owner=f"owner-{o}", vector=vector))
        records += [make_record(table, i, owner="tiny", vector=target) for i in range(3)]
        coll.insert(records)
        scoped = collection(table, scope_of(table, "owner-7"))
        hits = scoped.search(target, k=10)
        assert len(hits) == 10
        assert {getattr(h.record, owner_field(table)) for h in hits} == {"owner-7"}
        assert len(collection(table, scope_of(table, "tiny")).search(target, k=10)) == 3
        either = coll.search(target, k=50, where=Where.of(**{owner_field(table): ["owner-7", "tiny"]}))
        assert len(either) == 43
        assert {getattr(h.record, owner_field(table)) for h in either} == {"owner-7", "tiny"}
        by_doc = coll.search(
            target,
            k=5,
            where=Where.of(
                **{owner_field(table): "owner-3"}, **({"role": "user"} if table is Table.RECALL else {"document_id": "doc-2"})
            ),
        )
        assert len(by_doc) == 5

    def test_scope_isolates_owners(self, table: Table, collection: Callable[..., Collection]) -> None:
        a = collection(table, scope_of(table, "owner-a", "user-1"))
        b = collection(table, scope_of(table, "owner-b", "user-1"))
        a_records = self.fill(a, table, 8, owner="owner-a")
        b_records = self.fill(b, table, 8, owner="owner-b")
        assert a.count() == 8 and b.count() == 8
        assert a.get(b_records[0].id) is None
        assert a.get_many(ids_of(b_records)) == []
        assert a.delete(ids_of(b_records)) == 0
        assert a.delete_where(Where.everything()) == 8
        assert b.count() == 8 and b.get_many(ids_of(b_records)) == b_records
        with pytest.raises(InvalidRecord, match="scope"):
            a.insert([make_record(table, 99, owner="owner-b")])
        assert b.count() == 8
        a.insert(a_records)
        assert {r.id for r in a.iterate()} == set(ids_of(a_records))
        if Capability.VECTOR_SEARCH in a.connector.capabilities:
            hits = a.search(b_records[0].embedding, k=20)
            assert len(hits) == 8 and all(h.record.id in set(ids_of(a_records)) for h in hits)
        if Capability.TEXT_SEARCH in a.connector.capabilities:
            assert a.text_search("owner-b") == []
            assert len(b.text_search("owner-b")) == 8

    def test_scope_separates_users(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table, Where.everything())
        mine = self.fill(coll, table, 4, owner="shared", user=USER)
        theirs = [make_record(table, 10 + i, owner="shared", user=OTHER_USER) for i in range(3)]
        coll.insert(theirs)
        user1 = collection(table, scope_of(table, "shared", USER))
        assert user1.count() == 4
        assert {r.id for r in user1.iterate()} == set(ids_of(mine))
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            assert len(user1.search(theirs[0].embedding, k=10)) == 4
        # ordered searches and counts of one user's owner never take in another user's owner of that name
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert {r.id for r in user1.text_search("of shared")} == set(ids_of(mine))
            assert user1.text_count("of shared") == 4
        if table is Table.RECALL and Capability.DATE_SEARCH in coll.connector.capabilities:
            window = (BASE_TIME, BASE_TIME + timedelta(hours=1))
            assert {r.id for r in user1.date_search(*window)} == set(ids_of(mine)) and user1.date_count(*window) == 4

    def test_two_users_with_the_same_ids_never_touch_each_other(
        self, table: Table, collection: Callable[..., Collection]
    ) -> None:
        """Two users, one owner name, the same record ids: every operation of one leaves the other's records as they were."""
        everyone = collection(table, Where.everything())
        a, b = collection(table, Where.of(user_id=USER)), collection(table, Where.of(user_id=OTHER_USER))
        n = 6
        other_vectors = random_unit_vectors(n, seed=4242)
        mine = [make_record(table, i, owner="shared", user=USER, text=f"alpha note {i}") for i in range(n)]
        theirs = [
            make_record(table, i, owner="shared", user=OTHER_USER, text=f"beta note {i}", vector=other_vectors[i])
            for i in range(n)
        ]
        assert ids_of(mine) == ids_of(theirs)
        a.insert(mine)
        b.insert(theirs)  # load/upsert: the same ids, for another user
        assert (everyone.count(), a.count(), b.count()) == (2 * n, n, n)
        assert same_records(a.get_many(ids_of(mine)), mine) and same_records(b.get_many(ids_of(theirs)), theirs)
        assert same_records(everyone.find([theirs[1], mine[1]]), [theirs[1], mine[1]])
        assert sorted(r.text for r in a.iterate()) == sorted(r.text for r in mine)
        changed = replace(theirs[0], text="beta note replaced")
        b.insert([changed])
        assert same_records(a.get(mine[0].id), mine[0]) and b.get(changed.id).text == "beta note replaced"
        if Capability.VECTOR_SEARCH in everyone.connector.capabilities:
            hits = a.search(theirs[1].embedding, k=2 * n)
            assert len(hits) == n and all(h.record.user_id == USER for h in hits)
            top = b.search(theirs[1].embedding, k=1)[0]
            assert top.record.user_id == OTHER_USER and top.record.id == theirs[1].id
            assert top.score == pytest.approx(1.0, abs=1e-5)
        if Capability.TEXT_SEARCH in everyone.connector.capabilities:
            assert [r.text for r in a.text_search("note")] == [r.text for r in mine]
            assert a.text_search("beta") == [] and a.text_count("note") == n and b.text_count("alpha") == 0
        if table is Table.RECALL and Capability.DATE_SEARCH in everyone.connector.capabilities:
            window = (BASE_TIME, BASE_TIME + timedelta(hours=1))
            assert same_records(a.date_search(*window), mine) and a.date_count(*window) == n
        assert b.delete([mine[2].id]) == 1  # deletes their record with that id ...
        assert same_records(a.get(mine[2].id), mine[2]) and b.get(mine[2].id) is None  # ... never mine
        assert b.delete_where(Where.everything()) == n - 1
        assert a.count() == n and everyone.count() == n and same_records(a.get_many(ids_of(mine)), mine)

    def test_filter_values_are_matched_literally(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        for n, name in enumerate(TRICKY_NAMES):
            coll.insert([make_record(table, i, owner=name, id=f"tricky-{n}-{i}") for i in range(n + 1)])
        for n, name in enumerate(TRICKY_NAMES):
            scoped = collection(table, scope_of(table, name))
            assert scoped.count() == n + 1, name
            assert {getattr(r, owner_field(table)) for r in scoped.iterate()} == {name}
            if Capability.VECTOR_SEARCH in coll.connector.capabilities:
                hits = scoped.search(np.ones(DIM), k=50)
                assert len(hits) == n + 1 and {getattr(h.record, owner_field(table)) for h in hits} == {name}
        assert coll.count(Where.of(**{owner_field(table): "x"})) == 0
        assert coll.count(Where.of(**{owner_field(table): "%"})) == 0
        assert coll.count(Where.of(**{owner_field(table): "*"})) == 0
        if table is not Table.RECALL:
            coll.insert([make_record(table, 0, owner="docs", document_id='it\'s "quoted" == 1', id="doc-tricky")])
            assert ids_of(coll.iterate(Where.of(document_id='it\'s "quoted" == 1'))) == ["doc-tricky"]
        assert coll.delete_where(scope_of(table, TRICKY_NAMES[2])) == 3
        assert coll.count(scope_of(table, TRICKY_NAMES[1])) == 2
