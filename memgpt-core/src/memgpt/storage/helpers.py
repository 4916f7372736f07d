"""Helpers that several backends need, kept in one place.

Backends whose engine cannot do something the contract asks for (sort by
time, keep vectors bit-exact, match substrings literally) build it from
these, so every backend does it the same way.
"""

from __future__ import annotations

import base64
import heapq
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

import numpy as np

from memgpt.errors import MemGPTError, StorageError
from memgpt.secrets import scrub
from memgpt.storage.codec import Row, vector_from_bytes, vector_to_bytes

T = TypeVar("T")


def vector_to_base64(vector: np.ndarray) -> str:
    """An embedding as text that round-trips bit-exactly (for engines that alter the vectors they store)."""
    return base64.b64encode(vector_to_bytes(vector)).decode("ascii")


def vector_from_base64(text: str) -> np.ndarray:
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


@contextmanager
def engine_errors(
    engine: str,
    where: str,
    classify: Callable[[str], MemGPTError | None] = lambda message: None,
    secrets: Iterable[str | None] = (),
) -> Iterator[None]:
    """Turn whatever an engine's client raises into a one-line, secret-free memgpt error.

    ``classify`` maps the (scrubbed, one-line) message to a more specific
    error, e.g. :class:`~memgpt.errors.StorageUnavailable`; anything else
    becomes ``StorageError("<engine> at <where>: <message>")``.
    """
    try:
        yield
    except MemGPTError:
        raise
    except Exception as exc:  # clients raise their own types, OS, HTTP and gRPC errors
        message = scrub(" ".join(str(getattr(exc, "message", None) or exc).split()) or type(exc).__name__, secrets)
        raise classify(message) or StorageError(f"{engine} at {where}: {message[:300]}") from None


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


def time_bounds(start: int | None, end: int | None, column: str = "created_at") -> list[str]:
    """``column >= start`` / ``column <= end`` conditions (integers only, so safe to write into an expression)."""
    bounds = []
    if start is not None:
        bounds.append(f"{column} >= {int(start)}")
    if end is not None:
        bounds.append(f"{column} <= {int(end)}")
    return bounds
