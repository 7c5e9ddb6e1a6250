"""The Slack stand-in, driven by a real slack_sdk WebClient over HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from slack_bolt.context.respond import Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.sim.slack.web_api import SlackStandIn
from tests.waiting import WAIT_SECONDS


def plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def modal(title: str = "Deploy", **fields: Any) -> dict[str, Any]:
    return {"type": "modal", "title": plain(title), "blocks": [], **fields}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value


# ----- the server ---------------------------------------------------------------------------


def test_it_listens_on_loopback_with_the_trailing_slash_slack_sdk_needs(
    slack_standin: SlackStandIn,
) -> None:
    assert slack_standin.url.startswith("http://127.0.0.1:")
    assert slack_standin.url.endswith("/api/")


def test_two_stand_ins_run_side_by_side_on_different_ports() -> None:
    with SlackStandIn() as first, SlackStandIn() as second:
        assert first.url != second.url


def test_a_stopped_stand_in_has_no_url() -> None:
    standin = SlackStandIn()
    with pytest.raises(RuntimeError, match="not running"):
        _ = standin.url


# ----- answers like Slack -------------------------------------------------------------------


def test_auth_test_names_the_team_the_bot_user_and_the_bot(slack_client: WebClient) -> None:
    answer = slack_client.auth_test()
    assert answer["ok"] is True
    for key in ("url", "team", "user", "team_id", "user_id", "bot_id"):
        assert answer[key]


def test_post_message_answers_channel_ts_and_the_message(slack_client: WebClient) -> None:
    answer = slack_client.chat_postMessage(channel="C1", text="hello", blocks=[section("hello")])
    assert answer["channel"] == "C1"
    assert answer["ts"] == answer["message"]["ts"]
    assert answer["message"]["text"] == "hello"
    assert answer["message"]["blocks"] == [section("hello")]


def test_message_timestamps_look_like_slacks_and_keep_increasing(
    slack_client: WebClient,
) -> None:
    stamps = [slack_client.chat_postMessage(channel="C1", text="x")["ts"] for _ in range(5)]
    assert stamps[0] == "1700000000.000100"
    assert stamps == sorted(stamps, key=float)
    assert len(set(stamps)) == len(stamps)


def test_timestamps_stay_unique_when_threads_post_at_once(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    stamps: list[str] = []

    def post() -> None:
        for _ in range(5):
            stamps.append(slack_client.chat_postMessage(channel="C1", text="x")["ts"])

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(stamps)) == 40


def test_a_thread_reply_keeps_its_parent_ts(slack_client: WebClient) -> None:
    parent = slack_client.chat_postMessage(channel="C1", text="card")
    reply = slack_client.chat_postMessage(channel="C1", text="Running", thread_ts=parent["ts"])
    assert reply["message"]["thread_ts"] == parent["ts"]


def test_posting_to_a_user_id_lands_in_the_dm_with_that_user(slack_client: WebClient) -> None:
    posted = slack_client.chat_postMessage(channel="U123", text="hi")
    opened = slack_client.conversations_open(users="U123")
    assert posted["channel"] == opened["channel"]["id"]
    assert posted["channel"].startswith("D")


def test_update_changes_the_message_it_names(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="Pending")["ts"]
    answer = slack_client.chat_update(channel="C1", ts=ts, text="Running")
    assert (answer["channel"], answer["ts"], answer["text"]) == ("C1", ts, "Running")
    stored = slack_standin.message("C1", ts)
    assert stored is not None and stored["text"] == answer["message"]["text"] == "Running"
    assert stored == answer["message"] | {"ts": ts}  # Slack answers it without its ts
    assert answer["message"]["edited"]["user"] == "B0DYNAMOTE"


def test_a_recorded_answer_keeps_what_was_answered_then(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="Pending")["ts"]
    slack_client.chat_update(channel="C1", ts=ts, text="Running")
    (posted,) = slack_standin.calls("chat.postMessage")
    assert posted.response["message"]["text"] == "Pending"


def test_update_of_an_unknown_message_answers_message_not_found(slack_client: WebClient) -> None:
    error = slack_error(lambda: slack_client.chat_update(channel="C1", ts="1.000001", text="x"))
    assert error.response["error"] == "message_not_found"


def test_a_message_added_by_the_test_can_be_updated(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    ts = slack_standin.add_message("C9", text="card from before a restart")
    assert slack_client.chat_update(channel="C9", ts=ts, text="Running")["ok"]


def test_post_ephemeral_answers_a_fresh_message_ts(slack_client: WebClient) -> None:
    first = slack_client.chat_postEphemeral(channel="C1", user="U1", text="only you")
    second = slack_client.chat_postEphemeral(channel="C1", user="U1", text="again")
    assert float(second["message_ts"]) > float(first["message_ts"])


def test_delete_removes_the_message_once(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="bye")["ts"]
    assert slack_client.chat_delete(channel="C1", ts=ts)["ts"] == ts
    assert slack_standin.message("C1", ts) is None
    error = slack_error(lambda: slack_client.chat_delete(channel="C1", ts=ts))
    assert error.response["error"] == "message_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_a_message_without_text_or_blocks_answers_no_text(slack_client: WebClient) -> None:
    error = slack_error(lambda: slack_client.chat_postMessage(channel="C1"))
    assert error.response["error"] == "no_text"


def test_views_open_answers_an_id_a_hash_and_the_view_it_was_given(
    slack_client: WebClient,
) -> None:
    view = modal(callback_id="deploy", private_metadata="C1")
    answer = slack_client.views_open(trigger_id="t1", view=view)["view"]
    assert answer["id"].startswith("V")
    assert answer["hash"]
    assert {key: answer[key] for key in view} == view
    assert answer["state"] == {"values": {}}


def test_a_trigger_id_opens_one_view_only(slack_client: WebClient) -> None:
    slack_client.views_open(trigger_id="t1", view=modal())
    error = slack_error(lambda: slack_client.views_open(trigger_id="t1", view=modal()))
    assert error.response["error"] == "exchanged_trigger_id"


def test_views_push_answers_another_view(slack_client: WebClient) -> None:
    opened = slack_client.views_open(trigger_id="t1", view=modal())["view"]
    pushed = slack_client.views_push(trigger_id="t2", view=modal("Preview YAML"))["view"]
    assert pushed["id"] != opened["id"]
    assert pushed["title"] == plain("Preview YAML")


def test_views_update_with_the_current_hash_replaces_the_view_and_its_hash(
    slack_client: WebClient,
) -> None:
    opened = slack_client.views_open(trigger_id="t1", view=modal())["view"]
    updated = slack_client.views_update(
        view_id=opened["id"], hash=opened["hash"], view=modal("Deploying…")
    )["view"]
    assert updated["id"] == opened["id"]
    assert updated["hash"] != opened["hash"]
    assert updated["title"] == plain("Deploying…")


def test_views_update_with_a_stale_hash_answers_hash_conflict(slack_client: WebClient) -> None:
    opened = slack_client.views_open(trigger_id="t1", view=modal())["view"]
    slack_client.views_update(view_id=opened["id"], hash=opened["hash"], view=modal("Second"))
    error = slack_error(
        lambda: slack_client.views_update(
            view_id=opened["id"], hash=opened["hash"], view=modal("Third")
        )
    )
    assert error.response["error"] == "hash_conflict"


def test_views_update_of_an_unknown_view_answers_not_found(slack_client: WebClient) -> None:
    error = slack_error(lambda: slack_client.views_update(view_id="V404", view=modal()))
    assert error.response["error"] == "not_found"


def test_views_update_finds_a_view_by_its_external_id(slack_client: WebClient) -> None:
    slack_client.views_open(trigger_id="t1", view=modal(external_id="deploy-U1"))
    answer = slack_client.views_update(external_id="deploy-U1", view=modal("Changed"))
    assert answer["view"]["title"] == plain("Changed")


def test_a_view_added_by_the_test_can_be_updated_with_its_hash(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    added = slack_standin.add_view(modal("Pushed by ack"))
    answer = slack_client.views_update(view_id=added["id"], hash=added["hash"], view=modal())
    assert answer["ok"]


def test_views_publish_keeps_one_home_view_per_user(slack_client: WebClient) -> None:
    home = {"type": "home", "blocks": [section("My deployments")]}
    first = slack_client.views_publish(user_id="U1", view=home)["view"]
    second = slack_client.views_publish(user_id="U1", view=home, hash=first["hash"])["view"]
    other = slack_client.views_publish(user_id="U2", view=home)["view"]
    assert first["id"] == second["id"] != other["id"]


def test_views_publish_takes_only_home_views(lenient_slack_standin: SlackStandIn) -> None:
    client = WebClient(token=lenient_slack_standin.token, base_url=lenient_slack_standin.url)
    error = slack_error(lambda: client.views_publish(user_id="U1", view=modal()))
    assert error.response["error"] == "invalid_arguments"


def test_conversations_open_gives_each_user_one_dm_channel(slack_client: WebClient) -> None:
    first = slack_client.conversations_open(users="U1")["channel"]["id"]
    again = slack_client.conversations_open(users=["U1"])["channel"]["id"]
    other = slack_client.conversations_open(users="U2")["channel"]["id"]
    assert first == again != other
    assert first.startswith("D")


def test_conversations_info_describes_a_channel_with_test_overrides(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.set_channel("G1", name="gpu-team", is_member=False)
    channel = slack_client.conversations_info(channel="G1")["channel"]
    assert channel["id"] == "G1"
    assert channel["name"] == "gpu-team"
    assert channel["is_private"] is True
    assert channel["is_member"] is False


def test_users_info_describes_a_user_with_test_overrides(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    assert slack_client.users_info(user="U1")["user"]["is_admin"] is False
    slack_standin.set_user("U1", is_admin=True, real_name="Ada")
    user = slack_client.users_info(user="U1")["user"]
    assert (user["id"], user["is_admin"], user["real_name"]) == ("U1", True, "Ada")


def test_usergroup_members_are_what_the_test_configured(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.set_usergroup("S1", ["U1", "U2"])
    assert slack_client.usergroups_users_list(usergroup="S1")["users"] == ["U1", "U2"]
    error = slack_error(lambda: slack_client.usergroups_users_list(usergroup="S404"))
    assert error.response["error"] == "no_such_subteam"


def test_any_other_method_answers_ok_and_is_recorded(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    assert slack_client.reactions_add(channel="C1", timestamp="1.1", name="eyes")["ok"]
    assert slack_standin.calls("reactions.add")[0].params["name"] == "eyes"


# ----- recording ----------------------------------------------------------------------------


def test_every_call_is_recorded_with_its_params_headers_and_time(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    before = time.time()
    slack_client.users_info(user="U1")  # form-encoded
    slack_client.chat_postMessage(channel="C1", text="hi", blocks=[section("hi")])  # JSON
    calls = slack_standin.calls()
    assert [call.method for call in calls] == ["users.info", "chat.postMessage"]
    assert calls[0].params == {"user": "U1"}
    assert calls[1].params["blocks"] == [section("hi")]
    assert calls[1].headers["authorization"] == f"Bearer {slack_standin.token}"
    assert before <= calls[0].at <= calls[1].at <= time.time()
    assert calls[1].ok
    assert calls[1].response["ts"]


def test_json_string_fields_sent_form_encoded_are_decoded(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    blocks = [section("hi")]
    slack_client.api_call(
        "chat.postMessage", data={"channel": "C1", "text": "hi", "blocks": json.dumps(blocks)}
    )
    assert slack_standin.calls("chat.postMessage")[0].params["blocks"] == blocks


def test_calls_can_be_filtered_by_method(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_client.auth_test()
    slack_client.chat_postMessage(channel="C1", text="x")
    assert [call.method for call in slack_standin.calls("auth.test")] == ["auth.test"]


def test_wait_for_returns_once_a_background_call_arrives(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    timer = threading.Timer(0.1, lambda: slack_client.chat_postMessage(channel="C1", text="x"))
    timer.start()
    calls = slack_standin.wait_for("chat.postMessage", timeout=5)
    timer.join()
    assert len(calls) == 1


def test_wait_for_fails_saying_what_did_arrive(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_client.auth_test()
    with pytest.raises(AssertionError, match=r"got 0.*auth\.test"):
        slack_standin.wait_for("chat.postMessage", timeout=0.1)


def test_reset_forgets_calls_violations_and_faults(
    lenient_slack_standin: SlackStandIn,
) -> None:
    standin = lenient_slack_standin
    client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
    standin.fail("chat.postMessage", "not_in_channel")
    slack_error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=[section("")]))
    assert standin.violations()
    standin.reset()
    assert standin.calls() == []
    assert standin.violations() == []
    assert client.chat_postMessage(channel="C1", text="x")["ok"]


# ----- auth ---------------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["xoxb-wrong", None], ids=["unknown token", "no token"])
def test_a_call_without_a_known_token_answers_invalid_auth(
    slack_standin: SlackStandIn, token: str | None
) -> None:
    client = WebClient(token=token, base_url=slack_standin.url, retry_handlers=[])
    error = slack_error(client.auth_test)
    assert error.response["error"] == "invalid_auth"


def test_another_token_can_be_accepted(slack_standin: SlackStandIn) -> None:
    slack_standin.add_token("xoxb-second")
    assert WebClient(token="xoxb-second", base_url=slack_standin.url).auth_test()["ok"]


# ----- faults -------------------------------------------------------------------------------


def test_a_rate_limit_answers_429_with_retry_after(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.rate_limit("chat.postMessage", retry_after=7)
    error = slack_error(lambda: slack_client.chat_postMessage(channel="C1", text="x"))
    assert error.response.status_code == 429
    assert error.response["error"] == "ratelimited"
    assert error.response.headers["Retry-After"] == "7"


def test_slack_sdk_rate_limit_handler_waits_retry_after_then_succeeds(
    slack_standin: SlackStandIn,
) -> None:
    client = WebClient(
        token=slack_standin.token,
        base_url=slack_standin.url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    fault = slack_standin.rate_limit("chat.postMessage", times=1, retry_after=1)
    started = time.monotonic()
    assert client.chat_postMessage(channel="C1", text="x")["ok"]
    assert time.monotonic() - started >= 1.0
    assert fault.hits == 1
    calls = slack_standin.calls("chat.postMessage")
    assert [call.status for call in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0


def test_a_rate_limit_on_every_method_lasts_until_cleared(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    fault = slack_standin.rate_limit(times=None, retry_after=0)
    for call in (slack_client.auth_test, lambda: slack_client.users_info(user="U1")):
        assert slack_error(call).response.status_code == 429
    slack_standin.clear_faults()
    assert slack_client.auth_test()["ok"]
    assert fault.hits == 2


def test_a_rate_limit_stops_after_the_calls_it_was_given(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.rate_limit("auth.test", times=2, retry_after=0)
    statuses = []
    for _ in range(3):
        try:
            statuses.append(slack_client.auth_test().status_code)
        except SlackApiError as error:
            statuses.append(error.response.status_code)
    assert statuses == [429, 429, 200]


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_answers_that_status(
    slack_standin: SlackStandIn, slack_client: WebClient, status: int
) -> None:
    fault = slack_standin.server_error("chat.update", status=status)
    ts = slack_client.chat_postMessage(channel="C1", text="x")["ts"]
    error = slack_error(lambda: slack_client.chat_update(channel="C1", ts=ts, text="y"))
    assert error.response.status_code == status
    assert fault.hits == 1


def test_slack_sdk_server_error_handler_retries_past_a_500(slack_standin: SlackStandIn) -> None:
    client = WebClient(
        token=slack_standin.token,
        base_url=slack_standin.url,
        retry_handlers=[
            ServerErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            )
        ],
    )
    slack_standin.server_error("auth.test", times=2)
    assert client.auth_test()["ok"]
    assert [call.status for call in slack_standin.calls()] == [500, 500, 200]


def test_an_error_can_be_injected_for_one_channel_only(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    fault = slack_standin.fail("chat.postMessage", "not_in_channel", channel="C1")
    error = slack_error(lambda: slack_client.chat_postMessage(channel="C1", text="x"))
    assert error.response["error"] == "not_in_channel"
    assert slack_client.chat_postMessage(channel="C2", text="x")["ok"]
    assert fault.hits == 1
    assert [call.error for call in slack_standin.calls()] == ["not_in_channel", None]


def test_an_injected_error_can_last_a_number_of_calls(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.fail("views.open", "expired_trigger_id", times=1)
    error = slack_error(lambda: slack_client.views_open(trigger_id="t1", view=modal()))
    assert error.response["error"] == "expired_trigger_id"
    assert slack_client.views_open(trigger_id="t2", view=modal())["ok"]


def test_latency_delays_only_the_method_it_names(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    fault = slack_standin.add_latency("views.open", 0.3)
    started = time.monotonic()
    slack_client.auth_test()
    fast = time.monotonic() - started
    slack_client.views_open(trigger_id="t1", view=modal())
    slow = time.monotonic() - started - fast
    assert fast < 0.3 <= slow
    assert fault.hits == 1


def test_a_paused_call_is_answered_only_after_release_and_other_calls_go_on(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    pause = slack_standin.pause("chat.postMessage")
    answers: list[bool] = []
    caller = threading.Thread(
        target=lambda: answers.append(slack_client.chat_postMessage(channel="C1", text="x")["ok"])
    )
    caller.start()
    assert pause.arrived.wait(WAIT_SECONDS)
    assert slack_client.auth_test()["ok"]  # another call is answered meanwhile
    assert answers == [] and slack_standin.calls("chat.postMessage") == []  # still held
    pause.release()
    caller.join(WAIT_SECONDS)
    assert answers == [True]
    assert pause.hits == 1
    assert slack_client.chat_postMessage(channel="C1", text="y")["ok"]  # times=1: not held


def test_faults_can_change_while_calls_are_in_flight(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    slack_standin.add_latency("auth.test", 0.3, times=1)
    answers: list[bool] = []
    caller = threading.Thread(target=lambda: answers.append(slack_client.auth_test()["ok"]))
    caller.start()
    slack_standin.fail("users.info", "user_not_found")  # set while auth.test sleeps
    error = slack_error(lambda: slack_client.users_info(user="U1"))
    caller.join()
    assert answers == [True]
    assert error.response["error"] == "user_not_found"


# ----- response_url -------------------------------------------------------------------------


def test_what_respond_posts_to_a_response_url_is_recorded(slack_standin: SlackStandIn) -> None:
    respond = Respond(response_url=slack_standin.response_url("cmd-1"))
    answer = respond(text="Deploying", blocks=[section("Deploying")], replace_original=True)
    assert answer.status_code == 200
    (call,) = slack_standin.calls("response_url")
    assert call.path == "/response/cmd-1"
    assert call.params["text"] == "Deploying"
    assert call.params["blocks"] == [section("Deploying")]
    assert call.params["replace_original"] is True


def test_a_response_url_answers_an_injected_error_with_an_http_error(
    slack_standin: SlackStandIn,
) -> None:
    slack_standin.fail("response_url", "expired_url")
    answer = Respond(response_url=slack_standin.response_url())(text="late")
    assert answer.status_code == 404


# ----- Block Kit limits ---------------------------------------------------------------------


def test_an_over_long_message_is_refused_and_recorded_as_a_violation(
    lenient_slack_standin: SlackStandIn,
) -> None:
    standin = lenient_slack_standin
    client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
    error = slack_error(
        lambda: client.chat_postMessage(channel="C1", text="x", blocks=[section("a" * 3001)])
    )
    assert error.response["error"] == "invalid_blocks"
    assert error.response["response_metadata"]["messages"] == [
        "[ERROR] 3001 characters, more than 3000 [json-pointer:/blocks/0/text/text]"
    ]
    assert standin.violations() == [
        "chat.postMessage /blocks/0/text/text: 3001 characters, more than 3000"
    ]


def test_a_payload_is_checked_even_when_a_fault_answers_it(
    lenient_slack_standin: SlackStandIn,
) -> None:
    standin = lenient_slack_standin
    client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
    standin.rate_limit("chat.postMessage", retry_after=0)
    slack_error(lambda: client.chat_postMessage(channel="C1", text="x", blocks=[section("")]))
    assert standin.violations() == ["chat.postMessage /blocks/0/text/text: must not be empty"]


def test_a_view_past_a_limit_answers_invalid_arguments_with_pointers_into_the_view(
    lenient_slack_standin: SlackStandIn,
) -> None:
    standin = lenient_slack_standin
    client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
    error = slack_error(lambda: client.views_open(trigger_id="t1", view=modal("T" * 25)))
    assert error.response["error"] == "invalid_arguments"
    (message,) = error.response["response_metadata"]["messages"]
    assert message.endswith("[json-pointer:/view/title/text]")
    assert standin.violations() == ["views.open /title/text: 25 characters, more than 24"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_a_message_without_fallback_text_is_sent_but_recorded_as_a_violation(
    lenient_slack_standin: SlackStandIn,
) -> None:
    standin = lenient_slack_standin
    client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
    assert client.chat_postMessage(channel="C1", blocks=[section("no text")])["ok"]
    (violation,) = standin.violations()
    assert violation.startswith("chat.postMessage /text: missing")


def test_an_over_long_respond_is_refused_with_400_and_recorded(
    lenient_slack_standin: SlackStandIn,
) -> None:
    respond = Respond(response_url=lenient_slack_standin.response_url())
    answer = respond(text="x", blocks=[{"type": "divider"}] * 51)
    assert answer.status_code == 400
    assert lenient_slack_standin.violations() == ["response_url /blocks: 51 items, must be 0..50"]


def test_a_body_that_is_not_json_answers_invalid_json(slack_standin: SlackStandIn) -> None:
    request = urllib.request.Request(
        slack_standin.url + "chat.postMessage",
        data=b"{not json",
        headers={"Content-Type": "application/json", "Authorization": "Bearer xoxb-test"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        assert json.load(answer) == {"ok": False, "error": "invalid_json"}


def test_an_http_error_reaches_urllib_as_such(slack_standin: SlackStandIn) -> None:
    slack_standin.server_error("auth.test", status=503)
    request = urllib.request.Request(
        slack_standin.url + "auth.test", data=b"", headers={"Authorization": "Bearer xoxb-test"}
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 503


# ----- the answers' shapes, against what Slack documents --------------------------------------

SHAPES = json.loads((Path(__file__).parent / "web_api_shapes.json").read_text())


def keys_at(answer: dict[str, Any], path: str) -> set[str]:
    node: Any = answer
    for part in filter(None, path.split(".")):
        node = node[part]
    assert isinstance(node, dict), f"{path} is not an object: {node!r}"
    return set(node)


def documented_call(standin: SlackStandIn, client: WebClient, method: str) -> dict[str, Any]:
    """Call `method` as the bot does, after whatever it needs exists; the answer's body."""
    full = modal(callback_id="deploy", private_metadata="C1", submit=plain("Deploy"))
    home = {"type": "home", "blocks": [section("My deployments")]}
    content = {"text": "hello", "blocks": [section("hello")]}
    standin.set_usergroup("S1", ["U1"])
    standin.add_token("xapp-1-test")
    standin.serve_socket_mode(lambda: "wss://wss.example/link/?ticket=1")
    calls: dict[str, Any] = {
        "auth.test": client.auth_test,
        "chat.postMessage": lambda: client.chat_postMessage(channel="C1", **content),
        "chat.update": lambda: client.chat_update(
            channel="C1", ts=client.chat_postMessage(channel="C1", text="x")["ts"], **content
        ),
        "chat.postEphemeral": lambda: client.chat_postEphemeral(channel="C1", user="U1", **content),
        "chat.delete": lambda: client.chat_delete(
            channel="C1", ts=client.chat_postMessage(channel="C1", text="x")["ts"]
        ),
        "views.open": lambda: client.views_open(trigger_id="t1", view=full),
        "views.push": lambda: client.views_push(trigger_id="t2", view=full),
        "views.update": lambda: client.views_update(
            view_id=client.views_open(trigger_id="t3", view=full)["view"]["id"], view=full
        ),
        "views.publish": lambda: client.views_publish(user_id="U1", view=home),
        "conversations.open": lambda: client.conversations_open(users="U1"),
        "conversations.info": lambda: client.conversations_info(channel="C1"),
        "users.info": lambda: client.users_info(user="U1"),
        "usergroups.users.list": lambda: client.usergroups_users_list(usergroup="S1"),
        "apps.connections.open": lambda: WebClient(base_url=standin.url).apps_connections_open(
            app_token="xapp-1-test"
        ),
    }
    answer = calls[method]()
    assert isinstance(answer.data, dict)
    return answer.data


