"""``memgpt run`` (talk with an agent) and ``memgpt send`` (one message, for scripts)."""

from __future__ import annotations

import sys
from typing import Any

import click

from memgpt.cli.common import json_option, with_client
from memgpt.cli.output import echo_json

HELP = """\
Type a message and press Enter; the agent answers when it is done thinking.
  /memory   show the agent's core memory and how many memories it keeps
  /help     show this help
  /exit     leave (the conversation is kept: memgpt run --agent NAME goes on with it)"""


def echo_json_line(data: dict[str, Any]) -> None:
    """One JSON object on one line (``memgpt run --json`` prints a stream of them)."""
    import json

    click.echo(json.dumps(data, ensure_ascii=False))


def _short(text: str, width: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def print_message(message: Any, agent_name: str) -> None:
    """One message of a turn as ``memgpt run`` shows it: replies plain, everything else dimmed."""
    kind = message.type
    if kind == "assistant_message":
        click.echo(f"{click.style(agent_name, bold=True)}> {message.text}")
    elif kind == "internal_monologue":
        click.secho(f"  (thinking) {_short(message.text)}", dim=True)
    elif kind == "function_call":
        arguments = ", ".join(f"{k}={v!r}" for k, v in (message.arguments or {}).items())
        click.secho(f"  ⚡ {message.function}({_short(arguments)})", dim=True)
    elif kind == "function_return":
        if message.function != "send_message":
            click.secho(f"  ↳ {'OK' if message.ok else 'Failed'}: {_short(message.text)}", dim=True)
    elif kind == "system_alert":
        click.secho(f"  ! {_short(message.text)}", dim=True)


def _show_memory(client: Any, name: str, as_json: bool) -> None:
    from memgpt.agent.core_memory import CoreMemory

    agent = client.get_agent(name)
    memory = client.memory(name)
    core = CoreMemory.of(agent)
    if as_json:
        blocks = {block: {"text": text, "limit": core.limit(block)} for block, text in core.blocks.items()}
        counts = {"archival_passages": memory.archival.count(), "recall_messages": memory.recall.count()}
        echo_json_line({"type": "memory", "core_memory": blocks, **counts})
        return
    for block, text in core.blocks.items():
        click.echo(f"core memory: {block} ({len(text):,}/{core.limit(block):,} characters)")
        for line in text.splitlines() or [""]:
            click.echo(f"  {line}")
    click.echo(f"archival memory: {memory.archival.count():,} passages; recall memory: {memory.recall.count():,} messages")


def llm_options(func: Any) -> Any:
    """``--model-endpoint-type``, ``--model-endpoint``, ``--model``, ``--context-window``: switch the agent's LLM."""
    options = [
        click.option(
            "--model-endpoint-type", "llm_provider", help="Switch the agent to this LLM provider (saved with the agent)."
        ),
        click.option("--model-endpoint", "llm_endpoint", help="Switch the agent to this LLM endpoint URL (saved)."),
        click.option("--model", "llm_model", help="Switch the agent to this model (saved)."),
        click.option("--context-window", "llm_window", type=int, help="The model's context window in tokens (saved)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def switch_llm(
    client: Any, agent: str, provider: str | None, endpoint: str | None, model: str | None, window: int | None
) -> None:
    """Apply the LLM options to ``agent`` and say so (on stderr, so ``--json`` output stays JSON)."""
    if provider is None and endpoint is None and model is None and window is None:
        return
    before = client.get_agent(agent).llm_config
    after = client.use_llm(agent, provider=provider, endpoint=endpoint, model=model, context_window=window).llm_config
    if after != before:
        click.echo(
            f"Agent {agent!r} now talks with {after.get('model_endpoint_type')}:{after.get('model')} "
            f"at {after.get('model_endpoint')} ({after.get('context_window')} tokens).",
            err=True,
        )


@click.command("run")
@click.option("--agent", "agent_name", required=True, help="The agent to talk with (created with the defaults if new).")
@click.option("--persona", help="Persona of a new agent (default: the configured one).")
@click.option("--human", help="Human of a new agent (default: the configured one).")
@click.option("--json", "as_json", is_flag=True, help="Print each message as a line of JSON (for programs driving the session).")
@llm_options
@with_client
def run_command(client, agent_name, persona, human, as_json, llm_provider, llm_endpoint, llm_model, llm_window) -> None:
    """Talk with an agent: it answers, remembers and searches its memory (/help lists the commands)."""
    from memgpt.errors import LLMError

    def say(plain: str, **data: Any) -> None:
        echo_json_line(data) if as_json else click.echo(plain)

    if client.catalog.find_agent(agent_name) is None:
        state = client.create_agent(agent_name, persona=persona, human=human)
        say(
            f"Created agent {state.name!r} (persona {state.persona!r}, human {state.human!r}).",
            type="agent_created",
            agent=state.name,
        )
    elif persona or human:
        raise click.UsageError(f"agent {agent_name!r} exists already: --persona and --human only apply to a new agent")
    switch_llm(client, agent_name, llm_provider, llm_endpoint, llm_model, llm_window)
    show = (lambda m: echo_json_line(m.to_dict())) if as_json else (lambda m: print_message(m, agent_name))
    agent = client.agent(agent_name, on_message=show)
    interactive = sys.stdin.isatty()
    say(
        f"Talking with {agent.state.name!r} ({agent.model.model}). /help for commands, /exit to leave.",
        type="ready",
        agent=agent.state.name,
    )
    while True:
        try:
            line = input("> ") if interactive else sys.stdin.readline()
        except (EOFError, KeyboardInterrupt):
            click.echo()
            return
        if not interactive and line == "":
            return
        text = line.strip()
        if not text:
            continue
        if text in ("/exit", "/quit"):
            return
        if text == "/help":
            say(HELP, type="help", text=HELP)
            continue
        if text == "/memory":
            _show_memory(client, agent_name, as_json)
            continue
        if text.startswith("/"):
            say(
                f"unknown command {text.split()[0]}; /help lists them", type="error", message=f"unknown command {text.split()[0]}"
            )
            continue
        try:
            turn = agent.send(text)
        except LLMError as exc:  # the server is down or refused: say so and let the user try again
            if as_json:
                echo_json_line({"type": "error", "message": str(exc), "kind": type(exc).__name__})
            else:
                click.echo(f"Error: {exc}", err=True)
            continue
        except KeyboardInterrupt:
            say("\n(interrupted: what the agent did so far is kept)", type="interrupted")
            continue
        if turn.stopped == "step_limit":
            if as_json:
                echo_json_line({"type": "step_limit", "steps": turn.steps})
            else:
                click.secho(f"  ! stopped after {turn.steps} steps (the limit per message)", dim=True)


@click.command("send")
@click.option("--agent", "agent_name", required=True, help="The agent to send the message to.")
@click.argument("message")
@json_option
@llm_options
@with_client
def send_command(client, agent_name, message, as_json, llm_provider, llm_endpoint, llm_model, llm_window) -> None:
    """Send MESSAGE to an agent and print what it answered (one turn; --json: every message of the turn)."""
    switch_llm(client, agent_name, llm_provider, llm_endpoint, llm_model, llm_window)
    agent = client.agent(agent_name)
    turn = agent.send(message)
    if as_json:
        echo_json({"agent": agent.state.name, **turn.to_dict()})
        return
    for reply in turn.replies:
        click.echo(reply)
    if turn.stopped == "step_limit":
        click.echo(f"(the agent stopped after {turn.steps} steps, the limit per message)", err=True)
