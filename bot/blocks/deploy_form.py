"""The deploy form's values: what the modal shows, what Slack sends back, and where errors go.

:class:`DeployForm` holds the form as the user typed it (strings and booleans, unvalidated):
``build_deploy_modal`` renders one, ``read_deploy_form`` reads one back from
``view.state.values``, and :meth:`DeployForm.to_request_data` hands it to
``bot.domain.request.parse_request``, which owns every rule. :class:`ModalMetadata` rides along in
``private_metadata``. Import these from ``bot.blocks.deploy_modal``. Pure: no I/O.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot.blocks.card_metadata import read_metadata
from bot.blocks.ids import (
    BLOCK_CHANNEL,
    BLOCK_CONTEXT_LENGTH,
    BLOCK_ENGINE,
    BLOCK_ENGINE_ARGS,
    BLOCK_GPUS,
    BLOCK_HF_SECRET,
    BLOCK_MEMORY,
    BLOCK_MODE,
    BLOCK_MODEL,
    BLOCK_NAME,
    BLOCK_NAMESPACE,
    BLOCK_OPTIONS,
    BLOCK_REPLICAS,
    BLOCK_ROUTER,
    BLOCK_SERVED_NAME,
    BLOCK_SIZE,
    FIELD_BLOCKS,
    OPTION_ENFORCE_EAGER,
    OPTION_PREFIX_CACHING,
    OPTION_TRUST_REMOTE_CODE,
    base_block_id,
    input_block_id,
)
from bot.domain.catalog import Catalog, Model
from bot.domain.request import default_name

__all__ = [
    "MAX_ERROR_CHARS",
    "DeployForm",
    "ModalMetadata",
    "chosen_channel",
    "error_blocks",
    "initial_form",
    "parse_size",
    "read_deploy_form",
    "shown_blocks",
    "shown_model",
    "size_value",
    "view_revision",
    "with_default_engine",
    "with_model",
]

# Slack documents no limit for an inline error; long ones wrap badly, so keep them short.
MAX_ERROR_CHARS = 150


@dataclass(frozen=True)
class DeployForm:
    """What the deploy form holds, as typed (strings and booleans, not yet validated)."""

    model: str | None
    name: str
    namespace: str
    engine: str | None
    mode: str = "aggregated"
    replicas: str = "1"
    router_mode: str = "none"
    hf_token_secret: str = "hf-token-secret"  # noqa: S105  (a Secret's name)
    gpus: str = "1"
    context_length: str = ""
    memory: str = ""
    served_model_name: str = ""
    enforce_eager: bool = False
    enable_prefix_caching: bool = True
    trust_remote_code: bool = False
    engine_args: str = ""

    def to_request_data(self) -> dict[str, Any]:
        """camelCase data for ``parse_request``.

        Empty optional texts become None; a missing model or engine and empty engine args are
        left out, so the request's own defaults and "is required" messages apply.
        """
        data: dict[str, Any] = {
            "name": self.name.strip(),
            "namespace": self.namespace.strip(),
            "mode": self.mode,
            "replicas": self.replicas.strip(),
            "routerMode": self.router_mode,
            "hfTokenSecret": self.hf_token_secret.strip(),
            "gpus": self.gpus.strip(),
            "contextLength": self.context_length.strip() or None,
            "memory": self.memory.strip() or None,
            "servedModelName": self.served_model_name.strip() or None,
            "enforceEager": self.enforce_eager,
            "enablePrefixCaching": self.enable_prefix_caching,
            "trustRemoteCode": self.trust_remote_code,
        }
        if self.model:
            data["model"] = self.model
        if self.engine:
            data["engine"] = self.engine
        if self.engine_args.strip():
            data["engineArgs"] = self.engine_args
        return data


@dataclass(frozen=True)
class ModalMetadata:
    """Who opened the modal, from which channel, the revision of its input block ids, and
    whether it shows the advanced options."""

    user_id: str
    channel_id: str | None
    revision: int = 0
    advanced: bool = False
    replaces: str | None = None  # "<namespace>/<name>": Redeploy… of a failed deployment

    def to_json(self) -> str:
        """Compact JSON for ``private_metadata`` (far below its 3000 characters)."""
        raw: dict[str, Any] = {
            "user": self.user_id,
            "channel": self.channel_id,
            "revision": self.revision,
        }
        if self.advanced:
            raw["advanced"] = True
        if self.replaces:
            raw["replaces"] = self.replaces
        return json.dumps(raw, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> ModalMetadata:
        """Parse :meth:`to_json`'s output; ValueError for anything else."""
        raw, user, channel = read_metadata(text)
        revision = raw.get("revision", 0)
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 0:
            raise ValueError("private_metadata has a revision that is not a whole number >= 0")
        advanced = raw.get("advanced", False)
        if not isinstance(advanced, bool):
            raise ValueError("private_metadata has an advanced flag that is not true or false")
        replaces = raw.get("replaces")
        if replaces is not None and (not isinstance(replaces, str) or "/" not in replaces):
            raise ValueError("private_metadata has a replaced deployment that is not ns/name")
        return cls(
            user_id=user,
            channel_id=channel,
            revision=revision,
            advanced=advanced,
            replaces=replaces or None,
        )

    @classmethod
    def of_view(cls, view: Mapping[str, Any]) -> ModalMetadata:
        """A view's metadata; one with no user and no channel when it is missing or unreadable
        (never trusted blindly, but a lost one must not break the form)."""
        try:
            return cls.from_json(str(view.get("private_metadata") or ""))
        except ValueError:
            return cls(user_id="", channel_id=None)


