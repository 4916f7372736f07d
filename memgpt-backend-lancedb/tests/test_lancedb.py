"""What the lancedb backend promises: the whole conformance suite, and more."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from memgpt.errors import ConfigError
from memgpt.kinds import Table
from memgpt.records import Message
from memgpt.storage.codec import encode_many
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where, scope
from memgpt.testing import BackendConformance, make_record, random_unit_vectors
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_lancedb import connector as lancedb_connector
from memgpt_backend_lancedb.connector import LanceDBConnector, literal, sql_where
from memgpt_backend_lancedb.plugin import LanceDBBackend


class TestLanceDB(BackendConformance):
    """The whole conformance suite on a temporary folder."""

    backend_class = LanceDBBackend
    backend_location = "{tmp_path}/lancedb"


class TestLanceDBCompactingEveryWrite(TestLanceDB):
    """Again, compacting after every single write: every read also goes through compacted tables, removed
    versions and the n-gram full-text index."""

    @pytest.fixture(autouse=True)
    def compact_every_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(LanceDBConnector, "compact_every", 1)


def count_files(folder: Path) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def test_messages_written_one_by_one_stay_a_bounded_number_of_files(tmp_path: Path) -> None:
    """Every write adds files; every ``compact_every`` writes, compaction brings the folder back to the same size."""
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    recall = open_collection(backend, store, Table.RECALL, scope(user_id="u", agent_id="talker"))
    every = LanceDBConnector.compact_every
    bound = 4 * every + 40
    most, after_compaction = 0, []
    for i in range(2_000):  # 125 compactions: a leak of one file per compaction would add 125
        recall.insert(
            [
                Message(
                    id=f"m{i:05d}",
                    role="user" if i % 2 else "assistant",
                    text=f"message {i} about tea",
                    user_id="u",
                    agent_id="talker",
                )
            ]
        )
        written = i + 1
        if written % 250 == 0:  # mostly between two compactions
            most = max(most, count_files(tmp_path / "db"))
        if written % (10 * every) == 0:  # right after one
            after_compaction.append(count_files(tmp_path / "db"))
    assert most <= bound, f"{most} files at one point; bound {bound}"
    assert max(after_compaction) <= after_compaction[0] + every, f"files right after each compaction: {after_compaction}"
    assert recall.count() == 2_000
    assert [m.id for m in recall.date_search(limit=3, offset=1_997)] == ["m01997", "m01998", "m01999"]


@pytest.mark.parametrize("scan_max_rows", [10**9, 0], ids=["id column read", "id IN query"])
def test_a_batch_is_appended_unless_it_replaces_a_stored_id(tmp_path: Path, monkeypatch, scan_max_rows: int) -> None:
    """New ids are appended; a batch holding one stored id among new ones is merged (no duplicate rows),
    whichever way the backend asks which ids are stored."""
    monkeypatch.setattr(lancedb_connector, "SCAN_IDS_MAX_ROWS", scan_max_rows)
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id="user-1"))
    vectors = random_unit_vectors(300, dim=8, seed=3)
    merges: list[int] = []
    original = LanceDBConnector._any_stored
    monkeypatch.setattr(
        LanceDBConnector, "_any_stored", lambda self, t, ids, stamp: merges.append(len(ids)) or original(self, t, ids, stamp)
    )
    archival.insert([make_record(Table.ARCHIVAL, i, vector=vectors[i]) for i in range(100)])
    archival.insert([make_record(Table.ARCHIVAL, i, vector=vectors[i]) for i in range(100, 200)])
    replaced = make_record(Table.ARCHIVAL, 150, vector=vectors[299])
    archival.insert([*(make_record(Table.ARCHIVAL, i, vector=vectors[i]) for i in range(200, 300)), replaced])
    assert archival.count() == 300 and merges == [100, 100, 101]
    stored = archival.get(replaced.id)
    assert stored is not None and stored.embedding.tolist() == vectors[299].tolist()


def test_ids_known_from_this_process_s_own_writes_are_not_trusted_after_another_process_writes(tmp_path: Path) -> None:
    """A process keeps the ids its own appends left in a table (to skip reading them again); a write by
    another process, even one that dropped the table and filled it back to the same version, is seen."""
    backend = LanceDBBackend()
    our_store, their_store = (backend.open({"uri": str(tmp_path / "db")}) for _ in range(2))
    ours = open_collection(backend, our_store, Table.RECALL, Where.of(user_id="user-1"))
    vectors = random_unit_vectors(400, dim=8, seed=5)
    ours.insert([make_record(Table.RECALL, i, vector=vectors[i]) for i in range(100)])
    ours.insert([make_record(Table.RECALL, i, vector=vectors[i]) for i in range(100, 200)])
    connector: LanceDBConnector = ours.connector  # type: ignore[assignment]
    known = connector._known_ids[connector.name]
    assert len(known.ids) == 200 and known.stamp == connector._stamp(connector._table(connector.vectors))

    theirs = open_collection(backend, their_store, Table.RECALL, Where.of(user_id="user-1"))
    theirs.insert([make_record(Table.RECALL, 250, vector=vectors[250])])
    replaced = make_record(Table.RECALL, 250, vector=vectors[399], text="replaced")
    ours.insert([replaced, make_record(Table.RECALL, 300, vector=vectors[300])])
    assert ours.count() == 202 and ours.get(replaced.id).text == "replaced"

    ours.insert([make_record(Table.RECALL, 301, vector=vectors[301])])  # a merge forgets the ids; an append learns them
    version = connector._known_ids[connector.name].stamp[0]
    open_collection(backend, their_store, Table.RECALL, Where.everything()).drop()  # the other process starts over
    theirs = open_collection(backend, their_store, Table.RECALL, Where.of(user_id="user-1"))
    theirs.insert([make_record(Table.RECALL, 380, vector=vectors[380], text="theirs")])  # an id this process never saw
    table = theirs.connector._table(theirs.connector.vectors)  # type: ignore[attr-defined]
    written = 1
    while table.version < version:  # ... and writes up to the version this process knows
        theirs.insert([make_record(Table.RECALL, 350 + written, vector=vectors[350 + written])])
        written += 1
    assert table.version == version, "the test needs the new table at the version the first process knows"
    ours.insert([make_record(Table.RECALL, 380, vector=vectors[380], text="ours")])
    assert ours.get(make_record(Table.RECALL, 380).id).text == "ours"
    assert ours.count() == written, "a stale id list would have appended a second row with the same id"


def test_tables_are_listed_from_the_folder_once_its_listing_agrees_with_the_engine(tmp_path: Path) -> None:
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    (tmp_path / "db" / "notes.lance").write_text("a file, not a table")
    assert store.table_names() == set() and not store.listing_agrees  # nothing to compare yet: the engine answers
    open_collection(backend, store, Table.RECALL, Where.everything()).insert([make_record(Table.RECALL, 0)])
    assert store.table_names() == {"memgpt_recall"} and store.listing_agrees
    assert store.table_names() == store._engine_table_names()
    (tmp_path / "db" / "memgpt_recall_plain.lance").mkdir()  # the listing now answers alone
    assert "memgpt_recall_plain" in store.table_names()

    elsewhere = backend.open({"uri": str(tmp_path / "other")})
    open_collection(backend, elsewhere, Table.RECALL, Where.everything()).insert([make_record(Table.RECALL, 0)])
    elsewhere.folder = tmp_path / "nowhere"  # a listing that disagrees with the engine...
    assert elsewhere.table_names() == {"memgpt_recall"} and elsewhere.folder is None  # ... is never used again


def _clauses(monkeypatch: pytest.MonkeyPatch, table) -> list[str]:
    """The filters ``table`` is counted with from now on."""
    asked: list[str] = []
    original = table.count_rows
    monkeypatch.setattr(table, "count_rows", lambda clause=None: asked.append(clause) or original(clause))
    return asked


def _one_user_s_messages(tmp_path: Path, n: int) -> tuple[LanceDBBackend, Any, Any]:
    """A folder holding ``n`` messages (with vectors) of user-1's agent, that collection, and a second store on the folder
    (as another process would open it)."""
    backend = LanceDBBackend()
    ours_store, theirs_store = (backend.open({"uri": str(tmp_path / "db")}) for _ in range(2))
    mine = open_collection(backend, ours_store, Table.RECALL, scope(user_id="user-1", agent_id="agent"))
    mine.insert([make_record(Table.RECALL, i, owner="agent") for i in range(n)])
    mine.connector.upsert(encode_many(Table.RECALL, [make_record(Table.RECALL, 0, owner="another")]))  # keeps the agent's term
    return backend, mine, theirs_store


def test_a_table_of_one_user_is_read_without_the_user_s_term_and_stays_exact_when_another_user_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, mine, theirs_store = _one_user_s_messages(tmp_path, 30)
    connector: LanceDBConnector = mine.connector  # type: ignore[assignment]
    table = connector._table(connector.vectors)
    assert connector._recorded_users(table)[0] == {"user-1"}
    asked = _clauses(monkeypatch, table)
    assert mine.count() == 30 and asked == ["(agent_id = 'agent')"]
    assert len(mine.search(random_unit_vectors(1, seed=9)[0], k=5)) == 5

    # another process writes another user's rows under the same agent name: recorded before they are written
    theirs = open_collection(backend, theirs_store, Table.RECALL, scope(user_id="user-2", agent_id="agent"))
    theirs.insert([make_record(Table.RECALL, i, owner="agent", user="user-2") for i in range(7)])
    asked.clear()
    assert mine.count() == 30, "the first process still believed the table held one user"
    assert asked == ["(agent_id = 'agent')", "(agent_id = 'agent') AND (user_id = 'user-1')"]
    asked.clear()
    assert mine.count() == 30 and theirs.count() == 7 and asked == ["(agent_id = 'agent') AND (user_id = 'user-1')"]
    assert {hit.record.user_id for hit in mine.search(random_unit_vectors(1, seed=9)[0], k=50)} == {"user-1"}
    assert connector._recorded_users(table)[0] == {"user-1", "user-2"}


def test_a_table_dropped_and_made_again_during_a_read_is_read_again_with_the_user_s_term(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend, mine, theirs_store = _one_user_s_messages(tmp_path, 10)
    assert mine.count() == 10
    connector: LanceDBConnector = mine.connector  # type: ignore[assignment]
    table = connector._table(connector.vectors)
    reads: list[str] = []

    def read(where: Where) -> int:
        reads.append(str(sorted(name for name, _ in where.constraints)))
        if len(reads) == 1:  # while this read runs, another process starts the table over, with the same user
            open_collection(backend, theirs_store, Table.RECALL, Where.everything()).drop()
            again = open_collection(backend, theirs_store, Table.RECALL, scope(user_id="user-1", agent_id="agent"))
            again.insert([make_record(Table.RECALL, 0, owner="agent")])
        return 0

    connector._scoped_read(table, mine.scope, read)
    assert reads == ["['agent_id']", "['agent_id', 'user_id']"]


def test_users_of_a_table_written_before_they_were_recorded_are_learned_at_its_next_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    everyone = open_collection(backend, store, Table.RECALL, Where.everything())
    everyone.insert([make_record(Table.RECALL, i, owner="agent", user=f"user-{i % 2}") for i in range(10)])
    everyone.insert([make_record(Table.RECALL, 0, owner="another")])  # (keeps the agent's term)
    connector: LanceDBConnector = everyone.connector  # type: ignore[assignment]
    table = connector._table(connector.vectors)
    table.update_field_metadata({"path": "user_id", "metadata": {lancedb_connector.USERS: None}})  # as memgpt 0.6 left it
    connector._users_seen.clear()
    assert connector._recorded_users(table)[0] is None
    mine = open_collection(backend, store, Table.RECALL, scope(user_id="user-0", agent_id="agent"))
    asked = _clauses(monkeypatch, table)
    assert mine.count() == 5 and asked == ["(agent_id = 'agent') AND (user_id = 'user-0')"]
    mine.insert([make_record(Table.RECALL, 100, owner="agent", user="user-0")])
    assert connector._recorded_users(table)[0] == {"user-0", "user-1"}

    table.update_field_metadata({"path": "user_id", "metadata": {lancedb_connector.USERS: '["user-0", '}})  # damaged
    connector._users_seen.clear()
    asked.clear()
    assert mine.count() == 6 and asked == ["(agent_id = 'agent') AND (user_id = 'user-0')"]
    mine.insert([make_record(Table.RECALL, 101, owner="agent", user="user-0")])  # learned from the rows again
    assert connector._recorded_users(table)[0] == {"user-0", "user-1"}

    monkeypatch.setattr(lancedb_connector, "MAX_RECORDED_USERS", 3)
    everyone.insert([make_record(Table.RECALL, 200 + i, owner="agent", user=f"user-{i + 2}") for i in range(2)])
    assert connector._recorded_users(table)[0] is None  # too many to list: every read keeps the term
    asked.clear()
    assert mine.count() == 7 and asked == ["(agent_id = 'agent') AND (user_id = 'user-0')"]


def test_an_agent_s_own_table_is_read_without_a_filter_and_stays_exact_when_another_agent_shares_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A table records its agents as it records its users: one agent's partition is searched and counted
    without any filter, until rows of another agent get in (two names whose digits are the same)."""
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    mine = open_collection(backend, store, Table.ARCHIVAL, scope(user_id="user-1", agent_id="agent"))
    mine.insert([make_record(Table.ARCHIVAL, i, owner="agent") for i in range(20)])
    part: LanceDBConnector = mine.connector.part  # type: ignore[attr-defined]
    table = part._table(part.vectors)
    asked = _clauses(monkeypatch, table)
    assert mine.count() == 20 and asked == [None]
    searched: list[str | None] = []
    original = part._scoped_read
    monkeypatch.setattr(
        part, "_scoped_read", lambda t, where, read: original(t, where, lambda w: searched.append(str(w)) or read(w))
    )
    assert len(mine.search(random_unit_vectors(1, seed=9)[0], k=5)) == 5 and searched == ["everything"]

    twins = [make_record(Table.ARCHIVAL, i, owner="twin") for i in range(3)]
    part.upsert(encode_many(Table.ARCHIVAL, twins))  # as if "twin" had the digits of "agent"
    asked.clear()
    assert mine.count() == 20, "this process still believed the table held one agent"
    assert asked == [None, "(agent_id = 'agent') AND (user_id = 'user-1')"]
    asked.clear()
    assert mine.count() == 20 and asked == ["(agent_id = 'agent')"]
    assert {hit.record.agent_id for hit in mine.search(random_unit_vectors(1, seed=9)[0], k=23)} == {"agent"}


