"""The fix-it blocks: the trouble reply leads with the cause, quotes its line and carries the
three buttons; Full log and the refused view with "Back to the form" stay within Block Kit's
limits whatever the logs and the form hold; a stored request fills the form as typed."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.blocks.deploy_form import DeployForm, ModalMetadata
from bot.blocks.deploy_result import build_deploy_failed_view, typed_form
from bot.blocks.fixit import form_from_request
from bot.blocks.fullog import MAX_CONTAINERS, ContainerLog, build_full_log_view
from bot.blocks.ids import (
    ACTION_BACK_TO_FORM,
    ACTION_DELETE_DEPLOYMENT,
    ACTION_FULL_LOG,
    ACTION_REDEPLOY,
)
from bot.blocks.notifications import build_trouble_reply
from tests.blocks.conftest import fits_message, fits_view, make_deployment
from tests.stacks import text_of

OOM = (
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total "
    "capacity of 23.55 GiB of which 1.12 GiB is free."
)


def actions(payload: dict[str, object]) -> list[str]:
    return [e["action_id"] for b in payload["blocks"] if b["type"] == "actions"  # type: ignore[index,union-attr]
            for e in b["elements"]]  # type: ignore[index]  # fmt: skip


def test_the_trouble_reply_leads_with_the_cause_quotes_the_line_and_has_the_buttons() -> None:
    failed = make_deployment("qwen", phase="Failed", reason="crash looping: 4 restarts")
    failed = replace(failed, request={"model": "Qwen/Qwen3-0.6B", "gpus": 1})
    tail = "INFO loading\n" + OOM + "\nHF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz012345\n"
    payload = fits_message(build_trouble_reply(failed, fix="x", log_tail=tail, log_source="w-0"))
    first = text_of(payload["blocks"][0])
    assert "failed: *out of GPU memory" in first
    text = text_of(payload)
    assert "torch.OutOfMemoryError" in text and "hf_abcdefghij" not in text
    assert "redeploy with 2 GPUs per worker instead of 1" in text
    assert "crash looping: 4 restarts" in text  # Kubernetes' words stay, in the footer
    assert actions(payload) == [ACTION_REDEPLOY, ACTION_FULL_LOG, ACTION_DELETE_DEPLOYMENT]
    assert payload["text"].startswith("qwen failed: out of GPU memory")


def test_full_log_stays_within_limits_with_many_long_logs() -> None:
    noisy = "\n".join(f"line {n} <&> " + "y" * 400 for n in range(500))
    logs = [ContainerLog(f"qwen-worker-{i}", "main", noisy, "CrashLoopBackOff")
            for i in range(MAX_CONTAINERS + 5)]  # fmt: skip
    view = fits_view(build_full_log_view("qwen", logs))
    text = text_of(view)
    assert "line 499" in text and "line 0 " not in text  # the last lines
    assert "… and 5 more containers." in text
    empty = fits_view(build_full_log_view("qwen", [ContainerLog("qwen-worker-0", "main", None)]))
    assert "has not run" in text_of(empty)


def test_a_stored_request_fills_the_form_as_typed() -> None:
    stored = {
        "model": "Qwen/Qwen3-0.6B", "name": "qwen", "namespace": "team-a", "engine": "vllm",
        "gpus": 2, "replicas": 1, "contextLength": 4096, "enablePrefixCaching": False,
        "engineArgs": {"max-num-seqs": 64, "enforce": True},
    }  # fmt: skip
    form = form_from_request(stored)
    assert (form.model, form.name, form.gpus, form.context_length) == (
        "Qwen/Qwen3-0.6B", "qwen", "2", "4096")  # fmt: skip
    assert form.enable_prefix_caching is False
    assert form.engine_args.splitlines() == ["max-num-seqs=64", "enforce"]


def test_the_refused_view_carries_the_form_back_or_says_to_reopen_when_it_cannot() -> None:
    metadata = ModalMetadata("U0ALICE", "C0ML", revision=2)
    form = DeployForm(model="Qwen/Qwen3-0.6B", name="qwen-typed", namespace="team-a",
                      engine="vllm", memory="40Gi")  # fmt: skip
    view = fits_view(build_deploy_failed_view("qwen-typed", "team-a", problems=["503"],
                                              metadata=metadata, form=form))  # fmt: skip
    assert ACTION_BACK_TO_FORM in json.dumps(view["blocks"])
    carried = typed_form(view["private_metadata"])
    assert carried is not None and carried == (form, metadata)
    assert ModalMetadata.from_json(view["private_metadata"]) == metadata  # the guard reads it
    huge = replace(form, engine_args="x=" + "y" * 3000)
    too_big = fits_view(build_deploy_failed_view("q", "team-a", problems=["503"],
                                                 metadata=metadata, form=huge))  # fmt: skip
    assert ACTION_BACK_TO_FORM not in json.dumps(too_big["blocks"])
    assert "/dynamote deploy" in text_of(too_big)
