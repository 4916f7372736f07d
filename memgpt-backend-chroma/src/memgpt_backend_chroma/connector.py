"""One memgpt table in Chroma, built on Chroma's own primitives.

Two Chroma collections per table (the core's :class:`~memgpt.storage.paired.PairedConnector`):
``memgpt_<table>`` holds records with an embedding (cosine HNSW),
``memgpt_<table>_plain`` those without one (Chroma cannot store a record
without a vector unless it computes one, which would mean downloading a model).
A third, ``memgpt_<table>_exact``, keeps the exact bytes of each embedding
(Chroma hands cosine vectors back up to a float32 ulp off); see
:meth:`ChromaConnector.write_side`. Filters become Chroma ``where`` clauses on metadata,
ids go through ``ids=``, text search is a case-insensitive ``$regex`` on the
document, date search a numeric range on ``created_at``. Chroma cannot sort,
so ordered searches read only the ids and times of the matching records, sort
them, and fetch the requested page; nothing ever reads the whole collection.
"""

from __future__ import annotations

import warnings
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from memgpt.plugin import (
    PairedConnector,
    Row,
    Where,
    approximate_bytes,
    chunked,
    key_user,
    require_free_space,
    retried,
    vector_from_base64,
    vector_to_base64,
    where_terms,
)

if TYPE_CHECKING:
    from memgpt.plugin import EmbeddingSpec, Side, Table
    from memgpt_backend_chroma.store import ChromaStore

PAGE = 1_000
"""Whole records read per request when paging through them (scans)."""
KEY_PAGE = 50_000
"""Ids (with their metadata, for ordering) read per request when counting or ordering matches. Chroma pages by
offset, so each page re-reads what came before: few large pages beat many small ones (measured 3x on counts)."""
_FULL = ["documents", "metadatas"]
EXACT_VECTOR = "memgpt_vector"
"""Metadata key holding an embedding as exact little-endian float32 bytes (base64): in the ``_exact``
collection, and in the records of the vector collection written before memgpt 0.7."""
EXACT_CRC = "memgpt_vector_crc"
"""Metadata key of a vector record: the CRC-32 of its :data:`EXACT_VECTOR` text, which names the one
copy in the ``_exact`` collection that belongs to this version of the record."""
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
    ids = where.get("id")
    parts = where_terms(where.without("id"), lambda f, v: {f: {"$eq": v}}, lambda f, vs: {f: {"$in": list(vs)}})
    parts.extend(extra)
    clause = None if not parts else parts[0] if len(parts) == 1 else {"$and": parts}
    return (None if ids is None else sorted(ids)), clause


def engine_scope(where: Where) -> tuple[Where, frozenset[str] | None]:
    """The part of ``where`` Chroma is asked to evaluate, and the users checked on the keys read instead.

    Chroma evaluates each term of an ``$and`` over the whole collection, and
    the user's term matches every row of a one-user store: on 20,000 messages,
    a date range took 33 ms with it and 24 ms without, a text search 19.7 ms
    and 8.5 ms. A row's key starts with its user (``<user>/<id>``), so when the
    scope also names another field (an agent), the user's term is left out
    and each key read is checked instead. A top-k search checks its hits and
    asks again with the user's term when one is another user's
    (:meth:`ChromaConnector.search_vectors`).
    """
    users = where.get("user_id")
    rest = where.without("user_id")
    if users is None or not any(name != "id" for name, _ in rest.constraints):
        return where, None
    return rest, users


def _in_scope(key: str, users: frozenset[str] | None) -> bool:
    return users is None or key_user(key) in users


def exact_crc(text: str) -> int:
    """The CRC-32 of an :data:`EXACT_VECTOR` text, as kept in :data:`EXACT_CRC`."""
    return zlib.crc32(text.encode("ascii"))


T = TypeVar("T")
_TRANSIENT = ("error finding id", "error executing plan")
"""What a Chroma server answers when a query meets records another process is writing: a read retried gets past it."""


def _transient(message: str) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in _TRANSIENT)


