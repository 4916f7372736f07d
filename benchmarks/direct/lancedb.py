"""LanceDB's client doing the benchmark's operations directly (a local folder)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa
from data import Workload
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"


def _epoch(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def _agent(agent: str) -> str:
    return f"agent_id = '{agent}'"


class DirectSubject(Subject):
    engine = "lancedb"
    label = "lancedb client"

    def __init__(self, uri: str) -> None:
        import lancedb

        self.uri = uri
        self.db = lancedb.connect(uri)
        self.passages = None
        self.messages = None

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        data = pa.table(
            {
                "id": workload.passage_ids[start:stop],
                "agent_id": [workload.agent_of(i) for i in range(start, stop)],
                "text": [workload.passage_text(i) for i in range(start, stop)],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(workload.vectors[start:stop].ravel()), workload.dim),
            }
        )
        if self.passages is None:
            self.passages = self.db.create_table(PASSAGES, data)
        else:
            self.passages.add(data)

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        rows = [workload.message(i) for i in range(start, stop)]
        data = pa.table(
            {
                "id": [r[0] for r in rows],
                "agent_id": [r[1] for r in rows],
                "text": [r[2] for r in rows],
                "created_at": pa.array([_epoch(r[3]) for r in rows], pa.int64()),
            }
        )
        if self.messages is None:
            self.messages = self.db.create_table(MESSAGES, data)
        else:
            self.messages.add(data)

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        result = self.passages.search(query).metric("cosine").where(_agent(agent), prefilter=True).limit(k).to_arrow()
        return result.column("id").to_pylist()

    def _oldest(self, clause: str, limit: int) -> list[str]:
        found = self.messages.search().where(clause).select(["id", "created_at"]).limit(None).to_arrow()
        order = sorted(zip(found.column("created_at").to_pylist(), found.column("id").to_pylist(), strict=True))
        page = [i for _, i in order[:limit]]
        if page:  # the page's messages, as a search returns them
            self.messages.search().where("id IN (" + ",".join(f"'{i}'" for i in page) + ")").limit(None).to_arrow()
        return page

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        return self._oldest(f"{_agent(agent)} AND text ILIKE '%{needle}%'", limit)

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        return self._oldest(f"{_agent(agent)} AND created_at >= {_epoch(start)} AND created_at <= {_epoch(end)}", limit)

    def count(self, agent: str) -> int:
        return self.passages.count_rows(_agent(agent))

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "import lancedb\n"
            f"table = lancedb.connect({self.uri!r}).open_table({PASSAGES!r})\n"
            f"result = table.search({query!r}).metric('cosine').where(\"agent_id = '{agent}'\", prefilter=True).limit({k}).to_arrow()\n"
            "print(' '.join(result.column('id').to_pylist()))\n"
        )


class BestSubject(DirectSubject):
    """LanceDB's best use for one agent's search: a table per agent, searched without a filter."""

    label = "lancedb best use"
    search_only = True
    how = (
        "a table per agent, searched exactly without a filter (measured: a BITMAP scalar index on `agent_id` "
        "with the prefilter does not come near it)"
    )

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.tables: dict[str, Any] = {}

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        by_agent: dict[str, list[int]] = {}
        for i in range(start, stop):
            by_agent.setdefault(workload.agent_of(i), []).append(i)
        for agent, rows in by_agent.items():
            data = pa.table(
                {
                    "id": [workload.passage_ids[i] for i in rows],
                    "text": [workload.passage_text(i) for i in rows],
                    "vector": pa.FixedSizeListArray.from_arrays(pa.array(workload.vectors[rows].ravel()), workload.dim),
                }
            )
            if agent in self.tables:
                self.tables[agent].add(data)
            else:
                self.tables[agent] = self.db.create_table("bench_" + agent.replace("-", "_"), data)

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        return self.tables[agent].search(query).metric("cosine").limit(k).to_arrow().column("id").to_pylist()

    def count(self, agent: str) -> int:
        return int(self.tables[agent].count_rows())

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        return None
