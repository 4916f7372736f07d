"""The agent loop's own time per turn: everything but the LLM's, with 10,000 archival passages.

    python benchmarks/agent_turn.py                          # local, and postgres when memgpt-backend-postgres is installed
    python benchmarks/agent_turn.py --passages 10000 --turns 50 --backends local

For each backend a fresh ``MEMGPT_HOME`` is configured for archival and recall
storage, an agent gets ``--passages`` archival passages (embedded with the
offline hashing model), and a scripted chat server on 127.0.0.1 plays the
LLM. Two kinds of turn are timed, ``--turns`` of each:

* *reply*: one step, the model calls ``send_message``;
* *search + reply*: two steps, ``archival_memory_search`` then
  ``send_message`` (the search embeds the query and searches 10,000 passages).

A turn's overhead is its wall time minus the time spent in the chat client's
``complete()`` (the HTTP round trip and the server's answer: the LLM's time).
It covers writing every message to recall memory, building the prompt from
recall memory and core memory, counting tokens, running the functions and
saving state. PostgreSQL is ``MEMGPT_BENCH_PGURI`` when set, else a server
started from the pgserver wheel for the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from typing import Any


class TimedModel:
    """The agent's real chat client, with the time spent in ``complete()`` added up."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.seconds = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.model, name)

    def complete(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.model.complete(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def fill_archival(client: Any, agent: str, passages: int) -> None:
    from memgpt.embeddings.batching import embed_texts
    from memgpt.records import Passage

    memory = client.memory(agent)
    state = client.get_agent(agent)
    archival = client.catalog.archival_of(state, claim=True)
    import random

    words = (
        "tea train river garden compiler music chess weather cat dog city book film recipe bicycle mountain sea "
        "friend sister brother job meeting holiday birthday doctor school project deadline coffee bread concert"
    ).split()
    rng = random.Random(7)
    for start in range(0, passages, 2000):
        texts = [f"Memory {i}: " + " ".join(rng.choices(words, k=12)) for i in range(start, min(passages, start + 2000))]
        vectors = embed_texts(memory.embedder, texts)
        archival.insert(
            [
                Passage(
                    id=str(uuid.uuid4()),
                    text=t,
                    user_id=state.user_id,
                    agent_id=state.id,
                    embedding=v,
                    embedding_model=memory.embedder.model,
                )
                for t, v in zip(texts, vectors, strict=True)
            ]
        )


def measure(backend: str, uri: str | None, passages: int, turns: int) -> list[dict[str, Any]]:
    from memgpt.client import MemGPTClient
    from memgpt.testing.chat_server import ChatServer, call, say

    with tempfile.TemporaryDirectory(prefix="memgpt-bench-agent-") as home, ChatServer() as server:
        os.environ["MEMGPT_HOME"] = home
        storage = ["--archival-storage", backend, "--recall-storage", backend]
        if uri:
            storage += ["--archival-uri", uri, "--recall-uri", uri]
        from click.testing import CliRunner

        from memgpt.cli import main

        configured = CliRunner().invoke(
            main,
            [
                "configure",
                "--defaults",
                "--embedding-provider",
                "hashing",
                "--model-endpoint-type",
                "openai",
                "--model-endpoint",
                server.url,
                "--model",
                "test-model",
                "--context-window",
                "128000",
                *storage,
            ],
        )
        assert configured.exit_code == 0, configured.output
        rows = []
        with MemGPTClient() as client:
            name = f"bench-{uuid.uuid4().hex[:8]}"
            client.create_agent(name)
            fill_archival(client, name, passages)
            agent = client.agent(name)
            timed = agent.model = TimedModel(agent.model)
            kinds = {
                "reply (1 step)": lambda i: [say(f"Reply {i}.")],
                "search + reply (2 steps)": lambda i: [
                    call("archival_memory_search", {"query": f"what did I say about tea and trains {i}"}),
                    say("Found it."),
                ],
            }
            for kind, script in kinds.items():
                overheads, llm = [], []
                for i in range(turns + 3):  # three warm-up turns
                    server.script.extend(script(i))
                    timed.seconds = 0.0
                    start = time.perf_counter()
                    agent.send(f"Message {i}: tell me something about tea.")
                    total = time.perf_counter() - start
                    if i >= 3:
                        overheads.append(total - timed.seconds)
                        llm.append(timed.seconds)
                overheads.sort()
                rows.append(
                    {
                        "backend": backend,
                        "turn": kind,
                        "archival": agent.memory.archival.count(),
                        "recall": agent.memory.recall.count(),
                        "p50_ms": statistics.median(overheads) * 1000,
                        "p95_ms": overheads[int(0.95 * (len(overheads) - 1))] * 1000,
                        "llm_ms": statistics.median(llm) * 1000,
                    }
                )
        return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--passages", type=int, default=10_000)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--backends", default="", help="comma-separated (default: local, and postgres when installed)")
    args = parser.parse_args()
    from memgpt.plugins import backends

    wanted = [b for b in args.backends.split(",") if b] or [b for b in ("local", "postgres") if b in backends()]
    rows: list[dict[str, Any]] = []
    with ExitStack() as stack:
        for backend in wanted:
            if backend == "postgres":
                from memgpt_backend_postgres.devserver import postgres_for_a_run

                uri = stack.enter_context(postgres_for_a_run("MEMGPT_BENCH_PGURI", prefix="memgpt-bench-pg-"))
            else:
                uri = None
            rows += measure(backend, uri, args.passages, args.turns)
    print(
        f"\nAgent loop overhead per turn (everything but the LLM's time), {args.passages:,} archival passages, {args.turns} turns each\n"
    )
    print(
        "| backend | turn | archival passages | recall messages after | overhead p50 (ms) | overhead p95 (ms) | chat client p50 (ms) |"
    )
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(
            f"| {r['backend']} | {r['turn']} | {r['archival']:,} | {r['recall']:,} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['llm_ms']:.1f} |"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
