"""memgpt.loopback: the free port and the readiness check that local servers and their test fixtures share."""

from __future__ import annotations

import socket

from memgpt.loopback import accepts_connections, free_port


def test_a_free_port_answers_only_once_something_listens_on_it() -> None:
    port = free_port()
    assert 1024 <= port <= 65535
    assert not accepts_connections(port)
    with socket.socket() as server:
        server.bind(("127.0.0.1", port))
        server.listen()
        assert accepts_connections(port)
    assert not accepts_connections(port)
