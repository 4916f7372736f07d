"""Opening Chroma: a persistent client on a folder, or an HTTP client that must reach its server."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memgpt.errors import MemGPTError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.paths import expand_home, memgpt_home
from memgpt.storage.backend import ConnectorCache, Store
from memgpt.storage.connector import Connector
from memgpt.storage.helpers import engine_errors


def _classify(where: str) -> Callable[[str], MemGPTError | None]:
    def classify(message: str) -> MemGPTError | None:
        if "connect" in message.lower():
            return StorageUnavailable(f"cannot reach the Chroma server at {where} ({message[:200]}); is `chroma run` running?")
        return None

    return classify


def translated(where: str) -> Any:
    """Chroma's exceptions (ValueError, its own, httpx) as one-line memgpt errors."""
    return engine_errors("Chroma", where, _classify(where))


def open_store(settings: dict[str, str]) -> ChromaStore:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)  # no network calls of our own making
    if settings.get("mode") == "http":
        host, port = settings.get("host", "localhost"), int(settings.get("port", "8000"))
        ssl = settings.get("ssl") == "true"
        where = f"{'https' if ssl else 'http'}://{host}:{port}"
        with translated(where):
            client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=chroma_settings)
            client.heartbeat()
        return ChromaStore(client, where, persistent=True)
    path = expand_home(settings.get("path") or str(memgpt_home() / "chroma"))
    with translated(str(path)):
        path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    return ChromaStore(client, str(path), persistent=True)


class ChromaStore(ConnectorCache, Store):
    def __init__(self, client: Any, where: str, persistent: bool) -> None:
        self.client = client
        self.where = where
        self.persistent = persistent
        with translated(where):
            self.max_batch = int(client.get_max_batch_size())

    def errors(self) -> Any:
        return translated(self.where)

    def new_connector(self, table: Table) -> Connector:
        from memgpt_backend_chroma.connector import ChromaConnector

        return ChromaConnector(self, table)

    def ping(self) -> None:
        with self.errors():
            self.client.heartbeat()

    def close(self) -> None:
        self.forget_connectors()
