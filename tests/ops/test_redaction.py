"""The one redactor: what it replaces, what it leaves, and the places cluster text goes through
it before Slack (status reasons and conditions, API errors, log tails) and logs."""

from __future__ import annotations

import io
import logging

import pytest

from bot.blocks.notifications import MAX_LOG_LINE, trim_log
from bot.cluster.errors import _server_message
from bot.domain.status import compute_status
from bot.domain.status.spec import conditions_of
from bot.ops.logs import RedactingFilter
from bot.ops.redaction import REDACTED, redact
from tests.domain.test_status import make_dgd, make_pod

# Made-up values in the shapes the real services issue.
HF = "hf_" + "AbCdEfGhIjKlMnOpQrStUvWx12"
XOXB = "xoxb-" + "1234567890-0987654321-AbCdEfGhIjKl"
XAPP = "xapp-" + "1-A0123456789-0123456789012-abcdef"
AWS = "AKIA" + "ABCDEFGHIJKLMNOP"
GH = "ghp_" + "A" * 36


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"token {HF} loaded", "token  loaded"),
        (f"bot {XOXB}", "bot "),
        (f"app {XAPP}", "app "),
        (f"HF_TOKEN={HF}", "HF_TOKEN="),
        ("SLACK_BOT_TOKEN=abc123secret", "SLACK_BOT_TOKEN="),
        ("DB_PASSWORD: hunter22", "DB_PASSWORD: "),
        ('{"api_key": "k-123456"}', '{"api_key": ""}'),
        ("client_secret=zzz9", "client_secret="),
        ("Authorization: Bearer abc.def.ghi", "Authorization: Bearer "),
        (
            "dynamo.vllm --hf-token abc123 --max-num-seqs 4",
            "dynamo.vllm --hf-token  --max-num-seqs 4",
        ),
        (f"aws {AWS} key", "aws  key"),
        (f"gh {GH}", "gh "),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", ""),
        ("https://hooks.slack.com/services/T0/B0/abc", "https://hooks.slack.com/"),  # host kept
    ],
)
def test_tokens_and_secret_assignments_are_replaced(text: str, kept: str) -> None:
    cleaned = redact(text)
    assert REDACTED in cleaned
    assert cleaned.replace(REDACTED, "") == kept


@pytest.mark.parametrize(
    "text",
    [
        "max_num_batched_tokens=2048",
        "num_tokens: 5",
        'Error: secret "hf-token-secret" not found',
        "x-oauth-scopes: chat:write,commands",
        "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
        "tokenizer_mode=auto",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_given_secret_values_are_replaced_by_value_when_long_enough() -> None:
    assert redact("sig s3cr3t-signing and abc", ["s3cr3t-signing", "abc"]) == (
        f"sig {REDACTED} and abc"
    )


def test_a_log_tail_is_redacted_before_it_is_cut() -> None:
    # The token sits past the line limit's cut: redacting after the cut would miss its tail.
    line = "x" * (MAX_LOG_LINE - 10) + f" HF_TOKEN={HF}"
    tail = trim_log(f"start\n{line}\nend {XOXB}\n")
    assert HF[:8] not in tail and "xoxb-" not in tail
    assert tail.endswith(f"end {REDACTED}")


def test_status_reasons_and_conditions_from_the_cluster_are_redacted() -> None:
    pod = make_pod(
        "qwen-vllmdecodeworker-0-b",
        waiting="CreateContainerConfigError",
        waiting_message=f"invalid env HF_TOKEN={HF}",
    )
    dgd = make_dgd("v1beta1", ready="False", ready_reason="x", ready_message=f"worker said {XOXB}")
    status = compute_status(dgd, [pod])
    assert HF not in status.reason and REDACTED in status.reason
    (condition,) = conditions_of(dgd["status"]["conditions"])
    assert condition.message == f"worker said {REDACTED}"


def test_condition_messages_are_redacted_each_time_short_or_long() -> None:
    # Short messages are remembered once redacted (most DGDs share them); long ones are not.
    short = [{"type": "Ready", "status": "False", "message": f"worker said {XOXB}"}]
    long = [{"type": "Ready", "status": "False", "message": "x " * 400 + f"HF_TOKEN={HF}"}]
    for _ in range(2):
        assert conditions_of(short)[0].message == f"worker said {REDACTED}"
        (condition,) = conditions_of(long)
        assert HF not in condition.message and condition.message.endswith(REDACTED)


def test_an_api_servers_message_is_redacted() -> None:
    assert _server_message({"message": f"bad value {HF}"}) == f"bad value {REDACTED}"


def test_log_records_go_through_the_same_redactor() -> None:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    log = logging.getLogger("tests.redaction")
    log.addHandler(handler)
    try:
        log.warning("worker printed DB_PASSWORD=%s and %s", "hunter22", AWS)
    finally:
        log.removeHandler(handler)
    assert out.getvalue().strip() == f"worker printed DB_PASSWORD={REDACTED} and {REDACTED}"
