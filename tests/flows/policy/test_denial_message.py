"""The denial message keeps the policy's mentions live and escapes everything else."""

from __future__ import annotations

from bot.blocks.policy import build_denial
from bot.domain.policy import Decision


def test_mentions_of_admins_groups_and_channels_stay_clickable() -> None:
    decision = Decision(False, "Use <#C0DEPLOYS>.", "ask an admin: <@U0ADMIN>, <!subteam^S0OPS>")
    text = build_denial(decision).blocks[0].to_dict()["text"]["text"]
    assert "<#C0DEPLOYS>" in text and "<@U0ADMIN>" in text and "<!subteam^S0OPS>" in text


def test_anything_else_that_looks_like_markup_is_escaped() -> None:
    decision = Decision(False, "Slack answered <!channel> & <https://evil|x>", "")
    message = build_denial(decision)
    text = message.blocks[0].to_dict()["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text and "&amp;" in text
    assert "<!channel>" not in message.text
