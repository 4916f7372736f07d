"""What the chroma backend promises: the whole conformance suite, and more."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from memgpt.errors import ConfigError, StorageError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.helpers import collection_name
from memgpt.storage.partitions import partition_shelf
from memgpt.storage.where import Where
from memgpt.testing import BackendConformance, free_port, make_record, outlives_a_restart
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports
from memgpt.testing.data import USER
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_chroma.connector import ABSENT, EXACT_NORM, EXACT_PATCH, EXACT_VECTOR, regex_literal
from memgpt_backend_chroma.plugin import ChromaBackend

ARCHIVAL = collection_name(Table.ARCHIVAL, partition_shelf("", USER, "owner-1"))
"""The Chroma collection of the test records' agent (``make_record``'s default user and owner)."""


class TestChromaConformance(BackendConformance):
    """The whole conformance suite on a folder (Chroma's persistent mode) and against a `chroma run` server on loopback."""

    backend_class = ChromaBackend
    backend_location = {"persistent": "{tmp_path}/chroma", "server": "http://{chroma_server[0]}:{chroma_server[1]}"}


def test_uri_forms(memgpt_home: Path) -> None:
    backend = ChromaBackend()
    assert backend.settings_from_uri("") == {"mode": "persistent", "path": str(memgpt_home / "chroma")}
    assert backend.settings_from_uri("/data/chroma") == {"mode": "persistent", "path": "/data/chroma"}
    assert backend.settings_from_uri("http://127.0.0.1:9000") == {
        "mode": "http",
        "host": "127.0.0.1",
        "port": "9000",
        "ssl": "false",
    }
    assert backend.settings_from_uri("https://chroma.example.com")["port"] == "443"
    with pytest.raises(ConfigError, match="folder path or http"):
        backend.settings_from_uri("postgresql://x/y")
    with pytest.raises(ConfigError, match="malformed"):
        backend.settings_from_uri("http://host:notaport")


def test_http_settings_really_use_the_server(tmp_path: Path, memgpt_home: Path) -> None:
    """The original fell back to a local folder when both were set; an HTTP configuration must fail without a server."""
    backend = ChromaBackend()
    settings = {"mode": "http", "host": "127.0.0.1", "port": "9", "path": str(tmp_path / "never")}
    with pytest.raises(StorageUnavailable, match=r"cannot reach the Chroma server at http://127\.0\.0\.1:9"):
        backend.open(settings)
    assert not (tmp_path / "never").exists() and not (memgpt_home / "chroma").exists()
    assert not backend.check(settings).ok


def test_http_records_live_on_the_server(chroma_server: tuple[str, int], tmp_path: Path) -> None:
    import chromadb
    from chromadb.config import Settings

    host, port = chroma_server
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(f"http://{host}:{port}"))
    coll = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
    coll.drop()
    coll.insert([make_record(Table.ARCHIVAL, i, owner="server-agent") for i in range(7)])
    direct = chromadb.HttpClient(host=host, port=port, settings=Settings(anonymized_telemetry=False))
    agent = collection_name(Table.ARCHIVAL, partition_shelf("", USER, "server-agent"))
    assert direct.get_collection(agent).count() == 7


def test_every_vector_collection_ranks_unit_vectors_by_inner_product(tmp_path: Path) -> None:
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    for table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL):
        store.connector(table)
    spaces = {c.name: c.configuration["hnsw"]["space"] for c in store.client.list_collections() if not c.name.endswith("_plain")}
    assert spaces == {"memgpt_archival": "ip", "memgpt_source_passages": "ip", "memgpt_recall": "ip"}  # on unit vectors


def test_regex_literal_escapes_every_meta_character() -> None:
    assert regex_literal("a.b*c") == r"a\.b\*c"
    assert regex_literal("(x)|[y]{2}^$#&-~\\") == r"\(x\)\|\[y\]\{2\}\^\$\#\&\-\~\\"
    assert regex_literal("plain words, ümlaut") == "plain words, ümlaut"


def test_importing_the_plugin_loads_no_chromadb() -> None:
    assert heavy_imports("memgpt_backend_chroma.plugin", ["chromadb", "numpy", "onnxruntime"]) == []


def test_memories_round_trip_through_the_cli_and_survive_restarts(tmp_path: Path) -> None:
    home = cli_round_trip(tmp_path, "chroma", env={"HOME": str(tmp_path)})
    assert (home / "chroma").is_dir()  # the seed's persistent default, under MEMGPT_HOME
    assert not (tmp_path / ".cache" / "chroma").exists()  # Chroma's default embedding model was never downloaded


