"""`.ci/run` runs the README's second command (the first, the main job, is tested in memgpt-embeddings-local, which it installs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

pytestmark = pytest.mark.skipif(not README.is_file(), reason="needs the repository checkout")


def code_blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README.read_text(), flags=re.DOTALL)


def test_ci_runs_the_readme_test_command() -> None:
    second = code_blocks()[1]
    assert second in (ROOT / ".ci" / "run").read_text()
