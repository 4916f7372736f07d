"""How records become rows and back: the single serialization every backend uses.

A :class:`Row` holds what a backend must be able to filter and search on as
separate values (id, the table's filter fields, text, creation time and
embedding) and everything else as one JSON ``payload`` string. Backends store
rows however suits their engine and hand the same rows back; the core turns
them into records. Because no backend serializes records itself, a record
round-trips identically through all of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

from memgpt.records import Record, Table, from_epoch_us, json_dumps, to_epoch_us


@dataclass(slots=True)
class Row:
    """A record as backends store it."""

    id: str
    fields: dict[str, str | None]
    """The table's filter fields (``Table.filter_fields``), e.g. user_id, agent_id."""
    text: str | None
    created_at: int
    """Microseconds since the Unix epoch, UTC."""
    embedding: np.ndarray | None
    """float32, 1-D, exactly as written (not normalized); ``None`` when absent."""
    payload: str
    """JSON object with every other field of the record."""

    def field_values(self) -> dict[str, str | None]:
        """Filter fields plus ``id``: what a :class:`~memgpt.storage.Where` is matched against."""
        values = dict(self.fields)
        values["id"] = self.id
        return values


def _id_attr(table: Table) -> str:
    return "name" if table is Table.SOURCES else "id"


def _payload_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


_LAYOUT: dict[Table, tuple[str, tuple[str, ...], bool, tuple[str, ...]]] = {}


def _layout(table: Table) -> tuple[str, tuple[str, ...], bool, tuple[str, ...]]:
    """(id attribute, filter fields, has text, payload attributes) of a table."""
    layout = _LAYOUT.get(table)
    if layout is None:
        id_attr = _id_attr(table)
        filter_fields = table.filter_fields
        has_text = table.has_text
        skip = {id_attr, "text", "created_at", "embedding", *filter_fields}
        if not has_text:
            skip.discard("text")
        payload = tuple(f.name for f in fields(table.record_type) if f.name not in skip)
        layout = _LAYOUT[table] = (id_attr, filter_fields, has_text, payload)
    return layout


def encode(table: Table, record: Record) -> Row:
    """The row a backend stores for ``record`` (validation is the collection's job)."""
    id_attr, filter_fields, has_text, payload_attrs = _layout(table)
    payload = {name: _payload_value(getattr(record, name)) for name in payload_attrs}
    return Row(
        id=getattr(record, id_attr),
        fields={name: getattr(record, name) for name in filter_fields},
        text=record.text if has_text else None,  # type: ignore[union-attr]
        created_at=to_epoch_us(record.created_at),
        embedding=getattr(record, "embedding", None),
        payload=json_dumps(payload),
    )


def decode(table: Table, row: Row) -> Record:
    """The record a stored row holds."""
    id_attr, filter_fields, has_text, _ = _layout(table)
    values: dict[str, Any] = json.loads(row.payload) if row.payload else {}
    values[id_attr] = row.id
    for name in filter_fields:
        values[name] = row.fields.get(name)
    if has_text:
        values["text"] = row.text
        values["embedding"] = row.embedding
    values["created_at"] = from_epoch_us(row.created_at)
    return table.record_type(**values)


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes: the portable binary form of an embedding."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(data, dtype="<f4").astype(np.float32, copy=True)
