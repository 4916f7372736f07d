"""The local backend's HNSW graph for large partitions: exact answers through it, kept consistent through crashes.

The graph proposes candidates; rows, filters and scores come from SQLite. So
the checks here compare searches with the exact answer computed from what
the file holds, after other processes wrote, after a kill -9, and with the
saved graph damaged, stale or from another history.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from helpers import damage_saved_file, write_once_meanwhile
from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.errors import ConfigError
from memgpt.kinds import Table
from memgpt.local import connector as local_connector
from memgpt.storage.ann import saved_graphs
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where, scope
from memgpt.testing import make_record, random_unit_vectors

DIM = 32
AGENT = "agent-0"


def open_store(root: Path, ann_after: int = 300):
    backend = LocalBackend()
    return backend, backend.open(backend.settings_from_uri(f"file://{root}?ann_after={ann_after}"))


def archival(backend, store, **where: str):
    return open_collection(backend, store, Table.ARCHIVAL, scope(**where) if where else Where.everything())


def exact_ids(store, backend, query: np.ndarray, k: int, **where: str) -> list[str]:
    """The true top k by cosine among what the file holds (read with scan, not searched)."""
    rows = list(archival(backend, store, **where).iterate())
    scored = sorted(rows, key=lambda r: (-float(np.dot(r.embedding, query) / np.linalg.norm(r.embedding)), r.id))
    return [r.id for r in scored[:k]]


def graph_files(root: Path) -> list[tuple[Path, int]]:
    return saved_graphs(root / "agents" / AGENT, "memory.archival")


def records(start: int, stop: int, vectors: np.ndarray, user: str = "user-1") -> list:
    return [make_record(Table.ARCHIVAL, i, owner=AGENT, user=user, vector=vectors[i]) for i in range(start, stop)]


@pytest.fixture
def vectors() -> np.ndarray:
    return random_unit_vectors(4_000, dim=DIM, seed=11)


def test_a_partition_past_the_threshold_is_searched_through_a_saved_owner_only_graph(tmp_path, vectors) -> None:
    backend, store = open_store(tmp_path / "home")
    collection = archival(backend, store)
    collection.insert(records(0, 200, vectors))
    assert [h.record.id for h in collection.search(vectors[3], k=10)] == exact_ids(store, backend, vectors[3], 10)
    assert graph_files(tmp_path / "home") == []  # 200 < 300: exact, in memory, nothing saved
    collection.insert(records(200, 1_500, vectors))
    for q in (3, 700, 1_499):
        assert [h.record.id for h in collection.search(vectors[q], k=10)] == exact_ids(store, backend, vectors[q], 10)
    [(path, _)] = graph_files(tmp_path / "home")
    assert path.stat().st_mode & 0o777 == 0o600
    cached = store.connector(Table.ARCHIVAL)._indexes[AGENT]
    assert cached.ann is not None and len(cached.ann) == 1_500 and cached.index is None
    store.close()


def test_a_narrow_scope_inside_a_graphed_partition_comes_back_complete(tmp_path, vectors) -> None:
    """Five of another user's rows among 1,500: the graph's candidates are nearly all filtered out."""
    backend, store = open_store(tmp_path / "home")
    archival(backend, store).insert(records(0, 1_500, vectors) + records(1_500, 1_505, vectors, user="user-2"))
    theirs = archival(backend, store, user_id="user-2")
    hits = theirs.search(vectors[10], k=10)
    assert sorted(h.record.id for h in hits) == sorted(r.id for r in records(1_500, 1_505, vectors, user="user-2"))
    assert [h.record.id for h in hits] == exact_ids(store, backend, vectors[10], 10, user_id="user-2")
    store.close()


def test_writes_and_deletes_of_another_process_are_seen_by_an_open_graph(tmp_path, vectors) -> None:
    backend, store = open_store(tmp_path / "home")
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=5)  # the graph is built and cached
    other = subprocess.run(
        [sys.executable, "-c", _child(tmp_path / "home", "insert 1000 1200; delete 0 300")], capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    for q in (0, 5, 1_100):
        got = [h.record.id for h in collection.search(vectors[q], k=10)]
        assert got == exact_ids(store, backend, vectors[q], 10)
    assert collection.count() == 900
    store.close()


def test_a_process_killed_while_writing_leaves_a_store_whose_graph_answers_exactly(tmp_path, vectors) -> None:
    """kill -9 of a writer that saves its graph after every write: the next process's searches are exact."""
    home = tmp_path / "home"
    writer = subprocess.Popen(
        [sys.executable, "-c", _child(home, "save-often; insert 0 600; loop 600 4000 50")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "ready"
    time.sleep(1.5)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    backend, store = open_store(home)
    collection = archival(backend, store)
    assert collection.count() > 600  # the writer got past its first batches
    for q in (1, 333, 599, collection.count() - 1):
        assert [h.record.id for h in collection.search(vectors[q], k=10)] == exact_ids(store, backend, vectors[q], 10)
    store.close()


def test_building_a_graph_does_not_hold_up_another_process_writing_to_the_file(tmp_path, vectors, monkeypatch) -> None:
    """A build takes minutes at a million vectors: it reads in short transactions, and what is written meanwhile is found."""
    from memgpt.storage.ann import AnnGraph

    home = tmp_path / "home"
    backend, store = open_store(home, ann_after=10**9)
    archival(backend, store).insert(records(0, 1_000, vectors))
    store.close()
    writes = write_once_meanwhile(monkeypatch, AnnGraph, "put", _child(home, "insert 1000 1001"))  # mid-build
    monkeypatch.setattr(local_connector, "LOAD_CHUNK", 200)
    backend, store = open_store(home)
    hits = archival(backend, store).search(vectors[1_000], k=3)
    assert writes and writes[0].returncode == 0, writes[0].stderr[-2000:]
    assert hits[0].record.id == records(1_000, 1_001, vectors)[0].id  # written during the build, found after it
    store.close()


def test_rebuilding_a_graph_the_log_left_behind_does_not_hold_up_another_process(tmp_path, vectors, monkeypatch) -> None:
    """A cached graph that the pruned change log no longer reaches is rebuilt before the search's snapshot too."""
    from memgpt.storage.ann import AnnGraph

    home = tmp_path / "home"
    backend, store = open_store(home)
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=3)  # built and cached here
    other = subprocess.run(  # another process writes more, one row at a time, keeping only 2 log entries
        [sys.executable, "-c", _child(home, "prune-often; loop 1000 1010 1")], capture_output=True, text=True
    )
    assert other.returncode == 0, other.stderr
    writes = write_once_meanwhile(monkeypatch, AnnGraph, "put", _child(home, "insert 1010 1011"))  # mid-rebuild
    monkeypatch.setattr(local_connector, "LOAD_CHUNK", 200)
    hits = collection.search(vectors[1_010], k=3)
    assert writes and writes[0].returncode == 0, writes[0].stderr[-2000:]
    assert hits[0].record.id == records(1_010, 1_011, vectors)[0].id  # written during the rebuild, found after it
    assert store.connector(Table.ARCHIVAL).graph_builds == 2
    store.close()


@pytest.mark.parametrize("damage", ["garbage", "truncated", "from-the-future", "behind-a-pruned-log"])
def test_a_damaged_or_unusable_saved_graph_is_rebuilt_from_the_file(tmp_path, vectors, damage: str, monkeypatch) -> None:
    home = tmp_path / "home"
    backend, store = open_store(home)
    archival(backend, store).insert(records(0, 1_000, vectors))
    archival(backend, store).search(vectors[0], k=5)
    store.close()
    [(path, seq)] = graph_files(home)
    if damage != "behind-a-pruned-log":
        damage_saved_file(path, seq, damage)
    backend, store = open_store(home)
    if damage == "behind-a-pruned-log":  # more writes than the change log keeps since the graph was saved
        monkeypatch.setattr(local_connector, "LOG_KEEP", 2)
        monkeypatch.setattr(local_connector, "LOG_PRUNE_EVERY", 1)
        monkeypatch.setattr(local_connector, "ANN_SAVE_MIN", 10**9)
        for i in range(1_000, 1_020):
            archival(backend, store).insert(records(i, i + 1, vectors))
        store.close()
        backend, store = open_store(home)
    collection = archival(backend, store)
    for q in (0, 500, 999):
        assert [h.record.id for h in collection.search(vectors[q], k=10)] == exact_ids(store, backend, vectors[q], 10)
    connector = store.connector(Table.ARCHIVAL)
    cached = connector._indexes[AGENT]
    assert cached.ann is not None and len(cached.ann) == collection.count()
    assert connector.graph_builds == 1  # rebuilt from the file, not loaded
    store.close()


def test_a_saved_graph_is_loaded_not_rebuilt_even_after_more_own_writes_than_the_log_keeps(
    tmp_path, vectors, monkeypatch
) -> None:
    """A process that only writes follows its own log entries, so the graph it saves is never behind the pruned log."""
    monkeypatch.setattr(local_connector, "LOG_KEEP", 2)
    monkeypatch.setattr(local_connector, "LOG_PRUNE_EVERY", 1)
    monkeypatch.setattr(local_connector, "ANN_SAVE_MIN", 1)
    monkeypatch.setattr(local_connector, "ANN_SAVE_SHARE", 0.0)
    home = tmp_path / "home"
    backend, store = open_store(home)
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=3)
    for i in range(1_000, 1_020):
        collection.insert(records(i, i + 1, vectors))
    store.close()
    backend, store = open_store(home)
    collection = archival(backend, store)
    assert [h.record.id for h in collection.search(vectors[1_019], k=10)] == exact_ids(store, backend, vectors[1_019], 10)
    assert store.connector(Table.ARCHIVAL).graph_builds == 0
    store.close()


