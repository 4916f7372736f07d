"""The core's side of the contract: what Collection enforces whatever the backend does."""

from __future__ import annotations

import gc
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.errors import EmbeddingMismatch, InvalidRecord, ScopeViolation, UnsupportedOperation
from memgpt.kinds import RecordKind, Table
from memgpt.storage.backend import Backend, Store
from memgpt.storage.codec import Row
from memgpt.storage.configured import open_collection
from memgpt.storage.connector import Capability, Connector
from memgpt.storage.where import Where, scope
from memgpt.testing import BackendConformance, make_record
from memgpt.testing.data import USER


class LimitedBackend(Backend):
    """The local engine declaring less: archival and sources only, no text search.

    Running the conformance suite on it exercises the checks that a full
    backend skips: undeclared kinds and capabilities must fail clearly.
    """

    name = "limited"
    label = "Local engine with fewer declared abilities"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES})

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        return {"path": uri} if uri else {}

    def open(self, settings) -> Store:
        store = LocalBackend().open(settings)
        for table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES):
            store.connector(table).capabilities = frozenset({Capability.VECTOR_SEARCH, Capability.PERSISTENT})
        return store


class TestLimitedBackend(BackendConformance):
    backend_class = LimitedBackend
    backend_location = "{tmp_path}/limited"


class LeakyConnector(Connector):
    """A broken backend that ignores filters: the core must notice."""

    def __init__(self, inner: Connector) -> None:
        self.inner = inner
        self.table = inner.table

    def get_embedding_spec(self):
        return self.inner.get_embedding_spec()

    def ensure_embedding_spec(self, spec):
        return self.inner.ensure_embedding_spec(spec)

    def upsert(self, rows: list[Row]) -> None:
        self.inner.upsert(rows)

    def delete(self, where):
        return self.inner.delete(where)

    def drop(self):
        self.inner.drop()

    def get(self, ids, where):
        return self.inner.get(ids, Where.of(id=ids))

    def count(self, where):
        return self.inner.count(Where.everything())

    def scan(self, where, batch_size):
        return self.inner.scan(Where.everything(), batch_size)

    def vector_search(self, query, k, where):
        return self.inner.vector_search(query, k, Where.everything())

    def text_search(self, text, where, limit, offset):
        return self.inner.text_search(text, Where.everything(), limit, offset)


@pytest.fixture
def local_store(tmp_path: Path):
    store = LocalBackend().open({"path": str(tmp_path / "store")})
    yield store
    store.close()


def test_a_backend_that_leaks_other_agents_records_is_caught(local_store) -> None:
    open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything()).insert(
        [make_record(Table.ARCHIVAL, i, owner=owner) for owner in ("mine", "theirs") for i in range(3)]
    )
    from memgpt.storage.collection import Collection

    leaky = Collection(
        LeakyConnector(local_store.connector(Table.ARCHIVAL)), scope=scope(user_id=USER, agent_id="mine"), backend="leaky"
    )
    with pytest.raises(ScopeViolation, match="bug in the backend"):
        leaky.search(np.ones(16), k=10)
    with pytest.raises(ScopeViolation):
        list(leaky.iterate())
    with pytest.raises(ScopeViolation):
        leaky.get(make_record(Table.ARCHIVAL, 0, owner="theirs").id)
    with pytest.raises(ScopeViolation):
        leaky.text_search("record")


def test_batches_larger_than_the_connector_takes_are_split_and_pipelined(local_store) -> None:
    connector = local_store.connector(Table.ARCHIVAL)
    connector.max_batch_size = 100
    calls: list[int] = []
    original = connector.upsert
    connector.upsert = lambda rows: (calls.append(len(rows)), original(rows))[1]  # type: ignore[method-assign]
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    assert coll.insert(make_record(Table.ARCHIVAL, i) for i in range(1_050)) == 1_050
    assert calls == [100] * 10 + [50]
    assert coll.count() == 1_050


def test_a_bad_record_in_a_later_batch_keeps_earlier_batches_and_writes_none_of_its_own(local_store) -> None:
    connector = local_store.connector(Table.ARCHIVAL)
    connector.max_batch_size = 100
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    records = [make_record(Table.ARCHIVAL, i) for i in range(300)]
    records[250] = make_record(Table.ARCHIVAL, 250, vector=np.ones(8, dtype=np.float32))
    with pytest.raises(EmbeddingMismatch):
        coll.insert(records)
    assert coll.count() == 200
    assert coll.find([records[249]]) == [] and coll.find([records[199]]) == [records[199]]


