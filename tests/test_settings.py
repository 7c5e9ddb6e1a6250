"""Settings come from the environment and a wrong one names its variable."""

from __future__ import annotations

import pytest

from bot.settings import SettingsError, load_settings


def test_defaults_are_usable_without_any_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNAMOTE_NAMESPACES", raising=False)
    settings = load_settings()
    assert settings.default_namespace == "dynamo-system"
    assert settings.allowed_namespaces == ["dynamo-system"]
    assert settings.image_for("trtllm") == "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.0"


def test_lists_are_comma_separated_and_images_can_be_overridden(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYNAMOTE_NAMESPACES", "team-a, team-b")
    monkeypatch.setenv("DYNAMOTE_IMAGE_VLLM", "registry.local/vllm:dev")
    monkeypatch.setenv("DYNAMOTE_DYNAMO_VERSION", "0.7.1")
    settings = load_settings()
    assert settings.allowed_namespaces == ["team-a", "team-b"]
    assert settings.image_for("vllm") == "registry.local/vllm:dev"
    assert settings.image_for("sglang") == "nvcr.io/nvidia/ai-dynamo/sglang-runtime:0.7.1"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DYNAMOTE_SWEEP_INTERVAL", "soon"),
        ("DYNAMOTE_NAMESPACES", "Team_A"),
        ("DYNAMOTE_API_VERSION", "nvidia.com/v2"),
        ("SLACK_API_URL", "not a url"),
        ("DYNAMOTE_MAX_REPLICAS", "0"),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()
