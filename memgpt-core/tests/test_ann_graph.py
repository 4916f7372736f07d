"""The HNSW graph on its own: every vector it holds can be found, and what its walk cannot reach is kept aside.

usearch's concurrent insert strands nodes no search reaches (usearch issue
#735), and HNSW's neighbour pruning strands a few more on hard data. A
passage stranded so would never be returned, however close the query; the
graph checks each insert and keeps such vectors as *strays*, scored exactly
at every search and saved with the graph.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from memgpt.storage import ann as ann_module
from memgpt.storage import graph_links
from memgpt.storage.ann import AnnGraph, saved_graphs
from memgpt.storage.graph_links import at_risk_in, keys_at_risk, unreachable_keys
from memgpt.testing import random_unit_vectors


def clustered_unit_vectors(n: int, dim: int, clusters: int, spread: float, seed: int) -> np.ndarray:
    """Hard data for HNSW: points spread in every dimension around a few centres."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    points = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def walk_finds(graph: AnnGraph, key: int, vector: np.ndarray) -> bool:
    """Whether the graph's own walk (strays left out) returns ``key`` when searching for its vector."""
    return not graph._unfound(np.array([key], dtype=np.uint64), vector[None, :])[0]


def unfindable(graph: AnnGraph, vectors: np.ndarray, keys: list[int] | None = None) -> list[int]:
    """The keys (all, or ``keys``) whose own vector does not bring them back among the graph's candidates."""
    return [k for k in (range(len(vectors)) if keys is None else keys) if k not in graph.candidates(vectors[k], 8)]


@pytest.mark.parametrize("build", ["bulk, checked once", "chunk by chunk"])
def test_every_vector_a_graph_holds_is_found_by_searching_for_it(build: str) -> None:
    """Inserted on every core at once, a few of 1,500 random vectors used to be unreachable in most builds."""
    vectors = random_unit_vectors(1_500, dim=32, seed=11)
    for _ in range(3):
        graph = AnnGraph(32)
        for start in range(0, len(vectors), 500):
            graph.put(np.arange(start, start + 500), vectors[start : start + 500], check=build == "chunk by chunk")
        if build == "bulk, checked once":
            graph.check_all()
        assert unfindable(graph, vectors) == []


def test_what_the_walk_cannot_reach_is_kept_aside_searched_and_saved_with_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 16 links per node: with the default 32 a build of this size seldom strands a node for the check to keep
    monkeypatch.setattr(ann_module, "CONNECTIVITY", 16)
    vectors = clustered_unit_vectors(10_000, 384, clusters=20, spread=0.8, seed=3)
    for _ in range(6):  # a build strands two or so of these; which ones depends on thread timing
        graph = AnnGraph(384)
        for start in range(0, len(vectors), 4_096):
            graph.put(np.arange(start, min(start + 4_096, len(vectors))), vectors[start : start + 4_096], check=False)
        graph.check_all()
        if len(graph.strays):
            break
    strays = graph.strays.tolist()
    assert strays, "no build of 10,000 clustered vectors stranded a node: the check has nothing to keep"
    assert not any(walk_finds(graph, k, vectors[k]) for k in strays)  # truly out of the walk's reach
    sample = np.random.default_rng(0).choice(len(vectors), 500, replace=False).tolist()
    assert unfindable(graph, vectors, strays + sample) == []  # yet they are found, and so is the rest

    path = graph.save(tmp_path, "memory.archival", seq=7)
    restored = AnnGraph.restore(path, 384)
    assert restored is not None and restored.strays.tolist() == strays
    assert all(k in restored.candidates(vectors[k], 8) for k in strays)

    restored.remove(np.array(strays[:1]))  # a deleted row is no longer proposed
    assert strays[0] not in restored.candidates(vectors[strays[0]], 8).tolist()
    assert restored.strays.tolist() == strays[1:]


