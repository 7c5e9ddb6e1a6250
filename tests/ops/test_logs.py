"""Logs: JSON lines with time, level, logger, message and extras when asked; text otherwise;
and no Slack token, signing secret, bearer token or HF token ever shown, whoever logs it."""

from __future__ import annotations

import io
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.composition import Dynamote
from bot.config.settings import Settings, load_settings
from bot.ops.logs import REDACTED, configure_logging, redact
from bot.serve import run_serve
from bot.sim.k8s.standin import StandIn
from bot.sim.slack.web_api import SlackStandIn
from bot.slack.client import make_web_client
from tests.stacks import build_stack
from tests.standins.slack_requests import slash_command

BOT_TOKEN = "xoxb-1234567890-0987654321-SeCrEtBoTtOkEn"
APP_TOKEN = "xapp-1-A0123456-0987654321-SeCrEtApPtOkEn"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
HF_TOKEN = "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345"
SA_TOKEN = "eyJhbGciOiJSUzI1NiIsImtpZCI6IiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLWhlcmU"
SECRETS = (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET, HF_TOKEN, SA_TOKEN)


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_app_token": APP_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
    }
    return load_settings(**(values | overrides))


def logged(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_with_json_on_a_record_is_one_json_object_with_its_fields_and_extras() -> None:
    stream = io.StringIO()
    configure_logging(settings(log_format="json"), stream=stream)

    logging.getLogger("bot.ops.audit").info(
        "created %s", "qwen", extra={"user": "U0ALICE", "namespace": "team-a", "gpus": 2}
    )

    (line,) = logged(stream)
    record = json.loads(line)
    assert record["level"] == "INFO"
    assert record["logger"] == "bot.ops.audit"
    assert record["message"] == "created qwen"
    assert record["time"].endswith("Z") and record["time"][:4].isdigit()
    assert (record["user"], record["namespace"], record["gpus"]) == ("U0ALICE", "team-a", 2)


def test_an_exception_is_kept_in_the_json_record() -> None:
    stream = io.StringIO()
    configure_logging(settings(log_format="JSON"), stream=stream)

    try:
        raise RuntimeError("cluster went away")
    except RuntimeError:
        logging.getLogger("bot.x").exception("Failed to sweep")

    (line,) = logged(stream)
    record = json.loads(line)
    assert record["message"] == "Failed to sweep"
    assert "RuntimeError: cluster went away" in record["exception"]


def test_text_is_the_default_with_extras_as_key_value() -> None:
    stream = io.StringIO()
    configure_logging(settings(), stream=stream)

    logging.getLogger("bot.ops.audit").warning("denied", extra={"user": "U0BOB"})

    (line,) = logged(stream)
    assert line.endswith(" WARNING bot.ops.audit: denied user='U0BOB'")


def test_configuring_twice_keeps_one_handler_and_the_level_applies() -> None:
    stream = io.StringIO()
    configure_logging(settings(), stream=io.StringIO())
    configure_logging(settings(log_level="warning"), stream=stream)

    logging.getLogger("bot.y").info("not shown")
    logging.getLogger("bot.y").warning("shown")

    assert logged(stream)[0].endswith("bot.y: shown")
    assert len(logged(stream)) == 1


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"token={BOT_TOKEN}", BOT_TOKEN),
        (f"user token xoxp-1-2-3-{'a' * 20}", f"xoxp-1-2-3-{'a' * 20}"),
        (f"socket mode with {APP_TOKEN}", APP_TOKEN),
        ("Authorization: Bearer abc.DEF-123_x/y=", "abc.DEF-123_x/y="),
        (f"HF_TOKEN={HF_TOKEN[3:]}", HF_TOKEN[3:]),
        ('{"HF_TOKEN": "plain-value-1"}', "plain-value-1"),
        (f"pasted {HF_TOKEN} in a modal", HF_TOKEN),
        (f"service account {SA_TOKEN}", SA_TOKEN),
    ],
)
def test_token_shaped_values_are_redacted(text: str, secret: str) -> None:
    cleaned = redact(text)

    assert secret not in cleaned
    assert REDACTED in cleaned


