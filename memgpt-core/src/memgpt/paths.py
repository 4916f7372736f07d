"""Where memgpt keeps its files.

``MEMGPT_HOME`` (default ``~/.memgpt``) is the folder for everything; the
configuration file is ``$MEMGPT_HOME/config`` unless ``MEMGPT_CONFIG_PATH``
names another file. Nothing in memgpt writes to the user's home directly:
every path comes from here, so tests only need to set ``MEMGPT_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "MEMGPT_HOME"
CONFIG_PATH_ENV = "MEMGPT_CONFIG_PATH"


def memgpt_home() -> Path:
    """The memgpt folder: ``$MEMGPT_HOME``, or ``~/.memgpt``."""
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value).expanduser().absolute()
    return Path.home() / ".memgpt"


def config_path() -> Path:
    """The configuration file: ``$MEMGPT_CONFIG_PATH``, or ``$MEMGPT_HOME/config``."""
    value = os.environ.get(CONFIG_PATH_ENV)
    if value:
        return Path(value).expanduser().absolute()
    return memgpt_home() / "config"


def expand_home(path: str) -> Path:
    """Expand a user-given path: ``~`` and a leading ``~/.memgpt`` follow ``MEMGPT_HOME``.

    The seed documents defaults such as ``~/.memgpt/milvus.db``; with
    ``MEMGPT_HOME`` set those must land in that folder, not in the real home.
    """
    text = os.path.expandvars(path.strip())
    if text == "~/.memgpt" or text.startswith("~/.memgpt/"):
        rest = text[len("~/.memgpt") :].lstrip("/")
        return memgpt_home() / rest if rest else memgpt_home()
    return Path(text).expanduser().absolute()
