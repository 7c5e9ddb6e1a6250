"""What the stand-in serves, described the way clients discover it.

One table (`ApiResource`) lists every resource the stand-in serves; from it come the discovery
documents (`/api`, `/apis`, group and version lists), the OpenAPI v3 documents kubectl needs
before it will `apply` (it checks that PATCH takes `fieldValidation`, then lets the server
validate), the CRD object for `dynamographdeployments.nvidia.com`, and server-side Tables so
`kubectl get dgd` shows the CRD's printer columns.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from bot.sim.k8s.store import copy_json
from bot.sim.k8s.tables import build_table

__all__ = ["DGD_GROUP", "ApiResource", "Catalog"]

Json = dict[str, Any]
DGD_GROUP = "nvidia.com"
DGD_RESOURCE = "dynamographdeployments"
_ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


@dataclass(frozen=True)
class ApiResource:
    """One resource at one group/version."""

    group: str  # "" for core
    version: str
    plural: str
    kind: str
    namespaced: bool
    verbs: tuple[str, ...] = tuple(_ALL_VERBS)
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()


def _core_resources() -> list[ApiResource]:
    return [
        ApiResource(
            "", "v1", "pods", "Pod", True, short_names=("po",), subresources=("log", "status")
        ),
        ApiResource("", "v1", "events", "Event", True, short_names=("ev",)),
        ApiResource(
            "", "v1", "services", "Service", True, short_names=("svc",), subresources=("status",)
        ),
        ApiResource("", "v1", "endpoints", "Endpoints", True, short_names=("ep",)),
        ApiResource("", "v1", "secrets", "Secret", True),
        ApiResource(
            "", "v1", "nodes", "Node", False, short_names=("no",), subresources=("status",)
        ),
        ApiResource("", "v1", "configmaps", "ConfigMap", True, short_names=("cm",)),
        ApiResource(
            "",
            "v1",
            "namespaces",
            "Namespace",
            False,
            short_names=("ns",),
            verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
        ),
        ApiResource(
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
            "SelfSubjectAccessReview",
            False,
            verbs=("create",),
        ),
        ApiResource("coordination.k8s.io", "v1", "leases", "Lease", True),
        ApiResource(
            "apiextensions.k8s.io",
            "v1",
            "customresourcedefinitions",
            "CustomResourceDefinition",
            False,
            short_names=("crd", "crds"),
            verbs=("get", "list", "watch"),
        ),
    ]


class Catalog:
    """Every served resource, plus the DGD CRD document, and the documents built from them."""

    def __init__(self, crd: Json, dgd_versions: list[str], server_address: str) -> None:
        self.dgd_versions = [v for v in ("v1beta1", "v1alpha1") if v in dgd_versions]
        self.server_address = server_address
        self._crd = crd
        self._openapi: dict[str, Json | None] = {}  # built on first request, then reused
        self._openapi_root: Json | None = None
        dgds = [
            ApiResource(
                DGD_GROUP,
                v,
                DGD_RESOURCE,
                "DynamoGraphDeployment",
                True,
                short_names=("dgd",),
                subresources=("status",),
            )
            for v in self.dgd_versions
        ]
        self.resources = _core_resources() + dgds

    # ----- lookups ------------------------------------------------------------------------

    def find(self, group: str, version: str, plural: str) -> ApiResource | None:
        return next(
            (
                r
                for r in self.resources
                if (r.group, r.version, r.plural) == (group, version, plural)
            ),
            None,
        )

    def groups(self) -> dict[str, list[str]]:
        """Named API groups and their versions, preferred first."""
        found: dict[str, list[str]] = {}
        for resource in self.resources:
            if resource.group and resource.version not in found.setdefault(resource.group, []):
                found[resource.group].append(resource.version)
        return found

    # ----- discovery documents ------------------------------------------------------------

    def version_info(self) -> Json:
        return {
            "major": "1",
            "minor": "32",
            "gitVersion": "v1.32.0-dynamote-sim",
            "gitCommit": "0" * 40,
            "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z",
            "goVersion": "go1.23.0",
            "compiler": "gc",
            "platform": "linux/amd64",
        }

    def core_versions(self) -> Json:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": self.server_address}
            ],
        }

    def group_document(self, group: str) -> Json | None:
        versions = self.groups().get(group)
        if versions is None:
            return None
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
        return {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": group,
            "versions": entries,
            "preferredVersion": entries[0],
        }

    def group_list(self) -> Json:
        groups = [self.group_document(group) for group in self.groups()]
        return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}

    def resource_list(self, group: str, version: str) -> Json | None:
        served = [r for r in self.resources if (r.group, r.version) == (group, version)]
        if not served:
            return None
        entries: list[Json] = []
        for r in served:
            entries.append(
                {
                    "name": r.plural,
                    "singularName": r.singular,
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": list(r.verbs),
                    **({"shortNames": list(r.short_names)} if r.short_names else {}),
                }
            )
            entries += [
                {
                    "name": f"{r.plural}/{sub}",
                    "singularName": "",
                    "namespaced": r.namespaced,
                    "kind": r.kind,
                    "verbs": ["get", "patch", "update"],
                }
                for sub in r.subresources
            ]
        group_version = f"{group}/{version}" if group else version
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": entries,
        }

    # ----- the CRD ------------------------------------------------------------------------

    def crd_object(self) -> Json:
        """The CRD as served: only the versions this stand-in serves, v1beta1 the storage."""
        crd = copy_json(self._crd)
        versions = [v for v in crd["spec"]["versions"] if v["name"] in self.dgd_versions]
        for version in versions:
            version["served"] = True
            version["storage"] = version["name"] == self.dgd_versions[0]
        crd["spec"]["versions"] = versions
        meta = crd.setdefault("metadata", {})
        meta.setdefault("uid", "00000000-0000-0000-0000-00000000d9d0")
        meta.setdefault("resourceVersion", "1")
        meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
        crd["status"] = {
            "storedVersions": [self.dgd_versions[0]],
            "acceptedNames": crd["spec"]["names"],
            "conditions": [
                {
                    "type": "Established",
                    "status": "True",
                    "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        }
        return crd

    def crd_version(self, version: str) -> Json:
        """The CRD's entry for `version` (schema, printer columns); {} when it has none."""
        for entry in self._crd["spec"]["versions"]:
            if entry["name"] == version:
                found: Json = entry
                return found
        return {}

    # ----- OpenAPI v3 ---------------------------------------------------------------------

    def openapi_root(self) -> Json:
        """`/openapi/v3`: each group version's document URL, with a content hash (cached)."""
        if self._openapi_root is None:
            self._openapi_root = self._build_openapi_root()
        return self._openapi_root

    def _build_openapi_root(self) -> Json:
        paths = {}
        for group_version in sorted({r.group_version for r in self.resources}):
            prefix = "api" if "/" not in group_version else "apis"
            key = f"{prefix}/{group_version}"
            digest = hashlib.sha256(json.dumps(self.openapi_document(key)).encode()).hexdigest()
            paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest[:32].upper()}"}
        return {"paths": paths}

    def openapi_document(self, key: str) -> Json | None:
        """`key` is `api/v1` or `apis/<group>/<version>`; documents are built once."""
        if key not in self._openapi:
            self._openapi[key] = self._build_openapi_document(key)
        return self._openapi[key]

    def _build_openapi_document(self, key: str) -> Json | None:
        parts = key.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])
        served = [r for r in self.resources if (r.group, r.version) == (group, version)]
        if not served:
            return None
        paths: Json = {}
        schemas: Json = {}
        for r in served:
            schema_name = _schema_name(r)
            schemas[schema_name] = self._openapi_schema(r)
            base = (
                f"/{key}/namespaces/{{namespace}}/{r.plural}"
                if r.namespaced
                else f"/{key}/{r.plural}"
            )
            paths[base] = _collection_operations(r, schema_name)
            paths[base + "/{name}"] = _item_operations(r, schema_name)
        return {
            "openapi": "3.0.0",
            "info": {"title": "Kubernetes", "version": "v1.32.0"},
            "paths": paths,
            "components": {"schemas": schemas},
        }

    def _openapi_schema(self, r: ApiResource) -> Json:
        gvk = [{"group": r.group, "version": r.version, "kind": r.kind}]
        schema: Json
        if r.plural == DGD_RESOURCE:
            schema = copy_json(
                self.crd_version(r.version).get("schema", {}).get("openAPIV3Schema", {})
            )
        else:
            schema = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        schema["x-kubernetes-group-version-kind"] = gvk
        return schema

    # ----- server-side Table (kubectl get) ------------------------------------------------

    def table(self, resource: ApiResource, items: list[Json], list_rv: str) -> Json:
        columns = self.crd_version(resource.version).get("additionalPrinterColumns", [])
        return build_table(
            resource.plural, items, list_rv, columns if resource.plural == DGD_RESOURCE else None
        )


