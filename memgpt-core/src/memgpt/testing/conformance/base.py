"""What every conformance mixin shares: the fixtures a backend package provides and those the suite builds on them.

A backend package provides two fixtures, ``backend`` and ``backend_settings``,
or, shorter, the class attribute ``backend_class`` and a ``backend_uri``
fixture (a URI its ``settings_from_uri`` accepts). Every test starts from
empty tables (the ``store`` fixture drops each declared table first), so a
backend may point every test at the same server.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from memgpt.kinds import RecordKind, Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.backend import Backend, Store
from memgpt.storage.collection import Collection
from memgpt.storage.configured import open_collection
from memgpt.storage.connector import Capability
from memgpt.storage.partitions import table_connector
from memgpt.storage.shelves import SHELVED_TABLES, shelf_of
from memgpt.storage.where import Where
from memgpt.testing.data import (
    DIM,
    MODEL,
    OTHER_DIM,
    OTHER_MODEL,
    USER,
    make_record,
    owner_field,
    random_unit_vectors,
)

VECTOR_TABLES = (Table.ARCHIVAL, Table.SOURCE_PASSAGES, Table.RECALL)
SUITE_SPECS = (EmbeddingSpec(MODEL, DIM), EmbeddingSpec(OTHER_MODEL, OTHER_DIM))
CATALOG_TABLES = (Table.AGENTS, Table.SOURCES, Table.PROFILES)

# Names that would break a filter expression if a backend pasted them into one.
TRICKY_NAMES = (
    "o'brien",
    'say "hi"',
    "x' OR '1'='1",
    'a" || "b',
    "100% _match_",
    "star*and?glob[1]",
    "brace {$ne: 1}",
    "semi; DROP TABLE x; --",
    "ünïcødé 名前",
)


def scope_of(table: Table, owner: str, user: str | None = None) -> Where:
    return Where.of(**{owner_field(table): owner, "user_id": user})


def declared(table: Table, backend: Backend) -> Table:
    """``table``, or the test is skipped when the backend does not declare its kind."""
    if table.kind not in backend.kinds:
        pytest.skip(f"backend {backend.name!r} does not declare {table.kind.value!r}")
    return table


def ids_of(records: list[Any]) -> list[str]:
    return [r.id for r in records]


def same_records(actual: Any, expected: Any) -> bool:
    """Assert records (or lists of them) are equal, comparing their dicts so a failure shows which field differs."""

    def as_dicts(value: Any) -> Any:
        if isinstance(value, list):
            return [as_dicts(v) for v in value]
        return None if value is None else value.to_dict()

    assert as_dicts(actual) == as_dicts(expected)
    return True


class StoreOpener:
    """Opens stores of the backend under test and closes them all at the end."""

    def __init__(self, backend: Backend, settings: dict[str, str]) -> None:
        self.backend = backend
        self.settings = settings
        self.stores: list[Store] = []

    def open(self) -> Store:
        store = self.backend.open(dict(self.settings))
        self.stores.append(store)
        return store

    def close(self, store: Store) -> None:
        if store in self.stores:
            self.stores.remove(store)
            store.close()

    def close_all(self) -> None:
        while self.stores:
            self.stores.pop().close()


class ConformanceBase:
    """Fixtures and helpers of every conformance mixin; not a suite by itself."""

    backend_class: type[Backend] | None = None
    """The backend class under test: with it, ``backend`` needs no fixture (the class is instantiated as its plugin does)."""
    backend_location: str | Mapping[str, str] | None = None
    """Where the store under test is, as a ``backend_uri`` template: ``"{tmp_path}/db"``, ``"http://{my_server}"``.

    Each ``{name}`` (also ``{name[0]}``, ``{name.attr}``) is filled with the
    value of the pytest fixture ``name``, so a location can be a fresh
    folder or a server a session fixture started. A mapping of test ids to
    templates (``{"folder": "{tmp_path}/db", "server": "http://{my_server}"}``)
    runs every test once per location.
    """

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Every test once per location when :attr:`backend_location` is a mapping."""
        if isinstance(self.backend_location, Mapping) and "backend_uri" in metafunc.fixturenames:
            locations = dict(self.backend_location)
            metafunc.parametrize("backend_uri", list(locations.values()), ids=list(locations), indirect=True)

    @pytest.fixture
    def backend(self) -> Backend:
        """The backend under test (an instance, as its plugin registers it): ``backend_class()`` unless overridden."""
        if self.backend_class is None:
            raise NotImplementedError("set `backend_class` or override the `backend` fixture in your conformance test class")
        return self.backend_class()

    @pytest.fixture
    def backend_uri(self, request: pytest.FixtureRequest) -> str:
        """A location (``--archival-uri`` form) of an empty, writable store for this test: :attr:`backend_location` filled in."""
        template = getattr(request, "param", self.backend_location)
        if not isinstance(template, str):
            raise NotImplementedError(
                "set `backend_location` (or override the `backend_settings` fixture) in your conformance test class"
            )
        fields = {re.split(r"[.\[]", field, maxsplit=1)[0] for _, field, _, _ in string.Formatter().parse(template) if field}
        return template.format(**{name: request.getfixturevalue(name) for name in fields})

    @pytest.fixture
    def backend_settings(self, backend: Backend, backend_uri: str) -> dict[str, str]:
        """Settings that locate an empty, writable store for this test: ``backend.settings_from_uri(backend_uri)`` unless overridden."""
        return backend.settings_from_uri(backend_uri)

    @pytest.fixture
    def opener(self, backend: Backend, backend_settings: dict[str, str]) -> Iterator[StoreOpener]:
        opener = StoreOpener(backend, backend_settings)
        yield opener
        opener.close_all()

    @pytest.fixture
    def store(self, backend: Backend, opener: StoreOpener) -> Store:
        store = opener.open()
        for table in backend.tables():
            open_collection(backend, store, table, Where.everything()).drop()
            if table in SHELVED_TABLES:  # the shelves the suite's tests make, left by an earlier test on this server
                for spec in SUITE_SPECS:
                    Collection(table_connector(store, table, shelf_of(spec)), scope=Where.everything()).drop()
        return store

    @pytest.fixture
    def collection(self, backend: Backend, store: Store) -> Callable[..., Collection]:
        """``collection(table, scope=user-1's records)``: a collection of the store under test.

        Records are made for :data:`~memgpt.testing.data.USER` unless a test
        says otherwise; record ids are unique per user, so reads by id need a
        user in the scope (``Where.everything()`` for an unscoped view).
        """

        def make(table: Table, scope: Where | None = None) -> Collection:
            return open_collection(backend, store, table, scope if scope is not None else Where.of(user_id=USER))

        return make

    @pytest.fixture
    def client(self, backend: Backend, store: Store) -> Iterator[Any]:
        """A :class:`~memgpt.client.MemGPTClient` on the store under test (offline hashing embeddings)."""
        from memgpt.client import MemGPTClient
        from memgpt.config import MemGPTConfig

        for kind in (RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL):
            if kind not in backend.kinds:
                pytest.skip(f"the memory API needs {kind.value!r}, which backend {backend.name!r} does not declare")
        from memgpt.storage.configured import Storage

        config = MemGPTConfig.load()
        config.embedding_chunk_size = 40
        with Storage.on_store(backend, store, config) as storage:  # the catalog falls back to the local store as configured
            yield MemGPTClient(config, storage=storage)

    @pytest.fixture(params=VECTOR_TABLES, ids=lambda t: t.value)
    def table(self, request: pytest.FixtureRequest, backend: Backend) -> Table:
        """Each passage and message table the backend declares."""
        return declared(request.param, backend)

    @pytest.fixture
    def catalog(self, backend: Backend) -> None:
        if RecordKind.AGENTS not in backend.kinds:
            pytest.skip(f"backend {backend.name!r} does not declare 'agents' (the core's local catalog holds them)")

    def require(self, coll: Collection, capability: Capability) -> None:
        if capability not in coll.connector.capabilities:
            pytest.skip(f"connector declares no {capability.value} (checked by test_undeclared_capabilities_fail_clearly)")

    def fill(self, coll: Collection, table: Table, n: int, owner: str = "owner-1", **kw: Any) -> list[Any]:
        records = [make_record(table, i, owner=owner, **kw) for i in range(n)]
        coll.insert(records)
        return records

    @pytest.fixture(params=SHELVED_TABLES, ids=lambda t: t.value)
    def shelved_table(self, request: pytest.FixtureRequest, backend: Backend) -> Table:
        """Each table whose records may be embedded with several models (archival and source passages)."""
        return declared(request.param, backend)

    def _two_models(self, backend: Backend, store: Store, table: Table) -> tuple[Collection, Collection, list, list]:
        first, second = SUITE_SPECS
        old = open_collection(backend, store, table, scope_of(table, "owner-old", USER), spec=first, claim=True)
        new = open_collection(backend, store, table, scope_of(table, "owner-new", USER), spec=second, claim=True)
        old_records = [make_record(table, i, owner="owner-old") for i in range(4)]
        vectors = random_unit_vectors(3, OTHER_DIM, seed=7)
        new_records = [make_record(table, i, owner="owner-new", vector=vectors[i], model=OTHER_MODEL) for i in range(3)]
        old.insert(old_records)
        new.insert(new_records)
        return old, new, old_records, new_records
