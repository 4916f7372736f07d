"""The agent loop against a scripted OpenAI-compatible server on 127.0.0.1 (real HTTP, no mocked client).

Each test scripts what "the model" answers step by step and checks what the
agent did with it: the functions it ran, what went back to the model, what
recall memory and the agent's state hold afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import run_cli
from memgpt.agent.context import ContextState
from memgpt.agent.loop import AgentSettings
from memgpt.client import MemGPTClient
from memgpt.errors import LLMError, UnknownBackend
from memgpt.loopback import free_port
from memgpt.testing.chat_server import ChatServer, call, last_tool_result, say, tool_call


@pytest.fixture
def server() -> Iterator[ChatServer]:
    with ChatServer() as chat:
        yield chat


def configure(server_url: str, context_window: int = 8192) -> None:
    result = run_cli(
        "configure",
        "--defaults",
        "--model-endpoint-type",
        "openai",
        "--model-endpoint",
        server_url,
        "--model",
        "test-model",
        "--context-window",
        str(context_window),
        "--embedding-provider",
        "hashing",
    )
    assert result.returncode == 0, result.stderr


@pytest.fixture
def client(server: ChatServer) -> Iterator[MemGPTClient]:
    configure(server.url)
    with MemGPTClient() as c:
        c.create_agent("sam")
        yield c


def tool_results(body: dict) -> list[dict]:
    return [json.loads(m["content"]) for m in body["messages"] if m["role"] == "tool"]


def system_prompt(body: dict) -> str:
    assert body["messages"][0]["role"] == "system"
    return body["messages"][0]["content"]


# -- one turn -----------------------------------------------------------------------------


def test_send_message_is_the_reply_and_every_message_lands_in_recall(server: ChatServer, client: MemGPTClient) -> None:
    server.script.append(say("Hello Chad!", thoughts="The user greeted me."))
    messages = client.send_message("sam", "hi there")
    assert [(m.type, m.text) for m in messages] == [
        ("user_message", "hi there"),
        ("internal_monologue", "The user greeted me."),
        ("function_call", '{"message": "Hello Chad!"}'),
        ("function_return", "None"),
        ("assistant_message", "Hello Chad!"),
    ]
    request = server.steps[0]
    assert [t["function"]["name"] for t in request["tools"]] == [
        "send_message",
        "core_memory_append",
        "core_memory_replace",
        "archival_memory_insert",
        "archival_memory_search",
        "conversation_search",
        "conversation_search_date",
    ]
    assert request["messages"][-1] == {"role": "user", "content": "hi there"}
    prompt = system_prompt(request)
    assert client.get_agent("sam").core_memory["persona"] in prompt and "First name: Chad" in prompt
    assert "0 total memories you created are stored in archival memory" in prompt
    stored = client.memory("sam").list_messages()
    assert [(m.role, m.text) for m in stored][:2] == [("user", "hi there"), ("assistant", "Hello Chad!")]
    assert (
        stored[1].metadata["thoughts"] == "The user greeted me." and stored[1].tool_calls[0]["function"]["name"] == "send_message"
    )
    assert stored[2].role == "tool" and json.loads(stored[2].text)["status"] == "OK"
    assert [m.created_at for m in stored] == sorted(m.created_at for m in stored)
    assert len({m.created_at for m in stored}) == len(stored)
    # what the agent said is found by conversation search (it searches user and assistant messages)
    assert client.memory("sam").search_messages("hello chad")[1] == 1


def test_a_model_that_answers_in_plain_text_is_heard(server: ChatServer, client: MemGPTClient) -> None:
    server.script.append({"content": "Hi! (no function called)"})
    turn = client.agent("sam").send("hello")
    assert turn.replies == ["Hi! (no function called)"] and turn.steps == 1


def test_core_memory_edits_are_saved_and_shown_in_the_next_prompt(server: ChatServer, client: MemGPTClient) -> None:
    server.script.extend(
        [
            call("core_memory_append", {"name": "human", "content": "Drinks oolong."}),
            call("core_memory_replace", {"name": "human", "old_content": "Chad", "new_content": "Chadwick"}),
            say("Noted."),
        ]
    )
    turn = client.agent("sam").send("My full name is Chadwick and I drink oolong.")
    assert turn.steps == 3 and turn.replies == ["Noted."]
    human = client.get_agent("sam").core_memory["human"]
    assert human.startswith("First name: Chadwick\n") and human.endswith("\nDrinks oolong.")
    assert "Drinks oolong." in system_prompt(server.steps[1]) and "Chadwick" in system_prompt(server.steps[2])
    assert "Chadwick" not in system_prompt(server.steps[1])
    heartbeat = server.steps[1]["messages"][-1]
    assert heartbeat["role"] == "user" and json.loads(heartbeat["content"])["type"] == "heartbeat"


def test_a_memory_inserted_in_a_turn_is_found_by_a_search_in_the_same_turn(server: ChatServer, client: MemGPTClient) -> None:
    server.script.extend(
        [
            call("archival_memory_search", {"query": "cat"}),
            call("archival_memory_insert", {"content": "The user's cat is called Miso."}),
            call("archival_memory_search", {"query": "cat"}),
            call("archival_memory_search", {"query": "what is the cat called", "page": 1}),
            say("Miso!"),
        ]
    )
    client.agent("sam").send("My cat is Miso. What is my cat called?")
    first, _, found, page_one = (last_tool_result(server.steps[i])["message"] for i in (1, 2, 3, 4))
    assert first == "No results found."
    assert found.startswith("Showing 1 of 1 results (page 0/0): ") and "memory: The user's cat is called Miso." in found
    assert page_one == "No results found."  # one match: page 1 is empty
    assert "1 total memories you created are stored in archival memory" in system_prompt(server.steps[4])


def test_conversation_search_pages_and_search_by_date(server: ChatServer, client: MemGPTClient) -> None:
    memory = client.memory("sam")
    for i in range(7):
        memory.append_message("user", f"tea question {i}")
    today = time.strftime("%Y-%m-%d", time.gmtime())
    server.script.extend(
        [
            call("conversation_search", {"query": "TEA QUESTION"}),
            call("conversation_search", {"query": "tea question", "page": 1}),
            call("conversation_search_date", {"start_date": today, "end_date": today}),
            call("conversation_search_date", {"start_date": "2001-01-01", "end_date": "2001-01-02"}),
            say("Found them."),
        ]
    )
    client.agent("sam").send("what did I ask about tea?")
    page0, page1, by_date, none = (last_tool_result(server.steps[i])["message"] for i in (1, 2, 3, 4))
    assert page0.startswith("Showing 5 of 7 results (page 0/1): ") and "tea question 0" in page0 and "tea question 4" in page0
    assert page1.startswith("Showing 2 of 7 results (page 1/1): ") and "tea question 6" in page1
    # the 7, this turn's message and the agent's three steps so far (each says which function it called)
    assert by_date.startswith("Showing 5 of 11 results (page 0/2): ")
    assert none == "No results found."


# -- heartbeats and errors -----------------------------------------------------------------


def test_heartbeats_chain_steps_and_stop_at_the_limit(server: ChatServer, client: MemGPTClient) -> None:
    server.script.extend([call("conversation_search", {"query": f"x{i}"}) for i in range(10)])
    agent = client.agent("sam", settings=AgentSettings(max_steps=4))
    turn = agent.send("keep searching")
    assert turn.steps == 4 and turn.stopped == "step_limit" and turn.replies == []
    assert len(server.steps) == 4
    heartbeats = [m for m in turn.messages if m.type == "heartbeat"]
    assert len(heartbeats) == 3  # between the steps, none after the last
    # without request_heartbeat the turn ends after the function
    server.script.clear()
    server.script.append(call("archival_memory_insert", {"content": "a fact"}, heartbeat=False))
    assert client.agent("sam").send("remember a fact").steps == 1


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"tool_calls": [tool_call("archival_memory_insert", "{not json")]}, "the arguments are not valid JSON"),
        ({"tool_calls": [tool_call("launch_rockets", {"count": 3})]}, "no function named 'launch_rockets'"),
        ({"tool_calls": [tool_call("core_memory_append", {"name": "human"})]}, "missing content"),
        ({"tool_calls": [tool_call("conversation_search", {"query": "x", "colour": "red"})]}, "unknown colour"),
        (call("core_memory_append", {"name": "robot", "content": "beep"}), "no core memory block named 'robot'"),
        (call("core_memory_append", {"name": "human", "content": "x" * 2500}), "Edit failed: exceeds 2000 character limit"),
        (call("core_memory_replace", {"name": "human", "old_content": "Zelda", "new_content": "Link"}), "not found"),
        (call("conversation_search_date", {"start_date": "yesterday", "end_date": "today"}), "Expected format: YYYY-MM-DD"),
        (call("archival_memory_search", {"query": "x", "page": "two"}), "'page' argument must be an integer"),
    ],
)
def test_a_failed_call_goes_back_to_the_model_which_gets_another_step(
    server: ChatServer, client: MemGPTClient, answer: dict, expected: str
) -> None:
    server.script.extend([answer, say("Sorry, fixed.")])
    turn = client.agent("sam").send("do something")
    assert turn.replies == ["Sorry, fixed."] and turn.steps == 2
    result = last_tool_result(server.steps[1])
    assert result["status"] == "Failed" and expected in result["message"], result
    reason = json.loads(server.steps[1]["messages"][-1]["content"])["reason"]
    assert "Function call failed" in reason
    assert next(m.ok for m in turn.messages if m.type == "function_return") is False
    assert client.get_agent("sam").core_memory["human"].startswith("First name: Chad\n")  # nothing half-done


def test_several_calls_in_one_answer_each_get_their_result(server: ChatServer, client: MemGPTClient) -> None:
    both = {
        "tool_calls": [
            tool_call("archival_memory_insert", {"content": "fact one", "request_heartbeat": False}, "c1"),
            tool_call("send_message", {"message": "Saved."}, "c2"),
        ]
    }
    server.script.append(both)
    turn = client.agent("sam").send("save fact one")
    assert turn.replies == ["Saved."] and turn.steps == 1
    server.script.append(say("ok"))
    client.agent("sam").send("next")
    results = [m for m in server.steps[1]["messages"] if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == ["c1", "c2"]


def test_llm_server_errors_are_one_line(server: ChatServer, client: MemGPTClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from memgpt.llm.openai_chat import OpenAICompatibleChat

    monkeypatch.setattr(OpenAICompatibleChat, "backoff_seconds", 0.0)
    server.script.append(400)
    with pytest.raises(LLMError, match=r"rejected the request \(HTTP 400"):
        client.agent("sam").send("hello")
    server.models = ("another-model",)
    with pytest.raises(LLMError, match="does not serve model 'test-model'"):
        client.agent("sam").send("hello")
    server.models = ("test-model",)
    server.script.extend([503, 503, say("back")])
    assert client.agent("sam").send("hello again").replies == ["back"]  # busy servers are retried
    # the user's messages of failed turns are kept; the conversation goes on
    assert [m.text for m in client.memory("sam").list_messages() if m.role == "user"] == ["hello", "hello", "hello again"]


def test_cli_errors_name_the_server_and_the_fix(tmp_path: Path) -> None:
    port = free_port()
    configure(f"http://127.0.0.1:{port}")
    assert run_cli("create", "agent", "sam").returncode == 0
    down = run_cli("send", "--agent", "sam", "hello")
    assert down.returncode == 1 and "Traceback" not in down.stderr
    assert down.stderr.strip().startswith(f"Error: cannot reach the LLM server at http://127.0.0.1:{port}")
    assert len(down.stderr.strip().splitlines()) == 1
    result = run_cli("configure", "--defaults", "--model-endpoint-type", "no-such-llm")
    assert result.returncode != 0 and "no-such-llm" in result.stderr and "Traceback" not in result.stderr
    missing = run_cli("send", "--agent", "nobody", "hello")
    assert missing.returncode == 1 and "no agent named 'nobody'" in missing.stderr


# -- the context window ----------------------------------------------------------------------


def test_a_full_context_warns_then_summarizes_and_hidden_messages_stay_searchable(server: ChatServer) -> None:
    configure(server.url, context_window=6000)
    with MemGPTClient() as client:
        client.create_agent("sam")
        agent = client.agent("sam")
        server.summary = "We talked about the history of tea in China and Japan."
        warned_at = summarized_at = None
        for i in range(80):
            server.script.append(say(f"Reply {i}: " + "tea " * 30))
            turn = agent.send(f"Question {i} about the long history of tea, in some detail please " + "leaf " * 20)
            if warned_at is None and any(m.type == "system_alert" for m in turn.messages):
                warned_at = i
            if turn.summarized:
                summarized_at = i
                break
        assert warned_at is not None and summarized_at is not None and warned_at < summarized_at
        assert server.summaries == 1
        state = ContextState.of(client.get_agent("sam"))
        assert state.summary == server.summary and state.hidden > 0 and not state.warned
        server.script.append(say("ok"))
        agent.send("next question")
        prompt = server.steps[-1]["messages"]
        alert = json.loads(prompt[1]["content"])
        assert alert["type"] == "system_alert" and server.summary in alert["message"]
        assert f"prior messages ({state.hidden} of" in alert["message"]
        visible = json.dumps(prompt)
        assert "Question 0 about" not in visible and "Question 1 about" not in visible
        assert client.memory("sam").search_messages("Question 0 about")[1] == 1  # still in recall memory
        from memgpt.agent.tokens import count_tokens

        assert sum(count_tokens(json.dumps(m)) for m in prompt) < 6000


def test_a_context_too_small_for_the_core_memory_is_one_line(server: ChatServer) -> None:
    configure(server.url, context_window=300)
    with MemGPTClient() as client:
        client.create_agent("sam")
        with pytest.raises(LLMError, match="more than its context window"):
            client.agent("sam").send("hello")


# -- processes ----------------------------------------------------------------------------------


def test_a_turn_killed_mid_step_loses_at_most_that_step_and_the_conversation_goes_on(server: ChatServer) -> None:
    configure(server.url)
    assert run_cli("create", "agent", "sam").returncode == 0
    reached = threading.Event()
    release = threading.Event()

    def hold_second_step(body: dict) -> None:
        if sum(1 for m in body["messages"] if m["role"] == "tool") >= 1 and not release.is_set():
            reached.set()
            release.wait(30)

    server.delay = hold_second_step
    server.script.extend(
        [
            {"tool_calls": [tool_call("archival_memory_insert", {"content": "Miso is a cat.", "request_heartbeat": True}, "k1")]},
            say("never delivered"),
        ]
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "memgpt", "send", "--agent", "sam", "remember Miso"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert reached.wait(60), process.communicate(timeout=5)
    process.send_signal(signal.SIGKILL)
    process.wait(30)

    def answer(body: dict) -> dict:  # the held request of the killed process may still take one of these
        asked = body["messages"][-1]["content"]
        return say("I remember: Miso is a cat.") if asked == "what did I tell you?" else say("too late")

    server.script.clear()
    server.script.extend([answer, answer])
    release.set()
    server.delay = None
    result = run_cli("send", "--agent", "sam", "what did I tell you?")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "I remember: Miso is a cat."
    prompt = server.steps[-1]["messages"]
    texts = [m.get("content") or "" for m in prompt]
    assert "remember Miso" in texts and texts[-1] == "what did I tell you?"
    assert any(m["role"] == "tool" and m["tool_call_id"] == "k1" for m in prompt)
    with MemGPTClient() as client:
        passages = client.memory("sam").list_archival()
        assert [p.text for p in passages] == ["Miso is a cat."]  # the step before the kill happened once
        users = [m.text for m in client.memory("sam").list_messages() if m.role == "user"]
        assert users == ["remember Miso", "what did I tell you?"]


def test_a_call_interrupted_before_its_result_is_answered_as_interrupted(server: ChatServer, client: MemGPTClient) -> None:
    memory = client.memory("sam")
    memory.append_message("user", "save this")
    memory.append_message(
        "assistant", "", tool_calls=[tool_call("archival_memory_insert", {"content": "x", "request_heartbeat": True}, "lost")]
    )
    server.script.append(say("ok"))
    client.agent("sam").send("are you there?")
    prompt = server.steps[0]["messages"]
    answer = next(m for m in prompt if m["role"] == "tool")
    assert answer["tool_call_id"] == "lost" and json.loads(answer["content"])["status"] == "Failed"
    assert "process stopped" in json.loads(answer["content"])["message"]
    assert prompt.index(answer) < [m.get("content") for m in prompt].index("are you there?")


# -- the commands ----------------------------------------------------------------------------------


def test_memgpt_send_prints_the_reply_and_json_gives_every_message(server: ChatServer) -> None:
    configure(server.url)
    assert run_cli("create", "agent", "sam").returncode == 0
    server.script.append(say("Hello!", thoughts="A greeting."))
    plain = run_cli("send", "--agent", "sam", "hi")
    assert plain.returncode == 0 and plain.stdout == "Hello!\n" and plain.stderr == ""
    server.script.extend([call("core_memory_append", {"name": "human", "content": "Says hi a lot."}), say("Hi again!")])
    data = json.loads(run_cli("send", "--agent", "sam", "hi again", "--json").stdout)
    assert data["agent"] == "sam" and data["replies"] == ["Hi again!"] and data["steps"] == 2 and data["stopped"] == "done"
    assert [m["type"] for m in data["messages"]] == [
        "user_message",
        "function_call",
        "function_return",
        "heartbeat",
        "function_call",
        "function_return",
        "assistant_message",
    ]
    assert data["messages"][1]["function"] == "core_memory_append"
    assert data["messages"][1]["arguments"] == {"name": "human", "content": "Says hi a lot.", "request_heartbeat": True}
    assert data["usage"]["prompt_tokens"] == 20


def test_memgpt_run_talks_until_exit(server: ChatServer) -> None:
    configure(server.url)
    server.script.extend([call("archival_memory_insert", {"content": "Likes tea."}, thoughts="Save it."), say("Got it!")])
    session = "/help\nI like tea\n/memory\n/nonsense\n/exit\nnever read\n"
    result = run_cli("run", "--agent", "newbie", "--persona", "memgpt_starter", "--human", "basic", input=session)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Created agent 'newbie' (persona 'memgpt_starter', human 'basic')." in out
    assert "/memory   show the agent's core memory" in out
    assert "(thinking) Save it." in out and "⚡ archival_memory_insert(content='Likes tea.'" in out
    assert "newbie> Got it!" in out
    assert "core memory: human (" in out and "archival memory: 1 passages; recall memory: " in out
    assert "unknown command /nonsense" in out
    assert len(server.steps) == 2
    again = run_cli("run", "--agent", "newbie", "--persona", "sam_pov", input="/exit\n")
    assert again.returncode == 2 and "only apply to a new agent" in again.stderr


def test_memgpt_run_json_prints_a_line_of_json_per_message(server: ChatServer) -> None:
    configure(server.url)
    server.script.append(say("Hi!"))
    result = run_cli("run", "--agent", "sam", "--json", input="hello\n/memory\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == [
        "agent_created",
        "ready",
        "user_message",
        "function_call",
        "function_return",
        "assistant_message",
        "memory",
    ]
    assert lines[5]["text"] == "Hi!" and lines[6]["core_memory"]["human"]["limit"] == 2000


def test_an_agent_of_memgpt_0_5_gets_its_persona_and_human_texts_once(server: ChatServer, client: MemGPTClient) -> None:
    from dataclasses import replace

    from memgpt.profiles import BUILT_IN

    old = client.get_agent("sam")
    client.catalog.save_agent(replace(old, core_memory={"persona": "sam_pov", "human": "cs_phd"}))  # as 0.5 stored it
    server.script.append(say("hi"))
    client.agent("sam").send("hello")
    assert client.get_agent("sam").core_memory == {
        "persona": BUILT_IN[("persona", "sam_pov")],
        "human": BUILT_IN[("human", "cs_phd")],
    }
    assert BUILT_IN[("persona", "sam_pov")] in system_prompt(server.steps[0])


def test_two_processes_talking_to_one_agent_take_turns(server: ChatServer) -> None:
    configure(server.url)
    assert run_cli("create", "agent", "sam").returncode == 0
    server.delay = lambda body: time.sleep(1.0)  # each step is slow: the turns would overlap without the lock
    server.script.extend([say("first answer"), say("second answer")])
    senders = [
        subprocess.Popen(
            [sys.executable, "-m", "memgpt", "send", "--agent", "sam", f"message {i}"],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in senders]
    assert all(p.returncode == 0 for p in senders), outputs
    assert sorted(out.strip() for out, _ in outputs) == ["first answer", "second answer"]
    with MemGPTClient() as client:
        roles = [(m.role, m.text) for m in client.memory("sam").list_messages()]
    assert [r for r, _ in roles] == ["user", "assistant", "tool", "user", "assistant", "tool"]  # one turn after the other
    assert {roles[0][1], roles[3][1]} == {"message 0", "message 1"}
    assert roles[1][1] == "first answer" and roles[4][1] == "second answer"


def test_an_agent_keeps_its_llm_until_told_to_switch(server: ChatServer) -> None:
    configure("http://127.0.0.1:9")  # nothing listens there
    assert run_cli("create", "agent", "sam").returncode == 0
    assert "cannot reach the LLM server at http://127.0.0.1:9" in run_cli("send", "--agent", "sam", "hi").stderr
    server.script.append(say("Now I answer."))
    switched = run_cli("send", "--agent", "sam", "hi again", "--model-endpoint", server.url, "--context-window", "16000")
    assert switched.returncode == 0 and switched.stdout == "Now I answer.\n", switched.stderr
    assert f"Agent 'sam' now talks with openai:test-model at {server.url} (16000 tokens)." in switched.stderr
    shown = json.loads(run_cli("show", "agent", "sam", "--json").stdout)["llm_config"]
    assert (shown["model_endpoint"], shown["context_window"]) == (server.url, 16000)
    with MemGPTClient() as client:
        ollama = client.use_llm("sam", provider="ollama").llm_config
        assert (ollama["model_endpoint"], ollama["model"]) == ("http://localhost:11434/v1", "llama3.1")
        with pytest.raises(UnknownBackend, match="no LLM provider named 'nope'"):
            client.use_llm("sam", provider="nope")
        from memgpt.errors import ConfigError

        with pytest.raises(ConfigError, match="must be an http:// or https:// URL"):
            client.use_llm("sam", endpoint="ftp://user:secret@host")
        with pytest.raises(ConfigError) as refused:
            client.use_llm("sam", endpoint="ftp://user:secret@host")
        assert "secret" not in str(refused.value)


def test_calls_with_the_same_id_in_one_answer_each_get_their_own_result(server: ChatServer, client: MemGPTClient) -> None:
    twice = {
        "tool_calls": [
            tool_call("archival_memory_insert", {"content": "one", "request_heartbeat": True}, "same"),
            tool_call("archival_memory_insert", {"content": "two", "request_heartbeat": True}, "same"),
        ]
    }
    server.script.extend([twice, say("done")])
    client.agent("sam").send("save two facts")
    sent = server.steps[1]["messages"]
    calls = next(m for m in sent if m.get("tool_calls"))["tool_calls"]
    results = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert len({c["id"] for c in calls}) == 2 and results == [c["id"] for c in calls]
    assert sorted(p.text for p in client.memory("sam").list_archival()) == ["one", "two"]


def test_two_users_on_one_home_each_talk_with_their_own_agent_of_the_same_name(server: ChatServer) -> None:
    configure(server.url)
    with MemGPTClient(user_id="alice") as alice, MemGPTClient(user_id="bob") as bob:
        alice.add_profile("human", "me", "Alice, a pilot.")
        alice.create_agent("helper", human="me")
        bob.create_agent("helper")
        server.script.extend([call("archival_memory_insert", {"content": "Alice flies on Mondays."}), say("Noted, Alice.")])
        alice.send_message("helper", "I fly on Mondays.")
        server.script.extend([call("archival_memory_search", {"query": "who flies on Mondays"}), say("I do not know.")])
        bob.send_message("helper", "Who flies on Mondays?")
        assert last_tool_result(server.steps[-1])["message"] == "No results found."  # Bob's agent never sees Alice's memory
        assert "Alice, a pilot." not in system_prompt(server.steps[-1])
        assert [m.text for m in bob.memory("helper").list_messages() if m.role == "user"] == ["Who flies on Mondays?"]
        assert [m.text for m in alice.memory("helper").list_messages() if m.role == "user"] == ["I fly on Mondays."]


def test_a_damaged_conversation_file_is_one_line_and_nothing_else_is_touched(server: ChatServer) -> None:
    configure(server.url)
    assert run_cli("create", "agent", "sam").returncode == 0
    assert run_cli("create", "agent", "tom").returncode == 0
    server.script.append(say("hi sam"))
    assert run_cli("send", "--agent", "sam", "hello").returncode == 0
    with MemGPTClient() as client:
        sam_id = client.get_agent("sam").id
    files = list((Path(os.environ["MEMGPT_HOME"]) / "agents").glob(f"{sam_id}/memory*.sqlite"))
    assert files
    for path in files:
        path.write_bytes(b"not a database at all" * 1000)
    broken = run_cli("send", "--agent", "sam", "are you there?")
    assert broken.returncode == 1 and "Traceback" not in broken.stderr
    assert len(broken.stderr.strip().splitlines()) == 1 and str(files[0].parent) in broken.stderr, broken.stderr
    server.script.append(say("hi tom"))
    fine = run_cli("send", "--agent", "tom", "hello")  # another agent is not affected
    assert fine.returncode == 0 and fine.stdout == "hi tom\n", fine.stderr
