"""The local backend's connector: one table across its partitions."""

from __future__ import annotations

import heapq
import json
import operator
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from memgpt.local.database import Database
from memgpt.local.schema import LAYOUTS
from memgpt.notices import notice
from memgpt.records import EmbeddingSpec, Table
from memgpt.storage import index_file
from memgpt.storage.ann import KIND as GRAPH_KIND
from memgpt.storage.ann import AnnGraph, saved_graphs
from memgpt.storage.codec import Row, split_key, vector_blob, vector_from_bytes, vector_matrix, vectors_from_blobs
from memgpt.storage.connector import ALL_CAPABILITIES, Connector
from memgpt.storage.snapshots import save_snapshot, saved_snapshots, whole
from memgpt.storage.vectors import VectorIndex, normalize_rows, top_k
from memgpt.storage.where import Where

if TYPE_CHECKING:
    from memgpt.local.store import LocalStore

LOAD_CHUNK = 8_192
"""Rows read per step when loading a partition's vectors (bounds temporary memory)."""
FTS_MIN_CHARS = 3
"""The trigram index answers substring queries of at least this many characters."""
LOG_KEEP = 10_000
"""Writes whose changed ids a partition's change log keeps; a cache further behind reloads the partition whole."""
LOG_PRUNE_EVERY = 1_000
"""The log is pruned to LOG_KEEP entries at every this many writes."""
EVERYTHING = "*"
"""A change-log entry meaning "every row may have changed" (the table was emptied)."""
ANN_CANDIDATES = 64
"""Candidates a graph search proposes at least (and 4 per result wanted); each is read and scored exactly."""
ANN_MAX_CANDIDATES = 16_384
"""Past this many candidates without k rows passing the search's filters, the partition is scanned exactly."""
ANN_SAVE_SHARE = 0.05
"""A graph is saved again once this share of its rows changed since its last save (and at least ANN_SAVE_MIN)."""
ANN_SAVE_MIN = 1_000
"""Changed rows below which a graph is not saved again (a write of a few rows does not rewrite a large file)."""
ANN_STALE_SHARE = 0.1
"""A graph holding more deleted rows than this share of its size is rebuilt."""
BUILD_NOTICE_S = 10.0
"""A graph build taking longer than this is explained to the user once (the command's ``Note:`` line)."""
SNAPSHOT_AFTER = 20_000
"""Vectors from which a partition's exact index is saved beside its file, for the next process to map
(:mod:`memgpt.storage.index_file`); smaller ones are read back from SQLite in a few tens of milliseconds."""
SNAPSHOT_SAVE_SHARE = 0.2
"""A saved exact index is saved again once this share of its rows changed (and at least ANN_SAVE_MIN): each save
rewrites every vector, so saves grow geometrically apart, and a process in between replays the change log."""


@dataclass
class _Cached:
    """A partition's vectors in memory, the ``data_version`` they reflect and the last change-log entry applied.

    A small partition holds an exact :class:`VectorIndex`; one of at least
    the store's ``ann_after`` vectors an :class:`AnnGraph` keyed by SQLite
    rowid (``index`` is then ``None``), whose candidates are read and scored
    exactly from the file.
    """

    index: VectorIndex | None
    version: int
    seq: int
    ann: AnnGraph | None = None
    stale: int = 0
    """Rows the graph may still hold that were deleted by another process (their rowids are unknown here)."""


def _too_stale(cached: _Cached) -> bool:
    """Whether a graph holds so many deleted rows that rebuilding it is due."""
    return cached.ann is not None and cached.stale > ANN_STALE_SHARE * max(1, len(cached.ann))


def _best(rows: Sequence[tuple[Any, ...]], query: np.ndarray, k: int) -> list[tuple[str, float, int]]:
    """The ``k`` best (id, cosine, rowid) of (rowid, id, embedding) rows, scored exactly."""
    if not rows:
        return []
    vectors = normalize_rows(vectors_from_blobs([r[2] for r in rows]))
    scores = vectors @ query
    best = top_k(scores, k)
    return [(rows[i][1], float(scores[i]), int(rows[i][0])) for i in best.tolist()]