def test_insert_pauses_the_collector_while_it_encodes_and_writes_and_restores_it(local_store) -> None:
    connector = local_store.connector(Table.ARCHIVAL)
    connector.max_batch_size = 100
    in_upsert: list[bool] = []
    in_iterator: list[bool] = []
    original = connector.upsert
    connector.upsert = lambda rows: (in_upsert.append(gc.isenabled()), original(rows))[1]  # type: ignore[method-assign]

    def records():
        for i in range(250):
            in_iterator.append(gc.isenabled())
            yield make_record(Table.ARCHIVAL, i)

    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    assert coll.insert(records()) == 250
    assert in_upsert == [False, False, False]
    assert all(in_iterator[:200]), "the first two batches are read before any batch is being written"
    assert gc.isenabled()
    bad = [make_record(Table.ARCHIVAL, i) for i in range(150)] + [make_record(Table.ARCHIVAL, 150, vector=np.ones(8))]
    with pytest.raises(EmbeddingMismatch):
        coll.insert(bad)
    assert gc.isenabled()


def test_first_vectors_in_a_later_batch_set_the_spec(local_store) -> None:
    connector = local_store.connector(Table.RECALL)
    connector.max_batch_size = 10
    coll = open_collection(LocalBackend(), local_store, Table.RECALL, Where.everything())
    records = [make_record(Table.RECALL, i, with_embedding=i >= 25) for i in range(40)]
    assert coll.insert(records) == 40
    assert coll.embedding_spec is not None and coll.embedding_spec.dim == 16


def test_limits_and_k_are_validated(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.RECALL, Where.everything())
    coll.insert([make_record(Table.RECALL, 0)])
    for bad in (0, -1, 2.5, True):
        with pytest.raises(InvalidRecord, match="k must be"):
            coll.search(np.ones(16), k=bad)
    with pytest.raises(InvalidRecord, match="limit"):
        coll.text_search("x", limit=-1)
    with pytest.raises(InvalidRecord, match="offset"):
        coll.date_search(offset=-5)
    with pytest.raises(InvalidRecord, match="non-empty"):
        coll.text_search("")


