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
    "ACTION_BACK_TO_FORM",
    "ACTION_BROWSE_MODELS",
    "ACTION_DELETE_DEPLOYMENT",
    "ACTION_DEPLOYMENT_MENU",
    "ACTION_FULL_LOG",
    "ACTION_LIST_PAGE",
    "ACTION_MODELS_PAGE",
    "ACTION_MODEL_SELECT",
    "ACTION_MY_DEPLOYMENTS",
    "ACTION_OPEN_DEPLOY",
    "ACTION_PREVIEW_YAML",
    "ACTION_REDEPLOY",
    "ACTION_SCALE",
    "ACTION_SHOW_ADVANCED",
    "ACTION_SIZE_SELECT",
    "ACTION_TRY_AGAIN",
    "ACTION_TRY_IT",
    "ACTION_TRY_POST",
    "ACTION_VIEW_DEPLOYMENT",
    "BLOCK_SCALE_REPLICAS",
    "BLOCK_TRY_ANSWER",
    "BLOCK_TRY_MAX_TOKENS",
    "BLOCK_TRY_PROMPT",
    "CALLBACK_DEPLOY",
    "CALLBACK_DEPLOYING",
    "CALLBACK_FULL_LOG",
    "CALLBACK_PREVIEW",
    "CALLBACK_REDEPLOY_LOADING",
    "CALLBACK_SCALE",
    "CALLBACK_TRY_ANSWER",
    "CALLBACK_TRY_IT",
    "FIELD_BLOCKS",
    "MENU_DELETE",
    "MENU_OPEN_THREAD",
    "MENU_TRY_IT",
    "MENU_VIEW",
    "base_block_id",
    "input_block_id",
    "menu_value",
    "parse_menu_value",
]

# --- buttons and selects (block_actions) ---------------------------------------------------
ACTION_OPEN_DEPLOY = "open_deploy"  # value: a model id, or "" for no preselection
ACTION_BROWSE_MODELS = "browse_models"
ACTION_MY_DEPLOYMENTS = "my_deployments"
ACTION_VIEW_DEPLOYMENT = "view_deployment"  # value: "<namespace>/<name>"
ACTION_DELETE_DEPLOYMENT = "delete_deployment"  # value: "<namespace>/<name>", with confirm
ACTION_DEPLOYMENT_MENU = "deployment_menu"  # overflow (or button); value: menu_value(verb, key)
ACTION_LIST_PAGE = "list_page"  # value: JSON {"scope", "namespace", "page"}
ACTION_MODELS_PAGE = "models_page"  # value: JSON {"query", "engine", "page"}
ACTION_PREVIEW_YAML = "preview_yaml"  # a button inside the deploy modal
ACTION_MODEL_SELECT = "model_select"  # the modal's model select (dispatches on change)
ACTION_SIZE_SELECT = "size_select"  # the modal's size select (dispatches on change)
ACTION_SHOW_ADVANCED = "show_advanced"  # a button inside the deploy modal

# Verbs of the deployment menu's options.
MENU_VIEW = "view"
MENU_DELETE = "delete"

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
BLOCK_REPLICAS = "replicas"  # views built before the size select; still read
BLOCK_SIZE = "size"  # one choice of GPUs per worker and replicas; value "<gpus>x<replicas>"
BLOCK_ROUTER = "router"
BLOCK_HF_SECRET = "hf_secret"  # noqa: S105  (a block id, not a secret)
BLOCK_GPUS = "gpus"  # views built before the size select; still read
BLOCK_CONTEXT_LENGTH = "context_length"
BLOCK_MEMORY = "memory"
BLOCK_SERVED_NAME = "served_name"
BLOCK_OPTIONS = "options"  # checkboxes: enforce eager, prefix caching, trust remote code
BLOCK_ENGINE_ARGS = "engine_args"
BLOCK_CHANNEL = "channel"  # where progress goes, asked only of a modal opened from App Home

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
    "replicas": BLOCK_SIZE,
    "routerMode": BLOCK_ROUTER,
    "hfTokenSecret": BLOCK_HF_SECRET,
    "gpus": BLOCK_SIZE,
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


def menu_value(verb: str, key: str) -> str:
    """A deployment menu option's value: ``"delete:<namespace>/<name>"``. Kubernetes names
    keep it under an option value's 150 characters; anything longer is cut to fit."""
    return f"{verb}:{key}"[:150]


def parse_menu_value(value: str) -> tuple[str, str]:
    """(verb, ``namespace/name``) of :func:`menu_value`'s output; ("", "") for anything else."""
    verb, sep, key = value.partition(":")
    return (verb, key) if sep else ("", "")


# --- Try it and Scale (bot/slack/listeners/tryit.py, bot/slack/listeners/scale.py) ----------------
ACTION_TRY_IT = "try_it"  # value: "<namespace>/<name>"; opens the Try it modal
ACTION_TRY_POST = "try_post"  # in the answer view: share prompt, answer and figures
ACTION_TRY_AGAIN = "try_again"  # in the answer view: back to the prompt
ACTION_SCALE = "scale_deployment"  # value: "<namespace>/<name>"; opens the Scale modal
CALLBACK_TRY_IT = "try_it_modal"
CALLBACK_TRY_ANSWER = "try_it_answer"
CALLBACK_SCALE = "scale_modal"
BLOCK_TRY_PROMPT = "try_prompt"
BLOCK_TRY_MAX_TOKENS = "try_max_tokens"
BLOCK_TRY_ANSWER = "try_answer"  # the answer's sections: try_answer.0, try_answer.1, ...
BLOCK_SCALE_REPLICAS = "scale_replicas"


# --- expiry (bot/slack/listeners/expiry.py) and approvals (bot/slack/listeners/approvals.py) ------
ACTION_EXPIRY_KEEP = "expiry_keep"  # value: "<namespace>/<name>"; on the reminder and the card
BLOCK_KEEP_FOR = "keep_for"  # the deploy modal's "Keep for" select (a revisioned input block)
ACTION_APPROVE = "approval_approve"  # value: "<approval id>:<request hash>"
ACTION_DENY = "approval_deny"  # value: "<approval id>:<request hash>"; opens the reason modal
CALLBACK_DENY = "approval_deny_reason"  # the Deny modal (private_metadata: JSON, see listener)
BLOCK_DENY_REASON = "deny_reason"
BLOCK_WHY = "why"  # the deploy modal's optional "Why" for approvers
ACTION_EXPIRY_CHANGE = "expiry_change"  # value: "<namespace>/<name>"; the card's, opens a modal
CALLBACK_EXPIRY_CHANGE = "expiry_change_modal"  # private_metadata: "<namespace>/<name>"

# More verbs of the deployment menu. Open thread is a link: Slack opens its url and still
# sends a block_actions, which is only acked.
MENU_TRY_IT = "try"
MENU_OPEN_THREAD = "thread"

# --- Fix a failure (bot/slack/listeners/fixit.py) -------------------------------------------------
ACTION_REDEPLOY = "redeploy"  # value: "<namespace>/<name>"; opens the deploy form, prefilled
ACTION_FULL_LOG = "full_log"  # value: "<namespace>/<name>"; the failing containers' logs
ACTION_BACK_TO_FORM = "back_to_form"  # in a refused submission's view: the form as typed
CALLBACK_FULL_LOG = "full_log_modal"
CALLBACK_REDEPLOY_LOADING = "redeploy_loading"
