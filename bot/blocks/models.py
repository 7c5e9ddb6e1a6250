"""``/dynamote models``: catalog entries with their facts and a Deploy button, a page at a time.

With the cluster's GPU capacity known, each model also says the fewest GPUs of one node that
hold it ("fits on 2 x NVIDIA L40S", ``bot.domain.capacity.model_fit``).

One section per model (facts in the text, Deploy as its accessory) keeps a page of
:data:`PAGE_SIZE` models far below the 50-block and ~12k-character message limits, even with
500-character descriptions. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, DividerBlock

from bot.blocks.common import (
    Message,
    button,
    context,
    escape,
    header,
    page_slice,
    pager,
    section,
    truncate,
)
from bot.blocks.ids import ACTION_MODELS_PAGE, ACTION_OPEN_DEPLOY
from bot.domain.capacity import Capacity, model_fit
from bot.domain.catalog import ENGINE_LABELS, Model

__all__ = ["PAGE_SIZE", "build_models", "model_facts"]

PAGE_SIZE = 8
MAX_QUERY_IN_VALUE = 200  # keeps the paging button's JSON value far below 2000 characters


def model_facts(model: Model, capacity: Capacity | None = None, *, max_gpus: int = 8) -> str:
    """``0.6B params · 32,768 tokens · Apache-2.0 · vLLM, SGLang · 8 GiB GPU``, and with the
    cluster's ``capacity`` how it fits (at most ``max_gpus`` GPUs per worker)."""
    engines = ", ".join(ENGINE_LABELS.get(e, e) for e in model.supported_engines)
    facts = (
        f"{escape(model.parameters)} params · {model.context_length:,} tokens context · "
        f"{escape(model.license)} · {engines} · {model.min_gpu_memory} GiB GPU min"
    )
    if capacity is not None:
        facts += f" · {escape(model_fit(capacity, model.min_gpu_memory, max_gpus=max_gpus))}"
    return facts


def _model_section(model: Model, capacity: Capacity | None, max_gpus: int) -> Block:
    text = (
        f"*{escape(model.name)}*  `{escape(model.id)}`\n"
        f"{model_facts(model, capacity, max_gpus=max_gpus)}\n"
        f"{escape(truncate(model.description, 500))}"
    )
    deploy = button(":rocket: Deploy", ACTION_OPEN_DEPLOY, model.id, style="primary")
    return section(text, accessory=deploy)


def _describe_search(query: str, engine: str | None) -> str:
    parts = []
    if query.strip():
        parts.append(f"matching “{escape(truncate(query.strip(), 100))}”")
    if engine:
        parts.append(f"on {escape(ENGINE_LABELS.get(engine, engine))}")
    return " ".join(parts)


def build_models(
    models: Sequence[Model],
    *,
    query: str = "",
    engine: str | None = None,
    page: int = 0,
    command: str = "/dynamote",
    page_size: int = PAGE_SIZE,
    capacity: Capacity | None = None,
    max_gpus: int = 8,
) -> Message:
    """The catalog entries ``models`` (already searched), page ``page`` of them; with the
    cluster's ``capacity``, how each fits its GPUs (``max_gpus`` per worker at most)."""
    searched = _describe_search(query, engine)
    title = f"Models {searched}" if searched else "Model catalog"
    if not models:
        tip = (
            f"Try fewer or other words, e.g. `{escape(command)} models qwen`, or "
            f"`{escape(command)} models` for the whole catalog."
        )
        blocks: list[Block] = [section(f":mag: No models {searched or 'in the catalog'}.\n{tip}")]
        return Message(text=f"No models {searched or 'in the catalog'}", blocks=blocks)

    shown, page, pages = page_slice(models, page, min(max(page_size, 1), 20))
    blocks = [header(title)]
    for model in shown:
        blocks.append(_model_section(model, capacity, max_gpus))
        blocks.append(DividerBlock())
    short_query = truncate(query.strip(), MAX_QUERY_IN_VALUE)

    def value(target: int) -> dict[str, Any]:
        return {"query": short_query, "engine": engine, "page": target}

    noun = "model" if len(models) == 1 else "models"
    blocks.extend(
        pager(ACTION_MODELS_PAGE, page=page, pages=pages, total=len(models), noun=noun, value=value)
    )
    blocks.append(context("Deploy opens a form where you pick the name, engine and size."))
    return Message(text=f"{len(models)} {noun} {searched}".strip(), blocks=blocks)
