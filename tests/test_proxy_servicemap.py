"""Services and EndpointSlices as kube-proxy sees them: service ports, endpoints, categories.

Cases from proxier_test.go (TestBuildServiceMap*, TestUpdateEndpointsMap) and
topology.go's CategorizeEndpoints rules (ready first, serving-terminating as a
fallback, Local policy per node, hints only when asked for).
"""

from __future__ import annotations

from kubelearn.proxy.servicemap import (
    Endpoint,
    EndpointsChangeTracker,
    ServiceChangeTracker,
    ServicePort,
    apply_endpoint_changes,
    apply_service_changes,
    categorize_endpoints,
    service_ports,
)
from tests.proxy_testing import endpoint, endpoint_slice, port, service


def test_service_ports_one_per_port_with_health_check_only_for_local_load_balancers():
    """TestBuildServiceMapAddRemove: 10 ports in 4 Services, one health check port."""
    services = [
        service("somewhere-else", "cluster-ip", type="ClusterIP", clusterIP="172.30.55.4",
                ports=[port("something", 1234, "UDP", nodePort=4321),
                       port("somethingelse", 1235, "UDP", nodePort=5321),
                       port("sctpport", 1236, "SCTP", nodePort=6321)]),
        service("somewhere-else", "node-port", type="NodePort", clusterIP="172.30.55.10",
                ports=[port("blahblah", 345, "UDP", nodePort=678),
                       port("moreblahblah", 344, "TCP", nodePort=677),
                       port("muchmoreblah", 343, "SCTP", nodePort=676)]),
        service("somewhere", "load-balancer", type="LoadBalancer", clusterIP="172.30.55.11",
                ports=[port("foobar", 8675, "UDP", nodePort=30061),
                       port("baz", 8676, "UDP", nodePort=30062)],
                status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
        service("somewhere", "only-local-load-balancer", type="LoadBalancer",
                clusterIP="172.30.55.12", externalTrafficPolicy="Local", healthCheckNodePort=345,
                ports=[port("foobar2", 8677, "UDP", nodePort=30063),
                       port("baz", 8678, "UDP", nodePort=30064)],
                status={"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}),
    ]
    tracker = ServiceChangeTracker()
    for svc in services:
        tracker.update(None, svc)
    port_map: dict = {}
    assert apply_service_changes(port_map, tracker) == {
        "somewhere-else/cluster-ip", "somewhere-else/node-port", "somewhere/load-balancer",
        "somewhere/only-local-load-balancer"}
    assert len(port_map) == 10
    health = {sp.service: sp.health_check_node_port for sp in port_map.values()
              if sp.health_check_node_port}
    assert health == {"somewhere/only-local-load-balancer": 345}
    # one port fewer, and three Services gone
    smaller = service("somewhere-else", "cluster-ip", type="ClusterIP", clusterIP="172.30.55.4",
                      ports=[port("somethingelse", 1235, "UDP", nodePort=5321)])
    tracker.update(services[0], smaller)
    for svc in services[1:]:
        tracker.update(svc, None)
    apply_service_changes(port_map, tracker)
    assert list(port_map) == [("somewhere-else", "cluster-ip", "somethingelse", "UDP")]


def test_a_change_that_leaves_the_ports_alone_is_no_change():
    """reflect.DeepEqual(previous, current): a new label does not make kube-proxy sync."""
    svc = service("ns", "web", clusterIP="10.96.0.20", ports=[port("http", 80)])
    tracker = ServiceChangeTracker()
    tracker.update(None, svc)
    apply_service_changes({}, tracker)
    labelled = {**svc, "metadata": {**svc["metadata"], "labels": {"team": "a"}}}
    assert tracker.update(svc, labelled) is False
    assert len(tracker) == 0
    # add then delete before a sync: nothing pending either
    other = service("ns", "other", clusterIP="10.96.0.21", ports=[port("http", 80)])
    assert tracker.update(None, other) is True
    assert tracker.update(other, None) is False


def test_service_port_reads_policies_affinity_and_addresses():
    svc = service("ns", "lb", type="LoadBalancer", clusterIP="10.96.0.30",
                  externalTrafficPolicy="Local", internalTrafficPolicy="Local",
                  externalIPs=["192.168.99.1", "2001:db8::1", "not-an-ip"],
                  loadBalancerSourceRanges=[" 203.0.113.7/25"], sessionAffinity="ClientIP",
                  ports=[port("http", 80, nodePort=30080)], healthCheckNodePort=31000,
                  status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"},
                                                       {"ip": "5.6.7.8", "ipMode": "Proxy"},
                                                       {"hostname": "lb.example"}]}})
    (sp,) = service_ports(svc).values()
    assert sp.name_string == "ns/lb:http"
    assert sp.external_ips == ("192.168.99.1",)  # IPv4 proxier; junk skipped
    assert sp.load_balancer_vips == ("1.2.3.4",)  # ipMode Proxy is the LB's business
    assert sp.load_balancer_source_ranges == ("203.0.113.0/25",)
    assert sp.sticky_max_age_seconds == 10800  # v1.DefaultClientIPServiceAffinitySeconds
    assert sp.external_policy_local and sp.internal_policy_local
    assert sp.health_check_node_port == 31000
    assert sp.uses_local_endpoints and sp.uses_cluster_endpoints