class ChromaConnector(PairedConnector):
    store: ChromaStore

    def __init__(self, store: ChromaStore, table: Table, shelf: str = "") -> None:
        super().__init__(store, table, shelf)
        self.collections: dict[Side, Any] = {}
        with self.errors():
            self._open()
        self.upgrade_keys()

    def _open(self) -> None:
        client = self.store.client
        vectors = self.collections[self.vectors] = client.get_or_create_collection(
            self.name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}},
        )
        with warnings.catch_warnings():  # reading the configuration of a collection without embedding function warns
            warnings.simplefilter("ignore", DeprecationWarning)
            hnsw = (vectors.configuration or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or 0) < EF_SEARCH:  # made by an earlier release: search is mutable
            vectors.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        self.collections[self.plain] = client.get_or_create_collection(self.plain_name, embedding_function=None)
        self.exact = client.get_or_create_collection(self.exact_name, embedding_function=None)

    @property
    def exact_name(self) -> str:
        """The collection keeping the exact bytes of the vector collection's embeddings."""
        return f"{self.name}_exact"

    def reading(self, read: Callable[[], T]) -> T:
        """``read()``, again when a Chroma server's query missed an id another process was writing."""
        return retried(lambda: super(ChromaConnector, self).reading(read), _transient)

    # -- the two collections (both made when the connector opens) -------------------------------
    def side_exists(self, side: Side) -> bool:
        return True

    def create_plain(self) -> None:
        pass

    def side_metadata(self, side: Side) -> dict[str, Any]:
        return self.store.client.get_collection(side.name).metadata or {}  # as stored now, whoever wrote it

    def update_side_metadata(self, side: Side, values: Any) -> None:
        collection = self.store.client.get_collection(side.name)
        collection.modify(metadata={**(collection.metadata or {}), **values})

    # -- rows ---------------------------------------------------------------------------
    def _metadata(self, row: Row, exact: str | None) -> dict[str, Any]:
        """A record's metadata for an upsert, which Chroma merges into what the record held: a field now
        empty is written as ``None``, which removes it (and so removes a copy of the vector kept by 0.6)."""
        metadata: dict[str, Any] = dict(row.fields)
        metadata["created_at"] = row.created_at
        metadata["payload"] = row.payload
        if exact is not None:
            metadata[EXACT_VECTOR] = None
            metadata[EXACT_CRC] = exact_crc(exact)
        return metadata

    def _exact_vectors(self, result: dict[str, Any]) -> dict[str, np.ndarray]:
        """The exact embeddings of the vector records in ``result`` (a ``get`` or one query's page), by id.

        Each comes from the ``_exact`` collection when the copy there has the
        record's :data:`EXACT_CRC`, or from the record itself when 0.6 wrote it
        there. A record whose copy is missing or another version's (a write
        cut short between the two collections) gets Chroma's own vector,
        within a float32 ulp of what was written.
        """
        found: dict[str, np.ndarray] = {}
        wanted: dict[str, Any] = {}
        for id_, metadata in zip(result["ids"], result["metadatas"], strict=True):
            metadata = metadata or {}
            if EXACT_VECTOR in metadata:
                found[id_] = vector_from_base64(metadata[EXACT_VECTOR])
            else:
                wanted[id_] = metadata.get(EXACT_CRC)
        for chunk in chunked(list(wanted), max(1, self.store.max_batch)):
            kept = self.exact.get(ids=list(chunk), include=["metadatas"])
            for id_, metadata in zip(kept["ids"], kept["metadatas"], strict=True):
                text = (metadata or {}).get(EXACT_VECTOR)
                if isinstance(text, str) and exact_crc(text) == wanted[id_]:
                    found[id_] = vector_from_base64(text)
        missing = [id_ for id_ in wanted if id_ not in found]
        if missing:
            engine = self.collections[self.vectors].get(ids=missing, include=["embeddings"])
            for id_, vector in zip(engine["ids"], engine["embeddings"], strict=True):
                found[id_] = np.asarray(vector, dtype=np.float32)
        return found

    def _rows(self, result: dict[str, Any], side: Side) -> list[Row]:
        vectors = self._exact_vectors(result) if side.vectors else {}
        rows = []
        for i, id_ in enumerate(result["ids"]):
            metadata = result["metadatas"][i] or {}
            vector = vectors.get(id_)
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

    # -- embedding spec (in the vector collection's metadata) -------------------------------
    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Chroma has no compare-and-set on metadata: write if absent, then read back what stuck."""
        stored = self.get_embedding_spec()
        if stored is not None:
            return stored
        with self.errors():
            self.update_side_metadata(self.vectors, self.spec_metadata(spec))
        return self.get_embedding_spec() or spec

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        if self.store.lock is not None:  # a folder (not a server): Chroma was seen to hang on a full disk, so never let it
            require_free_space(Path(self.store.where), 4 * approximate_bytes(rows) + FREE_SPACE_MARGIN, "writing to Chroma")
        super().upsert(rows)

    def write_side(self, side: Side, rows: Sequence[Row]) -> None:
        """Upsert ``rows``; the exact bytes of their embeddings go to the ``_exact`` collection first.

        Kept beside a record, those 2 KB of text per 384-d vector spread
        every record's small metadata over many more pages of Chroma's one
        metadata table, which all filtered reads pay for (measured on 10,000
        passages and 20,000 messages: an agent's count 22 ms against 15, a
        date range 69 ms against 45). Written first, a copy never misses a
        record that names it; the record's :data:`EXACT_CRC` says which
        version is its own (see :meth:`_exact_vectors`).
        """
        for chunk in chunked(rows, max(1, self.store.max_batch)):
            exact: list[str | None] = [None] * len(chunk)
            if side.vectors:
                exact = [vector_to_base64(r.embedding) for r in chunk]
                self.exact.upsert(
                    ids=[r.id for r in chunk],
                    embeddings=np.ones((len(chunk), 1), dtype=np.float32),
                    metadatas=[{EXACT_VECTOR: text} for text in exact],
                )
            self.collections[side].upsert(
                ids=[r.id for r in chunk],
                embeddings=(
                    np.stack([r.embedding for r in chunk]).astype(np.float32)
                    if side.vectors
                    else np.ones((len(chunk), 1), dtype=np.float32)
                ),
                documents=[r.text or "" for r in chunk],
                metadatas=[self._metadata(r, text) for r, text in zip(chunk, exact, strict=True)],
            )

    def _with_copies(self, side: Side) -> list[Any]:
        """The collections a row of ``side`` lives in: the vector one's rows have their exact copy too."""
        return [self.collections[side], self.exact] if side.vectors else [self.collections[side]]

    def remove_ids(self, side: Side, ids: Sequence[str]) -> None:
        for collection in self._with_copies(side):
            if collection.count() > 0:
                for chunk in chunked(ids, self.store.max_batch):
                    collection.delete(ids=list(chunk))

    def delete_side(self, side: Side, where: Where) -> int:
        ids, clause = chroma_filter(where)
        found = [i for page in self._matching_ids(self.collections[side], ids, clause) for i in page["ids"]]
        for collection in self._with_copies(side):
            for chunk in chunked(found, self.store.max_batch):
                collection.delete(ids=list(chunk))
        return len(found)

    def drop_side(self, side: Side) -> None:
        for name in [side.name, self.exact_name] if side.vectors else [side.name]:
            try:
                self.store.client.delete_collection(name)
            except Exception:
                pass

    def drop(self) -> None:
        super().drop()
        with self.errors():
            self._open()

    # -- reads ------------------------------------------------------------------------------
    def read_side(self, side: Side, ids: Sequence[str], where: Where) -> list[Row]:
        """The rows with these ids, read by id alone and narrowed by ``where`` here.

        Chroma evaluates a ``where`` given beside ``ids`` over the whole
        collection before it intersects (measured on 20,000 messages: 93 ms for
        10 ids with the scope's ``where``, 1.2 ms without), so the filter is
        applied to the rows read instead.
        """
        rest = where.without("id")
        rows: list[Row] = []
        for chunk in chunked(ids, self.store.max_batch):
            rows += self._rows(self.collections[side].get(ids=list(chunk), include=_FULL), side)
        return [row for row in rows if rest.matches(row.field_values())]

    def count_side(self, side: Side, where: Where, condition: Any = None) -> int:
        extra, document = condition or ((), None)
        scope, users = engine_scope(where)
        ids, clause = chroma_filter(scope, extra)
        collection = self.collections[side]
        if ids is None and clause is None and document is None:
            return int(collection.count())
        pages = self._matching_ids(collection, ids, clause, document)
        return sum(sum(1 for key in page["ids"] if _in_scope(key, users)) for page in pages)

    def scan_side(self, side: Side, where: Where, batch_size: int) -> Iterator[list[Row]]:
        ids, clause = chroma_filter(where)
        size = max(1, min(batch_size, PAGE))
        collection = self.collections[side]
        offset = 0
        while True:
            page = self.reading(lambda o=offset: collection.get(ids=ids, where=clause, include=_FULL, limit=size, offset=o))
            if page["ids"]:
                yield self._rows(page, side)
            if len(page["ids"]) < size:
                return
            offset += size

    def search_vectors(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """The top ``k`` under ``where``; an agent's search first asks without the user's term (see :func:`engine_scope`).

        When every hit of that wider search is the user's, they are also the
        user's top ``k`` (the user's rows are among those searched), which is
        the rule: agent ids are derived from their user. Only when another
        user's row comes back is the search asked again with the user's term.
        """
        scope, users = engine_scope(where)
        if users is not None:
            hits = self._query(query, k, scope)
            if all(_in_scope(row.id, users) for row, _ in hits):
                return hits
        return self._query(query, k, where)

    def _query(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        ids, clause = chroma_filter(where)
        result = self.collections[self.vectors].query(
            query_embeddings=[query.astype(np.float32)],
            n_results=k,
            ids=ids,
            where=clause,
            include=["documents", "metadatas", "distances"],
        )
        page = {key: value[0] for key, value in result.items() if key in ("ids", "documents", "metadatas", "distances")}
        rows = self._rows(page, self.vectors)
        return [(row, 1.0 - float(distance)) for row, distance in zip(rows, page["distances"], strict=True)]

    # -- ordered searches: the core reads (time, id) of the matches, sorts, fetches one page ---------------
    def keys_of_side(self, side: Side, where: Where, condition: Any) -> Iterable[tuple[int, str]]:
        extra, document = condition
        scope, users = engine_scope(where)
        ids, clause = chroma_filter(scope, extra)
        for page in self._matching_ids(self.collections[side], ids, clause, document, include=["metadatas"]):
            yield from (
                (int(m["created_at"]), i) for i, m in zip(page["ids"], page["metadatas"], strict=True) if _in_scope(i, users)
            )

    def text_condition(self, text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        return [], {"$regex": "(?i)" + regex_literal(text)}

    def date_condition(self, start: int | None, end: int | None) -> tuple[list[dict[str, Any]], None]:
        bounds: list[dict[str, Any]] = []
        if start is not None:
            bounds.append({"created_at": {"$gte": start}})
        if end is not None:
            bounds.append({"created_at": {"$lte": end}})
        return bounds, None
