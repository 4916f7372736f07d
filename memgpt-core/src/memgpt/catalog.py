"""Agents, data sources, and which sources each agent reads.

Attaching a data source to an agent records the source's name in the agent's
state; the agent's archival search then also searches that source's passages
where they are stored. Nothing is copied, so attaching is instant, detaching
undoes it completely, and a source shared by a hundred agents is stored once.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol

from memgpt.embeddings.installed import open_embedder
from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.errors import AlreadyExists, ConfigError, EmbeddingMismatch, EmbeddingUnavailable, NotFound, UnknownBackend
from memgpt.kinds import Table
from memgpt.names import validate_name
from memgpt.profiles import Profiles
from memgpt.records import AgentState, EmbeddingSpec, Source, utcnow
from memgpt.storage.collection import Collection
from memgpt.storage.where import Where


class Collections(Protocol):
    """Anything that hands out scoped collections (:class:`~memgpt.storage.Storage` does)."""

    def collection(self, table: Table, scope: Where, spec: EmbeddingSpec | None = None, claim: bool = False) -> Collection: ...


@dataclass(frozen=True)
class SourceSummary:
    """A data source with its passage count and the agents it is attached to."""

    source: Source
    passages: int
    agents: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.source.name,
            "passages": self.passages,
            "embedding_model": self.source.embedding_model,
            "embedding_dim": self.source.embedding_dim,
            "attached_agents": list(self.agents),
            "created_at": self.source.created_at.isoformat(),
            "description": self.source.description,
        }


AGENT_NAMESPACE = uuid.UUID("3f0c8d8e-6d65-4d67-7074-6167656e7473")


def agent_id_for(user_id: str, name: str) -> str:
    """The id of ``user_id``'s agent called ``name``: derived from both, so names are unique per user by construction.

    Two processes creating the same agent at once write the same record
    instead of two agents with one name.
    """
    return str(uuid.uuid5(AGENT_NAMESPACE, f"{user_id}/{name}"))


def embedding_of_agent(agent: AgentState) -> EmbeddingConfig:
    """The agent's embedding config, with the configured endpoint's credentials when it is the same endpoint."""
    return _with_credentials(EmbeddingConfig.from_dict(agent.embedding_config))


def embedding_of_source(source: Source) -> EmbeddingConfig:
    """The embedding config a data source was loaded with (its passages and every later load use it).

    Sources made before the config was recorded (memgpt 0.3 exports) name only
    their model: the provider is the installed one that knows that model.
    """
    recorded = source.metadata.get("embedding") if isinstance(source.metadata, dict) else None
    if isinstance(recorded, dict) and recorded.get("provider"):
        config = EmbeddingConfig.from_dict(recorded)
        return _with_credentials(replace(config, model=source.embedding_model, dim=source.embedding_dim))
    from memgpt.plugins import embedding_providers

    provider = next(
        (name for name, info in embedding_providers().items() if source.embedding_model in info.item.models), "hashing"
    )
    return EmbeddingConfig(provider, source.embedding_model, source.embedding_dim)


def shell_word(text: str) -> str:
    """``text`` quoted for a shell when it needs it (a name in a suggested command)."""
    import shlex

    return shlex.quote(text)


def open_embedder_of(what: str, config: EmbeddingConfig, kind: str, name: str) -> Embedder:
    """The embedder of ``what`` (an agent, a data source) with its own model, or one line naming the re-embed command.

    Records keep the model they were made with; when that model cannot be used
    here (its provider is not installed, its files are missing), the way out is
    to re-embed them with the configured model.
    """
    try:
        return open_embedder(config)
    except (UnknownBackend, EmbeddingUnavailable, EmbeddingMismatch, ConfigError) as exc:
        raise EmbeddingUnavailable(
            f"{what} is embedded with {config.provider}:{config.model} ({config.dim}-d), which cannot be used here "
            f"({str(exc).rstrip('.')}); re-embed it with the configured model: memgpt reembed {kind} {shell_word(name)}"
        ) from None


def spec_of(config: EmbeddingConfig) -> EmbeddingSpec:
    """The embedding spec (model and dimension) that records embedded with ``config`` carry."""
    return EmbeddingSpec(config.model, config.dim)


def _with_credentials(config: EmbeddingConfig) -> EmbeddingConfig:
    """``config`` with the configured endpoint's credentials when it is the same endpoint.

    Agent and source records keep endpoints without credentials; the
    credential (a password or key in the configured URL) comes back from the
    config file at use, never from the record.
    """
    if not config.endpoint:
        return config
    from memgpt.config import MemGPTConfig
    from memgpt.secrets import strip_credentials

    configured = MemGPTConfig.load().embedding_endpoint
    if configured and configured != config.endpoint and strip_credentials(configured) == config.endpoint:
        return replace(config, endpoint=configured)
    return config


class Catalog:
    """The agents, data sources, personas and humans of one user."""

    def __init__(self, collections: Collections, user_id: str) -> None:
        self.collections = collections
        self.user_id = validate_name(user_id, "user id")
        self.mine = Where.of(user_id=user_id)
        self.profiles = Profiles(collections, self.user_id)

    def _agents(self) -> Collection:
        return self.collections.collection(Table.AGENTS, self.mine)

    def _sources(self) -> Collection:
        return self.collections.collection(Table.SOURCES, self.mine)

    # -- agents -----------------------------------------------------------------------
    def find_agent(self, name_or_id: str) -> AgentState | None:
        """The agent with this name (or id), or ``None``.

        An agent's id derives from its name, so it is read directly, touching
        no other agent's storage; agents made before ids did (memgpt 0.4) are
        found by name.
        """
        agents = self._agents()
        direct = agents.get(agent_id_for(self.user_id, name_or_id))
        if direct is not None and direct.name == name_or_id:
            return direct
        by_name = list(agents.iterate(Where.of(name=name_or_id)))
        if by_name:
            return by_name[0]
        return agents.get(name_or_id)

    def reload_agent(self, agent: AgentState) -> AgentState:
        """``agent`` as stored now, read by its id alone (no other agent's storage is touched)."""
        fresh = self._agents().get(agent.id)
        if fresh is None:
            raise NotFound(f"agent {agent.name!r} was deleted meanwhile")
        return fresh

    def get_agent(self, name_or_id: str) -> AgentState:
        agent = self.find_agent(name_or_id)
        if agent is None:
            raise NotFound(f"no agent named {name_or_id!r}; memgpt list agents shows them")
        return agent

    def list_agents(self) -> list[AgentState]:
        return sorted(self._agents().iterate(), key=lambda a: (a.created_at, a.name))

    def create_agent(
        self,
        name: str,
        *,
        embedding: EmbeddingConfig,
        persona: str = "",
        human: str = "",
        preset: str | None = None,
        llm_config: dict[str, Any] | None = None,
    ) -> AgentState:
        """A new agent whose core memory starts from the texts of ``persona`` and ``human`` (names; empty for none)."""
        from memgpt.agent.core_memory import CoreMemory

        validate_name(name, "agent name")
        texts = {
            kind: self.profiles.get(kind, given).text if given else "" for kind, given in (("persona", persona), ("human", human))
        }
        if self.find_agent(name) is not None:
            raise AlreadyExists(f"an agent named {name!r} exists already")
        agent = AgentState(
            id=agent_id_for(self.user_id, name),
            name=name,
            user_id=self.user_id,
            preset=preset,
            persona=persona,
            human=human,
            llm_config=dict(llm_config or {}),
            embedding_config=embedding.to_dict(),
        )
        core = CoreMemory.of(agent)
        core.blocks.update(texts)
        agent = core.applied_to(agent)
        self._agents().insert([agent])
        return agent

    def save_agent(self, agent: AgentState) -> AgentState:
        updated = replace(agent, updated_at=utcnow())
        self._agents().insert([updated])
        return updated

    def delete_agent(self, name_or_id: str) -> dict[str, int]:
        """Delete an agent with its archival and recall memory; returns what was deleted."""
        agent = self.get_agent(name_or_id)
        scope = Where.of(user_id=self.user_id, agent_id=agent.id)
        spec = spec_of(embedding_of_agent(agent))
        deleted = {
            "archival": self.collections.collection(Table.ARCHIVAL, scope, spec).delete_where(Where.everything()),
            "recall": self.collections.collection(Table.RECALL, scope).delete_where(Where.everything()),
        }
        self._agents().delete([agent.id])
        return deleted

    # -- sources ------------------------------------------------------------------------
    def find_source(self, name: str) -> Source | None:
        return self._sources().get(validate_name(name, "source name"))

    def get_source(self, name: str) -> Source:
        source = self.find_source(name)
        if source is None:
            raise NotFound(f"no data source named {name!r}; memgpt list sources shows them")
        return source

    def new_source(self, name: str, embedding: EmbeddingConfig, description: str | None = None) -> Source:
        """A source record for ``name`` embedded with ``embedding``, checked but not stored (see :meth:`add_source`)."""
        validate_name(name, "source name")
        return Source(
            name=name,
            user_id=self.user_id,
            embedding_model=embedding.model,
            embedding_dim=embedding.dim,
            description=description,
            metadata={"embedding": embedding.to_dict()},
        )

    def add_source(self, source: Source) -> Source:
        """Enter ``source`` in the catalog (replacing one of the same name)."""
        self._sources().insert([source])
        return source

    def ensure_source(self, name: str, embedding: EmbeddingConfig, description: str | None = None) -> Source:
        """The source called ``name``, created with ``embedding`` if new.

        A source keeps the model it was created with: loading more into it
        embeds with that model (:func:`embedding_of_source`), whatever is
        configured now.
        """
        return self.find_source(name) or self.add_source(self.new_source(name, embedding, description))

    def source_passages(self, source: Source, claim: bool = False) -> Collection:
        """The passages of ``source``, on the shelf of its embedding model."""
        scope = Where.of(user_id=self.user_id, source=source.name)
        return self.collections.collection(Table.SOURCE_PASSAGES, scope, spec_of(embedding_of_source(source)), claim)

    def archival_of(self, agent: AgentState, claim: bool = False) -> Collection:
        """The agent's own archival passages, on the shelf of its embedding model."""
        scope = Where.of(user_id=agent.user_id, agent_id=agent.id)
        return self.collections.collection(Table.ARCHIVAL, scope, spec_of(embedding_of_agent(agent)), claim)

    def source_passage_count(self, name: str) -> int:
        return self.source_passages(self.get_source(name)).count()

    def list_sources(self) -> list[SourceSummary]:
        agents = self.list_agents()
        summaries = []
        for source in sorted(self._sources().iterate(), key=lambda s: s.name):
            attached = tuple(a.name for a in agents if source.name in a.attached_sources)
            summaries.append(SourceSummary(source, self.source_passages(source).count(), attached))
        return summaries

    def delete_source(self, name: str) -> int:
        """Detach the source from every agent, delete its passages and its entry; returns passages deleted."""
        source = self.get_source(name)
        for agent in self.list_agents():
            if name in agent.attached_sources:
                self.save_agent(replace(agent, attached_sources=tuple(s for s in agent.attached_sources if s != name)))
        deleted = self.source_passages(source).delete_where(Where.everything())
        self._sources().delete([name])
        return deleted

    # -- attachments ----------------------------------------------------------------------
    def attach(self, agent_name: str, source_name: str) -> AgentState:
        """Make ``agent_name``'s archival search cover ``source_name`` (no passage is copied).

        The source may be embedded with another model than the agent: its
        passages are searched with a query embedded by the source's own model.
        """
        agent = self.get_agent(agent_name)
        source = self.get_source(source_name)
        if source.name in agent.attached_sources:
            return agent
        return self.save_agent(replace(agent, attached_sources=(*agent.attached_sources, source.name)))

    def detach(self, agent_name: str, source_name: str) -> AgentState:
        agent = self.get_agent(agent_name)
        if source_name not in agent.attached_sources:
            raise NotFound(f"data source {source_name!r} is not attached to agent {agent.name!r}")
        return self.save_agent(replace(agent, attached_sources=tuple(s for s in agent.attached_sources if s != source_name)))
