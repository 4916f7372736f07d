"""Running real engine servers on loopback for tests (``chroma run``, ``milvus-lite server``...)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from memgpt.loopback import accepts_connections, free_port

__all__ = ["accepts_connections", "free_port", "running_server"]


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
