"""Block Kit limit checks: for each rule, a payload just within it passes and one just past it
is reported at the right JSON pointer; plus views and messages built with slack_sdk.models."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import pytest
from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.limits import check_message, check_view

Json = dict[str, Any]


def plain(text: str) -> Json:
    return {"type": "plain_text", "text": text}


def mrkdwn(text: str) -> Json:
    return {"type": "mrkdwn", "text": text}


def section(text: str = "x", **extra: Any) -> Json:
    return {"type": "section", "text": mrkdwn(text), **extra}


def fields(count: int, chars: int = 1) -> Json:
    return {"type": "section", "fields": [mrkdwn("f" * chars)] * count}


def option(text: Json | None = None, value: str = "v", **extra: Any) -> Json:
    return {"text": text or plain("o"), "value": value, **extra}


def button(text: Json | None = None, **extra: Any) -> Json:
    return {"type": "button", "action_id": "b", "text": text or plain("Go"), **extra}


def confirm(**overrides: Any) -> Json:
    return {
        "title": plain("Delete?"),
        "text": plain("This frees 8 GPUs."),
        "confirm": plain("Delete"),
        "deny": plain("Keep"),
    } | overrides


def actions(*elements: Json) -> Json:
    return {"type": "actions", "elements": list(elements)}


def accessory(element: Json) -> Json:
    return section(accessory=element)


def choices(kind: str, options: list[Json], **extra: Any) -> Json:
    return {"type": kind, "action_id": "c", "options": options, **extra}


def text_input(**extra: Any) -> Json:
    return {"type": "plain_text_input", "action_id": "t", **extra}


def input_block(element: Json | None = None, **extra: Any) -> Json:
    return {"type": "input", "label": plain("Name"), "element": element or text_input(), **extra}


def modal(*blocks: Json, **overrides: Any) -> Json:
    view = {"type": "modal", "title": plain("Deploy"), "submit": plain("Deploy")}
    return view | {"blocks": list(blocks)} | overrides


def home(*blocks: Json, **overrides: Any) -> Json:
    return {"type": "home", "blocks": list(blocks)} | overrides


def message(*blocks: Json, **overrides: Any) -> Json:
    return {"text": "fallback", "blocks": list(blocks)} | overrides


def in_message(block: Json) -> Callable[[], list[str]]:
    return lambda: check_message(message(block))


class Case(NamedTuple):
    check: Callable[[Mapping[str, Any]], list[str]]
    within: Json
    past: Json
    pointer: str  # where the violation in `past` is reported


def msg(block_within: Json, block_past: Json, pointer: str) -> Case:
    return Case(check_message, message(block_within), message(block_past), pointer)


def mod(block_within: Json, block_past: Json, pointer: str) -> Case:
    return Case(check_view, modal(block_within), modal(block_past), pointer)


CASES = {
    # counts of blocks and items
    "50 blocks per message": Case(
        check_message,
        message(*[{"type": "divider"}] * 50),
        message(*[{"type": "divider"}] * 51),
        "/blocks:",
    ),
    "100 blocks per modal": Case(
        check_view,
        modal(*[{"type": "divider"}] * 100),
        modal(*[{"type": "divider"}] * 101),
        "/blocks:",
    ),
    "100 blocks per home tab": Case(
        check_view,
        home(*[{"type": "divider"}] * 100),
        home(*[{"type": "divider"}] * 101),
        "/blocks:",
    ),
    "10 fields per section": msg(fields(10), fields(11), "/blocks/0/fields:"),
    "10 context elements": msg(
        {"type": "context", "elements": [mrkdwn("c")] * 10},
        {"type": "context", "elements": [mrkdwn("c")] * 11},
        "/blocks/0/elements:",
    ),
    "25 actions elements": msg(
        actions(*[button(action_id=f"b{i}") for i in range(25)]),
        actions(*[button(action_id=f"b{i}") for i in range(26)]),
        "/blocks/0/elements:",
    ),
    "10 radio buttons": mod(
        input_block(choices("radio_buttons", [option(value=str(i)) for i in range(10)])),
        input_block(choices("radio_buttons", [option(value=str(i)) for i in range(11)])),
        "/blocks/0/element/options:",
    ),
    "10 checkboxes": mod(
        input_block(choices("checkboxes", [option(value=str(i)) for i in range(10)])),
        input_block(choices("checkboxes", [option(value=str(i)) for i in range(11)])),
        "/blocks/0/element/options:",
    ),
    "100 static select options": mod(
        input_block(choices("static_select", [option(value=str(i)) for i in range(100)])),
        input_block(choices("static_select", [option(value=str(i)) for i in range(101)])),
        "/blocks/0/element/options:",
    ),
    "5 overflow options": msg(
        accessory(choices("overflow", [option()] * 5)),
        accessory(choices("overflow", [option()] * 6)),
        "/blocks/0/accessory/options:",
    ),
    # text lengths in blocks
    "section text 3000": msg(section("s" * 3000), section("s" * 3001), "/blocks/0/text/text:"),
    "section text not empty": msg(section("s"), section(""), "/blocks/0/text/text:"),
    "section field 2000": msg(fields(1, 2000), fields(1, 2001), "/blocks/0/fields/0/text:"),
    "section needs text or fields": msg(section(), {"type": "section"}, "/blocks/0:"),
    "header 150": msg(
        {"type": "header", "text": plain("h" * 150)},
        {"type": "header", "text": plain("h" * 151)},
        "/blocks/0/text/text:",
    ),
    "header plain_text only": msg(
        {"type": "header", "text": plain("h")},
        {"type": "header", "text": mrkdwn("h")},
        "/blocks/0/text/type:",
    ),
    "text object type known": msg(
        section(),
        {"type": "section", "text": {"type": "html", "text": "x"}},
        "/blocks/0/text/type:",
    ),
    "image alt_text required": msg(
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
        {"type": "image", "image_url": "https://x/y.png"},
        "/blocks/0/alt_text:",
    ),
    # options
    "option text 75": mod(
        input_block(choices("static_select", [option(plain("o" * 75))])),
        input_block(choices("static_select", [option(plain("o" * 76))])),
        "/blocks/0/element/options/0/text/text:",
    ),
    "option value 150": mod(
        input_block(choices("radio_buttons", [option(value="v" * 150)])),
        input_block(choices("radio_buttons", [option(value="v" * 151)])),
        "/blocks/0/element/options/0/value:",
    ),
    "option description 75": mod(
        input_block(choices("radio_buttons", [option(description=plain("d" * 75))])),
        input_block(choices("radio_buttons", [option(description=plain("d" * 76))])),
        "/blocks/0/element/options/0/description/text:",
    ),
    "select option text plain_text only": mod(
        input_block(choices("radio_buttons", [option(mrkdwn("*vLLM*"))])),
        input_block(choices("static_select", [option(mrkdwn("*vLLM*"))])),
        "/blocks/0/element/options/0/text/type:",
    ),
    "option group label 75": mod(
        input_block(
            {
                "type": "static_select",
                "action_id": "s",
                "option_groups": [{"label": plain("g" * 75), "options": [option()]}],
            }
        ),
        input_block(
            {
                "type": "static_select",
                "action_id": "s",
                "option_groups": [{"label": plain("g" * 76), "options": [option()]}],
            }
        ),
        "/blocks/0/element/option_groups/0/label/text:",
    ),
    "select placeholder 150": mod(
        input_block(choices("static_select", [option()], placeholder=plain("p" * 150))),
        input_block(choices("static_select", [option()], placeholder=plain("p" * 151))),
        "/blocks/0/element/placeholder/text:",
    ),
    # buttons and confirm dialogs
    "button text 75": msg(
        actions(button(plain("b" * 75))),
        actions(button(plain("b" * 76))),
        "/blocks/0/elements/0/text/text:",
    ),
    "button text plain_text only": msg(
        actions(button(plain("Go"))),
        actions(button(mrkdwn("Go"))),
        "/blocks/0/elements/0/text/type:",
    ),
    "button value 2000": msg(
        actions(button(value="v" * 2000)),
        actions(button(value="v" * 2001)),
        "/blocks/0/elements/0/value:",
    ),
    "button style primary or danger": msg(
        actions(button(style="danger")),
        actions(button(style="warning")),
        "/blocks/0/elements/0/style:",
    ),
    "confirm title 100": msg(
        actions(button(confirm=confirm(title=plain("t" * 100)))),
        actions(button(confirm=confirm(title=plain("t" * 101)))),
        "/blocks/0/elements/0/confirm/title/text:",
    ),
    "confirm text 300": msg(
        actions(button(confirm=confirm(text=mrkdwn("t" * 300)))),
        actions(button(confirm=confirm(text=mrkdwn("t" * 301)))),
        "/blocks/0/elements/0/confirm/text/text:",
    ),
    "confirm button 30": msg(
        actions(button(confirm=confirm(confirm=plain("c" * 30)))),
        actions(button(confirm=confirm(confirm=plain("c" * 31)))),
        "/blocks/0/elements/0/confirm/confirm/text:",
    ),
    "deny button 30": msg(
        actions(button(confirm=confirm(deny=plain("d" * 30)))),
        actions(button(confirm=confirm(deny=plain("d" * 31)))),
        "/blocks/0/elements/0/confirm/deny/text:",
    ),
    "confirm needs all four fields": msg(
        actions(button(confirm=confirm())),
        actions(button(confirm={k: v for k, v in confirm().items() if k != "deny"})),
        "/blocks/0/elements/0/confirm/deny: required",
    ),
    "confirm style primary or danger": msg(
        actions(button(confirm=confirm(style="danger"))),
        actions(button(confirm=confirm(style="red"))),
        "/blocks/0/elements/0/confirm/style:",
    ),
    # inputs
    "input label 2000": mod(
        input_block(label=plain("l" * 2000)),
        input_block(label=plain("l" * 2001)),
        "/blocks/0/label/text:",
    ),
    "input label plain_text only": mod(
        input_block(label=plain("Name")), input_block(label=mrkdwn("Name")), "/blocks/0/label/type:"
    ),
    "input hint 2000": mod(
        input_block(hint=plain("h" * 2000)),
        input_block(hint=plain("h" * 2001)),
        "/blocks/0/hint/text:",
    ),
    "input element of an input type": mod(
        input_block(text_input()), input_block(button()), "/blocks/0/element/type:"
    ),
    "min_length 0..3000": mod(
        input_block(text_input(min_length=3000)),
        input_block(text_input(min_length=3001)),
        "/blocks/0/element/min_length:",
    ),
    "min_length not negative": mod(
        input_block(text_input(min_length=0)),
        input_block(text_input(min_length=-1)),
        "/blocks/0/element/min_length:",
    ),
    "max_length at least 1": mod(
        input_block(text_input(max_length=1)),
        input_block(text_input(max_length=0)),
        "/blocks/0/element/max_length:",
    ),
    "max_length at most 3000": mod(
        input_block(text_input(max_length=3000)),
        input_block(text_input(max_length=3001)),
        "/blocks/0/element/max_length:",
    ),
    "context elements are images or text": msg(
        {"type": "context", "elements": [plain("p"), mrkdwn("m")]},
        {"type": "context", "elements": [button()]},
        "/blocks/0/elements/0/type:",
    ),
    # ids
    "block_id 255": msg(
        section(block_id="b" * 255), section(block_id="b" * 256), "/blocks/0/block_id:"
    ),
    "block_id unique in a message": Case(
        check_message,
        message(section(block_id="a"), section(block_id="b")),
        message(section(block_id="a"), section(block_id="a")),
        "/blocks/1/block_id:",
    ),
    "block_id unique in a view": Case(
        check_view,
        modal(section(block_id="a"), section(block_id="b")),
        modal(section(block_id="a"), section(block_id="a")),
        "/blocks/1/block_id:",
    ),
    "action_id 255": msg(
        actions(button(action_id="a" * 255)),
        actions(button(action_id="a" * 256)),
        "/blocks/0/elements/0/action_id:",
    ),
    "action_id unique in its block": Case(
        check_message,
        message(actions(button(action_id="a")), actions(button(action_id="a"))),
        message(actions(button(action_id="a"), button(action_id="a"))),
        "/blocks/0: action_id 'a'",
    ),
    # views
    "modal title 24": Case(
        check_view, modal(title=plain("t" * 24)), modal(title=plain("t" * 25)), "/title/text:"
    ),
    "modal title required": Case(
        check_view, modal(), {k: v for k, v in modal().items() if k != "title"}, "/title: required"
    ),
    "modal title plain_text only": Case(
        check_view, modal(title=plain("Deploy")), modal(title=mrkdwn("Deploy")), "/title/type:"
    ),
    "modal submit 24": Case(
        check_view, modal(submit=plain("s" * 24)), modal(submit=plain("s" * 25)), "/submit/text:"
    ),
    "modal submit plain_text only": Case(
        check_view, modal(submit=plain("Go")), modal(submit=mrkdwn("Go")), "/submit/type:"
    ),
    "modal close 24": Case(
        check_view, modal(close=plain("c" * 24)), modal(close=plain("c" * 25)), "/close/text:"
    ),
    "modal close plain_text only": Case(
        check_view, modal(close=plain("Cancel")), modal(close=mrkdwn("Cancel")), "/close/type:"
    ),
    "submit with input blocks": Case(
        check_view,
        modal(input_block()),
        {k: v for k, v in modal(input_block()).items() if k != "submit"},
        "/submit: required when",
    ),
    "home tab without submit": Case(
        check_view, home(), home(submit=plain("Go")), "/submit: not allowed"
    ),
    "home tab without close": Case(
        check_view, home(), home(close=plain("Close")), "/close: not allowed"
    ),
    "private_metadata 3000": Case(
        check_view,
        modal(private_metadata="m" * 3000),
        modal(private_metadata="m" * 3001),
        "/private_metadata:",
    ),
    "callback_id 255": Case(
        check_view, modal(callback_id="c" * 255), modal(callback_id="c" * 256), "/callback_id:"
    ),
    "external_id 255": Case(
        check_view, modal(external_id="e" * 255), modal(external_id="e" * 256), "/external_id:"
    ),
    "view type modal or home": Case(check_view, modal(), modal(type="workflow_step"), "/type:"),
    "view size 250 KB": Case(
        check_view,
        home(*[section("s" * 3000)] * 75),
        home(*[section("s" * 3000)] * 90),
        "/: ",
    ),
    # messages as a whole
    "message block text 12000": Case(
        check_message,
        message(*[section("s" * 3000)] * 4),
        message(*[section("s" * 3000)] * 4, section("s")),
        "/blocks: 12001 characters",
    ),
    "message text fallback": Case(
        check_message, message(section()), message(section(), text=""), "/text: missing"
    ),
    "message text 40000": Case(
        check_message, {"text": "t" * 40_000}, {"text": "t" * 40_001}, "/text:"
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_payload_within_the_limit_passes(case: Case) -> None:
    assert case.check(case.within) == []


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_payload_past_the_limit_is_reported_where_it_breaks_it(case: Case) -> None:
    problems = case.check(case.past)
    assert len(problems) == 1, problems
    assert problems[0].startswith(case.pointer)


def test_a_message_without_blocks_needs_no_checks_beyond_its_text() -> None:
    assert check_message({"text": "plain message"}) == []


def test_a_markdown_block_past_12000_characters_is_reported_with_the_message_total() -> None:
    within = message({"type": "markdown", "text": "m" * 12_000})
    past = message({"type": "markdown", "text": "m" * 12_001})
    assert check_message(within) == []
    assert [problem.split(":")[0] for problem in check_message(past)] == [
        "/blocks/0/text",
        "/blocks",
    ]


def test_unknown_block_types_pass_so_new_slack_features_are_not_false_alarms() -> None:
    assert check_message(message({"type": "rich_text", "elements": []}, {"type": "video"})) == []


def test_malformed_payloads_are_reported_not_raised() -> None:
    assert check_message({"text": "x", "blocks": "[not json"}) == ["/blocks: must be a list"]
    assert check_message(message("divider"))[0].startswith("/blocks/0: must be an object")  # type: ignore[arg-type]
    assert "/blocks/0/fields: must be a list" in check_view(modal(section(fields="no")))


def test_every_violation_is_reported_not_only_the_first() -> None:
    view = modal(section("s" * 3001), fields(11), title=plain("t" * 25))
    assert len(check_view(view)) == 3


# ----- built with slack_sdk.models --------------------------------------------------------


def deploy_modal(*, engines: int = 3, submit: str | None = "Deploy") -> View:
    """Roughly the deploy form: inputs, a radio choice, a select, a preview button."""
    return View(
        type="modal",
        callback_id="deploy",
        title="Deploy a model",
        submit=submit,
        close="Cancel",
        private_metadata='{"channel": "C1"}',
        blocks=[
            HeaderBlock(text="Deploy an LLM"),
            InputBlock(
                block_id="model",
                label="Model",
                element=StaticSelectElement(
                    action_id="model",
                    placeholder="Pick a model",
                    options=[Option(value=f"m{i}", text=f"Model {i}") for i in range(30)],
                ),
            ),
            InputBlock(
                block_id="engine",
                label="Engine",
                element=RadioButtonsElement(
                    action_id="engine",
                    options=[Option(value=f"e{i}", text=f"Engine {i}") for i in range(engines)],
                ),
            ),
            InputBlock(
                block_id="name",
                label="Deployment name",
                hint="Lower case letters, digits and dashes",
                element=PlainTextInputElement(action_id="name", min_length=1, max_length=40),
            ),
            ActionsBlock(
                block_id="preview",
                elements=[ButtonElement(text="Preview YAML", action_id="preview")],
            ),
        ],
    )


def test_a_deploy_modal_built_with_slack_sdk_models_passes() -> None:
    assert check_view(deploy_modal().to_dict()) == []


def test_radio_options_past_ten_pass_slack_sdk_but_not_the_checker() -> None:
    view = deploy_modal(engines=11).to_dict()  # slack_sdk raises nothing
    assert check_view(view) == ["/blocks/2/element/options: 11 items, must be 1..10"]


def test_inputs_without_submit_pass_slack_sdk_but_not_the_checker() -> None:
    assert check_view(deploy_modal(submit=None).to_dict()) == [
        "/submit: required when the view has input blocks"
    ]


def test_a_status_card_built_with_slack_sdk_models_passes() -> None:
    blocks = [
        SectionBlock(
            block_id="summary",
            text=MarkdownTextObject(text="*llama-3-8b* is :large_green_circle: Running"),
            fields=[MarkdownTextObject(text=f"*Field {i}*\nvalue") for i in range(4)],
            accessory=ButtonElement(
                text="Delete",
                action_id="delete",
                style="danger",
                confirm=ConfirmObject(
                    title="Delete llama-3-8b?",
                    text="This frees 8 GPUs.",
                    confirm="Delete",
                    deny="Keep",
                ),
            ),
        ),
        DividerBlock(),
        ContextBlock(elements=[MarkdownTextObject(text="namespace `dynamo-system`")]),
    ]
    payload = {"text": "llama-3-8b is Running", "blocks": [block.to_dict() for block in blocks]}
    assert check_message(payload) == []


def test_a_section_field_past_2000_passes_slack_sdk_but_not_the_checker() -> None:
    block = SectionBlock(fields=[MarkdownTextObject(text="f" * 2001)]).to_dict()
    assert check_message({"text": "x", "blocks": [block]}) == [
        "/blocks/0/fields/0/text: 2001 characters, more than 2000"
    ]


def test_duplicate_block_ids_pass_slack_sdk_but_not_the_checker() -> None:
    blocks = [SectionBlock(block_id="same", text="a"), SectionBlock(block_id="same", text="b")]
    problems = check_message({"text": "x", "blocks": [block.to_dict() for block in blocks]})
    assert problems == ["/blocks/1/block_id: 'same' is used by more than one block"]
