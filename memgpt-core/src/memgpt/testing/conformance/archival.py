"""Writes, reads, counts, deletes and vector search on every passage and message table the backend declares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from memgpt.errors import EmbeddingMismatch, InvalidRecord, UnsupportedOperation, UnsupportedRecordKind
from memgpt.kinds import RecordKind, Table
from memgpt.storage.backend import Backend, Question, Store
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.connector import Capability
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import VECTOR_TABLES, ConformanceBase, ids_of, same_records, scope_of
from memgpt.testing.data import (
    BASE_TIME,
    DIM,
    MODEL,
    make_record,
    owner_field,
    random_unit_vectors,
)


class ArchivalConformance(ConformanceBase):
    """Writes, reads, counts, deletes and vector search on every passage and message table the backend declares.

    Also: the backend declares itself, passes a health check, refuses record
    kinds and capabilities it does not declare with a clear error, and the
    core's record checks hold on it."""

    def test_backend_declares_itself(self, backend: Backend) -> None:
        assert isinstance(backend.name, str) and backend.name == backend.name.strip().lower() and backend.name
        assert isinstance(backend.label, str) and backend.label
        assert backend.kinds and set(backend.kinds) <= set(RecordKind)
        assert all(isinstance(q, Question) and q.key and q.prompt for q in backend.questions)
        assert len({q.key for q in backend.questions}) == len(backend.questions)
        assert isinstance(backend.settings_from_uri(""), dict)

    def test_health_check_passes_for_a_working_store(
        self, backend: Backend, backend_settings: dict[str, str], store: Store
    ) -> None:
        store.ping()
        health = backend.check(backend_settings)
        assert health.ok, health.message

    def test_undeclared_kinds_are_refused(self, backend: Backend, store: Store) -> None:
        missing = [t for t in Table if t.kind not in backend.kinds]
        if not missing:
            pytest.skip("backend declares every record kind")
        for table in missing:
            with pytest.raises(UnsupportedRecordKind, match=backend.name):
                open_collection(backend, store, table, Where.everything())

    def test_undeclared_capabilities_fail_clearly(self, backend: Backend, collection: Callable[..., Collection]) -> None:
        calls = {
            Capability.VECTOR_SEARCH: lambda c: c.search(np.ones(DIM, dtype=np.float32), k=3),
            Capability.TEXT_SEARCH: lambda c: c.text_search("record"),
            Capability.DATE_SEARCH: lambda c: c.date_search(BASE_TIME, BASE_TIME + timedelta(days=1)),
        }
        checked = 0
        for table in VECTOR_TABLES:
            if table.kind not in backend.kinds:
                continue
            coll = collection(table)
            coll.insert([make_record(table, 0)])
            for capability, call in calls.items():
                if capability is Capability.DATE_SEARCH and table is not Table.RECALL:
                    continue
                if capability not in coll.connector.capabilities:
                    checked += 1
                    with pytest.raises(UnsupportedOperation, match=capability.value.replace("_", " ")):
                        call(coll)
        if not checked:
            pytest.skip("backend declares every search capability")

    def test_insert_then_get_returns_equal_records(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 12)
        for record in records:
            assert same_records(coll.get(record.id), record)
        assert coll.count() == 12

    def test_records_without_embedding_are_stored(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        record = make_record(table, 1, with_embedding=False)
        coll.insert([record])
        assert same_records(coll.get(record.id), record)
        assert coll.get(record.id).embedding is None

    def test_get_many_keeps_order_and_skips_missing(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 6)
        wanted = [records[4].id, "no-such-id", records[1].id, records[4].id]
        assert ids_of(coll.get_many(wanted)) == [records[4].id, records[1].id]
        assert coll.get("no-such-id") is None
        assert coll.get_many([]) == []

    def test_upsert_is_idempotent(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 20)
        coll.insert(records)
        coll.insert(records[:5])
        assert coll.count() == 20
        assert same_records(coll.get_many(ids_of(records)), records)

    def test_upsert_replaces_text_metadata_and_vector(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 10)
        new_vector = random_unit_vectors(1, seed=999)[0]
        replacement = make_record(table, 3, vector=new_vector, text="replaced text")
        replacement.metadata = {"replaced": True}
        coll.insert([replacement])
        assert coll.count() == 10
        assert same_records(coll.get(replacement.id), replacement)
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            top = coll.search(new_vector, k=1)[0]
            assert top.record.id == replacement.id and top.score == pytest.approx(1.0, abs=1e-4)
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert ids_of(coll.text_search("replaced text")) == [replacement.id]

    def test_upsert_clears_a_field_the_new_version_lacks(self, table: Table, collection: Callable[..., Collection]) -> None:
        """An upsert replaces the whole record: a field it leaves empty is gone, not kept from the old version
        (engines that merge an update into the stored record, like Chroma's metadata, must clear it)."""
        if "document_id" not in table.filter_fields:
            pytest.skip(f"'{table.value}' records have no optional field to filter on")
        coll = collection(table)
        first = make_record(table, 3, document_id="doc-1")
        coll.insert([first, make_record(table, 4, document_id="doc-1")])
        coll.insert([replace(first, document_id=None)])
        assert coll.get(first.id).document_id is None
        assert coll.count(Where.of(document_id="doc-1")) == 1

    def test_duplicate_ids_in_one_batch_keep_the_last(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        first = make_record(table, 1, text="first version")
        second = make_record(table, 1, text="second version", vector=random_unit_vectors(1, seed=5)[0])
        other = make_record(table, 2)
        assert coll.insert([first, other, second]) == 2
        assert coll.count() == 2
        assert same_records(coll.get(first.id), second)

    def test_count_with_filters(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 30)
        self.fill(coll, table, 5, owner="owner-2")
        assert coll.count() == 35
        assert coll.count(scope_of(table, "owner-2")) == 5
        assert coll.count(Where.of(user_id="nobody")) == 0
        if table is Table.RECALL:
            assert coll.count(Where.of(role="user")) == 18  # 15 of owner-1 + 3 of owner-2
            assert coll.count(Where.of(role=["user", "assistant"])) == 35
        else:
            assert coll.count(Where.of(document_id="doc-0")) == 10 + 2
            assert coll.count(Where.of(document_id=["doc-0", "doc-1"])) == 20 + 4

    def test_iteration_returns_every_record_once_in_bounded_batches(
        self, table: Table, collection: Callable[..., Collection]
    ) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 53)
        self.fill(coll, table, 4, owner="owner-2")
        batches = list(coll.batches(scope_of(table, "owner-1"), batch_size=7))
        assert all(0 < len(b) <= 7 for b in batches)
        seen = [r.id for b in batches for r in b]
        assert sorted(seen) == sorted(ids_of(records))
        assert {r.id: r for b in batches for r in b} == {r.id: r for r in records}
        assert sum(1 for _ in coll.iterate()) == 57

    def test_delete_by_ids(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 10)
        assert coll.delete([records[0].id, records[5].id, "missing"]) == 2
        assert coll.delete(records[0].id) == 0
        assert coll.count() == 8
        assert coll.get(records[5].id) is None
        assert coll.get(records[6].id) == records[6]
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            hits = coll.search(records[5].embedding, k=10)
            assert records[5].id not in ids_of([h.record for h in hits])

    def test_delete_where(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 12)
        self.fill(coll, table, 6, owner="owner-2")
        if table is Table.RECALL:
            removed = coll.delete_where(Where.of(role="user", **{owner_field(table): "owner-1"}))
            assert removed == 6
            assert coll.count(Where.of(role="user")) == 3
        else:
            removed = coll.delete_where(Where.of(document_id="doc-1", **{owner_field(table): "owner-1"}))
            assert removed == 4
            assert coll.count(Where.of(document_id="doc-1")) == 2
        assert coll.delete_where(scope_of(table, "owner-2")) == 6
        assert coll.count() == 12 - (6 if table is Table.RECALL else 4)
        remaining = coll.count()
        assert coll.delete_where(Where.everything()) == remaining
        assert coll.count() == 0

    def test_empty_results(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        assert coll.count() == 0
        assert list(coll.iterate()) == []
        assert coll.get_many(["a", "b"]) == []
        assert coll.delete(["a"]) == 0
        assert coll.delete_where(Where.everything()) == 0
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            assert coll.search(np.ones(DIM), k=5) == []
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert coll.text_search("anything") == []
        self.fill(coll, table, 3)
        assert coll.count(Where.of(id=[])) == 0
        assert coll.count(scope_of(table, "nobody")) == 0
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert coll.text_search("no such words") == []

    def test_ten_thousand_records_in_one_batch(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        vectors = random_unit_vectors(10_000, seed=42)
        records = [make_record(table, i, vector=vectors[i], text=f"bulk record number {i}") for i in range(10_000)]
        assert coll.insert(records) == 10_000
        assert coll.count() == 10_000
        for i in (0, 4_321, 9_999):
            assert same_records(coll.get(records[i].id), records[i])
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            hit = coll.search(vectors[7_777], k=1)[0]
            assert hit.record.id == records[7_777].id
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert ids_of(coll.text_search("bulk record number 9998")) == [records[9_998].id]

    def test_unicode_and_very_long_texts(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        texts = [
            "Grüße aus Köln — naïve café, ½ price",
            "日本語のテキストと絵文字 🧠💾",
            "Ελληνικά και русский текст; עברית",
            "quotes ' \" ` and backslashes \\ \\n and NUL-free control \t tab",
            "long " + "x" * 100_000 + " end",
        ]
        records = [make_record(table, i, text=t) for i, t in enumerate(texts)]
        records[0].metadata = {"ключ": "значение", "emoji": "🧠", "list": [1, "二", None, True]}
        coll.insert(records)
        assert same_records(coll.get_many(ids_of(records)), records)
        assert len(coll.get(records[4].id).text) == len(texts[4])

    def test_created_at_keeps_microseconds_and_utc(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        record = make_record(table, 1, created_at=BASE_TIME + timedelta(microseconds=789))
        coll.insert([record])
        stored = coll.get(record.id)
        assert stored.created_at == record.created_at
        assert stored.created_at.utcoffset() == timedelta(0)

    def test_vector_search_finds_the_exact_nearest(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        vectors = random_unit_vectors(300, seed=7)
        records = [make_record(table, i, vector=vectors[i]) for i in range(300)]
        coll.insert(records)
        queries = random_unit_vectors(5, seed=8)
        found_total = 0
        for query in queries:
            exact = np.argsort(-(vectors @ query), kind="stable")[:10]
            hits = coll.search(query, k=10)
            assert len(hits) == 10
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
            for hit in hits:
                i = int(hit.record.id.rsplit("-", 1)[1])
                assert hit.score == pytest.approx(float(vectors[i] @ query), abs=1e-3)
            found_total += len({records[i].id for i in exact} & {h.record.id for h in hits})
        assert found_total / 50 >= 0.9, f"recall@10 {found_total / 50:.2f} is below 0.9"
        for i in (0, 150, 299):
            top = coll.search(vectors[i], k=1)[0]
            assert top.record == records[i]
            assert top.score == pytest.approx(1.0, abs=1e-4)

    def test_equal_scores_are_cut_by_id(self, table: Table, collection: Callable[..., Collection]) -> None:
        """Twenty-five copies of one vector tie: every backend returns the same ones, the smallest ids."""
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        target = random_unit_vectors(1, seed=21)[0]
        others = random_unit_vectors(200, seed=22)
        ids = [f"tie-{n:02d}" for n in range(25)]
        shuffled = np.random.default_rng(3).permutation(25).tolist()  # written in another order than their ids
        records = [make_record(table, i, id=ids[n], vector=target.copy()) for i, n in enumerate(shuffled)]
        records += [make_record(table, 100 + i, vector=v) for i, v in enumerate(others)]
        coll.insert(records)
        best = max(float(v @ target) for v in others)
        assert best < 0.9
        for k in (1, 5, 12, 30):
            hits = coll.search(target, k=k)
            expected = ids[: min(k, 25)]
            assert [h.record.id for h in hits][: len(expected)] == expected, f"k={k}"
            assert len({h.score for h in hits[: len(expected)]}) == 1  # one exact score for identical vectors
            if k > 25:
                assert len(hits) == k and hits[25].score == pytest.approx(best, abs=1e-4)

    def test_scores_are_cosine_similarities(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        e1, e2 = np.zeros(DIM, dtype=np.float32), np.zeros(DIM, dtype=np.float32)
        e1[0], e2[1] = 1.0, 1.0
        vectors = {"same": 3 * e1, "diagonal": e1 + e2, "orthogonal": 0.5 * e2, "opposite": -2 * e1}
        coll.insert([make_record(table, i, id=name, vector=v) for i, (name, v) in enumerate(vectors.items())])
        hits = coll.search(e1 * 7, k=4)
        assert [h.record.id for h in hits] == ["same", "diagonal", "orthogonal", "opposite"]
        assert [h.score for h in hits] == pytest.approx([1.0, 2**-0.5, 0.0, -1.0], abs=1e-4)
        assert np.array_equal(coll.get("same").embedding, 3 * e1)  # stored as given, not normalized

    def test_search_skips_records_without_embedding(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        with_vectors = self.fill(coll, table, 3)
        coll.insert([make_record(table, 10 + i, with_embedding=False) for i in range(4)])
        hits = coll.search(with_vectors[0].embedding, k=10)
        assert sorted(ids_of([h.record for h in hits])) == sorted(ids_of(with_vectors))

    def test_an_empty_text_round_trips_as_an_empty_string(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = [make_record(table, 0, text=""), make_record(table, 1, text="", with_embedding=False)]
        coll.insert(records)
        for stored in (coll.get_many(ids_of(records)), list(coll.iterate())):
            assert sorted((r.id, r.text) for r in stored) == [(r.id, "") for r in records]
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            assert coll.search(records[0].embedding, k=1)[0].record.text == ""

    def test_wrong_dimension_is_refused_and_nothing_is_lost(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 5)
        assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM
        wrong = make_record(table, 9, vector=np.ones(DIM + 8, dtype=np.float32))
        with pytest.raises(EmbeddingMismatch) as raised:
            coll.insert([make_record(table, 8), wrong])
        message = str(raised.value)
        assert str(DIM) in message and str(DIM + 8) in message and "\n" not in message
        assert coll.count() == 5 and same_records(coll.get_many(ids_of(records)), records)
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            with pytest.raises(EmbeddingMismatch, match=str(DIM)):
                coll.search(np.ones(DIM * 2), k=3)

    def test_other_model_is_refused(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 2)
        with pytest.raises(EmbeddingMismatch) as raised:
            coll.insert([make_record(table, 5, model="another-model")])
        assert MODEL in str(raised.value) and "another-model" in str(raised.value)
        assert coll.count() == 2
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            with pytest.raises(EmbeddingMismatch, match="another-model"):
                coll.search(np.ones(DIM), k=1, model="another-model")

    def test_drop_forgets_records_and_dimension(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table, Where.everything())
        self.fill(coll, table, 5)
        with pytest.raises(UnsupportedOperation):
            collection(table, scope_of(table, "owner-1")).drop()
        with pytest.raises(UnsupportedOperation):
            collection(table).drop()  # one user's view cannot drop everyone's records
        coll.drop()
        assert coll.count() == 0
        assert coll.embedding_spec is None
        other = make_record(table, 1, vector=np.ones(DIM * 2, dtype=np.float32), model="wider-model")
        coll.insert([other])
        assert collection(table).get(other.id) == other
        assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM * 2

    def test_invalid_records_are_refused_before_writing(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        good = make_record(table, 1)
        zero = make_record(table, 2, vector=np.zeros(DIM, dtype=np.float32))
        with pytest.raises(InvalidRecord, match="zero"):
            coll.insert([good, zero])
        nan = make_record(table, 3, vector=np.full(DIM, np.nan, dtype=np.float32))
        with pytest.raises(InvalidRecord, match="NaN"):
            coll.insert([nan])
        escaping = make_record(table, 4, owner="../../etc")
        with pytest.raises(InvalidRecord, match="may not contain"):
            coll.insert([escaping])
        no_model = make_record(table, 5)
        no_model.embedding_model = None
        with pytest.raises(InvalidRecord, match="embedding_model"):
            coll.insert([no_model])
        wrong_type = make_record(Table.RECALL if table is not Table.RECALL else Table.ARCHIVAL, 6)
        with pytest.raises(InvalidRecord, match="holds"):
            coll.insert([wrong_type])
        assert coll.count() == 0
