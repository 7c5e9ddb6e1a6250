"""`dynamote doctor`: is this installation able to work? One line per check, OK or a fix.

Checks, in order: the Slack token (auth.test) and its scopes against :data:`SLACK_SCOPES`; the
Slack mode's credential; the key that signs deployments' provenance; the Kubernetes API
(reachable, server version); the Dynamo CRD (which versions are served, which one Dynamote will
write); every permission of :data:`~bot.cluster.REQUIRED_PERMISSIONS` by SelfSubjectAccessReview,
where it applies; the optional GPU capacity reads (``CAPACITY_PERMISSIONS``, a warning when
missing); the Hugging Face token secret in each allowed namespace; the Dynamo release
Dynamote targets (a release outside the rules it knows, or older than the operator found, is a
warning); the catalog.

Run it where the bot runs (``kubectl exec deploy/dynamote -n dynamote -- dynamote doctor``) so
it asks with the bot's own service account and settings. Exit 0 when nothing failed (warnings
allowed), 1 when something did; bad settings exit 2 before any check (bot.cli).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Literal

from bot.cluster import Cluster, ClusterError, PermissionCheck
from bot.cluster.errors import OPERATOR_INSTALL_HINT
from bot.cluster.versions import version_to_write
from bot.config.settings import Settings, env_name
from bot.domain.advice import hf_secret_command
from bot.domain.catalog import CatalogError, default_catalog_path, load_catalog
from bot.domain.releases import RuntimeVersion, coverage, image_tag, parse_runtime_version
from bot.domain.status.raw import meta_of

__all__ = ["SLACK_SCOPES", "Check", "run_checks", "run_doctor"]

EXIT_OK = 0
EXIT_FAILED = 1

# The bot scopes of manifests/slack-app.yaml, here so doctor works from the installed wheel
# (tests/ops/test_doctor.py keeps the two equal).
SLACK_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "usergroups:read",
)
# Slack errors that mean the token itself is wrong (bot.serve stops on the same ones).
_BAD_TOKEN = frozenset(
    {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired"}
)
_REINSTALL = (
    "add them under OAuth & Permissions > Bot Token Scopes (or update the app from "
    "manifests/slack-app.yaml), reinstall the app to the workspace, and update SLACK_BOT_TOKEN "
    "if Slack issued a new one"
)

Status = Literal["OK", "WARN", "FAIL"]


@dataclass(frozen=True)
class Check:
    """One line of the report."""

    status: Status
    what: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.status} {self.what}" + (f" — fix: {self.fix}" if self.fix else "")


def run_doctor(
    settings: Settings,
    *,
    kubeconfig: str | os.PathLike[str] | None = None,
    out: IO[str] | None = None,
) -> int:
    """Print every check on ``out`` (stdout); the exit code: 0 all good, 1 something failed."""
    out = out or sys.stdout
    failed = warned = 0
    for check in run_checks(settings, kubeconfig=kubeconfig):
        print(check.line(), file=out, flush=True)
        failed += check.status == "FAIL"
        warned += check.status == "WARN"
    verdict = f"{failed} failed" if failed else "all passed"
    print(f"dynamote doctor: {verdict}, {warned} warning(s)", file=sys.stderr)
    return EXIT_FAILED if failed else EXIT_OK


def run_checks(
    settings: Settings, *, kubeconfig: str | os.PathLike[str] | None = None
) -> Iterator[Check]:
    """Every check, as it completes (a slow cluster shows the Slack lines first)."""
    yield from _slack_checks(settings)
    yield _provenance_check(settings)
    with Cluster(kubeconfig, settings=settings) as cluster:
        yield from _cluster_checks(settings, cluster)
    yield _policy_check(settings)
    yield from _expiry_and_approval_checks(settings)
    yield _catalog_check(settings)


# --- Slack ---------------------------------------------------------------------------------


def _slack_checks(settings: Settings) -> Iterator[Check]:
    yield _mode_check(settings)
    if not _value(settings.slack_bot_token):
        yield Check(
            "FAIL",
            "Slack auth: SLACK_BOT_TOKEN is not set",
            "set it to the Bot User OAuth Token (xoxb-...) from the app's OAuth & Permissions "
            "page; in the cluster it comes from the dynamote-slack Secret",
        )
        return
    from slack_sdk.errors import SlackApiError  # noqa: PLC0415  (slow import)

    from bot.slack.client import make_web_client  # noqa: PLC0415

    try:
        answer = make_web_client(settings).auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error") or f"HTTP {error.response.status_code}")
        if code in _BAD_TOKEN:
            fix = (
                "copy the Bot User OAuth Token (xoxb-...) again from OAuth & Permissions, "
                "update the dynamote-slack Secret and restart the bot"
            )
        else:
            fix = f"check {env_name('slack_api_url')} and https://slack-status.com"
        yield Check("FAIL", f"Slack auth: auth.test answered {code}", fix)
        return
    except Exception as error:  # connection refused, DNS, TLS, timeout
        yield Check(
            "FAIL",
            f"Slack auth: cannot reach {settings.slack_api_url} ({type(error).__name__})",
            "allow egress to slack.com:443 from the bot's namespace, or correct SLACK_API_URL",
        )
        return
    yield Check("OK", f"Slack auth: bot {answer.get('user')} in workspace {answer.get('team')}")
    yield _scopes_check(answer.headers)


def _mode_check(settings: Settings) -> Check:
    app_token = _value(settings.slack_app_token)
    if app_token and not app_token.startswith("xapp-"):
        return Check(
            "FAIL",
            "Slack mode: SLACK_APP_TOKEN is not an app-level token (xapp-...)",
            "create one under Basic Information > App-Level Tokens with connections:write",
        )
    if app_token:
        return Check("OK", "Slack mode: Socket Mode (SLACK_APP_TOKEN is set)")
    if _value(settings.slack_signing_secret):
        return Check("OK", "Slack mode: HTTP mode (SLACK_SIGNING_SECRET is set)")
    return Check(
        "FAIL",
        "Slack mode: neither SLACK_APP_TOKEN (Socket Mode) nor SLACK_SIGNING_SECRET (HTTP) is set",
        "set one of them in the dynamote-slack Secret (Basic Information in the Slack app)",
    )


def _scopes_check(headers: Mapping[str, Any]) -> Check:
    header = next((v for k, v in headers.items() if k.lower() == "x-oauth-scopes"), None)
    if isinstance(header, list):
        header = ",".join(header)
    if header is None:
        return Check(
            "WARN",
            "Slack scopes: Slack did not report the token's scopes (no x-oauth-scopes header)",
            f"check by hand that the bot token has {', '.join(SLACK_SCOPES)}",
        )
    granted = {scope.strip() for scope in str(header).split(",") if scope.strip()}
    missing = [scope for scope in SLACK_SCOPES if scope not in granted]
    if missing:
        return Check("FAIL", f"Slack scopes: missing {', '.join(missing)}", _REINSTALL)
    return Check("OK", f"Slack scopes: all {len(SLACK_SCOPES)} needed are granted")


def _value(secret: Any) -> str:
    return str(secret.get_secret_value()).strip() if secret is not None else ""


_NEW_KEY = (
    "put DYNAMOTE_PROVENANCE_KEY (openssl rand -hex 32) in the dynamote-slack Secret; "
    "deployments signed with the old key show as unverified until redeployed"
)


def _provenance_check(settings: Settings) -> Check:
    """Which key signs who owns each deployment (bot.domain.provenance)."""
    from bot.domain.provenance import MIN_KEY_LENGTH, Provenance  # noqa: PLC0415

    source = Provenance.from_settings(settings).source
    if source is None:
        return Check(
            "FAIL",
            "Provenance key: none (DYNAMOTE_PROVENANCE_KEY, SLACK_SIGNING_SECRET and "
            "SLACK_BOT_TOKEN are all unset), so no deployment can be verified",
            _NEW_KEY,
        )
    if source != "DYNAMOTE_PROVENANCE_KEY":
        return Check(
            "WARN",
            f"Provenance key: derived from {source}; rotating it leaves every deployment "
            "unverified",
            _NEW_KEY,
        )
    if len(_value(settings.provenance_key)) < MIN_KEY_LENGTH:
        return Check(
            "WARN",
            f"Provenance key: DYNAMOTE_PROVENANCE_KEY is shorter than {MIN_KEY_LENGTH} characters",
            _NEW_KEY,
        )
    return Check("OK", "Provenance key: DYNAMOTE_PROVENANCE_KEY is set")


# --- Kubernetes ----------------------------------------------------------------------------


def _cluster_checks(settings: Settings, cluster: Cluster) -> Iterator[Check]:
    status = cluster.cluster_status()
    if not status.reachable:
        yield Check(
            "FAIL",
            f"Kubernetes API: {status.error}",
            "point KUBECONFIG at the cluster, or run doctor in the bot's pod "
            "(kubectl exec deploy/dynamote -n dynamote -- dynamote doctor); the remaining "
            "cluster checks were skipped",
        )
        return
    yield Check("OK", f"Kubernetes API reachable: server {status.server_version or 'unknown'}")
    yield _crd_check(settings, status.dgd_versions_served)
    yield from _permission_checks(settings, cluster)
    yield _capacity_check(settings, cluster)
    yield from _secret_checks(settings, cluster)
    yield _release_check(settings, cluster)


def _crd_check(settings: Settings, served: tuple[str, ...]) -> Check:
    if not served:
        return Check(
            "FAIL",
            "Dynamo CRD: no API serves dynamographdeployments.nvidia.com",
            OPERATOR_INSTALL_HINT,
        )
    forced = settings.api_version
    writes = version_to_write(served, forced)
    if writes is None:
        wanted = forced if forced != "auto" else "nvidia.com/v1beta1 or nvidia.com/v1alpha1"
        return Check(
            "FAIL",
            f"Dynamo CRD: served {', '.join(served)}, but Dynamote writes {wanted}",
            f"set {env_name('api_version')}=auto, or upgrade the Dynamo operator",
        )
    return Check("OK", f"Dynamo CRD served: {', '.join(served)}; Dynamote writes {writes}")


def _permission_checks(settings: Settings, cluster: Cluster) -> Iterator[Check]:
    try:
        checks = cluster.check_permissions(
            settings.allowed_namespaces, lease_namespace=settings.lease_namespace
        )
    except ClusterError as error:
        yield Check(
            "FAIL",
            f"RBAC: cannot ask the API server what the bot may do: {error.message}",
            "grant create on selfsubjectaccessreviews.authorization.k8s.io "
            "(the ClusterRole dynamote in manifests/rbac.yaml)",
        )
        return
    by_place: dict[str | None, list[PermissionCheck]] = {}
    for check in checks:  # they come permission by permission; report place by place
        by_place.setdefault(check.namespace, []).append(check)
    for namespace, answers in by_place.items():
        denied = [check for check in answers if not check.allowed]
        where = f"namespace {namespace}" if namespace else "cluster-wide"
        if not denied:
            yield Check("OK", f"RBAC {where}: every required permission granted ({len(answers)})")
        for check in denied:
            yield Check("FAIL", f"RBAC {where}: may not {_describe(check)}", _rbac_fix(check))


_ENABLE_CAPACITY = (
    "apply the optional kustomize component manifests/capacity/ (add it to your overlay's "
    "components; README: Installing in a cluster); everything else works without it"
)


def _capacity_check(settings: Settings, cluster: Cluster) -> Check:
    """The optional cluster-wide reads of nodes and pods, then what they show."""
    from bot.cluster.capacity import read_capacity  # noqa: PLC0415
    from bot.cluster.permissions import CAPACITY_PERMISSIONS  # noqa: PLC0415
    from bot.domain.capacity import plural  # noqa: PLC0415

    try:
        checks = cluster.check_permissions(
            settings.allowed_namespaces, permissions=CAPACITY_PERMISSIONS
        )
    except ClusterError as error:
        return Check("WARN", f"GPU capacity: cannot ask what the bot may do: {error.message}")
    denied = [_describe(check) for check in checks if not check.allowed]
    if denied:
        return Check(
            "WARN",
            f"GPU capacity: unknown, the bot may not {' or '.join(denied)} cluster-wide",
            _ENABLE_CAPACITY,
        )
    try:
        capacity = read_capacity(cluster)
    except ClusterError as error:
        return Check("WARN", f"GPU capacity: could not read it: {error.message}", _ENABLE_CAPACITY)
    if not capacity.gpu_nodes:
        return Check(
            "WARN",
            f"GPU capacity: none of the {plural(capacity.node_count, 'node')} advertises "
            "nvidia.com/gpu, so every deployment will wait",
            "install the NVIDIA GPU Operator (or device plugin) on the GPU nodes",
        )
    products = ", ".join(p.label for p in capacity.by_product()[:5]) or "none schedulable"
    return Check(
        "OK",
        f"GPU capacity: {capacity.free} of {capacity.total} GPUs free on "
        f"{plural(len(capacity.gpu_nodes), 'GPU node')} ({products})",
    )


def _describe(check: PermissionCheck) -> str:
    resource = f"{check.resource}/{check.subresource}" if check.subresource else check.resource
    qualified = f"{resource}.{check.group}" if check.group else resource
    named = f" named {check.name}" if check.name else ""
    return f"{check.verb} {qualified}{named}"


def _rbac_fix(check: PermissionCheck) -> str:
    if check.namespace is None:
        return "apply the ClusterRole and ClusterRoleBinding dynamote (manifests/rbac.yaml)"
    if check.group == "coordination.k8s.io" or check.resource == "configmaps":
        return (
            f"let the bot create leases.coordination.k8s.io and configmaps in namespace "
            f"{check.namespace}, and get and update the ones its resourceNames list (Role "
            f"dynamote-leader-election, manifests/rbac.yaml; they follow "
            f"{env_name('lease_name')}), or point {env_name('lease_namespace')} at the "
            "namespace that Role is in"
        )
    return (
        f"apply the Role and RoleBinding dynamote in namespace {check.namespace} "
        "(manifests/namespace-access; README: adding a namespace)"
    )


def _secret_checks(settings: Settings, cluster: Cluster) -> Iterator[Check]:
    name = settings.hf_secret
    for namespace in settings.allowed_namespaces:
        try:
            exists = cluster.secret_exists(namespace, name)
        except ClusterError as error:
            yield Check(
                "FAIL",
                f"HF secret {name} in namespace {namespace}: {error.message}",
                f"check that namespace {namespace} exists and the RBAC lines above",
            )
            continue
        if exists:
            yield Check("OK", f"HF secret {name} exists in namespace {namespace}")
        elif exists is None:  # deployments naming it are refused: it cannot be checked
            yield Check(
                "FAIL",
                f"HF secret {name} in namespace {namespace}: unknown (the bot may not read it, "
                "so it refuses deployments that name it)",
                f"grant get on secrets with resourceNames [{name}] in {namespace}",
            )
        else:
            yield Check(
                "FAIL",
                f"HF secret {name} is missing in namespace {namespace}",
                hf_secret_command(name, namespace),
            )


# --- Dynamo release ------------------------------------------------------------------------

# The operator's pod, as its Helm chart (deploy/helm/charts/platform/components/operator/
# templates/deployment.yaml) makes it: label control-plane=controller-manager, a container
# named manager whose image tag defaults to the chart's appVersion, the operator's version.
_OPERATOR_SELECTOR = "control-plane=controller-manager"


def _operator_version(cluster: Cluster, namespaces: list[str]) -> tuple[str, str] | None:
    """(namespace, version) of a Dynamo operator pod the bot may read, or None."""
    try:
        pods = cluster.list_pods(namespaces, _OPERATOR_SELECTOR)
    except ClusterError:
        return None
    for pod in pods:
        containers = (pod.get("spec") or {}).get("containers") or []
        for container in containers:
            tag = image_tag(str(container.get("image") or ""))
            if container.get("name") == "manager" and tag:
                return meta_of(pod).namespace, tag
    return None


def _release_check(settings: Settings, cluster: Cluster) -> Check:
    target = parse_runtime_version(settings.dynamo_version)  # validated with the settings
    variable = env_name("dynamo_version")
    uncovered = coverage(target)
    if uncovered:
        return Check(
            "WARN",
            f"Dynamo release: {uncovered}",
            f"check the names, flags and admission rules of that release, or set {variable} "
            "to a release Dynamote knows",
        )
    found = _operator_version(cluster, settings.allowed_namespaces)
    where = "no operator pod readable in the allowed namespaces"
    if found is not None:
        namespace, text = found
        try:
            operator: RuntimeVersion | None = parse_runtime_version(text)
        except ValueError:
            operator = None
        if operator is not None and operator.release > target.release:
            return Check(
                "WARN",
                f"Dynamo release: the runtime images are {target.core}, older than the "
                f"operator {operator.core} in namespace {namespace}",
                f"set {variable} to a {operator.major}.{operator.minor} release (the operator "
                "expects its own release's component names and flags)",
            )
        if operator is not None and operator.release < target.release:
            return Check(
                "WARN",
                f"Dynamo release: Dynamote writes for {target.core}, newer than the operator "
                f"{operator.core} in namespace {namespace}",
                f"set {variable} to a {operator.major}.{operator.minor} release, or upgrade "
                "the operator (one minor release at a time)",
            )
        where = f"operator {text} in namespace {namespace}"
    return Check("OK", f"Dynamo release: Dynamote writes for {target.core} ({where})")


# --- catalog -------------------------------------------------------------------------------


def _catalog_check(settings: Settings) -> Check:
    path = settings.catalog or default_catalog_path()
    try:
        catalog = load_catalog(path)
    except CatalogError as error:
        return Check(
            "FAIL",
            f"Catalog: {error}",
            f"correct the file (check it with `dynamote catalog`), or unset "
            f"{env_name('catalog')} to use the catalog shipped with Dynamote",
        )
    return Check("OK", f"Catalog: {len(catalog.models)} models from {path}")


# --- policy --------------------------------------------------------------------------------


def _policy_check(settings: Settings) -> Check:
    from bot.domain.policy import open_policy_warning  # noqa: PLC0415  (the app's modules: slow)

    lifted = [
        env_name(name)
        for name in ("max_gpus_per_deployment", "max_gpus_per_user", "max_deployments_per_user")
        if getattr(settings, name) is None
    ]
    problems = [p for p in (open_policy_warning(settings),) if p]
    if lifted:
        problems.append(f"no limit set by {', '.join(lifted)}")
    if problems:
        return Check(
            "WARN",
            "Policy: " + "; ".join(problems),
            f"set {env_name('deployers')} and {env_name('admins')}, and a number for each limit",
        )
    return Check(
        "OK",
        f"Policy: {len(settings.deployers)} deployer(s), {len(settings.admins)} admin(s), "
        f"at most {settings.max_gpus_per_deployment} GPUs per deployment",
    )


def _expiry_and_approval_checks(settings: Settings) -> Iterator[Check]:
    """What "Keep for" offers and what waits for an approver (bot.domain.expiry,
    bot.domain.approvals).
    """
    from bot.domain.expiry import format_duration  # noqa: PLC0415  (the app's modules: slow)

    expiry = settings.expiry_policy
    offered = ", ".join(
        expiry.label(c).lower() + (" (default)" if c == expiry.default else "")
        for c in expiry.offered
    )
    most = f"at most {format_duration(expiry.maximum)}" if expiry.maximum else "no maximum"
    yield Check(
        "OK",
        f"Expiry: keep for {offered}; {most}; reminded {format_duration(expiry.reminder)} before",
    )
    approval = settings.approval_policy
    if not approval.active:
        yield Check("OK", "Approvals: nothing needs approval")
        return
    what = [f"above {approval.above_gpus} GPUs"] if approval.above_gpus is not None else []
    what += [f"in {', '.join(approval.namespaces)}"] if approval.namespaces else []
    missing = approval.complete
    if missing:
        yield Check(
            "FAIL",
            f"Approvals: deployments {' or '.join(what)} need approval, but {missing}",
            f"set {env_name('approvers')} (U…/S… IDs) and {env_name('approval_channel')}",
        )
        return
    yield Check(
        "OK",
        f"Approvals: deployments {' or '.join(what)} need one of "
        f"{len(approval.approvers)} approver(s) in {approval.channel}; requests lapse after "
        f"{format_duration(approval.ttl)}",
    )
