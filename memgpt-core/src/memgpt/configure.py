"""Deprecated: renamed :mod:`memgpt.configure_questions` (what ``memgpt configure`` asks); this name goes away in memgpt 0.7."""

import warnings as _warnings

from memgpt.configure_questions import *  # noqa: F403

_warnings.warn(
    "memgpt.configure is deprecated: import from memgpt.configure_questions (memgpt.configure goes away in memgpt 0.7)",
    DeprecationWarning,
    stacklevel=2,
)
