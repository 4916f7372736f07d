"""Which vectors of a usearch HNSW graph a search may not reach, read from the graph's own links.

A search starts at the graph's entry node and only ever moves along links,
so a node that no chain of links from the entry leads to is never returned,
at any ``ef``. Walking the links from the entry (breadth first, all levels)
finds those nodes exactly, in seconds at a million vectors, where searching
for every vector took more than half as long as building the graph. A node
reachable only through few links is at risk too: the walk must happen to
take one (measured on 100,000 clustered vectors: all 7 reachable nodes a
default search missed had at most 2 links in at level 0).

usearch offers no call for a node's links, so they are read from the
graph's serialized form (usearch 2.x, ``index_dense_gt::save_to_stream``):

- ``uint32 rows, uint32 bytes_per_vector`` and the vectors;
- a 64-byte head: ``b"usearch"``, version (3 × uint16), metric, scalar,
  key and slot kinds (1 byte each), counts and dimensions;
- the graph: ``uint64 size, connectivity, connectivity_base, max_level,
  entry_slot``; one ``int16`` level per node; then each node: its ``uint64``
  key, ``int16`` level, and per level from 0 up a ``uint32`` count followed
  by ``connectivity_base`` (level 0) or ``connectivity`` ``uint32`` slots.

Every field is checked against the others and the total length; anything
unexpected (another layout, key or slot width) answers ``None``, and the
caller falls back to searching for each vector.
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAGIC = b"usearch"
KEY_KIND_U64 = 14
"""usearch's ``scalar_kind_t::u64_k``: the only key kind read here."""
SLOT_KIND_U32 = 15
"""usearch's ``scalar_kind_t::u32_k``: the only slot kind read here."""
FREE_KEY = np.uint64(2**64 - 1)
"""The key usearch leaves in a removed node's slot."""
GATHER_CHUNK = 16_384
"""Nodes whose links are read per step (bounds the index arrays of the read)."""
_HEAD_BYTES = 64
_GRAPH_HEADER_BYTES = 40
_NODE_HEAD_BYTES = 10  # uint64 key + int16 level


WEAK_LINKS = 2
"""A node with at most this many links in at level 0 is at risk of being missed though reachable."""


def keys_at_risk(index: Any, weak_links: int = WEAK_LINKS) -> np.ndarray | None:
    """The keys of the live nodes of usearch ``index`` that a search may miss (uint64, sorted).

    Those no walk from the entry reaches, and those with at most
    ``weak_links`` links in at level 0. ``None`` when the serialized layout is
    not the one described above. Holds a serialized copy of the index (about
    its memory size) while it runs.
    """
    return at_risk_in(np.frombuffer(index.save(), dtype=np.uint8), weak_links)


def unreachable_keys(index: Any) -> np.ndarray | None:
    """The keys of the live nodes of usearch ``index`` that no walk from its entry reaches (uint64, sorted)."""
    return at_risk_in(np.frombuffer(index.save(), dtype=np.uint8), weak_links=-1)


def at_risk_in(data: np.ndarray, weak_links: int) -> np.ndarray | None:
    """:func:`keys_at_risk` of a serialized index, given as bytes (uint8); ``weak_links`` -1 for the unreachable only."""
    layout = _layout(data)
    if layout is None:
        return None
    size, connectivity, connectivity_base, levels, starts, entry = layout
    if size == 0:
        return np.empty(0, dtype=np.uint64)
    base = _links(data, starts + _NODE_HEAD_BYTES, connectivity_base, size)
    if base is None:
        return None
    upper: list[tuple[np.ndarray, np.ndarray]] = []  # per level 1..: (row of each slot or -1, links)
    level_bytes = 4 + 4 * connectivity
    for level in range(1, int(levels.max()) + 1):
        slots = np.flatnonzero(levels >= level)
        offsets = starts[slots] + _NODE_HEAD_BYTES + 4 + 4 * connectivity_base + level_bytes * (level - 1)
        links = _links(data, offsets, connectivity, size)
        if links is None:
            return None
        row = np.full(size, -1, dtype=np.int64)
        row[slots] = np.arange(len(slots))
        upper.append((row, links))
    seen = np.zeros(size, dtype=bool)
    seen[entry] = True
    frontier = np.array([entry], dtype=np.int64)
    while len(frontier):
        reached = [base[frontier].ravel()]
        for row, links in upper:
            rows = row[frontier]
            reached.append(links[rows[rows >= 0]].ravel())
        found = np.concatenate(reached)
        found = np.unique(found[found >= 0])
        frontier = found[~seen[found]]
        seen[frontier] = True
    links_in = np.bincount(base[base >= 0], minlength=size)
    lost = np.flatnonzero(~seen | (links_in <= weak_links))
    keys = _gather(data, starts[lost], 8).view(np.uint64).ravel() if len(lost) else np.empty(0, dtype=np.uint64)
    return np.sort(keys[keys != FREE_KEY])


