"""Validate DGDs the way the API server validates custom resources: prune, then check the schema.

The real server (1) drops fields its structural schema doesn't know ("pruning", reported as
unknown fields for fieldValidation Warn/Strict), (2) drops nulls on non-nullable fields, then
(3) validates the rest against `openAPIV3Schema`. Step 3 runs on `jsonschema` after translating
the Kubernetes dialect (OpenAPI 3.0 `nullable`, `x-kubernetes-int-or-string`,
`x-kubernetes-preserve-unknown-fields`, `x-kubernetes-embedded-resource`) into Draft 7.
CEL rules (`x-kubernetes-validations`) are not evaluated: JSON Schema cannot express them.

The schema comes from the operator's CRD file; without it, a compact schema of our own covering
the fields Dynamote and the upstream examples write (see `compact_crd_versions`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from bot.sim.k8s.compact_crd import compact_crd_versions

__all__ = [
    "Cause",
    "DgdSchemas",
    "SchemaCheck",
    "dns1035_label_causes",
    "label_value_causes",
    "load_crd",
    "name_causes",
]

Schema = dict[str, Any]
_DROPPED_KEYS = {"description", "default", "example", "nullable", "externalDocs"}
# ObjectMeta fields a client may send; anything else under metadata is an unknown field.
_OBJECT_META_FIELDS = {
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "selfLink",
}
_RFC1123_SUBDOMAIN = re.compile(
    r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
)


@dataclass(frozen=True)
class Cause:
    """One entry of a 422 Status's details.causes."""

    reason: str
    message: str
    field: str

    def as_json(self) -> dict[str, str]:
        return {"reason": self.reason, "message": self.message, "field": self.field}


@dataclass
class SchemaCheck:
    """The outcome of checking one object: pruned copy, unknown field paths, violations."""

    obj: dict[str, Any]
    unknown_fields: list[str] = field(default_factory=list)
    causes: list[Cause] = field(default_factory=list)


def name_causes(name: str) -> list[Cause]:
    """metadata.name must be a DNS-1123 subdomain (what the server checks for custom resources)."""
    if not name:
        return [
            Cause(
                "FieldValueRequired",
                "Required value: name or generateName is required",
                "metadata.name",
            )
        ]
    if len(name) > 253 or not _RFC1123_SUBDOMAIN.match(name):
        message = (
            f'Invalid value: "{name}": a lowercase RFC 1123 subdomain must consist of lower case '
            "alphanumeric characters, '-' or '.', and must start and end with an alphanumeric "
            "character (e.g. 'example.com', regex used for validation is "
            "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
        return [Cause("FieldValueInvalid", message, "metadata.name")]
    return []


# The apimachinery validators (k8s.io/apimachinery/pkg/util/validation) and their messages.
_DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_MAX_LABEL = 63
_TOO_LONG = f"must be no more than {_MAX_LABEL} characters"
_DNS1035_MESSAGE = (
    "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
    "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
    "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
)
_LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)


def dns1035_label_causes(name: str, path: str = "metadata.name") -> list[Cause]:
    """What the API server says about a Service name that is not a DNS-1035 label."""
    causes = []
    if len(name) > _MAX_LABEL:
        causes.append(Cause("FieldValueInvalid", f'Invalid value: "{name}": {_TOO_LONG}', path))
    if not _DNS1035_LABEL.match(name):
        message = f'Invalid value: "{name}": {_DNS1035_MESSAGE}'
        causes.append(Cause("FieldValueInvalid", message, path))
    return causes


def label_value_causes(labels: dict[str, str], path: str = "metadata.labels") -> list[Cause]:
    """What the API server says about label values over 63 characters or of the wrong shape."""
    causes = []
    for value in labels.values():
        if len(value) > _MAX_LABEL:
            message = f'Invalid value: "{value}": {_TOO_LONG}'
            causes.append(Cause("FieldValueInvalid", message, path))
        if not _LABEL_VALUE.match(value):
            message = f'Invalid value: "{value}": {_LABEL_VALUE_MESSAGE}'
            causes.append(Cause("FieldValueInvalid", message, path))
    return causes


