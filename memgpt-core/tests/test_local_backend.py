"""What the local backend promises beyond the contract: layout, crash safety, several processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.errors import ConfigError, InvalidName, StorageError
from memgpt.kinds import Table
from memgpt.local.schema import SCHEMA_VERSION
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where, scope
from memgpt.testing import make_record, make_source, random_unit_vectors
from memgpt.testing.data import OTHER_USER, USER

WRITER = str(Path(__file__).with_name("local_writer.py"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def backend() -> LocalBackend:
    return LocalBackend()


def collection(backend: LocalBackend, root: Path, table: Table, where: Where | None = None):
    store = backend.open({"path": str(root)})
    return store, open_collection(backend, store, table, where if where is not None else Where.of(user_id=USER))


def writer(root: Path, agent: str, first: int, batches: int, size: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WRITER, str(root), agent, str(first), str(batches), str(size)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_files_follow_the_seed_layout(backend: LocalBackend, root: Path) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL)
    archival.insert([make_record(Table.ARCHIVAL, 0, owner="agent-7")])
    open_collection(backend, store, Table.SOURCE_PASSAGES, Where.everything()).insert(
        [make_record(Table.SOURCE_PASSAGES, 0, owner="My Docs (2024)")]
    )
    open_collection(backend, store, Table.SOURCES, Where.everything()).insert([make_source("My Docs (2024)")])
    assert (root / "agents" / "agent-7" / "memory.sqlite").is_file()
    assert (root / "archival" / "My%20Docs%20%282024%29" / "source.sqlite").is_file()
    assert store.partition_keys("archival") == ["My Docs (2024)"]
    assert open_collection(backend, store, Table.SOURCES, Where.of(user_id=USER)).get("My Docs (2024)").name == "My Docs (2024)"
    store.close()


@pytest.mark.parametrize("name", ["..", ".", "a/b", "../../etc", "a\\b", "", "x" * 201, "tab\tname", " padded"])
def test_names_that_would_escape_a_folder_are_refused(backend: LocalBackend, root: Path, name: str) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL)
    with pytest.raises(InvalidName):
        archival.insert([make_record(Table.ARCHIVAL, 0, owner=name)])
    assert not (root / "agents").exists() or list((root / "agents").iterdir()) == []
    store.close()


def test_reads_never_create_files(backend: LocalBackend, root: Path) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL, scope(user_id=USER, agent_id="ghost"))
    assert archival.count() == 0 and archival.search(np.ones(4), k=3) == [] and archival.get("x") is None
    assert not root.exists()
    store.close()


def test_uri_forms(backend: LocalBackend) -> None:
    assert backend.settings_from_uri("") == {}
    assert backend.settings_from_uri("/data/memgpt") == {"path": "/data/memgpt"}
    assert backend.settings_from_uri("file:///data/my%20memgpt") == {"path": "/data/my memgpt"}
    with pytest.raises(ConfigError, match="folder"):
        backend.settings_from_uri("postgresql://u:p@h/db")


def test_default_location_is_memgpt_home(backend: LocalBackend, memgpt_home: Path) -> None:
    assert backend.root({}) == memgpt_home
    assert backend.root({"path": "~/.memgpt/other"}) == memgpt_home / "other"


def test_killed_writer_loses_at_most_its_open_batch(backend: LocalBackend, root: Path) -> None:
    proc = writer(root, "crashy", 0, 0, 2_000)
    done = 0
    for line in proc.stdout:  # type: ignore[union-attr]
        done = int(line) + 1
        if done >= 3:
            break
    time.sleep(0.05 + (os.getpid() % 7) / 100)  # land somewhere inside a later batch
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    db = root / "agents" / "crashy" / "memory.sqlite"
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store, archival = collection(backend, root, Table.ARCHIVAL)
    count = archival.count()
    assert count >= done * 2_000 and count % 2_000 == 0, count
    batches = count // 2_000
    expected = [make_record(Table.ARCHIVAL, i, owner="crashy") for i in range(0, batches * 2_000, 997)]
    assert archival.get_many([r.id for r in expected]) == expected
    assert archival.insert([make_record(Table.ARCHIVAL, 10**6, owner="crashy")]) == 1  # still writable
    store.close()


def test_two_processes_writing_the_same_agent_lose_nothing(backend: LocalBackend, root: Path) -> None:
    procs = [writer(root, "shared", first, 8, 500) for first in (0, 100)] + [writer(root, "other", 0, 8, 500)]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    store, archival = collection(backend, root, Table.ARCHIVAL)
    assert archival.count(Where.of(agent_id="shared")) == 2 * 8 * 500
    assert archival.count(Where.of(agent_id="other")) == 8 * 500
    store.close()


def test_search_sees_writes_of_other_processes(backend: LocalBackend, root: Path) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL, scope(user_id=USER, agent_id="watched"))
    records = [make_record(Table.ARCHIVAL, i, owner="watched") for i in range(50)]
    archival.insert(records)
    assert archival.search(records[10].embedding, k=1)[0].record.id == records[10].id  # vectors now cached
    code = (
        "import sys; from memgpt.default_plugins.local_backend import LocalBackend;"
        "from memgpt.kinds import Table; from memgpt.storage.configured import open_collection;"
        "from memgpt.storage.where import Where; from memgpt.testing import make_record;"
        f"b = LocalBackend(); s = b.open({{'path': {str(root)!r}}});"
        f"c = open_collection(b, s, Table.ARCHIVAL, Where.of(user_id={USER!r}));"
        "c.insert([make_record(Table.ARCHIVAL, 500, owner='watched')]);"
        f"c.delete([{records[10].id!r}]); s.close()"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    newcomer = make_record(Table.ARCHIVAL, 500, owner="watched")
    assert archival.search(newcomer.embedding, k=1)[0].record.id == newcomer.id
    assert records[10].id not in {h.record.id for h in archival.search(records[10].embedding, k=5)}
    assert archival.count() == 50
    store.close()


def test_a_reader_under_write_load_refreshes_its_vectors_from_the_change_log(backend: LocalBackend, root: Path) -> None:
    """Another process's writes reach a reader's cached vectors row by row: the partition is read whole only once."""
    store, archival = collection(backend, root, Table.ARCHIVAL, scope(user_id=USER, agent_id="busy"))
    records = [make_record(Table.ARCHIVAL, i, owner="busy") for i in range(200)]
    archival.insert(records)
    assert archival.search(records[7].embedding, k=1)[0].record.id == records[7].id
    connector = archival.connector
    assert connector.reloads == 1
    for round_ in range(3):  # a writer in another process: inserts, a replacement and a delete each round
        code = (
            "import sys; from memgpt.default_plugins.local_backend import LocalBackend;"
            "from memgpt.kinds import Table; from memgpt.storage.configured import open_collection;"
            "from memgpt.storage.where import Where; from memgpt.testing import make_record, random_unit_vectors;"
            f"b = LocalBackend(); s = b.open({{'path': {str(root)!r}}});"
            f"c = open_collection(b, s, Table.ARCHIVAL, Where.of(user_id={USER!r}));"
            f"c.insert([make_record(Table.ARCHIVAL, 1000 + 10 * {round_} + i, owner='busy') for i in range(10)]);"
            f"c.insert([make_record(Table.ARCHIVAL, {round_}, owner='busy', vector=random_unit_vectors(1, seed=77 + {round_})[0])]);"
            f"c.delete([make_record(Table.ARCHIVAL, 100 + {round_}, owner='busy').id]); s.close()"
        )
        subprocess.run([sys.executable, "-c", code], check=True)
        newcomer = make_record(Table.ARCHIVAL, 1000 + 10 * round_ + 3, owner="busy")
        assert archival.search(newcomer.embedding, k=1)[0].record.id == newcomer.id
        moved = archival.search(random_unit_vectors(1, seed=77 + round_)[0], k=1)[0]
        assert moved.record.id == records[round_].id and moved.score == pytest.approx(1.0, abs=1e-5)
        gone = make_record(Table.ARCHIVAL, 100 + round_, owner="busy")
        assert gone.id not in {h.record.id for h in archival.search(gone.embedding, k=5)}
    assert connector.reloads == 1  # never reloaded: only the changed rows were read
    assert archival.count() == 200 + 30 - 3 and len(connector._indexes["busy"].index) == 227
    store.close()


def test_own_writes_update_cached_vectors_without_reload(backend: LocalBackend, root: Path) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL, scope(user_id=USER, agent_id="a"))
    vectors = random_unit_vectors(200, seed=3)
    archival.insert([make_record(Table.ARCHIVAL, i, owner="a", vector=vectors[i]) for i in range(100)])
    archival.search(vectors[0], k=1)
    connector = archival.connector
    index_before = connector._indexes["a"].index
    archival.insert([make_record(Table.ARCHIVAL, i, owner="a", vector=vectors[i]) for i in range(100, 200)])
    archival.delete([make_record(Table.ARCHIVAL, 5, owner="a").id])
    assert archival.search(vectors[150], k=1)[0].score == pytest.approx(1.0, abs=1e-5)
    assert connector._indexes["a"].index is index_before and len(index_before) == 199
    store.close()


def _statements(connector, key: str) -> list[str]:
    """Every SQL statement the partition ``key``'s connection runs from now on (SQLite's trace)."""
    seen: list[str] = []
    connector.store.partition(connector.layout.group, key, create=False).conn.set_trace_callback(seen.append)
    return seen


def test_a_file_records_its_users_and_counts_a_lone_users_rows_without_reading_them(backend: LocalBackend, root: Path) -> None:
    """An agent's file holding only its user's rows is counted and searched without a user filter: SQLite counts
    its smallest index instead of reading every row. A second user in the file brings the filter back."""
    store, everyone = collection(backend, root, Table.RECALL, Where.everything())
    mine = open_collection(backend, store, Table.RECALL, scope(user_id=USER, agent_id="shared"))
    theirs = open_collection(backend, store, Table.RECALL, scope(user_id=OTHER_USER, agent_id="shared"))
    mine.insert([make_record(Table.RECALL, i, owner="shared", text=f"note {i}") for i in range(5)])
    traced = _statements(mine.connector, "shared")
    assert mine.count() == 5 and mine.text_count("note") == 5 and len(mine.text_search("note")) == 5
    counts = [s for s in traced if s.startswith("SELECT count(*)")]
    assert counts and not any("user_id" in s for s in counts) and "SELECT count(*) FROM recall" in counts
    assert not any("user_id =" in s for s in traced)

    theirs.insert([make_record(Table.RECALL, 10 + i, owner="shared", user=OTHER_USER, text=f"note {i}") for i in range(3)])
    traced.clear()
    assert (mine.count(), theirs.count(), everyone.count()) == (5, 3, 8)
    assert mine.text_count("note") == 5 and {r.user_id for r in theirs.text_search("note")} == {OTHER_USER}
    counts = [s for s in traced if s.startswith("SELECT count(*)")]
    assert len(counts) == 4 and sum("user_id =" in s for s in counts) == 3  # every count but everyone's filters the user

    assert theirs.delete_where(Where.everything()) == 3  # the record of users is a superset: the filter stays, counts hold
    assert (mine.count(), theirs.count()) == (5, 0)
    assert mine.delete_where(Where.everything()) == 5  # an emptied file holds no user any more
    db = store.partition("agents", "shared", create=False)
    with db.read() as conn:
        assert conn.execute("SELECT count(*) FROM recall_users").fetchone()[0] == 0
    theirs.insert([make_record(Table.RECALL, 20, owner="shared", user=OTHER_USER)])
    assert (mine.count(), theirs.count(), mine.text_count("note"), mine.date_count(None, None)) == (0, 1, 0, 0)
    store.close()


def test_a_schema_2_file_learns_which_users_it_holds(backend: LocalBackend, root: Path) -> None:
    store, everyone = collection(backend, root, Table.ARCHIVAL, Where.everything())
    everyone.insert([make_record(Table.ARCHIVAL, i, owner="old", user=user) for i, user in enumerate([USER, USER, OTHER_USER])])
    store.close()
    with sqlite3.connect(root / "agents" / "old" / "memory.sqlite") as conn:  # as memgpt 0.5 left it
        conn.execute("DROP TABLE archival_users")
        conn.execute("DROP TABLE recall_users")
        conn.execute("PRAGMA user_version=2")
    store, mine = collection(backend, root, Table.ARCHIVAL, scope(user_id=USER, agent_id="old"))
    assert mine.count() == 2 and len(mine.search(make_record(Table.ARCHIVAL, 2, owner="old").embedding, k=5)) == 2
    with sqlite3.connect(root / "agents" / "old" / "memory.sqlite") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert {r[0] for r in conn.execute("SELECT user_id FROM archival_users")} == {USER, OTHER_USER}
    store.close()


def test_file_from_a_newer_schema_is_refused(backend: LocalBackend, root: Path) -> None:
    store, archival = collection(backend, root, Table.ARCHIVAL)
    archival.insert([make_record(Table.ARCHIVAL, 0, owner="future")])
    store.close()
    db = root / "agents" / "future" / "memory.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    store, archival = collection(backend, root, Table.ARCHIVAL)
    with pytest.raises(StorageError, match="newer memgpt"):
        archival.count()
    store.close()


def test_corrupt_file_gives_a_clear_error(backend: LocalBackend, root: Path) -> None:
    folder = root / "agents" / "broken"
    folder.mkdir(parents=True)
    (folder / "memory.sqlite").write_bytes(b"this is not a database" * 100)
    store, archival = collection(backend, root, Table.ARCHIVAL)
    with pytest.raises(StorageError, match=r"is damaged .*restore it from a backup"):
        archival.count()
    store.close()


def test_unwritable_location_fails_the_health_check(backend: LocalBackend, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    health = backend.check({"path": str(blocker / "store")})
    assert not health.ok and "is not a folder" in health.message
