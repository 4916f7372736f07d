"""What the postgres backend promises: the whole conformance suite, and more, on a real PostgreSQL + pgvector."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool

from memgpt.errors import ConfigError, StorageError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where, scope
from memgpt.testing import BackendConformance, make_record, outlives_a_restart, random_unit_vectors
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports, run_cli
from memgpt.testing.data import USER
from memgpt.testing.upgrade import assert_upgraded, legacy_records, write_legacy_rows
from memgpt_backend_postgres import connector as pg_connector
from memgpt_backend_postgres.devserver import DevServer, pgserver_bin
from memgpt_backend_postgres.errors import translate
from memgpt_backend_postgres.plugin import PostgresBackend, normalize_uri
from memgpt_backend_postgres.schema import SCHEMA_VERSION, hnsw_index, scope_index
from memgpt_backend_postgres.store import ENGINES, MAX_OVERFLOW, POOL_SIZE


class TestPostgresBackend(BackendConformance):
    """The whole conformance suite on a real PostgreSQL + pgvector (the session's server, or MEMGPT_PGURI's)."""

    backend_class = PostgresBackend
    backend_location = "{pg_uri}"


@pytest.fixture
def backend() -> PostgresBackend:
    return PostgresBackend()


@pytest.fixture
def store(backend: PostgresBackend, pg_uri: str):
    store = backend.open(backend.settings_from_uri(pg_uri))
    for table in backend.tables():
        open_collection(backend, store, table, Where.everything()).drop()
    yield store
    store.close()


def with_password(uri: str, password: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(uri).set(password=password).render_as_string(hide_password=False)


def run_and_plan(store, action: Any, marker: str, setup: Sequence[str] = ()) -> tuple[Any, str]:
    """``action()``'s result and PostgreSQL's plan of the first statement it sent that contains ``marker``."""
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if marker in statement:
            statements.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        result = action()
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    statement, parameters = statements[0]
    raw = store.engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("BEGIN")
        for line in setup:
            cursor.execute(line)
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("ROLLBACK")
    finally:
        raw.close()
    return result, plan


def search_and_plan(store, collection, vector: np.ndarray) -> tuple[list, str]:
    """A top-10 search of ``collection`` and PostgreSQL's plan of the vector query it sent."""
    return run_and_plan(store, lambda: collection.search(vector, k=10), "<=>", ["SET LOCAL hnsw.ef_search = 200"])


def test_hnsw_index_is_built_and_used_for_a_scoped_search(backend, store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 1_000)
    monkeypatch.setattr(pg_connector, "EXACT_SCOPE_ROWS", 200)
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    vectors = random_unit_vectors(3_000, dim=32, seed=4)
    archival.insert([make_record(Table.ARCHIVAL, i, owner=f"agent-{i % 3}", vector=vectors[i]) for i in range(3_000)])
    with store.begin() as conn:
        assert conn.execute(text("SELECT 1 FROM pg_indexes WHERE indexname = :i"), {"i": hnsw_index(Table.ARCHIVAL)}).first()
        conn.execute(text("ANALYZE memgpt_archival"))

    collection = open_collection(backend, store, Table.ARCHIVAL, scope(agent_id="agent-1"))
    hits, plan = search_and_plan(store, collection, vectors[1])
    assert len(hits) == 10 and {h.record.agent_id for h in hits} == {"agent-1"}
    assert hits[0].record.id == make_record(Table.ARCHIVAL, 1, owner="agent-1").id
    assert f"Index Scan using {hnsw_index(Table.ARCHIVAL)}" in plan, plan


def test_a_bulk_load_builds_the_index_once_at_the_end_and_searches_stay_exact_meanwhile(backend, store, monkeypatch) -> None:
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 500)
    monkeypatch.setattr(pg_connector, "BULK_LOAD_ROWS", 1_000)
    monkeypatch.setattr(pg_connector, "EXACT_SCOPE_ROWS", 100)
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    vectors = random_unit_vectors(3_000, dim=32, seed=7)
    records = [make_record(Table.ARCHIVAL, i, owner=f"agent-{i % 2}", vector=vectors[i]) for i in range(3_000)]
    archival.insert(records[:600])

    assert has_index(store)
    reader = open_collection(backend, store, Table.ARCHIVAL, scope(agent_id="agent-0"))
    with archival.bulk_load(2_400):
        for start in range(600, 3_000, 600):
            archival.insert(records[start : start + 600])
            assert not has_index(store)  # not grown row by row
            hits = reader.search(vectors[2], k=10)  # exact meanwhile
            mine = [i for i in range(0, start + 600) if i % 2 == 0]
            exact = sorted(mine, key=lambda i: -float(vectors[i] @ vectors[2]))[:10]
            assert [h.record.id for h in hits] == [records[i].id for i in exact]
    assert has_index(store) and archival.count() == 3_000
    # Analyzed with its new index: the planner knows every row is the user's and uses the index (without fresh
    # statistics it guessed the scope small and scanned it exactly: 149 ms per search instead of 8.5 at 100k rows).
    _, plan = search_and_plan(store, open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER)), vectors[4])
    assert f"Index Scan using {hnsw_index(Table.ARCHIVAL)}" in plan, plan
    small = archival.bulk_load(10)  # a small load keeps the index as it is
    with small:
        archival.insert(records[:5])
    assert has_index(store)


