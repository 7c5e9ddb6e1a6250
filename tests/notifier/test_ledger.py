"""The card ledger: a DGD deleted while no bot runs is still announced, once, by the next one.

Against the Kubernetes stand-in (the ledger is a real ConfigMap) and the Slack stand-in.
"""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Callable
from typing import Any

import pytest

from bot.cluster import Cluster
from bot.notifier.controller import Notifier
from bot.notifier.ledger import LEDGER_KEY, MAX_BYTES, CardLedger, decode_cards, encode_cards
from bot.sim.k8s.standin import StandIn
from bot.sim.slack.web_api import SlackStandIn
from tests.notifier.conftest import CHANNEL, NAMESPACE, Bot, replies

LEDGER = "dynamote-notifier-cards"
Deploy = Callable[..., tuple[dict[str, Any], str]]


def _restarted(bot: Bot) -> Notifier:
    """A notifier as a freshly started bot has it: empty memory, the ledger in the cluster."""
    return bot.notifier(ledger=CardLedger(bot.cluster, namespace=NAMESPACE, name=LEDGER))


def _stored(cluster: Cluster) -> dict[str, str]:
    config_map = cluster.get_config_map(NAMESPACE, LEDGER)
    return decode_cards(config_map["binaryData"][LEDGER_KEY])


def test_a_deletion_while_no_bot_runs_is_announced_once_by_the_next_bot(
    bot: Bot, deploy: Deploy, slack: SlackStandIn, standin: StandIn
) -> None:
    dgd, card = deploy("qwen")
    _restarted(bot).sweep()
    assert dgd["metadata"]["uid"] in _stored(bot.cluster)

    # The bot is down; someone deletes the deployment with kubectl.
    standin.store.delete("dynamographdeployments", NAMESPACE, "qwen")

    after = _restarted(bot)
    report = after.sweep()
    assert report.errors == ()
    [reply] = [r for r in replies(slack, card) if "Deleted" in r["text"]]
    assert reply["text"] == "qwen: Deleted outside Dynamote (kubectl?)"
    final = slack.message(CHANNEL, card)
    assert final is not None and "Deleted" in str(final["blocks"])
    assert dgd["metadata"]["uid"] not in _stored(bot.cluster)

    after.sweep()
    _restarted(bot).sweep()  # and another restart: the ledger no longer lists it
    assert len([r for r in replies(slack, card) if "Deleted" in r["text"]]) == 1


def test_a_name_reused_while_no_bot_runs_announces_the_old_one_only(
    bot: Bot, deploy: Deploy, slack: SlackStandIn, standin: StandIn
) -> None:
    _, old_card = deploy("qwen")
    _restarted(bot).sweep()
    standin.store.delete("dynamographdeployments", NAMESPACE, "qwen")
    new, new_card = deploy("qwen")

    _restarted(bot).sweep()

    assert [r["text"] for r in replies(slack, old_card) if "Deleted" in r["text"]] == [
        "qwen: Deleted outside Dynamote (kubectl?)"
    ]
    assert not [r for r in replies(slack, new_card) if "Deleted" in r["text"]]
    assert list(_stored(bot.cluster)) == [new["metadata"]["uid"]]


def test_a_deletion_seen_by_the_watch_is_not_announced_again_after_a_restart(
    bot: Bot, deploy: Deploy, slack: SlackStandIn, standin: StandIn
) -> None:
    _, card = deploy("qwen")
    running = _restarted(bot)
    running.sweep()
    gone = standin.store.delete("dynamographdeployments", NAMESPACE, "qwen")
    running.on_deleted(gone)  # announced and the ledger saved at once, not a sweep later

    _restarted(bot).sweep()

    assert len([r for r in replies(slack, card) if "Deleted" in r["text"]]) == 1


def test_a_damaged_ledger_is_replaced_and_nothing_breaks(
    bot: Bot, deploy: Deploy, slack: SlackStandIn
) -> None:
    dgd, _ = deploy("qwen")
    bot.cluster.create_config_map(
        NAMESPACE,
        {
            "metadata": {"name": LEDGER},
            "binaryData": {LEDGER_KEY: base64.b64encode(b"junk").decode()},
        },
    )
    report = _restarted(bot).sweep()
    assert report.errors == ()
    assert list(_stored(bot.cluster)) == [dgd["metadata"]["uid"]]
    assert not [r for r in replies(slack) if "Deleted" in r["text"]]


def test_two_leaders_writing_the_ledger_get_conflict_and_read_again(
    bot: Bot, deploy: Deploy, slack: SlackStandIn
) -> None:
    dgd, _ = deploy("qwen")
    first, second = _restarted(bot), _restarted(bot)
    first.sweep()
    second.sweep()  # read the ledger first wrote: nothing to announce, nothing to write
    deploy("other")
    first.sweep()  # writes; second's resourceVersion is now stale
    assert second.sweep().errors == ()  # Conflict: read again next sweep, no error
    assert second.sweep().errors == ()
    assert dgd["metadata"]["uid"] in _stored(bot.cluster)
    assert not [r for r in replies(slack) if "Deleted" in r["text"]]


def test_the_ledger_is_written_only_when_the_cards_change(
    bot: Bot, deploy: Deploy, standin: StandIn
) -> None:
    deploy("qwen")
    notifier = _restarted(bot)
    notifier.sweep()

    def writes() -> int:
        calls = standin.api_calls()
        return calls[("update", "configmaps")] + calls[("create", "configmaps")]

    before = writes()
    notifier.sweep()
    notifier.sweep()
    assert writes() == before
    deploy("other")
    notifier.sweep()
    notifier.sweep()
    assert writes() == before + 1


# --- the encoding --------------------------------------------------------------------------


def test_cards_round_trip_and_ten_thousand_fit_with_room_to_spare() -> None:
    cards = {
        f"0f8e{i:04x}-7c1d-4a3b-9e2f-{i * 7919:012x}": json.dumps(
            [
                "team-a",
                f"qwen3-{i}",
                f"C0{i % 40:07d}",
                f"17{i:08d}.{i * 31 % 999999:06d}",
                f"U0{i % 300:07d}",
                None,
                "Qwen/Qwen3-0.6B",
                "vllm",
            ],
            separators=(",", ":"),
        )
        for i in range(10_000)
    }
    encoded = encode_cards(cards)
    assert decode_cards(encoded) == cards
    assert len(encoded) < MAX_BYTES / 2, len(encoded)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "!!!",
        base64.b64encode(b"not gzip").decode(),
        base64.b64encode(gzip.compress(b"[1]", mtime=0)).decode(),  # same id in every worker
    ],
)
def test_a_damaged_value_reads_as_no_cards(value: str) -> None:
    assert decode_cards(value) == {}
