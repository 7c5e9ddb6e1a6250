"""Bad input through the real HTTP path: a clear answer, nothing created, the bot keeps serving.

Property tests (hypothesis) send slash commands with any text, modal submissions built from the
real opened modal with mutated state, and clicks with forged values. Each example must be
acked with 200 within 3 seconds, log no ERROR, and create a DGD only when ``parse_request``
accepts the same data. One stack serves a whole module, so each example checks what it changed.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.blocks.deploy_form import DeployForm, read_deploy_form, with_default_engine
from bot.blocks.ids import (
    ACTION_DELETE_DEPLOYMENT,
    ACTION_LIST_PAGE,
    ACTION_MODEL_SELECT,
    ACTION_MODELS_PAGE,
    ACTION_PREVIEW_YAML,
    ACTION_VIEW_DEPLOYMENT,
)
from bot.domain.request import RequestError, parse_request
from tests.stacks import Stack, deploy_directly, text_of
from tests.standins.slack_requests import block_actions, slash_command, view_state, view_submission

from .conftest import PROFILE, ErrorLog

DGDS = "dynamographdeployments"

# Text people (or attackers) type: unicode, controls, quotes, shell, very long.
nasty_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F), max_size=50),
    st.sampled_from(['"', "'", "`id`", "$(reboot)", "a; rm -rf /", "--model=x", "\n--x=1",
                     "../../etc", "kube-system/coredns", "-n kube-system", "\u202e\u0000"]),
    st.text(min_size=2000, max_size=6000),
)  # fmt: skip


def dgd_keys(stack: Stack) -> set[tuple[str, str]]:
    return {
        (d["metadata"]["namespace"], d["metadata"]["name"]) for d in stack.k8s.store.list(DGDS)[0]
    }


def assert_quiet(errors: ErrorLog) -> None:
    assert not errors.records, errors.describe()


@PROFILE
@given(
    prefix=st.sampled_from(["", "deploy ", "delete ", "status ", "list ", "list all -n ",
                            "models ", "cluster ", "help "]),
    text=nasty_text,
)  # fmt: skip
def test_any_command_text_is_answered_fast_and_creates_nothing(
    shared_stack: Stack, errors: ErrorLog, prefix: str, text: str
) -> None:
    before = dgd_keys(shared_stack)
    status, _, took = shared_stack.post(
        slash_command(prefix + text, response_url=shared_stack.slack.response_url("cmd"))
    )
    assert status == 200 and took < 3.0, (status, took)
    shared_stack.settle()
    assert dgd_keys(shared_stack) == before
    assert_quiet(errors)


# --- modal submissions built from the real modal ----------------------------------------------

_opened: dict[tuple[int, bool], dict[str, Any]] = {}


def opened_modal(stack: Stack, *, advanced: bool = False) -> dict[str, Any]:
    """The real deploy modal, opened once per stack (and once more with advanced options)."""
    key = (id(stack), advanced)
    if key not in _opened:
        number = len(stack.slack.calls("views.open")) + 1  # earlier tests opened others
        stack.command("deploy qwen3 0.6b")
        _opened[key] = stack.advanced_view(number) if advanced else stack.opened_view(number)
    return copy.deepcopy(_opened[key])


def wrong_state() -> st.SearchStrategy[Any]:
    """Element states of the wrong shape or type."""
    return st.one_of(
        st.none(),
        st.integers(),
        st.text(max_size=20),
        st.lists(st.integers(), max_size=3),
        st.fixed_dictionaries({"type": st.sampled_from(["checkboxes", "static_select"]),
                               "selected_options": st.lists(st.text(max_size=5), max_size=3)}),
        st.fixed_dictionaries({"type": st.just("plain_text_input"),
                               "value": st.one_of(st.integers(), st.lists(st.none()))}),
    )  # fmt: skip


def mutated_value(state: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = state.get("type")
    if kind in ("static_select", "radio_buttons"):
        option = st.fixed_dictionaries(
            {"value": nasty_text, "text": st.just({"type": "plain_text", "text": "x"})}
        )
        return st.builds(lambda o: {**state, "selected_option": o}, st.one_of(st.none(), option))
    if kind == "checkboxes":
        return st.builds(
            lambda vs: {**state, "selected_options": [{"value": v} for v in vs]},
            st.lists(nasty_text, max_size=4),
        )
    numbers = st.one_of(
        st.integers(-(10**30), 10**30).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(str),
    )
    return st.builds(lambda v: {**state, "value": v}, st.one_of(st.none(), nasty_text, numbers))


@st.composite
def submissions(draw: st.DrawFn, view: dict[str, Any]) -> dict[str, Any]:
    values = view_state(view)
    for block_id in sorted(values):
        ((action_id, state),) = values[block_id].items()
        choice = draw(st.sampled_from(["keep", "keep", "mutate", "mutate", "wrong", "drop"]))
        if choice == "mutate":
            values[block_id][action_id] = draw(mutated_value(state))
        elif choice == "wrong":
            values[block_id][action_id] = draw(wrong_state())
        elif choice == "drop":
            del values[block_id]
    if draw(st.booleans()):
        values[draw(st.text(min_size=1, max_size=30))] = {
            "x": {"type": "plain_text_input", "value": draw(nasty_text)}
        }
    submitted = {**view, "state": {"values": values}}
    metadata = draw(st.sampled_from(["keep", "garbage", "json"]))
    if metadata == "garbage":
        submitted["private_metadata"] = draw(nasty_text)
    elif metadata == "json":
        submitted["private_metadata"] = json.dumps(
            draw(st.dictionaries(st.sampled_from(["user", "channel", "revision"]),
                                 st.one_of(st.none(), st.integers(), st.text(max_size=5))))
        )  # fmt: skip
    if draw(st.integers(0, 9)) == 0:  # blocks Slack would never send: missing or extra
        submitted["blocks"] = draw(st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["input", "section"]), "block_id": st.text(max_size=10)}
        ), max_size=3))  # fmt: skip
    return submitted


def valid_request(stack: Stack, values: Any) -> bool:
    """What the rules say about the same data (the allowed namespaces included)."""
    hidden = DeployForm(  # what the form starts with where an input is not shown
        model=None,
        name="",
        namespace=stack.context.service.namespace_for(None),
        engine=None,
        hf_token_secret=stack.context.settings.hf_secret,
    )
    try:
        form = with_default_engine(read_deploy_form(values, hidden), stack.context.catalog)
        request = parse_request(
            form.to_request_data(),
            catalog=stack.context.catalog,
            limits=stack.context.service.limits,
        )
    except RequestError:
        return False
    return request.namespace in stack.context.service.namespaces


@PROFILE
@given(data=st.data())
def test_any_modal_submission_is_answered_fast_and_creates_a_dgd_only_when_valid(
    shared_stack: Stack, errors: ErrorLog, data: st.DataObject
) -> None:
    stack = shared_stack
    view = data.draw(submissions(opened_modal(stack, advanced=data.draw(st.booleans()))))
    before = dgd_keys(stack)
    status, body, took = stack.post(view_submission(view))
    assert status == 200 and took < 3.0, (status, took, body[:200])
    ack = json.loads(body) if body else {}
    stack.settle()
    created = dgd_keys(stack) - before
    valid = valid_request(stack, view["state"]["values"])
    if not valid:
        assert created == set(), view["state"]["values"]
        assert ack.get("response_action") == "errors", ack
    for namespace, name in created:  # keep the next examples' names free
        stack.k8s.store.delete(DGDS, namespace, name)
    assert_quiet(errors)


@PROFILE
@given(data=st.data())
def test_clicks_inside_a_mutated_modal_never_crash(
    shared_stack: Stack, errors: ErrorLog, data: st.DataObject
) -> None:
    stack = shared_stack
    view = data.draw(submissions(opened_modal(stack)))
    action = data.draw(st.sampled_from([ACTION_MODEL_SELECT, ACTION_PREVIEW_YAML]))
    selected = {"value": data.draw(nasty_text), "text": {"type": "plain_text", "text": "x"}}
    payload = {"action_id": action, "type": "button"}
    if action == ACTION_MODEL_SELECT:
        payload |= {"type": "static_select", "selected_option": selected}
    status, _, took = stack.post(
        block_actions([payload], view=view, channel=None, container={"type": "view"})
    )
    assert status == 200 and took < 3.0
    stack.settle()
    assert_quiet(errors)


# --- forged button values -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def bobs(shared_stack: Stack) -> tuple[str, str]:
    """A deployment of Bob's in an allowed namespace and one Dynamote-made in kube-system."""
    deploy_directly(shared_stack, "bobs", user="U0BOB")
    deploy_directly(shared_stack, "coredns", user="U0ALICE", ns="kube-system")
    return ("team-a", "bobs")


