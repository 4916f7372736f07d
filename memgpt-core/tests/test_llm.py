"""LLM providers: the hook, and the built-in OpenAI-compatible chat client against a real local HTTP server."""

from __future__ import annotations

import json

import pytest

from memgpt import plugins
from memgpt.errors import LLMError, LLMUnavailable, UnknownBackend
from memgpt.llm.openai_chat import OpenAICompatibleChat, chat_url
from memgpt.llm.provider import ChatMessage, LLMConfig, LLMProvider
from memgpt.loopback import free_port
from memgpt.testing.chat_server import ChatServer, tool_call

SEND = {
    "name": "send_message",
    "description": "Send a message to the user.",
    "parameters": {"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]},
}


@pytest.fixture(autouse=True)
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(OpenAICompatibleChat, "backoff_seconds", 0.01)


def chat(server: ChatServer, provider: str = "ollama", model: str = "test-model"):
    return plugins.get_llm_provider(provider).chat_model(LLMConfig(provider, model, server.url))


def test_hook_register_llm_providers() -> None:
    found = plugins.llm_providers()
    assert list(found)[:5] == ["openai", "ollama", "vllm", "lmstudio", "llamacpp"]
    assert all(isinstance(info.item, LLMProvider) and info.distribution == "memgpt-core" for info in found.values())
    assert found["openai"].item.key_variables == ("OPENAI_API_KEY",) and found["ollama"].item.key_variables == ()
    with pytest.raises(UnknownBackend, match="no LLM provider named 'nope'"):
        plugins.get_llm_provider("nope")


def test_a_bare_server_address_gets_the_v1_prefix() -> None:
    assert chat_url("http://localhost:11434") == "http://localhost:11434/v1/chat/completions"
    assert chat_url("http://localhost:11434/v1/") == "http://localhost:11434/v1/chat/completions"
    assert chat_url("https://example.com/openai/v1") == "https://example.com/openai/v1/chat/completions"


def test_text_and_tool_calls_come_back_with_the_tools_sent() -> None:
    with ChatServer() as server:
        server.script.extend(
            [{"content": "Thinking.", "tool_calls": [tool_call("send_message", {"message": "Hi!"})]}, {"content": "Done."}]
        )
        model = chat(server)
        answer = model.complete([ChatMessage("system", "You are Sam."), ChatMessage("user", "Hello")], [SEND])
        assert answer.message.content == "Thinking." and answer.finish_reason == "tool_calls"
        [call] = answer.message.tool_calls
        assert (call.name, json.loads(call.arguments)) == ("send_message", {"message": "Hi!"})
        follow_up = [
            ChatMessage("assistant", "Thinking.", answer.message.tool_calls),
            ChatMessage("tool", "OK", tool_call_id=call.id),
        ]
        assert model.complete(follow_up).message.content == "Done."
        sent = server.requests[0]["body"]
        assert sent["model"] == "test-model" and sent["tools"][0]["function"]["name"] == "send_message"
        assert server.requests[1]["body"]["messages"][1] == {"role": "tool", "content": "OK", "tool_call_id": "call_1"}
        assert answer.usage["total_tokens"] == 15


def test_busy_servers_are_retried() -> None:
    with ChatServer() as server:
        server.script.extend([503, 429, {"content": "finally"}])
        assert chat(server).complete([ChatMessage("user", "hi")]).message.content == "finally"
        assert len(server.requests) == 3


def test_a_missing_model_is_one_line_naming_it() -> None:
    with ChatServer() as server, pytest.raises(LLMError) as raised:
        chat(server, model="llama9").complete([ChatMessage("user", "hi")])
    assert "does not serve model 'llama9'" in str(raised.value) and "\n" not in str(raised.value)


def test_a_refused_key_names_where_keys_are_read_and_never_shows_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-123456")
    with ChatServer(key="sk-right") as server, pytest.raises(LLMError) as raised:
        chat(server, provider="openai").complete([ChatMessage("user", "hi")])
    assert "OPENAI_API_KEY" in str(raised.value) and "sk-wrong-123456" not in str(raised.value)
    assert server.requests[0]["auth"] == "Bearer sk-wrong-123456"


def test_a_server_that_is_not_running_is_one_line() -> None:
    model = plugins.get_llm_provider("ollama").chat_model(LLMConfig("ollama", "llama3.1", f"http://127.0.0.1:{free_port()}"))
    with pytest.raises(LLMUnavailable, match=r"cannot reach the LLM server at .*is it running"):
        model.complete([ChatMessage("user", "hi")])


def test_no_model_configured_is_refused() -> None:
    with pytest.raises(LLMError, match="no LLM model is configured"):
        plugins.get_llm_provider("ollama").chat_model(LLMConfig("ollama", "", "http://127.0.0.1:1"))


THIRD_PARTY_LLM = """
from memgpt import hookimpl
from memgpt.plugin import LLMProvider


class EchoLLM(LLMProvider):
    name = "echo-llm"
    label = "A third party's LLM provider"
    default_endpoint = "http://127.0.0.1:9"
    default_model = "echo-1"
    key_variables = ("ECHO_LLM_KEY",)

    def chat_model(self, config):
        raise NotImplementedError


@hookimpl
def register_llm_providers(register):
    register(EchoLLM())
"""


def test_configure_offers_the_installed_llm_providers_and_a_third_partys_by_being_installed(
    fake_distribution, monkeypatch
) -> None:
    from click.testing import CliRunner

    from memgpt import plugins
    from memgpt.cli import main
    from memgpt.config import MemGPTConfig

    def choices() -> list[dict]:
        result = CliRunner().invoke(main, ["configure", "--choices"], catch_exceptions=False)
        return json.loads(result.output)["llm_providers"]

    assert [p["name"] for p in choices()] == ["openai", "ollama", "vllm", "lmstudio", "llamacpp"]
    fake_distribution("memgpt-llm-echo", "1.0", "memgpt_llm_echo", THIRD_PARTY_LLM)
    monkeypatch.setenv("MEMGPT_LOAD_PLUGINS", "memgpt-llm-echo")
    plugins.reset()
    try:
        echo = [p for p in choices() if p["name"] == "echo-llm"]
        assert echo == [
            {
                "name": "echo-llm",
                "label": "A third party's LLM provider",
                "distribution": "memgpt-llm-echo",
                "version": "1.0",
                "default_endpoint": "http://127.0.0.1:9",
                "default_model": "echo-1",
                "key_variables": ["ECHO_LLM_KEY"],
            }
        ]
        result = CliRunner().invoke(
            main, ["configure", "--defaults", "--model-endpoint-type", "echo-llm"], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        assert "LLM API key (echo-llm): read from ECHO_LLM_KEY" in result.output
        config = MemGPTConfig.load()
        assert (config.model_endpoint_type, config.model_endpoint, config.model) == ("echo-llm", "http://127.0.0.1:9", "echo-1")
    finally:
        plugins.reset()


def test_arguments_sent_as_an_object_or_in_the_older_function_call_form_are_read() -> None:
    with ChatServer() as server:
        model = chat(server)
        server.script.append({"tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": {"a": 1}}}]})
        assert model.complete([ChatMessage("user", "x")], [{"name": "f"}]).message.tool_calls[0].arguments == '{"a": 1}'
        server.script.append({"content": None, "function_call": {"name": "g", "arguments": '{"b": 2}'}})
        (call,) = model.complete([ChatMessage("user", "x")], [{"name": "g"}]).message.tool_calls
        assert (call.name, call.arguments) == ("g", '{"b": 2}')
