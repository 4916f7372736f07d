"""Memories move to PostgreSQL and back with `memgpt migrate`, and an export imports into PostgreSQL, identically."""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import empty_location, migration_round_trip


def test_migrate_to_postgres_and_back(tmp_path: Path, pg_uri: str) -> None:
    uri = empty_location("postgres", pg_uri)
    try:
        migration_round_trip(tmp_path, "postgres", uri)
    finally:
        empty_location("postgres", uri)
