"""Scaling of the local default from 10k to 1M passages in one agent: exact search against the HNSW graph.

    python benchmarks/ann_scale.py                     # 10k, 100k, 300k (a few minutes)
    python benchmarks/ann_scale.py --million           # adds 1,000,000 (about 30 minutes and 6 GB of disk here)

For each size, one agent's passages (the benchmark's clustered 384-d unit
vectors) are inserted through memgpt's storage API into a fresh local store,
then searched twice: exactly (``ann_after`` above the size) and through the
graph (``ann_after`` = 1). Recall@10 is against numpy's exact answer over the
same vectors. Writes ``benchmarks/results/ann-scale.md`` and ``.png``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data import MODEL, USER, Workload
from report import machine_line, write_result

RESULTS = Path(__file__).parent / "results"
AGENT = "agent-0000"
EF_CURVE = (64, 256, 1024, 2048, 8192)
"""Other ef values (HNSW's candidates per query; never below the 64 candidates a search reads) also measured."""


def open_archival(root: Path, ann_after: int):
    from memgpt.default_plugins.local_backend import LocalBackend
    from memgpt.kinds import Table
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where

    backend = LocalBackend()
    store = backend.open(backend.settings_from_uri(f"file://{root}?ann_after={ann_after}"))
    return store, open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id=USER, agent_id=AGENT))


def run_size(size: int, queries: int, scratch: Path) -> dict[str, Any]:
    from memgpt.kinds import Table
    from memgpt.records import Passage
    from memgpt.storage.ann import expansion_search

    workload = Workload(size=size, dim=384, agents=1, messages=0, queries=queries)
    vectors = workload.vectors
    root = scratch / f"store-{size}"
    store, archival = open_archival(root, ann_after=size + 1)
    started = time.perf_counter()
    for start in range(0, size, 10_000):
        stop = min(size, start + 10_000)
        archival.insert(
            Passage(
                id=workload.passage_ids[i],
                text=workload.passage_text(i),
                user_id=USER,
                agent_id=AGENT,
                embedding=vectors[i],
                embedding_model=MODEL,
            )
            for i in range(start, stop)
        )
    insert_s = time.perf_counter() - started
    truth = [set(np.argpartition(-(vectors @ q), 10)[:10].tolist()) for _, q in workload.query_set]
    index_of = {pid: i for i, pid in enumerate(workload.passage_ids)}

    def measure(collection) -> tuple[float, float]:
        collection.search(workload.query_set[0][1], k=10)  # loads (or builds) the index
        times, hits = [], 0
        for (_, query), true in zip(workload.query_set, truth, strict=True):
            t = time.perf_counter()
            found = collection.search(query, k=10)
            times.append(time.perf_counter() - t)
            hits += len(true & {index_of[h.record.id] for h in found})
        return statistics.median(times) * 1000, hits / (10 * len(truth))

    exact_p50, exact_recall = measure(archival)
    store.close()
    store, graphed = open_archival(root, ann_after=1)
    started = time.perf_counter()
    graphed.search(workload.query_set[0][1], k=10)
    build_s = time.perf_counter() - started
    graph_p50, graph_recall = measure(graphed)
    graph = store.connector(Table.ARCHIVAL)._indexes[AGENT].ann
    graph_bytes = graph.nbytes
    curve = []
    for ef in [ef for ef in EF_CURVE if ef != expansion_search(size)]:
        graph.expansion = ef
        curve.append((ef, *measure(graphed)))
    graph.expansion = None
    curve.append((expansion_search(size), graph_p50, graph_recall))
    curve.sort()
    store.close()
    store, reopened = open_archival(root, ann_after=1)
    started = time.perf_counter()
    reopened.search(workload.query_set[0][1], k=10)
    reopen_s = time.perf_counter() - started
    store.close()
    shutil.rmtree(root, ignore_errors=True)
    return {
        "size": size,
        "insert_per_s": size / insert_s,
        "exact_p50_ms": exact_p50,
        "exact_recall": exact_recall,
        "graph_build_s": build_s,
        "graph_reopen_s": reopen_s,
        "graph_p50_ms": graph_p50,
        "graph_recall": graph_recall,
        "graph_memory_share": graph_bytes / vectors.nbytes,
        "curve": curve,
        "default_ef": expansion_search(size),
    }


def curve_table(rows: list[dict[str, Any]]) -> str:
    """Graph p50 and recall for each ef measured, the default marked."""
    lines = ["| passages | ef | graph p50 ms | graph recall@10 |", "|---:|---:|---:|---:|"]
    for r in rows:
        for ef, p50, recall in r["curve"]:
            default = " (default)" if ef == r["default_ef"] else ""
            lines.append(f"| {int(r['size']):,} | {ef:,}{default} | {p50:.2f} | {recall:.3f} |")
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| passages | inserts/s | exact p50 ms | exact recall@10 | graph build s | graph reopen s | graph p50 ms | graph recall@10 | graph memory / raw vectors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {int(r['size']):,} | {r['insert_per_s']:,.0f} | {r['exact_p50_ms']:.2f} | {r['exact_recall']:.3f} | "
            f"{r['graph_build_s']:.1f} | {r['graph_reopen_s']:.2f} | {r['graph_p50_ms']:.2f} | {r['graph_recall']:.3f} | "
            f"{r['graph_memory_share']:.2f}× |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = [r["size"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    axes[0].plot(sizes, [r["exact_p50_ms"] for r in rows], "o-", label="exact")
    axes[0].plot(sizes, [r["graph_p50_ms"] for r in rows], "o-", label="graph")
    axes[0].set(title="search p50 (ms)", xscale="log", yscale="log", xlabel="passages in one agent")
    axes[0].legend()
    axes[1].plot(sizes, [r["graph_recall"] for r in rows], "o-", color="C1")
    axes[1].set(title="graph recall@10", xscale="log", xlabel="passages in one agent", ylim=(0.9, 1.0))
    axes[2].plot(sizes, [r["insert_per_s"] for r in rows], "o-", label="inserts/s")
    axes[2].plot(sizes, [r["size"] / r["graph_build_s"] for r in rows], "o-", label="graph build rows/s")
    axes[2].set(title="throughput (rows/s)", xscale="log", yscale="log", xlabel="passages in one agent")
    axes[2].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,300000", help="comma-separated passage counts")
    parser.add_argument("--million", action="store_true", help="add 1,000,000 passages")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s] + ([1_000_000] if args.million else [])
    scratch = Path(tempfile.mkdtemp(prefix="memgpt-ann-scale-"))
    try:
        rows = []
        for size in sizes:
            rows.append(run_size(size, args.queries, scratch))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = (
        "# Local default: exact search and the HNSW graph, 10k → "
        f"{sizes[-1]:,} passages in one agent\n\n"
        f"Machine: {machine_line()}. Command: `python benchmarks/ann_scale.py{' --million' if args.million else ''}`. "
        "384-d clustered unit vectors (benchmarks/data.py), top-10, recall against numpy's exact answer; "
        "graph memory is the graph's own size (float16 vectors and links) over the raw float32 vectors.\n\n"
        + table(rows)
        + "\n\nRecall against query time: each graph searched again with other numbers of candidates per query (HNSW's ef; the "
        "default grows with the graph, `memgpt.storage.ann.expansion_search`). Every search reads its candidates' rows "
        "from SQLite and scores them exactly, at least 64 of them.\n\n" + curve_table(rows) + "\n"
    )
    write_result(args.out, "ann-scale.md", text)
    plot(rows, args.out / "ann-scale.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
