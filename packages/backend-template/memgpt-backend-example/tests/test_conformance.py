"""Run the core's conformance suite against the example backend: this file is all a backend needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt.testing.upgrade import assert_upgraded, legacy_records, write_legacy_rows
from memgpt_backend_example.plugin import ExampleBackend


class TestExampleBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> ExampleBackend:
        return ExampleBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return ExampleBackend().settings_from_uri(str(tmp_path / "store"))


def test_files_written_by_memgpt_0_4_are_upgraded(tmp_path: Path) -> None:
    """Rows keyed by bare record ids (memgpt 0.4) are re-keyed by user when a connector first opens the file."""
    backend = ExampleBackend()
    settings = backend.settings_from_uri(str(tmp_path / "store"))
    store = backend.open(settings)
    written = legacy_records(backend.tables())
    for table, records in written.items():
        write_legacy_rows(store.connector(table), records)
    store.close()
    for path in (tmp_path / "store").glob("*.json"):  # what 0.4 left: no "keys"
        data = json.loads(path.read_text())
        del data["keys"]
        path.write_text(json.dumps(data))
    for _ in range(2):
        upgraded = backend.open(settings)
        assert_upgraded(backend, upgraded, written)
        upgraded.close()
