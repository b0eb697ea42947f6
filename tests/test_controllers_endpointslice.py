"""The EndpointSlice controller: slices of at most 100, conditions, placeholders, ownership."""

import pytest
from endpoints_testing import FAIL_READINESS, SHUTDOWN, pod, replicaset, service

import kubelearn as kl
from kubelearn.api import NotFound
from kubelearn.controllers.endpointslice import (
    CONTROLLER_NAME,
    LABEL_MANAGED_BY,
    LABEL_SERVICE_NAME,
    EndpointSliceTracker,
    address_types,
    endpoint_key,
    pod_to_endpoint,
    port_map_key,
    slice_to_fill,
)


def slices(cluster: kl.Cluster, name: str = "web") -> list[dict]:
    return [s for s in cluster.admin.list("endpointslices", "default")["items"]
            if s["metadata"]["labels"].get(LABEL_SERVICE_NAME) == name]


def conditions(cluster: kl.Cluster) -> dict:
    """pod name -> (ready, serving, terminating) over the Service's slices."""
    return {e["targetRef"]["name"]: (e["conditions"]["ready"], e["conditions"]["serving"],
                                     e["conditions"]["terminating"])
            for s in slices(cluster) for e in s["endpoints"]}


def records(cluster: kl.Cluster, reason: str) -> list:
    return [r for r in cluster.sim.records
            if r.component == "endpoint-slice-controller" and r.reason == reason]


# -- on a cluster -------------------------------------------------------------------------------

def test_ready_pods_land_in_one_slice_owned_by_the_service():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([replicaset(3), service()])
    cluster.run(30)
    svc = cluster.admin.get("services", "web")
    nodes = {n["metadata"]["name"]: n for n in cluster.admin.list("nodes")["items"]}
    pods = {p["metadata"]["name"]: p for p in cluster.admin.list("pods", "default")["items"]}
    [eps] = slices(cluster)
    meta = eps["metadata"]
    assert meta["generateName"] == "web-"
    assert meta["name"].startswith("web-") and len(meta["name"]) == len("web-") + 5
    assert meta["labels"] == {LABEL_SERVICE_NAME: "web", LABEL_MANAGED_BY: CONTROLLER_NAME}
    assert meta["ownerReferences"] == [{"apiVersion": "v1", "kind": "Service", "name": "web",
                                        "uid": svc["metadata"]["uid"], "controller": True,
                                        "blockOwnerDeletion": True}]
    assert eps["addressType"] == "IPv4"
    assert eps["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert len(eps["endpoints"]) == 3
    for endpoint in eps["endpoints"]:
        p = pods[endpoint["targetRef"]["name"]]
        node = p["spec"]["nodeName"]
        assert endpoint == {
            "addresses": [p["status"]["podIP"]],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "targetRef": {"kind": "Pod", "namespace": "default", "name": p["metadata"]["name"],
                          "uid": p["metadata"]["uid"]},
            "nodeName": node,
            "zone": nodes[node]["metadata"]["labels"]["topology.kubernetes.io/zone"]}
    table = cluster.get("endpointslices")  # row 0 is the API server's, default/kubernetes
    assert list(table.columns) == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
    assert list(table.iloc[1][["NAME", "ADDRESSTYPE", "PORTS"]]) == [meta["name"], "IPv4", "8080"]
    assert table["ENDPOINTS"][1] == ",".join(e["addresses"][0] for e in eps["endpoints"])
    line = next(x for x in cluster.describe("service", "web").splitlines()
                if x.startswith("Endpoints:"))
    assert line.split()[1] == ",".join(f"{e['addresses'][0]}:8080" for e in eps["endpoints"])


def test_a_service_without_pods_gets_a_placeholder_slice():
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.apply(service())
    cluster.run(5)
    [eps] = slices(cluster)
    # endpoints and ports have no omitempty (ports is +optional, json:"ports") and etcd
    # holds protobuf: an empty list reads back as null
    assert eps["endpoints"] is None and eps["ports"] is None
    assert list(cluster.get("endpointslices").iloc[1][["PORTS", "ENDPOINTS"]]) == \
        ["<unset>", "<unset>"]
    # kubectl's formatEndpointSlices: a placeholder slice prints nothing (no slice: <none>)
    assert "Endpoints:                \n" in cluster.describe("service", "web")
    # pods arrive: the placeholder is reused (a create paired with a delete is an update)
    cluster.apply(pod("web-0"))
    cluster.run(20)
    [filled] = slices(cluster)
    assert filled["metadata"]["name"] == eps["metadata"]["name"]
    assert len(filled["endpoints"]) == 1
    assert len(records(cluster, "EndpointSliceCreated")) == 1


def test_a_pod_failing_readiness_is_not_ready_and_not_serving():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), pod("web-1", annotations={FAIL_READINESS: "30s"}), service()])
    cluster.run(20)
    assert conditions(cluster) == {"web-0": (True, True, False), "web-1": (True, True, False)}
    cluster.run(40)
    assert conditions(cluster) == {"web-0": (True, True, False), "web-1": (False, False, False)}