def initial_form(
    catalog: Catalog, model: Model | None, *, namespace: str, hf_secret: str
) -> DeployForm:
    """The form as first shown: generated name and the model's first engine, if any model."""
    if model is None:
        return DeployForm(
            model=None, name="", namespace=namespace, engine=None, hf_token_secret=hf_secret
        )
    known = catalog.get(model.id) or model
    return DeployForm(
        model=known.id,
        name=default_name(known.id, namespace),
        namespace=namespace,
        engine=known.supported_engines[0],
        hf_token_secret=hf_secret,
    )


def with_default_engine(form: DeployForm, catalog: Catalog) -> DeployForm:
    """The form with the model's first engine when none is chosen (the engine is hidden)."""
    model = catalog.get(form.model) if form.model else None
    if form.engine or model is None:
        return form
    return replace(form, engine=model.supported_engines[0])


def size_value(gpus: int | str, replicas: int | str) -> str:
    """The size select's option value: ``"2x1"`` is 2 GPUs per worker, 1 replica."""
    return f"{gpus}x{replicas}"


def parse_size(value: str) -> tuple[str, str] | None:
    """(GPUs per worker, replicas) as typed text from :func:`size_value`'s output, or None."""
    gpus, sep, replicas = value.partition("x")
    if not sep or not gpus or not replicas:
        return None
    return gpus, replicas


def with_model(form: DeployForm, catalog: Catalog, model_id: str) -> DeployForm:
    """The form after the model changed; what the user typed elsewhere is kept.

    The engine stays if the new model runs on it, else becomes the new model's first. The
    name is regenerated only while it is still the old model's generated name (or empty).
    """
    new = catalog.get(model_id)
    new_id = new.id if new is not None else model_id
    engine = form.engine
    if new is not None and engine not in new.supported_engines:
        engine = new.supported_engines[0]
    name = form.name
    untouched = form.model is not None and name.strip() == default_name(form.model, form.namespace)
    if not name.strip() or untouched:
        name = default_name(new_id, form.namespace)
    return replace(form, model=new_id, engine=engine, name=name)


# --- reading view.state.values -------------------------------------------------------------


def _revision(block_id: str) -> int:
    suffix = block_id.rpartition(".")[2]
    return int(suffix) if suffix.isascii() and suffix.isdigit() else -1


