"""Memories move to Milvus and back with `memgpt migrate`, and an export imports into Milvus, identically."""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_a_milvus_lite_file_and_back(tmp_path: Path) -> None:
    migration_round_trip(tmp_path, "milvus", str(tmp_path / "target.db"), str(tmp_path / "fresh.db"))


def test_migrate_to_a_milvus_server_and_back(tmp_path: Path, milvus_server: str) -> None:
    migration_round_trip(tmp_path, "milvus", milvus_server)  # one server: emptied before, between and after
