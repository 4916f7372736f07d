"""The ``milvus`` backend's declaration: the seed's URI question; ``open`` imports pymilvus."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Store, UriBackend, expand_home, hookimpl

DEFAULT_URI = "~/.memgpt/milvus.db"


def location(uri: str) -> str:
    """A server URL as given, or a Milvus Lite file as an absolute path (``~/.memgpt`` follows MEMGPT_HOME)."""
    uri = uri.strip() or DEFAULT_URI
    if uri.startswith(("http://", "https://", "tcp://")):
        try:
            parts = urlsplit(uri)
            port = parts.port
        except ValueError:
            raise ConfigError(f"malformed Milvus URI {uri!r}; expected http://host:port or a file path") from None
        if not parts.hostname:
            raise ConfigError(f"Milvus URI {uri!r} has no host; expected http://host:port")
        return f"{parts.scheme}://{parts.hostname}:{port or 19530}"
    if "://" in uri:
        raise ConfigError(f"Milvus takes http://host:port or a local .db file path, not {uri!r}")
    return str(expand_home(uri))


class MilvusBackend(UriBackend):
    """Milvus: a Milvus Lite file or a server; exact cosine search, escaped filter expressions, strong consistency."""

    name = "milvus"
    label = "Milvus (Milvus Lite file or server)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    default_uri = DEFAULT_URI
    questions = (Question("uri", f"Enter the Milvus connection URI (Default: {DEFAULT_URI}):", default=DEFAULT_URI),)
    uri_help = f"a Milvus Lite file path (default {DEFAULT_URI}, under MEMGPT_HOME) or http://host:port (a Milvus server)"

    def location(self, uri: str) -> str:
        return location(uri)

    def open_location(self, location: str) -> Store:
        from memgpt_backend_milvus.store import open_store

        return open_store(location)


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(MilvusBackend())
