"""Every setting Dynamote reads, from the environment, validated once at start.

Slack's own variables keep their usual names (``SLACK_BOT_TOKEN``...); everything else is
``DYNAMOTE_<FIELD>``. Lists are comma-separated. A wrong value fails at start with a
:class:`SettingsError` naming the variable, so a bad deployment never half-starts.

The fields themselves (names, types, defaults, rules) are defined once, in
:mod:`bot.config.fields`, which does not import pydantic-settings; :class:`Settings` reads
them with pydantic-settings. ``dynamote render`` and ``dynamote catalog`` read the same fields
with :func:`bot.config.fields.read_settings` and never import this module, to start fast.
"""

from __future__ import annotations

from functools import lru_cache

from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.fields import ENV_PREFIX, SettingsError, SettingsFields, env_name, settings_error

__all__ = ["ENV_PREFIX", "Settings", "SettingsError", "env_name", "get_settings", "load_settings"]


class Settings(BaseSettings, SettingsFields):
    """All configuration (the fields of :class:`SettingsFields`), read from the environment."""

    # SettingsFields' config (extra, frozen...) comes after BaseSettings' defaults and wins.
    # Lists are comma-separated text, never JSON: enable_decoding=False.
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, enable_decoding=False)


def load_settings(**overrides: object) -> Settings:
    """Read and validate the environment; raise SettingsError naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise settings_error(exc) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
