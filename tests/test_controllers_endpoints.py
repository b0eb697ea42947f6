"""The Endpoints controller: ready and not-ready addresses, ports, pods coming and going."""

import pytest
from endpoints_testing import FAIL_READINESS, SHUTDOWN, pod, replicaset, service

import kubelearn as kl
from kubelearn.api import NotFound
from kubelearn.controllers.endpoints import (
    IS_HEADLESS_SERVICE,
    LABEL_MANAGED_BY,
    LAST_CHANGE_TRIGGER_TIME,
    OVER_CAPACITY,
    EndpointsController,
    TriggerTimeTracker,
    desired_subsets,
    find_port,
    format_time,
    parse_time,
    repack_subsets,
    services_to_update_on_pod_change,
    truncate_subsets,
)


def addresses(cluster: kl.Cluster, field: str = "addresses", name: str = "web") -> dict:
    """pod name -> ip, over every subset's ``field``."""
    ep = cluster.admin.get("endpoints", name)
    return {a["targetRef"]["name"]: a["ip"]
            for s in ep.get("subsets") or [] for a in s.get(field) or []}


def records(cluster: kl.Cluster, reason: str) -> list:
    return [r for r in cluster.sim.records
            if r.component == "endpoint-controller" and r.reason == reason]


# -- on a cluster -------------------------------------------------------------------------------

def test_ready_pods_of_a_replicaset_are_listed_with_node_target_and_resolved_port():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([replicaset(3), service()])
    cluster.run(30)
    pods = {p["metadata"]["name"]: p for p in cluster.admin.list("pods", "default")["items"]}
    ep = cluster.admin.get("endpoints", "web")
    assert len(ep["subsets"]) == 1
    subset = ep["subsets"][0]
    assert "notReadyAddresses" not in subset
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert len(subset["addresses"]) == 3
    for address in subset["addresses"]:
        p = pods[address["targetRef"]["name"]]
        assert address == {"ip": p["status"]["podIP"], "nodeName": p["spec"]["nodeName"],
                           "targetRef": {"kind": "Pod", "namespace": "default",
                                         "name": p["metadata"]["name"],
                                         "uid": p["metadata"]["uid"]}}
    ips = [a["ip"] for a in subset["addresses"]]
    assert ips == sorted(ips)  # LessEndpointAddress
    # the Service's labels (it has none); LABEL_MANAGED_BY only from v1.33 (PR #130564)
    assert "labels" not in ep["metadata"]
    assert LABEL_MANAGED_BY == "endpoints.kubernetes.io/managed-by"
    assert LAST_CHANGE_TRIGGER_TIME in ep["metadata"]["annotations"]
    table = cluster.get("endpoints")  # row 0 is the API server's, default/kubernetes
    assert list(table.columns) == ["NAME", "ENDPOINTS", "AGE"]
    assert table["ENDPOINTS"][1] == ",".join(f"{ip}:8080" for ip in ips)
    assert "Endpoints:" in cluster.describe("service", "web")


def test_a_pod_failing_readiness_moves_to_not_ready_addresses():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), pod("web-1", annotations={FAIL_READINESS: "30s"}), service()])
    cluster.run(20)
    assert set(addresses(cluster)) == {"web-0", "web-1"}
    cluster.run(40)  # 30s, then three failed probes 5s apart
    assert set(addresses(cluster)) == {"web-0"}
    assert set(addresses(cluster, "notReadyAddresses")) == {"web-1"}
    assert records(cluster, "EndpointsUpdated")[-1].message == "1 ready, 1 not ready"


def test_a_deleted_pod_leaves_at_once_while_it_terminates():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), pod("web-1", annotations={SHUTDOWN: "20"}), service()])
    cluster.run(20)
    assert set(addresses(cluster)) == {"web-0", "web-1"}
    cluster.delete("pod", "web-1")
    cluster.run(1)
    assert cluster.admin.get("pods", "web-1")["metadata"]["deletionTimestamp"]  # still stopping
    assert set(addresses(cluster)) == {"web-0"}
    assert not addresses(cluster, "notReadyAddresses")
    cluster.run(30)
    with pytest.raises(NotFound):
        cluster.admin.get("pods", "web-1")
    assert set(addresses(cluster)) == {"web-0"}


