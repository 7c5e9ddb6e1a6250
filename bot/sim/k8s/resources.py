"""Create, read, replace, patch and delete objects over the Store, with the API server's rules.

Rules kept here, because clients depend on them: body apiVersion/kind/namespace must match the
URL; DGDs are pruned and validated against their version's schema (fieldValidation
Ignore/Warn/Strict, Warn by default as on the real server); PUT of a custom resource needs
metadata.resourceVersion; writes to the main resource don't change .status and writes to
/status change nothing else; dryRun=All stores nothing; deleting a DGD also deletes the pods
and events labelled with its name (the real cluster garbage-collects them via ownerReferences).
Objects are returned as stored: a DGD written as v1alpha1 reads back as v1alpha1 through a
v1beta1 URL too (there is no conversion webhook in the stand-in).
"""

from __future__ import annotations

import base64
import contextlib
import json
import uuid
from collections.abc import Callable
from typing import Any

from bot.sim.k8s.discovery import DGD_RESOURCE, ApiResource, Catalog
from bot.sim.k8s.patches import PatchError, apply_json_patch, apply_merge_patch
from bot.sim.k8s.routing import ApiRequest, Response
from bot.sim.k8s.statuses import ApiError
from bot.sim.k8s.store import AlreadyExists, Conflict, NotFoundError, Store, copy_json
from bot.sim.k8s.validation import (
    Cause,
    DgdSchemas,
    dns1035_label_causes,
    label_value_causes,
    name_causes,
)
from bot.sim.operator.admission import LATEST_OPERATOR_VERSION, WEBHOOK_NAME, admission_causes

__all__ = ["DGD_LABEL", "POD_LOG_ANNOTATION", "ObjectHandlers"]

Json = dict[str, Any]
DGD_LABEL = "nvidia.com/dynamo-graph-deployment-name"
# The simulated operator puts a pod's log text here; GET pods/{name}/log returns it.
POD_LOG_ANNOTATION = "sim.dynamote/log"
_PATCH_RETRIES = 5


def _decode_json(body: bytes) -> Any:
    try:
        return json.loads(body or b"null")
    except ValueError as exc:
        raise ApiError(400, f"the request body is not valid JSON: {exc}") from None


def _has_status_subresource(resource: ApiResource) -> bool:
    return "status" in resource.subresources


