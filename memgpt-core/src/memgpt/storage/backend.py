"""What a plugin registers: a :class:`Backend`, which opens :class:`Store` s.

A backend is a named kind of storage (``local``, ``postgres``...). It declares
which record kinds it can hold, the questions ``memgpt configure`` asks to
locate it, how a one-line URI maps to those answers, and how to open a store
from them. A store is one opened location (a folder, a server) and hands out
one :class:`~memgpt.storage.connector.Connector` per table.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from memgpt.errors import StorageError, UnsupportedRecordKind
from memgpt.kinds import RecordKind, Table

if TYPE_CHECKING:
    from memgpt.storage.connector import Connector

Settings = Mapping[str, str]
"""A backend's saved answers: question key -> value (strings, as in the config file)."""


@dataclass(frozen=True)
class Question:
    """One question ``memgpt configure`` asks for a backend.

    ``default`` and ``choices`` may be callables of the answers so far, so a
    default can depend on an earlier answer or on ``MEMGPT_HOME``. ``when``
    skips the question unless it returns true for the answers so far. ``env``
    names an environment variable (or ``.env`` entry) that overrides the saved
    answer whenever the backend is opened, as ``MEMGPT_PGURI`` does. ``secret``
    answers are masked on screen and in every summary.
    """

    key: str
    prompt: str
    default: str | Callable[[Mapping[str, str]], str] | None = None
    choices: Sequence[str] | Callable[[Mapping[str, str]], Sequence[str]] | None = None
    secret: bool = False
    env: str | None = None
    when: Callable[[Mapping[str, str]], bool] | None = None
    help: str = ""
    validate: Callable[[str, Mapping[str, str]], str | None] | None = None
    """Checks an answer (given the answers so far): ``None`` when fine, else a one-line reason.

    On a terminal the question is asked again with the reason; an answer
    given as a flag or taken by ``--defaults`` fails with it.
    """

    def applies(self, answers: Mapping[str, str]) -> bool:
        return self.when is None or bool(self.when(answers))

    def problem(self, value: str, answers: Mapping[str, str]) -> str | None:
        """Why ``value`` is not a valid answer, or ``None``."""
        return self.validate(value, answers) if self.validate is not None else None

    def default_for(self, answers: Mapping[str, str]) -> str | None:
        return self.default(answers) if callable(self.default) else self.default

    def choices_for(self, answers: Mapping[str, str]) -> list[str] | None:
        choices = self.choices(answers) if callable(self.choices) else self.choices
        return list(choices) if choices is not None else None


@dataclass(frozen=True)
class Health:
    """The answer of a health check: ``ok`` and a one-line, secret-free ``message``."""

    ok: bool
    message: str


class Store(ABC):
    """One opened backend location."""

    persistent: bool = True
    """False for in-memory locations: nothing survives :meth:`close`."""
    partitioned_tables: ClassVar[frozenset[Table]] = frozenset()
    """Tables this store keeps as one collection per owner (see :mod:`memgpt.storage.partitions`): for an engine
    that searches a small collection much faster than it filters a large one. Such a store implements
    :meth:`partition_shelves`."""

    @abstractmethod
    def connector(self, table: Table, shelf: str = "") -> Connector:
        """The connector for ``table`` on ``shelf``; only called for tables of kinds the backend declares.

        A *shelf* keeps vectors of another embedding model beside a table's own:
        ``""`` is the table itself, any other value (a short lowercase
        identifier, see :func:`memgpt.storage.shelves.shelf_of`) names a
        separate collection with the same schema and its own embedding spec,
        created when first written (name it with
        :func:`memgpt.storage.helpers.collection_name`). The core only asks
        for shelves of ``archival`` and ``source_passages``.
        """

    def partition_shelves(self, table: Table, shelf: str = "") -> set[str]:
        """The shelves of the partitions of ``table`` on ``shelf`` that exist here (for :attr:`partitioned_tables`).

        List the engine's collection names and pass them to
        :func:`memgpt.storage.partitions.partition_shelves_in`.
        """
        return set()

    def ping(self) -> None:
        """Raise :class:`~memgpt.errors.StorageError` if the location does not answer."""

    def close(self) -> None:
        """Release connections, files and locks."""

    def problems(self) -> list[str]:
        """Damage found in this location's own files or collections, one secret-free line each (``[]``: none found).

        ``memgpt storage status`` calls it and fails when it reports anything;
        it may read everything (an integrity check). The default checks nothing
        beyond what status already does (a ping, a count and a search per table).
        """
        return []

    def advice(self) -> list[str]:
        """Ways to use this location better, one line each, with the measured cost (``[]``: none).

        ``memgpt storage status`` prints them as advice; unlike
        :meth:`problems` they do not make it fail. A local-mode engine that
        reads every point at each start, for instance, says from what size a
        server is the better choice.
        """
        return []

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ConnectorCache:
    """Mixin for stores: ``connector(table, shelf)`` builds each connector once, with ``new_connector``."""

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        raise NotImplementedError

    def connector(self, table: Table, shelf: str = "") -> Connector:
        cache: dict[tuple[Table, str], Connector] = self.__dict__.setdefault("_connector_cache", {})
        connector = cache.get((table, shelf))
        if connector is None:
            connector = cache[(table, shelf)] = self.new_connector(table, shelf)
        return connector

    def forget_connectors(self) -> None:
        self.__dict__.pop("_connector_cache", None)


