"""SQL for the local backend's files, and their schema versions."""

from __future__ import annotations

from dataclasses import dataclass

from memgpt.kinds import Table

SCHEMA_VERSION = 3
"""Stored in ``PRAGMA user_version`` of every file; bump it and add a migration to change a schema.

1. the first schema (memgpt 0.4);
2. rows are keyed ``<user_id>/<record id>`` (ids are unique per user, not globally); each table with
   vectors has a change log (``<table>_log``) that other processes' vector caches refresh from;
3. each table partitioned by something other than its user records the users its file holds
   (``<table>_users``), so a scope whose user is the file's only one is read without a user filter.
"""

AGENTS_GROUP = "agents"
SOURCES_GROUP = "archival"
PROFILES_GROUP = "profiles"

GROUP_FILES = {AGENTS_GROUP: "memory", SOURCES_GROUP: "source", PROFILES_GROUP: "profiles"}
"""The stem of each group's partition files: ``agents/<id>/memory.sqlite``, ``profiles/persona/profiles.sqlite``."""


_COLUMN_TYPES = {
    "id": "TEXT NOT NULL UNIQUE",
    "text": "TEXT NOT NULL",
    "created_at": "INTEGER NOT NULL",
    "embedding": "BLOB",
    "payload": "TEXT NOT NULL",
}
"""SQL types of the value columns; filter-field columns are plain TEXT."""


@dataclass(frozen=True)
class TableLayout:
    """Where and how one :class:`Table` lives in the local backend."""

    table: Table
    group: str
    """Folder under the root: ``agents`` or ``archival``."""
    partition_field: str
    """The field whose value names the partition folder."""
    sql_name: str
    columns: tuple[str, ...]
    """Filter-field columns, in order."""
    has_text: bool
    has_vectors: bool
    fts: bool

    def create_sql(self) -> list[str]:
        cols = ["rid INTEGER PRIMARY KEY"] + [f"{c} {_COLUMN_TYPES.get(c, 'TEXT')}" for c in self.value_columns]
        t = self.sql_name
        statements = [f"CREATE TABLE IF NOT EXISTS {t} ({', '.join(cols)})"]
        if self.table is Table.RECALL:  # date search; other tables are never searched by time
            statements.append(f"CREATE INDEX IF NOT EXISTS {t}_created ON {t} (created_at, id)")
        if self.has_vectors:  # which rows each write changed: other processes refresh their cached vectors from it
            statements.append(f"CREATE TABLE IF NOT EXISTS {t}_log (seq INTEGER PRIMARY KEY AUTOINCREMENT, ids TEXT NOT NULL)")
        if self.users_table:
            statements.append(self._users_sql())
        if self.fts:
            statements += [
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {t}_fts USING fts5("
                f"text, content='{t}', content_rowid='rid', tokenize='trigram case_sensitive 0')",
                f"CREATE TRIGGER IF NOT EXISTS {t}_ai AFTER INSERT ON {t} BEGIN "
                f"INSERT INTO {t}_fts(rowid, text) VALUES (new.rid, new.text); END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_ad AFTER DELETE ON {t} BEGIN "
                f"INSERT INTO {t}_fts({t}_fts, rowid, text) VALUES ('delete', old.rid, old.text); END",
                f"CREATE TRIGGER IF NOT EXISTS {t}_au AFTER UPDATE OF text ON {t} BEGIN "
                f"INSERT INTO {t}_fts({t}_fts, rowid, text) VALUES ('delete', old.rid, old.text); "
                f"INSERT INTO {t}_fts(rowid, text) VALUES (new.rid, new.text); END",
            ]
        return statements

    @property
    def users_table(self) -> str | None:
        """The table recording which users this table's rows in a file belong to: a superset, added to by every
        write and emptied only with the table (``None`` for tables without users, or partitioned by user)."""
        if "user_id" not in self.columns or self.partition_field == "user_id":
            return None
        return f"{self.sql_name}_users"

    def _users_sql(self) -> str:
        return f"CREATE TABLE IF NOT EXISTS {self.users_table} (user_id TEXT PRIMARY KEY) WITHOUT ROWID"

    @property
    def value_columns(self) -> list[str]:
        """The columns a row is written to, in the order of :meth:`upsert_sql`'s parameters."""
        cols = ["id", *self.columns]
        if self.has_text:
            cols.append("text")
        cols.append("created_at")
        if self.has_vectors:
            cols.append("embedding")
        cols.append("payload")
        return cols

    def select_columns(self) -> str:
        """What reads select: :attr:`value_columns`, with ``NULL`` standing in for a missing embedding."""
        cols = self.value_columns
        if not self.has_vectors:
            cols.insert(-1, "NULL")
        return ", ".join(cols)

    def upgrade_sql(self) -> dict[int, list[str]]:
        """The statements that bring this table from schema version N to N + 1, by N."""
        upgrades = {1: [f"UPDATE {self.sql_name} SET id = user_id || '/' || id"]}
        if self.users_table:
            upgrades[2] = [
                self._users_sql(),
                f"INSERT OR IGNORE INTO {self.users_table} (user_id) SELECT DISTINCT coalesce(user_id, '') FROM {self.sql_name}",
            ]
        return upgrades

    def upsert_sql(self) -> str:
        cols = self.value_columns
        updates = ", ".join(f"{c}=excluded.{c}" for c in cols[1:])
        marks = ", ".join("?" for _ in cols)
        return f"INSERT INTO {self.sql_name} ({', '.join(cols)}) VALUES ({marks}) ON CONFLICT(id) DO UPDATE SET {updates}"


def _layout(table: Table, group: str, partition_field: str, sql_name: str, fts: bool = False) -> TableLayout:
    return TableLayout(
        table=table,
        group=group,
        partition_field=partition_field,
        sql_name=sql_name,
        columns=table.filter_fields,
        has_text=table.has_text,
        has_vectors=table.has_vectors,
        fts=fts,
    )


LAYOUTS: dict[Table, TableLayout] = {
    Table.AGENTS: _layout(Table.AGENTS, AGENTS_GROUP, "id", "agent"),
    Table.ARCHIVAL: _layout(Table.ARCHIVAL, AGENTS_GROUP, "agent_id", "archival"),
    Table.RECALL: _layout(Table.RECALL, AGENTS_GROUP, "agent_id", "recall", fts=True),
    Table.SOURCES: _layout(Table.SOURCES, SOURCES_GROUP, "id", "source"),
    Table.SOURCE_PASSAGES: _layout(Table.SOURCE_PASSAGES, SOURCES_GROUP, "source", "passages"),
    Table.PROFILES: _layout(Table.PROFILES, PROFILES_GROUP, "kind", "profile"),
}

GROUP_TABLES = {group: tuple(layout for layout in LAYOUTS.values() if layout.group == group) for group in GROUP_FILES}


def group_upgrades(group: str) -> dict[int, list[str]]:
    """The statements that bring a partition file of ``group`` from schema version N to N + 1, by N."""
    upgrades: dict[int, list[str]] = {}
    for layout in GROUP_TABLES[group]:
        for version, statements in layout.upgrade_sql().items():
            upgrades.setdefault(version, []).extend(statements)
    return upgrades


REGISTRY_SQL = [
    "CREATE TABLE IF NOT EXISTS embedding_specs (table_name TEXT PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL)",
]
