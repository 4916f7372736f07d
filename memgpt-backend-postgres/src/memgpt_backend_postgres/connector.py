"""One memgpt table in PostgreSQL: SQL with bound parameters only, pgvector for search."""

from __future__ import annotations

import io
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from sqlalchemy import text

from memgpt.plugin import ALL_CAPABILITIES, Connector, EmbeddingSpec, Row, StorageError, Table, Where, like_pattern
from memgpt_backend_postgres import binary
from memgpt_backend_postgres.schema import (
    HNSW_MAX_DIM,
    LOCK_KEY,
    SCOPE_FIELDS,
    hnsw_index,
    scope_index,
    scope_index_prefix,
    sql_literal,
    table_name,
    table_statements,
    value_columns,
)
from memgpt_backend_postgres.store import PostgresStore, reconnecting

INDEX_AFTER_ROWS = 20_000
"""The HNSW index is built once a table holds this many vectors. Below it, exact scans are fast and
exact; building the graph once over many rows is much faster than growing it row by row (measured:
10k 16-d rows took 8.8 s with the index maintained on insert, 0.8 s without)."""
EXACT_SCOPE_ROWS = 20_000
"""A filtered search over at most this many rows scans them exactly (always the true top k);
larger scopes use the HNSW index, falling back to an exact scan if the index returns fewer than k."""
HNSW_EF_SEARCH = 200
"""Candidates the HNSW index examines per query (pgvector's ``hnsw.ef_search``; its maximum is 1000)."""
SCOPE_SIZE_TTL_S = 30.0
"""How long the size of a search scope is trusted (this connector's own writes forget it at once)."""
BULK_LOAD_ROWS = 10_000
"""A bulk load of at least this many rows drops the table's HNSW index first and builds it once at the end
(pgvector grows an HNSW graph row by row at a few hundred rows a second; building it over every row at once is
many times faster). Searches meanwhile scan exactly, so they stay correct."""
BULK_LOAD_SHARE = 4
"""A bulk load keeps the index of a table already holding more than this many times its rows: rebuilding the
graph over every row would then cost more than growing it by the new ones (measured at 384 dimensions: a build
takes about 3,600 rows/s, growing it about 400 rows/s), and every user's searches would scan exactly meanwhile."""
SCOPE_INDEX_ROWS = 5_000
"""One user's agent (or source) holding at least this many vectors gets an HNSW index of its own, a partial index
``WHERE user_id = '<user>' AND agent_id = '<agent>'``, built by the first search that needs it. PostgreSQL's own
best way to search one agent (measured at 100,000 x 384, ten agents of 10,000: 3.0 ms a search against 41.5 ms for
the scope scanned exactly, recall@10 1.000 at ``hnsw.ef_search`` 100); the build takes about a second per 3,600
vectors, once."""
_INDEX_VALID = "SELECT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = %s"
SCOPE_INDEX_NOTICE_S = 5.0
"""A scope index build taking longer than this is reported (the search that waited for it says why)."""
INDEX_RECHECK_S = 30.0
"""How often a connector that has not seen its table's HNSW index looks again (another process may build it)."""


def vector_text(vector: np.ndarray | None) -> str | None:
    """pgvector's text form; Python's float repr round-trips every float32 exactly."""
    return None if vector is None else str(np.asarray(vector, dtype=np.float32).tolist())


