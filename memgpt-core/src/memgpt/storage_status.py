"""What ``memgpt storage status`` reports: configured backends, health and counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from memgpt.config import MemGPTConfig
from memgpt.errors import MemGPTError
from memgpt.storage.configured import Storage
from memgpt.storage.connector import Capability
from memgpt.storage.where import Where
from memgpt.transfer.units import ORDER, Unit, units


def _probe(collection: Any) -> None:
    """A one-result vector search, when the table holds vectors: a store can count and still fail to search."""
    spec = collection.embedding_spec if collection.table.has_vectors else None
    if spec is not None and Capability.VECTOR_SEARCH in collection.connector.capabilities:
        collection.search(np.ones(spec.dim, dtype=np.float32), k=1)


def storage_status(config: MemGPTConfig, all_users: bool = False) -> dict[str, Any]:
    """A JSON-ready report; never raises for an unreachable or broken backend.

    Counts are the configured user's records (every user's with
    ``all_users``). ``ok`` is false when a location does not answer, a table
    cannot be counted or searched, or a store reports damage (``problems``).
    """
    scope = Where.everything() if all_users else Where.of(user_id=config.user_id)
    report: dict[str, Any] = {
        "config": str(config.path),
        "config_exists": bool(config.path and config.path.is_file()),
        "user": None if all_users else config.user_id,
        "locations": [],
        "tables": [],
        "problems": [],
        "advice": [],
    }
    with Storage(config) as storage:
        healthy: dict[str, bool] = {}
        seen: dict[int, dict[str, Any]] = {}
        for role, location in storage.locations.items():
            if id(location) in seen:
                entry = dict(seen[id(location)], role=role)
            else:
                health = location.backend.check(location.settings)
                entry = {
                    "role": role,
                    "backend": location.backend.name,
                    "location": location.description,
                    "ok": health.ok,
                    "message": health.message,
                }
                seen[id(location)] = entry
            healthy[role] = entry["ok"]
            report["locations"].append(entry)
        try:
            found = units(storage, scope) if all(healthy.values()) else [Unit(table) for table in ORDER]
        except MemGPTError:  # the catalog cannot be read: its table reports the error below
            found = [Unit(table) for table in ORDER]
        for unit in found:
            role = unit.table.role.value
            location = storage.locations[role]
            count: int | None = None
            error = None
            if healthy[role]:
                try:
                    collection = unit.collection(storage, scope)
                    count = collection.count()
                    if count:
                        _probe(collection)
                except MemGPTError as exc:
                    error = str(exc)
            report["tables"].append(
                {"table": unit.label, "role": role, "backend": location.backend.name, "count": count, "error": error}
            )
        checked: set[int] = set()
        for role, location in storage.locations.items():
            if not healthy[role]:
                continue
            try:
                store = location.open()
                if id(store) not in checked:  # two roles on one location share its store
                    checked.add(id(store))
                    report["problems"] += store.problems()
                    report["advice"] += store.advice()
            except MemGPTError as exc:
                report["problems"].append(str(exc))
    report["ok"] = (
        all(entry["ok"] for entry in report["locations"])
        and all(t["error"] is None for t in report["tables"])
        and not report["problems"]
    )
    return report
