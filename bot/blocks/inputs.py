"""Small makers for modal inputs: options, input blocks, radios, text and number inputs.

They keep labels, hints and options inside Slack's limits and leave out initial values
Slack would refuse, so a form rebuilt from whatever the user typed always opens. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import (
    InputBlock,
    InputInteractiveElement,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    PlainTextObject,
    RadioButtonsElement,
)

from bot.blocks.common import truncate
from bot.blocks.ids import input_block_id

__all__ = ["Choice", "input_block", "number_input", "option", "radio", "text_input"]

MAX_TEXT_INPUT = 3000

Choice = tuple[str, str, str]  # value, label, description ("" for none)


def option(value: str, text: str, description: str | None = None) -> Option:
    return Option(
        value=value,
        text=PlainTextObject(text=truncate(text, 75) or value),
        description=PlainTextObject(text=truncate(description, 75)) if description else None,
    )


def input_block(
    base: str,
    label: str,
    element: InputInteractiveElement,
    *,
    revision: int,
    hint: str | None = None,
    optional: bool = False,
    dispatch_action: bool | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=input_block_id(base, revision),
        label=PlainTextObject(text=label),
        element=element,
        hint=PlainTextObject(text=truncate(hint, 2000)) if hint else None,
        optional=optional or None,
        dispatch_action=dispatch_action,
    )


def radio(action_id: str, choices: Sequence[Choice], value: str) -> RadioButtonsElement:
    options = [option(v, text, description) for v, text, description in choices]
    initial = next((o for o in options if o.value == value), None)
    return RadioButtonsElement(action_id=action_id, options=options, initial_option=initial)


def text_input(
    action_id: str,
    value: str,
    *,
    placeholder: str | None = None,
    max_length: int = MAX_TEXT_INPUT,
    multiline: bool | None = None,
) -> PlainTextInputElement:
    return PlainTextInputElement(
        action_id=action_id,
        initial_value=value[:max_length] or None,
        placeholder=PlainTextObject(text=placeholder) if placeholder else None,
        max_length=max_length,
        multiline=multiline,
    )


def number_input(action_id: str, value: str, *, low: int, high: int | None) -> NumberInputElement:
    # Slack refuses an initial value outside min..max, so an odd one is left for the user to fix.
    text = value.strip()
    fits = (
        text.isascii()
        and text.isdigit()
        and low <= int(text)
        and (high is None or int(text) <= high)
    )
    return NumberInputElement(
        action_id=action_id,
        is_decimal_allowed=False,
        initial_value=text if fits else None,
        min_value=low,
        max_value=high,
    )
