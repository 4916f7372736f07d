"""Entry points are remembered between processes until a distribution is installed or removed."""

from __future__ import annotations

import json
import os
import stat
import sys
import time
from importlib import metadata  # imported before sys.path is narrowed below
from pathlib import Path

import pytest

from helpers import TEST_BACKEND_SOURCE, run_cli
from memgpt import entry_point_cache
from memgpt.entry_point_cache import FoundEntryPoint, entry_points

OTHER_BACKEND_SOURCE = TEST_BACKEND_SOURCE.replace('"testdb"', '"otherdb"')


def _age(folder: Path) -> None:
    """Date the folder an hour back, as a site-packages nothing was installed into lately."""
    past = time.time() - 3600
    os.utime(folder, (past, past))


def _cache_files(home: Path) -> list[Path]:
    return sorted((home / "cache").glob("entry-points-*.json"))


@pytest.fixture
def only_site(fake_distribution, monkeypatch: pytest.MonkeyPatch, memgpt_home: Path) -> Path:
    """A site folder holding one plugin distribution, the only folder on ``sys.path``, and an existing home."""
    assert metadata  # scanning imports nothing new once sys.path is narrowed
    site = fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    _age(site)
    monkeypatch.setattr(sys, "path", [str(site)])
    memgpt_home.mkdir()
    return site


def test_what_one_call_finds_the_next_reads_from_the_cache(only_site: Path, memgpt_home: Path, monkeypatch) -> None:
    expected = [FoundEntryPoint("memgpt_testdb", "memgpt_testdb", "memgpt-backend-testdb", "1.2.3")]
    assert entry_points("memgpt") == expected
    [saved] = _cache_files(memgpt_home)
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600

    def no_scan(group: str) -> list[FoundEntryPoint]:
        raise AssertionError("the cache should have answered")

    monkeypatch.setattr(entry_point_cache, "scan", no_scan)
    assert entry_points("memgpt") == expected
    assert entry_points("memgpt")[0].load().__name__ == "memgpt_testdb"


def test_installing_a_distribution_is_seen_by_the_next_call(only_site: Path, memgpt_home: Path, fake_distribution) -> None:
    assert [ep.name for ep in entry_points("memgpt")] == ["memgpt_testdb"]
    fake_distribution("memgpt-backend-otherdb", "0.1.0", "memgpt_otherdb", OTHER_BACKEND_SOURCE)  # the folder changes
    assert sorted(ep.name for ep in entry_points("memgpt")) == ["memgpt_otherdb", "memgpt_testdb"]
    # Just changed: not trusted to show the next change within the file system's time resolution, so not saved.
    saved = json.loads(_cache_files(memgpt_home)[0].read_text())
    assert [ep["name"] for ep in saved["entry_points"]] == ["memgpt_testdb"]
    _age(only_site)
    entry_points("memgpt")
    saved = json.loads(_cache_files(memgpt_home)[0].read_text())
    assert sorted(ep["name"] for ep in saved["entry_points"]) == ["memgpt_otherdb", "memgpt_testdb"]


def test_removing_a_distribution_is_seen_by_the_next_call(only_site: Path) -> None:
    assert [ep.name for ep in entry_points("memgpt")] == ["memgpt_testdb"]
    for info in only_site.glob("*.dist-info"):
        for file in info.iterdir():
            file.unlink()
        info.rmdir()
    assert entry_points("memgpt") == []


@pytest.mark.parametrize("damage", ["", "{not json", '{"format": 1}', '{"format": 1, "memgpt": "0.0.1", "fingerprint": []}'])
def test_a_damaged_or_foreign_cache_file_is_scanned_again(only_site: Path, memgpt_home: Path, damage: str) -> None:
    entry_points("memgpt")
    [saved] = _cache_files(memgpt_home)
    saved.write_text(damage)
    assert [ep.name for ep in entry_points("memgpt")] == ["memgpt_testdb"]
    assert json.loads(saved.read_text())["entry_points"][0]["name"] == "memgpt_testdb"


def test_no_cache_is_written_without_a_memgpt_home(fake_distribution, monkeypatch, memgpt_home: Path) -> None:
    site = fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    _age(site)
    monkeypatch.setattr(sys, "path", [str(site)])
    assert [ep.name for ep in entry_points("memgpt")] == ["memgpt_testdb"]
    assert not memgpt_home.exists()


def test_a_new_process_sees_a_plugin_installed_after_the_cache_was_written(fake_distribution, memgpt_home: Path) -> None:
    site = fake_distribution("memgpt-backend-testdb", "1.2.3", "memgpt_testdb", TEST_BACKEND_SOURCE)
    _age(site)
    memgpt_home.mkdir()
    env = {"PYTHONPATH": str(site), "MEMGPT_LOAD_PLUGINS": "memgpt-backend-testdb,memgpt-backend-otherdb"}
    first = run_cli("backends", "--json", env=env, cwd=site)  # (the current folder is on a -m process's path too)
    assert first.returncode == 0, first.stderr
    assert [b["name"] for b in json.loads(first.stdout)] == ["local", "testdb"]
    assert _cache_files(memgpt_home)  # the first process saved what it found
    fake_distribution("memgpt-backend-otherdb", "0.1.0", "memgpt_otherdb", OTHER_BACKEND_SOURCE)
    second = run_cli("backends", "--json", env=env, cwd=site)
    assert second.returncode == 0, second.stderr
    assert sorted(b["name"] for b in json.loads(second.stdout)) == ["local", "otherdb", "testdb"]
