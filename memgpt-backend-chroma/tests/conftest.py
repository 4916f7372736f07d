"""Chroma for the tests: a real `chroma run` server on loopback, started and stopped here."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from memgpt.testing import free_port, running_server


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
            return True
    except OSError:
        return False


def server_argv(data: Path, port: int) -> list[str]:
    """`chroma run` keeping its data in ``data`` and listening on 127.0.0.1:``port``."""
    chroma = Path(sys.executable).parent / "chroma"
    return [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]


SERVER_ENV = dict(os.environ, ANONYMIZED_TELEMETRY="False")


@contextmanager
def serving(data: Path, port: int, log: Path) -> Iterator[None]:
    """`chroma run` on 127.0.0.1:``port`` over ``data`` until the block ends."""
    with running_server(server_argv(data, port), log, lambda: _answers(port), env=SERVER_ENV):
        yield


@pytest.fixture
def chroma_serving() -> Callable[[Path, int, Path], AbstractContextManager[None]]:
    """:func:`serving`, for a test that starts (and restarts) a server of its own."""
    return serving


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`chroma run` on 127.0.0.1 in a fresh folder, for the whole session."""
    port, data = free_port(), tmp_path_factory.mktemp("chroma-server")
    with serving(data / "db", port, data / "server.log"):
        yield "127.0.0.1", port
