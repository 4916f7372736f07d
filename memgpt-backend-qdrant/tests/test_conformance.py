"""The qdrant backend runs the whole conformance suite in memory and on a local folder."""

from memgpt.testing import BackendConformance
from memgpt_backend_qdrant.plugin import QdrantBackend


class TestQdrantInMemory(BackendConformance):
    backend_class = QdrantBackend
    backend_location = ":memory:"


class TestQdrantLocalFolder(BackendConformance):
    backend_class = QdrantBackend
    backend_location = "{tmp_path}/qdrant"
