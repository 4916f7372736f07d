"""One table kept in two engine collections: rows with an embedding, and rows without.

Most vector engines (Chroma, Qdrant, Milvus, LanceDB) cannot hold a record
without a vector, or cannot index a vector column that is sometimes empty.
:class:`PairedConnector` implements the whole :class:`~memgpt.storage.connector.Connector`
contract, except vector search and the embedding spec, on top of a few
per-collection primitives an engine supplies: it splits writes between the
two collections, moves a record that gained or lost its embedding, sums
counts, chains scans, and pages ordered searches (reading only the keys of
the matches, then one page of rows, each from the collection it is in).

The two collections are :attr:`PairedConnector.vectors` (``memgpt_<table>``,
created by ``ensure_embedding_spec``) and :attr:`PairedConnector.plain`
(``memgpt_<table>_plain``, created at the first record without embedding).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.codec import Row
from memgpt.storage.connector import Connector
from memgpt.storage.helpers import (
    KEYS_BY_USER,
    KEYS_MARKER,
    collection_name,
    page_by_time,
    split_by_embedding,
    upgrade_collections,
)
from memgpt.storage.where import Where

T = TypeVar("T")


@dataclass(frozen=True)
class Side:
    """One of a table's two engine collections: its engine-side ``name`` and whether it holds ``vectors``."""

    name: str
    vectors: bool


