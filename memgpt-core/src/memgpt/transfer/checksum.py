"""Content checksums of collections, computed the same way on every backend and on export files.

A record's digest is SHA-256 over its canonical JSON (every field but the
embedding, as :meth:`Record.to_dict` gives them: times in ISO 8601, keys
sorted, no spaces, UTF-8 unescaped), then, when it has an embedding, a zero
byte and the embedding as little-endian float32 bytes. A collection's checksum
is the sum of its records' digests (as big-endian integers) modulo 2**256:
independent of order (backends scan in different orders), computed while
streaming in constant memory, and changed by any difference in any record.
``docs/migration.md`` shows the same computation over an export's files with
nothing but the standard library and numpy.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

MODULUS = 2**256
EMBEDDING_ATTRIBUTES = ("embedding_model", "embedding_config", "embedding_dim")
"""What ``vectors=False`` leaves out (with ``metadata.embedding``): what re-embedding may change."""


@dataclass
class Digest:
    """Running count and checksum of one collection."""

    count: int = 0
    total: int = 0

    def add(self, records: Iterable[Any], vectors: bool = True) -> None:
        for record in records:
            self.total = (self.total + int.from_bytes(record_digest(record, vectors), "big")) % MODULUS
            self.count += 1

    @property
    def hexdigest(self) -> str:
        return f"{self.total:064x}"

    def __str__(self) -> str:
        return f"{self.count} records, checksum {self.hexdigest[:16]}"


def canonical_fields(record: Any) -> dict[str, Any]:
    """Every field of ``record`` but its embedding, JSON-ready (what an export's JSON Lines hold)."""
    data: dict[str, Any] = {}
    for f in fields(record):
        if f.name == "embedding":
            continue
        value = getattr(record, f.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        data[f.name] = value
    return data


def digest_of(data: dict[str, Any], embedding: Any) -> bytes:
    """The digest of a record given as its canonical fields and its embedding (or None)."""
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if embedding is not None:
        digest.update(b"\x00" + np.asarray(embedding, dtype="<f4").tobytes())
    return digest.digest()


def record_digest(record: Any, vectors: bool = True) -> bytes:
    """The digest of one record; ``vectors=False`` ignores its embedding and embedding model."""
    data = canonical_fields(record)
    if not vectors:
        for name in EMBEDDING_ATTRIBUTES:
            data.pop(name, None)
        if isinstance(data.get("metadata"), dict):
            data["metadata"] = {k: v for k, v in data["metadata"].items() if k != "embedding"}
    return digest_of(data, getattr(record, "embedding", None) if vectors else None)


def collection_digest(collection: Any, batch_size: int = 1_000, vectors: bool = True) -> Digest:
    """The digest of every record a collection's scope covers (streamed)."""
    digest = Digest()
    for batch in collection.batches(batch_size=batch_size):
        digest.add(batch, vectors)
    return digest