def test_every_method_the_standin_serves_has_a_documented_shape() -> None:
    served = set(SlackStandIn()._workspace.handlers) | {"apps.connections.open"}
    assert served == set(SHAPES["methods"])
    for method, shape in SHAPES["methods"].items():
        assert set(shape["sources"]) <= set(SHAPES["sources"]), method


@pytest.mark.parametrize("method", sorted(SHAPES["methods"]))
def test_answers_carry_exactly_the_fields_slack_documents(
    slack_standin: SlackStandIn, slack_client: WebClient, method: str
) -> None:
    answer = documented_call(slack_standin, slack_client, method)

    for path, documented in SHAPES["methods"][method]["keys"].items():
        assert keys_at(answer, path) == set(documented), f"{method} {path or '(top)'}"


def test_error_answers_carry_exactly_the_fields_slack_documents(
    slack_standin: SlackStandIn, slack_client: WebClient
) -> None:
    errors = SHAPES["errors"]
    plain_error = slack_error(lambda: slack_client.users_info(user=""))
    invalid = slack_error(lambda: slack_client.views_open(trigger_id="", view=modal()))
    slack_standin.rate_limit("auth.test", retry_after=3)
    limited = slack_error(slack_client.auth_test)

    for name, error in (("ok_false", plain_error), ("invalid_arguments", invalid)):
        for path, documented in errors[name]["keys"].items():
            assert keys_at(error.response.data, path) == set(documented), name  # type: ignore[arg-type]
    assert keys_at(limited.response.data, "") == set(errors["ratelimited"]["keys"][""])  # type: ignore[arg-type]
    assert (limited.response.status_code, limited.response.headers["Retry-After"]) == (429, "3")


