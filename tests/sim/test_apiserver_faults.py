"""Fault injection over real HTTP: latency, 5xx, 403, refused connections, and the call log."""

from __future__ import annotations

import json
import time

import pytest
import urllib3
from kubernetes import client
from kubernetes.client.rest import ApiException

from bot.sim.k8s.standin import StandIn

from .dgds import GROUP, PLURAL, v1beta1_dgd


def list_dgds(custom: client.CustomObjectsApi, **kwargs: object) -> object:
    return custom.list_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, **kwargs)


def test_latency_applies_only_to_matching_requests(
    custom: client.CustomObjectsApi, core: client.CoreV1Api, standin: StandIn
) -> None:
    standin.faults.add_latency(0.5, method="GET", path_regex=r"/dynamographdeployments$")
    started = time.monotonic()
    core.list_namespaced_pod("default")
    assert time.monotonic() - started < 0.5  # not delayed: a delayed one takes 0.5 s at least
    list_dgds(custom)
    assert time.monotonic() - started >= 0.5


def test_latency_beyond_the_client_timeout_times_out(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    standin.faults.add_latency(1.0)
    with pytest.raises(urllib3.exceptions.HTTPError, match="Read timed out"):
        list_dgds(custom, _request_timeout=(1, 0.3))


def test_a_count_limited_5xx_fails_then_recovers(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    standin.faults.add_error(503, method="GET", count=2)
    for _ in range(2):
        with pytest.raises(ApiException) as caught:
            list_dgds(custom)
        assert caught.value.status == 503
        assert json.loads(caught.value.body)["reason"] == "ServiceUnavailable"
    list_dgds(custom)


def test_a_forbidden_verb_answers_403_in_the_real_servers_words(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    standin.create_namespace("team-a")
    standin.faults.forbid("create", PLURAL, "team-a")
    with pytest.raises(ApiException) as caught:
        custom.create_namespaced_custom_object(GROUP, "v1beta1", "team-a", PLURAL, v1beta1_dgd())
    body = json.loads(caught.value.body)
    assert caught.value.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == (
        "dynamographdeployments.nvidia.com is forbidden: User "
        '"system:serviceaccount:dynamo-system:dynamote" cannot create resource '
        '"dynamographdeployments" in API group "nvidia.com" in the namespace "team-a"'
    )
    custom.create_namespaced_custom_object(GROUP, "v1beta1", "default", PLURAL, v1beta1_dgd())


def test_refused_connections_fail_fast_and_recover_on_the_same_port(
    custom: client.CustomObjectsApi, standin: StandIn
) -> None:
    list_dgds(custom)  # a pooled keep-alive connection exists now
    url = standin.url
    standin.faults.refuse_connections()
    started = time.monotonic()
    with pytest.raises(urllib3.exceptions.HTTPError):
        list_dgds(custom, _request_timeout=(1, 1))
    assert time.monotonic() - started < 1.5
    standin.faults.refuse_connections(False)
    assert standin.url == url
    list_dgds(custom)


def test_api_calls_are_counted_by_verb_and_resource(
    custom: client.CustomObjectsApi, core: client.CoreV1Api, standin: StandIn
) -> None:
    standin.reset_api_calls()
    list_dgds(custom)
    list_dgds(custom)
    core.list_namespaced_pod("default")
    calls = standin.api_calls()
    assert calls[("list", PLURAL)] == 2 and calls[("list", "pods")] == 1
    standin.reset_api_calls()
    assert not standin.api_calls()
