"""What the person asking may put in a deploy request, from settings and whether they are an
admin: the extra engine args (:mod:`bot.domain.engine_args`), the HF token Secrets, and (checked
with the catalog in :mod:`bot.domain.request`) trust-remote-code.

Light on purpose (no pydantic-settings, no clients): ``dynamote render`` builds one too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.domain.engine_args import DEFAULT_ALLOWED, EngineArgRules, parse_rule_entries

__all__ = ["PrivilegeSettings", "Privileges", "privileges_of"]


@dataclass(frozen=True)
class Privileges:
    """The defaults are the shipped rules for a deployer who is not an admin."""

    admin: bool = False
    engine_args: EngineArgRules = field(default_factory=EngineArgRules)
    # The HF token Secrets a deployment may mount: the configured one and DYNAMOTE_HF_SECRETS.
    hf_secrets: tuple[str, ...] = ("hf-token-secret",)


class PrivilegeSettings(Protocol):
    """The settings these rules read (bot.config.fields.SettingsFields has them)."""

    @property
    def engine_args(self) -> Sequence[str] | None: ...
    @property
    def admin_engine_args(self) -> Sequence[str]: ...
    @property
    def hf_secret_names(self) -> tuple[str, ...]: ...


def privileges_of(settings: PrivilegeSettings, *, admin: bool) -> Privileges:
    """The settings' rules for a deployer; admins may use the admin engine args too."""
    chosen = settings.engine_args
    allowed = DEFAULT_ALLOWED if chosen is None else parse_rule_entries(chosen)
    rules = EngineArgRules(allowed, parse_rule_entries(settings.admin_engine_args))
    return Privileges(admin=admin, engine_args=rules, hf_secrets=settings.hf_secret_names)
