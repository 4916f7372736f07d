"""What is measured: a storage backend through memgpt, or an engine's client used directly.

Every subject does the same operations on the same :class:`~data.Workload`:
insert pre-embedded passages and messages, a scoped top-k vector search,
recall-memory text and date search, a scoped count, and (for cold open) a
Python snippet that a new process runs to open the store and search once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from data import MODEL, NEEDLE, USER, Workload


class Subject(ABC):
    """One thing to measure. ``label`` names it in the tables."""

    label: str
    engine: str
    """The backend name the subject belongs to (its row in the tables)."""
    search_only: bool = False
    """Inserts its passages (in a layout of its own) but is timed on vector search alone: the engine's
    "best use" for one agent's search, beside memgpt's and the same-query client's (no messages, no
    text, date or count, no cold open)."""
    how: str = ""
    """What the subject does differently, in one line (printed under the tables)."""

    def prepare(self, workload: Workload) -> None:
        """Build whatever input objects the subject's writes take (not timed)."""

    @abstractmethod
    def insert_passages(self, workload: Workload, start: int, stop: int) -> None: ...

    @abstractmethod
    def insert_messages(self, workload: Workload, start: int, stop: int) -> None: ...

    @abstractmethod
    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]: ...

    @abstractmethod
    def text_search(self, agent: str, needle: str, limit: int) -> list[str]: ...

    @abstractmethod
    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]: ...

    @abstractmethod
    def count(self, agent: str) -> int: ...

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str | None:
        """Python source a new process runs to open the store and print the ids of one search (None: not measured)."""
        return None

    def close(self) -> None:
        """Release the store (files closed, connections returned)."""


class MemgptSubject(Subject):
    """A backend through memgpt's public storage API (``memgpt.storage``), as the memory API uses it."""

    def __init__(self, backend: str, uri: str, env: dict[str, str] | None = None) -> None:
        from memgpt.plugins import get_backend

        self.engine = backend
        self.label = f"{backend} via memgpt"
        self.backend = get_backend(backend)
        self.uri = uri
        self.env = env or {}
        self.settings = self.backend.settings_from_uri(uri)
        self.store = self.backend.open(dict(self.settings))
        self._passages: list[Any] = []
        self._messages: list[Any] = []
        self._collections: dict[tuple[Any, str | None], Any] = {}

    def _collection(self, table: Any, agent: str | None = None) -> Any:
        """The (cached) collection of ``table`` scoped to ``agent``, as an agent's memory keeps them."""
        from memgpt.storage.configured import open_collection
        from memgpt.storage.where import Where

        key = (table, agent)
        if key not in self._collections:
            scope = Where.of(user_id=USER, agent_id=agent)  # agent None: the user's every agent
            self._collections[key] = open_collection(self.backend, self.store, table, scope)
        return self._collections[key]

    def prepare(self, workload: Workload) -> None:
        from data import BASE_TIME

        from memgpt.records import Message, Passage

        self._passages = [
            Passage(
                id=workload.passage_ids[i],
                text=workload.passage_text(i),
                user_id=USER,
                agent_id=workload.agent_of(i),
                embedding=workload.vectors[i],
                embedding_model=MODEL,
                created_at=BASE_TIME,
            )
            for i in range(workload.size)
        ]
        self._messages = []
        for i in range(workload.messages):
            mid, agent, text, when = workload.message(i)
            self._messages.append(
                Message(id=mid, role="user" if i % 2 else "assistant", text=text, user_id=USER, agent_id=agent, created_at=when)
            )

    def insert_passages(self, workload: Workload, start: int, stop: int) -> None:
        from memgpt.kinds import Table

        self._collection(Table.ARCHIVAL).insert(self._passages[start:stop])

    def insert_messages(self, workload: Workload, start: int, stop: int) -> None:
        from memgpt.kinds import Table

        self._collection(Table.RECALL).insert(self._messages[start:stop])

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        from memgpt.kinds import Table

        return [h.record.id for h in self._collection(Table.ARCHIVAL, agent).search(query, k=k)]

    def text_search(self, agent: str, needle: str, limit: int) -> list[str]:
        from memgpt.kinds import Table

        return [m.id for m in self._collection(Table.RECALL, agent).text_search(needle, limit=limit)]

    def date_search(self, agent: str, start: datetime, end: datetime, limit: int) -> list[str]:
        from memgpt.kinds import Table

        return [m.id for m in self._collection(Table.RECALL, agent).date_search(start, end, limit=limit)]

    def count(self, agent: str) -> int:
        from memgpt.kinds import Table

        return self._collection(Table.ARCHIVAL, agent).count()

    def cold_open_code(self, agent: str, query: list[float], k: int) -> str:
        return (
            "from memgpt.kinds import Table\n"
            "from memgpt.plugins import get_backend\n"
            "from memgpt.storage.configured import open_collection\n"
            "from memgpt.storage.where import Where\n"
            f"backend = get_backend({self.engine!r})\n"
            f"store = backend.open(backend.settings_from_uri({self.uri!r}))\n"
            f"hits = open_collection(backend, store, Table.ARCHIVAL, Where.of(agent_id={agent!r})).search({query!r}, k={k})\n"
            "print(' '.join(h.record.id for h in hits))\n"
        )

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


def empty_folder(path: Path) -> str:
    """A fresh folder for an embedded engine; returns it as a string."""
    import shutil

    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


__all__ = ["NEEDLE", "MemgptSubject", "Subject", "empty_folder"]
