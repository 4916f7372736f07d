"""Test sessions: one per distribution, each in its own environment, plus lint.

    nox -s all                # every session, as many at a time as there are CPUs (what CI runs)
    nox                       # every session, one after the other
    nox -s memgpt-core        # one distribution
    nox -l                    # list sessions

A distribution is any ``memgpt-*/`` folder with a ``pyproject.toml``; its
session installs memgpt-core and that distribution (with all their extras)
from the local folders, never from the index, and runs its ``tests/``. Adding a backend folder adds its session: nothing to edit here.
``integration`` installs them all together and runs ``integration/`` (migrations across every backend).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import nullcontext
from pathlib import Path

import nox

ROOT = Path(__file__).parent
CORE = ROOT / "memgpt-core"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = False
nox.options.error_on_missing_interpreters = True

CHECK_LOCAL_CORE = """
import json, sys
from importlib.metadata import distribution
info = json.loads(distribution("memgpt-core").read_text("direct_url.json") or "{}")
url = info.get("url", "")
if url.rstrip("/") != "file://" + sys.argv[1]:
    sys.exit(f"memgpt-core was not installed from {sys.argv[1]} but from {url or 'an index'}")
"""

DISTRIBUTIONS = sorted(p.parent for p in ROOT.glob("memgpt-*/pyproject.toml"))


def _extras(folder: Path) -> set[str]:
    project = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
    return set(project.get("optional-dependencies", {}))


def _install_local(session: nox.Session, folder: Path) -> None:
    """Install a distribution from its folder with all its extras, so every optional feature is tested."""
    extras = _extras(folder)
    spec = f"{folder}[{','.join(sorted(extras))}]" if extras else str(folder)
    session.install(spec)


def _make_session(folder: Path) -> None:
    @nox.session(name=folder.name, python="3.11")
    def run(session: nox.Session) -> None:
        _install_local(session, CORE)
        if folder != CORE:
            _install_local(session, folder)
        session.install("pytest>=7.4", "pytest-timeout>=2.2")
        # Guard: the core in this environment must be the local folder, not a copy from the index.
        session.run("python", "-c", CHECK_LOCAL_CORE, str(CORE.resolve()))
        session.chdir(folder)
        session.run(
            "pytest",
            "-q",
            "--timeout=900",
            "--durations=10",
            *session.posargs,
            env={"MEMGPT_LOAD_PLUGINS": ""} if folder == CORE else {},
        )


for _folder in DISTRIBUTIONS:
    _make_session(_folder)


def _install_everything(session: nox.Session) -> None:
    """memgpt-core and every backend distribution (with all their extras) in one environment."""
    _install_local(session, CORE)
    for folder in DISTRIBUTIONS:
        if folder != CORE:
            _install_local(session, folder)


@nox.session(python="3.11")
def integration(session: nox.Session) -> None:
    """Every distribution installed together: migration chains, exports and a small benchmark run (integration/)."""
    _install_everything(session)
    session.install("pytest>=7.4", "pytest-timeout>=2.2", "matplotlib>=3.7")
    session.run("python", "-c", CHECK_LOCAL_CORE, str(CORE.resolve()))
    session.chdir(ROOT / "integration")
    session.run("pytest", "-q", "--timeout=900", "--durations=10", *session.posargs, env={"MEMGPT_REQUIRE_ALL_BACKENDS": "1"})


WHEELHOUSE = ROOT / "dist" / "wheels"
TEMPLATES = [
    ROOT / "packages" / "backend-template" / "memgpt-backend-example",
    ROOT / "packages" / "provider-template" / "memgpt-embeddings-example",
]
BUILT = [*DISTRIBUTIONS, ROOT / "packages" / "pymemgpt", *TEMPLATES]


def _first_party_extras() -> list[str]:
    """The umbrella's plugin extras, from memgpt/distributions.py (loaded by path: nox runs outside any environment)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("memgpt_distributions", CORE / "src" / "memgpt" / "distributions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return [d.extra for d in module.FIRST_PARTY]


