"""Checks for moving memories between backends: realistic contents, exact snapshots, search answers.

Used by memgpt-core's own migration tests, by every backend package (local ->
backend -> local) and by the cross-backend chain in ``integration/``::

    from memgpt.testing.migration import fill_memories, snapshot, assert_same_snapshot

    fill_memories(tmp_path)            # into the configured storage of $MEMGPT_HOME
    before = snapshot()
    ...                                # memgpt migrate --switch ... and back
    assert_same_snapshot(snapshot(), before)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from memgpt.config import MemGPTConfig, StorageConfig
from memgpt.kinds import Table
from memgpt.records import Message, Passage
from memgpt.storage.where import Where
from memgpt.testing.acceptance import run_cli

TABLES = (Table.PROFILES, Table.SOURCES, Table.AGENTS, Table.SOURCE_PASSAGES, Table.ARCHIVAL, Table.RECALL)
AGENTS = ("ada", "bob", "cy")
DOCUMENTS = {
    "docs": {
        "tea.md": "# Tea\n\nGreen tea is brewed at eighty degrees for two minutes. Black tea wants boiling water.",
        "trains.txt": "The night train to Vienna leaves the station at midnight and arrives at seven.",
        "rivers.jsonl": '{"text": "Rivers flood in spring when the snow melts."}\n{"text": "The Danube is 2850 km long."}\n',
    },
    "notes": {"garden.md": "Tomatoes need sun; basil likes the same bed. Water them in the morning."},
}
BASE = datetime(2025, 3, 1, 9, 30, 15, 123456, tzinfo=timezone.utc)
ARCHIVAL_QUERIES = ("how hot should green tea be", "when does the train leave", "what does ada like to eat")
RECALL_QUERIES = ("tea", "TRAIN", "day")


def fill_memories(folder: Path, bulk: int = 0, config: MemGPTConfig | None = None) -> dict[str, int]:
    """Fill the configured storage with what a user's memories look like; returns the count per table.

    Two data sources loaded from files, a persona per agent and a human they share, three agents (two with sources
    attached, one with core memory edits), archival passages with metadata,
    conversations with every role, tool calls and times spread over days, and
    ``bulk`` extra archival passages for ``ada`` (to make copies take many batches).
    ``folder`` receives the documents that are loaded.
    """
    from memgpt.client import MemGPTClient

    with MemGPTClient(config) as client:
        for source, files in DOCUMENTS.items():
            paths = []
            for name, text in files.items():
                path = folder / source / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                paths.append(path)
            client.load(source, paths)
        client.add_profile("human", "curious", "A curious user.")
        for name in AGENTS:
            client.add_profile("persona", name, f"I am {name}.")
            client.create_agent(name, persona=name, human="curious")
        client.attach("ada", "docs")
        client.attach("bob", "docs")
        client.attach("bob", "notes")
        state = client.catalog.get_agent("cy")
        client.catalog.save_agent(
            replace(
                state,
                core_memory={"human": "Cy's user lives in Graz.", "persona": "Cy is terse."},
                metadata={"pinned": True, "tags": ["test", "ünïcode"]},
            )
        )
        for i, name in enumerate(AGENTS):
            memory = client.memory(name)
            memory.insert_archival(f"{name} likes to eat dumplings on day {i}.", metadata={"origin": "test", "n": i})
            memory.insert_archival(f"{name}'s train ticket is for the night train to Vienna.")
            messages = [
                Message(
                    id=str(uuid.uuid4()),
                    role=role,
                    text=text,
                    user_id=memory.agent.user_id,
                    agent_id=memory.agent.id,
                    name="search" if role == "tool" else None,
                    tool_calls=[{"id": f"call-{i}", "function": {"name": "search", "arguments": '{"q": "tea"}'}}]
                    if role == "assistant" and j == 1
                    else [],
                    tool_call_id=f"call-{i}" if role == "tool" else None,
                    metadata={"turn": j},
                    created_at=BASE + timedelta(days=j, minutes=i),
                )
                for j, (role, text) in enumerate(
                    [
                        ("system", "You are a helpful agent."),
                        ("assistant", "Let me look up tea."),
                        ("tool", "Green tea: eighty degrees."),
                        ("user", f"Which TEA should {name} buy on day {i}?"),
                        ("assistant", "Try a green one, and take the night train."),
                    ]
                )
            ]
            memory.append_messages(messages)
        if bulk:
            _bulk_archival(client, "ada", bulk)
    return {table.value: n for table, n in counts(config).items()}


WORDS = (
    "kettle tea train river garden station night green black water boil leaf cup morning ticket "
    "vienna graz danube snow spring tomato basil sun bed dumpling noodle bread butter honey bee"
).split()


def _bulk_archival(client: Any, agent: str, n: int, batch: int = 2_000) -> None:
    import numpy as np

    from memgpt.embeddings.batching import embed_texts

    memory = client.memory(agent)
    rng = np.random.default_rng(7)
    for start in range(0, n, batch):
        texts = [
            f"note {i}: " + " ".join(WORDS[w] for w in rng.integers(0, len(WORDS), int(rng.integers(4, 12))))
            for i in range(start, min(n, start + batch))
        ]
        vectors = embed_texts(memory.embedder, texts)
        memory.archival.insert(
            [
                Passage(
                    id=f"bulk-{start + k:07d}",
                    text=text,
                    user_id=memory.agent.user_id,
                    agent_id=memory.agent.id,
                    embedding=vector,
                    embedding_model=memory.embedder.model,
                    metadata={"bulk": start + k},
                    created_at=BASE + timedelta(seconds=start + k),
                )
                for k, (text, vector) in enumerate(zip(texts, vectors, strict=True))
            ]
        )


def _users(user_id: str | None) -> Where:
    return Where.everything() if user_id is None else Where.of(user_id=user_id)


def counts(config: MemGPTConfig | None = None, user_id: str | None = None) -> dict[Table, int]:
    """How many records each table holds in the configured storage (of ``user_id``, or of everyone)."""
    from memgpt.storage.configured import Storage
    from memgpt.transfer.units import units

    found = dict.fromkeys(TABLES, 0)
    with Storage(config or MemGPTConfig.load()) as storage:
        for unit in units(storage, _users(user_id)):  # each table, and each embedding model's shelf of it
            found[unit.table] += unit.collection(storage, _users(user_id)).count()
    return found


def snapshot(config: MemGPTConfig | None = None, user_id: str | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Every record of the configured storage as plain data: ``{table: {id: record.to_dict()}}``.

    Only ``user_id``'s records when given (record ids are unique per user:
    a snapshot of several users that share an id fails, naming it).
    Embeddings come back as lists of float32 values, so two snapshots are equal
    exactly when every id, text, metadata, time, scope and vector is.
    """
    from memgpt.storage.configured import Storage
    from memgpt.transfer.units import units

    out: dict[str, dict[str, dict[str, Any]]] = {table.value: {} for table in TABLES}
    with Storage(config or MemGPTConfig.load()) as storage:
        for unit in units(storage, _users(user_id)):  # each table, and each embedding model's shelf of it
            records = out[unit.table.value]
            for record in unit.collection(storage, _users(user_id)).iterate():
                assert record.id not in records, f"{unit.label}: two users hold id {record.id!r}; snapshot one user"
                records[record.id] = record.to_dict()
    return out


