"""Filters: which records an operation may see.

A :class:`Where` is a conjunction of field constraints, each constraint a set
of allowed values (``agent_id IN (...) AND user_id IN (...)``). It is the only
filter language backends must understand, which keeps every backend's
translation small and testable. Scopes are Wheres too: a collection opened for
one agent ANDs ``agent_id = that agent`` into every operation.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from memgpt.errors import InvalidRecord

FIELDS = ("id", "user_id", "agent_id", "source", "document_id", "role", "name", "kind")
"""Every field a Where may name; each table allows a subset (``Table.filter_fields`` plus ``id``)."""


@dataclass(frozen=True)
class Where:
    """``field IN values AND ...``; no constraint at all matches everything."""

    constraints: tuple[tuple[str, frozenset[str]], ...] = ()

    @classmethod
    def of(cls, **fields: str | Iterable[str] | None) -> Where:
        """Build from keywords: ``Where.of(agent_id="a1", source=["s1", "s2"])``.

        ``None`` means "no constraint on this field"; an empty list means
        "matches nothing".
        """
        constraints = {}
        for name, value in fields.items():
            if value is None:
                continue
            if name not in FIELDS:
                raise InvalidRecord(f"cannot filter on unknown field {name!r}; fields are {', '.join(FIELDS)}")
            values = frozenset([value]) if isinstance(value, str) else frozenset(value)
            for item in values:
                if not isinstance(item, str):
                    raise InvalidRecord(f"filter values must be strings; {name} got {type(item).__name__}")
            constraints[name] = values
        return cls(tuple(sorted(constraints.items())))

    @classmethod
    def everything(cls) -> Where:
        """The unconstrained filter: every record (an explicit choice, never a default)."""
        return cls()

    def __and__(self, other: Where) -> Where:
        merged = dict(self.constraints)
        for name, values in other.constraints:
            merged[name] = merged[name] & values if name in merged else values
        return Where(tuple(sorted(merged.items())))

    def __bool__(self) -> bool:  # pragma: no cover - guard against `if where:` ambiguity
        raise TypeError("use where.is_everything / where.is_nothing instead of truth-testing a Where")

    @property
    def is_everything(self) -> bool:
        return not self.constraints

    @property
    def is_nothing(self) -> bool:
        """True when some field must take a value from an empty set."""
        return any(not values for _, values in self.constraints)

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.constraints)

    def get(self, name: str) -> frozenset[str] | None:
        """The allowed values of ``name``, or ``None`` when it is unconstrained."""
        for field_name, values in self.constraints:
            if field_name == name:
                return values
        return None

    def without(self, name: str) -> Where:
        return Where(tuple(c for c in self.constraints if c[0] != name))

    def items(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Constraints with values sorted, for deterministic translation into queries."""
        return tuple((name, tuple(sorted(values))) for name, values in self.constraints)

    def matches(self, values: Mapping[str, str | None]) -> bool:
        """Whether a record with these field values passes the filter."""
        return all(values.get(name) in allowed for name, allowed in self.constraints)

    def __str__(self) -> str:
        if not self.constraints:
            return "everything"
        parts = []
        for name, values in self.items():
            parts.append(f"{name}={values[0]!r}" if len(values) == 1 else f"{name} in {list(values)!r}")
        return " and ".join(parts)


def scope(*, user_id: str | None = None, agent_id: str | None = None, source: str | Iterable[str] | None = None) -> Where:
    """The scope of a collection: whose records it may read and write."""
    return Where.of(user_id=user_id, agent_id=agent_id, source=source)
