"""The fault matrix: what every backend loses, doubles or leaks when things go wrong (it should be nothing).

    python integration/faults.py                      # every installed backend, every scenario
    python integration/faults.py --backends local,postgres --scenarios kill-load,two-users
    nox -s faults                                     # the same, with every backend installed

Scenarios, each run as users run memgpt (one ``memgpt`` process per command):

* ``kill-load``   -- ``memgpt load`` killed with SIGKILL part-way, then run again;
* ``kill-migrate`` -- ``memgpt migrate`` from the local default killed after the data sources are copied,
  a memory written and one deleted at the source meanwhile, then the migration run again;
* ``processes``   -- three writer processes (single-record inserts) and a reader process on one store at once;
* ``two-users``   -- two people whose homes point at one store: the same names, loads, deletes, exports, imports;
* ``damaged``     -- a data file of the store overwritten in the middle, then every kind of command
  (embedded stores: a server's files are the server's);
* ``full-disk``   -- inserts until the disk is full (a 1 MiB file system when this machine can mount one, else
  a file-size limit on the process), then reads (embedded stores);
* ``hostile``     -- a load of deeply nested, NUL-holding and undecodable files beside a good one, and
  arguments that are not UTF-8, too long or absurdly large.

For each scenario and backend the table gives the trials and what went wrong:
records **lost** (missing, or different, afterwards), **duplicated** (stored twice, or left over when they
should be gone), **leaked** (one user's records seen by another), **tracebacks** printed, operations that
**failed** although they should have succeeded, and other **stray** output on stderr. Every number should be
0; the script exits 1 otherwise. The table is printed and written to ``integration/results/faults.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
TRACEBACK = "Traceback (most recent call last)"
SCENARIOS = ("kill-load", "kill-migrate", "processes", "two-users", "damaged", "full-disk", "hostile")


@dataclass
class Cell:
    """What one scenario did to one backend."""

    trials: int = 0
    lost: int = 0
    duplicated: int = 0
    leaked: int = 0
    tracebacks: int = 0
    failed: int = 0
    stray: int = 0
    notes: list[str] = field(default_factory=list)

    def bad(self) -> bool:
        return any((self.lost, self.duplicated, self.leaked, self.tracebacks, self.failed, self.stray))


@dataclass
class Target:
    """A backend at a location the scenarios may fill: ``location(work)`` gives an empty one."""

    label: str
    backend: str
    location: Callable[[Path], str]
    embedded: bool
    """Whether its files are this process's to damage or fill (not a server's)."""
    opens_collections_alone: bool = True
    """Whether a damaged collection leaves the others readable (Qdrant's local mode opens every one at start)."""


# -- running memgpt as a user does ------------------------------------------------------------------
COMMAND_TIMEOUT = 180.0
"""A command still running after this long is a hang: killed, and counted as a failed operation."""


def cli(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
    full.update({"MEMGPT_HOME": str(home), **(env or {})})
    return run([sys.executable, "-m", "memgpt", *args], env=full, cwd=home)


def run(argv: list[Any], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """``subprocess.run`` with output captured; a process that hangs is killed and reported as exit 124 ("hung")."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, **kwargs)
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(argv, 124, "", f"Error: hung for {COMMAND_TIMEOUT:.0f} s and was killed")


OWN_LINES = ("Skipped ", "Warning: ")
"""What memgpt itself says on stderr besides its one ``Error:`` line: a file a load skipped, a configure warning."""


def judge(cell: Cell, result: subprocess.CompletedProcess[str], should_succeed: bool = True, what: str = "") -> bool:
    """Count a command's traceback, stray output and unexpected failure; returns whether it succeeded.

    memgpt may print on stderr one ``Error:`` line when it fails, and lines of
    its own (``Skipped ...``, ``Warning: ...``); anything else is stray output.
    """
    lines = [line for line in result.stderr.strip().splitlines() if not line.startswith(OWN_LINES)]
    errors = [line for line in lines if line.startswith("Error: ")]
    if TRACEBACK in result.stderr:
        cell.tracebacks += 1
        cell.notes.append(f"traceback in {what or 'a command'}: {lines[-1][:160]}")
    elif len(lines) - (1 if result.returncode and len(errors) == 1 else 0) > 0:
        cell.stray += 1
        cell.notes.append(f"stray output from {what or 'a command'}: {lines[0][:160]}")
    if result.returncode == 124:  # a hang is never what should happen
        cell.failed += 1
        cell.notes.append(f"{what or 'a command'} hung")
    elif result.returncode != 0 and should_succeed:
        cell.failed += 1
        cell.notes.append(f"{what or 'a command'} failed: {result.stderr.strip()[-200:]}")
    return result.returncode == 0


def configured_home(root: Path, name: str, target: Target, uri: str, user: str | None = None) -> Path:
    home = root / f"home-{name}"
    home.mkdir(parents=True, exist_ok=True)
    where = ["--archival-storage", target.backend, "--archival-uri", uri, "--recall-storage", target.backend, "--recall-uri", uri]
    # The matrix is about storage, and runs well over a thousand commands: the hasher (no model to load) keeps each short.
    embedding = ["--embedding-provider", "hashing", "--embedding-model", "lexical-hash-384"]
    result = cli(home, "configure", "--defaults", *where, *embedding, *(["--user-id", user] if user else []))
    if result.returncode != 0:
        raise RuntimeError(f"cannot configure {target.label} at {uri}: {result.stderr.strip()}")
    return home


def records(home: Path, user: str | None = None, config: Any = None) -> dict[str, list[dict[str, Any]]]:
    """Every record of ``user`` (default: the home's) in the home's storage (or ``config``'s, seen from the home), per table."""
    from memgpt.config import MemGPTConfig
    from memgpt.storage.configured import Storage
    from memgpt.storage.where import Where
    from memgpt.testing.migration import TABLES, in_home
    from memgpt.transfer.units import units

    with in_home(home):
        config = config or MemGPTConfig.load()
        with Storage(config) as storage:
            scope = Where.of(user_id=user or config.user_id)
            found: dict[str, list[dict[str, Any]]] = {t.value: [] for t in TABLES}
            for unit in units(storage, scope):  # each table and each embedding model's shelf of it
                found[unit.table.value] += [r.to_dict() for r in unit.collection(storage, scope).iterate()]
            return found


def compare(cell: Cell, expected: dict[str, list[dict[str, Any]]], got: dict[str, list[dict[str, Any]]], what: str) -> None:
    """Lost: expected records missing or different; duplicated: ids stored twice, or records that should not be there."""
    for table, wanted in expected.items():
        have = got.get(table, [])
        ids = [_id(r) for r in have]
        by_id = {_id(r): r for r in have}
        missing = [r for r in wanted if by_id.get(_id(r)) != r]
        extra = len(ids) - len(set(ids)) + len(set(ids) - {_id(r) for r in wanted})
        if missing or extra:
            cell.notes.append(f"{what} {table}: {len(missing)} missing or different, {extra} doubled or extra")
        cell.lost += len(missing)
        cell.duplicated += extra


def _id(record: dict[str, Any]) -> str:
    return record["id"] if "id" in record else record["name"]  # a data source is known by its name


def _without(tables: dict[str, list[dict[str, Any]]], *names: str) -> dict[str, list[dict[str, Any]]]:
    return {t: [{k: v for k, v in r.items() if k not in names} for r in rows] for t, rows in tables.items()}


def write_docs(folder: Path, files: int, words: int = 500, seed: int = 0) -> Path:
    rng = random.Random(seed)
    vocabulary = "tea train river garden bee lisbon vienna snow book lamp window harbour cloud violin".split()
    folder.mkdir(parents=True, exist_ok=True)
    for n in range(files):
        text = " ".join(rng.choice(vocabulary) for _ in range(words))
        (folder / f"doc-{n:03d}.md").write_text(f"# Document {n}\n\n{text}\n")
    return folder


# -- scenarios ----------------------------------------------------------------------------------------
def kill_load(target: Target, work: Path, trials: int) -> Cell:
    cell = Cell()
    docs = write_docs(work / "docs", files=300, words=800)
    reference = configured_home(work, "reference", Target("local", "local", lambda w: "", True), str(work / "reference-store"))
    began = time.monotonic()
    judge(cell, cli(reference, "load", "directory", "--name", "docs", "--input-dir", str(docs)), what="the reference load")
    took = time.monotonic() - began
    expected = {"source_passages": records(reference)["source_passages"]}
    for trial in range(trials):
        uri = target.location(work / f"load-{trial}")
        home = configured_home(work, f"load-{trial}", target, uri)
        full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
        full["MEMGPT_HOME"] = str(home)
        load = ["load", "directory", "--name", "docs", "--input-dir", str(docs)]
        proc = subprocess.Popen(
            [sys.executable, "-m", "memgpt", *load], env=full, cwd=home, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        time.sleep(took * (0.4 + 0.3 * trial) / trials * 2)  # somewhere in the middle, a different place each trial
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            cell.notes.append(f"trial {trial}: the load had finished before the kill")
        proc.wait()
        judge(cell, cli(home, *load), what="the load run again")
        got = {"source_passages": records(home)["source_passages"]}
        # the reference is another user's, loaded at another time: compare everything else
        compare(cell, _without(expected, "user_id", "created_at"), _without(got, "user_id", "created_at"), f"trial {trial}")
        cell.trials += 1
    return cell


def kill_migrate(target: Target, work: Path, trials: int) -> Cell:
    from memgpt.testing.migration import fill_memories, in_home, kill_migration_after, migrate_args

    cell = Cell()
    for trial in range(trials):
        source = configured_home(
            work, f"migrate-{trial}", Target("local", "local", lambda w: "", True), str(work / f"src-{trial}")
        )
        with in_home(source):
            fill_memories(work / f"migrate-docs-{trial}", bulk=3_000)
        uri = target.location(work / f"migrate-target-{trial}")
        args = migrate_args(target.backend, uri, "--batch-size", "200")
        kill_migration_after("source_passages", args, source)
        judge(
            cell,
            cli(source, "archival", "insert", "--agent", "ada", f"Written during the pause of trial {trial}."),
            what="insert",
        )
        passages = records(source)["archival"]
        judge(cell, cli(source, "recall", "append", "--agent", "bob", "A message written meanwhile."), what="append")
        from memgpt.client import MemGPTClient

        with in_home(source), MemGPTClient() as client:  # and a memory deleted at the source since the first run
            client.memory("ada").archival.delete([passages[0]["id"]])
        judge(cell, cli(source, *args), what="the migration run again")
        from memgpt.testing.migration import configured_at

        with in_home(source):  # the target as the migrating home sees it (its catalog may stay in the home)
            moved = configured_at(target.backend, uri)
        compare(cell, records(source), records(source, config=moved), f"trial {trial}")
        cell.trials += 1
    return cell


def processes(target: Target, work: Path, trials: int) -> Cell:
    from memgpt.kinds import Table
    from memgpt.plugins import get_backend
    from memgpt.storage.configured import open_collection
    from memgpt.storage.where import Where
    from memgpt.testing.processes import USER, run_workers

    cell = Cell()
    backend = get_backend(target.backend)
    for trial in range(trials):
        settings = backend.settings_from_uri(target.location(work / f"processes-{trial}"))
        writers, count = 3, 30
        for report in run_workers(backend, settings, Table.RECALL, writers=writers, count=count, readers=1, rounds=6):
            cell.failed += len(report.get("errors", []))
            cell.notes += [f"{report.get('who', 'reader')}: {e[:160]}" for e in report.get("errors", [])[:2]]
            stderr = report.get("stderr", "")
            if TRACEBACK in stderr:
                cell.tracebacks += 1
            elif stderr:
                cell.stray += 1
                cell.notes.append(f"stray output: {stderr.splitlines()[0][:160]}")
        store = backend.open(settings)
        try:
            ids = [r.id for r in open_collection(backend, store, Table.RECALL, Where.of(user_id=USER)).iterate()]
        finally:
            store.close()
        wanted = {f"w{n}-{i}" for n in range(writers) for i in range(count)}
        cell.lost += len(wanted - set(ids))
        cell.duplicated += len(ids) - len(set(ids)) + len(set(ids) - wanted)
        cell.trials += 1
    return cell


def two_users(target: Target, work: Path, trials: int) -> Cell:
    cell = Cell()
    for trial in range(trials):
        uri = target.location(work / f"shared-{trial}")
        homes = {user: configured_home(work, f"{user}-{trial}", target, uri, user=user) for user in ("alice", "bob")}
        secret = {"alice": "alice's private apricot", "bob": "bob's private blueberry"}
        from memgpt.client import MemGPTClient
        from memgpt.testing.migration import in_home

        for user, home in homes.items():  # each fills their memories (the same names), in this process: faster
            docs = work / f"{user}-docs-{trial}"
            docs.mkdir(exist_ok=True)
            (docs / "notes.md").write_text(f"{secret[user]} is written in these notes.")
            with in_home(home), MemGPTClient() as client:
                client.load("notes", [docs / "notes.md"])
                client.create_agent("sam")
                client.attach("sam", "notes")
                memory = client.memory("sam")
                memory.insert_archival(f"{secret[user]} is remembered by sam.")
                memory.append_message("user", f"{secret[user]} was said to sam.")
        alice_before = records(homes["alice"])
        bob = homes["bob"]
        seen = [
            cli(bob, "archival", "search", "--agent", "sam", "private apricot", "--page-size", "50", "--json"),
            cli(bob, "recall", "search", "--agent", "sam", "apricot", "--json"),
            cli(bob, "list", "sources", "--json"),
        ]
        export = work / f"bob-export-{trial}"
        judge(cell, cli(bob, "export", str(export)), what="bob: export")
        texts = [r.stdout for r in seen] + [p.read_text(errors="replace") for p in export.glob("*.jsonl")]
        cell.leaked += sum(text.count("apricot") for text in texts)
        alice_export = work / f"alice-export-{trial}"
        judge(cell, cli(homes["alice"], "export", str(alice_export)), what="alice: export")
        refused = cli(bob, "import", str(alice_export), "--keep-user-ids", "--overwrite")
        if refused.returncode == 0:
            cell.leaked += 1
            cell.notes.append("bob could import alice's records as hers")
        judge(cell, refused, should_succeed=False, what="bob: import as alice")
        for args in (["delete", "source", "notes"], ["delete", "agent", "sam"]):
            judge(cell, cli(bob, *args), what=f"bob: {args[0]} {args[1]}")
        compare(cell, alice_before, records(homes["alice"]), f"trial {trial}: alice after bob's deletes")
        cell.trials += 1
    return cell


def _largest_file(folder: Path) -> Path | None:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.name.endswith((".lock", "-journal"))]
    return max(files, key=lambda p: p.stat().st_size, default=None)


def damaged(target: Target, work: Path, trials: int) -> Cell:
    cell = Cell()
    if not target.embedded:
        cell.notes.append("n/a: a server's files are the server's")
        return cell
    for trial in range(trials):
        location = Path(target.location(work / f"damaged-{trial}"))
        home = configured_home(work, f"damaged-{trial}", target, str(location))
        for name in ("keep", "hurt"):
            judge(cell, cli(home, "create", "agent", "--name", name), what="create")
        from memgpt.client import MemGPTClient
        from memgpt.storage.partitions import partition_shelf
        from memgpt.testing.migration import in_home

        with in_home(home), MemGPTClient() as client:
            for name, n in (("keep", 20), ("hurt", 300)):
                memory = client.memory(name)
                for i in range(n):
                    memory.insert_archival(f"passage {i} of {name}: " + "words " * 50)
            keep_before = {"archival": [p.to_dict() for p in client.memory("keep").list_archival()]}
            hurt_id = client.get_agent("hurt").id
            hurt_partition = partition_shelf("", client.catalog.user_id, hurt_id)  # its archival collection's name ends so
        victim = location / "agents" / hurt_id / "memory.sqlite" if target.backend == "local" else _largest_file(location)
        if victim is None:
            cell.notes.append("no data file to damage")
            continue
        size = victim.stat().st_size
        with open(victim, "r+b") as handle:
            handle.seek(size // 2)
            handle.write(os.urandom(min(64 * 1024, max(1, size // 4))))
        failures = 0
        for args in (
            ["list", "agents"],
            ["archival", "search", "--agent", "hurt", "passage"],
            ["archival", "insert", "--agent", "hurt", "after the damage"],
            ["recall", "list", "--agent", "hurt"],
            ["archival", "search", "--agent", "keep", "passage"],
        ):
            result = cli(home, *args)
            judge(cell, result, should_succeed=False, what=" ".join(args[:2]))
            failures += result.returncode != 0
        status = cli(home, "storage", "status")
        judge(cell, status, should_succeed=False, what="storage status")
        if failures and status.returncode == 0:
            cell.failed += 1
            cell.notes.append("storage status said ok while commands failed")
        # One agent's file (the local backend's, or the hurt agent's own collection of an engine that keeps one per
        # agent): the other agent must be whole. A file the engine shares between agents: the damage is reported.
        own = target.backend == "local" or hurt_partition in str(victim.relative_to(location))
        if own and target.opens_collections_alone:
            from memgpt.client import MemGPTClient as Client

            with in_home(home), Client() as client:
                keep_after = {"archival": [p.to_dict() for p in client.memory("keep").list_archival()]}
            compare(cell, keep_before, keep_after, "the undamaged agent")
            if target.backend != "local":
                cell.notes.append("the hurt agent's own collection damaged: the other agent survived")
        elif own:  # the engine cannot open the rest: its error must at least name the damaged collection
            keep = cli(home, "archival", "search", "--agent", "keep", "passage")
            if keep.returncode == 0 or hurt_partition not in keep.stderr:
                cell.failed += 1
                cell.notes.append(f"the undamaged agent's search did not name the damaged collection: {keep.stderr[-300:]}")
            else:
                cell.notes.append("the hurt agent's own collection damaged: named in every error (the engine opens all at once)")
        else:
            cell.notes.append(f"a file every agent shares damaged ({victim.name}): the damage is reported, not survived")
        cell.trials += 1
    return cell


LIMITED = """
import resource, runpy, signal, sys
limit = int(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
sys.argv = ["memgpt", *sys.argv[2:]]
runpy.run_module("memgpt", run_name="__main__")
"""


@contextmanager
def small_filesystem(folder: Path, size: str) -> Iterator[bool]:
    """A tmpfs of ``size`` mounted on ``folder`` when this machine allows it (yields whether it is mounted)."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True).returncode == 0
    )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(folder)], capture_output=True)


def full_disk(target: Target, work: Path, trials: int) -> Cell:
    """Fill the disk under a store (a file takes all but ``HEADROOM``), insert until inserts fail, free the space, read."""
    cell = Cell()
    if not target.embedded:
        cell.notes.append("n/a: a server's disk is the server's")
        return cell
    for trial in range(trials):
        with small_filesystem(work / f"full-{trial}", "24m") as mounted:
            root = work / f"full-{trial}"
            location = target.location(root / "store")
            home = configured_home(root, "home", target, location)
            judge(cell, cli(home, "create", "agent", "--name", "sam"), what="create")
            ballast = root / "ballast"
            if mounted:
                stats = os.statvfs(root)
                with open(ballast, "wb") as handle:
                    handle.truncate(0)
                    handle.write(b"\0" * max(0, stats.f_bavail * stats.f_frsize - HEADROOM))
            text = "words " * 12_000
            stored = refused = 0
            for _ in range(40):
                args = ["archival", "insert", "--agent", "sam", text, "--json"]
                if mounted:
                    result = cli(home, *args)
                else:  # a file-size limit on the process instead of a small file system
                    limit = (_largest_file(Path(location)) or home).stat().st_size + 200_000
                    full = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
                    full["MEMGPT_HOME"] = str(home)
                    result = run([sys.executable, "-c", LIMITED, str(limit), *args], env=full, cwd=home)
                judge(cell, result, should_succeed=False, what="insert on a full disk")
                if result.returncode == 0:
                    stored += len(json.loads(result.stdout))
                else:
                    refused += 1
                    if refused >= 3:
                        break
            if not refused:
                cell.notes.append("the disk never filled")
            ballast.unlink(missing_ok=True)  # the user frees space: everything stored must be there, once
            shown = cli(home, "show", "agent", "sam", "--json")
            if judge(cell, shown, what="show after space was freed"):
                held = json.loads(shown.stdout)["archival_passages"]
                cell.lost += max(0, stored - held)
                cell.duplicated += max(0, held - stored)
            judge(cell, cli(home, "archival", "insert", "--agent", "sam", "room again"), what="insert after space was freed")
            how = f"a full {HEADROOM // 1024} KiB-free tmpfs" if mounted else "RLIMIT_FSIZE"
            cell.notes.append(f"{how}: {stored} passages stored, {refused} inserts refused")
        cell.trials += 1
    return cell


HEADROOM = 768 * 1024
"""Bytes left free on the file system when the full-disk scenario starts inserting."""


def hostile(target: Target, work: Path, trials: int) -> Cell:
    cell = Cell()
    for trial in range(trials):
        home = configured_home(work, f"hostile-{trial}", target, target.location(work / f"hostile-{trial}"))
        docs = work / f"hostile-docs-{trial}"
        docs.mkdir(exist_ok=True)
        (docs / "good.md").write_text("Green tea is brewed at eighty degrees for two minutes.")
        (docs / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
        (docs / "nul.txt").write_bytes(b"text \x00 with a NUL")
        (docs / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
        (docs / os.fsdecode(b"name-\xff.txt")).write_text("A file whose name is not UTF-8.")
        load = cli(home, "load", "directory", "--name", "docs", "--input-dir", str(docs), "--json")
        if judge(cell, load, what="the load"):
            report = json.loads(load.stdout)
            cell.lost += max(0, 3 - report["files"])  # good.md, the oddly named file and deep.json (as plain text) land
            if len(report["skipped"]) != 2 or report["failed"]:
                cell.notes.append(f"{len(report['skipped'])} files skipped and {len(report['failed'])} refused, 2 and 0 expected")
        judge(cell, cli(home, "create", "agent", "--name", "sam"), what="create")
        for args in (
            ["create", "agent", "--name", "名" * 150],
            ["archival", "search", "--agent", "sam", "tea", "--page-size", str(2**63)],
            ["recall", "search", "--agent", "sam", "--start", "99999-99-99"],
            ["archival", "search", "--agent", "sam", "tea", "--page", "-1"],
        ):
            judge(cell, cli(home, *args), should_succeed=False, what=args[0])
        env = {k: v for k, v in os.environ.items() if k != "MEMGPT_LOAD_PLUGINS"}
        env["MEMGPT_HOME"] = str(home)
        raw = subprocess.run(
            [sys.executable, "-m", "memgpt", "create", "agent", "--name", b"\xff\xfe"],
            capture_output=True,
            env=env,
            timeout=COMMAND_TIMEOUT,
        )
        if TRACEBACK.encode() in raw.stderr:
            cell.tracebacks += 1
        cell.trials += 1
    return cell


RUNNERS: dict[str, Callable[[Target, Path, int], Cell]] = {
    "kill-load": kill_load,
    "kill-migrate": kill_migrate,
    "processes": processes,
    "two-users": two_users,
    "damaged": damaged,
    "full-disk": full_disk,
    "hostile": hostile,
}


# -- targets and their servers ---------------------------------------------------------------------
def _emptied(backend: str, uri: str, patience: float = 90.0) -> str:
    """``empty_location`` on a test server, waiting for it while it is busy (a dev server still serving a killed client)."""
    from memgpt.errors import StorageUnavailable
    from memgpt.testing.migration import empty_location

    deadline = time.monotonic() + patience
    while True:
        try:
            return empty_location(backend, uri)
        except StorageUnavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


@contextmanager
def targets(wanted: set[str], scratch: Path) -> Iterator[list[Target]]:
    from memgpt import plugins

    installed = set(plugins.backends())
    found = [Target("local", "local", lambda w: str(w / "local-store"), True)]
    with ExitStack() as stack:
        if "postgres" in installed:
            uri = os.environ.get("MEMGPT_TEST_PGURI")
            if not uri:
                from memgpt_backend_postgres.devserver import DevServer

                server = DevServer(Path(tempfile.mkdtemp(prefix="memgpt-pg-faults-")) / "data")
                server.start()
                stack.callback(server.destroy)
                uri = server.uri
            found.append(Target("postgres", "postgres", lambda w, uri=uri: _emptied("postgres", uri), False))
        if "chroma" in installed:
            found.append(Target("chroma", "chroma", lambda w: str(w / "chroma"), True))
            address = stack.enter_context(_chroma_server(scratch))
            found.append(Target("chroma-http", "chroma", lambda w, a=address: _emptied("chroma", a), False))
        if "lancedb" in installed:
            found.append(Target("lancedb", "lancedb", lambda w: str(w / "lancedb"), True))
        if "qdrant" in installed:
            found.append(Target("qdrant", "qdrant", lambda w: str(w / "qdrant"), True, opens_collections_alone=False))
        if "milvus" in installed:
            found.append(Target("milvus", "milvus", lambda w: str(w / "milvus.db"), True))
            address = stack.enter_context(_milvus_server(scratch))
            found.append(Target("milvus-server", "milvus", lambda w, a=address: _emptied("milvus", a), False))
        yield [t for t in found if not wanted or t.label in wanted or t.backend in wanted]


@contextmanager
def _chroma_server(scratch: Path) -> Iterator[str]:
    import urllib.request

    from memgpt.testing import free_port, running_server

    port, data = free_port(), scratch / "chroma-server"
    data.mkdir(parents=True, exist_ok=True)

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):
                return True
        except OSError:
            return False

    argv = [
        str(Path(sys.executable).parent / "chroma"),
        "run",
        "--path",
        str(data / "db"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with running_server(argv, data / "server.log", answers, env=dict(os.environ, ANONYMIZED_TELEMETRY="False")):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def _milvus_server(scratch: Path) -> Iterator[str]:
    from memgpt.testing import accepts_connections, free_port, running_server

    port, data = free_port(), scratch / "milvus-server"
    data.mkdir(parents=True, exist_ok=True)
    argv = [str(Path(sys.executable).parent / "milvus-lite"), "server", "--data-dir", str(data / "db"), "--host", "127.0.0.1"]
    with running_server([*argv, "--port", str(port)], data / "server.log", lambda: accepts_connections(port)):
        yield f"http://127.0.0.1:{port}"


# -- the table ------------------------------------------------------------------------------------------
def table(cells: dict[tuple[str, str], Cell]) -> str:
    lines = [
        "| scenario | backend | trials | lost | duplicated | leaked | tracebacks | failed | stray | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for (scenario, label), c in cells.items():
        notes = "; ".join(dict.fromkeys(c.notes))[:300].replace("|", "/") or ""
        counts = f"{c.trials} | {c.lost} | {c.duplicated} | {c.leaked} | {c.tracebacks} | {c.failed} | {c.stray}"
        lines.append(f"| {scenario} | {label} | {counts} | {notes} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="", help="comma-separated backends or columns (default: every one installed)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help=f"comma-separated, of: {', '.join(SCENARIOS)}")
    parser.add_argument("--trials", type=int, default=1, help="trials per scenario and backend (kill-load always 2)")
    parser.add_argument("--out", type=Path, default=RESULTS / "faults.md")
    args = parser.parse_args(argv)
    scenarios = [s for s in args.scenarios.split(",") if s]
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(unknown)}")
    scratch = Path(tempfile.mkdtemp(prefix="memgpt-faults-"))
    cells: dict[tuple[str, str], Cell] = {}
    started = time.monotonic()
    try:
        with targets({b for b in args.backends.split(",") if b}, scratch) as found:
            for scenario in scenarios:
                for target in found:
                    work = scratch / scenario / target.label
                    work.mkdir(parents=True)
                    began = time.monotonic()
                    try:
                        cell = RUNNERS[scenario](target, work, max(args.trials, 2 if scenario == "kill-load" else 1))
                    except Exception as exc:  # a scenario that cannot run is a result, not a crash of the matrix
                        cell = Cell(failed=1, notes=[f"the scenario itself failed: {type(exc).__name__}: {str(exc)[:200]}"])
                    cells[(scenario, target.label)] = cell
                    print(f"{scenario:12} {target.label:14} {time.monotonic() - began:6.1f} s  {asdict(cell)}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    text = table(cells)
    print()
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    header = f"Fault matrix, {time.strftime('%Y-%m-%d')}, {time.monotonic() - started:.0f} s (`python integration/faults.py`)\n\n"
    args.out.write_text(header + text + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({f"{s}/{b}": asdict(c) for (s, b), c in cells.items()}, indent=1))
    return 1 if any(c.bad() for c in cells.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
