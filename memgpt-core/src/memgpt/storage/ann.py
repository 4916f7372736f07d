"""An approximate nearest-neighbour graph over integer keys (HNSW, from ``usearch``).

The graph only *proposes* candidates: a backend reads each candidate's row
and vector from its own storage, applies the search's filters there and
scores it exactly. So the graph can be behind, hold rows since deleted, or
be lost in a crash without a search ever returning a wrong record or score;
what it decides is speed and recall.

Vectors are kept as float16 inside the graph (half the raw float32 size),
since they only rank candidates. A graph is saved to one file whose name
carries the position in the backend's change log it reflects
and its size in bytes (``<stem>.<seq>-<bytes>.usearch``, see
:mod:`memgpt.storage.snapshots`): a file cut short (a full disk, a copy
interrupted) is never loaded, since usearch would read it without complaint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memgpt.storage.snapshots import save_snapshot, saved_snapshots, whole

ANN_AFTER = 200_000
"""Default size (vectors in one agent's or source's partition) from which the local backend searches with a graph."""
CONNECTIVITY = 16
"""Links per node (HNSW's M)."""
EXPANSION_ADD = 128
"""Candidates examined when inserting (HNSW's efConstruction)."""
EXPANSION_SEARCH = 1024
"""Candidates examined per query (HNSW's ef) at least; a larger graph examines more (:func:`expansion_search`)."""
VECTORS_PER_EXPANSION = 100
"""A graph of n vectors examines n / this many candidates per query, when that is more than EXPANSION_SEARCH."""
EXPANSION_MAX = 10_000
"""Candidates examined per query at most."""


def expansion_search(size: int) -> int:
    """HNSW's ef for a graph of ``size`` vectors: recall@10 of at least 0.99 on hard data.

    Measured on the benchmark's clustered 384-d data (benchmarks/data.py:
    within a cluster the points are spread in all 384 dimensions, harder than
    text embeddings): at 300k vectors recall@10 0.981 at ef 512, 0.996 at
    1024; at a million (M 16) 0.920 at 1024, 0.966 at 2048, 0.984 at 4096 and
    0.995 at 8192. So ef grows with the graph: 1024 up to 100k vectors,
    10,000 from a million on.
    """
    return min(EXPANSION_MAX, max(EXPANSION_SEARCH, size // VECTORS_PER_EXPANSION))


class AnnGraph:
    """An HNSW graph of unit vectors under int64 keys (a backend's row ids); cosine similarity."""

    def __init__(self, dim: int, index: Any = None) -> None:
        from usearch.index import Index  # lazily: the CLI imports this module's users at start

        self.dim = dim
        self._index = (
            index
            if index is not None
            else Index(ndim=dim, metric="cos", dtype="f16", connectivity=CONNECTIVITY, expansion_add=EXPANSION_ADD)
        )
        self.changes = 0
        """Keys added or removed since the graph was built or last saved."""
        self.expansion: int | None = None
        """HNSW's ef for this graph's searches, when set (benchmarks trade recall for speed); else :func:`expansion_search`."""

    def __len__(self) -> int:
        return len(self._index)

    @property
    def nbytes(self) -> int:
        """Memory the graph holds (vectors and links)."""
        return int(self._index.memory_usage)

    def put(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Insert or replace the vectors of ``keys``."""
        keys = np.asarray(keys, dtype=np.uint64)
        if not len(keys):
            return
        present = keys[self._index.contains(keys)]
        if len(present):
            self._index.remove(present)
        self._index.add(keys, np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.dim), threads=0)
        self.changes += len(keys)

    def remove(self, keys: np.ndarray) -> None:
        """Drop ``keys`` (absent ones are ignored)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys):
            self.changes += int(self._index.remove(keys))

    def candidates(self, query: np.ndarray, n: int) -> np.ndarray:
        """Up to ``n`` keys nearest to ``query``, nearest first (as int64)."""
        if not len(self._index):
            return np.empty(0, dtype=np.int64)
        ef = self.expansion if self.expansion is not None else expansion_search(len(self._index))
        self._index.expansion_search = max(ef, n)
        found = self._index.search(np.asarray(query, dtype=np.float32), n, threads=1)
        return np.asarray(found.keys, dtype=np.int64)

    # -- files -------------------------------------------------------------------------
    def save(self, folder: Path, stem: str, seq: int) -> Path:
        """Write the graph as ``folder/<stem>.<seq>-<bytes>.usearch`` (see :mod:`memgpt.storage.snapshots`)."""
        path = save_snapshot(folder, stem, KIND, seq, self._index.save)
        self.changes = 0
        return path

    @classmethod
    def restore(cls, path: Path, dim: int) -> AnnGraph | None:
        """The graph saved at ``path``; ``None`` when it is missing, cut short, damaged or of another dimension."""
        from usearch.index import Index

        if not whole(path):
            return None
        try:
            index = Index.restore(str(path))
        except (OSError, ValueError, RuntimeError):
            return None
        if index is None or int(index.ndim) != dim:
            return None
        return cls(dim, index)


KIND = "usearch"
"""The file kind of a saved graph."""


def saved_graphs(folder: Path, stem: str) -> list[tuple[Path, int]]:
    """The saved graphs ``<stem>.<seq>-<bytes>.usearch`` in ``folder``, newest (highest seq) first."""
    return saved_snapshots(folder, stem, KIND)
