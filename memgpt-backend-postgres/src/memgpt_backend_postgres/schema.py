"""The tables memgpt keeps in PostgreSQL, and their schema version."""

from __future__ import annotations

from memgpt.plugin import Table

SCHEMA_VERSION = 4
"""Recorded in ``memgpt_schema_version``; a later release migrates from it instead of asking users to start over.

1. the first schema (memgpt 0.4);
2. rows are keyed ``<user_id>/<record id>`` (ids are unique per user, not globally);
3. archival and recall rows are indexed by their whole scope, ``(agent_id, user_id, created_at)``, instead of
   ``(agent_id, created_at)``: an agent's count then reads the index alone (measured at 100,000 passages, 10
   agents: 22-33 ms when every row of the agent was read from the table for its ``user_id``, against 1.2 ms for
   the same count by agent alone);
4. recall rows are indexed by ``(user_id)`` instead of ``(user_id, created_at)``: once the table was analyzed,
   PostgreSQL chose that index's time order for an agent's text search (betting that matches of the agent come
   soon in the user's messages) and read every message of the user when the agent had none, 13 ms against 2 ms
   through the scope's own index (20,000 messages over 10 agents).
"""

LOCK_KEY = 0x6D656D677074  # "memgpt": serializes schema changes between processes (pg_advisory_xact_lock)

TABLE_NAMES = {
    Table.ARCHIVAL: "memgpt_archival",
    Table.SOURCE_PASSAGES: "memgpt_source_passages",
    Table.RECALL: "memgpt_recall",
    Table.AGENTS: "memgpt_agents",
    Table.SOURCES: "memgpt_sources",
    Table.PROFILES: "memgpt_profiles",
}

INDEXES = {
    Table.ARCHIVAL: [("agent_id", "user_id", "created_at"), ("user_id",), ("document_id",)],
    Table.SOURCE_PASSAGES: [("source", "document_id"), ("user_id",)],
    Table.RECALL: [("agent_id", "user_id", "created_at"), ("user_id",)],
    Table.AGENTS: [("user_id", "name")],
    Table.SOURCES: [("user_id",)],
    Table.PROFILES: [("user_id", "kind")],
}

HNSW_MAX_DIM = 2_000
"""pgvector indexes vectors of at most 2,000 dimensions; wider ones are searched exactly."""


def value_columns(table: Table) -> list[str]:
    """The columns of a row, in :class:`~memgpt.storage.codec.Row` order."""
    cols = ["id", *table.filter_fields]
    if table.has_text:
        cols.append("text")
    cols.append("created_at")
    if table.has_vectors:
        cols.append("embedding")
    cols.append("payload")
    return cols


_TYPES = {
    "id": "TEXT PRIMARY KEY",
    "text": "TEXT NOT NULL",
    "created_at": "BIGINT NOT NULL",
    "embedding": "vector",
    "payload": "TEXT NOT NULL",
}


def table_name(table: Table, shelf: str = "") -> str:
    """``memgpt_archival``, or ``memgpt_archival_m0123456789`` for a shelf (another embedding model's vectors)."""
    return f"{TABLE_NAMES[table]}_{shelf}" if shelf else TABLE_NAMES[table]


def _index_name(name: str, cols: tuple[str, ...]) -> str:
    return f"{name}_{'_'.join(cols)}"


def table_statements(table: Table, shelf: str = "") -> list[str]:
    """The table of ``table`` on ``shelf`` and its indexes (``IF NOT EXISTS``: safe to run again)."""
    name = table_name(table, shelf)
    columns = ", ".join(f"{c} {_TYPES.get(c, 'TEXT')}" for c in value_columns(table))
    statements = [f"CREATE TABLE IF NOT EXISTS {name} ({columns})"]
    for cols in INDEXES[table]:
        statements.append(f"CREATE INDEX IF NOT EXISTS {_index_name(name, cols)} ON {name} ({', '.join(cols)})")
    return statements


COLLECTIONS_TABLE = "memgpt_collections"
VERSION_TABLE = "memgpt_schema_version"


def create_statements() -> list[str]:
    statements = [
        f"CREATE TABLE IF NOT EXISTS {COLLECTIONS_TABLE} (table_name TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL)",
    ]
    for table in TABLE_NAMES:
        statements += table_statements(table)
    return statements


def schema_relations() -> list[str]:
    """Every table and index :func:`create_statements` makes, with the version table: what a current schema has."""
    names = [VERSION_TABLE, COLLECTIONS_TABLE]
    for table, name in TABLE_NAMES.items():
        names += [name, *(_index_name(name, cols) for cols in INDEXES[table])]
    return names


def upgrade_statements(version: int) -> list[str]:
    """What brings the tables from schema ``version`` to ``version + 1``."""
    if version == 1:
        return [f"UPDATE {name} SET id = user_id || '/' || id" for name in TABLE_NAMES.values()]
    if version == 2:  # the scope indexes are made by create_statements; the ones they replace go
        return [f"DROP INDEX IF EXISTS {TABLE_NAMES[table]}_agent_id_created_at" for table in (Table.ARCHIVAL, Table.RECALL)]
    if version == 3:  # likewise (user_id) replaces (user_id, created_at) on recall
        return [f"DROP INDEX IF EXISTS {TABLE_NAMES[Table.RECALL]}_user_id_created_at"]
    return []


SCOPE_FIELDS = {Table.ARCHIVAL: "agent_id", Table.RECALL: "agent_id", Table.SOURCE_PASSAGES: "source"}
"""The field that, with the user, makes a search scope worth an HNSW index of its own: one agent's or one source's rows."""


def scope_index_prefix(table: Table, shelf: str = "") -> str:
    """What every scope index of the table is called before its scope's digest."""
    return f"{table_name(table, shelf)}_scope_"


def scope_index(table: Table, shelf: str, user: str, owner: str) -> str:
    """The name of the partial HNSW index of one user's agent (or source): a digest, as names may hold any text.

    At most 63 bytes, PostgreSQL's limit: the longest table name with a shelf is 34.
    """
    import hashlib

    digest = hashlib.sha256(f"{user}\0{owner}".encode()).hexdigest()[:16]
    return scope_index_prefix(table, shelf) + digest


def sql_literal(value: str) -> str:
    """A string constant for a partial index's predicate and the searches it must match (names hold no backslash or NUL)."""
    return "'" + value.replace("'", "''") + "'"


def hnsw_index(table: Table, shelf: str = "") -> str:
    return f"{table_name(table, shelf)}_embedding_hnsw"
