"""Records, their rows, and filters."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from memgpt.errors import InvalidRecord, StorageError
from memgpt.kinds import RecordKind, Table
from memgpt.records import AgentState, Message, Passage, from_epoch_us, to_epoch_us
from memgpt.storage.codec import (
    Row,
    decode,
    encode,
    has_user_key,
    rekeyed,
    row_key,
    split_key,
    vector_from_bytes,
    vector_to_bytes,
)
from memgpt.storage.where import Where
from memgpt.testing import make_agent, make_record, make_source


def test_every_kind_maps_to_tables() -> None:
    assert RecordKind.AGENTS.tables == (Table.SOURCES, Table.AGENTS, Table.PROFILES)
    assert RecordKind.SOURCES.tables == (Table.SOURCE_PASSAGES,)
    assert {t for k in RecordKind for t in k.tables} == set(Table)


@pytest.mark.parametrize(
    "record",
    [
        make_record(Table.ARCHIVAL, 1),
        make_record(Table.SOURCE_PASSAGES, 2),
        make_record(Table.RECALL, 5),
        make_record(Table.RECALL, 7, with_embedding=False),
        make_agent(3, sources=("a", "b")),
        make_source("docs"),
    ],
    ids=lambda r: type(r).__name__,
)
def test_records_round_trip_through_rows_and_dicts(record) -> None:
    table = {
        Passage: Table.ARCHIVAL if getattr(record, "agent_id", None) else Table.SOURCE_PASSAGES,
        Message: Table.RECALL,
        AgentState: Table.AGENTS,
    }.get(type(record), Table.SOURCES)
    row = encode(table, record)
    assert decode(table, row) == record
    assert type(record).from_dict(record.to_dict()) == record


def test_row_keeps_filter_fields_apart_from_the_payload() -> None:
    row = encode(Table.ARCHIVAL, make_record(Table.ARCHIVAL, 1, owner="agent-x", document_id="d"))
    assert row.fields == {"user_id": "user-1", "agent_id": "agent-x", "document_id": "d"}
    assert "agent_id" not in row.payload and "text" not in row.payload


def test_rows_are_keyed_by_user_and_id() -> None:
    """Record ids are unique per user: two users' records with one id are two rows with distinct keys."""
    mine = make_record(Table.ARCHIVAL, 1, user="alice")
    theirs = make_record(Table.ARCHIVAL, 1, user="bob")
    assert mine.id == theirs.id
    rows = [encode(Table.ARCHIVAL, mine), encode(Table.ARCHIVAL, theirs)]
    assert [r.id for r in rows] == [row_key("alice", mine.id), row_key("bob", mine.id)] == [f"alice/{mine.id}", f"bob/{mine.id}"]
    assert [decode(Table.ARCHIVAL, r) for r in rows] == [mine, theirs]
    assert split_key(rows[1].id) == ("bob", mine.id)
    source = make_source("notes", user="carol")
    assert encode(Table.SOURCES, source).id == "carol/notes" and decode(Table.SOURCES, encode(Table.SOURCES, source)) == source


def test_a_row_without_a_user_in_its_key_is_a_storage_error_naming_the_upgrade() -> None:
    row = encode(Table.ARCHIVAL, make_record(Table.ARCHIVAL, 0))
    legacy = Row(make_record(Table.ARCHIVAL, 0).id, row.fields, row.text, row.created_at, row.embedding, row.payload)
    assert not has_user_key(legacy) and has_user_key(row)
    with pytest.raises(StorageError, match=r"memgpt 0\.4 and not upgraded"):
        decode(Table.ARCHIVAL, legacy)
    assert rekeyed(legacy).id == row.id and decode(Table.ARCHIVAL, rekeyed(legacy)) == make_record(Table.ARCHIVAL, 0)
    stolen = Row("mallory/" + legacy.id, row.fields, row.text, row.created_at, row.embedding, row.payload)
    with pytest.raises(StorageError, match="another user"):
        decode(Table.ARCHIVAL, stolen)


