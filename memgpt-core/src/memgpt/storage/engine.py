"""A store wrapping one engine client: the scaffolding every engine backend shares.

:class:`EngineStore` translates the engine's exceptions (one-line, secret-free
errors), builds each connector once, imports the connector module only when
a table is first used (so registering the backend never imports the client
library), answers ``ping`` with one cheap call and closes exactly once.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, ClassVar

from memgpt.errors import MemGPTError
from memgpt.kinds import Table
from memgpt.storage.backend import ConnectorCache, Store
from memgpt.storage.connector import Connector
from memgpt.storage.helpers import engine_errors


class EngineStore(ConnectorCache, Store):
    """Base class for a store holding one client of an engine, at one location.

    Subclasses set :attr:`engine` and :attr:`connector_class`, implement
    :meth:`answer` and, when closing needs more than forgetting the
    connectors, :meth:`release`. :meth:`classify` and :meth:`secret_values`
    refine error translation, which :meth:`translated` also offers before a
    store exists (while connecting).
    """

    engine: ClassVar[str] = "the engine"
    """The engine's name in error messages: ``"Chroma"``, ``"Qdrant"``."""
    connector_class: ClassVar[str] = ""
    """Where the connector class is, as ``"module:Class"``; imported at the first connector."""
    native_output: ClassVar[bool] = False
    """Whether the engine's native code prints on stderr (kept off the terminal, see :func:`engine_errors`)."""

    def __init__(self, client: Any, where: str, persistent: bool = True) -> None:
        self.client = client
        self.where = where
        """The location in one line, secret-free: error messages name it."""
        self.persistent = persistent
        self.closed = False

    @classmethod
    def classify(cls, where: str, message: str) -> MemGPTError | None:
        """A more specific error for an engine message (e.g. ``StorageUnavailable`` when it cannot connect), or ``None``."""
        return None

    @classmethod
    def secret_values(cls) -> Iterable[str | None]:
        """Values to scrub from error messages (an API key read from the environment)."""
        return ()

    @classmethod
    def translated(cls, where: str) -> AbstractContextManager[None]:
        """Turns the engine's exceptions inside the block into one-line memgpt errors naming ``where``."""
        return engine_errors(
            cls.engine, where, lambda message: cls.classify(where, message), cls.secret_values(), native=cls.native_output
        )

    def errors(self) -> AbstractContextManager[None]:
        """:meth:`translated` at this store's location."""
        return self.translated(self.where)

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        module, _, name = self.connector_class.partition(":")
        connector: type[Connector] = getattr(importlib.import_module(module), name)
        return connector(self, table, shelf)  # type: ignore[call-arg]

    def answer(self) -> None:
        """One cheap call that fails when the engine does not answer (``ping`` runs it inside :meth:`errors`)."""
        raise NotImplementedError

    def ping(self) -> None:
        with self.errors():
            self.answer()

    def release(self) -> None:
        """Release the client, files and locks this store holds (called once, by :meth:`close`)."""

    def close(self) -> None:
        """Forget the connectors and :meth:`release`, once."""
        if self.closed:
            return
        self.closed = True
        self.forget_connectors()
        self.release()
