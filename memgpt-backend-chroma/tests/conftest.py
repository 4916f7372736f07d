"""Chroma for the tests: a real `chroma run` server on loopback, started and stopped here."""

from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from memgpt.testing import free_port, running_server


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """`chroma run` on 127.0.0.1 in a fresh folder, for the whole session."""
    port, data = free_port(), tmp_path_factory.mktemp("chroma-server")
    chroma = Path(sys.executable).parent / "chroma"
    argv = [str(chroma), "run", "--path", str(data / "db"), "--host", "127.0.0.1", "--port", str(port)]
    with running_server(argv, data / "server.log", lambda: _answers(port), env=dict(os.environ, ANONYMIZED_TELEMETRY="False")):
        yield "127.0.0.1", port
