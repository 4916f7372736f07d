"""The Python API over the configured storage: agents, data sources, memories.

    from memgpt.client import MemGPTClient

    with MemGPTClient() as client:                    # the config file's backends and embedding model
        client.load("docs", files=[Path("README.md")])
        client.create_agent("sam")
        client.attach("sam", "docs")
        memory = client.memory("sam")
        print(memory.archival_memory_search("how do I configure postgres?"))
        for message in client.send_message("sam", "What do my documents say about postgres?"):
            if message.type == "assistant_message":
                print(message.text)

The same calls work on every backend: they only use the storage contract.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memgpt.agent_memory import AgentMemory
from memgpt.catalog import Catalog, SourceSummary
from memgpt.config import MemGPTConfig
from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.profiles import ProfileEntry
from memgpt.records import AgentState, Profile

if TYPE_CHECKING:  # imported when used: the agent loop when an agent is opened, the loader when files load
    from memgpt.agent.loop import Agent, AgentSettings
    from memgpt.agent.turn import TurnMessage
    from memgpt.sources.loader import LoadReport, Progress


class MemGPTClient:
    """Agents, data sources and memories of one user on the configured backends."""

    def __init__(
        self,
        config: MemGPTConfig | None = None,
        user_id: str | None = None,
        storage: Any | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        from memgpt.storage.configured import Storage

        self.config = config or MemGPTConfig.load()
        self.storage = storage if storage is not None else Storage(self.config)
        self.catalog = Catalog(self.storage, user_id or self.config.user_id)
        self._embedder = embedder

    def __enter__(self) -> MemGPTClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.storage.close()

    @property
    def embedding(self) -> EmbeddingConfig:
        return self.config.embedding()

    # -- agents -----------------------------------------------------------------------
    def create_agent(
        self, name: str, persona: str | None = None, human: str | None = None, preset: str | None = None
    ) -> AgentState:
        """A new agent with the configured defaults for what is not given.

        ``persona`` and ``human`` name profiles (:meth:`add_profile`, or built in):
        their texts become the agent's core memory.
        """
        return self.catalog.create_agent(
            name,
            embedding=self.embedding,
            persona=persona if persona is not None else self.config.persona,
            human=human if human is not None else self.config.human,
            preset=preset or self.config.preset,
            llm_config=self.config.llm(),
        )

    # -- personas and humans --------------------------------------------------------------
    def add_profile(self, kind: str, name: str, text: str, replace: bool = False) -> Profile:
        """Keep a persona or human (``kind``) called ``name``; ``replace`` changes an existing one's text."""
        return self.catalog.profiles.add(kind, name, text, replace_existing=replace)

    def list_profiles(self, kind: str) -> list[ProfileEntry]:
        """Every persona or human the user can start an agent with, built-in ones included."""
        return self.catalog.profiles.list(kind)

    def delete_profile(self, kind: str, name: str) -> bool:
        """Delete the user's persona or human; returns whether a built-in one of that name takes its place."""
        return self.catalog.profiles.delete(kind, name)

    def get_agent(self, name: str) -> AgentState:
        return self.catalog.get_agent(name)

    def list_agents(self) -> list[AgentState]:
        return self.catalog.list_agents()

    def delete_agent(self, name: str) -> dict[str, int]:
        return self.catalog.delete_agent(name)

    def agent(
        self, name: str, on_message: Callable[[TurnMessage], None] | None = None, settings: AgentSettings | None = None
    ) -> Agent:
        """Agent ``name``, ready to talk with its configured LLM (``on_message`` sees each message as it happens)."""
        from memgpt.agent.core_memory import with_profile_texts
        from memgpt.agent.loop import Agent, open_chat_model

        state = self.catalog.get_agent(name)
        upgraded = with_profile_texts(state, self.catalog.profiles)
        if upgraded is not None:  # an agent of memgpt 0.5: its core memory held only the names
            state = self.catalog.save_agent(upgraded)
        return Agent(self.catalog, state, open_chat_model(state.llm_config), self.memory(name), settings, on_message)

    def use_llm(
        self,
        agent: str,
        *,
        provider: str | None = None,
        endpoint: str | None = None,
        model: str | None = None,
        context_window: int | None = None,
    ) -> AgentState:
        """Point ``agent`` at another LLM (an agent keeps the one it was created with until told otherwise).

        What is not given stays as it was, except that a new ``provider``
        without an ``endpoint`` gets that provider's default endpoint.
        """
        from memgpt.errors import ConfigError
        from memgpt.plugins import get_llm_provider
        from memgpt.secrets import mask_uri

        state = self.catalog.get_agent(agent)
        config = dict(state.llm_config)
        if provider is not None:
            chosen = get_llm_provider(provider)
            if provider != config.get("model_endpoint_type"):
                config["model_endpoint"] = chosen.default_endpoint
                config["model"] = model or chosen.default_model
            config["model_endpoint_type"] = provider
        if endpoint is not None:
            if not endpoint.startswith(("http://", "https://")):
                raise ConfigError(f"the LLM endpoint must be an http:// or https:// URL, got {mask_uri(endpoint)!r}")
            config["model_endpoint"] = endpoint
        if model is not None:
            if not model.strip():
                raise ConfigError("give the name of the model the server serves")
            config["model"] = model
        if context_window is not None:
            if context_window <= 0:
                raise ConfigError(f"the context window must be a positive number of tokens, got {context_window}")
            config["context_window"] = context_window
        if config == state.llm_config:
            return state
        return self.catalog.save_agent(replace(state, llm_config=config))

    def send_message(self, agent: str, text: str) -> list[TurnMessage]:
        """One turn: ``text`` from the user to ``agent``; returns the turn's messages in order.

        The replies are the ``assistant_message`` ones (``Turn.replies``);
        everything the turn did is also in the agent's recall memory.
        """
        return self.agent(agent).send(text).messages

    def memory(self, agent: str) -> AgentMemory:
        """The archival and recall memory of ``agent``."""
        state = self.catalog.get_agent(agent)
        embedder = self._embedder if self._embedder is not None and state.embedding_config == self.embedding.to_dict() else None
        return AgentMemory(self.storage, state, embedder)

    # -- data sources -------------------------------------------------------------------
    def load(
        self,
        source: str,
        files: Sequence[Path],
        chunk_size: int | None = None,
        chunk_overlap: int = 0,
        options: Mapping[str, str] | None = None,
        progress: Progress | None = None,
    ) -> LoadReport:
        """Load ``files`` into data source ``source`` (created if new) with the configured embedding model."""
        from memgpt.plugins import readers
        from memgpt.sources.loader import SourceLoader

        loader = SourceLoader(
            self.catalog,
            source,
            self.embedding,
            [r.item for r in readers().values()],
            chunk_size=chunk_size,
            chunk_overlap=chunk_overlap,
            options=options,
            embedder=self._embedder,
            progress=progress,
        )
        return loader.load(files)

    def list_sources(self) -> list[SourceSummary]:
        return self.catalog.list_sources()

    def delete_source(self, name: str) -> int:
        return self.catalog.delete_source(name)

    def attach(self, agent: str, source: str) -> AgentState:
        return self.catalog.attach(agent, source)

    def detach(self, agent: str, source: str) -> AgentState:
        return self.catalog.detach(agent, source)
