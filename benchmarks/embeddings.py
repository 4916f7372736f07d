"""Embedding providers side by side: speed (passages/s) and search quality on paraphrases.

    python benchmarks/embeddings.py                        # every installed provider's default model
    python benchmarks/embeddings.py --transformer DIR      # also the full all-MiniLM-L6-v2 (needs torch, transformers)

Quality: ``data/paraphrase.json`` holds passages and, for each, a question that
shares no word with it (stop words aside; the script checks). Every question
is searched among all the passages by cosine similarity; the table gives how
often the right passage ranks first (top-1), is among the first three (top-3),
and the mean reciprocal rank. Speed: ``--passages`` texts of ``--words`` words
made from the paraphrase set's vocabulary, embedded in batches of the
provider's size after one warm-up batch; the best of ``--repeat`` runs, in
passages per second, on however many cores the machine has. The time to open
the provider (import and model load) is reported apart. Providers that need a
server or a key (``openai``) are left out unless ``--providers`` names them.
Writes ``results/embeddings.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
DATA = HERE / "data" / "paraphrase.json"
RESULTS = HERE / "results"
WORD = re.compile(r"\w+")


def pairs() -> list[dict[str, str]]:
    """The paraphrase set, checked: no question shares a word (stop words aside) with its passage."""
    from memgpt.embeddings.hashing import STOP_WORDS

    found = json.loads(DATA.read_text())["pairs"]
    for pair in found:
        shared = {w for w in WORD.findall(pair["passage"].casefold()) if w not in STOP_WORDS} & {
            w for w in WORD.findall(pair["question"].casefold()) if w not in STOP_WORDS
        }
        if shared:
            sys.exit(f"paraphrase set: {pair['question']!r} shares {sorted(shared)} with its passage")
    return found


def quality(embed: Any, data: list[dict[str, str]]) -> dict[str, float]:
    passages = np.asarray(embed([p["passage"] for p in data]), dtype=np.float64)
    questions = np.asarray(embed([p["question"] for p in data]), dtype=np.float64)
    passages /= np.linalg.norm(passages, axis=1, keepdims=True)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    scores = questions @ passages.T
    ranks = np.array([(scores[i] > scores[i, i]).sum() for i in range(len(data))])
    return {
        "top1": float((ranks == 0).mean()),
        "top3": float((ranks < 3).mean()),
        "mrr": float((1.0 / (ranks + 1)).mean()),
        "questions": len(data),
    }


def corpus(n: int, words: int, data: list[dict[str, str]], seed: int = 7) -> list[str]:
    vocabulary = sorted({w for p in data for w in WORD.findall(p["passage"] + " " + p["question"])})
    rng = random.Random(seed)
    return [" ".join(rng.choices(vocabulary, k=words)) + "." for _ in range(n)]


def speed(embed: Any, batch: int, texts: list[str], repeat: int) -> float:
    embed(texts[:batch])  # warm-up: caches, lazy initialisation
    best = float("inf")
    for _ in range(repeat):
        began = time.perf_counter()
        for start in range(0, len(texts), batch):
            embed(texts[start : start + batch])
        best = min(best, time.perf_counter() - began)
    return len(texts) / best


def provider_subjects(names: list[str] | None) -> list[tuple[str, Any, int, float]]:
    """(label, embed, batch size, seconds to open) for each provider's default model."""
    from memgpt.embeddings.installed import open_embedder
    from memgpt.embeddings.provider import EmbeddingConfig
    from memgpt.plugins import embedding_providers

    subjects = []
    for name, info in embedding_providers().items():
        provider = info.item
        if names is None and provider.default_priority < 0:
            continue  # needs a server or a key
        if names is not None and name not in names:
            continue
        model = provider.default_model
        config = EmbeddingConfig(name, model, provider.dimension(model), provider.default_endpoint or "")
        began = time.perf_counter()
        embedder = open_embedder(config)
        embedder.embed(["warm up"])
        opened = time.perf_counter() - began
        subjects.append((f"{name}:{model} ({config.dim}-d)", embedder.embed, embedder.batch_size, opened))
    return subjects


def transformer_subject(folder: Path) -> tuple[str, Any, int, float]:
    """all-MiniLM-L6-v2 itself, mean-pooled as sentence-transformers does (needs torch and transformers)."""
    began = time.perf_counter()
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModel.from_pretrained(str(folder)).eval()

    def embed(texts: list[str]) -> np.ndarray:
        encoded = tokenizer(list(texts), padding=True, truncation=True, max_length=256, return_tensors="pt")
        with torch.no_grad():
            states = model(**encoded)[0]
        mask = encoded["attention_mask"].unsqueeze(-1).float()
        return ((states * mask).sum(1) / mask.sum(1)).numpy()

    embed(["warm up"])
    return ("all-MiniLM-L6-v2, the transformer (torch, 384-d)", embed, 64, time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--providers", help="comma-separated providers (default: every installed one needing no server)")
    parser.add_argument("--transformer", type=Path, help="a folder holding all-MiniLM-L6-v2, to measure it too")
    parser.add_argument("--passages", type=int, default=20_000, help="texts embedded for speed (default 20,000)")
    parser.add_argument("--words", type=int, default=60, help="words per text (default 60, about a short passage)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS / "embeddings.md")
    args = parser.parse_args()
    data = pairs()
    subjects = provider_subjects(args.providers.split(",") if args.providers else None)
    if args.transformer:
        subjects.append(transformer_subject(args.transformer))
    texts = corpus(args.passages, args.words, data)
    rows = []
    for label, embed, batch, opened in subjects:
        count = args.passages if "transformer" not in label else min(args.passages, 2_000)
        rate = speed(embed, batch, texts[:count], args.repeat if count == args.passages else 1)
        rows.append({"subject": label, "open_s": round(opened, 3), "passages_per_s": round(rate), **quality(embed, data)})
        print(json.dumps(rows[-1]), flush=True)
    header = (
        f"Embedding providers, {time.strftime('%Y-%m-%d')}, {platform.machine()} with {os.cpu_count()} cores "
        f"(`python benchmarks/embeddings.py`): {len(data)} paraphrased questions (no word shared with their passage), "
        f"speed over {args.passages:,} texts of {args.words} words (the transformer: 2,000, one run).\n\n"
    )
    lines = [
        "| subject | top-1 | top-3 | MRR | passages/s | open (import + load) |",
        "|---|---|---|---|---|---|",
        *(
            f"| {r['subject']} | {r['top1']:.0%} | {r['top3']:.0%} | {r['mrr']:.3f} | {r['passages_per_s']:,} | {r['open_s']:.2f} s |"
            for r in rows
        ),
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(header + "\n".join(lines) + "\n")
    args.out.with_suffix(".json").write_text(json.dumps({"passages": args.passages, "words": args.words, "rows": rows}, indent=1))
    print()
    print(header + "\n".join(lines))


if __name__ == "__main__":
    main()
