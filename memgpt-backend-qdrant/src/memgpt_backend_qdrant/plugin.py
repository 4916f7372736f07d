"""The ``qdrant`` backend's declaration: the seed's questions and URI forms; ``open`` imports qdrant-client."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Settings, Store, expand_home, hookimpl, memgpt_home

MODES = ("memory", "local", "server")
DEFAULT_SERVER = "localhost:6333"


def server_url(uri: str) -> str:
    """``http://host:port`` from ``host:port`` or a full URL; a one-line ConfigError when malformed."""
    text = uri.strip() or DEFAULT_SERVER
    if "://" not in text:
        text = "http://" + text
    try:
        parts = urlsplit(text)
        port = parts.port or 6333
    except ValueError:
        raise ConfigError(f"malformed Qdrant URI {uri!r}; expected host:port or http(s)://host:port") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"malformed Qdrant URI {uri!r}; expected host:port or http(s)://host:port")
    return f"{parts.scheme}://{parts.hostname}:{port}"


def _mode(answers: Mapping[str, str]) -> str:
    return answers.get("mode", "local")


class QdrantBackend(Backend):
    """Qdrant: in-memory, a local folder, or a server; cosine distance, scope on every query."""

    name = "qdrant"
    label = "Qdrant (in-memory, local folder or server)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    questions = (
        Question("mode", "Select Qdrant backend:", default="local", choices=MODES),
        Question(
            "path",
            "Enter the Qdrant storage path:",
            default=lambda a: str(memgpt_home() / "qdrant"),
            when=lambda a: _mode(a) == "local",
        ),
        Question(
            "uri",
            f"Enter the Qdrant instance URI (Default: {DEFAULT_SERVER}):",
            default=DEFAULT_SERVER,
            when=lambda a: _mode(a) == "server",
        ),
    )
    uri_help = ":memory:, a folder path (local mode; default $MEMGPT_HOME/qdrant), or host:port / http(s)://host:port (server; key from QDRANT_API_KEY)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        uri = uri.strip()
        if uri == ":memory:":
            return {"mode": "memory"}
        if not uri:
            return {"mode": "local", "path": str(memgpt_home() / "qdrant")}
        if "://" in uri or (":" in uri and not uri.startswith(("/", ".", "~")) and uri.rsplit(":", 1)[1].isdigit()):
            return {"mode": "server", "uri": server_url(uri)}
        return {"mode": "local", "path": uri}

    def describe(self, settings: Settings) -> str:
        mode = settings.get("mode", "local")
        if mode == "memory":
            return ":memory:"
        if mode == "server":
            return server_url(settings.get("uri", DEFAULT_SERVER))
        return str(expand_home(settings.get("path") or str(memgpt_home() / "qdrant")))

    def open(self, settings: Settings) -> Store:
        from memgpt_backend_qdrant.store import open_store

        mode = settings.get("mode", "local")
        if mode not in MODES:
            raise ConfigError(f"Qdrant mode must be one of {', '.join(MODES)}, not {mode!r}")
        return open_store(mode, self.describe(settings))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(QdrantBackend())
