"""manifests/networkpolicy.yaml admits what the bot needs and nothing else.

The policy is read with NetworkPolicy's own rules (Kubernetes docs, "Network Policies"): a pod
selected by a policy takes only the traffic some rule allows; within one peer a
namespaceSelector and a podSelector must both match; a rule without ``to``/``from`` matches
every peer, one without ``ports`` every port; a named port is the container's port of that name.
Each connection the bot makes, or that reaches it, is then asked of the rendered policy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.domain.deployments import FRONTEND_PORT

from .kustomize import Doc, one
from .test_rbac import settings_of


@dataclass(frozen=True)
class Peer:
    """The other end of a connection: a pod (namespace + labels) or an outside address."""

    namespace: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    address: str = "203.0.113.7"  # outside the cluster (a documentation address)


def selects(selector: dict[str, Any] | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return True
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
        if operator == "DoesNotExist" and value is not None:
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.address)
        inside = address in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            address in ipaddress.ip_network(c) for c in block.get("except", ())
        )
    if peer.namespace is None:  # an outside address matches no pod or namespace selector
        return False
    namespace_labels = {"kubernetes.io/metadata.name": peer.namespace}
    in_namespace = (
        selects(rule_peer["namespaceSelector"], namespace_labels)
        if "namespaceSelector" in rule_peer
        else peer.namespace == "dynamote"  # a podSelector alone: the policy's own namespace
    )
    return in_namespace and selects(rule_peer.get("podSelector", {}), peer.labels)


def port_matches(rule_ports: list[dict[str, Any]] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    return any(
        p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in rule_ports
    )


@dataclass
class Policy:
    spec: dict[str, Any]
    container_ports: dict[str, int]

    def _resolve(self, ports: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
        if ports is None:
            return None
        return [
            {**p, "port": self.container_ports[p["port"]]} if isinstance(p.get("port"), str) else p
            for p in ports
        ]

    def allows_egress(self, peer: Peer, port: int, protocol: str = "TCP") -> bool:
        return any(
            port_matches(self._resolve(rule.get("ports")), port, protocol)
            and (not rule.get("to") or any(peer_matches(p, peer) for p in rule["to"]))
            for rule in self.spec.get("egress") or ()
        )

    def allows_ingress(self, peer: Peer, port: int, protocol: str = "TCP") -> bool:
        return any(
            port_matches(self._resolve(rule.get("ports")), port, protocol)
            and (not rule.get("from") or any(peer_matches(p, peer) for p in rule["from"]))
            for rule in self.spec.get("ingress") or ()
        )


@pytest.fixture(scope="module")
def policy(docs: list[Doc]) -> Policy:
    container = one(docs, "Deployment", "dynamote")["spec"]["template"]["spec"]["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    return Policy(one(docs, "NetworkPolicy", "dynamote")["spec"], ports)


KUBE_DNS = Peer("kube-system", {"k8s-app": "kube-dns"})
FRONTEND = {"nvidia.com/dynamo-component-type": "frontend"}
WORKER = {"nvidia.com/dynamo-component-type": "worker"}


def test_it_selects_the_bots_pods_in_both_directions(docs: list[Doc], policy: Policy) -> None:
    template = one(docs, "Deployment", "dynamote")["spec"]["template"]
    network_policy = one(docs, "NetworkPolicy", "dynamote")

    assert network_policy["metadata"]["namespace"] == "dynamote"
    assert selects(policy.spec["podSelector"], template["metadata"]["labels"])
    assert sorted(policy.spec["policyTypes"]) == ["Egress", "Ingress"]


def test_slack_reaches_the_events_port_and_only_the_scraper_the_health_port(
    policy: Policy,
) -> None:
    events, health = policy.container_ports["http"], policy.container_ports["health"]

    assert policy.allows_ingress(Peer("ingress-nginx"), events)
    assert policy.allows_ingress(Peer("monitoring"), health)
    assert not policy.allows_ingress(Peer("ingress-nginx"), health)
    assert not policy.allows_ingress(Peer("team-a"), 8000)


def test_egress_allows_dns_slack_and_the_api_server(policy: Policy) -> None:
    assert policy.allows_egress(KUBE_DNS, 53, "UDP")
    assert policy.allows_egress(KUBE_DNS, 53, "TCP")
    assert policy.allows_egress(Peer(address="54.192.0.10"), 443)  # Slack: any address
    assert policy.allows_egress(Peer(address="10.0.0.1"), 443)  # kubernetes.default
    assert policy.allows_egress(Peer(address="192.168.1.10"), 6443)  # the API server itself


def test_model_frontends_are_reachable_in_the_deployment_namespaces_only(
    docs: list[Doc], policy: Policy
) -> None:
    settings = settings_of(docs)

    for namespace in settings.allowed_namespaces:
        assert policy.allows_egress(Peer(namespace, FRONTEND), FRONTEND_PORT)
        assert not policy.allows_egress(Peer(namespace, WORKER), FRONTEND_PORT)
    assert not policy.allows_egress(Peer("other-team", FRONTEND), FRONTEND_PORT)


def test_nothing_else_goes_out(policy: Policy) -> None:
    assert not policy.allows_egress(Peer(address="203.0.113.7"), 80)
    assert not policy.allows_egress(Peer("kube-system", {"k8s-app": "other"}), 53, "UDP")
    assert not policy.allows_egress(Peer("dynamo-system", {"app": "postgres"}), 5432)
    assert not policy.allows_egress(KUBE_DNS, 9153)  # the resolver's metrics
