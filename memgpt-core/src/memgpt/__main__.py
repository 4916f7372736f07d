"""``python -m memgpt`` runs the CLI."""

from memgpt.cli import main

main()
