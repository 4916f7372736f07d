"""The floor a search is compared with: exact top-k as one numpy matrix-vector product.

The agent's vectors are gathered into one contiguous float32 matrix beforehand
(what an in-memory index holds), so the timed part is the product, the
partial sort of the scores and reading the ids: nothing a storage layer could
skip.
"""

from __future__ import annotations

import numpy as np
from data import Workload


class NumpyFloor:
    """Measured like a subject that only searches (taking turns with the local backend when it runs)."""

    label = "numpy floor"
    engine = "numpy"
    searches_only = True

    def __init__(self, workload: Workload) -> None:
        self.ids = np.array(workload.passage_ids)
        self.matrices = {}
        self.rows = {}
        for agent in {agent for agent, _ in workload.query_set}:
            rows = workload.rows_of(agent)
            self.rows[agent] = rows
            self.matrices[agent] = np.ascontiguousarray(workload.vectors[rows])

    def search(self, agent: str, query: np.ndarray, k: int) -> list[str]:
        scores = self.matrices[agent] @ query
        top = np.argpartition(-scores, k - 1)[:k] if len(scores) > k else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return self.ids[self.rows[agent][top]].tolist()

    def prepare(self, workload: Workload) -> None:
        """Nothing to build: the matrices are gathered in ``__init__``."""

    def cold_open_code(self, agent: str, query: list[float], k: int) -> None:
        return None

    def close(self) -> None:
        """Nothing to release."""
