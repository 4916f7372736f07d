"""Stores written by memgpt 0.4, for the upgrade tests of every backend.

memgpt 0.4 keyed every row by its bare record id; this release keys rows by
``<user_id>/<record id>``. :func:`legacy_records` makes records of every kind
for two users (sharing ids, as only the new keys allow), and
:func:`write_legacy_rows` writes them through a connector exactly as 0.4 did,
so a backend test can mark its store as 0.4's, reopen it and check with
:func:`assert_upgraded` that every record reads back, once, under its user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.backend import Backend, Store
from memgpt.storage.codec import Row, encode
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing.data import DIM, MODEL, OTHER_USER, USER, make_agent, make_record, make_source

__all__ = ["assert_upgraded", "legacy_records", "legacy_row", "upgrade_round_trip", "write_legacy_rows"]


TABLES_OF_0_4 = (Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES, Table.SOURCES, Table.AGENTS)
"""The tables memgpt 0.4 had (``profiles`` came in 0.5)."""


def legacy_records(tables: Iterable[Table]) -> dict[Table, list[Any]]:
    """Records of ``tables`` as a 0.4 store of two users holds them: distinct ids (0.4 could not store the same id twice).

    Tables 0.4 did not have (:data:`TABLES_OF_0_4`) are left out.
    """
    out: dict[Table, list[Any]] = {}
    for table in tables:
        if table not in TABLES_OF_0_4:
            continue
        if table is Table.AGENTS:
            out[table] = [make_agent(1, user=USER), make_agent(2, user=OTHER_USER)]
        elif table is Table.SOURCES:
            out[table] = [make_source("docs", user=USER), make_source("papers", user=OTHER_USER)]
        else:
            out[table] = [
                make_record(table, i, owner="legacy", user=USER if i % 2 else OTHER_USER, with_embedding=i % 3 != 0)
                for i in range(7)
            ]
    return out


def legacy_row(table: Table, record: Any) -> Row:
    """The row memgpt 0.4 stored for ``record``: keyed by the bare record id."""
    row = encode(table, record)
    return Row(record.id, row.fields, row.text, row.created_at, row.embedding, row.payload)


def write_legacy_rows(connector: Any, records: list[Any]) -> None:
    """Write ``records`` through ``connector`` as memgpt 0.4 did (the embedding spec first, as the core records it)."""
    if connector.table.has_vectors and any(getattr(r, "embedding", None) is not None for r in records):
        connector.ensure_embedding_spec(EmbeddingSpec(MODEL, DIM))
    connector.upsert([legacy_row(connector.table, r) for r in records])


def assert_upgraded(backend: Backend, store: Store, written: dict[Table, list[Any]]) -> None:
    """Every record written by 0.4 reads back from ``store`` under its own user, exactly once, by id and in full scans."""

    def collection(table: Table, where: Where) -> Collection:
        return open_collection(backend, store, table, where)

    for table, records in written.items():
        everyone = collection(table, Where.everything())
        assert everyone.count() == len(records), (table, everyone.count(), len(records))
        for user in (USER, OTHER_USER):
            mine = [r for r in records if r.user_id == user]
            scoped = collection(table, Where.of(user_id=user))
            assert [r.to_dict() for r in scoped.get_many([r.id for r in mine])] == [r.to_dict() for r in mine], table
            assert sorted(r.id for r in scoped.iterate()) == sorted(r.id for r in mine), table


def upgrade_round_trip(
    backend: Backend,
    settings: dict[str, str],
    as_written_by_0_4: Callable[[Store], None],
    check: Callable[[Store], None] = lambda store: None,
) -> None:
    """What a backend's upgrade test runs: a store as memgpt 0.4 left it reads back whole, and is upgraded once.

    Every declared table gets two users' records, written as 0.4 wrote them
    (:func:`write_legacy_rows`); ``as_written_by_0_4(store)`` then removes
    whatever marks the store as this release's (a schema version, collection
    metadata). The store is opened twice: both times every record reads back
    under its own user (:func:`assert_upgraded`), and ``check(store)`` can look
    at what the upgrade left (its marker).
    """
    store = backend.open(dict(settings))
    written = legacy_records(backend.tables())
    try:
        for table, records in written.items():
            write_legacy_rows(store.connector(table), records)
        as_written_by_0_4(store)
    finally:
        store.close()
    for _ in range(2):  # opened again: nothing moves twice
        upgraded = backend.open(dict(settings))
        try:
            assert_upgraded(backend, upgraded, written)
            check(upgraded)
        finally:
            upgraded.close()
