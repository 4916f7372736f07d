"""A small run of benchmarks/ as a smoke test: every available backend measured, tables and JSON written.

No wall-clock time is asserted (speed is read from the tables, not tested);
what is checked is that every subject ran every operation, found the exact
neighbours where it searches exactly, and that the report holds them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXACT = {"local", "postgres", "qdrant", "milvus", "lancedb"}
"""Backends that search exactly at this size (Chroma's HNSW may miss a neighbour)."""


def test_a_small_benchmark_run_measures_every_backend(tmp_path: Path, available: set[str], pg_uri: str | None) -> None:
    backends = sorted({"local"} | available)
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_HOME"}
    if pg_uri:
        env["MEMGPT_BENCH_PGURI"] = pg_uri
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--size", "1200", "--dims", "16", "--agents", "4"]
    argv += ["--queries", "12", "--cold-runs", "1", "--cli-runs", "2", "--backends", ",".join(backends), "--out", str(tmp_path)]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=1500)
    assert done.returncode == 0, done.stderr[-3000:]

    (stem,) = {p.with_suffix("") for p in tmp_path.glob("bench-1200*.json")}  # bench-1200-<backends> for a subset
    report = json.loads(stem.with_suffix(".json").read_text())
    assert report["machine"]["cpus"] == os.cpu_count() and report["machine"]["memory_gib"] > 0
    results = {(r["label"], r["dim"]): r for r in report["results"]}
    for dim in (16,):
        assert results[("numpy floor", dim)]["search"]["n"] == 12
        for backend in backends:
            ours = results[(f"{backend} via memgpt", dim)]
            assert not ours["errors"]
            assert ours["insert_all_per_s"] > 0 and ours["cold_open_s"] > 0
            assert ours["search"]["n"] == 12 and ours["count"]["n"] > 0
            assert ours["text_search"]["n"] > 0 and ours["date_search"]["n"] > 0
            assert ours["recall_at_10"] == 1.0 if backend in EXACT else ours["recall_at_10"] >= 0.9
            client = results[(f"{backend} client", dim)]  # every engine is measured through its own client as well
            assert not client["errors"] and client["search"]["n"] == 12 and client["insert_all_per_s"] > 0
            assert client["recall_at_10"] == 1.0 if backend in EXACT else client["recall_at_10"] >= 0.9
            best = results.get((f"{backend} best use", dim))  # every external engine's best use for one agent's search
            assert (best is None) == (backend == "local"), backend
            if best is not None:
                assert not best["errors"] and best["search"]["n"] == 12 and best["how"]
                assert best["recall_at_10"] >= 0.9 and best["text_search"] is None  # timed on vector search alone
    assert set(report["cli_ms"]) == {"python -c 'import click'", "memgpt --help"}

    tables = stem.with_suffix(".md").read_text()
    for heading in ("## 16 dimensions", "### Scoped top-10 vector search", "## CLI start", "## Targets", "memgpt / best use"):
        assert heading in tables
    for backend in backends:
        assert f"| {backend} |" in tables
    assert stem.with_suffix(".png").stat().st_size > 0  # matplotlib is installed in the integration session


