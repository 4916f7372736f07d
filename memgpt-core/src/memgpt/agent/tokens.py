"""Counting tokens offline: no tokenizer is downloaded, nothing leaves the machine.

:func:`count_tokens` estimates what BPE tokenizers (GPT's, Llama's) make of a
text: a short word is one token, a long one a token per four characters or so,
every punctuation mark, digit group and non-Latin character its own. It errs
high on purpose: the context window is what it guards. The agent corrects the
estimate by the prompt sizes the server reports (:class:`TokenCounter`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from functools import lru_cache
from typing import Any

from memgpt.llm.provider import ChatMessage

_PIECES = re.compile(r"[A-Za-z]+|[0-9]{1,3}|\s+|[!-/:-@\[-`{-~]+|[^\x00-\x7f]|[\x00-\x1f\x7f]")
MESSAGE_OVERHEAD = 4
"""Tokens each message costs besides its text (role and separators, as OpenAI counts them)."""


def count_tokens(text: str) -> int:
    """An upper-leaning estimate of how many tokens ``text`` is."""
    tokens = 0
    for piece in _PIECES.findall(text):
        first = piece[0]
        if first.isspace():
            tokens += 0 if piece == " " else max(1, len(piece) // 4)
        elif first.isalpha() and first.isascii():
            tokens += 1 if len(piece) <= 6 else (len(piece) + 3) // 4
        elif first.isdigit() and first.isascii():
            tokens += 1
        elif first.isascii():  # a run of punctuation: BPE merges pairs like '":' and '},'
            tokens += (len(piece) + 1) // 2
        else:  # a letter of another script, an emoji: a token or two each
            tokens += max(1, len(first.encode("utf-8")) // 2)
    return tokens


def message_tokens(message: ChatMessage) -> int:
    """Tokens of one message: its text, its function calls and the overhead."""
    total = MESSAGE_OVERHEAD + count_tokens(message.content or "")
    for call in message.tool_calls:
        total += 3 + count_tokens(call.name) + count_tokens(call.arguments)
    return total


def tools_tokens(tools: Iterable[Mapping[str, Any]]) -> int:
    """Tokens the function schemas add to every request."""
    return _json_tokens(json.dumps(list(tools), separators=(",", ":")))


@lru_cache(maxsize=64)
def _json_tokens(text: str) -> int:
    return count_tokens(text)


class TokenCounter:
    """Estimates prompt sizes, corrected by what the server reported for earlier prompts.

    The correction only ever scales estimates up from the ratio of the last
    reported size to its estimate (a tokenizer that makes more tokens than
    the estimate): it never trusts a server to shrink them. Each message is
    counted once: a prompt repeats most of the previous one.
    """

    def __init__(self, cache_size: int = 4096) -> None:
        self.scale = 1.0
        self._counted: dict[ChatMessage, int] = {}
        self._cache_size = cache_size

    def raw(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = ()) -> int:
        """The unscaled estimate of a prompt."""
        counted = self._counted
        total = tools_tokens(tools) if tools else 0
        for message in messages:
            size = counted.get(message)
            if size is None:
                if len(counted) >= self._cache_size:
                    counted.clear()
                size = counted[message] = message_tokens(message)
            total += size
        return total

    def estimate(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]] = ()) -> int:
        """The estimated size of a prompt, corrected by the server's earlier reports."""
        return int(self.raw(messages, tools) * self.scale + 0.5)

    def reported(self, messages: Sequence[ChatMessage], tools: Sequence[Mapping[str, Any]], prompt_tokens: int | None) -> None:
        """Take the server's count of a prompt into account."""
        if not prompt_tokens or prompt_tokens <= 0:
            return
        raw = self.raw(messages, tools)
        if raw > 0:
            self.scale = min(4.0, max(1.0, prompt_tokens / raw))
