"""Qdrant's client doing the benchmark's operations directly (local mode, or a server URL)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
from data import Workload
from qdrant_client import QdrantClient, models
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"


def _client(uri: str) -> QdrantClient:
    return QdrantClient(url=uri) if "://" in uri else QdrantClient(path=uri)


def _agent(agent: str) -> models.FieldCondition:
    return models.FieldCondition(key="agent_id", match=models.MatchValue(value=agent))


class DirectSubject(Subject):
    engine = "qdrant"
    label = "qdrant client"

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = _client(uri)

    def _ensure(self, dim: int) -> None:
        if not self.client.collection_exists(PASSAGES):
            self.client.create_collection(PASSAGES, vectors_config=models.VectorParams(size=dim, distance=models.Distance.COSINE))
            self.client.create_collection(MESSAGES, vectors_config={})

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        self._ensure(workload.dim)
        for lo in range(start, stop, 512):
            hi = min(stop, lo + 512)
            self.client.upsert(
                PASSAGES,
                points=models.Batch(
                    ids=list(range(lo, hi)),
                    vectors=workload.vectors[lo:hi].tolist(),
                    payloads=[
                        {"id": workload.passage_ids[i], "agent_id": workload.agent_of(i), "text": workload.passage_text(i)}
                        for i in range(lo, hi)
                    ],
                ),
                wait=True,
            )

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        points = []
        for i in range(start, stop):
            mid, agent, text, when = workload.message(i)
            payload = {"id": mid, "agent_id": agent, "text": text, "text_lc": text.lower(), "created_at": when.timestamp()}
            points.append(models.PointStruct(id=i, vector={}, payload=payload))
        for lo in range(0, len(points), 512):
            self.client.upsert(MESSAGES, points=points[lo : lo + 512], wait=True)

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        result = self.client.query_points(
            PASSAGES, query=query.tolist(), query_filter=models.Filter(must=[_agent(agent)]), limit=k, with_payload=True
        )
        return [p.payload["id"] for p in result.points]

    def _ordered(self, conditions: list[Any], limit: int) -> list[str]:
        points, _ = self.client.scroll(
            MESSAGES,
            scroll_filter=models.Filter(must=conditions),
            limit=limit,
            order_by=models.OrderBy(key="created_at"),
            with_payload=True,  # the page's messages, as a search returns them
        )
        return [p.payload["id"] for p in points]

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        text = models.FieldCondition(key="text_lc", match=models.MatchSubstring(substring=needle.lower()))
        return self._ordered([_agent(agent), text], limit)

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        window = models.FieldCondition(key="created_at", range=models.Range(gte=start.timestamp(), lte=end.timestamp()))
        return self._ordered([_agent(agent), window], limit)

    def count(self, agent: str) -> int:
        return self.client.count(PASSAGES, count_filter=models.Filter(must=[_agent(agent)]), exact=True).count

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "from qdrant_client import QdrantClient, models\n"
            f"client = QdrantClient(path={self.uri!r})\n"
            f"flt = models.Filter(must=[models.FieldCondition(key='agent_id', match=models.MatchValue(value={agent!r}))])\n"
            f"result = client.query_points({PASSAGES!r}, query={query!r}, query_filter=flt, limit={k}, with_payload=['id'])\n"
            "print(' '.join(p.payload['id'] for p in result.points))\n"
        )

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None


class BestSubject(DirectSubject):
    """Qdrant's best use for one agent's search: a collection per agent, queried without a filter."""

    label = "qdrant best use"
    search_only = True
    how = (
        "a collection per agent, queried without a filter (local mode scores every point a filter passes in Python, "
        "so a collection holding only the agent's points is the only way to score fewer)"
    )

    def _name(self, agent: str) -> str:
        return f"bench_{agent}"

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        by_agent: dict[str, list[int]] = {}
        for i in range(start, stop):
            by_agent.setdefault(workload.agent_of(i), []).append(i)
        for agent, rows in by_agent.items():
            name = self._name(agent)
            if not self.client.collection_exists(name):
                self.client.create_collection(
                    name, vectors_config=models.VectorParams(size=workload.dim, distance=models.Distance.COSINE)
                )
            for lo in range(0, len(rows), 512):
                part = rows[lo : lo + 512]
                self.client.upsert(
                    name,
                    points=models.Batch(
                        ids=part,
                        vectors=workload.vectors[part].tolist(),
                        payloads=[{"id": workload.passage_ids[i], "text": workload.passage_text(i)} for i in part],
                    ),
                    wait=True,
                )

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        result = self.client.query_points(self._name(agent), query=query.tolist(), limit=k, with_payload=True)
        return [p.payload["id"] for p in result.points]

    def count(self, agent: str) -> int:
        return self.client.count(self._name(agent), exact=True).count

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        return None