def test_external_traffic_policy_only_counts_for_externally_reachable_services():
    """apiservice.ExternalPolicyLocal: a plain ClusterIP Service has no external policy."""
    (sp,) = service_ports(service("ns", "c", type="ClusterIP", clusterIP="10.96.0.31",
                                  externalTrafficPolicy="Local",
                                  ports=[port("p", 80)])).values()
    assert not sp.external_policy_local and not sp.uses_local_endpoints


def endpoints_of(tracker: EndpointsChangeTracker) -> dict:
    endpoints: dict = {}
    apply_endpoint_changes(endpoints, tracker)
    return {key: [(str(ep), ep.is_local) for ep in eps] for key, eps in endpoints.items()}


def test_endpoints_are_sorted_as_strings_and_marked_local():
    """TestUpdateEndpointsMap "complex add and remove": 10.1.1.11 sorts before 10.1.1.1."""
    tracker = EndpointsChangeTracker("test-node")
    tracker.endpoint_slice_update(endpoint_slice(
        "ns1", "ep1", [endpoint("10.1.1.1"), endpoint("10.1.1.11")], [port("p11", 11, "UDP")]))
    tracker.endpoint_slice_update(endpoint_slice(
        "ns4", "ep4", [endpoint("10.4.4.4", "test-node")], [port("p44", 44, "UDP")]))
    assert endpoints_of(tracker) == {
        ("ns1", "ep1", "p11", "UDP"): [("10.1.1.11:11", False), ("10.1.1.1:11", False)],
        ("ns4", "ep4", "p44", "UDP"): [("10.4.4.4:44", True)]}


def test_endpoints_follow_renamed_and_renumbered_ports_and_merge_slices():
    tracker = EndpointsChangeTracker("test-node")
    endpoints: dict = {}
    first = endpoint_slice("ns1", "ep1", [endpoint("10.1.1.1")], [port("p11", 11, "UDP")])
    tracker.endpoint_slice_update(first)
    apply_endpoint_changes(endpoints, tracker)
    tracker.endpoint_slice_update(endpoint_slice("ns1", "ep1", [endpoint("10.1.1.1")],
                                                 [port("p11-2", 11, "UDP")]))
    updated, _ = apply_endpoint_changes(endpoints, tracker)
    assert updated == {"ns1/ep1"}
    assert list(endpoints) == [("ns1", "ep1", "p11-2", "UDP")]
    tracker.endpoint_slice_update(endpoint_slice("ns1", "ep1", [endpoint("10.1.1.1")],
                                                 [port("p11", 22, "UDP")]))
    tracker.endpoint_slice_update(endpoint_slice("ns1", "ep1", [endpoint("10.1.1.2")],
                                                 [port("p11", 22, "UDP")], number=2))
    apply_endpoint_changes(endpoints, tracker)
    assert [str(ep) for ep in endpoints[("ns1", "ep1", "p11", "UDP")]] == \
        ["10.1.1.1:22", "10.1.1.2:22"]


def test_slice_changes_are_tracked_per_slice():
    tracker = EndpointsChangeTracker("test-node")
    eps = endpoint_slice("ns", "svc", [endpoint("10.0.0.1")], [port("p", 80)])
    assert tracker.endpoint_slice_update(eps) is True
    assert tracker.endpoint_slice_update(eps) is False  # same as pending
    apply_endpoint_changes({}, tracker)
    assert tracker.endpoint_slice_update(eps) is False  # same as applied
    assert tracker.endpoint_slice_update(eps, remove=True) is True
    ghost = endpoint_slice("ns", "svc", [], [], number=9)
    assert tracker.endpoint_slice_update(ghost, remove=True) is False  # never seen
    ipv6 = endpoint_slice("ns", "svc", [endpoint("fd00::1")], [port("p", 80)],
                          address_type="IPv6")
    assert tracker.endpoint_slice_update(ipv6) is False  # the IPv4 proxier ignores it
    unlabelled = {**eps, "metadata": {"namespace": "ns", "name": "x"}}
    assert tracker.endpoint_slice_update(unlabelled) is False


