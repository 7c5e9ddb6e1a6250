"""The deploy modal: every input of a DeploymentRequest, filled from a DeployForm.

The essentials come first and the advanced options on request (``ACTION_SHOW_ADVANCED``);
a cost line and where progress will be posted sit above Submit. Every initial value comes
from the form, so a view rebuilt after a model change (with a new
revision in its input block ids, see ``bot/blocks/ids.py``) shows what the user typed. The
form's values, metadata and errors live in ``deploy_form``, the views shown after submit in
``deploy_result``. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    CheckboxesElement,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    PlainTextObject,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.approvals import why_input
from bot.blocks.common import button, context, escape, header, section
from bot.blocks.deploy_cost import Budget, cost_line
from bot.blocks.deploy_form import DeployForm, ModalMetadata, size_value
from bot.blocks.expiry import keep_for_input
from bot.blocks.ids import (
    ACTION_MODEL_SELECT,
    ACTION_PREVIEW_YAML,
    ACTION_SHOW_ADVANCED,
    ACTION_SIZE_SELECT,
    BLOCK_CHANNEL,
    BLOCK_CONTEXT_LENGTH,
    BLOCK_ENGINE,
    BLOCK_ENGINE_ARGS,
    BLOCK_HF_SECRET,
    BLOCK_MEMORY,
    BLOCK_MODE,
    BLOCK_MODEL,
    BLOCK_NAME,
    BLOCK_NAMESPACE,
    BLOCK_OPTIONS,
    BLOCK_ROUTER,
    BLOCK_SERVED_NAME,
    BLOCK_SIZE,
    CALLBACK_DEPLOY,
    OPTION_ENFORCE_EAGER,
    OPTION_PREFIX_CACHING,
    OPTION_TRUST_REMOTE_CODE,
)
from bot.blocks.inputs import Choice, input_block, number_input, option, radio, text_input
from bot.domain.capacity import Capacity, model_fit
from bot.domain.catalog import ENGINE_LABELS, ENGINES, Catalog
from bot.domain.engine_args import DEFAULT_ALLOWED, LIBRARY
from bot.domain.expiry import ExpiryPolicy
from bot.domain.request import MAX_NAME_LENGTH, SAFE_NAME_LENGTH, RequestLimits

__all__ = ["MODES", "ROUTER_MODES", "build_deploy_modal", "where_updates_go"]

MAX_OPTIONS = 100  # a static_select holds at most 100 options

MODES: tuple[Choice, ...] = (
    ("aggregated", "Aggregated", "Prefill and decode on the same workers"),
    ("disaggregated", "Disaggregated", "Separate prefill and decode workers (twice the GPUs)"),
)
ROUTER_MODES: tuple[Choice, ...] = (
    ("none", "Default", "The frontend's default routing"),
    ("kv", "KV-aware", "Sends requests to the worker that has their prefix cached"),
    ("round-robin", "Round robin", "Takes turns across workers"),
)
OPTIONS: tuple[Choice, ...] = (
    (OPTION_ENFORCE_EAGER, "Enforce eager", "No CUDA graphs: starts faster, runs slower"),
    (OPTION_PREFIX_CACHING, "Prefix caching", "Reuse the KV cache of shared prompt prefixes"),
    (OPTION_TRUST_REMOTE_CODE, "Trust remote code", "Run code shipped with the model"),
)


def _model_select(
    catalog: Catalog, form: DeployForm, capacity: Capacity | None, max_gpus: int
) -> StaticSelectElement:
    """The model choices; with the cluster's ``capacity``, each says how it fits in its
    description (Slack shows an option's description under its text in a select menu)."""
    models = list(catalog.models)
    selected = catalog.get(form.model) if form.model else None
    if len(models) > MAX_OPTIONS:
        models = models[: MAX_OPTIONS - 1]
        if selected is not None and selected not in models:
            models.append(selected)
    options = [
        option(
            m.id,
            f"{m.name} ({m.parameters})",
            model_fit(capacity, m.min_gpu_memory, max_gpus=max_gpus)
            if capacity is not None
            else None,
        )
        for m in models
    ]
    initial = next((o for o in options if selected and o.value == selected.id), None)
    return StaticSelectElement(
        action_id=ACTION_MODEL_SELECT,
        placeholder=PlainTextObject(text="Choose a model"),
        options=options,
        initial_option=initial,
    )


def _model_fit(
    catalog: Catalog, form: DeployForm, capacity: Capacity | None, limits: RequestLimits
) -> list[Block]:
    """Under the model select: how the chosen model fits the cluster's GPUs ("Qwen3 0.6B fits
    on 1 x NVIDIA L40S 45 GiB"), when the cached capacity is known. A line of its own because
    a select shows only the chosen option's text once closed."""
    model = catalog.get(form.model) if form.model else None
    if model is None or capacity is None:
        return []
    fits = model_fit(capacity, model.min_gpu_memory, max_gpus=limits.max_gpus_per_worker)
    return [context(f"{escape(model.name)} {escape(fits)}")]


def _namespace_select(namespaces: Sequence[str], form: DeployForm) -> StaticSelectElement:
    names = [n for n in dict.fromkeys(namespaces) if n][:MAX_OPTIONS] or [
        form.namespace or "default"
    ]
    options = [option(n[:150], n) for n in names]
    initial = next((o for o in options if o.value == form.namespace), None)
    if initial is None and len(options) == 1:
        initial = options[0]
    return StaticSelectElement(
        action_id=BLOCK_NAMESPACE,
        placeholder=PlainTextObject(text="Choose a namespace"),
        options=options,
        initial_option=initial,
    )


def _engine_args_hint(allowed: Mapping[str, Iterable[str]]) -> str:
    """The allowed flags per engine: an error about one shows only its first 150 characters."""
    per_engine = [
        f"{ENGINE_LABELS.get(engine, engine)}: {', '.join(names)}"
        for engine in ENGINES
        if (names := [n for n in LIBRARY[engine] if n in set(allowed.get(engine, ()))])
    ]
    allowed_text = "; ".join(per_engine) if per_engine else "none"
    return (
        "One flag=value per line, without leading dashes; a flag alone turns a switch on. "
        f"Allowed: {allowed_text}."
    )


def _size_label(gpus: int, replicas: int) -> str:
    if replicas == 1:
        return "1 GPU" if gpus == 1 else f"{gpus} GPUs, tensor-parallel"
    if gpus == 1:
        return f"{replicas} replicas, 1 GPU each"
    return f"{replicas} replicas, {gpus} GPUs each, tensor-parallel"


def _whole(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) > 0 else None


def _size_select(form: DeployForm, limits: RequestLimits) -> StaticSelectElement:
    """Every replicas x GPUs-per-worker pair within the limits, smallest first.

    GPUs per worker are powers of two (tensor parallelism splits a model that way) plus the
    limit; the form's own pair is kept even when it is none of those.
    """
    top_gpus, top_replicas = max(limits.max_gpus_per_worker, 1), max(limits.max_replicas, 1)
    per_worker = {g for g in (1, 2, 4, 8, 16, 32, 64) if g <= top_gpus} | {top_gpus}
    pairs = {(g, r) for g in per_worker for r in range(1, top_replicas + 1)}
    current = (_whole(form.gpus), _whole(form.replicas))
    chosen = (current[0], current[1]) if current[0] and current[1] else None
    ordered = sorted(pairs, key=lambda p: (p[0] * p[1], p[1], p[0]))[:MAX_OPTIONS]
    if chosen is not None and chosen not in ordered:
        ordered = [*ordered[: MAX_OPTIONS - 1], chosen]
    factor = 2 if form.mode == "disaggregated" else 1
    options = []
    for gpus, replicas in ordered:
        total = gpus * replicas * factor
        description = f"{total} GPUs in all" if total != gpus else None
        options.append(option(size_value(gpus, replicas), _size_label(gpus, replicas), description))
    initial = None
    if chosen is not None:
        initial = next((o for o in options if o.value == size_value(*chosen)), None)
    return StaticSelectElement(
        action_id=ACTION_SIZE_SELECT,
        placeholder=PlainTextObject(text="Choose a size"),
        options=options,
        initial_option=initial,
    )


def _advanced_blocks(
    catalog: Catalog,
    form: DeployForm,
    *,
    revision: int,
    engine_args_allowed: Mapping[str, Iterable[str]],
) -> list[Block]:
    model = catalog.get(form.model) if form.model else None
    engines = model.supported_engines if model is not None else ENGINES
    engine_choices = [(e, ENGINE_LABELS.get(e, e), "") for e in engines]
    if model is not None:
        context_hint = (
            f"Up to {model.context_length:,} tokens for {model.name}. Empty: the model's own."
        )
    else:
        context_hint = (
            "Tokens per request; at most the model's context length. Empty: the model's own."
        )
    options = [option(v, text, description) for v, text, description in OPTIONS]
    on = {
        OPTION_ENFORCE_EAGER: form.enforce_eager,
        OPTION_PREFIX_CACHING: form.enable_prefix_caching,
        OPTION_TRUST_REMOTE_CODE: form.trust_remote_code,
    }
    initial = [o for o in options if on[str(o.value)]]
    return [
        DividerBlock(),
        header("Advanced options"),
        input_block(
            BLOCK_ENGINE,
            "Engine",
            radio(BLOCK_ENGINE, engine_choices, form.engine or ""),
            revision=revision,
        ),
        input_block(BLOCK_MODE, "Mode", radio(BLOCK_MODE, MODES, form.mode), revision=revision),
        input_block(
            BLOCK_ROUTER,
            "Router",
            radio(BLOCK_ROUTER, ROUTER_MODES, form.router_mode),
            revision=revision,
        ),
        input_block(
            BLOCK_CONTEXT_LENGTH,
            "Context length",
            number_input(BLOCK_CONTEXT_LENGTH, form.context_length, low=1, high=None),
            revision=revision,
            hint=context_hint,
            optional=True,
        ),
        input_block(
            BLOCK_MEMORY,
            "Memory per worker",
            text_input(BLOCK_MEMORY, form.memory, placeholder="e.g. 16Gi", max_length=20),
            revision=revision,
            hint="A Kubernetes quantity such as 16Gi. Empty: no memory limit.",
            optional=True,
        ),
        input_block(
            BLOCK_SERVED_NAME,
            "Served model name",
            text_input(BLOCK_SERVED_NAME, form.served_model_name, max_length=256),
            revision=revision,
            hint="The name clients send in requests. Empty: the model id.",
            optional=True,
        ),
        input_block(
            BLOCK_OPTIONS,
            "Options",
            CheckboxesElement(
                action_id=BLOCK_OPTIONS, options=options, initial_options=initial or None
            ),
            revision=revision,
            optional=True,
        ),
        input_block(
            BLOCK_ENGINE_ARGS,
            "Extra engine args",
            text_input(
                BLOCK_ENGINE_ARGS, form.engine_args, placeholder="max-num-seqs=64", multiline=True
            ),
            revision=revision,
            hint=_engine_args_hint(engine_args_allowed),
            optional=True,
        ),
        input_block(
            BLOCK_HF_SECRET,
            "Hugging Face token secret",
            text_input(BLOCK_HF_SECRET, form.hf_token_secret, max_length=253),
            revision=revision,
            hint="A Secret in the namespace holding HF_TOKEN, used to download the model.",
        ),
    ]


def where_updates_go(channel_id: str | None, *, asked: bool = False) -> str:
    """Where the deployment's progress will be posted, as the form says it (``asked``: the
    form asks which channel)."""
    if asked:
        return "Progress is posted in the channel you choose, with updates in its thread."
    if channel_id and channel_id.startswith("D"):
        return "Progress is posted in this conversation, with updates in its thread."
    if channel_id:
        return f"Progress is posted in <#{channel_id}>, with updates in its thread."
    return "Progress comes to you in a direct message from Dynamote."


def build_deploy_modal(
    catalog: Catalog,
    form: DeployForm,
    *,
    namespaces: Sequence[str],
    limits: RequestLimits,
    metadata: ModalMetadata,
    notice: str | None = None,
    command: str = "/dynamote",
    engine_args_allowed: Mapping[str, Iterable[str]] | None = None,
    budget: Budget | None = None,
    channels: Sequence[str] = (),
    expiry: ExpiryPolicy | None = None,
    ask_why: bool = False,
) -> View:
    """The deploy modal showing ``form``; ``notice`` is a line on top (progress or warning).

    The essentials (model, name, the namespace when there is a choice, size) come first; the
    rest appear once ``metadata.advanced`` is set, each filled from ``form``. ``budget``: what
    the cost line measures the deployment against (None: only the GPUs it uses).
    ``engine_args_allowed``: the extra engine args everyone may use (None: the shipped list).
    ``channels``: the channels deploys are allowed in; a modal opened without a channel (App
    Home) asks which one progress goes to, starting at the first.
    """
    revision = metadata.revision
    ask_channel = metadata.channel_id is None and bool(channels)
    blocks: list[Block] = []
    if notice:
        blocks.append(context(escape(notice)))
    cost = cost_line(form, budget or Budget())
    capacity = budget.capacity if budget is not None else None
    if budget is not None and budget.exhausted:
        blocks.append(section(cost.text))
    blocks += [
        input_block(
            BLOCK_MODEL,
            "Model",
            _model_select(catalog, form, capacity, limits.max_gpus_per_worker),
            revision=revision,
            dispatch_action=True,
            hint=f"Browse them all with {command} models.",
        ),
        *_model_fit(catalog, form, capacity, limits),
        input_block(
            BLOCK_NAME,
            "Deployment name",
            text_input(
                BLOCK_NAME, form.name, placeholder="e.g. qwen3-0-6b", max_length=MAX_NAME_LENGTH
            ),
            revision=revision,
            hint="Use lowercase letters, digits and '-', starting and ending with a letter or "
            f"digit. Up to {SAFE_NAME_LENGTH} characters always fit; the exact limit (at most "
            f"{MAX_NAME_LENGTH}) depends on engine, mode and namespace, as Kubernetes names "
            "derived from it must fit 63 characters.",
        ),
    ]
    if len({n for n in namespaces if n}) > 1:
        blocks.append(
            input_block(
                BLOCK_NAMESPACE, "Namespace", _namespace_select(namespaces, form), revision=revision
            )
        )
    if ask_channel:
        blocks.append(
            input_block(
                BLOCK_CHANNEL,
                "Post progress in",
                ConversationSelectElement(
                    action_id=BLOCK_CHANNEL,
                    placeholder=PlainTextObject(text="Choose a channel"),
                    initial_conversation=channels[0],
                    filter=ConversationFilter(include=["public", "private"]),
                ),
                revision=revision,
                hint="Deploys happen in a team channel, so the team sees them.",
            )
        )
    blocks.append(
        input_block(
            BLOCK_SIZE,
            "Size",
            _size_select(form, limits),
            revision=revision,
            dispatch_action=True,
            hint="Tensor-parallel splits one copy of the model across GPUs, for models too big "
            "for one. Replicas are copies that share the requests.",
        )
    )
    if expiry is not None:
        blocks.append(keep_for_input(expiry, revision=revision))
    if ask_why:
        blocks.append(why_input(revision=revision))
    if metadata.advanced:
        blocks += _advanced_blocks(
            catalog,
            form,
            revision=revision,
            engine_args_allowed=DEFAULT_ALLOWED
            if engine_args_allowed is None
            else engine_args_allowed,
        )
    buttons = [button(":page_facing_up: Preview YAML", ACTION_PREVIEW_YAML, "preview")]
    if not metadata.advanced:
        buttons.append(button("Show advanced options", ACTION_SHOW_ADVANCED, "advanced"))
    blocks.append(ActionsBlock(elements=buttons))
    if cost.text:
        blocks.append(context(cost.text))
    blocks.append(context(where_updates_go(metadata.channel_id, asked=ask_channel)))
    return View(
        type="modal",
        callback_id=CALLBACK_DEPLOY,
        title=PlainTextObject(text="Deploy a model"),
        submit=PlainTextObject(text="Deploy"),
        close=PlainTextObject(text="Cancel"),
        private_metadata=metadata.to_json(),
        blocks=blocks,
    )
