"""Results as Markdown tables (and a PNG chart when matplotlib is installed).

python benchmarks/report.py benchmarks/results/bench-100000.json   # render .md and .png again from a run's JSON
"""

from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from measure import Latency, Result


def machine() -> dict[str, Any]:
    memory = None
    try:
        with open("/proc/meminfo") as info:
            memory = round(int(info.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpus": os.cpu_count(),
        "memory_gib": memory,
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def machine_line() -> str:
    """The machine in one line, as each result file's header states it."""
    return f"{platform.machine()}, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def write_result(folder: Path, name: str, text: str) -> Path:
    """Write one benchmark's Markdown result as ``folder/name`` and print it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    print(text)
    return path


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs is None or theirs == 0:
        return "-"
    return f"{ours / theirs:.2f}×"


def _median(values: list[float | None]) -> float | None:
    present = sorted(v for v in values if v is not None)
    if not present:
        return None
    middle = len(present) // 2
    return present[middle] if len(present) % 2 else (present[middle - 1] + present[middle]) / 2


def runs_of(results: list[Result]) -> list[list[Result]]:
    """The results grouped by repeat (``--repeat``), in run order."""
    by_run: dict[int, list[Result]] = {}
    for r in results:
        by_run.setdefault(r.run, []).append(r)
    return [by_run[run] for run in sorted(by_run)]


def combined(results: list[Result]) -> list[Result]:
    """One result per subject and dimension: the median of its runs, number by number (one run: itself)."""
    groups: dict[tuple[str, int], list[Result]] = {}
    for r in results:
        groups.setdefault((r.label, r.dim), []).append(r)
    out = []
    for runs in groups.values():
        if len(runs) == 1:
            out.append(runs[0])
            continue
        first = runs[0]
        merged = Result(first.label, first.engine, first.dim, first.size)
        for name in ("insert_first_10k_per_s", "insert_all_per_s", "recall_at_10", "cold_open_s"):
            setattr(merged, name, _median([getattr(r, name) for r in runs]))
        for name in ("search", "text_search", "date_search", "count"):
            lats = [getattr(r, name) for r in runs if getattr(r, name) is not None]
            if lats:
                p50, p95 = _median([x.p50_ms for x in lats]), _median([x.p95_ms for x in lats])
                setattr(merged, name, Latency(p50 or 0.0, p95 or 0.0, sum(x.n for x in lats)))
        merged.errors = [e for r in runs for e in r.errors]
        out.append(merged)
    return out


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *("| " + " | ".join(r) + " |" for r in rows), ""]


BEST = "best use"
"""The label ending of an engine's best-use subject (``direct.<engine>.BestSubject``)."""


def _role(label: str) -> str:
    return "memgpt" if label.endswith("via memgpt") else "best" if label.endswith(BEST) else "client"


def _subjects(results: list[Result], dim: int) -> dict[str, dict[str, Result]]:
    """Per engine (in run order), its results at ``dim`` by role: ``memgpt``, ``client``, ``best``."""
    engines: dict[str, dict[str, Result]] = {}
    for r in results:
        if r.dim == dim and r.engine != "numpy":
            engines.setdefault(r.engine, {})[_role(r.label)] = r
    return engines


def _pairs(results: list[Result], dim: int) -> list[tuple[str, Result | None, Result | None]]:
    return [(e, v.get("memgpt"), v.get("client")) for e, v in _subjects(results, dim).items()]


def _best(results: list[Result], dim: int) -> dict[str, Result]:
    return {e: v["best"] for e, v in _subjects(results, dim).items() if "best" in v}


def markdown(every_run: list[Result], settings: dict[str, Any], cli: dict[str, float], host: dict[str, Any]) -> str:
    results = combined(every_run)
    repeat = len(runs_of(every_run))
    lines = [
        "# pymemgpt storage benchmarks",
        "",
        f"Machine: {host['cpus']} CPUs ({host['cpu']}), {host['memory_gib']} GiB, Python {host['python']}, {host['system']}.  ",
        f"Workload: {settings['size']:,} passages per dimension over {settings['agents']} agents "
        f"({settings['size'] // settings['agents']:,} each), clustered unit vectors; {settings['messages']:,} messages; "
        f"{settings['queries']} search queries; top-{settings['k']}. Command: `{settings['command']}`.",
        "",
        "*via memgpt*: the backend through memgpt's storage API; *client*: the engine's own Python client doing the same "
        "operation directly (same data, same filter); *ratio*: memgpt's time over the client's (1.00× = no overhead; "
        "for inserts, the client's rate over memgpt's). The numpy floor is exact search as one matrix-vector product "
        "over the agent's vectors, held in memory; the local backend's client is SQLite through sqlite3 with the same "
        "schema and settings, plus numpy for the ranking. A backend's subjects (memgpt's, the client's and, for the local "
        "backend, the floor) are measured taking turns, call by call, so all see the same state of the machine.",
        "",
    ]
    if repeat > 1:
        lines += [
            f"Each backend was measured {repeat} times from empty: every number in the tables is the median of {repeat} runs, "
            "and every target is the median of the ratio measured in each run (both subjects of a ratio taking turns within "
            "that run).",
            "",
        ]
    for dim in settings["dims"]:
        floor = next((r for r in results if r.dim == dim and r.engine == "numpy"), None)
        pairs = _pairs(results, dim)
        lines += [f"## {dim} dimensions", "", "### Bulk insert of pre-embedded passages (passages/s)", ""]
        lines += _table(
            [
                "backend",
                "memgpt, first 10k",
                f"memgpt, all {settings['size']:,}",
                "client, first 10k",
                "client, all",
                "ratio (all)",
            ],
            [
                [
                    e,
                    _f(m.insert_first_10k_per_s if m else None, 0),
                    _f(m.insert_all_per_s if m else None, 0),
                    _f(c.insert_first_10k_per_s if c else None, 0),
                    _f(c.insert_all_per_s if c else None, 0),
                    _ratio(c.insert_all_per_s if c else None, m.insert_all_per_s if m else None),
                ]
                for e, m, c in pairs
            ],
        )
        lines += ["### Scoped top-10 vector search (ms)", ""]
        floor_p50 = floor.search.p50_ms if floor and floor.search else None
        rows = [
            [
                e,
                _f(m.search.p50_ms if m and m.search else None, 3),
                _f(m.search.p95_ms if m and m.search else None, 3),
                _f(m.recall_at_10 if m else None, 3),
                _f(c.search.p50_ms if c and c.search else None, 3),
                _f(c.search.p95_ms if c and c.search else None, 3),
                _f(c.recall_at_10 if c else None, 3),
                _ratio(m.search.p50_ms if m and m.search else None, c.search.p50_ms if c and c.search else None),
                _ratio(m.search.p50_ms if m and m.search else None, floor_p50),
            ]
            for e, m, c in pairs
        ]
        best = _best(results, dim)
        if best:
            for row, (e, m, _) in zip(rows, pairs, strict=True):
                b = best.get(e)
                b_p50 = b.search.p50_ms if b and b.search else None
                row += [
                    _f(b_p50, 3),
                    _f(b.recall_at_10 if b else None, 3),
                    _ratio(m.search.p50_ms if m and m.search else None, b_p50),
                ]
        if floor and floor.search:
            floor_row = ["numpy floor", _f(floor.search.p50_ms, 3), _f(floor.search.p95_ms, 3), "1.000", "", "", "", "", "1.00×"]
            rows.append(floor_row + ([""] * 3 if best else []))
        head = [
            "backend",
            "memgpt p50",
            "memgpt p95",
            "memgpt recall@10",
            "client p50",
            "client p95",
            "client recall@10",
            "ratio p50",
            "vs floor",
        ]
        lines += _table(head + (["best use p50", "best use recall@10", "memgpt / best use"] if best else []), rows)
        if best:
            lines += [
                "*best use*: the engine's fastest correct way found to search one agent's passages, with a layout of its "
                "own (its inserts are not compared):",
                "",
                *(f"- {e}: {b.how}" for e, b in best.items()),
                "",
            ]
        lines += ["### Recall memory and counting (p50 ms)", ""]
        ops = [("text_search", "text search"), ("date_search", "date range"), ("count", "count")]
        head = ["backend"]
        for _, name in ops:
            head += [f"{name} memgpt", f"{name} client", "ratio"]
        body = []
        for e, m, c in pairs:
            row = [e]
            for attr, _ in ops:
                ours = getattr(m, attr).p50_ms if m and getattr(m, attr) else None
                theirs = getattr(c, attr).p50_ms if c and getattr(c, attr) else None
                row += [_f(ours, 3), _f(theirs, 3), _ratio(ours, theirs)]
            body.append(row)
        lines += _table(head, body)
        lines += [
            f"### Cold open: new process to first search result (s, median of {settings.get('cold_runs', 3)}; "
            "bytecode caches in use, as after `pip install`)",
            "",
        ]
        lines += _table(
            ["backend", "memgpt", "client", "ratio"],
            [
                [
                    e,
                    _f(m.cold_open_s if m else None),
                    _f(c.cold_open_s if c else None),
                    _ratio(m.cold_open_s if m else None, c.cold_open_s if c else None),
                ]
                for e, m, c in pairs
            ],
        )
    if cli:
        lines += [f"## CLI start (ms, median of {settings.get('cli_runs', 10)})", ""]
        lines += _table(
            ["command", "ms", "over `import click`"],
            [[f"`{name}`", _f(ms, 1), _f(ms - cli["python -c 'import click'"], 1)] for name, ms in cli.items()],
        )
    lines += targets(every_run, settings, cli)
    short = [
        f"{r.label} ({r.dim}-d): {name} {lat.n}"
        for r in results
        for name in ("search", "text_search", "date_search", "count")
        if (lat := getattr(r, name)) is not None
        and lat.n < repeat * (settings["queries"] if name == "search" else min(50, settings["queries"]))
    ]
    if short:
        lines += [
            "Operations timed fewer times because they used up the per-operation time budget: " + "; ".join(short) + ".",
            "",
        ]
    errors = [f"- {r.label} ({r.dim}-d): {e}" for r in results for e in r.errors]
    if errors:
        lines += ["## Errors", "", *errors, ""]
    return "\n".join(lines)


def chart(every_run: list[Result], settings: dict[str, Any], path: Path) -> Path | None:
    """A bar chart of memgpt's overhead ratios per backend and operation (None without matplotlib)."""
    results = combined(every_run)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    dims = settings["dims"]
    fig, axes = plt.subplots(1, len(dims), figsize=(7 * len(dims), 4), squeeze=False)
    ops = [("search", "search"), ("text_search", "text"), ("date_search", "date"), ("count", "count")]
    for ax, dim in zip(axes[0], dims, strict=True):
        pairs = [(e, m, c) for e, m, c in _pairs(results, dim) if m and c]
        width = 0.8 / max(1, len(pairs))
        for i, (engine, m, c) in enumerate(pairs):
            ratios = []
            for attr, _ in ops:
                ours, theirs = getattr(m, attr), getattr(c, attr)
                ratios.append(ours.p50_ms / theirs.p50_ms if ours and theirs and theirs.p50_ms else 0)
            ratios.append(c.insert_all_per_s / m.insert_all_per_s if c.insert_all_per_s and m.insert_all_per_s else 0)
            ax.bar([x + i * width for x in range(len(ratios))], ratios, width, label=engine)
        ax.axhline(1.0, color="black", linewidth=0.8)
        ax.axhline(CLIENT_GOAL, color="red", linewidth=0.8, linestyle="--")
        ax.set_xticks([x + width * (len(pairs) - 1) / 2 for x in range(len(ops) + 1)], [n for _, n in ops] + ["insert"])
        ax.set_ylabel("memgpt time / client time (p50)")
        ax.set_title(f"{dim}-d, {settings['size']:,} passages")
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


FLOOR_GOAL = 1.2
"""Local exact search p50 over the numpy floor's (issue 22)."""
INSERT_GOAL = 100_000
"""Local bulk inserts, passages/s (issue 22)."""
CLIENT_GOAL = 1.2
"""An external backend's time through memgpt over its own client's, every operation (issue 22)."""


def _target_values(results: list[Result], settings: dict[str, Any]) -> list[tuple[str, float, float, str, bool]]:
    """(target, value, limit, format, higher is better) of one run's results."""
    values: list[tuple[str, float, float, str, bool]] = []

    def add(what: str, value: float | None, limit: float, fmt: str, higher_is_better: bool = False) -> None:
        if value is not None:
            values.append((what, value, limit, fmt, higher_is_better))

    for dim in settings["dims"]:
        floor = next((r for r in results if r.dim == dim and r.engine == "numpy"), None)
        for engine, m, c in _pairs(results, dim):
            if engine == "local" and m is not None and dim == 384:
                if m.search and floor and floor.search:
                    add(f"local {dim}-d search p50 / numpy floor", m.search.p50_ms / floor.search.p50_ms, FLOOR_GOAL, "{:.2f}×")
                add(f"local {dim}-d recall@10", m.recall_at_10, 1.0, "{:.3f}", higher_is_better=True)
                add(f"local {dim}-d bulk insert (passages/s)", m.insert_all_per_s, INSERT_GOAL, "{:,.0f}", higher_is_better=True)
                add(f"local {dim}-d cold open (s)", m.cold_open_s, 1.0, "{:.2f}")
            if m is None or c is None or engine == "local":  # the client goal is the external engines'; local has its own
                continue
            for attr, name in (
                ("search", "search"),
                ("text_search", "text search"),
                ("date_search", "date range"),
                ("count", "count"),
            ):
                ours, theirs = getattr(m, attr), getattr(c, attr)
                if ours and theirs and theirs.p50_ms:
                    add(f"{engine} {dim}-d {name} / client", ours.p50_ms / theirs.p50_ms, CLIENT_GOAL, "{:.2f}×")
            if m.insert_all_per_s and c.insert_all_per_s:
                add(f"{engine} {dim}-d insert / client", c.insert_all_per_s / m.insert_all_per_s, CLIENT_GOAL, "{:.2f}×")
            if m.cold_open_s and c.cold_open_s:
                add(f"{engine} {dim}-d cold open / client", m.cold_open_s / c.cold_open_s, CLIENT_GOAL, "{:.2f}×")
    return values


def targets(every_run: list[Result], settings: dict[str, Any], cli: dict[str, float]) -> list[str]:
    """The issue's targets, checked against the measured numbers (met / missed, with the value).

    With several runs a target's value is the median of the value each run
    measured (a ratio within one run compares subjects that took turns).
    """
    per_target: dict[str, list[float]] = {}
    shape: dict[str, tuple[float, str, bool]] = {}
    for run in runs_of(every_run):
        for what, value, limit, fmt, higher in _target_values(run, settings):
            per_target.setdefault(what, []).append(value)
            shape[what] = (limit, fmt, higher)
    click = cli.get("python -c 'import click'")
    help_ms = cli.get("memgpt --help")
    if click is not None and help_ms is not None:
        what = "`memgpt --help` over `import click` (ms)"
        per_target[what] = [help_ms - click]
        shape[what] = (100, "{:.0f}", False)
    rows: list[list[str]] = []
    several = settings.get("repeat", 1) > 1
    for what, measured in per_target.items():
        limit, fmt, higher = shape[what]
        value = _median(measured)
        assert value is not None
        met = value >= limit if higher else value <= limit
        row = [what, fmt.format(value), ("≥ " if higher else "≤ ") + fmt.format(limit), "met" if met else "**missed**"]
        if several:
            row.insert(2, " / ".join(fmt.format(v) for v in measured))
        rows.append(row)
    if not rows:
        return []
    head = ["target", "measured (median)", "each run", "goal", ""] if several else ["target", "measured", "goal", ""]
    return ["## Targets", "", *_table(head, rows)]


def write(
    stem: Path, results: list[Result], settings: dict[str, Any], cli: dict[str, float], host: dict[str, Any]
) -> Path | None:
    """``stem``.md (tables), ``stem``.json (every number) and ``stem``.png (when matplotlib is installed)."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".md").write_text(markdown(results, settings, cli, host) + "\n")
    data = {"machine": host, "settings": settings, "cli_ms": cli, "results": [r.to_dict() for r in results]}
    stem.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n")
    return chart(results, settings, stem.with_suffix(".png"))


def main(path: str) -> None:
    data = json.loads(Path(path).read_text())
    results = [Result.from_dict(r) for r in data["results"]]
    png = write(Path(path).with_suffix(""), results, data["settings"], data["cli_ms"], data["machine"])
    print(f"wrote {Path(path).with_suffix('.md')}" + (f" and {png}" if png else ""), file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
