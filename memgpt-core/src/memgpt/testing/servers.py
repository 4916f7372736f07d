"""Running real engine servers on loopback for tests (``chroma run``, ``milvus-lite server``...)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from memgpt.loopback import accepts_connections, free_port

__all__ = ["accepts_connections", "free_port", "held_by_another_program", "running_server"]


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
