"""The repository's Python files as syntax trees, for tests that check how the code is built."""

from __future__ import annotations

import ast
from pathlib import Path


def parse(path: Path) -> ast.Module:
    """``ast.parse`` of the file, once more after CPython 3.11's spurious SystemError ("AST
    constructor recursion depth mismatch", python/cpython#106905): a parse that fails in another
    thread of the process, as 3.11's traceback module does while placing its carets under a
    logged exception, upsets the depth count of a parse running here at that moment."""
    text = path.read_text(encoding="utf-8")
    try:
        return ast.parse(text, filename=str(path))
    except SystemError:
        return ast.parse(text, filename=str(path))
