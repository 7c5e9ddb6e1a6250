"""The deploy modal after submit: deploying, done, failed."""

from __future__ import annotations

from bot.blocks.deploy_form import (
    ModalMetadata,
)
from bot.blocks.deploy_result import (
    build_deploy_done_view,
    build_deploy_failed_view,
    build_deploying_view,
)
from bot.blocks.ids import CALLBACK_DEPLOYING
from tests.blocks.conftest import NASTY, fits_view, shown_text

META = ModalMetadata("U1", "C1", 2)


def test_deploying_has_a_spinner_no_inputs_and_a_close_button() -> None:
    view = fits_view(build_deploying_view("qwen", "team-a", META))
    assert view["callback_id"] == CALLBACK_DEPLOYING
    assert view["title"]["text"] == "Deploying…"
    assert view["close"]["text"] == "Close"
    assert "submit" not in view
    assert all(b["type"] != "input" for b in view["blocks"])
    assert ":hourglass_flowing_sand:" in shown_text(view)
    assert ModalMetadata.from_json(view["private_metadata"]) == META


def test_done_says_where_progress_is_posted() -> None:
    view = fits_view(build_deploy_done_view("qwen", "team-a", channel_id="C9", metadata=META))
    text = shown_text(view)
    assert "*qwen* in `team-a`" in text
    assert "Progress is posted in <#C9>, and its thread follows every change" in text
    assert "Running" in text
    assert "status card" not in text


def test_done_without_a_channel_points_at_the_dm() -> None:
    view = fits_view(build_deploy_done_view("qwen", "team-a", channel_id=None, metadata=META))
    assert "direct message" in shown_text(view)


def test_failed_lists_the_reasons_and_what_to_do() -> None:
    view = fits_view(
        build_deploy_failed_view(
            "qwen", "team-a", problems=["name taken", "spec.x: <bad>"], metadata=META
        )
    )
    text = shown_text(view)
    assert "• name taken" in text
    assert "• spec.x: &lt;bad&gt;" in text
    assert "open the form again" in text
    assert "submit" not in view


def test_failed_without_reasons_still_explains() -> None:
    view = fits_view(build_deploy_failed_view("qwen", "ns", problems=[], metadata=META))
    assert "no reason" in shown_text(view)


def test_many_long_nasty_problems_fit() -> None:
    view = fits_view(
        build_deploy_failed_view(
            NASTY * 10, NASTY * 10, problems=[NASTY * 100] * 500, metadata=META
        )
    )
    assert "… and 480 more" in shown_text(view)
