"""Every Prometheus metric Dynamote exports, defined in one place on one registry.

Why one module: metric names are an interface (dashboards and alerts depend on them), so they
are declared once here and incremented by the listeners, the notifier and the server. They
live on a dedicated :data:`REGISTRY` rather than prometheus-client's global one, so `/metrics`
shows only Dynamote's series.

Label values must come from small fixed sets (subcommand names, outcomes, Slack error codes,
Dynamote error class names): every distinct value is a new time series.

Slack Web API failures are counted by the Slack client itself (``bot.slack.client``'s retry
handlers see every call the app makes), once per failed call, so callers must not count them.
"""

from __future__ import annotations

from typing import Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.exposition import generate_latest

__all__ = [
    "COMMANDS",
    "CONTENT_TYPE",
    "DEPLOYMENTS_CREATED",
    "DEPLOYMENTS_DELETED",
    "HTTP_REJECTED",
    "KUBERNETES_API_ERRORS",
    "MODAL_SUBMISSIONS",
    "NOTIFICATIONS_SENT",
    "REGISTRY",
    "SLACK_API_ERRORS",
    "SLACK_API_RETRIES",
    "SWEEP_API_CALLS",
    "SWEEP_DURATION",
    "Outcome",
    "exposition",
]

# ok: did what was asked; rejected: invalid input or policy said no (the user was told why);
# error: something failed on our side or the cluster's.
Outcome = Literal["ok", "rejected", "error"]

CONTENT_TYPE = CONTENT_TYPE_LATEST

# No `*_created` series: a start timestamp per counter and label set doubles the series count
# for nothing Prometheus needs (it detects resets itself). A process-wide switch, set first.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

REGISTRY = CollectorRegistry(auto_describe=True)

# prometheus-client appends `_total` to counter names in the exposition.
COMMANDS = Counter(
    "dynamote_commands",
    "Slash commands handled, by subcommand and outcome.",
    ["subcommand", "outcome"],
    registry=REGISTRY,
)
DEPLOYMENTS_CREATED = Counter(
    "dynamote_deployments_created",
    "DynamoGraphDeployments created from Slack.",
    registry=REGISTRY,
)
DEPLOYMENTS_DELETED = Counter(
    "dynamote_deployments_deleted",
    "DynamoGraphDeployments deleted from Slack.",
    registry=REGISTRY,
)
MODAL_SUBMISSIONS = Counter(
    "dynamote_modal_submissions",
    "Deploy modal submissions, by outcome.",
    ["outcome"],
    registry=REGISTRY,
)
SWEEP_DURATION = Histogram(
    "dynamote_sweep_duration_seconds",
    "Time taken by one notifier sweep over the managed deployments.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0),
    registry=REGISTRY,
)
SWEEP_API_CALLS = Counter(
    "dynamote_sweep_api_calls",
    "API calls made by notifier sweeps, by API (kubernetes or slack).",
    ["api"],
    registry=REGISTRY,
)
SLACK_API_ERRORS = Counter(
    "dynamote_slack_api_errors",
    "Slack Web API calls that failed after any retries, by method and kind: Slack's error code "
    "(not_in_channel, ratelimited, ...), http_5xx, connection or timeout.",
    ["method", "kind"],
    registry=REGISTRY,
)
SLACK_API_RETRIES = Counter(
    "dynamote_slack_api_retries",
    "Slack Web API attempts that failed and were retried (a call that then succeeded is not "
    "an error), by method and kind (ratelimited, http_5xx, connection).",
    ["method", "kind"],
    registry=REGISTRY,
)
KUBERNETES_API_ERRORS = Counter(
    "dynamote_kubernetes_api_errors",
    "Kubernetes API calls that failed, by Dynamote error class (Forbidden, Unreachable, ...).",
    ["kind"],
    registry=REGISTRY,
)
NOTIFICATIONS_SENT = Counter(
    "dynamote_notifications_sent",
    "Deployment status notifications Slack accepted.",
    registry=REGISTRY,
)
HTTP_REJECTED = Counter(
    "dynamote_http_rejected",
    "HTTP requests to /slack/events rejected before Bolt saw them, by reason.",
    ["reason"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The registry in Prometheus text format, with its content type, for GET /metrics."""
    return generate_latest(REGISTRY), CONTENT_TYPE
