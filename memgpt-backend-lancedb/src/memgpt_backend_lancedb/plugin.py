"""The ``lancedb`` backend's declaration: the seed's URI question, and ``open`` (lancedb imported there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Store, UriBackend, expand_home, hookimpl

DEFAULT_URI = "./.lancedb"


def resolve(uri: str) -> str:
    """A local folder as an absolute path (relative ones against the working directory, as the original did)."""
    uri = uri.strip().removeprefix("file://") or DEFAULT_URI
    if "://" in uri:
        raise ConfigError(f"the lancedb backend takes a local folder path, not {uri!r}")
    return str(expand_home(uri) if uri.startswith("~") else Path(uri).absolute())


class LanceDBBackend(UriBackend):
    """LanceDB, embedded in a folder: exact cosine search, SQL filters, n-gram full-text index for recall."""

    name = "lancedb"
    label = "LanceDB (embedded folder)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    default_uri = DEFAULT_URI
    questions = (Question("uri", "Enter the LanceDB database URI (Default: ./.lancedb):", default=DEFAULT_URI),)
    uri_help = "a folder path (empty: ./.lancedb in the working directory)"

    def location(self, uri: str) -> str:
        return resolve(uri)

    def open_location(self, location: str) -> Store:
        from memgpt_backend_lancedb.store import LanceDBStore

        return LanceDBStore(location)


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(LanceDBBackend())
