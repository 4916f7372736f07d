"""One memgpt table in Chroma, built on Chroma's own primitives.

Two Chroma collections per table: ``memgpt_<table>`` holds records with an
embedding (cosine HNSW), ``memgpt_<table>_plain`` those without one (Chroma
cannot store a record without a vector unless it computes one, which would
mean downloading a model). Filters become Chroma ``where`` clauses on metadata,
ids go through ``ids=``, text search is a case-insensitive ``$regex`` on the
document, date search a numeric range on ``created_at``. Chroma cannot sort,
so ordered searches read only the ids and times of the matching records, sort
them, and fetch the requested page; nothing ever reads the whole collection.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from memgpt.files import require_free_space
from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.codec import Row
from memgpt.storage.connector import ALL_CAPABILITIES, Connector
from memgpt.storage.helpers import (
    KEYS_BY_USER,
    KEYS_MARKER,
    approximate_bytes,
    collection_name,
    fetch_page,
    retried,
    split_by_embedding,
    upgrade_collections,
    vector_from_base64,
    vector_to_base64,
)
from memgpt.storage.where import Where
from memgpt_backend_chroma.store import ChromaStore

PAGE = 1_000
"""Whole records read per request when paging through them (scans)."""
KEY_PAGE = 50_000
"""Ids (with their metadata, for ordering) read per request when counting or ordering matches. Chroma pages by
offset, so each page re-reads what came before: few large pages beat many small ones (measured 3x on counts)."""
_FULL = ["documents", "metadatas"]
EXACT_VECTOR = "memgpt_vector"
"""Metadata key holding the record's embedding as exact little-endian float32 bytes (base64)."""
_RUST_REGEX_META = set("\\.+*?()|[]{}^$#&-~")


FREE_SPACE_MARGIN = 8 << 20
"""Bytes a Chroma folder's disk must keep free beyond a write (its log and index files grow as it compacts)."""
EF_SEARCH = 1_000
"""Candidates Chroma's HNSW index examines per query. Chroma's default (100) is no more than the
archival top-k, and misses true neighbours (results then differ from every exact backend, even
after a migration); 1000 keeps recall near 1 at agent-memory sizes for a fraction of a millisecond."""
EF_CONSTRUCTION = 200
"""Candidates examined while building the graph (Chroma's default 100): a better graph, slightly slower inserts."""


def regex_literal(text: str) -> str:
    """``text`` as a literal in Chroma's (Rust) regex syntax."""
    return "".join("\\" + ch if ch in _RUST_REGEX_META else ch for ch in text)


def chroma_filter(where: Where, extra: Sequence[dict[str, Any]] = ()) -> tuple[list[str] | None, dict[str, Any] | None]:
    """(ids, where) for Chroma from a memgpt :class:`Where` (values stay data, never parsed)."""
    ids = None
    parts: list[dict[str, Any]] = []
    for field, values in where.items():
        if field == "id":
            ids = list(values)
        elif len(values) == 1:
            parts.append({field: {"$eq": values[0]}})
        else:
            parts.append({field: {"$in": list(values)}})
    parts.extend(extra)
    clause = None if not parts else parts[0] if len(parts) == 1 else {"$and": parts}
    return ids, clause


T = TypeVar("T")
_TRANSIENT = ("error finding id", "error executing plan")
"""What a Chroma server answers when a query meets records another process is writing: a read retried gets past it."""


def _transient(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _TRANSIENT)


