"""The memory functions MemGPT agents call, with the original semantics; agents and their catalog."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from memgpt.agent_memory import ARCHIVAL_TOP_K, InvalidArgument, timestamp
from memgpt.client import MemGPTClient
from memgpt.errors import AlreadyExists, InvalidName, NotFound

DAY = datetime(2024, 3, 10, 9, 30, tzinfo=timezone.utc)


@pytest.fixture
def client():
    with MemGPTClient() as client:
        client.create_agent("sam")
        yield client


def test_agents_are_created_with_the_configured_defaults(client: MemGPTClient) -> None:
    agent = client.get_agent("sam")
    assert (agent.persona, agent.human, agent.preset) == ("sam_pov", "cs_phd", "memgpt_chat")
    assert agent.embedding_config["model"] == "lexical-hash-384"
    assert agent.llm_config["model"] == "gpt-4"
    assert client.get_agent(agent.id).name == "sam"  # by id too
    client.add_profile("persona", "ada_pov", "I am Ada.")
    other = client.create_agent("ada", persona="ada_pov", human="basic")
    assert (other.persona, other.human) == ("ada_pov", "basic")
    assert other.core_memory == {"persona": "I am Ada.", "human": client.list_profiles("human")[0].profile.text}
    assert [a.name for a in client.list_agents()] == ["sam", "ada"]


def test_catalog_errors_are_one_line(client: MemGPTClient) -> None:
    with pytest.raises(AlreadyExists, match="an agent named 'sam' exists already"):
        client.create_agent("sam")
    with pytest.raises(NotFound, match="no agent named 'nobody'"):
        client.memory("nobody")
    with pytest.raises(NotFound, match="no data source named 'nothing'"):
        client.attach("sam", "nothing")
    with pytest.raises(InvalidName):
        client.create_agent("../evil")


def test_archival_insert_and_search_strings(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    assert memory.archival_memory_insert("The user's favourite drink is green tea.") is None
    memory.insert_archival("The user's cat is called Pixel.")
    result = memory.archival_memory_search("favourite drink")
    prefix = "Showing 2 of 2 results (page 0/0): "
    assert result.startswith(prefix)
    items = json.loads(result[len(prefix) :])
    assert items[0].endswith("memory: The user's favourite drink is green tea.")
    assert items[0].startswith("timestamp: ") and " UTC+0000, memory: " in items[0]
    assert memory.archival_memory_search("drink", page=1) == "No results found."


def test_archival_search_pages_through_the_best_hundred(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    for i in range(ARCHIVAL_TOP_K + 20):
        memory.insert_archival(f"memory number {i} about gardening")
    first = memory.archival_memory_search("gardening")
    assert first.startswith("Showing 5 of 100 results (page 0/19)")
    assert memory.archival_memory_search("gardening", page="19").startswith("Showing 5 of 100 results (page 19/19)")
    assert memory.archival_memory_search("gardening", page=20) == "No results found."
    assert memory.archival_memory_search("gardening", page="None").startswith("Showing 5 of 100 results (page 0/19)")


def test_a_search_sees_what_another_memory_object_wrote_meanwhile(client: MemGPTClient) -> None:
    """A new search is never answered from an earlier one: it sees memories written since, by anyone.

    Later pages of one search page through that search's results (MemGPT's paging), so they do not shift under the reader.
    """
    reader, writer = client.memory("sam"), client.memory("sam")
    for i in range(7):
        writer.insert_archival(f"note {i} about the garden shed")
    assert reader.archival_memory_search("garden shed").startswith("Showing 5 of 7 results (page 0/1)")
    writer.insert_archival("The garden shed key is under the blue pot.")
    assert reader.archival_memory_search("garden shed", page=1).startswith("Showing 2 of 7 results (page 1/1)")
    again = reader.archival_memory_search("garden shed key blue pot")
    assert "under the blue pot" in json.loads(again.split(": ", 1)[1])[0]
    assert reader.archival_memory_search("garden shed").startswith("Showing 5 of 8 results (page 0/1)")


def test_conversation_search_skips_system_and_tool_messages(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    memory.append_message("system", "You are Sam. Tea is your topic.", created_at=DAY)
    memory.append_message("user", "Do you like TEA?", created_at=DAY + timedelta(seconds=1))
    memory.append_message("tool", '{"tea": true}', created_at=DAY + timedelta(seconds=2))
    memory.append_message("assistant", "I love tea.", created_at=DAY + timedelta(seconds=3))
    result = memory.conversation_search("tea")
    assert result == (
        "Showing 2 of 2 results (page 0/0): "
        + json.dumps(
            [
                f"timestamp: {timestamp(DAY + timedelta(seconds=1))}, user - Do you like TEA?",
                f"timestamp: {timestamp(DAY + timedelta(seconds=3))}, assistant - I love tea.",
            ]
        )
    )
    assert memory.recall.count() == 4


def test_date_search_covers_whole_days(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    for hours in (-10, 0, 14, 24, 40):  # 2024-03-09 23:30, 03-10 09:30, 03-10 23:30, 03-11 09:30, 03-12 01:30
        memory.append_message("user", f"at {hours}", created_at=DAY + timedelta(hours=hours))
    assert memory.conversation_search_date("2024-03-10", "2024-03-10").startswith("Showing 2 of 2 results")
    assert memory.conversation_search_date("2024-03-09", "2024-03-11").startswith("Showing 4 of 4 results")
    assert memory.conversation_search_date("2024-03-13", "2024-03-20") == "No results found."


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda m: m.conversation_search("x", page="two"), "'page' argument must be an integer"),
        (lambda m: m.conversation_search("x", page=-1), "must not be negative"),
        (lambda m: m.conversation_search_date("10/03/2024", "2024-03-10"), "Invalid date format. Expected format: YYYY-MM-DD"),
        (lambda m: m.archival_memory_insert("   "), "non-empty"),
        (lambda m: m.archival_memory_search(""), "non-empty query"),
    ],
)
def test_bad_arguments_raise_value_errors(client: MemGPTClient, call, message: str) -> None:
    with pytest.raises(ValueError, match=message) as raised:
        call(client.memory("sam"))
    assert isinstance(raised.value, InvalidArgument)


def test_long_archival_inserts_are_chunked(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    passages = memory.insert_archival(" ".join(f"word{i}" for i in range(700)))
    assert len(passages) == 3  # chunks of 300 tokens
    assert memory.archival.count() == 3


def test_list_messages_returns_the_latest_in_order(client: MemGPTClient) -> None:
    memory = client.memory("sam")
    for i in range(8):
        memory.append_message("user", f"message {i}", created_at=DAY + timedelta(minutes=i))
    assert [m.text for m in memory.list_messages(3)] == ["message 5", "message 6", "message 7"]
    assert len(memory.list_messages()) == 8
