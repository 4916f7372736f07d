"""The storage contract and how to open configured storage.

Names are imported lazily so that plugins can ``from memgpt.storage import
Backend`` without paying for numpy until they actually store something.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Backend": "memgpt.storage.backend",
    "Health": "memgpt.storage.backend",
    "Question": "memgpt.storage.backend",
    "Settings": "memgpt.storage.backend",
    "Store": "memgpt.storage.backend",
    "Capability": "memgpt.storage.connector",
    "Connector": "memgpt.storage.connector",
    "Row": "memgpt.storage.codec",
    "Collection": "memgpt.storage.collection",
    "Hit": "memgpt.storage.collection",
    "Where": "memgpt.storage.where",
    "scope": "memgpt.storage.where",
    "Storage": "memgpt.storage.configured",
    "open_storage": "memgpt.storage.configured",
    "open_collection": "memgpt.storage.configured",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'memgpt.storage' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