class ChromaConnector(Connector):
    capabilities = ALL_CAPABILITIES
    max_batch_size = 10_000

    def __init__(self, store: ChromaStore, table: Table, shelf: str = "") -> None:
        self.store = store
        self.table = table
        self.name = collection_name(table, shelf)
        with store.errors():
            self._open()

    def _open(self) -> None:
        client = self.store.client
        self.vectors = client.get_or_create_collection(
            self.name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}},
        )
        with warnings.catch_warnings():  # reading the configuration of a collection without embedding function warns
            warnings.simplefilter("ignore", DeprecationWarning)
            hnsw = (self.vectors.configuration or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or 0) < EF_SEARCH:  # made by an earlier release: search is mutable
            self.vectors.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        self.plain = client.get_or_create_collection(f"{self.name}_plain", embedding_function=None)
        upgrade_collections(  # written by memgpt 0.4: re-key every record by user, then mark (in the metadata)
            self,
            self._collections(),
            marked=lambda c: (c.metadata or {}).get(KEYS_MARKER) == KEYS_BY_USER,
            holds_rows=lambda c: c.count() > 0,
            mark=lambda c: c.modify(metadata={**(c.metadata or {}), KEYS_MARKER: KEYS_BY_USER}),
        )

    def _collections(self) -> tuple[Any, Any]:
        return self.vectors, self.plain

    # -- rows ---------------------------------------------------------------------------
    def _metadata(self, row: Row) -> dict[str, Any]:
        metadata: dict[str, Any] = {k: v for k, v in row.fields.items() if v is not None}
        metadata["created_at"] = row.created_at
        metadata["payload"] = row.payload
        if row.embedding is not None:
            # Chroma hands vectors back up to one float32 ulp off; keep the exact bytes for reads.
            metadata[EXACT_VECTOR] = vector_to_base64(row.embedding)
        return metadata

    def _rows(self, result: dict[str, Any], with_vectors: bool) -> list[Row]:
        embeddings = result.get("embeddings")
        rows = []
        for i, id_ in enumerate(result["ids"]):
            metadata = result["metadatas"][i] or {}
            vector = None
            if with_vectors and EXACT_VECTOR in metadata:
                vector = vector_from_base64(metadata[EXACT_VECTOR])
            elif with_vectors and embeddings is not None:
                vector = np.asarray(embeddings[i], dtype=np.float32)
            rows.append(
                Row(
                    id=id_,
                    fields={f: metadata.get(f) for f in self.table.filter_fields},
                    text=result["documents"][i],
                    created_at=int(metadata["created_at"]),
                    embedding=vector,
                    payload=metadata["payload"],
                )
            )
        return rows

    def _matching_ids(
        self,
        collection: Any,
        ids: list[str] | None,
        clause: dict[str, Any] | None,
        document: dict[str, Any] | None = None,
        include: list[str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Pages of ``get`` results for a filter (ids-only unless ``include`` says more)."""
        offset = 0
        while True:
            page = collection.get(
                ids=ids, where=clause, where_document=document, include=include or [], limit=KEY_PAGE, offset=offset
            )
            if page["ids"]:
                yield page
            if len(page["ids"]) < KEY_PAGE:
                return
            offset += KEY_PAGE

    # -- embedding spec -----------------------------------------------------------------
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        with self.store.errors():
            metadata = self.store.client.get_collection(self.name).metadata or {}
        if "memgpt_model" not in metadata:
            return None
        return EmbeddingSpec(str(metadata["memgpt_model"]), int(metadata["memgpt_dim"]))

    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Chroma has no compare-and-set on metadata: write if absent, then read back what stuck."""
        stored = self.get_embedding_spec()
        if stored is not None:
            return stored
        with self.store.errors():
            collection = self.store.client.get_collection(self.name)
            collection.modify(metadata={**(collection.metadata or {}), "memgpt_model": spec.model, "memgpt_dim": spec.dim})
        return self.get_embedding_spec() or spec

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        size = max(1, self.store.max_batch)
        with_vectors, without = split_by_embedding(rows)
        if self.store.lock is not None:  # a folder (not a server): Chroma was seen to hang on a full disk, so never let it
            require_free_space(Path(self.store.where), 4 * approximate_bytes(rows) + FREE_SPACE_MARGIN, "writing to Chroma")
        with self.store.errors():
            for start in range(0, len(with_vectors), size):
                chunk = with_vectors[start : start + size]
                self.vectors.upsert(
                    ids=[r.id for r in chunk],
                    embeddings=np.stack([r.embedding for r in chunk]).astype(np.float32),
                    documents=[r.text or "" for r in chunk],
                    metadatas=[self._metadata(r) for r in chunk],
                )
            for start in range(0, len(without), size):
                chunk = without[start : start + size]
                self.plain.upsert(
                    ids=[r.id for r in chunk],
                    embeddings=np.ones((len(chunk), 1), dtype=np.float32),
                    documents=[r.text or "" for r in chunk],
                    metadatas=[self._metadata(r) for r in chunk],
                )
            # A record that gained or lost its embedding moves between the two collections.
            for moved, other in ((with_vectors, self.plain), (without, self.vectors)):
                if moved and other.count() > 0:
                    for start in range(0, len(moved), size):
                        other.delete(ids=[r.id for r in moved[start : start + size]])

    def delete(self, where: Where) -> int:
        ids, clause = chroma_filter(where)
        deleted = 0
        with self.store.errors():
            for collection in self._collections():
                found = [i for page in self._matching_ids(collection, ids, clause) for i in page["ids"]]
                for start in range(0, len(found), self.store.max_batch):
                    collection.delete(ids=found[start : start + self.store.max_batch])
                deleted += len(found)
        return deleted

    def drop(self) -> None:
        with self.store.errors():
            for name in (self.name, f"{self.name}_plain"):
                try:
                    self.store.client.delete_collection(name)
                except Exception:
                    pass
            self._open()

    # -- reads ------------------------------------------------------------------------------
    def _reading(self, read: Callable[[], T]) -> T:
        """``read()``, again when a Chroma server's query missed an id another process was writing."""

        def attempt() -> T:
            with self.store.errors():
                return read()

        return retried(attempt, _transient)

    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        wanted, clause = chroma_filter(where)

        def read() -> list[Row]:
            rows: list[Row] = []
            for collection, with_vectors in ((self.vectors, True), (self.plain, False)):
                for start in range(0, len(wanted or []), self.store.max_batch):
                    chunk = (wanted or [])[start : start + self.store.max_batch]
                    rows += self._rows(collection.get(ids=chunk, where=clause, include=_FULL), with_vectors)
            return rows

        return self._reading(read)

    def count(self, where: Where) -> int:
        ids, clause = chroma_filter(where)

        def read() -> int:
            if ids is None and clause is None:
                return int(self.vectors.count()) + int(self.plain.count())
            return sum(len(page["ids"]) for c in self._collections() for page in self._matching_ids(c, ids, clause))

        return self._reading(read)

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        ids, clause = chroma_filter(where)
        size = max(1, min(batch_size, PAGE))
        for collection, with_vectors in ((self.vectors, True), (self.plain, False)):
            offset = 0
            while True:
                page = self._reading(
                    lambda c=collection, o=offset: c.get(ids=ids, where=clause, include=_FULL, limit=size, offset=o)
                )
                if page["ids"]:
                    yield self._rows(page, with_vectors)
                if len(page["ids"]) < size:
                    break
                offset += size

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        ids, clause = chroma_filter(where)
        result = self._reading(
            lambda: self.vectors.query(
                query_embeddings=[query.astype(np.float32)],
                n_results=k,
                ids=ids,
                where=clause,
                include=["documents", "metadatas", "distances"],
            )
        )
        page = {
            key: (value[0] if value is not None else None)
            for key, value in result.items()
            if key in ("ids", "documents", "metadatas", "embeddings", "distances")
        }
        rows = self._rows(page, with_vectors=True)
        return [(row, 1.0 - float(distance)) for row, distance in zip(rows, page["distances"], strict=True)]

    # -- ordered searches: read (time, id) of the matches, sort, fetch one page -------------------
    def _ordered(
        self, where: Where, extra: Sequence[dict[str, Any]], document: dict[str, Any] | None, limit: int, offset: int
    ) -> list[Row]:
        ids, clause = chroma_filter(where, extra)
        sides = ((self.vectors, True), (self.plain, False))
        origin: dict[str, int] = {}  # id -> the collection it matched in: the page is read from there only

        def keys() -> Iterator[tuple[int, str, None]]:
            for side, (collection, _) in enumerate(sides):
                for page in self._matching_ids(collection, ids, clause, document, include=["metadatas"]):
                    for i, m in zip(page["ids"], page["metadatas"], strict=True):
                        origin[i] = side
                        yield int(m["created_at"]), i, None

        def fetch(wanted: list[str]) -> list[Row]:
            rows: list[Row] = []
            for side, (collection, with_vectors) in enumerate(sides):
                mine = [i for i in wanted if origin[i] == side]
                for start in range(0, len(mine), self.store.max_batch):
                    chunk = mine[start : start + self.store.max_batch]
                    rows += self._rows(collection.get(ids=chunk, include=_FULL), with_vectors)
            return rows

        return self._reading(lambda: fetch_page(keys(), offset, limit, fetch))

    def _count(self, where: Where, extra: Sequence[dict[str, Any]], document: dict[str, Any] | None) -> int:
        ids, clause = chroma_filter(where, extra)
        return self._reading(
            lambda: sum(len(page["ids"]) for c in self._collections() for page in self._matching_ids(c, ids, clause, document))
        )

    @staticmethod
    def _text(text: str) -> dict[str, Any]:
        return {"$regex": "(?i)" + regex_literal(text)}

    @staticmethod
    def _dates(start: int | None, end: int | None) -> list[dict[str, Any]]:
        bounds: list[dict[str, Any]] = []
        if start is not None:
            bounds.append({"created_at": {"$gte": start}})
        if end is not None:
            bounds.append({"created_at": {"$lte": end}})
        return bounds

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, (), self._text(text), limit, offset)

    def text_count(self, text: str, where: Where) -> int:
        return self._count(where, (), self._text(text))

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, self._dates(start, end), None, limit, offset)

    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        return self._count(where, self._dates(start, end), None)
