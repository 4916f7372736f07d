"""Chroma's own HNSW on the data of ``ann_scale.py``: the comparison for the local default's graph.

    python benchmarks/ann_chroma.py --size 1000000     # about 25 minutes' load here, then a minute per ef
    python benchmarks/ann_chroma.py --size 100000 --efs 100,400,1600
    python benchmarks/ann_chroma.py --size 1000000 --folder /var/tmp/chroma-1m   # load once, measure again later

Chroma's client (a persistent folder, its default HNSW settings: M 16,
ef_construction 100, cosine) loads the same passages (ids, vectors, texts,
one agent) in batches of 5,000 and answers the same queries, unfiltered (its
fastest form), at each ``ef_search`` of ``--efs``. Recall@10 is against
numpy's exact answer.

Chroma reads ``ef_search`` when it loads a collection's index, so a
``collection.modify`` does not reach an index already loaded in the same
process (measured on chromadb 1.5.9). Each ``ef_search`` is therefore set by
one new process and measured by another, which loads the index with it.
Writes ``benchmarks/results/ann-chroma-<size>.md``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from data import Workload
from report import machine_line, write_result

RESULTS = Path(__file__).parent / "results"
BATCH = 5_000
COLLECTION = "passages"
LOADED = "memgpt-bench-load.json"
"""Written into the folder once the load is complete: the size and the insert rate measured."""


def _client(folder: Path) -> Any:
    import chromadb
    from chromadb.config import Settings

    return chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))


def load(folder: Path, workload: Workload) -> float:
    """Load the workload into ``folder`` (unless a complete load of this size is there); return inserts/s."""
    marker = folder / LOADED
    if marker.exists():
        recorded = json.loads(marker.read_text())
        if recorded["size"] == workload.size:
            return float(recorded["inserts_per_s"])
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    collection = _client(folder).create_collection(
        COLLECTION, embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
    )
    started = time.perf_counter()
    for lo in range(0, workload.size, BATCH):
        hi = min(workload.size, lo + BATCH)
        collection.add(
            ids=workload.passage_ids[lo:hi],
            embeddings=workload.vectors[lo:hi],
            documents=[workload.passage_text(i) for i in range(lo, hi)],
            metadatas=[{"agent_id": "agent-0000"} for _ in range(lo, hi)],
        )
    rate = workload.size / (time.perf_counter() - started)
    marker.write_text(json.dumps({"size": workload.size, "inserts_per_s": rate}))
    return rate


def set_ef(folder: Path, ef: int) -> None:
    """Record ``ef_search`` in the collection's configuration (run in a process of its own)."""
    _client(folder).get_collection(COLLECTION, embedding_function=None).modify(configuration={"hnsw": {"ef_search": ef}})


def query(folder: Path, workload: Workload) -> dict[str, float]:
    """p50 and recall@10 of the workload's queries, as a process that just loaded the index sees them."""
    collection = _client(folder).get_collection(COLLECTION, embedding_function=None)
    ef = collection.configuration["hnsw"]["ef_search"]
    vectors = workload.vectors
    index_of = {pid: i for i, pid in enumerate(workload.passage_ids)}
    started = time.perf_counter()
    collection.query(query_embeddings=[workload.query_set[0][1]], n_results=10)  # loads the index
    first_s = time.perf_counter() - started
    times, hits = [], 0
    for _, q in workload.query_set:
        truth = set(np.argpartition(-(vectors @ q), 10)[:10].tolist())
        t = time.perf_counter()
        found = collection.query(query_embeddings=[q], n_results=10, include=["distances"])
        times.append(time.perf_counter() - t)
        hits += len(truth & {index_of[i] for i in found["ids"][0]})
    return {
        "ef": ef,
        "p50_ms": statistics.median(times) * 1000,
        "recall": hits / (10 * len(workload.query_set)),
        "first_query_s": first_s,
    }


def _child(folder: Path, args: argparse.Namespace, *extra: str) -> str:
    command = [sys.executable, __file__, "--size", str(args.size), "--queries", str(args.queries), "--folder", str(folder)]
    return subprocess.run([*command, *extra], check=True, capture_output=True, text=True).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--efs", default="100", help="comma-separated ef_search values (Chroma's default is 100)")
    parser.add_argument("--folder", type=Path, help="keep the loaded collection here (reused when complete)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--set-ef", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--query", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    workload = Workload(size=args.size, dim=384, agents=1, messages=0, queries=args.queries)
    if args.set_ef is not None:
        set_ef(args.folder, args.set_ef)
        return 0
    if args.query:
        print(json.dumps(query(args.folder, workload)))
        return 0

    import chromadb

    folder = args.folder or Path(tempfile.mkdtemp(prefix="memgpt-ann-chroma-"))
    rows = []
    try:
        rate = load(folder, workload)
        for ef in [int(e) for e in args.efs.split(",") if e]:
            _child(folder, args, "--set-ef", str(ef))
            rows.append(json.loads(_child(folder, args, "--query")))
            print(f"ef {ef}: {rows[-1]}", file=sys.stderr, flush=True)
    finally:
        if args.folder is None:
            shutil.rmtree(folder, ignore_errors=True)
    lines = "".join(f"| {r['ef']:,} | {r['p50_ms']:.2f} | {r['recall']:.3f} | {r['first_query_s']:.1f} |\n" for r in rows)
    text = (
        f"# Chroma's HNSW, {args.size:,} passages × 384 in one collection\n\n"
        f"Machine: {machine_line()}; chromadb {chromadb.__version__}. "
        f"Command: `python benchmarks/ann_chroma.py --size {args.size} --efs {args.efs}`. "
        "Default HNSW build settings (M 16, ef_construction 100), unfiltered queries; the data and queries of "
        "`ann_scale.py`. Each ef_search is set by one new process and measured by another (Chroma reads it when it "
        "loads the index); the first query, which loads the index, is timed apart.\n\n"
        f"Load: {rate:,.0f} inserts/s.\n\n"
        "| ef_search | query p50 ms | recall@10 | first query (loads the index) s |\n|---:|---:|---:|---:|\n" + lines
    )
    write_result(args.out, f"ann-chroma-{args.size}.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
