"""Run the core's conformance suite against the example backend: this file is all a backend needs."""

from __future__ import annotations

import json
from pathlib import Path

from memgpt.testing import BackendConformance
from memgpt.testing.upgrade import upgrade_round_trip
from memgpt_backend_example.plugin import ExampleBackend


class TestExampleBackend(BackendConformance):
    backend_class = ExampleBackend
    backend_location = "{tmp_path}/store"  # each {name} is the value of the pytest fixture `name`


def test_files_written_by_memgpt_0_4_are_upgraded(tmp_path: Path) -> None:
    """Rows keyed by bare record ids (memgpt 0.4) are re-keyed by user when a connector first opens the file."""

    def as_written_by_0_4(store) -> None:
        for path in store.folder.glob("*.json"):
            data = json.loads(path.read_text())
            del data["memgpt_keys"]
            path.write_text(json.dumps(data))

    backend = ExampleBackend()
    upgrade_round_trip(backend, backend.settings_from_uri(str(tmp_path / "store")), as_written_by_0_4)
