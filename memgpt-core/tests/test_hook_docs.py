"""Every hook is documented and tested (as datasette does it): these fail when one is not."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from memgpt import hookspecs

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs" / "plugin_hooks.md"


def hook_names() -> list[str]:
    return [
        name
        for name, func in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(func, f"{hookspecs.PROJECT_NAME}_spec")
    ]


def test_there_are_hooks() -> None:
    assert "register_backends" in hook_names()


@pytest.mark.parametrize("hook", hook_names())
def test_hook_is_documented(hook: str) -> None:
    headings = re.findall(r"^## (\w+)\(", DOCS.read_text(), flags=re.MULTILINE)
    assert hook in headings, f"docs/plugin_hooks.md has no '## {hook}(...)' heading"
    func = getattr(hookspecs, hook)
    assert func.__doc__, f"hookspec {hook} has no docstring"
    signature = ", ".join(inspect.signature(func).parameters)
    assert f"## {hook}({signature})" in DOCS.read_text()


@pytest.mark.parametrize("hook", hook_names())
def test_hook_has_a_test(hook: str) -> None:
    sources = "\n".join(p.read_text() for p in HERE.glob("test_*.py"))
    assert f"def test_hook_{hook}(" in sources, f"no test_hook_{hook} test"