class PairedConnector(Connector):
    """Base class for a connector whose engine keeps each table as two collections (see the module docstring).

    Subclasses call ``super().__init__(store, table, shelf)`` and implement the
    per-collection primitives below (each receives a :class:`Side`), plus
    :meth:`ensure_embedding_spec` and :meth:`search_vectors` (on :attr:`vectors`
    only). An engine whose collections carry metadata implements
    :meth:`side_metadata` and :meth:`update_side_metadata`, and gets
    :meth:`get_embedding_spec` and the re-keying marker from them. Conditions for text
    and date searches are the engine's own objects (a filter expression, a
    clause...): :meth:`text_condition` and :meth:`date_condition` build them,
    and :meth:`count_side` and :meth:`keys_of_side` receive them.

    Every primitive runs inside :meth:`errors` (writes inside :meth:`writing`,
    reads inside :meth:`reading`); override those to translate the engine's
    exceptions, hold a write lock or retry reads.
    """

    def __init__(self, store: Any, table: Table, shelf: str = "", prefix: str = "memgpt_") -> None:
        self.store = store
        self.client = getattr(store, "client", None)
        """The store's engine client (``store.client``), when it has one."""
        self.table = table
        name = collection_name(table, shelf, prefix)
        self.vectors = Side(name, True)
        self.plain = Side(f"{name}_plain", False)

    @property
    def name(self) -> str:
        """The engine-side name of the collection of records with embedding (the other one adds ``_plain``)."""
        return self.vectors.name

    @property
    def plain_name(self) -> str:
        return self.plain.name

    # -- what an engine supplies --------------------------------------------------------------
    @abstractmethod
    def side_exists(self, side: Side) -> bool:
        """Whether the collection exists (the vector one is created by ``ensure_embedding_spec``)."""

    @abstractmethod
    def create_plain(self) -> None:
        """Create :attr:`plain` (called before its first write when :meth:`side_exists` says it is missing).

        Two processes may race to create it: the loser must not fail.
        """

    @abstractmethod
    def write_side(self, side: Side, rows: Sequence[Row]) -> None:
        """Insert or replace ``rows`` (all with an embedding when ``side.vectors``, all without otherwise)."""

    @abstractmethod
    def remove_ids(self, side: Side, ids: Sequence[str]) -> None:
        """Delete the rows with these ids, if there (a record that moved to the other collection)."""

    @abstractmethod
    def delete_side(self, side: Side, where: Where) -> int:
        """Delete the rows ``where`` matches; return how many."""

    @abstractmethod
    def drop_side(self, side: Side) -> None:
        """Remove the collection (only called when it exists)."""

    @abstractmethod
    def read_side(self, side: Side, ids: Sequence[str], where: Where) -> list[Row]:
        """The rows with these ids (``where`` may narrow them; it is checked again here), embeddings included."""

    @abstractmethod
    def count_side(self, side: Side, where: Where, condition: Any = None) -> int:
        """How many rows match ``where`` and ``condition`` (``None``, or one of :meth:`text_condition`/:meth:`date_condition`)."""

    @abstractmethod
    def scan_side(self, side: Side, where: Where, batch_size: int) -> Iterator[list[Row]]:
        """Every row ``where`` matches, in pages of at most ``batch_size`` (memory bounded by the page)."""

    @abstractmethod
    def keys_of_side(self, side: Side, where: Where, condition: Any) -> Iterable[tuple[int, str]]:
        """``(created_at, id)`` of every row matching ``where`` and ``condition``, in any order (no texts, no vectors)."""

    @abstractmethod
    def search_vectors(self, query: Any, k: int, where: Where) -> list[tuple[Row, float]]:
        """:meth:`~memgpt.storage.connector.Connector.vector_search` on :attr:`vectors` (called only when it exists)."""

    @abstractmethod
    def text_condition(self, text: str) -> Any:
        """The engine's condition for "the text contains ``text``, ignoring case" (see ``Connector.text_search``)."""

    @abstractmethod
    def date_condition(self, start: int | None, end: int | None) -> Any:
        """The engine's condition for ``start <= created_at <= end`` (epoch µs; ``None`` is open)."""

    # -- how primitives run (override to translate errors, lock writes, retry reads) -----------------
    def errors(self) -> AbstractContextManager[Any]:
        """Turns the engine's exceptions into memgpt errors: the store's ``errors()`` (an :class:`~memgpt.storage.engine.EngineStore`'s)."""
        errors = getattr(self.store, "errors", None)
        return errors() if callable(errors) else nullcontext()

    def writing(self) -> AbstractContextManager[Any]:
        """Held around every write: :meth:`errors`, and whatever lock the engine needs."""
        return self.errors()

    def reading(self, read: Callable[[], T]) -> T:
        """Runs one read: inside :meth:`errors`; override to retry reads another process can disturb."""
        with self.errors():
            return read()

    # -- the connector contract ------------------------------------------------------------------------
    def sides(self) -> list[Side]:
        """The collections that exist, vectors first."""
        with self.errors():
            return [side for side in (self.vectors, self.plain) if self.side_exists(side)]

    def upsert(self, rows: Sequence[Row]) -> None:
        with_vectors, without = split_by_embedding(rows)
        with self.writing():
            if with_vectors:
                self.write_side(self.vectors, with_vectors)
            if without:
                if not self.side_exists(self.plain):
                    self.create_plain()
                self.write_side(self.plain, without)
            # A record that gained or lost its embedding moves between the two collections.
            for moved, other in ((with_vectors, self.plain), (without, self.vectors)):
                if moved and self.side_exists(other):
                    self.remove_ids(other, [row.id for row in moved])

    def delete(self, where: Where) -> int:
        with self.writing():
            return sum(self.delete_side(side, where) for side in self.sides())

    def drop(self) -> None:
        with self.writing():
            for side in self.sides():
                self.drop_side(side)

    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        rows = self.reading(lambda: [row for side in self.sides() for row in self.read_side(side, ids, where)])
        return [row for row in rows if where.matches(row.field_values())]

    def count(self, where: Where) -> int:
        return self.reading(lambda: sum(self.count_side(side, where) for side in self.sides()))

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        for side in self.reading(self.sides):
            yield from self.scan_side(side, where, batch_size)

    def vector_search(self, query: Any, k: int, where: Where) -> list[tuple[Row, float]]:
        """No hits before the first vector (no vector collection yet); else the engine's :meth:`search_vectors`."""
        return self.reading(lambda: self.search_vectors(query, k, where) if self.side_exists(self.vectors) else [])

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        return self.ordered(where, self.text_condition(text), limit, offset)

    def text_count(self, text: str, where: Where) -> int:
        condition = self.text_condition(text)
        return self.reading(lambda: sum(self.count_side(side, where, condition) for side in self.sides()))

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        return self.ordered(where, self.date_condition(start, end), limit, offset)

    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        condition = self.date_condition(start, end)
        return self.reading(lambda: sum(self.count_side(side, where, condition) for side in self.sides()))

    def ordered(self, where: Where, condition: Any, limit: int, offset: int) -> list[Row]:
        """One page, in ``(created_at, id)`` order, of the rows matching ``where`` and ``condition``.

        Reads the keys of every match (memory bounded by ``offset + limit``),
        then the page's rows, each from the collection it matched in.
        """

        def read() -> list[Row]:
            origin: dict[str, Side] = {}

            def keys() -> Iterator[tuple[int, str, None]]:
                for side in self.sides():
                    for created_at, id_ in self.keys_of_side(side, where, condition):
                        origin[id_] = side
                        yield int(created_at), id_, None

            page = [id_ for _, id_, _ in page_by_time(keys(), offset, limit)]
            found: dict[str, Row] = {}
            for side in (self.vectors, self.plain):
                wanted = [id_ for id_ in page if origin[id_] == side]
                if wanted:
                    narrowed = where & Where.of(id=wanted)
                    found.update(
                        (row.id, row) for row in self.read_side(side, wanted, narrowed) if narrowed.matches(row.field_values())
                    )
            return [found[id_] for id_ in page if id_ in found]

        return self.reading(read)

    # -- collection metadata: the embedding spec and the key marker ---------------------------------------
    def side_metadata(self, side: Side) -> Mapping[str, Any]:
        """The collection's metadata as stored now (engines whose collections carry metadata)."""
        raise NotImplementedError

    def update_side_metadata(self, side: Side, values: Mapping[str, Any]) -> None:
        """Add ``values`` to the collection's metadata, keeping what else it holds."""
        raise NotImplementedError

    @staticmethod
    def spec_metadata(spec: EmbeddingSpec) -> dict[str, Any]:
        """How the embedding spec is kept in the vector collection's metadata (and the key marker with it)."""
        return {SPEC_MODEL: spec.model, SPEC_DIM: spec.dim, KEYS_MARKER: KEYS_BY_USER}

    def get_embedding_spec(self) -> EmbeddingSpec | None:
        """The spec in :attr:`vectors`' metadata (see :meth:`spec_metadata`), or ``None``."""
        with self.errors():
            if not self.side_exists(self.vectors):
                return None
            metadata = self.side_metadata(self.vectors)
        if SPEC_MODEL not in metadata:
            return None
        return EmbeddingSpec(str(metadata[SPEC_MODEL]), int(metadata[SPEC_DIM]))

    def side_marked(self, side: Side) -> bool:
        """Whether the collection's rows are keyed by user (:data:`~memgpt.storage.helpers.KEYS_MARKER` in its metadata)."""
        return self.side_metadata(side).get(KEYS_MARKER) == KEYS_BY_USER

    def mark_side(self, side: Side) -> None:
        self.update_side_metadata(side, {KEYS_MARKER: KEYS_BY_USER})

    # -- re-keying collections written by memgpt 0.4 ------------------------------------------------------
    def upgrade_keys(self) -> None:
        """Re-key, once, collections written by memgpt 0.4 (see :func:`~memgpt.storage.helpers.upgrade_collections`).

        Call it at the end of ``__init__`` on an engine that implements
        :meth:`side_metadata` and :meth:`update_side_metadata` (collections
        created with the marker in their metadata are never read again).
        """
        with self.errors():
            upgrade_collections(
                self,
                self.sides(),
                marked=self.side_marked,
                holds_rows=lambda side: self.count_side(side, Where.everything()) > 0,
                mark=self.mark_side,
            )


SPEC_MODEL = "memgpt_model"
SPEC_DIM = "memgpt_dim"

__all__ = ["PairedConnector", "Side"]
