"""The ``chroma`` backend's declaration: the seed's questions, URI forms, and ``open`` (chromadb imported there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

from memgpt.plugin import Backend, ConfigError, Question, RecordKind, Settings, Store, expand_home, hookimpl, memgpt_home


def _persistent(answers: Mapping[str, str]) -> bool:
    return answers.get("mode", "persistent") == "persistent"


class ChromaBackend(Backend):
    """Chroma, embedded in a folder or over HTTP; cosine distance for every collection."""

    name = "chroma"
    label = "Chroma (persistent folder or HTTP server)"
    kinds = frozenset({RecordKind.ARCHIVAL, RecordKind.SOURCES, RecordKind.RECALL})
    questions = (
        Question("mode", "Select chroma backend:", default="persistent", choices=("persistent", "http")),
        Question("path", "Enter persistent storage location:", default=lambda a: str(memgpt_home() / "chroma"), when=_persistent),
        Question("host", "Enter chroma host:", default="localhost", when=lambda a: not _persistent(a)),
        Question("port", "Enter chroma port:", default="8000", when=lambda a: not _persistent(a)),
    )
    uri_help = "a folder path (persistent; default $MEMGPT_HOME/chroma) or http(s)://host:port (a Chroma server)"

    def settings_from_uri(self, uri: str) -> dict[str, str]:
        uri = uri.strip()
        if not uri:
            return {"mode": "persistent", "path": str(memgpt_home() / "chroma")}
        if uri.startswith(("http://", "https://")):
            try:
                parts = urlsplit(uri)
                port = parts.port or (443 if parts.scheme == "https" else 8000)
            except ValueError:
                raise ConfigError(f"malformed chroma server URI {uri!r}; expected http://host:port") from None
            if not parts.hostname:
                raise ConfigError(f"chroma server URI {uri!r} has no host; expected http://host:port")
            return {
                "mode": "http",
                "host": parts.hostname,
                "port": str(port),
                "ssl": "true" if parts.scheme == "https" else "false",
            }
        if "://" in uri:
            raise ConfigError(f"chroma takes a folder path or http(s)://host:port, not {uri!r}")
        return {"mode": "persistent", "path": uri}

    def describe(self, settings: Settings) -> str:
        if settings.get("mode") == "http":
            scheme = "https" if settings.get("ssl") == "true" else "http"
            return f"{scheme}://{settings.get('host', 'localhost')}:{settings.get('port', '8000')}"
        return str(expand_home(settings.get("path") or str(memgpt_home() / "chroma")))

    def open(self, settings: Settings) -> Store:
        from memgpt_backend_chroma.store import open_store

        mode = settings.get("mode", "persistent")
        if mode not in ("persistent", "http"):
            raise ConfigError(f"chroma mode must be persistent or http, not {mode!r}")
        return open_store(dict(settings))


@hookimpl
def register_backends(register: Callable[[Backend], None]) -> None:
    register(ChromaBackend())
