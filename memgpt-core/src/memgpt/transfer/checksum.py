"""Content checksums of collections, computed the same way on every backend.

A record's digest is SHA-256 over its canonical row (id, filter fields, text,
creation time in microseconds, canonical JSON payload) and its embedding as
little-endian float32 bytes. A collection's checksum is the sum of its
records' digests modulo 2**256: independent of order (backends scan in
different orders), computed while streaming in constant memory, and changed by
any difference in any record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from memgpt.kinds import Table
from memgpt.storage.codec import encode, vector_to_bytes

MODULUS = 2**256
EMBEDDING_ATTRIBUTES = ("embedding_model", "embedding_config", "embedding_dim")
"""What ``vectors=False`` leaves out: what re-embedding is allowed to change."""


@dataclass
class Digest:
    """Running count and checksum of one collection."""

    count: int = 0
    total: int = 0

    def add(self, table: Table, records: Iterable[Any], vectors: bool = True) -> None:
        for record in records:
            self.total = (self.total + int.from_bytes(record_digest(table, record, vectors), "big")) % MODULUS
            self.count += 1

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"

    def __str__(self) -> str:
        return f"{self.count} records, checksum {self.hexdigest[:16]}"


def record_digest(table: Table, record: Any, vectors: bool = True) -> bytes:
    row = encode(table, record)
    payload: Any = json.loads(row.payload)
    if not vectors:
        for name in EMBEDDING_ATTRIBUTES:
            payload.pop(name, None)
        metadata = payload.get("metadata")
        if isinstance(metadata, dict):
            payload["metadata"] = {k: v for k, v in metadata.items() if k != "embedding"}
    canonical = json.dumps(
        [row.id, sorted(row.fields.items()), row.text, row.created_at, payload], sort_keys=True, ensure_ascii=False
    )
    digest = hashlib.sha256(canonical.encode("utf-8"))
    if vectors and row.embedding is not None:
        digest.update(b"\x00vector\x00" + vector_to_bytes(row.embedding))
    return digest.digest()


def collection_digest(collection: Any, batch_size: int = 1_000, vectors: bool = True) -> Digest:
    """The digest of every record a collection's scope covers (streamed)."""
    digest = Digest()
    for batch in collection.batches(batch_size=batch_size):
        digest.add(collection.table, batch, vectors)
    return digest
