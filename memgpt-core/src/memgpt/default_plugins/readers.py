"""The built-in readers: plain text, Markdown, HTML (text only), JSON/JSONL and PDF (with ``memgpt-core[pdf]``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from memgpt.hookspecs import hookimpl
from memgpt.sources.readers import Reader, Section, UnreadableFile, read_text_file

TEXT_FIELDS = ("text", "content", "body", "page_content")


class TextReader(Reader):
    name = "text"
    label = "Plain text, and any other file that is text (code, config, README, Makefile...)"
    extensions = (".txt", ".text", ".log", ".rst", ".csv", ".tsv")
    fallback = True

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        return [Section(read_text_file(path))]


class MarkdownReader(Reader):
    name = "markdown"
    label = "Markdown (kept as written)"
    extensions = (".md", ".markdown", ".mdx")

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        return [Section(read_text_file(path))]


class HTMLReader(Reader):
    name = "html"
    label = "HTML (visible text only)"
    extensions = (".html", ".htm", ".xhtml")

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        from memgpt.sources.html_text import TextExtractor  # html.parser: imported when an HTML file is read

        parser = TextExtractor()
        parser.feed(read_text_file(path))
        parser.close()
        metadata = {"title": " ".join(parser.title.split())} if parser.title.strip() else {}
        return [Section(parser.text(), metadata)]


def _text_of(item: Any, field: str | None) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        for name in (field,) if field else TEXT_FIELDS:
            value = item.get(name)
            if isinstance(value, str):
                return value
    return None


def _sections(path: Path, items: list[tuple[int, Any]], field: str | None, key: str) -> list[Section]:
    """One section per item that has a text; a file whose items have none is unreadable."""
    sections = []
    for position, item in items:
        text = _text_of(item, field)
        if text is None:
            continue
        metadata: dict[str, Any] = {key: position}
        if isinstance(item, dict):
            metadata.update(
                {
                    k: v
                    for k, v in item.items()
                    if k not in TEXT_FIELDS + ((field,) if field else ()) and isinstance(v, (str, int, float, bool))
                }
            )
        sections.append(Section(text, metadata))
    if items and not sections:
        raise UnreadableFile(f"{path} has no string field {field or '/'.join(TEXT_FIELDS)!r} to load (use --text-field)")
    return sections


class JSONReader(Reader):
    name = "json"
    label = "JSON: a text field of an object, or of each object in a list (--text-field, default text/content/body)"
    extensions = (".json",)

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        try:
            data = json.loads(read_text_file(path))
        except json.JSONDecodeError as exc:
            raise UnreadableFile(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
        field = options.get("text_field")
        items = list(enumerate(data)) if isinstance(data, list) else [(0, data)]
        return _sections(path, items, field, "item")


class JSONLReader(Reader):
    name = "jsonl"
    label = "JSON Lines: a text field of each line's object"
    extensions = (".jsonl", ".ndjson")

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        items = []
        for number, line in enumerate(read_text_file(path).splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((number, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise UnreadableFile(f"{path} line {number} is not valid JSON ({exc.msg})") from None
        field = options.get("text_field")
        return _sections(path, items, field, "line")


class PDFReader(Reader):
    name = "pdf"
    label = "PDF text, page by page (needs memgpt-core[pdf])"
    extensions = (".pdf",)

    def read(self, path: Path, options: Mapping[str, str]) -> list[Section]:
        try:
            from pypdf import PdfReader
            from pypdf.errors import PdfReadError
        except ImportError:
            raise UnreadableFile(f"reading {path.name} needs pypdf: pip install 'memgpt-core[pdf]'") from None
        try:
            document = PdfReader(str(path))
            if document.is_encrypted:
                raise UnreadableFile(f"{path} is an encrypted PDF")
            pages = [Section(page.extract_text() or "", {"page": number}) for number, page in enumerate(document.pages, start=1)]
        except (PdfReadError, OSError, ValueError, KeyError) as exc:
            raise UnreadableFile(f"{path} is not a readable PDF ({type(exc).__name__}: {exc})") from None
        return [page for page in pages if page.text.strip()]


@hookimpl
def register_readers(register: Callable[[Reader], None]) -> None:
    for reader in (TextReader(), MarkdownReader(), HTMLReader(), JSONReader(), JSONLReader(), PDFReader()):
        register(reader)