def test_a_bulk_load_into_a_table_holding_many_more_rows_keeps_its_index(backend, store, monkeypatch) -> None:
    """Rebuilding the graph over every row would cost more than growing it by a few (and slow every user's searches)."""
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 500)
    monkeypatch.setattr(pg_connector, "BULK_LOAD_ROWS", 500)
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    vectors = random_unit_vectors(4_600, dim=32, seed=8)
    records = [make_record(Table.ARCHIVAL, i, owner=f"agent-{i % 2}", vector=vectors[i]) for i in range(4_600)]
    archival.insert(records[:3_000])
    assert has_index(store)
    with archival.bulk_load(600):  # 3,000 rows held: more than 4 x 600
        archival.insert(records[3_000:3_600])
        assert has_index(store)
    with archival.bulk_load(1_000):  # 3,600 held: at most 4 x 1,000, rebuilt once at the end
        archival.insert(records[3_600:])
        assert not has_index(store)
    assert has_index(store) and archival.count() == 4_600


def test_memgpt_load_of_many_files_builds_the_index_once_after_the_rows(backend, store, tmp_path, monkeypatch) -> None:
    """``memgpt load`` tells the engine how many passages are coming (from the files' sizes): no graph grown row by row."""
    from memgpt.client import MemGPTClient
    from memgpt.config import MemGPTConfig
    from memgpt.sources import loader
    from memgpt.storage.configured import Storage

    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 200)
    monkeypatch.setattr(pg_connector, "BULK_LOAD_ROWS", 500)
    monkeypatch.setattr(loader, "FLUSH_PASSAGES", 100)  # many writes, each over INDEX_AFTER_ROWS once the first are in
    docs = tmp_path / "docs"
    docs.mkdir()
    words = "kettle tea train river garden station night green black water boil leaf cup morning ticket".split()
    for f in range(30):
        text = " ".join(f"{words[(f * 7 + i) % len(words)]}{i % 97}" for i in range(400))
        (docs / f"doc-{f:02d}.txt").write_text(text)
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "INDEX" in statement.upper() or statement.startswith("INSERT INTO memgpt_source_passages"):
            statements.append(statement.split("(")[0].strip())

    config = MemGPTConfig(embedding_chunk_size=20)
    event.listen(store.engine, "before_cursor_execute", capture)
    try:
        with MemGPTClient(config=config, storage=Storage.on_store(backend, store, config)) as client:
            report = client.load("docs", sorted(docs.iterdir()))
    finally:
        event.remove(store.engine, "before_cursor_execute", capture)
    assert report.passages_written == 30 * 20 and not report.failed
    inserts = [i for i, s in enumerate(statements) if s.startswith("INSERT")]
    creates = [i for i, s in enumerate(statements) if s.startswith("CREATE INDEX")]
    assert len(inserts) >= 6 and len(creates) == 1 and creates[0] > inserts[-1], statements
    assert has_index(store, Table.SOURCE_PASSAGES)


def has_index(store, table: Table = Table.ARCHIVAL) -> bool:
    """Whether ``table``'s HNSW index exists and is valid."""
    with store.begin() as conn:
        found = conn.execute(
            text("SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :i"),
            {"i": hnsw_index(table)},
        ).first()
    return bool(found and found[0])


def test_a_selective_scope_still_gets_k_results_when_the_index_is_used(backend, store, monkeypatch) -> None:
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 1_000)
    monkeypatch.setattr(pg_connector, "EXACT_SCOPE_ROWS", 100)
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    vectors = random_unit_vectors(3_000, dim=32, seed=5)
    archival.insert(
        [make_record(Table.ARCHIVAL, i, owner="rare" if i % 10 == 0 else "common", vector=vectors[i]) for i in range(3_000)]
    )
    query = vectors[5]  # a "common" vector: the index's nearest candidates are mostly other agents'
    hits = open_collection(backend, store, Table.ARCHIVAL, scope(agent_id="rare")).search(query, k=250)
    assert len(hits) == 250 and {h.record.agent_id for h in hits} == {"rare"}
    exact = np.argsort(-(vectors[::10] @ query))[:250]
    assert [h.record.id for h in hits[:20]] == [make_record(Table.ARCHIVAL, int(i) * 10, owner="rare").id for i in exact[:20]]


def scope_indexes(store) -> set[str]:
    with store.begin() as conn:
        return set(
            conn.execute(text("SELECT indexname FROM pg_indexes WHERE indexname LIKE 'memgpt_archival_scope_%'")).scalars()
        )


def test_a_large_agent_gets_an_index_of_its_own_and_is_searched_through_it(backend, store, monkeypatch) -> None:
    """PostgreSQL's best way to search one agent: a partial HNSW index of that user's agent, built by its first search."""
    monkeypatch.setattr(pg_connector, "SCOPE_INDEX_ROWS", 300)
    vectors = random_unit_vectors(1_200, dim=32, seed=12)
    big, other_user = "bob's notes", "someone-else"  # a quote in the name: the index predicate quotes it
    records = [make_record(Table.ARCHIVAL, i, owner=big, vector=vectors[i]) for i in range(600)]
    records += [make_record(Table.ARCHIVAL, i, owner="small", vector=vectors[i]) for i in range(600, 700)]
    records += [make_record(Table.ARCHIVAL, i, owner=big, user=other_user, vector=vectors[i]) for i in range(700, 1_200)]
    for user in (USER, other_user):
        open_collection(backend, store, Table.ARCHIVAL, scope(user_id=user)).insert([r for r in records if r.user_id == user])
    mine = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER, agent_id=big))
    assert scope_indexes(store) == set()  # built by a search, not by the writes

    hits, plan = search_and_plan(store, mine, vectors[3])
    name = scope_index(Table.ARCHIVAL, "", USER, big)
    assert f"Index Scan using {name}" in plan, plan
    exact = sorted(range(600), key=lambda i: -float(vectors[i] @ vectors[3]))[:10]
    assert [h.record.id for h in hits] == [records[i].id for i in exact]
    assert {(h.record.user_id, h.record.agent_id) for h in hits} == {(USER, big)}
    assert scope_indexes(store) == {name}
    open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER, agent_id="small")).search(vectors[0], k=5)
    assert scope_indexes(store) == {name}  # 100 passages: scanned exactly, no index

    theirs = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=other_user, agent_id=big))
    hits = theirs.search(vectors[3], k=10)  # the same agent name, another user: another index, never our rows
    assert {h.record.user_id for h in hits} == {other_user}
    exact = sorted(range(700, 1_200), key=lambda i: -float(vectors[i] @ vectors[3]))[:10]
    assert [h.record.id for h in hits] == [records[i].id for i in exact]
    assert scope_indexes(store) == {name, scope_index(Table.ARCHIVAL, "", other_user, big)}

    mine.insert([make_record(Table.ARCHIVAL, 5_000, owner=big, vector=-vectors[3])])  # kept up to date by PostgreSQL
    assert mine.search(-vectors[3], k=1)[0].record.id == make_record(Table.ARCHIVAL, 5_000, owner=big).id

    theirs.delete_where(Where.everything())  # the whole scope gone: its index with it
    assert scope_indexes(store) == {name}
    open_collection(backend, store, Table.ARCHIVAL, Where.everything()).drop()
    assert scope_indexes(store) == set()


