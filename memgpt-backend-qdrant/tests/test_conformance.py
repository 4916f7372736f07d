"""The qdrant backend runs the whole conformance suite in memory and on a local folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_qdrant.plugin import QdrantBackend


class TestQdrantInMemory(BackendConformance):
    @pytest.fixture
    def backend(self) -> QdrantBackend:
        return QdrantBackend()

    @pytest.fixture
    def backend_settings(self) -> dict[str, str]:
        return QdrantBackend().settings_from_uri(":memory:")


class TestQdrantLocalFolder(BackendConformance):
    @pytest.fixture
    def backend(self) -> QdrantBackend:
        return QdrantBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return QdrantBackend().settings_from_uri(str(tmp_path / "qdrant"))
