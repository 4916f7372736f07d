"""The shared exact-search index (usable by any backend that searches in numpy)."""

from __future__ import annotations

import numpy as np

from memgpt.storage.vectors import VectorIndex, normalize_rows, top_k
from memgpt.storage.where import Where


def test_top_k_orders_by_score_then_position_and_ignores_masked() -> None:
    scores = np.array([0.1, 0.9, -np.inf, 0.9, 0.5], dtype=np.float32)
    assert top_k(scores, 3).tolist() == [1, 3, 4]
    assert top_k(scores, 10).tolist() == [1, 3, 4, 0]
    assert top_k(np.full(3, -np.inf, dtype=np.float32), 2).tolist() == []


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
