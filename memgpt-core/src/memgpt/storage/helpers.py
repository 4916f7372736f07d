"""Helpers that several backends need, kept in one place.

Backends whose engine cannot do something the contract asks for (sort by
time, keep vectors bit-exact, match substrings literally) build it from
these, so every backend does it the same way.
"""

from __future__ import annotations

import base64
import heapq
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np

from memgpt.errors import MemGPTError, StorageError
from memgpt.kinds import Table
from memgpt.secrets import scrub
from memgpt.storage.codec import Row, has_user_key, key_user, rekeyed, vector_from_bytes, vector_to_bytes
from memgpt.storage.where import Where

T = TypeVar("T")


def collection_name(table: Table, shelf: str = "", prefix: str = "memgpt_") -> str:
    """The engine-side name of ``table`` on ``shelf``: ``memgpt_archival``, ``memgpt_archival_m0123456789``."""
    return f"{prefix}{table.value}_{shelf}" if shelf else f"{prefix}{table.value}"


def where_terms(where: Where, one: Callable[[str, str], T], many: Callable[[str, tuple[str, ...]], T]) -> list[T]:
    """One engine term per constraint of ``where``, in a stable order: ``one(field, value)`` when it allows a
    single value, ``many(field, values)`` (sorted) when several. Build each term with the values as data."""
    return [one(field, values[0]) if len(values) == 1 else many(field, values) for field, values in where.items()]


def scope_without_user(where: Where) -> tuple[Where, frozenset[str] | None]:
    """The part of ``where`` to ask the engine, and the users to check on the row keys read instead.

    For engines that evaluate a filter's every term over every row (Chroma,
    LanceDB), the user's term costs as much as the agent's and matches every
    row of a one-user store. A row's key starts with its user (``<user>/<id>``),
    so when the scope also names another field (an agent, a source), the
    user's term is left out and each key read is checked with
    :func:`key_in_users` instead. Only for reads that return keys: a count of
    the wider scope would count another user's rows.
    """
    users = where.get("user_id")
    rest = where.without("user_id")
    if users is None or not any(name != "id" for name, _ in rest.constraints):
        return where, None
    return rest, users


def key_in_users(key: str, users: frozenset[str] | None) -> bool:
    """Whether a row key belongs to one of ``users`` (``None``: no user to check; see :func:`scope_without_user`)."""
    return users is None or key_user(key) in users


def vector_to_base64(vector: np.ndarray) -> str:
    """An embedding as text that round-trips bit-exactly (for engines that alter the vectors they store)."""
    return base64.b64encode(vector_to_bytes(vector)).decode("ascii")


def vector_from_base64(text: str) -> np.ndarray:
    """The embedding :func:`vector_to_base64` wrote, bit for bit."""
    return vector_from_bytes(base64.b64decode(text))


def like_pattern(fragment: str, escape: str = "\\") -> str:
    """``%fragment%`` for SQL ``LIKE``/``ILIKE ... ESCAPE escape``, with ``%``, ``_`` and the escape escaped."""
    text = fragment.replace(escape, escape + escape).replace("%", escape + "%").replace("_", escape + "_")
    return f"%{text}%"


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), max(1, size)):
        yield items[start : start + size]


def page_by_time(keys: Iterable[tuple[int, str, T]], offset: int, limit: int) -> list[tuple[int, str, T]]:
    """Entries ``offset`` to ``offset + limit`` of ``(created_at, id, where)`` keys in ``(created_at, id)`` order.

    For engines that can filter but not sort: feed the keys of every match;
    memory stays bounded by ``offset + limit``, not by the number of matches.
    """
    if limit <= 0:
        return []
    return heapq.nsmallest(offset + limit, keys, key=lambda k: (k[0], k[1]))[offset:]


def approximate_bytes(rows: Sequence[Row]) -> int:
    """About how many bytes ``rows`` hold (texts as UTF-8 at worst, payloads, vectors): for free-space checks."""
    return sum(
        4 * len(r.text or "") + len(r.payload) + len(r.id) + (0 if r.embedding is None else 4 * r.embedding.shape[0])
        for r in rows
    )


def split_by_embedding(rows: Sequence[Row]) -> tuple[list[Row], list[Row]]:
    """(rows with an embedding, rows without): engines that need a vector on every record store them apart."""
    return [r for r in rows if r.embedding is not None], [r for r in rows if r.embedding is None]


