"""The curated model catalog: load and validate ``models.json``, search it, look models up.

The file ships in ``catalog/models.json``; a platform team replaces it with
``DYNAMOTE_CATALOG=path``. A broken file fails at load with the entry's index, the field and
the reason, so a typo never turns into a half-working bot.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "ENGINES",
    "Catalog",
    "CatalogError",
    "Engine",
    "LookupResult",
    "Model",
    "default_catalog_path",
    "load_catalog",
]

Engine = Literal["vllm", "sglang", "trtllm"]
ENGINES: tuple[Engine, ...] = ("vllm", "sglang", "trtllm")
ENGINE_LABELS: dict[str, str] = {"vllm": "vLLM", "sglang": "SGLang", "trtllm": "TensorRT-LLM"}

_HF_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$"


class CatalogError(ValueError):
    """The catalog file is missing, not JSON, or an entry breaks a rule."""


class Model(BaseModel):
    """One catalog entry; field names in the file are camelCase."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str = Field(pattern=_HF_ID, max_length=150, description="Hugging Face model id")
    name: str = Field(min_length=1, max_length=60)
    description: str = Field(min_length=1, max_length=500)
    size: str = Field(min_length=1, max_length=30)
    # Ephemeral storage per worker (a Kubernetes quantity); unset, it is sized from the
    # weights (bot.domain.manifest.worker_ephemeral_storage).
    ephemeral_storage: str | None = Field(
        None,
        alias="ephemeralStorage",
        pattern=r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$",
    )
    task: str = Field(min_length=1, max_length=40)
    parameters: str = Field(pattern=r"^\d+(\.\d+)?[MB]$")
    context_length: int = Field(alias="contextLength", ge=1, le=10_000_000)
    license: str = Field(min_length=1, max_length=80)
    # Whether deployers may tick "Trust remote code" (the model's own Python code runs in
    # a pod that holds the HF token); admins may for any model.
    trust_remote_code: bool = Field(False, alias="trustRemoteCode", strict=True)
    supported_engines: tuple[Engine, ...] = Field(alias="supportedEngines", min_length=1)
    min_gpu_memory: int = Field(alias="minGpuMemory", ge=1, le=4096, description="GiB")

    @field_validator("supported_engines")
    @classmethod
    def _no_repeated_engines(cls, value: tuple[Engine, ...]) -> tuple[Engine, ...]:
        if len(set(value)) != len(value):
            raise ValueError("an engine is listed twice")
        return value

    @property
    def search_text(self) -> str:
        return f"{self.id} {self.name} {self.description}".lower()


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    models: list[Model] = Field(min_length=1)


@dataclass(frozen=True)
class LookupResult:
    """What a free-text model lookup found: one model, or why not and the candidates."""

    model: Model | None
    candidates: tuple[Model, ...] = ()

    @property
    def ambiguous(self) -> bool:
        return self.model is None and len(self.candidates) > 1


class Catalog:
    """An ordered, validated set of models with unique ids."""

    def __init__(self, models: Sequence[Model]) -> None:
        self._models = tuple(models)
        self._by_id = {m.id.lower(): m for m in self._models}

    def __iter__(self) -> Iterator[Model]:
        return iter(self._models)

    def __len__(self) -> int:
        return len(self._models)

    @property
    def models(self) -> tuple[Model, ...]:
        return self._models

    def get(self, model_id: str) -> Model | None:
        """The model with exactly this Hugging Face id (case-insensitive), or None."""
        return self._by_id.get(model_id.strip().lower())

    def search(self, words: str | Sequence[str] = "", engine: str | None = None) -> list[Model]:
        """Models whose id, name or description contain every word, in catalog order."""
        terms = _terms(words)
        return [
            m
            for m in self._models
            if (engine is None or engine in m.supported_engines)
            and all(term in m.search_text for term in terms)
        ]

    def lookup(self, words: str | Sequence[str]) -> LookupResult:
        """An exact id, else the single model matching all words; otherwise the candidates."""
        text = words if isinstance(words, str) else " ".join(words)
        exact = self.get(text)
        if exact is not None:
            return LookupResult(exact, (exact,))
        found = self.search(text) if text.strip() else []
        return LookupResult(found[0] if len(found) == 1 else None, tuple(found))


def _terms(words: str | Sequence[str]) -> list[str]:
    parts = words.split() if isinstance(words, str) else [w for p in words for w in p.split()]
    return [p.lower() for p in parts]


def default_catalog_path() -> Path:
    """The catalog shipped with the package (wheel) or beside it (source checkout)."""
    packaged = Path(__file__).resolve().parents[1] / "data" / "models.json"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "catalog" / "models.json"


def parse_catalog(raw: object, *, source: str = "catalog") -> Catalog:
    """Validate already-decoded JSON; errors name the entry index, field and reason."""
    try:
        parsed = _CatalogFile.model_validate(raw)
    except ValidationError as exc:
        raise CatalogError(_describe(exc, raw, source)) from None
    seen: dict[str, int] = {}
    for index, model in enumerate(parsed.models):
        key = model.id.lower()
        if key in seen:
            raise CatalogError(
                f"{source}: models[{index}].id: duplicate id {model.id!r} "
                f"(already used by models[{seen[key]}]); ids must be unique"
            )
        seen[key] = index
    return Catalog(parsed.models)


def _describe(exc: ValidationError, raw: object, source: str) -> str:
    lines = []
    for error in exc.errors():
        loc = list(error["loc"])
        where = "models" if not loc else str(loc[0])
        if len(loc) >= 2 and loc[0] == "models" and isinstance(loc[1], int):
            where = f"models[{loc[1]}]"
            entry = raw["models"][loc[1]] if isinstance(raw, dict) else None
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                where += f" ({entry['id']})"
            if len(loc) > 2:
                where += "." + ".".join(str(part) for part in loc[2:])
        lines.append(f"{source}: {where}: {error['msg']}")
    return "\n".join(lines)


def load_catalog(path: Path | str | None = None) -> Catalog:
    """Load the catalog from ``path`` (the settings' ``catalog``), else the shipped file;
    cached."""
    path = path or default_catalog_path()
    return _load_cached(str(Path(path).expanduser().resolve()))


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Catalog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(f"cannot read the catalog {path}: {exc.strerror or exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogError(
            f"{path}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    return parse_catalog(raw, source=path)
