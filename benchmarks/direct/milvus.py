"""Milvus' client doing the benchmark's operations directly (a Milvus Lite file, or a server URL)."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from data import Workload
from pymilvus import DataType, MilvusClient
from subject import Subject

PASSAGES, MESSAGES = "bench_passages", "bench_messages"
STRONG = "Strong"  # what memgpt's backend asks for: a search sees every completed write
BATCH = 2_000


def _epoch(when: datetime) -> int:
    return int(when.timestamp() * 1_000_000)


def _agent(agent: str) -> str:
    return f'agent_id == "{agent}"'


class DirectSubject(Subject):
    engine = "milvus"
    label = "milvus client"

    def __init__(self, uri: str) -> None:
        self.uri = uri
        self.client = MilvusClient(uri=uri)

    def _create(self, name: str, dim: int) -> None:
        if self.client.has_collection(name):
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("agent_id", DataType.VARCHAR, max_length=64)
        schema.add_field("text", DataType.VARCHAR, max_length=4096)
        schema.add_field("text_lc", DataType.VARCHAR, max_length=4096)
        schema.add_field("created_at", DataType.INT64)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
        index = self.client.prepare_index_params()
        index.add_index("embedding", index_type="FLAT", metric_type="COSINE")  # exact, like memgpt's backend
        self.client.create_collection(name, schema=schema, index_params=index, consistency_level=STRONG)

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        self._create(PASSAGES, workload.dim)
        for lo in range(start, stop, BATCH):
            hi = min(stop, lo + BATCH)
            rows = [
                {
                    "id": workload.passage_ids[i],
                    "agent_id": workload.agent_of(i),
                    "text": workload.passage_text(i),
                    "text_lc": workload.passage_text(i).lower(),
                    "created_at": 0,
                    "embedding": workload.vectors[i].tolist(),
                }
                for i in range(lo, hi)
            ]
            self.client.upsert(PASSAGES, rows)

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        self._create(MESSAGES, 2)
        for lo in range(start, stop, BATCH):
            rows = []
            for i in range(lo, min(stop, lo + BATCH)):
                mid, agent, text, when = workload.message(i)
                rows.append(
                    {
                        "id": mid,
                        "agent_id": agent,
                        "text": text,
                        "text_lc": text.lower(),
                        "created_at": _epoch(when),
                        "embedding": [1.0, 0.0],
                    }
                )
            self.client.upsert(MESSAGES, rows)

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        result = self.client.search(
            PASSAGES, data=[query.tolist()], limit=k, filter=_agent(agent), output_fields=["id", "text"], consistency_level=STRONG
        )
        return [hit["entity"]["id"] for hit in result[0]]

    def _oldest(self, expr: str, limit: int) -> list[str]:
        found = self.client.query(MESSAGES, filter=expr, output_fields=["id", "created_at"], consistency_level=STRONG)
        page = [row["id"] for row in sorted(found, key=lambda row: (row["created_at"], row["id"]))[:limit]]
        if page:  # the page's messages, as a search returns them
            self.client.query(MESSAGES, ids=page, output_fields=["id", "text", "created_at"], consistency_level=STRONG)
        return page

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        return self._oldest(f'{_agent(agent)} and text_lc like "%{needle.lower()}%"', limit)

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        return self._oldest(f"{_agent(agent)} and created_at >= {_epoch(start)} and created_at <= {_epoch(end)}", limit)

    def count(self, agent: str) -> int:
        return int(
            self.client.query(PASSAGES, filter=_agent(agent), output_fields=["count(*)"], consistency_level=STRONG)[0]["count(*)"]
        )

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "from pymilvus import MilvusClient\n"
            f"client = MilvusClient(uri={self.uri!r})\n"
            f"client.load_collection({PASSAGES!r})\n"
            f"result = client.search({PASSAGES!r}, data=[{query!r}], limit={k}, filter='agent_id == \"{agent}\"', "
            "output_fields=['id', 'text'], consistency_level='Strong')\n"
            "print(' '.join(hit['entity']['id'] for hit in result[0]))\n"
        )

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
            if "://" not in self.uri:
                from milvus_lite.server_manager import server_manager_instance

                server_manager_instance.release_server(self.uri)
            self.client = None


class BestSubject(DirectSubject):
    """Milvus' best use for one agent's search: ``agent_id`` as the partition key, the load flushed."""

    label = "milvus best use"
    search_only = True
    how = (
        "`agent_id` as the partition key and the collection flushed after the load (sealed segments; measured on "
        "Milvus Lite at 100k: a strong search over growing, unflushed segments took 766 ms, flushed 97 ms; the "
        "partition key alone changed nothing)"
    )

    def _create(self, name: str, dim: int) -> None:
        if self.client.has_collection(name):
            return
        schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("id", DataType.VARCHAR, is_primary=True, max_length=64)
        schema.add_field("agent_id", DataType.VARCHAR, max_length=64, is_partition_key=True)
        schema.add_field("text", DataType.VARCHAR, max_length=4096)
        schema.add_field("text_lc", DataType.VARCHAR, max_length=4096)
        schema.add_field("created_at", DataType.INT64)
        schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
        index = self.client.prepare_index_params()
        index.add_index("embedding", index_type="FLAT", metric_type="COSINE")
        self.client.create_collection(name, schema=schema, index_params=index, consistency_level=STRONG)

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        super().insert_passages(workload, start, stop)
        if stop == workload.size:
            self.client.flush(PASSAGES)

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        return None
