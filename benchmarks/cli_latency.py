"""The time of one ``memgpt archival search`` as a new process, split into interpreter, imports, and the rest.

    python benchmarks/cli_latency.py                    # 100,000 passages in one agent on the local default
    python benchmarks/cli_latency.py --passages 10000

A fresh ``MEMGPT_HOME`` (local storage, the offline ``hashing`` embedder)
gets one agent with the passages. Then, median of ``--runs`` new processes
each: ``python -c pass`` (the interpreter), ``python -c 'import numpy'`` (the
reference of issue 22's goal), and the command itself; ``-X importtime`` on
the command gives its imports; the search alone is timed warm, in process.
The goal: the command under 2 × (import numpy) + the search.
Writes ``benchmarks/results/cli-latency.md``.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from report import machine_line, write_result

RESULTS = Path(__file__).parent / "results"
QUERY = "green tea at eighty degrees"


def wall(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr[-2000:]}")
    return statistics.median(times)


def import_seconds(argv: list[str], env: dict[str, str], runs: int) -> float:
    """Median over runs of the cumulative time of the top-level imports ``-X importtime`` reports."""
    totals = []
    for _ in range(runs):
        done = subprocess.run([argv[0], "-X", "importtime", *argv[1:]], env=env, capture_output=True, text=True)
        total = 0
        for line in done.stderr.splitlines():
            found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\S.*)$", line)
            if found and not found.group(2).startswith(" "):
                total += int(found.group(1))
        totals.append(total / 1e6)
    return statistics.median(totals)


def fill(home: Path, passages: int) -> float:
    """An agent ``sam`` with ``passages`` passages; returns the warm in-process search time (s)."""
    os.environ["MEMGPT_HOME"] = str(home)
    from memgpt.client import MemGPTClient
    from memgpt.config import MemGPTConfig
    from memgpt.records import Passage

    subprocess.run(
        [sys.executable, "-m", "memgpt", "configure", "--defaults", "--embedding-provider", "hashing"],
        env={**os.environ},
        check=True,
        capture_output=True,
    )
    with MemGPTClient(MemGPTConfig.load()) as client:
        client.create_agent("sam")
        memory = client.memory("sam")
        words = "tea train river garden station night green black water boil leaf cup morning ticket".split()
        for start in range(0, passages, 10_000):
            texts = [
                f"passage {i}: " + " ".join(words[(i * 7 + j * 3) % len(words)] for j in range(12))
                for i in range(start, min(passages, start + 10_000))
            ]
            vectors = memory.embedder.embed(texts)
            memory.archival.insert(
                Passage(
                    id=f"p{start + n}",
                    text=text,
                    user_id=memory.agent.user_id,
                    agent_id=memory.agent.id,
                    embedding=vector,
                    embedding_model=memory.embedder.model,
                )
                for n, (text, vector) in enumerate(zip(texts, vectors, strict=True))
            )
        memory.search_archival(QUERY)
        times = []
        for _ in range(20):
            started = time.perf_counter()
            memory.search_archival(QUERY)
            memory._cache.clear()
            times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passages", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="memgpt-cli-latency-"))
    search = fill(home, args.passages)
    env = {**os.environ, "MEMGPT_HOME": str(home)}
    python = sys.executable
    command = [python, "-m", "memgpt", "archival", "search", "--agent", "sam", QUERY]
    interpreter = wall([python, "-c", "pass"], env, args.runs)
    numpy = wall([python, "-c", "import numpy"], env, args.runs)
    total = wall(command, env, args.runs)
    imports = import_seconds(command, env, args.runs)
    rest = total - interpreter - imports
    goal = 2 * numpy + search
    rows = [
        ("interpreter (`python -c pass`)", interpreter),
        ("imports (`-X importtime`, top level)", imports),
        ("config, open, embed the query, search, print", rest),
        ("**`memgpt archival search`, total**", total),
        ("reference: `python -c 'import numpy'`", numpy),
        ("reference: the search alone, warm, in process", search),
        ("goal: 2 × import numpy + the search", goal),
    ]
    verdict = "met" if total <= goal else f"not met ({total / goal:.2f}× the goal)"
    text = (
        f"# CLI latency: `memgpt archival search` on {args.passages:,} local passages in one agent\n\n"
        f"Machine: {machine_line()}. "
        f"Command: `python benchmarks/cli_latency.py --passages {args.passages}` (median of {args.runs} processes; "
        "the offline hashing embedder).\n\n| part | ms |\n|---|---:|\n"
        + "\n".join(f"| {label} | {seconds * 1000:.0f} |" for label, seconds in rows)
        + f"\n\nGoal {verdict}.\n"
    )
    write_result(args.out, "cli-latency.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
