"""Tests across every installed backend at once: ``nox -s integration`` installs them all.

A backend that is not installed is skipped, unless ``MEMGPT_REQUIRE_ALL_BACKENDS=1``
(the nox session sets it), where it is an error. PostgreSQL comes from
``MEMGPT_TEST_PGURI`` when set, else from the pgserver wheel, started here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest_plugins = ["memgpt.testing.pytest_plugin"]

BACKENDS = ("postgres", "chroma", "qdrant", "milvus", "lancedb")


def installed_backends() -> set[str]:
    from memgpt import plugins

    return set(plugins.backends())


@pytest.fixture(scope="session")
def available() -> set[str]:
    """The backends this environment can test; all of them when MEMGPT_REQUIRE_ALL_BACKENDS=1."""
    found = installed_backends()
    if os.environ.get("MEMGPT_REQUIRE_ALL_BACKENDS") == "1":
        missing = sorted(set(BACKENDS) - found)
        assert not missing, f"backends not installed: {', '.join(missing)}"
    return found


@pytest.fixture(scope="session")
def pg_uri(available: set[str]) -> Iterator[str | None]:
    """A PostgreSQL with pgvector (None when the postgres backend is not installed)."""
    if "postgres" not in available:
        yield None
        return
    from memgpt_backend_postgres.devserver import postgres_for_a_run

    with postgres_for_a_run("MEMGPT_TEST_PGURI", prefix="memgpt-pg-integration-") as uri:
        yield uri


@pytest.fixture
def locations(tmp_path: Path, available: set[str], pg_uri: str | None) -> Iterator[dict[str, str]]:
    """An empty location of every available backend: {backend: URI} (local included)."""
    from memgpt.testing.migration import empty_location

    where = {
        "local": str(tmp_path / "local-store"),
        "chroma": str(tmp_path / "chroma"),
        "qdrant": str(tmp_path / "qdrant"),
        "milvus": str(tmp_path / "milvus.db"),
        "lancedb": str(tmp_path / "lancedb"),
    }
    if pg_uri:
        where["postgres"] = empty_location("postgres", pg_uri)
    yield {name: uri for name, uri in where.items() if name == "local" or name in available}
    if pg_uri:
        empty_location("postgres", pg_uri)
