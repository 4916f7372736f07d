"""The hooks a memgpt plugin can implement.

Each hook receives a ``register`` callback instead of returning values, so one
plugin can register several things and a hook's signature can grow new
arguments without breaking existing plugins (pluggy lets implementations take
fewer arguments than the spec). Every hook is documented in
``docs/plugin_hooks.md`` and has a ``test_hook_<name>`` test; a meta-test fails
when one is missing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from memgpt.embeddings.provider import EmbeddingProvider
    from memgpt.llm.provider import LLMProvider
    from memgpt.sources.readers import Reader
    from memgpt.storage.backend import Backend

PROJECT_NAME = "memgpt"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def register_backends(register: Callable[[Backend], None]) -> None:
    """Register storage backends: call ``register(backend)`` once per :class:`~memgpt.storage.backend.Backend`.

    Keep the module that implements this hook light: import the backend's
    client library inside ``Backend.open``, not at module level, so that
    ``memgpt --help`` and ``memgpt backends`` stay fast.
    """


@hookspec
def register_embedding_providers(register: Callable[[EmbeddingProvider], None]) -> None:
    """Register embedding providers: call ``register(provider)`` once per :class:`~memgpt.embeddings.EmbeddingProvider`.

    Import the provider's client library inside ``EmbeddingProvider.embedder``.
    """


@hookspec
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    """Register LLM providers for the agent loop: call ``register(provider)`` once per :class:`~memgpt.llm.provider.LLMProvider`.

    Import the provider's client library inside ``LLMProvider.chat_model``.
    """


@hookspec
def register_readers(register: Callable[[Reader], None]) -> None:
    """Register document readers for ``memgpt load``: call ``register(reader)`` once per :class:`~memgpt.sources.readers.Reader`."""


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``memgpt`` command line: ``@cli.command()`` or ``cli.add_command(command)``, as in llm.

    The commands appear in ``memgpt --help`` and run like built-in ones (one-line
    errors, ``MEMGPT_DEBUG=1`` for a traceback). A name memgpt already uses is
    reported and ignored. Import what a command needs inside its function, so
    that loading the plugin stays cheap.
    """
