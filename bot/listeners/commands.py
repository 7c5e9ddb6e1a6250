"""``/dynamote``: ack at once (empty), then answer through the response_url.

Nothing before ``ack()`` touches the network, and everything after it runs on Dynamote's
pools; ``deploy`` opens the modal on the prompt pool, before any cluster call, because its
trigger_id lives 3 seconds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.app import AppContext
from bot.blocks.cluster import build_cluster_status
from bot.blocks.common import Message
from bot.blocks.deployments import build_delete_prompt, build_details
from bot.blocks.help import build_help
from bot.blocks.models import build_models
from bot.blocks.policy import build_denial
from bot.commands import (
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
from bot.listeners.deploy_modal import open_deploy_modal
from bot.listeners.deployments import find_deployment, list_message
from bot.listeners.guard import command_action, guarded, may_delete
from bot.listeners.replies import explain, reply
from bot.metrics import COMMANDS
from bot.policy import Action

__all__ = ["handle_command", "register"]


def register(app: App, *, command: str) -> None:
    app.command(command, middleware=[guarded(command_action)])(handle_command)


def handle_command(
    ack: Ack,
    command: dict[str, Any],
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    dynamote: AppContext,
) -> None:
    ack()
    name = dynamote.settings.command
    try:
        parsed = parse_command(str(command.get("text") or ""), command=name)
    except CommandError as error:
        COMMANDS.labels(subcommand="invalid", outcome="rejected").inc()
        message = explain(error, doing="run that command")
        dynamote.after_ack(
            lambda: reply(message, body=body, respond=respond, client=client),
            doing="answer a bad command",
            prompt=True,
        )
        return
    subcommand = subcommand_of(parsed)

    def run() -> None:
        try:
            _dispatch(parsed, body=body, respond=respond, client=client, dynamote=dynamote)
        except Exception as error:  # every failure gets an answer; the log keeps the traceback
            COMMANDS.labels(subcommand=subcommand, outcome="error").inc()
            reply(
                explain(error, doing=f"run `{subcommand}`"),
                body=body,
                respond=respond,
                client=client,
            )
            return
        COMMANDS.labels(subcommand=subcommand, outcome="ok").inc()

    # No cluster call in these; views.open must not queue behind slow work.
    prompt = isinstance(parsed, Help | Models | Deploy)
    dynamote.after_ack(run, doing=f"run {subcommand}", prompt=prompt)


def _dispatch(
    parsed: Any, *, body: dict[str, Any], respond: Respond, client: WebClient, dynamote: AppContext
) -> None:
    service = dynamote.service
    user = str(body.get("user_id", ""))
    channel = str(body.get("channel_id") or "") or None

    def answer(message: Message) -> None:
        reply(message, body=body, respond=respond, client=client)

    match parsed:
        case Help(unknown=unknown, suggestion=suggestion):
            answer(build_help(dynamote.settings.command, unknown=unknown, suggestion=suggestion))
        case Models(words=words, engine=engine):
            models = dynamote.catalog.search(words, engine=engine)
            answer(build_models(models, query=" ".join(words), engine=engine))
        case Deploy(words=words):
            open_deploy_modal(
                client,
                dynamote,
                trigger_id=str(body.get("trigger_id", "")),
                user_id=user,
                channel_id=body.get("channel_id"),
                model_words=words,
                respond=respond,
            )
        case ListDeployments(scope=scope, namespace=namespace):
            answer(
                list_message(dynamote, client, scope=scope, user=user, namespace=namespace, page=0)
            )
        case Status(name=name, namespace=namespace):
            deployment = find_deployment(
                dynamote, client, action=Action.READ, user=user, channel=channel,
                namespace=service.namespace_for(namespace), name=service.check_name(name),
            )  # fmt: skip
            answer(build_details(deployment, now=dynamote.now()))
        case Delete(name=name, namespace=namespace):
            deployment = find_deployment(
                dynamote, client, action=Action.DELETE, user=user, channel=channel,
                namespace=service.namespace_for(namespace), name=service.check_name(name),
            )  # fmt: skip
            allowed = may_delete(dynamote, client, user=user, target=deployment)
            if not allowed.allowed:  # say so now rather than after the confirm dialog
                answer(build_denial(allowed, title="You cannot delete that deployment"))
                return
            answer(build_delete_prompt(deployment, now=dynamote.now()))
        case Cluster():
            status = service.cluster_status()
            answer(
                build_cluster_status(
                    reachable=status.reachable,
                    server_version=status.server_version,
                    dgd_versions=status.dgd_versions_served,
                    namespaces=service.namespaces,
                    error=status.error,
                )
            )
