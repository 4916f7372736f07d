"""The offline default embedder: lexical feature hashing.

This is *not* a neural embedding model. It hashes the words of a text (after
case folding and dropping common English stop words) and the character
4-grams inside those words into a fixed number of dimensions, with signed
hashing and sublinear term frequency, and normalizes the result. Texts that
share words (or word stems) get similar vectors; texts that say the same thing
in different words do not. It needs no network, no API key and no download, so
``memgpt load`` and ``memgpt archival search`` work on a fresh machine; switch
to a real model (``memgpt configure``, provider ``openai`` or a local
OpenAI-compatible server) for semantic search.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Sequence

import numpy as np

from memgpt.embeddings.provider import Embedder

WORD = re.compile(r"\w+")
GRAM = 4
GRAM_WEIGHT = 0.35
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being below between
    both but by can could did do does doing down during each few for from further had has have having he her here
    hers herself him himself his how i if in into is it its itself just me more most my myself no nor not now of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when where
    which while who whom why will with would you your yours yourself yourselves""".split()
)


def features(text: str) -> Counter[str]:
    """The weighted features of ``text``: words and the character 4-grams of longer words."""
    counts: Counter[str] = Counter()
    for word in WORD.findall(text.casefold()):
        if word in STOP_WORDS:
            continue
        counts["w:" + word] += 1.0
        if len(word) > GRAM:
            padded = f"<{word}>"
            for i in range(len(padded) - GRAM + 1):
                counts["g:" + padded[i : i + GRAM]] += GRAM_WEIGHT
    if not counts:  # only stop words or punctuation: still a valid, non-zero vector
        counts["empty:" + text.strip().casefold()[:64]] = 1.0
    return counts


def hash_vector(text: str, dim: int) -> np.ndarray:
    """The unit-length hashed feature vector of ``text``."""
    vector = np.zeros(dim, dtype=np.float32)
    for feature, weight in features(text).items():
        h = zlib.crc32(feature.encode("utf-8"))
        sign = 1.0 if (h >> 31) & 1 else -1.0
        vector[h % dim] += sign * (1.0 + math.log(weight) if weight >= 1.0 else weight)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:  # every feature cancelled out by opposite signs: fall back to one fixed dimension
        vector[zlib.crc32(text.encode("utf-8")) % dim] = 1.0
        return vector
    return vector / norm


class HashingEmbedder(Embedder):
    batch_size = 256

    def __init__(self, model: str, dim: int) -> None:
        self.model = model
        self.dim = dim

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([hash_vector(text, self.dim) for text in texts]) if texts else np.empty((0, self.dim))
