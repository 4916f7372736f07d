"""The local backend runs the whole conformance suite, and each of its mixins on its own."""

from __future__ import annotations

import pytest

from memgpt.default_plugins.local_backend import LocalBackend
from memgpt.local import connector as local_connector
from memgpt.testing import conformance
from memgpt.testing.conformance import BackendConformance


class TestLocalBackend(BackendConformance):
    backend_class = LocalBackend
    backend_location = "{tmp_path}/store"


MIXINS = [
    getattr(conformance, name) for name in conformance.__all__ if name.endswith("Conformance") and name != "BackendConformance"
]


def _tests(cls: type) -> set[str]:
    return {name for name in dir(cls) if name.startswith("test_")}


def test_the_mixins_make_up_the_whole_suite_without_overlap() -> None:
    """Every test of the suite belongs to exactly one mixin, so running them one by one runs everything once."""
    per_mixin = [_tests(mixin) for mixin in MIXINS]
    assert sum(len(tests) for tests in per_mixin) == len(set().union(*per_mixin))
    assert set().union(*per_mixin) == _tests(BackendConformance)
    assert len(MIXINS) == 8 and all(tests for tests in per_mixin)


def _alone(mixin: type) -> type:
    """A test class running one mixin against the local backend (pytest collects it by its name below)."""

    class RunsAlone(mixin):  # type: ignore[misc, valid-type]
        backend_class = LocalBackend
        backend_location = "{tmp_path}/store"

    RunsAlone.__name__ = RunsAlone.__qualname__ = f"TestLocal{mixin.__name__}Alone"
    return RunsAlone


for _mixin in MIXINS:
    globals()[f"TestLocal{_mixin.__name__}Alone"] = _alone(_mixin)


class TestLocalBackendSearchingByGraph(BackendConformance):
    """The whole suite again with every agent's and source's vectors searched through an HNSW graph (``ann_after=1``).

    The graph only proposes candidates; filters, scores and completeness come
    from the SQLite file, so every search must answer exactly as above.
    """

    backend_class = LocalBackend
    backend_location = "file://{tmp_path}/store?ann_after=1"


class TestLocalBackendWithSavedIndexes(BackendConformance):
    """The whole suite again with every exact index saved beside its file and every search mapping it anew.

    ``SNAPSHOT_AFTER`` 1 saves every index read whole; dropping the cached
    index before each search makes every search map the saved file and
    replay the change log since it was saved, so every search must answer
    exactly as above.
    """

    backend_class = LocalBackend
    backend_location = "{tmp_path}/store"

    @pytest.fixture(autouse=True)
    def _save_every_index_and_map_it_for_every_search(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(local_connector, "SNAPSHOT_AFTER", 1)
        cached_index = local_connector.LocalConnector._index

        def from_the_saved_file(connector, key, db):
            connector._indexes.pop(key, None)
            return cached_index(connector, key, db)

        monkeypatch.setattr(local_connector.LocalConnector, "_index", from_the_saved_file)
