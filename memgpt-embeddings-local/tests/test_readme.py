"""The README's first command, the main job, works as written on the local default, and again when run twice."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
INSTALL = "pip install ./memgpt-core ./memgpt-embeddings-local && "

pytestmark = pytest.mark.skipif(not README.is_file(), reason="needs the repository checkout")


def test_main_job_loads_the_docs_and_finds_the_answer_by_meaning_twice(tmp_path: Path) -> None:
    first = re.findall(r"```sh\n(.*?)\n```", README.read_text(), flags=re.DOTALL)[0]
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && " + INSTALL)
    # Installing core and local embeddings is what this test session already did; run the rest as written, twice.
    job = first.split(INSTALL, 1)[1]
    env = dict(
        os.environ,
        MEMGPT_HOME=str(tmp_path / "home"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        HF_HUB_OFFLINE="1",
    )
    env.pop("MEMGPT_LOAD_PLUGINS", None)
    for run in ("first", "second"):
        result = subprocess.run(["bash", "-c", f"set -e; {job}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, (run, result.stderr)
        assert "Traceback" not in result.stderr
        table = result.stdout[result.stdout.index("Showing") :]
        best = table.splitlines()[3]  # header line, table head, rule, best hit
        assert "docs" in best and ("embeddings.md" in best or "migration.md" in best), (run, table)  # both answer it
        assert "embedded with local:static-minilm-l6-v2" in result.stdout, result.stdout
    assert "Created agent 'guide'" not in result.stdout and "exists already" in result.stdout
    assert ", 0 removed" in result.stdout and "0 passages written" in result.stdout  # the second run loads nothing again
