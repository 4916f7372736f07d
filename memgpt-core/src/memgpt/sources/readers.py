"""The reader contract: a file in, text sections out.

A reader handles some file extensions and returns the file's text as
:class:`Section` s (one for most formats; one per page of a PDF or per line of
a JSONL file), each with metadata that the passages cut from it keep.
Readers are registered through the ``register_readers`` hook.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from memgpt.errors import MemGPTError


class UnreadableFile(MemGPTError):
    """A file cannot be read (wrong encoding, corrupt, missing optional library)."""


@dataclass
class Section:
    """A piece of a document's text, with where it came from (e.g. ``{"page": 3}``)."""

    text: str
    metadata: dict[str, Any] = field(default_factory=dict)


class Reader(ABC):
    """Reads one kind of file. Subclass it and register an instance from ``register_readers``."""

    name: ClassVar[str]
    label: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    """Lower-case extensions with the dot, e.g. ``(".md", ".markdown")``."""
    fallback: ClassVar[bool] = False
    """Whether this reader also takes files whose extension no reader claims (code, ``README``, ``Makefile``...).

    The built-in plain-text reader is the fallback: it loads any file that is
    text and refuses binaries in one line (:func:`read_text_file`).
    """

    @abstractmethod
    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        """The text of ``path``; raise :class:`UnreadableFile` (one line) when it cannot be read.

        ``options`` come from the command line (e.g. ``text_field`` for JSON).
        """


class BinaryFile(UnreadableFile):
    """A file that is not text (an image, an archive, a compiled file): skipped, not an error."""


def decode_text(data: bytes, name: str) -> str:
    """``data`` as str: UTF-8 (with or without BOM), else UTF-16 with a BOM.

    Raises :class:`BinaryFile` for what is not text: a NUL byte (what ``git``
    and ``grep`` take for binary) or bytes that are not UTF-8.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    if b"\x00" in data:
        raise BinaryFile(f"{name} is binary (it holds NUL bytes), not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BinaryFile(f"{name} is not UTF-8 text (byte {exc.start} is not UTF-8); save it as UTF-8 to load it") from None


def read_text_file(path: Path) -> str:
    """A text file as str (see :func:`decode_text`); anything else is refused in one line."""
    from memgpt.records import printable_path  # records imports numpy: not at import time (plugins load for --help)

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read {printable_path(path)}: {exc.strerror or exc}") from None
    return decode_text(data, printable_path(path))
