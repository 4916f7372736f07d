"""`memgpt migrate`, `memgpt export` and `memgpt import` on the local backend, as a user runs them.

Cross-backend chains live in ``integration/``; every backend package also runs
local -> backend -> local itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from memgpt.cli import main
from memgpt.config import MemGPTConfig
from memgpt.kinds import Table
from memgpt.paths import memgpt_home
from memgpt.records import EmbeddingSpec, Passage
from memgpt.storage.configured import Storage
from memgpt.storage.where import Where
from memgpt.testing.migration import (
    as_user,
    assert_same_snapshot,
    configured_at,
    counts,
    fill_memories,
    kill_migration_after,
    migration_round_trip,
    search_answers,
    snapshot,
)
from memgpt.transfer.checksum import Digest


def run(*args: str, ok: bool = True) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    if ok:
        assert result.exit_code == 0, result.output + repr(result.exception)
    return result.exit_code, result.output


def to_local(target: Path, *extra: str) -> list[str]:
    return [
        "migrate",
        "--to-archival",
        "local",
        "--to-archival-uri",
        str(target),
        "--to-recall",
        "local",
        "--to-recall-uri",
        str(target),
        *extra,
    ]


def config_at(target: Path) -> MemGPTConfig:
    return configured_at("local", str(target))


@pytest.fixture
def filled(tmp_path: Path) -> dict[str, int]:
    run("configure", "--defaults")
    return fill_memories(tmp_path / "documents")


def test_migrate_copies_every_record_exactly_and_switch_points_at_the_copy(filled: dict[str, int], tmp_path: Path) -> None:
    assert filled == {"profiles": 4, "sources": 2, "agents": 3, "source_passages": 5, "archival": 6, "recall": 15}
    before, answers = snapshot(), search_answers()
    target = tmp_path / "target"

    _, out = run(*to_local(target, "--json"))
    report = json.loads(out)
    assert not report["switched"]
    assert {t: r["target_count"] for t, r in report["tables"].items()} == filled
    assert all(r["identical"] and r["source_checksum"] == r["target_checksum"] for r in report["tables"].values())
    assert MemGPTConfig.load().archival_storage.settings.get("path", "") == ""  # not switched
    assert_same_snapshot(snapshot(config_at(target)), before)

    _, out = run(*to_local(target, "--switch"))
    assert "Migration verified" in out and "now points at it" in out
    assert MemGPTConfig.load().archival_storage.settings["path"] == str(target)
    assert_same_snapshot(snapshot(), before)
    assert search_answers() == answers
    # the source was never touched
    assert_same_snapshot(snapshot(config_at(memgpt_home())), before)


def test_dry_run_reports_and_writes_nothing(filled: dict[str, int], tmp_path: Path) -> None:
    target = tmp_path / "target"
    _, out = run(*to_local(target, "--dry-run", "--json"))
    plan = {row["table"]: row for row in json.loads(out)}
    assert {t: row["records"] for t, row in plan.items()} == filled
    assert plan["archival"]["to"] == f"local:{target}"
    assert all(row["in_target"] == 0 for row in plan.values())
    assert all(n == 0 for n in counts(config_at(target)).values())
    _, text = run(*to_local(target, "--dry-run"))
    assert "Dry run: nothing was copied." in text and "source_passages" in text


def test_migrating_twice_changes_nothing(filled: dict[str, int], tmp_path: Path) -> None:
    target = tmp_path / "target"
    before = snapshot()
    run(*to_local(target))
    run(*to_local(target))
    assert {t.value: n for t, n in counts(config_at(target)).items()} == filled
    assert_same_snapshot(snapshot(config_at(target)), before)


def test_migration_killed_mid_copy_finishes_when_run_again(tmp_path: Path) -> None:
    run("configure", "--defaults")
    fill_memories(tmp_path / "documents", bulk=40_000)
    before = snapshot()
    target = tmp_path / "target"
    # a real SIGKILL while archival memory (after the catalog and the source passages) is being copied
    kill_migration_after("source_passages", to_local(target, "--batch-size", "200"), memgpt_home())
    partial = counts(config_at(target))
    assert partial[Table.SOURCES] == 2 and partial[Table.AGENTS] == 3
    assert partial[Table.ARCHIVAL] < 40_006 and partial[Table.RECALL] == 0, partial

    _, out = run(*to_local(target, "--json"))
    report = json.loads(out)["tables"]
    assert report["sources"]["copied"] == 0 and report["source_passages"]["copied"] == 0  # verified, not copied again
    assert report["archival"]["copied"] == 40_006 - partial[Table.ARCHIVAL] and report["recall"]["copied"] == 15
    assert_same_snapshot(snapshot(config_at(target)), before)
    assert not list((memgpt_home() / "migrations").glob("*.json"))  # a finished migration forgets its state


def test_a_migration_rerun_copies_what_changed_at_the_source_meanwhile(tmp_path: Path) -> None:
    """Killed, then memories written and deleted at the source: the rerun copies and removes what changed, and finishes."""
    run("configure", "--defaults")
    fill_memories(tmp_path / "documents", bulk=20_000)
    target = tmp_path / "target"
    kill_migration_after("source_passages", to_local(target, "--batch-size", "200"), memgpt_home())
    run("archival", "insert", "--agent", "ada", "Ada moved to Lisbon in May.")
    run("recall", "append", "--agent", "cy", "--role", "user", "Remember the blue door.")
    with Storage() as storage:  # a passage the first run copied, deleted at the source since
        passages = storage.collection(Table.SOURCE_PASSAGES, Where.of(user_id=MemGPTConfig.load().user_id))
        gone = next(passages.iterate())
        assert passages.delete([gone.id]) == 1
    before = snapshot()
    _, out = run(*to_local(target, "--json"))
    report = json.loads(out)["tables"]
    assert all(r["identical"] for r in report.values()), report
    assert report["source_passages"]["removed"] == 1
    assert_same_snapshot(snapshot(config_at(target)), before)


def test_a_damaged_migration_state_file_never_blocks_a_rerun(tmp_path: Path) -> None:
    run("configure", "--defaults")
    fill_memories(tmp_path / "documents", bulk=20_000)
    target = tmp_path / "target"
    kill_migration_after("source_passages", to_local(target, "--batch-size", "200"), memgpt_home())
    states = list((memgpt_home() / "migrations").glob("*.json"))
    assert states
    for state in states:
        state.write_bytes(b"\xff<damaged")
    run("archival", "insert", "--agent", "ada", "Ada moved to Lisbon in May.")
    before = snapshot()
    _, out = run(*to_local(target, "--json"))
    assert all(r["identical"] for r in json.loads(out)["tables"].values())
    assert_same_snapshot(snapshot(config_at(target)), before)


def test_a_target_holding_another_model_keeps_it_and_takes_ours_beside_it(filled: dict[str, int], tmp_path: Path) -> None:
    target = tmp_path / "target"
    stranger = Passage(
        id="x", text="someone else's", user_id="u2", agent_id="a2", embedding=np.ones(8), embedding_model="other-8"
    )
    with Storage(config_at(target)) as storage:
        storage.collection(Table.ARCHIVAL, Where.everything()).insert([stranger])
    me = MemGPTConfig.load().user_id
    before, answers = snapshot(user_id=me), search_answers()
    _, out = run(*to_local(target, "--json"))
    report = json.loads(out)
    assert all(entry["identical"] for entry in report["tables"].values())
    assert report["tables"]["archival"]["target_count"] == filled["archival"]
    with Storage(config_at(target)) as storage:
        own = storage.collection(Table.ARCHIVAL, Where.everything())
        assert own.embedding_spec == EmbeddingSpec("other-8", 8) and [p.id for p in own.iterate()] == ["x"]
    run(*to_local(target, "--switch"))
    assert_same_snapshot(snapshot(user_id=me), before)
    assert search_answers() == answers


def test_re_embed_copies_with_the_configured_model(filled: dict[str, int], tmp_path: Path) -> None:
    before = snapshot()
    run("configure", "--defaults", "--embedding-model", "lexical-hash-1024", "--embedding-dim", "1024")
    target = tmp_path / "target"
    _, out = run(*to_local(target, "--re-embed", "--switch", "--json"))
    assert json.loads(out)["switched"]
    after = snapshot()
    for table in ("source_passages", "archival"):
        for record_id, record in before[table].items():
            copy = after[table][record_id]
            assert len(copy["embedding"]) == 1024 and copy["embedding_model"] == "lexical-hash-1024"
            assert {k: v for k, v in copy.items() if k not in ("embedding", "embedding_model")} == {
                k: v for k, v in record.items() if k not in ("embedding", "embedding_model")
            }
    assert after["recall"] == before["recall"]  # messages carry no embedding: unchanged
    assert {a["embedding_config"]["model"] for a in after["agents"].values()} == {"lexical-hash-1024"}
    assert {s["embedding_dim"] for s in after["sources"].values()} == {1024}
    _, out = run("archival", "search", "--agent", "ada", "how hot for green tea", "--json")
    found = json.loads(out)
    assert "eighty degrees" in found["results"][0]["text"]
    # the old store still holds the 384-d originals
    assert_same_snapshot(snapshot(config_at(memgpt_home())), before)


def test_migrate_needs_a_target_and_a_known_backend(filled: dict[str, int]) -> None:
    code, out = run("migrate", ok=False)
    assert code == 2 and "--to-archival and/or --to-recall" in out
    code, out = run("migrate", "--to-archival", "nosuch", ok=False)
    assert code == 1 and "nosuch" in out.strip().splitlines()[-1]


def test_export_then_import_into_a_fresh_home_reproduces_everything(
    filled: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, answers = snapshot(), search_answers()
    archive = tmp_path / "backup"
    _, out = run("export", str(archive), "--json")
    manifest = json.loads(out)
    assert manifest == json.loads((archive / "manifest.json").read_text())
    assert manifest["format"] == "memgpt-export" and manifest["format_version"] == 2
    for table, entry in manifest["tables"].items():
        lines = (archive / entry["records"]).read_text().splitlines()
        assert len(lines) == entry["count"] == filled[table]
        if entry["vectors"]:  # readable with numpy alone
            vectors = np.load(archive / entry["vectors"])
            assert vectors.dtype == np.float32 and vectors.shape == (entry["count"], 384)
            first = json.loads(lines[0])
            assert vectors[first["vector"]].tolist() == before[table][first["id"]]["embedding"]
    assert manifest["tables"]["archival"]["embedding"] == {"model": "lexical-hash-384", "dim": 384}
    digest = Digest()
    with Storage() as storage:
        digest.add(storage.collection(Table.RECALL, Where.everything()).iterate())
    assert manifest["tables"]["recall"]["checksum"] == digest.hexdigest

    assert manifest["users"] == [MemGPTConfig.load().user_id]

    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "fresh-home"))
    run("configure", "--defaults")
    me = MemGPTConfig.load().user_id
    assert me != manifest["users"][0]
    _, out = run("import", str(archive))
    assert f"Imported 35 records from {archive} for user {me}; every collection verified" in out
    assert_same_snapshot(snapshot(), as_user(before, me))  # the records are now this user's: ids and all else kept
    assert search_answers() == answers


def test_import_keep_user_ids_restores_exactly(filled: dict[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot()
    me = MemGPTConfig.load().user_id
    archive = tmp_path / "backup"
    run("export", str(archive))
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "fresh-home"))
    run("configure", "--defaults", "--user-id", me)  # the same user on a new machine
    run("import", str(archive), "--keep-user-ids")
    assert_same_snapshot(snapshot(), before)
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "admin-home"))
    run("configure", "--defaults")
    code, out = run("import", str(archive), "--keep-user-ids", ok=False)  # another user may not write as me ...
    assert code == 1 and "other user(s)" in out and all(n == 0 for n in counts().values())
    run("import", str(archive), "--all-users")  # ... except as an administrator's restore
    assert_same_snapshot(snapshot(), before)


def test_an_export_of_several_users_is_an_administrators_all_users_restore(
    filled: dict[str, int], tmp_path: Path, monkeypatch
) -> None:
    me = MemGPTConfig.load().user_id
    stranger = Passage(
        id="x", text="someone else's", user_id="u2", agent_id="a2", embedding=np.ones(384), embedding_model="lexical-hash-384"
    )
    with Storage() as storage:
        storage.collection(Table.ARCHIVAL, Where.everything()).insert([stranger])
    mine = tmp_path / "mine"
    run("export", str(mine))
    assert json.loads((mine / "manifest.json").read_text())["users"] == [me]  # only the configured user's, by default
    archive = tmp_path / "backup"
    run("export", str(archive), "--all-users")
    assert json.loads((archive / "manifest.json").read_text())["users"] == sorted([me, "u2"])
    before = snapshot()
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "fresh-home"))
    run("configure", "--defaults")
    code, out = run("import", str(archive), ok=False)
    assert code == 1 and "holds the memories of 2 users" in out and "--all-users" in out
    code, out = run("import", str(archive), "--keep-user-ids", ok=False)
    assert code == 1 and "other user(s)" in out and "--all-users" in out
    assert all(n == 0 for n in counts().values())
    run("import", str(archive), "--all-users")
    assert_same_snapshot(snapshot(), before)


def test_import_refuses_existing_ids_unless_overwrite(filled: dict[str, int], tmp_path: Path) -> None:
    archive = tmp_path / "backup"
    run("export", str(archive))
    before = snapshot()
    code, out = run("import", str(archive), ok=False)
    assert code == 1
    assert "exist already" in out and "nothing was imported" in out and "--overwrite" in out
    assert_same_snapshot(snapshot(), before)
    _, out = run("import", str(archive), "--overwrite")
    assert_same_snapshot(snapshot(), before)


def test_import_into_a_store_with_other_records_adds_them(filled: dict[str, int], tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "backup"
    run("export", str(archive))
    exported = snapshot()
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "other-home"))
    run("configure", "--defaults")
    run("create", "agent", "--name", "dora")
    run("archival", "insert", "--agent", "dora", "Dora keeps bees.")
    mine = snapshot()
    run("import", str(archive))
    merged = snapshot()
    for table, records in as_user(exported, MemGPTConfig.load().user_id).items():
        assert merged[table] == {**mine[table], **records}


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (None, "has no manifest.json"),
        ("{not json", "is not valid JSON"),
        ('{"format": "zip"}', "is not a memgpt export"),
        ('{"format": "memgpt-export", "format_version": 99}', "format version 99; this memgpt reads versions 1, 2"),
    ],
)
def test_import_rejects_what_is_not_an_export(filled: dict[str, int], tmp_path: Path, manifest: str | None, message: str) -> None:
    folder = tmp_path / "not-an-export"
    folder.mkdir()
    if manifest is not None:
        (folder / "manifest.json").write_text(manifest)
    code, out = run("import", str(folder), ok=False)
    assert code == 1 and message in out and len(out.strip().splitlines()) == 1


def test_export_refuses_a_folder_that_is_not_empty(filled: dict[str, int], tmp_path: Path) -> None:
    folder = tmp_path / "busy"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    code, out = run("export", str(folder), ok=False)
    assert code == 1 and "is not an empty folder" in out
    assert [p.name for p in folder.iterdir()] == ["keep.txt"]


def test_tampered_export_fails_verification_naming_the_collection(filled: dict[str, int], tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "backup"
    run("export", str(archive))
    records = archive / "archival.jsonl"
    lines = records.read_text().splitlines()
    first = json.loads(lines[0])
    first["text"] += " (edited)"
    records.write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "fresh"))
    run("configure", "--defaults")
    code, out = run("import", str(archive), ok=False)
    assert code == 1 and "archival.jsonl does not match its manifest" in out and "nothing was imported" in out
    assert all(n == 0 for n in counts().values())


def test_import_into_a_home_of_another_model_puts_the_passages_beside_its_own(
    filled: dict[str, int], tmp_path: Path, monkeypatch
) -> None:
    answers = search_answers()
    archive = tmp_path / "backup"
    run("export", str(archive))
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "other"))
    run("configure", "--defaults", "--embedding-model", "lexical-hash-1024", "--embedding-dim", "1024")
    run("create", "agent", "--name", "dora")
    run("archival", "insert", "--agent", "dora", "Dora keeps bees.")
    run("import", str(archive))
    imported = {key: value for key, value in search_answers().items() if not key.startswith("dora/")}
    assert imported == answers  # the imported agents search with their own model (384-d)
    _, out = run("archival", "search", "--agent", "dora", "bees", "--json")
    assert json.loads(out)["results"][0]["text"] == "Dora keeps bees."
    _, out = run("storage", "status", "--json")
    tables = {t["table"]: t["count"] for t in json.loads(out)["tables"]}
    assert tables["archival"] == 1 and tables["archival (lexical-hash-384, 384-d)"] == filled["archival"]


def test_the_backend_round_trip_passes_on_local(tmp_path: Path) -> None:
    """What every backend package runs (with its own backend): here local -> local -> local."""
    migration_round_trip(tmp_path, "local", str(tmp_path / "target"), str(tmp_path / "fresh"), env={"MEMGPT_LOAD_PLUGINS": ""})


DOCS = Path(__file__).resolve().parents[2] / "docs" / "migration.md"


@pytest.mark.skipif(not DOCS.is_file(), reason="needs the repository checkout")
def test_the_documented_checksum_recipe_verifies_an_export(filled: dict[str, int], tmp_path: Path) -> None:
    archive = tmp_path / "backup"
    run("export", str(archive))
    recipe = re.findall(r"```python\n(.*?)\n```", DOCS.read_text(), flags=re.DOTALL)
    assert len(recipe) == 1
    namespace: dict = {}
    exec(compile(recipe[0], str(DOCS), "exec"), namespace)
    namespace["verify"](archive)
    (archive / "recall.jsonl").write_text((archive / "recall.jsonl").read_text().replace("TEA", "COFFEE"))
    with pytest.raises(AssertionError, match="recall"):
        namespace["verify"](archive)


def test_import_check_verifies_files_and_writes_nothing(filled: dict[str, int], tmp_path: Path, monkeypatch) -> None:
    archive = tmp_path / "backup"
    run("export", str(archive))
    monkeypatch.setenv("MEMGPT_HOME", str(tmp_path / "fresh"))
    run("configure", "--defaults")
    _, out = run("import", "--check", str(archive))
    assert "35 records of 1 user(s), every file matches its manifest" in out
    assert all(n == 0 for n in counts().values())
    vectors = np.load(archive / "archival.vectors.npy")
    vectors[0, 0] += 1e-3
    np.save(archive / "archival.vectors.npy", vectors)
    code, out = run("import", "--check", str(archive), ok=False)
    assert code == 1 and "archival.jsonl does not match its manifest" in out


def test_moving_only_recall_memory_leaves_the_rest_where_it_is(filled: dict[str, int], tmp_path: Path) -> None:
    before = snapshot()
    target = tmp_path / "recall-only"
    _, out = run("migrate", "--to-recall", "local", "--to-recall-uri", str(target), "--switch", "--json")
    tables = json.loads(out)["tables"]
    assert tables["recall"]["target_count"] == 15 and not tables["recall"]["stays"]
    assert all(tables[t]["stays"] and tables[t]["copied"] == 0 for t in ("sources", "agents", "source_passages", "archival"))
    config = MemGPTConfig.load()
    assert config.recall_storage.settings["path"] == str(target)
    assert config.archival_storage.settings.get("path", "") == ""
    assert_same_snapshot(snapshot(), before)
    assert counts(configured_at("local", str(target)))[Table.RECALL] == 15


def test_migration_memory_stays_bounded_by_the_batch_not_the_data(tmp_path: Path) -> None:
    """60,000 passages of 384 float32s (92 MB of vectors) move with a fraction of that in memory."""
    import tracemalloc

    run("configure", "--defaults")
    fill_memories(tmp_path / "documents", bulk=60_000)
    vector_bytes = 60_000 * 384 * 4
    tracemalloc.start()
    try:
        run(*to_local(tmp_path / "target", "--batch-size", "500"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counts(config_at(tmp_path / "target"))[Table.ARCHIVAL] == 60_006
    assert peak < vector_bytes / 8, f"peak {peak / 1e6:.1f} MB for {vector_bytes / 1e6:.0f} MB of vectors"


def test_answers_of_an_approximate_index_may_miss_one_hit_in_ten_and_no_score_may_differ() -> None:
    from memgpt.testing.migration import assert_same_answers

    hits = [(f"p{i}", 1.0 - i / 100) for i in range(9)]
    expected = {"ada/archival/tea": (9, hits), "ada/recall/tea": (1, ["m1"])}
    assert_same_answers({"ada/archival/tea": (9, hits[:8]), "ada/recall/tea": (1, ["m1"])}, expected, exact=False)
    with pytest.raises(AssertionError, match="found 7 of 9"):
        assert_same_answers({"ada/archival/tea": (9, hits[:7]), "ada/recall/tea": (1, ["m1"])}, expected, exact=False)
    with pytest.raises(AssertionError, match="scores differ"):
        changed = [*hits[:8], ("p8", 0.5)]
        assert_same_answers({"ada/archival/tea": (9, changed), "ada/recall/tea": (1, ["m1"])}, expected, exact=False)
    with pytest.raises(AssertionError):  # exact answers, and recall answers always, must be identical
        assert_same_answers({"ada/archival/tea": (9, hits[:8]), "ada/recall/tea": (1, ["m1"])}, expected, exact=True)
