"""Cutting text into overlapping passages of a given number of tokens.

Tokens are approximated without a tokenizer download: a token is a run of word
characters or a single other non-space character, which tracks BPE token
counts of English prose within about 20%. A passage is the exact slice of the
original text from its first token to its last, so whitespace and line breaks
survive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TOKEN = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    """Character offset of the chunk in the text it was cut from."""
    end: int
    tokens: int


def count_tokens(text: str) -> int:
    return sum(1 for _ in TOKEN.finditer(text))


def chunk_text(text: str, size: int, overlap: int = 0) -> list[Chunk]:
    """Chunks of at most ``size`` tokens, each sharing ``overlap`` tokens with the previous one."""
    if size < 1:
        raise ValueError("chunk size must be at least 1 token")
    if not 0 <= overlap < size:
        raise ValueError("chunk overlap must be at least 0 and smaller than the chunk size")
    spans = [m.span() for m in TOKEN.finditer(text)]
    chunks: list[Chunk] = []
    step = size - overlap
    for first in range(0, len(spans), step):
        window = spans[first : first + size]
        start, end = window[0][0], window[-1][1]
        chunks.append(Chunk(text[start:end], start, end, len(window)))
        if first + size >= len(spans):
            break
    return chunks
