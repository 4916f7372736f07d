"""One memgpt table in Chroma, built on Chroma's own primitives.

Two Chroma collections per table (the core's :class:`~memgpt.storage.paired.PairedConnector`):
``memgpt_<table>`` holds records with an embedding (an HNSW index ranking by
cosine: unit vectors in the inner-product space, each record's exact vector
rebuilt from its unit vector, norm and patch; see :mod:`memgpt_backend_chroma.unit_form`),
``memgpt_<table>_plain`` those without one (Chroma cannot store a record
without a vector unless it computes one, which would mean downloading a model). Filters become Chroma ``where`` clauses on metadata,
ids go through ``ids=``, text search is a case-insensitive ``$regex`` on the
document, date search a numeric range on ``created_at``. Chroma cannot sort,
so ordered searches read only the ids and times of the matching records, sort
them, and fetch the requested page; nothing ever reads the whole collection.
Chroma evaluates each term of an ``$and`` over the whole collection, so reads
that return keys leave the user's term out when the scope names an agent and
check each key's user instead (:func:`~memgpt.storage.helpers.scope_without_user`:
on 20,000 messages a date range took 33 ms with the term and 24 ms without, a
text search 19.7 ms and 8.5 ms).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from memgpt.plugin import (
    PairedConnector,
    Row,
    StorageError,
    Where,
    approximate_bytes,
    chunked,
    key_in_users,
    require_free_space,
    retried,
    scope_without_user,
    vector_from_base64,
    vector_matrix,
    vector_to_base64,
    where_terms,
)
from memgpt_backend_chroma.unit_form import from_unit_form, unit_forms

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
"""Metadata key holding a record's whole embedding as exact little-endian float32 bytes (base64): in
collections made by memgpt 0.6 (``cosine`` space), and for a vector the unit form cannot express."""
EXACT_NORM = "memgpt_norm"
"""Metadata key holding the norm of a record's embedding (see :mod:`memgpt_backend_chroma.unit_form`)."""
EXACT_PATCH = "memgpt_patch"
"""Metadata key holding the patch of a record's embedding (an empty string: the unit vector times the norm is exact)."""
ABSENT = False
"""The metadata value written for "no value". Chroma merges an upsert into the record it replaces, so every
key is always written; ``None`` would remove the key, but costs Chroma a delete per key and record (0.17 ms
a record for two keys, a sixth of a 384-d insert). No filter value (always a string) equals it."""
SPACE = "ip"
"""The space of vector collections memgpt makes: inner product, on unit vectors it normalizes itself."""
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


