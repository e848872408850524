"""The shape of the code: no import cycle, modules and functions of a readable size.

Read from the source with ``ast`` (nothing is imported), so a cycle hidden in a function-level
import counts as much as one at the top of a module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("tarsy_project", "sessions", "retention", "streaming")
SOURCE_DIRS = (*PACKAGES, "bench")
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 40
# A longer function must say in its docstring why it reads better whole.
LONG_FUNCTION_REASON = "reads better whole"


def source_files(*, skip_size_exempt: bool = False) -> Iterator[Path]:
    for top in SOURCE_DIRS:
        for path in sorted((REPO / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            if skip_size_exempt and path.name == "models.py":
                continue
            yield path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for path in source_files()
        if path.relative_to(REPO).parts[0] in PACKAGES
    }


def imported_modules(path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules that ``path`` imports, anywhere in it (function-level imports too)."""
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for name in names:
            # The longest known module the name starts with: ``a.b.c`` where ``c`` is a name.
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    found.discard(module_name(path))
    return found


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return cycles


def test_no_import_cycle() -> None:
    known = project_modules()
    graph = {name: imported_modules(path, known) for name, path in known.items()}
    assert graph["tarsy_project.settings"], "the import walk found nothing: it is broken"
    assert find_cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycles(graph) == [["a", "b", "c"]]


@pytest.mark.parametrize(
    "path", list(source_files(skip_size_exempt=True)), ids=lambda p: str(p.relative_to(REPO))
)
def test_module_size(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{lines} lines: split it by concern"


def long_functions(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    long = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = node.end_lineno - node.lineno + 1
        reason = LONG_FUNCTION_REASON in (ast.get_docstring(node) or "")
        if length > MAX_FUNCTION_LINES and not reason:
            long.append(f"{node.name} ({length} lines)")
    return long


@pytest.mark.parametrize("path", list(source_files()), ids=lambda p: str(p.relative_to(REPO)))
def test_function_size(path: Path) -> None:
    assert long_functions(path) == [], (
        f"over {MAX_FUNCTION_LINES} lines: split them, or say in the docstring why each "
        f"{LONG_FUNCTION_REASON}"
    )
