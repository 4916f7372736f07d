"""What the qdrant backend promises: the whole conformance suite, and more."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from qdrant_client import models

from memgpt.errors import StorageError, StorageLocked, StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.helpers import collection_name
from memgpt.storage.partitions import partition_shelf
from memgpt.storage.where import Where, scope
from memgpt.testing import BASE_TIME, BackendConformance, held_by_another_program, make_record, notes_of_agents
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_qdrant.connector import qdrant_filter
from memgpt_backend_qdrant.plugin import QdrantBackend


@pytest.fixture
def local_store(tmp_path: Path) -> Iterator[Any]:
    with QdrantBackend().open_uri(str(tmp_path / "qdrant")) as store:
        yield store


class Recorder:
    """Wraps the real client's read and delete calls to record the filters they send."""

    def __init__(self, client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, Any]] = []
        for method, key in (("scroll", "scroll_filter"), ("count", "count_filter"), ("query_points", "query_filter")):
            original = getattr(client, method)
            monkeypatch.setattr(client, method, self._wrap(method, key, original))
        original_retrieve = client.retrieve

        def retrieve(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(("retrieve", None))  # a point read by id; its points are checked against the scope
            return original_retrieve(*args, **kwargs)

        monkeypatch.setattr(client, "retrieve", retrieve)
        original_delete = client.delete

        def delete(name: str, points_selector: Any, **kwargs: Any) -> Any:
            self.calls.append(("delete", getattr(points_selector, "filter", points_selector)))
            return original_delete(name, points_selector=points_selector, **kwargs)

        monkeypatch.setattr(client, "delete", delete)

    def _wrap(self, method: str, key: str, original: Any) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((method, kwargs.get(key)))
            return original(*args, **kwargs)

        return call


def _has_agent(flt: Any, agent: str) -> bool:
    return any(
        getattr(c, "key", None) == "agent_id" and getattr(c.match, "value", None) == agent for c in (flt.must if flt else [])
    )


def test_every_operation_sends_the_agent_scope(local_store: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    backend = QdrantBackend()
    everything = open_collection(backend, local_store, Table.RECALL, Where.everything())
    everything.drop()
    everything.insert(notes_of_agents(Table.RECALL, agents=12, per_agent=15))
    mine = open_collection(backend, local_store, Table.RECALL, scope(user_id="user-1", agent_id="agent-7"))
    recorder = Recorder(local_store.client, monkeypatch)
    results = {
        "vector": [h.record for h in mine.search(np.ones(16), k=50)],
        "text": mine.text_search("note", limit=100),
        "date": mine.date_search(BASE_TIME, BASE_TIME + timedelta(hours=1), limit=100),
        "paging": list(mine.iterate(batch_size=4)),
        "get": mine.get_many([make_record(Table.RECALL, 3, owner=f"agent-{a}").id for a in range(12)]),
    }
    counts = (mine.count(), mine.text_count("note"), mine.date_count(BASE_TIME, BASE_TIME + timedelta(hours=1)))
    assert all({r.agent_id for r in found} == {"agent-7"} for found in results.values())
    assert [len(results[k]) for k in ("vector", "text", "date", "paging", "get")] == [15, 15, 15, 15, 1]
    assert counts == (15, 15, 15)
    assert mine.delete_where(Where.everything()) == 15
    calls = list(recorder.calls)  # everything the scoped collection sent
    # Reads by point id fetch exactly the points asked for and are held against the scope before they are
    # returned ("get" asked for twelve agents' messages and got agent-7's only); every other call sends the scope.
    unscoped = [(m, f) for m, f in calls if m != "retrieve" and not _has_agent(f, "agent-7")]
    assert calls and not unscoped, unscoped
    assert {method for method, _ in calls} >= {"scroll", "count", "query_points", "delete", "retrieve"}
    assert everything.count() == 11 * 15


def test_filter_values_are_match_values_not_syntax() -> None:
    flt = qdrant_filter(Where.of(agent_id="x' || true", source=['a"b', "c\\d"]))
    assert flt is not None
    assert flt.must[0].match == models.MatchValue(value="x' || true")
    assert sorted(flt.must[1].match.any) == ['a"b', "c\\d"]


def test_a_local_folder_in_use_gives_one_line_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    with held_by_another_program(f"from qdrant_client import QdrantClient; c = QdrantClient(path={str(folder)!r})"):
        backend = QdrantBackend()
        with pytest.raises(StorageLocked) as raised:
            backend.open(backend.settings_from_uri(str(folder)))
        message = str(raised.value)
        assert str(folder) in message and "another process" in message and "\n" not in message


def test_a_damaged_collection_of_a_local_folder_is_named_and_the_folder_left_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "qdrant"
    backend = QdrantBackend()
    store = backend.open(backend.settings_from_uri(str(folder)))
    for agent, n in (("keep", 5), ("hurt", 200)):
        archival = open_collection(backend, store, Table.ARCHIVAL, scope(user_id="user-1", agent_id=agent))
        archival.insert([make_record(Table.ARCHIVAL, i, owner=agent, text="words " * 50) for i in range(n)])
    store.close()
    hurt = collection_name(Table.ARCHIVAL, partition_shelf("", "user-1", "hurt"))
    victim = folder / "collection" / hurt / "storage.sqlite"
    size = victim.stat().st_size
    with open(victim, "r+b") as handle:
        handle.seek(size // 2)
        handle.write(b"\xff" * (size // 4))
    damaged = victim.read_bytes()

    with pytest.raises(StorageError) as raised:
        backend.open(backend.settings_from_uri(str(folder)))
    message = str(raised.value)
    assert hurt in message and "damaged" in message and "\n" not in message
    assert collection_name(Table.ARCHIVAL, partition_shelf("", "user-1", "keep")) not in message
    assert victim.read_bytes() == damaged, "nothing was repaired or removed behind the user's back"
    with pytest.raises(StorageError):  # and the folder's lock was let go: the next open fails the same way
        backend.open(backend.settings_from_uri(str(folder)))


def test_one_process_shares_its_local_client(tmp_path: Path) -> None:
    backend = QdrantBackend()
    settings = backend.settings_from_uri(str(tmp_path / "shared"))
    first, second = backend.open(settings), backend.open(settings)  # archival and recall on one folder
    assert first.client is second.client
    assert backend.check(settings).ok
    first.close()
    second.ping()
    second.close()


class _Guarded(BaseHTTPRequestHandler):
    seen: list[str | None] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        type(self).seen.append(self.headers.get("api-key"))
        body = json.dumps({"status": {"error": "Unauthorized: invalid API key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_the_api_key_comes_from_the_environment_and_is_never_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Guarded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("QDRANT_API_KEY", "qk-secret-123456")
        backend = QdrantBackend()
        settings = backend.settings_from_uri(f"127.0.0.1:{server.server_address[1]}")
        assert settings == {"mode": "server", "uri": f"http://127.0.0.1:{server.server_address[1]}"}
        with pytest.raises(StorageUnavailable) as raised:
            backend.open(settings)
        assert "refused the API key" in str(raised.value) and "qk-secret-123456" not in str(raised.value)
        assert _Guarded.seen and set(_Guarded.seen) == {"qk-secret-123456"}
    finally:
        server.shutdown()
    with pytest.raises(StorageUnavailable, match=r"cannot reach the Qdrant server at http://127\.0\.0\.1:9"):
        backend.open({"mode": "server", "uri": "http://127.0.0.1:9"})


def test_server_mode_keeps_the_key_out_of_the_config(memgpt_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QDRANT_API_KEY", "qk-never-written")
    config, asked = answer_configure({"Select storage backend for archival": "qdrant", "Select Qdrant backend": "server"})
    path = config.save()
    assert "Enter the Qdrant instance URI (Default: localhost:6333):" in asked
    assert config.archival_storage.settings == {"mode": "server", "uri": "localhost:6333"}
    assert "qk-never-written" not in path.read_text()


def test_uri_forms(memgpt_home: Path) -> None:
    backend = QdrantBackend()
    assert backend.settings_from_uri(":memory:") == {"mode": "memory"}
    assert backend.settings_from_uri("") == {"mode": "local", "path": str(memgpt_home / "qdrant")}
    assert backend.settings_from_uri("/data/q") == {"mode": "local", "path": "/data/q"}
    assert backend.settings_from_uri("localhost:6333") == {"mode": "server", "uri": "http://localhost:6333"}
    assert backend.settings_from_uri("https://q.example.com") == {"mode": "server", "uri": "https://q.example.com:6333"}


def test_importing_the_plugin_loads_no_qdrant_client() -> None:
    assert heavy_imports("memgpt_backend_qdrant.plugin", ["qdrant_client", "numpy", "grpc"]) == []


def test_in_memory_round_trip_within_a_process(memgpt_home: Path, tmp_path: Path) -> None:
    from memgpt.client import MemGPTClient
    from memgpt.config import MemGPTConfig, StorageConfig

    config = MemGPTConfig.load()
    config.archival_storage = config.recall_storage = StorageConfig("qdrant", {"mode": "memory"})
    (tmp_path / "docs.md").write_text("Qdrant in memory keeps vectors while the process lives.")
    with MemGPTClient(config) as client:
        client.load("mem-docs", [tmp_path / "docs.md"])
        client.create_agent("q-mem")
        client.attach("q-mem", "mem-docs")
        memory = client.memory("q-mem")
        memory.append_message("user", "remember the process")
        assert memory.search_archival("vectors process")[1] == 1
        assert memory.search_messages("PROCESS")[1] == 1


def test_local_folder_round_trip_through_the_cli_across_processes(tmp_path: Path) -> None:
    home = cli_round_trip(tmp_path, "qdrant")
    assert (home / "qdrant").is_dir()  # local mode's default, under MEMGPT_HOME


def test_collections_written_by_memgpt_0_4_are_upgraded_in_place(tmp_path: Path) -> None:
    """0.4 keyed points by bare record ids and left no key marker: opening its collections re-keys them by user, once."""

    def as_written_by_0_4(store) -> None:
        for collection in store.client.get_collections().collections:
            store.client.update_collection(collection.name, metadata={"memgpt_keys": "0.4"})

    def marked(store) -> None:
        names = [c.name for c in store.client.get_collections().collections]
        assert {store.client.get_collection(n).config.metadata["memgpt_keys"] for n in names} == {"user/id"}

    backend = QdrantBackend()
    upgrade_round_trip(backend, backend.settings_from_uri(str(tmp_path / "qdrant")), as_written_by_0_4, marked)


def test_a_large_local_collection_is_noted_once_in_our_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from memgpt import notices
    from memgpt_backend_qdrant import connector

    monkeypatch.setattr(connector, "LOCAL_MODE_POINTS", 10)
    notices.take()
    backend = QdrantBackend()
    with backend.open(backend.settings_from_uri(str(tmp_path / "qdrant"))) as store:
        archival = open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id="user-1"))
        archival.insert([make_record(Table.ARCHIVAL, i) for i in range(8)])
        assert notices.take() == []
        archival.insert([make_record(Table.ARCHIVAL, i) for i in range(8, 16)])
        archival.insert([make_record(Table.ARCHIVAL, i) for i in range(16, 24)])
    [said] = notices.take()
    assert "Qdrant's local mode" in said and "16 points" in said and "a Qdrant server is much faster" in said


class TestQdrantConformance(BackendConformance):
    """The whole conformance suite in memory (persistence checks skipped: nothing outlives the process) and on a folder."""

    backend_class = QdrantBackend
    backend_location = {"memory": ":memory:", "folder": "{tmp_path}/qdrant"}


def test_storage_status_advises_a_server_once_local_mode_holds_many_points(
    memgpt_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from memgpt.cli import main as cli
    from memgpt.config import MemGPTConfig, StorageConfig
    from memgpt_backend_qdrant import store as qdrant_store

    monkeypatch.setattr(qdrant_store, "LOCAL_MODE_ADVICE_POINTS", 8)
    config = MemGPTConfig.load()
    config.archival_storage = StorageConfig("qdrant", {"mode": "local", "path": str(tmp_path / "q")})
    config.save()
    with QdrantBackend().open_uri(str(tmp_path / "q")) as store:
        archival = open_collection(QdrantBackend(), store, Table.ARCHIVAL, Where.everything())
        vectors = np.eye(8, dtype=np.float32)
        archival.insert([make_record(Table.ARCHIVAL, i, vector=vectors[i % 8]) for i in range(7)])
    quiet = CliRunner().invoke(cli, ["storage", "status"])
    assert quiet.exit_code == 0, quiet.output
    assert "advice:" not in quiet.output  # 7 points: local mode is fine
    with QdrantBackend().open_uri(str(tmp_path / "q")) as store:
        open_collection(QdrantBackend(), store, Table.ARCHIVAL, Where.everything()).insert(
            [make_record(Table.ARCHIVAL, 7, vector=np.eye(8, dtype=np.float32)[7])]
        )
    result = CliRunner().invoke(cli, ["storage", "status"])
    assert result.exit_code == 0, result.output  # advice, not a failure
    [line] = [line for line in result.output.splitlines() if line.startswith("advice:")]
    assert "reads all 8 points into memory at every start" in line and "1.3 s at 20,000" in line
    assert "--to-archival-uri http://HOST:6333" in line
