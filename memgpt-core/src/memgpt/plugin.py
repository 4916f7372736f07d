"""Everything a memgpt plugin needs, from one import: ``from memgpt.plugin import ...``.

A plugin is a module with functions marked ``@hookimpl`` (see
:mod:`memgpt.hookspecs`), registered under the ``memgpt`` entry-point group.
It can add storage backends, embedding providers, document readers and CLI
commands. Every name here is a stable API with a docstring and an entry in
``memgpt-core/docs/plugin_api.md``; anything else in ``memgpt`` is internal
and may change in any release.

Names are imported on first use, so a plugin's registration module can
import what it declares (``Backend``, ``Question``, ``hookimpl``...) without
paying for numpy or its engine's client library; ``memgpt --help`` stays fast.

The conformance suites a plugin's tests run live in :mod:`memgpt.testing`.
"""

# ruff: noqa: F401  (the TYPE_CHECKING imports below are what `__all__` names, for type checkers)
from __future__ import annotations

from typing import TYPE_CHECKING

from memgpt.lazy import lazy_attributes

_EXPORTS: dict[str, str] = {
    # hooks
    "hookimpl": "memgpt.hookspecs",
    # storage: what a backend declares
    "Backend": "memgpt.storage.backend",
    "Question": "memgpt.storage.backend",
    "Settings": "memgpt.storage.backend",
    "Health": "memgpt.storage.backend",
    "UriBackend": "memgpt.storage.backend",
    "RecordKind": "memgpt.kinds",
    "Table": "memgpt.kinds",
    "StorageRole": "memgpt.kinds",
    # storage: what a store hands out
    "Store": "memgpt.storage.backend",
    "ConnectorCache": "memgpt.storage.backend",
    "EngineStore": "memgpt.storage.engine",
    "Connector": "memgpt.storage.connector",
    "Capability": "memgpt.storage.connector",
    "ALL_CAPABILITIES": "memgpt.storage.connector",
    "PairedConnector": "memgpt.storage.paired",
    "Side": "memgpt.storage.paired",
    "partition_shelves_in": "memgpt.storage.partitions",
    "PARTITIONABLE_TABLES": "memgpt.storage.partitions",
    "Row": "memgpt.storage.codec",
    "key_user": "memgpt.storage.codec",
    "Where": "memgpt.storage.where",
    "EmbeddingSpec": "memgpt.records",
    # storage helpers
    "collection_name": "memgpt.storage.helpers",
    "engine_errors": "memgpt.storage.helpers",
    "SharedClients": "memgpt.storage.helpers",
    "retried": "memgpt.storage.helpers",
    "chunked": "memgpt.storage.helpers",
    "fetch_page": "memgpt.storage.helpers",
    "page_by_time": "memgpt.storage.helpers",
    "split_by_embedding": "memgpt.storage.helpers",
    "like_pattern": "memgpt.storage.helpers",
    "time_bounds": "memgpt.storage.helpers",
    "where_terms": "memgpt.storage.helpers",
    "scope_without_user": "memgpt.storage.helpers",
    "key_in_users": "memgpt.storage.helpers",
    "approximate_bytes": "memgpt.storage.helpers",
    "vector_to_base64": "memgpt.storage.helpers",
    "vector_from_base64": "memgpt.storage.helpers",
    "vector_to_bytes": "memgpt.storage.codec",
    "vector_from_bytes": "memgpt.storage.codec",
    "vector_matrix": "memgpt.storage.codec",
    "upgrade_row_keys": "memgpt.storage.helpers",
    "upgrade_collections": "memgpt.storage.helpers",
    "KEYS_MARKER": "memgpt.storage.helpers",
    "KEYS_BY_USER": "memgpt.storage.helpers",
    # files, locks, places
    "memgpt_home": "memgpt.paths",
    "expand_home": "memgpt.paths",
    "private_dirs": "memgpt.files",
    "write_private": "memgpt.files",
    "require_free_space": "memgpt.files",
    "process_lock": "memgpt.locks",
    "ProcessLock": "memgpt.locks",
    "lock_timeout": "memgpt.locks",
    "getenv": "memgpt.environment",
    "notice": "memgpt.notices",
    "mask_uri": "memgpt.secrets",
    "scrub": "memgpt.secrets",
    "free_port": "memgpt.loopback",
    "accepts_connections": "memgpt.loopback",
    # errors
    "MemGPTError": "memgpt.errors",
    "ConfigError": "memgpt.errors",
    "StorageError": "memgpt.errors",
    "StorageUnavailable": "memgpt.errors",
    "StorageLocked": "memgpt.errors",
    "UnsupportedOperation": "memgpt.errors",
    "EmbeddingMismatch": "memgpt.errors",
    "EmbeddingError": "memgpt.errors",
    "EmbeddingUnavailable": "memgpt.errors",
    # embedding providers
    "EmbeddingProvider": "memgpt.embeddings.provider",
    "Embedder": "memgpt.embeddings.provider",
    "EmbeddingConfig": "memgpt.embeddings.provider",
    "hash_vector": "memgpt.embeddings.hashing",
    # LLM providers
    "LLMProvider": "memgpt.llm.provider",
    "ChatModel": "memgpt.llm.provider",
    "ChatMessage": "memgpt.llm.provider",
    "ChatResponse": "memgpt.llm.provider",
    "ToolCall": "memgpt.llm.provider",
    "LLMConfig": "memgpt.llm.provider",
    "LLMError": "memgpt.errors",
    "LLMUnavailable": "memgpt.errors",
    # document readers
    "Reader": "memgpt.sources.readers",
    "Section": "memgpt.sources.readers",
    "UnreadableFile": "memgpt.sources.readers",
    "BinaryFile": "memgpt.sources.readers",
    "decode_text": "memgpt.sources.readers",
    "read_text_file": "memgpt.sources.readers",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)


