"""SQLite through Python's sqlite3 and numpy, doing the benchmark's operations directly: the local backend's engine.

The same storage memgpt's local backend uses, written by hand the way a careful
user would: one SQLite file per agent with the same tables, columns and indexes
(a unique id for upserts, a trigram full-text index and a (created_at, id)
index on messages), the same settings (16 KiB pages, a rollback journal,
``synchronous=FULL``, so a committed batch survives a power loss), upserts by
``executemany`` in one transaction per file, and a search that keeps the
agent's normalized vectors in memory, ranks them with one matrix-vector
product and reads the best rows (id, text, vector, payload) back from SQLite.
What memgpt adds over this (validation, encoding, the index's freshness check,
exact rescoring, records) is its ratio.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path

import numpy as np
from data import BASE_TIME, MODEL, USER, Workload
from subject import Subject

PASSAGES = (
    "CREATE TABLE passages (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user_id TEXT, agent_id TEXT, "
    "document_id TEXT, text TEXT NOT NULL, created_at INTEGER NOT NULL, embedding BLOB, payload TEXT NOT NULL)"
)
MESSAGES = [
    "CREATE TABLE messages (rid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, user_id TEXT, agent_id TEXT, "
    "role TEXT, text TEXT NOT NULL, created_at INTEGER NOT NULL, payload TEXT NOT NULL)",
    "CREATE INDEX messages_created ON messages (created_at, id)",
    "CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', content_rowid='rid', "
    "tokenize='trigram case_sensitive 0')",
    "CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN "
    "INSERT INTO messages_fts(rowid, text) VALUES (new.rid, new.text); END",
]
UPSERT_PASSAGE = (
    "INSERT INTO passages (id, user_id, agent_id, document_id, text, created_at, embedding, payload) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET text=excluded.text, "
    "created_at=excluded.created_at, embedding=excluded.embedding, payload=excluded.payload"
)
UPSERT_MESSAGE = (
    "INSERT INTO messages (id, user_id, agent_id, role, text, created_at, payload) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT(id) DO UPDATE SET text=excluded.text, created_at=excluded.created_at, payload=excluded.payload"
)
PASSAGE_PAYLOAD = json.dumps({"embedding_model": MODEL, "metadata": {}})
MESSAGE_PAYLOAD = json.dumps({"metadata": {}, "tool_calls": []})


def _epoch_us(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the local backend's settings (the page size only takes effect on a new file)."""
    new = not path.exists()
    conn = sqlite3.connect(str(path), isolation_level=None)
    if new:
        conn.execute("PRAGMA page_size=16384")
    conn.execute("PRAGMA journal_mode=truncate")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(f"PRAGMA mmap_size={1 << 30}")
    if new:
        for statement in [PASSAGES, *MESSAGES]:
            conn.execute(statement)
    return conn


def load_vectors(conn: sqlite3.Connection) -> tuple[np.ndarray, np.ndarray]:
    """(rowids, normalized float32 matrix) of every passage in one file."""
    rows = conn.execute("SELECT rid, embedding FROM passages").fetchall()
    rids = np.array([r[0] for r in rows], dtype=np.int64)
    matrix = np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
    return rids, matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def top_rows(conn: sqlite3.Connection, rids: np.ndarray, matrix: np.ndarray, query: np.ndarray, k: int) -> list[str]:
    """The ids of the ``k`` best passages, best first, their rows (text, vector, payload) read from SQLite."""
    scores = matrix @ query
    best = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
    best = best[np.argsort(-scores[best], kind="stable")]
    wanted = rids[best].tolist()
    marks = ",".join("?" * len(wanted))
    found = {
        r[0]: r for r in conn.execute(f"SELECT rid, id, text, embedding, payload FROM passages WHERE rid IN ({marks})", wanted)
    }
    return [found[rid][1] for rid in wanted]


class DirectSubject(Subject):
    engine = "local"
    label = "local client"

    def __init__(self, uri: str) -> None:
        self.folder = Path(uri)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.conns: dict[str, sqlite3.Connection] = {}
        self.vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def _conn(self, agent: str) -> sqlite3.Connection:
        if agent not in self.conns:
            self.conns[agent] = connect(self.folder / f"{agent}.sqlite")
        return self.conns[agent]

    def _write(self, sql: str, by_agent: dict[str, list[tuple[object, ...]]]) -> None:
        for agent, rows in by_agent.items():
            conn = self._conn(agent)
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            self.vectors.pop(agent, None)

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        by_agent: dict[str, list[tuple[object, ...]]] = {}
        created = _epoch_us(BASE_TIME)  # as the memgpt subject's passages
        for i in range(start, stop):
            agent = workload.agent_of(i)
            row = (
                workload.passage_ids[i],
                USER,
                agent,
                None,
                workload.passage_text(i),
                created,
                workload.vectors[i],
                PASSAGE_PAYLOAD,
            )
            by_agent.setdefault(agent, []).append(row)
        self._write(UPSERT_PASSAGE, by_agent)

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        by_agent: dict[str, list[tuple[object, ...]]] = {}
        for i in range(start, stop):
            mid, agent, text, when = workload.message(i)
            row = (mid, USER, agent, "user" if i % 2 else "assistant", text, _epoch_us(when), MESSAGE_PAYLOAD)
            by_agent.setdefault(agent, []).append(row)
        self._write(UPSERT_MESSAGE, by_agent)

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        conn = self._conn(agent)
        if agent not in self.vectors:
            self.vectors[agent] = load_vectors(conn)
        rids, matrix = self.vectors[agent]
        return top_rows(conn, rids, matrix, query, k)

    def _messages(self, agent: str, condition: str, params: list[object], limit: int) -> list[str]:
        sql = f"SELECT id, text, created_at, payload FROM messages WHERE {condition} ORDER BY created_at, id LIMIT ?"
        return [r[0] for r in self._conn(agent).execute(sql, [*params, limit])]

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        phrase = '"' + needle.replace('"', '""') + '"'
        return self._messages(agent, "rid IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)", [phrase], limit)

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        return self._messages(agent, "created_at BETWEEN ? AND ?", [_epoch_us(start), _epoch_us(end)], limit)

    def count(self, agent: str) -> int:
        return int(self._conn(agent).execute("SELECT count(*) FROM passages").fetchone()[0])

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "import sys\n"
            f"sys.path[:0] = [{str(Path(__file__).parent)!r}, {str(Path(__file__).parents[1])!r}]\n"
            "import numpy as np\n"
            "from local import connect, load_vectors, top_rows\n"
            "from pathlib import Path\n"
            f"conn = connect(Path({str(self.folder / f'{agent}.sqlite')!r}))\n"
            "rids, matrix = load_vectors(conn)\n"
            f"print(' '.join(top_rows(conn, rids, matrix, np.array({query!r}, dtype=np.float32), {k})))\n"
        )

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()
        self.vectors.clear()
