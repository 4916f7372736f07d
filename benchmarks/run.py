"""Measure every installed backend side by side, through memgpt and with its own client, and write tables.

    nox -s bench -- --size 100000                 # what produced benchmarks/results/
    python benchmarks/run.py --size 2000 --dims 384 --backends local,qdrant

Results go to ``benchmarks/results/bench-<size>.md`` (and ``.json``, and
``.png`` when matplotlib is installed). Embedded engines work in a temporary
folder; PostgreSQL is ``MEMGPT_BENCH_PGURI`` when set, else a server started
from the pgserver wheel for the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import numpy as np
from data import Workload
from floor import NumpyFloor
from measure import K, Result, measure
from report import machine, write
from subject import MemgptSubject, Subject, empty_folder

RESULTS = Path(__file__).parent / "results"
EMBEDDED = {"local": "local", "chroma": "chroma", "qdrant": "qdrant", "milvus": "milvus.db", "lancedb": "lancedb"}


def installed_backends() -> list[str]:
    from memgpt import plugins

    return list(plugins.backends())


@contextmanager
def postgres_uri() -> Iterator[str]:
    if os.environ.get("MEMGPT_BENCH_PGURI"):
        yield os.environ["MEMGPT_BENCH_PGURI"]
        return
    from memgpt_backend_postgres.devserver import DevServer

    folder = Path(tempfile.mkdtemp(prefix="memgpt-pg-bench-"))
    server = DevServer(folder / "data")
    server.start()
    try:
        yield server.uri
    finally:
        server.destroy()
        shutil.rmtree(folder, ignore_errors=True)


def location(backend: str, scratch: Path, dim: int, stack: ExitStack, cache: dict[str, str]) -> str:
    """An empty location of ``backend`` for one dimension's run."""
    if backend == "postgres":
        if "postgres" not in cache:
            cache["postgres"] = stack.enter_context(postgres_uri())
        from memgpt.testing.migration import empty_location

        return empty_location("postgres", cache["postgres"])
    name = EMBEDDED.get(backend, backend)
    return empty_folder(scratch / f"{dim}" / name)


def direct_subject(backend: str, uri: str, kind: str = "DirectSubject") -> Subject | None:
    """The engine's own client doing the same operations (``kind`` ``"BestSubject"``: the engine's best use
    for one agent's search), when benchmarks/direct/ has one."""
    import importlib

    try:
        module = importlib.import_module(f"direct.{backend}")
    except ModuleNotFoundError:
        return None
    subject = getattr(module, kind, None)
    return None if subject is None else subject(uri)


def cli_start(runs: int = 10) -> dict[str, float]:
    """Median wall time of ``memgpt --help`` (every installed plugin loaded) and of a bare ``import click``."""
    memgpt = shutil.which("memgpt") or ""
    commands = {
        "python -c 'import click'": [sys.executable, "-c", "import click"],
        "memgpt --help": [memgpt, "--help"] if memgpt else [sys.executable, "-m", "memgpt", "--help"],
    }
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
    out = {}
    for name, argv in commands.items():
        subprocess.run(argv, capture_output=True, env=env, check=True)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run(argv, capture_output=True, env=env, check=True)
            times.append(time.perf_counter() - start)
        out[name] = float(np.median(times)) * 1_000
    return out


