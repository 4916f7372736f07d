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

    @abstractmethod
    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        """The text of ``path``; raise :class:`UnreadableFile` (one line) when it cannot be read.

        ``options`` come from the command line (e.g. ``text_field`` for JSON).
        """


def read_text_file(path: Path) -> str:
    """A text file as str: UTF-8 (with or without BOM), else UTF-16 with a BOM; anything else is refused."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read {path}: {exc.strerror or exc}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"{path} is not UTF-8 text (byte {exc.start})") from None
