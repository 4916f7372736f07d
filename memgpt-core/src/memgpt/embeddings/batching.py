"""Embedding many texts in checked batches."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from memgpt.embeddings.provider import Embedder
from memgpt.errors import EmbeddingMismatch


def embed_texts(embedder: Embedder, texts: Sequence[str], progress: Callable[[int], None] | None = None) -> np.ndarray:
    """Embed ``texts`` in the embedder's batches; checks every batch's shape and values.

    ``progress`` is called with the number of texts embedded by each batch.
    """
    out = np.empty((len(texts), embedder.dim), dtype=np.float32)
    size = max(1, int(embedder.batch_size))
    for start in range(0, len(texts), size):
        batch = list(texts[start : start + size])
        vectors = np.asarray(embedder.embed(batch), dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(batch):
            raise EmbeddingMismatch(
                f"embedding model {embedder.model!r} returned {vectors.shape[0] if vectors.ndim else 0} vectors "
                f"for {len(batch)} texts"
            )
        if vectors.shape[1] != embedder.dim:
            raise EmbeddingMismatch(
                f"embedding model {embedder.model!r} returned {vectors.shape[1]}-d vectors; "
                f"the configuration says {embedder.dim}-d (fix --embedding-dim or the model)"
            )
        if not np.isfinite(vectors).all():
            raise EmbeddingMismatch(f"embedding model {embedder.model!r} returned NaN or infinite values")
        out[start : start + len(batch)] = vectors
        if progress is not None:
            progress(len(batch))
    return out
