"""Every action, callback and block id the app uses, in one place.

Builders in ``bot/blocks`` and the listeners' ``register(app)`` both import these, so an id
cannot drift between the view that carries it and the handler that answers it.

Input blocks of the deploy modal carry a revision suffix (``"name.3"``): when the model
changes, the modal is rebuilt with a new revision so Slack takes the new initial values (it
keeps typed input only while block and action ids stay the same). :func:`input_block_id`
adds the suffix and :func:`base_block_id` strips it.
"""

from __future__ import annotations

__all__ = [
    "ACTION_BROWSE_MODELS",
    "ACTION_DELETE_DEPLOYMENT",
    "ACTION_LIST_PAGE",
    "ACTION_MODELS_PAGE",
    "ACTION_MODEL_SELECT",
    "ACTION_MY_DEPLOYMENTS",
    "ACTION_OPEN_DEPLOY",
    "ACTION_PREVIEW_YAML",
    "ACTION_VIEW_DEPLOYMENT",
    "CALLBACK_DEPLOY",
    "CALLBACK_DEPLOYING",
    "CALLBACK_PREVIEW",
    "FIELD_BLOCKS",
    "base_block_id",
    "input_block_id",
]

# --- buttons and selects (block_actions) ---------------------------------------------------
ACTION_OPEN_DEPLOY = "open_deploy"  # value: a model id, or "" for no preselection
ACTION_BROWSE_MODELS = "browse_models"
ACTION_MY_DEPLOYMENTS = "my_deployments"
ACTION_VIEW_DEPLOYMENT = "view_deployment"  # value: "<namespace>/<name>"
ACTION_DELETE_DEPLOYMENT = "delete_deployment"  # value: "<namespace>/<name>", with confirm
ACTION_LIST_PAGE = "list_page"  # value: JSON {"scope", "namespace", "page"}
ACTION_MODELS_PAGE = "models_page"  # value: JSON {"query", "engine", "page"}
ACTION_PREVIEW_YAML = "preview_yaml"  # a button inside the deploy modal
ACTION_MODEL_SELECT = "model_select"  # the modal's model select (dispatches on change)

# --- views (callback_id) -------------------------------------------------------------------
CALLBACK_DEPLOY = "deploy_modal"
CALLBACK_DEPLOYING = "deploy_progress"
CALLBACK_PREVIEW = "deploy_preview"

# --- deploy modal input blocks: DeploymentRequest field -> base block id --------------------
BLOCK_MODEL = "model"
BLOCK_NAME = "name"
BLOCK_NAMESPACE = "namespace"
BLOCK_ENGINE = "engine"
BLOCK_MODE = "mode"
BLOCK_REPLICAS = "replicas"
BLOCK_ROUTER = "router"
BLOCK_HF_SECRET = "hf_secret"  # noqa: S105  (a block id, not a secret)
BLOCK_GPUS = "gpus"
BLOCK_CONTEXT_LENGTH = "context_length"
BLOCK_MEMORY = "memory"
BLOCK_SERVED_NAME = "served_name"
BLOCK_OPTIONS = "options"  # checkboxes: enforce eager, prefix caching, trust remote code
BLOCK_ENGINE_ARGS = "engine_args"

# Checkbox option values inside BLOCK_OPTIONS.
OPTION_ENFORCE_EAGER = "enforce_eager"
OPTION_PREFIX_CACHING = "prefix_caching"
OPTION_TRUST_REMOTE_CODE = "trust_remote_code"

# Where a rule's error about a request field is shown (keys are parse_request's fields).
FIELD_BLOCKS: dict[str, str] = {
    "model": BLOCK_MODEL,
    "name": BLOCK_NAME,
    "namespace": BLOCK_NAMESPACE,
    "engine": BLOCK_ENGINE,
    "mode": BLOCK_MODE,
    "replicas": BLOCK_REPLICAS,
    "routerMode": BLOCK_ROUTER,
    "hfTokenSecret": BLOCK_HF_SECRET,
    "gpus": BLOCK_GPUS,
    "contextLength": BLOCK_CONTEXT_LENGTH,
    "memory": BLOCK_MEMORY,
    "servedModelName": BLOCK_SERVED_NAME,
    "enforceEager": BLOCK_OPTIONS,
    "enablePrefixCaching": BLOCK_OPTIONS,
    "trustRemoteCode": BLOCK_OPTIONS,
    "engineArgs": BLOCK_ENGINE_ARGS,
}


def input_block_id(base: str, revision: int) -> str:
    """The block id of an input in the modal's ``revision``."""
    return f"{base}.{revision}"


def base_block_id(block_id: str) -> str:
    """The base id of a (possibly revisioned) block id."""
    return block_id.split(".", 1)[0]


# --- expiry (bot/listeners/expiry.py) and approvals (bot/listeners/approvals.py) ----------
ACTION_EXPIRY_KEEP = "expiry_keep"  # value: "<namespace>/<name>"; on the reminder and the card
BLOCK_KEEP_FOR = "keep_for"  # the deploy modal's "Keep for" select (a revisioned input block)
ACTION_APPROVE = "approval_approve"  # value: "<approval id>:<request hash>"
ACTION_DENY = "approval_deny"  # value: "<approval id>:<request hash>"; opens the reason modal
CALLBACK_DENY = "approval_deny_reason"  # the Deny modal (private_metadata: JSON, see listener)
BLOCK_DENY_REASON = "deny_reason"
BLOCK_WHY = "why"  # the deploy modal's optional "Why" for approvers
ACTION_EXPIRY_CHANGE = "expiry_change"  # value: "<namespace>/<name>"; the card's, opens a modal
CALLBACK_EXPIRY_CHANGE = "expiry_change_modal"  # private_metadata: "<namespace>/<name>"
