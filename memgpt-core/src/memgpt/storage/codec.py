"""How records become rows and back: the single serialization every backend uses.

A :class:`Row` holds what a backend must be able to filter and search on as
separate values (key, the table's filter fields, text, creation time and
embedding) and everything else as one JSON ``payload`` string.

Record ids are unique per user, not globally: two users may each have a data
source called ``notes``, or the same passage loaded from the same file. A
row's ``id`` is therefore its *key*, ``<user_id>/<record id>`` (see
:func:`row_key`): unique in its table whatever users share the store, so a
backend that keys rows by ``Row.id`` can never let one user's write replace,
or one user's delete remove, another user's row. User ids cannot contain
``/``, so a key splits back unambiguously. Backends store
rows however suits their engine and hand the same rows back; the core turns
them into records. Because no backend serializes records itself, a record
round-trips identically through all of them.
"""

from __future__ import annotations

import json
import json.encoder
import sys
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

import numpy as np

from memgpt.errors import InvalidRecord, StorageError
from memgpt.kinds import Table
from memgpt.records import EPOCH, RECORD_TYPES, Record, from_epoch_us


@dataclass(slots=True)
class Row:
    """A record as backends store it."""

    id: str
    """The row's key, ``<user_id>/<record id>`` (:func:`row_key`): unique in its table, across users."""
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


KEY_SEPARATOR = "/"
"""Between the user id and the record id in a row key (user ids may not contain it)."""


def row_key(user_id: str, record_id: str) -> str:
    """The key a backend stores a record of ``user_id`` under: ``<user_id>/<record id>``."""
    return f"{user_id}{KEY_SEPARATOR}{record_id}"


def split_key(key: str) -> tuple[str, str]:
    """``(user_id, record id)`` of a row key; raises :class:`StorageError` for a key without a user."""
    user, separator, record_id = key.partition(KEY_SEPARATOR)
    if not separator or not user:
        raise StorageError(
            f"stored row {key[:80]!r} has no user in its key: the store was written by memgpt 0.4 and not upgraded "
            "(open it with this memgpt's backend plugin to upgrade it), or it is damaged"
        )
    return user, record_id


def key_user(key: str) -> str | None:
    """The user a row key belongs to (``None`` for a key without one); what a backend checks a scope's user on
    when its engine is not asked to (see the Chroma backend's ordered searches)."""
    user, separator, _ = key.partition(KEY_SEPARATOR)
    return user if separator and user else None


def has_user_key(row: Row) -> bool:
    """Whether ``row.id`` is the key of its own user (not a bare record id written before keys were per user)."""
    user = row.fields.get("user_id")
    return user is not None and row.id.startswith(user + KEY_SEPARATOR) and len(row.id) > len(user) + 1


def rekeyed(row: Row) -> Row:
    """``row`` under the key of its user: what a store written before keys were per user is upgraded to."""
    user = row.fields.get("user_id")
    if not user:
        raise StorageError(f"stored row {row.id[:80]!r} has no user_id; the store is damaged")
    return Row(row_key(user, row.id), dict(row.fields), row.text, row.created_at, row.embedding, row.payload)