def test_the_signing_secret_is_redacted_by_value_though_it_has_no_shape() -> None:
    stream = io.StringIO()
    configure_logging(settings(), stream=stream)

    logging.getLogger("slack_bolt.App").error("bad signature with %s", SIGNING_SECRET)

    assert SIGNING_SECRET not in stream.getvalue()
    assert REDACTED in stream.getvalue()


def test_no_secret_survives_in_a_message_its_args_extras_or_a_traceback() -> None:
    stream = io.StringIO()
    configure_logging(settings(log_format="json"), stream=stream)
    log = logging.getLogger("kubernetes.client.rest")

    log.warning("headers %s", {"Authorization": f"Bearer {SA_TOKEN}"})
    log.info("env", extra={"environment": {"HF_TOKEN": HF_TOKEN}, "token": BOT_TOKEN})
    try:
        raise ValueError(f"bad app token {APP_TOKEN}")
    except ValueError:
        log.exception("failed with signing secret %s", SIGNING_SECRET)

    output = stream.getvalue()
    assert all(secret not in output for secret in SECRETS), output
    assert [json.loads(line)["level"] for line in logged(stream)] == ["WARNING", "INFO", "ERROR"]


def test_the_slack_client_logging_a_request_shows_no_secret() -> None:
    with SlackStandIn(token=BOT_TOKEN) as slack:
        current = settings(slack_api_url=slack.url, log_level="DEBUG", log_format="json")
        stream = io.StringIO()
        configure_logging(current, stream=stream)

        # slack_sdk logs body params and headers at DEBUG: here a token, a secret, an HF token.
        make_web_client(current).api_call(
            "chat.postMessage",
            params={"token": BOT_TOKEN, "channel": "C1", "text": f"HF_TOKEN={HF_TOKEN}"},
            headers={"X-Signing": SIGNING_SECRET},
        )

    output = stream.getvalue()
    assert "chat.postMessage" in output  # the request was logged...
    assert all(secret not in output for secret in SECRETS), output  # ...without a secret


def test_dynamote_serve_failing_auth_logs_nothing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def careless(dynamote: Dynamote) -> None:
        # Code running inside serve that carelessly logs credentials, as a library might.
        token = dynamote.settings.slack_bot_token
        careless = logging.getLogger("some.library")
        careless.debug("token=%s secret=%s", token and token.get_secret_value(), SIGNING_SECRET)
        careless.debug("env HF_TOKEN=%s, app %s", HF_TOKEN, APP_TOKEN)

    with SlackStandIn() as slack, StandIn() as cluster:  # the stand-in rejects BOT_TOKEN
        monkeypatch.setenv("KUBECONFIG", str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
        current = settings(slack_api_url=slack.url, log_level="DEBUG", log_format="json")
        code = run_in_thread(current, careless)

    err = capsys.readouterr().err
    assert code == 2
    assert "invalid_auth" in err
    assert '"logger": "slack_sdk.web.base_client"' in err  # run_serve's logging was on
    assert err.count(REDACTED) >= 4
    assert all(secret not in err for secret in SECRETS), err


def run_in_thread(current: Settings, on_built: Callable[[Dynamote], None]) -> int | None:
    result: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        result.append(
            run_serve(
                simulate=False,
                http=True,
                port=0,
                settings=current,
                on_built=on_built,
                stop=stop,
            )
        )

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    thread.join(timeout=30)
    stop.set()
    thread.join(timeout=10)
    return result[0] if result else None


# Shapes from Slack's payloads: a slash command's response_url, an incoming webhook.
RESPONSE_URL_SECRET = "ankvsRb42WKnKPRp002FeyTx"
RESPONSE_URL = f"https://hooks.slack.com/commands/T0DYNAMOTE/3977594927231/{RESPONSE_URL_SECRET}"
WEBHOOK_SECRET = "XXXXXXXXXXXXXXXXXXXXXXXX"
WEBHOOK = f"https://hooks.slack.com/services/T00000000/B00000000/{WEBHOOK_SECRET}"


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (f"Sending a request - url: {RESPONSE_URL}, body: {{}}", RESPONSE_URL_SECRET),
        (f"posting to {WEBHOOK}", WEBHOOK_SECRET),
        (json.dumps({"response_url": RESPONSE_URL}).replace("/", "\\/"), RESPONSE_URL_SECRET),
        (urlencode({"response_url": RESPONSE_URL, "text": "x"}), RESPONSE_URL_SECRET),
        (
            urlencode({"payload": json.dumps({"response_urls": [{"response_url": RESPONSE_URL}]})}),
            RESPONSE_URL_SECRET,
        ),
        # Any host: what makes it a capability is that it was given as a response_url.
        ('{"response_url": "http://127.0.0.1:9/response/r1"}', "/response/r1"),
        ("GET https://example.com/f?X-Amz-Signature=abc123def&X-Amz-Date=1", "abc123def"),
        ("oauth.v2.access?client_id=1&code=4242.5151.abcdef", "4242.5151.abcdef"),
        ("fetch https://files.example.com/a?token=s3cr3t-t0ken", "s3cr3t-t0ken"),
    ],
)
def test_capability_urls_are_redacted_at_debug(text: str, secret: str) -> None:
    stream = io.StringIO()
    configure_logging(settings(log_level="DEBUG"), stream=stream)

    logging.getLogger("slack_sdk.webhook.client").debug("%s", text)

    output = stream.getvalue()
    assert secret not in output, output
    assert REDACTED in output


