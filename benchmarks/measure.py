"""Timing one subject on one workload: throughput, latency percentiles, recall, cold open."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from data import NEEDLE, Workload, recall_at_k

K = 10
INSERT_CHUNK = 10_000
"""Passages handed to one insert call (both through memgpt and to a client directly)."""
WARMUP = 5
COLD_RUNS = 3


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float
    n: int

    @classmethod
    def of(cls, seconds: list[float]) -> Latency:
        ms = np.array(seconds) * 1_000
        return cls(float(np.percentile(ms, 50)), float(np.percentile(ms, 95)), len(ms))


@dataclass
class Result:
    """Everything measured for one subject at one dimension."""

    label: str
    engine: str
    dim: int
    size: int
    insert_first_10k_per_s: float | None = None
    insert_all_per_s: float | None = None
    search: Latency | None = None
    recall_at_10: float | None = None
    text_search: Latency | None = None
    date_search: Latency | None = None
    count: Latency | None = None
    cold_open_s: float | None = None
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        values = dict(data)
        for name in ("search", "text_search", "date_search", "count"):
            if values.get(name) is not None:
                values[name] = Latency(**values[name])
        return cls(**values)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def insert_all(subject: Any, workload: Workload, result: Result) -> None:
    elapsed, first = 0.0, None
    for start in range(0, workload.size, INSERT_CHUNK):
        stop = min(workload.size, start + INSERT_CHUNK)
        seconds, _ = timed(lambda: subject.insert_passages(workload, start, stop))  # noqa: B023 - called at once
        elapsed += seconds
        if first is None:
            first = stop / elapsed
    result.insert_first_10k_per_s = first
    result.insert_all_per_s = workload.size / elapsed if elapsed else None
    for start in range(0, workload.messages, INSERT_CHUNK):
        subject.insert_messages(workload, start, min(workload.messages, start + INSERT_CHUNK))


BUDGET_S = 20.0
"""Time one operation is timed for at most; slow engines get fewer (but at least ``MIN_CALLS``) calls."""
MIN_CALLS = 10


def latencies(calls: list[Callable[[], Any]]) -> tuple[Latency, list[Any]]:
    """Latency of ``calls`` after ``WARMUP`` of them; stops early once ``BUDGET_S`` is spent."""
    for call in calls[:WARMUP]:
        call()
    seconds, values = [], []
    for call in calls:
        s, v = timed(call)
        seconds.append(s)
        values.append(v)
        if len(seconds) >= MIN_CALLS and sum(seconds) > BUDGET_S:
            break
    return Latency.of(seconds), values


def measure_searches(subject: Any, workload: Workload, result: Result) -> None:
    queries = workload.query_set
    result.search, found = latencies([lambda a=a, q=q: subject.search(a, q, K) for a, q in queries])
    result.recall_at_10 = float(
        np.mean([recall_at_k(f, workload.exact_top(a, q, K)) for f, (a, q) in zip(found, queries, strict=False)])
    )
    agents = [a for a, _ in queries][:50]
    result.text_search, _ = latencies([lambda a=a: subject.text_search(a, NEEDLE, K) for a in agents])
    windows = [workload.date_window(i) for i in range(len(agents))]
    result.date_search, _ = latencies(
        [lambda a=a, w=w: subject.date_search(a, w[0], w[1], K) for a, w in zip(agents, windows, strict=True)]
    )
    result.count, _ = latencies([lambda a=a: subject.count(a) for a in agents])


def cold_open(subject: Any, workload: Workload, env: dict[str, str] | None = None, runs: int = COLD_RUNS) -> float | None:
    """Median wall time from starting a new Python process to reading its first search result."""
    agent, query = workload.query_set[0]
    code = subject.cold_open_code(agent, [float(x) for x in query], K)
    if code is None:
        return None
    expected = " ".join(subject.search(agent, query, K))
    subject.close()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        process = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})}, timeout=600
        )
        seconds.append(time.perf_counter() - start)
        if process.returncode != 0 or process.stdout.split() != expected.split():
            raise RuntimeError(f"cold open of {subject.label} failed: {process.stderr.strip()[-500:] or process.stdout[:200]}")
    return float(np.median(seconds))


def measure(subject: Any, workload: Workload, env: dict[str, str] | None = None, cold_runs: int = COLD_RUNS) -> Result:
    result = Result(subject.label, subject.engine, workload.dim, workload.size)
    subject.prepare(workload)
    insert_all(subject, workload, result)
    measure_searches(subject, workload, result)
    result.cold_open_s = cold_open(subject, workload, env, cold_runs)
    return result
