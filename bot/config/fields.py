"""The settings' fields and rules, and a light reader of the environment for them.

This module does not import pydantic-settings (about 0.1 s on top of pydantic: asyncio, its
sources, the BaseSettings class), so ``dynamote render`` and ``dynamote catalog`` start that
much sooner. :class:`SettingsFields` is the one definition of every setting (name, type,
default, validation); :class:`bot.config.settings.Settings` is the same fields read by
pydantic-settings, for the long-running bot and everything that takes a ``Settings``.
:func:`environment_values` finds the variables as pydantic-settings does with that configuration
(tests/config/test_settings.py checks that both readers agree).

Slack's own variables keep their usual names (``SLACK_BOT_TOKEN``...); everything else is
``DYNAMOTE_<FIELD>``. Lists are comma-separated (never JSON). A wrong value fails with a
:class:`SettingsError` naming the variable, whichever reader read it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.domain.approvals import ApprovalPolicy, policy_from
from bot.domain.dgd import ApiVersion
from bot.domain.engine_args import parse_rule_entries
from bot.domain.expiry import ExpiryPolicy, parse_duration
from bot.domain.naming import RFC1123_LABEL
from bot.domain.releases import parse_runtime_version

__all__ = [
    "ENV_PREFIX",
    "SettingsError",
    "SettingsFields",
    "env_name",
    "environment_values",
    "read_settings",
    "settings_error",
]

ENV_PREFIX = "DYNAMOTE_"
PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DYNAMO_REFERENCE = PROJECT_ROOT.parent / "shared" / "dynamo"

ApiVersionSetting = Literal["auto"] | ApiVersion
# A comma-separated list. Never JSON-decoded: bot.config.settings.Settings turns pydantic-settings'
# decoding off (enable_decoding=False), and environment_values passes the text through.
CommaList = list[str]
# --- policy: what an ID in the policy lists looks like.
_SLACK_PRINCIPAL = re.compile(r"^[UWS][A-Z0-9]{2,30}$")
_SLACK_CHANNEL = re.compile(r"^[CG][A-Z0-9]{2,30}$")
# An image reference: [host[:port]/]path[:tag][@algorithm:hex] (the OCI distribution grammar,
# loosely: lowercase path components, a tag of up to 128 word characters, '.' and '-').
_IMAGE_REFERENCE = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*"
    r"(?:/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[a-z0-9]+(?:[+._-][a-z0-9]+)*:[0-9a-fA-F]{32,})?$"
)

# Fields that keep Slack's conventional names instead of the DYNAMOTE_ prefix.
_SLACK_ENV = {
    "slack_bot_token": "SLACK_BOT_TOKEN",
    "slack_app_token": "SLACK_APP_TOKEN",
    "slack_signing_secret": "SLACK_SIGNING_SECRET",
    "slack_api_url": "SLACK_API_URL",
}


class SettingsError(ValueError):
    """A setting is missing or wrong; the message names the variable and the fix."""


class SettingsFields(BaseModel):
    """Every setting: name, type, default and rule. Field ``foo`` is ``DYNAMOTE_FOO`` unless noted.

    :class:`bot.config.settings.Settings` reads these fields with pydantic-settings;
    :func:`read_settings` reads the same fields with :func:`environment_values`, for commands that
    must start fast.
    """

    # validate_default: as pydantic-settings' BaseSettings does, so both validate alike.
    model_config = ConfigDict(
        extra="ignore", frozen=True, populate_by_name=True, validate_default=True
    )

    # --- Slack ---------------------------------------------------------------------------
    slack_bot_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_BOT_TOKEN", "slack_bot_token")
    )
    slack_app_token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_APP_TOKEN", "slack_app_token")
    )
    slack_signing_secret: SecretStr | None = Field(
        None, validation_alias=AliasChoices("SLACK_SIGNING_SECRET", "slack_signing_secret")
    )
    slack_api_url: str = Field(
        "https://slack.com/api/",
        validation_alias=AliasChoices("SLACK_API_URL", "slack_api_url"),
        pattern=r"^https?://[^\s]+$",
    )
    command: str = Field("/dynamote", pattern=r"^/[a-z0-9_-]{1,31}$")
    # Where `dynamote serve` listens; a pod sets 0.0.0.0 so probes and Slack can reach it.
    bind_host: str = Field("127.0.0.1", min_length=1)
    # /healthz, /readyz and /metrics on their own port (`serve --health-port`); None: --port.
    health_port: int | None = Field(None, ge=1, le=65535)

    # --- Cluster -------------------------------------------------------------------------
    default_namespace: str = Field("dynamo-system", pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    namespaces: CommaList = Field(default_factory=list)
    hf_secret: str = Field("hf-token-secret", min_length=1, max_length=253)
    api_version: ApiVersionSetting = "auto"
    api_version_cache_seconds: float = Field(60.0, ge=0)
    k8s_connect_timeout: float = Field(3.0, gt=0, le=60)
    k8s_read_timeout: float = Field(5.0, gt=0, le=120)
    # Try it (bot/cluster/frontend.py): how the bot reaches a deployment's frontend (auto:
    # cluster DNS in a pod, the API server's service proxy otherwise), how long it waits for
    # each piece of the answer, and how many tries a person gets per minute (0: no limit).
    frontend_access: Literal["auto", "cluster-dns", "service-proxy"] = "auto"
    frontend_read_timeout: float = Field(30.0, gt=0, le=600)
    try_it_per_minute: int = Field(5, ge=0, le=1000)

    # --- Catalog and manifests -------------------------------------------------------------
    catalog: Path | None = None
    # The Dynamo release targeted: the runtime image tag and the operator rules followed
    # (bot.domain.releases). A semantic version; other tags and digests go in image_<engine>.
    dynamo_version: str = "1.4.2"
    image_registry: str = Field("nvcr.io/nvidia/ai-dynamo", min_length=1)
    image_vllm: str | None = None
    image_sglang: str | None = None
    image_trtllm: str | None = None
    max_replicas: int = Field(8, ge=1, le=1000)
    max_gpus_per_worker: int = Field(8, ge=1, le=64)
    ephemeral_storage: str | None = None  # unset: sized per model (bot.domain.manifest)
    dynamo_reference: Path = DEFAULT_DYNAMO_REFERENCE

    # --- Notifier and simulator ------------------------------------------------------------
    sweep_interval: float = Field(10.0, gt=0, le=3600)
    sim_ready_after: float = Field(5.0, ge=0, le=3600)

    # --- notifier (bot/notifier/controller.py, bot/notifier/service.py, bot/notifier/leader.py) ---
    pending_timeout: float = Field(600.0, gt=0, le=86400)  # Pending this long = "stuck"
    broadcast_ready: bool = True  # the Running reply is also sent to the channel
    lease_name: str = Field("dynamote-notifier", pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
    lease_namespace: str | None = Field(None, pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
    lease_duration: int = Field(15, ge=1, le=300)  # seconds; a follower takes over after it
    watch_timeout: int = Field(300, ge=1, le=3600)  # seconds a watch stays open before renewal
    slack_channel_interval: float = Field(1.0, ge=0, le=60)  # seconds between messages
    home_refresh_interval: float = Field(60.0, gt=0, le=3600)
    home_refresh_max_users: int = Field(30, ge=0, le=500)  # per refresh (views.publish Tier 4)
    home_recent_seconds: float = Field(3600.0, gt=0, le=86400)  # "opened Home recently"

    # --- logging: bot/ops/logs.py --------------------------------------------------------------
    log_format: Literal["text", "json"] = "text"  # json: one JSON object per line
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"

    @field_validator("dynamo_version")
    @classmethod
    def _dynamo_version_is_a_release(cls, value: str) -> str:
        try:
            parse_runtime_version(value)
        except ValueError as exc:
            raise ValueError(
                f"{exc}. It is the runtime image tag and the release whose operator rules "
                "Dynamote follows; to run another tag or a digest (latest, @sha256:...), set "
                "DYNAMOTE_IMAGE_VLLM, _SGLANG or _TRTLLM to that image and keep this the "
                "release it contains (Dynamote then writes runtimeVersionOverride)"
            ) from None
        return value

    @field_validator("image_vllm", "image_sglang", "image_trtllm")
    @classmethod
    def _image_is_a_reference(cls, value: str | None) -> str | None:
        if value is not None and not _IMAGE_REFERENCE.fullmatch(value):
            raise ValueError(
                "not an image reference: write registry/repository[:tag][@sha256:<digest>], "
                "e.g. nvcr.io/nvidia/ai-dynamo/vllm-runtime:1.4.2"
            )
        return value

    @field_validator("log_format", mode="before")
    @classmethod
    def _log_format_any_case(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _log_level_any_case(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    # --- policy -----------------------------------------------------------------------
    # Slack user IDs (U…/W…) and user group IDs (S…); an empty list lets everyone deploy.
    deployers: CommaList = Field(default_factory=list)
    admins: CommaList = Field(default_factory=list)  # may delete anyone's deployments
    allowed_channels: CommaList = Field(default_factory=list)  # C…/G…; empty = every channel
    # Limits fail closed: "none" lifts one. 8 GPUs is one node: nobody takes more than a node
    # by accident; 3 deployments lets a person compare engines or versions side by side.
    max_gpus_per_deployment: int | None = Field(8, ge=1, le=100_000)
    max_gpus_per_user: int | None = Field(8, ge=1, le=100_000)
    max_deployments_per_user: int | None = Field(3, ge=1, le=10_000)
    group_cache_seconds: float = Field(60.0, ge=0, le=3600)  # usergroups.users.list is Tier 2
    # Signs who owns each DGD (bot/domain/provenance.py); unset: derived from SLACK_SIGNING_SECRET,
    # else SLACK_BOT_TOKEN. Changing it leaves existing deployments unverified.
    provenance_key: SecretStr | None = None
    # Extra engine args (bot/domain/engine_args.py): engine:flag entries from its library; unset =
    # the shipped performance flags; admins may use admin_engine_args on top.
    engine_args: CommaList | None = None
    admin_engine_args: CommaList = Field(default_factory=list)
    hf_secrets: CommaList = Field(default_factory=list)  # HF token Secrets besides hf_secret
    # --- expiry and approvals (bot/domain/expiry.py, bot/domain/approvals.py): durations like 12h,
    # 3d, 2w.
    expiry_choices: CommaList = Field(default_factory=lambda: ["8h", "1d", "3d", "7d", "never"])
    expiry_default: str = "3d"
    expiry_max: str | None = "14d"  # "none": no maximum, and "never" may be chosen
    expiry_reminder: str = "1d"  # how long before the expiry the thread is reminded
    approvers: CommaList = Field(default_factory=list)  # U…/W… users, S… user groups
    approval_channel: str | None = Field(None, pattern=r"^[CG][A-Z0-9]{2,30}$")
    approval_above_gpus: int | None = Field(None, ge=0, le=100_000)  # more GPUs need approval
    approval_namespaces: CommaList = Field(default_factory=list)  # every deploy there needs it
    approval_ttl: str = "1d"  # an approval request not answered by then lapses

    @field_validator("expiry_choices", "approvers", "approval_namespaces", mode="before")
    @classmethod
    def _split_expiry_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _expiry_policy_holds(self) -> SettingsFields:
        try:
            self.expiry_policy  # noqa: B018  (raises on a default outside the choices)
        except ValueError as error:
            raise ValueError(f"DYNAMOTE_EXPIRY_*: {error}") from None
        return self

    @field_validator("expiry_reminder", "approval_ttl")
    @classmethod
    def _durations(cls, value: str) -> str:
        parse_duration(value)
        return value

    @field_validator("approvers")
    @classmethod
    def _approvers_are_slack_ids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not _SLACK_PRINCIPAL.fullmatch(item)]
        if bad:
            raise ValueError(f"not Slack user (U…/W…) or user group (S…) IDs: {', '.join(bad)}")
        return value

    @property
    def expiry_policy(self) -> ExpiryPolicy:
        return ExpiryPolicy.from_texts(
            self.expiry_choices, self.expiry_default, self.expiry_max, self.expiry_reminder
        )

    @property
    def approval_policy(self) -> ApprovalPolicy:
        return policy_from(
            self.approvers,
            self.approval_channel,
            self.approval_above_gpus,
            self.approval_namespaces,
            parse_duration(self.approval_ttl),
        )

    @field_validator(
        "max_gpus_per_deployment", "max_gpus_per_user", "max_deployments_per_user", mode="before"
    )
    @classmethod
    def _none_lifts_a_limit(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("none", "unlimited"):
            return None
        return value

    @field_validator("engine_args", "admin_engine_args", "hf_secrets", mode="before")
    @classmethod
    def _split_privilege_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("engine_args", "admin_engine_args")
    @classmethod
    def _engine_args_from_library(cls, value: list[str] | None) -> list[str] | None:
        if value:
            parse_rule_entries(value)
        return value

    @field_validator("hf_secrets")
    @classmethod
    def _secrets_are_names(cls, value: list[str]) -> list[str]:
        name = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        bad = [item for item in value if len(item) > 253 or not name.fullmatch(item)]
        if bad:
            raise ValueError(f"not Secret names: {', '.join(bad)}")
        return value

    @property
    def open_policy(self) -> bool:
        """Anyone in the workspace may deploy: no deployers and no admins are set."""
        return not self.deployers and not self.admins

    @property
    def hf_secret_names(self) -> tuple[str, ...]:
        """The HF token Secrets a deployment may mount, the configured one first."""
        return tuple(dict.fromkeys([self.hf_secret, *self.hf_secrets]))

    @field_validator("deployers", "admins", "allowed_channels", mode="before")
    @classmethod
    def _split_policy_lists(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("deployers", "admins")
    @classmethod
    def _principals_are_slack_ids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not _SLACK_PRINCIPAL.fullmatch(item)]
        if bad:
            raise ValueError(f"not Slack user (U…/W…) or user group (S…) IDs: {', '.join(bad)}")
        return value

    @field_validator("allowed_channels")
    @classmethod
    def _channels_are_slack_ids(cls, value: list[str]) -> list[str]:
        bad = [item for item in value if not _SLACK_CHANNEL.fullmatch(item)]
        if bad:
            raise ValueError(f"not Slack channel IDs (C…/G…): {', '.join(bad)}")
        return value

    @field_validator("namespaces", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("namespaces")
    @classmethod
    def _namespaces_are_labels(cls, value: list[str]) -> list[str]:
        bad = [ns for ns in value if not RFC1123_LABEL.fullmatch(ns)]
        if bad:
            raise ValueError(f"not valid namespace names: {', '.join(bad)}")
        return value

    @property
    def allowed_namespaces(self) -> list[str]:
        """Namespaces the bot may deploy to; the default namespace when none are listed."""
        return list(self.namespaces) or [self.default_namespace]

    def image_for(self, engine: str) -> str:
        """The runtime image for an engine: the override, else the registry image at the tag."""
        override = {
            "vllm": self.image_vllm,
            "sglang": self.image_sglang,
            "trtllm": self.image_trtllm,
        }.get(engine)
        if override:
            return override
        repo = "tensorrtllm" if engine == "trtllm" else engine
        return f"{self.image_registry}/{repo}-runtime:{self.dynamo_version}"


def env_name(field: str) -> str:
    """The environment variable that sets ``field``."""
    return _SLACK_ENV.get(field, ENV_PREFIX + field.upper())


def settings_error(exc: ValidationError) -> SettingsError:
    """One line per bad setting: the variable, what is wrong, and the value it had."""
    lines = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "?"
        field = next((f for f, env in _SLACK_ENV.items() if env == field), field)
        lines.append(f"{env_name(field)}: {error['msg']} (got {error.get('input')!r})")
    return SettingsError("Invalid configuration:\n  " + "\n  ".join(lines))


def environment_values(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The raw text of every setting that is set, by field name, as pydantic-settings finds it.

    Variable names match in any case (pydantic-settings' default), values are passed as they
    are (an empty value is a value), lists stay text for the comma splitters.
    """
    found = {
        name.lower(): value for name, value in (os.environ if environ is None else environ).items()
    }
    values = {}
    for field in SettingsFields.model_fields:
        value = found.get(env_name(field).lower())
        if value is not None:
            values[field] = value
    return values


def read_settings(environ: Mapping[str, str] | None = None) -> SettingsFields:
    """Read and validate every setting without pydantic-settings (not cached).

    Same variables, values and errors as :func:`bot.config.settings.load_settings`; for short-lived
    commands (``dynamote render``, ``dynamote catalog``) that must start fast.
    """
    try:
        return SettingsFields.model_validate(environment_values(environ))
    except ValidationError as exc:
        raise settings_error(exc) from None
