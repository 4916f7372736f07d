"""Run the core's conformance suite against the example backend: this file is all a backend needs."""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_example.plugin import ExampleBackend


class TestExampleBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> ExampleBackend:
        return ExampleBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return ExampleBackend().settings_from_uri(str(tmp_path / "store"))
