"""Storage for applications: open the configured storage (:func:`open_storage`), scoped :class:`Collection` s, :class:`Where`.

Plugin authors import from :mod:`memgpt.plugin` instead (the one public
module for backends and providers). Names are imported on first use.
"""

from __future__ import annotations

from memgpt.lazy import lazy_attributes
from memgpt.plugin import _EXPORTS as _PLUGIN_EXPORTS

_CONTRACT = ("Backend", "Health", "Question", "Settings", "Store", "Capability", "Connector", "Row", "Where")
"""Names of the storage contract, kept here for 0.5's imports; where they live is :mod:`memgpt.plugin`'s to say."""

_EXPORTS = {
    **{name: _PLUGIN_EXPORTS[name] for name in _CONTRACT},
    "Collection": "memgpt.storage.collection",
    "Hit": "memgpt.storage.collection",
    "scope": "memgpt.storage.where",
    "Storage": "memgpt.storage.configured",
    "open_storage": "memgpt.storage.configured",
    "open_collection": "memgpt.storage.configured",
}

__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_attributes(__name__, _EXPORTS)
