"""The lancedb backend runs the whole conformance suite on a temporary folder.

A second run compacts after every single write, so every read also goes
through compacted tables, removed versions and the n-gram full-text index.
"""

from __future__ import annotations

import pytest

from memgpt.testing import BackendConformance
from memgpt_backend_lancedb.connector import LanceDBConnector
from memgpt_backend_lancedb.plugin import LanceDBBackend


class TestLanceDB(BackendConformance):
    backend_class = LanceDBBackend
    backend_location = "{tmp_path}/lancedb"


class TestLanceDBCompactingEveryWrite(TestLanceDB):
    @pytest.fixture(autouse=True)
    def compact_every_write(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(LanceDBConnector, "compact_every", 1)
