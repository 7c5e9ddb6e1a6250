"""What ``dynamote sim`` reads from the environment to make the simulated cluster behave.

- ``DYNAMOTE_SIM_OPERATOR_VERSION`` (default the newest line, 1.7.1): the operator whose
  admission rules the stand-in applies; from 1.5.0 on, an image without a semantic-version tag
  needs ``runtimeVersionOverride`` (``bot.sim.operator.admission``).
- ``DYNAMOTE_SIM_TRANSIENT_FAILURE`` (seconds, default 0): every new DGD's reconciles fail for
  that long (state ``failed``, ``failed_to_reconcile_the_resources``), then succeed, to watch
  Dynamote ride out an operator hiccup.

A bad value raises ``ValueError`` with what is wrong and how to fix it.
"""

from __future__ import annotations

import os

from bot.sim.operator.admission import LATEST_OPERATOR_VERSION, parse_version

__all__ = ["OPERATOR_VERSION_ENV", "TRANSIENT_FAILURE_ENV", "operator_version", "transient_failure"]

OPERATOR_VERSION_ENV = "DYNAMOTE_SIM_OPERATOR_VERSION"
TRANSIENT_FAILURE_ENV = "DYNAMOTE_SIM_TRANSIENT_FAILURE"


def operator_version() -> str:
    """The target operator version, checked: ``1.4.2``, ``v1.5``."""
    value = os.environ.get(OPERATOR_VERSION_ENV, "").strip() or LATEST_OPERATOR_VERSION
    try:
        parse_version(value)
    except ValueError:
        raise ValueError(
            f"{OPERATOR_VERSION_ENV}={value!r} is not a version; set it like 1.4.2 or 1.5.0"
        ) from None
    return value


def transient_failure() -> float:
    """Seconds each new DGD's reconciles fail before they succeed (0: never)."""
    value = os.environ.get(TRANSIENT_FAILURE_ENV, "").strip() or "0"
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(
            f"{TRANSIENT_FAILURE_ENV}={value!r} must be a number of seconds from 0 to 3600"
        )
    return seconds
