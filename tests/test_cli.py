"""The command-line contract: YAML on stdout; bad input -> one message on stderr, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config.settings import SettingsError, get_settings, load_settings

pytestmark = pytest.mark.runs_long  # the CLI as processes


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )


@pytest.fixture(autouse=True)
def _fresh_settings() -> None:
    get_settings.cache_clear()


def test_catalog_prints_every_model_as_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog"]) == 0
    models = yaml.safe_load(capsys.readouterr().out)
    assert len(models) == 8
    assert set(models[0]) >= {"id", "contextLength", "supportedEngines", "minGpuMemory"}
    assert "ephemeralStorage" not in models[0]  # optional fields left unset are not printed


def test_catalog_filters_by_words_and_engine_and_prints_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["catalog", "llama", "--engine", "trtllm", "--json"]) == 0
    ids = [m["id"] for m in json.loads(capsys.readouterr().out)]
    assert ids == [
        "deepseek-ai/DeepSeek-R1-Distill-Llama-8B",
        "meta-llama/Llama-3.2-1B-Instruct",
        "meta-llama/Llama-3.2-3B-Instruct",
    ]


def test_render_prints_one_yaml_document_with_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["render", "Qwen/Qwen3-0.6B"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert len(documents) == 1
    dgd = documents[0]
    assert dgd["apiVersion"] == "nvidia.com/v1beta1"
    assert dgd["metadata"]["name"] == "qwen3-0-6b"
    assert dgd["metadata"]["namespace"] == "dynamo-system"
    assert [c["name"] for c in dgd["spec"]["components"]] == ["Frontend", "VllmDecodeWorker"]


def test_render_takes_every_contract_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "render", "Qwen/Qwen3-0.6B", "--name", "q", "--namespace", "ml", "--engine", "sglang",
            "--mode", "disaggregated", "--replicas", "2", "--router", "round-robin",
            "--gpus", "2",
            "--context-length", "8192", "--hf-secret", "hf-tok", "--served-model-name", "q3",
            "--enforce-eager", "--no-prefix-caching", "--trust-remote-code",
            "--api-version", "nvidia.com/v1alpha1",
        ]
    )  # fmt: skip
    assert code == 0
    dgd = yaml.safe_load(capsys.readouterr().out)
    assert dgd["apiVersion"] == "nvidia.com/v1alpha1"
    prefill = dgd["spec"]["services"]["prefill"]
    assert prefill["replicas"] == 2 and prefill["envFromSecret"] == "hf-tok"
    args = prefill["extraPodSpec"]["mainContainer"]["args"]
    for flag in ("--disable-cuda-graph", "--disable-radix-cache", "--trust-remote-code"):
        assert flag in args
    assert args[args.index("--served-model-name") + 1] == "q3"
    assert args[args.index("--tp") + 1] == "2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["render", "qwen3"], "unknown model 'qwen3'; did you mean Qwen/Qwen3-0.6B?"),
        (["render", "Qwen/Qwen3-0.6B", "--name", "Bad_Name"], "--name: use lowercase"),
        (["render", "Qwen/Qwen3-0.6B", "--replicas", "0"], "--replicas: must be between 1 and 8"),
        (
            ["render", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "--engine", "trtllm"],
            "--engine: TinyLlama 1.1B Chat runs on vLLM or SGLang",
        ),
        (["render", "Qwen/Qwen3-0.6B", "--context-length", "999999"], "--context-length:"),
        (["render", "Qwen/Qwen3-0.6B", "--engine-arg", "model=x"], "--engine-arg: model is set"),
        (
            ["render", "Qwen/Qwen3-0.6B", "--router", "kv", "--no-prefix-caching"],
            "--prefix-caching: the KV router routes by the KV-cache events",
        ),
        (
            ["render", "Qwen/Qwen3-0.6B", "--mode", "disaggregated", "--name", "a" * 37],
            "--name: is 37 characters; at most 36 fit for vLLM disaggregated",
        ),
        (
            ["render", "Qwen/Qwen3-0.6B", "--namespace", "n" * 40, "--name", "a" * 23],
            "at most 22 fit",
        ),
    ],
)
def test_invalid_render_input_exits_2_with_a_message_and_no_yaml(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert message in captured.err
    assert "Traceback" not in captured.err


def test_a_bad_setting_exits_2_naming_the_variable() -> None:
    env = dict(os.environ, DYNAMOTE_MAX_REPLICAS="lots")
    result = _run("render", "Qwen/Qwen3-0.6B", env=env)
    assert result.returncode == 2
    assert "DYNAMOTE_MAX_REPLICAS" in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_argparse_errors_also_exit_2_without_traceback() -> None:
    result = _run("render", "Qwen/Qwen3-0.6B", "--mode", "sideways")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr and "Traceback" not in result.stderr


def test_help_does_not_import_the_slack_or_kubernetes_clients() -> None:
    code = (
        "import sys; from bot.cli import main\n"
        "try:\n    main(['render', 'Qwen/Qwen3-0.6B'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('kubernetes', 'slack_bolt', 'slack_sdk') if m in sys.modules]\n"
        "print(heavy, file=sys.stderr)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.stderr.strip().endswith("[]"), result.stderr


# --- startup: render and catalog read the settings without pydantic-settings ----------------

_MODULES_AFTER = (
    "import json, sys\nfrom bot.cli import main\ncode = main(sys.argv[1:])\n"
    "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {mods!r})),"
    " file=sys.stderr)\nsys.exit(code)\n"
)
_NOT_ON_THE_RENDER_PATH = (
    "pydantic_settings",
    "bot.config.settings",
    "asyncio",
    "kubernetes",
    "slack_bolt",
    "slack_sdk",
    "jsonschema",
    "prometheus_client",
    "apscheduler",
    "waitress",
)


@pytest.mark.parametrize("args", [["render", "Qwen/Qwen3-0.6B"], ["catalog", "qwen"]])
def test_render_and_catalog_do_not_import_pydantic_settings_or_the_clients(
    args: list[str],
) -> None:
    modules = {m.split(".")[0] for m in _NOT_ON_THE_RENDER_PATH}
    result = subprocess.run(
        [sys.executable, "-c", _MODULES_AFTER.format(mods=modules), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(result.stdout)
    loaded = set(json.loads(result.stderr.strip().splitlines()[-1]))
    assert not loaded & set(_NOT_ON_THE_RENDER_PATH), loaded


def test_render_reads_every_setting_it_uses_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DYNAMOTE_DEFAULT_NAMESPACE", "ml")
    monkeypatch.setenv("DYNAMOTE_HF_SECRET", "hf-tok")
    monkeypatch.setenv("DYNAMOTE_API_VERSION", "nvidia.com/v1alpha1")
    monkeypatch.setenv("DYNAMOTE_IMAGE_REGISTRY", "registry.local/dynamo")
    monkeypatch.setenv("DYNAMOTE_DYNAMO_VERSION", "0.7.1")
    monkeypatch.setenv("DYNAMOTE_EPHEMERAL_STORAGE", "9Gi")
    monkeypatch.setenv("DYNAMOTE_MAX_REPLICAS", "2")
    assert main(["render", "Qwen/Qwen3-0.6B", "--router", "kv"]) == 0
    dgd = yaml.safe_load(capsys.readouterr().out)
    assert dgd["apiVersion"] == "nvidia.com/v1alpha1"
    assert dgd["metadata"]["namespace"] == "ml"
    worker = dgd["spec"]["services"]["VllmDecodeWorker"]
    assert worker["envFromSecret"] == "hf-tok"
    assert worker["extraPodSpec"]["mainContainer"]["image"] == (
        "registry.local/dynamo/vllm-runtime:0.7.1"
    )
    assert "9Gi" in yaml.safe_dump(worker)
    assert main(["render", "Qwen/Qwen3-0.6B", "--replicas", "3"]) == 2
    assert "--replicas: must be between 1 and 2" in capsys.readouterr().err


def test_render_and_catalog_read_the_catalog_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    shipped = json.loads((Path(__file__).parents[1] / "catalog" / "models.json").read_text())
    qwen = next(m for m in shipped["models"] if m["id"] == "Qwen/Qwen3-0.6B")
    path = tmp_path / "ops.json"
    path.write_text(json.dumps({"models": [qwen]}))
    monkeypatch.setenv("DYNAMOTE_CATALOG", str(path))
    assert main(["catalog", "--json"]) == 0
    assert [m["id"] for m in json.loads(capsys.readouterr().out)] == ["Qwen/Qwen3-0.6B"]
    assert main(["render", "meta-llama/Llama-3.2-1B-Instruct"]) == 2
    assert "unknown model" in capsys.readouterr().err


@pytest.mark.parametrize("command", [["render", "Qwen/Qwen3-0.6B"], ["catalog"]])
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DYNAMOTE_MAX_REPLICAS", "lots"),
        ("DYNAMOTE_API_VERSION", "nvidia.com/v2"),
        ("DYNAMOTE_NAMESPACES", "Team_A"),
        ("DYNAMOTE_SWEEP_INTERVAL", "soon"),  # not render's, but the whole configuration is checked
        ("SLACK_API_URL", "not a url"),
    ],
)
def test_a_bad_setting_stops_render_and_catalog_with_exit_2_and_the_serve_message(
    monkeypatch: pytest.MonkeyPatch, command: list[str], variable: str, value: str
) -> None:
    result = _run(*command, env=dict(os.environ, **{variable: value}))
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as serve:  # what `dynamote serve` and doctor would say
        load_settings()
    assert result.stderr == f"dynamote {command[0]}: {serve.value}\n"
    assert result.stderr.startswith(f"dynamote {command[0]}: Invalid configuration:\n  {variable}")


def test_render_refuses_the_kv_router_without_prefix_caching_in_a_real_process() -> None:
    result = _run("render", "Qwen/Qwen3-0.6B", "--router", "kv", "--no-prefix-caching")
    assert result.returncode == 2 and result.stdout == ""
    assert "KV router" in result.stderr and "prefix caching" in result.stderr


def test_render_writes_the_override_for_a_digest_image_on_a_1_5_operator(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    image = "nvcr.io/nvidia/ai-dynamo/vllm-runtime@sha256:" + "ab" * 32
    monkeypatch.setenv("DYNAMOTE_IMAGE_VLLM", image)
    monkeypatch.setenv("DYNAMOTE_DYNAMO_VERSION", "1.5.1")
    assert main(["render", "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"]) == 0
    dgd = yaml.safe_load(capsys.readouterr().out)
    components = dgd["spec"]["components"]
    assert {c["runtimeVersionOverride"] for c in components} == {"1.5.1"}
    worker = components[1]["podTemplate"]["spec"]["containers"][0]
    assert worker["image"] == image
    assert worker["resources"]["requests"]["ephemeral-storage"] == "22Gi"


def test_render_targets_the_release_components_of_1_6(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DYNAMOTE_DYNAMO_VERSION", "1.6.2")
    assert main(["render", "Qwen/Qwen3-0.6B", "--name", "a" * 47]) == 0
    dgd = yaml.safe_load(capsys.readouterr().out)
    assert [c["name"] for c in dgd["spec"]["components"]] == ["Frontend", "worker"]
