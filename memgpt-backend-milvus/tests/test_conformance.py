"""The milvus backend runs the whole conformance suite on a Milvus Lite file and against a Milvus Lite server."""

from memgpt.testing import BackendConformance
from memgpt_backend_milvus.plugin import MilvusBackend


class TestMilvusLiteFile(BackendConformance):
    backend_class = MilvusBackend
    backend_location = "{tmp_path}/milvus.db"


class TestMilvusServer(BackendConformance):
    backend_class = MilvusBackend
    backend_location = "{milvus_server}"
