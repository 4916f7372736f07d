"""The local backend's saved exact indexes: the next process maps a large partition's vectors instead of reading them.

A saved index reflects a position in the partition's change log: what was
written since (by any process) is replayed when it is loaded, and a damaged,
cut-short or foreign file is never used. So each check compares a search with
the exact answer computed from what the SQLite file holds, and counts whether
the index was mapped from its file or read from the rows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import damage_saved_file, write_once_meanwhile
from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.kinds import Table
from memgpt.local import connector as local_connector
from memgpt.storage import index_file
from memgpt.storage.ann import saved_graphs
from memgpt.storage.configured import open_collection
from memgpt.storage.snapshots import saved_snapshots
from memgpt.storage.where import Where, scope
from memgpt.testing import make_record, random_unit_vectors

DIM = 64
AGENT = "agent-0"
SAVE_AFTER = 400


@pytest.fixture(autouse=True)
def small_threshold(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_connector, "SNAPSHOT_AFTER", SAVE_AFTER)


@pytest.fixture
def vectors() -> np.ndarray:
    return random_unit_vectors(3_000, dim=DIM, seed=21)


def open_store(root: Path, ann_after: int = 100_000):
    backend = LocalBackend()
    return backend, backend.open(backend.settings_from_uri(f"file://{root}?ann_after={ann_after}"))


def archival(backend, store, **where: str):
    return open_collection(backend, store, Table.ARCHIVAL, scope(**where) if where else Where.everything())


def records(start: int, stop: int, vectors: np.ndarray, agent: str = AGENT) -> list:
    return [make_record(Table.ARCHIVAL, i, owner=agent, vector=vectors[i]) for i in range(start, stop)]


def exact_ids(backend, store, query: np.ndarray, k: int = 10, **where: str) -> list[str]:
    """The true top k by cosine among what the file holds (read with a scan, not searched)."""
    rows = list(archival(backend, store, **where).iterate())
    scored = sorted(rows, key=lambda r: (-float(np.dot(r.embedding, query) / np.linalg.norm(r.embedding)), r.id))
    return [r.id for r in scored[:k]]


def searched(backend, store, query: np.ndarray, k: int = 10, **where: str) -> list[str]:
    return [h.record.id for h in archival(backend, store, **where).search(query, k=k)]


def saved(root: Path, agent: str = AGENT) -> list[tuple[Path, int]]:
    return saved_snapshots(root / "agents" / agent, "memory.archival", index_file.KIND)


def child_program(home: Path, *lines: str) -> str:
    """A program that opens ``home`` as collection ``c`` (this test's thresholds, its ``vectors``), runs ``lines``, closes it."""
    return "\n".join(
        (
            f"import sys\nsys.path[:0] = {sys.path!r}",
            "from memgpt.default_plugins.local_backend import LocalBackend",
            "from memgpt.kinds import Table",
            "from memgpt.local import connector",
            "from memgpt.storage.configured import open_collection",
            "from memgpt.storage.where import Where",
            "from memgpt.testing import make_record, random_unit_vectors",
            f"connector.SNAPSHOT_AFTER = {SAVE_AFTER}",
            f"vectors = random_unit_vectors(3_000, dim={DIM}, seed=21)",
            "backend = LocalBackend()",
            f"store = backend.open(backend.settings_from_uri('file://{home}'))",
            "c = open_collection(backend, store, Table.ARCHIVAL, Where.everything())",
            *lines,
            "store.close()",
        )
    )


def saved_home(tmp_path: Path, vectors: np.ndarray) -> Path:
    """A home whose agent has 1,000 passages, searched once: its index saved."""
    home = tmp_path / "home"
    backend, store = open_store(home)
    archival(backend, store).insert(records(0, 1_000, vectors))
    searched(backend, store, vectors[0])
    store.close()
    return home


def index_reads(store) -> int:
    return store.connector(Table.ARCHIVAL).index_reads


def test_a_large_partition_saves_its_index_owner_only_and_the_next_process_maps_it(tmp_path, vectors) -> None:
    home = tmp_path / "home"
    backend, store = open_store(home)
    archival(backend, store).insert(records(0, 1_000, vectors) + records(1_000, 1_100, vectors, agent="agent-1"))
    assert searched(backend, store, vectors[4], agent_id=AGENT) == exact_ids(backend, store, vectors[4], agent_id=AGENT)
    assert searched(backend, store, vectors[1_050], agent_id="agent-1")[0] == records(1_050, 1_051, vectors, "agent-1")[0].id
    [(path, _)] = saved(home)
    assert path.stat().st_mode & 0o777 == 0o600
    assert saved(home, "agent-1") == []  # 100 vectors: read from the file in no time, nothing saved
    store.close()

    backend, store = open_store(home)
    for q in (4, 500, 999):
        assert searched(backend, store, vectors[q], agent_id=AGENT) == exact_ids(backend, store, vectors[q], agent_id=AGENT)
    assert index_reads(store) == 0  # mapped from its file
    store.close()


def test_what_another_process_wrote_after_the_save_is_replayed_when_it_is_mapped(tmp_path, vectors) -> None:
    home = saved_home(tmp_path, vectors)
    moved = random_unit_vectors(10, dim=DIM, seed=99)
    program = child_program(
        home,
        f"moved = random_unit_vectors(10, dim={DIM}, seed=99)",
        f"c.insert([make_record(Table.ARCHIVAL, i, owner='{AGENT}', vector=vectors[i]) for i in range(1_000, 1_200)])",
        f"c.insert([make_record(Table.ARCHIVAL, i, owner='{AGENT}', vector=moved[i]) for i in range(5, 10)])",
        f"ids = [make_record(Table.ARCHIVAL, i, owner='{AGENT}').id for i in range(100, 400)]",
        "c.delete_where(Where.of(user_id='user-1', id=ids))",
    )
    other = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert other.returncode == 0, other.stderr

    backend, store = open_store(home)
    assert archival(backend, store).count() == 900
    for query in (vectors[0], vectors[150], vectors[1_100], moved[7]):
        assert searched(backend, store, query) == exact_ids(backend, store, query)
    assert searched(backend, store, moved[7])[0] == records(7, 8, vectors)[0].id  # the replaced vector, not the saved one
    assert index_reads(store) == 0
    store.close()


@pytest.mark.parametrize(
    "damage",
    ["garbage", "truncated", "flipped-last-byte", "another-user-in-the-header", "from-the-future", "behind-a-pruned-log"],
)
def test_a_damaged_or_unusable_saved_index_is_read_again_from_the_file(tmp_path, vectors, damage: str, monkeypatch) -> None:
    home = saved_home(tmp_path, vectors)
    [(path, seq)] = saved(home)
    if damage == "another-user-in-the-header":  # the rows' scope changed, not the size: the checksum covers it
        path.write_bytes(path.read_bytes().replace(b'"user-1"', b'"user-2"', 1))
    elif damage != "behind-a-pruned-log":
        damage_saved_file(path, seq, damage)  # flipped-last-byte: an id changed, the size not (its checksum fails)
    backend, store = open_store(home)
    if damage == "behind-a-pruned-log":  # more writes than the change log keeps since the index was saved
        monkeypatch.setattr(local_connector, "LOG_KEEP", 2)
        monkeypatch.setattr(local_connector, "LOG_PRUNE_EVERY", 1)
        for i in range(1_000, 1_020):
            archival(backend, store).insert(records(i, i + 1, vectors))
        store.close()
        backend, store = open_store(home)
    for q in (0, 500, 999):
        assert searched(backend, store, vectors[q]) == exact_ids(backend, store, vectors[q])
    assert index_reads(store) == 1  # read from the rows once, then cached
    store.close()


def test_own_writes_save_the_index_again_once_a_share_of_it_changed(tmp_path, vectors, monkeypatch) -> None:
    monkeypatch.setattr(local_connector, "ANN_SAVE_MIN", 1)
    home = tmp_path / "home"
    backend, store = open_store(home)
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=3)
    [(_, first)] = saved(home)
    collection.insert(records(1_000, 1_100, vectors))  # 10%: not yet
    assert [seq for _, seq in saved(home)] == [first]
    collection.insert(records(1_100, 1_300, vectors))  # 30% since the save
    [(_, second)] = saved(home)
    assert second > first
    store.close()
    backend, store = open_store(home)
    assert searched(backend, store, vectors[1_250]) == exact_ids(backend, store, vectors[1_250])
    assert index_reads(store) == 0
    store.close()


