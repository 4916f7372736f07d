"""Pausing Python's cyclic garbage collector around bulk work that creates no cycles.

Encoding a batch of records allocates several container objects per record
(rows, their field dicts, driver parameters) that live until the batch is
written. Every few hundred such allocations CPython runs a collection, and
the older generations it then walks include everything the process holds:
with 100,000 passages in memory, collections took about a third of a bulk
insert's time (measured in ``benchmarks/``). The objects of a batch are freed
by reference counting, so the collector has nothing to find there; pausing
it for the batch is safe and bounded by the batch size.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_reenable = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the body with the cyclic collector disabled; it is re-enabled when the outermost pause ends.

    Nested and concurrent pauses (the writer thread of an insert) share one
    count, so the collector comes back only when the last one ends, and only
    if it was enabled before the first: a caller's own ``gc.disable()`` stays.
    """
    global _depth, _reenable
    with _lock:
        if _depth == 0:
            _reenable = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _reenable:
                gc.enable()