json_garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                  max_size=4),
    max_leaves=8,
)  # fmt: skip
page_values = st.one_of(
    nasty_text,
    json_garbage.map(json.dumps),
    st.fixed_dictionaries({"scope": json_garbage, "namespace": json_garbage,
                           "page": json_garbage, "query": json_garbage,
                           "engine": json_garbage}).map(json.dumps),
)  # fmt: skip
target_values = st.one_of(
    nasty_text,
    st.tuples(st.sampled_from(["team-a", "team-b", "kube-system", "", "..", "team-a/.."]),
              st.sampled_from(["bobs", "coredns", "", "../bobs", "BOBS", "bobs/x"]))
    .map("/".join),
)  # fmt: skip


@PROFILE
@given(
    action=st.sampled_from([ACTION_VIEW_DEPLOYMENT, ACTION_DELETE_DEPLOYMENT, ACTION_LIST_PAGE,
                            ACTION_MODELS_PAGE]),
    data=st.data(),
)  # fmt: skip
def test_forged_button_values_never_crash_and_never_delete_what_is_not_yours(
    shared_stack: Stack, bobs: tuple[str, str], errors: ErrorLog, action: str, data: st.DataObject
) -> None:
    pages = action in (ACTION_LIST_PAGE, ACTION_MODELS_PAGE)
    value = data.draw(page_values if pages else target_values)
    status, _, took = shared_stack.post(
        block_actions([{"action_id": action, "type": "button", "value": value}],
                      response_url=shared_stack.slack.response_url("click"))
    )  # fmt: skip
    assert status == 200 and took < 3.0
    shared_stack.settle()
    store = shared_stack.k8s.store
    assert store.get(DGDS, *bobs) is not None, "Alice deleted Bob's deployment"
    assert store.get(DGDS, "kube-system", "coredns") is not None, "escaped the namespaces"
    assert_quiet(errors)


