"""``/dynamote cluster``: is the cluster reachable, which versions it serves, where to deploy,
and "can I deploy now?": free GPUs by product, GPU nodes, your use against your limits.

Pure: no I/O; the listener asks the cluster and passes the answers in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from slack_sdk.models.blocks import Block, MarkdownTextObject, SectionBlock

from bot.blocks.common import Message, context, escape, header, section, truncate
from bot.domain.capacity import Capacity, plural

__all__ = ["MAX_NAMESPACES", "MAX_PRODUCTS", "GpuUse", "build_cluster_status", "capacity_blocks"]

MAX_NAMESPACES = 40
MAX_PRODUCTS = 10
MAX_BLOCKED_NODES = 10


@dataclass(frozen=True)
class GpuUse:
    """The person's deployments and GPUs against their limits (None: no limit)."""

    deployments: int
    gpus: int
    max_gpus: int | None
    max_deployments: int | None


def _listed(items: Sequence[str], *, empty: str, limit: int, max_chars: int = 1800) -> str:
    """Items as code, comma-separated; past ``limit`` items or ``max_chars``, "and N more"."""
    if not items:
        return empty
    shown: list[str] = []
    size = 0
    for item in items[:limit]:
        text = f"`{escape(truncate(item, 80))}`"
        if shown and size + len(text) + 2 > max_chars:
            break
        shown.append(text)
        size += len(text) + 2
    listed = ", ".join(shown)
    if len(items) > len(shown):
        listed += f" and {len(items) - len(shown)} more"
    return listed


def build_cluster_status(
    *,
    reachable: bool,
    server_version: str | None,
    dgd_versions: Sequence[str],
    namespaces: Sequence[str],
    error: str | None,
    writes: str | None = None,
    capacity: Capacity | None = None,
    capacity_unknown: str = "",
    use: GpuUse | None = None,
) -> Message:
    """The cluster as Dynamote sees it, with what to do when something is missing.

    ``writes``: the DGD API version Dynamote writes there (``ClusterStatus.writes``); None
    when it can write none of ``dgd_versions`` (``error`` says why), so nothing can be deployed.

    With ``capacity`` (or why it is unknown, ``capacity_unknown``) and ``use``, it also says
    how many GPUs are free and how many the person may still take.
    """
    blocks: list[Block] = [header("Cluster")]
    if not reachable:
        detail = escape(truncate(error or "no answer", 1000))
        blocks.append(
            section(
                f":red_circle: *The cluster is not reachable.*\n{detail}\n"
                "Deploys and lists wait until it answers. If this lasts, tell your platform "
                "team."
            )
        )
        return Message(text="The cluster is not reachable", blocks=blocks)

    # The API versions the operator serves, not Dynamo releases: said as such.
    versions = _listed(dgd_versions, empty="none", limit=10)
    operator = f"installed (API {versions})" if dgd_versions else "not installed"
    blocks.append(
        SectionBlock(
            fields=[
                MarkdownTextObject(text=":large_green_circle: *Reachable*\nyes"),
                MarkdownTextObject(
                    text=f"*Kubernetes*\n{escape(truncate(server_version or 'unknown', 100))}"
                ),
                MarkdownTextObject(text=f"*Dynamo operator*\n{operator}"),
            ]
        )
    )
    blocks.append(
        section(
            "*Namespaces you may deploy to*\n"
            + _listed(namespaces, empty="none configured", limit=MAX_NAMESPACES)
        )
    )
    if not dgd_versions:
        blocks.append(
            section(
                ":warning: The NVIDIA Dynamo operator is not installed in this cluster, so "
                "nothing can be deployed yet. Your platform team can install it."
            )
        )
    if capacity is not None or capacity_unknown or use is not None:
        blocks.extend(capacity_blocks(capacity, capacity_unknown, use))
    if error:
        blocks.append(context(f":warning: {escape(truncate(error, 500))}"))
    state = "ready" if writes else "missing a Dynamo operator Dynamote can use"
    free = f"; {plural(capacity.free, 'GPU')} free" if capacity is not None else ""
    return Message(text=f"The cluster is reachable and {state}{free}", blocks=blocks)


def capacity_blocks(capacity: Capacity | None, unknown: str, use: GpuUse | None) -> list[Block]:
    """Free GPUs by product and the GPU nodes, or why they are unknown; then the person's use."""
    blocks: list[Block] = []
    if capacity is None:
        why = escape(truncate(unknown or "not read yet", 500))
        blocks.append(section(f"*Free GPUs*\nunknown: {why}"))
    else:
        blocks.append(section(_free_gpus(capacity)))
        blocked = capacity.blocked_nodes()
        if blocked:
            shown = ", ".join(
                f"`{escape(truncate(n.name, 60))}` ({escape(truncate(n.blocked, 80))})"
                for n in blocked[:MAX_BLOCKED_NODES]
            )
            more = len(blocked) - MAX_BLOCKED_NODES
            tail = f" and {more} more" if more > 0 else ""
            blocks.append(context(f"Taking no new pods: {shown}{tail}"))
    if use is not None:
        blocks.append(section(_your_use(use)))
    return blocks


def _free_gpus(capacity: Capacity) -> str:
    products = capacity.by_product()
    if not products:
        return f"*Free GPUs*\nnone: no node of the {capacity.node_count} takes GPU pods"
    lines = [
        f"*Free GPUs: {capacity.free} of {capacity.total}* on "
        f"{plural(sum(p.nodes for p in products), 'GPU node')}"
    ]
    for product in products[:MAX_PRODUCTS]:
        lines.append(
            f"• *{escape(truncate(product.label, 80))}*: {product.free} of {product.total} free "
            f"on {plural(product.nodes, 'node')}, at most {product.largest_free} on one node"
        )
    if len(products) > MAX_PRODUCTS:
        lines.append(f"and {len(products) - MAX_PRODUCTS} more products")
    return "\n".join(lines)


def _your_use(use: GpuUse) -> str:
    gpus = f"{plural(use.gpus, 'GPU')}"
    if use.max_gpus is not None:
        gpus += f" of your {use.max_gpus}"
    deployments = plural(use.deployments, "deployment")
    if use.max_deployments is not None:
        deployments += f" of your {use.max_deployments}"
    limits = "" if use.max_gpus is not None or use.max_deployments is not None else " (no limits)"
    return f"*Your use*\n{gpus} in {deployments}{limits}"
