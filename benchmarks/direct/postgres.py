"""PostgreSQL + pgvector through SQLAlchemy and pg8000 directly: the same driver and index memgpt's backend uses.

Done the way a careful user would: COPY for bulk loads, Nagle off (pg8000
leaves it on, which adds 40 ms delayed-ACK stalls to statements over 8 KiB),
the scope's index for scoped searches, and searches that return the passages
(id, text, vector), not just ids.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from data import Workload
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"
COLUMNS = {"passages": ("id", "agent_id", "body", "embedding"), "messages": ("id", "agent_id", "body", "created_at")}
INDEX_AFTER_ROWS = 20_000


class DirectSubject(Subject):
    engine = "postgres"
    label = "postgres client"
    passages, messages = PASSAGES, MESSAGES

    def __init__(self, uri: str) -> None:
        import socket

        from sqlalchemy import create_engine, event, text

        def no_delay(dbapi_connection: object, _record: object) -> None:
            dbapi_connection._usock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # type: ignore[attr-defined]

        self.uri = uri
        self.text = text
        self.engine_ = create_engine(uri)
        event.listen(self.engine_, "connect", no_delay)
        with self.engine_.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
            conn.execute(text(f"DROP TABLE IF EXISTS {self.passages}, {self.messages}"))
        self.dim = 0
        self.indexed = False

    def _create(self, dim: int) -> None:
        if self.dim:
            return
        self.dim = dim
        with self.engine_.begin() as conn:
            conn.execute(
                self.text(
                    f"CREATE TABLE {self.passages} (id text PRIMARY KEY, agent_id text, body text, embedding vector({dim}))"
                )
            )
            conn.execute(self.text(f"CREATE INDEX ON {self.passages} (agent_id)"))
            conn.execute(
                self.text(f"CREATE TABLE {self.messages} (id text PRIMARY KEY, agent_id text, body text, created_at timestamptz)")
            )
            conn.execute(self.text(f"CREATE INDEX ON {self.messages} (agent_id, created_at)"))

    def _copy(self, table: str, lines: list[str]) -> None:
        import io

        with self.engine_.begin() as conn:
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.execute(f"CREATE TEMP TABLE stage (LIKE {table}) ON COMMIT DROP")
            cursor.execute("COPY stage FROM STDIN", stream=io.BytesIO("".join(lines).encode()))
            updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS["passages" if table == self.passages else "messages"][1:])
            cursor.execute(f"INSERT INTO {table} SELECT * FROM stage ON CONFLICT (id) DO UPDATE SET {updates}")

    def _copy_passages(self, workload: Workload, start: int, stop: int) -> None:
        """Passages ``start`` to ``stop`` into this subject's table, by COPY (the table made first if need be)."""
        self._create(workload.dim)
        lines = [
            f"{workload.passage_ids[i]}\t{workload.agent_of(i)}\t{_copy_text(workload.passage_text(i))}\t"
            f"[{','.join(map(str, workload.vectors[i].tolist()))}]\n"
            for i in range(start, stop)
        ]
        self._copy(self.passages, lines)

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        self._copy_passages(workload, start, stop)
        if stop >= INDEX_AFTER_ROWS and not self.indexed and workload.dim <= 2000:
            # The same HNSW index memgpt's backend builds at this size.
            with self.engine_.begin() as conn:
                conn.execute(self.text("SET LOCAL maintenance_work_mem = '512MB'"))
                conn.execute(self.text(f"CREATE INDEX ON {self.passages} USING hnsw (embedding vector_cosine_ops)"))
            self.indexed = True

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        lines = []
        for i in range(start, stop):
            mid, agent, body, when = workload.message(i)
            lines.append(f"{mid}\t{agent}\t{_copy_text(body)}\t{when.isoformat()}\n")
        self._copy(self.messages, lines)

    def _ids(self, sql: str, setup: str = "", **params: object) -> list[str]:
        with self.engine_.begin() as conn:
            if setup:
                conn.execute(self.text(setup))
            return [row[0] for row in conn.execute(self.text(sql), params)]

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        vector = "[" + ",".join(map(repr, query.tolist())) + "]"
        return self._ids(
            f"SELECT id, body, embedding FROM {self.passages} WHERE agent_id = :agent "
            "ORDER BY (embedding <=> CAST(:q AS vector)) + 0 LIMIT :k",  # "+ 0": exact within the scope, not HNSW
            "SET LOCAL enable_seqscan = off",
            agent=agent,
            q=vector,
            k=k,
        )

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        return self._ids(
            f"SELECT id, body, created_at FROM {self.messages} WHERE agent_id = :agent AND body ILIKE :pattern ORDER BY created_at, id LIMIT :n",
            agent=agent,
            pattern=f"%{needle}%",
            n=limit,
        )

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        return self._ids(
            f"SELECT id, body, created_at FROM {self.messages} WHERE agent_id = :agent AND created_at BETWEEN :start AND :end "
            "ORDER BY created_at, id LIMIT :n",
            agent=agent,
            start=start,
            end=end,
            n=limit,
        )

    def count(self, agent: str) -> int:
        with self.engine_.connect() as conn:
            return int(
                conn.execute(
                    self.text(f"SELECT count(*) FROM {self.passages} WHERE agent_id = :agent"), {"agent": agent}
                ).scalar()
            )

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        vector = "[" + ",".join(map(repr, query)) + "]"
        return (
            "from sqlalchemy import create_engine, text\n"
            f"with create_engine({self.uri!r}).connect() as conn:\n"
            f"    rows = conn.execute(text('SELECT id, body, embedding FROM {self.passages} WHERE agent_id = :a "
            f"ORDER BY (embedding <=> CAST(:q AS vector)) + 0 LIMIT {k}'), "
            f"{{'a': {agent!r}, 'q': {vector!r}}})\n"
            "    print(' '.join(r[0] for r in rows))\n"
        )

    def close(self) -> None:
        if self.engine_ is not None:
            self.engine_.dispose()
            self.engine_ = None


