"""The public plugin API: one module, every name documented, nothing heavy to import, no import cycles."""

from __future__ import annotations

import ast
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

import memgpt.plugin

HERE = Path(__file__).parent
SRC = HERE.parent / "src" / "memgpt"
REFERENCE = HERE.parent / "docs" / "plugin_api.md"


@pytest.mark.parametrize("name", memgpt.plugin.__all__)
def test_every_public_name_resolves_and_is_in_the_reference(name: str) -> None:
    value = getattr(memgpt.plugin, name)
    documented = re.findall(r"`([A-Za-z_][A-Za-z0-9_]*)`", REFERENCE.read_text())
    assert name in documented, f"docs/plugin_api.md does not name {name!r}"
    if inspect.isclass(value) or inspect.isfunction(value):
        assert inspect.getdoc(value), f"{name} has no docstring"


def test_the_reference_names_nothing_that_is_not_public() -> None:
    """Every code name in a table's first column of plugin_api.md is importable from memgpt.plugin."""
    first_columns = re.findall(r"^\| ((?:`[A-Za-z_0-9]+`(?:, )?)+) \|", REFERENCE.read_text(), flags=re.MULTILINE)
    named = {n for cell in first_columns for n in re.findall(r"`([A-Za-z_0-9]+)`", cell)}
    tables = {"archival", "source_passages", "recall", "sources", "agents"}
    assert named - tables <= set(memgpt.plugin.__all__), sorted(named - tables - set(memgpt.plugin.__all__))


def test_the_type_checking_imports_match_the_exports() -> None:
    """What editors and type checkers see is what the module gives at run time."""
    tree = ast.parse((SRC / "plugin.py").read_text())
    guarded = next(node for node in tree.body if isinstance(node, ast.If))
    seen = {alias.name: node.module for node in ast.walk(guarded) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert seen == memgpt.plugin._EXPORTS


def test_importing_the_plugin_api_is_cheap() -> None:
    """A registration module imports what it declares from memgpt.plugin: that must not load numpy or a client."""
    code = (
        "import sys; from memgpt.plugin import Backend, Question, RecordKind, EmbeddingProvider, Reader, hookimpl, ConfigError;"
        "print(sorted(m for m in ('numpy', 'pyarrow', 'click') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def _module_graph() -> dict[str, set[str]]:
    """memgpt's modules and the memgpt modules each imports at run time (module level or inside functions; not TYPE_CHECKING)."""
    modules = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def imports(path: Path) -> set[str]:
        found: set[str] = set()

        def visit(node: ast.AST) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.ImportFrom) and child.module and child.module.startswith("memgpt"):
                    for alias in child.names:
                        full = f"{child.module}.{alias.name}"
                        found.add(full if full in modules else child.module)
                elif isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names if alias.name.startswith("memgpt"))
                visit(child)

        visit(ast.parse(path.read_text()))
        return {name for name in found if name in modules}

    return {name: imports(path) for name, path in modules.items()}


def test_no_import_cycles() -> None:
    """No module of memgpt imports, even lazily inside a function, one that imports it back."""
    graph = _module_graph()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for following in graph[node]:
                if following == start:
                    cycles.append(" -> ".join([*path, start]))
                elif following not in path and following > start:
                    stack.append((following, [*path, following]))
    assert not cycles, cycles


TEMPLATES = HERE.parents[1] / "packages"


@pytest.mark.parametrize("template", ["backend-template/memgpt-backend-example", "provider-template/memgpt-embeddings-example"])
def test_the_templates_use_only_the_public_module(template: str) -> None:
    """What a third party copies imports memgpt only through memgpt.plugin (tests may use memgpt.testing)."""
    sources = sorted((TEMPLATES / template / "src").rglob("*.py"))
    assert sources
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            modules += [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            for module in modules:
                if module == "memgpt" or module.startswith("memgpt."):
                    assert module == "memgpt.plugin", f"{path.relative_to(TEMPLATES)} imports {module}"