def fetch_page(
    keys: Iterable[tuple[int, str, Any]], offset: int, limit: int, fetch: Callable[[list[str]], Iterable[Row]]
) -> list[Row]:
    """One page of matches in ``(created_at, id)`` order, for engines that filter but cannot sort.

    ``keys`` are ``(created_at, id, anything)`` of every match; only the page's
    rows are then read, through ``fetch(ids)``.
    """
    wanted = [id_ for _, id_, _ in page_by_time(keys, offset, limit)]
    if not wanted:
        return []
    found = {row.id: row for row in fetch(wanted)}
    return [found[i] for i in wanted if i in found]


def engine_message(exc: BaseException) -> str:
    """What an engine's exception says: its ``message`` when that is text (some clients make it a method), else ``str(exc)``."""
    message = getattr(exc, "message", None)
    if callable(message):
        try:
            message = message()
        except Exception:
            message = None
    return message if isinstance(message, str) and message else str(exc)


class _NativeStderr:
    """Holds back what native engine code writes on the process's stderr (file descriptor 2) during a call.

    Engines written in Rust or C++ print panics and log lines straight to the
    terminal, past Python. While a call runs, descriptor 2 points at a
    scratch file; what landed there is then dropped, or, when the call
    failed, its first line is added to the one-line error.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: int | None = None
        self._sink: Any = None

    def enter(self) -> None:
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return
            try:
                if self._sink is None:
                    import tempfile

                    self._sink = tempfile.TemporaryFile()
                os.ftruncate(self._sink.fileno(), 0)
                os.lseek(self._sink.fileno(), 0, os.SEEK_SET)
                sys.stderr.flush()
                self._saved = os.dup(2)
                os.dup2(self._sink.fileno(), 2)
            except (OSError, ValueError, AttributeError):  # no descriptor 2 to borrow (an embedded interpreter)
                self._saved = None

    def leave(self) -> str:
        with self._lock:
            self._depth -= 1
            if self._depth > 0 or self._saved is None:
                return ""
            try:
                sys.stderr.flush()
            except (OSError, ValueError):
                pass
            os.dup2(self._saved, 2)
            os.close(self._saved)
            self._saved = None
            os.lseek(self._sink.fileno(), 0, os.SEEK_SET)
            return os.read(self._sink.fileno(), 4096).decode("utf-8", "replace")


_NATIVE_STDERR = _NativeStderr()


@contextmanager
def engine_errors(
    engine: str,
    where: str,
    classify: Callable[[str], MemGPTError | None] = lambda message: None,
    secrets: Iterable[str | None] = (),
    native: bool = False,
) -> Iterator[None]:
    """Turn whatever an engine's client raises into a one-line, secret-free memgpt error.

    ``classify`` maps the (scrubbed, one-line) message to a more specific
    error, e.g. :class:`~memgpt.errors.StorageUnavailable`; anything else
    becomes ``StorageError("<engine> at <where>: <message>")``. With
    ``native``, whatever the engine's native code prints on stderr meanwhile
    (panics, log lines) is kept off the terminal (see :class:`_NativeStderr`).
    """
    if native:
        _NATIVE_STDERR.enter()
    printed = ""
    try:
        yield
    except MemGPTError:
        raise
    except Exception as exc:  # clients raise their own types, OS, HTTP and gRPC errors
        if native:
            printed, native = _NATIVE_STDERR.leave(), False
        message = scrub(" ".join(engine_message(exc).split()) or type(exc).__name__, secrets)
        said = next((line.strip() for line in printed.splitlines() if "panicked" in line or "rror" in line), "")
        if said and message[:120] not in " ".join(said.split()):  # (a client's log line of the error raised says nothing new)
            message += f" (the engine said: {scrub(said, secrets)[:200]})"
        raise classify(message) or StorageError(f"{engine} at {where}: {message[:400]}") from None
    finally:
        if native:
            _NATIVE_STDERR.leave()


class SharedClients(Generic[T]):
    """Clients shared by every store of a process that opens the same location, reference-counted.

    Needed where an engine locks its files per client (Qdrant local mode,
    Milvus Lite) and useful wherever a client holds a connection pool.
    """

    def __init__(self, close: Callable[[T], None]) -> None:
        self._close = close
        self._lock = threading.Lock()
        self._entries: dict[Any, list[Any]] = {}

    def acquire(self, key: Any, create: Callable[[], T]) -> T:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = [create(), 0]
            entry[1] += 1
            return entry[0]

    def release(self, key: Any, keep: bool = False) -> None:
        """Drop one reference; the last one closes the client unless ``keep``."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return
            entry[1] -= 1
            if entry[1] <= 0 and not keep:
                del self._entries[key]
                self._close(entry[0])