class LocalConnector(Connector):
    """A table of the local backend: routed to the partition of each agent or source."""

    capabilities = ALL_CAPABILITIES
    max_batch_size = 10_000

    def __init__(self, store: LocalStore, table: Table, shelf: str = "") -> None:
        self.store = store
        self.table = table
        self.shelf = shelf
        self.layout = LAYOUTS[table]
        self._select = self.layout.select_columns()
        self._upsert = self.layout.upsert_sql()
        self._index_fields = tuple(c for c in self.layout.columns if c != self.layout.partition_field)
        self._fields_of = operator.itemgetter(*self.layout.columns)
        self._n_columns = len(self.layout.columns)
        self._has_text = self.layout.has_text
        self._rest = self._n_columns + (2 if self._has_text else 1)
        """Where created_at sits in a selected tuple (embedding and payload follow)."""
        # partition key -> its cached vectors; guarded by _lock across threads
        self._indexes: dict[str, _Cached] = {}
        self._log = f"{self.layout.sql_name}_log" if self.layout.has_vectors else None
        self._users = self.layout.users_table
        self.reloads = 0
        """Partitions this connector read whole into memory (a measure of cache refreshes; see _refresh)."""
        self.graph_builds = 0
        """Graphs this connector built from the file (rather than loaded from a saved one)."""
        self.index_reads = 0
        """Exact indexes this connector read from the file's rows (rather than mapped from a saved one)."""
        self._lock = threading.RLock()

    # -- routing ----------------------------------------------------------------------
    def _key_of(self, row: Row) -> str:
        """The partition of ``row``: its agent or source, or for agents and sources themselves their id (not the user)."""
        field = self.layout.partition_field
        return split_key(row.id)[1] if field == "id" else row.fields[field]  # type: ignore[return-value]

    def _partitions(self, where: Where) -> list[tuple[str, Database]]:
        keys = where.get(self.layout.partition_field)
        if keys is not None and self.layout.partition_field == "id":
            keys = {split_key(key)[1] for key in keys}
        names = sorted(keys) if keys is not None else self.store.partition_keys(self.layout.group, self.shelf)
        found = []
        for key in names:
            db = self.store.partition(self.layout.group, key, create=False, shelf=self.shelf)
            if db is not None:
                found.append((key, db))
        return found

    def _clause(self, where: Where) -> tuple[str, list[Any]]:
        """SQL for ``where``, minus the partition field (true of every row of a partition)."""
        parts, params = [], []
        for name, values in where.items():
            if name == self.layout.partition_field:
                continue
            if len(values) == 1:
                parts.append(f"{name} = ?")
                params.append(values[0])
            else:
                parts.append(f"{name} IN (SELECT value FROM json_each(?))")
                params.append(json.dumps(values))
        return (" AND ".join(parts) or "1"), params

    def _file_clause(self, conn: sqlite3.Connection, where: Where) -> tuple[str, list[Any]]:
        """:meth:`_clause` for one file, read in the transaction that reads its rows: without the user term when
        every user the file holds is one the scope allows (SQLite then counts an index instead of reading each
        row's user; measured 1.6 ms -> 0.02 ms to count one agent's 10,000 passages)."""
        users = where.get("user_id")
        if users is not None and self._users is not None:
            held = [r[0] for r in conn.execute(f"SELECT user_id FROM {self._users}")]
            if set(held) <= set(users):
                where = where.without("user_id")
        return self._clause(where)

    def _row(self, values: Sequence[Any]) -> Row:
        """The Row of one selected tuple (:meth:`TableLayout.select_columns` order); called for every row read."""
        n = self._n_columns
        rest = self._rest
        blob = values[rest + 1]
        return Row(  # positional: this runs for every row a read returns
            values[0],
            dict(zip(self.layout.columns, values[1 : n + 1])),  # noqa: B905 - the slice has exactly n values
            values[n + 1] if self._has_text else None,
            values[rest],
            None if blob is None else vector_from_bytes(blob),
            values[rest + 2],
        )

    # -- embedding spec -------------------------------------------------------------------
    def get_embedding_spec(self) -> EmbeddingSpec | None:
        return self.store.get_spec(self.table, self.shelf)

    def ensure_embedding_spec(self, spec: EmbeddingSpec) -> EmbeddingSpec:
        return self.store.ensure_spec(self.table, spec, self.shelf)

    # -- writes ---------------------------------------------------------------------------
    def _params(self, row: Row) -> tuple[Any, ...]:
        """The parameters of :meth:`TableLayout.upsert_sql` for ``row``, in :attr:`TableLayout.value_columns` order."""
        fields = self._fields_of(row.fields)
        if len(self.layout.columns) == 1:
            fields = (fields,)
        head = (row.id, *fields, row.text) if self.layout.has_text else (row.id, *fields)
        if self.layout.has_vectors:
            return (*head, row.created_at, None if row.embedding is None else vector_blob(row.embedding), row.payload)
        return (*head, row.created_at, row.payload)

    def upsert(self, rows: Sequence[Row]) -> None:
        """Write each partition's rows in one transaction of its file, file after file.

        (Writing files on two threads was measured no faster: sqlite3 takes the
        GIL back for every row it binds, so the threads only take turns.)
        """
        by_key: dict[str, list[Row]] = defaultdict(list)
        for row in rows:
            by_key[self._key_of(row)].append(row)
        for key, group in by_key.items():
            self._upsert_partition(key, group)

    def _upsert_partition(self, key: str, group: list[Row]) -> None:
        db = self.store.partition(self.layout.group, key, create=True, shelf=self.shelf)
        assert db is not None
        rowids: dict[str, int] = {}
        try:
            with db.write() as conn:
                conn.executemany(self._upsert, [self._params(r) for r in group])
                if self._users is not None:
                    users = {r.fields["user_id"] for r in group}
                    conn.executemany(f"INSERT OR IGNORE INTO {self._users} (user_id) VALUES (?)", [(u,) for u in users])
                seq = self._log_change(conn, [r.id for r in group])
                if key in self._indexes:  # the cached index learns the rowids of what it gains (a graph: of all)
                    graph = self._indexes[key].ann is not None
                    rowids = self._rowids(conn, [r.id for r in group if graph or r.embedding is not None])
        except BaseException:
            self.store.discard_if_unused(self.layout.group, key, self.shelf)  # a first write that failed leaves no empty file
            raise
        self._index_after_upsert(key, group, rowids, seq)

    def _log_change(self, conn: sqlite3.Connection, ids: list[str] | str) -> int:
        """Record, in the write's own transaction, which rows it changed (``EVERYTHING`` for all of them); its position."""
        if self._log is None:
            return 0
        entry = ids if isinstance(ids, str) else json.dumps(ids)
        seq = conn.execute(f"INSERT INTO {self._log} (ids) VALUES (?)", (entry,)).lastrowid or 0
        if seq % LOG_PRUNE_EVERY == 0:  # keep the log bounded: a cache this far behind reloads the partition instead
            conn.execute(f"DELETE FROM {self._log} WHERE seq <= ?", (seq - LOG_KEEP,))
        return seq

    @staticmethod
    def _follow_own_write(cached: _Cached, seq: int) -> None:
        """Move a cache's log position past this process's own write when nothing else was logged before it.

        Otherwise a process that only writes would keep its first position:
        a graph it saves would then lie further behind than the log reaches.
        """
        if seq and cached.seq == seq - 1:
            cached.seq = seq

    def _rowids(self, conn: sqlite3.Connection, ids: list[str]) -> dict[str, int]:
        if not ids:
            return {}
        sql = f"SELECT id, rid FROM {self.layout.sql_name} WHERE id IN (SELECT value FROM json_each(?))"
        return dict(conn.execute(sql, [json.dumps(ids)]).fetchall())

    def _index_after_upsert(self, key: str, rows: list[Row], rowids: dict[str, int], seq: int = 0) -> None:
        with self._lock:
            self._update_index(key, rows, rowids, seq)

    def _update_index(self, key: str, rows: list[Row], rowids: dict[str, int], seq: int = 0) -> None:
        cached = self._indexes.get(key)
        if cached is None:
            return
        self._follow_own_write(cached, seq)
        if cached.ann is not None:
            self._update_graph(key, cached, rows, rowids)
            return
        index = cached.index
        assert index is not None
        with_vectors = [r for r in rows if r.embedding is not None]
        index.remove(r.id for r in rows if r.embedding is None)
        if with_vectors:
            index.put(
                [r.id for r in with_vectors],
                vector_matrix([r.embedding for r in with_vectors]),
                [r.fields for r in with_vectors],
                [rowids.get(r.id, -1) for r in with_vectors],
            )
        if len(index) >= self.store.ann_after:
            del self._indexes[key]  # grown past the threshold: the next search builds the partition's graph
        else:
            self._save_if_due(key, cached)

    def _update_graph(self, key: str, cached: _Cached, rows: list[Row], rowids: dict[str, int]) -> None:
        """Apply this process's own write to a partition's graph, saving the graph once enough changed."""
        assert cached.ann is not None
        with_vectors = [r for r in rows if r.embedding is not None and r.id in rowids]
        cached.ann.remove(np.array([rowids[r.id] for r in rows if r.embedding is None and r.id in rowids], dtype=np.int64))
        if with_vectors:
            cached.ann.put(
                np.array([rowids[r.id] for r in with_vectors], dtype=np.int64),
                normalize_rows(vector_matrix([r.embedding for r in with_vectors])),
            )
        self._save_if_due(key, cached)

    def _save_if_due(self, key: str, cached: _Cached) -> None:
        """Save a graph, or a large exact index, once enough of it changed since its last save."""
        if cached.ann is not None:
            due = cached.ann.changes >= max(ANN_SAVE_MIN, ANN_SAVE_SHARE * len(cached.ann))
        else:
            assert cached.index is not None
            size = len(cached.index)
            due = size >= SNAPSHOT_AFTER and cached.index.changes >= max(ANN_SAVE_MIN, SNAPSHOT_SAVE_SHARE * size)
        if due:
            self._save(key, cached)

    def _snapshot_place(self, key: str) -> tuple[Path, str]:
        """The folder and file-name stem of a partition's saved graph or exact index (beside its SQLite file)."""
        path = self.store.partition_path(self.layout.group, key, self.shelf)
        stem = f"{path.stem}.{self.layout.sql_name}"
        return path.parent, stem

    def _save(self, key: str, cached: _Cached) -> None:
        """Save the graph or exact index as of ``cached.seq`` (later writes, own or not, are replayed from the log on load).

        Saves of the other kind are removed: the partition crossed ``ann_after``.
        """
        folder, stem = self._snapshot_place(key)
        try:
            if cached.ann is not None:
                cached.ann.save(folder, stem, cached.seq)
                self._forget_saved(key, index_file.KIND)
            else:
                index = cached.index
                assert index is not None
                save_snapshot(folder, stem, index_file.KIND, cached.seq, lambda path: index_file.write_index(index, path))
                index.changes = 0
                self._forget_saved(key, GRAPH_KIND)
        except OSError:
            pass  # a full disk or a read-only folder: kept in memory; the next process reads or builds it again

    def _forget_saved(self, key: str, kind: str) -> None:
        """Remove a partition's saves of ``kind`` (no longer of use: it is searched the other way, or too small to save)."""
        folder, stem = self._snapshot_place(key)
        for path, _ in saved_snapshots(folder, stem, kind):
            try:
                path.unlink(missing_ok=True)
            except OSError:
                pass

    def delete(self, where: Where) -> int:
        clause, params = self._clause(where)
        deleted = 0
        for key, db in self._partitions(where):
            ids: list[str] = []
            rids: list[int] = []
            with db.write() as conn:
                cached = self._indexes.get(key)
                if cached is not None or self._log is not None:
                    found = conn.execute(f"SELECT id, rid FROM {self.layout.sql_name} WHERE {clause}", params).fetchall()
                    ids = [r[0] for r in found]
                    rids = [r[1] for r in found]
                deleted += conn.execute(f"DELETE FROM {self.layout.sql_name} WHERE {clause}", params).rowcount
                if self._users is not None and conn.execute(f"SELECT 1 FROM {self.layout.sql_name} LIMIT 1").fetchone() is None:
                    conn.execute(f"DELETE FROM {self._users}")  # emptied: no user is held any more
                seq = self._log_change(conn, ids) if ids else 0
            if cached is not None:
                with self._lock:
                    self._follow_own_write(cached, seq)
                    if cached.ann is not None:
                        cached.ann.remove(np.array(rids, dtype=np.int64))
                    else:
                        assert cached.index is not None
                        cached.index.remove(ids)
                    self._save_if_due(key, cached)
        return deleted

    def drop(self) -> None:
        for key, db in self._partitions(Where.everything()):
            with db.write() as conn:
                conn.execute(f"DELETE FROM {self.layout.sql_name}")
                if self._users is not None:
                    conn.execute(f"DELETE FROM {self._users}")
                self._log_change(conn, EVERYTHING)
            with self._lock:
                self._indexes.pop(key, None)
        self.store.forget_spec(self.table, self.shelf)

    # -- reads ----------------------------------------------------------------------------
    def _query(self, db: Database, sql: str, params: Sequence[Any]) -> list[Row]:
        with db.using() as conn:
            return [self._row(values) for values in conn.execute(sql, params)]

    def get(self, ids: Sequence[str], where: Where) -> list[Row]:
        clause, params = self._clause(where)
        sql = f"SELECT {self._select} FROM {self.layout.sql_name} WHERE {clause}"
        return [row for _, db in self._partitions(where) for row in self._query(db, sql, params)]

    def count(self, where: Where) -> int:
        return self._count_where(where, "1", [])

    def scan(self, where: Where, batch_size: int) -> Iterator[list[Row]]:
        clause, params = self._clause(where)
        sql = f"SELECT rid, {self._select} FROM {self.layout.sql_name} WHERE rid > ? AND {clause} ORDER BY rid LIMIT ?"
        for _, db in self._partitions(where):
            last = -1
            while True:
                with db.using() as conn:
                    batch = conn.execute(sql, [last, *params, batch_size]).fetchall()
                if not batch:
                    break
                last = batch[-1][0]
                yield [self._row(values[1:]) for values in batch]
                if len(batch) < batch_size:
                    break

    # -- vector search --------------------------------------------------------------------
    def _index(self, key: str, db: Database) -> _Cached:
        """The partition's vectors, current: read whole the first time, then brought up to date from its change log.

        Another process's commit changes the file's ``data_version``; the rows
        its writes changed are then read back by id (a handful, where a reload
        reads every vector of the partition), unless the log no longer reaches
        back to what the cache reflects. A partition of at least the store's
        ``ann_after`` vectors gets a graph instead (:meth:`_load_graph`).
        """
        version = db.data_version()
        cached = self._indexes.get(key)
        if cached is not None and cached.version == version:
            return cached
        if cached is not None and self._refresh(cached, db) and not _too_stale(cached):
            cached.version = version
            return cached
        seq = self._last_seq(db)
        if self._wants_graph(db):
            cached = self._load_graph(key, db, version, seq)
        else:
            cached = self._load_exact(key, db, version, seq)
        self.reloads += 1
        self._indexes[key] = cached
        return cached

    def _wants_graph(self, db: Database) -> bool:
        """Whether the partition is searched through a graph: it has a change log and at least ``ann_after`` rows."""
        if self._log is None:
            return False
        with db.read() as conn:  # rows, with a vector or not: counted from the smallest b-tree, not the vectors' pages
            total = conn.execute(f"SELECT count(*) FROM {self.layout.sql_name}").fetchone()[0]
        return bool(total >= self.store.ann_after)

    def _last_seq(self, db: Database) -> int:
        if self._log is None:
            return 0
        with db.read() as conn:
            return int(conn.execute(f"SELECT coalesce(max(seq), 0) FROM {self._log}").fetchone()[0])

    def _refresh(self, cached: _Cached, db: Database) -> bool:
        """Apply the change log since ``cached.seq``; False when it cannot (entries pruned, or the table was emptied)."""
        if self._log is None:
            return False
        with db.read() as conn:
            first = conn.execute(f"SELECT min(seq) FROM {self._log}").fetchone()[0]
            entries = conn.execute(f"SELECT seq, ids FROM {self._log} WHERE seq > ? ORDER BY seq", (cached.seq,)).fetchall()
            if entries and (first is None or first > cached.seq + 1):
                return False  # pruned past what the cache reflects
            changed: set[str] = set()
            for _, ids in entries:
                if ids == EVERYTHING:
                    return False
                changed.update(json.loads(ids))
            rows: list[tuple[Any, ...]] = []
            columns = ", ".join(("rid", "id", *self._index_fields, "embedding"))
            wanted = sorted(changed)
            for start in range(0, len(wanted), LOAD_CHUNK):
                part = json.dumps(wanted[start : start + LOAD_CHUNK])
                sql = f"SELECT {columns} FROM {self.layout.sql_name} WHERE id IN (SELECT value FROM json_each(?))"
                rows += conn.execute(sql, (part,)).fetchall()
        if entries:
            cached.seq = int(entries[-1][0])
        if cached.ann is not None:
            self._refresh_graph(cached, changed, rows)
            return True
        assert cached.index is not None
        present = {r[1] for r in rows if r[-1] is not None}
        cached.index.remove(i for i in changed if i not in present)
        with_vectors = [r for r in rows if r[-1] is not None]
        if with_vectors:
            n = len(self._index_fields)
            cached.index.put(
                [r[1] for r in with_vectors],
                vectors_from_blobs([r[-1] for r in with_vectors]),
                [dict(zip(self._index_fields, r[2 : 2 + n], strict=True)) for r in with_vectors],
                [r[0] for r in with_vectors],
            )
        return True

    @staticmethod
    def _refresh_graph(cached: _Cached, changed: set[str], rows: list[tuple[Any, ...]]) -> None:
        """Apply another process's writes to a graph: changed rows re-inserted under their rowid, vectors removed."""
        assert cached.ann is not None
        with_vectors = [r for r in rows if r[-1] is not None]
        cached.ann.remove(np.array([r[0] for r in rows if r[-1] is None], dtype=np.int64))
        if with_vectors:
            vectors = vectors_from_blobs([r[-1] for r in with_vectors])
            cached.ann.put(np.array([r[0] for r in with_vectors], dtype=np.int64), normalize_rows(vectors))
        cached.stale += len(changed) - len(rows)  # deleted: their rowids are gone, the graph may still hold them

    def _load_graph(self, key: str, db: Database, version: int, seq: int) -> _Cached:
        """The partition's graph: the newest saved one brought up to date from the change log, else built anew.

        A saved graph is used only if it comes from this file's history (its
        change-log position is not ahead of the file's) and the log still
        reaches back to it; a damaged file is skipped. Otherwise the graph is
        built from the file and saved.
        """
        folder, stem = self._snapshot_place(key)
        dim = self._vector_dim(db)
        for path, saved_seq in saved_graphs(folder, stem):
            if saved_seq > seq:
                continue  # not from this file's history (a file restored from a backup, say)
            graph = AnnGraph.restore(path, dim)
            if graph is None:
                continue
            cached = _Cached(None, version, saved_seq, ann=graph)
            if self._refresh(cached, db) and not _too_stale(cached):
                self._save_if_due(key, cached)
                return cached
            break
        started = time.monotonic()
        cached = _Cached(None, version, seq, ann=self._build_graph(db, dim))
        self._save(key, cached)
        took = time.monotonic() - started
        if took > BUILD_NOTICE_S:
            notice(
                f"graph:{folder / stem}",
                f"built the search graph of {len(cached.ann or ()):,} vectors in {folder} in {took:.0f} s; it is saved "
                "beside the file, so later searches load it instead (details: docs/local-storage.md)",
            )
        return cached

    def _load_exact(self, key: str, db: Database, version: int, seq: int) -> _Cached:
        """The partition's exact index: the newest saved one brought up to date from the change log, else read whole.

        As for a graph, a save is used only if it comes from this file's
        history and the log still reaches back to it. One read whole is saved
        when it holds at least :data:`SNAPSHOT_AFTER` vectors.
        """
        if self._log is not None:
            folder, stem = self._snapshot_place(key)
            for path, saved_seq in saved_snapshots(folder, stem, index_file.KIND):
                if saved_seq > seq or not whole(path):
                    continue
                index = index_file.read_index(path)
                if index is None or index.fields != self._index_fields:
                    continue
                cached = _Cached(index, version, saved_seq)
                if self._refresh(cached, db):
                    if len(index) < SNAPSHOT_AFTER:
                        self._forget_saved(key, index_file.KIND)  # shrunk: read from the file next time
                    self._save_if_due(key, cached)
                    return cached
                break
        cached = _Cached(self._load_index(db), version, seq)
        if self._log is not None:
            if len(cached.index or ()) >= SNAPSHOT_AFTER:
                self._save(key, cached)
            else:
                self._forget_saved(key, index_file.KIND)
        return cached

    def _vector_dim(self, db: Database) -> int:
        with db.read() as conn:
            found = conn.execute(
                f"SELECT length(embedding) FROM {self.layout.sql_name} WHERE embedding IS NOT NULL LIMIT 1"
            ).fetchone()
        return int(found[0]) // 4 if found else 0

    def _build_graph(self, db: Database, dim: int) -> AnnGraph:
        """A graph of every vector of the partition, read and inserted chunk by chunk."""
        self.graph_builds += 1
        graph = AnnGraph(dim)
        sql = f"SELECT rid, embedding FROM {self.layout.sql_name} WHERE rid > ? AND embedding IS NOT NULL ORDER BY rid LIMIT ?"
        last = -1
        while True:
            # One short read per chunk, so other processes' writes are not held up for the whole build; what they
            # change meanwhile is in the change log after the position the caller read first, and replayed.
            with db.read() as conn:
                chunk = conn.execute(sql, (last, LOAD_CHUNK)).fetchall()
            if not chunk:
                break
            vectors = vectors_from_blobs([r[1] for r in chunk])
            graph.put(np.array([r[0] for r in chunk], dtype=np.int64), normalize_rows(vectors), check=False)
            last = chunk[-1][0]
        graph.check_all()  # once, at the end: also finds nodes that later chunks cut off
        graph.changes = 0
        return graph

    def _prepare_index(self, key: str, db: Database) -> None:
        """Load a partition's vectors (build or rebuild its graph) before a search takes its snapshot.

        A graph build takes minutes at a million vectors, and reading and
        saving an exact index seconds: inside the search's read transaction
        either would hold every other process's writes to the file up. Done
        here in their own reads instead, the result is cached with an unknown
        ``data_version``, so the search's snapshot then replays the change
        log since the position read first. A cached graph that other
        processes' writes left behind is brought up to date here too, and
        rebuilt here when the log no longer reaches back to it or it holds
        too many deleted rows.
        """
        if self._log is None:
            return
        cached = self._indexes.get(key)
        if cached is not None:
            if cached.ann is None or cached.version == db.data_version():
                return  # an exact index catches up inside the snapshot (a handful of rows)
            if self._refresh(cached, db) and not _too_stale(cached):
                return  # the snapshot's own refresh replays only what arrives meanwhile
            del self._indexes[key]
        seq = self._last_seq(db)
        if self._wants_graph(db):
            self._indexes[key] = self._load_graph(key, db, -1, seq)
        else:
            self._indexes[key] = self._load_exact(key, db, -1, seq)
        self.reloads += 1

    def _load_index(self, db: Database) -> VectorIndex:
        """Read every vector of a partition into a new index, normalizing chunk by chunk."""
        self.index_reads += 1
        n_fields = len(self._index_fields)
        columns = ", ".join(("rid", "id", *self._index_fields))
        with db.read() as conn:
            total = conn.execute(f"SELECT count(*) FROM {self.layout.sql_name} WHERE embedding IS NOT NULL").fetchone()[0]
            cursor = conn.execute(f"SELECT {columns}, embedding FROM {self.layout.sql_name} WHERE embedding IS NOT NULL")
            ids: list[str] = []
            rowids: list[int] = []
            values: list[list[str | None]] = [[] for _ in range(n_fields)]
            matrix: np.ndarray | None = None
            while True:
                chunk = cursor.fetchmany(LOAD_CHUNK)
                if not chunk:
                    break
                start = len(ids)
                rowids.extend(r[0] for r in chunk)
                ids.extend(r[1] for r in chunk)
                for i in range(n_fields):
                    values[i].extend(r[2 + i] for r in chunk)
                vectors = vectors_from_blobs([r[-1] for r in chunk])
                if matrix is None:
                    matrix = np.empty((max(total, len(chunk)), vectors.shape[1]), dtype=np.float32)
                matrix[start : start + len(chunk)] = normalize_rows(vectors)
        if matrix is None:
            return VectorIndex(self._index_fields)
        columns_of = dict(zip(self._index_fields, values, strict=True))
        return VectorIndex.build(ids, matrix[: len(ids)], columns_of, normalized=True, keys=rowids)

    def vector_search(self, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """Search each partition's cached index and read the best rows, all in one read transaction per file.

        The index's freshness check and the rows read come from the same snapshot,
        so a concurrent writer cannot slip between them.
        """
        partitions = self._partitions(where)
        if len(partitions) == 1:  # one agent's or one source's passages: the usual search
            return self._search_one(*partitions[0], query, k, where)
        skip = (self.layout.partition_field,)
        with self._lock:
            for key, db in partitions:
                self._prepare_index(key, db)
        candidates: list[tuple[float, str, int, Database]] = []
        # (each file's own read(), using() and data_version() turn its SQLite errors into errors naming it)
        with self._lock, ExitStack() as snapshots:
            for key, db in partitions:
                snapshots.enter_context(db.read())
                hits = self._partition_hits(key, db, query, k, where, skip)
                candidates.extend((score, id_, rowid, db) for id_, score, rowid in hits)
            candidates.sort(key=lambda c: (-c[0], c[1]))
            del candidates[k:]
            by_db: dict[Database, list[tuple[str, int]]] = defaultdict(list)
            for _, id_, rowid, db in candidates:
                by_db[db].append((id_, rowid))
            rows: dict[str, Row] = {}
            for db, wanted in by_db.items():
                rows.update(self._rows_by_id(db, wanted))
        return [(rows[id_], score) for score, id_, _, _ in candidates if id_ in rows]

    def _search_one(self, key: str, db: Database, query: np.ndarray, k: int, where: Where) -> list[tuple[Row, float]]:
        """:meth:`vector_search` in one partition: the same snapshot, without merging partitions."""
        with self._lock:
            self._prepare_index(key, db)
        with self._lock, db.read():
            hits = self._partition_hits(key, db, query, k, where, (self.layout.partition_field,))
            rows = self._rows_by_id(db, [(id_, rowid) for id_, _, rowid in hits])
        return [(rows[id_], score) for id_, score, _ in hits if id_ in rows]

    def _partition_hits(
        self, key: str, db: Database, query: np.ndarray, k: int, where: Where, skip: Sequence[str]
    ) -> list[tuple[str, float, int]]:
        """The ``k`` best (id, score, rowid) of one partition, from its exact index or its graph."""
        cached = self._index(key, db)
        if cached.ann is None:
            assert cached.index is not None
            return cached.index.search_keys(query, k, where, skip)
        return self._graph_hits(cached.ann, db, query, k, where)

    def _graph_hits(self, graph: AnnGraph, db: Database, query: np.ndarray, k: int, where: Where) -> list[tuple[str, float, int]]:
        """The graph's candidates, read from the file with the search's filters and scored exactly.

        Too few candidates passing the filters (a narrow scope, rows deleted
        meanwhile) asks the graph for four times as many, and past
        :data:`ANN_MAX_CANDIDATES` scans the scope exactly: a search never
        returns fewer rows than the scope holds, up to ``k``.
        """
        clause, params = self._clause(where)
        columns = f"rid, id, embedding FROM {self.layout.sql_name} WHERE embedding IS NOT NULL AND {clause}"
        wanted = max(ANN_CANDIDATES, 4 * k)
        while wanted < ANN_MAX_CANDIDATES or wanted < 4 * k:
            rids = graph.candidates(query, wanted)
            with db.using() as conn:
                rows = conn.execute(
                    f"SELECT {columns} AND rid IN (SELECT value FROM json_each(?))", [*params, json.dumps(rids.tolist())]
                ).fetchall()
            if len(rows) >= k:
                return _best(rows, query, k)
            if len(rids) < wanted:
                break  # the graph proposed every row it holds
            wanted *= 4
        best: list[tuple[str, float, int]] = []
        with db.using() as conn:
            cursor = conn.execute(f"SELECT {columns}", params)
            while chunk := cursor.fetchmany(LOAD_CHUNK):
                best = sorted([*best, *_best(chunk, query, k)], key=lambda h: (-h[1], h[0]))[:k]
        return best

    def _rows_by_id(self, db: Database, wanted: list[tuple[str, int]]) -> dict[str, Row]:
        """The rows of these (id, rowid) pairs: by rowid where the index knows it (a direct b-tree lookup,
        measured 2x faster than going through the id index), by id for the rest and for any rowid that no
        longer holds its id."""
        table = self.layout.sql_name
        found: dict[str, Row] = {}
        known = [rowid for _, rowid in wanted if rowid >= 0]
        if known:
            marks = ",".join("?" * len(known))
            found = {row.id: row for row in self._query(db, f"SELECT {self._select} FROM {table} WHERE rid IN ({marks})", known)}
        rest = [id_ for id_, _ in wanted if id_ not in found]
        if rest:
            sql = f"SELECT {self._select} FROM {table} WHERE id IN (SELECT value FROM json_each(?))"
            found.update((row.id, row) for row in self._query(db, sql, [json.dumps(rest)]))
        ids = {id_ for id_, _ in wanted}
        return {i: row for i, row in found.items() if i in ids}

    # -- text and date search ---------------------------------------------------------------
    def _ordered(self, where: Where, extra: str, extra_params: list[Any], limit: int, offset: int) -> list[Row]:
        partitions = self._partitions(where)
        if len(partitions) == 1:
            return self._ordered_in(partitions[0][1], where, extra, extra_params, limit, offset)
        merged = heapq.merge(
            *(self._ordered_in(db, where, extra, extra_params, limit + offset, 0) for _, db in partitions),
            key=lambda r: (r.created_at, r.id),
        )
        return list(merged)[offset : offset + limit]

    def _ordered_in(self, db: Database, where: Where, extra: str, extra_params: list[Any], limit: int, offset: int) -> list[Row]:
        """One file's rows matching ``where`` and ``extra``, by time then id."""
        with db.read() as conn:
            clause, params = self._file_clause(conn, where)
            sql = (
                f"SELECT {self._select} FROM {self.layout.sql_name} WHERE {clause} AND {extra} "
                "ORDER BY created_at, id LIMIT ? OFFSET ?"
            )
            return [self._row(values) for values in conn.execute(sql, [*params, *extra_params, limit, offset])]

    def _text_condition(self, text: str) -> tuple[str, list[Any]]:
        if self.layout.fts and len(text) >= FTS_MIN_CHARS:
            phrase = '"' + text.replace('"', '""') + '"'
            return f"rid IN (SELECT rowid FROM {self.layout.sql_name}_fts WHERE {self.layout.sql_name}_fts MATCH ?)", [phrase]
        if text.isascii():
            return "instr(lower(text), ?) > 0", [text.lower()]
        return "memgpt_contains(text, ?)", [text]

    @staticmethod
    def _date_condition(start: int | None, end: int | None) -> tuple[str, list[Any]]:
        lo = start if start is not None else -(2**63)
        hi = end if end is not None else 2**63 - 1
        return "created_at BETWEEN ? AND ?", [lo, hi]

    def _count_where(self, where: Where, extra: str, extra_params: list[Any]) -> int:
        total = 0
        for _, db in self._partitions(where):
            with db.read() as conn:
                clause, params = self._file_clause(conn, where)
                conditions = [c for c in (clause, extra) if c != "1"]
                # No WHERE at all when nothing filters: SQLite then counts the b-tree's entries (measured 20x faster
                # for 10,000 rows than "WHERE 1", which reads every row).
                where_sql = f" WHERE {' AND '.join(conditions)}" if conditions else ""
                total += conn.execute(
                    f"SELECT count(*) FROM {self.layout.sql_name}{where_sql}", [*params, *extra_params]
                ).fetchone()[0]
        return total

    def text_search(self, text: str, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, *self._text_condition(text), limit, offset)

    def text_count(self, text: str, where: Where) -> int:
        return self._count_where(where, *self._text_condition(text))

    def date_search(self, start: int | None, end: int | None, where: Where, limit: int, offset: int) -> list[Row]:
        return self._ordered(where, *self._date_condition(start, end), limit, offset)

    def date_count(self, start: int | None, end: int | None, where: Where) -> int:
        return self._count_where(where, *self._date_condition(start, end))
