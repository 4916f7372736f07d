"""Chroma's own HNSW on the data of ``ann_scale.py``: the comparison for the local default's graph.

    python benchmarks/ann_chroma.py --size 1000000     # about 15 minutes here
    python benchmarks/ann_chroma.py --size 100000

Chroma's client (a persistent folder, its default HNSW settings: M 16,
ef_construction 100, ef_search 100, cosine) loads the same passages (ids,
vectors, texts, one agent) in batches of 5,000 and answers the same queries,
unfiltered (its fastest form). Recall@10 is against numpy's exact answer.
Writes ``benchmarks/results/ann-chroma-<size>.md``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data import Workload
from report import machine_line, write_result

RESULTS = Path(__file__).parent / "results"
BATCH = 5_000


def main(argv: list[str] | None = None) -> int:
    import chromadb
    from chromadb.config import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    workload = Workload(size=args.size, dim=384, agents=1, messages=0, queries=args.queries)
    vectors = workload.vectors
    folder = Path(tempfile.mkdtemp(prefix="memgpt-ann-chroma-"))
    try:
        client = chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))
        collection = client.get_or_create_collection(
            "passages", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        started = time.perf_counter()
        for lo in range(0, args.size, BATCH):
            hi = min(args.size, lo + BATCH)
            collection.add(
                ids=workload.passage_ids[lo:hi],
                embeddings=vectors[lo:hi],
                documents=[workload.passage_text(i) for i in range(lo, hi)],
                metadatas=[{"agent_id": "agent-0000"} for _ in range(lo, hi)],
            )
        insert_s = time.perf_counter() - started
        index_of = {pid: i for i, pid in enumerate(workload.passage_ids)}
        collection.query(query_embeddings=[workload.query_set[0][1]], n_results=10)
        times, hits = [], 0
        for _, query in workload.query_set:
            truth = set(np.argpartition(-(vectors @ query), 10)[:10].tolist())
            t = time.perf_counter()
            found = collection.query(query_embeddings=[query], n_results=10, include=["distances"])
            times.append(time.perf_counter() - t)
            hits += len(truth & {index_of[i] for i in found["ids"][0]})
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    p50 = statistics.median(times) * 1000
    recall = hits / (10 * len(workload.query_set))
    text = (
        f"# Chroma's HNSW, {args.size:,} passages × 384 in one collection\n\n"
        f"Machine: {machine_line()}; "
        f"chromadb {chromadb.__version__}. Command: `python benchmarks/ann_chroma.py --size {args.size}`. "
        "Default HNSW settings, unfiltered queries; the data and queries of `ann_scale.py`.\n\n"
        "| passages | inserts/s | query p50 ms | recall@10 |\n|---:|---:|---:|---:|\n"
        f"| {args.size:,} | {args.size / insert_s:,.0f} | {p50:.2f} | {recall:.3f} |\n"
    )
    write_result(args.out, f"ann-chroma-{args.size}.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
