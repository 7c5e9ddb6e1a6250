"""Reading the values of Dynamote's Prometheus samples, for tests."""

from __future__ import annotations

from bot.ops.metrics import REGISTRY

__all__ = ["sample_value"]


def sample_value(name: str, labels: dict[str, str] | None = None) -> float:
    """The current value of one sample of bot.ops.metrics' registry (0.0 when never recorded).

    ``name`` is the exposed sample name, e.g. ``dynamote_commands_total``.
    """
    value = REGISTRY.get_sample_value(name, labels or {})
    return 0.0 if value is None else value
