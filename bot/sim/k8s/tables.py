"""Server-side Tables, what `kubectl get` asks for (`Accept: ...;as=Table`).

DGDs get the CRD's printer columns (Ready, Backend, Age), pods get kubectl's familiar READY,
STATUS, RESTARTS, AGE, Services TYPE, CLUSTER-IP, PORT(S), Endpoints the ready ENDPOINTS, and
everything else NAME and AGE. Without Tables kubectl would print only names; with them
`kubectl get dgd,pods` against the stand-in looks like a real cluster.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

__all__ = ["build_table", "human_age"]

Json = dict[str, Any]


def _column(name: str, column_type: str, description: str = "") -> Json:
    return {
        "name": name,
        "type": column_type,
        "format": "",
        "priority": 0,
        "description": description,
    }


def build_table(
    plural: str, items: list[Json], list_rv: str, printer_columns: list[Json] | None
) -> Json:
    """A meta.k8s.io/v1 Table; `printer_columns` are a CRD version's additionalPrinterColumns."""
    columns = [
        {**_column("Name", "string", "Name must be unique within a namespace."), "format": "name"}
    ]
    paths = [".metadata.name"]
    if printer_columns is not None:
        for column in printer_columns:
            columns.append(_column(column["name"], column["type"], column.get("description", "")))
            paths.append(column["jsonPath"])
    else:
        if plural == "pods":
            columns += [_column(name, "string") for name in ("Ready", "Status", "Restarts")]
            paths += [_POD_READY, _POD_STATUS, _POD_RESTARTS]
        elif plural == "services":
            columns += [_column(name, "string") for name in ("Type", "Cluster-IP", "Port(s)")]
            paths += [".spec.type", ".spec.clusterIP", _SERVICE_PORTS]
        elif plural == "endpoints":
            columns.append(_column("Endpoints", "string"))
            paths.append(_READY_ENDPOINTS)
        columns.append(_column("Age", "date", "creation time"))
        paths.append(".metadata.creationTimestamp")
    rows = [
        {
            "cells": [
                _cell(item, path, column["type"])
                for path, column in zip(paths, columns, strict=True)
            ],
            "object": {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": item.get("metadata", {}),
            },
        }
        for item in items
    ]
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": list_rv},
        "columnDefinitions": columns,
        "rows": rows,
    }


def human_age(timestamp: Any, now: datetime | None = None) -> str:
    """`5m`, `3h2m`, `4d`: how kubectl shows a date column (kube's HumanDuration, shortened)."""
    try:
        created = datetime.strptime(str(timestamp), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        return "<unknown>"
    seconds = max(int(((now or datetime.now(UTC)) - created).total_seconds()), 0)
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 120:
        return f"{seconds}s"
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


_POD_READY, _POD_STATUS, _POD_RESTARTS = "<pod-ready>", "<pod-status>", "<pod-restarts>"
_SERVICE_PORTS = "<service-ports>"
_READY_ENDPOINTS = "<ready-endpoints>"


def _pod_cell(pod: Json, path: str) -> Any:
    """Pod columns as kubectl shows them: READY 1/1, STATUS (waiting reason first), RESTARTS."""
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    if path == _POD_READY:
        ready = sum(1 for s in statuses if s.get("ready"))
        total = len(statuses) or len((pod.get("spec") or {}).get("containers") or [])
        return f"{ready}/{total}"
    if path == _POD_RESTARTS:
        return sum(int(s.get("restartCount") or 0) for s in statuses)
    for status in statuses:
        waiting = (status.get("state") or {}).get("waiting") or {}
        if waiting.get("reason"):
            return waiting["reason"]
    return (pod.get("status") or {}).get("phase", "Unknown")


def _service_ports(service: Json) -> str:
    """`8000/TCP`, as kubectl's PORT(S) column shows a ClusterIP Service's ports."""
    ports = (service.get("spec") or {}).get("ports") or []
    return ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in ports) or "<none>"


def _ready_endpoints(endpoints: Json) -> str:
    """`10.244.0.7:8000`: the ready addresses with their ports, as kubectl's ENDPOINTS shows."""
    shown = [
        f"{address.get('ip')}:{port.get('port')}"
        for subset in endpoints.get("subsets") or []
        for address in subset.get("addresses") or []
        for port in subset.get("ports") or []
    ]
    return ",".join(shown) or "<none>"


def _cell(obj: Json, path: str, column_type: str) -> Any:
    if path.startswith("<pod-"):
        return _pod_cell(obj, path)
    if path == _SERVICE_PORTS:
        return _service_ports(obj)
    if path == _READY_ENDPOINTS:
        return _ready_endpoints(obj)
    value = _json_path(obj, path)
    if column_type == "date" and value is not None:
        return human_age(value)
    return value


def _json_path(obj: Json, path: str) -> Any:
    """The few JSONPath forms printer columns use: `.a.b` and `.a[?(@.k=="v")].b`."""
    if match := _FILTER.match(path):
        entries = _dotted(obj, match["list"])
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and entry.get(match["key"]) == match["value"]:
                return _dotted(entry, "." + match["rest"])
        return None
    return _dotted(obj, path)


def _dotted(obj: Any, path: str) -> Any:
    for part in [p for p in path.split(".") if p]:
        obj = obj.get(part) if isinstance(obj, dict) else None
    return obj


_FILTER = re.compile(
    r'^(?P<list>[\w.]*)\[\?\(@\.(?P<key>\w+)=="(?P<value>[^"]*)"\)\]\.(?P<rest>.+)$'
)
