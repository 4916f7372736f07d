"""The collections a store holds for some users: each table, and each embedding model's shelf.

Export, import, migration and ``storage status`` work collection by
collection. A table is one collection, except that archival and data-source
passages embedded with a model other than the table's own sit on a shelf of
their own (:mod:`memgpt.storage.shelves`): those are more collections, one
per model. Which models have shelves is read from the catalog (every source
and agent records its model).
"""

from __future__ import annotations

from dataclasses import dataclass

from memgpt.catalog import embedding_of_agent, embedding_of_source, spec_of
from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.collection import Collection
from memgpt.storage.configured import Storage
from memgpt.storage.shelves import SHELVED_TABLES, shelf_of
from memgpt.storage.where import Where

ORDER = (Table.PROFILES, Table.SOURCES, Table.AGENTS, Table.SOURCE_PASSAGES, Table.ARCHIVAL, Table.RECALL)
"""Tables in the order they move: the catalog first, so records never arrive before their owner."""


@dataclass(frozen=True)
class Unit:
    """One collection: a table's own (``spec`` is ``None``), or the shelf of ``spec``'s vectors in a shelved table."""

    table: Table
    spec: EmbeddingSpec | None = None

    @property
    def key(self) -> str:
        """``archival``, or ``archival@m0123456789`` for a shelf: names its files in an export and its state."""
        return self.table.value if self.spec is None else f"{self.table.value}@{shelf_of(self.spec)}"

    @property
    def label(self) -> str:
        """For people: ``archival``, or ``archival (static-minilm-l6-v2, 256-d)``."""
        return self.table.value if self.spec is None else f"{self.table.value} ({self.spec.model}, {self.spec.dim}-d)"

    def collection(self, storage: Storage, scope: Where) -> Collection:
        """This collection of ``storage``, limited to ``scope``."""
        return storage.collection(self.table, scope, self.spec)

    def target(self, storage: Storage, scope: Where, spec: EmbeddingSpec | None, claim: bool = True) -> Collection:
        """Where records of this collection go in ``storage`` when they carry vectors of ``spec``.

        A shelved table's own collection takes ``spec`` if it holds no vectors
        yet (or holds ``spec``); any other model goes to its shelf. ``claim``:
        record ``spec`` as the table's own when it has none yet (about to write).
        """
        if spec is None or self.table not in SHELVED_TABLES:
            return storage.collection(self.table, scope)
        return storage.collection(self.table, scope, spec, claim=claim)


def units(storage: Storage, scope: Where) -> list[Unit]:
    """Every collection of ``storage`` holding records of ``scope``: each table, then its shelves, in :data:`ORDER`."""
    shelves: dict[Table, set[EmbeddingSpec]] = {table: set() for table in SHELVED_TABLES}
    for source in storage.collection(Table.SOURCES, scope).iterate():
        shelves[Table.SOURCE_PASSAGES].add(spec_of(embedding_of_source(source)))
    for agent in storage.collection(Table.AGENTS, scope).iterate():
        shelves[Table.ARCHIVAL].add(spec_of(embedding_of_agent(agent)))
    found: list[Unit] = []
    for table in ORDER:
        found.append(Unit(table))
        if table in shelves:
            own = storage.collection(table, Where.everything()).embedding_spec
            if own is not None:  # a table with no vectors of its own has no shelves either
                found += [Unit(table, spec) for spec in sorted(shelves[table], key=str) if spec != own]
    return found


__all__ = ["ORDER", "Unit", "units"]