class ObjectHandlers:
    """The verbs on stored objects. One instance serves every request thread."""

    def __init__(
        self,
        store: Store,
        catalog: Catalog,
        schemas: DgdSchemas,
        *,
        operator_version: str = LATEST_OPERATOR_VERSION,
    ) -> None:
        self.store = store
        self.catalog = catalog
        self.schemas = schemas
        self.operator_version = operator_version  # whose admission webhook judges DGDs

    # ----- reads --------------------------------------------------------------------------

    def get(self, request: ApiRequest, resource: ApiResource) -> Response:
        assert request.name is not None
        obj = self._existing(request, resource)
        if request.subresource == "log" and resource.plural == "pods":
            annotations = obj.get("metadata", {}).get("annotations") or {}
            return Response(
                body=_tail(annotations.get(POD_LOG_ANNOTATION, ""), request),
                content_type="text/plain",
            )
        if request.wants_table:
            return Response(body=self.catalog.table(resource, [obj], self.store.resource_version()))
        return Response(body=obj)

    def list(self, request: ApiRequest, resource: ApiResource) -> Response:
        items, list_rv = self.store.list_shared(
            resource.plural,
            request.namespace,
            request.query.get("labelSelector"),
            request.query.get("fieldSelector"),
        )
        items, continue_token, remaining = _page(items, request.query)
        if request.wants_table:
            return Response(body=self.catalog.table(resource, items, list_rv))
        metadata: Json = {"resourceVersion": list_rv}
        if continue_token:
            metadata.update({"continue": continue_token, "remainingItemCount": remaining})
        return Response(
            body={
                "kind": f"{resource.kind}List",
                "apiVersion": resource.group_version,
                "metadata": metadata,
                "items": items,
            }
        )

    # ----- writes -------------------------------------------------------------------------

    def create(self, request: ApiRequest, resource: ApiResource) -> Response:
        obj = self._body_object(request, resource)
        self._require_namespace_exists(request)
        response = Response(status=201)
        if resource.plural == "secrets":
            _fold_string_data(obj)
        if resource.plural == DGD_RESOURCE:
            self._validate_dgd(request, resource, obj, response)
        else:
            _validate_core_names(resource, obj)
        if request.dry_run:
            # The real server runs every check of a create, the taken name included.
            name = obj["metadata"].get("name", "")
            if self.store.get(resource.plural, request.namespace, name) is not None:
                raise ApiError.already_exists(resource.plural, resource.group, name)
            response.body = _dry_run_result(obj)
            return response
        try:
            response.body = self.store.create(resource.plural, obj)
        except AlreadyExists:
            raise ApiError.already_exists(
                resource.plural, resource.group, obj["metadata"].get("name", "")
            ) from None
        except ValueError as exc:
            raise ApiError.invalid(
                resource.kind,
                resource.group,
                "",
                [Cause("FieldValueRequired", f"Required value: {exc}", "metadata.name")],
            ) from None
        return response

    def replace(self, request: ApiRequest, resource: ApiResource) -> Response:
        obj = self._body_object(request, resource)
        expected_rv = obj.get("metadata", {}).get("resourceVersion")
        if resource.plural == DGD_RESOURCE and not expected_rv:
            raise ApiError.invalid(
                resource.kind,
                resource.group,
                request.name or "",
                [
                    Cause(
                        "FieldValueInvalid",
                        "Invalid value: 0x0: must be specified for an update",
                        "metadata.resourceVersion",
                    )
                ],
            )
        return self._write(request, resource, lambda _current: obj, expected_rv)

    def patch(self, request: ApiRequest, resource: ApiResource) -> Response:
        patch = _decode_json(request.body)
        kind = request.content_type
        if kind == "application/strategic-merge-patch+json" and resource.group not in (
            "",
            "coordination.k8s.io",
        ):
            raise ApiError.unsupported_patch()  # custom resources take no strategic merge
        if kind in ("application/merge-patch+json", "application/strategic-merge-patch+json"):

            def apply(current: Json) -> Json:
                return dict(apply_merge_patch(current, patch))

        elif kind == "application/json-patch+json":

            def apply(current: Json) -> Json:
                return dict(apply_json_patch(current, patch))

        else:
            raise ApiError.unsupported_patch()
        return self._write(request, resource, apply, None)

    def delete(self, request: ApiRequest, resource: ApiResource) -> Response:
        assert request.name is not None
        if request.dry_run:
            return Response(body=self._existing(request, resource))
        try:
            gone = self.store.delete(resource.plural, request.namespace, request.name)
        except NotFoundError:
            raise ApiError.not_found(resource.plural, resource.group, request.name) from None
        if resource.plural == DGD_RESOURCE:
            self._delete_dependents(request.namespace, request.name)
        return Response(body=gone)

    # ----- shared steps -------------------------------------------------------------------

    def _write(
        self,
        request: ApiRequest,
        resource: ApiResource,
        build: Callable[[Json], Json],
        expected_rv: str | None,
    ) -> Response:
        """Build the new object from the current one, validate, store; retry lost races."""
        assert request.name is not None
        for _ in range(_PATCH_RETRIES):
            current = self._existing(request, resource)
            try:
                wanted = build(copy_json(current))
            except PatchError as exc:
                raise ApiError(422, str(exc), "Invalid") from None
            response = Response()
            wanted = self._checked_update(request, resource, current, wanted, response)
            precondition = expected_rv or wanted.get("metadata", {}).get("resourceVersion")
            if precondition and precondition != current["metadata"]["resourceVersion"]:
                raise ApiError.conflict(resource.plural, resource.group, request.name)
            if request.dry_run:
                response.body = wanted
                return response
            try:
                response.body = self._store_update(request, resource, wanted, current)
                return response
            except Conflict:
                if expected_rv:
                    raise ApiError.conflict(resource.plural, resource.group, request.name) from None
            except NotFoundError:
                raise ApiError.not_found(resource.plural, resource.group, request.name) from None
        raise ApiError.conflict(resource.plural, resource.group, request.name)

    def _checked_update(
        self,
        request: ApiRequest,
        resource: ApiResource,
        current: Json,
        wanted: Json,
        response: Response,
    ) -> Json:
        if not isinstance(wanted, dict):
            raise ApiError(400, "the patched object is not a JSON object")
        meta = wanted.setdefault("metadata", {})
        if meta.get("name", request.name) != request.name:
            raise ApiError(
                400,
                f"the name of the object ({meta.get('name')}) does not match "
                f"the name on the URL ({request.name})",
            )
        meta["name"] = request.name
        if request.namespace is not None:
            meta["namespace"] = request.namespace
        if resource.plural == DGD_RESOURCE:
            wanted.setdefault("apiVersion", current.get("apiVersion"))
            wanted.setdefault("kind", current.get("kind"))
            self._validate_dgd(request, resource, wanted, response)
        return wanted

    def _store_update(
        self, request: ApiRequest, resource: ApiResource, wanted: Json, current: Json
    ) -> Json:
        assert request.name is not None
        status_only = request.subresource == "status"
        keep_status = _has_status_subresource(resource) and not status_only

        def replace_with_wanted(obj: Json) -> None:
            old_status = obj.get("status")
            obj.clear()
            obj.update(wanted)
            if keep_status:
                obj.pop("status", None)
                if old_status is not None:
                    obj["status"] = old_status

        return self.store.update(
            resource.plural,
            request.namespace,
            request.name,
            replace_with_wanted,
            expected_rv=current["metadata"]["resourceVersion"],
            subresource="status" if status_only else None,
        )

    def _validate_dgd(
        self, request: ApiRequest, resource: ApiResource, obj: Json, response: Response
    ) -> None:
        """Prune and validate in place; add warnings or raise per fieldValidation."""
        mode = request.query.get("fieldValidation", "Warn")
        if mode not in ("Ignore", "Warn", "Strict"):
            raise ApiError(
                400, f'fieldValidation must be one of "Ignore", "Warn", "Strict", got "{mode}"'
            )
        check = self.schemas.check(resource.version, obj)
        if check.unknown_fields and mode == "Strict":
            raise ApiError.strict_decoding(resource.kind, resource.version, check.unknown_fields)
        if mode == "Warn":
            response.warnings += [f'unknown field "{path}"' for path in check.unknown_fields]
        meta = obj.get("metadata", {})
        # A generateName prefix gets a random suffix later; check it as a name would be.
        name = meta.get("name") or (
            meta.get("generateName", "") + "x" if meta.get("generateName") else ""
        )
        causes = name_causes(name) + check.causes
        if causes:
            raise ApiError.invalid(
                resource.kind, resource.group, obj.get("metadata", {}).get("name", ""), causes
            )
        # Validating webhooks run after the schema: the operator's judges the images.
        denied = admission_causes(obj, self.operator_version)
        if denied:
            invalid = ApiError.invalid(resource.kind, resource.group, meta.get("name", ""), denied)
            message = f'admission webhook "{WEBHOOK_NAME}" denied the request: {invalid}'
            raise ApiError(422, message, "Invalid", invalid.body.get("details"))

    def _body_object(self, request: ApiRequest, resource: ApiResource) -> Json:
        obj = _decode_json(request.body)
        if not isinstance(obj, dict):
            raise ApiError(400, "the request body must be a JSON object")
        _check_type_meta(obj, resource)
        meta = obj.setdefault("metadata", {})
        if resource.namespaced:
            if meta.get("namespace") not in (None, "", request.namespace):
                raise ApiError(
                    400,
                    "the namespace of the provided object does not match the "
                    "namespace sent on the request",
                )
            meta["namespace"] = request.namespace
        obj.setdefault("apiVersion", resource.group_version)
        obj.setdefault("kind", resource.kind)
        return obj

    def _existing(self, request: ApiRequest, resource: ApiResource) -> Json:
        assert request.name is not None
        obj = self.store.get(resource.plural, request.namespace, request.name)
        if obj is None:
            raise ApiError.not_found(resource.plural, resource.group, request.name)
        return obj

    def _require_namespace_exists(self, request: ApiRequest) -> None:
        if request.namespace and self.store.get("namespaces", None, request.namespace) is None:
            raise ApiError.not_found("namespaces", "", request.namespace)

    def _delete_dependents(self, namespace: str | None, dgd_name: str) -> None:
        """What ownerReference garbage collection does; tolerant of the operator racing us."""
        selector = f"{DGD_LABEL}={dgd_name}"
        for plural in ("pods", "events", "services", "endpoints"):
            for obj in self.store.list(plural, namespace, selector)[0]:
                with contextlib.suppress(NotFoundError):  # the operator got there first
                    self.store.delete(plural, namespace, obj["metadata"]["name"])