def test_a_live_endpoint_wins_over_a_terminating_one_with_the_same_address():
    """addEndpoints: a reused pod IP prefers the running pod."""
    tracker = EndpointsChangeTracker("test-node")
    tracker.endpoint_slice_update(endpoint_slice(
        "ns", "svc", [endpoint("10.0.0.1", ready=False, serving=True, terminating=True),
                      endpoint("10.0.0.1", ready=True)], [port("p", 80)]))
    endpoints: dict = {}
    apply_endpoint_changes(endpoints, tracker)
    (ep,) = endpoints[("ns", "svc", "p", "TCP")]
    assert ep.ready and not ep.terminating


SP = ServicePort("ns", "svc", "p", "TCP", "10.96.0.40", 80)
LOCAL_SP = ServicePort("ns", "svc", "p", "TCP", "10.96.0.40", 80, internal_policy_local=True)


def ep(ip: str, local: bool = False, ready: bool = True, serving: bool = True,
       terminating: bool = False, zones: tuple = ()) -> Endpoint:
    return Endpoint(ip, 80, "test-node" if local else "other", local, ready, serving,
                    terminating, frozenset(zones))


def test_categorize_uses_ready_endpoints():
    eps = [ep("10.0.0.1"), ep("10.0.0.2", ready=False, serving=True, terminating=True),
           ep("10.0.0.3", ready=False, serving=False)]
    cats = categorize_endpoints(eps, SP, "test-node")
    assert [str(e) for e in cats.cluster] == ["10.0.0.1:80"] and cats.has_any
    assert cats.local == [] and cats.all_reachable == cats.cluster


def test_categorize_falls_back_to_serving_terminating_endpoints():
    """ProxyTerminatingEndpoints (GA v1.28): no ready endpoint left, serving ones stand in."""
    eps = [ep("10.0.0.2", ready=False, serving=True, terminating=True),
           ep("10.0.0.3", ready=False, serving=False, terminating=True)]
    cats = categorize_endpoints(eps, SP, "test-node")
    assert [str(e) for e in cats.cluster] == ["10.0.0.2:80"] and cats.has_any
    cats = categorize_endpoints([ep("10.0.0.3", ready=False, serving=False, terminating=True)],
                                SP, "test-node")
    assert cats.cluster == [] and not cats.has_any


def test_categorize_local_policy_per_node_with_its_own_fallback():
    eps = [ep("10.0.0.1", local=False), ep("10.0.0.2", local=True, ready=False,
                                           serving=True, terminating=True)]
    cats = categorize_endpoints(eps, LOCAL_SP, "test-node")
    assert [str(e) for e in cats.local] == ["10.0.0.2:80"]  # local ready: none; fallback
    assert cats.cluster == [] and cats.has_any
    assert cats.all_reachable == cats.local
    cats = categorize_endpoints([ep("10.0.0.1", local=False)], LOCAL_SP, "test-node")
    assert cats.local == [] and cats.has_any  # usable elsewhere: "has no local endpoints"


def test_categorize_external_local_merges_cluster_and_local_when_they_differ():
    sp = ServicePort("ns", "svc", "p", "TCP", "10.96.0.40", 80, node_port=30080,
                     external_policy_local=True)
    eps = [ep("10.0.0.1", local=False),
           ep("10.0.0.2", local=True, ready=False, serving=True, terminating=True)]
    cats = categorize_endpoints(eps, sp, "test-node")
    assert [str(e) for e in cats.cluster] == ["10.0.0.1:80"]
    assert [str(e) for e in cats.local] == ["10.0.0.2:80"]
    assert sorted(map(str, cats.all_reachable)) == ["10.0.0.1:80", "10.0.0.2:80"]


def test_zone_hints_narrow_cluster_endpoints_only_when_asked_for():
    eps = [ep("10.0.0.1", zones=("zone-a",)), ep("10.0.0.2", zones=("zone-b",))]
    labels = {"topology.kubernetes.io/zone": "zone-a"}
    assert len(categorize_endpoints(eps, SP, "test-node", labels).cluster) == 2
    auto = ServicePort("ns", "svc", "p", "TCP", "10.96.0.40", 80, hints_annotation="Auto")
    assert [str(e) for e in categorize_endpoints(eps, auto, "test-node", labels).cluster] == \
        ["10.0.0.1:80"]
    # a node without a zone label, or an endpoint without a hint: all endpoints
    assert len(categorize_endpoints(eps, auto, "test-node", {}).cluster) == 2
    assert len(categorize_endpoints(eps + [ep("10.0.0.3")], auto, "test-node",
                                    labels).cluster) == 3
