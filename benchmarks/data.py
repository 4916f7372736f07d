"""The generated workload every subject is measured on: the same data, the same queries.

Passages: clustered unit vectors (``clusters`` random centres, points spread
around them), owned by ``agents`` agents in turn, so a scoped search sees
1/agents of the data and scoping matters. Messages: short texts over 90 days,
for text and date search. Queries: a perturbed copy of one of the agent's own
passages, so each has true neighbours in scope; the exact answer (one numpy
matrix-vector product over the agent's vectors) is the ground truth for
recall@10.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import cached_property

import numpy as np

BASE_TIME = datetime(2025, 1, 1, tzinfo=timezone.utc)
WORDS = (
    "kettle tea train river garden station night green black water boil leaf cup morning ticket vienna graz "
    "danube snow spring tomato basil sun bed dumpling noodle bread butter honey bee lamp chair window paper"
).split()
NEEDLE = "zeppelin"
"""The word text searches look for: in about one message in fifty."""
USER = "bench-user"
MODEL = "bench-embedding"


@dataclass
class Workload:
    """``size`` passages of dimension ``dim`` for ``agents`` agents, and ``messages`` messages."""

    size: int
    dim: int
    agents: int
    messages: int
    queries: int = 200
    seed: int = 0
    clusters: int = 64
    spread: float = 0.35
    _rng: np.random.Generator = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)

    # -- passages ----------------------------------------------------------------------------
    @cached_property
    def vectors(self) -> np.ndarray:
        """``size`` x ``dim`` float32 unit vectors, clustered."""
        rng = np.random.default_rng(self.seed)
        centres = rng.standard_normal((self.clusters, self.dim)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        out = np.empty((self.size, self.dim), dtype=np.float32)
        step = 20_000
        for start in range(0, self.size, step):
            n = min(step, self.size - start)
            noise = rng.standard_normal((n, self.dim)).astype(np.float32) * (self.spread / np.sqrt(self.dim))
            block = centres[rng.integers(0, self.clusters, n)] + noise
            out[start : start + n] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    def agent_of(self, i: int) -> str:
        return f"agent-{i % self.agents:04d}"

    @cached_property
    def agent_ids(self) -> list[str]:
        return [f"agent-{a:04d}" for a in range(self.agents)]

    @cached_property
    def passage_ids(self) -> list[str]:
        return [f"p{i:08d}" for i in range(self.size)]

    def passage_text(self, i: int) -> str:
        return f"passage {i} about " + " ".join(WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(8))

    def rows_of(self, agent: str) -> np.ndarray:
        """Indices of the agent's passages."""
        a = int(agent.rsplit("-", 1)[1])
        return np.arange(a, self.size, self.agents)

    # -- queries and truth --------------------------------------------------------------------
    @cached_property
    def query_set(self) -> list[tuple[str, np.ndarray]]:
        """``queries`` (agent, unit query vector) pairs, agents spread over the range."""
        rng = np.random.default_rng(self.seed + 1)
        out = []
        for q in range(self.queries):
            agent = self.agent_ids[(q * 7919) % self.agents]
            rows = self.rows_of(agent)
            base = self.vectors[rows[rng.integers(0, len(rows))]]
            noisy = base + rng.standard_normal(self.dim).astype(np.float32) * (0.5 / np.sqrt(self.dim))
            out.append((agent, (noisy / np.linalg.norm(noisy)).astype(np.float32)))
        return out

    def exact_top(self, agent: str, query: np.ndarray, k: int = 10) -> list[str]:
        """The true ``k`` nearest passage ids of ``agent`` by cosine (the ground truth)."""
        rows = self.rows_of(agent)
        scores = self.vectors[rows] @ query
        best = np.argsort(-scores, kind="stable")[:k]
        return [self.passage_ids[rows[b]] for b in best]

    # -- messages ------------------------------------------------------------------------------
    def message(self, i: int) -> tuple[str, str, str, datetime]:
        """(id, agent, text, time) of message ``i``: a needle in about one of fifty."""
        words = " ".join(WORDS[(i * 11 + j * 5) % len(WORDS)] for j in range(10))
        text = f"message {i}: {words}" + (f" and a {NEEDLE.upper() if i % 2 else NEEDLE}" if i % 50 == 7 else "")
        when = BASE_TIME + timedelta(seconds=(i * 7_777) % (90 * 86_400))
        return f"m{i:08d}", self.agent_of(i), text, when

    def date_window(self, q: int) -> tuple[datetime, datetime]:
        """A one-day window, different per query."""
        start = BASE_TIME + timedelta(days=q % 89)
        return start, start + timedelta(days=1) - timedelta(microseconds=1)


def recall_at_k(found: list[str], truth: list[str]) -> float:
    """The fraction of the true neighbours found."""
    return len(set(found) & set(truth)) / max(1, len(truth))
