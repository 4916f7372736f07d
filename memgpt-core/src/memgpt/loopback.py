"""TCP on 127.0.0.1: a free port, and whether something answers on one (for local servers and their tests)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A TCP port nothing listens on at the moment, on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts_connections(port: int, timeout: float = 1) -> bool:
    """Whether a server accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False
