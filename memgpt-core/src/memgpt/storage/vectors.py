"""Exact cosine top-k in numpy, for backends that search vectors themselves.

:class:`VectorIndex` keeps unit-normalized float32 rows in one contiguous,
growable matrix with the ids and filter-field values of each row, so a scoped
search is one matrix-vector product, a mask and an ``argpartition``: no
per-query reload, no per-row Python work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from memgpt.storage.where import Where


def normalize_rows(matrix: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); zero rows stay zero."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32))
    norms[norms == 0] = 1.0
    return matrix / norms[:, None]


BLOCKS_PER_RESULT = 8
""":func:`top_k` splits the scores into about this many blocks per result wanted."""


def top_k(scores: np.ndarray, k: int, valid: int | None = None) -> np.ndarray:
    """Indices of the ``k`` largest finite scores, best first (ties by index).

    ``valid`` is how many scores are finite, when the caller knows it (it
    masked the others with ``-inf``); otherwise it is counted.

    The scores are cut into blocks (about :data:`BLOCKS_PER_RESULT` per
    result) and each block's maximum taken, one vectorized pass. The k-th
    largest of those maxima is a lower bound of the k-th largest score (k
    blocks each hold a score at least that high), so only scores reaching it
    can be among the best: usually a few dozen, where ``argpartition`` would
    reorder every score. Measured on 10,000 scores, k 11: 13 us against
    ``argpartition``'s 74; on a million, 0.23 ms against 8.4. The result is
    the same, except that ties at the k-th place are now always cut by index.
    """
    n = scores.shape[0]
    if valid is None:
        valid = int(np.count_nonzero(scores > -np.inf))
    k = min(k, valid)
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    block = max(16, n // (BLOCKS_PER_RESULT * k))
    blocks = n // block
    if blocks > k:
        maxima = scores[: blocks * block].reshape(blocks, block).max(axis=1)
        bound = np.partition(maxima, blocks - k)[blocks - k]
        candidates = np.flatnonzero(scores >= bound)  # the tail beyond the last whole block included
        if len(candidates) < k:  # only NaN scores do this (a NaN maximum)
            candidates = np.arange(n)
    else:
        candidates = np.arange(n)
    values = scores[candidates]
    if len(candidates) > 4 * k + 64:  # many reach the bound (ties, masked scores): keep those reaching the k-th score
        kth = np.partition(values, len(values) - k)[len(values) - k]
        keep = values >= kth
        candidates, values = candidates[keep], values[keep]
    return candidates[np.lexsort((candidates, -values))[:k]]


class PackedIds:
    """Ids kept as one UTF-8 buffer, NUL-separated, each decoded when asked for.

    A saved index of 100,000 ids opens without making 100,000 strings (10 ms
    of a CLI call); a search decodes only its hits. Indexing, ``len`` and
    :meth:`unpack` (the list) are all it offers.
    """

    def __init__(self, data: bytes | memoryview, count: int) -> None:
        ends = np.flatnonzero(np.frombuffer(data, dtype=np.uint8) == 0)
        if len(ends) + 1 != count:
            raise ValueError(f"{count} ids expected, the buffer holds {len(ends) + 1}")
        self._data = data
        self._starts = np.concatenate(([0], ends + 1))
        self._ends = np.concatenate((ends, [len(data)]))

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, i: int) -> str:
        return str(self._data[int(self._starts[i]) : int(self._ends[i])], "utf-8")

    def unpack(self) -> list[str]:
        return str(self._data, "utf-8").split("\x00")


class VectorIndex:
    """An in-memory exact-search index of normalized vectors keyed by id.

    ``fields`` are the filter fields kept per row so that a :class:`Where`
    on them is a vectorized mask. Each row may also carry an integer ``key``
    (the local backend keeps its SQLite rowid there, to read result rows by
    rowid); ``-1`` means unknown.
    """

    def __init__(self, fields: Sequence[str] = ()) -> None:
        self.fields = tuple(fields)
        self.dim: int | None = None
        self._ids: list[str] | PackedIds = []
        self._pos: dict[str, int] | None = {}
        self._matrix = np.empty((0, 0), dtype=np.float32)
        self._codes = {f: np.empty(0, dtype=np.int32) for f in self.fields}
        self._vocab: dict[str, dict[str | None, int]] = {f: {} for f in self.fields}
        self._keys = np.empty(0, dtype=np.int64)
        self.changes = 0
        """Rows put or removed since the index was built or last saved (its owner resets it)."""

    @classmethod
    def build(
        cls,
        ids: list[str],
        matrix: np.ndarray,
        columns: Mapping[str, Sequence[str | None]],
        normalized: bool = False,
        keys: Sequence[int] | None = None,
    ) -> VectorIndex:
        """An index over ``matrix`` (one row per id), taking ownership of it when ``normalized``.

        ``columns`` holds, per filter field, the value of every row; ``keys``
        the integer key of every row (default: unknown).
        """
        index = cls(tuple(columns))
        if not ids:
            return index
        index._ids = list(ids)
        index._pos = None
        index.dim = int(matrix.shape[1])
        index._matrix = matrix if normalized else normalize_rows(matrix)
        index._keys = np.full(len(ids), -1, dtype=np.int64) if keys is None else np.asarray(keys, dtype=np.int64)
        for name, values in columns.items():
            vocab = index._vocab[name]
            index._codes[name] = np.fromiter((vocab.setdefault(v, len(vocab)) for v in values), dtype=np.int32, count=len(ids))
        return index

    @classmethod
    def from_arrays(
        cls,
        ids: list[str] | PackedIds,
        matrix: np.ndarray,
        keys: np.ndarray,
        vocab: Mapping[str, Sequence[str | None]],
        codes: Mapping[str, np.ndarray],
    ) -> VectorIndex:
        """An index from what :meth:`arrays` gave: a normalized ``matrix`` (kept, not copied), each field as codes into its vocabulary."""
        index = cls(tuple(vocab))
        index._ids = ids
        index._pos = None
        index.dim = int(matrix.shape[1]) if len(ids) else None
        index._matrix = matrix
        index._keys = keys
        index._vocab = {f: {v: i for i, v in enumerate(values)} for f, values in vocab.items()}
        index._codes = dict(codes)
        return index

    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray, dict[str, list[str | None]], dict[str, np.ndarray]]:
        """(ids, normalized matrix, keys, each field's vocabulary, each field's codes): views, for saving the index."""
        n = len(self.ids)
        vocab = {f: list(self._vocab[f]) for f in self.fields}
        return self.ids, self._matrix[:n], self._keys[:n], vocab, {f: self._codes[f][:n] for f in self.fields}

    @property
    def ids(self) -> list[str]:
        """Each row's id (unpacked into a list on first use: writes and id filters need it, a search does not)."""
        if isinstance(self._ids, PackedIds):
            self._ids = self._ids.unpack()
        return self._ids

    @property
    def pos(self) -> dict[str, int]:
        """Each id's row; made on first use (a search without an id filter never needs it)."""
        if self._pos is None:
            self._pos = dict(zip(self.ids, range(len(self.ids)), strict=True))
        return self._pos

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def matrix(self) -> np.ndarray:
        """The normalized vectors, one row per id (a view, no copy)."""
        return self._matrix[: len(self._ids)]

    def _reserve(self, extra: int, dim: int) -> None:
        if self.dim is None:
            self.dim = dim
            self._matrix = np.empty((max(16, extra), dim), dtype=np.float32)
            self._codes = {f: np.empty(max(16, extra), dtype=np.int32) for f in self.fields}
            self._keys = np.empty(max(16, extra), dtype=np.int64)
        need = len(self.ids) + extra
        if need > self._matrix.shape[0]:
            capacity = max(need, int(self._matrix.shape[0] * 1.5) + 16)
            grown = np.empty((capacity, self.dim), dtype=np.float32)
            grown[: len(self.ids)] = self._matrix[: len(self.ids)]
            self._matrix = grown
            for f in self.fields:
                codes = np.empty(capacity, dtype=np.int32)
                codes[: len(self.ids)] = self._codes[f][: len(self.ids)]
                self._codes[f] = codes
            keys = np.empty(capacity, dtype=np.int64)
            keys[: len(self.ids)] = self._keys[: len(self.ids)]
            self._keys = keys

    def _code(self, field: str, value: str | None) -> int:
        vocab = self._vocab[field]
        code = vocab.get(value)
        if code is None:
            code = vocab[value] = len(vocab)
        return code

    def put(
        self,
        ids: Sequence[str],
        vectors: np.ndarray,
        values: Sequence[Mapping[str, str | None]],
        keys: Sequence[int] | None = None,
    ) -> None:
        """Insert or replace rows; ``vectors`` need not be normalized; ``keys`` as in :meth:`build`."""
        if not ids:
            return
        vectors = normalize_rows(np.asarray(vectors, dtype=np.float32).reshape(len(ids), -1))
        self._reserve(len(ids), vectors.shape[1])
        if vectors.shape[1] != self.dim:
            raise ValueError(f"vector index holds {self.dim}-d vectors, got {vectors.shape[1]}-d")
        targets = np.empty(len(ids), dtype=np.int64)
        pos = self.pos
        for i, id_ in enumerate(ids):
            at = pos.get(id_)
            if at is None:
                at = pos[id_] = len(self.ids)
                self.ids.append(id_)
            targets[i] = at
        self._matrix[targets] = vectors
        self._keys[targets] = -1 if keys is None else np.asarray(keys, dtype=np.int64)
        self.changes += len(ids)
        for f in self.fields:
            self._codes[f][targets] = [self._code(f, v.get(f)) for v in values]

    def remove(self, ids: Iterable[str]) -> None:
        """Drop rows by id (missing ids are ignored); swaps the last row into each hole."""
        ids = list(ids)
        if not ids:
            return  # without making the id map: a refresh that removed nothing (a CLI call's) must not pay for it
        pos = self.pos
        for id_ in ids:
            at = pos.pop(id_, None)
            if at is None:
                continue
            self.changes += 1
            last = len(self.ids) - 1
            if at != last:
                moved = self.ids[last]
                self.ids[at] = moved
                pos[moved] = at
                self._matrix[at] = self._matrix[last]
                self._keys[at] = self._keys[last]
                for f in self.fields:
                    self._codes[f][at] = self._codes[f][last]
            self.ids.pop()

    def mask(self, where: Where, skip: Sequence[str] = ()) -> np.ndarray | None:
        """Boolean mask of rows ``where`` allows, or ``None`` when it allows every row."""
        n = len(self._ids)
        mask: np.ndarray | None = None
        for name, allowed in where.constraints:
            if name in skip:
                continue
            if name == "id":
                rows = np.zeros(n, dtype=bool)
                pos = self.pos
                hits = [pos[i] for i in allowed if i in pos]
                rows[hits] = True
            elif name in self._vocab:
                vocab = self._vocab[name]
                if len(vocab) == 1 and next(iter(vocab)) in allowed:
                    continue  # the field has one value, allowed (one user's rows): no row to mask out
                codes = [vocab[v] for v in allowed if v in vocab]
                rows = np.isin(self._codes[name][:n], codes)
            else:
                raise ValueError(f"vector index has no field {name!r}")
            mask = rows if mask is None else mask & rows
        return mask

    def search(self, query: np.ndarray, k: int, where: Where, skip: Sequence[str] = ()) -> list[tuple[str, float]]:
        """The ``k`` best (id, cosine similarity) among rows ``where`` allows; ``query`` has unit norm."""
        return [(id_, score) for id_, score, _ in self.search_keys(query, k, where, skip)]

    def search_keys(self, query: np.ndarray, k: int, where: Where, skip: Sequence[str] = ()) -> list[tuple[str, float, int]]:
        """Like :meth:`search`, with each row's key (``-1`` when unknown) as a third value."""
        if not len(self._ids):
            return []
        scores = self.matrix @ query
        mask = self.mask(where, skip)
        valid = len(self._ids)
        if mask is not None:
            scores[~mask] = -np.inf
            valid = int(np.count_nonzero(mask))
        best = top_k(scores, k, valid)
        ids = self._ids  # packed or not: only the hits are decoded
        return list(zip([ids[i] for i in best.tolist()], scores[best].tolist(), self._keys[best].tolist(), strict=True))