class Backend(ABC):
    """A kind of storage. Subclass it and register an instance from ``register_backends``."""

    name: ClassVar[str]
    """Short lowercase name used in the config file and on the command line."""
    label: ClassVar[str]
    """One line for humans, shown by ``memgpt backends``."""
    kinds: ClassVar[frozenset[RecordKind]]
    """The record kinds this backend can hold."""
    questions: ClassVar[tuple[Question, ...]] = ()
    """What ``memgpt configure`` asks, in order."""
    uri_help: ClassVar[str] = ""
    """The URI forms ``--archival-uri``/``--recall-uri`` accept, for help texts and docs."""

    @abstractmethod
    def settings_from_uri(self, uri: str) -> dict[str, str]:
        """Turn a one-line location into answers to :attr:`questions`.

        Raise :class:`~memgpt.errors.ConfigError` with a one-line message for a
        malformed URI. An empty string means "the default location".
        """

    @abstractmethod
    def open(self, settings: Settings) -> Store:
        """Open the location the settings describe (environment overrides already applied)."""

    def open_uri(self, uri: str) -> Store:
        """``open(settings_from_uri(uri))``: a store at a location given in one line (no environment overrides)."""
        return self.open(self.settings_from_uri(uri))

    def describe(self, settings: Settings) -> str:
        """The location in one line, with secrets masked."""
        from memgpt.secrets import MASK, mask_uri

        secret_keys = {q.key for q in self.questions if q.secret}
        parts = [f"{k}={MASK if k in secret_keys else mask_uri(str(v))}" for k, v in settings.items()]
        return ", ".join(parts) or "(default)"

    def check(self, settings: Settings) -> Health:
        """Open the location and ping it; never raises."""
        try:
            store = self.open(settings)
            try:
                store.ping()
            finally:
                store.close()
        except StorageError as exc:
            return Health(False, str(exc))
        return Health(True, "answers")

    def tables(self) -> tuple[Table, ...]:
        return tuple(t for kind in self.kinds for t in kind.tables)

    def require(self, table: Table) -> None:
        if table.kind not in self.kinds:
            raise UnsupportedRecordKind(
                f"backend {self.name!r} cannot store {table.kind.label} (table {table.value!r}); "
                f"it stores {', '.join(sorted(k.value for k in self.kinds)) or 'nothing'}"
            )


class UriBackend(Backend):
    """A backend whose location is one URI (a server URL or a path): the ``uri`` question, the settings, the summary.

    Set :attr:`default_uri` and implement :meth:`location` (check and
    normalize a URI, raising :class:`~memgpt.errors.ConfigError` in one line)
    and :meth:`open_location`. ``questions`` defaults to one ``uri`` question;
    override it to change the prompt or add ``env``.
    """

    default_uri: ClassVar[str] = ""
    """The location of an empty answer."""

    @abstractmethod
    def location(self, uri: str) -> str:
        """``uri`` (``""``: :attr:`default_uri`) checked and normalized, e.g. a relative path made absolute."""

    @abstractmethod
    def open_location(self, location: str) -> Store:
        """Open the store at a normalized location (import the client library here)."""

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        self.location(uri)  # raises ConfigError when malformed
        return {"uri": uri.strip() or self.default_uri}

    def describe(self, settings: Settings) -> str:
        from memgpt.secrets import mask_uri

        return mask_uri(self.location(settings.get("uri", self.default_uri)))

    def open(self, settings: Settings) -> Store:
        return self.open_location(self.location(settings.get("uri", self.default_uri)))
