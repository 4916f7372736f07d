"""Record kinds, tables and storage roles: what a backend can hold, and where each table is kept (no heavy imports here).

A backend declares the :class:`RecordKind` s it can hold; each kind is stored in
one or more :class:`Table` s, each holding one record type. The configuration
picks a backend per :class:`StorageRole`; each table lives in the store of its
role. Beware the two ``SOURCES``: ``RecordKind.SOURCES`` is the *passages* of
loaded documents (table ``source_passages``), ``Table.SOURCES`` the catalog
entry naming a loaded source (kind ``agents``).
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
    RecordKind.AGENTS: "agent state, source catalog, personas and humans",
}


class Table(str, Enum):
    """A collection of one record type; a backend stores each table its own way."""

    ARCHIVAL = "archival"
    RECALL = "recall"
    SOURCE_PASSAGES = "source_passages"
    SOURCES = "sources"
    AGENTS = "agents"
    PROFILES = "profiles"
    """Persona and human texts, copied into an agent's core memory when it is created."""

    @property
    def kind(self) -> RecordKind:
        return _TABLE_KIND[self]

    @property
    def filter_fields(self) -> tuple[str, ...]:
        """The fields a :class:`~memgpt.storage.Where` may constrain, besides ``id``."""
        return _TABLE_FIELDS[self]

    @property
    def scope_fields(self) -> tuple[str, ...]:
        """The fields every record of this table must carry (its owner)."""
        return _TABLE_REQUIRED[self]

    @property
    def role(self) -> StorageRole:
        """The configured storage this table lives in."""
        return _TABLE_ROLE[self]

    @property
    def has_vectors(self) -> bool:
        return self in (Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES)

    @property
    def has_text(self) -> bool:
        return self in (Table.ARCHIVAL, Table.RECALL, Table.SOURCE_PASSAGES)


_TABLE_KIND = {
    Table.ARCHIVAL: RecordKind.ARCHIVAL,
    Table.RECALL: RecordKind.RECALL,
    Table.SOURCE_PASSAGES: RecordKind.SOURCES,
    Table.SOURCES: RecordKind.AGENTS,
    Table.AGENTS: RecordKind.AGENTS,
    Table.PROFILES: RecordKind.AGENTS,
}
_TABLE_FIELDS = {
    Table.ARCHIVAL: ("user_id", "agent_id", "document_id"),
    Table.SOURCE_PASSAGES: ("user_id", "source", "document_id"),
    Table.RECALL: ("user_id", "agent_id", "role"),
    Table.SOURCES: ("user_id",),
    Table.AGENTS: ("user_id", "name"),
    Table.PROFILES: ("user_id", "kind", "name"),
}
_TABLE_REQUIRED = {
    Table.ARCHIVAL: ("user_id", "agent_id"),
    Table.SOURCE_PASSAGES: ("user_id", "source"),
    Table.RECALL: ("user_id", "agent_id"),
    Table.SOURCES: ("user_id",),
    Table.AGENTS: ("user_id",),
    Table.PROFILES: ("user_id",),
}


PROFILE_KINDS = ("persona", "human")
"""What a profile (table ``profiles``) describes: the agent itself, or the human it talks with."""


class StorageRole(str, Enum):
    """A storage the configuration names; every table lives in one.

    ``archival`` and ``recall`` are the ``[archival_storage]`` and
    ``[recall_storage]`` sections. ``catalog`` (agents and the source
    catalog) is not configured on its own: it is the archival backend when
    that backend declares the ``agents`` kind, else the local store in
    ``MEMGPT_HOME``.
    """

    ARCHIVAL = "archival"
    RECALL = "recall"
    CATALOG = "catalog"

    @property
    def kind(self) -> RecordKind:
        """The record kind a backend must declare to serve this role."""
        return _ROLE_KIND[self]

    @property
    def configured(self) -> bool:
        """Whether the config file has a section (and ``memgpt configure`` a question) for this role."""
        return self is not StorageRole.CATALOG


CONFIGURED_ROLES = tuple(role for role in StorageRole if role.configured)
"""``archival`` and ``recall``: the roles with a section in the config file."""

_ROLE_KIND = {
    StorageRole.ARCHIVAL: RecordKind.ARCHIVAL,
    StorageRole.RECALL: RecordKind.RECALL,
    StorageRole.CATALOG: RecordKind.AGENTS,
}
_TABLE_ROLE = {
    Table.ARCHIVAL: StorageRole.ARCHIVAL,
    Table.SOURCE_PASSAGES: StorageRole.ARCHIVAL,
    Table.RECALL: StorageRole.RECALL,
    Table.AGENTS: StorageRole.CATALOG,
    Table.SOURCES: StorageRole.CATALOG,
    Table.PROFILES: StorageRole.CATALOG,
}
