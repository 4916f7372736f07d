"""The conformance suites, for every backend and embedding provider (ours and third parties').

Subclass :class:`BackendConformance` in a test module of your package and
provide two fixtures; pytest then runs every contract check against your
backend::

    import pytest
    from memgpt.testing import BackendConformance
    from my_backend import MyBackend

    class TestMyBackend(BackendConformance):
        @pytest.fixture
        def backend(self):
            return MyBackend()

        @pytest.fixture
        def backend_settings(self, tmp_path):
            return MyBackend().settings_from_uri(str(tmp_path / "db"))

Embedding providers subclass :class:`EmbeddingProviderConformance` the same
way (a ``provider`` fixture). Add ``-p memgpt.testing.pytest_plugin`` to your pytest options (or list it in
``pytest_plugins``) so every test runs with a throw-away ``MEMGPT_HOME``.

:func:`cli_round_trip` runs the CLI end to end on your backend, one agent
turn included; the LLM there is :class:`~memgpt.testing.chat_server.ChatServer`,
a scripted OpenAI-compatible server on 127.0.0.1 that tests of LLM providers
and agents can use too.
"""

from memgpt.testing.acceptance import answer_configure, cli_round_trip, heavy_imports, run_cli
from memgpt.testing.chat_server import ChatServer
from memgpt.testing.conformance import BackendConformance
from memgpt.testing.data import (
    BASE_TIME,
    DIM,
    MODEL,
    make_agent,
    make_profile,
    make_record,
    make_source,
    notes_of_agents,
    owner_field,
    random_unit_vectors,
)
from memgpt.testing.embeddings import EmbeddingProviderConformance
from memgpt.testing.servers import accepts_connections, free_port, held_by_another_program, outlives_a_restart, running_server

__all__ = [
    "BASE_TIME",
    "DIM",
    "MODEL",
    "BackendConformance",
    "ChatServer",
    "EmbeddingProviderConformance",
    "accepts_connections",
    "answer_configure",
    "cli_round_trip",
    "free_port",
    "heavy_imports",
    "held_by_another_program",
    "make_agent",
    "make_profile",
    "make_record",
    "make_source",
    "notes_of_agents",
    "outlives_a_restart",
    "owner_field",
    "random_unit_vectors",
    "run_cli",
    "running_server",
]