# ----- refusing what Slack refuses --------------------------------------------------------------


def test_an_injected_error_must_be_one_slack_documents_for_the_method(
    slack_standin: SlackStandIn,
) -> None:
    with pytest.raises(ValueError, match=r"no 'hash_conflict' error for chat\.postMessage"):
        slack_standin.fail("chat.postMessage", "hash_conflict")
    with pytest.raises(ValueError, match="name a method"):
        slack_standin.fail(None, "channel_not_found")
    slack_standin.fail("views.update", "hash_conflict")  # documented: accepted
    slack_standin.fail(None, "internal_error")  # any method may answer it


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_trigger_id_older_than_3s_answers_expired_trigger_id() -> None:
    clock = Clock()
    with SlackStandIn(clock=clock) as standin:
        client = WebClient(token=standin.token, base_url=standin.url, retry_handlers=[])
        fresh, stale = standin.new_trigger_id(), standin.new_trigger_id()
        clock.now += 2.9
        assert client.views_open(trigger_id=fresh, view=modal())["ok"]
        clock.now += 0.2  # 3.1 s after it was minted
        error = slack_error(lambda: client.views_push(trigger_id=stale, view=modal()))

    assert error.response["error"] == "expired_trigger_id"
    assert fresh != stale


def test_views_update_without_a_view_id_or_external_id_answers_invalid_arguments(
    slack_client: WebClient,
) -> None:
    # slack_sdk's views_update refuses this itself; other clients send it.
    error = slack_error(lambda: slack_client.api_call("views.update", json={"view": modal()}))
    assert error.response["error"] == "invalid_arguments"
    assert error.response["response_metadata"]["messages"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_chat_update_without_text_or_blocks_answers_no_text(slack_client: WebClient) -> None:
    ts = slack_client.chat_postMessage(channel="C1", text="x")["ts"]
    error = slack_error(lambda: slack_client.chat_update(channel="C1", ts=ts))
    assert error.response["error"] == "no_text"
