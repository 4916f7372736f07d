"""Shared fixtures for memgpt-core's own tests.

Every test runs in a throw-away MEMGPT_HOME (memgpt.testing.pytest_plugin) and
with entry-point plugins switched off, so whatever is installed on the machine
cannot change the results; tests that exercise plugin loading install their
own throw-away distributions with :func:`fake_distribution`.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMGPT_LOAD_PLUGINS", "")


@pytest.fixture
def fake_distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Path]]:
    """``fake_distribution(name, version, module, source)``: a distribution with a ``memgpt`` entry point.

    Writes ``<module>.py`` and ``<name>-<version>.dist-info`` (METADATA and
    entry_points.txt) into a folder on ``sys.path``, which is exactly what pip
    leaves behind; returns that folder, for ``PYTHONPATH`` of subprocesses.
    """
    site = tmp_path / "site-packages"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    created: list[str] = []

    def make(name: str, version: str, module: str, source: str) -> Path:
        (site / f"{module}.py").write_text(textwrap.dedent(source))
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        (info / "entry_points.txt").write_text(f"[memgpt]\n{module} = {module}\n")
        created.append(module)
        return site

    yield make
    for module in created:
        sys.modules.pop(module, None)
