"""Names that moved in 0.6 still work for one release, each with a DeprecationWarning naming the new import."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

from memgpt import plugins
from memgpt.kinds import Table
from memgpt.testing import make_record
from memgpt.testing.conformance import ArchivalConformance


def test_open_embedder_and_preferred_provider_moved_to_embeddings_installed() -> None:
    from memgpt.embeddings import installed, provider

    for name in ("open_embedder", "preferred_provider"):
        with pytest.warns(DeprecationWarning, match=rf"from memgpt\.embeddings\.installed import {name}"):
            assert getattr(provider, name) is getattr(installed, name)


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("memgpt.configure", "memgpt.configure_questions", "run_configure"),
        ("memgpt.config_status", "memgpt.storage_status", "storage_status"),
    ],
)
def test_renamed_modules_still_import_with_a_warning(old: str, new: str, name: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=rf"{old} is deprecated: import from {new}"):
        module = importlib.import_module(old)
    assert getattr(module, name) is getattr(importlib.import_module(new), name)


def test_collection_upsert_is_insert_with_a_warning(tmp_path: Path) -> None:
    from memgpt.default_plugins.local_backend import LocalBackend
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where

    backend = LocalBackend()
    with backend.open({"path": str(tmp_path / "store")}) as store:
        collection = open_collection(backend, store, Table.ARCHIVAL, Where.everything())
        with pytest.warns(DeprecationWarning, match=r"Collection\.insert\(\)"):
            assert collection.upsert([make_record(Table.ARCHIVAL, 1)]) == 1
        assert collection.count() == 1


def test_registered_backend_is_item_with_a_warning() -> None:
    info = plugins.backends()["local"]
    with pytest.warns(DeprecationWarning, match=r"Registered\.item"):
        assert info.backend is info.item


def test_agent_memory_of_still_opens_an_agent(memgpt_home: Path) -> None:
    from memgpt.agent_memory import AgentMemory
    from memgpt.client import MemGPTClient

    client = MemGPTClient()
    client.create_agent("old-style")
    with pytest.warns(DeprecationWarning, match=r"AgentMemory\.of\(\)"):
        memory = AgentMemory.of(client.catalog, "old-style")
    assert memory.agent.name == "old-style"


class LegacyStyleBackend:
    """A backend as a third party wrote it against 0.5: imports from the modules, not from memgpt.plugin."""

    @staticmethod
    def make() -> object:
        from memgpt.default_plugins.local_backend import LocalBackend
        from memgpt.kinds import RecordKind
        from memgpt.storage.backend import Backend, Settings, Store

        class Legacy(Backend):
            name = "legacy"
            label = "Written against memgpt 0.5's module paths"
            kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})

            def settings_from_uri(self, uri: str) -> dict[str, str]:
                return {"path": uri}

            def open(self, settings: Settings) -> Store:
                return LocalBackend().open(settings)

        return Legacy()


class TestLegacyStyleBackend(ArchivalConformance):
    """0.5's way to run the suite (``backend`` and ``backend_settings`` fixtures) on a 0.5-style backend."""

    @pytest.fixture
    def backend(self):
        return LegacyStyleBackend.make()

    @pytest.fixture
    def backend_settings(self, tmp_path: Path) -> dict[str, str]:
        return {"path": str(tmp_path / "legacy")}
