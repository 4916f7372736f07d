"""Partition names (memgpt.storage.partitions): what a store lists, and which scope reads one partition."""

from __future__ import annotations

from memgpt.kinds import Table
from memgpt.records import EmbeddingSpec
from memgpt.storage.helpers import collection_name
from memgpt.storage.partitions import owner_of, partition_shelf, partition_shelves_in
from memgpt.storage.shelves import shelf_of
from memgpt.storage.where import Where


def test_a_partition_is_named_after_its_user_and_owner_in_lowercase_hex() -> None:
    shelf = partition_shelf("", "user-1", "agent")
    assert shelf.startswith("p") and len(shelf) == 17 and shelf[1:].isalnum() and shelf == shelf.lower()
    assert partition_shelf("", "user-2", "agent") != shelf, "two users' agents of one name are two partitions"
    assert partition_shelf("", "user", "1agent") != partition_shelf("", "user1", "agent"), "no ambiguity at the join"
    assert partition_shelf("", "user-1", "other")[:9] == shelf[:9], "a user's partitions share their first digits"
    model = shelf_of(EmbeddingSpec("other-model", 256))
    assert partition_shelf(model, "user-1", "agent") == model + shelf


def test_partitions_are_found_among_an_engine_s_names_by_table_and_shelf() -> None:
    model = shelf_of(EmbeddingSpec("other-model", 256))
    mine = partition_shelf("", "user-1", "agent")
    theirs = partition_shelf("", "user-2", "agent")
    on_model = partition_shelf(model, "user-1", "agent")
    names = [
        collection_name(Table.ARCHIVAL),
        collection_name(Table.ARCHIVAL, mine),
        collection_name(Table.ARCHIVAL, theirs) + "_plain",  # a partition holding only records without vectors
        collection_name(Table.ARCHIVAL, on_model),
        collection_name(Table.SOURCE_PASSAGES, mine),
        collection_name(Table.ARCHIVAL, model),
        "memgpt_archival_pzzzzzzzzzzzzzzzz",
        "somebody_else_s_table",
    ]
    assert partition_shelves_in(names, Table.ARCHIVAL) == {mine, theirs}
    assert partition_shelves_in(names, Table.ARCHIVAL, model) == {on_model}
    assert partition_shelves_in(names, Table.SOURCE_PASSAGES) == {mine}
    assert partition_shelves_in(["pre_archival_" + mine], Table.ARCHIVAL, prefix="pre_") == {mine}


def test_only_a_scope_of_one_user_s_one_owner_reads_one_partition() -> None:
    assert owner_of(Table.ARCHIVAL, Where.of(user_id="u", agent_id="a")) == ("u", "a")
    assert owner_of(Table.SOURCE_PASSAGES, Where.of(user_id="u", source="s")) == ("u", "s")
    assert owner_of(Table.SOURCE_PASSAGES, Where.of(user_id="u", source=["s", "t"])) is None
    assert owner_of(Table.ARCHIVAL, Where.of(user_id="u")) is None
    assert owner_of(Table.ARCHIVAL, Where.of(agent_id="a")) is None
    assert owner_of(Table.ARCHIVAL, Where.of(user_id=["u", "v"], agent_id="a")) is None
