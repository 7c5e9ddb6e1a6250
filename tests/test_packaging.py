"""The package ships only what the product runs: its runtime dependencies in pyproject.toml are
exactly the distributions ``bot/`` imports, and no module of ``bot/`` imports a development
dependency or anything under ``tests/``.

Imports are read from the source (every ``import`` and ``from`` statement, those inside
functions too), so an import that only runs on one code path counts. ``.ci/check_wheel.py``
checks the built wheel the same way in a virtualenv holding only the runtime dependencies.
"""

from __future__ import annotations

import ast
import functools
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.python_source import parse

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "bot"


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, object] = tomllib.load(file)["project"]
    return project


def _requirements(specs: object) -> set[str]:
    """The distribution names of PEP 508 requirement strings (the name leads each one)."""
    assert isinstance(specs, list)
    names = {_normalized(re.split(r"[\s<>=!~;\[(]", spec, maxsplit=1)[0]) for spec in specs}
    assert "" not in names, specs
    return names


def _imports(path: Path) -> Iterator[str]:
    """The top-level names `path` imports (absolute imports only; relative ones are ours)."""
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module.split(".")[0]


def _imported_by_package() -> dict[str, set[str]]:
    """Each top-level name imported anywhere in bot/, with the files that import it."""
    found: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for name in _imports(path):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def _third_party(imported: dict[str, set[str]]) -> dict[str, set[str]]:
    return {
        name: files
        for name, files in imported.items()
        if name not in sys.stdlib_module_names and name != "bot"
    }


@functools.cache
def _installed() -> Mapping[str, list[str]]:
    return packages_distributions()  # reads every installed distribution's metadata: once


def _distributions(module: str) -> set[str]:
    return {_normalized(dist) for dist in _installed().get(module, [])}


def test_the_runtime_dependencies_are_exactly_the_distributions_the_package_imports() -> None:
    imported = _third_party(_imported_by_package())
    unknown = sorted(name for name in imported if not _distributions(name))
    assert not unknown, f"imported by bot/ but installed by no distribution: {unknown}"
    needed = {dist for name in imported for dist in _distributions(name)}
    declared = _requirements(_project()["dependencies"])

    assert not needed - declared, {
        dist: sorted(files)
        for name, files in imported.items()
        for dist in _distributions(name) - declared
    }
    assert not declared - needed, f"declared but imported nowhere in bot/: {declared - needed}"


def test_no_module_of_the_package_imports_a_dev_dependency_or_the_tests() -> None:
    optional = _project()["optional-dependencies"]
    assert isinstance(optional, dict)
    dev_only = _requirements(optional["dev"]) - _requirements(_project()["dependencies"])
    assert {"pytest", "hypothesis", "websockets"} <= dev_only

    offending = {
        name: sorted(files)
        for name, files in _imported_by_package().items()
        if name == "tests" or _distributions(name) & dev_only
    }

    assert not offending, f"bot/ imports dev-only packages or tests: {offending}"


def test_the_imports_are_read_from_function_bodies_too(tmp_path: Path) -> None:
    # The check must see an import that runs only on one path, as a stand-in's start() does.
    source = tmp_path / "lazy.py"
    source.write_text("def start():\n    from websockets.sync import server\n    return server\n")

    assert list(_imports(source)) == ["websockets"]
