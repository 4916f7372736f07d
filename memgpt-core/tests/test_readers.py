"""Readers: each format's text, and clear errors for files that cannot be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from memgpt import hookimpl, plugins
from memgpt.sources.chunking import chunk_text, count_tokens
from memgpt.sources.readers import Reader, Section, UnreadableFile


def reader(name: str) -> Reader:
    return plugins.readers()[name].item


def minimal_pdf(pages: list[str]) -> bytes:
    """A valid PDF with one line of Helvetica text per page (built by hand, offsets computed)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(len(pages)))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>")
    font = 3 + 2 * len(pages)
    for i, text in enumerate(pages):
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 144] /Contents {4 + 2 * i} 0 R /Resources << /Font << /F1 {font} 0 R >> >> >>"
        )
        stream = f"BT /F1 12 Tf 20 100 Td ({text}) Tj ET"
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_text_and_markdown_keep_the_text(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("plain text\nsecond line", encoding="utf-8")
    (tmp_path / "b.md").write_bytes("\ufeff# Title\n\nSome *markdown* — ünïcode".encode())
    assert reader("text").read(tmp_path / "a.txt", {}) == [Section("plain text\nsecond line")]
    assert reader("markdown").read(tmp_path / "b.md", {})[0].text == "# Title\n\nSome *markdown* — ünïcode"


def test_html_keeps_visible_text_only(tmp_path: Path) -> None:
    (tmp_path / "p.html").write_text(
        "<html><head><title>The  Title</title><style>p{}</style><script>var x=1;</script></head>"
        "<body><h1>Heading</h1><p>First &amp; <b>bold</b> paragraph.</p><div>Second</div></body></html>"
    )
    [section] = reader("html").read(tmp_path / "p.html", {})
    assert section.text == "Heading\nFirst & bold paragraph.\nSecond"
    assert section.metadata == {"title": "The Title"}


def test_json_and_jsonl_take_a_text_field(tmp_path: Path) -> None:
    (tmp_path / "one.json").write_text(json.dumps({"content": "only document", "author": "me"}))
    (tmp_path / "many.json").write_text(json.dumps([{"text": "first"}, {"other": 1}, "a bare string", {"body": "third"}]))
    (tmp_path / "lines.jsonl").write_text('{"text": "line one", "n": 1}\n\n{"msg": "no text here"}\n{"text": "line four"}\n')
    assert reader("json").read(tmp_path / "one.json", {}) == [Section("only document", {"item": 0, "author": "me"})]
    assert [s.text for s in reader("json").read(tmp_path / "many.json", {})] == ["first", "a bare string", "third"]
    sections = reader("jsonl").read(tmp_path / "lines.jsonl", {})
    assert [(s.text, s.metadata["line"]) for s in sections] == [("line one", 1), ("line four", 4)]
    assert [s.text for s in reader("jsonl").read(tmp_path / "lines.jsonl", {"text_field": "msg"})] == ["no text here"]


def test_pdf_is_read_page_by_page(tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    (tmp_path / "doc.pdf").write_bytes(minimal_pdf(["Hello from page one", "Page two says goodbye"]))
    sections = reader("pdf").read(tmp_path / "doc.pdf", {})
    assert [(s.metadata["page"], s.text.strip()) for s in sections] == [(1, "Hello from page one"), (2, "Page two says goodbye")]


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("bad.txt", b"\xff\xfe\xfa not utf", "not UTF-8"),
        ("bad.json", b"{not json", "not valid JSON"),
        ("empty.json", b'[{"x": 1}]', "no string field"),
        ("bad.jsonl", b'{"text": "ok"}\n{broken', "line 2 is not valid JSON"),
        ("bad.pdf", b"%PDF-1.4 garbage", "not a readable PDF"),
    ],
)
def test_unreadable_files_raise_one_line(tmp_path: Path, name: str, content: bytes, message: str) -> None:
    if name.endswith(".pdf"):
        pytest.importorskip("pypdf")
    path = tmp_path / name
    path.write_bytes(content)
    kind = {".txt": "text", ".json": "json", ".jsonl": "jsonl", ".pdf": "pdf"}[path.suffix]
    with pytest.raises(UnreadableFile, match=message) as raised:
        reader(kind).read(path, {})
    assert "\n" not in str(raised.value)


def test_chunks_are_exact_slices_with_overlap() -> None:
    text = "One two, three.\n\nFour five six seven eight nine ten eleven twelve."
    chunks = chunk_text(text, size=5, overlap=2)
    assert all(text[c.start : c.end] == c.text for c in chunks)
    assert chunks[0].text == "One two, three."
    assert [c.tokens for c in chunks] == [5, 5, 5, 5, 3]  # 15 tokens, windows every 3
    assert chunks[1].text.startswith("three.")  # two tokens shared with the previous chunk
    assert chunks[-1].end == len(text)
    assert chunk_text("", 10) == [] and chunk_text("   \n", 10) == []
    assert [c.text for c in chunk_text("short text", 300)] == ["short text"]
    assert count_tokens("Hello, world!") == 4
    with pytest.raises(ValueError, match="overlap"):
        chunk_text(text, 5, 5)


def test_hook_register_readers(tmp_path: Path) -> None:
    """A third party's reader handles its extension in `memgpt load`."""

    class Upper(Reader):
        name = "upper"
        label = "Shouting files"
        extensions = (".shout",)

        def read(self, path, options):
            return [Section(path.read_text().upper(), {"shouted": True})]

    class Plugin:
        @hookimpl
        def register_readers(self, register):
            register(Upper())

    plugins.register(Plugin(), name="upper-plugin")
    assert "upper" in plugins.readers()
    from memgpt.client import MemGPTClient

    (tmp_path / "a.shout").write_text("quiet words")
    with MemGPTClient() as client:
        report = client.load("shouts", [tmp_path / "a.shout"])
        assert report.files == 1 and report.passages_written == 1
        [hit], _ = _search_source(client, "shouts", "QUIET")
        assert hit.record.text == "QUIET WORDS" and hit.record.metadata["shouted"] is True


def _search_source(client, source: str, query: str):
    client.create_agent("reader-test")
    client.attach("reader-test", source)
    return client.memory("reader-test").search_archival(query, count=1)
