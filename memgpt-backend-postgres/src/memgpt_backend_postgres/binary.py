"""PostgreSQL's binary COPY format and pgvector's binary vector form.

Writing rows as binary COPY (and reading vectors with ``vector_send``) avoids
formatting and parsing every float as text, which at 384 dimensions cost
about 0.24 ms per vector in Python.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)
_LENGTH = struct.Struct(">i")
_INT8 = struct.Struct(">iq")
_VECTOR_HEAD = struct.Struct(">ihh")


def text_field(value: str | None) -> bytes:
    if value is None:
        return NULL
    data = value.encode("utf-8")
    return _LENGTH.pack(len(data)) + data


def int8_field(value: int) -> bytes:
    return _INT8.pack(8, value)


def vector_field(vector: np.ndarray | None) -> bytes:
    """pgvector's binary form: int16 dimension, int16 unused, then big-endian float4s."""
    if vector is None:
        return NULL
    body = np.asarray(vector, dtype=">f4").tobytes()
    return _VECTOR_HEAD.pack(4 + len(body), len(body) // 4, 0) + body


def copy_stream(tuples: Iterable[Sequence[bytes]]) -> bytes:
    """A complete binary COPY stream of already-encoded fields."""
    parts = [HEADER]
    for fields in tuples:
        parts.append(struct.pack(">h", len(fields)))
        parts.extend(fields)
    parts.append(TRAILER)
    return b"".join(parts)


def vector_from_send(data: bytes | memoryview | None) -> np.ndarray | None:
    """Decode ``vector_send(embedding)`` (the same binary form) into float32."""
    if data is None:
        return None
    return np.frombuffer(bytes(data), dtype=">f4", offset=4).astype(np.float32)