def _validate_core_names(resource: ApiResource, obj: Json) -> None:
    """Services need a DNS-1035 label as name; every object's label values must fit 63."""
    meta = obj.get("metadata") or {}
    name = str(meta.get("name") or "")
    causes: list[Cause] = []
    if resource.plural == "services" and name:
        causes += dns1035_label_causes(name)
    labels = meta.get("labels") or {}
    if isinstance(labels, dict):
        causes += label_value_causes({str(k): str(v) for k, v in labels.items()})
    if causes:
        raise ApiError.invalid(resource.kind, resource.group, name, causes)


def _check_type_meta(obj: Json, resource: ApiResource) -> None:
    """Custom resources must say what they are; a mismatch with the URL is a 400."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    if resource.plural == DGD_RESOURCE and (not api_version or not kind):
        raise ApiError(400, f"Object 'Kind' is missing in '{json.dumps(obj)[:200]}'")
    if api_version and api_version != resource.group_version:
        raise ApiError(
            400,
            f"the API version in the data ({api_version}) does not match the "
            f"expected API version ({resource.group_version})",
        )
    if kind and kind != resource.kind:
        raise ApiError(
            400, f"the kind in the data ({kind}) does not match the expected kind ({resource.kind})"
        )


def _fold_string_data(secret: Json) -> None:
    """Secrets' stringData is a write-only convenience, stored base64 under data."""
    for key, value in (secret.pop("stringData", None) or {}).items():
        secret.setdefault("data", {})[key] = base64.b64encode(str(value).encode()).decode()


def _dry_run_result(obj: Json) -> Json:
    meta = obj.setdefault("metadata", {})
    meta.setdefault("uid", str(uuid.uuid4()))
    if obj.get("kind") == "DynamoGraphDeployment":
        meta.setdefault("generation", 1)
    return obj


def _page(items: list[Json], query: dict[str, str]) -> tuple[list[Json], str, int]:
    """limit/continue over the current list (not a consistent snapshot, unlike the server)."""
    start = (
        int(base64.urlsafe_b64decode(query["continue"]).decode()) if query.get("continue") else 0
    )
    limit = int(query.get("limit") or 0)
    if limit <= 0:
        return items[start:], "", 0
    end = start + limit
    token = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
    return items[start:end], token, max(len(items) - end, 0)


def _tail(text: str, request: ApiRequest) -> str:
    tail = request.query.get("tailLines")
    if tail and tail.isascii() and tail.isdigit():
        lines = text.splitlines(keepends=True)
        return "".join(lines[-int(tail) :]) if int(tail) else ""
    return text
