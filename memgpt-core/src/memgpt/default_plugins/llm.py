"""The built-in LLM providers' plugin: OpenAI and the local servers that speak its protocol.

Imported whenever plugins load (``memgpt --help`` too), so it imports nothing
of the LLM side until LLM providers are asked for (:mod:`memgpt.llm.openai_compatible`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from memgpt.hookspecs import hookimpl

if TYPE_CHECKING:
    from memgpt.llm.provider import LLMProvider


@hookimpl
def register_llm_providers(register: Callable[[LLMProvider], None]) -> None:
    from memgpt.llm.openai_compatible import LOCAL_SERVERS, OpenAICompatibleLLM, local_server

    register(OpenAICompatibleLLM())
    for name, label, endpoint, model in LOCAL_SERVERS:
        register(local_server(name, label, endpoint, model))
