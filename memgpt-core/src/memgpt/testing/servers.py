"""Running real engine servers on loopback for tests (``chroma run``, ``milvus-lite server``...)."""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from memgpt.loopback import accepts_connections, free_port

__all__ = ["accepts_connections", "free_port", "held_by_another_program", "outlives_a_restart", "running_server"]


@contextmanager
def held_by_another_program(setup: str, wait: float = 120) -> Iterator[subprocess.Popen[str]]:
    """A Python process that runs ``setup`` (opening a location the way another program would) and then waits.

    For tests of "the location is in use by a process that is not memgpt's":
    yields once ``setup`` ran, and kills the process afterwards.
    """
    import sys

    code = f"{setup}\nimport time\nprint('ready', flush=True)\ntime.sleep({wait})"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        said = process.stdout.readline().strip() if process.stdout is not None else ""
        if said != "ready":
            raise RuntimeError(f"the holding process did not start (it said {said!r})")
        yield process
    finally:
        process.kill()
        process.wait()


@contextmanager
def running_server(
    argv: Sequence[str], log: Path, ready: Callable[[], bool], timeout: float = 90, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv``, wait until ``ready()``, yield the process, and stop it afterwards.

    Output goes to ``log``, whose tail is in the error when the server never comes up.
    """
    with open(log, "wb") as output:
        proc = subprocess.Popen(list(argv), stdout=output, stderr=subprocess.STDOUT, env=env)
        try:
            deadline = time.time() + timeout
            while not ready():
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"{argv[0]} did not start: " + log.read_text(errors="replace")[-2000:])
                time.sleep(0.2)
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def outlives_a_restart(
    backend: Any, uri: str, serving: Callable[[], AbstractContextManager[Any]], *, ask_while_down: bool, down_error: str
) -> None:
    """Check that a long-lived process keeps its store across a restart of the server at ``uri``.

    ``serving()`` runs the server (the same data, the same address) for the
    length of a ``with`` block; it is entered twice. Under the first, a store
    is opened and an agent's passages and messages written; the server then
    stops. With ``ask_while_down``, a call made meanwhile must fail with one
    line matching ``down_error`` (a regular expression). Under the second,
    every kind of call must work on the same store objects, as ``memgpt run``
    or a program using the library would make them: a search, a text search,
    counts, an insert, and every record must be there exactly once.
    """
    from memgpt.errors import StorageUnavailable
    from memgpt.kinds import Table
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where
    from memgpt.testing.data import USER, make_record

    passages = [make_record(Table.ARCHIVAL, i, owner="agent-0") for i in range(4)]
    messages = [make_record(Table.RECALL, i, owner="agent-0", text=f"message {i} about zeppelins") for i in range(3)]
    agent = Where.of(user_id=USER, agent_id="agent-0")
    with serving():
        store = backend.open(backend.settings_from_uri(uri))
        archival = open_collection(backend, store, Table.ARCHIVAL, agent)
        recall = open_collection(backend, store, Table.RECALL, agent)
        archival.insert(passages[:3])
        recall.insert(messages)
    try:
        if ask_while_down:
            try:
                archival.count()
            except StorageUnavailable as exc:
                said = str(exc)
                assert re.search(down_error, said) and "\n" not in said, said
            else:
                raise AssertionError("a call to a stopped server succeeded")
        with serving():
            assert [h.record.id for h in archival.search(passages[1].embedding, k=1)] == [passages[1].id]
            assert [m.id for m in recall.text_search("ZEPPELINS")] == [m.id for m in messages]
            assert archival.count() == 3 and recall.count() == 3
            archival.insert(passages[3:])
            assert sorted(r.id for r in archival.iterate()) == sorted(p.id for p in passages)
    finally:
        store.close()
