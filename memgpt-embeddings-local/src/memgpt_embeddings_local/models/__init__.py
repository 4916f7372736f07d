"""The models this distribution ships, and reading a model2vec folder's dimension without loading it.

Each packaged model is a folder in model2vec's format (``model.safetensors``,
``tokenizer.json``, ``config.json``) with a ``provenance.json`` that names what
it was derived from and the sha256 of each file; :func:`verify` checks them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from memgpt.plugin import EmbeddingUnavailable

HERE = Path(__file__).parent
PACKAGED = tuple(sorted(p.name for p in HERE.iterdir() if (p / "provenance.json").is_file()))


def packaged_folder(model: str) -> Path | None:
    """The folder of a packaged model, or ``None`` for any other name."""
    return HERE / model if model in PACKAGED else None


def packaged_dimension(model: str) -> int:
    dim = read_dimension(str(HERE / model))
    assert dim is not None, model
    return dim


def read_dimension(folder: str) -> int | None:
    """The vector width of the model2vec model in ``folder``, from its safetensors header; ``None`` if not one."""
    path = Path(folder).expanduser() / "model.safetensors"
    try:
        with path.open("rb") as handle:
            size = int.from_bytes(handle.read(8), "little")
            if not 0 < size < 1 << 24:
                return None
            header = json.loads(handle.read(size))
    except (OSError, ValueError):
        return None
    for name in ("embeddings", "embedding.weight"):
        shape = header.get(name, {}).get("shape")
        if isinstance(shape, list) and len(shape) == 2:
            return int(shape[1])
    return None


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(folder: Path) -> None:
    """Check a packaged model's files against its ``provenance.json``; a one-line error naming the damaged file."""
    try:
        expected = json.loads((folder / "provenance.json").read_text())["files"]
        for name, digest in expected.items():
            if sha256(folder / name) != digest:
                raise EmbeddingUnavailable(
                    f"the packaged embedding model file {folder / name} is damaged (its checksum differs); "
                    "reinstall it: pip install --force-reinstall memgpt-embeddings-local"
                )
    except (OSError, ValueError, KeyError) as exc:
        raise EmbeddingUnavailable(
            f"the packaged embedding model in {folder} cannot be read ({type(exc).__name__}: {exc}); "
            "reinstall it: pip install --force-reinstall memgpt-embeddings-local"
        ) from None
