"""One memgpt table in Qdrant, with the scope in every request.

Two collections per table (the core's :class:`~memgpt.storage.paired.PairedConnector`):
``memgpt_<table>`` holds points with a named ``embedding`` vector (cosine),
created when the dimension is recorded (the spec lives in the collection's
metadata); ``memgpt_<table>_plain`` holds points without a vector. Point ids
are UUIDs derived from the record ids (Qdrant accepts only integers and UUIDs);
the record id, filter fields, times, text and the exact vector (Qdrant
normalizes what it stores for cosine) are payload. Every operation (vector,
text and date search, paging, counting, deleting) sends the caller's scope as
a Qdrant filter; nothing is filtered after the fact.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qdrant_client import models

from memgpt.plugin import (
    KEYS_BY_USER,
    KEYS_MARKER,
    PairedConnector,
    Row,
    chunked,
    notice,
    require_free_space,
    vector_from_base64,
    vector_to_base64,
    where_terms,
)

if TYPE_CHECKING:
    from memgpt.plugin import EmbeddingSpec, Side, Table, Where
    from memgpt_backend_qdrant.store import QdrantStore

VECTOR = "embedding"
POINT_NAMESPACE = uuid.UUID("6b1d9a5e-2f0c-4d4e-9a57-6d656d677074")
WRITE_BATCH = 512
PAGE = 1_000


def point_id(record_id: str) -> str:
    """The stable UUID of a record id (Qdrant point ids must be integers or UUIDs)."""
    return str(uuid.uuid5(POINT_NAMESPACE, record_id))


def _bytes_needed(rows: Sequence[Row]) -> int:
    """A generous estimate of what local mode writes for ``rows`` (pickled points: each vector twice, the texts twice)."""
    per_row = [
        2 * (len(r.payload) + 2 * len(r.text or "") + (0 if r.embedding is None else 15 * r.embedding.shape[0]) + 512)
        for r in rows
    ]
    return sum(per_row) + (256 << 10)  # and room for the journal of its SQLite file


def qdrant_filter(where: Where, extra: Sequence[models.Condition] = ()) -> models.Filter | None:
    """A Qdrant filter for ``where``: values go in as match values, never parsed."""
    must: list[models.Condition] = where_terms(
        where,
        lambda field, value: models.FieldCondition(key=field, match=models.MatchValue(value=value)),
        lambda field, values: models.FieldCondition(key=field, match=models.MatchAny(any=list(values))),
    )
    must.extend(extra)
    return models.Filter(must=must) if must else None


LOCAL_MODE_POINTS = 20_000
"""Where qdrant-client starts warning that local mode is not meant for the collection's size."""


