"""Memories move to LanceDB and back with `memgpt migrate`, and an export imports into LanceDB, identically."""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_a_lancedb_folder_and_back(tmp_path: Path) -> None:
    migration_round_trip(tmp_path, "lancedb", str(tmp_path / "lance-target"), str(tmp_path / "lance-fresh"))