def test_a_named_target_port_resolves_per_pod():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0", 8080), pod("web-1", 9090), service(target="http")])
    cluster.run(20)
    ep = cluster.admin.get("endpoints", "web")
    by_port = {s["ports"][0]["port"]: [a["targetRef"]["name"] for a in s["addresses"]]
               for s in ep["subsets"]}
    assert by_port == {8080: ["web-0"], 9090: ["web-1"]}
    # a numeric targetPort is taken as is, whatever the pod declares
    cluster.apply(service(target=7070))
    cluster.run(1)
    ep = cluster.admin.get("endpoints", "web")
    assert [s["ports"] for s in ep["subsets"]] == [[{"name": "http", "port": 7070,
                                                      "protocol": "TCP"}]]
    assert len(ep["subsets"][0]["addresses"]) == 2


def test_publish_not_ready_addresses_lists_unready_pods_as_ready():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0", annotations={"sim.kubelearn.io/web.ready-after": "1h"}),
                   service(publishNotReadyAddresses=True)])
    cluster.run(20)
    assert set(addresses(cluster)) == {"web-0"}
    assert not addresses(cluster, "notReadyAddresses")


def test_headless_service_gets_the_headless_label_and_portless_subsets():
    cluster = kl.Cluster(nodes=3, seed=0)
    svc = service(clusterIP="None")
    del svc["spec"]["ports"]
    cluster.apply([pod("web-0"), pod("web-1"), svc])
    cluster.run(20)
    ep = cluster.admin.get("endpoints", "web")
    assert ep["metadata"]["labels"][IS_HEADLESS_SERVICE] == ""
    assert len(ep["subsets"]) == 1 and "ports" not in ep["subsets"][0]
    assert {a["targetRef"]["name"] for a in ep["subsets"][0]["addresses"]} == {"web-0", "web-1"}


def test_a_service_without_selector_is_left_alone():
    cluster = kl.Cluster(nodes=1, seed=0)
    svc = service("external")
    del svc["spec"]["selector"]
    cluster.apply(svc)
    cluster.run(5)
    with pytest.raises(NotFound):
        cluster.admin.get("endpoints", "external")
    mine = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "external"},
            "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432}]}]}
    cluster.apply(mine)
    cluster.run(5)
    assert addresses_of(cluster.admin.get("endpoints", "external")) == ["192.0.2.10"]


def addresses_of(ep: dict) -> list[str]:
    return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]