def _copy_text(value: str) -> str:
    """A value in COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


BEST_EF_SEARCH = 100
"""hnsw.ef_search of the best use's per-agent indexes (measured at 100k × 384, 10 agents: recall@10 0.97 at 40,
1.000 at 100 and 200)."""


class BestSubject(DirectSubject):
    """PostgreSQL's best use for one agent's search: an HNSW index per agent (partial, ``WHERE agent_id = ...``)."""

    label = "postgres best use"
    search_only = True
    passages, messages = "best_passages", "best_messages"
    how = (
        "an HNSW index per agent (a partial index `WHERE agent_id = '<agent>'`, built after the load), queried with the "
        f"agent as a literal so the planner picks it, `hnsw.ef_search` {BEST_EF_SEARCH}; pgvector 0.8's iterative index "
        "scans are not available here (pgserver ships pgvector 0.6.2)"
    )

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        self._copy_passages(workload, start, stop)
        if stop == workload.size:
            with self.engine_.begin() as conn:
                conn.execute(self.text("SET LOCAL maintenance_work_mem = '512MB'"))
                for agent in workload.agent_ids:
                    conn.execute(
                        self.text(
                            f"CREATE INDEX ON {self.passages} USING hnsw (embedding vector_cosine_ops) WHERE agent_id = {_literal(agent)}"
                        )
                    )
                conn.execute(self.text(f"ANALYZE {self.passages}"))

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        vector = "[" + ",".join(map(repr, query.tolist())) + "]"
        return self._ids(
            f"SELECT id, body, embedding FROM {self.passages} WHERE agent_id = {_literal(agent)} "
            "ORDER BY embedding <=> CAST(:q AS vector) LIMIT :k",
            f"SET LOCAL hnsw.ef_search = {BEST_EF_SEARCH}",
            q=vector,
            k=k,
        )

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        return None


def _literal(value: str) -> str:
    """A SQL string literal (a partial index's predicate must match the query's text)."""
    return "'" + value.replace("'", "''") + "'"
