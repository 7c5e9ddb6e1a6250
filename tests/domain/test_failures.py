"""The failure classifier: each class from the lines the engines and libraries really print
(sources in ``bot.domain.failures``' docstring), the one line quoted, redacted, and the change."""

from __future__ import annotations

from bot.domain.failures import apply_change, diagnose
from bot.domain.status import DeploymentStatus


def status(reason: str, phase: str = "Failed") -> DeploymentStatus:
    return DeploymentStatus(
        name="qwen", namespace="team-a", phase=phase, reason=reason,  # type: ignore[arg-type]
        replicas_desired=1, replicas_ready=0, replicas_available=0, conditions=(), pods=(),
        created_at=None, frontend_service=None, gpus=1,
    )  # fmt: skip


CRASH = status("crash looping: 3 restarts (last exit: Error)")

# Shaped as PyTorch >= 2.4 prints it (pytorch/pytorch#16417, lllyasviel/FramePack#369).
OOM_LOG = """\
INFO 12-06 20:01:02 [model_runner.py:1110] Loading model weights took 14.9 GiB
Traceback (most recent call last):
  File "/opt/dynamo/venv/lib/python3.12/site-packages/torch/nn/modules/module.py", line 1355
torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total \
capacity of 23.55 GiB of which 1.12 GiB is free. Of the allocated memory 21.9 GiB is allocated \
by PyTorch
"""

# vLLM's check (vllm-project/vllm#2418).
KV_LOG = (
    "ValueError: The model's max seq len (32768) is larger than the maximum number of tokens "
    "that can be stored in KV cache (7344). Try increasing `gpu_memory_utilization` or "
    "decreasing `max_model_len` when initializing the engine.\n"
)

# huggingface_hub (ToTheBeginning/PuLID#97), the token in the URL's query as a worker may log.
GATED_LOG = """\
huggingface_hub.errors.GatedRepoError: 401 Client Error. (Request ID: Root=1-66f4b037-1bf3d7d2)

Cannot access gated repo for url https://huggingface.co/meta-llama/Llama-3.1-8B/resolve/main/config.json.
Access to model meta-llama/Llama-3.1-8B is restricted. You must have access to it and be \
authenticated to access it. Please log in. HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz012345
"""


def test_out_of_memory_names_the_cause_quotes_the_line_and_doubles_the_gpus() -> None:
    found = diagnose(CRASH, OOM_LOG, {"model": "Qwen/Qwen3-8B", "gpus": 1})
    assert found is not None and found.kind == "oom"
    assert found.cause.startswith("out of GPU memory")
    assert found.line is not None and found.line.startswith("torch.OutOfMemoryError")
    assert found.change == {"gpus": 2}
    assert apply_change({"model": "Qwen/Qwen3-8B", "gpus": 1}, found)["gpus"] == 2
    twice = diagnose(CRASH, OOM_LOG, {"gpus": 2})
    assert twice is not None and twice.change == {"gpus": 4}


def test_a_kv_cache_error_suggests_a_context_that_fits() -> None:
    found = diagnose(CRASH, KV_LOG, {"contextLength": 32768})
    assert found is not None and found.kind == "kv_cache"
    assert found.change == {"contextLength": 7168}  # 7344 rounded down to a multiple of 1024
    halves = diagnose(CRASH, "No available memory for the cache blocks.", {"contextLength": 8192})
    assert halves is not None and halves.change == {"contextLength": 4096}


def test_a_gated_model_quotes_the_hub_and_redacts_the_token() -> None:
    found = diagnose(CRASH, GATED_LOG, {"model": "meta-llama/Llama-3.1-8B"})
    assert found is not None and found.kind == "gated" and found.change == {}
    assert found.line is not None and "is restricted" in found.line
    assert "hf_abcdefghij" not in found.line


def test_a_refused_token_and_a_missing_model() -> None:
    bad = diagnose(CRASH, '{"error":"Invalid credentials in Authorization header"}\n')
    assert bad is not None and bad.kind == "bad_token"
    missing = diagnose(CRASH, "huggingface_hub.errors.RepositoryNotFoundError: 401 Client Error.")
    assert missing is not None and missing.kind == "missing_model"


def test_status_classes_without_a_log() -> None:
    image = diagnose(status("image pull failed: registry.example.invalid/vllm:1.4.0"), None)
    assert image is not None and image.kind == "image" and "example.invalid" in str(image.line)
    secret = diagnose(status("secret hf-token-secret not found"), None)
    assert secret is not None and secret.kind == "secret"
    gpus = diagnose(status("waiting for GPUs: 0/2 nodes have nvidia.com/gpu free", "Pending"), "")
    assert gpus is not None and gpus.cause == "no node has enough free GPUs"


def test_a_crash_quotes_its_last_error_line_and_nothing_is_claimed_without_evidence() -> None:
    found = diagnose(CRASH, "starting\nRuntimeError: engine core failed\nbye\n")
    assert found is not None and found.kind == "crash"
    assert found.line == "RuntimeError: engine core failed" and found.change == {}
    assert diagnose(status("the operator reports the deployment failed"), None) is None