_JSON = json.JSONEncoder(sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_STRING = json.encoder.encode_basestring  # the C implementation when available


def _json_value(value: Any) -> str:
    """JSON for one payload value: scalars and empty containers without the encoder's set-up cost."""
    kind = type(value)
    if value is None:
        return "null"
    if kind is str:
        return _STRING(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    if (kind is dict or kind is list) and not value:
        return "{}" if kind is dict else "[]"
    if kind is datetime:
        return _STRING(value.isoformat())
    return _JSON(list(value) if kind is tuple else value)


@dataclass(frozen=True)
class _Layout:
    id_attr: str
    filter_fields: tuple[str, ...]
    has_text: bool
    payload_attrs: tuple[str, ...]
    record_type: type
    field_names: frozenset[str]
    """The record type's fields: a decoded row that sets exactly these can skip the constructor."""
    filter_set: frozenset[str]
    payload_keys: tuple[tuple[str, str], ...]
    """(attribute, its JSON key with the colon) for each payload attribute, sorted."""


_LAYOUTS: dict[Table, _Layout] = {}


def _layout(table: Table) -> _Layout:
    layout = _LAYOUTS.get(table)
    if layout is None:
        id_attr = "name" if table is Table.SOURCES else "id"
        skip = {id_attr, "created_at", "embedding", *table.filter_fields} | ({"text"} if table.has_text else set())
        payload = tuple(sorted(f.name for f in fields(RECORD_TYPES[table]) if f.name not in skip))
        layout = _LAYOUTS[table] = _Layout(
            id_attr,
            table.filter_fields,
            table.has_text,
            payload,
            RECORD_TYPES[table],
            frozenset(f.name for f in fields(RECORD_TYPES[table])),
            frozenset(table.filter_fields),
            tuple((name, f"{_STRING(name)}:") for name in payload),
        )
    return layout


def encode(table: Table, record: Record) -> Row:
    """The row a backend stores for ``record`` (validation is the collection's job)."""
    return encode_many(table, (record,))[0]


def encode_many(table: Table, records: Sequence[Record]) -> list[Row]:
    """The rows a backend stores for ``records``, in order: :func:`encode` of each, in one loop.

    Raises :class:`InvalidRecord` for the first record whose payload is not JSON.
    """
    layout = _LAYOUTS.get(table) or _layout(table)
    id_attr, filter_fields, has_text, payload_keys = layout.id_attr, layout.filter_fields, layout.has_text, layout.payload_keys
    rows = []
    append = rows.append
    for record in records:
        values = record.__dict__
        try:  # payload_keys are sorted: the payload is canonical JSON
            payload = "{" + ",".join([key + _json_value(values[name]) for name, key in payload_keys]) + "}"
        except (TypeError, ValueError) as exc:
            raise InvalidRecord(f"{type(record).__name__} {values[id_attr]!r} is not JSON-serializable: {exc}") from None
        except RecursionError:
            raise InvalidRecord(f"{type(record).__name__} {values[id_attr]!r} has metadata nested too deeply to store") from None
        delta = values["created_at"] - EPOCH
        append(
            Row(  # positional: this runs for every record written
                f"{values['user_id']}{KEY_SEPARATOR}{values[id_attr]}",
                {name: values[name] for name in filter_fields},
                values["text"] if has_text else None,
                (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds,
                values.get("embedding"),
                payload,
            )
        )
    return rows


def decode(table: Table, row: Row) -> Record:
    """The record a stored row holds.

    A passage or message row whose payload names every field, with an
    embedding that already is a 1-D float32 array, was written by
    :func:`encode` from a validated record and becomes a record without
    validating it again (search results are decoded on every query); anything
    else goes through the record's own constructor and its checks.
    """
    layout = _LAYOUTS.get(table) or _layout(table)
    values: dict[str, Any] = _payload(row.payload) if row.payload else {}
    fields = row.fields
    key = row.id
    user = fields.get("user_id")
    if user is None or not key.startswith(user) or key[len(user) : len(user) + 1] != KEY_SEPARATOR:
        split_key(key)  # raises: a key without a user (an old store not upgraded)
        raise StorageError(f"stored row {key[:80]!r} is keyed under another user than its user_id {user!r}; the store is damaged")
    values[layout.id_attr] = key[len(user) + 1 :]
    if fields.keys() == layout.filter_set:  # what every connector builds: exactly the table's filter fields
        values.update(fields)
    else:
        for name in layout.filter_fields:
            values[name] = fields.get(name)
    if layout.has_text:
        values["text"] = row.text
        values["embedding"] = row.embedding
    values["created_at"] = from_epoch_us(row.created_at)
    if layout.has_text and values.keys() == layout.field_names and _trusted(values):
        record = object.__new__(layout.record_type)
        record.__dict__ = values
        return record
    try:
        return layout.record_type(**values)
    except TypeError as exc:  # a field the record type does not have: not something encode() wrote
        raise StorageError(
            f"a stored {layout.record_type.__name__} row ({row.id!r}) does not fit the record ({exc}); the store is damaged: "
            "restore it from a backup or an export (memgpt import)"
        ) from None


_SCAN = json.JSONDecoder().scan_once  # the C scanner, without json.loads' per-call checks


def _payload(text: str) -> dict[str, Any]:
    """The payload's JSON object; anything but exactly one object (with no surrounding space) takes ``json.loads``."""
    if text[:1] == "{":
        try:
            value, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text) and type(value) is dict:
                return value
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        value = None
    if type(value) is not dict:
        raise StorageError(
            f"a stored record's payload is not a JSON object ({text[:40]!r}...); the store is damaged: "
            "restore it from a backup or an export (memgpt import)"
        )
    return value


def _trusted(values: dict[str, Any]) -> bool:
    """Whether decoded values need no normalizing: the types :func:`encode` wrote."""
    vector = values.get("embedding")
    if vector is not None and not (
        type(vector) is np.ndarray
        and vector.dtype == np.float32
        and vector.ndim == 1
        and vector.size
        and vector.flags.c_contiguous
    ):
        return False
    metadata = values.get("metadata", {})
    tool_calls = values.get("tool_calls", [])
    return type(metadata) is dict and type(tool_calls) is list


def vector_to_bytes(vector: np.ndarray) -> bytes:
    """Little-endian float32 bytes: the portable binary form of an embedding."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_blob(vector: np.ndarray) -> Any:
    """The embedding as a buffer a driver can store as a BLOB without copying.

    Records hold C-contiguous native float32 vectors; on little-endian machines
    that already is the portable form, so the array itself is returned.
    """
    if _LITTLE_ENDIAN and vector.dtype == np.float32 and vector.flags.c_contiguous:
        return vector
    return vector_to_bytes(vector)


_LITTLE_ENDIAN = sys.byteorder == "little"


_FLOAT32 = np.dtype(np.float32)


def vector_matrix(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The ``len(vectors)`` x dim float32 matrix of equal-length 1-D vectors (a new array; what the rows of a
    batch hand an engine). ``np.stack`` does the same at twice the cost: it reshapes every vector first
    (measured 0.70 against 0.38 µs a 384-d vector)."""
    if not vectors:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(vectors).astype(np.float32, copy=False).reshape(len(vectors), -1)


def vectors_from_blobs(blobs: Sequence[bytes]) -> np.ndarray:
    """An ``len(blobs)`` x dim float32 matrix (read-only) from equal-length little-endian float32 blobs."""
    return np.frombuffer(b"".join(blobs), dtype="<f4").reshape(len(blobs), -1)


def vector_from_bytes(data: bytes) -> np.ndarray:
    """A writable float32 vector (its own copy) from little-endian float32 bytes."""
    if _LITTLE_ENDIAN:
        return np.frombuffer(bytearray(data), _FLOAT32)
    return np.frombuffer(data, dtype="<f4").astype(np.float32, copy=True)
