"""Buttons on deployment lists, details and the catalog: view, delete, page, browse.

Delete arrives here only after Slack's confirm dialog (danger style) was accepted; the status
card's thread then says who deleted the deployment. Only Dynamote's own DGDs are shown or
deleted (``bot.slack.listeners.guard.find_deployment``): admins also see, marked, those whose
provenance does not verify; a refused look or delete is audited and answered as for a
missing deployment.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.blocks.common import Message, error_message
from bot.blocks.deployments import (
    build_delete_prompt,
    build_deleted_notice,
    build_deployment_list,
    build_details,
)
from bot.blocks.ids import (
    ACTION_BROWSE_MODELS,
    ACTION_DELETE_DEPLOYMENT,
    ACTION_DEPLOYMENT_MENU,
    ACTION_LIST_PAGE,
    ACTION_MODELS_PAGE,
    ACTION_MY_DEPLOYMENTS,
    ACTION_VIEW_DEPLOYMENT,
    MENU_DELETE,
    MENU_OPEN_THREAD,
    MENU_TRY_IT,
    MENU_VIEW,
    parse_menu_value,
)
from bot.blocks.models import build_models
from bot.blocks.policy import build_denial
from bot.deployment_service import NamespaceNotAllowed, NotDynamotes
from bot.domain.deployments import Deployment
from bot.domain.policy import Action
from bot.ops.audit import Outcome, audit
from bot.ops.metrics import DEPLOYMENTS_DELETED
from bot.slack.context import AppContext
from bot.slack.listeners.guard import actor_of, find_deployment, guarded, is_admin, may_delete
from bot.slack.listeners.replies import explain, reply
from bot.slack.listeners.tryit import open_try_modal

__all__ = [
    "audit_delete",
    "button_target",
    "handle_browse_models",
    "handle_delete",
    "handle_deployment_menu",
    "handle_list_page",
    "handle_models_page",
    "handle_my_deployments",
    "handle_view",
    "register",
]

log = logging.getLogger(__name__)


def register(app: App) -> None:
    reading, deleting = [guarded(Action.READ)], [guarded(Action.DELETE)]
    app.action(ACTION_VIEW_DEPLOYMENT, middleware=reading)(handle_view)
    app.action(ACTION_DELETE_DEPLOYMENT, middleware=deleting)(handle_delete)
    # The menu's Delete only answers with the delete prompt, whose button is guarded above.
    app.action(ACTION_DEPLOYMENT_MENU, middleware=reading)(handle_deployment_menu)
    app.action(ACTION_LIST_PAGE, middleware=reading)(handle_list_page)
    app.action(ACTION_MY_DEPLOYMENTS, middleware=reading)(handle_my_deployments)
    app.action(ACTION_BROWSE_MODELS, middleware=reading)(handle_browse_models)
    app.action(ACTION_MODELS_PAGE, middleware=reading)(handle_models_page)


def _action_value(body: dict[str, Any]) -> str:
    return str(((body.get("actions") or [{}])[0]).get("value") or "")


def _user(body: dict[str, Any]) -> str:
    return str((body.get("user") or {}).get("id", ""))


def _target(value: str, dynamote: AppContext) -> tuple[str, str]:
    namespace, _, name = value.partition("/")
    service = dynamote.service
    return service.namespace_for(namespace or None), service.check_name(name)


def button_target(body: dict[str, Any], dynamote: AppContext) -> tuple[str, str]:
    """(namespace, name) of a card button's ``"<namespace>/<name>"``, both checked."""
    return _target(_action_value(body), dynamote)


Work = Callable[[dict[str, Any], Respond, WebClient, AppContext], None]


def _acked_then(work: Work, *, doing: str, prompt: bool = False) -> Callable[..., None]:
    """A listener that acks, then hands ``work`` to Dynamote's pools (``prompt``: see
    ``AppContext.after_ack``), so the ack leaves as the listener returns."""

    # Bolt injects arguments by these positional parameter names.
    def handler(
        ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
    ) -> None:
        ack()
        dynamote.after_ack(
            lambda: work(body, respond, client, dynamote), doing=doing, prompt=prompt
        )

    return handler