def test_a_scope_index_a_killed_build_left_invalid_is_built_again(backend, store, monkeypatch) -> None:
    """CREATE INDEX CONCURRENTLY leaves an invalid index behind when its process dies; the next search replaces it."""
    monkeypatch.setattr(pg_connector, "SCOPE_INDEX_ROWS", 100)
    vectors = random_unit_vectors(200, dim=16, seed=14)
    agent = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER, agent_id="agent-1"))
    agent.insert([make_record(Table.ARCHIVAL, i, owner="agent-1", vector=vectors[i]) for i in range(200)])
    agent.search(vectors[0], k=3)
    name = scope_index(Table.ARCHIVAL, "", USER, "agent-1")
    with store.begin() as conn:  # what a build killed half way leaves: the index, marked invalid
        conn.execute(text("UPDATE pg_index SET indisvalid = false WHERE indexrelid = CAST(:n AS regclass)"), {"n": name})
    agent.connector._scope_indexes.clear()  # (a new process would not remember it either)
    hits, plan = search_and_plan(store, agent, vectors[7])
    assert hits[0].record.id == make_record(Table.ARCHIVAL, 7, owner="agent-1").id
    with store.begin() as conn:
        valid = conn.execute(text("SELECT indisvalid FROM pg_index WHERE indexrelid = CAST(:n AS regclass)"), {"n": name})
        assert valid.scalar() is True
    assert f"Index Scan using {name}" in plan, plan


def test_a_scope_index_that_fails_to_build_leaves_searches_exact_and_is_not_retried_by_each(backend, store, monkeypatch) -> None:
    from memgpt import notices

    monkeypatch.setattr(pg_connector, "SCOPE_INDEX_ROWS", 100)
    vectors = random_unit_vectors(150, dim=16, seed=15)
    agent = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER, agent_id="agent-1"))
    agent.insert([make_record(Table.ARCHIVAL, i, owner="agent-1", vector=vectors[i]) for i in range(150)])
    attempts: list[str] = []

    def failing_build(name: str, user: str, owner: str) -> None:
        attempts.append(name)
        raise StorageError("PostgreSQL at here: could not extend file (no space left on device)")

    monkeypatch.setattr(agent.connector, "_build_scope_index", failing_build)
    notices.take()
    for i in (3, 4, 5):
        assert agent.search(vectors[i], k=1)[0].record.id == make_record(Table.ARCHIVAL, i, owner="agent-1").id
    assert len(attempts) == 1 and scope_indexes(store) == set()
    assert any("could not build a search index" in n and "no space left" in n for n in notices.take())


def test_a_bulk_load_drops_the_scope_indexes_and_the_next_search_builds_them_again(backend, store, monkeypatch) -> None:
    monkeypatch.setattr(pg_connector, "SCOPE_INDEX_ROWS", 200)
    monkeypatch.setattr(pg_connector, "BULK_LOAD_ROWS", 300)
    vectors = random_unit_vectors(900, dim=16, seed=13)
    archival = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER))
    archival.insert([make_record(Table.ARCHIVAL, i, owner="agent-1", vector=vectors[i]) for i in range(300)])
    agent = open_collection(backend, store, Table.ARCHIVAL, scope(user_id=USER, agent_id="agent-1"))
    agent.search(vectors[0], k=3)
    assert len(scope_indexes(store)) == 1
    with archival.bulk_load(600):
        assert scope_indexes(store) == set()  # the load's rows would otherwise grow its graph row by row
        archival.insert([make_record(Table.ARCHIVAL, i, owner="agent-1", vector=vectors[i]) for i in range(300, 900)])
        hits = agent.search(vectors[450], k=3)  # meanwhile: searched without it, and not rebuilt
        assert hits[0].record.id == make_record(Table.ARCHIVAL, 450, owner="agent-1").id
        assert scope_indexes(store) == set()
    hits, plan = search_and_plan(store, agent, vectors[700])
    assert hits[0].record.id == make_record(Table.ARCHIVAL, 700, owner="agent-1").id
    assert f"Index Scan using {scope_index(Table.ARCHIVAL, '', USER, 'agent-1')}" in plan, plan


