"""Memories move into this backend and back with `memgpt migrate`, and an export imports into it, unchanged.

Runs the ``memgpt`` CLI in new processes: the backend must be installed (``pip install -e .``).
"""

from __future__ import annotations

from pathlib import Path

from memgpt.testing.migration import migration_round_trip


def test_migrate_to_the_example_store_and_back(tmp_path: Path) -> None:
    migration_round_trip(tmp_path, "example", str(tmp_path / "target"), str(tmp_path / "fresh"))
