"""Several processes on one store, for the conformance suite and the fault matrix.

``python -m memgpt.testing.processes writer|reader SPEC`` runs one worker:
SPEC is a JSON object naming the backend class (``module`` and ``class``),
its ``settings``, the ``table`` and, for a writer, ``who`` and ``count`` (that
many single-record inserts, ids ``<who>-<i>``, each its own call, as an agent
writes its memories one at a time); a reader opens the store for each of
``rounds`` reads (count, a vector search, a text search), as short-lived
``memgpt`` commands do. Each prints one JSON line: what it did and every error
(type and message), and whether anything reached its stderr.
:func:`run_workers` starts writers and readers at once and collects them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

from memgpt.storage.where import Where

USER = "user-1"


def _backend(spec: dict[str, Any]) -> Any:
    import importlib

    module = importlib.import_module(spec["module"])
    return getattr(module, spec["class"])()


def _writer(spec: dict[str, Any]) -> dict[str, Any]:
    from memgpt.kinds import Table
    from memgpt.storage.configured import open_collection
    from memgpt.testing.data import make_record

    backend, table = _backend(spec), Table(spec["table"])
    errors: list[str] = []
    written = 0
    store = backend.open(dict(spec["settings"]))
    try:
        collection = open_collection(backend, store, table, Where.of(user_id=USER))
        for i in range(int(spec["count"])):
            record = make_record(
                table, i, owner=f"agent-{spec['who']}", id=f"{spec['who']}-{i}", text=f"note {i} of {spec['who']}"
            )
            try:
                written += collection.insert([record])
            except Exception as exc:  # every failure is reported: the suite asserts there is none
                errors.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
    finally:
        store.close()
    return {"who": spec["who"], "written": written, "errors": errors}


def _reader(spec: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    from memgpt.kinds import Table
    from memgpt.storage.configured import open_collection
    from memgpt.storage.connector import Capability

    backend, table = _backend(spec), Table(spec["table"])
    errors: list[str] = []
    reads = 0
    for _ in range(int(spec.get("rounds", 10))):
        try:
            store = backend.open(dict(spec["settings"]))
            try:
                collection = open_collection(backend, store, table, Where.of(user_id=USER))
                collection.count()
                capabilities = collection.connector.capabilities
                spec_of = collection.embedding_spec
                if spec_of is not None and Capability.VECTOR_SEARCH in capabilities:
                    collection.search(np.ones(spec_of.dim, dtype=np.float32), k=3)
                if Capability.TEXT_SEARCH in capabilities:
                    collection.text_search("note", limit=5)
                reads += 1
            finally:
                store.close()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
        time.sleep(0.01)
    return {"reader": True, "reads": reads, "errors": errors}


def run_workers(
    backend: Any, settings: dict[str, str], table: Any, writers: int, count: int, readers: int = 1, rounds: int = 10
) -> list[dict[str, Any]]:
    """Start ``writers`` writer and ``readers`` reader processes on one store at once; return their reports.

    Each report also says what its process printed on stderr (``stderr``): a
    library that writes to the terminal is a failure too.
    """
    base = {"module": type(backend).__module__, "class": type(backend).__qualname__, "settings": settings, "table": table.value}
    jobs = [("writer", {**base, "who": f"w{n}", "count": count}) for n in range(writers)]
    jobs += [("reader", {**base, "rounds": rounds}) for _ in range(readers)]
    # the workers import the backend class as this process does (a test module's class too: the same sys.path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "memgpt.testing.processes", role, json.dumps(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for role, spec in jobs
    ]
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=600)
        lines = out.strip().splitlines()
        report = json.loads(lines[-1]) if process.returncode == 0 and lines else {"errors": [f"exit {process.returncode}"]}
        report["stderr"] = err.strip()
        reports.append(report)
    return reports


def main(argv: list[str]) -> int:
    role, spec = argv[0], json.loads(argv[1])
    report = _writer(spec) if role == "writer" else _reader(spec)
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