def test_connections_send_without_nagle_delays(backend, store, pg_uri: str) -> None:
    """pg8000 leaves Nagle's algorithm on; statements over 8 KiB (a 384-d query) then waited 40 ms for delayed ACKs."""
    import socket

    open_collection(backend, store, Table.RECALL, scope(agent_id="a")).count()
    with ENGINES.engines[backend.settings_from_uri(pg_uri)["uri"]].connect() as conn:
        sock = conn.connection.dbapi_connection._usock
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_scope_sizes_choose_exact_or_index_and_own_writes_forget_them(backend, store, monkeypatch) -> None:
    """The size of a search scope picks exact scan or HNSW; it is remembered, and forgotten when this store writes."""
    monkeypatch.setattr(pg_connector, "INDEX_AFTER_ROWS", 500)
    monkeypatch.setattr(pg_connector, "EXACT_SCOPE_ROWS", 300)
    vectors = random_unit_vectors(1_400, dim=16, seed=9)
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    archival.insert(
        [make_record(Table.ARCHIVAL, i, owner="big" if i < 1_000 else "small", vector=vectors[i]) for i in range(1_000)]
    )
    counted: list[str] = []
    connector = archival.connector
    original = connector._scope_size
    monkeypatch.setattr(connector, "_scope_size", lambda where: counted.append(str(where)) or original(where))
    small = open_collection(backend, store, Table.ARCHIVAL, scope(agent_id="small"))
    assert small.search(vectors[0], k=5) == []  # an empty scope: counted as small, searched exactly
    assert connector._scope_sizes[small._where(None)][0] == 0
    for _ in range(3):
        small.search(vectors[0], k=5)
    assert len(counted) == 4 and len(connector._scope_sizes) == 1  # asked every time, counted once
    small.insert([make_record(Table.ARCHIVAL, i, owner="small", vector=vectors[i]) for i in range(1_000, 1_400)])
    assert connector._scope_sizes == {}  # the write forgot every size
    hits = small.search(vectors[1_200], k=10)  # 400 rows now: above the threshold, the index (with its exact fallback)
    assert connector._scope_sizes[small._where(None)][0] == 301
    exact = np.argsort(-(vectors[1_000:] @ vectors[1_200]))[:10]
    assert [h.record.id for h in hits][:3] == [make_record(Table.ARCHIVAL, 1_000 + int(i), owner="small").id for i in exact[:3]]


def test_many_sequential_opens_share_one_bounded_pool(backend, pg_uri: str) -> None:
    settings = backend.settings_from_uri(pg_uri)
    for i in range(60):
        store = backend.open(settings)
        open_collection(backend, store, Table.RECALL, scope(agent_id=f"a{i}")).count()
        store.close()
    engines = [uri for uri in ENGINES.engines if uri == settings["uri"]]
    assert len(engines) == 1
    engine = ENGINES.engines[settings["uri"]]
    assert engine.pool.checkedout() == 0
    assert engine.pool.size() == POOL_SIZE
    with engine.connect() as conn:
        connections = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'memgpt'")).scalar()
    assert connections <= POOL_SIZE + MAX_OVERFLOW


@pytest.mark.parametrize("ping_after_idle", [30.0, 0.0], ids=["in-use", "idle"])
def test_a_connection_the_server_ended_is_replaced_before_use(
    store, monkeypatch: pytest.MonkeyPatch, ping_after_idle: float
) -> None:
    """A pooled connection is handed out only if its server is still there: one in use is checked by its
    socket alone (no round trip), one idle for longer than PING_AFTER_IDLE_SECONDS is pinged."""
    from memgpt_backend_postgres import store as pg_store

    monkeypatch.setattr(pg_store, "PING_AFTER_IDLE_SECONDS", ping_after_idle)
    archival = open_collection(PostgresBackend(), store, Table.ARCHIVAL, Where.everything())
    archival.insert([make_record(Table.ARCHIVAL, i, owner="agent-0") for i in range(3)])
    assert archival.count() == 3  # the pool now holds a connection of ours
    from sqlalchemy import create_engine

    outsider = create_engine(store.engine.url, poolclass=NullPool)
    with outsider.connect() as other:  # every pooled connection of ours ends, as in a failover
        ended = other.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'memgpt'"
            )
        ).scalar()
    outsider.dispose()
    assert ended >= 1
    assert archival.count() == 3
    assert [h.record.id for h in archival.search(make_record(Table.ARCHIVAL, 1, owner="agent-0").embedding, k=1)] == [
        "agent-0-archival-1"
    ]


class SessionsEndedAtCheckout:
    """Ends the server session of the next ``times`` connections the pool hands out, after the pool's check passed.

    What a restart or a failover does when it lands between the pool's check
    and the operation's first statement: the check saw a live socket, the
    statement finds the session gone. Each session is ended from another
    connection and waited for (``pg_terminate_backend(pid, timeout)``), so the
    race is the same on every run.
    """

    def __init__(self, store, times: int) -> None:
        from sqlalchemy import create_engine

        self.engine = store.engine
        self.outsider = create_engine(store.engine.url, poolclass=NullPool)
        self.left = times
        self.ended = 0

    def __call__(self, dbapi_connection, _record, _proxy) -> None:
        if self.left == 0:
            return
        self.left -= 1
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
        dbapi_connection.rollback()
        with self.outsider.connect() as other:
            assert other.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {"pid": pid}).scalar()
        self.ended += 1

    def __enter__(self) -> SessionsEndedAtCheckout:
        event.listen(self.engine, "checkout", self)  # after the store's own check, which was registered first
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine, "checkout", self)
        self.outsider.dispose()


