"""An agent's archival and recall memory: the functions a MemGPT agent calls.

:class:`AgentMemory` offers them twice: as structured calls returning records
(for programs and the CLI), and as the four functions MemGPT agents call, with
the original semantics — pages of 5 numbered from 0, a ``Showing N of TOTAL
results (page P/LAST):`` header followed by a JSON list, ``No results
found.`` when empty, archival search paging through the best 100 matches,
conversation search case-insensitive and skipping system and tool messages,
date search over whole ``YYYY-MM-DD`` days. One difference from the original's
database-backed recall memory, which reported the page size as the total: here
TOTAL is the number of matches, as its in-memory version reported it.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime, time, timezone
from typing import Any

from memgpt.catalog import Catalog, Collections, embedding_of_agent, embedding_of_source, open_embedder_of, spec_of
from memgpt.deprecation import warn_renamed
from memgpt.embeddings.batching import embed_texts
from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.errors import MemGPTError, StorageError
from memgpt.kinds import Table
from memgpt.records import AgentState, Message, Passage, Source, utcnow
from memgpt.sources.chunking import chunk_text
from memgpt.storage.collection import Hit, best_first
from memgpt.storage.where import Where

PAGE_SIZE = 5
"""Results per page of the memory functions (the original's RETRIEVAL_QUERY_DEFAULT_PAGE_SIZE)."""
ARCHIVAL_TOP_K = 100
"""Archival search pages through this many best matches (the original's top_k)."""
SEARCHED_ROLES = ("user", "assistant")
"""Conversation search skips system and tool messages, as the original did."""


class InvalidArgument(MemGPTError, ValueError):
    """A memory function got an argument it cannot use (raised as ValueError, as the original did)."""


def _page_number(page: Any) -> int:
    if page is None or (isinstance(page, str) and page.strip().lower() == "none"):
        return 0
    try:
        number = int(page)
    except (TypeError, ValueError):
        raise InvalidArgument("'page' argument must be an integer") from None
    if number < 0:
        raise InvalidArgument("'page' argument must not be negative")
    return number


def _day(value: str, end: bool) -> datetime:
    try:
        day = datetime.strptime(str(value).strip(), "%Y-%m-%d").date()
    except ValueError:
        raise InvalidArgument("Invalid date format. Expected format: YYYY-MM-DD") from None
    return datetime.combine(day, time.max if end else time.min, tzinfo=timezone.utc)


def timestamp(value: datetime) -> str:
    """The timestamp format MemGPT shows the model, e.g. ``2024-01-01 12:00:00 PM UTC+0000``."""
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %I:%M:%S %p %Z%z")


def _results(items: list[str], total: int, page: int) -> str:
    if not items:
        return "No results found."
    last_page = math.ceil(total / PAGE_SIZE) - 1
    return f"Showing {len(items)} of {total} results (page {page}/{last_page}): {json.dumps(items, ensure_ascii=False)}"


class AgentMemory:
    """The archival and recall memory of one agent, on the configured backends."""

    def __init__(self, collections: Collections, agent: AgentState, embedder: Embedder | None = None) -> None:
        self.collections = collections
        self.agent = agent
        self._embedder = embedder
        self._cache: dict[str, list[Hit]] = {}
        self._catalog = Catalog(collections, agent.user_id)
        self.archival = self._catalog.archival_of(agent)  # claimed for the agent's model at its first write
        self.recall = collections.collection(Table.RECALL, Where.of(user_id=agent.user_id, agent_id=agent.id))

    @classmethod
    def of(cls, catalog: Catalog, agent_name: str) -> AgentMemory:
        """Deprecated: ``AgentMemory(catalog.collections, catalog.get_agent(name))``; goes away in memgpt 0.7."""
        warn_renamed("AgentMemory.of()", "AgentMemory(catalog.collections, catalog.get_agent(name))")
        return cls(catalog.collections, catalog.get_agent(agent_name))

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = open_embedder_of(
                f"agent {self.agent.name!r}", embedding_of_agent(self.agent), "agent", self.agent.name
            )
        return self._embedder

    def _embed(self, texts: list[str]) -> Any:
        return embed_texts(self.embedder, texts)

    # -- archival memory ----------------------------------------------------------------
    def insert_archival(self, content: str, metadata: dict[str, Any] | None = None) -> list[Passage]:
        """Chunk ``content`` like loaded documents, embed it and store it in archival memory."""
        if not isinstance(content, str) or not content.strip():
            raise InvalidArgument("archival memory content must be a non-empty string")
        config = embedding_of_agent(self.agent)
        texts = [chunk.text for chunk in chunk_text(content, config.chunk_size)] or [content]
        vectors = self._embed(texts)
        now = utcnow()
        passages = [
            Passage(
                id=str(uuid.uuid4()),
                text=text,
                user_id=self.agent.user_id,
                agent_id=self.agent.id,
                embedding=vector,
                embedding_model=self.embedder.model,
                metadata=dict(metadata or {}),
                created_at=now,
            )
            for text, vector in zip(texts, vectors, strict=True)
        ]
        self.archival = self._catalog.archival_of(self.agent, claim=True)
        try:
            self.archival.insert(passages)
        except StorageError:
            # Engines that commit record by record (Qdrant's local mode) may have kept part of the batch; these ids
            # are new, so taking them out again makes the failed insert all or nothing, and a retry no duplicate.
            try:
                self.archival.delete([p.id for p in passages])
            except MemGPTError:
                pass  # the engine still cannot write (a full disk): nothing more to do here
            raise
        finally:
            self._cache.clear()
        return passages

    def _search_sources(self, query: str, own_vector: Any) -> list[Hit]:
        """Hits in the attached sources, each searched with the query embedded by that source's own model."""
        by_model: dict[EmbeddingConfig, list[Source]] = {}
        for name in self.agent.attached_sources:
            source = self._catalog.find_source(name)
            if source is not None:
                by_model.setdefault(embedding_of_source(source), []).append(source)
        own = embedding_of_agent(self.agent)
        hits: list[Hit] = []
        for config, sources in by_model.items():
            if (config.provider, config.model, config.dim) == (own.provider, own.model, own.dim):
                vector, model = own_vector, self.embedder.model
            else:
                names = ", ".join(repr(s.name) for s in sources)
                embedder = open_embedder_of(f"data source {names}", config, "source", sources[0].name)
                vector, model = embed_texts(embedder, [query])[0], embedder.model
            scope = Where.of(user_id=self.agent.user_id, source=[s.name for s in sources])
            collection = self.collections.collection(Table.SOURCE_PASSAGES, scope, spec_of(config))
            hits += collection.search(vector, k=ARCHIVAL_TOP_K, model=model)
        return hits

    def search_archival(self, query: str, count: int = PAGE_SIZE, start: int = 0) -> tuple[list[Hit], int]:
        """Hits ``start`` to ``start + count`` of the best matches in the agent's archival memory and attached sources.

        Returns the page and how many matches there are in all (at most :data:`ARCHIVAL_TOP_K`).
        A first page (``start == 0``) always searches anew, so it sees every
        memory written before it, by this process or another; later pages of
        the same query page through that search's results, as MemGPT did.
        """
        if not isinstance(query, str) or not query.strip():
            raise InvalidArgument("archival search needs a non-empty query")
        hits = None if start == 0 else self._cache.get(query)
        if hits is None:
            vector = self._embed([query])[0]
            hits = self.archival.search(vector, k=ARCHIVAL_TOP_K, model=self.embedder.model)
            if self.agent.attached_sources:
                hits += self._search_sources(query, vector)
            hits = sorted(hits, key=best_first)[:ARCHIVAL_TOP_K]
            self._cache[query] = hits
        return hits[start : start + count], len(hits)

    def list_archival(self, limit: int | None = None) -> list[Passage]:
        """The agent's own archival passages, newest first."""
        passages = sorted(self.archival.iterate(), key=lambda p: (p.created_at, p.id), reverse=True)
        return passages if limit is None else passages[:limit]

    # -- recall memory -------------------------------------------------------------------
    def append_message(
        self,
        role: str,
        text: str,
        *,
        name: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        tool_call_id: str | None = None,
        created_at: datetime | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> Message:
        """Append one message to the conversation (recall memory)."""
        message = Message(
            id=str(uuid.uuid4()),
            role=role,
            text=text,
            user_id=self.agent.user_id,
            agent_id=self.agent.id,
            name=name,
            tool_calls=tool_calls or [],
            tool_call_id=tool_call_id,
            metadata=dict(metadata or {}),
            created_at=created_at or utcnow(),
        )
        self.recall.insert([message])
        return message

    def append_messages(self, messages: list[Message]) -> int:
        """Append messages built by the caller (they must belong to this agent)."""
        return self.recall.insert(messages)

    def search_messages(self, query: str, count: int = PAGE_SIZE, start: int = 0) -> tuple[list[Message], int]:
        """User and assistant messages containing ``query`` (ignoring case), oldest first, and their total."""
        if not isinstance(query, str) or not query:
            raise InvalidArgument("conversation search needs a non-empty query")
        roles = Where.of(role=SEARCHED_ROLES)
        return self.recall.text_search(query, roles, limit=count, offset=start), self.recall.text_count(query, roles)

    def search_messages_by_date(
        self, start_date: str, end_date: str, count: int = PAGE_SIZE, start: int = 0
    ) -> tuple[list[Message], int]:
        """User and assistant messages from ``start_date`` to ``end_date`` (``YYYY-MM-DD``, whole days), and their total."""
        begin, end = _day(start_date, end=False), _day(end_date, end=True)
        roles = Where.of(role=SEARCHED_ROLES)
        return self.recall.date_search(begin, end, roles, limit=count, offset=start), self.recall.date_count(begin, end, roles)

    def list_messages(self, limit: int | None = None) -> list[Message]:
        """The conversation, oldest first (the last ``limit`` messages when given)."""
        total = self.recall.date_count()
        offset = 0 if limit is None else max(0, total - limit)
        return self.recall.date_search(limit=total or 1, offset=offset) if total else []

    # -- the functions MemGPT agents call --------------------------------------------------
    def archival_memory_insert(self, content: str) -> None:
        """Add to archival memory. Phrase the content so that it can be easily queried later."""
        self.insert_archival(content)
        return None

    def archival_memory_search(self, query: str, page: int | None = 0) -> str:
        """Search archival memory using semantic (embedding-based) search."""
        number = _page_number(page)
        hits, total = self.search_archival(query, PAGE_SIZE, number * PAGE_SIZE)
        items = [f"timestamp: {timestamp(h.record.created_at)}, memory: {h.record.text}" for h in hits]
        return _results(items, total, number)

    def conversation_search(self, query: str, page: int | None = 0) -> str:
        """Search prior conversation history using case-insensitive string matching."""
        number = _page_number(page)
        messages, total = self.search_messages(query, PAGE_SIZE, number * PAGE_SIZE)
        items = [f"timestamp: {timestamp(m.created_at)}, {m.role} - {m.text}" for m in messages]
        return _results(items, total, number)

    def conversation_search_date(self, start_date: str, end_date: str, page: int | None = 0) -> str:
        """Search prior conversation history using a date range (``YYYY-MM-DD``)."""
        number = _page_number(page)
        messages, total = self.search_messages_by_date(start_date, end_date, PAGE_SIZE, number * PAGE_SIZE)
        items = [f"timestamp: {timestamp(m.created_at)}, {m.role} - {m.text}" for m in messages]
        return _results(items, total, number)
