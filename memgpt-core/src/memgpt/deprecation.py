"""Old import paths kept for one release: each use warns and names the new import."""

from __future__ import annotations

import importlib
import warnings
from typing import Any

REMOVED_IN = "0.7"


def moved(old: str, new: str) -> Any:
    """The object now at ``new`` (``"package.module.name"``), after a :class:`DeprecationWarning` that names it.

    Called from a module's ``__getattr__`` (or a shim module), so the warning
    points at the line that used the old name.
    """
    module, _, name = new.rpartition(".")
    warnings.warn(
        f"{old} is deprecated: use `from {module} import {name}` ({old} goes away in memgpt {REMOVED_IN})",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module(module), name)


def warn_renamed(old: str, new: str) -> None:
    """A :class:`DeprecationWarning` that ``old`` (a method, an attribute) is now ``new``, pointing at the caller's caller."""
    warnings.warn(f"{old} is deprecated: use {new} ({old} goes away in memgpt {REMOVED_IN})", DeprecationWarning, stacklevel=3)
