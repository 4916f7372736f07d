"""Opening Chroma: a persistent client on a folder, or an HTTP client that must reach its server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from memgpt.errors import StorageError, StorageUnavailable
from memgpt.kinds import Table
from memgpt.paths import expand_home, memgpt_home
from memgpt.storage.backend import Store
from memgpt.storage.connector import Connector


@contextmanager
def translated(where: str) -> Iterator[None]:
    """Chroma's exceptions as one-line memgpt errors."""
    try:
        yield
    except StorageError:
        raise
    except Exception as exc:  # chromadb raises many types (ValueError, its own errors, httpx errors)
        message = " ".join(str(exc).split()) or type(exc).__name__
        if "connect" in message.lower() or type(exc).__name__ in ("ConnectError", "ConnectTimeout"):
            raise StorageUnavailable(
                f"cannot reach the Chroma server at {where} ({message[:200]}); is `chroma run` running?"
            ) from None
        raise StorageError(f"Chroma at {where}: {message[:300]}") from None


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


class ChromaStore(Store):
    def __init__(self, client: Any, where: str, persistent: bool) -> None:
        self.client = client
        self.where = where
        self.persistent = persistent
        self._connectors: dict[Table, Connector] = {}
        with translated(where):
            self.max_batch = int(client.get_max_batch_size())

    def errors(self) -> Any:
        return translated(self.where)

    def connector(self, table: Table) -> Connector:
        from memgpt_backend_chroma.connector import ChromaConnector

        connector = self._connectors.get(table)
        if connector is None:
            connector = self._connectors[table] = ChromaConnector(self, table)
        return connector

    def ping(self) -> None:
        with self.errors():
            self.client.heartbeat()

    def close(self) -> None:
        self._connectors.clear()