def _value(stored: Any) -> str | None:
    """A field's value as read back: a string, or ``None`` for :data:`ABSENT` (or a key 0.6 left out)."""
    return stored if isinstance(stored, str) else None


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
            configuration={"hnsw": {"space": SPACE, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}},
        )
        with warnings.catch_warnings():  # reading the configuration of a collection without embedding function warns
            warnings.simplefilter("ignore", DeprecationWarning)
            hnsw = (vectors.configuration or {}).get("hnsw") or {}
        if int(hnsw.get("ef_search") or 0) < EF_SEARCH:  # made by an earlier release: search is mutable
            vectors.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        self.unit_vectors = hnsw.get("space") == SPACE
        """Whether the vector collection holds unit vectors (made by 0.7 on); 0.6 made it ``cosine``, with whole copies."""
        self.collections[self.plain] = client.get_or_create_collection(self.plain_name, embedding_function=None)

    def _col(self, side: Side) -> Any:
        """The Chroma collection of ``side``, both made again when first used after a :meth:`drop`."""
        if not self.collections:
            with self.errors():
                self._open()
        return self.collections[side]

    def reading(self, read: Callable[[], T]) -> T:
        """``read()``, again when a Chroma server's query missed an id another process was writing."""
        return retried(lambda: super(ChromaConnector, self).reading(read), _transient)

    # -- the two collections (both made when the connector opens, and at first use after a drop) -----
    def side_exists(self, side: Side) -> bool:
        return True

    def create_plain(self) -> None:
        pass

    def side_metadata(self, side: Side) -> dict[str, Any]:
        self._col(side)
        return self.store.client.get_collection(side.name).metadata or {}  # as stored now, whoever wrote it

    def update_side_metadata(self, side: Side, values: Any) -> None:
        self._col(side)
        collection = self.store.client.get_collection(side.name)
        collection.modify(metadata={**(collection.metadata or {}), **values})

    # -- rows ---------------------------------------------------------------------------
    def _metadata(self, row: Row, form: tuple[float, str] | None) -> dict[str, Any]:
        """A record's metadata for an upsert, which Chroma merges into what the record held: every key is
        written, an empty one as :data:`ABSENT`, so no field or copy of a vector outlives its version."""
        metadata: dict[str, Any] = {name: ABSENT if value is None else value for name, value in row.fields.items()}
        metadata["created_at"] = row.created_at
        metadata["payload"] = row.payload
        if row.embedding is not None:
            norm, patch = form if form is not None else (ABSENT, ABSENT)
            metadata[EXACT_NORM] = norm
            metadata[EXACT_PATCH] = patch
            metadata[EXACT_VECTOR] = vector_to_base64(row.embedding) if form is None else ABSENT
        return metadata

    def _embedding(self, key: str, metadata: dict[str, Any], stored: Any) -> np.ndarray:
        """A vector record's exact embedding, from its metadata and the vector Chroma stored (see :meth:`_metadata`);
        a record whose metadata cannot give it back is damaged, and says so."""
        try:
            whole = metadata.get(EXACT_VECTOR)
            if isinstance(whole, str):
                return vector_from_base64(whole)
            norm, patch = metadata.get(EXACT_NORM), metadata.get(EXACT_PATCH)
            if isinstance(norm, (int, float)) and not isinstance(norm, bool) and isinstance(patch, str) and stored is not None:
                vector = from_unit_form(np.asarray(stored, dtype=np.float32), float(norm), patch)
                if vector.shape == np.shape(stored):
                    return vector
            problem = "no norm and patch or whole copy"
        except (ValueError, IndexError) as exc:  # binascii.Error is a ValueError
            problem = str(exc)
        raise StorageError(
            f"record {key!r} of {self.name} in Chroma at {self.store.where} has a damaged vector ({problem}); "
            "insert the record again, or restore the folder from a backup"
        )

    @staticmethod
    def _full(side: Side) -> list[str]:
        """What a read of whole records includes: the stored vectors too on the vector side (see :meth:`_embedding`)."""
        return [*_FULL, "embeddings"] if side.vectors else _FULL

    def _rows(self, result: dict[str, Any], side: Side) -> list[Row]:
        stored = result.get("embeddings")
        rows = []
        for i, id_ in enumerate(result["ids"]):
            metadata = result["metadatas"][i] or {}
            vector = self._embedding(id_, metadata, stored[i] if stored is not None else None) if side.vectors else None
            rows.append(
                Row(
                    id=id_,
                    fields={f: _value(metadata.get(f)) for f in self.table.filter_fields},
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
        for chunk in chunked(rows, max(1, self.store.max_batch)):
            if side.vectors:
                exact = vector_matrix([r.embedding for r in chunk])
                indexed, forms = unit_forms(exact) if self.unit_vectors else (exact, [None] * len(chunk))
            else:
                indexed, forms = np.ones((len(chunk), 1), dtype=np.float32), [None] * len(chunk)
            self._col(side).upsert(
                ids=[r.id for r in chunk],
                embeddings=indexed,
                documents=[r.text or "" for r in chunk],
                metadatas=[self._metadata(r, form) for r, form in zip(chunk, forms, strict=True)],
            )

    def remove_ids(self, side: Side, ids: Sequence[str]) -> None:
        collection = self._col(side)
        if collection.count() > 0:
            for chunk in chunked(ids, self.store.max_batch):
                collection.delete(ids=list(chunk))

    def delete_side(self, side: Side, where: Where) -> int:
        ids, clause = chroma_filter(where)
        collection = self._col(side)
        found = [i for page in self._matching_ids(collection, ids, clause) for i in page["ids"]]
        for chunk in chunked(found, self.store.max_batch):
            collection.delete(ids=list(chunk))
        return len(found)

    def drop_side(self, side: Side) -> None:
        try:
            self.store.client.delete_collection(side.name)
        except Exception:
            pass

    def drop(self) -> None:
        """Both collections deleted; made again when next used (a dropped partition stays gone unless written)."""
        super().drop()
        self.collections = {}

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
            rows += self._rows(self._col(side).get(ids=list(chunk), include=self._full(side)), side)
        return [row for row in rows if rest.matches(row.field_values())]

    def count_side(self, side: Side, where: Where, condition: Any = None) -> int:
        extra, document = condition or ((), None)
        scope, users = scope_without_user(where)
        ids, clause = chroma_filter(scope, extra)
        collection = self._col(side)
        if ids is None and clause is None and document is None:
            return int(collection.count())
        pages = self._matching_ids(collection, ids, clause, document)
        return sum(sum(1 for key in page["ids"] if key_in_users(key, users)) for page in pages)

    def scan_side(self, side: Side, where: Where, batch_size: int) -> Iterator[list[Row]]:
        ids, clause = chroma_filter(where)
        size = max(1, min(batch_size, PAGE))
        collection = self._col(side)
        offset, full = 0, self._full(side)
        while True:
            page = self.reading(lambda o=offset: collection.get(ids=ids, where=clause, include=full, limit=size, offset=o))
            if page["ids"]:
                yield self._rows(page, side)
            if len(page["ids"]) < size:
                return
            offset += size

    def search_vectors(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """The top ``k`` under ``where``; an agent's search first asks without the user's term (see the module docstring).

        When every hit of that wider search is the user's, they are also the
        user's top ``k`` (the user's rows are among those searched), which is
        the rule: agent ids are derived from their user. Only when another
        user's row comes back is the search asked again with the user's term.
        """
        scope, users = scope_without_user(where)
        if users is not None:
            hits = self._query(query, k, scope)
            if all(key_in_users(row.id, users) for row, _ in hits):
                return hits
        return self._query(query, k, where)

    def _query(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """One query; on unit vectors the query is made a unit vector too, so that ``1 - distance`` is the cosine."""
        ids, clause = chroma_filter(where)
        asked = np.asarray(query, dtype=np.float32)
        norm = float(np.linalg.norm(asked.astype(np.float64)))
        if self.unit_vectors and norm > 0:
            asked = (asked / np.float32(norm)).astype(np.float32)
        result = self._col(self.vectors).query(
            query_embeddings=[asked],
            n_results=k,
            ids=ids,
            where=clause,
            include=["documents", "metadatas", "distances", "embeddings"],
        )
        wanted = ("ids", "documents", "metadatas", "distances", "embeddings")
        page = {key: value[0] for key, value in result.items() if key in wanted and value is not None}
        rows = self._rows(page, self.vectors)
        return [(row, 1.0 - float(distance)) for row, distance in zip(rows, page["distances"], strict=True)]

    # -- ordered searches: the core reads (time, id) of the matches, sorts, fetches one page ---------------
    def keys_of_side(self, side: Side, where: Where, condition: Any) -> Iterable[tuple[int, str]]:
        extra, document = condition
        scope, users = scope_without_user(where)
        ids, clause = chroma_filter(scope, extra)
        for page in self._matching_ids(self._col(side), ids, clause, document, include=["metadatas"]):
            yield from (
                (int(m["created_at"]), i) for i, m in zip(page["ids"], page["metadatas"], strict=True) if key_in_users(i, users)
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