def retried(
    read: Callable[[], T],
    transient: Callable[[str], bool],
    attempts: int = 5,
    before_retry: Callable[[], None] | None = None,
) -> T:
    """``read()``, again (up to ``attempts`` times, backing off 10, 20, 40... ms) when it fails with a
    :class:`~memgpt.errors.StorageError` whose message ``transient`` accepts.

    For engines whose reads can fail while another process writes (LanceDB's
    compaction removes a version a read was using; a Chroma server's query can
    miss an id being ingested): the next attempt sees the store as it is now.
    ``before_retry`` runs before each new attempt (e.g. to drop cached handles).
    Only for reads: a write that failed may have happened.
    """
    for attempt in range(attempts):
        try:
            return read()
        except StorageError as exc:
            if attempt == attempts - 1 or not transient(str(exc)):
                raise
            if before_retry is not None:
                before_retry()
            time.sleep(0.01 * 2**attempt)
    raise AssertionError("unreachable")


def time_bounds(start: int | None, end: int | None, column: str = "created_at") -> list[str]:
    """``column >= start`` / ``column <= end`` conditions (integers only, so safe to write into an expression)."""
    bounds = []
    if start is not None:
        bounds.append(f"{column} >= {int(start)}")
    if end is not None:
        bounds.append(f"{column} <= {int(end)}")
    return bounds


def upgrade_row_keys(connector: Any, batch_size: int = 1_000) -> int:
    """Re-key the rows of a table written before keys were per user (memgpt 0.4: ``Row.id`` was the bare record id).

    For engines that cannot rename a key in place: each row whose ``id`` is
    not ``<user_id>/...`` is written again under :func:`~memgpt.storage.codec.row_key`
    with the connector's own ``upsert``, then its old key is deleted. Safe to
    run again after an interruption (rows already moved are left alone, and a
    copy written just before a crash is recognised as this row's own) and from
    two processes at once. Refuses, naming the row, only when the new key is
    taken by a different row. Returns how many rows were moved. Call it once,
    before the table is used, and record that it ran (e.g. in the collection's
    metadata) so that it is not paid again.
    """
    legacy: list[str] = []
    for batch in connector.scan(Where.everything(), batch_size):
        legacy.extend(row.id for row in batch if not has_user_key(row))
    moved = 0
    for chunk in chunked(legacy, batch_size):
        old = list(connector.get(list(chunk), Where.of(id=list(chunk))))
        fresh = [rekeyed(row) for row in old]
        keys = [row.id for row in fresh]
        taken = {row.id: row for row in connector.get(keys, Where.of(id=keys))} if keys else {}
        for row in fresh:
            other = taken.get(row.id)
            if other is not None and not _same_row(other, row):
                raise StorageError(
                    f"cannot upgrade {connector.table.value!r}: the record {row.id!r} exists already under the key a stored "
                    "row must move to; export the store with the memgpt release that wrote it, and import it here"
                )
        if fresh:
            connector.upsert(fresh)
            connector.delete(Where.of(id=[row.id for row in old]))
            moved += len(fresh)
    return moved


KEYS_MARKER = "memgpt_keys"
"""The metadata key (collection metadata, properties...) saying that a collection's rows are keyed by user."""
KEYS_BY_USER = "user/id"
"""Its value: rows keyed ``<user_id>/<record id>`` (memgpt 0.4 wrote bare record ids and no marker)."""


def upgrade_collections(
    connector: Any,
    collections: Iterable[T],
    marked: Callable[[T], bool],
    holds_rows: Callable[[T], bool],
    mark: Callable[[T], None],
) -> None:
    """Re-key, once, an engine's collections written by memgpt 0.4, for engines whose collections carry metadata.

    ``marked(c)`` tells whether collection ``c`` carries :data:`KEYS_MARKER`,
    ``holds_rows(c)`` whether it holds anything, ``mark(c)`` sets the marker.
    Collections without the marker that hold rows are upgraded with
    :func:`upgrade_row_keys`, then every unmarked one is marked (a new, empty
    collection only needs the marker).
    """
    unmarked = [c for c in collections if not marked(c)]
    if not unmarked:
        return
    if any(holds_rows(c) for c in unmarked):
        upgrade_row_keys(connector)
    for collection in unmarked:
        mark(collection)


def _same_row(a: Row, b: Row) -> bool:
    if (a.id, a.fields, a.text, a.created_at, a.payload) != (b.id, b.fields, b.text, b.created_at, b.payload):
        return False
    if a.embedding is None or b.embedding is None:
        return a.embedding is None and b.embedding is None
    return bool(np.array_equal(a.embedding, b.embedding))
