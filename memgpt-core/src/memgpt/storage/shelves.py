"""Shelves: vectors of several embedding models side by side in one store.

A table's own collection (shelf ``""``) holds the vectors of the first model
written to it, as it always has. Vectors of any other model go to a *shelf*
of their own, named after the model (:func:`shelf_of`): a separate collection
with the same schema and its own embedding spec. So when the configured model
changes, new sources and agents are stored beside the old ones instead of
being refused, and the old ones keep answering with their own model.

Which shelf a model lives on is decided per store by :func:`resolve_shelf`:
the table's own collection if it records that model (or records none yet and
the caller is about to write), else the model's shelf. Everything that reads
or writes an agent's or a source's passages goes through it with that agent's
or source's model, so each owner's records are always on one shelf.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec

if TYPE_CHECKING:
    from memgpt.storage.backend import Store

SHELVED_TABLES = (Table.ARCHIVAL, Table.SOURCE_PASSAGES)
"""The tables whose records belong to an owner (an agent, a source) with one embedding model."""


def shelf_of(spec: EmbeddingSpec) -> str:
    """The shelf of ``spec``'s vectors when they are not the table's own: ``m`` and 10 hex digits.

    Short, lowercase and alphanumeric, so every engine accepts it inside a
    collection or table name (Chroma, Milvus, PostgreSQL identifiers...).
    """
    import hashlib  # here: a CLI call that stays on its table's own shelf does not pay hashlib's import (3 ms)

    digest = hashlib.sha256(f"{spec.model}\0{spec.dim}".encode()).hexdigest()
    return "m" + digest[:10]


def resolve_shelf(store: Store, table: Table, spec: EmbeddingSpec | None, *, claim: bool = False) -> str:
    """The shelf of ``table`` in ``store`` that holds (or will hold) vectors of ``spec``.

    ``claim``: the caller is about to write, so a table that holds no vectors
    yet records ``spec`` as its own (atomically: of two processes with two
    models, one gets the table and the other a shelf).
    """
    if spec is None or table not in SHELVED_TABLES:
        return ""
    own = store.connector(table)
    recorded = own.get_embedding_spec()
    if recorded is None and claim:
        recorded = own.ensure_embedding_spec(spec)
    if recorded is None or recorded == spec:
        return ""
    return shelf_of(spec)
