"""Text and date searches (ordered by time, paged, counted) and the memory functions' paging."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from memgpt.kinds import RecordKind, Table
from memgpt.storage.backend import Backend
from memgpt.storage.collection import Collection
from memgpt.storage.connector import Capability
from memgpt.storage.where import Where
from memgpt.testing.conformance.base import ConformanceBase, ids_of, same_records, scope_of
from memgpt.testing.data import (
    BASE_TIME,
    make_record,
    owner_field,
)


class RecallConformance(ConformanceBase):
    """Text and date searches (ordered by time, paged, counted) and the memory functions' paging."""

    def test_text_search_matches_substrings_ignoring_case(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        texts = ["The Quick brown fox", "a QUICKSILVER moment", "slow and steady", "quick", "Grüße aus Köln", "ab"]
        coll.insert([make_record(table, i, text=t) for i, t in enumerate(texts)])

        def texts_of(query: str) -> list[str]:
            return [r.text for r in coll.text_search(query)]

        assert texts_of("quick") == [texts[0], texts[1], texts[3]]
        assert texts_of("QUICK") == [texts[0], texts[1], texts[3]]
        assert texts_of("ck bro") == [texts[0]]
        assert texts_of("Grüße") == [texts[4]]
        assert texts_of("aus köln") == [texts[4]]
        assert texts_of("b") == [texts[0], texts[5]]
        assert texts_of("steady!") == []

    def test_text_search_treats_pattern_characters_literally(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        texts = [
            "save 50% off_sale today",
            "save 50 percent off sale",
            "a*b?c[d] (e) {f} ^g$ .h| \\i",
            "quote ' and \" and ` marks",
        ]
        coll.insert([make_record(table, i, text=t) for i, t in enumerate(texts)])
        assert [r.text for r in coll.text_search("50% off_")] == [texts[0]]
        assert [r.text for r in coll.text_search("%")] == [texts[0]]
        assert [r.text for r in coll.text_search("_")] == [texts[0]]
        assert [r.text for r in coll.text_search("a*b?c[d] (e) {f} ^g$ .h| \\i")] == [texts[2]]
        assert [r.text for r in coll.text_search("\\")] == [texts[2]]
        assert [r.text for r in coll.text_search("' and \"")] == [texts[3]]
        assert coll.text_search(".*") == [] and coll.text_count("%") == 1

    def test_text_search_orders_by_time_and_pages(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        records = [  # spread over three owners: pages must be global, not per owner
            make_record(
                table, i, owner=f"owner-{i % 3}", text=f"needle {i}", created_at=BASE_TIME + timedelta(minutes=(i * 7) % 20)
            )
            for i in range(20)
        ]
        records += [make_record(table, 100 + i, text="hay") for i in range(5)]
        coll.insert(records)
        expected = sorted(records[:20], key=lambda r: (r.created_at, r.id))
        assert ids_of(coll.text_search("needle", limit=100)) == ids_of(expected)
        assert ids_of(coll.text_search("needle", limit=6, offset=6)) == ids_of(expected[6:12])
        assert ids_of(coll.text_search("needle", limit=5, offset=18)) == ids_of(expected[18:])
        assert coll.text_search("needle", limit=0) == []

    def test_text_pages_mix_records_with_and_without_embedding(self, table: Table, collection: Callable[..., Collection]) -> None:
        """A page of a text search holds whole records, with or without an embedding each."""
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        records = [make_record(table, i, text=f"needle {i}", with_embedding=i % 3 != 0) for i in range(12)]
        coll.insert(records)
        assert same_records(coll.text_search("needle", limit=5, offset=2), records[2:7])

    def test_text_search_respects_filters(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        self.fill(coll, table, 5, owner="owner-1", text="shared words")
        self.fill(coll, table, 5, owner="owner-2", text="shared words")
        assert len(coll.text_search("shared")) == 10
        scoped = collection(table, scope_of(table, "owner-2"))
        assert {getattr(r, owner_field(table)) for r in scoped.text_search("shared")} == {"owner-2"}

    def test_text_count_matches_the_search(self, table: Table, collection: Callable[..., Collection]) -> None:
        coll = collection(table)
        self.require(coll, Capability.TEXT_SEARCH)
        for owner in ("owner-1", "owner-2"):
            coll.insert([make_record(table, i, owner=owner, text=f"{'Needle' if i % 3 else 'hay'} {i}") for i in range(30)])
        assert coll.text_count("needle") == 40 == len(coll.text_search("needle", limit=1000))
        scoped = collection(table, scope_of(table, "owner-2"))
        assert scoped.text_count("NEEDLE") == 20
        assert coll.text_count("no such thing") == 0

    @pytest.fixture
    def messages(self, backend: Backend, collection: Callable[..., Collection]) -> Collection:
        if RecordKind.RECALL not in backend.kinds:
            pytest.skip(f"backend {backend.name!r} does not declare 'recall'")
        coll = collection(Table.RECALL)
        self.require(coll, Capability.DATE_SEARCH)
        return coll

    def test_date_search_is_inclusive_ordered_and_paged(self, messages: Collection) -> None:
        records = [
            make_record(Table.RECALL, i, owner=f"owner-{i % 4}", created_at=BASE_TIME + timedelta(hours=(i * 5) % 24))
            for i in range(24)
        ]
        messages.insert(records)
        start, end = BASE_TIME + timedelta(hours=3), BASE_TIME + timedelta(hours=10)
        expected = sorted((r for r in records if start <= r.created_at <= end), key=lambda r: (r.created_at, r.id))
        assert len(expected) == 8
        assert ids_of(messages.date_search(start, end)) == ids_of(expected)
        assert ids_of(messages.date_search(start, end, limit=3, offset=2)) == ids_of(expected[2:5])
        assert len(messages.date_search(None, end)) == 11
        assert len(messages.date_search(start, None)) == 21
        assert len(messages.date_search()) == 24
        assert messages.date_search(end, start) == []

    def test_date_count_matches_the_search(self, messages: Collection) -> None:
        messages.insert([make_record(Table.RECALL, i, created_at=BASE_TIME + timedelta(minutes=i)) for i in range(50)])
        start, end = BASE_TIME + timedelta(minutes=10), BASE_TIME + timedelta(minutes=29)
        assert messages.date_count(start, end) == 20 == len(messages.date_search(start, end, limit=1000))
        assert messages.date_count(start, end, Where.of(role="user")) == 10
        assert messages.date_count(end, start) == 0

    def test_date_pages_mix_messages_with_and_without_embedding(self, messages: Collection) -> None:
        records = [make_record(Table.RECALL, i, with_embedding=i % 3 != 0) for i in range(12)]
        messages.insert(records)
        assert same_records(messages.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=8), limit=4, offset=5), records[5:9])
        assert same_records(messages.date_search(limit=100), records)

    def test_date_search_respects_scope(self, messages: Collection, collection: Callable[..., Collection]) -> None:
        messages.insert([make_record(Table.RECALL, i, owner="owner-1") for i in range(6)])
        messages.insert([make_record(Table.RECALL, i, owner="owner-2") for i in range(6)])
        scoped = collection(Table.RECALL, scope_of(Table.RECALL, "owner-2"))
        found = scoped.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=3))
        assert len(found) == 4 and {m.agent_id for m in found} == {"owner-2"}
        assert len(messages.date_search(BASE_TIME, BASE_TIME + timedelta(seconds=3), where=Where.of(role="user"))) == 4

    def test_memory_functions_page_like_memgpt(self, client: Any) -> None:
        client.create_agent("pager")
        memory = client.memory("pager")
        for i in range(12):
            memory.append_message(
                "user" if i % 2 else "assistant", f"Needle number {i}", created_at=BASE_TIME + timedelta(minutes=i)
            )
        memory.append_message("system", "needle in a system message", created_at=BASE_TIME)
        memory.append_message("tool", "needle from a tool", created_at=BASE_TIME)
        first = memory.conversation_search("NEEDLE")
        assert first.startswith("Showing 5 of 12 results (page 0/2): [")
        assert "assistant - Needle number 0" in first and "system message" not in first
        assert memory.conversation_search("needle", page=2).startswith("Showing 2 of 12 results (page 2/2)")
        assert memory.conversation_search("needle", page=3) == "No results found."
        day = BASE_TIME.strftime("%Y-%m-%d")
        assert memory.conversation_search_date(day, day, page=1).startswith("Showing 5 of 12 results (page 1/2)")
        assert memory.conversation_search_date("2000-01-01", "2000-01-02") == "No results found."
