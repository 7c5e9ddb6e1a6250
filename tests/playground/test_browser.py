"""The playground in headless Chromium: help, the deploy modal, the card, its thread, Try it.

Each step waits for what the page shows (WebDriverWait on elements), never on the clock. The
steps run in order on one page, as a person would click through: Try it and Delete use the
deployment the deploy step made (run alone, they cannot pass); the others load the page
themselves. The screenshots the README shows are taken here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.playground.conftest import RunningPlayground

pytestmark = pytest.mark.runs_long  # a headless Chromium

MODAL = "#modal-layer .modal"
WAIT_SECONDS = 60  # a deployment in the simulated cluster gets ready after 1 s; the box is slow


def _wait(browser: Any) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException  # noqa: PLC0415
    from selenium.webdriver.support.ui import WebDriverWait  # noqa: PLC0415

    # The page redraws a modal when the bot updates it: an element found a moment ago may be
    # gone by the time it is read; the wait then looks again.
    return WebDriverWait(
        browser, WAIT_SECONDS, ignored_exceptions=(StaleElementReferenceException,)
    )


def _by() -> Any:
    from selenium.webdriver.common.by import By  # noqa: PLC0415

    return By


def _type(browser: Any, text: str) -> None:
    from selenium.webdriver.common.keys import Keys  # noqa: PLC0415

    box = _wait(browser).until(lambda b: b.find_element(_by().ID, "message-box"))
    box.send_keys(text + Keys.ENTER)


def _shot(browser: Any, folder: Path, name: str) -> None:
    assert browser.save_screenshot(str(folder / name)), f"could not save {name}"


def _as(browser: Any, playground: RunningPlayground, person: str) -> None:
    """On the page as ``person``, in #ml-deploys (each test can run on its own)."""
    from selenium.webdriver.support.ui import Select  # noqa: PLC0415

    if not browser.current_url.startswith(playground.url):
        browser.get(playground.url)
    # A modal an earlier test left open would cover the page: close it, view by view.
    for _ in range(5):  # a modal stack is a few views deep at most
        if not browser.find_elements(_by().CSS_SELECTOR, "[data-modal=close]"):
            break
        _click(browser, "[data-modal=close]")
    Select(_wait(browser).until(lambda b: b.find_element(_by().ID, "person"))).select_by_value(
        person
    )
    _wait(browser).until(lambda b: person in b.find_element(_by().ID, "role").text)
    browser.find_element(_by().CSS_SELECTOR, "[data-nav=C0DEPLOYS]").click()
    _wait(browser).until(lambda b: "ml-deploys" in b.find_element(_by().ID, "title").text)


def _click(browser: Any, css: str) -> None:
    """Click the element at ``css``, looking again if the page redrew it meanwhile."""
    _wait(browser).until(lambda b: b.find_element(_by().CSS_SELECTOR, css).click() is None)


def _text(browser: Any, css: str) -> str:
    """The text of the element at ``css``, once it is there (looked up again if redrawn)."""
    return str(_wait(browser).until(lambda b: b.find_element(_by().CSS_SELECTOR, css).text))


def _messages_text(browser: Any) -> str:
    return str(browser.find_element(_by().ID, "messages").text)


def _thread_text(browser: Any) -> str:
    return str(browser.find_element(_by().ID, "thread-messages").text)


def test_help_is_an_ephemeral_reply(playground: RunningPlayground, browser: Any) -> None:
    browser.get(playground.url)
    _wait(browser).until(lambda b: "ml-deploys" in b.find_element(_by().ID, "title").text)
    _type(browser, "/dynamote help")
    reply = _text(browser, "#messages .message.ephemeral")
    assert "/dynamote deploy" in reply
    assert "Only visible to you" in reply


