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

An HNSW walk cannot reach every node: the neighbour heuristic can drop a
node's last in-link, and usearch's concurrent ``add`` strands more (usearch
issue #735: measured 3 of 1,500 random 32-d vectors, 107 of 100k clustered
384-d ones, against 102 when inserting on one thread). Such a passage would
never be found, however close the query. So every insert is checked: a
graph built in bulk reads its own links for the nodes no walk reaches or few
links lead to (:mod:`memgpt.storage.graph_links`), single inserts search for
themselves. A node the walk cannot find is inserted again on one thread, and
one still lost is kept as a *stray*: its vector is scored exactly at every
search, next to the graph's candidates, and its key is saved after the graph
in the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from memgpt.storage.graph_links import keys_at_risk
from memgpt.storage.snapshots import save_snapshot, saved_snapshots, whole

ANN_AFTER = 200_000
"""Default size (vectors in one agent's or source's partition) from which the local backend searches with a graph."""
CONNECTIVITY = 32
"""Links per node (HNSW's M). Measured on the benchmark's clustered 384-d data at a million vectors (2 cores),
through memgpt: M 16 reached recall@10 0.987 at ef 4096 in 18.4 ms, M 32 0.987 at ef 1024 in 10.9 ms and 0.995 at
ef 2048 in 12.5 ms (benchmarks/results/ann-scale.md), below Chroma's time at equal recall; M 32 holds 1.04x the raw
float32 vectors (0.87x at M 16) and its build took 1,269 s against about 750 s."""
EXPANSION_ADD = 128
"""Candidates examined when inserting (HNSW's efConstruction)."""
EXPANSION_SEARCH = 1024
"""Candidates examined per query (HNSW's ef) at least; a larger graph examines more (:func:`expansion_search`)."""
VECTORS_PER_EXPANSION = 250
"""A graph of n vectors examines n / this many candidates per query, when that is more than EXPANSION_SEARCH."""
EXPANSION_MAX = 10_000
"""Candidates examined per query at most."""
FINDING_PASSES = ((4, 1), (64, 8), (1024, 8), (4096, 8))
"""(ef, results) of each pass that checks inserted vectors can be found: each searches again, wider, for what the
last missed. A vector is found if its own key is among the results, or if all of at least FINDING_TWINS results are
exact duplicates of it. The first pass is cheap and settles most (at 100k clustered vectors 91% in a third of the
time of ef 16)."""
FINDING_TWINS = 8
"""Exact duplicates a pass must return, all of them, to count a vector as found though its own key is not among them."""
SAME_VECTOR = 1e-3
"""Cosine distance under which two float16 vectors count as the same vector."""
CHECK_CHUNK = 16_384
"""Vectors read back from the graph per step when checking the whole graph."""
_STRAYS_MAGIC = b"MGSTRAYS"
"""Ends a saved graph's file: after the usearch data, the strays' keys (int64), their count (uint64) and this."""


