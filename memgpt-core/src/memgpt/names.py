"""Names users give to things (data sources, agents, users) and where they may go.

A name is stored as given in every backend, so data can move between them; the
only names refused are those no backend can hold safely: empty or overlong
ones, control characters, path separators and ``.``/``..``, which would let a
name escape the folder the local backend keeps it in.
"""

from __future__ import annotations

import re

from memgpt.errors import InvalidName

MAX_NAME_LENGTH = 200
MAX_FOLDER_BYTES = 255
"""File systems hold names of at most 255 bytes: a name's folder (:func:`folder_name`) must fit."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_PLAIN = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")


def validate_name(name: object, what: str = "name") -> str:
    """Return ``name`` if it can be used as a source, agent or user name; raise otherwise."""
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a string, got {type(name).__name__}")
    if not name:
        raise InvalidName(f"{what} must not be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidName(f"{what} is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}")
    if name in (".", ".."):
        raise InvalidName(f"{what} {name!r} is not allowed: it names a folder, not a record")
    if "/" in name or "\\" in name:
        raise InvalidName(f"{what} {name!r} may not contain '/' or '\\'")
    if _CONTROL.search(name):
        raise InvalidName(f"{what} {name!r} may not contain control characters")
    if name != name.strip():
        raise InvalidName(f"{what} {name!r} may not start or end with whitespace")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(f"{what} is not valid UTF-8 text") from None
    if not _PLAIN.fullmatch(name) and len(_encoded(name)) > MAX_FOLDER_BYTES:
        raise InvalidName(
            f"{what} is too long: as a folder name it takes {len(_encoded(name))} bytes, more than file systems "
            f"allow ({MAX_FOLDER_BYTES}); use a shorter name"
        )
    return name


def folder_name(name: str) -> str:
    """A file-system-safe, reversible folder name for a validated ``name``.

    Plain names (letters, digits, ``._-``, not starting with a dot) are used as
    they are, so ``~/.memgpt/archival/my-docs/`` reads naturally; anything else
    is percent-encoded byte by byte.
    """
    validate_name(name)
    if _PLAIN.fullmatch(name) and "%" not in name:
        return name
    return _encoded(name)


def _encoded(name: str) -> str:
    out: list[str] = []
    for ch in name:
        if re.fullmatch(r"[A-Za-z0-9_-]", ch) or (ch == "." and out):
            out.append(ch)
        else:
            out.extend(f"%{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)


def name_from_folder(folder: str) -> str:
    """Invert :func:`folder_name`."""
    if "%" not in folder:
        return folder
    from urllib.parse import unquote

    return unquote(folder, errors="strict")
