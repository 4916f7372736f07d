"""Settings from the environment: process variables first, then a ``.env`` file.

The seed tells users to put ``MEMGPT_PGURI=...`` either in their shell profile
or in a ``.env`` file in the directory they run memgpt from; both work through
:func:`getenv`. The ``.env`` file is read, never written, and does not change
``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*?)\s*$")


def parse_env_file(text: str) -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines (``export``, quotes and ``#`` comments allowed)."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _LINE.match(line)
        if not match:
            continue
        value = match["value"]
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
            if match["value"][0] == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", value, maxsplit=1)[0].strip()
        values[match["key"]] = value
    return values


def env_file_values(directory: Path | None = None) -> dict[str, str]:
    """The variables of ``.env`` in ``directory`` (default: the working directory)."""
    path = (directory or Path.cwd()) / ".env"
    try:
        return parse_env_file(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError, PermissionError, UnicodeDecodeError):
        return {}


def getenv(name: str, default: str | None = None) -> str | None:
    """``os.environ[name]``, else the value in ``./.env``, else ``default``.

    Empty values count as unset, so ``MEMGPT_PGURI=`` does not override a
    configured URI with nothing.
    """
    value = os.environ.get(name)
    if value:
        return value
    value = env_file_values().get(name)
    return value if value else default


def first_set(names: Sequence[str]) -> str | None:
    """The value of the first of ``names`` that is set (:func:`getenv`: the environment, then ``./.env``)."""
    for name in names:
        value = getenv(name)
        if value:
            return value
    return None