@pytest.mark.parametrize("operation", ["count", "search", "text search", "insert", "delete"])
def test_a_session_ended_between_the_pools_check_and_the_first_statement_costs_a_retry_not_the_call(
    store, operation: str
) -> None:
    archival = open_collection(PostgresBackend(), store, Table.ARCHIVAL, Where.everything())
    records = [make_record(Table.ARCHIVAL, i, owner="agent-0") for i in range(4)]
    archival.insert(records[:3])
    with SessionsEndedAtCheckout(store, times=1) as ending:
        if operation == "count":
            assert archival.count() == 3
        elif operation == "search":
            assert [h.record.id for h in archival.search(records[1].embedding, k=1)] == [records[1].id]
        elif operation == "text search":
            assert [r.id for r in archival.text_search(records[2].text)] == [records[2].id]
        elif operation == "insert":
            archival.insert(records[3:])
        else:
            assert archival.remove(records[:1]) == 1
    assert ending.ended == 1
    held = {"insert": records, "delete": records[1:3]}.get(operation, records[:3])
    assert sorted(r.id for r in archival.iterate()) == sorted(r.id for r in held)


def test_a_connection_lost_twice_in_one_call_is_one_line_and_the_next_call_connects_again(store) -> None:
    archival = open_collection(PostgresBackend(), store, Table.ARCHIVAL, Where.everything())
    archival.insert([make_record(Table.ARCHIVAL, i, owner="agent-0") for i in range(3)])
    with SessionsEndedAtCheckout(store, times=2) as ending, pytest.raises(StorageUnavailable) as failure:
        archival.count()
    assert ending.ended == 2
    message = str(failure.value)
    assert message.startswith("lost the connection to PostgreSQL at 127.0.0.1:") and "(did the server restart?)" in message
    assert "\n" not in message and (store.password or "\x00") not in message
    assert archival.count() == 3