def _view(body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext) -> None:
    _show(_action_value(body), body, respond, client, dynamote)


def _show(
    value: str, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    try:
        namespace, name = _target(value, dynamote)
        user, channel = actor_of(body)
        deployment = find_deployment(
            dynamote, client, action=Action.READ, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        details = build_details(deployment, now=dynamote.now(), viewer=user)
        reply(details, body=body, respond=respond, client=client)
    except Exception as error:
        reply(
            explain(error, doing="show that deployment"), body=body, respond=respond, client=client
        )


def _menu(body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext) -> None:
    """A deployment's "…" menu (or a "Delete…" button): View shows it; Try it opens its
    modal; Delete asks first, with the confirmed button. Open thread is a link Slack opens
    itself; its block_actions needs only the ack."""
    action = (body.get("actions") or [{}])[0]
    # A menu sends the chosen option; a "Delete…" button (a name's lookup) its own value.
    chosen = (action.get("selected_option") or {}).get("value") or action.get("value")
    verb, key = parse_menu_value(str(chosen or ""))
    if verb == MENU_VIEW:
        _show(key, body, respond, client, dynamote)
    elif verb == MENU_DELETE:
        _prompt_delete(key, body, respond, client, dynamote)
    elif verb == MENU_TRY_IT:
        open_try_modal(key, body, respond, client, dynamote)
    elif verb == MENU_OPEN_THREAD:
        return
    else:  # only a forged payload gets here
        message = error_message("Could not answer that menu", "Dynamote offers no such choice.")
        reply(message, body=body, respond=respond, client=client)


def _prompt_delete(
    value: str, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    user, channel = actor_of(body)
    try:
        namespace, name = _target(value, dynamote)
        found = find_deployment(
            dynamote, client, action=Action.DELETE, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        allowed = may_delete(dynamote, client, user=user, target=found)
        if not allowed.allowed:  # said now, not after the confirm
            audit_delete(found, user=user, channel=channel, outcome="denied", reason=allowed.text)
            reply(
                build_denial(allowed, title="You cannot delete that deployment"),
                body=body, respond=respond, client=client,
            )  # fmt: skip
            return
        reply(
            build_delete_prompt(found, now=dynamote.now()),
            body=body, respond=respond, client=client,
        )  # fmt: skip
    except Exception as error:
        reply(
            explain(error, doing="delete that deployment"), body=body, respond=respond,
            client=client,
        )  # fmt: skip


def _delete(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    user, channel = actor_of(body)
    namespace: str | None = None
    name: str | None = None
    found: Deployment | None = None
    try:
        namespace, name = _target(_action_value(body), dynamote)
        found = find_deployment(
            dynamote, client, action=Action.DELETE, user=user, channel=channel,
            namespace=namespace, name=name,
        )  # fmt: skip
        allowed = may_delete(dynamote, client, user=user, target=found)
        if not allowed.allowed:
            audit_delete(found, user=user, channel=channel, outcome="denied", reason=allowed.text)
            reply(
                build_denial(allowed, title="You cannot delete that deployment"),
                body=body, respond=respond, client=client,
            )  # fmt: skip
            return
        deployment = dynamote.service.delete(
            namespace, name, by_user=user, unverified=not found.verified
        )
    except Exception as error:
        refused = isinstance(error, NamespaceNotAllowed | NotDynamotes)
        outcome: Outcome = "denied" if refused else "failed"
        reason = error.audit_reason if isinstance(error, NotDynamotes) else str(error)
        if found is not None or not isinstance(error, NotDynamotes):  # else already audited
            audit(Action.DELETE.value, user=user, channel=channel, namespace=namespace,
                  name=name, outcome=outcome, reason=reason)  # fmt: skip
        reply(
            explain(error, doing="delete that deployment"),
            body=body,
            respond=respond,
            client=client,
        )
        return
    DEPLOYMENTS_DELETED.inc()
    audit_delete(deployment, user=user, channel=channel, outcome="deleted")
    # The card's thread hears about it from the notifier, which announces every deletion.
    reply(
        build_deleted_notice(deployment, by_user=user, viewer=user),
        body=body,
        respond=respond,
        client=client,
    )


def _list_page(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    try:
        page = _page_value(body)
        message = list_message(
            dynamote,
            client,
            scope="all" if page.get("scope") == "all" else "mine",
            user=_user(body),
            namespace=str(page.get("namespace") or "") or None,
            page=_page_number(page),
        )
        reply(message, body=body, respond=respond, client=client, replace=True)
    except Exception as error:
        reply(explain(error, doing="list deployments"), body=body, respond=respond, client=client)


def list_message(
    dynamote: AppContext,
    client: WebClient,
    *,
    scope: str,
    user: str,
    namespace: str | None,
    page: int,
) -> Message:
    """The deployment list a person asked for, as a message (commands and buttons); ``all``
    shows admins the unverified deployments too."""
    admin = is_admin(dynamote, client, user=user)
    deployments = dynamote.service.deployments_for(
        scope=scope, user=user, namespace=namespace, unverified=scope == "all" and admin
    )
    return build_deployment_list(
        deployments,
        scope=scope,
        namespace=namespace,
        page=page,
        now=dynamote.now(),
        viewer=user,
        admin=admin,
        workspace_url=dynamote.workspace_url(),
    )


def _page_value(body: dict[str, Any]) -> dict[str, Any]:
    # Only Slack carries our own JSON back, but a forged or garbled value gets the first page.
    try:
        page = json.loads(_action_value(body))
    except ValueError:
        return {}
    return page if isinstance(page, dict) else {}


def _page_number(page: dict[str, Any]) -> int:
    number = page.get("page", 0)
    return number if isinstance(number, int) and not isinstance(number, bool) else 0


def _my_deployments(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    try:
        message = list_message(
            dynamote, client, scope="mine", user=_user(body), namespace=None, page=0
        )
        reply(message, body=body, respond=respond, client=client)
    except Exception as error:
        reply(
            explain(error, doing="list your deployments"), body=body, respond=respond, client=client
        )


# Each button acks at once; its cluster-bound work runs on Dynamote's pool (AppContext.after_ack).
handle_view = _acked_then(_view, doing="show a deployment")
handle_delete = _acked_then(_delete, doing="delete a deployment")
handle_deployment_menu = _acked_then(_menu, doing="answer a deployment menu")
handle_list_page = _acked_then(_list_page, doing="page the deployment list")
handle_my_deployments = _acked_then(_my_deployments, doing="list a user's deployments")


def _browse_models(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    reply(build_models(dynamote.catalog.models), body=body, respond=respond, client=client)


def _models_page(
    body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    # Our own JSON comes back, but a forged value (a float page, Infinity, a list for the
    # engine) must get the first page, never an exception.
    page = _page_value(body)
    query = str(page.get("query") or "")
    engine = page.get("engine") if isinstance(page.get("engine"), str) else None
    try:
        models = dynamote.catalog.search(query, engine=engine or None)
        message = build_models(
            models,
            query=query,
            engine=engine,
            page=_page_number(page),
            capacity=dynamote.service.capacity.get().capacity,  # cached: never waits
            max_gpus=dynamote.settings.max_gpus_per_worker,
        )
    except (ValueError, TypeError) as error:
        log.warning("Bad models page value: %s", error)
        message = build_models(dynamote.catalog.models)
    reply(message, body=body, respond=respond, client=client, replace=True)


# The catalog needs no cluster call: these answer from the prompt pool.
handle_browse_models = _acked_then(_browse_models, doing="show the models", prompt=True)
handle_models_page = _acked_then(_models_page, doing="page the models", prompt=True)


def audit_delete(
    deployment: Deployment, *, user: str, channel: str | None, outcome: Outcome, reason: str = ""
) -> None:
    """One audit record for a delete of ``deployment`` (also used by ``/dynamote delete``)."""
    audit(
        Action.DELETE.value,
        user=user,
        channel=channel,
        namespace=deployment.namespace,
        name=deployment.name,
        model=deployment.model,
        gpus=deployment.status.gpus,
        outcome=outcome,
        reason=reason,
    )