def _latest_values(state_values: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """base block id -> the (single) element value of its newest revision."""
    found: dict[str, tuple[int, Mapping[str, Any]]] = {}
    if not isinstance(state_values, Mapping):
        return {}
    for block_id, actions in state_values.items():
        if not isinstance(block_id, str) or not isinstance(actions, Mapping):
            continue
        value = next((v for v in actions.values() if isinstance(v, Mapping)), None)
        if value is None:
            continue
        base, revision = base_block_id(block_id), _revision(block_id)
        if base not in found or revision >= found[base][0]:
            found[base] = (revision, value)
    return {base: value for base, (_, value) in found.items()}


def _option_value(option: object) -> str | None:
    if isinstance(option, Mapping):
        value = option.get("value")
        return value if isinstance(value, str) else None
    return None


def _text(values: Mapping[str, Mapping[str, Any]], block: str, default: str = "") -> str:
    """A select's or radio's value (``default`` when none is chosen), or an input's text.

    ``default`` applies only when the block is missing: an input the user emptied reads as
    "" so that the request's rules, not a silent default, decide about it.
    """
    value = values.get(block)
    if value is None:
        return default
    if "selected_option" in value:
        return _option_value(value.get("selected_option")) or default
    raw = value.get("value")
    return raw if isinstance(raw, str) else ""


def _choice(values: Mapping[str, Mapping[str, Any]], block: str) -> str | None:
    return _text(values, block) or None


def read_deploy_form(
    state_values: Mapping[str, Any], defaults: DeployForm | None = None
) -> DeployForm:
    """The form from ``view["state"]["values"]``; missing or odd values fall back to defaults.

    ``defaults`` fills the inputs the view does not show (the advanced options while they are
    hidden, the namespace when there is only one); without it, the DeployForm defaults.
    """
    values = _latest_values(state_values)
    defaults = defaults or DeployForm(model=None, name="", namespace="", engine=None)
    options = values.get(BLOCK_OPTIONS)
    if options is None:
        checked = {
            OPTION_ENFORCE_EAGER: defaults.enforce_eager,
            OPTION_PREFIX_CACHING: defaults.enable_prefix_caching,
            OPTION_TRUST_REMOTE_CODE: defaults.trust_remote_code,
        }
    else:
        selected = options.get("selected_options")
        picked = {_option_value(o) for o in selected} if isinstance(selected, list) else set()
        checked = {
            key: key in picked
            for key in (OPTION_ENFORCE_EAGER, OPTION_PREFIX_CACHING, OPTION_TRUST_REMOTE_CODE)
        }
    size = parse_size(_text(values, BLOCK_SIZE)) if BLOCK_SIZE in values else None
    if size is None:  # no size chosen, or a view from before the size select
        size = (
            _text(values, BLOCK_GPUS, defaults.gpus),
            _text(values, BLOCK_REPLICAS, defaults.replicas),
        )
    return DeployForm(
        model=_choice(values, BLOCK_MODEL),
        name=_text(values, BLOCK_NAME),
        namespace=_text(values, BLOCK_NAMESPACE, defaults.namespace),
        engine=_choice(values, BLOCK_ENGINE) or defaults.engine,
        mode=_text(values, BLOCK_MODE, defaults.mode),
        replicas=size[1],
        router_mode=_text(values, BLOCK_ROUTER, defaults.router_mode),
        hf_token_secret=_text(values, BLOCK_HF_SECRET, defaults.hf_token_secret),
        gpus=size[0],
        context_length=_text(values, BLOCK_CONTEXT_LENGTH, defaults.context_length),
        memory=_text(values, BLOCK_MEMORY, defaults.memory),
        served_model_name=_text(values, BLOCK_SERVED_NAME, defaults.served_model_name),
        enforce_eager=checked[OPTION_ENFORCE_EAGER],
        enable_prefix_caching=checked[OPTION_PREFIX_CACHING],
        trust_remote_code=checked[OPTION_TRUST_REMOTE_CODE],
        engine_args=_text(values, BLOCK_ENGINE_ARGS, defaults.engine_args),
    )


def chosen_channel(state_values: Mapping[str, Any]) -> str | None:
    """The channel picked for progress (a modal opened from App Home), or None."""
    value = _latest_values(state_values).get(BLOCK_CHANNEL) or {}
    chosen = value.get("selected_conversation")
    return chosen if isinstance(chosen, str) and chosen else None


# Fields that share a block are named in their message, so the user knows which one is meant.
_SHARED_FIELD_LABELS = {
    "enforceEager": "Enforce eager",
    "enablePrefixCaching": "Prefix caching",
    "trustRemoteCode": "Trust remote code",
    "gpus": "GPUs",
    "replicas": "Replicas",
}
# A field whose input the view does not show is named by its label on the model block.
_FIELD_LABELS = {
    **_SHARED_FIELD_LABELS,
    "namespace": "Namespace",
    "engine": "Engine",
    "mode": "Mode",
    "routerMode": "Router",
    "hfTokenSecret": "HF token secret",
    "contextLength": "Context length",
    "memory": "Memory per worker",
    "servedModelName": "Served model name",
    "engineArgs": "Extra engine args",
}


def error_blocks(
    errors: Mapping[str, str], revision: int, shown: Collection[str] | None = None
) -> dict[str, str]:
    """Request-field errors -> ``{input block_id: message}`` for ``response_action="errors"``.

    Fields shown on one block are joined; fields without a block of their own, or whose block
    is not among ``shown`` (base block ids; None: all), go to the model block, named, so the
    message still says what it is about. Slack refuses errors for blocks the view lacks.
    """
    grouped: dict[str, list[str]] = {}
    for field, message in errors.items():
        text = message.strip() or "is not valid"
        base = FIELD_BLOCKS.get(field)
        hidden = base is not None and shown is not None and base not in shown
        if hidden and field == "engine" and "model" in errors:
            continue  # a hidden engine follows the model: choosing one fixes both
        if hidden:
            base = None
            if field in _FIELD_LABELS and field != "namespace":
                text = f"{_FIELD_LABELS[field]} (advanced options): {text}"
            else:
                text = f"{_FIELD_LABELS.get(field, field)}: {text}"
        elif base is None:
            text = f"{field}: {text}"
        elif field in _SHARED_FIELD_LABELS:
            text = f"{_SHARED_FIELD_LABELS[field]}: {text}"
        block_id = input_block_id(base or BLOCK_MODEL, revision)
        grouped.setdefault(block_id, []).append(text)
    return {block_id: _trim(" · ".join(messages)) for block_id, messages in grouped.items()}


def _trim(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


def shown_model(view_blocks: Sequence[Mapping[str, Any]]) -> str | None:
    """The model the view was built for (its model select's initial option).

    A model change arrives with the *new* choice already in the state values; what the view
    showed before tells whether the name was still the generated one.
    """
    for block in view_blocks:
        if (
            block.get("type") == "input"
            and base_block_id(str(block.get("block_id"))) == BLOCK_MODEL
        ):
            initial = (block.get("element") or {}).get("initial_option") or {}
            value = initial.get("value")
            return str(value) if value else None
    return None


def shown_blocks(view_blocks: Sequence[Mapping[str, Any]]) -> set[str]:
    """The base ids of the input blocks the view shows (where inline errors may go)."""
    return {
        base_block_id(str(block.get("block_id", "")))
        for block in view_blocks
        if isinstance(block, Mapping) and block.get("type") == "input"
    }


def view_revision(view_blocks: Sequence[Mapping[str, Any]]) -> int:
    """The revision the view's input blocks carry (0 when none does).

    Inline errors must name the block ids the view really has, so the revision is read from
    the view itself rather than trusted from private_metadata.
    """
    revisions = [
        _revision(str(block.get("block_id", "")))
        for block in view_blocks
        if isinstance(block, Mapping) and block.get("type") == "input"
    ]
    return max([r for r in revisions if r >= 0], default=0)