def test_a_lost_connection_prints_nothing_but_memgpts_line(pg_uri: str, tmp_path: Path) -> None:
    """SQLAlchemy logs a failed close of a dead connection with its traceback, which Python prints on stderr
    when nothing configured logging (as in the CLI): the backend gives that logger a quiet handler."""
    script = f"""
import sys
from sqlalchemy import create_engine, event, text
from sqlalchemy.pool import NullPool
from memgpt.errors import StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing import make_record
from memgpt_backend_postgres.plugin import PostgresBackend

backend = PostgresBackend()
store = backend.open(backend.settings_from_uri({pg_uri!r}))
archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
archival.insert([make_record(Table.ARCHIVAL, 0, owner="agent-lost")])
outsider = create_engine(store.engine.url, poolclass=NullPool)

def end_session(dbapi_connection, _record, _proxy):
    cursor = dbapi_connection.cursor()
    cursor.execute("SELECT pg_backend_pid()")
    pid = cursor.fetchone()[0]
    dbapi_connection.rollback()
    with outsider.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid, 10000)"), {{"pid": pid}})

event.listen(store.engine, "checkout", end_session)
try:
    archival.count()
except StorageUnavailable as exc:
    print(exc)
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("lost the connection to PostgreSQL at ")
    assert done.stderr == ""


@pytest.mark.parametrize("ask_while_down", [False, True], ids=["quiet-while-down", "asked-while-down"])
def test_a_restarted_server_costs_a_reconnect_not_the_data(backend, tmp_path: Path, ask_while_down: bool) -> None:
    """Pooled connections outlive a server restart: each is checked before use and replaced when dead
    (the restart closed their sockets, which the checkout sees)."""
    server = DevServer(tmp_path / "data", password="restart-secret")

    @contextmanager
    def serving() -> Iterator[None]:
        server.start()
        try:
            yield
        finally:
            server.stop()

    try:
        outlives_a_restart(
            backend,
            server.uri,
            serving,
            ask_while_down=ask_while_down,
            down_error=rf"^cannot reach PostgreSQL at 127\.0\.0\.1:{server.port}/",
        )
    finally:
        engine = ENGINES.engines.pop(server.uri, None)
        if engine is not None:
            engine.dispose()
        server.destroy()


def test_a_connection_lost_in_use_is_one_line_without_the_password() -> None:
    from sqlalchemy.exc import InterfaceError

    error = InterfaceError("SELECT 1", {}, OSError("network error"), connection_invalidated=True)
    message = str(translate(error, "db.example:5432/memgpt", "restart-secret"))
    assert message.startswith("lost the connection to PostgreSQL at db.example:5432/memgpt (did the server restart?)")
    assert "\n" not in message and "restart-secret" not in message


def _driver_error(kind: str) -> BaseException:
    import pg8000.exceptions as pg

    return {
        "reset": ConnectionResetError(104, "Connection reset by peer"),
        "network error": pg.InterfaceError("network error"),
        "session ended": pg.DatabaseError(
            {"S": "FATAL", "C": "57P01", "M": "terminating connection due to administrator command"}
        ),
        "refused": ConnectionRefusedError(111, "Connection refused"),
        "no connection made": pg.InterfaceError("Can't create a connection to host db.example and port 5432"),
        "no such table": pg.DatabaseError({"S": "ERROR", "C": "42P01", "M": 'relation "x" does not exist'}),
    }[kind]


@pytest.mark.parametrize(
    ("kind", "lost"),
    [
        ("reset", True),
        ("network error", True),
        ("session ended", True),
        ("refused", False),
        ("no connection made", False),
        ("no such table", False),
    ],
)
def test_a_connection_that_died_is_told_from_one_never_made_and_from_a_failed_statement(kind: str, lost: bool) -> None:
    """Only an open connection that died is run again (see ``reconnecting``): a server that cannot be reached is
    not asked twice, and a statement the server refused fails as it is."""
    from memgpt_backend_postgres.errors import ConnectionLost, is_disconnect

    error = _driver_error(kind)
    assert is_disconnect(error) is lost
    message = str(translate(error, "db.example:5432/memgpt", "restart-secret"))
    assert isinstance(translate(error, "db.example:5432/memgpt", "restart-secret"), ConnectionLost) is lost
    assert message.startswith("lost the connection to PostgreSQL") is lost
    assert "\n" not in message and "restart-secret" not in message


def test_wrong_password_is_one_masked_line(backend, pg_uri: str) -> None:
    settings = backend.settings_from_uri(with_password(pg_uri, "not-the-Password-42"))
    with pytest.raises(StorageUnavailable) as raised:
        backend.open(settings)
    message = str(raised.value)
    assert "refused the login" in message and "password authentication failed" in message
    assert "not-the-Password-42" not in message and "\n" not in message
    health = backend.check(settings)
    assert not health.ok and "not-the-Password-42" not in health.message
    assert "not-the-Password-42" not in backend.describe(settings)


def test_unreachable_server_and_missing_database(backend, pg_uri: str) -> None:
    from sqlalchemy.engine import make_url

    url = make_url(pg_uri)
    with pytest.raises(StorageUnavailable, match=r"cannot reach PostgreSQL at 127\.0\.0\.1:9 "):
        backend.open({"uri": url.set(port=9).render_as_string(hide_password=False)})
    with pytest.raises(StorageUnavailable, match='database "no_such_db" does not exist'):
        backend.open({"uri": url.set(database="no_such_db").render_as_string(hide_password=False)})


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mysql://u:p@h/db", "is not a PostgreSQL URI"),
        ("postgresql+psycopg2://u:p@h/db", r"use postgresql\+pg8000"),
        ("postgresql+pg8000://u:p@/db", "needs a host and a database"),
        ("not a uri at all", "malformed postgres connection string"),
        ("postgresql+pg8000://u:secret-pass@h:notaport/db", "malformed postgres connection string"),
    ],
)
def test_malformed_uris_are_config_errors_without_the_password(uri: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        normalize_uri(uri)
    assert "secret-pass" not in str(raised.value)


def test_plain_postgresql_uris_get_the_pg8000_driver() -> None:
    assert normalize_uri("postgresql://memgpt:pw@localhost:8888/memgpt") == "postgresql+pg8000://memgpt:pw@localhost:8888/memgpt"


@pytest.fixture(scope="module")
def server_without_pgvector():
    """A real PostgreSQL 16 whose installation has no pgvector (the extension files removed from a copy)."""
    root = Path(tempfile.mkdtemp(prefix="memgpt-pg-novector-"))
    original = pgserver_bin().parent
    # The binaries find their shared libraries at $ORIGIN/../../../pgserver.libs: keep that layout.
    install = root / "site" / "pgserver" / "pginstall"
    shutil.copytree(original, install, ignore=shutil.ignore_patterns("vector*"))
    (root / "site" / "pgserver.libs").symlink_to(original.parent.parent / "pgserver.libs")
    server = DevServer(root / "data", bin_dir=install / "bin")
    server.start()
    yield server
    server.destroy()
    shutil.rmtree(root, ignore_errors=True)


def test_missing_pgvector_is_one_clear_error(backend, server_without_pgvector: DevServer) -> None:
    with pytest.raises(StorageError) as raised:
        backend.open({"uri": server_without_pgvector.uri})
    message = str(raised.value)
    assert "has no pgvector extension" in message and "github.com/pgvector/pgvector" in message and "run_postgres.sh" in message


def test_schema_version_is_recorded_and_a_newer_one_refused(backend, store, pg_uri: str) -> None:
    with store.begin() as conn:
        assert conn.execute(text("SELECT version FROM memgpt_schema_version")).scalar() == SCHEMA_VERSION
        conn.execute(text("UPDATE memgpt_schema_version SET version = 99"))
    ENGINES.ready.clear()
    try:
        with pytest.raises(StorageError, match=f"schema version 99; this memgpt knows {SCHEMA_VERSION}"):
            backend.open(backend.settings_from_uri(pg_uri))
    finally:
        with store.engine.begin() as conn:
            conn.execute(text("UPDATE memgpt_schema_version SET version = :v"), {"v": SCHEMA_VERSION})


def test_a_current_schema_opens_without_a_lock_or_ddl_and_a_missing_index_is_made_again(backend, store, pg_uri: str) -> None:
    """Each new process checks the schema: two reads when it is current, the full set-up only when something is missing."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def open_again() -> None:
        statements.clear()
        ENGINES.ready.clear()
        backend.open(backend.settings_from_uri(pg_uri)).close()

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        open_again()
        assert statements and not [s for s in statements if "CREATE" in s or "advisory" in s], statements
        with store.begin() as conn:
            conn.execute(text("DROP INDEX memgpt_recall_user_id"))
        open_again()
        assert any("advisory" in s for s in statements)
        assert any("CREATE INDEX IF NOT EXISTS memgpt_recall_user_id" in s for s in statements)
        with store.begin() as conn:
            assert conn.execute(text("SELECT to_regclass('memgpt_recall_user_id')")).scalar() is not None
        open_again()
        assert not [s for s in statements if "CREATE" in s]
    finally:
        event.remove(store.engine, "before_cursor_execute", record)


def test_tables_written_by_memgpt_0_4_are_upgraded_in_place(backend, store, pg_uri: str) -> None:
    """0.4 keyed rows by bare record ids (schema 1): opening its tables re-keys them by user, once, in one transaction."""
    written = legacy_records(backend.tables())
    for table, records in written.items():
        write_legacy_rows(store.connector(table), records)
    with store.begin() as conn:
        conn.execute(text("UPDATE memgpt_schema_version SET version = 1"))
        assert conn.execute(text("SELECT count(*) FROM memgpt_archival WHERE id LIKE '%/%'")).scalar() == 0
    ENGINES.ready.clear()
    upgraded = backend.open(backend.settings_from_uri(pg_uri))
    try:
        assert_upgraded(backend, upgraded, written)
        with upgraded.begin() as conn:
            assert conn.execute(text("SELECT version FROM memgpt_schema_version")).scalar() == SCHEMA_VERSION
    finally:
        upgraded.close()
    ENGINES.ready.clear()  # opened again: nothing moves twice
    again = backend.open(backend.settings_from_uri(pg_uri))
    try:
        assert_upgraded(backend, again, written)
    finally:
        again.close()


