"""Memories move to Qdrant and back with `memgpt migrate`, and an export imports into Qdrant, identically.

In-memory Qdrant lives and dies with one process, so a migration (one
process) cannot leave anything there for the next command: local folders only.
"""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_a_qdrant_folder_and_back(tmp_path: Path) -> None:
    migration_round_trip(tmp_path, "qdrant", str(tmp_path / "qdrant-target"), str(tmp_path / "qdrant-fresh"))