def test_timestamps_are_utc_microseconds() -> None:
    naive = datetime(2024, 5, 1, 10, 30, 0, 5)
    aware = datetime(2024, 5, 1, 12, 30, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    assert make_record(Table.RECALL, 0, created_at=naive).created_at == make_record(Table.RECALL, 0, created_at=aware).created_at
    assert from_epoch_us(to_epoch_us(aware)) == aware
    assert Passage(id="p", text="t", user_id="u", created_at="2024-05-01T10:30:00Z").created_at.tzinfo == timezone.utc


def test_vectors_are_float32_and_validated() -> None:
    passage = Passage(id="p", text="t", user_id="u", embedding=[1, 2, 3], embedding_model="m")
    assert passage.embedding.dtype == np.float32 and passage.embedding_dim == 3
    assert np.array_equal(vector_from_bytes(vector_to_bytes(passage.embedding)), passage.embedding)
    with pytest.raises(InvalidRecord, match="1-D"):
        Passage(id="p", text="t", user_id="u", embedding=[[1.0, 2.0]], embedding_model="m")
    with pytest.raises(InvalidRecord, match="numbers"):
        Passage(id="p", text="t", user_id="u", embedding=["a", "b"], embedding_model="m")


def test_unknown_dict_fields_are_refused() -> None:
    with pytest.raises(InvalidRecord, match="unknown Passage field"):
        Passage.from_dict({"id": "p", "text": "t", "user_id": "u", "colour": "red"})


def test_where_combines_constraints() -> None:
    scope = Where.of(agent_id="a", user_id="u")
    both = scope & Where.of(agent_id=["a", "b"], document_id="d")
    assert both.get("agent_id") == {"a"} and both.get("document_id") == {"d"}
    assert (scope & Where.of(agent_id="b")).is_nothing
    assert Where.everything().is_everything and Where.of(agent_id=None).is_everything
    assert both.matches({"agent_id": "a", "user_id": "u", "document_id": "d"})
    assert not both.matches({"agent_id": "a", "user_id": "u", "document_id": None})
    assert str(Where.of(agent_id="a", source=["x", "y"])) == "agent_id='a' and source in ['x', 'y']"
    with pytest.raises(InvalidRecord, match="unknown field"):
        Where.of(colour="red")
    with pytest.raises(TypeError):
        bool(scope)


def test_a_payload_that_is_not_an_object_is_a_storage_error_that_says_what_to_do() -> None:
    row = encode(Table.ARCHIVAL, make_record(Table.ARCHIVAL, 0))
    assert decode(Table.ARCHIVAL, row).id == make_record(Table.ARCHIVAL, 0).id
    for damaged in ('["not", "an", "object"]', '{"metadata": {}} trailing'):
        row.payload = damaged
        with pytest.raises(StorageError, match="restore it from a backup") as caught:
            decode(Table.ARCHIVAL, row)
        assert "\n" not in str(caught.value)


def test_a_payload_with_a_field_the_record_does_not_have_is_a_storage_error() -> None:
    row = encode(Table.ARCHIVAL, make_record(Table.ARCHIVAL, 0))
    payload = json.loads(row.payload)
    payload["no_such_field"] = payload.pop("metadata")  # as many keys as a good payload, one of them wrong
    row.payload = json.dumps(payload)
    with pytest.raises(StorageError, match=r"no_such_field.*restore it from a backup") as caught:
        decode(Table.ARCHIVAL, row)
    assert "\n" not in str(caught.value)


def test_a_row_with_every_field_decodes_to_the_record_it_came_from_on_the_fast_path() -> None:
    for table in (Table.ARCHIVAL, Table.RECALL):
        record = make_record(table, 3)
        decoded = decode(table, encode(table, record))
        assert type(decoded) is type(record) and vars(decoded).keys() == vars(record).keys()
        assert decoded.created_at == record.created_at and decoded.created_at.tzinfo is not None


def test_decoded_vectors_are_writable_copies() -> None:
    vector = np.arange(4, dtype=np.float32)
    restored = vector_from_bytes(vector_to_bytes(vector))
    restored[0] = 9.0
    assert vector[0] == 0.0 and restored.dtype == np.float32 and restored.flags.writeable
