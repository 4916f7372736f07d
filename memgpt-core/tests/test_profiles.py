"""Personas and humans (``memgpt add|list|delete persona|human``) and the core memory agents start from."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from helpers import run_cli
from memgpt.agent.core_memory import CoreMemory, CoreMemoryError
from memgpt.client import MemGPTClient
from memgpt.config import MemGPTConfig
from memgpt.errors import AlreadyExists, InvalidName, InvalidRecord, NotFound
from memgpt.profiles import BUILT_IN, CORE_MEMORY_LIMIT


@pytest.fixture
def client() -> MemGPTClient:
    with MemGPTClient() as c:
        yield c


def test_every_user_starts_with_the_built_in_personas_and_humans(client: MemGPTClient) -> None:
    for kind in ("persona", "human"):
        listed = client.list_profiles(kind)
        assert [e.profile.name for e in listed] == sorted(name for k, name in BUILT_IN if k == kind)
        assert all(e.built_in and e.profile.text == BUILT_IN[(kind, e.profile.name)] for e in listed)
    config = MemGPTConfig.load()
    agent = client.create_agent("sam")
    assert agent.core_memory == {"persona": BUILT_IN[("persona", config.persona)], "human": BUILT_IN[("human", config.human)]}


def test_an_agent_copies_its_persona_and_human_and_keeps_its_copy(client: MemGPTClient) -> None:
    client.add_profile("persona", "ada", "I am Ada, a mathematician.")
    client.add_profile("human", "bob", "Bob likes tea.")
    agent = client.create_agent("ada-agent", persona="ada", human="bob")
    assert (agent.persona, agent.human) == ("ada", "bob")
    assert agent.core_memory == {"persona": "I am Ada, a mathematician.", "human": "Bob likes tea."}
    client.add_profile("persona", "ada", "Changed later.", replace=True)
    client.delete_profile("human", "bob")
    assert client.get_agent("ada-agent").core_memory == {"persona": "I am Ada, a mathematician.", "human": "Bob likes tea."}
    assert client.create_agent("ada-2", persona="ada", human="basic").core_memory["persona"] == "Changed later."


def test_profiles_refuse_what_they_cannot_hold(client: MemGPTClient) -> None:
    client.add_profile("persona", "ada", "I am Ada.")
    with pytest.raises(AlreadyExists, match="pass --replace"):
        client.add_profile("persona", "ada", "Someone else.")
    with pytest.raises(AlreadyExists, match=r"built in\); pass --replace"):
        client.add_profile("persona", "sam_pov", "Not Sam.")
    with pytest.raises(InvalidRecord, match="2,001 characters long; a core-memory block holds 2,000"):
        client.add_profile("human", "long", "x" * (CORE_MEMORY_LIMIT + 1))
    with pytest.raises(InvalidName, match="may not contain '/'"):
        client.add_profile("persona", "../escape", "text")
    with pytest.raises(InvalidRecord, match="NUL"):
        client.add_profile("persona", "nul", "a\x00b")
    with pytest.raises(InvalidName, match="persona or a human"):
        client.add_profile("robot", "r2", "beep")
    with pytest.raises(NotFound, match="no persona named 'nobody'; memgpt list personas"):
        client.create_agent("x", persona="nobody")
    with pytest.raises(InvalidRecord, match="built in and cannot be deleted"):
        client.delete_profile("persona", "sam_pov")
    with pytest.raises(NotFound, match="no human named 'ghost'"):
        client.delete_profile("human", "ghost")
    assert client.catalog.find_agent("x") is None
    assert [e.profile.text for e in client.list_profiles("persona") if e.profile.name == "ada"] == ["I am Ada."]


def test_a_persona_and_a_human_may_share_a_name_and_a_users_own_replaces_a_built_in_one(client: MemGPTClient) -> None:
    client.add_profile("persona", "sam", "persona sam")
    client.add_profile("human", "sam", "human sam")
    client.add_profile("persona", "sam_pov", "my own sam", replace=True)
    personas = {e.profile.name: e for e in client.list_profiles("persona")}
    assert personas["sam"].profile.text == "persona sam" and not personas["sam_pov"].built_in
    assert personas["sam_pov"].profile.text == "my own sam"
    assert {e.profile.name: e.profile.text for e in client.list_profiles("human")}["sam"] == "human sam"
    assert client.delete_profile("persona", "sam_pov") is True  # the built-in one is back
    assert {e.profile.name: e for e in client.list_profiles("persona")}["sam_pov"].built_in


def test_each_user_has_their_own_profiles() -> None:
    with MemGPTClient(user_id="alice") as alice, MemGPTClient(user_id="bob") as bob:
        alice.add_profile("persona", "helper", "Alice's helper.")
        bob.add_profile("persona", "helper", "Bob's helper.")
        assert alice.create_agent("a", persona="helper").core_memory["persona"] == "Alice's helper."
        assert bob.create_agent("b", persona="helper").core_memory["persona"] == "Bob's helper."
        bob.delete_profile("persona", "helper")
        assert [e.profile.text for e in alice.list_profiles("persona") if e.profile.name == "helper"] == ["Alice's helper."]


def test_cli_adds_lists_and_deletes_personas_and_humans(tmp_path: Path) -> None:
    text_file = tmp_path / "ada.txt"
    text_file.write_text("I am Ada.\nI like proofs.\n", encoding="utf-8")
    assert run_cli("add", "persona", "--name", "ada", "-f", str(text_file)).returncode == 0
    assert run_cli("add", "human", "bob", "--text", "Bob likes tea.").returncode == 0
    piped = run_cli("add", "human", "--name", "cy", "-f", "-", input="Cy lives in Graz.\n")
    assert piped.returncode == 0, piped.stderr
    personas = {p["name"]: p for p in json.loads(run_cli("list", "personas", "--json").stdout)}
    assert personas["ada"] == {
        "kind": "persona",
        "name": "ada",
        "text": "I am Ada.\nI like proofs.",
        "built_in": False,
        "created_at": personas["ada"]["created_at"],
    }
    assert personas["sam_pov"]["built_in"]
    table = run_cli("list", "humans").stdout
    assert "bob     yours     Bob likes tea." in table and "Cy lives in Graz." in table
    assert run_cli("create", "agent", "ada-agent", "--persona", "ada", "--human", "cy").returncode == 0
    shown = run_cli("show", "agent", "ada-agent").stdout
    assert "core memory: persona (24/2,000 characters)\n  I am Ada.\n  I like proofs." in shown
    assert "core memory: human (17/2,000 characters)\n  Cy lives in Graz." in shown
    both = run_cli("add", "persona", "x", "--text", "t", "-f", str(text_file))
    assert both.returncode == 2 and "give the persona's text once" in both.stderr
    again = run_cli("add", "persona", "ada", "--text", "t")
    assert (
        again.returncode == 1
        and again.stderr.strip() == "Error: a persona named 'ada' exists already; pass --replace to change its text"
    )
    assert run_cli("add", "persona", "ada", "--text", "Ada, again.", "--replace").returncode == 0
    deleted = run_cli("delete", "human", "cy", "--yes")
    assert deleted.returncode == 0 and deleted.stdout.strip() == "Deleted human 'cy'."
    missing = run_cli("create", "agent", "z", "--human", "cy")
    assert missing.returncode == 1 and "no human named 'cy'" in missing.stderr and "Traceback" not in missing.stderr
    escape = run_cli("add", "persona", "../../etc", "--text", "t")
    assert escape.returncode == 1 and "may not contain '/'" in escape.stderr
    assert json.loads(run_cli("show", "agent", "ada-agent", "--json").stdout)["core_memory"]["human"] == "Cy lives in Graz."


def test_profiles_are_files_only_their_owner_reads() -> None:
    with MemGPTClient() as client:
        client.add_profile("persona", "private", "secret persona")
    files = list(Path(os.environ["MEMGPT_HOME"]).glob("profiles/**/*.sqlite"))
    assert files
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_profiles_move_with_export_and_import(tmp_path: Path) -> None:
    assert run_cli("add", "persona", "ada", "--text", "I am Ada.").returncode == 0
    assert run_cli("export", str(tmp_path / "backup")).returncode == 0
    other = {"MEMGPT_HOME": str(tmp_path / "other-home")}
    imported = run_cli("import", str(tmp_path / "backup"), env=other)
    assert imported.returncode == 0, imported.stderr
    personas = {p["name"]: p["text"] for p in json.loads(run_cli("list", "personas", "--json", env=other).stdout)}
    assert personas["ada"] == "I am Ada."


# -- core memory -------------------------------------------------------------------------


def test_core_memory_edits_keep_to_each_blocks_limit(client: MemGPTClient) -> None:
    agent = client.create_agent("sam", persona="", human="")
    core = CoreMemory.of(agent)
    assert core.blocks == {"persona": "", "human": ""} and core.limit("human") == CORE_MEMORY_LIMIT
    assert core.append("human", "Name: Bob") == "Name: Bob"
    assert core.append("human", "Likes tea") == "Name: Bob\nLikes tea"
    assert core.replace("human", "tea", "coffee") == "Name: Bob\nLikes coffee"
    assert core.replace("human", "\nLikes coffee", "") == "Name: Bob"
    with pytest.raises(CoreMemoryError, match=r"Edit failed: exceeds 2000 character limit \(requested 2010\)"):
        core.append("human", "y" * 2000)
    with pytest.raises(CoreMemoryError, match="old_content not found in the human block"):
        core.replace("human", "Alice", "Carol")
    with pytest.raises(CoreMemoryError, match="no core memory block named 'robot'; the blocks are persona, human"):
        core.append("robot", "beep")
    assert core.blocks["human"] == "Name: Bob"  # a refused edit changes nothing
    saved = client.catalog.save_agent(core.applied_to(agent))
    assert CoreMemory.of(client.get_agent("sam")).blocks["human"] == "Name: Bob"
    smaller = replace(saved, metadata={**saved.metadata, "core_memory_limits": {"persona": 10, "human": 20}})
    tight = CoreMemory.of(smaller)
    with pytest.raises(CoreMemoryError, match="exceeds 20 character limit"):
        tight.append("human", "a long line of text")
    assert 'characters="9/20"' in tight.render()
