"""Data sources through the memory API: attached without copying, shared by agents, several embedding models side by side."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from memgpt.errors import EmbeddingMismatch
from memgpt.kinds import Table
from memgpt.storage.backend import Backend, Store
from memgpt.storage.configured import open_collection
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import SUITE_SPECS, ConformanceBase, ids_of, scope_of
from memgpt.testing.data import (
    MODEL,
    OTHER_DIM,
    OTHER_MODEL,
    USER,
    make_record,
    random_unit_vectors,
)


class SourcesConformance(ConformanceBase):
    """Data sources through the memory API: attached without copying, shared by agents, several embedding models side by side."""

    def test_two_models_side_by_side(self, backend: Backend, store: Store, shelved_table: Table) -> None:
        table = shelved_table
        old, new, old_records, new_records = self._two_models(backend, store, table)
        assert (old.count(), new.count()) == (4, 3)
        assert old.embedding_spec == SUITE_SPECS[0] and new.embedding_spec == SUITE_SPECS[1]
        hits = new.search(new_records[1].embedding, k=10, model=OTHER_MODEL)
        assert hits[0].record.id == new_records[1].id and {h.record.id for h in hits} == set(ids_of(new_records))
        hits = old.search(old_records[2].embedding, k=10, model=MODEL)
        assert hits[0].record.id == old_records[2].id and {h.record.id for h in hits} == set(ids_of(old_records))
        own = open_collection(backend, store, table, Where.everything())  # the table's own collection: the first model
        assert own.embedding_spec == SUITE_SPECS[0] and sorted(ids_of(list(own.iterate()))) == sorted(ids_of(old_records))
        with pytest.raises(EmbeddingMismatch):  # a shelf still holds one model
            new.insert([make_record(table, 9, owner="owner-new")])
        assert new.delete([new_records[0].id]) == 1
        assert (old.count(), new.count()) == (4, 2)
        assert new.delete_where(Where.everything()) == 2 and old.count() == 4

    def test_the_first_model_written_owns_the_table(self, backend: Backend, store: Store, shelved_table: Table) -> None:
        table = shelved_table
        first, second = SUITE_SPECS
        reading = open_collection(backend, store, table, Where.of(user_id=USER), spec=second)  # a read claims nothing
        assert reading.count() == 0
        writer = open_collection(backend, store, table, scope_of(table, "owner-new", USER), spec=second, claim=True)
        vector = random_unit_vectors(1, OTHER_DIM, seed=3)[0]
        writer.insert([make_record(table, 0, owner="owner-new", vector=vector, model=OTHER_MODEL)])
        assert open_collection(backend, store, table, Where.everything()).embedding_spec == second
        later = open_collection(backend, store, table, scope_of(table, "owner-old", USER), spec=first, claim=True)
        later.insert([make_record(table, 0, owner="owner-old")])
        assert later.count() == 1 and writer.count() == 1 and later.embedding_spec == first

    def _docs(self, tmp_path: Any) -> list[Any]:
        folder = tmp_path / "conformance-docs"
        folder.mkdir()
        texts = {
            "tea.md": "Green tea is brewed at eighty degrees. Oolong tea likes hotter water.",
            "trains.md": "The night train leaves the station at midnight and arrives at dawn.",
            "rivers.txt": "The river floods every spring when the mountain snow melts.",
        }
        for name, text in texts.items():
            (folder / name).write_text(text)
        return sorted(folder.iterdir())

    def test_attached_source_is_searched_without_copying(self, client: Any, tmp_path: Any) -> None:
        report = client.load("docs", self._docs(tmp_path))
        assert report.passages_written == 3
        client.create_agent("reader")
        memory = client.memory("reader")
        memory.insert_archival("My own note: the kettle whistles when the tea water boils.")
        own, _ = memory.search_archival("night train station", count=10)
        assert [h.record.agent_id for h in own] == [memory.agent.id]  # nothing attached yet

        client.attach("reader", "docs")
        memory = client.memory("reader")
        hits, total = memory.search_archival("night train station", count=10)
        assert total == 4 and hits[0].record.source == "docs" and "night train" in hits[0].record.text
        assert memory.archival.count() == 1  # the source's passages were not copied into the agent
        assert client.catalog.source_passage_count("docs") == 3

        client.detach("reader", "docs")
        hits, total = client.memory("reader").search_archival("night train station", count=10)
        assert total == 1 and hits[0].record.source is None

        client.attach("reader", "docs")
        assert client.delete_source("docs") == 3
        assert client.get_agent("reader").attached_sources == ()
        assert client.list_sources() == []

    def test_one_source_serves_many_agents_and_agents_stay_apart(self, client: Any, tmp_path: Any) -> None:
        client.load("docs", self._docs(tmp_path))
        for name in ("alice", "bob"):
            client.create_agent(name)
            client.attach(name, "docs")
            client.memory(name).insert_archival(f"{name} keeps a private diary about rivers")
            client.memory(name).append_message("user", f"{name} says the secret word is {name}-river")
        alice, bob = client.memory("alice"), client.memory("bob")
        hits, total = alice.search_archival("private diary rivers", count=10)
        assert total == 4
        assert {h.record.text for h in hits if h.record.source is None} == {"alice keeps a private diary about rivers"}
        assert alice.search_messages("river")[1] == 1 and "alice-river" in alice.search_messages("river")[0][0].text
        assert bob.search_messages("alice")[1] == 0
        summary = {s.source.name: s for s in client.list_sources()}["docs"]
        assert summary.passages == 3 and set(summary.agents) == {"alice", "bob"}
        deleted = client.delete_agent("alice")
        assert deleted == {"archival": 1, "recall": 1}
        assert bob.archival.count() == 1 and bob.recall.count() == 1 and client.catalog.source_passage_count("docs") == 3

    def test_a_model_change_never_blocks(self, client: Any, tmp_path: Any) -> None:
        """After the configured model changes, sources and agents keep theirs; new ones take the new one, side by side.

        An agent searches each attached source with a query embedded by that source's own model.
        """

        from memgpt.config import MemGPTConfig

        before = replace(MemGPTConfig.load(), embedding_endpoint_type="hashing")
        before.embedding_model, before.embedding_dim, before.embedding_chunk_size = "lexical-hash-384", 384, 40
        client.config = before
        client.load("old-docs", self._docs(tmp_path))
        client.create_agent("old")
        client.memory("old").insert_archival("the old agent remembers that the user likes oolong")

        after = replace(before, embedding_model="lexical-hash-1024", embedding_dim=1024)
        client.config = after
        more = tmp_path / "more"
        more.mkdir()
        (more / "ferries.md").write_text("The ferry crosses the lake twice a day in summer.")
        assert client.load("new-docs", [more / "ferries.md"]).passages_written == 1  # a new source: the new model
        (more / "boats.md").write_text("Sailing boats race around the island every August.")
        assert client.load("old-docs", [more / "boats.md"]).passages_written == 1  # an old source: its own model
        models = {s.source.name: (s.source.embedding_model, s.passages) for s in client.list_sources()}
        assert models == {"old-docs": ("lexical-hash-384", 4), "new-docs": ("lexical-hash-1024", 1)}

        client.create_agent("new")
        client.attach("new", "old-docs")
        client.attach("new", "new-docs")
        new = client.memory("new")
        new.insert_archival("the new agent remembers the ferry timetable")
        hits, _ = new.search_archival("ferry lake summer", count=10)
        assert hits[0].record.text.startswith("The ferry crosses the lake")
        hits, _ = new.search_archival("night train station", count=10)
        assert hits[0].record.text.startswith("The night train") and hits[0].record.source == "old-docs"
        old_hits, _ = client.memory("old").search_archival("oolong", count=10)
        assert "oolong" in old_hits[0].record.text

        assert client.delete_source("old-docs") == 4
        assert client.catalog.source_passage_count("new-docs") == 1
        assert client.memory("old").archival.count() == 1 and new.archival.count() == 1
