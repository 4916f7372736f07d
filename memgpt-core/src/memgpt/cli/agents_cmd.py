"""``memgpt create|list|delete`` agents and sources, ``memgpt attach`` / ``memgpt detach``."""

from __future__ import annotations

import click

from memgpt.cli.common import agent_option, confirm, json_option, name_argument, source_option, with_client, yes_option
from memgpt.cli.output import echo_json, echo_table, plural


@click.group("create")
def create_group() -> None:
    """Create an agent."""


@create_group.command("agent")
@name_argument("agent")
@click.option("--persona", help="Persona (default: the configured one).")
@click.option("--human", help="Human (default: the configured one).")
@click.option("--preset", help="Preset (default: the configured one).")
@click.option("--exist-ok", is_flag=True, help="If an agent of that name exists, keep it and succeed (for scripts run twice).")
@json_option
@with_client
def create_agent_command(client, name, persona, human, preset, exist_ok, as_json) -> None:
    """Create agent NAME with the configured LLM, embedding model, persona and human."""
    existing = client.catalog.find_agent(name) if exist_ok else None
    agent = existing or client.create_agent(name, persona=persona, human=human, preset=preset)
    if as_json:
        echo_json({**agent.to_dict(), "created": existing is None})
    elif existing is not None:
        click.echo(f"Agent {agent.name!r} exists already (id {agent.id}, embeddings {agent.embedding_config['model']}): kept.")
    else:
        click.echo(f"Created agent {agent.name!r} (id {agent.id}, embeddings {agent.embedding_config['model']}).")


@click.group("list")
def list_group() -> None:
    """List agents, data sources, personas or humans."""


@list_group.command("agents")
@json_option
@with_client
def list_agents_command(client, as_json) -> None:
    """Every agent, with its persona, human, attached sources and memory sizes."""
    rows = []
    for agent in client.list_agents():
        memory = client.memory(agent.name)
        rows.append(
            {
                "name": agent.name,
                "id": agent.id,
                "persona": agent.persona,
                "human": agent.human,
                "embedding_model": agent.embedding_config.get("model"),
                "attached_sources": list(agent.attached_sources),
                "archival_passages": memory.archival.count(),
                "recall_messages": memory.recall.count(),
                "created_at": agent.created_at.isoformat(),
            }
        )
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["name", "persona", "human", "sources", "archival", "recall", "created"],
        [
            [
                r["name"],
                r["persona"],
                r["human"],
                ", ".join(r["attached_sources"]) or "-",
                r["archival_passages"],
                r["recall_messages"],
                r["created_at"][:19],
            ]
            for r in rows
        ],
    )


@list_group.command("sources")
@json_option
@with_client
def list_sources_command(client, as_json) -> None:
    """Every data source, with its passage count, embedding model and attached agents."""
    rows = [s.to_dict() for s in client.list_sources()]
    if as_json:
        echo_json(rows)
        return
    echo_table(
        ["name", "passages", "embedding model", "dim", "attached agents"],
        [
            [r["name"], r["passages"], r["embedding_model"], r["embedding_dim"], ", ".join(r["attached_agents"]) or "-"]
            for r in rows
        ],
    )


@click.group("delete")
def delete_group() -> None:
    """Delete an agent, a data source, a persona or a human."""


@delete_group.command("agent")
@name_argument("agent")
@yes_option
@json_option
@with_client
def delete_agent_command(client, name, yes, as_json) -> None:
    """Delete agent NAME with its archival and recall memory (asks first on a terminal; --yes does not)."""
    agent = client.get_agent(name)
    confirm(f"Delete agent {agent.name!r} with its archival and recall memory?", yes)
    deleted = client.delete_agent(name)
    if as_json:
        echo_json({"agent": agent.name, "archival_passages": deleted["archival"], "recall_messages": deleted["recall"]})
        return
    click.echo(
        f"Deleted agent {agent.name!r} ({plural(deleted['archival'], 'archival passage')}, {plural(deleted['recall'], 'message')})."
    )


@delete_group.command("source")
@name_argument("data source")
@yes_option
@json_option
@with_client
def delete_source_command(client, name, yes, as_json) -> None:
    """Delete data source NAME: detach it from every agent and delete its passages (asks first on a terminal)."""
    source = client.catalog.get_source(name)
    confirm(f"Delete data source {source.name!r} and its passages, detaching it from every agent?", yes)
    deleted = client.delete_source(name)
    if as_json:
        echo_json({"source": source.name, "passages": deleted})
        return
    click.echo(f"Deleted data source {source.name!r} ({plural(deleted, 'passage')}).")


@click.command("attach")
@agent_option
@source_option
@json_option
@with_client
def attach_command(client, agent, source, as_json) -> None:
    """Let AGENT's archival search cover a data source (its passages are not copied)."""
    state = client.attach(agent, source)
    if as_json:
        echo_json({"agent": state.name, "attached_sources": list(state.attached_sources)})
        return
    click.echo(f"Attached data source {source!r} to agent {state.name!r}; it now reads: {', '.join(state.attached_sources)}.")


@click.command("detach")
@agent_option
@source_option
@json_option
@with_client
def detach_command(client, agent, source, as_json) -> None:
    """Stop AGENT's archival search from covering a data source."""
    state = client.detach(agent, source)
    if as_json:
        echo_json({"agent": state.name, "attached_sources": list(state.attached_sources)})
        return
    click.echo(f"Detached data source {source!r} from agent {state.name!r}.")


@click.group("show")
def show_group() -> None:
    """Show one agent in full."""


@show_group.command("agent")
@name_argument("agent")
@json_option
@with_client
def show_agent_command(client, name, as_json) -> None:
    """Agent NAME: persona, human, core memory, configuration, attached sources and memory sizes."""
    agent = client.get_agent(name)
    memory = client.memory(agent.name)
    details = {**agent.to_dict(), "archival_passages": memory.archival.count(), "recall_messages": memory.recall.count()}
    if as_json:
        echo_json(details)
        return
    embedding = agent.embedding_config
    lines = [
        ("name", agent.name),
        ("id", agent.id),
        ("preset", agent.preset or "-"),
        ("persona", agent.persona),
        ("human", agent.human),
        ("LLM", f"{agent.llm_config.get('model_endpoint_type', '?')}:{agent.llm_config.get('model', '?')}"),
        ("embeddings", f"{embedding.get('provider')}:{embedding.get('model')} ({embedding.get('dim')}-d)"),
        ("attached sources", ", ".join(agent.attached_sources) or "-"),
        ("archival passages", str(details["archival_passages"])),
        ("recall messages", str(details["recall_messages"])),
        ("created", agent.created_at.isoformat()),
    ]
    width = max(len(label) for label, _ in lines)
    for label, value in lines:
        click.echo(f"{label.ljust(width)}  {value}")
    from memgpt.agent.core_memory import CoreMemory

    core = CoreMemory.of(agent)
    for block, text in core.blocks.items():
        click.echo(f"\ncore memory: {block} ({len(text):,}/{core.limit(block):,} characters)")
        for line in text.splitlines() or [""]:
            click.echo(f"  {line}")
