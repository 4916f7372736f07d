"""Run the core's embedding-provider suite against the example provider, and use it from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from memgpt.testing import EmbeddingProviderConformance, run_cli
from memgpt_embeddings_example.embedder import sketch
from memgpt_embeddings_example.plugin import ExampleProvider


class TestExampleProvider(EmbeddingProviderConformance):
    provider_class = ExampleProvider


def test_shared_words_score_higher_than_unrelated_text() -> None:
    query, near, far = (sketch(t, 128) for t in ("green tea", "brewing green tea leaves", "the night train to Vienna"))
    assert float(np.dot(query, near)) > float(np.dot(query, far)) + 0.2


def test_memgpt_loads_and_searches_with_the_provider(tmp_path: Path) -> None:
    """The provider is installed: configure offers it, and loading and searching use it (each command a new process)."""
    home = tmp_path / "home"
    home.mkdir()
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "tea.md").write_text("Green tea is brewed at eighty degrees for two minutes.")
    (tmp_path / "docs" / "train.md").write_text("The night train leaves the station at midnight.")
    choices = json.loads(run_cli("configure", "--choices", home=home).stdout)
    assert "example" in [p["name"] for p in choices["embedding_providers"]]
    for step in (
        ("configure", "--defaults", "--embedding-provider", "example", "--embedding-model", "trigram-sketch-128"),
        ("load", "directory", "--name", "docs", "--input-dir", str(tmp_path / "docs")),
        ("create", "agent", "--name", "reader"),
        ("attach", "--agent", "reader", "--data-source", "docs"),
    ):
        result = run_cli(*step, home=home)
        assert result.returncode == 0, (step, result.stderr)
    found = json.loads(run_cli("archival", "search", "--agent", "reader", "brewing green tea", "--json", home=home).stdout)
    assert found["results"][0]["text"].startswith("Green tea") and found["total"] == 2
