"""The storage contract a backend implements: one :class:`Connector` per table.

Backends implement these methods on :class:`~memgpt.storage.codec.Row` s and
never see unvalidated input: the core's :class:`~memgpt.storage.Collection`
checks records, embedding dimensions and scopes, removes duplicate ids from a
batch, normalizes query vectors, ANDs the caller's scope into every
:class:`~memgpt.storage.Where`, short-circuits filters that match nothing and
checks what comes back. What a backend must guarantee is written on each
method; the conformance suite in :mod:`memgpt.testing` checks all of it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from enum import Enum

import numpy as np

from memgpt.records import EmbeddingSpec, Table
from memgpt.storage.codec import Row
from memgpt.storage.where import Where


class Capability(str, Enum):
    """Optional abilities of a connector; anything not declared fails with a clear error."""

    VECTOR_SEARCH = "vector_search"
    TEXT_SEARCH = "text_search"
    DATE_SEARCH = "date_search"
    PERSISTENT = "persistent"
    """Records survive closing the store and opening the same location again."""


ALL_CAPABILITIES = frozenset(Capability)


class Connector(ABC):
    """One table (see :class:`~memgpt.records.Table`) at one backend location."""

    table: Table
    capabilities: frozenset[Capability] = ALL_CAPABILITIES
    max_batch_size: int = 10_000
    """The core never passes more rows than this to :meth:`upsert` at once."""

    # -- embedding spec -------------------------------------------------------------
    @abstractmethod
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        """The embedding model and dimension this table holds, or ``None`` before its first vector."""

    @abstractmethod
    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Record ``spec`` unless one is recorded already; return the recorded one.

        Must be atomic: of two processes racing to record different specs,
        both get back the same winner.
        """

    # -- writes ---------------------------------------------------------------------
    @abstractmethod
    def upsert(self, rows: Sequence[Row]) -> None:
        """Insert rows, replacing any stored row with the same id (ids are unique in ``rows``).

        Either every row is written or, on error, the store is left as it was
        for as many rows as the engine allows (local: the whole batch).
        """

    def bulk_load(self, rows: int) -> AbstractContextManager[None]:
        """A scope in which about ``rows`` rows arrive in several :meth:`upsert` calls (a load, a migration, an import).

        An engine may defer index maintenance to the end of the scope (build
        the index once over every row instead of growing it row by row), as
        long as searches stay correct meanwhile and a crash inside the scope
        leaves a store the next write or open repairs. The default does
        nothing special.
        """
        return nullcontext()

    @abstractmethod
    def delete(self, where: Where) -> int:
        """Delete the rows ``where`` matches; return how many were deleted."""

    @abstractmethod
    def drop(self) -> None:
        """Delete every row and the recorded embedding spec of this table."""

    # -- reads ----------------------------------------------------------------------
    @abstractmethod
    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        """The rows with these ids that ``where`` matches, in any order; missing ids are skipped."""

    @abstractmethod
    def count(self, where: Where) -> int:
        """How many rows ``where`` matches."""

    @abstractmethod
    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        """Every row ``where`` matches, exactly once, in batches of at most ``batch_size``.

        Order is the backend's choice; memory must stay bounded by the batch
        size (never load the whole table).
        """

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """The ``k`` rows ``where`` matches that are most similar to ``query``, best first.

        ``query`` is float32 with unit norm and the table's dimension. The score
        is the cosine similarity, in [-1, 1]. Rows without embedding are never
        returned. Exactly ``min(k, matching rows with embeddings)`` rows must
        come back even when the filter is selective.
        """
        raise NotImplementedError

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        """Rows ``where`` matches whose text contains ``text``, ignoring case.

        Ordered by ``(created_at, id)``; ``offset`` rows skipped, at most
        ``limit`` returned. ASCII letters must match case-insensitively; other
        scripts at least exactly.
        """
        raise NotImplementedError

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        """Rows ``where`` matches with ``start <= created_at <= end`` (epoch µs; None = open).

        Ordered by ``(created_at, id)``, with ``offset`` and ``limit`` as in :meth:`text_search`.
        """
        raise NotImplementedError

    def text_count(self, text: str, where: Where) -> int:
        """How many rows :meth:`text_search` would find. The default pages through it; override with a native count."""
        return _count_pages(lambda limit, offset: self.text_search(text, where, limit, offset))

    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        """How many rows :meth:`date_search` would find. The default pages through it; override with a native count."""
        return _count_pages(lambda limit, offset: self.date_search(start, end, where, limit, offset))

    def close(self) -> None:
        """Release what this connector holds (the store's close releases the rest)."""


def _count_pages(page: Callable[[int, int], list[Row]], size: int = 1_000) -> int:
    total = 0
    while True:
        found = len(page(size, total))
        total += found
        if found < size:
            return total
