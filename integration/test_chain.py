"""Memories travel local -> postgres -> chroma -> qdrant -> milvus -> lancedb -> local and arrive unchanged.

Every hop is ``memgpt migrate --switch`` in a new process, as a user runs it;
after each one every record (ids, texts, metadata, times, scopes, float32
vectors) and every search answer is compared with the start.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memgpt.config import MemGPTConfig
from memgpt.kinds import Table
from memgpt.testing.migration import (
    as_user,
    assert_same_answers,
    assert_same_snapshot,
    cli_ok,
    configured_at,
    counts,
    fill_memories,
    in_home,
    kill_migration_after,
    migrate_args,
    search_answers,
    snapshot,
)

CHAIN = ("postgres", "chroma", "qdrant", "milvus", "lancedb", "local")
APPROXIMATE = {"chroma"}
"""Backends whose vector index is approximate (HNSW) at these sizes: their search answers need 90% recall."""
BULK = 2_500  # extra archival passages: several batches per hop


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    cli_ok("configure", "--defaults", home=home)
    with in_home(home):
        fill_memories(tmp_path / "documents", bulk=BULK)
    return home


def test_round_trip_through_every_backend_ends_identical(home: Path, locations: dict[str, str], tmp_path: Path) -> None:
    with in_home(home):
        start, answers = snapshot(), search_answers()
    hops = [backend for backend in CHAIN if backend in locations]
    assert hops[-1] == "local"
    archives: dict[str, Path] = {}
    for backend in hops:
        report = json.loads(
            cli_ok(*migrate_args(backend, locations[backend], "--switch", "--batch-size", "1000", "--json"), home=home)
        )
        assert report["switched"] and all(t["identical"] for t in report["tables"].values()), (backend, report)
        assert report["tables"]["archival"]["target_count"] == 6 + BULK
        with in_home(home):
            assert_same_snapshot(snapshot(), start)
            assert_same_answers(search_answers(), answers, backend not in APPROXIMATE, backend)
        archives[backend] = tmp_path / f"export-from-{backend}"
        cli_ok("export", str(archives[backend]), home=home)
    # exports taken on different backends are the same memories
    manifests = {b: json.loads((a / "manifest.json").read_text()) for b, a in archives.items()}
    checksums = {b: {t: e["checksum"] for t, e in m["tables"].items()} for b, m in manifests.items()}
    assert len({json.dumps(c, sort_keys=True) for c in checksums.values()}) == 1, checksums


@pytest.mark.parametrize("source", ["postgres", "chroma", "qdrant", "milvus", "lancedb"])
def test_export_from_one_backend_imports_into_another_with_the_same_search_results(
    source: str, home: Path, locations: dict[str, str], tmp_path: Path
) -> None:
    if source not in locations:
        pytest.skip(f"{source} is not installed")
    others = [b for b in CHAIN if b in locations and b not in (source, "local", *APPROXIMATE)]
    target = others[0] if others else "local"  # an exact backend: its answers must equal the source's exactly
    cli_ok(*migrate_args(source, locations[source], "--switch"), home=home)
    with in_home(home):
        start, answers = snapshot(), search_answers()
    archive = tmp_path / "export"
    cli_ok("export", str(archive), home=home)

    fresh = tmp_path / "fresh-home"
    fresh.mkdir()
    uri = locations[target]
    cli_ok(
        "configure",
        "--defaults",
        "--archival-storage",
        target,
        "--archival-uri",
        uri,
        "--recall-storage",
        target,
        "--recall-uri",
        uri,
        home=fresh,
    )
    cli_ok("import", str(archive), home=fresh)
    with in_home(fresh):
        assert_same_snapshot(snapshot(), as_user(start, MemGPTConfig.load().user_id))
        assert_same_answers(search_answers(), answers, source not in APPROXIMATE, f"{source} -> {target}")


@pytest.mark.parametrize("target", ["postgres", "chroma", "qdrant", "milvus", "lancedb"])
def test_a_migration_killed_mid_copy_and_rerun_ends_identical(target: str, tmp_path: Path, locations: dict[str, str]) -> None:
    if target not in locations:
        pytest.skip(f"{target} is not installed")
    home = tmp_path / "home"
    home.mkdir()
    cli_ok("configure", "--defaults", home=home)
    with in_home(home):
        fill_memories(tmp_path / "documents", bulk=5_000)
        start = snapshot()
    args = migrate_args(target, locations[target], "--batch-size", "50")
    kill_migration_after("source_passages", args, home)
    with in_home(home):
        partial = counts(configured_at(target, locations[target]))
        assert partial[Table.ARCHIVAL] < 5_006 and partial[Table.RECALL] == 0, partial
    cli_ok(*args, "--switch", home=home)
    with in_home(home):
        assert_same_snapshot(snapshot(), start)
