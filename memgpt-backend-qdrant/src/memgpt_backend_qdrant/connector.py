"""One memgpt table in Qdrant, with the scope in every request.

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
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from qdrant_client import models

from memgpt.files import require_free_space
from memgpt.kinds import Table
from memgpt.notices import notice
from memgpt.records import EmbeddingSpec
from memgpt.storage.codec import Row
from memgpt.storage.connector import ALL_CAPABILITIES, Connector
from memgpt.storage.helpers import (
    KEYS_BY_USER,
    KEYS_MARKER,
    chunked,
    collection_name,
    fetch_page,
    split_by_embedding,
    upgrade_collections,
    vector_from_base64,
    vector_to_base64,
)
from memgpt.storage.where import Where
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
    must: list[models.Condition] = []
    for field, values in where.items():
        if len(values) == 1:
            must.append(models.FieldCondition(key=field, match=models.MatchValue(value=values[0])))
        else:
            must.append(models.FieldCondition(key=field, match=models.MatchAny(any=list(values))))
    must.extend(extra)
    return models.Filter(must=must) if must else None


LOCAL_MODE_POINTS = 20_000
"""Where qdrant-client starts warning that local mode is not meant for the collection's size."""


class QdrantConnector(Connector):
    capabilities = ALL_CAPABILITIES
    max_batch_size = 10_000

    def __init__(self, store: QdrantStore, table: Table, shelf: str = "") -> None:
        self.store = store
        self.client = store.client
        self.table = table
        self.name = collection_name(table, shelf)
        self.plain_name = f"{self.name}_plain"
        self._upgrade_keys()

    def _upgrade_keys(self) -> None:
        """Re-key collections written by memgpt 0.4 (bare record ids) by user, then mark them (in their metadata)."""
        with self.store.errors():
            upgrade_collections(
                self,
                [name for name, _ in self._collections()],
                marked=lambda name: (self.client.get_collection(name).config.metadata or {}).get(KEYS_MARKER) == KEYS_BY_USER,
                holds_rows=lambda name: self.client.count(name, exact=True).count > 0,
                mark=lambda name: self.client.update_collection(name, metadata={KEYS_MARKER: KEYS_BY_USER}),
            )

    # -- collections -------------------------------------------------------------------------
    def _exists(self, name: str) -> bool:
        with self.store.errors():
            return bool(self.client.collection_exists(name))

    def _collections(self) -> list[tuple[str, bool]]:
        return [(name, vectors) for name, vectors in ((self.name, True), (self.plain_name, False)) if self._exists(name)]

    def _index_payload(self, name: str) -> None:
        """Payload indexes on the scope fields and times (a server feature; local mode has none)."""
        if self.store.mode != "server":
            return
        with self.store.errors():
            for field in ("id", *self.table.filter_fields):
                self.client.create_payload_index(name, field, field_schema=models.PayloadSchemaType.KEYWORD)
            self.client.create_payload_index(name, "created_at", field_schema=models.PayloadSchemaType.INTEGER)

    def _plain(self) -> str:
        if not self._exists(self.plain_name):
            with self.store.errors():
                try:
                    self.client.create_collection(self.plain_name, vectors_config={}, metadata={KEYS_MARKER: KEYS_BY_USER})
                except Exception:
                    if not self.client.collection_exists(self.plain_name):
                        raise
            self._index_payload(self.plain_name)
        return self.plain_name

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
            with self.store.errors():
                points, offset = self.client.scroll(
                    name, scroll_filter=flt, limit=limit, offset=offset, with_payload=payload, with_vectors=False
                )
            if points:
                yield points
            if offset is None:
                return

    # -- embedding spec ------------------------------------------------------------------------------
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        if not self._exists(self.name):
            return None
        with self.store.errors():
            metadata = self.client.get_collection(self.name).config.metadata or {}
        return EmbeddingSpec(str(metadata["memgpt_model"]), int(metadata["memgpt_dim"]))

    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Creating the vector collection (with the spec as metadata) is the atomic step."""
        if not self._exists(self.name):
            with self.store.errors():
                try:
                    self.client.create_collection(
                        self.name,
                        vectors_config={VECTOR: models.VectorParams(size=spec.dim, distance=models.Distance.COSINE)},
                        metadata={"memgpt_model": spec.model, "memgpt_dim": spec.dim, KEYS_MARKER: KEYS_BY_USER},
                    )
                except Exception:
                    if not self.client.collection_exists(self.name):
                        raise
            self._index_payload(self.name)
        stored = self.get_embedding_spec()
        assert stored is not None
        return stored

    # -- writes ----------------------------------------------------------------------------------------
    def upsert(self, rows: Sequence[Row]) -> None:
        with_vectors, without = split_by_embedding(rows)
        if self.store.mode == "local":  # local mode commits point by point: a full disk must not cut a batch in two
            require_free_space(Path(self.store.where), _bytes_needed(rows), f"writing {len(rows)} records to Qdrant")
        with self.store.errors():
            for name, group, vectors in (
                (self.name, with_vectors, True),
                (self._plain() if without else self.plain_name, without, False),
            ):
                for part in chunked(group, WRITE_BATCH):
                    points = [
                        models.PointStruct(
                            id=point_id(r.id),
                            vector={VECTOR: np.asarray(r.embedding, dtype=np.float32).tolist()} if vectors else {},
                            payload=self._payload(r),
                        )
                        for r in part
                    ]
                    self.client.upsert(name, points=points, wait=True)
            if self.store.mode == "local":
                self._note_size()
            # A record that gained or lost its embedding moves between the two collections.
            for moved, name in ((with_vectors, self.plain_name), (without, self.name)):
                if moved and self._exists(name):
                    for part in chunked(moved, WRITE_BATCH):
                        self.client.delete(
                            name, points_selector=models.PointIdsList(points=[point_id(r.id) for r in part]), wait=True
                        )

    def _note_size(self) -> None:
        """Past LOCAL_MODE_POINTS, say once (our words, not qdrant-client's warning on every command) that a server helps."""
        points = self.client.count(self.name, exact=False).count if self._exists(self.name) else 0
        if points > LOCAL_MODE_POINTS:
            notice(
                "qdrant-local-size",
                f"Qdrant's local mode at {self.store.where} holds {points:,} points in {self.name}; past "
                f"{LOCAL_MODE_POINTS:,} it searches every point (slow) and writes point by point: a Qdrant server is much "
                "faster (memgpt migrate --to-archival qdrant --to-archival-uri http://HOST:6333 --switch)",
            )

    def delete(self, where: Where) -> int:
        flt = qdrant_filter(where) or models.Filter(must=[])
        deleted = 0
        with self.store.errors():
            for name, _ in self._collections():
                found = self.client.count(name, count_filter=flt, exact=True).count
                if found:
                    self.client.delete(name, points_selector=models.FilterSelector(filter=flt), wait=True)
                deleted += found
        return deleted

    def drop(self) -> None:
        with self.store.errors():
            for name in (self.name, self.plain_name):
                if self.client.collection_exists(name):
                    self.client.delete_collection(name)

    # -- reads -------------------------------------------------------------------------------------------
    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        """Points by id (``retrieve``: a point read, where a filter on the id payload scans), then held against
        the whole ``where``, scope included, here."""
        rows: list[Row] = []
        points = [point_id(i) for i in ids]
        with self.store.errors():
            for name, _ in self._collections():
                for part in chunked(points, PAGE):
                    found = self.client.retrieve(name, ids=list(part), with_payload=True, with_vectors=False)
                    rows += [self._row(p.payload) for p in found]
        return [r for r in rows if where.matches(r.field_values())]

    def count(self, where: Where, extra: Sequence[models.Condition] = ()) -> int:
        flt = qdrant_filter(where, extra)
        with self.store.errors():
            return sum(self.client.count(name, count_filter=flt, exact=True).count for name, _ in self._collections())

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        flt = qdrant_filter(where)
        for name, _ in self._collections():
            for page in self._scroll(name, flt, limit=batch_size):
                yield [self._row(p.payload) for p in page]

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        if not self._exists(self.name):
            return []
        with self.store.errors():
            result = self.client.query_points(
                self.name,
                query=query.astype(np.float32).tolist(),
                using=VECTOR,
                query_filter=qdrant_filter(where),
                limit=k,
                with_payload=True,
                with_vectors=False,
            )
        return [(self._row(p.payload), float(p.score)) for p in result.points]

    # -- ordered searches: scroll (time, id) of the matches, keep one page, fetch it ---------------------------
    def _ordered(self, where: Where, extra: Sequence[models.Condition], limit: int, offset: int) -> list[Row]:
        flt = qdrant_filter(where, extra)
        keys = (
            (int(p.payload["created_at"]), p.payload["id"], None)
            for name, _ in self._collections()
            for page in self._scroll(name, flt, payload=["id", "created_at"])
            for p in page
        )
        return fetch_page(keys, offset, limit, lambda ids: self.get(ids, where & Where.of(id=ids)))

    @staticmethod
    def _text(text: str) -> list[models.Condition]:
        """Case-insensitive substring: a lowercased copy of the text, matched with a lowercased query."""
        return [models.FieldCondition(key="text_lc", match=models.MatchSubstring(substring=text.lower()))]

    @staticmethod
    def _dates(start: int | None, end: int | None) -> list[models.Condition]:
        return [models.FieldCondition(key="created_at", range=models.Range(gte=start, lte=end))]

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, self._text(text), limit, offset)

    def text_count(self, text: str, where: Where) -> int:
        return self.count(where, self._text(text))

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, self._dates(start, end), limit, offset)

    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        return self.count(where, self._dates(start, end))
