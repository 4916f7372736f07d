"""The postgres backend runs the whole conformance suite against a real PostgreSQL + pgvector."""

from memgpt.testing import BackendConformance
from memgpt_backend_postgres.plugin import PostgresBackend


class TestPostgresBackend(BackendConformance):
    backend_class = PostgresBackend
    backend_location = "{pg_uri}"
