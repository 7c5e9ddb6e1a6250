"""The rendered RBAC grants exactly REQUIRED_PERMISSIONS: nothing missing, nothing extra.

One source of truth: ``bot/cluster/permissions.py`` declares what the code calls; the
expected rules are built from it (``scope`` says where, ``named`` adds resourceNames)
and compared, per namespace, with the Roles and ClusterRoles bound to the bot's
ServiceAccount in ``kubectl kustomize manifests/`` (or the files themselves without kubectl).
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import REQUIRED_PERMISSIONS
from bot.cluster.permissions import resource_name
from bot.config.settings import Settings, load_settings
from tests.paths import MANIFESTS

from .kustomize import KUBECTL, Doc, file_render, find, kubectl_render, one

# (group, resource[/subresource], verb, resourceNames); a place is a namespace, None = cluster.
Rule = tuple[str, str, str, tuple[str, ...]]
Grants = dict[str | None, set[Rule]]


def settings_of(docs: list[Doc]) -> Settings:
    """The bot's settings as the Deployment gets them from the settings ConfigMap."""
    data = one(docs, "ConfigMap", "dynamote-settings")["data"]
    prefix = "DYNAMOTE_"
    return load_settings(**{k.removeprefix(prefix).lower(): v for k, v in data.items()})


def expected_grants(settings: Settings) -> Grants:
    grants: Grants = {}
    lease_namespace = settings.lease_namespace or settings.default_namespace
    for permission in REQUIRED_PERMISSIONS:
        resource = permission.resource
        if permission.subresource:
            resource = f"{resource}/{permission.subresource}"
        named = resource_name(
            permission, hf_secret=settings.hf_secret, lease_name=settings.lease_name
        )
        names = (named,) if named else ()
        rule = (permission.group, resource, permission.verb, names)
        places: list[str | None] = {
            "deployments": list(settings.allowed_namespaces),
            "lease": [lease_namespace],
            "cluster": [None],
        }[permission.scope]
        for place in places:
            grants.setdefault(place, set()).add(rule)
    return grants


def service_account(docs: list[Doc]) -> tuple[str, str]:
    account = one(docs, "ServiceAccount")
    return account["metadata"]["namespace"], account["metadata"]["name"]


def rendered_grants(docs: list[Doc]) -> Grants:
    """Every rule bound to the bot's ServiceAccount, by namespace (None: cluster-wide)."""
    account = service_account(docs)
    grants: Grants = {}
    for binding in find(docs, "RoleBinding") + find(docs, "ClusterRoleBinding"):
        subjects = {(s.get("namespace"), s["name"]) for s in binding.get("subjects") or ()}
        if account not in subjects:
            continue
        place = binding["metadata"].get("namespace") if binding["kind"] == "RoleBinding" else None
        ref = binding["roleRef"]
        roles = [
            role
            for role in find(docs, ref["kind"], ref["name"])
            if ref["kind"] == "ClusterRole" or role["metadata"].get("namespace") == place
        ]
        assert roles, f"{binding['kind']} {binding['metadata']['name']} points at no role"
        for role in roles:
            grants.setdefault(place, set()).update(expand(role["rules"]))
    return grants


def expand(rules: list[dict[str, Any]]) -> set[Rule]:
    return {
        (group, resource, verb, tuple(sorted(rule.get("resourceNames") or ())))
        for rule in rules
        for group in rule.get("apiGroups") or ()
        for resource in rule.get("resources") or ()
        for verb in rule.get("verbs") or ()
    }


def differences(expected: Grants, rendered: Grants) -> tuple[list[str], list[str]]:
    """(missing, extra), each as readable lines."""
    missing, extra = [], []
    for place in sorted(set(expected) | set(rendered), key=str):
        where = place or "cluster-wide"
        missing += [
            f"{where}: {r}" for r in sorted(expected.get(place, set()) - rendered.get(place, set()))
        ]
        extra += [
            f"{where}: {r}" for r in sorted(rendered.get(place, set()) - expected.get(place, set()))
        ]
    return missing, extra


def test_the_rendered_rbac_grants_every_required_permission_and_nothing_else(
    docs: list[Doc],
) -> None:
    missing, extra = differences(expected_grants(settings_of(docs)), rendered_grants(docs))

    assert missing == [], "RBAC lacks what bot/cluster/permissions.py declares:\n" + "\n".join(
        missing
    )
    assert extra == [], "RBAC grants what the code does not call:\n" + "\n".join(extra)


def test_the_file_reading_render_agrees_with_kubectl_on_rbac(tmp_path: Path) -> None:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed; the RBAC test used the file reader")

    by_kubectl, by_files = kubectl_render(MANIFESTS), file_render(MANIFESTS)

    assert rendered_grants(by_kubectl) == rendered_grants(by_files)
    assert sorted(ids(by_kubectl)) == sorted(ids(by_files))


