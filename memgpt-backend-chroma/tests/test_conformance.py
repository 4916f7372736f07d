"""The chroma backend runs the whole conformance suite, embedded and against a `chroma run` server."""

from __future__ import annotations

from pathlib import Path

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_chroma.plugin import ChromaBackend


class TestChromaPersistent(BackendConformance):
    @pytest.fixture
    def backend(self) -> ChromaBackend:
        return ChromaBackend()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return ChromaBackend().settings_from_uri(str(tmp_path / "chroma"))


class TestChromaServer(BackendConformance):
    @pytest.fixture
    def backend(self) -> ChromaBackend:
        return ChromaBackend()

    @pytest.fixture
    def backend_settings(self, chroma_server: tuple[str, int]) -> dict[str, str]:
        host, port = chroma_server
        return ChromaBackend().settings_from_uri(f"http://{host}:{port}")