@pytest.mark.parametrize("uri", ["file:///tmp/x?ann_after=abc", "file:///tmp/x?ann_after=0", "file:///tmp/x?colour=red"])
def test_a_bad_graph_setting_is_refused_in_one_line(uri: str) -> None:
    with pytest.raises(ConfigError) as error:
        LocalBackend().settings_from_uri(uri)
    assert "\n" not in str(error.value)


def _child(home: Path, steps: str) -> str:
    """A program that opens ``home`` and runs ``steps``: insert A B, delete A B, loop A B STEP, save-often, prune-often."""
    return f"import sys\nsys.path[:0] = {sys.path!r}\n" + _CHILD_BODY.format(home=str(home), steps=steps, dim=DIM)


_CHILD_BODY = """
import time
from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.kinds import Table
from memgpt.local import connector
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing import make_record, random_unit_vectors

vectors = random_unit_vectors(4_000, dim={dim}, seed=11)
backend = LocalBackend()
store = backend.open(backend.settings_from_uri("file://{home}?ann_after=300"))
collection = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
def batch(a, b):
    return [make_record(Table.ARCHIVAL, i, owner="agent-0", vector=vectors[i]) for i in range(a, b)]
for step in "{steps}".split(";"):
    word, *args = step.split()
    numbers = [int(a) for a in args]
    if word == "save-often":
        connector.ANN_SAVE_MIN = 1
        connector.ANN_SAVE_SHARE = 0.0
    elif word == "prune-often":
        connector.LOG_KEEP = 2
        connector.LOG_PRUNE_EVERY = 1
    elif word == "insert":
        collection.insert(batch(*numbers))
        collection.search(vectors[0], k=3)
    elif word == "delete":
        collection.delete_where(Where.of(user_id="user-1", id=[r.id for r in batch(*numbers)]))
    elif word == "loop":
        print("ready", flush=True)
        start, stop, size = numbers
        for a in range(start, stop, size):
            collection.insert(batch(a, a + size))
            collection.search(vectors[a], k=3)
store.close()
"""


