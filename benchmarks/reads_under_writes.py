"""Search latency on the local backend while another process writes to the same agent.

    python benchmarks/reads_under_writes.py --size 100000 --seconds 20

One process fills an agent with SIZE passages, then a writer process inserts
one passage every ``--interval`` seconds while this process searches the
agent over and over; prints the search latencies (a table) and how many
times the reader read the whole partition back into memory. Run it with
another memgpt on ``PYTHONPATH`` to compare releases.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITER = """
import sys, time
import numpy as np
from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.kinds import Table
from memgpt.records import Passage
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
root, interval, seconds, dim = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
b = LocalBackend(); s = b.open({"path": root}); c = open_collection(b, s, Table.ARCHIVAL, Where.of(user_id="u"))
rng = np.random.default_rng(1); end = time.time() + seconds; i = 0
while time.time() < end:
    c.insert([Passage(id=f"new-{i}", text=f"new {i}", user_id="u", agent_id="a", embedding=rng.standard_normal(dim), embedding_model="m")])
    i += 1; time.sleep(interval)
print(i)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()

    import numpy as np

    from memgpt.default_plugins.local_backend import LocalBackend
    from memgpt.kinds import Table
    from memgpt.records import Passage
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where

    root = Path(tempfile.mkdtemp(prefix="memgpt-rw-"))
    try:
        backend = LocalBackend()
        store = backend.open({"path": str(root)})
        archival = open_collection(backend, store, Table.ARCHIVAL, Where.of(user_id="u", agent_id="a"))
        rng = np.random.default_rng(0)
        vectors = rng.standard_normal((args.size, args.dim)).astype(np.float32)
        archival.insert(
            Passage(id=str(i), text=f"passage {i}", user_id="u", agent_id="a", embedding=vectors[i], embedding_model="m")
            for i in range(args.size)
        )
        archival.search(vectors[0], k=10)  # the cache is warm before the writer starts
        start_reloads = getattr(archival.connector, "reloads", None)
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(args.interval), str(args.seconds), str(args.dim)],
            stdout=subprocess.PIPE,
            text=True,
        )
        latencies = []
        end = time.time() + args.seconds
        while time.time() < end:
            began = time.perf_counter()
            archival.search(vectors[len(latencies) % args.size], k=10)
            latencies.append((time.perf_counter() - began) * 1000)
        written = int(writer.communicate()[0].strip() or 0)
        reloads = None if start_reloads is None else archival.connector.reloads - start_reloads
        store.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    latencies.sort()
    print("| passages | writes by the other process | searches | p50 ms | p95 ms | max ms | full reloads |")
    print("|---|---|---|---|---|---|---|")
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    print(
        f"| {args.size:,} x {args.dim} | {written} | {len(latencies)} | {statistics.median(latencies):.2f} | {p95:.2f} | "
        f"{latencies[-1]:.1f} | {'-' if reloads is None else reloads} |"
    )


if __name__ == "__main__":
    main()
