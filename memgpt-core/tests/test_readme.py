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


def test_the_backends_table_lists_the_first_party_distributions() -> None:
    """The README's backend table is held to memgpt.distributions, as the umbrella's extras are."""
    from memgpt.distributions import FIRST_PARTY

    rows = re.findall(
        r"^\| `(\w+)` \| `([\w-]+)` \| `pip install 'pymemgpt\[(\w+)\]'` \|", README.read_text(), flags=re.MULTILINE
    )
    expected = {(d.plugin, d.name, d.extra) for d in FIRST_PARTY if d.provides == "backend"}
    assert set(rows) == expected


def test_the_umbrella_extras_are_written_from_the_distributions() -> None:
    import tomllib

    from memgpt import __version__
    from memgpt.distributions import FIRST_PARTY, umbrella_extras

    project = tomllib.loads((ROOT / "packages" / "pymemgpt" / "pyproject.toml").read_text())["project"]
    assert project["optional-dependencies"] == umbrella_extras(__version__)
    folders = {p.parent.name for p in ROOT.glob("memgpt-*/pyproject.toml")} - {"memgpt-core"}
    assert folders == {d.name for d in FIRST_PARTY}
