"""Checks run inside a fresh virtual environment where pymemgpt was installed from built wheels.

    python packages/install_check.py TARGET WHEELHOUSE

TARGET is ``core`` (bare pymemgpt), a backend extra (``postgres``, ``chroma``,
``qdrant``, ``milvus``, ``lancedb``), ``local`` (the local embedding model), ``all``, or ``template`` (the third-party
examples, a backend and an embedding provider, next to the bare core). Run by ``nox -s install``; exits non-zero with
a message on the first failed check. Uses only the standard library, memgpt.distributions and the
installed ``memgpt`` command, like a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from memgpt.distributions import FIRST_PARTY as DISTRIBUTIONS
from memgpt.distributions import backend_names

FIRST_PARTY = backend_names()
EMBEDDINGS = tuple(d.extra for d in DISTRIBUTIONS if d.provides == "embeddings")
CLIENT_LIBRARIES = tuple(module for d in DISTRIBUTIONS for module in d.client_modules)
BIN = Path(sys.executable).parent


def fail(message: str) -> None:
    print(f"install check FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def memgpt(*args: str, home: Path, ok: bool = True, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("MEMGPT_LOAD_PLUGINS", "MEMGPT_CONFIG_PATH")} | (env or {})
    env["MEMGPT_HOME"] = str(home)
    result = subprocess.run([str(BIN / "memgpt"), *args], capture_output=True, text=True, env=env, cwd=home, timeout=600)
    if ok and result.returncode != 0:
        fail(f"memgpt {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-500:]}")
    return result


def check_core_is_the_built_one(wheelhouse: Path) -> None:
    """Every file of the built memgpt-core wheel is what got installed (not a copy from an index)."""
    from importlib.metadata import distribution

    dist = distribution("memgpt-core")
    version = dist.version
    wheels = sorted(wheelhouse.glob(f"memgpt_core-{version}-*.whl"))
    if not wheels:
        fail(f"no memgpt-core {version} wheel in {wheelhouse}; the installed one came from elsewhere")
    with zipfile.ZipFile(wheels[0]) as wheel:
        for name in wheel.namelist():
            if name.startswith("memgpt/") and name.endswith(".py"):
                installed = Path(dist.locate_file(name))
                if installed.read_bytes() != wheel.read(name):
                    fail(f"installed {name} differs from the built wheel: memgpt-core was replaced by another copy")
    print(f"ok: memgpt-core {version} is the one built in {wheelhouse.name}")


def check_backends(home: Path, expected: list[str]) -> None:
    listed = [b["name"] for b in json.loads(memgpt("backends", "--json", home=home).stdout)]
    if listed[:1] != ["local"] or sorted(listed) != sorted(expected):  # plugins load in installation order
        fail(f"memgpt backends lists {listed}, expected {expected}")
    print(f"ok: memgpt backends lists {listed}")


def check_missing_backend_hint(home: Path, installed: set[str]) -> None:
    for other in FIRST_PARTY:
        if other in installed:
            continue
        result = memgpt("configure", "--defaults", "--archival-storage", other, home=home, ok=False)
        hint = f"pip install 'pymemgpt[{other}]'"
        if result.returncode == 0 or hint not in result.stderr:
            fail(f"configure --archival-storage {other} did not fail with {hint!r}: {result.stderr.strip()}")
    print("ok: a backend that is not installed is refused with its pip install hint")


def storage_args(target: str, work: Path) -> tuple[list[str], object | None]:
    """Flags for configure, and a server to stop afterwards (postgres)."""
    if target == "postgres":
        from memgpt_backend_postgres.devserver import DevServer

        server = DevServer(work / "pgdata")
        uri = server.start()
        return [
            "--archival-storage",
            "postgres",
            "--archival-uri",
            uri,
            "--recall-storage",
            "postgres",
            "--recall-uri",
            uri,
        ], server
    return ["--archival-storage", target, "--recall-storage", target], None


def check_round_trip(target: str, home: Path, work: Path) -> None:
    args, server = storage_args(target, work)
    try:
        docs = work / "docs"
        docs.mkdir()
        (docs / "tea.md").write_text("Green tea is brewed at eighty degrees.")
        memgpt("configure", "--defaults", *args, home=home)
        memgpt("load", "directory", "--name", "docs", "--input-dir", str(docs), home=home)
        memgpt("create", "agent", "--name", "installed", home=home)
        memgpt("attach", "--agent", "installed", "--data-source", "docs", home=home)
        memgpt("archival", "insert", "--agent", "installed", "The user prefers oolong tea.", home=home)
        memgpt("recall", "append", "--agent", "installed", "Which tea today?", home=home)
        found = json.loads(memgpt("archival", "search", "--agent", "installed", "oolong tea", "--json", home=home).stdout)
        messages = json.loads(memgpt("recall", "search", "--agent", "installed", "TEA", "--json", home=home).stdout)
        if found["total"] != 2 or found["results"][0]["text"] != "The user prefers oolong tea." or messages["total"] != 1:
            fail(f"store-and-search round trip on {target} returned {found} / {messages}")
    finally:
        if server is not None:
            server.destroy()  # type: ignore[attr-defined]
    print(f"ok: configure {target}, load, attach, insert, append and search work from the installed wheels")


def check_help_imports_no_client() -> None:
    code = (
        "import sys\nfrom memgpt.cli import main\ntry:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {list(CLIENT_LIBRARIES)!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    if out != "[]":
        fail(f"memgpt --help imported client libraries: {out}")
    out = subprocess.run(
        [sys.executable, "-c", code.replace("['--help']", "['backends']")], capture_output=True, text=True, check=True
    )
    if out.stdout.strip().splitlines()[-1] != "[]":
        fail(f"memgpt backends imported client libraries: {out.stdout.strip().splitlines()[-1]}")
    print("ok: memgpt --help and memgpt backends import no backend client library")


def check_local_embeddings(home: Path, work: Path, expected: str) -> None:
    """A new home's ``configure --defaults`` picks ``expected`` embeddings; with ``local``, a search finds by meaning."""
    memgpt("configure", "--defaults", home=home)
    config = (home / "config").read_text()
    if f"embedding_endpoint_type = {expected}" not in config:
        fail(f"configure --defaults on a new home did not pick the {expected!r} embedding provider:\n{config}")
    if expected != "local":
        print(f"ok: a new home embeds with {expected!r}")
        return
    docs = work / "meaning"
    docs.mkdir()
    (docs / "tea.txt").write_text("Green tea should steep for two minutes in water heated to about eighty degrees.")
    (docs / "car.txt").write_text("The car would not start because the battery was dead.")
    (docs / "bank.txt").write_text("The bank approved our mortgage for the new house.")
    offline = {"HF_HUB_OFFLINE": "1"}
    memgpt("load", "directory", "--name", "meaning", "--input-dir", str(docs), home=home, env=offline)
    memgpt("create", "agent", "--name", "meaning", home=home, env=offline)
    memgpt("attach", "--agent", "meaning", "--data-source", "meaning", home=home, env=offline)
    question = "Why did the vehicle fail to turn on this morning?"
    found = json.loads(memgpt("archival", "search", "--agent", "meaning", question, "--json", home=home, env=offline).stdout)
    if not found["results"] or "battery" not in found["results"][0]["text"]:
        fail(f"the local model did not find the passage by meaning: {found}")
    print("ok: a new home embeds with the packaged local model and finds a passage by meaning, offline")


