"""The page server's answers to bad requests: a clear message and a 4xx, never a crash."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from bot.playground.server import PageServer, Playground
from bot.playground.workspace import Workspace
from bot.sim.slack.web_api import SlackStandIn

# Nothing listens here: these requests are refused before anything is sent to the bot.
NO_BOT = "http://127.0.0.1:9/slack/events"


@pytest.fixture
def page() -> Iterator[str]:
    with SlackStandIn() as standin:
        server = PageServer(Playground(Workspace(standin), NO_BOT, "secret")).start()
        try:
            yield server.url
        finally:
            server.stop()


def test_the_page_and_its_scripts_are_served_from_the_package(page: str) -> None:
    index = requests.get(page, timeout=5)
    assert index.status_code == 200 and "text/html" in index.headers["Content-Type"]
    for name in ("app.js", "blockkit.js", "style.css"):
        assert requests.get(f"{page}static/{name}", timeout=5).status_code == 200
    assert requests.get(f"{page}static/../run.py", timeout=5).status_code == 404
    assert requests.get(f"{page}static/nothing.js", timeout=5).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("api/command", {"user": "U0NOBODY", "text": "/dynamote"}, "unknown person 'U0NOBODY'"),
        ("api/command", {"user": "U0GUEST", "text": "/deploy x"}, "/deploy is not a valid command"),
        ("api/action", {"user": "U0GUEST", "container": {"type": "x"}}, "unknown container 'x'"),
        (
            "api/action",
            {"user": "U0GUEST", "container": {"type": "message", "channel": "C0X", "ts": "1.2"}},
            "message 1.2 in C0X is gone",
        ),
        ("api/submit", {"user": "U0GUEST", "view_id": "V0NONE"}, "view V0NONE is gone"),
        ("api/action", {"user": "U0GUEST", "container": ["x"]}, "not what the page sends"),
    ],
)
def test_a_bad_action_says_what_is_wrong(page: str, path: str, body: dict, says: str) -> None:
    answer = requests.post(page + path, json=body, timeout=5)

    assert answer.json()["ok"] is False
    assert says in answer.json()["error"]


def test_a_body_that_is_not_json_is_a_400(page: str) -> None:
    answer = requests.post(page + "api/command", data=b"{not json", timeout=5)

    assert answer.status_code == 400
    assert "not JSON" in answer.json()["error"]


def test_the_state_of_an_unknown_person_is_a_400(page: str) -> None:
    answer = requests.get(page + "api/state?user=U0NOBODY", timeout=5)

    assert answer.status_code == 400