class QdrantConnector(PairedConnector):
    store: QdrantStore

    def __init__(self, store: QdrantStore, table: Table, shelf: str = "") -> None:
        super().__init__(store, table, shelf)
        self.upgrade_keys()

    # -- collections -------------------------------------------------------------------------
    def side_exists(self, side: Side) -> bool:
        return bool(self.client.collection_exists(side.name))

    def side_metadata(self, side: Side) -> dict[str, Any]:
        return self.client.get_collection(side.name).config.metadata or {}

    def update_side_metadata(self, side: Side, values: Any) -> None:
        self.client.update_collection(side.name, metadata={**self.side_metadata(side), **values})

    def _index_payload(self, name: str) -> None:
        """Payload indexes on the scope fields and times (a server feature; local mode has none)."""
        if self.store.mode != "server":
            return
        for field in ("id", *self.table.filter_fields):
            self.client.create_payload_index(name, field, field_schema=models.PayloadSchemaType.KEYWORD)
        self.client.create_payload_index(name, "created_at", field_schema=models.PayloadSchemaType.INTEGER)

    def _create(self, side: Side, vectors: dict[str, models.VectorParams], metadata: dict[str, Any]) -> None:
        """Create a collection (its rows keyed by user, says its metadata); losing a race to another process is fine."""
        try:
            self.client.create_collection(side.name, vectors_config=vectors, metadata=metadata)
        except Exception:
            if not self.client.collection_exists(side.name):
                raise
        self._index_payload(side.name)

    def create_plain(self) -> None:
        self._create(self.plain, {}, {KEYS_MARKER: KEYS_BY_USER})

    def drop_side(self, side: Side) -> None:
        self.client.delete_collection(side.name)

    # -- rows -------------------------------------------------------------------------------------
    def _payload(self, row: Row) -> dict[str, Any]:
        payload: dict[str, Any] = {"id": row.id, **{k: v for k, v in row.fields.items() if v is not None}}
        payload.update(text=row.text, text_lc=(row.text or "").lower(), created_at=row.created_at, payload=row.payload)
        if row.embedding is not None:
            payload["vector"] = vector_to_base64(row.embedding)
        return payload

    def _row(self, payload: dict[str, Any]) -> Row:
        vector = payload.get("vector")
        return Row(
            id=payload["id"],
            fields={f: payload.get(f) for f in self.table.filter_fields},
            text=payload.get("text"),
            created_at=int(payload["created_at"]),
            embedding=None if vector is None else vector_from_base64(vector),
            payload=payload["payload"],
        )

    def _scroll(self, name: str, flt: models.Filter | None, payload: Any = True, limit: int = PAGE) -> Iterator[list[Any]]:
        offset = None
        while True:
            with self.errors():
                points, offset = self.client.scroll(
                    name, scroll_filter=flt, limit=limit, offset=offset, with_payload=payload, with_vectors=False
                )
            if points:
                yield points
            if offset is None:
                return

    # -- embedding spec (in the vector collection's metadata) --------------------------------------------
    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Creating the vector collection (with the spec as metadata) is the atomic step."""
        with self.errors():
            if not self.side_exists(self.vectors):
                vectors = {VECTOR: models.VectorParams(size=spec.dim, distance=models.Distance.COSINE)}
                self._create(self.vectors, vectors, self.spec_metadata(spec))
        stored = self.get_embedding_spec()
        assert stored is not None
        return stored

    # -- writes ----------------------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        if self.store.mode == "local":  # local mode commits point by point: a full disk must not cut a batch in two
            require_free_space(Path(self.store.where), _bytes_needed(rows), f"writing {len(rows)} records to Qdrant")
        super().upsert(rows)
        if self.store.mode == "local":
            with self.errors():
                self._note_size()

    def write_side(self, side: Side, rows: Sequence[Row]) -> None:
        for part in chunked(rows, WRITE_BATCH):
            points = [
                models.PointStruct(
                    id=point_id(r.id),
                    vector={VECTOR: np.asarray(r.embedding, dtype=np.float32).tolist()} if side.vectors else {},
                    payload=self._payload(r),
                )
                for r in part
            ]
            self.client.upsert(side.name, points=points, wait=True)

    def remove_ids(self, side: Side, ids: Sequence[str]) -> None:
        for part in chunked(ids, WRITE_BATCH):
            self.client.delete(side.name, points_selector=models.PointIdsList(points=[point_id(i) for i in part]), wait=True)

    def _note_size(self) -> None:
        """Past LOCAL_MODE_POINTS, say once (our words, not qdrant-client's warning on every command) that a server helps."""
        points = self.client.count(self.name, exact=False).count if self.side_exists(self.vectors) else 0
        if points > LOCAL_MODE_POINTS:
            notice(
                "qdrant-local-size",
                f"Qdrant's local mode at {self.store.where} holds {points:,} points in {self.name}; past "
                f"{LOCAL_MODE_POINTS:,} it searches every point (slow) and writes point by point: a Qdrant server is much "
                "faster (memgpt migrate --to-archival qdrant --to-archival-uri http://HOST:6333 --switch)",
            )

    def delete_side(self, side: Side, where: Where) -> int:
        flt = qdrant_filter(where) or models.Filter(must=[])
        found = self.client.count(side.name, count_filter=flt, exact=True).count
        if found:
            self.client.delete(side.name, points_selector=models.FilterSelector(filter=flt), wait=True)
        return int(found)

    # -- reads -------------------------------------------------------------------------------------------
    def read_side(self, side: Side, ids: Sequence[str], where: Where) -> list[Row]:
        """Points by id (``retrieve``: a point read, where a filter on the id payload scans); the core then holds
        them against the whole ``where``, scope included."""
        rows: list[Row] = []
        for part in chunked([point_id(i) for i in ids], PAGE):
            found = self.client.retrieve(side.name, ids=list(part), with_payload=True, with_vectors=False)
            rows += [self._row(p.payload) for p in found]
        return rows

    def count_side(self, side: Side, where: Where, condition: Any = None) -> int:
        return int(self.client.count(side.name, count_filter=qdrant_filter(where, condition or ()), exact=True).count)

    def scan_side(self, side: Side, where: Where, batch_size: int) -> Iterator[list[Row]]:
        for page in self._scroll(side.name, qdrant_filter(where), limit=batch_size):
            yield [self._row(p.payload) for p in page]

    def search_vectors(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        result = self.client.query_points(
            self.name, query=query.astype(np.float32).tolist(), using=VECTOR, query_filter=qdrant_filter(where), limit=k
        )
        return [(self._row(p.payload), float(p.score)) for p in result.points]

    # -- ordered searches: the core scrolls (time, id) of the matches, keeps one page, fetches it ----------------
    def keys_of_side(self, side: Side, where: Where, condition: Any) -> Iterable[tuple[int, str]]:
        for page in self._scroll(side.name, qdrant_filter(where, condition), payload=["id", "created_at"]):
            yield from ((int(p.payload["created_at"]), p.payload["id"]) for p in page)

    def text_condition(self, text: str) -> list[models.Condition]:
        """Case-insensitive substring: a lowercased copy of the text, matched with a lowercased query."""
        return [models.FieldCondition(key="text_lc", match=models.MatchSubstring(substring=text.lower()))]

    def date_condition(self, start: int | None, end: int | None) -> list[models.Condition]:
        return [models.FieldCondition(key="created_at", range=models.Range(gte=start, lte=end))]
