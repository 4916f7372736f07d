"""Records for tests: deterministic, valid, and easy to tell apart."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from memgpt.kinds import Table
from memgpt.records import AgentState, Message, Passage, Profile, Source

DIM = 16
"""Embedding dimension used by the suite."""
MODEL = "conformance-embedding-v1"
"""Embedding model name used by the suite."""
OTHER_MODEL = "conformance-embedding-v2"
OTHER_DIM = 24
"""A second model, for stores holding vectors of two models side by side (shelves)."""
BASE_TIME = datetime(2024, 1, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
USER = "user-1"
"""The user records are made for unless a test says otherwise."""
OTHER_USER = "user-2"
"""A second user sharing the store, for isolation checks."""


def owner_field(table: Table) -> str:
    """The field that says whose a record is: ``agent_id``, ``source`` or ``id``."""
    return {Table.SOURCE_PASSAGES: "source", Table.SOURCES: "id", Table.AGENTS: "id", Table.PROFILES: "id"}.get(table, "agent_id")


def random_unit_vectors(n: int, dim: int = DIM, seed: int = 0) -> np.ndarray:
    """``n`` random float32 vectors of unit length."""
    rng = np.random.default_rng(seed)
    matrix = rng.standard_normal((n, dim)).astype(np.float32)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


def make_record(
    table: Table,
    i: int,
    *,
    owner: str = "owner-1",
    user: str = USER,
    vector: Any = None,
    text: str | None = None,
    created_at: datetime | None = None,
    document_id: str | None = None,
    role: str | None = None,
    model: str = MODEL,
    with_embedding: bool = True,
    id: str | None = None,
) -> Passage | Message:
    """Record number ``i`` of a passage or message table, owned by ``owner``."""
    if vector is None and with_embedding:
        vector = random_unit_vectors(1, seed=zlib.crc32(f"{table.value}/{owner}/{i}".encode()))[0]
    record_id = id or f"{owner}-{table.value}-{i}"
    created = created_at or (BASE_TIME + timedelta(seconds=i))
    body = text if text is not None else f"record {i} of {owner}"
    embedding = None if not with_embedding else vector
    if table is Table.RECALL:
        return Message(
            id=record_id,
            role=role or ("user" if i % 2 == 0 else "assistant"),
            text=body,
            user_id=user,
            agent_id=owner,
            name=None if i % 3 else "someone",
            tool_calls=[{"id": f"call-{i}", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
            if i % 5 == 0
            else [],
            tool_call_id=f"call-{i}" if i % 7 == 0 else None,
            embedding=embedding,
            embedding_model=model if embedding is not None else None,
            metadata={"i": i, "tags": ["a", "b"], "nested": {"x": 1.5}},
            created_at=created,
        )
    owner_kw = {"agent_id": owner} if table is Table.ARCHIVAL else {"source": owner}
    return Passage(
        id=record_id,
        text=body,
        user_id=user,
        document_id=document_id if document_id is not None else f"doc-{i % 3}",
        embedding=embedding,
        embedding_model=model if embedding is not None else None,
        metadata={"i": i, "file": f"file-{i}.txt", "nested": {"page": i % 4}},
        created_at=created,
        **owner_kw,
    )


def notes_of_agents(table: Table, agents: int, per_agent: int) -> list[Any]:
    """``per_agent`` records of ``table`` for each of the owners ``agent-0``, ``agent-1``...: texts
    ``note I of agent-A``, a minute apart from :data:`BASE_TIME` (many owners, for scope tests)."""
    return [
        make_record(table, i, owner=f"agent-{a}", text=f"note {i} of agent-{a}", created_at=BASE_TIME + timedelta(minutes=i))
        for a in range(agents)
        for i in range(per_agent)
    ]


def make_agent(i: int, *, user: str = USER, sources: tuple[str, ...] = ()) -> AgentState:
    return AgentState(
        id=f"agent-{i}",
        name=f"Agent {i}",
        user_id=user,
        preset="memgpt_chat",
        persona="sam_pov",
        human="cs_phd",
        core_memory={"persona": f"I am agent {i}.", "human": "A PhD student."},
        llm_config={"model": "gpt-4", "context_window": 8192},
        embedding_config={"model": MODEL, "dim": DIM},
        attached_sources=sources,
        message_ids=(f"m-{i}-1", f"m-{i}-2"),
        metadata={"i": i},
        created_at=BASE_TIME + timedelta(minutes=i),
        updated_at=BASE_TIME + timedelta(minutes=i, seconds=30),
    )


def make_source(name: str, *, user: str = USER) -> Source:
    return Source(
        name=name,
        user_id=user,
        embedding_model=MODEL,
        embedding_dim=DIM,
        description=f"documents of {name}",
        metadata={"files": 3},
        created_at=BASE_TIME,
    )


def make_profile(kind: str, name: str, *, user: str = USER, text: str | None = None) -> Profile:
    """A persona or human called ``name``."""
    return Profile(
        kind=kind,
        name=name,
        text=text if text is not None else f"The {kind} {name}: likes tea, dislikes rain.",
        user_id=user,
        metadata={"origin": "test"},
        created_at=BASE_TIME,
    )
