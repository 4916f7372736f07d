"""What ``memgpt storage status`` reports: configured backends, health and counts."""

from __future__ import annotations

from typing import Any

from memgpt.config import MemGPTConfig
from memgpt.errors import MemGPTError
from memgpt.kinds import Table
from memgpt.storage.configured import ROLE_OF_TABLE, Storage
from memgpt.storage.where import Where


def storage_status(config: MemGPTConfig) -> dict[str, Any]:
    """A JSON-ready report; never raises for an unreachable or broken backend."""
    report: dict[str, Any] = {
        "config": str(config.path),
        "config_exists": bool(config.path and config.path.is_file()),
        "locations": [],
        "tables": [],
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
        for table in Table:
            role = ROLE_OF_TABLE[table]
            location = storage.locations[role]
            count: int | None = None
            error = None
            if healthy[role]:
                try:
                    count = storage.collection(table, Where.everything()).count()
                except MemGPTError as exc:
                    error = str(exc)
            report["tables"].append(
                {"table": table.value, "role": role, "backend": location.backend.name, "count": count, "error": error}
            )
    return report
