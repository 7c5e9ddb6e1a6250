"""The help reply."""

from __future__ import annotations

from bot.blocks.help import SUBCOMMANDS, build_help
from bot.blocks.ids import ACTION_BROWSE_MODELS, ACTION_MY_DEPLOYMENTS, ACTION_OPEN_DEPLOY
from tests.blocks.conftest import NASTY, fits_message


def all_text(payload: dict[str, object]) -> str:
    return str(payload["blocks"])


def test_help_lists_every_subcommand_with_the_real_command_name() -> None:
    payload = fits_message(build_help("/llm"))
    text = all_text(payload)
    for usage, _ in SUBCOMMANDS:
        assert f"`/llm {usage}`" in text
    assert {u.split()[0] for u, _ in SUBCOMMANDS} == {
        "help",
        "models",
        "deploy",
        "list",
        "status",
        "delete",
        "scale",
        "cluster",
    }


def test_help_has_the_three_buttons() -> None:
    payload = fits_message(build_help("/dynamote"))
    actions = [b for b in payload["blocks"] if b["type"] == "actions"]
    buttons = actions[0]["elements"]
    assert [b["action_id"] for b in buttons] == [
        ACTION_BROWSE_MODELS,
        ACTION_OPEN_DEPLOY,
        ACTION_MY_DEPLOYMENTS,
    ]
    assert "value" not in buttons[1]  # Deploy without a model: an empty value is left out


def test_an_unknown_subcommand_comes_first_with_the_suggestion() -> None:
    message = build_help("/dynamote", unknown="lsit", suggestion="list")
    payload = fits_message(message)
    first = payload["blocks"][0]["text"]["text"]
    assert "`lsit` is not a command" in first
    assert "Did you mean `/dynamote list`?" in first
    assert "lsit" in message.text


def test_an_unknown_subcommand_without_a_suggestion_just_says_so() -> None:
    first = fits_message(build_help("/dynamote", unknown="zzz"))["blocks"][0]["text"]["text"]
    assert "`zzz` is not a command." in first
    assert "Did you mean" not in first


def test_a_nasty_unknown_word_is_escaped_and_trimmed() -> None:
    payload = fits_message(build_help("/dynamote", unknown=NASTY * 20))
    first = payload["blocks"][0]["text"]["text"]
    assert "<@U999>" not in first
    assert len(first) < 200
