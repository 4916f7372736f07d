"""An exact vector index (:class:`VectorIndex`) as one file, mapped instead of read by the next process.

Reading a partition's vectors back from SQLite costs about 8 µs a row (100,000
rows: most of a CLI call); a saved index is mapped copy-on-write in
milliseconds and its pages are read as the first search touches them.

Layout (little-endian)::

    b"MGVINDEX"  uint32 header length  header (JSON)  padding to 64 bytes
    matrix  n x dim float32 (normalized rows)
    keys    n int64
    codes   n int32 per filter field, in the header's field order
    ids     UTF-8, joined by NUL (ids never hold NUL: the collection refuses it)

The header holds ``n``, ``dim``, each field's vocabulary (the values the
codes stand for) and a CRC-32 of the fields and vocabularies, keys, codes and
ids: the parts that tie a row of the matrix to a record and its scope. A file of another length than its layout,
or whose CRC does not match, is not loaded; the matrix itself is not summed
(that would read every page before the first search), so damage inside it
that keeps the file's size goes unnoticed, as inside SQLite's own pages.
"""

from __future__ import annotations

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np

from memgpt.storage.vectors import PackedIds, VectorIndex

MAGIC = b"MGVINDEX"
ALIGN = 64
KIND = "vectors"
"""The file kind of a saved exact index (see :mod:`memgpt.storage.snapshots`)."""


def write_index(index: VectorIndex, path: str) -> None:
    """Write ``index`` to ``path`` (a new file)."""
    ids, matrix, keys, vocab, codes = index.arrays()
    fields = list(vocab)
    id_bytes = "\x00".join(ids).encode("utf-8")
    key_bytes = np.ascontiguousarray(keys, dtype="<i8").tobytes()
    code_bytes = [np.ascontiguousarray(codes[f], dtype="<i4").tobytes() for f in fields]
    crc = _crc(_scope_bytes(fields, vocab), key_bytes, b"".join(code_bytes), id_bytes)
    header = json.dumps(
        {"n": len(ids), "dim": int(matrix.shape[1]) if len(ids) else 0, "fields": fields, "vocab": vocab, "crc": crc},
        ensure_ascii=True,
    ).encode("ascii")
    start = _matrix_offset(len(header))
    with open(path, "wb") as handle:
        handle.write(MAGIC + struct.pack("<I", len(header)) + header)
        handle.write(b"\x00" * (start - handle.tell()))
        handle.write(np.ascontiguousarray(matrix, dtype="<f4").data)
        handle.write(key_bytes)
        for part in code_bytes:
            handle.write(part)
        handle.write(id_bytes)


def read_index(path: Path) -> VectorIndex | None:
    """The index saved at ``path`` (its matrix mapped copy-on-write); ``None`` when the file is not a whole, intact one."""
    try:
        with open(path, "rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(0)
            lead = handle.read(len(MAGIC) + 4)
            if len(lead) < len(MAGIC) + 4 or lead[: len(MAGIC)] != MAGIC:
                return None
            (header_len,) = struct.unpack("<I", lead[len(MAGIC) :])
            header = json.loads(handle.read(header_len).decode("ascii"))
            n, dim, fields, vocab = int(header["n"]), int(header["dim"]), list(header["fields"]), dict(header["vocab"])
            start = _matrix_offset(header_len)
            after_matrix = start + n * dim * 4
            handle.seek(after_matrix)
            tail = handle.read()
        if n == 0 or dim <= 0 or set(vocab) != set(fields) or size != after_matrix + len(tail):
            return None
        key_end = n * 8
        code_end = key_end + n * 4 * len(fields)
        if len(tail) < code_end:
            return None
        view = memoryview(tail)  # slices of it are not copies (the ids alone are megabytes)
        id_bytes = view[code_end:]
        if _crc(_scope_bytes(fields, vocab), view[:key_end], view[key_end:code_end], id_bytes) != header["crc"]:
            return None
        str(id_bytes, "utf-8")  # valid throughout (1 ms), though each id is decoded only when a search returns it
        ids = PackedIds(id_bytes, n)  # raises ValueError unless it holds n ids
        keys = np.frombuffer(tail, dtype="<i8", count=n).astype(np.int64)
        codes = {
            f: np.frombuffer(tail, dtype="<i4", count=n, offset=key_end + i * n * 4).astype(np.int32)
            for i, f in enumerate(fields)
        }
        if any(len(vocab[f]) == 0 or int(codes[f].max()) >= len(vocab[f]) or int(codes[f].min()) < 0 for f in fields):
            return None
        mapped = np.memmap(path, dtype="<f4", mode="c", offset=start, shape=(n, dim))
        matrix = mapped.view(np.ndarray) if sys.byteorder == "little" else mapped.astype(np.float32)
    except (OSError, ValueError, KeyError, TypeError, UnicodeDecodeError, struct.error):
        return None
    return VectorIndex.from_arrays(ids, matrix, keys, vocab, codes)


def _scope_bytes(fields: list[str], vocab: dict[str, list[str | None]]) -> bytes:
    return json.dumps([[f, vocab[f]] for f in fields], ensure_ascii=True).encode("ascii")


def _crc(*parts: bytes | memoryview) -> int:
    crc = 0
    for part in parts:
        crc = zlib.crc32(part, crc)
    return crc


def _matrix_offset(header_len: int) -> int:
    end = len(MAGIC) + 4 + header_len
    return -(-end // ALIGN) * ALIGN