def test_a_terminating_pod_stays_marked_terminating_then_goes():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), pod("web-1", annotations={SHUTDOWN: "20"}), service()])
    cluster.run(20)
    cluster.delete("pod", "web-1")
    cluster.run(1)
    # still answering its readiness probe while it shuts down: serving, but not ready
    assert conditions(cluster) == {"web-0": (True, True, False), "web-1": (False, True, True)}
    cluster.run(30)
    with pytest.raises(NotFound):
        cluster.admin.get("pods", "web-1")
    assert conditions(cluster) == {"web-0": (True, True, False)}


def test_a_named_target_port_makes_one_slice_per_resolved_port():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0", 8080), pod("web-1", 9090), service(target="http")])
    cluster.run(20)
    by_port = {s["ports"][0]["port"]: [e["targetRef"]["name"] for e in s["endpoints"]]
               for s in slices(cluster)}
    assert by_port == {8080: ["web-0"], 9090: ["web-1"]}


def test_250_pods_split_into_slices_of_at_most_100_and_shrink_back():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([replicaset(250), service()])
    cluster.run(60)
    sizes = sorted(len(s["endpoints"]) for s in slices(cluster))
    assert sum(sizes) == 250 and len(sizes) == 3 and max(sizes) <= 100
    addresses = [e["addresses"][0] for s in slices(cluster) for e in s["endpoints"]]
    assert len(set(addresses)) == 250
    assert all(e["conditions"]["ready"] for s in slices(cluster) for e in s["endpoints"])
    ep = cluster.admin.get("endpoints", "web")
    assert sum(len(s["addresses"]) for s in ep["subsets"]) == 250  # under maxCapacity 1000
    assert cluster.get("endpoints")["ENDPOINTS"][1].endswith(" + 247 more...")
    cluster.apply(replicaset(50))
    cluster.run(60)
    sizes = sorted(len(s["endpoints"]) for s in slices(cluster))
    assert sum(sizes) == 50 and 0 not in sizes  # emptied slices were deleted
    assert records(cluster, "EndpointSliceDeleted")


def test_a_deleted_service_loses_its_slices_to_the_garbage_collector():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), service()])
    cluster.run(10)
    [eps] = slices(cluster)
    cluster.delete("service", "web")
    cluster.run(2)
    assert slices(cluster) == []
    collected = [r for r in cluster.sim.records
                 if r.component == "garbage-collector" and r.reason == "DeleteDependent"]
    assert [r.object for r in collected] == [f"endpointslice/default/{eps['metadata']['name']}"]
    assert not records(cluster, "EndpointSliceDeleted")  # not the controller's doing


def test_a_slice_deleted_by_someone_else_comes_back():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply([pod("web-0"), service()])
    cluster.run(10)
    [eps] = slices(cluster)
    cluster.admin.delete("endpointslices", eps["metadata"]["name"], "default")
    cluster.run(0.5)
    assert slices(cluster) == []
    cluster.run(1)  # endpointSliceChangeMinSyncDelay
    [back] = slices(cluster)
    assert back["metadata"]["name"] != eps["metadata"]["name"]
    assert [e["targetRef"]["name"] for e in back["endpoints"]] == ["web-0"]