def expansion_search(size: int) -> int:
    """HNSW's ef for a graph of ``size`` vectors: recall@10 of at least 0.99 on hard data.

    Measured on the benchmark's clustered 384-d data (benchmarks/data.py:
    within a cluster the points are spread in all 384 dimensions, harder than
    text embeddings), M 32, the 64 best candidates rescored exactly: at 200k
    vectors recall@10 0.980 at ef 256, 0.997 at 512, 1.000 at 1024; at a
    million 0.946 at 512, 0.982 at 1024, 0.988 at 2048, 0.997 at 4096 and
    0.998 at 8192. So ef grows with the graph: 1024 up to 256k vectors, 4,000
    at a million, at most 10,000.
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
        self._strays: dict[int, np.ndarray] = {}
        """Keys the graph's walk cannot find, with their unit vectors: scored exactly at every search."""
        self._stray_matrix: tuple[np.ndarray, np.ndarray] | None = None
        """``_strays`` as (keys, vectors) arrays, rebuilt after a change."""

    def __len__(self) -> int:
        return len(self._index)

    @property
    def nbytes(self) -> int:
        """Memory the graph holds (vectors and links, and the strays' vectors)."""
        return int(self._index.memory_usage) + sum(v.nbytes for v in self._strays.values())

    @property
    def strays(self) -> np.ndarray:
        """The keys the graph's walk cannot find (kept aside and searched exactly), as int64."""
        return np.array(sorted(self._strays), dtype=np.int64)

    def put(self, keys: np.ndarray, vectors: np.ndarray, check: bool = True) -> None:
        """Insert or replace the vectors of ``keys``.

        With ``check`` (the default), each inserted vector is then searched
        for; one the graph cannot find is re-inserted or kept as a stray. A
        bulk build can pass ``check=False`` per chunk and call
        :meth:`check_all` once at the end instead, which also catches nodes
        that later inserts cut off.
        """
        keys = np.asarray(keys, dtype=np.uint64)
        if not len(keys):
            return
        vectors = np.asarray(vectors, dtype=np.float32).reshape(len(keys), self.dim)
        present = keys[self._index.contains(keys)]
        if len(present):
            self._index.remove(present)
        self._index.add(keys, vectors, threads=0)
        self.changes += len(keys)
        if check:
            self._keep_findable(keys, vectors)

    def remove(self, keys: np.ndarray) -> None:
        """Drop ``keys`` (absent ones are ignored)."""
        keys = np.asarray(keys, dtype=np.uint64)
        if len(keys):
            self.changes += int(self._index.remove(keys))
            self._set_strays(keys.astype(np.int64), np.empty(0, dtype=np.int64), None)

    def check_all(self) -> None:
        """Make sure every vector the graph holds can be found: re-insert or keep as strays those it cannot find.

        Reads the graph's links (:mod:`memgpt.storage.graph_links`) for the
        nodes a search may miss, unreachable or weakly linked, and searches
        for those only: seconds at a million vectors. Where usearch's layout
        is not understood, searches for every vector instead.
        """
        self._set_strays(self.strays, np.empty(0, dtype=np.int64), None)
        at_risk = keys_at_risk(self._index)
        keys = np.asarray(self._index.keys, dtype=np.uint64) if at_risk is None else at_risk
        for start in range(0, len(keys), CHECK_CHUNK):
            chunk = keys[start : start + CHECK_CHUNK]
            self._keep_findable(chunk, self._vectors_of(chunk))

    def candidates(self, query: np.ndarray, n: int) -> np.ndarray:
        """Up to ``n`` keys nearest to ``query``, nearest first (as int64): the graph's, merged with the strays."""
        if not len(self._index):
            return np.empty(0, dtype=np.int64)
        ef = self.expansion if self.expansion is not None else expansion_search(len(self._index))
        self._index.expansion_search = max(ef, n)
        query = np.asarray(query, dtype=np.float32)
        found = self._index.search(query, n, threads=1)
        keys = np.asarray(found.keys, dtype=np.int64)
        if not self._strays:
            return keys
        stray_keys, stray_vectors = self._stray_arrays()
        norm = float(np.linalg.norm(query)) or 1.0
        stray_distances = 1.0 - (stray_vectors @ query) / norm
        merged_keys = np.concatenate([keys, stray_keys])
        merged = np.concatenate([np.asarray(found.distances, dtype=np.float32), stray_distances.astype(np.float32)])
        order = np.argsort(merged, kind="stable")
        _, first = np.unique(merged_keys[order], return_index=True)  # a stray the walk did find is listed once
        return merged_keys[order][np.sort(first)][:n]

    # -- keeping every node findable ------------------------------------------------------
    def _keep_findable(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        """Re-insert on one thread what the walk cannot find among ``keys``; keep what is still lost as strays."""
        lost = self._unfound(keys, vectors)
        if lost.any():
            again = keys[lost]
            self._index.remove(again)
            self._index.add(again, vectors[lost], threads=1)  # one thread: concurrent adds strand nodes (usearch #735)
            still = self._unfound(again, vectors[lost])
            lost[np.flatnonzero(lost)[~still]] = False
        self._set_strays(keys.astype(np.int64), keys[lost].astype(np.int64), vectors[lost])

    def _unfound(self, keys: np.ndarray, vectors: np.ndarray) -> np.ndarray:
        """Which of ``keys`` a search for their own vector does not return, widening ef pass by pass."""
        missing = np.ones(len(keys), dtype=bool)
        size = len(self._index)
        for ef, results in FINDING_PASSES:
            todo = np.flatnonzero(missing)
            count = min(results, size)
            if not len(todo) or not count:
                break
            self._index.expansion_search = ef
            found = self._index.search(vectors[todo], count, threads=0)
            found_keys = np.asarray(found.keys, dtype=np.uint64).reshape(len(todo), -1)
            distances = np.asarray(found.distances, dtype=np.float32).reshape(len(todo), -1)
            counts = np.asarray(getattr(found, "counts", [len(found.keys)])).reshape(len(todo))
            valid = np.arange(found_keys.shape[1])[None, :] < counts[:, None]
            hit = ((found_keys == keys[todo][:, None]) & valid).any(axis=1)
            twins = (counts >= FINDING_TWINS) & ((distances <= SAME_VECTOR) | ~valid).all(axis=1)  # all duplicates of it
            missing[todo[hit | twins]] = False
            if ef >= size and count >= results:
                break  # a walk this wide already went everywhere it can, asking for as many
        return missing

    def _set_strays(self, checked: np.ndarray, lost: np.ndarray, vectors: np.ndarray | None) -> None:
        """Forget ``checked`` keys as strays, then keep ``lost`` (with ``vectors``) as strays."""
        if not self._strays and not len(lost):
            return
        for key in checked.tolist():
            self._strays.pop(key, None)
        for key, vector in zip(lost.tolist(), vectors if vectors is not None else [], strict=False):
            self._strays[key] = np.array(vector, dtype=np.float32)
        self._stray_matrix = None

    def _stray_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._stray_matrix is None:
            keys = np.array(list(self._strays), dtype=np.int64)
            self._stray_matrix = (keys, np.stack([self._strays[k] for k in keys.tolist()]))
        return self._stray_matrix

    def _vectors_of(self, keys: np.ndarray) -> np.ndarray:
        """The graph's (float16-rounded) vectors of ``keys``, as float32 rows."""
        got = self._index.get(keys, dtype=np.float32)
        rows = np.stack(got) if isinstance(got, tuple) else np.asarray(got)
        return rows.astype(np.float32).reshape(len(keys), self.dim)

    # -- files -------------------------------------------------------------------------
    def save(self, folder: Path, stem: str, seq: int) -> Path:
        """Write the graph as ``folder/<stem>.<seq>-<bytes>.usearch`` (see :mod:`memgpt.storage.snapshots`): usearch's data, then the strays."""

        def write(tmp: str) -> None:
            self._index.save(tmp)
            strays = self.strays
            with open(tmp, "ab") as handle:
                handle.write(strays.tobytes() + np.uint64(len(strays)).tobytes() + _STRAYS_MAGIC)

        path = save_snapshot(folder, stem, KIND, seq, write)
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
        graph = cls(dim, index)
        strays = _saved_strays(path)
        if strays is None:
            return None
        present = strays[index.contains(strays.astype(np.uint64))] if len(strays) else strays
        if len(present):
            graph._set_strays(present, present, graph._vectors_of(present.astype(np.uint64)))
        return graph


def _saved_strays(path: Path) -> np.ndarray | None:
    """The stray keys saved after a graph's data; none from a file saved before strays were kept; ``None`` if damaged."""
    try:
        with open(path, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            if size < 16:
                return None
            handle.seek(size - 16)
            tail = handle.read(16)
            if tail[8:] != _STRAYS_MAGIC:
                return np.empty(0, dtype=np.int64)  # saved by 0.6.0 or earlier: no strays recorded
            count = int(np.frombuffer(tail[:8], dtype=np.uint64)[0])
            if count * 8 + 16 > size:
                return None
            handle.seek(size - 16 - 8 * count)
            return np.frombuffer(handle.read(8 * count), dtype=np.int64).copy()
    except OSError:
        return None


KIND = "usearch"
"""The file kind of a saved graph."""


def saved_graphs(folder: Path, stem: str) -> list[tuple[Path, int]]:
    """The saved graphs ``<stem>.<seq>-<bytes>.usearch`` in ``folder``, newest (highest seq) first."""
    return saved_snapshots(folder, stem, KIND)
