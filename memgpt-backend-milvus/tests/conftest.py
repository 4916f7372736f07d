"""Milvus for the tests: a real `milvus-lite server` on loopback, started and stopped here."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from memgpt.testing import accepts_connections, free_port, running_server


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`milvus-lite server` on 127.0.0.1 in a fresh data folder, for the whole session."""
    port, data = free_port(), tmp_path_factory.mktemp("milvus-server")
    argv = [
        str(Path(sys.executable).parent / "milvus-lite"),
        "server",
        "--data-dir",
        str(data / "db"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running_server(argv, data / "server.log", lambda: accepts_connections(port)):
        yield f"http://127.0.0.1:{port}"