def assert_same_snapshot(actual: dict[str, dict[str, dict[str, Any]]], expected: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Fail naming the first table, record and field that differ (not a wall of dict diff)."""
    assert sorted(actual) == sorted(expected), (sorted(actual), sorted(expected))
    for table in expected:
        missing = sorted(set(expected[table]) - set(actual[table]))
        extra = sorted(set(actual[table]) - set(expected[table]))
        assert not missing and not extra, f"{table}: missing {missing[:5]} ({len(missing)}), extra {extra[:5]} ({len(extra)})"
        for record_id, record in expected[table].items():
            got = actual[table][record_id]
            for name, value in record.items():
                assert got.get(name) == value, f"{table} {record_id!r} field {name!r}: {got.get(name)!r:.200} != {value!r:.200}"
            assert sorted(got) == sorted(record), (table, record_id, sorted(got), sorted(record))


def ranked(hits: list[Any], full: bool) -> list[tuple[str, float] | tuple[str, float, int]]:
    """Hits as comparable data: every (id, score), except that when the result list is ``full`` (k
    hits, more may exist) the hits tied at the last score become one entry (score and how many):
    which members of a tie at the cut an engine returns is not specified, everything above it is."""
    if not full or not hits:
        return [(h.record.id, h.score) for h in hits]
    cut = hits[-1].score
    above = [(h.record.id, h.score) for h in hits if h.score > cut]
    return [*above, ("tied at the cut", cut, len(hits) - len(above))]


def search_answers(config: MemGPTConfig | None = None) -> dict[str, Any]:
    """What every agent's searches answer, for comparisons.

    Archival: every hit's id and exact score, best first (see :func:`ranked`);
    recall: the ids text and date searches find, in order, and their totals.
    """
    from memgpt.agent_memory import ARCHIVAL_TOP_K
    from memgpt.client import MemGPTClient

    answers: dict[str, Any] = {}
    with MemGPTClient(config) as client:
        for agent in client.list_agents():
            memory = client.memory(agent.name)
            for query in ARCHIVAL_QUERIES:
                hits, total = memory.search_archival(query, count=ARCHIVAL_TOP_K)
                answers[f"{agent.name}/archival/{query}"] = (total, ranked(hits, full=total == ARCHIVAL_TOP_K))
            for query in RECALL_QUERIES:
                messages, total = memory.search_messages(query)
                answers[f"{agent.name}/recall/{query}"] = (total, [m.id for m in messages])
            day = BASE.date().isoformat()
            later = (BASE + timedelta(days=3)).date().isoformat()
            messages, total = memory.search_messages_by_date(day, later)
            answers[f"{agent.name}/recall-date"] = (total, [m.id for m in messages])
    return answers


def assert_same_answers(actual: dict[str, Any], expected: dict[str, Any], exact: bool = True, where: str = "") -> None:
    """Search answers (:func:`search_answers`) are identical; with ``exact=False`` (an approximate vector index,
    e.g. HNSW) archival hits may miss one expected id in ten (at least one in any list, so a page of nine
    may miss one), with identical scores for those found."""
    assert sorted(actual) == sorted(expected), where
    for key, (total, hits) in expected.items():
        got_total, got = actual[key]
        if exact or "/archival/" not in key:
            assert (got_total, got) == (total, hits), f"{where} {key}: {got_total} {got[:5]} != {total} {hits[:5]}"
            continue
        assert got_total == total, f"{where} {key}: {got_total} hits != {total}"
        scores = {h[0]: h[1] for h in hits if len(h) == 2}
        found = {h[0]: h[1] for h in got if len(h) == 2}
        common = set(scores) & set(found)
        allowed = max(1, len(scores) // 10)
        assert len(scores) - len(common) <= allowed, f"{where} {key}: found {len(common)} of {len(scores)} expected hits"
        assert all(scores[i] == found[i] for i in common), f"{where} {key}: scores differ"


@contextmanager
def in_home(home: Path, env: Mapping[str, str] | None = None) -> Iterator[None]:
    """Run in-process code against another ``MEMGPT_HOME`` (and ``env``), restoring the environment after."""
    saved = {name: os.environ.get(name) for name in ("MEMGPT_HOME", *(env or {}))}
    os.environ.update({"MEMGPT_HOME": str(home), **(env or {})})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def empty_location(backend_name: str, uri: str) -> str:
    """Drop every table of ``backend_name`` at ``uri`` (a test server shared by several tests); returns ``uri``."""
    from memgpt.plugins import get_backend
    from memgpt.storage.configured import open_collection

    backend = get_backend(backend_name)
    store = backend.open(backend.settings_from_uri(uri))
    try:
        for table in backend.tables():
            open_collection(backend, store, table, Where.everything()).drop()
    finally:
        store.close()
    return uri


def configured_at(backend_name: str, uri: str) -> MemGPTConfig:
    """The current configuration with archival and recall storage on ``backend_name`` at ``uri``."""
    from memgpt.plugins import get_backend
    from memgpt.transfer.migrate import target_config

    storage = StorageConfig(backend_name, get_backend(backend_name).settings_from_uri(uri))
    return target_config(MemGPTConfig.load(), storage, storage)


def migrate_args(backend: str, uri: str, *extra: str) -> list[str]:
    """``memgpt migrate`` arguments moving archival and recall storage to ``backend`` at ``uri``."""
    return ["migrate", "--to-archival", backend, "--to-archival-uri", uri, "--to-recall", backend, "--to-recall-uri", uri, *extra]


def kill_migration_after(
    done: str, args: list[str], home: Path, env: Mapping[str, str] | None = None, timeout: float = 300
) -> None:
    """Start ``memgpt ARGS`` (a migration) and SIGKILL it as soon as collection ``done`` is copied.

    The kill is real (no clean-up runs in the migrating process); fails if
    the migration finished or died before it could be killed.
    """
    states = home / "migrations"
    full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
    full.update({"MEMGPT_HOME": str(home), **(env or {})})
    process = subprocess.Popen(
        [sys.executable, "-m", "memgpt", *args], env=full, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            for state in states.glob("*.json") if states.exists() else ():
                try:
                    if done in json.loads(state.read_text()).get("done", ()):
                        process.send_signal(signal.SIGKILL)
                except (OSError, ValueError, AttributeError):
                    pass  # replaced while we read it: look again
            time.sleep(0.002)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        stderr = process.stderr.read().decode() if process.stderr else ""
    assert process.returncode == -signal.SIGKILL, f"the migration was not killed (exit {process.returncode}): {stderr[-2000:]}"


def cli_ok(*args: str, home: Path, env: Mapping[str, str] | None = None) -> str:
    """Run ``memgpt ARGS`` in a new process; fail on a non-zero exit or anything on stderr; return stdout."""
    result = run_cli(*args, home=home, env=env)
    assert result.returncode == 0 and result.stderr == "", (args, result.stdout[-2000:], result.stderr[-2000:])
    return result.stdout


def migration_round_trip(
    tmp_path: Path,
    backend: str,
    target_uri: str,
    fresh_uri: str | None = None,
    env: Mapping[str, str] | None = None,
    exact_search: bool = True,
) -> None:
    """local -> ``backend`` -> local with ``memgpt migrate``, and an export imported into ``backend``, all checked.

    ``target_uri`` and ``fresh_uri`` are two empty locations of ``backend``;
    without ``fresh_uri``, ``target_uri`` is a server's, shared with other
    tests: it is emptied (every table dropped) before step 2, after step 3
    (and used again) and at the end, pass or fail.
    Every command runs in a new process, as a user runs it; after each step
    every record (ids, texts, metadata, times, scopes, vectors) and every
    search answer is compared with the start:

    1. a home on local storage is filled (:func:`fill_memories`) and exported;
    2. ``memgpt migrate --switch`` moves it to ``backend`` at ``target_uri``;
    3. ``memgpt migrate --switch`` moves it back to a new local folder;
    4. the export is imported into a fresh home on ``backend`` at ``fresh_uri``
       (the records become that home's user; everything else identical).

    ``exact_search=False`` for a backend whose vector index is approximate
    (see :func:`assert_same_answers`).
    """
    if fresh_uri is not None:
        _round_trip(tmp_path, backend, target_uri, fresh_uri, env, exact_search)
        return
    with in_home(tmp_path, env):
        empty_location(backend, target_uri)
    try:
        _round_trip(tmp_path, backend, target_uri, None, env, exact_search)
    finally:
        with in_home(tmp_path, env):
            empty_location(backend, target_uri)


def _round_trip(
    tmp_path: Path, backend: str, target_uri: str, fresh_uri: str | None, env: Mapping[str, str] | None, exact_search: bool
) -> None:
    home = tmp_path / "migrating-home"
    home.mkdir(parents=True, exist_ok=True)
    cli_ok("configure", "--defaults", home=home, env=env)
    with in_home(home, env):
        fill_memories(tmp_path / "migrating-documents")
        start, answers = snapshot(), search_answers()
    archive = tmp_path / "migrating-export"
    cli_ok("export", str(archive), home=home, env=env)

    report = json.loads(cli_ok(*migrate_args(backend, target_uri, "--switch", "--json"), home=home, env=env))
    assert report["switched"] and all(t["identical"] for t in report["tables"].values()), report
    with in_home(home, env):
        assert MemGPTConfig.load().archival_storage.type == backend
        assert_same_snapshot(snapshot(), start)
        assert_same_answers(search_answers(), answers, exact_search, backend)

    cli_ok(*migrate_args("local", str(tmp_path / "migrated-back"), "--switch"), home=home, env=env)
    with in_home(home, env):
        assert MemGPTConfig.load().archival_storage.type == "local"
        assert_same_snapshot(snapshot(), start)
        assert_same_answers(search_answers(), answers, True, "back on local")

    if fresh_uri is None:
        with in_home(home, env):
            fresh_uri = empty_location(backend, target_uri)
    fresh = tmp_path / "importing-home"
    fresh.mkdir(parents=True, exist_ok=True)
    storage = ["--archival-storage", backend, "--archival-uri", fresh_uri, "--recall-storage", backend, "--recall-uri", fresh_uri]
    cli_ok("configure", "--defaults", *storage, home=fresh, env=env)
    cli_ok("import", str(archive), home=fresh, env=env)
    with in_home(fresh, env):
        user = MemGPTConfig.load().user_id
        assert_same_snapshot(snapshot(), as_user(start, user))
        assert_same_answers(search_answers(), answers, exact_search, f"import into {backend}")


def as_user(snap: dict[str, dict[str, dict[str, Any]]], user_id: str) -> dict[str, dict[str, dict[str, Any]]]:
    """A snapshot with every record's ``user_id`` replaced (what an import for another user gives)."""
    return {table: {i: {**r, "user_id": user_id} for i, r in records.items()} for table, records in snap.items()}


__all__ = [
    "as_user",
    "assert_same_answers",
    "assert_same_snapshot",
    "cli_ok",
    "configured_at",
    "counts",
    "empty_location",
    "fill_memories",
    "in_home",
    "kill_migration_after",
    "migrate_args",
    "migration_round_trip",
    "search_answers",
    "snapshot",
]