if TYPE_CHECKING:  # what type checkers and editors see; at run time each name is imported on first use
    from memgpt.embeddings.hashing import hash_vector
    from memgpt.embeddings.provider import Embedder, EmbeddingConfig, EmbeddingProvider
    from memgpt.environment import getenv
    from memgpt.errors import (
        ConfigError,
        EmbeddingError,
        EmbeddingMismatch,
        EmbeddingUnavailable,
        LLMError,
        LLMUnavailable,
        MemGPTError,
        StorageError,
        StorageLocked,
        StorageUnavailable,
        UnsupportedOperation,
    )
    from memgpt.files import private_dirs, require_free_space, write_private
    from memgpt.hookspecs import hookimpl
    from memgpt.kinds import RecordKind, StorageRole, Table
    from memgpt.llm.provider import ChatMessage, ChatModel, ChatResponse, LLMConfig, LLMProvider, ToolCall
    from memgpt.locks import ProcessLock, lock_timeout, process_lock
    from memgpt.loopback import accepts_connections, free_port
    from memgpt.notices import notice
    from memgpt.paths import expand_home, memgpt_home
    from memgpt.records import EmbeddingSpec
    from memgpt.secrets import mask_uri, scrub
    from memgpt.sources.readers import BinaryFile, Reader, Section, UnreadableFile, decode_text, read_text_file
    from memgpt.storage.backend import Backend, ConnectorCache, Health, Question, Settings, Store, UriBackend
    from memgpt.storage.codec import Row, key_user, vector_from_bytes, vector_matrix, vector_to_bytes
    from memgpt.storage.connector import ALL_CAPABILITIES, Capability, Connector
    from memgpt.storage.engine import EngineStore
    from memgpt.storage.helpers import (
        KEYS_BY_USER,
        KEYS_MARKER,
        SharedClients,
        approximate_bytes,
        chunked,
        collection_name,
        engine_errors,
        fetch_page,
        key_in_users,
        like_pattern,
        page_by_time,
        retried,
        scope_without_user,
        split_by_embedding,
        time_bounds,
        upgrade_collections,
        upgrade_row_keys,
        vector_from_base64,
        vector_to_base64,
        where_terms,
    )
    from memgpt.storage.paired import PairedConnector, Side
    from memgpt.storage.partitions import PARTITIONABLE_TABLES, partition_shelves_in
    from memgpt.storage.where import Where
