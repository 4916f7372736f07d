"""What the chroma backend promises: the whole conformance suite, and more."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memgpt.errors import ConfigError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing import BackendConformance, make_record
from memgpt.testing.data import USER
from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_chroma.connector import EXACT_CRC, EXACT_VECTOR, regex_literal
from memgpt_backend_chroma.plugin import ChromaBackend


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
    assert direct.get_collection("memgpt_archival").count() == 7


def test_every_collection_uses_cosine_distance(tmp_path: Path) -> None:
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    for table in (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL):
        store.connector(table)
    searched = [c for c in store.client.list_collections() if not c.name.endswith(("_plain", "_exact"))]
    spaces = {c.name: c.configuration["hnsw"]["space"] for c in searched}
    assert spaces == {"memgpt_archival": "cosine", "memgpt_source_passages": "cosine", "memgpt_recall": "cosine"}


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

    def tables(store) -> list:
        return [c for c in store.client.list_collections() if not c.name.endswith("_exact")]  # copies: never marked

    def as_written_by_0_4(store) -> None:
        for collection in tables(store):
            collection.modify(metadata={**(collection.metadata or {}), "memgpt_keys": "0.4"})

    def marked(store) -> None:
        assert {c.metadata.get("memgpt_keys") for c in tables(store)} == {"user/id"}

    backend = ChromaBackend()
    upgrade_round_trip(backend, backend.settings_from_uri(str(tmp_path / "chroma")), as_written_by_0_4, marked)


def _archival(tmp_path: Path):
    backend = ChromaBackend()
    store = backend.open(backend.settings_from_uri(str(tmp_path / "db")))
    return store, open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id=USER))


def _chroma_key(record) -> str:
    return f"{record.user_id}/{record.id}"


def test_exact_vectors_live_beside_the_records_not_in_them(tmp_path: Path) -> None:
    """A record's metadata names its vector's copy by CRC; the 2 KB copy itself is in ``memgpt_archival_exact``."""
    store, archival = _archival(tmp_path)
    records = [make_record(Table.ARCHIVAL, i, vector=np.float32(1.5 + i) * _unit(i)) for i in range(5)]
    archival.insert(records)
    kept = store.client.get_collection("memgpt_archival").get(include=["metadatas"])
    assert all(EXACT_VECTOR not in m and isinstance(m[EXACT_CRC], int) for m in kept["metadatas"])
    copies = store.client.get_collection("memgpt_archival_exact").get(include=["metadatas"])
    assert sorted(copies["ids"]) == sorted(_chroma_key(r) for r in records)
    by_id = {r.id: r for r in archival.get_many([r.id for r in records])}
    for record in records:
        assert by_id[record.id].embedding.tobytes() == record.embedding.tobytes()
    assert [h.record.embedding.tobytes() for h in archival.search(records[2].embedding, k=1)] == [records[2].embedding.tobytes()]
    archival.delete(records[0].id)
    assert store.client.get_collection("memgpt_archival_exact").count() == 4
    archival.insert([make_record(Table.ARCHIVAL, 1, with_embedding=False)])  # moved to the plain collection
    assert store.client.get_collection("memgpt_archival_exact").count() == 3
    open_collection(ChromaBackend(), store, Table.ARCHIVAL, Where.everything()).drop()
    assert store.client.get_collection("memgpt_archival_exact").count() == 0


def _unit(i: int) -> np.ndarray:
    return make_record(Table.ARCHIVAL, i).embedding


def test_a_write_cut_short_between_the_copy_and_the_record_reads_the_records_own_vector(tmp_path: Path) -> None:
    """The copy is written first: a crash before the record leaves a copy of the next version, which is not used."""
    store, archival = _archival(tmp_path)
    record = make_record(Table.ARCHIVAL, 0, vector=np.float32(3.0) * _unit(0))
    archival.insert([record])
    other = make_record(Table.ARCHIVAL, 0, vector=_unit(1))
    connector = store.connector(Table.ARCHIVAL)
    connector.exact.upsert(  # what the interrupted upsert of ``other`` had written
        ids=[_chroma_key(other)], embeddings=np.ones((1, 1), dtype=np.float32), metadatas=[{EXACT_VECTOR: "AACAPw=="}]
    )
    read = archival.get(record.id)
    assert np.allclose(read.embedding, record.embedding, rtol=1e-6, atol=0)  # Chroma's own copy: within a float32 ulp
    assert read.text == record.text


def test_records_written_by_0_6_keep_their_vector_in_their_metadata_until_rewritten(tmp_path: Path) -> None:
    from memgpt.plugin import vector_to_base64

    store, archival = _archival(tmp_path)
    record = make_record(Table.ARCHIVAL, 0, vector=np.float32(3.0) * _unit(0))
    archival.insert([record])
    main = store.client.get_collection("memgpt_archival")
    store.client.get_collection("memgpt_archival_exact").delete(ids=[_chroma_key(record)])
    main.update(ids=[_chroma_key(record)], metadatas=[{EXACT_VECTOR: vector_to_base64(record.embedding), EXACT_CRC: None}])
    read = archival.get(record.id)
    assert read.embedding.tobytes() == record.embedding.tobytes()
    archival.insert([record])
    [metadata] = main.get(ids=[_chroma_key(record)], include=["metadatas"])["metadatas"]
    assert EXACT_VECTOR not in metadata and EXACT_CRC in metadata
    assert archival.get(record.id).embedding.tobytes() == record.embedding.tobytes()

