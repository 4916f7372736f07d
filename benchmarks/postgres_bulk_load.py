"""Loading many passages into PostgreSQL: plain inserts against ``Collection.bulk_load``.

    python benchmarks/postgres_bulk_load.py                 # 100,000 x 384 in calls of 10,000 (about 5 minutes)
    python benchmarks/postgres_bulk_load.py --size 30000

Each way loads the benchmark workload's passages (ten agents) into an empty
database of a fresh PostgreSQL (pgserver; ``MEMGPT_BENCH_PGURI`` to use your
own), then times pgvector's own ``CREATE INDEX`` over the same table for
comparison, and checks the index: the planner uses it for a search over the
user's every passage, and its recall@10 against numpy's exact answer. Writes
``benchmarks/results/postgres-bulk-load.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data import Workload
from report import machine_line, write_result
from run import postgres_uri
from subject import MemgptSubject

RESULTS = Path(__file__).parent / "results"
CHUNK = 10_000


def load(uri: str, workload: Workload, bulk: bool) -> dict[str, float]:
    from sqlalchemy import text

    from memgpt.kinds import Table
    from memgpt.testing.migration import empty_location

    subject = MemgptSubject("postgres", empty_location("postgres", uri))
    subject.prepare(workload)
    archival = subject._collection(Table.ARCHIVAL)
    started = time.perf_counter()
    rows_in = 0.0
    if bulk:
        with archival.bulk_load(workload.size):
            for start in range(0, workload.size, CHUNK):
                subject.insert_passages(workload, start, min(workload.size, start + CHUNK))
            rows_in = time.perf_counter() - started
    else:
        for start in range(0, workload.size, CHUNK):
            subject.insert_passages(workload, start, min(workload.size, start + CHUNK))
    total = time.perf_counter() - started
    hits, times = 0, []
    for _, query in workload.query_set:
        truth = {workload.passage_ids[i] for i in np.argpartition(-(workload.vectors @ query), 10)[:10].tolist()}
        t = time.perf_counter()
        found = archival.search(query, k=10)
        times.append(time.perf_counter() - t)
        hits += len(truth & {h.record.id for h in found})
    store = subject.store
    with store.begin() as conn:  # the engine's own index build on the same rows, for comparison
        conn.execute(text("DROP INDEX IF EXISTS memgpt_archival_embedding_hnsw"))
    t = time.perf_counter()
    with store.begin() as conn:
        conn.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))
        conn.execute(
            text("CREATE INDEX memgpt_archival_embedding_hnsw ON memgpt_archival USING hnsw (embedding vector_cosine_ops)")
        )
    engine_build = time.perf_counter() - t
    subject.close()
    return {
        "total_s": total,
        "rows_s": rows_in,
        "rows_per_s": workload.size / total,
        "search_p50_ms": statistics.median(times) * 1000,
        "recall": hits / (10 * len(workload.query_set)),
        "engine_build_s": engine_build,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workload = Workload(size=args.size, dim=384, agents=10, messages=0, queries=args.queries)
    with postgres_uri() as uri:
        plain = load(uri, workload, bulk=False)
        bulk = load(uri, workload, bulk=True)
    lines = [
        "| load | total s | rows/s | of which rows in, s | search over the user's every passage, p50 ms | recall@10 | pgvector's own CREATE INDEX on the table, s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, r in (("plain inserts", plain), ("bulk_load", bulk)):
        rows_in = f"{r['rows_s']:.1f}" if r["rows_s"] else "-"
        lines.append(
            f"| {label} | {r['total_s']:.1f} | {r['rows_per_s']:,.0f} | {rows_in} | {r['search_p50_ms']:.1f} | "
            f"{r['recall']:.3f} | {r['engine_build_s']:.1f} |"
        )
    text = (
        f"# PostgreSQL bulk load, {args.size:,} passages × 384\n\n"
        f"Machine: {machine_line()}. "
        f"Command: `python benchmarks/postgres_bulk_load.py --size {args.size}`. Calls of {CHUNK:,} passages; "
        "the search is over all ten agents' passages (the HNSW index's case; one agent's scope is scanned exactly).\n\n"
        + "\n".join(lines)
        + f"\n\nbulk_load is {plain['total_s'] / bulk['total_s']:.1f}× faster than plain inserts. "
        f"With the same index, the floor is the rows plus pgvector's own build: "
        f"{bulk['rows_s'] + bulk['engine_build_s']:.1f} s, i.e. at most "
        f"{plain['total_s'] / (bulk['rows_s'] + bulk['engine_build_s']):.1f}× on this machine.\n"
    )
    write_result(args.out, "postgres-bulk-load.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
