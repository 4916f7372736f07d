"""Memories move to Chroma and back with `memgpt migrate`, and an export imports into Chroma, identically.

Chroma's HNSW index is approximate: search answers on Chroma are compared with
a 90% recall floor (records and everything else exactly).
"""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_a_persistent_folder_and_back(tmp_path: Path) -> None:
    migration_round_trip(
        tmp_path, "chroma", str(tmp_path / "chroma-target"), str(tmp_path / "chroma-fresh"), env={"HOME": str(tmp_path)}
    )


def test_migrate_to_a_chroma_server_and_back(tmp_path: Path, chroma_server: tuple[str, int]) -> None:
    host, port = chroma_server
    migration_round_trip(tmp_path, "chroma", f"http://{host}:{port}", env={"HOME": str(tmp_path)}, exact_search=False)
