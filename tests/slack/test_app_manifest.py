"""manifests/slack-app.yaml: the shape Slack's app manifest schema requires.

The constraints are written out here (paraphrasing slackapi/manifest-schema's v1 schema) so the
test needs no network; it also pins the scopes to exactly those the bot uses.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

MANIFEST = Path(__file__).resolve().parents[2] / "manifests" / "slack-app.yaml"
USED_SCOPES = {"commands", "chat:write", "chat:write.public", "im:write", "usergroups:read"}


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_the_manifest_has_only_the_top_level_keys_slack_knows(manifest: dict[str, Any]) -> None:
    assert set(manifest) <= {
        "_metadata",
        "display_information",
        "features",
        "oauth_config",
        "settings",
    }
    assert manifest["_metadata"]["major_version"] == 1


def test_display_information_fits_slacks_lengths(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]

    assert 1 <= len(info["name"]) <= 35
    assert 1 <= len(info["description"]) <= 140
    assert 175 <= len(info.get("long_description", "x" * 175)) <= 4000
    assert re.fullmatch(r"#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?", info.get("background_color", "#fff"))


def test_the_bot_user_and_app_home_are_enabled(manifest: dict[str, Any]) -> None:
    features = manifest["features"]

    assert 1 <= len(features["bot_user"]["display_name"]) <= 80
    assert features["app_home"]["home_tab_enabled"] is True
    assert set(features["app_home"]) <= {
        "home_tab_enabled",
        "messages_tab_enabled",
        "messages_tab_read_only_enabled",
    }


def test_the_dynamote_slash_command_is_declared_in_slacks_format(
    manifest: dict[str, Any],
) -> None:
    (command,) = manifest["features"]["slash_commands"]

    assert command["command"] == "/dynamote"
    assert re.fullmatch(r"/\S{1,31}", command["command"])
    assert 1 <= len(command["description"]) <= 2000
    assert 1 <= len(command["usage_hint"]) <= 1000
    assert isinstance(command.get("should_escape", False), bool)
    assert "url" not in command  # Socket Mode: no request URL
    assert set(command) <= {"command", "description", "usage_hint", "should_escape", "url"}


def test_the_bot_asks_for_exactly_the_scopes_it_uses(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]

    assert len(scopes) == len(set(scopes)) <= 255
    assert set(scopes) == USED_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"]


def test_socket_mode_interactivity_and_app_home_events_are_on(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]

    assert settings["socket_mode_enabled"] is True
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert "request_url" not in settings["interactivity"]
    assert "request_url" not in settings["event_subscriptions"]


def test_the_http_mode_request_urls_are_there_commented_out() -> None:
    commented = [
        line.strip()
        for line in MANIFEST.read_text().splitlines()
        if re.match(r"\s*#\s*(url|request_url): https://\S+/slack/events", line)
    ]

    assert len(commented) == 3
