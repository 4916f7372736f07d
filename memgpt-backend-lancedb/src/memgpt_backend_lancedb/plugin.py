"""The ``lancedb`` backend's declaration: the seed's URI question, and ``open`` (lancedb imported there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Settings, Store, expand_home, hookimpl

DEFAULT_URI = "./.lancedb"


def resolve(uri: str) -> str:
    """A local path as an absolute path (relative ones against the working directory, as the original did)."""
    uri = uri.strip() or DEFAULT_URI
    if "://" in uri:
        return uri
    return str(expand_home(uri) if uri.startswith("~") else Path(uri).absolute())


class LanceDBBackend(Backend):
    """LanceDB, embedded in a folder: exact cosine search, SQL filters, n-gram full-text index for recall."""

    name = "lancedb"
    label = "LanceDB (embedded folder)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    questions = (Question("uri", "Enter the LanceDB database URI (Default: ./.lancedb):", default=DEFAULT_URI),)
    uri_help = "a folder path (empty: ./.lancedb in the working directory)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        uri = uri.strip()
        if "://" in uri and not uri.startswith("file://"):
            raise ConfigError(f"the lancedb backend takes a local folder path, not {uri!r}")
        return {"uri": uri.removeprefix("file://") or DEFAULT_URI}

    def describe(self, settings: Settings) -> str:
        return resolve(settings.get("uri", DEFAULT_URI))

    def open(self, settings: Settings) -> Store:
        from memgpt_backend_lancedb.store import LanceDBStore

        return LanceDBStore(resolve(settings.get("uri", DEFAULT_URI)))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(LanceDBBackend())
