"""POST /slack/events in HTTP mode: signed requests reach Bolt, everything else is refused first.

Each refusal is checked for "no side effect": the test listener never ran and Bolt made no
Web API call.
"""

from __future__ import annotations

import hmac
import io
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient

from bot.server.health import Health
from bot.server.wsgi import MAX_BODY_BYTES, build_wsgi_app
from bot.sim.slack.web_api import SlackStandIn
from tests.metric_samples import sample_value

from .conftest import SIGNING_SECRET, Probe, Served, signed_headers, slash_command_body


def assert_no_side_effect(served: Served, slack_standin: SlackStandIn) -> None:
    served.background.drain()  # a listener that wrongly started has now finished
    assert not served.listener.ran.is_set()
    assert slack_standin.calls() == []


def test_a_correctly_signed_slash_command_is_acked_and_its_handler_runs(served: Served) -> None:
    body = slash_command_body("list")

    status, _, _ = served.request("POST", "/slack/events", body, signed_headers(body))

    assert status == 200
    assert served.listener.ran.wait(5)
    assert served.listener.commands[0]["text"] == "list"


def test_a_command_signed_with_another_secret_is_refused_with_401(
    served: Served, slack_standin: SlackStandIn
) -> None:
    body = slash_command_body()
    before = sample_value("dynamote_http_rejected_total", {"reason": "bad_signature"})

    status, _, _ = served.request(
        "POST", "/slack/events", body, signed_headers(body, secret="forged")
    )

    assert status == 401
    assert_no_side_effect(served, slack_standin)
    after = sample_value("dynamote_http_rejected_total", {"reason": "bad_signature"})
    assert after == before + 1


def test_a_body_changed_after_signing_is_refused_with_401(
    served: Served, slack_standin: SlackStandIn
) -> None:
    headers = signed_headers(slash_command_body("list"))

    status, _, _ = served.request("POST", "/slack/events", slash_command_body("delete x"), headers)

    assert status == 401
    assert_no_side_effect(served, slack_standin)


@pytest.mark.parametrize("missing", ["X-Slack-Signature", "X-Slack-Request-Timestamp"])
def test_a_request_without_a_slack_signature_header_is_refused_with_401(
    served: Served, slack_standin: SlackStandIn, missing: str
) -> None:
    body = slash_command_body()
    headers = signed_headers(body)
    del headers[missing]

    status, _, _ = served.request("POST", "/slack/events", body, headers)

    assert status == 401
    assert_no_side_effect(served, slack_standin)


@pytest.mark.parametrize("age", [301, 3600, -301])
def test_a_request_signed_more_than_five_minutes_away_is_refused_with_401(
    served: Served, slack_standin: SlackStandIn, age: int
) -> None:
    body = slash_command_body()
    headers = signed_headers(body, timestamp=int(time.time()) - age)

    status, _, _ = served.request("POST", "/slack/events", body, headers)

    assert status == 401
    assert_no_side_effect(served, slack_standin)


def test_a_non_numeric_timestamp_is_refused_with_401(
    served: Served, slack_standin: SlackStandIn
) -> None:
    body = slash_command_body()
    headers = signed_headers(body) | {"X-Slack-Request-Timestamp": "yesterday"}

    status, _, _ = served.request("POST", "/slack/events", body, headers)

    assert status == 401
    assert_no_side_effect(served, slack_standin)


def test_a_replayed_request_is_refused_with_401_and_the_handler_runs_once(
    served: Served,
) -> None:
    body = slash_command_body()
    headers = signed_headers(body)

    first, _, _ = served.request("POST", "/slack/events", body, headers)
    assert served.listener.ran.wait(5)
    again, _, _ = served.request("POST", "/slack/events", body, headers)

    assert (first, again) == (200, 401)
    served.background.drain()
    assert len(served.listener.commands) == 1


def test_a_text_plain_body_is_refused_with_400(served: Served, slack_standin: SlackStandIn) -> None:
    body = slash_command_body()

    status, _, _ = served.request(
        "POST", "/slack/events", body, signed_headers(body, content_type="text/plain")
    )

    assert status == 400
    assert_no_side_effect(served, slack_standin)


def test_a_body_that_is_not_utf8_is_refused_with_400(
    served: Served, slack_standin: SlackStandIn
) -> None:
    body = b"payload=\xff\xfe"
    timestamp = str(int(time.time()))
    # slack_sdk's signer wants text, so sign the raw bytes by hand, as Slack does.
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + body, "sha256")
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
    }

    status, _, _ = served.request("POST", "/slack/events", body, headers)

    assert status == 400
    assert_no_side_effect(served, slack_standin)


def test_a_two_mebibyte_body_is_refused_with_413_before_it_is_read(
    served: Served, slack_standin: SlackStandIn
) -> None:
    body = b"text=" + b"a" * (2 * 1024 * 1024)
    head = "".join(f"{k}: {v}\r\n" for k, v in signed_headers(body).items())
    request = (
        f"POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
        f"{head}\r\n"
    )

    # Only the headers are sent: the server must refuse on the declared length alone. (Sending
    # the body too races the server's early close, which resets the connection.)
    with socket.create_connection(("127.0.0.1", served.server.port), timeout=10) as connection:
        connection.sendall(request.encode())
        status_line = connection.makefile("rb").readline()

    assert status_line.split()[1] == b"413"
    assert_no_side_effect(served, slack_standin)


def test_a_body_over_the_apps_limit_is_refused_with_413_even_behind_a_looser_server(
    serve: Callable[..., Served], slack_standin: SlackStandIn
) -> None:
    client = WebClient(token=slack_standin.token, base_url=slack_standin.url)
    served = serve(bolt_client=client, max_body_bytes=64 * 1024, server_max_body_bytes=1 << 20)
    body = b"text=" + b"a" * (200 * 1024)

    status, _, _ = served.request("POST", "/slack/events", body, signed_headers(body))

    assert status == 413
    assert_no_side_effect(served, slack_standin)


def test_the_wsgi_app_refuses_a_body_over_its_limit_without_reading_it() -> None:
    # Behind a server with a looser limit than waitress's, the app still checks the size.
    app = build_wsgi_app(
        health=Health(Probe()), bolt_app=_unused_bolt_app(), signing_secret=SIGNING_SECRET
    )
    body = b"text=" + b"a" * (2 * 1024 * 1024)
    stream = io.BytesIO(body)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/slack/events",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": stream,
        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in signed_headers(body).items()},
    }
    environ["CONTENT_TYPE"] = environ.pop("HTTP_CONTENT_TYPE")
    statuses: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> Any:
        statuses.append(status)

    app(environ, start_response)

    assert statuses == ["413 Content Too Large"]
    assert stream.tell() == 0
    assert len(body) > MAX_BODY_BYTES


def test_slack_events_only_accepts_post(served: Served) -> None:
    status, headers, _ = served.request("GET", "/slack/events")

    assert status == 405
    assert headers["allow"] == "POST"


def test_slack_events_is_not_served_without_a_bolt_app(serve: Callable[..., Served]) -> None:
    socket_mode = serve()  # Socket Mode: health and metrics only
    body = slash_command_body()

    status, _, _ = socket_mode.request("POST", "/slack/events", body, signed_headers(body))

    assert status == 404


def _unused_bolt_app() -> App:
    return App(
        client=WebClient(token="xoxb-unused", base_url="http://127.0.0.1:9/"),
        signing_secret=SIGNING_SECRET,
        token_verification_enabled=False,
    )
