"""``memgpt archival ...`` and ``memgpt recall ...``: an agent's memories from the command line."""

from __future__ import annotations

import click

from memgpt.cli.common import agent_option, excerpt, json_option, with_client
from memgpt.cli.output import echo_json, echo_table, plural

page_option = click.option(
    "--page", type=click.IntRange(min=0, max=1_000_000), default=0, show_default=True, help="Page of results (from 0)."
)
size_option = click.option(
    "--page-size", type=click.IntRange(min=1, max=1_000), default=5, show_default=True, help="Results per page."
)


def _passage_row(passage, score: float | None = None) -> dict:
    row = {
        "id": passage.id,
        "text": passage.text,
        "source": passage.source,
        "document_id": passage.document_id,
        "metadata": passage.metadata,
        "created_at": passage.created_at.isoformat(),
    }
    if score is not None:
        row = {"score": round(score, 6), **row}
    return row


def _message_row(message) -> dict:
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "name": message.name,
        "created_at": message.created_at.isoformat(),
    }


def _header(shown: int, total: int, page: int, size: int) -> str:
    last = max(0, -(-total // size) - 1)
    return f"Showing {shown} of {total} results (page {page}/{last})"


@click.group("archival")
def archival_group() -> None:
    """An agent's archival memory (and the data sources attached to it)."""


@archival_group.command("insert")
@agent_option
@click.argument("text")
@json_option
@with_client
def archival_insert_command(client, agent, text, as_json) -> None:
    """Embed TEXT and add it to the agent's archival memory."""
    passages = client.memory(agent).insert_archival(text)
    if as_json:
        echo_json([_passage_row(p) for p in passages])
    else:
        click.echo(f"Inserted {plural(len(passages), 'passage')} into the archival memory of {agent!r}.")


@archival_group.command("search")
@agent_option
@click.argument("query")
@page_option
@size_option
@json_option
@with_client
def archival_search_command(client, agent, query, page, page_size, as_json) -> None:
    """Search the agent's archival memory and attached sources by meaning (best first)."""
    hits, total = client.memory(agent).search_archival(query, page_size, page * page_size)
    if as_json:
        echo_json({"total": total, "page": page, "results": [_passage_row(h.record, h.score) for h in hits]})
        return
    if not hits:
        click.echo("No results found.")
        return
    click.echo(_header(len(hits), total, page, page_size))
    echo_table(
        ["score", "source", "file", "text"],
        [
            [f"{h.score:.3f}", h.record.source or "(own memory)", _file_of(h.record), excerpt(h.record.text, query=query)]
            for h in hits
        ],
    )


def _file_of(passage) -> str:
    """The file a loaded passage came from (its name; ``-`` for the agent's own memories)."""
    name = passage.metadata.get("file_name") if isinstance(passage.metadata, dict) else None
    return str(name) if name else "-"


@archival_group.command("list")
@agent_option
@click.option(
    "--limit", type=click.IntRange(min=1, max=1_000_000), default=20, show_default=True, help="How many passages, newest first."
)
@json_option
@with_client
def archival_list_command(client, agent, limit, as_json) -> None:
    """The agent's own archival passages, newest first."""
    passages = client.memory(agent).list_archival(limit)
    if as_json:
        echo_json([_passage_row(p) for p in passages])
        return
    echo_table(["created", "text"], [[p.created_at.isoformat()[:19], excerpt(p.text)] for p in passages])


@click.group("recall")
def recall_group() -> None:
    """An agent's recall memory: the conversation."""


@recall_group.command("append")
@agent_option
@click.option("--role", type=click.Choice(["user", "assistant", "system", "tool"]), default="user", show_default=True)
@click.option("--name", help="Name of the speaker or tool.")
@click.argument("text")
@json_option
@with_client
def recall_append_command(client, agent, role, name, text, as_json) -> None:
    """Append a message to the agent's conversation."""
    message = client.memory(agent).append_message(role, text, name=name)
    if as_json:
        echo_json(_message_row(message))
    else:
        article = "an" if role[:1].lower() in "aeiou" else "a"
        click.echo(f"Appended {article} {role} message to the conversation of {agent!r}.")


@recall_group.command("search")
@agent_option
@click.argument("query", required=False)
@click.option("--start", "start_date", help="First day, YYYY-MM-DD (date search).")
@click.option("--end", "end_date", help="Last day, YYYY-MM-DD (date search; default: the start day).")
@page_option
@size_option
@json_option
@with_client
def recall_search_command(client, agent, query, start_date, end_date, page, page_size, as_json) -> None:
    """Search the conversation by text (QUERY, ignoring case) or by date (--start/--end), oldest first.

    Like MemGPT's conversation search, system and tool messages are skipped.
    """
    memory = client.memory(agent)
    if start_date or end_date:
        if query:
            raise click.UsageError("search by QUERY or by --start/--end, not both")
        messages, total = memory.search_messages_by_date(
            start_date or end_date, end_date or start_date, page_size, page * page_size
        )
    elif query:
        messages, total = memory.search_messages(query, page_size, page * page_size)
    else:
        raise click.UsageError("give a QUERY, or --start/--end dates")
    if as_json:
        echo_json({"total": total, "page": page, "results": [_message_row(m) for m in messages]})
        return
    if not messages:
        click.echo("No results found.")
        return
    click.echo(_header(len(messages), total, page, page_size))
    echo_table(
        ["created", "role", "text"], [[m.created_at.isoformat()[:19], m.role, excerpt(m.text, query=query)] for m in messages]
    )


@recall_group.command("list")
@agent_option
@click.option(
    "--limit", type=click.IntRange(min=1, max=1_000_000), default=20, show_default=True, help="How many of the latest messages."
)
@json_option
@with_client
def recall_list_command(client, agent, limit, as_json) -> None:
    """The latest messages of the conversation, oldest first."""
    messages = client.memory(agent).list_messages(limit)
    if as_json:
        echo_json([_message_row(m) for m in messages])
        return
    echo_table(["created", "role", "text"], [[m.created_at.isoformat()[:19], m.role, excerpt(m.text)] for m in messages])