def test_deploy_opens_the_modal_and_submitting_posts_the_card(
    playground: RunningPlayground, browser: Any, screenshots: Path
) -> None:
    _as(browser, playground, "U0DEPLOYER")
    _type(browser, "/dynamote deploy qwen3")
    _wait(browser).until(lambda b: "Qwen3" in b.find_element(_by().CSS_SELECTOR, MODAL).text)
    _shot(browser, screenshots, "deploy-modal.png")
    _click(browser, f"{MODAL} [data-modal=submit]")
    # The bot answers the submission by updating the modal (no more Deploy button); close it.
    _wait(browser).until(
        lambda b: (
            not b.find_elements(_by().CSS_SELECTOR, "#modal-layer [data-modal=submit]")
            and b.find_elements(_by().CSS_SELECTOR, "#modal-layer [data-modal=close]")
        )
    )
    _click(browser, f"{MODAL} [data-modal=close]")
    _wait(browser).until(lambda b: b.find_element(_by().ID, "modal-layer").get_attribute("hidden"))
    _click(browser, "#messages .message [data-thread]")
    _wait(browser).until(lambda b: "Running" in _thread_text(b))
    assert "Running" in _thread_text(browser)
    _shot(browser, screenshots, "card-and-thread.png")


def test_try_it_answers_from_the_model(
    playground: RunningPlayground, browser: Any, screenshots: Path
) -> None:
    buttons = [
        button
        for button in browser.find_elements(_by().CSS_SELECTOR, "#thread-messages .bk-button")
        if "Try it" in button.text
    ]
    if not buttons:
        pytest.skip("the Running reply has no Try it button in this build")
    buttons[-1].click()
    modal = _wait(browser).until(lambda b: b.find_element(_by().CSS_SELECTOR, MODAL))
    asked = modal.text
    prompts = modal.find_elements(_by().CSS_SELECTOR, "textarea.bk-text, input.bk-text[type=text]")
    submit = modal.find_elements(_by().CSS_SELECTOR, "[data-modal=submit]")
    if prompts and submit:
        if not prompts[0].get_attribute("value"):
            prompts[0].send_keys("Hello! Who are you?")
        submit[0].click()
        # The answer comes back in the modal (updated or pushed), streamed: its text changes,
        # until it no longer says it is streaming.
        _wait(browser).until(
            lambda b: (
                b.find_elements(_by().CSS_SELECTOR, MODAL)
                and b.find_element(_by().CSS_SELECTOR, MODAL).text != asked
                and "Streaming" not in b.find_element(_by().CSS_SELECTOR, MODAL).text
            )
        )
        assert not browser.find_elements(_by().CSS_SELECTOR, f"{MODAL} .input-error")
    _shot(browser, screenshots, "try-it.png")
    _click(browser, f"{MODAL} [data-modal=close]")
    _wait(browser).until(lambda b: b.find_element(_by().ID, "modal-layer").get_attribute("hidden"))


def test_a_guest_is_refused_by_the_real_policy(playground: RunningPlayground, browser: Any) -> None:

    _as(browser, playground, "U0GUEST")
    _type(browser, "/dynamote deploy qwen3")

    refusal = _wait(browser).until(
        lambda b: [
            m.text
            for m in b.find_elements(_by().CSS_SELECTOR, "#messages .message.ephemeral")
            if "cannot do that" in m.text
        ]
    )
    assert "@ari" in refusal[0]  # <@U0ADMIN> shown as a mention of the admin
    assert browser.find_element(_by().ID, "modal-layer").get_attribute("hidden")


def test_app_home_shows_what_the_bot_published(playground: RunningPlayground, browser: Any) -> None:
    _as(browser, playground, "U0DEPLOYER")
    _click(browser, "#nav-home")
    _wait(browser).until(lambda b: b.find_elements(_by().CSS_SELECTOR, "#home .block-header"))
    assert "Deploy a model" in _text(browser, "#home")