@pytest.mark.parametrize("with_embedding", [True, False], ids=["vectors", "plain"])
@pytest.mark.parametrize("compacted", [False, True], ids=["rows-in-place", "rows-moved"])
def test_a_page_is_taken_where_its_keys_were_found_and_rows_changed_meanwhile_are_read_by_id(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, with_embedding: bool, compacted: bool
) -> None:
    backend = LanceDBBackend()
    ours_store, theirs_store = (backend.open({"uri": str(tmp_path / "db")}) for _ in range(2))
    mine = open_collection(backend, ours_store, Table.RECALL, scope(user_id="user-1", agent_id="agent"))
    mine.insert([make_record(Table.RECALL, i, owner="agent", with_embedding=with_embedding) for i in range(40)])
    connector: LanceDBConnector = mine.connector  # type: ignore[assignment]
    side = connector.vectors if with_embedding else connector.plain
    table = connector._table(side)
    taken: list[int] = []
    original_take = table.take_row_ids
    monkeypatch.setattr(table, "take_row_ids", lambda addresses: taken.append(len(addresses)) or original_take(addresses))
    assert [m.id for m in mine.text_search("record 1", limit=5)] == [f"agent-recall-{i}" for i in (1, 10, 11, 12, 13)]
    assert taken == [5], "the page was taken by row address"

    # between the key query and the page, another process deletes a row, rewrites one (and compacts the table)
    theirs = open_collection(backend, theirs_store, Table.RECALL, scope(user_id="user-1", agent_id="agent"))
    original_keys = connector.keys_of_side

    def keys_then_change(*args: Any) -> Any:
        keys = list(original_keys(*args))
        theirs.delete(["agent-recall-2"])
        theirs.insert([make_record(Table.RECALL, 3, owner="agent", text="rewritten", with_embedding=with_embedding)])
        if compacted:  # every row at a new address
            theirs_connector: LanceDBConnector = theirs.connector  # type: ignore[assignment]
            theirs_connector._table(side).optimize()
        return keys

    monkeypatch.setattr(connector, "keys_of_side", keys_then_change)
    page = mine.date_search(limit=5)
    assert [m.id for m in page] == [f"agent-recall-{i}" for i in (0, 1, 3, 4)]
    assert page[2].text == "rewritten" and page[1] == make_record(Table.RECALL, 1, owner="agent", with_embedding=with_embedding)
    monkeypatch.setattr(connector, "keys_of_side", original_keys)
    connector._handles.clear()
    assert [m.id for m in mine.date_search(limit=4)] == [f"agent-recall-{i}" for i in (0, 1, 3, 4)]