# ----- pruning -----------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _prune(value: Any, schema: Schema, path: str, unknown: list[str]) -> Any:
    """Drop unknown fields and non-nullable nulls in place; record unknown paths."""
    if isinstance(value, dict):
        _prune_object(value, schema, path, unknown)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            _prune(item, schema["items"], f"{path}[{index}]", unknown)
    return value


def _prune_object(value: dict[str, Any], schema: Schema, path: str, unknown: list[str]) -> None:
    properties: dict[str, Schema] = schema.get("properties") or {}
    extra = schema.get("additionalProperties")
    keeps_unknown = bool(schema.get("x-kubernetes-preserve-unknown-fields"))
    if schema.get("x-kubernetes-embedded-resource"):
        properties = {"apiVersion": {}, "kind": {}, "metadata": {}, **properties}
    for key in list(value):
        child_path = _join(path, key)  # the server's pruning paths are dotted, map keys too
        child_schema = properties.get(key)
        if child_schema is None and isinstance(extra, dict):
            child_schema = extra
        if child_schema is None:
            if not keeps_unknown and extra is not True:
                unknown.append(_join(path, key))
                del value[key]
            continue
        if value[key] is None and not child_schema.get("nullable"):
            del value[key]  # the server drops nulls the schema doesn't allow
            continue
        _prune(value[key], child_schema, child_path, unknown)


def _prune_metadata(meta: Any, unknown: list[str]) -> None:
    if isinstance(meta, dict):
        for key in [k for k in meta if k not in _OBJECT_META_FIELDS]:
            unknown.append(f"metadata.{key}")
            del meta[key]


# ----- Kubernetes OpenAPI dialect -> JSON Schema Draft 7 -----------------------------------


