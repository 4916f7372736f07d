"""Helpers that several backends need, kept in one place.

Backends whose engine cannot do something the contract asks for (sort by
time, keep vectors bit-exact, match substrings literally) build it from
these, so every backend does it the same way.
"""

from __future__ import annotations

import base64
import heapq
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

import numpy as np

from memgpt.storage.codec import vector_from_bytes, vector_to_bytes

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
