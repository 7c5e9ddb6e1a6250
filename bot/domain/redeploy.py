"""The mark a deployment carries while Redeploy… replaces it under the same name. Pure.

Redeploy… deletes the failed DGD and creates its successor with the same name, card and
thread. Just before the delete, who redeploys is written as the signed ``deleted-by`` field
(``bot.domain.provenance.Claim``), prefixed with :data:`MARK`, so the notifier, which announces
every deletion, knows this one is not the end of the thread and leaves the card to the successor.
"""

from __future__ import annotations

__all__ = ["MARK", "redeploy_mark", "redeployed_by"]

MARK = "redeploy:"


def redeploy_mark(user: str) -> str:
    """The ``deleted-by`` value of a deployment ``user`` replaces."""
    return f"{MARK}{user}"


def redeployed_by(deleted_by: str | None) -> str | None:
    """Who replaced the deployment, when ``deleted_by`` is a redeploy's mark; else None."""
    if deleted_by and deleted_by.startswith(MARK):
        return deleted_by[len(MARK) :] or None
    return None