def _schema_name(r: ApiResource) -> str:
    group = ".".join(reversed(r.group.split("."))) if r.group else "io.k8s.api.core"
    return f"{group}.{r.version}.{r.kind}"


_FIELD_VALIDATION_PARAM = {
    "name": "fieldValidation",
    "in": "query",
    "schema": {"type": "string"},
    "description": "Ignore, Warn or Strict",
}


def _operation(r: ApiResource, action: str, schema_name: str, *, body: bool) -> Json:
    ref = {"$ref": f"#/components/schemas/{schema_name}"}
    operation: Json = {
        "operationId": f"{action}{r.kind}",
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
        "responses": {"200": {"content": {"application/json": {"schema": ref}}}},
    }
    if body:
        operation["parameters"] = [_FIELD_VALIDATION_PARAM]
        content_types = ["application/json"]
        if action == "patch":
            content_types = [
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]
        operation["requestBody"] = {"content": {c: {"schema": ref} for c in content_types}}
    return operation


def _collection_operations(r: ApiResource, schema_name: str) -> Json:
    return {
        "get": _operation(r, "list", schema_name, body=False),
        "post": _operation(r, "post", schema_name, body=True),
    }


def _item_operations(r: ApiResource, schema_name: str) -> Json:
    return {
        "get": _operation(r, "get", schema_name, body=False),
        "put": _operation(r, "put", schema_name, body=True),
        "patch": _operation(r, "patch", schema_name, body=True),
        "delete": _operation(r, "delete", schema_name, body=False),
    }
