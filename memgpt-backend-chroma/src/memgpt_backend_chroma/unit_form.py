"""Embeddings as Chroma indexes them: a unit vector, its norm and a few one-ulp corrections.

Chroma's ``cosine`` space normalizes each vector and hands back a
reconstruction up to a float32 ulp off in a quarter of its elements, so memgpt
0.6 kept a second, exact copy of every vector in the record's metadata: 2 KB of
text per 384-d vector, which spread every record's small metadata over many
more pages of Chroma's one metadata table and slowed every filtered read
(measured on 10,000 passages and 20,000 messages: an agent's count 22 ms
against 15, a date range 69 ms against 45).

In the ``ip`` space Chroma keeps vectors as given, and the inner product of unit
vectors is their cosine. So memgpt normalizes each vector itself and stores:

- the unit vector ``u = v / |v|`` (float32) as the embedding Chroma indexes;
- ``|v|`` (a float32, kept exactly as a float) in the record's metadata;
- the patch: the elements where ``u * |v|`` (float32, as IEEE rounds it on every
  platform) is one ulp off ``v``, with the direction, as two bytes each in
  base64 (about 5% of the elements: some 30 characters for 384 dimensions).

:func:`from_unit_form` rebuilds ``v`` bit for bit. A vector this cannot
express (a zero vector, a correction of more than one ulp, more than 32,767
dimensions) gets ``None`` from :func:`unit_forms`, and is kept whole instead.
"""

from __future__ import annotations

import base64

import numpy as np

MAX_DIM = 1 << 15
"""Dimensions a patch can address (an index and a direction in two bytes)."""


def unit_forms(vectors: np.ndarray) -> tuple[np.ndarray, list[tuple[float, str] | None]]:
    """The unit vectors of ``vectors`` (rows, float32), and for each its ``(norm, patch)``, or ``None``.

    A row with ``None`` cannot be rebuilt from its unit vector: its unit
    vector is still right for searching (a zero row stays zero), but the
    exact vector must be kept another way.
    """
    exact = np.ascontiguousarray(vectors, dtype=np.float32)
    wide = exact.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", wide, wide)).astype(np.float32)
    usable = np.isfinite(norms) & (norms > 0)
    divisors = np.where(usable, norms, np.float32(1.0)).astype(np.float32)
    units = (exact / divisors[:, None]).astype(np.float32)
    rebuilt = (units * divisors[:, None]).astype(np.float32)
    ulps = exact.view(np.int32).astype(np.int64) - rebuilt.view(np.int32).astype(np.int64)
    forms: list[tuple[float, str] | None] = []
    for row in range(exact.shape[0]):
        if not usable[row] or exact.shape[1] > MAX_DIM or np.abs(ulps[row]).max(initial=0) > 1:
            forms.append(None)
            continue
        where = np.flatnonzero(ulps[row])
        codes = ((where << 1) | (ulps[row][where] > 0)).astype("<u2")
        forms.append((float(norms[row]), base64.b64encode(codes.tobytes()).decode("ascii")))
    return units, forms


def from_unit_form(unit: np.ndarray, norm: float, patch: str) -> np.ndarray:
    """The exact vector :func:`unit_forms` described as ``unit``, ``norm`` and ``patch``."""
    rebuilt = (np.asarray(unit, dtype=np.float32) * np.float32(norm)).astype(np.float32)
    codes = np.frombuffer(base64.b64decode(patch), dtype="<u2").astype(np.int64)
    if codes.size:
        bits = rebuilt.view(np.int32)
        bits[codes >> 1] += np.where(codes & 1, 1, -1).astype(np.int32)
    return rebuilt


__all__ = ["MAX_DIM", "from_unit_form", "unit_forms"]
