"""The catalog (agent state, loaded sources, personas and humans): round trips, updates, deletes, record types, names per user."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from memgpt.errors import InvalidRecord
from memgpt.kinds import Table
from memgpt.records import AgentState, Profile, Source
from memgpt.storage.collection import Collection
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import TRICKY_NAMES, ConformanceBase, ids_of, same_records
from memgpt.testing.data import (
    OTHER_USER,
    USER,
    make_agent,
    make_profile,
    make_source,
)


class AgentsConformance(ConformanceBase):
    """The catalog (agent state, loaded sources, personas and humans): round trips, updates, deletes, record types, names per user."""

    def test_agent_state_round_trip_update_and_delete(self, catalog: None, collection: Callable[..., Collection]) -> None:
        everyone = collection(Table.AGENTS, Where.everything())
        agents = collection(Table.AGENTS)
        states = [make_agent(i, user=USER if i < 3 else OTHER_USER, sources=("docs",) if i == 1 else ()) for i in range(5)]
        everyone.insert(states)
        assert agents.get("agent-1") == states[1]
        assert isinstance(agents.get("agent-1"), AgentState)
        assert agents.count() == 3 and everyone.count() == 5
        assert {a.id for a in collection(Table.AGENTS, Where.of(user_id=OTHER_USER)).iterate()} == {"agent-3", "agent-4"}
        assert ids_of(agents.iterate(Where.of(name="Agent 2"))) == ["agent-2"]
        updated = make_agent(1, sources=("docs", "papers"))
        updated.core_memory = {"persona": "changed", "human": "changed too"}
        agents.insert([updated])
        assert agents.get("agent-1") == updated and everyone.count() == 5
        assert agents.delete(["agent-0"]) == 1
        assert agents.get("agent-0") is None and everyone.count() == 4

    def test_source_catalog_round_trip(self, catalog: None, collection: Callable[..., Collection]) -> None:
        everyone = collection(Table.SOURCES, Where.everything())
        sources = collection(Table.SOURCES)
        entries = [make_source(name, user=USER) for name in ("docs", "papers", TRICKY_NAMES[0])]
        entries.append(make_source("docs-2", user=OTHER_USER))
        everyone.insert(entries)
        assert isinstance(sources.get("docs"), Source)
        assert sources.get_many(["papers", TRICKY_NAMES[0]]) == entries[1:3]
        assert sources.count() == 3
        assert everyone.delete_where(Where.of(user_id=OTHER_USER)) == 1
        assert everyone.count() == 3

    def test_personas_and_humans_round_trip(self, catalog: None, collection: Callable[..., Collection]) -> None:
        """A persona and a human may share a name; each user has their own; texts keep every character."""
        everyone = collection(Table.PROFILES, Where.everything())
        profiles = collection(Table.PROFILES)
        text = "Line one.\n\n  Indented — ünïcødé, quotes \" ' and a tab\t." + " more" * 500
        written = [
            make_profile("persona", "sam", text=text),
            make_profile("human", "sam"),
            make_profile("persona", TRICKY_NAMES[0]),
            make_profile("persona", "sam", user=OTHER_USER, text="someone else's sam"),
        ]
        everyone.insert(written)
        assert isinstance(profiles.get("persona:sam"), Profile)
        assert profiles.get("persona:sam") == written[0] and profiles.get("human:sam") == written[1]
        assert profiles.count() == 3 and everyone.count() == 4
        assert sorted(p.name for p in profiles.iterate(Where.of(kind="persona"))) == sorted(["sam", TRICKY_NAMES[0]])
        assert ids_of(profiles.iterate(Where.of(kind="human", name="sam"))) == ["human:sam"]
        profiles.insert([replace(written[0], text="edited")])
        assert profiles.get("persona:sam").text == "edited"
        assert collection(Table.PROFILES, Where.of(user_id=OTHER_USER)).get("persona:sam").text == "someone else's sam"
        assert profiles.delete(["human:sam"]) == 1
        assert profiles.get("human:sam") is None and everyone.count() == 3

    def test_catalog_refuses_wrong_record_types(self, catalog: None, collection: Callable[..., Collection]) -> None:
        with pytest.raises(InvalidRecord, match="AgentState"):
            collection(Table.AGENTS).insert([make_source("docs")])
        with pytest.raises(InvalidRecord, match="Source"):
            collection(Table.SOURCES).insert([make_agent(1)])
        with pytest.raises(InvalidRecord, match="AgentState"):
            collection(Table.PROFILES).insert([make_agent(1)])
        assert collection(Table.AGENTS).count() == 0 and collection(Table.SOURCES).count() == 0
        assert collection(Table.PROFILES).count() == 0

    def test_two_users_may_name_agents_and_sources_alike(self, catalog: None, collection: Callable[..., Collection]) -> None:
        """Agent and source names, and ids, are unique per user: one user's write or delete never reaches the other's."""
        for table, make in (
            (Table.SOURCES, lambda user: replace(make_source("notes", user=user), description=f"notes of {user}")),
            (Table.AGENTS, lambda user: replace(make_agent(1, user=user), core_memory={"human": f"the human of {user}"})),
        ):
            a, b = collection(table, Where.of(user_id=USER)), collection(table, Where.of(user_id=OTHER_USER))
            mine, theirs = make(USER), make(OTHER_USER)
            a.insert([mine])
            b.insert([theirs])
            assert same_records(a.get(mine.id), mine) and same_records(b.get(theirs.id), theirs)
            assert collection(table, Where.everything()).count() == 2
            if table is Table.AGENTS:
                assert same_records(list(a.iterate(Where.of(name=mine.name))), [mine])
            b.insert([replace(theirs, metadata={"replaced": True})])
            assert same_records(a.get(mine.id), mine)
            assert b.delete([theirs.id]) == 1
            assert same_records(a.get(mine.id), mine) and a.count() == 1 and b.count() == 0
