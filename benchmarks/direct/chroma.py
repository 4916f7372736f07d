"""Chroma's client doing the benchmark's operations directly (a persistent folder, or http://host:port)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from data import BASE_TIME, USER, Workload
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"
HNSW = {"space": "cosine", "ef_construction": 200, "ef_search": 1_000}  # the index memgpt's backend builds
BATCH = 5_000


def _client(uri: str) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if "://" in uri:
        parts = urlsplit(uri)
        return chromadb.HttpClient(host=parts.hostname, port=parts.port, settings=settings)
    return chromadb.PersistentClient(path=uri, settings=settings)


def _epoch(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


class DirectSubject(Subject):
    engine = "chroma"
    label = "chroma client"

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = _client(uri)
        self.passages = self.client.get_or_create_collection(PASSAGES, embedding_function=None, configuration={"hnsw": HNSW})
        self.messages = self.client.get_or_create_collection(MESSAGES, embedding_function=None)

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        for lo in range(start, stop, BATCH):
            hi = min(stop, lo + BATCH)
            self.passages.upsert(
                ids=workload.passage_ids[lo:hi],
                embeddings=workload.vectors[lo:hi],
                documents=[workload.passage_text(i) for i in range(lo, hi)],
                metadatas=[
                    {"agent_id": workload.agent_of(i), "user_id": USER, "created_at": _epoch(BASE_TIME)} for i in range(lo, hi)
                ],
            )

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        for lo in range(start, stop, BATCH):
            rows = [workload.message(i) for i in range(lo, min(stop, lo + BATCH))]
            self.messages.upsert(
                ids=[r[0] for r in rows],
                embeddings=np.ones((len(rows), 1), dtype=np.float32),  # Chroma needs a vector; messages have none
                documents=[r[2] for r in rows],
                metadatas=[
                    {"agent_id": r[1], "user_id": USER, "role": "user" if i % 2 else "assistant", "created_at": _epoch(r[3])}
                    for i, r in enumerate(rows, start=lo)
                ],
            )

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        result = self.passages.query(query_embeddings=[query], n_results=k, where={"agent_id": agent})
        return result["ids"][0]

    def _oldest(self, where: dict[str, Any], document: dict[str, Any] | None, limit: int) -> list[str]:
        found = self.messages.get(where=where, where_document=document, include=["metadatas"])
        order = sorted(zip(found["metadatas"], found["ids"], strict=True), key=lambda pair: (pair[0]["created_at"], pair[1]))
        page = [i for _, i in order[:limit]]
        if not page:
            return []
        self.messages.get(ids=page, include=["documents", "metadatas"])  # the page's messages, as a search returns them
        return page

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        return self._oldest({"agent_id": agent}, {"$regex": f"(?i){needle}"}, limit)

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        window = [{"agent_id": agent}, {"created_at": {"$gte": _epoch(start)}}, {"created_at": {"$lte": _epoch(end)}}]
        return self._oldest({"$and": window}, None, limit)

    def count(self, agent: str) -> int:
        return len(self.passages.get(where={"agent_id": agent}, include=[])["ids"])

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "import chromadb\n"
            "from chromadb.config import Settings\n"
            f"client = chromadb.PersistentClient(path={self.uri!r}, settings=Settings(anonymized_telemetry=False))\n"
            f"collection = client.get_collection({PASSAGES!r}, embedding_function=None)\n"
            f"result = collection.query(query_embeddings=[{query!r}], n_results={k}, where={{'agent_id': {agent!r}}})\n"
            "print(' '.join(result['ids'][0]))\n"
        )


class BestSubject(DirectSubject):
    """Chroma's best use for one agent's search: a collection per agent, queried without a filter."""

    label = "chroma best use"
    search_only = True
    how = (
        "a collection per agent (its passages only, the same HNSW settings), queried without a `where`: Chroma "
        "filters a query's candidates by scanning their metadata, so a filter costs more than the search"
    )

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = _client(uri)
        self.collections: dict[str, Any] = {}

    def _of(self, agent: str) -> Any:
        if agent not in self.collections:
            self.collections[agent] = self.client.get_or_create_collection(
                f"bench_{agent}", embedding_function=None, configuration={"hnsw": HNSW}
            )
        return self.collections[agent]

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        by_agent: dict[str, list[int]] = {}
        for i in range(start, stop):
            by_agent.setdefault(workload.agent_of(i), []).append(i)
        for agent, rows in by_agent.items():
            for lo in range(0, len(rows), BATCH):
                part = rows[lo : lo + BATCH]
                self._of(agent).upsert(
                    ids=[workload.passage_ids[i] for i in part],
                    embeddings=workload.vectors[part],
                    documents=[workload.passage_text(i) for i in part],
                    metadatas=[{"agent_id": agent, "user_id": USER, "created_at": _epoch(BASE_TIME)} for _ in part],
                )

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        return self._of(agent).query(query_embeddings=[query], n_results=k)["ids"][0]

    def count(self, agent: str) -> int:
        return int(self._of(agent).count())

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        return None
