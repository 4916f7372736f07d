"""One version for every distribution of the repository, kept in ``VERSION``.

    python packages/versioning.py          # write VERSION into every pyproject.toml and memgpt/_version.py
    python packages/versioning.py --check  # fail (exit 1) when any of them differs; run by `nox -s lint`

Each ``pyproject.toml`` carries the version as ``version = "X"`` and pins the
repository's own distributions with ``==X`` (``memgpt-core==X``,
``memgpt-backend-*==X``), so an install can never mix releases. The
umbrella's extras are written from the list of first-party distributions
(``memgpt-core/src/memgpt/distributions.py``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = r"(memgpt-core|memgpt-backend-[a-z0-9-]+|memgpt-embeddings-[a-z0-9-]+|pymemgpt)"


def files() -> list[Path]:
    found = sorted(ROOT.glob("memgpt-*/pyproject.toml")) + sorted(ROOT.glob("packages/**/pyproject.toml"))
    return [p for p in found if ".nox" not in p.parts]


def rewrite(text: str, version: str, is_version_module: bool = False) -> str:
    if is_version_module:
        return re.sub(r'__version__ = "[^"]*"', f'__version__ = "{version}"', text)
    text = re.sub(r'(?m)^version = "[^"]*"', f'version = "{version}"', text)
    # pins of our own distributions, with or without extras: "memgpt-core[testing]==0.4.0", "memgpt-core>=0.4.0"
    return re.sub(rf'"{OWN}(\[[^\]]*\])?(==|>=)[^";]*"', lambda m: f'"{m[1]}{m[2] or ""}=={version}"', text)


UMBRELLA = ROOT / "packages" / "pymemgpt" / "pyproject.toml"
EXTRAS = re.compile(r"(?ms)^\[project\.optional-dependencies\]\n.*?(?=^\[)")


def load_distributions():  # type: ignore[no-untyped-def]
    """memgpt/distributions.py, loaded by path (it needs only the standard library)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("memgpt_distributions", ROOT / "memgpt-core/src/memgpt/distributions.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def extras_section(version: str) -> str:
    """The umbrella's ``[project.optional-dependencies]``, from the list of first-party distributions."""
    lines = ["[project.optional-dependencies]"]
    for extra, requirements in load_distributions().umbrella_extras(version).items():
        if len(requirements) == 1:
            lines.append(f'{extra} = ["{requirements[0]}"]')
        else:
            lines += [f"{extra} = [", *(f'    "{r}",' for r in requirements), "]"]
    return "\n".join(lines) + "\n\n"


def main(argv: list[str]) -> int:
    version = (ROOT / "VERSION").read_text().strip()
    targets = [(p, False) for p in files()] + [(ROOT / "memgpt-core/src/memgpt/_version.py", True)]
    stale = []
    for path, is_module in targets:
        text = path.read_text()
        new = rewrite(text, version, is_module)
        if path == UMBRELLA:
            new = EXTRAS.sub(lambda _: extras_section(version), new, count=1)
        if new != text:
            stale.append(path.relative_to(ROOT))
            if "--check" not in argv:
                path.write_text(new)
    if "--check" in argv and stale:
        print(f"these files do not carry version {version} (run python packages/versioning.py): {', '.join(map(str, stale))}")
        return 1
    if stale:
        print(f"wrote version {version} into: {', '.join(map(str, stale))}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
