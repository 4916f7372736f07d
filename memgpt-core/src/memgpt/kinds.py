"""Record kinds and tables: what a backend can hold (no heavy imports here).

A backend declares the :class:`RecordKind` s it can hold; each kind is stored in
one or more :class:`Table` s, each holding one record type.
"""

from __future__ import annotations

from enum import Enum


class RecordKind(str, Enum):
    """What a backend can be asked to hold."""

    ARCHIVAL = "archival"
    """Archival passages: each agent's long-term memory."""
    RECALL = "recall"
    """Recall messages: each agent's conversation history."""
    SOURCES = "sources"
    """Data-source passages: documents loaded with ``memgpt load``."""
    AGENTS = "agents"
    """Agent state and the catalog of data sources and their attachments."""

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]

    @property
    def tables(self) -> tuple[Table, ...]:
        return tuple(t for t in Table if t.kind is self)


_KIND_LABELS = {
    RecordKind.ARCHIVAL: "archival passages",
    RecordKind.RECALL: "recall messages",
    RecordKind.SOURCES: "data-source passages",
    RecordKind.AGENTS: "agent state and source catalog",
}


class Table(str, Enum):
    """A collection of one record type; a backend stores each table its own way."""

    ARCHIVAL = "archival"
    RECALL = "recall"
    SOURCE_PASSAGES = "source_passages"
    SOURCES = "sources"
    AGENTS = "agents"

    @property
    def kind(self) -> RecordKind:
        return _TABLE_KIND[self]

    @property
    def record_type(self) -> type:
        """The record class this table holds."""
        if not _RECORD_TYPES:
            from memgpt import records

            _RECORD_TYPES.update(
                {
                    Table.ARCHIVAL: records.Passage,
                    Table.SOURCE_PASSAGES: records.Passage,
                    Table.RECALL: records.Message,
                    Table.SOURCES: records.Source,
                    Table.AGENTS: records.AgentState,
                }
            )
        return _RECORD_TYPES[self]

    @property
    def filter_fields(self) -> tuple[str, ...]:
        """The fields a :class:`~memgpt.storage.Where` may constrain, besides ``id``."""
        return _TABLE_FIELDS[self]

    @property
    def scope_fields(self) -> tuple[str, ...]:
        """The fields every record of this table must carry (its owner)."""
        return _TABLE_REQUIRED[self]

    @property
    def has_vectors(self) -> bool:
        return self in (Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES)

    @property
    def has_text(self) -> bool:
        return self in (Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES)


_RECORD_TYPES: dict[Table, type] = {}

_TABLE_KIND = {
    Table.ARCHIVAL: RecordKind.ARCHIVAL,
    Table.RECALL: RecordKind.RECALL,
    Table.SOURCE_PASSAGES: RecordKind.SOURCES,
    Table.SOURCES: RecordKind.AGENTS,
    Table.AGENTS: RecordKind.AGENTS,
}
_TABLE_FIELDS = {
    Table.ARCHIVAL: ("user_id", "agent_id", "document_id"),
    Table.SOURCE_PASSAGES: ("user_id", "source", "document_id"),
    Table.RECALL: ("user_id", "agent_id", "role"),
    Table.SOURCES: ("user_id",),
    Table.AGENTS: ("user_id", "name"),
}
_TABLE_REQUIRED = {
    Table.ARCHIVAL: ("user_id", "agent_id"),
    Table.SOURCE_PASSAGES: ("user_id", "source"),
    Table.RECALL: ("user_id", "agent_id"),
    Table.SOURCES: ("user_id",),
    Table.AGENTS: ("user_id",),
}