class PostgresConnector(Connector):
    capabilities = ALL_CAPABILITIES
    max_batch_size = 10_000

    def __init__(self, store: PostgresStore, table: Table, shelf: str = "") -> None:
        self.store = store
        self.table = table
        self.shelf = shelf
        self.name = table_name(table, shelf)
        self.spec_key = f"{table.value}.{shelf}" if shelf else table.value
        """This table's row in ``memgpt_collections``."""
        self.index_name = hnsw_index(table, shelf)
        if shelf:  # another embedding model's table: made on first use, like the schema's own
            self._create_shelf_table()
        self.columns = value_columns(table)
        select = [("vector_send(embedding)" if c == "embedding" else c) for c in self.columns]
        self.select = ", ".join(select)
        self.order = 'created_at, id COLLATE "C"'
        self._indexed = False
        self._index_checked = float("-inf")
        self._bulk = False
        """Inside :meth:`bulk_load`: the index waits for the end."""
        self._scope_sizes: dict[Where, tuple[int, float]] = {}
        self._scope_indexes: dict[str, float] = {}
        """Scope indexes seen to exist, by name, with when they were seen (looked up again after INDEX_RECHECK_S)."""
        self._scope_index_failures: dict[str, float] = {}
        self.scope_field = SCOPE_FIELDS.get(table) if table.has_vectors else None

    @reconnecting
    def _create_shelf_table(self) -> None:
        with self.store.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            for statement in table_statements(self.table, self.shelf):
                conn.execute(text(statement))

    # -- helpers ----------------------------------------------------------------------
    def _row(self, values: Sequence[Any]) -> Row:
        data = dict(zip(self.columns, values, strict=True))
        return Row(
            id=data["id"],
            fields={f: data[f] for f in self.table.filter_fields},
            text=data.get("text"),
            created_at=int(data["created_at"]),
            embedding=binary.vector_from_send(data.get("embedding")),
            payload=data["payload"],
        )

    @staticmethod
    def _where(where: Where, params: dict[str, Any]) -> str:
        """SQL for ``where``; every value is a bound parameter (never pasted into the statement)."""
        parts = []
        for i, (field, values) in enumerate(where.items()):
            key = f"w{i}"
            if len(values) == 1:
                parts.append(f"{field} = :{key}")
                params[key] = values[0]
            else:
                parts.append(f"{field} = ANY(CAST(:{key} AS text[]))")
                params[key] = list(values)
        return " AND ".join(parts) or "TRUE"

    @reconnecting
    def _query(self, sql: str, params: dict[str, Any], setup: Sequence[str] = ()) -> list[Row]:
        with self.store.begin() as conn:
            for statement in setup:
                conn.execute(text(statement))
            return [self._row(r) for r in conn.execute(text(sql), params)]

    # -- embedding spec -------------------------------------------------------------------
    @reconnecting
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        with self.store.begin() as conn:
            row = conn.execute(
                text("SELECT model, dim FROM memgpt_collections WHERE table_name = :t"), {"t": self.spec_key}
            ).first()
        return EmbeddingSpec(row[0], int(row[1])) if row else None

    @reconnecting
    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        with self.store.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            row = conn.execute(
                text("SELECT model, dim FROM memgpt_collections WHERE table_name = :t"), {"t": self.spec_key}
            ).first()
            if row is not None:
                return EmbeddingSpec(row[0], int(row[1]))
            conn.execute(
                text("INSERT INTO memgpt_collections (table_name, model, dim) VALUES (:t, :m, :d)"),
                {"t": self.spec_key, "m": spec.model, "d": spec.dim},
            )
            # Vectors at their real dimension; the HNSW index follows once the table is large (_index_when_large).
            conn.execute(text(f"ALTER TABLE {self.name} ALTER COLUMN embedding TYPE vector({int(spec.dim)})"))
        return spec

    def _index_when_large(self, conn: Any) -> None:
        """Build the HNSW cosine index once the table holds INDEX_AFTER_ROWS vectors (at most once)."""
        if self._indexed or self._bulk or not self.table.has_vectors:
            return
        exists = conn.execute(text("SELECT 1 FROM pg_indexes WHERE indexname = :i"), {"i": self.index_name}).first()
        if exists:
            self._indexed = True
            return
        spec = conn.execute(text("SELECT dim FROM memgpt_collections WHERE table_name = :t"), {"t": self.spec_key}).first()
        if spec is None or int(spec[0]) > HNSW_MAX_DIM:
            return
        vectors = conn.execute(
            text(f"SELECT count(*) FROM (SELECT 1 FROM {self.name} WHERE embedding IS NOT NULL LIMIT :n) AS s"),
            {"n": INDEX_AFTER_ROWS},
        ).scalar()
        if vectors >= INDEX_AFTER_ROWS:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
            conn.execute(
                text(f"CREATE INDEX IF NOT EXISTS {self.index_name} ON {self.name} USING hnsw (embedding vector_cosine_ops)")
            )
            # Fresh statistics: after a bulk load the planner otherwise still sees an empty table and scans it
            # whole rather than use the new index (measured: 149 ms per search instead of 8.5 at 100k rows).
            conn.execute(text(f"ANALYZE {self.name}"))
            self._indexed = True

    @contextmanager
    def bulk_load(self, rows: int) -> Iterator[None]:
        """Load without maintaining the HNSW index, then build it once (see :data:`BULK_LOAD_ROWS`).

        A crash inside the scope leaves the table without its index: the next
        upsert that finds the table large builds it again (``_index_when_large``).
        """
        if rows < BULK_LOAD_ROWS or not self.table.has_vectors or self._bulk or not self._drop_index_for(rows):
            yield
            return
        self._indexed = False
        self._index_checked = float("-inf")
        self._bulk = True
        try:
            yield
        finally:
            self._bulk = False
            self._index_now()

    @reconnecting
    def _index_now(self) -> None:
        with self.store.begin() as conn:
            self._index_when_large(conn)

    @reconnecting
    def _drop_index_for(self, rows: int) -> bool:
        """Drop the HNSW index before a load of ``rows`` unless the table already holds many more (:data:`BULK_LOAD_SHARE`).

        The scope indexes go in any case: any of them may receive rows, and
        pgvector grows a graph row by row; the first search of a large scope
        after the load builds its index again.
        """
        most = BULK_LOAD_SHARE * rows
        with self.store.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            self._drop_scope_indexes(conn)
            held = conn.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {self.name} LIMIT :n) AS s"), {"n": most + 1}).scalar()
            if held > most:
                return False
            conn.execute(text(f"DROP INDEX IF EXISTS {self.index_name}"))
        return True

    # -- writes -----------------------------------------------------------------------------
    def _copy_fields(self, row: Row) -> list[bytes]:
        fields = [binary.text_field(row.id), *(binary.text_field(row.fields[f]) for f in self.table.filter_fields)]
        if self.table.has_text:
            fields.append(binary.text_field(row.text))
        fields.append(binary.int8_field(row.created_at))
        if self.table.has_vectors:
            fields.append(binary.vector_field(row.embedding))
        fields.append(binary.text_field(row.payload))
        return fields

    @reconnecting
    def upsert(self, rows: Sequence[Row]) -> None:
        """Binary COPY into a transaction-scoped staging table, then one INSERT ... ON CONFLICT."""
        data = binary.copy_stream(self._copy_fields(row) for row in rows)
        columns = ", ".join(self.columns)
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in self.columns[1:])
        self._scope_sizes.clear()
        with self.store.begin() as conn:
            conn.execute(text(f"CREATE TEMP TABLE memgpt_stage (LIKE {self.name}) ON COMMIT DROP"))
            cursor = conn.connection.dbapi_connection.cursor()
            cursor.execute(f"COPY memgpt_stage ({columns}) FROM STDIN (FORMAT binary)", stream=io.BytesIO(data))
            conn.execute(
                text(
                    f"INSERT INTO {self.name} ({columns}) SELECT {columns} FROM memgpt_stage ON CONFLICT (id) DO UPDATE SET {updates}"
                )
            )
            self._index_when_large(conn)

    @reconnecting
    def delete(self, where: Where) -> int:
        params: dict[str, Any] = {}
        self._scope_sizes.clear()
        pair = self._one_scope(where)
        with self.store.begin() as conn:
            deleted = conn.execute(text(f"DELETE FROM {self.name} WHERE {self._where(where, params)}"), params).rowcount
            if pair is not None and where.without("user_id").without(self.scope_field or "").is_everything:
                self._drop_scope_indexes(conn, only=scope_index(self.table, self.shelf, *pair))  # the whole scope went
            return deleted

    @reconnecting
    def drop(self) -> None:
        self._scope_sizes.clear()
        with self.store.begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            conn.execute(text(f"TRUNCATE {self.name}"))
            if self.table.has_vectors:
                self._drop_scope_indexes(conn)
                conn.execute(text(f"DROP INDEX IF EXISTS {self.index_name}"))
                self._indexed = False
                conn.execute(text(f"ALTER TABLE {self.name} ALTER COLUMN embedding TYPE vector"))
            conn.execute(text("DELETE FROM memgpt_collections WHERE table_name = :t"), {"t": self.spec_key})

    # -- reads ------------------------------------------------------------------------------
    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        params: dict[str, Any] = {}
        return self._query(f"SELECT {self.select} FROM {self.name} WHERE {self._where(where, params)}", params)

    @reconnecting
    def count(self, where: Where) -> int:
        params: dict[str, Any] = {}
        with self.store.begin() as conn:
            return int(
                conn.execute(text(f"SELECT count(*) FROM {self.name} WHERE {self._where(where, params)}"), params).scalar()
            )

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        params: dict[str, Any] = {"limit": batch_size}
        clause = self._where(where, params)
        last: str | None = None
        while True:
            params["last"] = last
            keyset = "" if last is None else "id > :last AND "
            batch = self._query(f"SELECT {self.select} FROM {self.name} WHERE {keyset}{clause} ORDER BY id LIMIT :limit", params)
            if not batch:
                return
            yield batch
            if len(batch) < batch_size:
                return
            last = batch[-1].id

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        params: dict[str, Any] = {"q": vector_text(query), "k": k}
        clause = self._where(where, params)
        dim = int(query.shape[0])
        distance = f"embedding <=> CAST(:q AS vector({dim}))"
        scope = f"FROM {self.name} WHERE embedding IS NOT NULL AND {clause}"
        # "+ 0" turns the distance into an expression no index answers: the scope is scanned exactly. Ordering by
        # the output column computes each distance once (ordering by the expression again computed it twice).
        exact = f"SELECT *, ({distance}) + 0 AS distance {scope} ORDER BY distance LIMIT :k"
        approximate = f"SELECT *, {distance} AS distance {scope} ORDER BY distance LIMIT :k"
        # Scoped exact scans go through the scope's index: once a table is analyzed the planner prefers a
        # sequential scan of every agent's rows (it does not count the cost of the distances), measured 3-5x slower.
        by_scope = [] if where.is_everything else ["SET LOCAL enable_seqscan = off"]
        if dim > HNSW_MAX_DIM or k > 1000:
            return self._search(exact, params, by_scope)
        found = self._search_scope_index(where, distance, params, k)
        if found is not None:
            return found if len(found) == k else self._search(exact, params, by_scope)
        if not self._has_index():
            return self._search(exact, params, by_scope)
        if not where.is_everything and self._scope_size(where) <= EXACT_SCOPE_ROWS:
            return self._search(exact, params, by_scope)
        found = self._search(approximate, params, [f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, k)}"])
        if len(found) == k:
            return found
        # The index returned fewer than k (a selective filter): the exact scan yields the true k best of the scope.
        return self._search(exact, params, by_scope)

    def _one_scope(self, where: Where) -> tuple[str, str] | None:
        """(user, agent or source) when ``where`` pins exactly one of each: a scope that can have its own index."""
        if self.scope_field is None:
            return None
        users, owners = where.get("user_id"), where.get(self.scope_field)
        if users is None or owners is None or len(users) != 1 or len(owners) != 1:
            return None
        pair = (next(iter(users)), next(iter(owners)))
        return None if any("\\" in v or "\x00" in v for v in pair) else pair

    def _search_scope_index(self, where: Where, distance: str, params: dict[str, Any], k: int) -> list[tuple[Row, float]] | None:
        """The k best of one user's large agent (or source) through its own HNSW index; ``None`` when it has none.

        The scope is written into the statement as constants, as in the
        index's predicate: PostgreSQL uses a partial index only for a query
        whose condition implies it when the plan is made. The rest of
        ``where`` stays bound parameters.
        """
        pair = self._one_scope(where)
        if pair is None or self._bulk or self._scope_size(where) < SCOPE_INDEX_ROWS:
            return None
        try:
            self._scope_index(*pair)
        except StorageError as exc:  # the search goes on without it; the build is tried again later
            from memgpt.plugin import notice

            notice(
                f"postgres-scope-index-failed:{self.name}",
                f"could not build a search index in {self.name} ({exc}); searches stay correct but slower and the "
                "build is tried again in 30 s: check the server's disk space and log",
            )
            return None
        user, owner = pair
        rest = where.without("user_id").without(self.scope_field)
        clause = f"user_id = {sql_literal(user)} AND {self.scope_field} = {sql_literal(owner)} AND {self._where(rest, params)}"
        sql = f"SELECT *, {distance} AS distance FROM {self.name} WHERE embedding IS NOT NULL AND {clause} ORDER BY distance LIMIT :k"
        return self._search(sql, params, [f"SET LOCAL hnsw.ef_search = {max(HNSW_EF_SEARCH, k)}"])

    def _scope_index(self, user: str, owner: str) -> str:
        """The name of the scope's index, built first if it does not exist yet (or a build of it died half way).

        A build that failed is tried again after INDEX_RECHECK_S, not by every search.
        """
        name = scope_index(self.table, self.shelf, user, owner)
        now = time.monotonic()
        seen = self._scope_indexes.get(name)
        if seen is not None and now - seen < INDEX_RECHECK_S:
            return name
        failed = self._scope_index_failures.get(name)
        if failed is not None and now - failed < INDEX_RECHECK_S:
            raise StorageError(f"the search index {name} failed to build {now - failed:.0f} s ago")
        if self._scope_index_valid(name) is not True:
            started = time.monotonic()
            try:
                self._build_scope_index(name, user, owner)
            except StorageError:
                self._scope_index_failures[name] = now
                raise
            took = time.monotonic() - started
            if took > SCOPE_INDEX_NOTICE_S:
                from memgpt.plugin import notice

                notice(
                    f"postgres-scope-index:{name}",
                    f"built the search index of {self.scope_field} {owner!r} in {self.name} in {took:.0f} s; "
                    "later searches use it",
                )
        if len(self._scope_indexes) > 10_000:
            self._scope_indexes.clear()
        self._scope_indexes[name] = now
        return name

    @reconnecting
    def _scope_index_valid(self, name: str) -> bool | None:
        """True for a usable index, False for one a killed build left invalid, None when there is none."""
        with self.store.begin() as conn:
            found = conn.execute(text(_INDEX_VALID.replace("%s", ":n")), {"n": name}).first()
        return None if found is None else bool(found[0])

    @reconnecting
    def _build_scope_index(self, name: str, user: str, owner: str) -> None:
        """``CREATE INDEX CONCURRENTLY``: other users keep writing to the table while the graph is built.

        A concurrent build runs outside any transaction, on the driver's own
        connection in autocommit mode (SQLAlchemy's autocommit option still
        left pg8000 inside a transaction block). Two processes are kept from
        building the same index at once by a session lock of its own, and an
        index that a killed build left invalid is dropped and built again.
        """
        key = zlib.crc32(name.encode()) | (0x6D67 << 32)  # one lock per index, apart from the schema's LOCK_KEY
        predicate = f"user_id = {sql_literal(user)} AND {self.scope_field} = {sql_literal(owner)}"
        with self.store.errors():
            pooled = self.store.engine.raw_connection()
            driver = pooled.dbapi_connection
            try:
                driver.rollback()
                driver.autocommit = True
                cursor = driver.cursor()
                cursor.execute("SELECT pg_advisory_lock(%s)", (key,))
                try:
                    cursor.execute(_INDEX_VALID, (name,))
                    found = cursor.fetchone()
                    if found is not None and not found[0]:
                        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
                    if found is None or not found[0]:
                        cursor.execute("SET maintenance_work_mem = '512MB'")
                        cursor.execute(
                            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {self.name} "
                            f"USING hnsw (embedding vector_cosine_ops) WHERE {predicate}"
                        )
                        cursor.execute("RESET maintenance_work_mem")
                        cursor.execute(f"ANALYZE {self.name}")  # else the planner may not see that the index pays
                finally:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", (key,))
            finally:
                driver.autocommit = False
                pooled.close()

    def _drop_scope_indexes(self, conn: Any, only: str | None = None) -> None:
        """Drop the table's scope indexes (or the one called ``only``); searches build them again when needed."""
        names = (
            [only]
            if only is not None
            else list(
                conn.execute(
                    text("SELECT indexname FROM pg_indexes WHERE tablename = :t AND starts_with(indexname::text, :p)"),
                    {"t": self.name, "p": scope_index_prefix(self.table, self.shelf)},
                ).scalars()
            )
        )
        for name in names:
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
            self._scope_indexes.pop(name, None)

    @reconnecting
    def _scope_size(self, where: Where) -> int:
        """Vectors in ``where`` (up to EXACT_SCOPE_ROWS + 1), remembered for SCOPE_SIZE_TTL_S or until this connector writes.

        The size only chooses between an exact scan and the HNSW index. A size
        that another process changed meanwhile costs speed (an exact scan of a
        scope that just grew) or, for a scope shrunk below the threshold by
        deletes, an index search with its usual recall, never a wrong record.
        """
        now = time.monotonic()
        known = self._scope_sizes.get(where)
        if known is not None and now - known[1] < SCOPE_SIZE_TTL_S:
            return known[0]
        params: dict[str, Any] = {"small": EXACT_SCOPE_ROWS}
        sql = (
            f"SELECT count(*) FROM (SELECT 1 FROM {self.name} WHERE embedding IS NOT NULL "
            f"AND {self._where(where, params)} LIMIT :small + 1) AS s"
        )
        with self.store.begin() as conn:
            size = int(conn.execute(text(sql), params).scalar())
        if len(self._scope_sizes) > 10_000:
            self._scope_sizes.clear()
        self._scope_sizes[where] = (size, now)
        return size

    @reconnecting
    def _has_index(self) -> bool:
        """Whether the table has its HNSW index (cached once seen; looked up again at most every INDEX_RECHECK_S)."""
        now = time.monotonic()
        if not self._indexed and now - self._index_checked > INDEX_RECHECK_S:
            with self.store.begin() as conn:
                found = conn.execute(text("SELECT 1 FROM pg_indexes WHERE indexname = :i"), {"i": self.index_name})
                self._indexed = found.first() is not None
            self._index_checked = now
        return self._indexed

    @reconnecting
    def _search(self, sql: str, params: dict[str, Any], setup: Sequence[str] = ()) -> list[tuple[Row, float]]:
        """Run a search ``sql`` selecting ``*, distance``; vectors are sent (vector_send) only for the rows it keeps."""
        with self.store.begin() as conn:
            for statement in setup:
                conn.execute(text(statement))
            rows = conn.execute(text(f"SELECT {self.select}, distance FROM ({sql}) AS best ORDER BY distance"), params)
            return [(self._row(r[:-1]), 1.0 - float(r[-1])) for r in rows]

    # -- text and date search -------------------------------------------------------------------
    def text_search(self, text_: str, where: Where, limit: int, offset: int) -> list[Row]:
        params: dict[str, Any] = {"pattern": like_pattern(text_), "limit": limit, "offset": offset}
        clause = self._where(where, params)
        return self._query(
            f"SELECT {self.select} FROM {self.name} WHERE {clause} AND text ILIKE :pattern ESCAPE '\\' "
            f"ORDER BY {self.order} LIMIT :limit OFFSET :offset",
            params,
        )

    @reconnecting
    def text_count(self, text_: str, where: Where) -> int:
        params: dict[str, Any] = {"pattern": like_pattern(text_)}
        clause = self._where(where, params)
        with self.store.begin() as conn:
            sql = f"SELECT count(*) FROM {self.name} WHERE {clause} AND text ILIKE :pattern ESCAPE '\\'"
            return int(conn.execute(text(sql), params).scalar())

    def _dates(self, start: int | None, end: int | None, params: dict[str, Any]) -> str:
        params["start"] = start if start is not None else -(2**63)
        params["end"] = end if end is not None else 2**63 - 1
        return "created_at BETWEEN :start AND :end"

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        params: dict[str, Any] = {"limit": limit, "offset": offset}
        clause = self._where(where, params)
        dates = self._dates(start, end, params)
        return self._query(
            f"SELECT {self.select} FROM {self.name} WHERE {clause} AND {dates} ORDER BY {self.order} LIMIT :limit OFFSET :offset",
            params,
        )

    @reconnecting
    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        params: dict[str, Any] = {}
        clause = self._where(where, params)
        dates = self._dates(start, end, params)
        with self.store.begin() as conn:
            return int(conn.execute(text(f"SELECT count(*) FROM {self.name} WHERE {clause} AND {dates}"), params).scalar())