def test_a_pod_on_an_unknown_node_is_skipped_reported_and_retried_with_backoff():
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.apply([pod("web-0"), service()])
    cluster.run(10)
    ghost = pod("ghost")
    ghost["spec"]["nodeName"] = "node-9"
    cluster.apply(ghost)
    cluster.admin.update_status({**cluster.admin.get("pods", "ghost"), "status": {
        "phase": "Running", "podIP": "10.9.9.9", "podIPs": [{"ip": "10.9.9.9"}]}})
    cluster.run(5)
    assert set(conditions(cluster)) == {"web-0"}
    failed = records(cluster, "FailedToUpdateEndpointSlices")
    assert failed[0].object == "service/default/web"
    assert failed[0].message == ("Error updating Endpoint Slices for Service default/web: "
                                 "skipping Pod ghost for Service default/web: "
                                 "Node node-9 Not Found")
    times = [r.time - failed[0].time for r in failed]
    assert times == [0, 1, 3]  # defaultSyncBackOff 1s, doubling
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["reason"] == "FailedToUpdateEndpointSlices"]
    assert events[0]["source"] == {"component": "endpoint-slice-controller"}
    assert events[0]["involvedObject"]["kind"] == "Service"


def test_service_labels_are_copied_and_headless_is_marked():
    cluster = kl.Cluster(nodes=1, seed=0)
    svc = service(clusterIP="None")
    svc["metadata"]["labels"] = {"tier": "front", LABEL_SERVICE_NAME: "spoof"}
    cluster.apply([pod("web-0"), svc])
    cluster.run(20)
    [eps] = slices(cluster)
    assert eps["metadata"]["labels"] == {"tier": "front", LABEL_SERVICE_NAME: "web",
                                         LABEL_MANAGED_BY: CONTROLLER_NAME,
                                         "service.kubernetes.io/headless": ""}
    svc["metadata"]["labels"] = {"tier": "back"}
    cluster.apply(svc)
    cluster.run(1)
    assert slices(cluster)[0]["metadata"]["labels"]["tier"] == "back"


def test_the_endpointslice_controller_has_upstream_rules():
    cluster = kl.Cluster(seed=0)
    role = cluster.admin.get("clusterroles", "system:controller:endpointslice-controller")
    rules = {(tuple(r["resources"]), tuple(sorted(r["verbs"]))) for r in role["rules"]}
    assert (("endpointslices",), ("create", "delete", "get", "list", "update", "watch")) in rules
    assert (("services/finalizers",), ("update",)) in rules
    user = cluster.controllers["endpointslice"].client
    assert user is cluster.client("system:serviceaccount:kube-system:endpointslice-controller")


# -- pieces ----------------------------------------------------------------------------------------

