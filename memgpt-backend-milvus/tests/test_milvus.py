"""What the milvus backend promises: the whole conformance suite, and more."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from memgpt.errors import ConfigError, StorageLocked
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where, scope
from memgpt.testing import (
    BackendConformance,
    accepts_connections,
    free_port,
    held_by_another_program,
    make_record,
    notes_of_agents,
    outlives_a_restart,
    running_server,
)
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_milvus.connector import milvus_expr
from memgpt_backend_milvus.plugin import MilvusBackend


class TestMilvusConformance(BackendConformance):
    """The whole conformance suite on a Milvus Lite file and against a Milvus Lite server on loopback."""

    backend_class = MilvusBackend
    backend_location = {"lite-file": "{tmp_path}/milvus.db", "server": "{milvus_server}"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    with MilvusBackend().open_uri(str(tmp_path / "m.db")) as store:
        yield store


def test_every_operation_sends_the_agent_scope(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = MilvusBackend()
    everything = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    everything.insert(notes_of_agents(Table.ARCHIVAL, agents=12, per_agent=10))
    mine = open_collection(backend, store, Table.ARCHIVAL, scope(user_id="user-1", agent_id="agent-7"))
    sent: list[tuple[str, str]] = []
    for method in ("query", "search", "delete", "query_iterator"):
        original = getattr(store.client, method)

        def spy(*args: Any, _method: str = method, _original: Any = original, **kwargs: Any) -> Any:
            sent.append(
                (_method, "primary key lookup" if kwargs.get("ids") and not kwargs.get("filter") else kwargs.get("filter", ""))
            )
            return _original(*args, **kwargs)

        monkeypatch.setattr(store.client, method, spy)
    found = {
        "vector": [h.record for h in mine.search(np.ones(16), k=50)],
        "text": mine.text_search("note", limit=100),
        "paging": list(mine.iterate(batch_size=3)),
        "get": mine.get_many([make_record(Table.ARCHIVAL, 2, owner=f"agent-{a}").id for a in range(12)]),
    }
    assert (mine.count(), mine.text_count("NOTE")) == (10, 10)
    assert [len(v) for v in found.values()] == [10, 10, 10, 1]
    assert all({r.agent_id for r in records} == {"agent-7"} for records in found.values())
    assert mine.delete_where(Where.everything()) == 10
    # Reads by primary key are point reads whose rows are checked against the scope here: "get" asked for
    # twelve agents' records and got agent-7's only. Everything else carries the scope to Milvus.
    unscoped = [(m, f) for m, f in sent if '(agent_id == "agent-7")' not in f and f != "primary key lookup"]
    assert sent and not unscoped, unscoped
    assert ("query", "primary key lookup") in sent
    assert {m for m, _ in sent} >= {"query", "search", "delete", "query_iterator"}
    assert everything.count() == 110


def test_writes_are_flushed_every_flush_after_rows(store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows written are sealed by a flush once FLUSH_AFTER of them are waiting (searches of growing segments are slow)."""
    from memgpt_backend_milvus import connector

    monkeypatch.setattr(connector, "FLUSH_AFTER", 25)
    flushed: list[str] = []
    original = store.client.flush
    monkeypatch.setattr(store.client, "flush", lambda name, **kw: (flushed.append(name), original(name, **kw))[1])
    backend = MilvusBackend()
    coll = open_collection(backend, store, Table.ARCHIVAL, scope(user_id="user-1", agent_id="agent-1"))
    records = [make_record(Table.ARCHIVAL, i, owner="agent-1") for i in range(60)]
    coll.insert(records[:20])
    assert flushed == []  # 20 waiting
    coll.insert(records[20:30])
    assert flushed == ["memgpt_archival"]  # 30 >= 25: sealed, none waiting
    coll.insert(records[30:60])
    assert flushed == ["memgpt_archival"] * 2
    assert coll.count() == 60
    assert {h.record.id for h in coll.search(records[59].embedding, k=60)} == {r.id for r in records}


def test_filter_values_are_json_quoted_literals() -> None:
    expr = milvus_expr(Where.of(agent_id='x" or id != "', source=["a'b", "c\\d", "tab\tx"]))
    assert expr == '(agent_id == "x\\" or id != \\"") and (source in ["a\'b", "c\\\\d", "tab\\tx"])'


def test_upserts_replace_and_are_visible_at_once(store: Any) -> None:
    backend = MilvusBackend()
    recall = open_collection(backend, store, Table.RECALL, Where.of(user_id="user-1"))
    first = make_record(Table.RECALL, 1, text="first version")
    recall.insert([first])
    assert recall.get(first.id).text == "first version"  # strong consistency: no wait between write and read
    second = make_record(Table.RECALL, 1, text="second version")
    recall.insert([second])
    assert recall.count() == 1 and recall.get(first.id).text == "second version"
    assert store.client.describe_collection("memgpt_recall")["consistency_level"] in (0, "Strong")


def test_texts_longer_than_a_varchar_are_stored_and_searched(store: Any) -> None:
    backend = MilvusBackend()
    archival = open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id="user-1"))
    long_text = "ß" * 40_000 + " NEEDLE at the end"  # 80 KB in UTF-8: over Milvus' 65,535-byte VARCHAR
    archival.insert([make_record(Table.ARCHIVAL, 1, text=long_text), make_record(Table.ARCHIVAL, 2, text="a short needle")])
    assert archival.get(make_record(Table.ARCHIVAL, 1).id).text == long_text
    assert [r.id.rsplit("-", 1)[1] for r in archival.text_search("needle")] == ["1", "2"]
    assert archival.text_count("at the end") == 1


