"""Try it: open the prompt modal, send the prompt to the deployment's frontend, stream the
answer into the modal, share it in the card's thread.

Whoever may see a deployment may try it (the guard checks ``read`` on every click and on
submit; the deployment is looked up as :func:`bot.slack.listeners.deployments.find_deployment`
does, so an unverified one is tried by admins only), at most ``DYNAMOTE_TRY_IT_PER_MINUTE``
prompts a minute per person. The modal opens before any cluster call (the trigger_id lives
3 s); the answer streams on Dynamote's pool and is redrawn with ``views.update`` at most
once every :data:`UPDATE_INTERVAL` seconds per modal, within one budget for the whole app
(:class:`bot.domain.tryit.UpdateBudget`). Each try is audited (``try``: tried, failed or denied).
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from dataclasses import dataclass, replace
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.blocks.ids import (
    ACTION_TRY_AGAIN,
    ACTION_TRY_IT,
    ACTION_TRY_POST,
    BLOCK_TRY_MAX_TOKENS,
    BLOCK_TRY_PROMPT,
    CALLBACK_TRY_IT,
    input_block_id,
)
from bot.blocks.tryit import (
    TryMetadata,
    answer_text_of,
    build_answer_view,
    build_shared_answer,
    build_try_modal,
    with_prompt,
)
from bot.cluster import ClusterError
from bot.cluster.frontend import FrontendError
from bot.deployment_service import NotDynamotes
from bot.domain.deployments import Deployment
from bot.domain.manifest import frontend_service_name
from bot.domain.policy import Action
from bot.domain.tryit import (
    Figures,
    TryLimiter,
    UpdateBudget,
    chat_request,
    check_max_tokens,
    check_prompt,
    read_event,
)
from bot.ops.audit import Outcome, audit
from bot.slack.context import AppContext
from bot.slack.listeners.guard import actor_of, find_deployment, guarded
from bot.slack.listeners.replies import explain, reply

__all__ = [
    "UPDATE_INTERVAL",
    "handle_open_try",
    "handle_post_answer",
    "handle_try_again",
    "handle_try_submission",
    "open_try_modal",
    "register",
]

log = logging.getLogger(__name__)

UPDATE_INTERVAL = 1.0  # seconds between redraws of one streaming answer
UPDATES_PER_MINUTE = 90  # the whole app's streaming redraws, under views.update's Tier 4
ACTION = "try"


def register(app: App) -> None:
    reading = [guarded(Action.READ)]
    app.action(ACTION_TRY_IT, middleware=reading)(handle_open_try)
    app.view(CALLBACK_TRY_IT, middleware=reading)(handle_try_submission)
    app.action(ACTION_TRY_POST, middleware=reading)(handle_post_answer)
    app.action(ACTION_TRY_AGAIN, middleware=reading)(handle_try_again)


# --- per app: who tried how often, and the redraw budget -----------------------------------


@dataclass
class _Limits:
    tries: TryLimiter
    updates: UpdateBudget


_limits: dict[int, _Limits] = {}
_limits_lock = threading.Lock()


def _limits_of(dynamote: AppContext) -> _Limits:
    key = id(dynamote)  # AppContext is unhashable; one entry per context, gone with it
    with _limits_lock:
        found = _limits.get(key)
        if found is None:
            found = _Limits(
                TryLimiter(dynamote.settings.try_it_per_minute, time.monotonic),
                UpdateBudget(UPDATES_PER_MINUTE, time.monotonic),
            )
            _limits[key] = found
            weakref.finalize(dynamote, _limits.pop, key, None)
        return found


# --- opening -------------------------------------------------------------------------------


def handle_open_try(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext, respond: Respond
) -> None:
    ack()
    value = str(((body.get("actions") or [{}])[0]).get("value") or "")
    open_try_modal(value, body, respond, client, dynamote)


def open_try_modal(
    value: str, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    """Open the Try it modal for ``value`` (``namespace/name``) with the body's trigger_id:
    the Try it button's and the deployment menu's Try it."""
    user, channel = actor_of(body)
    try:
        key = _checked_key(value, dynamote)
        metadata = TryMetadata(user_id=user, channel_id=channel, deployment=key)
        client.views_open(
            trigger_id=str(body.get("trigger_id", "")), view=build_try_modal(metadata)
        )
    except Exception as error:
        reply(explain(error, doing="open Try it"), body=body, respond=respond, client=client)


def _checked_key(value: str, dynamote: AppContext) -> str:
    """``namespace/name`` from a button, both checked before anything reaches the cluster."""
    namespace, _, name = value.partition("/")
    service = dynamote.service
    return f"{service.namespace_for(namespace or None)}/{service.check_name(name)}"


# --- sending the prompt --------------------------------------------------------------------


def handle_try_submission(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    view = body.get("view") or {}
    user, channel = actor_of(body)
    prompt_block = input_block_id(BLOCK_TRY_PROMPT, 0)
    try:
        metadata = TryMetadata.from_json(str(view.get("private_metadata") or ""))
        _checked_key(metadata.deployment, dynamote)
    except ValueError:
        ack(
            response_action="errors",
            errors={prompt_block: "This form is out of date: close it and press Try it again."},
        )
        return
    values = (view.get("state") or {}).get("values") or {}
    prompt, prompt_problem = check_prompt(_typed(values, BLOCK_TRY_PROMPT))
    max_tokens, tokens_problem = check_max_tokens(_typed(values, BLOCK_TRY_MAX_TOKENS))
    errors = {}
    if prompt_problem:
        errors[prompt_block] = prompt_problem
    if tokens_problem:
        errors[input_block_id(BLOCK_TRY_MAX_TOKENS, 0)] = tokens_problem
    if not errors:
        wait = _limits_of(dynamote).tries.take(user)
        if wait is not None:
            limit = dynamote.settings.try_it_per_minute
            errors[prompt_block] = (
                f"You can send {limit} prompts a minute; try again in {int(wait) + 1} s."
            )
            namespace, _, name = metadata.deployment.partition("/")
            audit(ACTION, user=user, channel=channel, namespace=namespace, name=name,
                  outcome="denied", reason="per-person rate limit")  # fmt: skip
    if errors:
        ack(response_action="errors", errors=errors)
        return
    trying = replace(with_prompt(metadata, prompt, max_tokens), user_id=user, channel_id=channel)
    ack(
        response_action="update",
        view=build_answer_view(trying, answer="", status="Sending the prompt…", done=False),
    )
    view_id = str(view.get("id") or "")
    dynamote.after_ack(
        lambda: _Try(client, dynamote, view_id, trying).run(), doing="try a deployment"
    )


def _typed(values: dict[str, Any], base: str) -> str | None:
    state = (values.get(input_block_id(base, 0)) or {}).get(base) or {}
    value = state.get("value")
    return value if isinstance(value, str) else None


class _ViewGone(Exception):  # noqa: N818  (reads as what happened)
    """The modal was closed or changed meanwhile: stop drawing into it."""


class _Try:
    """One prompt sent and its answer streamed into one modal."""

    def __init__(
        self, client: WebClient, dynamote: AppContext, view_id: str, metadata: TryMetadata
    ) -> None:
        self.client = client
        self.dynamote = dynamote
        self.view_id = view_id
        self.metadata = metadata
        self.namespace, _, self.name = metadata.deployment.partition("/")
        self.hash: str | None = None  # unknown after the submission's ack drew the view
        self.budget = _limits_of(dynamote).updates

    def run(self) -> None:
        user, channel = self.metadata.user_id, self.metadata.channel_id
        try:
            deployment = find_deployment(
                self.dynamote, self.client, action=Action.READ, user=user, channel=channel,
                namespace=self.namespace, name=self.name,
            )  # fmt: skip
        except Exception as error:
            self._finish("", error=_why(error), figures="")
            if not isinstance(error, NotDynamotes):  # that one find_deployment audited
                self._audit("failed", None, str(error))
            return
        try:
            self._stream(deployment)
        except _ViewGone:
            log.info("Try it modal %s closed or changed; stopped streaming", self.view_id)

    def _stream(self, deployment: Deployment) -> None:
        service = deployment.status.frontend_service or frontend_service_name(deployment.name)
        model = deployment.served_model_name
        body = chat_request(model, self.metadata.prompt, self.metadata.max_tokens)
        figures, answer = Figures(), ""
        sent = time.monotonic()
        last_drawn = sent - UPDATE_INTERVAL  # the first piece of text shows at once
        frontend = self.dynamote.service.cluster.frontend
        try:
            lines = frontend.stream_chat(deployment.namespace, service, body)
            try:
                for line in lines:
                    event = read_event(line)
                    if event is None:
                        continue
                    if event.done:
                        break
                    figures.record(event, time.monotonic() - sent)
                    answer += event.text
                    now = time.monotonic()
                    if event.text and now - last_drawn >= UPDATE_INTERVAL and self.budget.take():
                        last_drawn = now
                        self._draw(answer, _progress(figures), done=False)
            finally:
                lines.close()
        except (FrontendError, ValueError) as error:
            message = error.message if isinstance(error, FrontendError) else (
                "The frontend sent something that is not an OpenAI stream; is it Dynamo's?"
            )  # fmt: skip
            self._finish(answer, error=message, figures="")
            self._audit("failed", deployment, message)
            return
        summary = figures.summary(time.monotonic() - sent)
        if not answer:
            self._finish("", error="The model answered with no text.", figures=summary)
            self._audit("failed", deployment, "empty answer")
            return
        self._finish(answer, error=None, figures=summary)
        self._audit("tried", deployment, summary)

    def _draw(self, answer: str, status: str, *, done: bool, error: str | None = None) -> None:
        view = build_answer_view(self.metadata, answer=answer, status=status, done=done,
                                 error=error)  # fmt: skip
        try:
            if self.hash is None:
                drawn = self.client.views_update(view_id=self.view_id, view=view)
            else:
                drawn = self.client.views_update(view_id=self.view_id, hash=self.hash, view=view)
        except SlackApiError as failure:
            if failure.response.get("error") in ("not_found", "hash_conflict"):
                raise _ViewGone from failure
            raise
        self.hash = str((drawn.get("view") or {}).get("hash") or "") or None

    def _finish(self, answer: str, *, error: str | None, figures: str) -> None:
        self.metadata = replace(self.metadata, figures=figures)
        status = figures or ("Nothing more came." if error else "")
        self._draw(answer, status or "Done.", done=True, error=error)

    def _audit(self, outcome: Outcome, deployment: Deployment | None, reason: str) -> None:
        audit(ACTION, user=self.metadata.user_id, channel=self.metadata.channel_id,
              namespace=self.namespace, name=self.name,
              model=deployment.model if deployment else None, outcome=outcome,
              reason=reason)  # fmt: skip


def _progress(figures: Figures) -> str:
    first = f"first token {figures.first_token:.2f} s · " if figures.first_token else ""
    return f"Streaming… {first}{figures.tokens} tokens so far"


def _why(error: Exception) -> str:
    if isinstance(error, ClusterError):
        return error.message
    if isinstance(error, ValueError):
        return str(error)
    log.error("Try it failed", exc_info=error)
    return "Something went wrong inside Dynamote; try again (the bot logged the details)."


# --- after the answer ----------------------------------------------------------------------


def handle_try_again(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    ack()
    view = body.get("view") or {}
    try:
        metadata = TryMetadata.from_json(str(view.get("private_metadata") or ""))
    except ValueError:
        log.warning("Try again on a view without Try it metadata")
        return
    try:
        client.views_update(
            view_id=str(view.get("id") or ""),
            hash=str(view.get("hash") or "") or None,
            view=build_try_modal(replace(metadata, figures="", posted=False)),
        )
    except SlackApiError:
        log.warning("Could not show the prompt again in %s", view.get("id"), exc_info=True)


def handle_post_answer(
    ack: Ack, body: dict[str, Any], client: WebClient, dynamote: AppContext
) -> None:
    ack()
    dynamote.after_ack(lambda: _post_answer(body, client, dynamote), doing="share an answer")


def _post_answer(body: dict[str, Any], client: WebClient, dynamote: AppContext) -> None:
    view = body.get("view") or {}
    user, channel = actor_of(body)
    try:
        metadata = TryMetadata.from_json(str(view.get("private_metadata") or ""))
    except ValueError:
        log.warning("Post to thread on a view without Try it metadata")
        return
    answer = answer_text_of(view)
    if metadata.posted or not answer:
        return
    namespace, _, name = metadata.deployment.partition("/")
    status = metadata.figures or "Done."
    try:
        deployment = find_deployment(
            dynamote, client, action=Action.READ, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        if not deployment.channel or not deployment.thread_ts:
            raise ValueError(f"{name} has no status card thread to post in.")
        message = build_shared_answer(
            metadata, answer=answer, by_user=user, model=deployment.served_model_name
        )
        client.chat_postMessage(
            channel=deployment.channel, thread_ts=deployment.thread_ts, **message.as_kwargs()
        )
    except Exception as error:
        drawn = build_answer_view(metadata, answer=answer, status=status, done=True,
                                  error=f"Not posted: {_why(error)}")  # fmt: skip
        client.views_update(view_id=str(view.get("id") or ""), view=drawn)
        return
    posted = replace(metadata, posted=True)
    client.views_update(
        view_id=str(view.get("id") or ""),
        view=build_answer_view(posted, answer=answer, status=status, done=True),
    )