# --- targeted cases ----------------------------------------------------------------------------


@pytest.mark.parametrize("action", [ACTION_LIST_PAGE, ACTION_MODELS_PAGE])
@pytest.mark.parametrize(
    "value",
    ['{"page": Infinity}', '{"page": -Infinity}', '{"page": NaN}', '{"page": 1e308}',
     '{"page": 2.5}', '{"page": -5}', '{"page": 99999999999999999999999}',
     '{"page": "2"}', '{"engine": ["vllm"], "query": {"a": 1}}', "[]", "null"],
)  # fmt: skip
def test_a_forged_page_value_gets_a_page_not_an_error(
    shared_stack: Stack, errors: ErrorLog, action: str, value: str
) -> None:
    # Found by the property test above: {"page": Infinity} made int() raise OverflowError.
    name = f"page-{abs(hash((action, value)))}"
    status, _, took = shared_stack.post(
        block_actions([{"action_id": action, "type": "button", "value": value}],
                      response_url=shared_stack.slack.response_url(name))
    )  # fmt: skip
    assert status == 200 and took < 3.0
    [reply] = shared_stack.replies(name)
    assert reply.get("blocks"), reply
    shared_stack.settle()
    assert_quiet(errors)


@pytest.mark.parametrize(
    "engine_args",
    ["--model=evil", "max-num-seqs=8\n--model=evil", "max-num-seqs=$(reboot)",
     "max-num-seqs=`id`", "max-num-seqs=8; rm -rf /", "max-num-seqs=8 | cat",
     "tensor-parallel-size=8", "served-model-name=x"],
)  # fmt: skip
def test_engine_args_cannot_smuggle_flags_newlines_or_shell(
    shared_stack: Stack, engine_args: str
) -> None:
    before = dgd_keys(shared_stack)
    modal = opened_modal(shared_stack, advanced=True)
    ack, took = shared_stack.submit(modal, {"engine_args": engine_args})
    assert took < 3.0 and ack["response_action"] == "errors"
    assert [k.split(".")[0] for k in ack["errors"]] == ["engine_args"], ack["errors"]
    shared_stack.settle()
    assert dgd_keys(shared_stack) == before


def test_a_namespace_not_allowed_is_refused_by_every_command_without_reading_it(
    shared_stack: Stack, bobs: tuple[str, str]
) -> None:
    for text in ("status coredns -n kube-system", "delete coredns -n kube-system",
                 "list all -n kube-system"):  # fmt: skip
        reply = shared_stack.replies(shared_stack.command(text))[0]
        assert "kube-system" in text_of(reply) and "team-a" in text_of(reply)
    assert shared_stack.k8s.store.get(DGDS, "kube-system", "coredns") is not None


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/x-www-form-urlencoded", b"payload=not-json"),
        ("application/x-www-form-urlencoded", b"payload=%5B1%2C2%5D"),  # a JSON list
        ("application/x-www-form-urlencoded", b'payload={"type":"nonsense"}'),
        ("application/x-www-form-urlencoded", b"command=%2Fdynamote"),
        ("application/json", b"{not json"),
        ("application/json", b"[]"),
        ("application/json", b'{"type":"event_callback","event":"x"}'),
    ],
)
def test_signed_bodies_that_are_not_what_slack_sends_get_no_5xx(
    shared_stack: Stack, errors: ErrorLog, content_type: str, body: bytes
) -> None:
    from tests.standins.slack_requests import SlackRequest  # noqa: PLC0415

    status, _, took = shared_stack.post(SlackRequest(body, content_type))
    assert status < 500 and took < 3.0, status
    shared_stack.settle()
    assert_quiet(errors)
