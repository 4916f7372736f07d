"""pytest plugin for memgpt tests: a throw-away home for every test.

Load it with ``-p memgpt.testing.pytest_plugin``. Every test then runs with
``MEMGPT_HOME`` and ``HOME`` in a temporary folder, no ``MEMGPT_CONFIG_PATH``,
and a fresh plugin registry, so no test can read or write the user's files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def memgpt_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh, empty ``MEMGPT_HOME`` (also ``HOME``) for the test."""
    from memgpt import plugins

    base = tmp_path_factory.mktemp("memgpt-home")
    home = base / ".memgpt"
    monkeypatch.setenv("HOME", str(base))
    monkeypatch.setenv("MEMGPT_HOME", str(home))
    monkeypatch.delenv("MEMGPT_CONFIG_PATH", raising=False)
    plugins.reset()
    yield home
    plugins.reset()
