"""The Services the simulated operator gives each component, and their Endpoints. Pure.

The operator creates one Service per component, named like the component's Deployment:
``<dgd>-<component lowercased>``, with ``-<worker hash>`` on workers (``GetDCDResourceName``
and ``NormalizeKubeResourceName`` in its ``internal/dynamo/graph.go``). A frontend's Service
serves port 8000 named ``http`` (``DynamoServicePort``) and selects the component's pods by
component type, Dynamo namespace and component name; the others serve the system port 9090
named ``system`` and select by ``nvidia.com/selector``. The Endpoints controller then lists
the pods behind each Service: ready ones under ``addresses``, the rest under
``notReadyAddresses``. That is what ``kubectl get svc,endpoints`` and
``kubectl port-forward svc/<dgd>-frontend`` rely on.

``name_problems`` says what the API server would refuse about the objects a plan needs (a
Service name that is not a DNS-1035 label, label values over 63 characters), worded as the
API server's 422 message, because the real operator fails its reconcile with exactly that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from bot.sim.k8s.validation import dns1035_label_causes, label_value_causes
from bot.sim.operator.plan import FRONTEND_PORT, SYSTEM_PORT, ComponentPlan
from bot.sim.operator.pods import (
    LABEL_COMPONENT,
    LABEL_DGD,
    LABEL_DYNAMO_NAMESPACE,
    LABEL_SELECTOR,
    LABEL_TYPE,
    component_prefix,
    is_ready,
    pod_labels,
)

__all__ = ["name_problems", "render_endpoints", "render_service", "service_ports"]

Obj = dict[str, Any]


def service_ports(plan: ComponentPlan) -> list[Obj]:
    """The Service ports of a component: ``http`` 8000 on a frontend, else ``system`` 9090."""
    name, port = ("http", FRONTEND_PORT) if plan.type == "frontend" else ("system", SYSTEM_PORT)
    return [{"name": name, "port": port, "protocol": "TCP", "targetPort": name}]


def render_service(dgd: Mapping[str, Any], plan: ComponentPlan) -> Obj:
    """The component's Service as the operator creates it (ClusterIP, no status to speak of)."""
    meta = dgd["metadata"]
    dgd_name, namespace = meta["name"], meta.get("namespace", "default")
    name = component_prefix(dgd_name, plan)
    labels = pod_labels(dgd_name, namespace, plan)
    if plan.type == "frontend":
        keys = (LABEL_TYPE, LABEL_DYNAMO_NAMESPACE, LABEL_COMPONENT)
        selector = {key: labels[key] for key in keys}
    else:
        selector = {LABEL_SELECTOR: name}
    cluster_ip = _cluster_ip(f"{namespace}/{name}")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {
                LABEL_DGD: dgd_name,
                LABEL_COMPONENT: plan.name,
                LABEL_TYPE: plan.type,
                LABEL_DYNAMO_NAMESPACE: labels[LABEL_DYNAMO_NAMESPACE],
            },
        },
        "spec": {
            "type": "ClusterIP",
            "clusterIP": cluster_ip,
            "clusterIPs": [cluster_ip],
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "internalTrafficPolicy": "Cluster",
            "sessionAffinity": "None",
            "selector": selector,
            "ports": service_ports(plan),
        },
        "status": {"loadBalancer": {}},
    }


def render_endpoints(service: Mapping[str, Any], pods: Iterable[Mapping[str, Any]]) -> Obj:
    """The Endpoints of ``service`` given the pods its selector matches."""
    meta = service["metadata"]
    ready: list[Obj] = []
    not_ready: list[Obj] = []
    for pod in sorted(pods, key=lambda p: str(p["metadata"]["name"])):
        status = pod.get("status") or {}
        if not status.get("podIP"):
            continue  # not scheduled or not started: no address yet
        pod_meta = pod["metadata"]
        address: Obj = {
            "ip": status["podIP"],
            "targetRef": {
                "kind": "Pod",
                "name": pod_meta["name"],
                "namespace": pod_meta.get("namespace", meta.get("namespace")),
                "uid": pod_meta.get("uid", ""),
            },
        }
        if (pod.get("spec") or {}).get("nodeName"):
            address["nodeName"] = pod["spec"]["nodeName"]
        (ready if is_ready(pod) else not_ready).append(address)
    endpoints: Obj = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": meta["name"],
            "namespace": meta.get("namespace"),
            "labels": dict(meta.get("labels") or {}),
        },
    }
    if ready or not_ready:
        ports = [
            {"name": p["name"], "port": p["port"], "protocol": p["protocol"]}
            for p in service["spec"]["ports"]
        ]
        subset: Obj = {"ports": ports}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        endpoints["subsets"] = [subset]
    return endpoints


def name_problems(dgd_name: str, namespace: str, plans: Iterable[ComponentPlan]) -> str | None:
    """The API server's refusal of the first object the operator could not create, or None."""
    for plan in plans:
        name = component_prefix(dgd_name, plan)
        causes = dns1035_label_causes(name)
        if causes:
            return _invalid("Service", name, [f"{c.field}: {c.message}" for c in causes])
        label_causes = label_value_causes(pod_labels(dgd_name, namespace, plan))
        if label_causes:
            fields = [f"spec.template.{c.field}: {c.message}" for c in label_causes]
            return _invalid("Deployment.apps", name, fields)
    return None


def _invalid(kind: str, name: str, lines: list[str]) -> str:
    summary = lines[0] if len(lines) == 1 else "[" + ", ".join(lines) + "]"
    return f'{kind} "{name}" is invalid: {summary}'


def _cluster_ip(seed: str) -> str:
    """A stable address in the usual 10.96.0.0/12 service range."""
    digest = hashlib.sha256(seed.encode()).digest()
    return f"10.{96 + digest[0] % 16}.{digest[1]}.{digest[2] % 254 + 1}"
