"""Where the repository's own files are, for tests that read them."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
MANIFESTS = PROJECT / "manifests"
