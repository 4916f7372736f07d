"""The embedder: numpy only, imported when a text is first embedded.

A real provider would call its model or service here (one request per batch
of at most ``batch_size`` texts) and turn its errors into
``EmbeddingUnavailable`` / ``EmbeddingError`` with one line that says what to do.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from memgpt.plugin import Embedder, hash_vector


@lru_cache(maxsize=65_536)
def _direction(trigram: str, dim: int) -> np.ndarray:
    """A fixed pseudo-random direction for a trigram (the same on every machine and run)."""
    seed = int.from_bytes(hashlib.blake2b(trigram.encode("utf-8"), digest_size=8).digest(), "little")
    return np.random.default_rng(seed).standard_normal(dim).astype(np.float32)


def trigrams(text: str) -> Counter[str]:
    """Character trigrams of each lowercased word, with word boundaries marked: "tea" -> " te", "tea", "ea "."""
    found: Counter[str] = Counter()
    for word in text.lower().split():
        padded = f" {word} "
        found.update(padded[i : i + 3] for i in range(len(padded) - 2))
    return found


def sketch(text: str, dim: int) -> np.ndarray:
    """The unit-length sketch of ``text``; a text without trigrams (empty, spaces) gets the core's hashed vector."""
    vector = np.zeros(dim, dtype=np.float32)
    for trigram, count in trigrams(text).items():
        vector += (1.0 + np.log(count)) * _direction(trigram, dim)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0.0 else hash_vector(text, dim)


class SketchEmbedder(Embedder):
    batch_size = 128

    def __init__(self, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([sketch(text, self.dim) for text in texts]) if texts else np.empty((0, self.dim), dtype=np.float32)
