"""The shared exact-search index (usable by any backend that searches in numpy)."""

from __future__ import annotations

import numpy as np
import pytest

from memgpt.storage.vectors import PackedIds, VectorIndex, normalize_rows, top_k
from memgpt.storage.where import Where


def test_top_k_orders_by_score_then_position_and_ignores_masked() -> None:
    scores = np.array([0.1, 0.9, -np.inf, 0.9, 0.5], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 4]
    assert top_k(scores, 10).tolist() == [1, 3, 4, 0]
    assert top_k(np.full(3, -np.inf, dtype=np.float32), 2).tolist() == []


def _reference_top_k(scores: np.ndarray, k: int) -> list[int]:
    """The definition: finite scores, highest first, ties by position."""
    finite = [i for i in range(len(scores)) if np.isfinite(scores[i])]
    return sorted(finite, key=lambda i: (-scores[i], i))[:k]


def test_top_k_matches_its_definition_on_large_arrays_with_ties_and_masks() -> None:
    """Large arrays take the block-maxima path; ties at the k-th place and masked rows must not change the answer."""
    rng = np.random.default_rng(5)
    for n in (17, 500, 4_096, 10_000, 100_003):
        for k in (1, 11, 101):
            scores = rng.standard_normal(n).astype(np.float32)
            assert top_k(scores, k).tolist() == _reference_top_k(scores, k)
            coarse = np.round(scores, 1)  # many ties, at the k-th place too
            assert top_k(coarse, k).tolist() == _reference_top_k(coarse, k)
            masked = scores.copy()
            masked[rng.random(n) < 0.97] = -np.inf  # a narrow scope: most blocks hold no allowed row
            valid = int(np.count_nonzero(np.isfinite(masked)))
            assert top_k(masked, k, valid).tolist() == _reference_top_k(masked, k)
            assert top_k(masked, k).tolist() == _reference_top_k(masked, k)
    same = np.full(10_000, 0.5, dtype=np.float32)  # every score equal: the first k positions
    assert top_k(same, 11).tolist() == list(range(11))
    best_last = np.zeros(10_000, dtype=np.float32)
    best_last[-3:] = [0.7, 0.9, 0.8]  # the best scores in the tail beyond the last whole block
    assert top_k(best_last, 3).tolist() == [9_998, 9_999, 9_997]


def test_index_put_replace_remove_and_search() -> None:
    rng = np.random.default_rng(1)
    vectors = rng.standard_normal((50, 8)).astype(np.float32)
    index = VectorIndex(("user_id",))
    index.put([f"v{i}" for i in range(50)], vectors, [{"user_id": "a" if i % 2 else "b"} for i in range(50)])
    query = normalize_rows(vectors[7:8])[0]
    assert index.search(query, 1, Where.everything())[0][0] == "v7"
    assert {i for i, _ in index.search(query, 50, Where.of(user_id="b"))} == {f"v{i}" for i in range(0, 50, 2)}
    index.put(["v7"], -vectors[7:8], [{"user_id": "a"}])
    assert index.search(query, 1, Where.everything())[0][0] != "v7"
    index.remove(["v0", "v49", "missing"])
    assert len(index) == 48 and "v0" not in index.pos and "v49" not in index.pos
    assert index.pos[index.ids[0]] == 0
    got = dict(index.search(query, 48, Where.of(id=["v3", "v5", "gone"])))
    assert set(got) == {"v3", "v5"}


def test_built_index_equals_incremental_index() -> None:
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((30, 4)).astype(np.float32)
    ids = [f"x{i}" for i in range(30)]
    users = ["u1" if i < 10 else "u2" for i in range(30)]
    built = VectorIndex.build(ids, vectors, {"user_id": users})
    grown = VectorIndex(("user_id",))
    grown.put(ids, vectors, [{"user_id": u} for u in users])
    query = normalize_rows(vectors[3:4])[0]
    for where in (Where.everything(), Where.of(user_id="u2")):
        assert built.search(query, 5, where) == grown.search(query, 5, where)


def test_an_index_over_packed_ids_searches_without_unpacking_and_unpacks_to_change() -> None:
    """A saved index's ids stay one buffer until a write or an id filter needs the list."""
    names = ["a", "bé", "c/3", "d"]
    packed = PackedIds("\x00".join(names).encode("utf-8"), len(names))
    assert len(packed) == 4 and [packed[i] for i in range(4)] == names and packed.unpack() == names
    with pytest.raises(ValueError):
        PackedIds(b"a\x00b", 3)
    vectors = normalize_rows(np.eye(4, dtype=np.float32) + 0.1)
    index = VectorIndex.from_arrays(
        packed, vectors, np.arange(4, dtype=np.int64), {"user_id": ["u"]}, {"user_id": np.zeros(4, dtype=np.int32)}
    )
    assert index.search(vectors[1], 2, Where.everything())[0][0] == "bé"
    assert isinstance(index._ids, PackedIds)  # searching decoded only the hits
    index.put(["e"], vectors[:1], [{"user_id": "u"}])
    index.remove(["c/3"])
    assert sorted(index.ids) == ["a", "bé", "d", "e"]
    assert {i for i, _ in index.search(vectors[0], 2, Where.of(id=["a", "e"]))} == {"a", "e"}
