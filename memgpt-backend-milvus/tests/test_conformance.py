"""The milvus backend runs the whole conformance suite on a Milvus Lite file and against a Milvus Lite server."""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_milvus.plugin import MilvusBackend


class TestMilvusLiteFile(BackendConformance):
    @pytest.fixture
    def backend(self) -> MilvusBackend:
        return MilvusBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return MilvusBackend().settings_from_uri(str(tmp_path / "milvus.db"))


class TestMilvusServer(BackendConformance):
    @pytest.fixture
    def backend(self) -> MilvusBackend:
        return MilvusBackend()

    @pytest.fixture
    def backend_settings(self, milvus_server: str) -> dict[str, str]:
        return MilvusBackend().settings_from_uri(milvus_server)
