"""Opening the storage the configuration names.

:class:`Storage` maps each table to a backend location:

* ``archival`` and ``source_passages`` -> ``[archival_storage]``
* ``recall`` -> ``[recall_storage]``
* ``agents`` and ``sources`` (the catalog) -> ``[archival_storage]`` when that
  backend declares the ``agents`` kind, else the local store in ``MEMGPT_HOME``.

Environment overrides (``Question.env``, e.g. ``MEMGPT_PGURI``) are applied
here, once, for every backend.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memgpt.config import MemGPTConfig, StorageConfig
from memgpt.environment import getenv
from memgpt.errors import UnsupportedRecordKind
from memgpt.kinds import CONFIGURED_ROLES, RecordKind, StorageRole, Table
from memgpt.plugins import get_backend
from memgpt.records import EmbeddingSpec
from memgpt.storage.backend import Backend, Settings, Store
from memgpt.storage.collection import Collection
from memgpt.storage.partitions import table_connector
from memgpt.storage.shelves import resolve_shelf
from memgpt.storage.where import Where

CATALOG = StorageRole.CATALOG.value


def effective_settings(backend: Backend, saved: Settings) -> dict[str, str]:
    """Saved settings with environment overrides applied (``Question.env``)."""
    settings = dict(saved)
    for question in backend.questions:
        if question.env:
            value = getenv(question.env)
            if value:
                settings[question.key] = value
    return settings


def open_collection(
    backend: Backend,
    store: Store,
    table: Table,
    scope: Where,
    location: str = "",
    spec: EmbeddingSpec | None = None,
    claim: bool = False,
) -> Collection:
    """A scoped :class:`Collection` of ``table`` in an opened store of ``backend``.

    ``spec``: the embedding model of the records in ``scope`` (an agent's or a
    source's); the collection is then the shelf holding that model's vectors
    (see :mod:`memgpt.storage.shelves`), claimed for it when ``claim``.
    """
    backend.require(table)
    shelf = resolve_shelf(store, table, spec, claim=claim)
    connector = table_connector(store, table, shelf, scope)
    return Collection(connector, scope=scope, backend=backend.name, location=location or "?")


@dataclass
class Location:
    """One opened backend location serving a storage role."""

    role: str
    backend: Backend
    settings: dict[str, str]
    store: Store | None = None
    owned: bool = True
    """Whether :meth:`Storage.close` closes the store (``False`` for a store the caller opened and closes)."""

    @property
    def description(self) -> str:
        return self.backend.describe(self.settings)

    def open(self) -> Store:
        if self.store is None:
            self.store = self.backend.open(self.settings)
        return self.store


class Storage:
    """The configured backends, opened lazily, handing out scoped collections.

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, config: MemGPTConfig | None = None, locations: dict[str, Location] | None = None) -> None:
        self.config = config or MemGPTConfig.load()
        if locations is None:
            locations = {role.value: self._location(role.value, self.config.storage(role.value)) for role in CONFIGURED_ROLES}
        self.locations = dict(locations)
        archival = self.locations[StorageRole.ARCHIVAL.value]
        if RecordKind.AGENTS in archival.backend.kinds:
            self.locations[CATALOG] = archival
        else:
            self.locations[CATALOG] = self._location(CATALOG, StorageConfig("local", {}))

    @classmethod
    def on_store(cls, backend: Backend, store: Store, config: MemGPTConfig | None = None) -> Storage:
        """Every role on one store the caller opened (and closes); the catalog falls back as for a configuration.

        For tools and the conformance suite: the memory API on exactly the store under test.
        """
        here = Location(StorageRole.ARCHIVAL.value, backend, {}, store, owned=False)
        return cls(config, {role.value: here for role in CONFIGURED_ROLES})

    def _location(self, role: str, storage: StorageConfig) -> Location:
        backend = get_backend(storage.type)
        kind = StorageRole(role).kind
        if kind not in backend.kinds:
            raise UnsupportedRecordKind(
                f"the configured {role} storage {backend.name!r} cannot store {kind.label}; "
                "run memgpt configure and pick another backend"
            )
        return Location(role, backend, effective_settings(backend, storage.settings))

    def location(self, table: Table) -> Location:
        return self.locations[table.role.value]

    def collection(self, table: Table, scope: Where, spec: EmbeddingSpec | None = None, claim: bool = False) -> Collection:
        """The collection of ``table`` limited to ``scope`` (``Where.everything()`` for all records).

        ``spec`` picks the shelf of that embedding model (see :func:`open_collection`).
        """
        location = self.location(table)
        return open_collection(location.backend, location.open(), table, scope, location.description, spec, claim)

    def close(self) -> None:
        closed: set[int] = set()
        for location in self.locations.values():
            if location.store is not None and location.owned and id(location) not in closed:
                closed.add(id(location))
                location.store.close()
                location.store = None

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_storage(config: MemGPTConfig | None = None) -> Storage:
    """Open the storage of ``config`` (default: the config file)."""
    return Storage(config)
