"""pymemgpt: MemGPT's memory-storage layer as a plugin ecosystem.

Plugins implement the hooks in :mod:`memgpt.hookspecs` with the
:data:`hookimpl` marker and are found through the ``memgpt`` entry-point
group. Importing this package is cheap: it loads no backend and no numpy.
"""

from memgpt._version import __version__
from memgpt.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