def test_a_partition_that_grows_past_ann_after_keeps_only_its_graph(tmp_path, vectors) -> None:
    home = tmp_path / "home"
    backend, store = open_store(home, ann_after=1_500)
    collection = archival(backend, store)
    collection.insert(records(0, 1_000, vectors))
    collection.search(vectors[0], k=3)
    assert len(saved(home)) == 1
    collection.insert(records(1_000, 2_000, vectors))
    assert searched(backend, store, vectors[1_500]) == exact_ids(backend, store, vectors[1_500])
    assert saved(home) == [] and len(saved_graphs(home / "agents" / AGENT, "memory.archival")) == 1
    store.close()


def test_a_partition_shrunk_below_the_threshold_leaves_no_saved_index(tmp_path, vectors) -> None:
    home = saved_home(tmp_path, vectors)
    backend, store = open_store(home)
    archival(backend, store).delete_where(Where.of(user_id="user-1", agent_id=AGENT))  # the log says: everything
    archival(backend, store).insert(records(0, 50, vectors))
    store.close()
    backend, store = open_store(home)
    assert searched(backend, store, vectors[7]) == exact_ids(backend, store, vectors[7])
    assert saved(home) == []
    store.close()


def test_a_full_disk_while_saving_loses_nothing_and_leaves_no_file(tmp_path, vectors) -> None:
    """The save fails (files may not grow past 100 kB in the searching process); the search answers all the same."""
    home = tmp_path / "home"
    backend, store = open_store(home)
    archival(backend, store).insert(records(0, 1_000, vectors))  # the matrix alone is 256 kB
    truth = exact_ids(backend, store, vectors[3])
    store.close()
    program = child_program(
        home,
        "import resource, signal",
        "signal.signal(signal.SIGXFSZ, signal.SIG_IGN)",
        "resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))",
        "print(' '.join(h.record.id for h in c.search(vectors[3], k=10)))",
    )
    child = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True)
    assert child.returncode == 0 and not child.stderr, child.stderr
    assert child.stdout.split() == truth
    assert saved(home) == [] and not list((home / "agents" / AGENT).glob(".*vectors*"))


def test_reading_and_saving_an_index_does_not_hold_up_another_process_writing(tmp_path, vectors, monkeypatch) -> None:
    """The index is read and saved before the search's snapshot: a writer with a 2 s busy timeout gets through meanwhile."""
    home = tmp_path / "home"
    backend, store = open_store(home)
    archival(backend, store).insert(records(0, 1_000, vectors))
    store.close()
    program = child_program(home, f"c.insert([make_record(Table.ARCHIVAL, 1_000, owner='{AGENT}', vector=vectors[1_000])])")
    writes = write_once_meanwhile(monkeypatch, index_file, "write_index", program)  # mid-save
    backend, store = open_store(home)
    hits = searched(backend, store, vectors[1_000], k=3)
    assert writes and writes[0].returncode == 0, writes[0].stderr[-2000:]
    assert hits[0] == records(1_000, 1_001, vectors)[0].id  # written during the save, found after it
    store.close()