def run_together(subjects: list[Any], workload: Workload, env: dict[str, str], cold_runs: int) -> list[Result]:
    """Measure subjects of one backend taking turns (see measure.latencies); a failure is reported, the run goes on."""
    print(f"  {' and '.join(s.label for s in subjects)} ...", file=sys.stderr, flush=True)
    try:
        return measure(subjects, workload, env, cold_runs)
    except Exception as exc:  # a backend failing is reported in the table, the run goes on
        message = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
        results = [Result(s.label, s.engine, workload.dim, workload.size, how=getattr(s, "how", "")) for s in subjects]
        for result in results:
            result.errors.append(message)
        return results
    finally:
        for subject in subjects:
            subject.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="passages per dimension")
    parser.add_argument("--dims", default="384,1536", help="comma-separated dimensions")
    parser.add_argument("--agents", type=int, default=0, help="agents (default: one per 10,000 passages, at least 4)")
    parser.add_argument("--messages", type=int, default=0, help="recall messages (default: size / 5, at most 20,000)")
    parser.add_argument("--queries", type=int, default=200, help="vector searches timed per subject")
    parser.add_argument("--backends", default="", help="comma-separated (default: every installed backend)")
    parser.add_argument("--no-direct", action="store_true", help="skip the engines' own clients")
    parser.add_argument("--no-best", action="store_true", help="skip the engines' best use for one agent's search")
    parser.add_argument("--cold-runs", type=int, default=3, help="new processes timed per cold open (median)")
    parser.add_argument("--cli-runs", type=int, default=10, help="runs of memgpt --help and of import click (median)")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each backend this many times from empty (tables: medians of the runs)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    parser.add_argument("--stem", default="", help="name of the result files (default: bench-<size>[-<backends>])")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    dims = [int(d) for d in args.dims.split(",") if d]
    agents = args.agents or max(4, args.size // 10_000)
    messages = args.messages or min(20_000, max(1_000, args.size // 5))
    backends = [b for b in args.backends.split(",") if b] or installed_backends()
    missing = sorted(set(backends) - set(installed_backends()))
    if missing:
        parser.error(f"not installed: {', '.join(missing)}")
    settings: dict[str, Any] = {
        "size": args.size,
        "dims": dims,
        "agents": agents,
        "messages": messages,
        "queries": args.queries,
        "k": K,
        "backends": backends,
        "cold_runs": args.cold_runs,
        "cli_runs": args.cli_runs,
        "repeat": args.repeat,
        "command": "python benchmarks/run.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    results: list[Result] = []
    scratch = Path(tempfile.mkdtemp(prefix="memgpt-bench-"))
    home = scratch / "home"
    home.mkdir()
    env = {"MEMGPT_HOME": str(home), "HOME": str(scratch)}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        with ExitStack() as stack:
            cache: dict[str, str] = {}
            for dim in dims:
                print(f"{dim} dimensions: generating {args.size:,} vectors", file=sys.stderr, flush=True)
                workload = Workload(args.size, dim, agents, messages, queries=args.queries)
                if "local" not in backends:  # else the floor takes turns with the local backend
                    for run in range(args.repeat):
                        for result in run_together([NumpyFloor(workload)], workload, env, args.cold_runs):
                            result.run = run
                            results.append(result)
                for backend in backends:
                    for run in range(args.repeat):
                        subjects: list[Any] = [MemgptSubject(backend, location(backend, scratch, dim, stack, cache))]
                        if backend == "local":
                            subjects.append(NumpyFloor(workload))
                        if not args.no_direct:
                            direct = direct_subject(backend, location(backend, scratch / "direct", dim, stack, cache))
                            if direct is not None:
                                subjects.append(direct)
                        if not args.no_best:
                            best = direct_subject(backend, location(backend, scratch / "best", dim, stack, cache), "BestSubject")
                            if best is not None:
                                subjects.append(best)
                        for result in run_together(subjects, workload, env, args.cold_runs):
                            result.run = run
                            results.append(result)
        cli = cli_start(args.cli_runs)
    finally:
        for name, value in saved.items():  # what runs after (matplotlib's cache, say) must not write into the scratch
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(scratch, ignore_errors=True)
    subset = "" if set(backends) == set(installed_backends()) else "-" + "-".join(backends)
    stem = args.out / (args.stem or f"bench-{args.size}{subset}")
    png = write(stem, results, settings, cli, machine())
    print(f"wrote {stem.with_suffix('.md')}" + (f" and {png}" if png else ""), file=sys.stderr)
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
