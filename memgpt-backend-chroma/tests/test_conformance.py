"""The chroma backend runs the whole conformance suite, embedded and against a `chroma run` server."""

from memgpt.testing import BackendConformance
from memgpt_backend_chroma.plugin import ChromaBackend


class TestChromaPersistent(BackendConformance):
    backend_class = ChromaBackend
    backend_location = "{tmp_path}/chroma"


class TestChromaServer(BackendConformance):
    backend_class = ChromaBackend
    backend_location = "http://{chroma_server[0]}:{chroma_server[1]}"
