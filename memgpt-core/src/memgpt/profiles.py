"""Personas and humans: the named texts an agent's core memory starts from.

A *persona* says who the agent is; a *human* what it knows of the person it
talks with. ``memgpt create agent --persona P --human H`` copies both texts
into the new agent's core memory, where the agent edits its own copy; changing
or deleting a profile later changes no agent.

A few profiles are built in (:data:`BUILT_IN`). Profiles a user adds live in
the catalog storage (table ``profiles``), per user, so they migrate and export
with the rest; a user's profile of the same name as a built-in one takes its
place for that user, and deleting it brings the built-in one back.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from memgpt.errors import AlreadyExists, InvalidName, InvalidRecord, NotFound
from memgpt.kinds import PROFILE_KINDS, Table
from memgpt.names import validate_name
from memgpt.records import Profile, profile_id, utcnow
from memgpt.storage.collection import Collection
from memgpt.storage.where import Where

CORE_MEMORY_LIMIT = 2_000
"""Characters each core-memory block holds by default (MemGPT's limit)."""

BUILT_IN: dict[tuple[str, str], str] = {
    ("persona", "sam_pov"): (
        "My name is Sam. I am a curious, warm conversational partner with a long memory.\n"
        "I remember what people tell me and bring it up when it matters; I never pretend to remember what I do not.\n"
        "I speak plainly and briefly, ask one question at a time, and admit when I am unsure.\n"
        "I keep notes about the person I talk with in my core memory and file details away in archival memory."
    ),
    ("persona", "memgpt_starter"): (
        "I am a helpful assistant with memory that outlasts this conversation.\n"
        "I answer precisely, say what I do not know, and look things up in my archival memory and in our past "
        "conversations before I guess."
    ),
    ("human", "cs_phd"): (
        "First name: Chad\n"
        "Second-year PhD student in computer science, working on distributed systems.\n"
        "Likes hiking, strong coffee and long explanations with examples."
    ),
    ("human", "basic"): "First name: unknown\nNothing is known about this person yet.",
}
"""The profiles every user has, by (kind, name): texts written for this project."""


class Collections(Protocol):
    """Anything that hands out scoped collections (:class:`~memgpt.storage.Storage` does)."""

    def collection(self, table: Table, scope: Where, spec: Any = None, claim: bool = False) -> Collection: ...


@dataclass(frozen=True)
class ProfileEntry:
    """A profile as a user sees it: their own, or built in."""

    profile: Profile
    built_in: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.profile.kind,
            "name": self.profile.name,
            "text": self.profile.text,
            "built_in": self.built_in,
            "created_at": None if self.built_in else self.profile.created_at.isoformat(),
        }


def check_kind(kind: str) -> str:
    """``kind`` if it is ``persona`` or ``human``; one line otherwise."""
    if kind not in PROFILE_KINDS:
        raise InvalidName(f"a profile is a persona or a human, not {kind!r}")
    return kind


def check_text(kind: str, name: str, text: object, limit: int = CORE_MEMORY_LIMIT) -> str:
    """``text`` if it can start a core-memory block of ``limit`` characters; one line otherwise."""
    if not isinstance(text, str):
        raise InvalidRecord(f"the text of {kind} {name!r} must be a string")
    if len(text) > limit:
        raise InvalidRecord(
            f"the text of {kind} {name!r} is {len(text):,} characters long; a core-memory block holds {limit:,}: shorten it"
        )
    from memgpt.records import text_problem

    problem = text_problem(text)
    if problem:
        raise InvalidRecord(f"the text of {kind} {name!r} {problem}")
    return text


class Profiles:
    """The personas and humans of one user: built-in ones, and their own in the catalog storage."""

    def __init__(self, collections: Collections, user_id: str) -> None:
        self.collections = collections
        self.user_id = user_id

    def _stored(self) -> Collection:
        return self.collections.collection(Table.PROFILES, Where.of(user_id=self.user_id))

    def find(self, kind: str, name: str) -> ProfileEntry | None:
        """The user's own ``kind`` called ``name``, else the built-in one, else ``None``."""
        check_kind(kind)
        validate_name(name, f"{kind} name")
        own = self._stored().get(profile_id(kind, name))
        if own is not None:
            return ProfileEntry(own, built_in=False)
        text = BUILT_IN.get((kind, name))
        if text is None:
            return None
        return ProfileEntry(Profile(kind=kind, name=name, text=text, user_id=self.user_id), built_in=True)

    def get(self, kind: str, name: str) -> Profile:
        """The ``kind`` called ``name`` (see :meth:`find`), or one line naming the command that lists them."""
        entry = self.find(kind, name)
        if entry is None:
            raise NotFound(f"no {kind} named {name!r}; memgpt list {kind}s shows them, memgpt add {kind} adds one")
        return entry.profile

    def list(self, kind: str) -> list[ProfileEntry]:
        """Every ``kind`` the user can start an agent with, by name; their own replace built-in ones of the same name."""
        check_kind(kind)
        entries = {
            name: ProfileEntry(Profile(kind=kind, name=name, text=text, user_id=self.user_id), built_in=True)
            for (k, name), text in BUILT_IN.items()
            if k == kind
        }
        for own in self._stored().iterate(Where.of(kind=kind)):
            entries[own.name] = ProfileEntry(own, built_in=False)
        return [entries[name] for name in sorted(entries)]

    def add(self, kind: str, name: str, text: str, replace_existing: bool = False) -> Profile:
        """Store the user's ``kind`` called ``name``; an existing one of theirs is replaced only if asked."""
        check_kind(kind)
        validate_name(name, f"{kind} name")
        check_text(kind, name, text)
        stored = self._stored()
        existing = stored.get(profile_id(kind, name))
        if (existing is not None or (kind, name) in BUILT_IN) and not replace_existing:
            where = "" if existing is not None else " (built in)"
            raise AlreadyExists(f"a {kind} named {name!r} exists already{where}; pass --replace to change its text")
        profile = Profile(kind=kind, name=name, text=text, user_id=self.user_id)
        if existing is not None:
            updated = {**existing.metadata, "updated_at": utcnow().isoformat()}
            profile = replace(profile, created_at=existing.created_at, metadata=updated)
        stored.insert([profile])
        return profile

    def delete(self, kind: str, name: str) -> bool:
        """Delete the user's own ``kind`` called ``name``; returns whether a built-in one of that name remains."""
        check_kind(kind)
        validate_name(name, f"{kind} name")
        if not self._stored().delete([profile_id(kind, name)]):
            if (kind, name) in BUILT_IN:
                raise InvalidRecord(
                    f"{kind} {name!r} is built in and cannot be deleted; memgpt add {kind} --replace overrides it"
                )
            raise NotFound(f"no {kind} named {name!r}; memgpt list {kind}s shows them")
        return (kind, name) in BUILT_IN