def _layout(data: np.ndarray) -> tuple[int, int, int, np.ndarray, np.ndarray, int] | None:
    """(size, connectivity, connectivity_base, levels, node starts, entry slot), checked; ``None`` if not understood."""
    if len(data) < 8:
        return None
    rows, width = (int(v) for v in data[:8].view(np.uint32))
    head = 8 + rows * width
    graph = head + _HEAD_BYTES
    if graph + _GRAPH_HEADER_BYTES > len(data):
        return None
    if bytes(data[head : head + 7]) != MAGIC or int(data[head + 7 : head + 9].view(np.uint16)[0]) != 2:
        return None
    if int(data[head + 15]) != KEY_KIND_U64 or int(data[head + 16]) != SLOT_KIND_U32:
        return None
    size, connectivity, connectivity_base, max_level, entry = (
        int(v) for v in data[graph : graph + _GRAPH_HEADER_BYTES].view(np.uint64)
    )
    levels_at = graph + _GRAPH_HEADER_BYTES
    if size != rows or levels_at + 2 * size > len(data) or not 0 < connectivity <= connectivity_base <= 4_096:
        return None
    if size and not 0 <= entry < size:
        return None
    levels = data[levels_at : levels_at + 2 * size].view(np.int16).astype(np.int64)
    if size and (levels.min() < 0 or levels.max() > max_level):
        return None
    node_bytes = _NODE_HEAD_BYTES + 4 + 4 * connectivity_base + (4 + 4 * connectivity) * levels
    ends = levels_at + 2 * size + np.cumsum(node_bytes)
    if (int(ends[-1]) if size else levels_at) != len(data):
        return None
    starts = ends - node_bytes
    return size, connectivity, connectivity_base, levels, starts, entry


def _links(data: np.ndarray, offsets: np.ndarray, width: int, size: int) -> np.ndarray | None:
    """The link lists (count, then ``width`` slots) at ``offsets``, as rows of slots padded with -1; ``None`` if bad.

    int32, since a slot is below ``size`` (checked) and usearch's slots are 32-bit:
    half the memory of int64 (128 MB for a million nodes' level-0 links).
    """
    out = np.full((len(offsets), width), -1, dtype=np.int32)
    for start in range(0, len(offsets), GATHER_CHUNK):
        raw = _gather(data, offsets[start : start + GATHER_CHUNK], 4 + 4 * width).view(np.uint32)
        counts = raw[:, 0].astype(np.int64)
        slots = raw[:, 1:].astype(np.int64)
        if (counts > width).any():
            return None
        valid = np.arange(width)[None, :] < counts[:, None]
        if (slots[valid] >= size).any():
            return None
        out[start : start + len(raw)] = np.where(valid, slots, -1)
    return out


def _gather(data: np.ndarray, offsets: np.ndarray, length: int) -> np.ndarray:
    """``length`` bytes at each offset, one row each (a contiguous copy, so it can be viewed as wider integers)."""
    return np.ascontiguousarray(data[np.asarray(offsets, dtype=np.int64)[:, None] + np.arange(length)])
