"""One table: the storage contract, implemented on a JSON file.

A real engine would translate each ``Where`` into its own filter language and
let the engine do the work; this example evaluates filters in Python with
``Where.matches`` and searches vectors exactly with numpy, which keeps it short
and shows exactly what every method must return.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import numpy as np

from memgpt.plugin import (
    ALL_CAPABILITIES,
    KEYS_BY_USER,
    KEYS_MARKER,
    Connector,
    EmbeddingSpec,
    Row,
    Table,
    Where,
    collection_name,
    fetch_page,
    upgrade_row_keys,
    vector_from_base64,
    vector_to_base64,
    write_private,
)
from memgpt_backend_example.store import ExampleStore


class ExampleConnector(Connector):
    capabilities = ALL_CAPABILITIES  # declare fewer, and the core refuses those operations clearly

    def __init__(self, store: ExampleStore, table: Table, shelf: str = "") -> None:
        self.store = store
        self.table = table
        # A shelf holds another embedding model's vectors beside the table's own: here another file.
        self.path = store.folder / f"{collection_name(table, shelf, prefix='')}.json"
        with store.lock:  # a file written by memgpt 0.4: re-key its rows by user (the core's helper), then mark it
            if self.path.exists() and self._load().get(KEYS_MARKER) != KEYS_BY_USER:
                upgrade_row_keys(self)
                self._save({**self._load(), KEYS_MARKER: KEYS_BY_USER})

    # -- the file: {"memgpt_keys": "user/id", "spec": {...} or null, "rows": {id: row}} -------------------------
    def _load(self) -> dict:
        try:
            return json.loads(self.path.read_text())
        except FileNotFoundError:
            return {KEYS_MARKER: KEYS_BY_USER, "spec": None, "rows": {}}

    def _save(self, data: dict) -> None:
        write_private(self.path, json.dumps(data))  # atomic, owner-only: a crash leaves the old file or the new one

    @staticmethod
    def _to_json(row: Row) -> dict:
        vector = None if row.embedding is None else vector_to_base64(row.embedding)
        return {
            "id": row.id,
            "fields": row.fields,
            "text": row.text,
            "created_at": row.created_at,
            "embedding": vector,
            "payload": row.payload,
        }

    @staticmethod
    def _from_json(data: dict) -> Row:
        vector = data["embedding"]
        return Row(
            data["id"],
            data["fields"],
            data["text"],
            data["created_at"],
            None if vector is None else vector_from_base64(vector),
            data["payload"],
        )

    def _matching(self, where: Where) -> list[Row]:
        rows = (self._from_json(r) for r in self._load()["rows"].values())
        return [row for row in rows if where.matches(row.field_values())]

    # -- the contract ---------------------------------------------------------------------------
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        spec = self._load()["spec"]
        return None if spec is None else EmbeddingSpec(spec["model"], spec["dim"])

    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        with self.store.lock:  # record it only if absent, and return what is recorded
            data = self._load()
            if data["spec"] is None:
                data["spec"] = {"model": spec.model, "dim": spec.dim}
                self._save(data)
            return EmbeddingSpec(data["spec"]["model"], data["spec"]["dim"])

    def upsert(self, rows: Sequence[Row]) -> None:
        with self.store.lock:
            data = self._load()
            data["rows"].update((row.id, self._to_json(row)) for row in rows)
            self._save(data)

    def delete(self, where: Where) -> int:
        with self.store.lock:
            data = self._load()
            doomed = [row.id for row in self._matching(where)]
            for id_ in doomed:
                del data["rows"][id_]
            self._save(data)
            return len(doomed)

    def drop(self) -> None:
        with self.store.lock:
            self.path.unlink(missing_ok=True)

    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        return self._matching(where)  # `where` already holds the ids

    def count(self, where: Where) -> int:
        return len(self._matching(where))

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        rows = self._matching(where)
        for start in range(0, len(rows), batch_size):
            yield rows[start : start + batch_size]

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        rows = [row for row in self._matching(where) if row.embedding is not None]
        if not rows:
            return []
        matrix = np.stack([row.embedding for row in rows])
        scores = (matrix @ query) / np.linalg.norm(matrix, axis=1)  # query has unit length: cosine
        best = np.argsort(-scores, kind="stable")[:k]
        return [(rows[i], float(scores[i])) for i in best]

    def _ordered(self, rows: list[Row], limit: int, offset: int) -> list[Row]:
        return fetch_page(
            ((r.created_at, r.id, None) for r in rows), offset, limit, lambda ids: [r for r in rows if r.id in set(ids)]
        )

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        needle = text.casefold()
        return self._ordered([r for r in self._matching(where) if needle in (r.text or "").casefold()], limit, offset)

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        lo, hi = start if start is not None else -(2**63), end if end is not None else 2**63
        return self._ordered([r for r in self._matching(where) if lo <= r.created_at <= hi], limit, offset)
