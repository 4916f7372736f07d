"""Embedding texts with a model2vec static model: a token lookup and a mean, thousands of texts a second.

Models are loaded once per process. The packaged model is read from this
distribution's folder after its checksums are verified, so nothing is ever
downloaded for it; a Hugging Face id is fetched by model2vec (or taken from
the local Hugging Face cache) the first time it is used.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from memgpt.plugin import Embedder, EmbeddingMismatch, EmbeddingUnavailable, hash_vector, scrub
from memgpt_embeddings_local.models import packaged_folder, verify

_LOADED: dict[str, Any] = {}
_LOADING = threading.Lock()


MODEL2VEC_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def read_folder(folder: Path) -> Any:
    """A ``StaticModel`` from a folder in model2vec's own layout, read with safetensors and tokenizers.

    The same as ``StaticModel.from_pretrained(folder)`` for that layout, without
    importing model2vec's hub and model-card modules (0.7 s of every command).
    """
    import json

    from model2vec.model import StaticModel
    from safetensors import safe_open
    from tokenizers import Tokenizer

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    tensors = safe_open(str(folder / "model.safetensors"), framework="numpy")
    names = set(tensors.keys())
    return StaticModel(
        vectors=tensors.get_tensor("embeddings"),
        tokenizer=Tokenizer.from_file(str(folder / "tokenizer.json")),
        weights=tensors.get_tensor("weights") if "weights" in names else None,
        token_mapping=tensors.get_tensor("mapping") if "mapping" in names else None,
        config=config,
        normalize=bool(config.get("normalize", False)),
        max_length=config.get("max_length", 512),
    )


def load_model(model: str) -> Any:
    """The model2vec ``StaticModel`` for a packaged name, a folder or a Hugging Face id (cached per process)."""
    with _LOADING:
        found = _LOADED.get(model)
        if found is not None:
            return found
        packaged = packaged_folder(model)
        folder = packaged or Path(model).expanduser()
        try:
            if packaged is not None:
                verify(packaged)
            if folder.is_dir() and all((folder / name).is_file() for name in MODEL2VEC_FILES):
                loaded = read_folder(folder)
            else:  # another layout, or a Hugging Face id: downloaded once, then read from the local cache
                from model2vec import StaticModel

                loaded = StaticModel.from_pretrained(str(folder) if folder.is_dir() else model, force_download=False)
        except EmbeddingUnavailable:
            raise
        except Exception as exc:  # model2vec, huggingface_hub, safetensors and tokenizers each raise their own
            first = scrub(str(exc)).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
            raise EmbeddingUnavailable(
                f"cannot load local embedding model {model!r}: {first} "
                "(a Hugging Face id needs the network once; a folder must hold a model2vec model)"
            ) from None
        _LOADED[model] = loaded
        return loaded


class StaticEmbedder(Embedder):
    """Mean of static token vectors, unit length; texts with no known token fall back to the lexical hash."""

    def __init__(self, model_name: str, model: Any, dim: int, batch_size: int) -> None:
        self.model = model_name
        self.dim = dim
        self.batch_size = batch_size
        self._static = model

    @classmethod
    def open(cls, model: str, dim: int, batch_size: int) -> StaticEmbedder:
        loaded = load_model(model)
        width = int(loaded.embedding.shape[1])
        if width != dim:
            raise EmbeddingMismatch(
                f"local embedding model {model!r} makes {width}-d vectors but the configuration says {dim}; run memgpt configure"
            )
        return cls(model, loaded, dim, batch_size)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = np.asarray(
            self._static.encode(list(texts), show_progress_bar=False, batch_size=max(len(texts), 1)), dtype=np.float32
        )
        norms = np.linalg.norm(vectors, axis=1)
        for i in np.flatnonzero(~(norms > 1e-6)):  # empty, emoji-only, one unknown token: no static vector exists
            vectors[i] = hash_vector(texts[i], self.dim)
        return vectors
