"""The conformance suite: what every storage backend must do.

The checks go through :class:`~memgpt.storage.Collection`, the same path
memgpt itself uses, so they test the backend together with the core's
validation. Tests for a record kind the backend does not declare are skipped;
instead, :meth:`BackendConformance.test_undeclared_kinds_are_refused` checks
that asking for it fails clearly. Capabilities a connector does not declare
are checked the same way.

Every test starts from empty tables (the suite drops each declared table
first), so a backend may point every test at the same server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from memgpt.errors import EmbeddingMismatch, InvalidRecord, UnsupportedOperation, UnsupportedRecordKind
from memgpt.kinds import RecordKind, Table
from memgpt.records import AgentState, EmbeddingSpec, Source
from memgpt.storage.backend import Backend, Question, Store
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.connector import Capability
from memgpt.storage.shelves import SHELVED_TABLES, shelf_of
from memgpt.storage.where import Where
from memgpt.testing.data import (
    BASE_TIME,
    DIM,
    MODEL,
    OTHER_DIM,
    OTHER_MODEL,
    OTHER_USER,
    USER,
    make_agent,
    make_record,
    make_source,
    owner_field,
    random_unit_vectors,
)

VECTOR_TABLES = (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL)
SUITE_SPECS = (EmbeddingSpec(MODEL, DIM), EmbeddingSpec(OTHER_MODEL, OTHER_DIM))
CATALOG_TABLES = (Table.AGENTS, Table.SOURCES)

# Names that would break a filter expression if a backend pasted them into one.
TRICKY_NAMES = (
    "o'brien",
    'say "hi"',
    "x' OR '1'='1",
    'a" || "b',
    "100% _match_",
    "star*and?glob[1]",
    "brace {$ne: 1}",
    "semi; DROP TABLE x; --",
    "ünïcødé 名前",
)


def _scope(table: Table, owner: str, user: str | None = None) -> Where:
    return Where.of(**{owner_field(table): owner, "user_id": user})


def _declared(table: Table, backend: Backend) -> Table:
    """``table``, or the test is skipped when the backend does not declare its kind."""
    if table.kind not in backend.kinds:
        pytest.skip(f"backend {backend.name!r} does not declare {table.kind.value!r}")
    return table


def _ids(records: list[Any]) -> list[str]:
    return [r.id for r in records]


def _same(actual: Any, expected: Any) -> bool:
    """Assert records (or lists of them) are equal, comparing their dicts so a failure shows which field differs."""

    def as_dicts(value: Any) -> Any:
        if isinstance(value, list):
            return [as_dicts(v) for v in value]
        return None if value is None else value.to_dict()

    assert as_dicts(actual) == as_dicts(expected)
    return True


class StoreOpener:
    """Opens stores of the backend under test and closes them all at the end."""

    def __init__(self, backend: Backend, settings: dict[str, str]) -> None:
        self.backend = backend
        self.settings = settings
        self.stores: list[Store] = []

    def open(self) -> Store:
        store = self.backend.open(dict(self.settings))
        self.stores.append(store)
        return store

    def close(self, store: Store) -> None:
        if store in self.stores:
            self.stores.remove(store)
            store.close()

    def close_all(self) -> None:
        while self.stores:
            self.stores.pop().close()


class StoreCollections:
    """Collections of the store under test, with the catalog in the local store when the backend lacks it.

    This is what :class:`~memgpt.storage.Storage` does for a configuration; the
    suite uses it to run the memory API (:class:`~memgpt.client.MemGPTClient`)
    on the backend under test.
    """

    def __init__(self, backend: Backend, store: Store) -> None:
        from memgpt.local.store import open_local_store
        from memgpt.paths import memgpt_home

        self.backend = backend
        self.store = store
        self._local = None if RecordKind.AGENTS in backend.kinds else open_local_store(memgpt_home())

    def collection(self, table: Table, scope: Where, spec: EmbeddingSpec | None = None, claim: bool = False) -> Collection:
        if table.kind in self.backend.kinds:
            return open_collection(self.backend, self.store, table, scope, spec=spec, claim=claim)
        if table in CATALOG_TABLES and self._local is not None:
            from memgpt.default_plugins.local_backend import LocalBackend

            return open_collection(LocalBackend(), self._local, table, scope)
        pytest.skip(f"backend {self.backend.name!r} does not declare {table.kind.value!r}")

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None


class BackendConformance:
    """Inherit from this in a ``Test...`` class and override :meth:`backend` and :meth:`backend_settings`."""

    # -- fixtures a backend package provides ----------------------------------------------
    @pytest.fixture
    def backend(self) -> Backend:
        """The backend under test (an instance, as its plugin registers it)."""
        raise NotImplementedError("override the `backend` fixture in your conformance test class")

    @pytest.fixture
    def backend_settings(self) -> dict[str, str]:
        """Settings that locate an empty, writable store for this test."""
        raise NotImplementedError("override the `backend_settings` fixture in your conformance test class")

    # -- fixtures the suite provides ------------------------------------------------------
    @pytest.fixture
    def opener(self, backend: Backend, backend_settings: dict[str, str]) -> Iterator[StoreOpener]:
        opener = StoreOpener(backend, backend_settings)
        yield opener
        opener.close_all()

    @pytest.fixture
    def store(self, backend: Backend, opener: StoreOpener) -> Store:
        store = opener.open()
        for table in backend.tables():
            open_collection(backend, store, table, Where.everything()).drop()
            if table in SHELVED_TABLES:  # the shelves the suite's tests make, left by an earlier test on this server
                for spec in SUITE_SPECS:
                    Collection(store.connector(table, shelf_of(spec)), scope=Where.everything()).drop()
        return store

    @pytest.fixture
    def collection(self, backend: Backend, store: Store) -> Callable[..., Collection]:
        """``collection(table, scope=user-1's records)``: a collection of the store under test.

        Records are made for :data:`~memgpt.testing.data.USER` unless a test
        says otherwise; record ids are unique per user, so reads by id need a
        user in the scope (``Where.everything()`` for an unscoped view).
        """

        def make(table: Table, scope: Where | None = None) -> Collection:
            return open_collection(backend, store, table, scope if scope is not None else Where.of(user_id=USER))

        return make

    @pytest.fixture
    def client(self, backend: Backend, store: Store) -> Iterator[Any]:
        """A :class:`~memgpt.client.MemGPTClient` on the store under test (offline hashing embeddings)."""
        from memgpt.client import MemGPTClient
        from memgpt.config import MemGPTConfig

        for kind in (RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL):
            if kind not in backend.kinds:
                pytest.skip(f"the memory API needs {kind.value!r}, which backend {backend.name!r} does not declare")
        collections = StoreCollections(backend, store)
        config = MemGPTConfig.load()
        config.embedding_chunk_size = 40
        yield MemGPTClient(config, storage=collections)
        collections.close()

    @pytest.fixture(params=VECTOR_TABLES, ids=lambda t: t.value)
    def table(self, request: pytest.FixtureRequest, backend: Backend) -> Table:
        """Each passage and message table the backend declares."""
        return _declared(request.param, backend)

    @pytest.fixture
    def catalog(self, backend: Backend) -> None:
        if RecordKind.AGENTS not in backend.kinds:
            pytest.skip(f"backend {backend.name!r} does not declare 'agents' (the core's local catalog holds them)")

    def require(self, coll: Collection, capability: Capability) -> None:
        if capability not in coll.connector.capabilities:
            pytest.skip(f"connector declares no {capability.value} (checked by test_undeclared_capabilities_fail_clearly)")

    def fill(self, coll: Collection, table: Table, n: int, owner: str = "owner-1", **kw: Any) -> list[Any]:
        records = [make_record(table, i, owner=owner, **kw) for i in range(n)]
        coll.insert(records)
        return records

    # == declarations =======================================================================
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

    # == writes and reads ===================================================================
    def test_insert_then_get_returns_equal_records(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 12)
        for record in records:
            assert _same(coll.get(record.id), record)
        assert coll.count() == 12

    def test_records_without_embedding_are_stored(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        record = make_record(table, 1, with_embedding=False)
        coll.insert([record])
        assert _same(coll.get(record.id), record)
        assert coll.get(record.id).embedding is None

    def test_get_many_keeps_order_and_skips_missing(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 6)
        wanted = [records[4].id, "no-such-id", records[1].id, records[4].id]
        assert _ids(coll.get_many(wanted)) == [records[4].id, records[1].id]
        assert coll.get("no-such-id") is None
        assert coll.get_many([]) == []

    def test_upsert_is_idempotent(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 20)
        coll.insert(records)
        coll.insert(records[:5])
        assert coll.count() == 20
        assert _same(coll.get_many(_ids(records)), records)

    def test_upsert_replaces_text_metadata_and_vector(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 10)
        new_vector = random_unit_vectors(1, seed=999)[0]
        replacement = make_record(table, 3, vector=new_vector, text="replaced text")
        replacement.metadata = {"replaced": True}
        coll.insert([replacement])
        assert coll.count() == 10
        assert _same(coll.get(replacement.id), replacement)
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            top = coll.search(new_vector, k=1)[0]
            assert top.record.id == replacement.id and top.score == pytest.approx(1.0, abs=1e-4)
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert _ids(coll.text_search("replaced text")) == [replacement.id]

    def test_duplicate_ids_in_one_batch_keep_the_last(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        first = make_record(table, 1, text="first version")
        second = make_record(table, 1, text="second version", vector=random_unit_vectors(1, seed=5)[0])
        other = make_record(table, 2)
        assert coll.insert([first, other, second]) == 2
        assert coll.count() == 2
        assert _same(coll.get(first.id), second)

    def test_count_with_filters(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.fill(coll, table, 30)
        self.fill(coll, table, 5, owner="owner-2")
        assert coll.count() == 35
        assert coll.count(_scope(table, "owner-2")) == 5
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
        batches = list(coll.batches(_scope(table, "owner-1"), batch_size=7))
        assert all(0 < len(b) <= 7 for b in batches)
        seen = [r.id for b in batches for r in b]
        assert sorted(seen) == sorted(_ids(records))
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
            assert records[5].id not in _ids([h.record for h in hits])

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
        assert coll.delete_where(_scope(table, "owner-2")) == 6
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
        assert coll.count(_scope(table, "nobody")) == 0
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert coll.text_search("no such words") == []

    def test_ten_thousand_records_in_one_batch(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        vectors = random_unit_vectors(10_000, seed=42)
        records = [make_record(table, i, vector=vectors[i], text=f"bulk record number {i}") for i in range(10_000)]
        assert coll.insert(records) == 10_000
        assert coll.count() == 10_000
        for i in (0, 4_321, 9_999):
            assert _same(coll.get(records[i].id), records[i])
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            hit = coll.search(vectors[7_777], k=1)[0]
            assert hit.record.id == records[7_777].id
        if Capability.TEXT_SEARCH in coll.connector.capabilities:
            assert _ids(coll.text_search("bulk record number 9998")) == [records[9_998].id]

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
        assert _same(coll.get_many(_ids(records)), records)
        assert len(coll.get(records[4].id).text) == len(texts[4])

    def test_created_at_keeps_microseconds_and_utc(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        record = make_record(table, 1, created_at=BASE_TIME + timedelta(microseconds=789))
        coll.insert([record])
        stored = coll.get(record.id)
        assert stored.created_at == record.created_at
        assert stored.created_at.utcoffset() == timedelta(0)

    # == vector search ======================================================================
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
        scoped = collection(table, _scope(table, "owner-7"))
        hits = scoped.search(target, k=10)
        assert len(hits) == 10
        assert {getattr(h.record, owner_field(table)) for h in hits} == {"owner-7"}
        assert len(collection(table, _scope(table, "tiny")).search(target, k=10)) == 3
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

    def test_search_skips_records_without_embedding(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.VECTOR_SEARCH)
        with_vectors = self.fill(coll, table, 3)
        coll.insert([make_record(table, 10 + i, with_embedding=False) for i in range(4)])
        hits = coll.search(with_vectors[0].embedding, k=10)
        assert sorted(_ids([h.record for h in hits])) == sorted(_ids(with_vectors))

    # == scopes =============================================================================
    def test_scope_isolates_owners(self, table: Table, collection: Callable[..., Collection]) -> None:
        a = collection(table, _scope(table, "owner-a", "user-1"))
        b = collection(table, _scope(table, "owner-b", "user-1"))
        a_records = self.fill(a, table, 8, owner="owner-a")
        b_records = self.fill(b, table, 8, owner="owner-b")
        assert a.count() == 8 and b.count() == 8
        assert a.get(b_records[0].id) is None
        assert a.get_many(_ids(b_records)) == []
        assert a.delete(_ids(b_records)) == 0
        assert a.delete_where(Where.everything()) == 8
        assert b.count() == 8 and b.get_many(_ids(b_records)) == b_records
        with pytest.raises(InvalidRecord, match="scope"):
            a.insert([make_record(table, 99, owner="owner-b")])
        assert b.count() == 8
        a.insert(a_records)
        assert {r.id for r in a.iterate()} == set(_ids(a_records))
        if Capability.VECTOR_SEARCH in a.connector.capabilities:
            hits = a.search(b_records[0].embedding, k=20)
            assert len(hits) == 8 and all(h.record.id in set(_ids(a_records)) for h in hits)
        if Capability.TEXT_SEARCH in a.connector.capabilities:
            assert a.text_search("owner-b") == []
            assert len(b.text_search("owner-b")) == 8

    def test_scope_separates_users(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table, Where.everything())
        mine = self.fill(coll, table, 4, owner="shared", user=USER)
        theirs = [make_record(table, 10 + i, owner="shared", user=OTHER_USER) for i in range(3)]
        coll.insert(theirs)
        user1 = collection(table, _scope(table, "shared", USER))
        assert user1.count() == 4
        assert {r.id for r in user1.iterate()} == set(_ids(mine))
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            assert len(user1.search(theirs[0].embedding, k=10)) == 4

    # == users sharing one store =================================================================
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
        assert _ids(mine) == _ids(theirs)
        a.insert(mine)
        b.insert(theirs)  # load/upsert: the same ids, for another user
        assert (everyone.count(), a.count(), b.count()) == (2 * n, n, n)
        assert _same(a.get_many(_ids(mine)), mine) and _same(b.get_many(_ids(theirs)), theirs)
        assert _same(everyone.find([theirs[1], mine[1]]), [theirs[1], mine[1]])
        assert sorted(r.text for r in a.iterate()) == sorted(r.text for r in mine)
        changed = replace(theirs[0], text="beta note replaced")
        b.insert([changed])
        assert _same(a.get(mine[0].id), mine[0]) and b.get(changed.id).text == "beta note replaced"
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
            assert _same(a.date_search(*window), mine) and a.date_count(*window) == n
        assert b.delete([mine[2].id]) == 1  # deletes their record with that id ...
        assert _same(a.get(mine[2].id), mine[2]) and b.get(mine[2].id) is None  # ... never mine
        assert b.delete_where(Where.everything()) == n - 1
        assert a.count() == n and everyone.count() == n and _same(a.get_many(_ids(mine)), mine)

    def test_two_users_may_name_agents_and_sources_alike(self, catalog: None, collection: Callable[..., Collection]) -> None:
        """Agent and source names, and ids, are unique per user: one user's write or delete never reaches the other's."""
        for table, make in (
            (Table.SOURCES, lambda user: replace(make_source("notes", user=user), description=f"notes of {user}")),
            (Table.AGENTS, lambda user: replace(make_agent(1, user=user), core_memory={"human": f"the human of {user}"})),
        ):
            a, b = collection(table, Where.of(user_id=USER)), collection(table, Where.of(user_id=OTHER_USER))
            mine, theirs = make(USER), make(OTHER_USER)
            a.insert([mine])
            b.insert([theirs])
            assert _same(a.get(mine.id), mine) and _same(b.get(theirs.id), theirs)
            assert collection(table, Where.everything()).count() == 2
            if table is Table.AGENTS:
                assert _same(list(a.iterate(Where.of(name=mine.name))), [mine])
            b.insert([replace(theirs, metadata={"replaced": True})])
            assert _same(a.get(mine.id), mine)
            assert b.delete([theirs.id]) == 1
            assert _same(a.get(mine.id), mine) and a.count() == 1 and b.count() == 0

    def test_an_empty_text_round_trips_as_an_empty_string(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = [make_record(table, 0, text=""), make_record(table, 1, text="", with_embedding=False)]
        coll.insert(records)
        for stored in (coll.get_many(_ids(records)), list(coll.iterate())):
            assert sorted((r.id, r.text) for r in stored) == [(r.id, "") for r in records]
        if Capability.VECTOR_SEARCH in coll.connector.capabilities:
            assert coll.search(records[0].embedding, k=1)[0].record.text == ""

    def test_recording_the_embedding_spec_twice_is_safe(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table, Where.everything())
        spec = EmbeddingSpec(MODEL, DIM)
        assert coll.connector.ensure_embedding_spec(spec) == spec
        assert coll.connector.ensure_embedding_spec(spec) == spec
        assert coll.connector.ensure_embedding_spec(EmbeddingSpec("another-model", DIM * 2)) == spec
        assert coll.embedding_spec == spec
        self.fill(collection(table), table, 3)
        assert collection(table).count() == 3

    # == several processes on one store ==========================================================
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

    def test_filter_values_are_matched_literally(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        for n, name in enumerate(TRICKY_NAMES):
            coll.insert([make_record(table, i, owner=name, id=f"tricky-{n}-{i}") for i in range(n + 1)])
        for n, name in enumerate(TRICKY_NAMES):
            scoped = collection(table, _scope(table, name))
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
            assert _ids(coll.iterate(Where.of(document_id='it\'s "quoted" == 1'))) == ["doc-tricky"]
        assert coll.delete_where(_scope(table, TRICKY_NAMES[2])) == 3
        assert coll.count(_scope(table, TRICKY_NAMES[1])) == 2

    # == text search ========================================================================
    def test_text_search_matches_substrings_ignoring_case(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        texts = ["The Quick brown fox", "a QUICKSILVER moment", "slow and steady", "quick", "Grüße aus Köln", "ab"]
        coll.insert([make_record(table, i, text=t) for i, t in enumerate(texts)])

        def texts_of(query: str) -> list[str]:
            return [r.text for r in coll.text_search(query)]

        assert texts_of("quick") == [texts[0], texts[1], texts[3]]
        assert texts_of("QUICK") == [texts[0], texts[1], texts[3]]
        assert texts_of("ck bro") == [texts[0]]
        assert texts_of("Grüße") == [texts[4]]
        assert texts_of("aus köln") == [texts[4]]
        assert texts_of("b") == [texts[0], texts[5]]
        assert texts_of("steady!") == []

    def test_text_search_treats_pattern_characters_literally(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        texts = [
            "save 50% off_sale today",
            "save 50 percent off sale",
            "a*b?c[d] (e) {f} ^g$ .h| \\i",
            "quote ' and \" and ` marks",
        ]
        coll.insert([make_record(table, i, text=t) for i, t in enumerate(texts)])
        assert [r.text for r in coll.text_search("50% off_")] == [texts[0]]
        assert [r.text for r in coll.text_search("%")] == [texts[0]]
        assert [r.text for r in coll.text_search("_")] == [texts[0]]
        assert [r.text for r in coll.text_search("a*b?c[d] (e) {f} ^g$ .h| \\i")] == [texts[2]]
        assert [r.text for r in coll.text_search("\\")] == [texts[2]]
        assert [r.text for r in coll.text_search("' and \"")] == [texts[3]]
        assert coll.text_search(".*") == [] and coll.text_count("%") == 1

    def test_text_search_orders_by_time_and_pages(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        records = [  # spread over three owners: pages must be global, not per owner
            make_record(
                table, i, owner=f"owner-{i % 3}", text=f"needle {i}", created_at=BASE_TIME + timedelta(minutes=(i * 7) % 20)
            )
            for i in range(20)
        ]
        records += [make_record(table, 100 + i, text="hay") for i in range(5)]
        coll.insert(records)
        expected = sorted(records[:20], key=lambda r: (r.created_at, r.id))
        assert _ids(coll.text_search("needle", limit=100)) == _ids(expected)
        assert _ids(coll.text_search("needle", limit=6, offset=6)) == _ids(expected[6:12])
        assert _ids(coll.text_search("needle", limit=5, offset=18)) == _ids(expected[18:])
        assert coll.text_search("needle", limit=0) == []

    def test_text_pages_mix_records_with_and_without_embedding(self, table: Table, collection: Callable[..., Collection]) -> None:
        """A page of a text search holds whole records, with or without an embedding each."""
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        records = [make_record(table, i, text=f"needle {i}", with_embedding=i % 3 != 0) for i in range(12)]
        coll.insert(records)
        assert _same(coll.text_search("needle", limit=5, offset=2), records[2:7])

    def test_text_search_respects_filters(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        self.fill(coll, table, 5, owner="owner-1", text="shared words")
        self.fill(coll, table, 5, owner="owner-2", text="shared words")
        assert len(coll.text_search("shared")) == 10
        scoped = collection(table, _scope(table, "owner-2"))
        assert {getattr(r, owner_field(table)) for r in scoped.text_search("shared")} == {"owner-2"}

    def test_text_count_matches_the_search(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        for owner in ("owner-1", "owner-2"):
            coll.insert([make_record(table, i, owner=owner, text=f"{'Needle' if i % 3 else 'hay'} {i}") for i in range(30)])
        assert coll.text_count("needle") == 40 == len(coll.text_search("needle", limit=1000))
        scoped = collection(table, _scope(table, "owner-2"))
        assert scoped.text_count("NEEDLE") == 20
        assert coll.text_count("no such thing") == 0

    # == date search ========================================================================
    @pytest.fixture
    def messages(self, backend: Backend, collection: Callable[..., Collection]) -> Collection:
        if RecordKind.RECALL not in backend.kinds:
            pytest.skip(f"backend {backend.name!r} does not declare 'recall'")
        coll = collection(Table.RECALL)
        self.require(coll, Capability.DATE_SEARCH)
        return coll

    def test_date_search_is_inclusive_ordered_and_paged(self, messages: Collection) -> None:
        records = [
            make_record(Table.RECALL, i, owner=f"owner-{i % 4}", created_at=BASE_TIME + timedelta(hours=(i * 5) % 24))
            for i in range(24)
        ]
        messages.insert(records)
        start, end = BASE_TIME + timedelta(hours=3), BASE_TIME + timedelta(hours=10)
        expected = sorted((r for r in records if start <= r.created_at <= end), key=lambda r: (r.created_at, r.id))
        assert len(expected) == 8
        assert _ids(messages.date_search(start, end)) == _ids(expected)
        assert _ids(messages.date_search(start, end, limit=3, offset=2)) == _ids(expected[2:5])
        assert len(messages.date_search(None, end)) == 11
        assert len(messages.date_search(start, None)) == 21
        assert len(messages.date_search()) == 24
        assert messages.date_search(end, start) == []

    def test_date_count_matches_the_search(self, messages: Collection) -> None:
        messages.insert([make_record(Table.RECALL, i, created_at=BASE_TIME + timedelta(minutes=i)) for i in range(50)])
        start, end = BASE_TIME + timedelta(minutes=10), BASE_TIME + timedelta(minutes=29)
        assert messages.date_count(start, end) == 20 == len(messages.date_search(start, end, limit=1000))
        assert messages.date_count(start, end, Where.of(role="user")) == 10
        assert messages.date_count(end, start) == 0

    def test_date_pages_mix_messages_with_and_without_embedding(self, messages: Collection) -> None:
        records = [make_record(Table.RECALL, i, with_embedding=i % 3 != 0) for i in range(12)]
        messages.insert(records)
        assert _same(messages.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=8), limit=4, offset=5), records[5:9])
        assert _same(messages.date_search(limit=100), records)

    def test_date_search_respects_scope(self, messages: Collection, collection: Callable[..., Collection]) -> None:
        messages.insert([make_record(Table.RECALL, i, owner="owner-1") for i in range(6)])
        messages.insert([make_record(Table.RECALL, i, owner="owner-2") for i in range(6)])
        scoped = collection(Table.RECALL, _scope(Table.RECALL, "owner-2"))
        found = scoped.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=3))
        assert len(found) == 4 and {m.agent_id for m in found} == {"owner-2"}
        assert len(messages.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=3), where=Where.of(role="user"))) == 4

    # == embedding dimension and model ==========================================================
    def test_wrong_dimension_is_refused_and_nothing_is_lost(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        records = self.fill(coll, table, 5)
        assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM
        wrong = make_record(table, 9, vector=np.ones(DIM + 8, dtype=np.float32))
        with pytest.raises(EmbeddingMismatch) as raised:
            coll.insert([make_record(table, 8), wrong])
        message = str(raised.value)
        assert str(DIM) in message and str(DIM + 8) in message and "\n" not in message
        assert coll.count() == 5 and _same(coll.get_many(_ids(records)), records)
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
            collection(table, _scope(table, "owner-1")).drop()
        with pytest.raises(UnsupportedOperation):
            collection(table).drop()  # one user's view cannot drop everyone's records
        coll.drop()
        assert coll.count() == 0
        assert coll.embedding_spec is None
        other = make_record(table, 1, vector=np.ones(DIM * 2, dtype=np.float32), model="wider-model")
        coll.insert([other])
        assert collection(table).get(other.id) == other
        assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM * 2

    # -- several embedding models side by side (shelves) -----------------------------------------
    @pytest.fixture(params=SHELVED_TABLES, ids=lambda t: t.value)
    def shelved_table(self, request: pytest.FixtureRequest, backend: Backend) -> Table:
        """Each table whose records may be embedded with several models (archival and source passages)."""
        return _declared(request.param, backend)

    def _two_models(self, backend: Backend, store: Store, table: Table) -> tuple[Collection, Collection, list, list]:
        first, second = SUITE_SPECS
        old = open_collection(backend, store, table, _scope(table, "owner-old", USER), spec=first, claim=True)
        new = open_collection(backend, store, table, _scope(table, "owner-new", USER), spec=second, claim=True)
        old_records = [make_record(table, i, owner="owner-old") for i in range(4)]
        vectors = random_unit_vectors(3, OTHER_DIM, seed=7)
        new_records = [make_record(table, i, owner="owner-new", vector=vectors[i], model=OTHER_MODEL) for i in range(3)]
        old.insert(old_records)
        new.insert(new_records)
        return old, new, old_records, new_records

    def test_two_models_side_by_side(self, backend: Backend, store: Store, shelved_table: Table) -> None:
        table = shelved_table
        old, new, old_records, new_records = self._two_models(backend, store, table)
        assert (old.count(), new.count()) == (4, 3)
        assert old.embedding_spec == SUITE_SPECS[0] and new.embedding_spec == SUITE_SPECS[1]
        hits = new.search(new_records[1].embedding, k=10, model=OTHER_MODEL)
        assert hits[0].record.id == new_records[1].id and {h.record.id for h in hits} == set(_ids(new_records))
        hits = old.search(old_records[2].embedding, k=10, model=MODEL)
        assert hits[0].record.id == old_records[2].id and {h.record.id for h in hits} == set(_ids(old_records))
        own = open_collection(backend, store, table, Where.everything())  # the table's own collection: the first model
        assert own.embedding_spec == SUITE_SPECS[0] and sorted(_ids(list(own.iterate()))) == sorted(_ids(old_records))
        with pytest.raises(EmbeddingMismatch):  # a shelf still holds one model
            new.insert([make_record(table, 9, owner="owner-new")])
        assert new.delete([new_records[0].id]) == 1
        assert (old.count(), new.count()) == (4, 2)
        assert new.delete_where(Where.everything()) == 2 and old.count() == 4

    def test_the_first_model_written_owns_the_table(self, backend: Backend, store: Store, shelved_table: Table) -> None:
        table = shelved_table
        first, second = SUITE_SPECS
        reading = open_collection(backend, store, table, Where.of(user_id=USER), spec=second)  # a read claims nothing
        assert reading.count() == 0
        writer = open_collection(backend, store, table, _scope(table, "owner-new", USER), spec=second, claim=True)
        vector = random_unit_vectors(1, OTHER_DIM, seed=3)[0]
        writer.insert([make_record(table, 0, owner="owner-new", vector=vector, model=OTHER_MODEL)])
        assert open_collection(backend, store, table, Where.everything()).embedding_spec == second
        later = open_collection(backend, store, table, _scope(table, "owner-old", USER), spec=first, claim=True)
        later.insert([make_record(table, 0, owner="owner-old")])
        assert later.count() == 1 and writer.count() == 1 and later.embedding_spec == first

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
        assert sorted(_ids(list(new.iterate()))) == sorted(_ids(new_records))
        assert sorted(_ids(list(old.iterate()))) == sorted(_ids(old_records))

    # == persistence =========================================================================
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
            for table in CATALOG_TABLES:
                open_collection(backend, store, table, Where.everything()).insert(written[table])
        opener.close(store)
        reopened = opener.open()
        for table, records in written.items():
            coll = open_collection(backend, reopened, table, Where.of(user_id=USER))
            assert coll.count() == len(records)
            assert _same(coll.get_many(_ids(records)), records)
            if table.has_vectors:
                assert coll.embedding_spec is not None and coll.embedding_spec.dim == DIM
                if Capability.VECTOR_SEARCH in coll.connector.capabilities:
                    assert coll.search(records[3].embedding, k=1)[0].record.id == records[3].id

    # == catalog: agents and sources ===============================================================
    def test_agent_state_round_trip_update_and_delete(self, catalog: None, collection: Callable[..., Collection]) -> None:
        everyone = collection(Table.AGENTS, Where.everything())
        agents = collection(Table.AGENTS)
        states = [make_agent(i, user=USER if i < 3 else OTHER_USER, sources=("docs",) if i == 1 else ()) for i in range(5)]
        everyone.insert(states)
        assert agents.get("agent-1") == states[1]
        assert isinstance(agents.get("agent-1"), AgentState)
        assert agents.count() == 3 and everyone.count() == 5
        assert {a.id for a in collection(Table.AGENTS, Where.of(user_id=OTHER_USER)).iterate()} == {"agent-3", "agent-4"}
        assert _ids(agents.iterate(Where.of(name="Agent 2"))) == ["agent-2"]
        updated = make_agent(1, sources=("docs", "papers"))
        updated.core_memory = {"persona": "changed", "human": "changed too"}
        agents.insert([updated])
        assert agents.get("agent-1") == updated and everyone.count() == 5
        assert agents.delete(["agent-0"]) == 1
        assert agents.get("agent-0") is None and everyone.count() == 4

    def test_source_catalog_round_trip(self, catalog: None, collection: Callable[..., Collection]) -> None:
        everyone = collection(Table.SOURCES, Where.everything())
        sources = collection(Table.SOURCES)
        entries = [make_source(name, user=USER) for name in ("docs", "papers", TRICKY_NAMES[0])]
        entries.append(make_source("docs-2", user=OTHER_USER))
        everyone.insert(entries)
        assert isinstance(sources.get("docs"), Source)
        assert sources.get_many(["papers", TRICKY_NAMES[0]]) == entries[1:3]
        assert sources.count() == 3
        assert everyone.delete_where(Where.of(user_id=OTHER_USER)) == 1
        assert everyone.count() == 3

    def test_catalog_refuses_wrong_record_types(self, catalog: None, collection: Callable[..., Collection]) -> None:
        with pytest.raises(InvalidRecord, match="AgentState"):
            collection(Table.AGENTS).insert([make_source("docs")])
        with pytest.raises(InvalidRecord, match="Source"):
            collection(Table.SOURCES).insert([make_agent(1)])
        assert collection(Table.AGENTS).count() == 0 and collection(Table.SOURCES).count() == 0

    # == shared record checks (the core's, for every backend) ==========================================
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

    # == the memory API: attach without copying, search over attached sources, scopes ================
    def _docs(self, tmp_path: Any) -> list[Any]:
        folder = tmp_path / "conformance-docs"
        folder.mkdir()
        texts = {
            "tea.md": "Green tea is brewed at eighty degrees. Oolong tea likes hotter water.",
            "trains.md": "The night train leaves the station at midnight and arrives at dawn.",
            "rivers.txt": "The river floods every spring when the mountain snow melts.",
        }
        for name, text in texts.items():
            (folder / name).write_text(text)
        return sorted(folder.iterdir())

    def test_attached_source_is_searched_without_copying(self, client: Any, tmp_path: Any) -> None:
        report = client.load("docs", self._docs(tmp_path))
        assert report.passages_written == 3
        client.create_agent("reader")
        memory = client.memory("reader")
        memory.insert_archival("My own note: the kettle whistles when the tea water boils.")
        own, _ = memory.search_archival("night train station", count=10)
        assert [h.record.agent_id for h in own] == [memory.agent.id]  # nothing attached yet

        client.attach("reader", "docs")
        memory = client.memory("reader")
        hits, total = memory.search_archival("night train station", count=10)
        assert total == 4 and hits[0].record.source == "docs" and "night train" in hits[0].record.text
        assert memory.archival.count() == 1  # the source's passages were not copied into the agent
        assert client.catalog.source_passage_count("docs") == 3

        client.detach("reader", "docs")
        hits, total = client.memory("reader").search_archival("night train station", count=10)
        assert total == 1 and hits[0].record.source is None

        client.attach("reader", "docs")
        assert client.delete_source("docs") == 3
        assert client.get_agent("reader").attached_sources == ()
        assert client.list_sources() == []

    def test_one_source_serves_many_agents_and_agents_stay_apart(self, client: Any, tmp_path: Any) -> None:
        client.load("docs", self._docs(tmp_path))
        for name in ("alice", "bob"):
            client.create_agent(name)
            client.attach(name, "docs")
            client.memory(name).insert_archival(f"{name} keeps a private diary about rivers")
            client.memory(name).append_message("user", f"{name} says the secret word is {name}-river")
        alice, bob = client.memory("alice"), client.memory("bob")
        hits, total = alice.search_archival("private diary rivers", count=10)
        assert total == 4
        assert {h.record.text for h in hits if h.record.source is None} == {"alice keeps a private diary about rivers"}
        assert alice.search_messages("river")[1] == 1 and "alice-river" in alice.search_messages("river")[0][0].text
        assert bob.search_messages("alice")[1] == 0
        summary = {s.source.name: s for s in client.list_sources()}["docs"]
        assert summary.passages == 3 and set(summary.agents) == {"alice", "bob"}
        deleted = client.delete_agent("alice")
        assert deleted == {"archival": 1, "recall": 1}
        assert bob.archival.count() == 1 and bob.recall.count() == 1 and client.catalog.source_passage_count("docs") == 3

    def test_a_model_change_never_blocks(self, client: Any, tmp_path: Any) -> None:
        """After the configured model changes, sources and agents keep theirs; new ones take the new one, side by side.

        An agent searches each attached source with a query embedded by that source's own model.
        """
        from dataclasses import replace

        from memgpt.config import MemGPTConfig

        before = replace(MemGPTConfig.load(), embedding_endpoint_type="hashing")
        before.embedding_model, before.embedding_dim, before.embedding_chunk_size = "lexical-hash-384", 384, 40
        client.config = before
        client.load("old-docs", self._docs(tmp_path))
        client.create_agent("old")
        client.memory("old").insert_archival("the old agent remembers that the user likes oolong")

        after = replace(before, embedding_model="lexical-hash-1024", embedding_dim=1024)
        client.config = after
        more = tmp_path / "more"
        more.mkdir()
        (more / "ferries.md").write_text("The ferry crosses the lake twice a day in summer.")
        assert client.load("new-docs", [more / "ferries.md"]).passages_written == 1  # a new source: the new model
        (more / "boats.md").write_text("Sailing boats race around the island every August.")
        assert client.load("old-docs", [more / "boats.md"]).passages_written == 1  # an old source: its own model
        models = {s.source.name: (s.source.embedding_model, s.passages) for s in client.list_sources()}
        assert models == {"old-docs": ("lexical-hash-384", 4), "new-docs": ("lexical-hash-1024", 1)}

        client.create_agent("new")
        client.attach("new", "old-docs")
        client.attach("new", "new-docs")
        new = client.memory("new")
        new.insert_archival("the new agent remembers the ferry timetable")
        hits, _ = new.search_archival("ferry lake summer", count=10)
        assert hits[0].record.text.startswith("The ferry crosses the lake")
        hits, _ = new.search_archival("night train station", count=10)
        assert hits[0].record.text.startswith("The night train") and hits[0].record.source == "old-docs"
        old_hits, _ = client.memory("old").search_archival("oolong", count=10)
        assert "oolong" in old_hits[0].record.text

        assert client.delete_source("old-docs") == 4
        assert client.catalog.source_passage_count("new-docs") == 1
        assert client.memory("old").archival.count() == 1 and new.archival.count() == 1

    def test_memory_functions_page_like_memgpt(self, client: Any) -> None:
        client.create_agent("pager")
        memory = client.memory("pager")
        for i in range(12):
            memory.append_message(
                "user" if i % 2 else "assistant", f"Needle number {i}", created_at=BASE_TIME + timedelta(minutes=i)
            )
        memory.append_message("system", "needle in a system message", created_at=BASE_TIME)
        memory.append_message("tool", "needle from a tool", created_at=BASE_TIME)
        first = memory.conversation_search("NEEDLE")
        assert first.startswith("Showing 5 of 12 results (page 0/2): [")
        assert "assistant - Needle number 0" in first and "system message" not in first
        assert memory.conversation_search("needle", page=2).startswith("Showing 2 of 12 results (page 2/2)")
        assert memory.conversation_search("needle", page=3) == "No results found."
        day = BASE_TIME.strftime("%Y-%m-%d")
        assert memory.conversation_search_date(day, day, page=1).startswith("Showing 5 of 12 results (page 1/2)")
        assert memory.conversation_search_date("2000-01-01", "2000-01-02") == "No results found."