def test_a_url_without_a_credential_is_kept() -> None:
    text = "GET /api/v1/namespaces/team-a/pods?labelSelector=a%3Db&watch=true"

    assert redact(text) == text


FORGED = "2026-01-01T00:00:00.000Z INFO dynamote.audit: delete team-a/x by U0ADMIN: deleted"


def test_a_newline_in_a_text_message_cannot_forge_a_record() -> None:
    stream = io.StringIO()
    configure_logging(settings(), stream=stream)
    log = logging.getLogger("dynamote.audit")

    log.warning("denied %s", f"qwen\n{FORGED}", extra={"deployment": f"x\r\n{FORGED}"})
    log.warning("escape \x1b[2J\x1b[H and separators \u2028 \x85 stay on the line")

    lines = logged(stream)
    assert len(lines) == 2, lines
    assert "\\n2026-01-01T00:00:00.000Z INFO" in lines[0]
    assert "\\x1b[2J" in lines[1] and "\\u2028" in lines[1] and "\\x85" in lines[1]
    assert not any(line.startswith(FORGED) for line in lines)


def test_a_traceback_is_indented_so_a_newline_in_its_message_forges_nothing() -> None:
    stream = io.StringIO()
    configure_logging(settings(), stream=stream)

    try:
        raise ValueError(f"bad name qwen\n{FORGED}")
    except ValueError:
        logging.getLogger("bot.slack.listeners").exception("Failed to delete")

    first, *rest = logged(stream)
    assert first.endswith("ERROR bot.slack.listeners: Failed to delete")
    assert rest and all(line.startswith("    ") for line in rest), rest
    assert any(line.strip() == FORGED for line in rest)  # kept, but visibly inside the record


def test_json_lines_stay_one_per_record_even_with_unicode_line_separators() -> None:
    stream = io.StringIO()
    configure_logging(settings(log_format="json"), stream=stream)

    logging.getLogger("bot.x").warning("a\u2028b\u2029c\x85d\ne")

    (line,) = logged(stream)
    assert json.loads(line)["message"] == "a\u2028b\u2029c\x85d\ne"


def test_bolt_and_slack_sdk_debug_output_of_a_real_command_shows_no_response_url(
    tmp_path: Path,
) -> None:
    stream = io.StringIO()
    with build_stack(tmp_path, log_level="DEBUG") as stack:
        configure_logging(stack.settings, stream=stream)
        # A response_url shaped as Slack's, served by the stand-in.
        secret = "AbCdEfGhIjKlMnOpQrStUvWx"
        name = f"commands/T0DYNAMOTE/3977594927231/{secret}"
        command = slash_command(f"help\n{FORGED}", response_url=stack.slack.response_url(name))

        status, _, _ = stack.post(command)
        stack.replies(name)

    output = stream.getvalue()
    assert status == 200
    assert "slack_sdk.webhook" in output  # the reply's DEBUG lines were logged...
    assert secret not in output, output  # ...without the capability in the URL
    lines = output.splitlines()
    assert not any(line.startswith(FORGED) for line in lines)
    assert all(line[:4].isdigit() or line.startswith("    ") for line in lines), lines
