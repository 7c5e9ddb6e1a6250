"""The deploy modal's engine-args hint lists what the settings allow, per engine."""

from __future__ import annotations

from typing import Any

from bot.blocks.deploy_form import ModalMetadata, initial_form
from bot.blocks.deploy_modal import build_deploy_modal
from bot.blocks.ids import BLOCK_ENGINE_ARGS, base_block_id
from bot.config.settings import load_settings
from bot.domain.catalog import Catalog
from bot.domain.privileges import privileges_of
from bot.domain.request import RequestLimits
from tests.blocks.conftest import fits_view


def _hint(catalog: Catalog, **settings: Any) -> str:
    allowed = privileges_of(load_settings(**settings), admin=False).engine_args.allowed
    form = initial_form(
        catalog, catalog.models[0], namespace="dynamo-system", hf_secret="hf-token-secret"
    )
    view = fits_view(
        build_deploy_modal(
            catalog,
            form,
            namespaces=("dynamo-system",),
            limits=RequestLimits(),
            metadata=ModalMetadata("U1", "C1", 0, advanced=True),
            engine_args_allowed=allowed,
        )
    )
    (block,) = [
        b for b in view["blocks"] if base_block_id(str(b.get("block_id"))) == BLOCK_ENGINE_ARGS
    ]
    return str(block["hint"]["text"])


def test_the_hint_lists_the_shipped_flags_per_engine(catalog: Catalog) -> None:
    hint = _hint(catalog)
    assert "vLLM: max-num-seqs, max-num-batched-tokens, gpu-memory-utilization" in hint
    assert "SGLang: mem-fraction-static" in hint
    assert "TensorRT-LLM: max-batch-size, max-num-tokens" in hint


def test_the_hint_follows_the_setting_and_says_when_nothing_is_allowed(catalog: Catalog) -> None:
    assert _hint(catalog, engine_args="sglang:dtype").endswith("Allowed: SGLang: dtype.")
    assert _hint(catalog, engine_args="").endswith("Allowed: none.")
