"""The postgres backend runs the whole conformance suite against a real PostgreSQL + pgvector."""

from __future__ import annotations

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_postgres.plugin import PostgresBackend


class TestPostgresBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> PostgresBackend:
        return PostgresBackend()

    @pytest.fixture
    def backend_settings(self, pg_uri: str) -> dict[str, str]:
        return PostgresBackend().settings_from_uri(pg_uri)
