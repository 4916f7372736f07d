"""The records memgpt stores, and which collection holds each.

Four record types cover MemGPT's memory:

* :class:`Passage` -- a chunk of text with its embedding. Passages written by
  an agent form its *archival memory* (table ``archival``, scoped by agent);
  passages loaded from documents belong to a *data source* (table
  ``source_passages``, scoped by source) and are shared by every agent the
  source is attached to, never copied.
* :class:`Message` -- one turn of a conversation: *recall memory* (``recall``).
* :class:`Source` -- a data source's catalog entry (``sources``).
* :class:`AgentState` -- an agent's persona, core memory, configuration and the
  sources attached to it (``agents``).
* :class:`Profile` -- a named persona or human text a user keeps to start agents
  with (``profiles``).

A backend declares which :class:`~memgpt.kinds.RecordKind` it can hold; each
kind maps to one or more :class:`~memgpt.kinds.Table` s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np

from memgpt.errors import InvalidRecord
from memgpt.kinds import PROFILE_KINDS, RecordKind, Table
from memgpt.secrets import without_credentials

__all__ = [
    "AgentState",
    "EmbeddingSpec",
    "Message",
    "Passage",
    "Profile",
    "Record",
    "RecordKind",
    "Source",
    "Table",
]

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
ROLES = ("system", "user", "assistant", "tool")


def utcnow() -> datetime:
    """Now, in UTC, at the microsecond precision every backend keeps."""
    return datetime.now(timezone.utc)


def to_utc(value: datetime | str | int | float) -> datetime:
    """An aware UTC datetime; naive datetimes are taken to be UTC already."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = from_epoch_us(int(value))
    if not isinstance(value, datetime):
        raise InvalidRecord(f"created_at must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def to_epoch_us(value: datetime) -> int:
    """Microseconds since the Unix epoch (exact integer arithmetic)."""
    return (to_utc(value) - EPOCH) // timedelta(microseconds=1)


def from_epoch_us(value: int) -> datetime:
    """The UTC datetime ``value`` microseconds after the Unix epoch (called for every record read)."""
    return EPOCH + timedelta(0, 0, value if type(value) is int else int(value))  # positional: 40% faster


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored the same way on every backend, or ``None``.

    A NUL character (PostgreSQL's text type refuses it) and lone surrogates
    (bytes that were not UTF-8, as Python keeps them from file names and
    arguments) are refused everywhere, so data can always move between backends.
    """
    if "\x00" in text:
        return "holds a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            return f"is not valid Unicode (undecodable bytes at character {exc.start})"
    return None


def printable_path(path: Any) -> str:
    """A path as text every backend and terminal accepts: bytes that were not UTF-8 become ``\\xNN`` escapes."""
    text = str(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return text


def as_vector(value: Any, what: str = "embedding") -> np.ndarray | None:
    """A 1-D, C-contiguous float32 copy-free view of ``value`` (or ``None``).

    Refuses empty vectors and vectors holding NaN or infinity, which have no
    cosine similarity.
    """
    if value is None:
        return None
    try:
        vector = np.ascontiguousarray(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise InvalidRecord(f"{what} must be a sequence of numbers ({exc})") from None
    if vector.ndim != 1 or vector.size == 0:
        raise InvalidRecord(f"{what} must be a non-empty 1-D vector, got shape {vector.shape}")
    return vector


class _RecordBase:
    """Equality and dict conversion shared by the record types."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for f in fields(self):  # type: ignore[arg-type]
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: datetimes as ISO 8601 strings, vectors as lists."""
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, np.ndarray):
                value = value.tolist()
            elif isinstance(value, datetime):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]):  # type: ignore[no-untyped-def]
        """Inverse of :meth:`to_dict`; unknown keys are an error."""
        names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
        unknown = set(data) - names
        if unknown:
            raise InvalidRecord(f"unknown {cls.__name__} field(s): {', '.join(sorted(unknown))}")
        return cls(**data)


class _Embedded(_RecordBase):
    """What passages and messages share: an optional embedding and its model."""

    embedding: np.ndarray | None
    metadata: dict[str, Any]
    created_at: datetime

    def _normalize(self, what: str) -> None:
        self.embedding = as_vector(self.embedding)
        self.metadata = _check_metadata(self.metadata, what)
        self.created_at = to_utc(self.created_at)

    @property
    def embedding_dim(self) -> int | None:
        return None if self.embedding is None else int(self.embedding.shape[0])


def _check_metadata(metadata: Any, owner: str) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidRecord(f"{owner} metadata must be a mapping, got {type(metadata).__name__}")
    return dict(metadata)


@dataclass(eq=False, kw_only=True)
class Passage(_Embedded):
    """A chunk of text and its embedding, in archival memory or in a data source."""

    id: str
    text: str
    user_id: str
    agent_id: str | None = None
    """Owner agent, for archival memory (table ``archival``)."""
    source: str | None = None
    """Owner data source, for loaded documents (table ``source_passages``)."""
    document_id: str | None = None
    embedding: np.ndarray | None = None
    embedding_model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self._normalize("passage")


@dataclass(eq=False, kw_only=True)
class Message(_Embedded):
    """One message of an agent's conversation (recall memory)."""

    id: str
    role: str
    text: str
    user_id: str
    agent_id: str
    name: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    tool_call_id: str | None = None
    embedding: np.ndarray | None = None
    embedding_model: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self._normalize("message")
        self.tool_calls = list(self.tool_calls or [])


@dataclass(eq=False, kw_only=True)
class Source(_RecordBase):
    """A data source: a named set of loaded documents, attachable to agents."""

    name: str
    user_id: str
    embedding_model: str | None = None
    embedding_dim: int | None = None
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        self.metadata = _check_metadata(self.metadata, "source")
        embedding = self.metadata.get("embedding")
        if isinstance(embedding, Mapping):  # the embedding config the source was loaded with: no credentials kept
            self.metadata["embedding"] = without_credentials(embedding)
        self.created_at = to_utc(self.created_at)

    @property
    def id(self) -> str:
        """Sources are identified by their name."""
        return self.name


@dataclass(eq=False, kw_only=True)
class AgentState(_RecordBase):
    """Everything that makes an agent itself, apart from its memories."""

    id: str
    name: str
    user_id: str
    preset: str | None = None
    persona: str = ""
    human: str = ""
    core_memory: dict[str, str] = field(default_factory=dict)
    llm_config: dict[str, Any] = field(default_factory=dict)
    embedding_config: dict[str, Any] = field(default_factory=dict)
    attached_sources: tuple[str, ...] = ()
    message_ids: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)
    updated_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        # Endpoints are kept without credentials (userinfo, api_key=...): those come from the config or the environment.
        self.llm_config = without_credentials(self.llm_config or {})
        self.embedding_config = without_credentials(self.embedding_config or {})
        self.attached_sources = tuple(self.attached_sources)
        self.message_ids = tuple(self.message_ids)
        self.metadata = _check_metadata(self.metadata, "agent")
        self.created_at = to_utc(self.created_at)
        self.updated_at = to_utc(self.updated_at)


def profile_id(kind: str, name: str) -> str:
    """The id of the ``kind`` profile called ``name``: a persona and a human may share a name."""
    return f"{kind}:{name}"


@dataclass(eq=False, kw_only=True)
class Profile(_RecordBase):
    """A persona or a human: a named text that ``memgpt create agent`` copies into the agent's core memory.

    Editing a profile later changes no agent: each agent keeps (and edits) its
    own copy.
    """

    kind: str
    name: str
    text: str
    user_id: str
    id: str = ""
    """``persona:NAME`` or ``human:NAME`` (:func:`profile_id`); filled in from ``kind`` and ``name``."""
    metadata: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        if self.kind not in PROFILE_KINDS:
            raise InvalidRecord(f"a profile is a persona or a human, not {self.kind!r}")
        expected = profile_id(self.kind, self.name)
        if self.id and self.id != expected:
            raise InvalidRecord(f"profile id {self.id!r} does not match its kind and name ({expected!r})")
        self.id = expected
        if not isinstance(self.text, str):
            raise InvalidRecord(f"the text of {self.kind} {self.name!r} must be a string")
        self.metadata = _check_metadata(self.metadata, self.kind)
        self.created_at = to_utc(self.created_at)


Record = Passage | Message | Source | AgentState | Profile

RECORD_TYPES: dict[Table, type] = {
    Table.ARCHIVAL: Passage,
    Table.SOURCE_PASSAGES: Passage,
    Table.RECALL: Message,
    Table.SOURCES: Source,
    Table.AGENTS: AgentState,
    Table.PROFILES: Profile,
}
"""The record class each table holds."""


@dataclass(frozen=True)
class EmbeddingSpec:
    """The embedding model and dimension a collection holds, fixed by its first vector."""

    model: str
    dim: int

    def __str__(self) -> str:
        return f"{self.dim}-d vectors of model {self.model!r}"
