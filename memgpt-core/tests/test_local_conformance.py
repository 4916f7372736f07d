"""The local backend runs the whole conformance suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.testing import BackendConformance


class TestLocalBackend(BackendConformance):
    @pytest.fixture
    def backend(self) -> LocalBackend:
        return LocalBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return LocalBackend().settings_from_uri(str(tmp_path / "store"))