def test_date_search_is_only_for_messages(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    with pytest.raises(UnsupportedOperation, match="date search is not defined for table 'archival'"):
        coll.date_search()


def test_filters_on_fields_a_table_lacks_are_refused(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    with pytest.raises(InvalidRecord, match="cannot be filtered on role"):
        coll.count(Where.of(role="user"))
    with pytest.raises(InvalidRecord, match="cannot be filtered on source"):
        open_collection(LocalBackend(), local_store, Table.ARCHIVAL, scope(source="docs"))


def test_exact_scores_are_float64_cosines_of_the_stored_vectors_clipped_to_one() -> None:
    from memgpt.storage.collection import exact_scores

    def row(vector: list[float] | None) -> Row:
        embedding = None if vector is None else np.array(vector, dtype=np.float32)
        return Row(id="r", fields={}, text="t", created_at=0, embedding=embedding, payload="{}")

    query = np.array([0.6, 0.8], dtype=np.float64)
    same_way = [row([3.0, 4.0]), row([0.0, -2.0]), row([4.0, -3.0])]
    assert exact_scores(query, [(r, 0.5) for r in same_way]) == pytest.approx([1.0, -0.8, 0.0], abs=1e-12)
    assert all(-1.0 <= s <= 1.0 for s in exact_scores(query, [(row([0.6, 0.8]), 0.0)]))
    # A row without a vector keeps the engine's score (clipped to 1); a zero vector scores 0.
    mixed = [(row(None), 1.5), (row([3.0, 4.0]), 0.1), (row([0.0, 0.0]), 0.7)]
    assert exact_scores(query, mixed) == pytest.approx([1.0, 1.0, 0.0])
    assert exact_scores(query, [(row([0.0, 0.0]), 0.3), (row([3.0, 4.0]), 0.2)]) == pytest.approx([0.0, 1.0])


# -- the batch screen: a fast path that must refuse at least what the record-by-record checks refuse ----------------


def _spoil(field: str, value: object):
    return lambda record: setattr(record, field, value)


BAD_RECORDS = {
    "an id that is not a string": _spoil("id", 7),
    "an empty id": _spoil("id", ""),
    "a NUL in its id": _spoil("id", "a\x00b"),
    "text that is not a string": _spoil("text", b"bytes"),
    "a NUL in its text": _spoil("text", "tea\x00time"),
    "undecodable text": _spoil("text", "caf\udce9"),
    "an agent name that escapes a folder": _spoil("agent_id", "../theirs"),
    "no agent": _spoil("agent_id", None),
    "an embedding without a model": _spoil("embedding_model", None),
    "an embedding model that is not a string": _spoil("embedding_model", ["m"]),
    "metadata that is not JSON": _spoil("metadata", {"when": object()}),
    "undecodable metadata": _spoil("metadata", {"name": "caf\udce9"}),
    "another user than the scope's": _spoil("user_id", "user-2"),
}


@pytest.mark.parametrize("spoil", BAD_RECORDS.values(), ids=BAD_RECORDS.keys())
def test_a_batch_with_one_bad_record_is_refused_whole_by_the_record_by_record_checks(local_store, spoil) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, scope(user_id=USER))
    records = [make_record(Table.ARCHIVAL, i) for i in range(20)]
    spoil(records[13])
    assert coll._screened(records) is None, "the screen vouched for a bad batch"
    with pytest.raises(InvalidRecord) as refused:
        coll.insert(records)
    assert "\n" not in str(refused.value)
    assert coll.count() == 0


def test_a_message_with_an_unknown_role_is_refused_past_the_screen(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.RECALL, scope(user_id=USER))
    records = [make_record(Table.RECALL, i) for i in range(20)]
    records[4].role = "narrator"
    assert coll._screened(records) is None
    with pytest.raises(InvalidRecord, match="narrator"):
        coll.insert(records)


def _comparable(rows: list[Row]) -> list[tuple]:
    return [
        (r.id, r.fields, r.text, r.created_at, None if r.embedding is None else r.embedding.tobytes(), r.payload) for r in rows
    ]


@pytest.mark.parametrize("table", [Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES], ids=lambda t: t.value)
@pytest.mark.parametrize("text", ["plain words", "Grüße aus Köln 🌍", ""], ids=["ascii", "unicode", "empty"])
def test_the_screen_makes_the_same_rows_as_the_record_by_record_checks(local_store, table, text) -> None:
    coll = open_collection(LocalBackend(), local_store, table, Where.everything())
    records = [make_record(table, i, text=f"{text} {i}" if text else "", with_embedding=i % 4 != 0) for i in range(40)]
    records[3].metadata = {"lieu": "Zürich", "n": [1, 2.5, None], "nested": {"ok": True}}
    screened = coll._screened(records)
    assert screened is not None
    coll._screened = lambda chunk: None  # type: ignore[method-assign]
    assert _comparable(screened) == _comparable(coll._prepare(records)[0])


def test_a_repeated_id_keeps_its_last_record_whichever_path_checks_the_batch(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    records = [make_record(Table.ARCHIVAL, i) for i in range(10)]
    last = make_record(Table.ARCHIVAL, 2, text="the second version")
    assert coll._screened([*records, last]) is None
    assert coll.insert([*records, last]) == 10
    assert coll.count() == 10 and coll.find([last])[0].text == "the second version"


def test_an_embedding_replaced_by_a_list_after_the_record_was_made_is_stored_as_float32(local_store) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.ARCHIVAL, Where.everything())
    records = [make_record(Table.ARCHIVAL, i) for i in range(5)]
    records[1].embedding = [0.5] * 16  # the dataclass does not stop it
    assert coll._screened(records) is None
    coll.insert(records)
    stored = coll.find([records[1]])[0]
    assert stored.embedding.dtype == np.float32 and stored.embedding.tolist() == [0.5] * 16


@pytest.mark.parametrize(
    "value",
    [datetime(2024, 5, 1, 12, 0), "2024-05-01T12:00:00Z", 1_714_564_800_000_000],
    ids=["naive datetime", "ISO text", "epoch microseconds"],
)
def test_a_created_at_replaced_after_the_record_was_made_is_stored_as_utc(local_store, value) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.RECALL, Where.everything())
    records = [make_record(Table.RECALL, i) for i in range(5)]
    records[2].created_at = value  # the dataclass does not stop it
    assert coll._screened(records) is None
    coll.insert(records)
    assert coll.find([records[2]])[0].created_at == datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value", ["next tuesday", ["2024"], None], ids=["text", "list", "none"])
def test_a_created_at_that_is_not_a_time_is_refused_in_one_line(local_store, value) -> None:
    coll = open_collection(LocalBackend(), local_store, Table.RECALL, Where.everything())
    records = [make_record(Table.RECALL, i) for i in range(5)]
    records[2].created_at = value
    with pytest.raises(InvalidRecord, match="created_at") as refused:
        coll.insert(records)
    assert "\n" not in str(refused.value) and coll.count() == 0
