"""The helpers backends share (memgpt.storage.helpers)."""

from __future__ import annotations

import numpy as np

from memgpt.storage.helpers import chunked, like_pattern, page_by_time, vector_from_base64, vector_to_base64


def test_vectors_survive_base64_bit_exactly() -> None:
    vector = np.array([0.1, -3.5, 1e-38, 3.4e38, np.float32(1) / 3], dtype=np.float32)
    back = vector_from_base64(vector_to_base64(vector))
    assert back.dtype == np.float32 and back.tobytes() == vector.tobytes()


def test_like_pattern_escapes_wildcards_and_the_escape() -> None:
    assert like_pattern("50%_off\\x") == "%50\\%\\_off\\\\x%"
    assert like_pattern("a!b", escape="!") == "%a!!b%"


def test_page_by_time_orders_by_time_then_id_and_bounds_memory() -> None:
    keys = [(3, "c", 1), (1, "b", 2), (1, "a", 3), (2, "z", 4), (5, "e", 5)]
    assert page_by_time(iter(keys), 0, 2) == [(1, "a", 3), (1, "b", 2)]
    assert page_by_time(iter(keys), 2, 10) == [(2, "z", 4), (3, "c", 1), (5, "e", 5)]
    assert page_by_time(iter(keys), 1, 0) == []


def test_chunked() -> None:
    assert [list(c) for c in chunked([1, 2, 3, 4, 5], 2)] == [[1, 2], [3, 4], [5]]
