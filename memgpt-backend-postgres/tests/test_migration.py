"""Memories move to PostgreSQL and back with `memgpt migrate`, and an export imports into PostgreSQL, identically."""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_postgres_and_back(tmp_path: Path, pg_uri: str) -> None:
    migration_round_trip(tmp_path, "postgres", pg_uri)  # one server: emptied before, between and after
