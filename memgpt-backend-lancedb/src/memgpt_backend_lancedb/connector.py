"""One memgpt table in LanceDB.

Two tables per memgpt table (the core's :class:`~memgpt.storage.paired.PairedConnector`):
records with an embedding live in ``memgpt_<table>`` (a fixed-size float32
``vector`` column of the table's dimension, created when the dimension is
recorded, which is kept in the table's schema metadata); records without one
in ``memgpt_<table>_plain``. Filters are SQL ``WHERE`` strings with every
value quoted as a literal; vector search is exact cosine with the filter
applied first; text search is an escaped ``ILIKE``, narrowed first by an
n-gram full-text index where LanceDB has one and the query allows it.

Every write is a new table version (a data file, a manifest, a transaction
file); after every ``compact_every`` writes the table is optimized (small
files compacted, old versions removed, indexes brought up to date), so a
history written one message at a time stays a bounded number of files.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from memgpt.plugin import (
    KEYS_BY_USER,
    KEYS_MARKER,
    EmbeddingSpec,
    PairedConnector,
    Row,
    Table,
    chunked,
    key_in_users,
    like_pattern,
    retried,
    scope_without_user,
    time_bounds,
    vector_matrix,
    where_terms,
)

if TYPE_CHECKING:
    from memgpt.plugin import Side, Where
    from memgpt_backend_lancedb.store import LanceDBStore

T = TypeVar("T")
IN_CHUNK = 1_000
EXISTS_CHUNK = 10_000
"""Ids per ``id IN (...)`` query when checking whether a batch holds ids that exist already."""
SCAN_IDS_MAX_ROWS = 200_000
"""Up to this many rows, whether a batch's ids exist already is answered by reading the id column and
matching it in Arrow; beyond it, by ``id IN (...)`` queries, which the id index serves. Measured for a
batch of 10,000 new ids: against 90,000 rows, 14 ms reading the column against 70 ms for the query;
against 510,000 indexed rows, 60 ms against 50 ms. The column read is kept for the next write while
nothing else changes the table (see :class:`KnownIds`)."""
USERS = "memgpt_users"
"""Metadata of a table's ``user_id`` field: the users whose rows the table may hold, as a JSON list, or
``*`` once there are more than :data:`MAX_RECORDED_USERS`. A user is added before their first rows are
written and never removed, so the list is a superset (only where writes take turns under the folder's
lock; a store without it records ``*``). A read scoped to users that include every recorded one leaves
the user's term out: LanceDB evaluates every term on every row (an agent's count among 100,000
rows of one user: 4.1 ms with the term, 2.9 ms without)."""
VALUES = "memgpt_values"
"""The same record on a table's other scope fields (``agent_id``, ``source``): the agents or sources whose
rows it may hold. A table of one agent's passages (see :mod:`memgpt.storage.partitions`) is then searched
without any filter, as LanceDB searches fastest (10,000 of them: 10.7 ms against 16.7 ms with the
agent's term)."""
MAX_RECORDED_USERS = 32
"""Values listed per field at most; past them, ``*``."""
ALL_USERS = "*"
INCARNATION = "memgpt_table"
"""Schema metadata key holding a random id given to a table when memgpt creates it: a table dropped and
created again by another process is told apart from the one it replaces, even at the same version."""
FTS_MAX_CANDIDATES = 20_000
READ_ATTEMPTS = 5
"""A read that a concurrent compaction pulled its table version from under is tried this many times in all."""
_TRANSIENT = ("not found", "retryable commit conflict", "was preempted")


def _transient(message: str) -> bool:
    """Whether a LanceDB error is one a read retried on the latest version gets past (files of a removed version)."""
    lowered = message.lower()
    return any(marker in lowered for marker in _TRANSIENT)


LEGACY_ROWS = "NOT starts_with(id, concat(user_id, '/'))"
"""The rows of a table written by memgpt 0.4: keyed by the bare record id."""
_FTS_QUERY = re.compile(r"[\w\s]+")


def literal(value: str) -> str:
    """A SQL string literal: the value stays data whatever quotes or operators it holds."""
    return "'" + value.replace("'", "''") + "'"


def sql_where(where: Where, extra: Sequence[str] = ()) -> str | None:
    parts = where_terms(
        where,
        lambda field, value: f"{field} = {literal(value)}",
        lambda field, values: f"{field} IN ({', '.join(map(literal, values))})",
    )
    parts.extend(extra)
    return " AND ".join(f"({p})" for p in parts) or None


def _ids_in(ids: Sequence[str]) -> str:
    return f"id IN ({', '.join(literal(i) for i in ids)})"


def _incarnation(schema: pa.Schema) -> str | None:
    """The table's :data:`INCARNATION` (``None`` for a table memgpt made before it gave them)."""
    value = (schema.metadata or {}).get(INCARNATION.encode())
    return value.decode() if value else None


def _record_key(field: str) -> str:
    """The metadata key recording the values of scope field ``field``: :data:`USERS` or :data:`VALUES`."""
    return USERS if field == "user_id" else VALUES


def _recorded_value(schema: pa.Schema, field: str) -> bytes | None:
    """The raw record of ``field`` in a table's schema (``None``: not recorded, or no such field)."""
    if field not in schema.names:
        return None
    return (schema.field(field).metadata or {}).get(_record_key(field).encode())


def _listed_users(value: bytes | None) -> frozenset[str] | None:
    """The values a :data:`USERS` or :data:`VALUES` record lists; ``None`` for none recorded, too many, or a
    damaged list."""
    if value is None or value == ALL_USERS.encode():
        return None
    try:
        users = json.loads(value)
    except ValueError:
        return None
    if not isinstance(users, list) or not all(isinstance(user, str) for user in users):
        return None
    return frozenset(users)


@dataclass(frozen=True)
class KnownIds:
    """The ids a table held at one version, kept by the process that last wrote it.

    Reading a table's id column to learn whether a batch replaces anything
    cost 27-33 ms at 90,000 rows, on every write. Writes hold the folder's
    write lock, so the next write of the same process finds the table at the
    version its own append made (``stamp``, with the table's incarnation)
    unless someone else wrote meanwhile; then it reads the column again.
    """

    stamp: tuple[int, str | None]
    ids: pa.Array


@dataclass(frozen=True)
class Needle:
    """A text search's condition: an escaped ``ILIKE``, narrowed by the table's n-gram index when it has one."""

    text: str


class LanceDBConnector(PairedConnector):
    store: LanceDBStore
    compact_every = 16
    """Writes (per table and process) between two optimizations. Measured on 2,000 one-message writes:
    every 16 -> 6.0 ms per write and at most 57 files; every 64 -> 6.7 ms and 201 files (queries slow
    down as small fragments pile up, and compacting 16 of them takes about 50 ms)."""
    cleanup_seconds = 0
    """Versions older than this are removed when optimizing. LanceDB folders are meant for one writing
    process; another process reading a version that is removed under it gets an error and retries."""

    def __init__(self, store: LanceDBStore, table: Table, shelf: str = "") -> None:
        super().__init__(store, table, shelf)
        self._writes: dict[str, int] = {}
        self._handles: dict[str, Any] = {}
        self._known_ids: dict[str, KnownIds] = {}
        self._recorded_fields = tuple(f for f in self.table.scope_fields if f in self.table.filter_fields)
        """The scope fields whose values each table records (:data:`USERS`, :data:`VALUES`)."""
        self._users_seen: dict[str, tuple[dict[str, frozenset[str] | None], str | None]] = {}
        """Per table, the values it recorded and its incarnation when this process last read them."""
        self._addresses = threading.local()
        """This thread's last ordered search: per table, where its matches were (see :meth:`keys_of_side`)."""

    # -- tables ---------------------------------------------------------------------------
    def _schema(self, dim: int | None, spec: EmbeddingSpec | None = None, marked: bool = True) -> pa.Schema:
        """A table's schema; ``marked``: with the key-format marker on ``id`` (tables are created with it, data is not)."""
        fields = [pa.field("id", pa.string(), nullable=False, metadata={KEYS_MARKER: KEYS_BY_USER} if marked else None)]
        fields += [
            pa.field(f, pa.string(), metadata={_record_key(f): "[]"} if marked and f in self.table.scope_fields else None)
            for f in self.table.filter_fields
        ]
        fields += [pa.field("text", pa.string()), pa.field("created_at", pa.int64())]
        if dim is not None:
            fields.append(pa.field("vector", pa.list_(pa.float32(), dim)))
        fields.append(pa.field("payload", pa.string()))
        metadata = {"memgpt_model": spec.model, "memgpt_dim": str(spec.dim)} if spec else {}
        if marked:
            metadata[INCARNATION] = uuid.uuid4().hex
        return pa.schema(fields, metadata=metadata or None)

    def _open(self, name: str) -> Any | None:
        """The table called ``name`` (a cached handle), or None when it does not exist.

        A process killed while creating a table can leave its folder without a
        first version: listed, but "not found" when opened. Nothing was ever
        stored in it, so it counts as absent (and creating it again succeeds).
        """
        handle = self._handles.get(name)
        if handle is None and name in self.store.table_names():
            with self.store.errors():
                try:
                    handle = self.store.db.open_table(name)
                except ValueError as exc:
                    if "was not found" not in str(exc):
                        raise
                    return None
                self._upgrade_keys(handle)
                self._handles[name] = handle
        return handle

    def _upgrade_keys(self, table: Any) -> None:
        """Re-key a table written by memgpt 0.4 (bare record ids) by user, in place: one atomic update, then the marker."""
        if KEYS_MARKER.encode() in (table.schema.field("id").metadata or {}):
            return
        with self.store.writing():
            table.checkout_latest()
            if KEYS_MARKER.encode() in (table.schema.field("id").metadata or {}):
                return  # another process upgraded it while this one waited
            if table.count_rows(LEGACY_ROWS):
                table.update(where=LEGACY_ROWS, values_sql={"id": "concat(user_id, '/', id)"})
            table.update_field_metadata({"path": "id", "metadata": {KEYS_MARKER: KEYS_BY_USER}})

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self.store.writing(), self.store.errors():
            yield

    def reading(self, read: Callable[[], T]) -> T:
        """``read()``, again when a concurrent write or compaction pulled its version away (tables opened anew)."""
        return retried(lambda: super(LanceDBConnector, self).reading(read), _transient, READ_ATTEMPTS, self._handles.clear)

    def side_exists(self, side: Side) -> bool:
        return self._open(side.name) is not None

    def create_plain(self) -> None:
        self._handles[self.plain_name] = self.store.db.create_table(self.plain_name, schema=self._schema(None), exist_ok=True)

    def _table(self, side: Side) -> Any:
        table = self._open(side.name)
        assert table is not None, "the core records the embedding spec before writing vectors"
        return table

    # -- rows -------------------------------------------------------------------------------
    def _arrow(self, rows: Sequence[Row], with_vectors: bool, dim: int | None) -> pa.Table:
        columns: dict[str, Any] = {"id": [r.id for r in rows]}
        for field in self.table.filter_fields:
            columns[field] = [r.fields[field] for r in rows]
        columns["text"] = [r.text for r in rows]
        columns["created_at"] = [r.created_at for r in rows]
        if with_vectors:
            flat = vector_matrix([r.embedding for r in rows]).reshape(-1)
            columns["vector"] = pa.FixedSizeListArray.from_arrays(pa.array(flat, type=pa.float32()), dim)
        columns["payload"] = [r.payload for r in rows]
        return pa.table(columns, schema=self._schema(dim if with_vectors else None, marked=False).remove_metadata())

    def _rows(self, data: pa.Table, with_vectors: bool) -> list[Row]:
        columns = {name: data.column(name).to_pylist() for name in data.column_names if name != "vector"}
        vectors = None
        if with_vectors and "vector" in data.column_names and data.num_rows:
            flat = data.column("vector").combine_chunks()
            vectors = flat.values.to_numpy(zero_copy_only=False).astype(np.float32).reshape(data.num_rows, -1)
        return [
            Row(
                id=columns["id"][i],
                fields={f: columns[f][i] for f in self.table.filter_fields},
                text=columns["text"][i],
                created_at=int(columns["created_at"][i]),
                embedding=None if vectors is None else vectors[i].copy(),
                payload=columns["payload"][i],
            )
            for i in range(data.num_rows)
        ]

    @staticmethod
    def _select(table: Any, where: str | None, columns: list[str] | None = None) -> pa.Table:
        query = table.search()
        if where:
            query = query.where(where)
        if columns is not None:
            query = query.select(columns)
        return query.limit(None).to_arrow()

    # -- embedding spec ------------------------------------------------------------------------
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        table = self._open(self.name)
        if table is None:
            return None
        metadata = table.schema.metadata or {}
        return EmbeddingSpec(metadata[b"memgpt_model"].decode(), int(metadata[b"memgpt_dim"]))

    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        """Creating the vector table is the atomic step: whoever creates it first sets the spec."""
        with self.store.writing(), self.store.errors():
            try:
                self._handles[self.name] = self.store.db.create_table(self.name, schema=self._schema(spec.dim, spec))
            except (ValueError, OSError, RuntimeError):
                pass  # created meanwhile (by us or another process): read back what is recorded
        stored = self.get_embedding_spec()
        assert stored is not None
        return stored

    # -- writes ------------------------------------------------------------------------------------
    def _write(self, table: Any, data: pa.Table, schema: pa.Schema) -> None:
        """Append new ids (one cheap call), merge when any id exists already (upsert).

        ``schema`` is the table's, read by this write under the write lock: with the version, read once here,
        it is the stamp the ids this process knows are checked against (each such read is a call into
        LanceDB, 0.4 ms, which a write of one agent's few rows among many partitions would pay again and again).
        """
        # merge_insert costs 4x an append (measured: 181 ms vs 45 ms for 10k new 384-d rows), so it is kept
        # for batches that replace something.
        ids = data.column("id").combine_chunks()
        stamp = (int(table.version), _incarnation(schema))
        if self._any_stored(table, ids, stamp):
            self._known_ids.pop(table.name, None)
            table.merge_insert("id").when_matched_update_all().when_not_matched_insert_all().execute(data)
        else:
            known = self._known_ids.pop(table.name, None)
            table.add(data)
            if known is not None and known.stamp == stamp and len(known.ids) + len(ids) <= SCAN_IDS_MAX_ROWS:
                # Nothing but this append in between (the write lock keeps other memgpt writers out; the version
                # shows any other writer): extend what is known.
                after = int(table.version)
                if after == stamp[0] + 1:
                    self._known_ids[table.name] = KnownIds((after, stamp[1]), pa.concat_arrays([known.ids, ids]))
        self._wrote(table)

    @staticmethod
    def _stamp(table: Any) -> tuple[int, str | None]:
        """The table's latest version and incarnation (what :class:`KnownIds` are valid for)."""
        return int(table.version), _incarnation(table.schema)

    def _any_stored(self, table: Any, ids: pa.Array, stamp: tuple[int, str | None]) -> bool:
        """Whether ``table`` (at ``stamp``) holds any of ``ids`` (see :data:`SCAN_IDS_MAX_ROWS` for how it is asked)."""
        known = self._known_ids.get(table.name)
        if known is None or known.stamp != stamp:
            stored_rows = table.count_rows()
            if stored_rows == 0:  # a new table: what it holds is known from here on
                self._known_ids[table.name] = KnownIds(stamp, pa.array([], type=pa.string()))
                return False
            if stored_rows > SCAN_IDS_MAX_ROWS:
                return any(table.count_rows(_ids_in(part)) for part in chunked(ids.to_pylist(), EXISTS_CHUNK))
            known = KnownIds(stamp, self._select(table, None, ["id"]).column("id").combine_chunks())
            self._known_ids[table.name] = known
        return len(known.ids) > 0 and bool(pc.any(pc.is_in(known.ids, value_set=ids)).as_py())

    def _wrote(self, table: Any) -> None:
        name = table.name
        self._writes[name] = self._writes.get(name, 0) + 1
        if self._writes[name] % max(1, self.compact_every) == 0:
            try:
                self.compact(table)
            except Exception:  # maintenance only: the write is committed; the next compaction catches up
                pass

    def compact(self, table: Any) -> None:
        """Compact small files, drop old versions, and bring (or create) the indexes up to date: a B-tree on the
        ids, bitmaps on the scope's fields (the user and the agent or source) and, for recall, the text's n-grams."""
        known = self._known_ids.pop(table.name, None)
        before = self._stamp(table) if known is not None else None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # lancedb warns about short cleanup periods, which we choose on purpose
            table.optimize(cleanup_older_than=timedelta(seconds=self.cleanup_seconds))
            if known is not None and known.stamp == before:  # compaction moves rows between files, it keeps every id
                self._known_ids[table.name] = KnownIds(self._stamp(table), known.ids)
            if table.count_rows() == 0:
                return
            indexed = self._indexed_columns(table)
            if "id" not in indexed:
                try:  # upserts look ids up before writing
                    table.create_scalar_index("id", index_type="BTREE")
                except Exception:
                    pass
            for field in self.table.scope_fields:  # every scoped read filters on these: few values, many rows each
                if field not in indexed:
                    try:  # an agent's count of 10,000 among 50,000 rows: 3.3 ms scanned, 0.55 ms with the bitmaps
                        table.create_scalar_index(field, index_type="BITMAP")
                    except Exception:
                        pass
            if self.table is Table.RECALL and "text" not in indexed:
                self._create_fts(table)

    @staticmethod
    def _indexed_columns(table: Any) -> set[str]:
        try:
            return {column for index in table.list_indices() for column in getattr(index, "columns", [])}
        except Exception:
            return set()

    def _has_fts(self, table: Any) -> bool:
        return "text" in self._indexed_columns(table)

    @staticmethod
    def _create_fts(table: Any) -> None:
        """An n-gram (trigram) inverted index on the text: LanceDB's full-text search, able to serve substrings."""
        try:
            table.create_fts_index(
                "text",
                base_tokenizer="ngram",
                ngram_min_length=3,
                ngram_max_length=3,
                lower_case=True,
                stem=False,
                remove_stop_words=False,
                ascii_folding=False,
                with_position=False,
                replace=True,
            )
        except Exception:
            pass

    def write_side(self, side: Side, rows: Sequence[Row]) -> None:
        table = self._table(side)
        schema = table.schema  # read once per write (under the write lock, nobody else changes it meanwhile)
        dim = int((schema.metadata or {})[b"memgpt_dim"]) if side.vectors else None
        data = self._arrow(rows, side.vectors, dim)
        if self._record_values(table, schema, rows):
            schema = table.schema
        self._write(table, data, schema)

    # -- the users (and agents, sources) a table holds ------------------------------------------------------
    def _recorded(self, table: Any) -> tuple[dict[str, frozenset[str] | None], str | None]:
        """The values each scope field of ``table`` records (``None``: unknown, written before they were
        recorded, or too many to list) and its incarnation, read from one version of its schema."""
        schema = table.schema
        return {f: _listed_users(_recorded_value(schema, f)) for f in self._recorded_fields}, _incarnation(schema)

    def _recorded_users(self, table: Any) -> tuple[frozenset[str] | None, str | None]:
        """The users ``table`` records (see :meth:`_recorded`) and its incarnation."""
        values, incarnation = self._recorded(table)
        return values.get("user_id"), incarnation

    def _record_values(self, table: Any, schema: pa.Schema, rows: Sequence[Row]) -> bool:
        """Record the users (agents, sources) of ``rows`` before they are written (under the write lock): see
        :data:`USERS`. ``schema`` is the table's, as this write read it; whether the record changed (then the
        table has a new version). Every field changed is recorded in one update."""
        updates = []
        for field in self._recorded_fields:
            value = _recorded_value(schema, field)
            values = {row.fields[field] for row in rows} - {None}
            if not values or field not in schema.names or value == ALL_USERS.encode():
                continue
            key = _record_key(field)
            if self.store.lock is None:  # a store without the write lock (a remote URI) never trusts its list: say so
                updates.append({"path": field, "metadata": {key: ALL_USERS}})
                continue
            listed = _listed_users(value)
            if listed is None:  # written before they were recorded (or the list is damaged): learn them from the rows
                recorded = set(pc.unique(self._select(table, None, [field]).column(field)).drop_null().to_pylist())
            else:
                recorded = set(listed)
                if values <= recorded:
                    continue
            wanted = recorded | values
            updates.append(
                {"path": field, "metadata": {key: ALL_USERS if len(wanted) > MAX_RECORDED_USERS else json.dumps(sorted(wanted))}}
            )
        if updates:
            table.update_field_metadata(*updates)
        return bool(updates)

    def _scoped_read(self, table: Any, where: Where, read: Callable[[Where], T]) -> T:
        """``read(where)``, without the terms of the scope fields whose recorded values ``where`` all allows:
        a table of one user's one agent is then read without a filter.

        What the table records is read after the rows: a value is recorded
        before its rows are written, so a list that names no other value
        covers every row the read saw, provided the table was the same one
        throughout. That is known from its incarnation, read before the rows
        were: the record this process read last time (or now, the first time)
        carries it, and an incarnation is never given twice.
        """
        if self.store.lock is None:  # without the folder's write lock, two writers could each record their value
            return read(where)  # over the other's: the record is only trusted under the lock
        constrained = [(f, allowed) for f in self._recorded_fields if (allowed := where.get(f)) is not None]
        if not constrained:
            return read(where)
        seen = self._users_seen.get(table.name)
        if seen is None:
            seen = self._users_seen[table.name] = self._recorded(table)
        left_out = [(f, allowed) for f, allowed in constrained if (listed := seen[0][f]) is not None and listed <= allowed]
        if not left_out:
            return read(where)
        narrowed = where
        for field, _ in left_out:
            narrowed = narrowed.without(field)
        found = read(narrowed)
        after = self._users_seen[table.name] = self._recorded(table)
        if after[1] == seen[1] and all((listed := after[0][f]) is not None and listed <= allowed for f, allowed in left_out):
            return found
        return read(where)

    def remove_ids(self, side: Side, ids: Sequence[str]) -> None:
        table = self._table(side)
        for part in chunked(ids, IN_CHUNK):
            chunk = _ids_in(part)
            if table.count_rows(chunk):
                table.delete(chunk)
                self._wrote(table)

    def delete_side(self, side: Side, where: Where) -> int:
        table, clause = self._table(side), sql_where(where)
        found = int(table.count_rows(clause) if clause else table.count_rows())
        if found:
            table.delete(clause or "true")
            self._wrote(table)
        return found

    def drop_side(self, side: Side) -> None:
        self.store.db.drop_table(side.name)

    def drop(self) -> None:
        """Both tables, also one a killed process left half-created (listed, but without a first version)."""
        with self.writing():
            for name in (self.name, self.plain_name):
                if name in self.store.table_names():
                    self.store.db.drop_table(name)
        self._writes.clear()
        self._handles.clear()
        self._known_ids.clear()
        self._users_seen.clear()

    # -- reads ---------------------------------------------------------------------------------------
    def read_side(self, side: Side, ids: Sequence[str], where: Where) -> list[Row]:
        """The rows with these ids, asked by id alone: a key names its user, and the core holds the rows
        against ``where`` (LanceDB evaluates every other term on every row it reads: 4.3 ms against 5.3
        for ten messages among 20,000)."""
        table = self._table(side)
        rows = self._rows_at_addresses(table, ids, side.vectors)
        missing = [i for i in ids if i not in rows]
        for part in chunked(missing, IN_CHUNK):
            rows.update((row.id, row) for row in self._rows(self._select(table, _ids_in(part)), side.vectors))
        return [rows[i] for i in ids if i in rows]

    def _rows_at_addresses(self, table: Any, ids: Sequence[str], with_vectors: bool) -> dict[str, Row]:
        """The rows of ``ids`` that this thread's last :meth:`keys_of_side` on ``table`` found, taken by row address.

        A page of an ordered search is a few rows among many: taking them where
        the key query saw them reads only those rows, where ``id IN (...)`` reads
        the id of every row (ten messages among 20,000: 1.7 ms against 5.3).
        An address is only a hint: LanceDB leaves out rows deleted since (an
        upsert deletes the old row), a compaction moves rows to new addresses,
        and a row counts only if it still carries the id asked for, ids being
        unique in a table; whatever is not found so is read by id.
        """
        last = getattr(self._addresses, "last", None)
        if last is None or last[0] != table.name:
            return {}
        self._addresses.last = None
        _, found_ids, addresses = last
        wanted = set(ids)
        at = [address for key, address in zip(found_ids, addresses, strict=True) if key in wanted]
        if not at:
            return {}
        try:
            data = table.take_row_ids(at).to_arrow()
        except Exception:  # an engine without row addresses for this table: read by id
            return {}
        return {row.id: row for row in self._rows(data, with_vectors) if row.id in wanted}

    def count_side(self, side: Side, where: Where, condition: Any = None) -> int:
        table = self._table(side)
        extra = self._conditions(table, condition)

        def count(scope: Where) -> int:
            clause = sql_where(scope, extra)
            return int(table.count_rows(clause) if clause else table.count_rows())

        return self._scoped_read(table, where, count)

    def scan_side(self, side: Side, where: Where, batch_size: int) -> Iterator[list[Row]]:
        """Pages of ``batch_size`` rows in LanceDB's stable scan order (offset paging)."""
        clause = sql_where(where)
        offset = 0
        while True:

            def read(offset: int = offset) -> pa.Table | None:
                table = self._open(side.name)
                if table is None:
                    return None
                query = table.search()
                if clause:
                    query = query.where(clause)
                return query.offset(offset).limit(batch_size).to_arrow()

            page = self.reading(read)
            if page is None:
                return
            if page.num_rows:
                yield self._rows(page, side.vectors)
            if page.num_rows < batch_size:
                return
            offset += batch_size

    def search_vectors(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        table = self._table(self.vectors)

        def search(scope: Where) -> pa.Table:
            clause = sql_where(scope)
            found = table.search(query.astype(np.float32), vector_column_name="vector").metric("cosine")
            if clause:
                found = found.where(clause, prefilter=True)
            return found.limit(k).to_arrow()

        result = self._scoped_read(table, where, search)
        rows = self._rows(result.drop_columns(["_distance"]), with_vectors=True)
        return [(row, 1.0 - float(d)) for row, d in zip(rows, result.column("_distance").to_pylist(), strict=True)]

    # -- ordered searches: the core selects (time, id) of the matches, sorts, fetches one page ------------------------
    def keys_of_side(self, side: Side, where: Where, condition: Any) -> Iterable[tuple[int, str]]:
        """``(created_at, id)`` of the matches; an agent's leave the user's term to a check of each key
        (:func:`~memgpt.storage.helpers.scope_without_user`; 5.6 ms against 6.5 for a date range of
        20,000 messages)."""
        table = self._table(side)
        scope, users = scope_without_user(where)
        clause = sql_where(scope, self._conditions(table, condition))
        query = table.search().select(["id", "created_at"]).with_row_id(True)
        found = (query.where(clause) if clause else query).limit(None).to_arrow()
        ids = found.column("id").to_pylist()
        self._addresses.last = (table.name, ids, found.column("_rowid").to_pylist())
        keys = zip(found.column("created_at").to_pylist(), ids, strict=True)
        return keys if users is None else [(when, key) for when, key in keys if key_in_users(key, users)]

    def text_condition(self, text: str) -> Needle:
        return Needle(text)

    def date_condition(self, start: int | None, end: int | None) -> list[str]:
        return time_bounds(start, end)

    def _conditions(self, table: Any, condition: Any) -> list[str]:
        if isinstance(condition, Needle):
            return [self._text_clause(table, condition.text)]
        return list(condition or ())

    def _text_clause(self, table: Any, text: str) -> str:
        """The filter of a text search: ``text`` anywhere in the message, ignoring case.

        An ASCII needle is matched as ``lower(text) LIKE`` its lower case, as the
        local backend does, which DataFusion runs much faster than ``ILIKE``
        (20,000 messages: 6.0 ms against 10.1). It finds the same rows but for
        two letters outside ASCII that the two fold differently onto ASCII ones
        (``ILIKE`` also takes a long s for ``s``; ``lower`` turns a dotted
        capital I into ``i`` and a combining dot). Other needles keep ``ILIKE``,
        whose case folding also knows, e.g., a final sigma.
        """
        if text.isascii():
            clause = f"lower(text) LIKE {literal(like_pattern(text.lower()))} ESCAPE '\\'"
        else:
            clause = f"text ILIKE {literal(like_pattern(text))} ESCAPE '\\'"
        candidates = self._fts_candidates(table, text)
        if candidates is not None:
            clause = f"{_ids_in(candidates) if candidates else 'false'} AND {clause}"
        return clause

    def _fts_candidates(self, table: Any, text: str) -> list[str] | None:
        """Ids the n-gram index says may contain ``text`` (a superset), or None to scan instead."""
        words = text.split()
        if not _FTS_QUERY.fullmatch(text) or not any(len(w) >= 3 for w in words) or not self._has_fts(table):
            return None
        from lancedb.query import MatchQuery

        try:
            # "_score" asked for explicitly: leaving it out makes the engine warn on the terminal at every search
            found = table.search(MatchQuery(text, "text", operator="AND"), query_type="fts").select(["id", "_score"])
            ids = found.limit(max(1, table.count_rows())).to_arrow().column("id").to_pylist()
        except Exception:
            return None
        return None if len(ids) > FTS_MAX_CANDIDATES else ids
