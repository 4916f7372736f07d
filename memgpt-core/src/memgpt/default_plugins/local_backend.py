"""The ``local`` backend: files under ``MEMGPT_HOME`` (see :mod:`memgpt.local`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from memgpt.errors import ConfigError
from memgpt.hookspecs import hookimpl
from memgpt.kinds import RecordKind
from memgpt.paths import expand_home, memgpt_home
from memgpt.storage.backend import Backend, Settings, Store


class LocalBackend(Backend):
    """SQLite files and exact numpy vector search under one folder (default ``MEMGPT_HOME``)."""

    name = "local"
    label = "Local files under MEMGPT_HOME (SQLite, exact numpy search)"
    kinds = frozenset(RecordKind)
    questions = ()
    uri_help = "a folder path or file:// URI (empty: $MEMGPT_HOME)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        uri = uri.strip()
        if not uri:
            return {}
        if uri.startswith("file://"):
            parts = urlsplit(uri)
            if parts.netloc not in ("", "localhost"):
                raise ConfigError(f"local storage takes a folder on this machine, not {uri!r}")
            uri = unquote(parts.path)
        elif "://" in uri:
            raise ConfigError(f"local storage takes a folder path, not the URI {uri!r}")
        return {"path": uri}

    def root(self, settings: Settings) -> Path:
        path = settings.get("path", "")
        return expand_home(path) if path else memgpt_home()

    def describe(self, settings: Settings) -> str:
        return str(self.root(settings))

    def open(self, settings: Settings) -> Store:
        from memgpt.local.store import open_local_store

        return open_local_store(self.root(settings))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(LocalBackend())