def test_a_saved_graph_whose_strays_record_is_damaged_is_not_loaded(tmp_path: Path) -> None:
    vectors = random_unit_vectors(600, dim=32, seed=5)
    graph = AnnGraph(32)
    graph.put(np.arange(600), vectors)
    path = graph.save(tmp_path, "memory.archival", seq=1)
    assert AnnGraph.restore(path, 32) is not None
    data = bytearray(path.read_bytes())
    data[-16:-8] = np.uint64(10**12).tobytes()  # a count of strays larger than the file
    damaged = tmp_path / path.name.replace(".1-", ".2-")
    damaged.write_bytes(bytes(data))
    assert AnnGraph.restore(damaged, 32) is None
    assert [p for p, _ in saved_graphs(tmp_path, "memory.archival")] == [damaged, path]


def test_many_copies_of_one_vector_are_not_mistaken_for_stranded_nodes() -> None:
    """The same passage loaded twice (or fifty times) has one vector: a search returns its copies in any order."""
    vectors = random_unit_vectors(800, dim=32, seed=2)
    vectors[100:150] = vectors[100]
    graph = AnnGraph(32)
    graph.put(np.arange(800), vectors)
    assert len(graph.strays) == 0


def reachable_by_exhaustive_walk(graph: AnnGraph, keys: np.ndarray, vectors: np.ndarray) -> list[bool]:
    """Whether a search as wide as the graph returns each key for its own vector: the walk visits all it can reach."""
    index = graph._index
    index.expansion_search = len(index) + 1
    found = index.search(vectors[keys], 1, threads=0)
    return (np.asarray(found.keys).reshape(-1) == keys).tolist()


def test_the_links_read_from_the_graph_tell_exactly_which_vectors_no_search_reaches() -> None:
    vectors = clustered_unit_vectors(10_000, 384, clusters=20, spread=0.8, seed=3)
    for _ in range(6):
        graph = AnnGraph(384)
        for start in range(0, len(vectors), 4_096):
            graph.put(np.arange(start, min(start + 4_096, len(vectors))), vectors[start : start + 4_096], check=False)
        lost = unreachable_keys(graph._index)
        if lost is not None and len(lost):
            break
    assert lost is not None, "usearch's serialized layout was not understood"
    assert len(lost), "no build of 10,000 clustered vectors stranded a node"
    assert not any(reachable_by_exhaustive_walk(graph, lost.astype(np.int64), vectors))
    others = np.setdiff1d(np.random.default_rng(0).choice(len(vectors), 400, replace=False), lost.astype(np.int64))
    assert all(reachable_by_exhaustive_walk(graph, others, vectors))  # an exhaustive walk is slow: a sample
    at_risk = keys_at_risk(graph._index)
    assert set(lost.tolist()) < set(at_risk.tolist())  # the weakly linked are at risk too
    graph.remove(lost[:1])
    assert unreachable_keys(graph._index).tolist() == lost[1:].tolist()  # a removed node is nobody's loss


@pytest.mark.parametrize("damage", ["truncated", "another magic", "a link past the end"])
def test_a_graph_layout_not_understood_reads_as_unknown_and_the_check_searches_instead(damage: str, monkeypatch) -> None:
    vectors = random_unit_vectors(1_500, dim=32, seed=11)
    graph = AnnGraph(32)
    graph.put(np.arange(1_500), vectors, check=False)
    data = np.frombuffer(graph._index.save(), dtype=np.uint8).copy()
    assert at_risk_in(data, weak_links=-1) is not None
    if damage == "truncated":
        data = data[:-1]
    elif damage == "another magic":
        head = 8 + 1_500 * 32 * 2  # rows and width, then the float16 vectors
        data[head : head + 7] = np.frombuffer(b"usearcx", dtype=np.uint8)
    else:
        size, _, _, _, starts, _ = graph_links._layout(data)
        data[starts[0] + 14 : starts[0] + 18] = np.frombuffer(np.uint32(size + 5).tobytes(), dtype=np.uint8)
    assert at_risk_in(data, weak_links=-1) is None

    monkeypatch.setattr(ann_module, "keys_at_risk", lambda index: None)  # as with a usearch whose layout changed
    graph.check_all()
    assert unfindable(graph, vectors) == []