@pytest.mark.parametrize("ask_while_down", [False, True], ids=["quiet-while-down", "asked-while-down"])
def test_a_server_restarted_under_a_running_process_costs_that_process_nothing(
    tmp_path: Path, chroma_serving, ask_while_down: bool
) -> None:
    port = free_port()
    outlives_a_restart(
        ChromaBackend(),
        f"http://127.0.0.1:{port}",
        lambda: chroma_serving(tmp_path / "db", port, tmp_path / "server.log"),
        ask_while_down=ask_while_down,
        down_error=f"^cannot reach the Chroma server at http://127.0.0.1:{port} ",
    )


def test_configure_asks_the_seed_questions(memgpt_home: Path) -> None:
    config, asked = answer_configure({"Select storage backend for archival": "chroma", "Select chroma backend": "http"})
    assert "Select chroma backend:" in asked and "Enter chroma host:" in asked and "Enter chroma port:" in asked
    assert config.archival_storage.settings == {"mode": "http", "host": "localhost", "port": "8000"}
    persistent, asked = answer_configure({}, {"archival_storage": "chroma"})
    assert "Enter persistent storage location:" in asked
    assert persistent.archival_storage.settings == {"mode": "persistent", "path": str(memgpt_home / "chroma")}


def test_counts_and_ordered_searches_page_through_many_key_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Matches are read in pages of KEY_PAGE ids; with tiny pages, counts and oldest-first pages stay exact."""
    from datetime import datetime, timedelta, timezone

    from memgpt_backend_chroma import connector

    monkeypatch.setattr(connector, "KEY_PAGE", 7)
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    day = datetime(2026, 1, 1, tzinfo=timezone.utc)
    messages = [
        make_record(
            Table.RECALL,
            i,
            owner="a1",
            text=f"note {i} zeppelin",
            created_at=day + timedelta(minutes=(i * 7) % 40),
            with_embedding=i % 2 == 0,  # both of Chroma's collections hold matches
        )
        for i in range(40)
    ]
    everything = open_collection(backend, store, Table.RECALL, Where.everything())
    everything.insert(messages + [make_record(Table.RECALL, i, owner="a2", text="zeppelin too") for i in range(40, 55)])
    recall = open_collection(backend, store, Table.RECALL, Where.of(agent_id="a1"))
    oldest = sorted(messages, key=lambda m: (m.created_at, m.id))
    assert recall.count() == 40
    assert recall.text_count("ZEPPELIN") == 40
    assert [m.id for m in recall.text_search("zeppelin", limit=9, offset=5)] == [m.id for m in oldest[5:14]]
    window = (day + timedelta(minutes=10), day + timedelta(minutes=30))
    inside = [m for m in oldest if window[0] <= m.created_at <= window[1]]
    assert recall.date_count(*window) == len(inside)
    assert [m.id for m in recall.date_search(*window, limit=100)] == [m.id for m in inside]


def test_collections_written_by_memgpt_0_4_are_upgraded_in_place(tmp_path: Path) -> None:
    """0.4 keyed records by bare record ids and left no key marker: opening its collections re-keys them by user, once."""

    def as_written_by_0_4(store) -> None:
        for collection in store.client.list_collections():
            collection.modify(metadata={**(collection.metadata or {}), "memgpt_keys": "0.4"})

    def marked(store) -> None:
        assert {c.metadata.get("memgpt_keys") for c in store.client.list_collections()} == {"user/id"}

    backend = ChromaBackend()
    upgrade_round_trip(backend, backend.settings_from_uri(str(tmp_path / "chroma")), as_written_by_0_4, marked)


def _archival(tmp_path: Path):
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    return store, open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id=USER))


def _scaled(i: int, scale: float):
    """Record ``i`` with its unit vector scaled: Chroma must give the exact bytes back, not a normalized copy."""
    record = make_record(Table.ARCHIVAL, i)
    return replace(record, embedding=(record.embedding * np.float32(scale)).astype(np.float32))


def test_vectors_are_indexed_as_unit_vectors_and_read_back_bit_for_bit(tmp_path: Path) -> None:
    store, archival = _archival(tmp_path)
    records = [_scaled(i, scale) for i, scale in enumerate([1.0, 3.0, 1e-3, 7.25, 1e5])]
    archival.insert(records)
    kept = store.client.get_collection(ARCHIVAL).get(include=["metadatas", "embeddings"])
    assert np.allclose(np.linalg.norm(np.asarray(kept["embeddings"]), axis=1), 1.0, atol=1e-6)
    assert all(m[EXACT_VECTOR] is ABSENT and m[EXACT_NORM] > 0 for m in kept["metadatas"])
    assert all(len(m[EXACT_PATCH]) < 200 for m in kept["metadatas"])  # a 2 KB copy was kept before
    by_id = {r.id: r for r in archival.get_many([r.id for r in records])}
    assert all(by_id[r.id].embedding.tobytes() == r.embedding.tobytes() for r in records)
    [hit] = archival.search(records[3].embedding, k=1)
    assert hit.record.embedding.tobytes() == records[3].embedding.tobytes()
    assert hit.score == pytest.approx(1.0, abs=1e-5)  # the cosine, whatever the query's length


def test_a_vector_the_unit_form_cannot_express_is_kept_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from memgpt_backend_chroma import unit_form

    store, archival = _archival(tmp_path)
    archival.insert([_scaled(0, 2.0)])
    monkeypatch.setattr(unit_form, "MAX_DIM", 2)  # now no vector of the test's dimension fits a patch
    archival.insert([_scaled(1, 2.0), _scaled(0, 5.0)])
    metadatas = store.client.get_collection(ARCHIVAL).get(include=["metadatas"])["metadatas"]
    assert all(isinstance(m[EXACT_VECTOR], str) and m[EXACT_NORM] is ABSENT and m[EXACT_PATCH] is ABSENT for m in metadatas)
    for record in (_scaled(1, 2.0), _scaled(0, 5.0)):
        assert archival.get(record.id).embedding.tobytes() == record.embedding.tobytes()
    monkeypatch.undo()
    archival.insert([_scaled(0, 2.0)])  # back to a unit form: the whole copy goes
    [metadata] = store.client.get_collection(ARCHIVAL).get(ids=[f"{USER}/{_scaled(0, 2.0).id}"], include=["metadatas"])[
        "metadatas"
    ]
    assert metadata[EXACT_VECTOR] is ABSENT and metadata[EXACT_NORM] > 0
    assert archival.get(_scaled(0, 2.0).id).embedding.tobytes() == _scaled(0, 2.0).embedding.tobytes()


def test_a_collection_made_by_0_6_keeps_its_cosine_space_and_whole_copies(tmp_path: Path) -> None:
    """0.6 made vector collections in Chroma's ``cosine`` space: they keep working as they were, exactly."""
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(path=str(tmp_path / "db"), settings=Settings(anonymized_telemetry=False))
    client.create_collection("memgpt_recall", embedding_function=None, configuration={"hnsw": {"space": "cosine"}})
    del client
    store = ChromaBackend().open(ChromaBackend().settings_from_uri(str(tmp_path / "db")))
    recall = open_collection(ChromaBackend(), store, Table.RECALL, Where.of(user_id=USER))
    records = []
    for i in range(4):
        record = make_record(Table.RECALL, i)
        records.append(replace(record, embedding=(record.embedding * np.float32(1.0 + i)).astype(np.float32)))
    recall.insert(records)
    metadatas = store.client.get_collection("memgpt_recall").get(include=["metadatas"])["metadatas"]
    assert all(isinstance(m[EXACT_VECTOR], str) and m[EXACT_NORM] is ABSENT for m in metadatas)
    assert all(recall.get(r.id).embedding.tobytes() == r.embedding.tobytes() for r in records)
    [hit] = recall.search(records[2].embedding, k=1)
    assert hit.record.id == records[2].id and hit.score == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize(
    "damage",
    [{EXACT_PATCH: "!!not base64"}, {EXACT_PATCH: "//8="}, {EXACT_NORM: "x"}, {EXACT_NORM: ABSENT, EXACT_PATCH: ABSENT}],
    ids=["patch-not-base64", "patch-beyond-the-vector", "norm-not-a-number", "nothing-left"],
)
def test_a_record_whose_vector_metadata_is_damaged_says_so(tmp_path: Path, damage: dict) -> None:
    store, archival = _archival(tmp_path)
    record = _scaled(0, 2.0)
    archival.insert([record, _scaled(1, 2.0)])
    store.client.get_collection(ARCHIVAL).update(ids=[f"{USER}/{record.id}"], metadatas=[damage])
    with pytest.raises(StorageError, match=rf"record 'user-1/owner-1-archival-0' of {ARCHIVAL} .* has a damaged vector") as info:
        archival.get(record.id)
    assert "\n" not in str(info.value) and "insert the record again" in str(info.value)
    assert archival.get(_scaled(1, 2.0).id).embedding.tobytes() == _scaled(1, 2.0).embedding.tobytes()