def test_a_store_without_the_write_lock_never_trusts_a_users_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the folder's lock (a remote URI) two writers could each record their user over the other's."""
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    store.lock = None  # as for an s3:// URI
    mine = open_collection(backend, store, Table.RECALL, scope(user_id="user-1", agent_id="agent"))
    mine.insert([make_record(Table.RECALL, i, owner="agent") for i in range(5)])
    connector: LanceDBConnector = mine.connector  # type: ignore[assignment]
    table = connector._table(connector.vectors)
    assert connector._recorded_users(table)[0] is None  # marked as too many to list, for any later process too
    asked = _clauses(monkeypatch, table)
    assert mine.count() == 5 and asked == ["(agent_id = 'agent') AND (user_id = 'user-1')"]


def test_recall_text_search_goes_through_the_ngram_index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    recall = open_collection(backend, store, Table.RECALL, Where.everything())
    texts = ["Green tea at eighty degrees", "black TEA, boiling", "coffee", "a teapot", "oolong", "Steamed buns"] * 20
    recall.insert(
        [Message(id=f"m{i}", role="user", text=t, user_id="u", agent_id=f"a{i % 3}", created_at=i) for i, t in enumerate(texts)]
    )
    connector: LanceDBConnector = recall.connector  # type: ignore[assignment]
    table = connector._open(connector.plain_name)
    connector.compact(table)
    assert connector._has_fts(table)
    assert connector._fts_candidates(table, "tea") is not None  # the index answers this query
    assert connector._fts_candidates(table, "a.b") is None and connector._fts_candidates(table, "te") is None  # the scan does
    queries = ["tea", "TEA", "eam", "green tea", "a teapot", "tea,", "te", "zzz", "Steamed buns"]
    indexed = {q: [m.id for m in recall.text_search(q, limit=1000)] for q in queries}
    monkeypatch.setattr(LanceDBConnector, "_fts_candidates", lambda self, table, text: None)
    scanned = {q: [m.id for m in recall.text_search(q, limit=1000)] for q in queries}
    assert indexed == scanned
    assert len(indexed["tea"]) == 80 and len(indexed["eam"]) == 20  # "Steamed" holds "tea" too


def test_filters_quote_values_as_literals() -> None:
    assert literal("o'brien") == "'o''brien'"
    assert (
        sql_where(Where.of(agent_id="x' OR '1'='1", role=["user", "a'b"]))
        == "(agent_id = 'x'' OR ''1''=''1') AND (role IN ('a''b', 'user'))"
    )


def test_empty_uri_means_dot_lancedb_in_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = LanceDBBackend()
    monkeypatch.chdir(tmp_path)
    assert backend.settings_from_uri("") == {"uri": "./.lancedb"}
    assert backend.describe({"uri": "./.lancedb"}) == str(tmp_path / ".lancedb")
    store = backend.open(backend.settings_from_uri(""))
    open_collection(backend, store, Table.RECALL, Where.everything()).insert(
        [Message(id="m", role="user", text="hi", user_id="u", agent_id="a")]
    )
    assert (tmp_path / ".lancedb").is_dir()
    with pytest.raises(ConfigError, match="local folder path"):
        backend.settings_from_uri("s3://bucket/path")


def test_importing_the_plugin_loads_no_lancedb() -> None:
    assert heavy_imports("memgpt_backend_lancedb.plugin", ["lancedb", "pyarrow", "numpy"]) == []


def test_memories_round_trip_through_the_cli_and_survive_restarts(tmp_path: Path) -> None:
    home = cli_round_trip(tmp_path, "lancedb")
    assert (home / ".lancedb").is_dir()  # the seed's default: ./.lancedb where memgpt runs


def test_configure_asks_the_seed_question_and_empty_means_default(memgpt_home: Path) -> None:
    config, asked = answer_configure({"Select storage backend": "lancedb"})
    assert asked.count("Enter the LanceDB database URI (Default: ./.lancedb):") == 2
    assert config.archival_storage.settings == config.recall_storage.settings == {"uri": "./.lancedb"}


def test_tables_written_by_memgpt_0_4_are_upgraded_in_place(tmp_path: Path) -> None:
    """0.4 keyed rows by bare record ids and had no key marker: opening its tables re-keys them by user, once."""
    import warnings

    def as_written_by_0_4(store) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # replace_field_metadata is deprecated, and the one way to remove a key
            for name in store.table_names():
                store.db.open_table(name).replace_field_metadata("id", {})

    def marked(store) -> None:
        assert all(b"memgpt_keys" in store.db.open_table(n).schema.field("id").metadata for n in store.table_names())

    backend = LanceDBBackend()
    upgrade_round_trip(backend, {"uri": str(tmp_path / "db")}, as_written_by_0_4, marked)


def test_a_table_left_half_created_by_a_killed_process_counts_as_absent(tmp_path: Path) -> None:
    """kill -9 during create_table can leave a table folder with no version: listed, but not found when opened."""
    (tmp_path / "db" / "memgpt_archival.lance" / "_versions").mkdir(parents=True)
    backend = LanceDBBackend()
    with backend.open(backend.settings_from_uri(str(tmp_path / "db"))) as store:
        archival = open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id="user-1"))
        assert archival.embedding_spec is None and archival.count() == 0
        archival.insert([make_record(Table.ARCHIVAL, 0)])
        assert archival.count() == 1


def test_compaction_indexes_the_scope_and_counts_stay_exact_after_it(tmp_path: Path) -> None:
    """Compaction puts bitmaps on the user and the agent; rows written after it (not yet in them) still count."""
    backend = LanceDBBackend()
    store = backend.open({"uri": str(tmp_path / "db")})
    recall = open_collection(backend, store, Table.RECALL, Where.everything())

    def messages(start: int, stop: int, user: str = "u") -> list[Message]:
        return [
            Message(id=f"m{i}", role="user", text="hi", user_id=user, agent_id=f"a{i % 3}", created_at=i)
            for i in range(start, stop)
        ]

    recall.insert(messages(0, 60))
    connector: LanceDBConnector = recall.connector  # type: ignore[assignment]
    table = connector._open(connector.plain_name)
    connector.compact(table)
    assert {"user_id", "agent_id", "id"} <= connector._indexed_columns(table)
    plan = table.search().where("agent_id = 'a1' AND user_id = 'u'").explain_plan(verbose=True)
    assert "agent_id_idx(Bitmap)" in plan and "user_id_idx(Bitmap)" in plan, plan
    recall.insert(messages(60, 90) + messages(0, 9, user="v"))  # after the compaction: outside the bitmaps
    agent_a1 = open_collection(backend, store, Table.RECALL, Where.of(user_id="u", agent_id="a1"))
    assert agent_a1.count() == 30
    assert open_collection(backend, store, Table.RECALL, Where.of(user_id="v", agent_id="a1")).count() == 3
