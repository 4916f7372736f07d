"""``memgpt load``: files -> sections -> chunks -> embeddings -> passages of a data source.

Loading is idempotent and resumable. A file is one document, identified by its
absolute path; each passage's id is a hash of the source, the document, its
position and its text. Before embedding anything, the passages a file would
produce are compared with those stored for it: an unchanged file costs no
embedding call; a changed file gets only its new passages embedded, then its
old ones removed (after the new ones are written, so an interruption never
leaves a file with nothing); an interrupted load simply runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from memgpt.catalog import Catalog, embedding_of_source, open_embedder_of
from memgpt.embeddings.installed import open_embedder
from memgpt.embeddings.provider import Embedder, EmbeddingConfig
from memgpt.errors import MemGPTError
from memgpt.records import Passage, printable_path, text_problem, utcnow
from memgpt.sources.chunking import chunk_text
from memgpt.sources.readers import BinaryFile, Reader, Section, UnreadableFile
from memgpt.storage.where import Where

FLUSH_PASSAGES = 2_048
"""Passages embedded and written together across small files."""
BYTES_PER_TOKEN = 4
"""About how many bytes of a file make one token (a word or a punctuation mark) of English text."""


class NoFilesToLoad(MemGPTError):
    """The inputs name no file any installed reader can read."""


@dataclass
class LoadReport:
    """What a load did: every file given is loaded (``files``, counted per ``kinds``), skipped or failed."""

    source: str
    files: int = 0
    """Files read and stored (``unchanged`` of them were stored already)."""
    unchanged: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    """Files read, by kind: their extension (``.py``), or ``(no extension)`` for a README or Makefile."""
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """Files that are not text (binaries), with why."""
    failed: list[tuple[str, str]] = field(default_factory=list)
    """Files that could not be read (unreadable, or refused by their reader and not text), with why."""
    as_text: list[tuple[str, str]] = field(default_factory=list)
    """Files their reader refused (with its reason) that were loaded whole as plain text instead."""
    passages_written: int = 0
    passages_removed: int = 0
    passages_total: int = 0
    embedding: str = ""
    """The model the source's passages are embedded with (a source keeps its own)."""
    created: bool = False
    """Whether this load created the source (a load that stores nothing creates none)."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "files": self.files,
            "unchanged": self.unchanged,
            "kinds": dict(sorted(self.kinds.items())),
            "skipped": [{"file": f, "reason": e} for f, e in self.skipped],
            "failed": [{"file": f, "error": e} for f, e in self.failed],
            "as_text": [{"file": f, "reason": e} for f, e in self.as_text],
            "passages_written": self.passages_written,
            "passages_removed": self.passages_removed,
            "passages_total": self.passages_total,
            "embedding": self.embedding,
            "created": self.created,
        }


def kind_of(path: Path) -> str:
    """How a load summary counts a file: its extension, or ``(no extension)``."""
    return path.suffix.lower() or "(no extension)"


@dataclass
class Progress:
    """Callbacks for a progress display; all optional."""

    file_done: Callable[[Path], None] = lambda path: None
    passages_embedded: Callable[[int], None] = lambda n: None


def readers_by_extension(readers: Iterable[Reader]) -> dict[str, Reader]:
    table: dict[str, Reader] = {}
    for reader in readers:
        for extension in reader.extensions:
            table.setdefault(extension.lower(), reader)
    return table


def fallback_reader(readers: Iterable[Reader]) -> Reader | None:
    """The reader that takes files no other reader claims (the built-in text reader), if one is installed."""
    return next((reader for reader in readers if getattr(reader, "fallback", False)), None)


def collect_files(
    input_dir: Path | None,
    input_files: Sequence[Path],
    recursive: bool,
    extensions: Sequence[str] | None,
    known: Mapping[str, Reader],
    any_file: bool = False,
) -> list[Path]:
    """The files to load, sorted: ``input_files`` as given, plus the files of ``input_dir``.

    Hidden files and folders (``.git``) are left out. ``any_file`` (a fallback
    reader is installed): every file is taken, whatever its extension, and the
    load tells text from binaries; otherwise only extensions in ``known``.
    ``extensions`` limits either to those (``--extensions .py,.md``).
    """
    wanted = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions} if extensions else None
    unknown = sorted((wanted or set()) - set(known))
    if unknown and not any_file:
        raise NoFilesToLoad(f"no installed reader handles {', '.join(unknown)} (readable: {', '.join(sorted(known))})")
    files: list[Path] = []
    for path in input_files:
        if not path.is_file():
            raise NoFilesToLoad(f"{path} is not a file")
        files.append(path.resolve())
    if input_dir is not None:
        if not input_dir.is_dir():
            raise NoFilesToLoad(f"{input_dir} is not a folder")
        pattern = "**/*" if recursive else "*"
        found = [
            p.resolve()
            for p in input_dir.glob(pattern)
            if p.is_file()
            and (p.suffix.lower() in wanted if wanted is not None else any_file or p.suffix.lower() in known)
            and not any(part.startswith(".") for part in p.relative_to(input_dir).parts)
        ]
        files.extend(sorted(found))
    unique = list(dict.fromkeys(files))
    if not unique:
        where = f"in {input_dir}" if input_dir is not None else "among the given files"
        which = f"with extensions {', '.join(sorted(wanted))}" if wanted is not None else "to load"
        raise NoFilesToLoad(
            f"no files {which} {where}" + ("" if recursive or input_dir is None else " (--recursive also reads its sub-folders)")
        )
    return unique


def passage_id(source: str, document_id: str, position: int, text: str) -> str:
    """Content-based: the same text at the same place of the same document always gets the same id."""
    digest = hashlib.sha256("\0".join((source, document_id, str(position), text)).encode("utf-8"))
    return digest.hexdigest()[:32]


def expected_passages(files: Sequence[Path], chunk_size: int, chunk_overlap: int = 0) -> int:
    """About how many passages ``files`` make: their bytes over the new text of a chunk.

    A hint for ``Collection.bulk_load`` (an engine may build its index once
    after a large load), never a limit: binary formats overstate it, and an
    unreadable file counts nothing.
    """
    total = 0
    for path in files:
        try:
            total += path.stat().st_size
        except OSError:
            pass
    return total // (BYTES_PER_TOKEN * max(1, chunk_size - chunk_overlap))


@dataclass
class _PendingFile:
    document_id: str
    stale: set[str]


class SourceLoader:
    """Loads files into one data source of one user."""

    def __init__(
        self,
        catalog: Catalog,
        source: str,
        embedding: EmbeddingConfig,
        readers: Iterable[Reader],
        chunk_size: int | None = None,
        chunk_overlap: int = 0,
        options: Mapping[str, str] | None = None,
        embedder: Embedder | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.catalog = catalog
        existing = catalog.find_source(source)
        self.source_existed = existing is not None
        self.created = existing is None
        """Whether this load creates the source: it is entered in the catalog only once a passage is stored."""
        self.source = existing or catalog.new_source(source, embedding)
        self.embedding = embedding if existing is None else embedding_of_source(existing)
        """A source keeps its own model: loading more into it embeds with that, whatever is configured now."""
        readers = list(readers)
        self.readers = readers_by_extension(readers)
        self.fallback = fallback_reader(readers)
        self.chunk_size = chunk_size or self.embedding.chunk_size
        self.chunk_overlap = chunk_overlap
        if not 0 <= chunk_overlap < self.chunk_size:
            raise MemGPTError(f"chunk overlap must be at least 0 and smaller than the chunk size ({self.chunk_size})")
        self.options = dict(options or {})
        same = embedder is not None and (embedder.model, embedder.dim) == (self.embedding.model, self.embedding.dim)
        self._embedder = embedder if same else None  # a caller's embedder of the configured model, not the source's
        self.progress = progress or Progress()
        self.passages = catalog.source_passages(self.source)
        self._queue: list[Passage] = []
        self._waiting: list[_PendingFile] = []
        self._bulk: ExitStack | None = None
        """While :meth:`load` runs, until its first write: where that write opens the passages' bulk load."""
        self._expected = 0

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            if self.source_existed:
                what = f"data source {self.source.name!r}"
                self._embedder = open_embedder_of(what, self.embedding, "source", self.source.name)
            else:
                self._embedder = open_embedder(self.embedding)
        return self._embedder

    def load(self, files: Sequence[Path]) -> LoadReport:
        report = LoadReport(self.source.name, embedding=str(self.embedding), created=self.created)
        self._expected = expected_passages(files, self.chunk_size, self.chunk_overlap)
        with ExitStack() as bulk:
            self._bulk = bulk
            for path in files:
                try:
                    self._load_file(path, report)
                except BinaryFile as exc:
                    report.skipped.append((printable_path(path), str(exc)))
                except UnreadableFile as exc:
                    report.failed.append((printable_path(path), str(exc)))
                except OSError as exc:
                    report.failed.append((printable_path(path), f"cannot read {printable_path(path)}: {exc.strerror or exc}"))
                self.progress.file_done(path)
            self._flush(report)
            self._bulk = None
        report.passages_total = self.passages.count()
        report.created = report.created and not self.created  # entered in the catalog only once a passage was stored
        return report

    def _read(self, path: Path, report: LoadReport) -> tuple[Reader, list[Section]]:
        """The file's sections, read by the reader of its extension, or else as plain text when it is text.

        A file its reader refuses (a JSON file with no text field, a damaged
        one) is still loaded whole as plain text if it is text; otherwise the
        reader's one-line error stands.
        """
        reader = self.readers.get(path.suffix.lower()) or self.fallback
        if reader is None:
            raise UnreadableFile(f"no reader for {path.suffix or 'files without extension'}")
        try:
            return reader, self._read_with(reader, path)
        except BinaryFile:
            raise
        except UnreadableFile as refused:
            if self.fallback is None or reader is self.fallback:
                raise
            try:
                sections = self._read_with(self.fallback, path)
            except UnreadableFile:
                raise refused from None
            report.as_text.append((printable_path(path), str(refused)))
            return self.fallback, sections

    def _read_with(self, reader: Reader, path: Path) -> list[Section]:
        """The file's sections, or :class:`UnreadableFile` naming it: whatever a reader raises, and texts no backend can hold."""
        name = printable_path(path)
        try:
            sections = reader.read(path, self.options)
        except (UnreadableFile, OSError):
            raise
        except RecursionError:
            raise UnreadableFile(f"{name} is nested too deeply for the {reader.name} reader") from None
        except MemoryError:
            raise UnreadableFile(f"{name} is too large to read into memory") from None
        except Exception as exc:  # a reader (perhaps a plugin's) failed on this file: skip it, keep loading
            message = " ".join(str(exc).split())[:200]
            raise UnreadableFile(f"the {reader.name} reader failed on {name} ({type(exc).__name__}: {message})") from None
        for section in sections:
            problem = text_problem(section.text) if isinstance(section.text, str) else "is not text"
            if problem:
                raise UnreadableFile(f"{name} {problem}: not a text file")
        return sections

    def _forget_new_source(self) -> None:
        try:
            if self.passages.count() == 0:
                self.catalog.delete_source(self.source.name)
        except MemGPTError:
            pass  # the store refuses even that: the original error says why

    def _load_file(self, path: Path, report: LoadReport) -> None:
        reader, sections = self._read(path, report)
        report.kinds[kind_of(path)] = report.kinds.get(kind_of(path), 0) + 1
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        document_id = printable_path(path)
        wanted: dict[str, Passage] = {}
        position = 0
        for number, section in enumerate(sections):
            for chunk in chunk_text(section.text, self.chunk_size, self.chunk_overlap):
                pid = passage_id(self.source.name, document_id, position, chunk.text)
                wanted[pid] = Passage(
                    id=pid,
                    text=chunk.text,
                    user_id=self.catalog.user_id,
                    source=self.source.name,
                    document_id=document_id,
                    metadata={
                        **section.metadata,
                        "file": document_id,
                        "file_name": printable_path(path.name),
                        "reader": reader.name,
                        "section": number,
                        "chunk": position,
                        "char_start": chunk.start,
                        "char_end": chunk.end,
                        "tokens": chunk.tokens,
                        "content_hash": content_hash,
                    },
                    created_at=utcnow(),
                )
                position += 1
        stored = {p.id for p in self.passages.iterate(Where.of(document_id=document_id), batch_size=500)}
        report.files += 1
        missing = [p for pid, p in wanted.items() if pid not in stored]
        stale = stored - set(wanted)
        if not missing and not stale:
            report.unchanged += 1
            return
        self._queue.extend(missing)
        self._waiting.append(_PendingFile(document_id, stale))
        if len(self._queue) >= FLUSH_PASSAGES:
            self._flush(report)

    def _start_bulk_load(self) -> None:
        """At the load's first write: tell the passages' engine how many rows are coming (it may defer its index)."""
        if self._bulk is not None:
            self._bulk.enter_context(self.passages.bulk_load(self._expected))
            self._bulk = None  # entered once; load() leaves it

    def _flush(self, report: LoadReport) -> None:
        from memgpt.embeddings.batching import embed_texts

        if self._queue:
            vectors = embed_texts(self.embedder, [p.text for p in self._queue], self.progress.passages_embedded)
            for passage, vector in zip(self._queue, vectors, strict=True):
                passage.embedding = vector
                passage.embedding_model = self.embedder.model
            if self.created:  # the first passages of a new source: enter it, and claim its model's shelf
                self.catalog.add_source(self.source)
                self.passages = self.catalog.source_passages(self.source, claim=True)
                try:
                    self._start_bulk_load()
                    report.passages_written += self.passages.insert(self._queue)
                except BaseException:  # nothing stored (a full disk, an interrupt): leave no empty source behind
                    self._forget_new_source()
                    raise
                self.created = False
            else:
                self._start_bulk_load()
                report.passages_written += self.passages.insert(self._queue)
        for pending in self._waiting:  # old passages go only once the new ones are written
            if pending.stale:
                report.passages_removed += self.passages.delete(sorted(pending.stale))
        self._queue, self._waiting = [], []
