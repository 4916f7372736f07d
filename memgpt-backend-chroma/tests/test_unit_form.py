"""The unit form of a vector: what Chroma indexes, plus what rebuilds the exact vector from it."""

from __future__ import annotations

import numpy as np
import pytest

from memgpt_backend_chroma.unit_form import from_unit_form, unit_forms


@pytest.mark.parametrize("dim", [1, 2, 3, 64, 384, 1536])
@pytest.mark.parametrize("scale", [1e-20, 1e-3, 1.0, 7.5, 1e6])
def test_every_vector_is_rebuilt_bit_for_bit(dim: int, scale: float) -> None:
    vectors = (np.random.default_rng(dim).standard_normal((200, dim)) * scale).astype(np.float32)
    vectors[0] /= np.linalg.norm(vectors[0])  # already a unit vector, as most models give
    units, forms = unit_forms(vectors)
    assert units.dtype == np.float32
    assert np.allclose(np.linalg.norm(units.astype(np.float64), axis=1), 1.0, atol=1e-6)
    for unit, form, vector in zip(units, forms, vectors, strict=True):
        assert form is not None
        assert from_unit_form(unit, *form).tobytes() == vector.tobytes()


def test_the_patch_is_a_small_fraction_of_a_whole_copy() -> None:
    vectors = np.random.default_rng(0).standard_normal((500, 384)).astype(np.float32)
    _, forms = unit_forms(vectors)
    patch_chars = [len(patch) for _, patch in forms]
    assert max(patch_chars) < 2048 // 4  # the whole vector in base64 is 2,048 characters
    assert min(patch_chars) < max(patch_chars)  # patches really vary with the vector


def test_vectors_without_a_unit_form() -> None:
    vectors = np.array([[0.0, 0.0, 0.0], [np.inf, 1.0, 0.0], [1.0, 2.0, 2.0]], dtype=np.float32)
    units, forms = unit_forms(vectors)
    assert forms[0] is None and forms[1] is None
    assert not units[0].any()  # a zero vector stays zero in the index
    assert forms[2] is not None and from_unit_form(units[2], *forms[2]).tobytes() == vectors[2].tobytes()


def test_a_damaged_patch_changes_the_vector() -> None:
    """The patch carries information: rebuilding without it (or with another's) is not the vector."""
    vectors = np.random.default_rng(3).standard_normal((50, 384)).astype(np.float32)
    units, forms = unit_forms(vectors)
    index, (norm, _patch) = next((i, f) for i, f in enumerate(forms) if f is not None and f[1])
    assert from_unit_form(units[index], norm, "").tobytes() != vectors[index].tobytes()
