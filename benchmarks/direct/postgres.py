"""PostgreSQL + pgvector through SQLAlchemy and pg8000 directly: the same driver and index memgpt's backend uses."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from data import Workload
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"
BATCH = 1_000


class DirectSubject(Subject):
    engine = "postgres"
    label = "postgres client"

    def __init__(self, uri: str) -> None:
        from sqlalchemy import create_engine, text

        self.uri = uri
        self.text = text
        self.engine_ = create_engine(uri)
        with self.engine_.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(text(f"DROP TABLE IF EXISTS {PASSAGES}, {MESSAGES}"))
        self.dim = 0

    def _create(self, dim: int) -> None:
        if self.dim:
            return
        self.dim = dim
        with self.engine_.begin() as conn:
            conn.execute(
                self.text(f"CREATE TABLE {PASSAGES} (id text PRIMARY KEY, agent_id text, body text, embedding vector({dim}))")
            )
            conn.execute(self.text(f"CREATE INDEX ON {PASSAGES} (agent_id)"))
            conn.execute(
                self.text(f"CREATE TABLE {MESSAGES} (id text PRIMARY KEY, agent_id text, body text, created_at timestamptz)")
            )
            conn.execute(self.text(f"CREATE INDEX ON {MESSAGES} (agent_id, created_at)"))

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        self._create(workload.dim)
        statement = self.text(
            f"INSERT INTO {PASSAGES} VALUES (:id, :agent, :body, CAST(:embedding AS vector)) "
            "ON CONFLICT (id) DO UPDATE SET agent_id = EXCLUDED.agent_id, body = EXCLUDED.body, embedding = EXCLUDED.embedding"
        )
        for lo in range(start, stop, BATCH):
            rows = [
                {
                    "id": workload.passage_ids[i],
                    "agent": workload.agent_of(i),
                    "body": workload.passage_text(i),
                    "embedding": "[" + ",".join(map(repr, workload.vectors[i].tolist())) + "]",
                }
                for i in range(lo, min(stop, lo + BATCH))
            ]
            with self.engine_.begin() as conn:
                conn.execute(statement, rows)

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        statement = self.text(f"INSERT INTO {MESSAGES} VALUES (:id, :agent, :body, :at) ON CONFLICT (id) DO NOTHING")
        rows = []
        for i in range(start, stop):
            mid, agent, body, when = workload.message(i)
            rows.append({"id": mid, "agent": agent, "body": body, "at": when})
        with self.engine_.begin() as conn:
            conn.execute(statement, rows)

    def _ids(self, sql: str, **params: object) -> list[str]:
        with self.engine_.connect() as conn:
            return [row[0] for row in conn.execute(self.text(sql), params)]

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        vector = "[" + ",".join(map(repr, query.tolist())) + "]"
        return self._ids(
            f"SELECT id FROM {PASSAGES} WHERE agent_id = :agent ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k",
            agent=agent,
            q=vector,
            k=k,
        )

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        return self._ids(
            f"SELECT id FROM {MESSAGES} WHERE agent_id = :agent AND body ILIKE :pattern ORDER BY created_at, id LIMIT :n",
            agent=agent,
            pattern=f"%{needle}%",
            n=limit,
        )

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        return self._ids(
            f"SELECT id FROM {MESSAGES} WHERE agent_id = :agent AND created_at BETWEEN :start AND :end "
            "ORDER BY created_at, id LIMIT :n",
            agent=agent,
            start=start,
            end=end,
            n=limit,
        )

    def count(self, agent: str) -> int:
        with self.engine_.connect() as conn:
            return int(
                conn.execute(self.text(f"SELECT count(*) FROM {PASSAGES} WHERE agent_id = :agent"), {"agent": agent}).scalar()
            )

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        vector = "[" + ",".join(map(repr, query)) + "]"
        return (
            "from sqlalchemy import create_engine, text\n"
            f"with create_engine({self.uri!r}).connect() as conn:\n"
            f"    rows = conn.execute(text('SELECT id FROM {PASSAGES} WHERE agent_id = :a ORDER BY embedding <=> CAST(:q AS vector) LIMIT {k}'), "
            f"{{'a': {agent!r}, 'q': {vector!r}}})\n"
            "    print(' '.join(r[0] for r in rows))\n"
        )

    def close(self) -> None:
        if self.engine_ is not None:
            self.engine_.dispose()
            self.engine_ = None
