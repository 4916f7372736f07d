"""A real PostgreSQL with pgvector for the tests: ``MEMGPT_TEST_PGURI`` when set, else one started here.

The server comes from the pgserver wheel (PostgreSQL 16 + pgvector), listens on
127.0.0.1 with password authentication, and is stopped and deleted after the
session. No test mocks the database.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from memgpt_backend_postgres.devserver import DevServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[DevServer | None]:
    if os.environ.get("MEMGPT_TEST_PGURI"):
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="memgpt-pg-test-") as folder:
        server = DevServer(Path(folder) / "data")
        server.start()
        yield server
        server.destroy()


@pytest.fixture(scope="session")
def pg_uri(postgres_server: DevServer | None) -> str:
    """The URI of a PostgreSQL with pgvector that the tests may write to."""
    return os.environ.get("MEMGPT_TEST_PGURI") or postgres_server.uri  # type: ignore[union-attr]
