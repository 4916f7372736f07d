"""Storage for applications: open the configured storage (:func:`open_storage`), scoped :class:`Collection` s, :class:`Where`.

Plugin authors import from :mod:`memgpt.plugin` instead (the one public
module for backends and providers). Names are imported on first use.
"""

from __future__ import annotations

from memgpt.lazy import lazy_attributes

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
__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