def to_json_schema(schema: Schema) -> Schema:
    """Translate one structural-schema node (recursively) for jsonschema."""
    out: Schema = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYS or key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(child) for name, child in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in ("anyOf", "allOf", "oneOf"):
            out[key] = [to_json_schema(child) for child in value]
        else:
            out[key] = value
    if schema.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if schema.get("nullable"):
        kinds = out.get("type")
        if isinstance(kinds, str):
            out["type"] = [kinds, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out


def _field_path(error: jsonschema.ValidationError, map_paths: set[tuple[str, ...]]) -> str:
    """`spec.components[0].replicas`; map keys render as `[key]` like the server's field paths."""
    text = ""
    prefix: tuple[str, ...] = ()
    for part in error.absolute_path:
        indexed = isinstance(part, int) or prefix in map_paths
        text = text + f"[{part}]" if indexed else _join(text, str(part))
        prefix = (*prefix, "*" if indexed else str(part))
    return text


def _value_text(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict | list):
        return '"' + type(value).__name__ + '"'
    return str(value)


def _cause(error: jsonschema.ValidationError, map_paths: set[tuple[str, ...]]) -> Cause:
    path = _field_path(error, map_paths)
    shown = path or "<root>"
    value = _value_text(error.instance)
    if error.validator == "required":
        missing = re.search(r"'([^']+)' is a required property", error.message)
        name = missing.group(1) if missing else "?"
        return Cause("FieldValueRequired", "Required value", _join(path, name))
    if error.validator == "enum":
        allowed = ", ".join(_value_text(v) for v in error.validator_value if v is not None)
        return Cause(
            "FieldValueNotSupported",
            f"Unsupported value: {value}: supported values: {allowed}",
            path,
        )
    if error.validator == "type":
        expected = error.validator_value
        kind = expected if isinstance(expected, str) else " or ".join(expected)
        message = f"Invalid value: {value}: {shown} in body must be of type {kind}: {value}"
        return Cause("FieldValueTypeInvalid", message, path)
    detail = {
        "minimum": f"should be greater than or equal to {error.validator_value}",
        "maximum": f"should be less than or equal to {error.validator_value}",
        "pattern": f"should match '{error.validator_value}'",
        "minLength": f"should be at least {error.validator_value} chars long",
        "maxLength": f"should be at most {error.validator_value} chars long",
        "minItems": f"should have at least {error.validator_value} items",
        "maxItems": f"must have at most {error.validator_value} items",
    }.get(str(error.validator), error.message)
    return Cause("FieldValueInvalid", f"Invalid value: {value}: {shown} in body {detail}", path)


def _map_paths(schema: Schema, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Schema paths (`*` for list items and map values) whose children are map keys."""
    found: set[tuple[str, ...]] = set()
    extra = schema.get("additionalProperties")
    if isinstance(extra, dict):
        found.add(prefix)
        found |= _map_paths(extra, (*prefix, "*"))
    for name, child in (schema.get("properties") or {}).items():
        found |= _map_paths(child, (*prefix, name))
    if isinstance(schema.get("items"), dict):
        found |= _map_paths(schema["items"], (*prefix, "*"))
    return found


class _VersionSchema:
    """One served version's schema, translated and compiled once."""

    def __init__(self, structural: Schema) -> None:
        self.structural = structural
        self.validator = jsonschema.Draft7Validator(to_json_schema(structural))
        self.map_paths = _map_paths(structural)

    def check(self, obj: dict[str, Any]) -> SchemaCheck:
        result = SchemaCheck(obj)
        _prune_metadata(obj.get("metadata"), result.unknown_fields)
        # apiVersion/kind/metadata are the server's business, not the schema's.
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        _prune(
            body,
            {**self.structural, "properties": self._body_properties()},
            "",
            result.unknown_fields,
        )
        for key in [k for k in obj if k not in ("apiVersion", "kind", "metadata")]:
            if key in body:
                obj[key] = body[key]
            else:
                del obj[key]
        errors = sorted(self.validator.iter_errors(body), key=lambda e: list(e.absolute_path))
        result.causes = [_cause(error, self.map_paths) for error in errors]
        return result

    def _body_properties(self) -> dict[str, Schema]:
        properties = dict(self.structural.get("properties") or {})
        for key in ("apiVersion", "kind", "metadata"):
            properties.pop(key, None)
        return properties


class DgdSchemas:
    """The DGD schemas per version, from the CRD file or the compact fallback."""

    def __init__(self, crd_path: Path | None) -> None:
        if crd_path is not None and crd_path.is_file():
            self.crd, self._versions = _compile_file(crd_path, crd_path.stat().st_mtime_ns)
        else:
            self.crd, self._versions = _compile_compact()

    def versions(self) -> list[str]:
        return list(self._versions)

    def check(self, version: str, obj: dict[str, Any]) -> SchemaCheck:
        """Prune `obj` in place and validate it against `version`'s schema."""
        return self._versions[version].check(obj)

    def openapi_schema(self, version: str) -> Schema:
        return self._versions[version].structural


_Compiled = tuple[dict[str, Any], dict[str, _VersionSchema]]


def _compile(crd: dict[str, Any]) -> _Compiled:
    versions = {
        version["name"]: _VersionSchema(version["schema"]["openAPIV3Schema"])
        for version in crd["spec"]["versions"]
    }
    return crd, versions


@lru_cache(maxsize=4)
def _compile_file(path: Path, mtime_ns: int) -> _Compiled:
    """Each CRD file is read and compiled once (per change); StandIns share the result."""
    return _compile(_load_crd_file(path, mtime_ns))


@lru_cache(maxsize=1)
def _compile_compact() -> _Compiled:
    return _compile(compact_crd_versions())


def load_crd(path: Path | None) -> dict[str, Any]:
    """The CRD document at `path`, or the compact fallback when there is no such file."""
    if path is not None and path.is_file():
        return _load_crd_file(path, path.stat().st_mtime_ns)
    return compact_crd_versions()


@lru_cache(maxsize=4)
def _load_crd_file(path: Path, _mtime_ns: int) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the CRD is ~22k lines
    with path.open(encoding="utf-8") as handle:
        document: dict[str, Any] = yaml.load(handle, Loader=loader)  # noqa: S506 (safe loader)
    return document