def test_schema_2_gets_the_scope_indexes_and_an_agents_count_reads_only_the_index(backend, store, pg_uri: str) -> None:
    """Schema 3 indexes archival and recall rows by (agent_id, user_id, created_at): the scope's count needs no row."""

    def indexes(conn: Any, table: str) -> set[str]:
        return set(conn.execute(text("SELECT indexname FROM pg_indexes WHERE tablename = :t"), {"t": table}).scalars())

    with store.begin() as conn:  # as schema 2 left them
        for table in ("memgpt_archival", "memgpt_recall"):
            conn.execute(text(f"DROP INDEX {table}_agent_id_user_id_created_at"))
            conn.execute(text(f"CREATE INDEX {table}_agent_id_created_at ON {table} (agent_id, created_at)"))
        conn.execute(text("UPDATE memgpt_schema_version SET version = 2"))
    ENGINES.ready.clear()
    upgraded = backend.open(backend.settings_from_uri(pg_uri))
    try:
        open_collection(backend, upgraded, Table.ARCHIVAL, scope(user_id=USER)).insert(
            [make_record(Table.ARCHIVAL, i, owner=f"agent-{i % 2}") for i in range(40)]
        )
        coll = open_collection(backend, upgraded, Table.ARCHIVAL, scope(user_id=USER, agent_id="agent-1"))
        with upgraded.begin() as conn:
            assert conn.execute(text("SELECT version FROM memgpt_schema_version")).scalar() == SCHEMA_VERSION
            for table in ("memgpt_archival", "memgpt_recall"):
                found = indexes(conn, table)
                assert f"{table}_agent_id_user_id_created_at" in found and f"{table}_agent_id_created_at" not in found
            conn.execute(text("ANALYZE memgpt_archival"))
            conn.execute(text("SET LOCAL enable_seqscan = off"))
            conn.execute(text("SET LOCAL enable_bitmapscan = off"))
            plan = "\n".join(
                conn.execute(
                    text("EXPLAIN SELECT count(*) FROM memgpt_archival WHERE user_id = :u AND agent_id = :a"),
                    {"u": USER, "a": "agent-1"},
                ).scalars()
            )
        assert "Index Only Scan using memgpt_archival_agent_id_user_id_created_at" in plan, plan
        assert coll.count() == 20
    finally:
        upgraded.close()


WORDS = "tea train river garden station night green black water boil leaf cup morning ticket kettle".split()


def test_schema_3_loses_the_recall_time_index_that_misled_an_agents_text_search(backend, store, pg_uri: str) -> None:
    """Analyzed, PostgreSQL walked the user's (user_id, created_at) index for one agent's text search; schema 4 drops it."""
    recall = open_collection(backend, store, Table.RECALL, scope(user_id=USER))
    base = datetime(2026, 1, 1, tzinfo=timezone.utc)
    recall.insert(
        [
            make_record(
                Table.RECALL,
                i,
                owner=f"agent-{i % 10}",
                text=f"message {i}: "
                + " ".join(WORDS[(i * 11 + j * 5) % len(WORDS)] for j in range(10))
                + (" and a zeppelin" if i % 50 == 7 else ""),  # only agent-7 has the word
                created_at=base + timedelta(seconds=(i * 7_777) % (90 * 86_400)),
            )
            for i in range(20_000)
        ]
    )
    with store.begin() as conn:  # as schema 3 left it
        conn.execute(text("DROP INDEX memgpt_recall_user_id"))
        conn.execute(text("CREATE INDEX memgpt_recall_user_id_created_at ON memgpt_recall (user_id, created_at)"))
        conn.execute(text("UPDATE memgpt_schema_version SET version = 3"))
    ENGINES.ready.clear()
    upgraded = backend.open(backend.settings_from_uri(pg_uri))
    try:
        agent = open_collection(backend, upgraded, Table.RECALL, scope(user_id=USER, agent_id="agent-3"))  # no needle
        with upgraded.begin() as conn:
            assert conn.execute(text("SELECT version FROM memgpt_schema_version")).scalar() == SCHEMA_VERSION
            assert conn.execute(text("SELECT to_regclass('memgpt_recall_user_id_created_at')")).scalar() is None
            assert conn.execute(text("SELECT to_regclass('memgpt_recall_user_id')")).scalar() is not None
            conn.execute(text("ANALYZE memgpt_recall"))
        found, plan = run_and_plan(upgraded, lambda: agent.text_search("zeppelin", limit=10), "ILIKE")
        assert found == []
        assert "memgpt_recall_agent_id_user_id_created_at" in plan, plan
    finally:
        upgraded.close()


def test_vectors_are_stored_at_their_real_dimension(backend, store) -> None:
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    archival.insert([make_record(Table.ARCHIVAL, 0, vector=random_unit_vectors(1, dim=384)[0])])
    with store.begin() as conn:
        column = conn.execute(
            text(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'memgpt_archival'::regclass AND attname = 'embedding'"
            )
        ).scalar()
        stored = conn.execute(text("SELECT vector_dims(embedding) FROM memgpt_archival")).scalar()
    assert column == "vector(384)" and stored == 384


def test_importing_the_plugin_loads_no_database_library() -> None:
    assert heavy_imports("memgpt_backend_postgres.plugin", ["sqlalchemy", "pg8000", "pgvector", "numpy"]) == []


