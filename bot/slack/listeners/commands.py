"""``/dynamote``: ack at once (empty), then answer through the response_url.

Nothing before ``ack()`` touches the network, and everything after it runs on Dynamote's
pools; ``deploy`` opens the modal on the prompt pool, before any cluster call, because its
trigger_id lives 3 seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.blocks.cluster import GpuUse, build_cluster_status
from bot.blocks.common import Message
from bot.blocks.deployments import (
    build_delete_prompt,
    build_details,
    build_none_yet,
    build_not_found,
    build_which_one,
)
from bot.blocks.help import build_help
from bot.blocks.lookup import Verb
from bot.blocks.models import build_models
from bot.blocks.policy import build_denial
from bot.blocks.scale import build_scale_answer
from bot.cluster import ClusterError
from bot.deployment_service import NotDynamotes
from bot.domain.commands import (
    Cluster,
    CommandError,
    Delete,
    Deploy,
    Help,
    ListDeployments,
    Models,
    Scale,
    Status,
    parse_command,
    subcommand_of,
)
from bot.domain.deployments import Deployment
from bot.domain.policy import Action, usage_of
from bot.ops.audit import audit
from bot.ops.metrics import COMMANDS
from bot.slack.context import AppContext
from bot.slack.listeners.deploy_modal import open_deploy_modal
from bot.slack.listeners.deployments import list_message
from bot.slack.listeners.guard import (
    command_action,
    find_deployment,
    guarded,
    is_admin,
    may_delete,
    policy_of,
)
from bot.slack.listeners.replies import explain, reply
from bot.slack.listeners.scale import scale_deployment

__all__ = ["handle_command", "register"]

# `cluster` answers after its ack: it may wait this long for a GPU capacity read.
CAPACITY_WAIT_SECONDS = 2.0


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
            # Cached capacity only: this answer never waits on the cluster.
            cached = service.capacity.get().capacity
            max_gpus = dynamote.settings.max_gpus_per_worker
            query = " ".join(words)
            answer(
                build_models(models, query=query, engine=engine, capacity=cached, max_gpus=max_gpus)
            )
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
        case Status(name=None, namespace=namespace):
            latest = service.latest_of(user)
            if latest is None or (namespace and latest.namespace != namespace):
                answer(build_none_yet(dynamote.settings.command))
                return
            newest = find_deployment(
                dynamote, client, action=Action.READ, user=user, channel=channel,
                namespace=latest.namespace, name=latest.name,
            )  # fmt: skip
            answer(build_details(newest, now=dynamote.now(), viewer=user))
        case Status(name=str(name), namespace=namespace):
            shown = _one(dynamote, client, body, name, namespace, Action.READ, answer)
            if shown is not None:
                answer(build_details(shown, now=dynamote.now(), viewer=user))
        case Delete(name=name, namespace=namespace):
            target = _one(dynamote, client, body, name, namespace, Action.DELETE, answer)
            if target is None:
                return
            allowed = may_delete(dynamote, client, user=user, target=target)
            if not allowed.allowed:  # say so now rather than after the confirm dialog
                answer(build_denial(allowed, title="You cannot delete that deployment"))
                return
            answer(build_delete_prompt(target, now=dynamote.now()))
        case Scale(name=name, replicas=replicas, namespace=namespace):
            outcome = scale_deployment(
                dynamote, client, user=user, channel=channel,
                namespace=service.namespace_for(namespace), name=service.check_name(name),
                replicas=replicas,
            )  # fmt: skip
            answer(build_scale_answer(outcome.text, ok=outcome.ok))
        case Cluster():
            status = service.cluster_status()
            capacity = (
                service.capacity.get(wait=CAPACITY_WAIT_SECONDS) if status.reachable else None
            )
            answer(
                build_cluster_status(
                    reachable=status.reachable,
                    server_version=status.server_version,
                    dgd_versions=status.dgd_versions_served,
                    namespaces=service.namespaces,
                    error=status.error,
                    writes=status.writes,
                    capacity=capacity.capacity if capacity else None,
                    capacity_unknown=capacity.unknown if capacity else "",
                    use=_gpu_use(dynamote, user) if status.writes else None,
                )
            )


def _gpu_use(dynamote: AppContext, user: str) -> GpuUse | None:
    """The person's deployments and GPUs against their limits; None when they cannot be listed."""
    try:
        usage = usage_of(user, dynamote.service.start_listing_for_limits()())
    except ClusterError:
        return None
    policy = policy_of(dynamote)
    return GpuUse(
        deployments=usage.deployments,
        gpus=usage.gpus,
        max_gpus=policy.max_gpus_per_user,
        max_deployments=policy.max_deployments_per_user,
    )


def _one(
    dynamote: AppContext,
    client: WebClient,
    body: dict[str, Any],
    name: str,
    namespace: str | None,
    action: Action,
    answer: Callable[[Message], None],
) -> Deployment | None:
    """The deployment ``name`` means: in ``namespace`` when given, else wherever it is among
    the allowed namespaces. None once the person was asked which one, or offered close names.
    """
    service = dynamote.service
    user = str(body.get("user_id", ""))
    channel = str(body.get("channel_id") or "") or None
    if namespace is None:
        service.check_name(name.lower())  # text that cannot be a name never reaches the cluster
        lookup = service.lookup(name, unverified=is_admin(dynamote, client, user=user))
        for hidden, standing in lookup.hidden_in:  # answered as missing, audited as refused
            refused = NotDynamotes(hidden, name, standing)
            audit(action.value, user=user, channel=channel, namespace=hidden, name=name,
                  outcome="denied", reason=refused.audit_reason)  # fmt: skip
        verb: Verb = "delete" if action is Action.DELETE else "status"
        if len(lookup.matches) > 1:
            answer(build_which_one(name, lookup.matches, verb=verb, viewer=user))
            return None
        if not lookup.matches:
            command = dynamote.settings.command
            answer(build_not_found(name, lookup.similar, verb=verb, viewer=user, command=command))
            return None
        namespace = lookup.matches[0].namespace
    return find_deployment(
        dynamote, client, action=action, user=user, channel=channel,
        namespace=service.namespace_for(namespace), name=service.check_name(name),
    )  # fmt: skip