def make_pod(ready: bool, terminating: bool = False, **spec) -> dict:
    meta = {"namespace": "ns", "name": "pod1", "uid": "uid-1", "labels": {"foo": "bar"}}
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"nodeName": "node-1", **spec},
            "status": {"podIP": "1.2.3.5", "podIPs": [{"ip": "1.2.3.5"}, {"ip": "2000::5"}],
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def make_service(publish: bool = False) -> dict:
    return {"metadata": {"namespace": "ns", "name": "foo"},
            "spec": {"selector": {"foo": "bar"}, "publishNotReadyAddresses": publish,
                     "clusterIP": "10.0.0.1", "ipFamilies": ["IPv4"]}}


@pytest.mark.parametrize("ready,terminating,publish,want", [
    (True, False, False, (True, True, False)),  # "Ready pod"
    (False, False, False, (False, False, False)),  # "Not Ready pod"
    (True, True, False, (False, True, True)),  # "Ready and Terminating pod"
    (False, True, False, (False, False, True)),  # "Not Ready and Terminating pod"
    (False, False, True, (True, False, False)),  # "Not Ready pod, publishNotReadyAddresses"
    (True, True, True, (True, True, True)),  # "Ready, Terminating, publishNotReadyAddresses"
])
def test_pod_to_endpoint_conditions(ready, terminating, publish, want):
    """utils_test.go TestPodToEndpoint, its condition cases."""
    node = {"metadata": {"name": "node-1", "labels": {"topology.kubernetes.io/zone": "us-a"}}}
    endpoint = pod_to_endpoint(make_pod(ready, terminating), node, make_service(publish), "IPv4")
    c = endpoint["conditions"]
    assert (c["ready"], c["serving"], c["terminating"]) == want
    assert endpoint["addresses"] == ["1.2.3.5"]
    assert endpoint["nodeName"] == "node-1" and endpoint["zone"] == "us-a"
    assert endpoint["targetRef"] == {"kind": "Pod", "namespace": "ns", "name": "pod1",
                                     "uid": "uid-1"}


def test_pod_to_endpoint_family_zone_and_hostname():
    pod1 = make_pod(True, hostname="h", subdomain="foo")
    v6 = pod_to_endpoint(pod1, None, make_service(), "IPv6")
    assert v6["addresses"] == ["2000::5"] and "zone" not in v6
    assert v6["hostname"] == "h"
    other = pod_to_endpoint(make_pod(True, hostname="h", subdomain="bar"), None, make_service(),
                            "IPv4")
    assert "hostname" not in other
    assert endpoint_key(v6) == (("2000::5",), "h", "ns", "pod1")


def test_address_types_for_a_service():
    """getAddressTypesForService."""
    assert address_types({"spec": {"ipFamilies": ["IPv4"]}}) == ["IPv4"]
    assert address_types({"spec": {"ipFamilies": ["IPv6", "IPv4"]}}) == ["IPv4", "IPv6"]
    assert address_types({"spec": {"clusterIP": "10.0.0.1"}}) == ["IPv4"]
    assert address_types({"spec": {"clusterIP": "fd00::1"}}) == ["IPv6"]
    assert address_types({"spec": {"clusterIP": "None"}}) == ["IPv4", "IPv6"]


def test_port_map_key_ignores_order():
    a = [{"name": "http", "port": 80, "protocol": "TCP"},
         {"name": "dns", "port": 53, "protocol": "UDP"}]
    assert port_map_key(a) == port_map_key(list(reversed(a)))
    assert port_map_key(a) != port_map_key(a[:1])


def test_slice_to_fill_picks_the_closest_to_full():
    """getSliceToFill."""
    def eps(n: int, name: str) -> dict:
        return {"metadata": {"name": name}, "endpoints": [{}] * n}
    options = [eps(10, "a"), eps(95, "b"), eps(90, "c")]
    assert slice_to_fill(options, 5, 100)["metadata"]["name"] == "b"  # exactly full
    assert slice_to_fill(options, 8, 100)["metadata"]["name"] == "c"
    assert slice_to_fill(options, 50, 100)["metadata"]["name"] == "a"
    assert slice_to_fill(options, 95, 100) is None
    assert slice_to_fill([], 1, 100) is None


@pytest.mark.parametrize("informer,tracker,stale", [
    (10, 12, True),  # "informer cache outdated"
    (10, 10, False),  # "cache and tracker synced"
    (10, 1, False),  # "tracker outdated"
])
def test_stale_informer_cache(informer, tracker, stale):
    """endpointslice_controller_test.go TestSyncServiceStaleInformer."""
    def eps(generation: int) -> dict:
        return {"metadata": {"namespace": "default", "name": "s", "uid": "u",
                             "generation": generation,
                             "labels": {LABEL_SERVICE_NAME: "testing-1"}}}
    t = EndpointSliceTracker()
    t.update(eps(tracker))
    assert t.stale_slices("default/testing-1", [eps(informer)]) is stale
    assert t.should_sync(eps(informer)) is (informer > tracker)


def test_tracker_expected_and_unexpected_deletions():
    """endpointslice_tracker_test.go: a slice we deleted, one someone else did, one missing."""
    s = {"metadata": {"namespace": "ns", "name": "s", "uid": "u", "generation": 1,
                      "labels": {LABEL_SERVICE_NAME: "svc"}}}
    t = EndpointSliceTracker()
    t.update(s)
    assert t.stale_slices("ns/svc", []) is True  # we wrote it, the cache lacks it
    t.expect_deletion(s)
    assert t.stale_slices("ns/svc", [s]) is True  # we deleted it, the cache still has it
    assert t.stale_slices("ns/svc", []) is False
    assert t.handle_deletion(s) is True and not t.has(s)
    t.update(s)
    assert t.handle_deletion(s) is False  # unexpected: the controller will put it back
