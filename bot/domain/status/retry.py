"""Whether the operator's ``failed`` is a reconcile it is still retrying. Pure.

The operator writes ``state: failed`` with ``Ready=False`` and reason
``failed_to_reconcile_the_resources`` (or another of :data:`RETRIED_REASONS`) after every
reconcile that returned an error, requeues it with back-off, and writes ``pending`` or
``successful`` again once one succeeds. So ``failed`` with such a reason is not final: it is
"retrying" until it has lasted :data:`RECONCILE_RETRY_WINDOW`.

The window counts from the later of the ``Ready`` condition's ``lastTransitionTime`` and
``failing_since``, when the caller first saw the ``failed`` state (the notifier keeps it on
the DGD). The condition's time alone is not enough: it moves only when ``Ready`` changes
status (``meta.SetStatusCondition``), so on a deployment whose ``Ready`` was already ``False``
(still coming up) it is when ``Ready`` went ``False``, and an error late in a long rollout
would be judged at once. Without ``failing_since`` (a view with no record) the condition's
time is all there is.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from bot.domain.status.model import RECONCILE_RETRY_WINDOW, RETRIED_REASONS
from bot.domain.status.raw import as_dict, as_list, one_line, parse_time

__all__ = ["operator_retrying"]


def operator_retrying(
    status: Mapping[str, Any], now: datetime | None, failing_since: datetime | None = None
) -> str | None:
    """The operator's error while it is still retrying it; None when it is not (or no more).

    ``now`` None judges the snapshot as it stands: a ``failed`` state is final then.
    ``failing_since``: when the ``failed`` state was first seen, if known.
    """
    if status.get("state") != "failed" or now is None:
        return None
    ready = next((c for c in as_list(status.get("conditions")) if c.get("type") == "Ready"), None)
    if (
        ready is None
        or ready.get("status") != "False"
        or ready.get("reason") not in RETRIED_REASONS
    ):
        return None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if failing_since is not None and _aware(failing_since) > now:
        failing_since = None  # a time not yet come (a hand-edited record) says nothing
    since = _latest(parse_time(as_dict(ready).get("lastTransitionTime")), failing_since)
    if since is None:
        return None
    if now - since >= RECONCILE_RETRY_WINDOW:
        return None
    return one_line(str(ready.get("message") or ready.get("reason")))


def _latest(*times: datetime | None) -> datetime | None:
    return max((_aware(t) for t in times if t is not None), default=None)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