INSTALL_TARGETS = ["core", *_first_party_extras(), "all", "template"]


@nox.session(python="3.11")
def wheels(session: nox.Session) -> None:
    """Build every distribution (core, plugins, the pymemgpt umbrella, the third-party templates) into dist/wheels."""
    session.install("build>=1.0")
    shutil.rmtree(WHEELHOUSE, ignore_errors=True)
    WHEELHOUSE.mkdir(parents=True)
    for folder in BUILT:
        session.run("python", "-m", "build", "--wheel", "--outdir", str(WHEELHOUSE), str(folder), silent=True)
    session.log("built: " + ", ".join(sorted(p.name for p in WHEELHOUSE.glob("*.whl"))))


@nox.session(python="3.11", requires=["wheels"], venv_backend="none")
@nox.parametrize("target", INSTALL_TARGETS)
def install(session: nox.Session, target: str) -> None:
    """Install pymemgpt[TARGET] from dist/wheels into a brand-new venv, as a user would, and check it works.

    Dependencies come from the registry; our own distributions only from the
    built wheels (exact pins). ``template`` installs the two third-party
    examples (a backend and an embedding provider) next to the bare core and
    runs their tests.
    """
    version = (ROOT / "VERSION").read_text().strip()
    venv = Path(session.create_tmp()) / f"venv-{target}"
    shutil.rmtree(venv, ignore_errors=True)
    session.run(sys.executable, "-m", "venv", str(venv), external=True)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--quiet", "--find-links", str(WHEELHOUSE)]
    if target == "template":
        session.run(*pip, f"memgpt-core[testing]=={version}", *(f"{t.name}=={version}" for t in TEMPLATES), external=True)
    else:
        extra = "" if target == "core" else f"[{target}]"
        session.run(*pip, f"pymemgpt{extra}=={version}", external=True)
        if target == "postgres":  # the test server (PostgreSQL 16 + pgvector from the pgserver wheel)
            session.run(*pip, "pgserver>=0.1.4", external=True)
    session.run(python, str(ROOT / "packages" / "install_check.py"), target, str(WHEELHOUSE), external=True)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over every distribution."""
    session.install("ruff>=0.6")
    paths = [*(str(d) for d in DISTRIBUTIONS), "integration", "benchmarks", "packages", "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
    session.run("python", "packages/versioning.py", "--check")


@nox.session(python="3.11")
def faults(session: nox.Session) -> None:
    """The fault matrix (integration/faults.py): kills, processes, two users, damage, full disks, hostile input.

    Every scenario on every backend; prints one table (kept in the session's tmp folder: ``python
    integration/faults.py`` alone writes integration/results/faults.md) and fails when any record is lost, duplicated or leaked, or anything prints a traceback. Arguments after ``--`` go to the script
    (``--backends``, ``--scenarios``, ``--trials``).
    """
    _install_everything(session)
    session.run("python", "-c", CHECK_LOCAL_CORE, str(CORE.resolve()))
    out = Path(session.create_tmp()) / "faults.md"
    session.run("python", str(ROOT / "integration" / "faults.py"), "--out", str(out), *session.posargs)


@nox.session(python="3.11", default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks of every backend side by side (benchmarks/): ``nox -s bench -- --size 100000``.

    Arguments after ``--`` go to benchmarks/run.py (``--help`` lists them);
    results are written to benchmarks/results/.
    """
    _install_everything(session)
    session.install("matplotlib>=3.7")
    session.run("python", "-c", CHECK_LOCAL_CORE, str(CORE.resolve()))
    session.run("python", str(ROOT / "benchmarks" / "run.py"), *session.posargs)


# How long each session took in earlier runs here (written by ``all``), and a guess for a first run:
# ``all`` starts the longest first so that the last one to finish is not a long one started late.
DURATIONS = ROOT / ".nox" / "durations.json"
FIRST_GUESS_MINUTES = {"faults": 20, "integration": 8, "install": 8, "memgpt-backend-milvus": 5}


