"""Opening Chroma: a persistent client on a folder, or an HTTP client that must reach its server.

Chroma's persistent mode keeps each process's own copy of the vector index
and writes it back to the folder: two processes using one folder at once
break its searches. A persistent store therefore holds the folder's lock
(``.memgpt.lock``) from open to close: another memgpt process waits its turn
(up to ``MEMGPT_LOCK_TIMEOUT`` seconds, default 60) and then fails in one
line that says to run a Chroma server for concurrent use. Each turn starts
from what is on disk (the client is closed with the store).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from memgpt.errors import MemGPTError, StorageUnavailable
from memgpt.files import private_dirs
from memgpt.kinds import Table
from memgpt.locks import ProcessLock, process_lock
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
    return engine_errors("Chroma", where, _classify(where), native=True)


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
    lock = process_lock(
        path / LOCK_FILE,
        f"Chroma folder {path}",
        "; Chroma's persistent mode serves one process at a time: for several at once, run "
        f"`chroma run --path {path} --host 127.0.0.1 --port 8000` and configure http://127.0.0.1:8000 as the location",
    )
    lock.acquire()
    try:
        with translated(str(path)):
            private_dirs(path)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return ChromaStore(client, str(path), persistent=True, lock=lock)
    except BaseException:
        lock.release()
        raise


LOCK_FILE = ".memgpt.lock"


class ChromaStore(ConnectorCache, Store):
    def __init__(self, client: Any, where: str, persistent: bool, lock: ProcessLock | None = None) -> None:
        self.client = client
        self.where = where
        self.persistent = persistent
        self.lock = lock
        with translated(where):
            self.max_batch = int(client.get_max_batch_size())

    def errors(self) -> Any:
        return translated(self.where)

    def new_connector(self, table: Table, shelf: str = "") -> Connector:
        from memgpt_backend_chroma.connector import ChromaConnector

        return ChromaConnector(self, table, shelf)

    def ping(self) -> None:
        with self.errors():
            self.client.heartbeat()

    def close(self) -> None:
        """Forget the connectors, close the client (the last one in the process stops Chroma's system), release the folder."""
        self.forget_connectors()
        client, self.client = self.client, None
        if client is not None and hasattr(client, "close"):
            try:
                client.close()
            except Exception:
                pass  # closing is best effort: what is written is on disk already
        if self.lock is not None:
            lock, self.lock = self.lock, None
            lock.release()
