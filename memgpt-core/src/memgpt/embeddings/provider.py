"""The embedding provider contract: :class:`EmbeddingProvider`, :class:`Embedder`, :class:`EmbeddingConfig`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from memgpt.errors import ConfigError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class EmbeddingConfig:
    """Which provider and model embed texts: the ``[embedding]`` section, and each agent's copy."""

    provider: str
    model: str
    dim: int
    endpoint: str = ""
    chunk_size: int = 300

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EmbeddingConfig:
        try:
            return cls(
                provider=str(data["provider"]),
                model=str(data["model"]),
                dim=int(data["dim"]),
                endpoint=str(data.get("endpoint") or ""),
                chunk_size=int(data.get("chunk_size") or 300),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"incomplete embedding configuration {dict(data)!r}: {exc}") from None

    def __str__(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"{self.provider}:{self.model} ({self.dim}-d{where})"


class Embedder(ABC):
    """An opened provider: embeds lists of texts with one model."""

    model: str
    dim: int
    batch_size: int = 64

    @abstractmethod
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text (``len(texts) x dim``), any float dtype; at most ``batch_size`` texts."""


class EmbeddingProvider(ABC):
    """A kind of embedding model. Subclass it and register an instance from ``register_embedding_providers``."""

    name: ClassVar[str]
    label: ClassVar[str]
    models: ClassVar[Mapping[str, int]]
    """Models this provider knows, with their dimensions."""
    default_model: ClassVar[str]
    default_endpoint: ClassVar[str | None] = None
    """``None`` when the provider needs no endpoint (so ``memgpt configure`` does not ask)."""
    open_models: ClassVar[bool] = False
    """Whether models other than :attr:`models` are accepted (their dimension then comes from the config)."""
    batch_size: ClassVar[int] = 64
    key_variables: ClassVar[tuple[str, ...]] = ()
    """Environment variables the provider reads its API key from, first set wins (``memgpt configure`` names them)."""
    default_priority: ClassVar[int] = 0
    """Which installed provider a new home starts with: the highest wins (``hashing`` is 0, the fallback).

    A provider that works offline with no setup and searches by meaning should
    rank above 0; one that needs a server, a key or a download should rank below.
    """

    def dimension(self, model: str, configured: int | None = None) -> int:
        """The dimension of ``model``: known, or the configured one for an open model list."""
        if model in self.models:
            return self.models[model]
        if self.open_models and configured:
            return int(configured)
        known = ", ".join(self.models) or "none"
        if self.open_models:
            raise ConfigError(f"embedding model {model!r} of provider {self.name!r} needs a dimension (--embedding-dim)")
        raise ConfigError(f"provider {self.name!r} has no embedding model {model!r}; it offers: {known}")

    @abstractmethod
    def embedder(self, config: EmbeddingConfig) -> Embedder:
        """Open an embedder for ``config`` (import client libraries here, not at module level)."""


def __getattr__(name: str) -> object:
    """``open_embedder`` and ``preferred_provider`` moved to :mod:`memgpt.embeddings.installed` (0.6); the old import warns for one release."""
    if name in ("open_embedder", "preferred_provider"):
        from memgpt.deprecation import moved

        return moved(f"memgpt.embeddings.provider.{name}", f"memgpt.embeddings.installed.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