def test_a_larger_graph_examines_more_candidates_per_query() -> None:
    """HNSW's recall falls as the graph grows at a fixed ef: ef grows with it (measured in benchmarks/ann_scale.py)."""
    from memgpt.storage.ann import EXPANSION_MAX, EXPANSION_SEARCH, expansion_search

    sizes = [1_000, 100_000, 300_000, 1_000_000, 50_000_000]
    efs = [expansion_search(n) for n in sizes]
    assert efs == sorted(efs) and efs[0] == EXPANSION_SEARCH and efs[-1] == EXPANSION_MAX
    assert efs[2] > EXPANSION_SEARCH  # 300k already examines more than the least


def test_a_long_graph_build_is_explained_once(tmp_path, vectors, monkeypatch) -> None:
    """Minutes at a million vectors, paid by one search: the command's closing note says what happened, once."""
    from memgpt import notices

    monkeypatch.setattr(local_connector, "BUILD_NOTICE_S", 0.0)
    notices.take()
    backend, store = open_store(tmp_path / "home")
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=3)
    [said] = notices.take()
    assert "built the search graph of 1,000 vectors" in said and "saved" in said and "\n" not in said
    collection.search(vectors[1], k=3)
    assert notices.take() == []
    store.close()
    backend, store = open_store(tmp_path / "home")
    archival(backend, store).search(vectors[0], k=3)  # loaded, not built: nothing to explain
    assert notices.take() == []
    store.close()
