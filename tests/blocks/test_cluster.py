"""``/dynamote cluster``."""

from __future__ import annotations

import re

from bot.blocks.cluster import build_cluster_status
from tests.blocks.conftest import NASTY, fits_message, shown_text


def test_a_healthy_cluster_shows_version_dgd_versions_and_namespaces() -> None:
    message = build_cluster_status(
        reachable=True,
        server_version="v1.32.1",
        dgd_versions=["nvidia.com/v1beta1", "nvidia.com/v1alpha1"],
        namespaces=["dynamo-system", "team-a"],
        error=None,
        writes="nvidia.com/v1beta1",
    )
    text = shown_text(fits_message(message))
    for part in (
        "Reachable",
        "v1.32.1",
        "`nvidia.com/v1beta1`",
        "`nvidia.com/v1alpha1`",
        "`dynamo-system`",
        "`team-a`",
    ):
        assert part in text
    assert "not installed" not in text
    assert message.text == "The cluster is reachable and ready"
    # The operator's API versions are not Dynamo releases: said as the operator's.
    assert "*Dynamo operator*\ninstalled (API `nvidia.com/v1beta1`, `nvidia.com/v1alpha1`)" in text
    assert "DynamoGraphDeployment" not in text


def test_an_unreachable_cluster_says_why_and_what_to_do() -> None:
    message = build_cluster_status(
        reachable=False, server_version=None, dgd_versions=[], namespaces=[], error="timed out"
    )
    text = shown_text(fits_message(message))
    assert "not reachable" in text
    assert "timed out" in text
    assert "platform team" in text
    assert "doctor" not in text  # a command for whoever runs the bot, not for its users


def test_a_cluster_without_the_operator_says_nothing_can_be_deployed() -> None:
    message = build_cluster_status(
        reachable=True, server_version="v1.30", dgd_versions=[], namespaces=["a"], error=None
    )
    text = shown_text(fits_message(message))
    assert "not installed" in text
    assert "operator" in message.text


def test_an_operator_serving_no_version_dynamote_writes_is_not_ready() -> None:
    message = build_cluster_status(
        reachable=True,
        server_version="v1.32",
        dgd_versions=["nvidia.com/v2"],
        namespaces=["a"],
        error="The Dynamo operator is not installed in this cluster: no API serves it in a "
        "version Dynamote can write (served: nvidia.com/v2).",
        writes=None,
    )
    text = shown_text(fits_message(message))
    assert "(served: nvidia.com/v2)" in text
    assert message.text == "The cluster is reachable and missing a Dynamo operator Dynamote can use"


def test_many_namespaces_and_nasty_values_are_bounded() -> None:
    message = build_cluster_status(
        reachable=True,
        server_version=NASTY * 20,
        dgd_versions=[NASTY] * 50,
        namespaces=[f"{NASTY}-{i}" for i in range(1000)],
        error=NASTY * 100,
    )
    text = shown_text(fits_message(message))
    assert re.search(r"and \d+ more", text)


def test_forty_namespaces_are_listed_and_the_rest_counted() -> None:
    message = build_cluster_status(
        reachable=True,
        server_version="v1.32",
        dgd_versions=["nvidia.com/v1beta1"],
        namespaces=[f"team-{i}" for i in range(1000)],
        error=None,
    )
    text = shown_text(fits_message(message))
    assert "`team-39`" in text
    assert "`team-40`" not in text
    assert "and 960 more" in text
