"""Slash-command text parses into commands; typos get the closest subcommand."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.commands import (
    Cluster,
    CommandError,
    Delete,
    Deploy,
    Help,
    ListDeployments,
    Models,
    Status,
    parse_command,
    subcommand_of,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("models", Models()),
        ("models llama vllm", Models(("llama",), "vllm")),
        ("models TRTLLM", Models((), "trtllm")),
        ("deploy qwen3 0.6b", Deploy(("qwen3", "0.6b"))),
        ("deploy", Deploy()),
        ("list", ListDeployments("mine")),
        ("list all", ListDeployments("all")),
        ("list mine -n team-a", ListDeployments("mine", "team-a")),
        ("list --namespace=team-b", ListDeployments("mine", "team-b")),
        ("status qwen3-0-6b", Status("qwen3-0-6b")),
        ("status qwen3-0-6b -n team-a", Status("qwen3-0-6b", "team-a")),
        ("status", Status(None)),  # the person's latest deployment
        ("delete -n team-a qwen3-0-6b", Delete("qwen3-0-6b", "team-a")),
        ("cluster", Cluster()),
        ("LIST ALL", ListDeployments("all")),
    ],
)
def test_commands_parse(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("lsit", "list"), ("stauts x", "status"), ("modles", "models"), ("xyzzy", None)],
)
def test_an_unknown_subcommand_gets_help_with_the_closest_match(
    text: str, suggestion: str | None
) -> None:
    parsed = parse_command(text)
    assert isinstance(parsed, Help)
    assert parsed.unknown == text.split(maxsplit=1)[0]
    assert parsed.suggestion == suggestion


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("delete", "give the deployment's name. Usage: `/dynamote delete NAME"),
        ("delete a b", "give one name"),
        ("status a b", "give one name. Usage: `/dynamote status [NAME]"),
        ("status x -n", "-n needs a namespace"),
        ("list everything", "is not mine or all"),
        ("list --force", "unknown option `--force`"),
        ("cluster now", "takes no arguments"),
        ("x" * 600, "a command is shorter"),
    ],
)
def test_malformed_commands_say_how_to_write_them(text: str, fragment: str) -> None:
    with pytest.raises(CommandError, match=None) as info:
        parse_command(text)
    assert fragment in str(info.value)


def test_the_configured_command_name_appears_in_usage() -> None:
    with pytest.raises(CommandError, match="`/llm delete NAME"):
        parse_command("delete", command="/llm")


def test_unbalanced_quotes_fall_back_to_plain_words() -> None:
    assert parse_command('deploy "qwen3') == Deploy(('"qwen3',))


@given(st.text(max_size=600))
def test_any_text_parses_or_raises_command_error(text: str) -> None:
    try:
        parsed = parse_command(text)
    except CommandError:
        return
    assert subcommand_of(parsed) in {
        "help",
        "models",
        "deploy",
        "list",
        "status",
        "delete",
        "cluster",
    }
