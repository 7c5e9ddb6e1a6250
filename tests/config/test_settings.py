"""Settings come from the environment and a wrong one names its variable."""

from __future__ import annotations

import os
from pathlib import Path
from types import UnionType
from typing import Literal, Union, get_args, get_origin

import pytest
from pydantic import SecretStr

from bot.config.fields import SettingsFields, environment_values, read_settings
from bot.config.settings import ENV_PREFIX, Settings, SettingsError, load_settings


def test_defaults_are_usable_without_any_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DYNAMOTE_NAMESPACES", raising=False)
    settings = load_settings()
    assert settings.default_namespace == "dynamo-system"
    assert settings.allowed_namespaces == ["dynamo-system"]
    assert settings.image_for("trtllm") == "nvcr.io/nvidia/ai-dynamo/tensorrtllm-runtime:1.4.2"


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
        ("DYNAMOTE_DYNAMO_VERSION", "latest"),
        ("DYNAMOTE_DYNAMO_VERSION", "1.4"),
        ("DYNAMOTE_IMAGE_VLLM", "nvcr.io/vllm runtime:1.4.2"),
    ],
)
def test_a_wrong_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


# --- the light reader (bot.config.fields): render and catalog read the settings with it ------

# A valid value, different from the default, for every kind of field; both readers must agree.
FULL_ENVIRONMENT = {
    "SLACK_BOT_TOKEN": "xoxb-1",
    "SLACK_API_URL": "http://127.0.0.1:9/api/",
    "DYNAMOTE_COMMAND": "/deploy",
    "DYNAMOTE_DEFAULT_NAMESPACE": "ml",
    "DYNAMOTE_NAMESPACES": "ml, team-b",
    "DYNAMOTE_HF_SECRET": "hf-tok",
    "DYNAMOTE_API_VERSION": "nvidia.com/v1alpha1",
    "DYNAMOTE_K8S_READ_TIMEOUT": "7.5",
    "DYNAMOTE_CATALOG": "/etc/dynamote/models.json",
    "DYNAMOTE_DYNAMO_VERSION": "0.7.1",
    "DYNAMOTE_IMAGE_VLLM": "registry.local/vllm:dev",
    "DYNAMOTE_MAX_REPLICAS": "3",
    "DYNAMOTE_EPHEMERAL_STORAGE": "10Gi",
    "DYNAMOTE_LEASE_NAMESPACE": "ops",
    "DYNAMOTE_LOG_LEVEL": "debug",
    "DYNAMOTE_DEPLOYERS": "U0ALICE,S0TEAM",
    "DYNAMOTE_ALLOWED_CHANNELS": "C0DEPLOY",
    "DYNAMOTE_MAX_GPUS_PER_USER": "4",
}


def _set(monkeypatch: pytest.MonkeyPatch, environment: dict[str, str]) -> None:
    for name in list(os.environ):
        if name.upper().startswith(ENV_PREFIX) or name.upper().startswith("SLACK_"):
            monkeypatch.delenv(name)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)


def test_the_light_reader_reads_what_settings_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    _set(monkeypatch, FULL_ENVIRONMENT)
    light = read_settings()
    assert light.model_dump() == load_settings().model_dump()
    assert light.namespaces == ["ml", "team-b"] and light.max_gpus_per_user == 4
    assert light.image_for("vllm") == "registry.local/vllm:dev"
    assert light.slack_bot_token is not None
    assert light.slack_bot_token.get_secret_value() == "xoxb-1"


def test_the_light_reader_gives_the_defaults_without_an_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _set(monkeypatch, {})
    assert read_settings().model_dump() == load_settings().model_dump()
    assert read_settings().default_namespace == "dynamo-system"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DYNAMOTE_SWEEP_INTERVAL", "soon"),
        ("DYNAMOTE_NAMESPACES", "Team_A"),
        ("DYNAMOTE_NAMESPACES", '["a", "b"]'),  # lists are never JSON
        ("DYNAMOTE_API_VERSION", "nvidia.com/v2"),
        ("SLACK_API_URL", "not a url"),
        ("DYNAMOTE_MAX_REPLICAS", "0"),
        ("dynamote_max_replicas", "lots"),  # names match in any case
        ("DYNAMOTE_MAX_GPUS_PER_USER", ""),  # an empty value is a value
        ("DYNAMOTE_DEPLOYERS", "alice"),
        ("DYNAMOTE_LOG_FORMAT", "xml"),
    ],
)
def test_a_wrong_value_fails_both_readers_with_the_same_message(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    _set(monkeypatch, {variable: value})
    with pytest.raises(SettingsError) as light:
        read_settings()
    with pytest.raises(SettingsError) as full:
        load_settings()
    assert str(light.value) == str(full.value)
    assert variable.upper() in str(light.value) and repr(value) in str(light.value)


def test_environment_values_uses_the_settings_variable_names() -> None:
    environ = {
        "SLACK_APP_TOKEN": "xapp-1",
        "DYNAMOTE_SLACK_APP_TOKEN": "ignored",  # Slack's variables have no prefix
        "dynamote_hf_secret": "lower",
        "DYNAMOTE_CATALOG": "",
        "DYNAMOTE_NOT_A_SETTING": "x",
        "HF_SECRET": "not ours",
    }
    assert environment_values(environ) == {
        "slack_app_token": "xapp-1",
        "hf_secret": "lower",
        "catalog": "",
    }
    assert read_settings({"DYNAMOTE_MAX_REPLICAS": "5"}).max_replicas == 5


def _kinds(annotation: object) -> list[object]:
    if get_origin(annotation) in (Union, UnionType):
        return [kind for arg in get_args(annotation) for kind in _kinds(arg)]
    return [annotation]


def test_every_setting_is_defined_once_and_read_as_plain_text() -> None:
    """Settings adds no field of its own, and every field takes the variable's text as it is
    (no JSON), so environment_values and pydantic-settings read it alike. A field of another
    type (a dict, a nested model) needs both readers checked before it is added."""
    assert Settings.model_fields.keys() == SettingsFields.model_fields.keys()
    assert issubclass(Settings, SettingsFields)
    plain = {str, int, float, bool, Path, SecretStr, type(None), list[str]}
    for name, field in SettingsFields.model_fields.items():
        for kind in _kinds(field.annotation):
            assert kind in plain or get_origin(kind) is Literal, (name, kind)


def test_a_non_release_dynamo_version_is_refused_with_the_fix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DYNAMOTE_DYNAMO_VERSION", "latest")
    with pytest.raises(SettingsError) as refused:
        load_settings()
    message = str(refused.value)
    assert "MAJOR.MINOR.PATCH" in message and "DYNAMOTE_IMAGE_VLLM" in message
    assert "runtimeVersionOverride" in message


@pytest.mark.parametrize(
    "image",
    [
        "nvcr.io/nvidia/ai-dynamo/vllm-runtime@sha256:" + "ab" * 32,
        "nvcr.io/nvidia/ai-dynamo/vllm-runtime:latest",
        "localhost:5000/team/vllm-runtime:1.4.2-custom@sha256:" + "cd" * 32,
        "vllm-runtime",
    ],
)
def test_an_image_by_digest_or_any_tag_is_accepted(
    monkeypatch: pytest.MonkeyPatch, image: str
) -> None:
    monkeypatch.setenv("DYNAMOTE_IMAGE_VLLM", image)
    assert load_settings().image_for("vllm") == image
