"""The distributions published from this repository: the one list everything else reads.

The umbrella's extras (``packages/pymemgpt/pyproject.toml``, written from
here by ``python packages/versioning.py``), the install hints of the CLI
(:func:`install_hint`), the wheel-install checks (``nox -s install``), and
the tests that hold the README's backend table to it all read
:data:`FIRST_PARTY`. Standard library only: ``noxfile.py`` loads this file by
path, outside any environment.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Distribution:
    """One pip-installable plugin distribution of this repository."""

    name: str
    """The distribution's name on the index: ``memgpt-backend-postgres``."""
    extra: str
    """Its extra of the umbrella: ``pip install 'pymemgpt[<extra>]'``."""
    provides: str
    """``"backend"`` (a storage backend) or ``"embeddings"`` (an embedding provider)."""
    plugin: str
    """The name it registers: the backend's (as in ``memgpt configure``) or the provider's."""
    client_modules: tuple[str, ...] = ()
    """The heavy libraries it imports when used, never when ``memgpt`` starts."""


FIRST_PARTY: tuple[Distribution, ...] = (
    Distribution("memgpt-backend-postgres", "postgres", "backend", "postgres", ("sqlalchemy", "pg8000")),
    Distribution("memgpt-backend-chroma", "chroma", "backend", "chroma", ("chromadb",)),
    Distribution("memgpt-backend-qdrant", "qdrant", "backend", "qdrant", ("qdrant_client",)),
    Distribution("memgpt-backend-milvus", "milvus", "backend", "milvus", ("pymilvus", "milvus_lite")),
    Distribution("memgpt-backend-lancedb", "lancedb", "backend", "lancedb", ("lancedb",)),
    Distribution("memgpt-embeddings-local", "local", "embeddings", "local", ("model2vec", "tokenizers")),
)
"""Every plugin distribution of this repository, in the order the docs list them."""

CORE_EXTRAS: dict[str, str] = {"pdf": "memgpt-core[pdf]"}
"""Extras of the umbrella that are optional features of the core itself."""


def backend_names() -> tuple[str, ...]:
    """The first-party storage backends' names."""
    return tuple(d.plugin for d in FIRST_PARTY if d.provides == "backend")


def by_plugin(name: str, provides: str = "backend") -> Distribution | None:
    """The first-party distribution registering ``name``, if any."""
    return next((d for d in FIRST_PARTY if d.plugin == name and d.provides == provides), None)


def install_hint(name: str, provides: str = "backend") -> str:
    """The pip command that installs a first-party plugin."""
    distribution = by_plugin(name, provides)
    extra = distribution.extra if distribution else name
    return f"pip install 'pymemgpt[{extra}]'"


def umbrella_extras(version: str) -> dict[str, list[str]]:
    """``[project.optional-dependencies]`` of the umbrella ``pymemgpt``, pinned to ``version``."""
    extras = {d.extra: [f"{d.name}=={version}"] for d in FIRST_PARTY}
    extras.update({extra: [f"{requirement}=={version}"] for extra, requirement in CORE_EXTRAS.items()})
    extras["all"] = [requirement for values in extras.values() for requirement in values]
    return extras
