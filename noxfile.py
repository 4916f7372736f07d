"""Test sessions: one per distribution, each in its own environment, plus lint.

    nox                       # every session (what CI runs)
    nox -s memgpt-core        # one distribution
    nox -l                    # list sessions

A distribution is any ``memgpt-*/`` folder with a ``pyproject.toml``; its
session installs memgpt-core and that distribution (with all their extras)
from the local folders, never from the index, and runs its ``tests/``. Adding a backend folder adds its session: nothing to edit here.
"""

from __future__ import annotations

import tomllib
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
        session.run("pytest", "-q", "--timeout=900", *session.posargs, env={"MEMGPT_LOAD_PLUGINS": ""} if folder == CORE else {})


for _folder in DISTRIBUTIONS:
    _make_session(_folder)


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over every distribution."""
    session.install("ruff>=0.6")
    paths = [*(str(d) for d in DISTRIBUTIONS), "noxfile.py"]
    session.run("ruff", "check", *paths)
    session.run("ruff", "format", "--check", *paths)