def _groups() -> list[str]:
    """The default sessions by name (``install`` stands for all its targets), minus those another one requires."""
    registry = nox.registry.get()
    names = [name for name, func in registry.items() if func.default and name != "all"]
    required = {need for name in names for need in registry[name].requires}
    return [name for name in names if name not in required]


RAM_FREE_BYTES = 8 * 2**30


def _ram_folder() -> Path | None:
    """/dev/shm when it has room for the tests' temporary files (8 GiB free), else None."""
    folder = Path("/dev/shm")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        return None
    stats = os.statvfs(folder)
    return folder if stats.f_bavail * stats.f_frsize >= RAM_FREE_BYTES else None


def _run_group(name: str, logs: Path, scratch_in: Path | None) -> tuple[str, int, float]:
    """``nox -s NAME`` in its own process, output to ``logs/NAME.log``; returns (name, exit code, seconds).

    With ``scratch_in``, the session's temporary files (TMPDIR) go to a folder made there and removed afterwards.
    """
    start = time.monotonic()
    scratch = tempfile.TemporaryDirectory(prefix=f"memgpt-{name}-", dir=scratch_in) if scratch_in else nullcontext()
    with open(logs / f"{name}.log", "wb") as log, scratch as tmp:
        argv = [sys.executable, "-m", "nox", "--noxfile", str(ROOT / "noxfile.py"), "--no-color", "-s", name]
        env = dict(os.environ, TMPDIR=tmp) if tmp else None
        code = subprocess.run(argv, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, check=False).returncode
    return name, code, time.monotonic() - start


@nox.session(name="all", python=False, default=False)
def all_sessions(session: nox.Session) -> None:
    """Every default session, N at a time: ``nox -s all [-- [--jobs N] [--tmp-on-disk] [NAME ...]]``.

    Each session runs as ``nox -s NAME`` in its own process with its output in
    .nox/logs/NAME.log, printed whole when it ends; the sessions share nothing
    but the machine (test servers take free ports and their own folders). N
    defaults to the CPU count. The tests' temporary files (engines' data folders,
    test servers' data) go to /dev/shm when it has 8 GiB free: the engines
    commit just as on a disk, without waiting for the disk (Qdrant's local mode
    commits once per point, 3 ms each on a virtual disk); ``--tmp-on-disk`` keeps
    them in the usual temporary folder. NAMEs run only those sessions.
    """
    parser = argparse.ArgumentParser(prog="nox -s all --")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--tmp-on-disk", action="store_true")
    parser.add_argument("names", nargs="*", help="only these sessions (install stands for all its targets)")
    options = parser.parse_args(session.posargs)
    scratch_in = None if options.tmp_on_disk else _ram_folder()
    known = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    everything = _groups()
    unknown = sorted(set(options.names) - set(everything))
    if unknown:
        session.error(f"no such session: {', '.join(unknown)} (sessions: {', '.join(everything)})")
    groups = sorted(options.names or everything, key=lambda name: -known.get(name, 60 * FIRST_GUESS_MINUTES.get(name, 1)))
    logs = ROOT / ".nox" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    session.log(f"{len(groups)} sessions, {options.jobs} at a time, temporary files in {scratch_in or tempfile.gettempdir()}")
    session.log("longest first: " + ", ".join(groups))
    results = []
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        for done in as_completed([pool.submit(_run_group, name, logs, scratch_in) for name in groups]):
            name, code, seconds = done.result()
            print(f"\n===== {name}: {'ok' if code == 0 else f'FAILED ({code})'} in {seconds / 60:.1f} min =====", flush=True)
            print((logs / f"{name}.log").read_text(errors="replace"), flush=True)
            results.append((name, code, seconds))
    DURATIONS.write_text(json.dumps({**known, **{name: round(seconds) for name, _, seconds in results}}, indent=1))
    for name, code, seconds in sorted(results, key=lambda result: -result[2]):
        session.log(f"{name:28} {'ok' if code == 0 else 'FAILED':7} {seconds / 60:5.1f} min")
    failed = [name for name, code, _ in results if code != 0]
    if failed:
        session.error("failed: " + ", ".join(failed))
