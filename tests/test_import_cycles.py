"""No module of bot/ imports one that imports it back, counting imports inside functions and
under TYPE_CHECKING: each such cycle hides an order of initialisation that breaks when someone
moves an import."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.python_source import parse

BOT = Path(__file__).resolve().parents[1] / "bot"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(BOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(tree: ast.AST) -> Iterator[str]:
    """Every dotted name an import statement anywhere in ``tree`` may load."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the modules of bot/ it imports, with the packages a submodule import runs."""
    files = {module_name(path): path for path in BOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        edges: set[str] = set()
        for imported in imported_names(parse(path)):
            parts = imported.split(".")
            for end in range(1, len(parts) + 1):  # importing a.b.c runs a and a.b first
                target = ".".join(parts[:end])
                if target in files and target != name and not name.startswith(f"{target}."):
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_bot_imports_one_that_imports_it_back() -> None:
    assert cycles(import_graph()) == []


def test_the_check_finds_a_cycle_through_an_import_inside_a_function() -> None:
    graph = {"bot.a": {"bot.b"}, "bot.b": set(), "bot.c": set()}
    tree = ast.parse("def late():\n    from bot.a import thing\n")
    graph["bot.b"] = {name for name in imported_names(tree) if name in graph}

    assert cycles(graph) == [["bot.a", "bot.b"]]
