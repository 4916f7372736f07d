"""The built-in LLM providers: OpenAI and the local servers that speak its chat-completions protocol.

Each ``chat_model()`` imports the client when called; the plugin module that
registers these (:mod:`memgpt.default_plugins.llm`) imports this one only when
LLM providers are asked for.
"""

from __future__ import annotations

from typing import ClassVar

from memgpt.llm.provider import ChatModel, LLMConfig, LLMProvider


class OpenAICompatibleLLM(LLMProvider):
    """A server speaking OpenAI's ``/v1/chat/completions`` with tool calling."""

    name: ClassVar[str] = "openai"
    label: ClassVar[str] = "OpenAI chat completions (tool calling)"
    default_endpoint: ClassVar[str] = "https://api.openai.com/v1"
    default_model: ClassVar[str] = "gpt-4"
    key_variables: ClassVar[tuple[str, ...]] = ("OPENAI_API_KEY",)

    def chat_model(self, config: LLMConfig) -> ChatModel:
        from dataclasses import replace

        from memgpt.llm.openai_chat import OpenAICompatibleChat

        return OpenAICompatibleChat(replace(config, endpoint=config.endpoint or self.default_endpoint), self.key_variables)


def local_server(name: str, label: str, endpoint: str, model: str) -> OpenAICompatibleLLM:
    """A local server speaking the same protocol: no key; ``model`` is a suggestion (``""``: ask which it serves)."""
    provider = type(
        f"{name.capitalize()}LLM",
        (OpenAICompatibleLLM,),
        {"name": name, "label": label, "default_endpoint": endpoint, "default_model": model, "key_variables": ()},
    )
    return provider()


LOCAL_SERVERS = (
    ("ollama", "Ollama (OpenAI-compatible API)", "http://localhost:11434/v1", "llama3.1"),
    ("vllm", "vLLM (OpenAI-compatible server)", "http://localhost:8000/v1", ""),
    ("lmstudio", "LM Studio (local server)", "http://localhost:1234/v1", ""),
    ("llamacpp", "llama.cpp server (OpenAI-compatible API)", "http://localhost:8080/v1", ""),
)
