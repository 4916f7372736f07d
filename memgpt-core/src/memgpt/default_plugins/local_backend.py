"""The ``local`` backend: files under ``MEMGPT_HOME`` (see :mod:`memgpt.local`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

from memgpt.errors import ConfigError
from memgpt.hookspecs import hookimpl
from memgpt.kinds import RecordKind
from memgpt.paths import expand_home, memgpt_home
from memgpt.storage.backend import Backend, Settings, Store


class LocalBackend(Backend):
    """SQLite files and exact numpy vector search under one folder (default ``MEMGPT_HOME``)."""

    name = "local"
    label = "Local files under MEMGPT_HOME (SQLite, exact numpy search; an HNSW graph for large archives)"
    kinds = frozenset(RecordKind)
    questions = ()
    uri_help = "a folder path or file:// URI (empty: $MEMGPT_HOME); file://DIR?ann_after=N sets the graph threshold"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        uri = uri.strip()
        if not uri:
            return {}
        settings: dict[str, str] = {}
        if uri.startswith("file://"):
            parts = urlsplit(uri)
            if parts.netloc not in ("", "localhost"):
                raise ConfigError(f"local storage takes a folder on this machine, not {uri!r}")
            for name, value in parse_qsl(parts.query, keep_blank_values=True):
                if name != "ann_after":
                    raise ConfigError(f"local storage has no setting {name!r} (it knows ann_after)")
                settings["ann_after"] = value
            uri = unquote(parts.path)
        elif "://" in uri:
            raise ConfigError(f"local storage takes a folder path, not the URI {uri!r}")
        ann_after(settings)
        return {"path": uri, **settings}

    def root(self, settings: Settings) -> Path:
        path = settings.get("path", "")
        return expand_home(path) if path else memgpt_home()

    def describe(self, settings: Settings) -> str:
        return str(self.root(settings))

    def open(self, settings: Settings) -> Store:
        from memgpt.local.store import open_local_store

        return open_local_store(self.root(settings), ann_after(settings))


def ann_after(settings: Settings) -> int | None:
    """The ``ann_after`` setting (vectors per agent or source from which searches use a graph), if set."""
    value = settings.get("ann_after", "")
    if not value:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 1:
        raise ConfigError(f"ann_after must be a whole number of passages (at least 1), not {value!r}")
    return number


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(LocalBackend())