def ids(docs: list[Doc]) -> list[tuple[str, str, str]]:
    return [(d["kind"], d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs]


def test_a_verb_dropped_from_a_role_shows_as_missing(docs: list[Doc]) -> None:
    broken = copy.deepcopy(docs)
    role = next(r for r in find(broken, "Role", "dynamote"))
    role["rules"][0]["verbs"].remove("delete")

    missing, extra = differences(expected_grants(settings_of(broken)), rendered_grants(broken))

    assert missing == ["dynamo-system: ('nvidia.com', 'dynamographdeployments', 'delete', ())"]
    assert extra == []


def test_a_wildcard_or_an_unnamed_secret_rule_shows_as_extra(docs: list[Doc]) -> None:
    broken = copy.deepcopy(docs)
    role = next(r for r in find(broken, "Role", "dynamote"))
    role["rules"].append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    role["rules"].append({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})

    _, extra = differences(expected_grants(settings_of(broken)), rendered_grants(broken))

    assert extra == [
        "dynamo-system: ('', 'secrets', 'get', ())",
        "dynamo-system: ('*', '*', '*', ())",
    ]


def test_secrets_are_readable_only_by_the_configured_hf_secret_name(docs: list[Doc]) -> None:
    settings = settings_of(docs)
    secret_rules = [
        rule
        for role in find(docs, "Role") + find(docs, "ClusterRole")
        for rule in role["rules"]
        if "secrets" in rule.get("resources", ())
    ]

    assert secret_rules, "the bot must be able to check that the HF token secret exists"
    assert all(rule.get("resourceNames") == [settings.hf_secret] for rule in secret_rules)
    assert all(rule["verbs"] == ["get"] for rule in secret_rules)


def test_every_allowed_namespace_and_the_lease_namespace_has_a_bound_role(
    docs: list[Doc],
) -> None:
    settings = settings_of(docs)
    granted = rendered_grants(docs)

    for namespace in [*settings.allowed_namespaces, settings.lease_namespace]:
        assert granted.get(namespace), f"no Role bound to the bot in {namespace}"


def test_the_deployment_runs_as_the_service_account_the_bindings_name(docs: list[Doc]) -> None:
    namespace, name = service_account(docs)
    deployment = one(docs, "Deployment", "dynamote")
    bindings = find(docs, "RoleBinding") + find(docs, "ClusterRoleBinding")

    assert deployment["metadata"]["namespace"] == namespace
    assert deployment["spec"]["template"]["spec"]["serviceAccountName"] == name
    assert len(bindings) >= 3
    for binding in bindings:
        subjects = [(s["kind"], s.get("namespace"), s["name"]) for s in binding["subjects"]]
        assert subjects == [("ServiceAccount", namespace, name)], binding["metadata"]["name"]


def test_every_binding_points_at_a_role_that_exists(docs: list[Doc]) -> None:
    for binding in find(docs, "RoleBinding"):
        ref, namespace = binding["roleRef"], binding["metadata"]["namespace"]
        assert ref["kind"] == "Role"
        assert [
            r for r in find(docs, "Role", ref["name"]) if r["metadata"]["namespace"] == namespace
        ]
    for binding in find(docs, "ClusterRoleBinding"):
        assert find(docs, binding["roleRef"]["kind"], binding["roleRef"]["name"])


def test_an_overlay_adds_a_namespace_with_the_documented_recipe(tmp_path: Path) -> None:
    if KUBECTL is None:
        pytest.skip("kubectl is not installed")
    base = os.path.relpath(MANIFESTS, tmp_path)
    access = os.path.relpath(MANIFESTS / "namespace-access", tmp_path / "team-a")
    (tmp_path / "team-a").mkdir()
    (tmp_path / "team-a" / "kustomization.yaml").write_text(
        f"resources: [{access}]\nnamespace: team-a\n"
    )
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{base}, team-a]\n"
        "patches:\n"
        "  - target: {kind: ConfigMap, name: dynamote-settings}\n"
        "    patch: |\n"
        "      - op: replace\n"
        "        path: /data/DYNAMOTE_NAMESPACES\n"
        "        value: dynamo-system,team-a\n"
    )

    docs = kubectl_render(tmp_path)
    missing, extra = differences(expected_grants(settings_of(docs)), rendered_grants(docs))

    assert settings_of(docs).allowed_namespaces == ["dynamo-system", "team-a"]
    assert (missing, extra) == ([], [])


def test_the_bot_may_read_and_write_only_its_own_configmap_and_lease(docs: list[Doc]) -> None:
    settings = settings_of(docs)
    lease_namespace = settings.lease_namespace or settings.default_namespace
    rules = rendered_grants(docs)[lease_namespace]
    touched = {(resource, verb, names) for group, resource, verb, names in rules}
    ledger = f"{settings.lease_name}-cards"  # bot.notifier.service's card ledger
    approvals = f"{settings.lease_name}-approvals"  # bot.cluster.approvals

    # `create` cannot be limited by name in Kubernetes RBAC; everything else is.
    assert {r for r in touched if r[0] == "configmaps"} == {
        ("configmaps", "create", ()),
        ("configmaps", "get", (ledger,)),
        ("configmaps", "update", (ledger,)),
        ("configmaps", "get", (approvals,)),
        ("configmaps", "update", (approvals,)),
    }
    assert {r for r in touched if r[0] == "leases"} == {
        ("leases", "create", ()),
        ("leases", "get", (settings.lease_name,)),
        ("leases", "update", (settings.lease_name,)),
    }


def test_a_lease_renamed_without_its_resource_names_shows_as_missing(docs: list[Doc]) -> None:
    renamed = copy.deepcopy(docs)
    one(renamed, "ConfigMap", "dynamote-settings")["data"]["DYNAMOTE_LEASE_NAME"] = "other"

    missing, extra = differences(expected_grants(settings_of(renamed)), rendered_grants(renamed))

    assert "dynamote: ('', 'configmaps', 'get', ('other-cards',))" in missing
    assert "dynamote: ('coordination.k8s.io', 'leases', 'update', ('other',))" in missing
    assert "dynamote: ('', 'configmaps', 'get', ('dynamote-notifier-cards',))" in extra