def test_blocks_the_page_does_not_know_are_shown_as_unsupported(
    playground: RunningPlayground, browser: Any
) -> None:
    _as(browser, playground, "U0DEPLOYER")
    shown = browser.execute_script(
        "const node = BlockKit.render(arguments[0], {names: {user: (u) => u, channel: (c) => c}});"
        "return [...node.querySelectorAll('[data-unsupported]')].map((n) => n.textContent);",
        [
            {"type": "video", "title": {"type": "plain_text", "text": "demo"}},
            {"type": "actions", "elements": [{"type": "datepicker", "action_id": "when"}]},
            {"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}},
        ],
    )
    assert shown == ["unsupported: block video", "unsupported: element datepicker"]


def test_mrkdwn_is_rendered_as_slack_renders_it(
    playground: RunningPlayground, browser: Any
) -> None:
    _as(browser, playground, "U0DEPLOYER")
    html = browser.execute_script(
        "return BlockKit.mrkdwn(arguments[0], {user: (u) => 'dana', channel: (c) => 'general'});",
        "*b* _i_ ~s~ `c` <https://x.example|link> <@U0DEPLOYER> <#C0GENERAL> :rocket: :nope:"
        " &lt;tag&gt; <!date^1700049600^{date_num}|15 Nov> <!here>\n```x = 1 *not bold*```",
    )
    for expected in (
        "<b>b</b>",
        "<i>i</i>",
        "<s>s</s>",
        "<code>c</code>",
        'href="https://x.example"',
        "@dana",
        "#general",
        "🚀",
        ":nope:",
        "&lt;tag&gt;",
        "<time>2023-11-15</time>",  # noon UTC: the same day in any time zone within 11 h
        "@here",
        '<pre class="code-block">x = 1 *not bold*</pre>',
    ):
        assert expected in html, (expected, html)


def test_delete_asks_in_a_confirm_dialog_then_deletes(
    playground: RunningPlayground, browser: Any
) -> None:
    _as(browser, playground, "U0DEPLOYER")
    _type(browser, "/dynamote list")
    # The list's row menu (an overflow) offers Delete…; the bot answers with a prompt whose
    # Delete button carries the confirm dialog.
    _click(browser, "#messages .message.ephemeral .bk-overflow")
    _click(browser, "#messages .message.ephemeral .overflow-option[data-value^='delete:']")
    _click(browser, "#messages .message.ephemeral .bk-button.danger")
    dialog = _text(browser, "#confirm-layer .dialog")
    assert "Delete qwen3-0-6b?" in dialog
    assert "cannot be undone" in dialog
    _click(browser, "#confirm-layer [data-confirm=yes]")
    _wait(browser).until(lambda b: "deleted" in _messages_text(b).lower())


def test_the_deploy_modal_updates_pushes_and_shows_inline_errors(
    playground: RunningPlayground, browser: Any
) -> None:
    from selenium.webdriver.support.ui import Select  # noqa: PLC0415

    _as(browser, playground, "U0DEPLOYER")
    _type(browser, "/dynamote deploy")
    name = "[data-input-block^='name'] input"

    def pick_another_model(b: Any) -> tuple[str, str]:
        # Looked up afresh each try: the bot's note after the open redraws the modal.
        modal = b.find_element(_by().CSS_SELECTOR, MODAL)
        before = str(modal.find_element(_by().CSS_SELECTOR, name).get_attribute("value"))
        model = Select(
            modal.find_element(_by().CSS_SELECTOR, "select[data-action-id=model_select]")
        )
        other = next(o for o in model.options if o.get_attribute("value") and not o.is_selected())
        chosen = str(other.get_attribute("value"))
        model.select_by_value(chosen)
        return before, chosen

    before, chosen = _wait(browser).until(pick_another_model)
    # block_actions in the view; the bot answers with views.update: a new default name.
    _wait(browser).until(
        lambda b: (
            b.find_element(_by().CSS_SELECTOR, f"{MODAL} {name}").get_attribute("value")
            not in (before, "")
        )
    )

    typed = browser.find_element(_by().CSS_SELECTOR, f"{MODAL} {name}")
    typed.clear()
    typed.send_keys("my-own-name")
    _click(browser, f"{MODAL} [data-action-id=preview_yaml]")
    # The pushed preview is built from the form's state, sent in the block_actions payload.
    _wait(browser).until(
        lambda b: "DynamoGraphDeployment" in b.find_element(_by().CSS_SELECTOR, MODAL).text
    )
    assert "my-own-name" in _text(browser, MODAL)
    _click(browser, f"{MODAL} [data-modal=close]")  # back
    _wait(browser).until(lambda b: b.find_elements(_by().CSS_SELECTOR, f"{MODAL} {name}"))
    # Back on the form, what was chosen and typed before the push is still there.
    picked = browser.find_element(
        _by().CSS_SELECTOR, f"{MODAL} select[data-action-id=model_select]"
    )
    assert Select(picked).first_selected_option.get_attribute("value") == chosen
    typed = browser.find_element(_by().CSS_SELECTOR, f"{MODAL} {name}")
    assert typed.get_attribute("value") == "my-own-name"

    field = browser.find_element(_by().CSS_SELECTOR, f"{MODAL} {name}")
    field.clear()
    field.send_keys("Not_A_Valid_Name!")
    _click(browser, f"{MODAL} [data-modal=submit]")
    assert "lowercase" in _text(browser, f"{MODAL} [data-input-block^='name'] .input-error")
    # What was typed stays, as in Slack: the view kept its block ids.
    assert browser.find_element(_by().CSS_SELECTOR, f"{MODAL} {name}").get_attribute("value") == (
        "Not_A_Valid_Name!"
    )
    _click(browser, f"{MODAL} [data-modal=close]")
    _wait(browser).until(lambda b: b.find_element(_by().ID, "modal-layer").get_attribute("hidden"))


INTERACTIVE_BLOCKS = [
    {
        "type": "section",
        "block_id": "s",
        "text": {"type": "mrkdwn", "text": "pick"},
        "accessory": {
            "type": "overflow",
            "action_id": "more",
            "options": [
                {"text": {"type": "plain_text", "text": "Logs"}, "value": "logs"},
                {"text": {"type": "plain_text", "text": "Restart"}, "value": "restart"},
            ],
        },
    },
    {
        "type": "actions",
        "block_id": "a",
        "elements": [
            {
                "type": "static_select",
                "action_id": "size",
                "placeholder": {"type": "plain_text", "text": "Size"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Small"}, "value": "s"},
                    {"text": {"type": "plain_text", "text": "Large"}, "value": "l"},
                ],
            },
            {
                "type": "checkboxes",
                "action_id": "flags",
                "options": [
                    {"text": {"type": "plain_text", "text": "Fast"}, "value": "fast"},
                    {"text": {"type": "plain_text", "text": "Cheap"}, "value": "cheap"},
                ],
            },
            {
                "type": "radio_buttons",
                "action_id": "engine",
                "options": [{"text": {"type": "plain_text", "text": "vLLM"}, "value": "vllm"}],
            },
        ],
    },
]


def test_elements_send_what_was_chosen(playground: RunningPlayground, browser: Any) -> None:
    from selenium.webdriver.support.ui import Select  # noqa: PLC0415

    _as(browser, playground, "U0DEPLOYER")
    browser.execute_script(
        "window.acted = [];"
        "const ctx = {names: {user: (u) => u, channel: (c) => c}, confirm: (d, go) => go(),"
        " act: (where, chosen) => window.acted.push([where, chosen])};"
        "const node = BlockKit.render(arguments[0], ctx); node.id = 'harness';"
        "document.body.append(node);",
        INTERACTIVE_BLOCKS,
    )
    harness = browser.find_element(_by().ID, "harness")
    harness.find_element(_by().CSS_SELECTOR, ".bk-overflow").click()
    harness.find_element(_by().CSS_SELECTOR, ".overflow-option[data-value=restart]").click()
    Select(harness.find_element(_by().CSS_SELECTOR, "select")).select_by_value("l")
    harness.find_element(_by().CSS_SELECTOR, "input[value=cheap]").click()
    harness.find_element(_by().CSS_SELECTOR, "input[value=vllm]").click()

    acted = _wait(browser).until(
        lambda b: b.execute_script("return window.acted.length === 4 && window.acted")
    )
    assert acted == [
        [{"block": 0, "action_id": "more"}, "restart"],
        [{"block": 1, "action_id": "size"}, "l"],
        [{"block": 1, "action_id": "flags"}, ["cheap"]],
        [{"block": 1, "action_id": "engine"}, "vllm"],
    ]
    browser.execute_script("document.getElementById('harness').remove()")