def test_a_lite_file_in_use_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program holds the file (not a memgpt process taking its turn): after the wait, one line naming it."""
    monkeypatch.setenv("MEMGPT_LOCK_TIMEOUT", "1")
    path = tmp_path / "busy.db"
    with held_by_another_program(f"from pymilvus import MilvusClient; MilvusClient(uri={str(path)!r})"):
        with pytest.raises(StorageLocked) as raised:
            MilvusBackend().open({"uri": str(path)})
        assert (
            str(path) in str(raised.value)
            and "another process" in str(raised.value)
            and "milvus-lite server" in str(raised.value)
        )
        env = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
        env["MEMGPT_HOME"] = str(tmp_path / "home")
        env["MEMGPT_LOCK_TIMEOUT"] = "1"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "memgpt",
                "configure",
                "--defaults",
                "--archival-storage",
                "milvus",
                "--archival-uri",
                str(path),
            ],
            env=env,
            check=True,
            capture_output=True,
        )
        status = subprocess.run([sys.executable, "-m", "memgpt", "storage", "status"], env=env, capture_output=True, text=True)
        assert status.returncode == 1 and status.stderr == ""  # no traceback from the libraries
        [line] = [line for line in status.stdout.splitlines() if line.startswith("archival:")]
        assert f"ERROR: Milvus Lite file {path} is in use by another process" in line


def test_uri_forms(memgpt_home: Path) -> None:
    backend = MilvusBackend()
    assert backend.settings_from_uri("") == {"uri": "~/.memgpt/milvus.db"}
    assert backend.describe(backend.settings_from_uri("")) == str(memgpt_home / "milvus.db")
    assert backend.describe({"uri": "http://127.0.0.1:19530"}) == "http://127.0.0.1:19530"
    with pytest.raises(ConfigError, match=r"http://host:port or a local \.db file"):
        backend.settings_from_uri("s3://bucket/x")


def test_server_mode_round_trip(milvus_server: str, memgpt_home: Path, tmp_path: Path) -> None:
    from memgpt.client import MemGPTClient
    from memgpt.config import MemGPTConfig, StorageConfig

    config = MemGPTConfig.load()
    config.archival_storage = config.recall_storage = StorageConfig("milvus", {"uri": milvus_server})
    (tmp_path / "docs.md").write_text("Milvus servers answer over gRPC.")
    with MemGPTClient(config) as client:
        for table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL):
            client.storage.collection(table, Where.everything()).drop()
        client.load("server-docs", [tmp_path / "docs.md"])
        client.create_agent("m-server")
        client.attach("m-server", "server-docs")
        memory = client.memory("m-server")
        memory.append_message("user", "ask the server")
        assert memory.search_archival("gRPC servers")[1] == 1 and memory.search_messages("SERVER")[1] == 1


@pytest.mark.parametrize("ask_while_down", [False, True], ids=["quiet-while-down", "asked-while-down"])
def test_a_server_restarted_under_a_running_process_costs_that_process_nothing(
    tmp_path: Path, milvus_server_argv: Any, ask_while_down: bool
) -> None:
    """The restarted server has the collections released and the client's channel may be waiting out a reconnect
    backoff: neither may reach the user (see ``ServerClient``)."""
    port = free_port()
    argv = milvus_server_argv(tmp_path / "db", port)
    outlives_a_restart(
        MilvusBackend(),
        f"http://127.0.0.1:{port}",
        lambda: running_server(argv, tmp_path / "server.log", lambda: accepts_connections(port)),
        ask_while_down=ask_while_down,
        down_error=f"^cannot reach Milvus at http://127.0.0.1:{port} ",
    )


def test_importing_the_plugin_loads_no_pymilvus() -> None:
    assert heavy_imports("memgpt_backend_milvus.plugin", ["pymilvus", "milvus_lite", "numpy", "grpc"]) == []


def test_lite_file_round_trip_through_the_cli_across_processes(tmp_path: Path) -> None:
    home = cli_round_trip(tmp_path, "milvus")  # also checks that no library wrote to stderr
    assert (home / "milvus.db").exists()  # the seed's default ~/.memgpt/milvus.db, under MEMGPT_HOME


def test_configure_asks_the_seed_question(memgpt_home: Path) -> None:
    config, asked = answer_configure({"Select storage backend": "milvus"})
    assert asked.count("Enter the Milvus connection URI (Default: ~/.memgpt/milvus.db):") == 2
    assert config.archival_storage.settings == {"uri": "~/.memgpt/milvus.db"}


def test_collections_written_by_memgpt_0_4_are_upgraded_in_place(tmp_path: Path) -> None:
    """0.4 keyed entities by bare record ids and left no key marker: opening its collections re-keys them by user, once."""

    def as_written_by_0_4(store) -> None:
        for name in store.client.list_collections():
            store.client.alter_collection_properties(name, properties={"memgpt_keys": "0.4"})

    def marked(store) -> None:
        properties = [store.client.describe_collection(n)["properties"] for n in store.client.list_collections()]
        assert {p["memgpt_keys"] for p in properties} == {"user/id"}

    backend = MilvusBackend()
    upgrade_round_trip(backend, backend.settings_from_uri(str(tmp_path / "m.db")), as_written_by_0_4, marked)