def check_templates(home: Path, templates: list[Path]) -> None:
    """The backend and provider templates, installed from their wheels: listed, offered, and their own tests pass."""
    check_backends(home, ["local", "example"])
    code = "from memgpt.configure_questions import storage_choices; from memgpt.kinds import RecordKind; print(storage_choices(RecordKind.ARCHIVAL), storage_choices(RecordKind.RECALL))"
    env = dict(os.environ, MEMGPT_HOME=str(home))
    env.pop("MEMGPT_LOAD_PLUGINS", None)
    choices = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout.strip()
    if choices != "['local', 'example'] ['local', 'example']":
        fail(f"configure offers {choices}")
    print(f"ok: configure offers the example backend: {choices}")
    offered = json.loads(memgpt("configure", "--choices", home=home).stdout)
    if "example" not in [p["name"] for p in offered["embedding_providers"]]:
        fail(f"configure does not offer the example embedding provider: {offered['embedding_providers']}")
    print("ok: configure offers the example embedding provider")
    memgpt("configure", "--defaults", "--archival-storage", "example", "--recall-storage", "example", home=home)
    for template in templates:
        tests = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(template / "tests")],
            capture_output=True,
            text=True,
            cwd=template,
        )
        print(tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr[-500:])
        if tests.returncode != 0:
            fail(f"the tests of {template.name} failed:\n" + tests.stdout[-3000:])
        print(f"ok: the tests of {template.name} pass against its installed wheel")


def main() -> None:
    target, wheelhouse = sys.argv[1], Path(sys.argv[2])
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix=f"memgpt-install-{target}-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        check_core_is_the_built_one(wheelhouse)
        if target == "template":
            packages = root / "packages"
            check_templates(
                home,
                [packages / "backend-template/memgpt-backend-example", packages / "provider-template/memgpt-embeddings-example"],
            )
            return
        installed = set(FIRST_PARTY) if target == "all" else set() if target in ("core", *EMBEDDINGS) else {target}
        check_backends(home, ["local", *installed])
        check_missing_backend_hint(home, installed)
        check_local_embeddings(home, work, "local" if target in ("all", "local") else "hashing")
        shutil.rmtree(home)
        home.mkdir()
        if target == "all":
            check_help_imports_no_client()
            check_round_trip("lancedb", home, work)
        else:
            check_round_trip("local" if target in ("core", *EMBEDDINGS) else target, home, work)


if __name__ == "__main__":
    main()
