"""Milvus for the tests: a real `milvus-lite server` on loopback, started and stopped here."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from memgpt.testing import accepts_connections, free_port, running_server


def server_argv(data: Path, port: int) -> list[str]:
    """`milvus-lite server` keeping its data in ``data`` and listening on 127.0.0.1:``port``."""
    milvus = Path(sys.executable).parent / "milvus-lite"
    return [str(milvus), "server", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]


@pytest.fixture
def milvus_server_argv() -> Callable[[Path, int], list[str]]:
    """:func:`server_argv`, for a test that starts (and restarts) a server of its own."""
    return server_argv


@pytest.fixture(scope="session")
def milvus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`milvus-lite server` on 127.0.0.1 in a fresh data folder, for the whole session."""
    port, data = free_port(), tmp_path_factory.mktemp("milvus-server")
    with running_server(server_argv(data / "db", port), data / "server.log", lambda: accepts_connections(port)):
        yield f"http://127.0.0.1:{port}"