def test_repeated_runs_are_each_kept_and_the_tables_show_their_medians(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_HOME"}
    argv = [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--size", "600", "--dims", "16,24", "--agents", "4"]
    argv += ["--queries", "8", "--cold-runs", "1", "--cli-runs", "1", "--backends", "local", "--repeat", "3"]
    done = subprocess.run([*argv, "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((tmp_path / "bench-600-local.json").read_text())
    assert report["settings"]["repeat"] == 3
    runs: dict[tuple[str, int], list[int]] = {}
    for result in report["results"]:
        assert not result["errors"] and result["search"]["n"] == 8
        runs.setdefault((result["label"], result["dim"]), []).append(result["run"])
    subjects = ("local via memgpt", "numpy floor", "local client")
    assert runs == {(label, dim): [0, 1, 2] for label in subjects for dim in (16, 24)}
    tables = (tmp_path / "bench-600-local.md").read_text()
    assert "## 16 dimensions" in tables and "## 24 dimensions" in tables
    assert "median of 3 runs" in tables
    # The tables hold the median of the runs: the local backend's insert rate at 16-d, say (one chunk at this
    # size, so its first-10k and overall rates are the same number).
    rates = sorted(r["insert_all_per_s"] for r in report["results"] if (r["label"], r["dim"]) == ("local via memgpt", 16))
    assert f"| local | {rates[1]:,.0f} | {rates[1]:,.0f} |" in tables.split("## 24 dimensions")[0]
    assert "| target | measured (median) | each run | goal |" in tables
    assert "### Bulk insert of pre-embedded passages" in tables and "| local |" in tables


def test_a_small_run_of_the_agent_loop_benchmark(pg_uri: str | None) -> None:
    """benchmarks/agent_turn.py on local (and postgres when installed): both kinds of turn, with their passages."""
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_HOME"}
    backends = ["local"]
    if pg_uri:
        env["MEMGPT_BENCH_PGURI"] = pg_uri
        backends.append("postgres")
    argv = [
        sys.executable,
        str(ROOT / "benchmarks" / "agent_turn.py"),
        "--passages",
        "300",
        "--turns",
        "3",
        "--backends",
        ",".join(backends),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [
        line.split("|")[1:-1]
        for line in done.stdout.splitlines()
        if line.startswith(f"| {backends[0]}") or line.startswith("| postgres")
    ]
    assert [(r[0].strip(), r[1].strip(), r[2].strip()) for r in rows] == [
        (backend, turn, "300") for backend in backends for turn in ("reply (1 step)", "search + reply (2 steps)")
    ]
    assert all(float(r[4]) > 0 for r in rows)


def test_a_small_run_of_the_large_archive_benchmark(tmp_path: Path) -> None:
    """benchmarks/ann_scale.py at 2,000 passages: both paths measured, the exact one exact, table and chart written."""
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_HOME"}
    argv = [sys.executable, str(ROOT / "benchmarks" / "ann_scale.py"), "--sizes", "2000", "--queries", "20"]
    done = subprocess.run([*argv, "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows = [line.split("|")[1:-1] for line in (tmp_path / "ann-scale.md").read_text().splitlines() if line.startswith("| 2,000")]
    [cells] = [[cell.strip() for cell in row] for row in rows if len(row) == 9]  # the main table's row
    assert cells[3] == "1.000" and float(cells[7]) >= 0.9  # exact recall, graph recall
    assert float(cells[1].replace(",", "")) > 0 and float(cells[4]) > 0  # inserts/s, graph build s
    curve = [[cell.strip() for cell in row] for row in rows if len(row) == 4]  # recall against query time
    assert [c[1] for c in curve] == ["64", "256", "1,024 (default)", "2,048", "8,192"] and all(
        0.0 < float(c[3]) <= 1.0 for c in curve
    )
    assert (tmp_path / "ann-scale.png").stat().st_size > 0


def test_a_small_run_of_the_postgres_bulk_load_benchmark(tmp_path: Path, pg_uri: str | None) -> None:
    if not pg_uri:
        import pytest

        pytest.skip("PostgreSQL is not installed in this session")
    env = {k: v for k, v in os.environ.items() if k != "MEMGPT_HOME"}
    env["MEMGPT_BENCH_PGURI"] = pg_uri
    argv = [sys.executable, str(ROOT / "benchmarks" / "postgres_bulk_load.py"), "--size", "10000", "--queries", "10"]
    done = subprocess.run([*argv, "--out", str(tmp_path)], capture_output=True, text=True, env=env, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    table = (tmp_path / "postgres-bulk-load.md").read_text()
    for label in ("plain inserts", "bulk_load"):
        [row] = [line for line in table.splitlines() if line.startswith(f"| {label} |")]
        assert row.split("|")[6].strip() == "1.000"  # 10,000 rows: scanned exactly either way
