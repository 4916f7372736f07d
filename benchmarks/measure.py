"""Timing one subject on one workload: throughput, latency percentiles, recall, cold open."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
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
    how: str = ""
    """The subject's :attr:`~subject.Subject.how` (what a "best use" subject does differently)."""
    run: int = 0
    """Which of the run's repeats (``--repeat``) this is, from 0."""

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


BUDGET_S = 20.0
"""Time one operation is timed for at most (all subjects of a pair together); slow engines get fewer
(but at least ``MIN_CALLS``) calls."""
MIN_CALLS = 10


def insert_all(subjects: list[Any], workload: Workload, results: list[Result]) -> None:
    """Pre-embedded passages in calls of ``INSERT_CHUNK``, the subjects taking turns chunk by chunk."""
    elapsed = [0.0] * len(subjects)
    for n, start in enumerate(range(0, workload.size, INSERT_CHUNK)):
        stop = min(workload.size, start + INSERT_CHUNK)
        for i in _turns(len(subjects), n):
            seconds, _ = timed(lambda i=i: subjects[i].insert_passages(workload, start, stop))  # noqa: B023 - called at once
            elapsed[i] += seconds
            if results[i].insert_first_10k_per_s is None:
                results[i].insert_first_10k_per_s = stop / elapsed[i]
    for i, result in enumerate(results):
        result.insert_all_per_s = workload.size / elapsed[i] if elapsed[i] else None
    for subject in subjects:
        if getattr(subject, "search_only", False):
            continue
        for start in range(0, workload.messages, INSERT_CHUNK):
            subject.insert_messages(workload, start, min(workload.messages, start + INSERT_CHUNK))


def _turns(n: int, call: int) -> list[int]:
    """The order subjects take their turn in for the ``call``-th call: alternating, so neither always goes first."""
    order = list(range(n))
    return order if call % 2 == 0 else order[::-1]


def latencies(calls: list[list[Callable[[], Any]]]) -> tuple[list[Latency], list[list[Any]]]:
    """Latency of each subject's calls, measured in turns: call j of every subject before call j + 1 of any.

    Taking turns call by call exposes every subject to the same state of the
    machine (this kind of shared machine drifts by tens of percent within
    minutes), so their ratio holds even when the absolute times move.
    ``WARMUP`` calls of each come first; stops early once ``BUDGET_S`` is spent.
    """
    subjects = len(calls)
    for j in range(min(WARMUP, len(calls[0]))):
        for i in range(subjects):
            calls[i][j]()
    seconds: list[list[float]] = [[] for _ in range(subjects)]
    values: list[list[Any]] = [[] for _ in range(subjects)]
    for j in range(len(calls[0])):
        for i in _turns(subjects, j):
            s, v = timed(calls[i][j])
            seconds[i].append(s)
            values[i].append(v)
        if len(seconds[0]) >= MIN_CALLS and sum(map(sum, seconds)) > BUDGET_S:
            break
    return [Latency.of(s) for s in seconds], values


def measure_searches(subjects: list[Any], workload: Workload, results: list[Result]) -> None:
    queries = workload.query_set
    found: list[list[Any]]
    lats, found = latencies([[lambda s=s, a=a, q=q: s.search(a, q, K) for a, q in queries] for s in subjects])
    for result, lat, answers in zip(results, lats, found, strict=True):
        result.search = lat
        result.recall_at_10 = float(
            np.mean([recall_at_k(f, workload.exact_top(a, q, K)) for f, (a, q) in zip(answers, queries, strict=False)])
        )
    searchers = [
        (s, r)
        for s, r in zip(subjects, results, strict=True)
        if not getattr(s, "searches_only", False) and not getattr(s, "search_only", False)
    ]
    if not searchers:  # the numpy floor measured alone (the local backend not in the run)
        return
    agents = [a for a, _ in queries][:50]
    windows = [workload.date_window(i) for i in range(len(agents))]
    operations = {
        "text_search": lambda s, a, i: s.text_search(a, NEEDLE, K),
        "date_search": lambda s, a, i: s.date_search(a, windows[i][0], windows[i][1], K),
        "count": lambda s, a, i: s.count(a),
    }
    for name, operation in operations.items():
        lats, _ = latencies(
            [[lambda s=s, a=a, i=i: operation(s, a, i) for i, a in enumerate(agents)] for s, _ in searchers]  # noqa: B023
        )
        for (_, result), lat in zip(searchers, lats, strict=True):
            setattr(result, name, lat)


def cold_open(subjects: list[Any], workload: Workload, results: list[Result], env: dict[str, str], runs: int) -> None:
    """Median wall time from starting a new Python process to reading its first search result, runs taking turns."""
    agent, query = workload.query_set[0]
    jobs = []
    for subject, result in zip(subjects, results, strict=True):
        code = subject.cold_open_code(agent, [float(x) for x in query], K)
        if code is not None:
            jobs.append((subject, result, code, " ".join(subject.search(agent, query, K))))
    for subject, *_ in jobs:
        subject.close()
    # With bytecode caches, as after `pip install` (which compiles every module): a machine that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile every import of every run from source, memgpt's and the
    # client's (measured: 0.78 s of a 1.5 s Postgres cold open). One untimed run of each writes the caches.
    with tempfile.TemporaryDirectory(prefix="memgpt-bench-pycache-") as pycache:
        process_env = {k: v for k, v in {**os.environ, **env}.items() if k != "PYTHONDONTWRITEBYTECODE"}
        process_env["PYTHONPYCACHEPREFIX"] = pycache
        seconds: list[list[float]] = [[] for _ in jobs]
        for run in range(-1, runs):
            for i in _turns(len(jobs), max(run, 0)):
                subject, _, code, expected = jobs[i]
                start = time.perf_counter()
                process = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, env=process_env, timeout=600
                )
                if run >= 0:
                    seconds[i].append(time.perf_counter() - start)
                if process.returncode != 0 or process.stdout.split() != expected.split():
                    raise RuntimeError(
                        f"cold open of {subject.label} failed: {process.stderr.strip()[-500:] or process.stdout[:200]}"
                    )
    for (_, result, _, _), times in zip(jobs, seconds, strict=True):
        result.cold_open_s = float(np.median(times))


def measure(
    subjects: list[Any], workload: Workload, env: dict[str, str] | None = None, cold_runs: int = COLD_RUNS
) -> list[Result]:
    """Everything measured for subjects of one backend (memgpt's and the client's), taking turns throughout."""
    results = [Result(s.label, s.engine, workload.dim, workload.size, how=getattr(s, "how", "")) for s in subjects]
    writers = [(s, r) for s, r in zip(subjects, results, strict=True) if not getattr(s, "searches_only", False)]
    for subject in subjects:
        subject.prepare(workload)
    insert_all([s for s, _ in writers], workload, [r for _, r in writers])
    measure_searches(subjects, workload, results)
    cold_open(subjects, workload, results, env or {}, cold_runs)
    return results
