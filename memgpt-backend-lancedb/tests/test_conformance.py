"""The lancedb backend runs the whole conformance suite on a temporary folder.

A second run compacts after every single write, so every read also goes
through compacted tables, removed versions and the n-gram full-text index.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_lancedb.connector import LanceDBConnector
from memgpt_backend_lancedb.plugin import LanceDBBackend


class TestLanceDB(BackendConformance):
    @pytest.fixture
    def backend(self) -> LanceDBBackend:
        return LanceDBBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return LanceDBBackend().settings_from_uri(str(tmp_path / "lancedb"))


class TestLanceDBCompactingEveryWrite(TestLanceDB):
    @pytest.fixture(autouse=True)
    def compact_every_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(LanceDBConnector, "compact_every", 1)
