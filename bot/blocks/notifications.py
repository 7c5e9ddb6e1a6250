"""The thread replies the notifier posts under a status card, one per announced change. Pure.

Each builder returns a :class:`Message` with a plain fallback ``text`` (what notifications and
screen readers show) and blocks kept inside Block Kit's limits: names, reasons and logs are
trimmed, and a log tail is at most :data:`MAX_LOG_LINES` lines of :data:`MAX_LOG_LINE` chars.
Deletions reuse :func:`bot.blocks.status_card.build_deleted_reply`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, Block

from bot.blocks.common import Message, badge, code, context, escape, mention, section, truncate
from bot.blocks.fixit import full_log_button, redeploy_button
from bot.blocks.rows import delete_button, replicas
from bot.blocks.status_card import build_deleted_reply
from bot.blocks.tryit import try_button
from bot.domain.deployments import Deployment, endpoint_commands
from bot.domain.failures import diagnose
from bot.ops.redaction import redact

__all__ = [
    "MAX_LOG_CHARS",
    "MAX_LOG_LINE",
    "MAX_LOG_LINES",
    "build_deleted_reply",
    "build_phase_reply",
    "build_running_reply",
    "build_trouble_reply",
    "trim_log",
]

MAX_LOG_LINES = 20
MAX_LOG_LINE = 200
MAX_LOG_CHARS = 2500  # inside a 3000-character section, with the fences


def _name(deployment: Deployment) -> str:
    return f"*{escape(truncate(deployment.name, 100))}*"


def _plain(text: str) -> str:
    return escape(truncate(" ".join(text.split()), 300))


def build_phase_reply(deployment: Deployment) -> Message:
    """A plain phase change: ``:large_blue_circle: Deploying · 1/2 ready · <reason>``."""
    status = deployment.status
    line = f"{badge(status.phase)} · {_name(deployment)} · {replicas(deployment)}"
    if status.reason and status.reason != "ready":
        line += f" · {escape(truncate(status.reason, 300))}"
    fallback = _plain(f"{deployment.name} is {status.phase.lower()}: {status.reason}")
    return Message(text=fallback, blocks=[section(line)])


def build_running_reply(
    deployment: Deployment, *, mention_owner: bool = True, try_it_unavailable: str | None = None
) -> Message:
    """Running: the requester (mentioned, or not: ``mention_owner``), Try it, and the two lines
    that reach the model, ready to paste; ``try_it_unavailable`` says why Dynamote cannot reach
    it (no button then)."""
    commands = endpoint_commands(deployment)
    who = _who(deployment, mention_owner)
    model = escape(truncate(deployment.served_model_name, 150))
    blocks: list[Block] = [
        section(
            f"{badge('Running')} · {who}{_name(deployment)} is running "
            f"({replicas(deployment)}) and serves `{model}`."
        ),
        section("Forward the frontend's port:\n" + code(commands.port_forward)),
        section("Then, in another terminal:\n" + code(commands.curl)),
    ]
    if try_it_unavailable:
        blocks.append(context(f":warning: Try it is unavailable: {_plain(try_it_unavailable)}"))
    else:
        blocks.append(ActionsBlock(elements=[try_button(deployment)]))
    fallback = _plain(f"{deployment.name} is running: {commands.port_forward}")
    return Message(text=fallback, blocks=blocks)


def build_trouble_reply(
    deployment: Deployment,
    *,
    fix: str,
    log_tail: str | None = None,
    log_source: str | None = None,
    stuck_for: timedelta | None = None,
    mention_owner: bool = True,
    updated: datetime | None = None,
) -> Message:
    """Failed, or stuck Pending for ``stuck_for``: the cause in words first, the one line that
    shows it, the fix, and the buttons that act on it (Redeploy…, Full log, Delete). When no
    cause is recognised, the status's reason leads and the log's tail follows.

    ``updated``: this edits the trouble reply already posted, at that time ("still ...").
    """
    status = deployment.status
    who = _who(deployment, mention_owner)
    found = diagnose(status, log_tail, deployment.request)
    said = found.cause if found is not None else status.reason
    if stuck_for is not None:
        headline = (
            f"{badge('Pending')} · {who}{_name(deployment)} has been pending for "
            f"{_duration(stuck_for)}"
        )
        fallback = f"{deployment.name} is stuck pending: {said}"
    else:
        headline = f"{badge('Failed')} · {who}{_name(deployment)} failed"
        fallback = f"{deployment.name} failed: {said}"
        if updated is not None:
            fallback = f"{deployment.name} is still failing: {said}"
    blocks: list[Block] = [section(f"{headline}: *{escape(truncate(said, 500))}*")]
    if found is not None and found.line:
        where = "Kubernetes"
        if found.from_log:
            where = f"The log of `{escape(truncate(log_source, 120))}`" if log_source else "The log"
        blocks.append(section(f"{where} says:\n{code(truncate(found.line, 600))}"))
    if found is not None and found.change_text:
        fix = f"redeploy with {found.change_text}: press Redeploy…, the form has it filled in"
    blocks.append(section(f":point_right: To fix it, {escape(truncate(fix, 1000))}."))
    # A named cause quotes its line (Full log has the rest); an unnamed one shows the tail.
    log = trim_log(log_tail or "") if found is None or found.kind == "crash" else ""
    if log:
        source = f" of `{escape(truncate(log_source, 120))}`" if log_source else ""
        blocks.append(section(f"Last lines of the log{source}:\n{code(log)}"))
    blocks.append(
        ActionsBlock(
            elements=[
                redeploy_button(deployment),
                full_log_button(deployment),
                delete_button(deployment),
            ]
        )
    )
    footer = f"{replicas(deployment)} · `{escape(truncate(status.namespace, 63))}`"
    if found is not None and updated is None:  # what Kubernetes says, beside the cause
        footer = f"{escape(truncate(status.reason, 300))} · {footer}"
    if updated is not None:
        footer = (
            f"still {escape(truncate(status.reason, 300))} · updated {_time(updated)} · {footer}"
        )
    blocks.append(context(footer))
    return Message(text=_plain(fallback), blocks=blocks)


def trim_log(text: str, *, lines: int = MAX_LOG_LINES, chars: int = MAX_LOG_CHARS) -> str:
    """The last ``lines`` lines of a log, tokens redacted, each line and the whole (``chars``,
    once escaped) bounded; blank edges dropped. Redacted before anything is cut, so no cut
    leaves a token unrecognisable."""
    clean = redact(text)
    cut = [truncate(line.rstrip(), MAX_LOG_LINE) for line in clean.strip("\n").splitlines()]
    kept: list[str] = []
    total = 0
    for line in reversed(cut[-lines:]):
        # code() escapes & < > into entities, up to 5 characters each: budget for the worst.
        cost = len(escape(line)) + 1
        if total + cost > chars:
            break
        kept.append(line)
        total += cost
    return "\n".join(reversed(kept)).strip("\n")


def _who(deployment: Deployment, mention_owner: bool) -> str:
    """The owner's mention and a space; nothing when not mentioning (nobody is pinged)."""
    return f"{mention(deployment.requester)} " if deployment.requester and mention_owner else ""


def _time(moment: datetime) -> str:
    """A Slack date token: the time in each reader's own time zone (UTC in the fallback)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    fallback = f"{moment.astimezone(UTC):%H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{time}}|{fallback}>"


def _duration(elapsed: timedelta) -> str:
    seconds = max(int(elapsed.total_seconds()), 0)
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"
