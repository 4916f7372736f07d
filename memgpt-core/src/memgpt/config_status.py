"""Deprecated: renamed :mod:`memgpt.storage_status` (what ``memgpt storage status`` reports); this name goes away in memgpt 0.7."""

import warnings as _warnings

from memgpt.storage_status import *  # noqa: F403

_warnings.warn(
    "memgpt.config_status is deprecated: import from memgpt.storage_status (memgpt.config_status goes away in memgpt 0.7)",
    DeprecationWarning,
    stacklevel=2,
)