def test_cli_stores_and_searches_archival_and_recall_on_postgres(pg_uri: str, store, tmp_path: Path) -> None:
    storage = ["--archival-storage", "postgres", "--archival-uri", pg_uri, "--recall-storage", "postgres", "--recall-uri", pg_uri]
    home = cli_round_trip(tmp_path, "postgres", storage)
    configured = run_cli("configure", "--defaults", home=home)
    assert "memgpt:****@" in configured.stdout and ":memgpt@" not in configured.stdout
    status = json.loads(run_cli("storage", "status", "--json", home=home).stdout)
    assert {loc["backend"] for loc in status["locations"]} == {"postgres"}
    counts = {t["table"]: t["count"] for t in status["tables"]}
    assert counts == {"archival": 1, "source_passages": 2, "recall": 14, "agents": 1, "sources": 1, "profiles": 1}
    assert not list(home.glob("agents/*")) and not list(home.glob("archival/*")), "postgres holds every kind"


def test_memgpt_pguri_overrides_the_configured_uri(pg_uri: str, store, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    run_cli(
        "configure", "--defaults", "--archival-storage", "postgres", "--archival-uri", with_password(pg_uri, "wrong"), home=home
    )
    assert run_cli("storage", "status", home=home).returncode == 1
    (home / ".env").write_text(f"MEMGPT_PGURI={pg_uri}\n")
    result = run_cli("storage", "status", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "wrong" not in result.stdout


def test_without_this_package_postgres_is_not_offered(tmp_path: Path) -> None:
    env = {"MEMGPT_LOAD_PLUGINS": "nothing-installed"}
    listed = json.loads(run_cli("backends", "--json", home=tmp_path, env=env).stdout)
    assert [b["name"] for b in listed] == ["local"]
    result = run_cli("configure", "--defaults", "--archival-storage", "postgres", home=tmp_path, env=env)
    assert result.returncode == 1 and "pip install 'pymemgpt[postgres]'" in result.stderr


def test_run_postgres_script_serves_the_seed_uri_without_docker() -> None:
    """db/run_postgres.sh: Docker when a daemon answers, else the pgserver wheel (taken here: no daemon runs).

    The home is not under pytest's tmp_path: as root the server runs as another user, which needs to
    traverse the folders above its data, and every pytest session start resets pytest's own to 0700.
    """
    script = Path(__file__).resolve().parents[2] / "db" / "run_postgres.sh"
    if not script.is_file():
        pytest.skip("needs the repository checkout")
    from memgpt.loopback import free_port

    port = free_port()
    home = Path(tempfile.mkdtemp(prefix="memgpt-pg-script-")) / "home"
    env = dict(os.environ, MEMGPT_HOME=str(home), MEMGPT_PG_PORT=str(port), PYTHON=sys.executable, MEMGPT_PG_NO_DOCKER="1")
    started = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=300)
    try:
        assert started.returncode == 0, started.stderr
        assert f"MEMGPT_PGURI=postgresql+pg8000://memgpt:****@localhost:{port}/memgpt" in started.stdout
        backend = PostgresBackend()
        store = backend.open(backend.settings_from_uri(f"postgresql+pg8000://memgpt:memgpt@localhost:{port}/memgpt"))
        assert open_collection(backend, store, Table.RECALL, Where.everything()).count() == 0
        store.close()
    finally:
        stopped = subprocess.run(["bash", str(script), "stop"], capture_output=True, text=True, env=env, timeout=120)
        assert stopped.returncode == 0, stopped.stderr
        shutil.rmtree(home.parent, ignore_errors=True)


def test_configure_asks_the_seed_question_for_archival_and_recall(pg_uri: str) -> None:
    seed = "Enter postgres connection string (e.g. postgresql+pg8000://{user}:{password}@{ip}:5432/{database}):"
    config, asked = answer_configure({"Select storage backend": "postgres", "Enter postgres connection string": pg_uri})
    assert asked.count(seed) == 2  # once for archival, once for recall
    assert config.archival_storage.type == config.recall_storage.type == "postgres"
    assert config.archival_storage.settings == {"uri": pg_uri}


def test_a_failed_statement_never_poisons_the_pooled_connections(backend, store) -> None:
    """A write the server refuses (here a NUL byte, which the core itself refuses earlier) fails in one line; every
    connection of the pool stays usable for the writes that follow."""
    from memgpt.storage.codec import encode

    connector = store.connector(Table.RECALL)
    bad = encode(Table.RECALL, make_record(Table.RECALL, 2, with_embedding=False, text="nul \x00 here"))
    for _ in range(POOL_SIZE + MAX_OVERFLOW):
        with pytest.raises(StorageError) as raised:
            connector.upsert([bad])
        assert "\n" not in str(raised.value)
    for i in range(2 * (POOL_SIZE + MAX_OVERFLOW)):
        connector.upsert([encode(Table.RECALL, make_record(Table.RECALL, 100 + i, with_embedding=False))])
    assert open_collection(backend, store, Table.RECALL, Where.of(user_id="user-1")).count() == 2 * (POOL_SIZE + MAX_OVERFLOW)


@pytest.mark.parametrize("password", ["Xk7@9qZ", "Xk7/9qZ", "Xk7?9qZ", "Xk7#9qZ"])
def test_a_password_with_an_unencoded_reserved_character_is_refused_without_showing_it(password: str) -> None:
    with pytest.raises(ConfigError) as raised:
        normalize_uri(f"postgresql+pg8000://memgpt:{password}@localhost:8888/memgpt")
    message = str(raised.value)
    assert "percent-encode" in message and password not in message
    assert "Xk7" not in message and "9qZ" not in message
    encoded = normalize_uri("postgresql+pg8000://memgpt:p%40ss@localhost:8888/memgpt")  # encoded: handled
    from sqlalchemy.engine import make_url

    assert make_url(encoded).password == "p@ss"