def test_a_deleted_service_takes_its_endpoints_and_leftovers_are_cleaned_at_start():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), service()])
    cluster.run(10)
    cluster.delete("service", "web")
    cluster.run(1)
    with pytest.raises(NotFound):
        cluster.admin.get("endpoints", "web")
    # The API server deletes a Service's Endpoints with it (the service storage's
    # afterDelete), so the endpoints controller finds nothing left to delete.
    assert records(cluster, "EndpointsDeleted") == []
    # Endpoints without a Service are only noticed by checkLeftoverEndpoints (at start)
    cluster.apply({"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "stray"}})
    cluster.run(1)
    assert cluster.admin.get("endpoints", "stray")
    cluster.controllers["endpoint"].check_leftover_endpoints()
    cluster.run(1)
    with pytest.raises(NotFound):
        cluster.admin.get("endpoints", "stray")


def test_over_capacity_truncates_and_annotates():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.controllers["endpoint"].max_capacity = 2
    cluster.apply([pod(f"web-{i}") for i in range(3)] + [service()])
    cluster.run(20)
    ep = cluster.admin.get("endpoints", "web")
    assert len(addresses_of(ep)) == 2
    assert ep["metadata"]["annotations"][OVER_CAPACITY] == "truncated"


def forbidden_controller() -> kl.Cluster:
    """A cluster whose endpoints controller runs as "mallory", who may not write Endpoints."""
    cluster = kl.Cluster(nodes=0, seed=0, controllers=("*", "-endpoint"))
    EndpointsController(cluster.sim, cluster.client("mallory"),
                        informers=cluster.informers).start()
    cluster.apply(service())
    return cluster


def test_a_failed_write_is_an_event_and_retried():
    cluster = forbidden_controller()
    cluster.run(1)
    failed = [r for r in cluster.sim.records if r.reason == "FailedToCreateEndpoint"]
    assert failed and failed[0].object == "endpoints/default/web"
    assert failed[0].message.startswith("Failed to create endpoint for service default/web: "
                                        'endpoints is forbidden: User "mallory" cannot create')
    assert len([r for r in cluster.sim.records if r.reason == "SyncFailed"]) > 1  # retried


def test_a_service_that_keeps_failing_is_dropped_after_15_retries():
    """handleErr: NumRequeues < maxRetries (15) retries, 5ms doubling; then the key is dropped."""
    cluster = forbidden_controller()
    cluster.run(600)  # 5ms + 10ms + ... + 82s = 164s of back-off, with room to spare
    mine = [r for r in cluster.sim.records if r.component == "endpoint-controller"
            and r.object == "default/web"]
    failed = [r for r in mine if r.reason == "SyncFailed"]
    dropped = [r for r in mine if r.reason == "SyncDropped"]
    assert len(failed) == 16  # the first sync and 15 retries
    assert failed[-1].time - failed[0].time == pytest.approx(0.005 * (2 ** 15 - 1), abs=0.01)
    assert len(dropped) == 1 and dropped[0].time == failed[-1].time
    assert dropped[0].message.startswith("dropping default/web out of the queue after 15 retries")
    cluster.apply({**service(), "metadata": {"name": "web", "labels": {"tier": "front"}}})
    cluster.run(1)  # a change to the service brings it back
    assert len([r for r in cluster.sim.records if r.reason == "SyncFailed"
                and r.component == "endpoint-controller"]) > 16


def test_the_endpoint_controller_runs_as_its_service_account_with_upstream_rules():
    cluster = kl.Cluster(seed=0)
    role = cluster.admin.get("clusterroles", "system:controller:endpoint-controller")
    rules = {(tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"]}
    assert (("endpoints",), ("create", "delete", "get", "list", "update", "watch")) in rules
    assert (("endpoints/restricted",), ("create",)) in rules
    user = cluster.controllers["endpoint"].client
    assert user is cluster.client("system:serviceaccount:kube-system:endpoint-controller")


# -- upstream's tables ----------------------------------------------------------------------------

def test_pod_phases_readiness_and_termination_table():
    """endpoints_controller_test.go TestSyncServiceAddresses."""
    def make_pod(phase: str, ready: bool, terminating: bool) -> dict:
        meta = {"namespace": "ns", "name": "fakepod", "labels": {"foo": "bar"}, "uid": "u"}
        if terminating:
            meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
        return {"metadata": meta,
                "spec": {"containers": [{"ports": [{"name": "port1", "containerPort": 8080}]}]},
                "status": {"phase": phase, "podIP": "10.1.1.1", "podIPs": [{"ip": "10.1.1.1"}],
                           "conditions": [{"type": "Ready",
                                           "status": "True" if ready else "False"}]}}

    def make_service(tolerate: bool) -> dict:
        return {"metadata": {"namespace": "ns", "name": "foo"},
                "spec": {"selector": {"foo": "bar"}, "publishNotReadyAddresses": tolerate,
                         "clusterIP": "1.1.1.1", "ports": [{"port": 80, "targetPort": 80}],
                         "ipFamilies": ["IPv4"]}}

    cases = [  # phase, ready, terminating, publishNotReadyAddresses -> ready, unready
        ("Running", True, False, False, 1, 0), ("Running", True, True, False, 0, 0),
        ("Unknown", True, False, False, 1, 0), ("Unknown", True, True, False, 0, 0),
        ("Pending", True, False, False, 1, 0), ("Pending", True, True, False, 0, 0),
        ("Unknown", False, False, False, 0, 1), ("Pending", False, False, False, 0, 1),
        ("Failed", False, False, False, 0, 0), ("Succeeded", False, False, False, 0, 0),
        ("Running", False, False, True, 1, 0), ("Running", False, True, True, 1, 0),
        ("Unknown", False, False, True, 1, 0), ("Unknown", False, True, True, 1, 0),
        ("Pending", False, False, True, 1, 0), ("Pending", False, True, True, 1, 0),
        ("Failed", False, False, True, 0, 0), ("Succeeded", False, False, True, 0, 0),
    ]
    for phase, ready, terminating, tolerate, want_ready, want_unready in cases:
        subsets = desired_subsets(make_service(tolerate), [make_pod(phase, ready, terminating)])
        got = (sum(len(s.get("addresses") or []) for s in subsets),
               sum(len(s.get("notReadyAddresses") or []) for s in subsets))
        assert got == (want_ready, want_unready), (phase, ready, terminating, tolerate)
    no_ip = make_pod("Pending", False, False)
    del no_ip["status"]["podIP"], no_ip["status"]["podIPs"]
    assert desired_subsets(make_service(True), [no_ip]) == []  # no IP yet: not listed at all


@pytest.mark.parametrize("ready,not_ready,want_ready,want_not_ready", [
    ([], [], [], []),
    ([50, 100, 100, 100, 100], [50, 100, 100, 100, 100],
     [50, 100, 100, 100, 100], [50, 100, 100, 100, 100]),
    ([100] * 5, [100] * 5, [100] * 5, [100] * 5),
    ([90, 110, 50, 10, 20], [101, 200, 200, 201, 298],
     [90, 110, 50, 10, 20], [73, 144, 144, 145, 214]),
    ([205, 400, 402, 400, 693], [100, 200, 200, 200, 300],
     [98, 191, 192, 191, 328], [0, 0, 0, 0, 0]),
])
def test_truncate_endpoints(ready, not_ready, want_ready, want_not_ready):
    """endpoints_controller_test.go TestTruncateEndpoints."""
    subsets = [{"addresses": [{}] * r, "notReadyAddresses": [{}] * n}
               for r, n in zip(ready, not_ready, strict=True)]
    truncate_subsets(subsets)
    assert [len(s.get("addresses") or []) for s in subsets] == want_ready
    assert [len(s.get("notReadyAddresses") or []) for s in subsets] == want_not_ready


def address(ip: str, uid: str = "") -> dict:
    return {"ip": ip, "targetRef": {"kind": "Pod", "uid": uid}} if uid else {"ip": ip}


def test_repack_subsets():
    """pkg/api/v1/endpoints util_test.go TestPackSubsets, a few of its cases."""
    p111, p222 = {"port": 111}, {"port": 222}
    # one address and port: as is
    assert repack_subsets([{"addresses": [address("1.2.3.4")], "ports": [p111]}]) == \
        [{"addresses": [address("1.2.3.4")], "ports": [p111]}]
    # the same address twice is one address
    assert repack_subsets([{"addresses": [address("1.2.3.4"), address("1.2.3.4")],
                            "ports": [p111]}]) == \
        [{"addresses": [address("1.2.3.4")], "ports": [p111]}]
    # same IP, different pods: two addresses (told apart by UID)
    assert repack_subsets([{"addresses": [address("1.2.3.4", "uid-2"),
                                          address("1.2.3.4", "uid-1")], "ports": [p111]}]) == \
        [{"addresses": [address("1.2.3.4", "uid-1"), address("1.2.3.4", "uid-2")],
          "ports": [p111]}]
    # two subsets of one address, each a port: one subset with both ports
    packed = repack_subsets([{"addresses": [address("1.2.3.4")], "ports": [p111]},
                             {"addresses": [address("1.2.3.4")], "ports": [p222]}])
    assert packed == [{"addresses": [address("1.2.3.4")], "ports": [p111, p222]}]
    # different addresses on one port: one subset, addresses sorted
    assert repack_subsets([{"addresses": [address("5.6.7.8")], "ports": [p111]},
                           {"addresses": [address("1.2.3.4")], "ports": [p111]}]) == \
        [{"addresses": [address("1.2.3.4"), address("5.6.7.8")], "ports": [p111]}]
    # not ready trumps ready for the same address and port
    assert repack_subsets([{"addresses": [address("1.2.3.4")], "ports": [p111]},
                           {"notReadyAddresses": [address("1.2.3.4")], "ports": [p111]}]) == \
        [{"notReadyAddresses": [address("1.2.3.4")], "ports": [p111]}]
    # ready and not ready on the same ports share the subset
    assert repack_subsets([{"addresses": [address("1.2.3.4")], "ports": [p111]},
                           {"notReadyAddresses": [address("5.6.7.8")], "ports": [p111]}]) == \
        [{"addresses": [address("1.2.3.4")], "notReadyAddresses": [address("5.6.7.8")],
          "ports": [p111]}]
    # address sets that differ per port: two subsets
    packed = repack_subsets([{"addresses": [address("1.2.3.4")], "ports": [p111]},
                             {"addresses": [address("5.6.7.8")], "ports": [p222]}])
    assert packed == [{"addresses": [address("1.2.3.4")], "ports": [p111]},
                      {"addresses": [address("5.6.7.8")], "ports": [p222]}]
    assert repack_subsets([]) == []


def test_find_port():
    """podutil.FindPort: numbers as is, names by protocol, sidecars too."""
    p = {"spec": {"containers": [{"ports": [{"name": "http", "containerPort": 8080},
                                            {"name": "dns", "containerPort": 53,
                                             "protocol": "UDP"}]}],
                  "initContainers": [{"restartPolicy": "Always",
                                      "ports": [{"name": "proxy", "containerPort": 15001}]},
                                     {"ports": [{"name": "init", "containerPort": 1}]}]}}
    assert find_port(p, {"targetPort": 9376}) == 9376
    assert find_port(p, {"targetPort": "http", "protocol": "TCP"}) == 8080
    assert find_port(p, {"targetPort": "dns", "protocol": "UDP"}) == 53
    assert find_port(p, {"targetPort": "dns", "protocol": "TCP"}) is None
    assert find_port(p, {"targetPort": "proxy", "protocol": "TCP"}) == 15001
    assert find_port(p, {"targetPort": "init", "protocol": "TCP"}) is None
    assert find_port(p, {"targetPort": "nope", "protocol": "TCP"}) is None


def test_services_to_update_on_pod_change():
    """util GetServicesToUpdateOnPodChange / determineNeededServiceUpdates."""
    services = {"ns/a": {"metadata": {"namespace": "ns", "name": "a"},
                         "spec": {"selector": {"app": "a"}}},
                "ns/b": {"metadata": {"namespace": "ns", "name": "b"},
                         "spec": {"selector": {"app": "b"}}},
                "ns/all": {"metadata": {"namespace": "ns", "name": "all"},
                           "spec": {"selector": {"tier": "web"}}}}

    def p(rv: str, app: str, ready: bool = True) -> dict:
        return {"metadata": {"namespace": "ns", "name": "p", "resourceVersion": rv,
                             "labels": {"app": app, "tier": "web"}},
                "status": {"conditions": [{"type": "Ready",
                                           "status": "True" if ready else "False"}],
                           "podIPs": [{"ip": "10.0.0.1"}]}}

    assert services_to_update_on_pod_change(services, p("1", "a"), p("1", "a")) == set()
    assert services_to_update_on_pod_change(services, p("1", "a"), p("2", "a")) == set()
    assert services_to_update_on_pod_change(services, p("1", "a"), p("2", "a", False)) == \
        {"ns/a", "ns/all"}
    # labels only: the Services it left or joined, not the one it stays in
    assert services_to_update_on_pod_change(services, p("1", "a"), p("2", "b")) == \
        {"ns/a", "ns/b"}
    # labels and readiness: all of them
    assert services_to_update_on_pod_change(services, p("1", "a"), p("2", "b", False)) == \
        {"ns/a", "ns/b", "ns/all"}


def test_trigger_time_tracker():
    """util TriggerTimeTracker: creation first, then the earliest change since the last sync."""
    tracker = TriggerTimeTracker()
    svc = {"metadata": {"name": "foo", "creationTimestamp": "2018-01-01T00:00:00Z"}}

    def p(name: str, when: str) -> dict:
        return {"metadata": {"name": name},
                "status": {"conditions": [{"type": "Ready", "status": "True",
                                           "lastTransitionTime": when}]}}

    t1, t2, t3 = "2018-01-01T00:00:01Z", "2018-01-01T00:00:02Z", "2018-01-01T00:00:03Z"
    assert tracker.compute("ns/foo", svc, [p("a", t1)]) == parse_time(svc["metadata"][
        "creationTimestamp"])
    assert tracker.compute("ns/foo", svc, [p("a", t1)]) is None  # nothing moved
    assert tracker.compute("ns/foo", svc, [p("a", t3), p("b", t2)]) == parse_time(t2)
    tracker.delete_service("ns/foo")
    assert tracker.compute("ns/foo", svc, [p("a", t3)]) == parse_time(
        svc["metadata"]["creationTimestamp"])
    assert format_time(parse_time(t2)) == t2
    assert format_time(parse_time("2018-01-01T00:00:02.500Z")) == "2018-01-01T00:00:02.5Z"
