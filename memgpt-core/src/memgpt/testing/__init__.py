"""The storage conformance suite, for every backend (ours and third parties').

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

Add ``-p memgpt.testing.pytest_plugin`` to your pytest options (or list it in
``pytest_plugins``) so every test runs with a throw-away ``MEMGPT_HOME``.
"""

from memgpt.testing.conformance import BackendConformance
from memgpt.testing.data import BASE_TIME, DIM, MODEL, make_agent, make_record, make_source, owner_field, random_unit_vectors

__all__ = [
    "BASE_TIME",
    "DIM",
    "MODEL",
    "BackendConformance",
    "make_agent",
    "make_record",
    "make_source",
    "owner_field",
    "random_unit_vectors",
]
