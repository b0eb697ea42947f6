"""The node's kernel: routing a connection's first packet through the rules as restored.

Packet-flow tables from proxier_test.go (TestTracePacket, TestClusterIPGeneral,
TestLoadBalancer, TestNoEndpointsReject, TestNodePorts, TestHealthCheckNodePort,
TestExternalTrafficPolicyLocal/Cluster, TestInternalTrafficPolicy,
TestTerminatingEndpointsTrafficPolicyLocal/Cluster, TestInternalExternalMasquerade):
each case's "output" is the set of places the packet may go and "masq" whether it is
masqueraded. Then the draws themselves, ``-m recent`` affinity and conntrack.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest

from kubelearn.proxy.dataplane import Dataplane
from kubelearn.proxy.iptables import RuleSet
from tests.proxy_testing import (
    OVERALL_IPTABLES_RULES,
    P80,
    TEST_EXTERNAL_CLIENT,
    TEST_EXTERNAL_CLIENT_BLOCKED,
    TEST_NODE_IP,
    TEST_NODE_IP_ALT,
    TEST_NODE_IPS,
    endpoint,
    endpoint_slice,
    fake_proxier,
    feed,
    flow,
    overall_services,
    port,
    service,
)


def check_flows(dataplane: Dataplane, cases: list[tuple]) -> None:
    """runPacketFlowTests: (name, source, destination, port, output, masq[, protocol])."""
    for name, src, dst, dst_port, output, masq, *protocol in cases:
        got = flow(dataplane, src, dst, dst_port, *protocol)
        assert got == (output, masq), f"{name}: {src} -> {dst}:{dst_port}"


def synced(services: list[dict], slices: list[dict] = (), **options) -> Dataplane:
    proxy = feed(fake_proxier(**options), services, slices)
    proxy.sync_now()
    return proxy.dataplane


# TestTracePacket (proxier_test.go) routes through a static table of its own: these jumps
# from the built-in chains (kube-proxy ensures such jumps outside its restore, proxier.go's
# iptablesJumpChains), then TestOverallIPTablesRules' rules less the nfacct counters, the
# localhost NodePort rules and svc5's affinity, none of which decides its packets. We
# restore the jumps over the shared OVERALL_IPTABLES_RULES, not a second copy of that table.
TRACE_JUMPS = """\
*filter
:INPUT - [0:0]
:FORWARD - [0:0]
:OUTPUT - [0:0]
-A INPUT -m comment --comment kubernetes health check service ports -j KUBE-NODEPORTS
-A INPUT -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES
-A FORWARD -m comment --comment kubernetes forwarding rules -j KUBE-FORWARD
-A FORWARD -m conntrack --ctstate NEW -m comment --comment kubernetes service portals -j KUBE-SERVICES
-A FORWARD -m conntrack --ctstate NEW -m comment --comment kubernetes externally-visible service portals -j KUBE-EXTERNAL-SERVICES
-A OUTPUT -m conntrack --ctstate NEW -m comment --comment kubernetes service portals -j KUBE-SERVICES
COMMIT
*nat
:PREROUTING - [0:0]
:INPUT - [0:0]
:OUTPUT - [0:0]
:POSTROUTING - [0:0]
-A PREROUTING -m comment --comment kubernetes service portals -j KUBE-SERVICES
-A OUTPUT -m comment --comment kubernetes service portals -j KUBE-SERVICES
-A POSTROUTING -m comment --comment kubernetes postrouting rules -j KUBE-POSTROUTING
COMMIT
"""  # noqa: E501
# TestTracePacket's packets: (name, source, destination, port, output, masq).
TRACE_FLOWS = [
    ("no match", "10.0.0.2", "10.0.0.3", 80, "", False),
    ("single endpoint", "10.0.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),
    ("multiple endpoints", "10.0.0.2", "172.30.0.44", 80, "10.180.0.4:80, 10.180.0.5:80", False),
    ("LOCAL, KUBE-MARK-MASQ", TEST_NODE_IP, "192.168.99.22", 80, "10.180.0.2:80", True),
    ("DROP", TEST_EXTERNAL_CLIENT, "192.168.99.22", 80, "DROP", False),
    ("ACCEPT (NodePortHealthCheck)", TEST_NODE_IP, TEST_NODE_IP, 30000, "ACCEPT", False),
    ("REJECT", "10.0.0.2", "172.30.0.46", 80, "REJECT", False),
]


def test_trace_packet_against_static_rules():
    """TestTracePacket: upstream's static rule set (its jumps, the shared table), routed."""
    dataplane = Dataplane("test-node", TEST_NODE_IP, local_ips=TEST_NODE_IPS)
    dataplane.restore(RuleSet.parse(OVERALL_IPTABLES_RULES))
    dataplane.restore(RuleSet.parse(TRACE_JUMPS))
    check_flows(dataplane, TRACE_FLOWS)


def test_overall_rules_route_as_upstream_traces_them():
    check_flows(synced(*overall_services()), TRACE_FLOWS)


def test_no_endpoints_reject():
    """TestNoEndpointsReject: every way in is refused."""
    dataplane = synced([service(
        "ns1", "svc1", type="LoadBalancer", clusterIP="172.30.0.41",
        externalIPs=["192.168.99.11"], ports=[port("p80", 80, nodePort=3001)],
        status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})])
    check_flows(dataplane, [
        ("pod to cluster IP with no endpoints", "10.0.0.2", "172.30.0.41", 80, "REJECT", False),
        ("external to external IP with no endpoints", TEST_EXTERNAL_CLIENT, "192.168.99.11", 80,
         "REJECT", False),
        ("pod to NodePort with no endpoints", "10.0.0.2", TEST_NODE_IP, 3001, "REJECT", False),
        ("external to NodePort with no endpoints", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3001,
         "REJECT", False),
        ("pod to LoadBalancer IP with no endpoints", "10.0.0.2", "1.2.3.4", 80, "REJECT", False),
        ("external to LoadBalancer IP with no endpoints", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80,
         "REJECT", False),
    ])


def test_cluster_ip_general():
    """TestClusterIPGeneral: ports, target ports, protocols, hairpin."""
    dataplane = synced(
        [service("ns1", "svc1", clusterIP="172.30.0.41", ports=[port("http", 80)]),
         service("ns2", "svc2", clusterIP="172.30.0.42", ports=[
             port("http", 80), port("https", 443, targetPort=8443), port("dns-udp", 53, "UDP"),
             port("dns-tcp", 53, targetPort=5353), port("dns-sctp", 53, "SCTP")])],
        [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1", "test-node")],
                        [port("http", 80)]),
         endpoint_slice("ns2", "svc2", [endpoint("10.180.0.1", "test-node"),
                                        endpoint("10.180.2.1", "node2")],
                        [port("http", 80), port("https", 8443), port("dns-udp", 53, "UDP"),
                         port("dns-tcp", 5353), port("dns-sctp", 53, "SCTP")])])
    check_flows(dataplane, [
        ("simple clusterIP", "10.180.0.2", "172.30.0.41", 80, "10.180.0.1:80", False),
        ("hairpin to cluster IP", "10.180.0.1", "172.30.0.41", 80, "10.180.0.1:80", True),
        ("clusterIP with multiple endpoints", "10.180.0.2", "172.30.0.42", 80,
         "10.180.0.1:80, 10.180.2.1:80", False),
        ("clusterIP with TargetPort", "10.180.0.2", "172.30.0.42", 443,
         "10.180.0.1:8443, 10.180.2.1:8443", False),
        ("TCP", "10.180.0.2", "172.30.0.42", 53, "10.180.0.1:5353, 10.180.2.1:5353", False,
         "TCP"),
        ("UDP", "10.180.0.2", "172.30.0.42", 53, "10.180.0.1:53, 10.180.2.1:53", False, "UDP"),
        ("SCTP", "10.180.0.2", "172.30.0.42", 53, "10.180.0.1:53, 10.180.2.1:53", False,
         "SCTP"),
        ("TCP-only port does not match UDP traffic", "10.180.0.2", "172.30.0.42", 80, "",
         False, "UDP"),
        ("svc1 does not accept svc2's ports", "10.180.0.2", "172.30.0.41", 443, "", False),
    ])


def test_load_balancer_source_ranges():
    """TestLoadBalancer: two LB IPs, source ranges (one including the node)."""
    dataplane = synced(
        [service("ns1", "svc1", type="LoadBalancer", clusterIP="172.30.0.41",
                 ports=[port("p80", 80, nodePort=3001)],
                 loadBalancerSourceRanges=["192.168.0.0/24", " 203.0.113.0/25"],
                 status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"ip": "5.6.7.8"}]}})],
        [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1")], P80)])
    ep = "10.180.0.1:80"
    check_flows(dataplane, [
        ("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, ep, False),
        ("external to nodePort", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3001, ep, True),
        ("nodePort bypasses LoadBalancerSourceRanges", TEST_EXTERNAL_CLIENT_BLOCKED,
         TEST_NODE_IP, 3001, ep, True),
        ("accepted external to LB1", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80, ep, True),
        ("accepted external to LB2", TEST_EXTERNAL_CLIENT, "5.6.7.8", 80, ep, True),
        ("blocked external to LB1", TEST_EXTERNAL_CLIENT_BLOCKED, "1.2.3.4", 80, "DROP", False),
        ("blocked external to LB2", TEST_EXTERNAL_CLIENT_BLOCKED, "5.6.7.8", 80, "DROP", False),
        ("pod to LB1 (blocked by LoadBalancerSourceRanges)", "10.0.0.2", "1.2.3.4", 80, "DROP",
         False),
        ("node to LB1 (allowed by LoadBalancerSourceRanges)", TEST_NODE_IP, "1.2.3.4", 80, ep,
         True),
        ("same node to LB1, SNATted to LB1 (implicitly allowed)", "1.2.3.4", "1.2.3.4", 80, ep,
         True),
        ("same node to LB2, SNATted to LB2 (implicitly allowed)", "5.6.7.8", "5.6.7.8", 80, ep,
         True),
    ])


@pytest.mark.parametrize("localhost", [True, False])
def test_node_ports(localhost):
    """TestNodePorts (IPv4): every local address, localhost only if enabled."""
    dataplane = synced(
        [service("ns1", "svc1", type="NodePort", clusterIP="172.30.0.41",
                 ports=[port("p80", 80, nodePort=3001)])],
        [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1"),
                                        endpoint("10.180.2.1", "test-node")], P80)],
        localhost_nodeports=localhost)
    both = "10.180.0.1:80, 10.180.2.1:80"
    check_flows(dataplane, [
        ("pod to cluster IP", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("external to nodePort", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3001, both, True),
        ("node to nodePort", TEST_NODE_IP, TEST_NODE_IP, 3001, both, True),
        ("localhost to nodePort", "127.0.0.1", "127.0.0.1", 3001, both if localhost else "",
         localhost),
        ("external to nodePort on secondary IP", TEST_EXTERNAL_CLIENT, TEST_NODE_IP_ALT, 3001,
         both, True),
    ])


def test_health_check_node_port_is_accepted_until_the_service_goes():
    """TestHealthCheckNodePort."""
    svc = service("ns1", "svc1", type="LoadBalancer", clusterIP="172.30.0.42",
                  externalTrafficPolicy="Local", healthCheckNodePort=30000,
                  ports=[port("p80", 80, nodePort=3001)])
    proxy = feed(fake_proxier(), [svc])
    proxy.sync_now()
    check_flows(proxy.dataplane, [("firewall accepts HealthCheckNodePort", "1.2.3.4",
                                   TEST_NODE_IP, 30000, "ACCEPT", False)])
    proxy.on_service_update(svc, None)
    proxy.sync_now()
    check_flows(proxy.dataplane, [("HealthCheckNodePort no longer has any rule", "1.2.3.4",
                                   TEST_NODE_IP, 30000, "", False)])


def external_service(policy: str) -> tuple[list, list]:
    return ([service("ns1", "svc1", type="LoadBalancer", externalTrafficPolicy=policy,
                     clusterIP="172.30.0.41", externalIPs=["192.168.99.11"],
                     healthCheckNodePort=30000,
                     ports=[port("p80", 80, nodePort=3001, targetPort=80)],
                     status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})],
            [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1"),
                                            endpoint("10.180.2.1", "test-node")], P80)])


def test_external_traffic_policy_local():
    """TestExternalTrafficPolicyLocal: outside clients keep their IP and get local pods only."""
    both, local = "10.180.0.1:80, 10.180.2.1:80", "10.180.2.1:80"
    check_flows(synced(*external_service("Local")), [
        ("pod to cluster IP hits both endpoints", "10.0.0.2", "172.30.0.41", 80, both, False),
        ("pod to external IP hits both endpoints", "10.0.0.2", "192.168.99.11", 80, both,
         False),
        ("external to external IP hits only local endpoint", TEST_EXTERNAL_CLIENT,
         "192.168.99.11", 80, local, False),
        ("pod to LB IP hits both endpoints", "10.0.0.2", "1.2.3.4", 80, both, False),
        ("external to LB IP hits only local endpoint", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80,
         local, False),
        ("pod to NodePort hits both endpoints", "10.0.0.2", TEST_NODE_IP, 3001, both, False),
        ("external to NodePort hits only local endpoint", TEST_EXTERNAL_CLIENT, TEST_NODE_IP,
         3001, local, False),
    ])


def test_external_traffic_policy_cluster():
    """TestExternalTrafficPolicyCluster: everything external is masqueraded."""
    both = "10.180.0.1:80, 10.180.2.1:80"
    check_flows(synced(*external_service("Cluster")), [
        ("pod to cluster IP hits both endpoints, unmasqueraded", "10.0.0.2", "172.30.0.41", 80,
         both, False),
        ("pod to external IP", "10.0.0.2", "192.168.99.11", 80, both, True),
        ("external to external IP", TEST_EXTERNAL_CLIENT, "192.168.99.11", 80, both, True),
        ("pod to LB IP", "10.0.0.2", "1.2.3.4", 80, both, True),
        ("external to LB IP", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80, both, True),
        ("pod to NodePort", "10.0.0.2", TEST_NODE_IP, 3001, both, True),
        ("external to NodePort", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3001, both, True),
    ])


@pytest.mark.parametrize("policy, nodes, output", [  # TestInternalTrafficPolicy
    ("Cluster", ("test-node", "node1", "node2"), "10.0.1.1:80, 10.0.1.2:80, 10.0.1.3:80"),
    ("Local", ("test-node", "node1", "node2"), "10.0.1.1:80"),
    ("Local", ("test-node", "test-node", "node2"), "10.0.1.1:80, 10.0.1.2:80"),
    ("Local", ("node0", "node1", "node2"), "DROP"),
])
def test_internal_traffic_policy(policy, nodes, output):
    svc = service("ns1", "svc1", clusterIP="172.30.1.1", selector={"foo": "bar"},
                  internalTrafficPolicy=policy, ports=[port("", 80)])
    eps = endpoint_slice("ns1", "svc1", [endpoint(f"10.0.1.{i}", node, ready=True)
                                         for i, node in enumerate(nodes, 1)], [port("", 80)])
    proxy = feed(fake_proxier(), [svc], [eps])
    proxy.sync_now()
    check_flows(proxy.dataplane, [("pod to ClusterIP", "10.0.0.2", "172.30.1.1", 80, output,
                                   False)])
    proxy.on_endpoint_slice_update(eps, remove=True)
    proxy.sync_now()
    check_flows(proxy.dataplane, [("endpoints deleted", "10.0.0.2", "172.30.1.1", 80,
                                   "REJECT", False)])


def terminating_service(policy: str) -> dict:
    return service("ns1", "svc1", clusterIP="172.30.1.1", type="LoadBalancer",
                   externalTrafficPolicy=policy, healthCheckNodePort=30000,
                   ports=[port("", 80, targetPort=80)],
                   status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})


READY = {"ready": True, "serving": True, "terminating": False}
SERVING_TERMINATING = {"ready": False, "serving": True, "terminating": True}
GONE = {"ready": False, "serving": False, "terminating": True}


@pytest.mark.parametrize("policy, endpoints, to_cluster_ip, to_lb", [
    # TestTerminatingEndpointsTrafficPolicyLocal
    ("Local", [("10.0.1.1", "test-node", READY), ("10.0.1.2", "test-node", READY),
               ("10.0.1.3", "test-node", SERVING_TERMINATING), ("10.0.1.4", "test-node", GONE),
               ("10.0.1.5", "node-1", READY)],
     ("10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", False), ("10.0.1.1:80, 10.0.1.2:80", False)),
    ("Local", [("10.0.1.2", "test-node", SERVING_TERMINATING),
               ("10.0.1.3", "test-node", SERVING_TERMINATING), ("10.0.1.4", "test-node", GONE),
               ("10.0.1.5", "node-1", READY)],
     ("10.0.1.5:80", False), ("10.0.1.2:80, 10.0.1.3:80", False)),
    ("Local", [("10.0.1.5", "node-1", SERVING_TERMINATING)],
     ("10.0.1.5:80", False), ("DROP", False)),
    ("Local", [("10.0.1.5", "test-node", GONE), ("10.0.1.5", "node-1", GONE)],
     ("REJECT", False), ("REJECT", False)),
    # TestTerminatingEndpointsTrafficPolicyCluster
    ("Cluster", [("10.0.1.1", "test-node", READY), ("10.0.1.2", "test-node", READY),
                 ("10.0.1.3", "another-node", SERVING_TERMINATING),
                 ("10.0.1.4", "another-node", GONE), ("10.0.1.5", "another-node", READY)],
     ("10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", False),
     ("10.0.1.1:80, 10.0.1.2:80, 10.0.1.5:80", True)),
    ("Cluster", [("10.0.1.2", "test-node", SERVING_TERMINATING),
                 ("10.0.1.3", "test-node", SERVING_TERMINATING),
                 ("10.0.1.4", "another-node", GONE),
                 ("10.0.1.5", "another-node", SERVING_TERMINATING)],
     ("10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", False),
     ("10.0.1.2:80, 10.0.1.3:80, 10.0.1.5:80", True)),
    ("Cluster", [("10.0.1.5", "node-1", SERVING_TERMINATING)],
     ("10.0.1.5:80", False), ("10.0.1.5:80", True)),
    ("Cluster", [("10.0.1.5", "test-node", GONE), ("10.0.1.5", "node-1", GONE)],
     ("REJECT", False), ("REJECT", False)),
])
def test_terminating_endpoints(policy, endpoints, to_cluster_ip, to_lb):
    eps = endpoint_slice("ns1", "svc1", [endpoint(ip, node, **conditions)
                                         for ip, node, conditions in endpoints], [port("", 80)])
    proxy = feed(fake_proxier(), [terminating_service(policy)], [eps])
    proxy.sync_now()
    check_flows(proxy.dataplane, [
        ("pod to clusterIP", "10.0.0.2", "172.30.1.1", 80, *to_cluster_ip),
        ("external to LB", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80, *to_lb)])
    proxy.on_endpoint_slice_update(eps, remove=True)
    proxy.sync_now()
    check_flows(proxy.dataplane, [
        ("pod to clusterIP after endpoints deleted", "10.0.0.2", "172.30.1.1", 80, "REJECT",
         False),
        ("external to LB after endpoints deleted", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80,
         "REJECT", False)])


def masquerade_setup(**options) -> Dataplane:
    """TestInternalExternalMasquerade's three LoadBalancers: plain, eTP Local, iTP Local."""
    services = [
        service("ns1", "svc1", type="LoadBalancer", clusterIP="172.30.0.41",
                healthCheckNodePort=30001, ports=[port("p80", 80, nodePort=3001)],
                status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
        service("ns2", "svc2", type="LoadBalancer", clusterIP="172.30.0.42",
                healthCheckNodePort=30002, externalTrafficPolicy="Local",
                ports=[port("p80", 80, nodePort=3002)],
                status={"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}),
        service("ns3", "svc3", type="LoadBalancer", clusterIP="172.30.0.43",
                healthCheckNodePort=30003, internalTrafficPolicy="Local",
                ports=[port("p80", 80, nodePort=3003)],
                status={"loadBalancer": {"ingress": [{"ip": "9.10.11.12"}]}}),
    ]
    slices = [endpoint_slice(f"ns{i}", f"svc{i}", [endpoint(f"10.180.0.{i}", "test-node"),
                                                   endpoint(f"10.180.1.{i}", "remote")], P80)
              for i in (1, 2, 3)]
    return synced(services, slices, **options)


B1, B2, B3 = ("10.180.0.1:80, 10.180.1.1:80", "10.180.0.2:80, 10.180.1.2:80",
              "10.180.0.3:80, 10.180.1.3:80")
MASQUERADE_FLOWS = [
    ("pod to ClusterIP", "10.0.0.2", "172.30.0.41", 80, B1, False),
    ("pod to NodePort", "10.0.0.2", TEST_NODE_IP, 3001, B1, True),
    ("pod to LB", "10.0.0.2", "1.2.3.4", 80, B1, True),
    ("node to ClusterIP", TEST_NODE_IP, "172.30.0.41", 80, B1, True),
    ("node to NodePort", TEST_NODE_IP, TEST_NODE_IP, 3001, B1, True),
    ("localhost to NodePort", "127.0.0.1", "127.0.0.1", 3001, B1, True),
    ("node to LB", TEST_NODE_IP, "1.2.3.4", 80, B1, True),
    ("external to ClusterIP", TEST_EXTERNAL_CLIENT, "172.30.0.41", 80, B1, True),
    ("external to NodePort", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3001, B1, True),
    ("external to LB", TEST_EXTERNAL_CLIENT, "1.2.3.4", 80, B1, True),
    ("pod to ClusterIP with eTP:Local", "10.0.0.2", "172.30.0.42", 80, B2, False),
    ("pod to NodePort with eTP:Local", "10.0.0.2", TEST_NODE_IP, 3002, B2, False),
    ("pod to LB with eTP:Local", "10.0.0.2", "5.6.7.8", 80, B2, False),
    ("node to ClusterIP with eTP:Local", TEST_NODE_IP, "172.30.0.42", 80, B2, True),
    ("node to NodePort with eTP:Local", TEST_NODE_IP, TEST_NODE_IP, 3001, B1, True),
    ("localhost to NodePort with eTP:Local", "127.0.0.1", "127.0.0.1", 3002, B2, True),
    ("node to LB with eTP:Local", TEST_NODE_IP, "5.6.7.8", 80, B2, True),
    ("external to ClusterIP with eTP:Local", TEST_EXTERNAL_CLIENT, "172.30.0.42", 80, B2, True),
    ("external to NodePort with eTP:Local", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3002,
     "10.180.0.2:80", False),
    ("external to LB with eTP:Local", TEST_EXTERNAL_CLIENT, "5.6.7.8", 80, "10.180.0.2:80",
     False),
    ("pod to ClusterIP with iTP:Local", "10.0.0.2", "172.30.0.43", 80, "10.180.0.3:80", False),
    ("pod to NodePort with iTP:Local", "10.0.0.2", TEST_NODE_IP, 3003, B3, True),
    ("pod to LB with iTP:Local", "10.0.0.2", "9.10.11.12", 80, B3, True),
    ("node to ClusterIP with iTP:Local", TEST_NODE_IP, "172.30.0.43", 80, "10.180.0.3:80",
     True),
    ("node to NodePort with iTP:Local", TEST_NODE_IP, TEST_NODE_IP, 3003, B3, True),
    ("localhost to NodePort with iTP:Local", "127.0.0.1", "127.0.0.1", 3003, B3, True),
    ("node to LB with iTP:Local", TEST_NODE_IP, "9.10.11.12", 80, B3, True),
    ("external to ClusterIP with iTP:Local", TEST_EXTERNAL_CLIENT, "172.30.0.43", 80,
     "10.180.0.3:80", True),
    ("external to NodePort with iTP:Local", TEST_EXTERNAL_CLIENT, TEST_NODE_IP, 3003, B3, True),
    ("external to LB with iTP:Local", TEST_EXTERNAL_CLIENT, "9.10.11.12", 80, B3, True),
]
# TestInternalExternalMasquerade's overrides per configuration
MASQUERADE_OVERRIDES = {
    "base": {},
    "no LocalTrafficDetector": {
        "node to ClusterIP": (None, False), "node to ClusterIP with eTP:Local": (None, False),
        "node to ClusterIP with iTP:Local": (None, False),
        "external to ClusterIP": (None, False),
        "external to ClusterIP with eTP:Local": (None, False),
        "external to ClusterIP with iTP:Local": (None, False),
        "pod to NodePort with eTP:Local": ("10.180.0.2:80", None),
        "pod to LB with eTP:Local": ("10.180.0.2:80", None)},
    "masqueradeAll": {
        "pod to ClusterIP": (None, True), "pod to ClusterIP with eTP:Local": (None, True),
        "pod to ClusterIP with iTP:Local": (None, True)},
    "masqueradeAll, no LocalTrafficDetector": {
        "pod to ClusterIP": (None, True), "pod to ClusterIP with eTP:Local": (None, True),
        "pod to ClusterIP with iTP:Local": (None, True),
        "pod to NodePort with eTP:Local": ("10.180.0.2:80", None),
        "pod to LB with eTP:Local": ("10.180.0.2:80", None)},
}


@pytest.mark.parametrize("case", list(MASQUERADE_OVERRIDES))
def test_internal_external_masquerade(case):
    options = {"masquerade_all": "masqueradeAll" in case}
    if "no LocalTrafficDetector" in case:
        options["cluster_cidr"] = None
    overrides = MASQUERADE_OVERRIDES[case]
    cases = []
    for name, src, dst, dst_port, output, masq in MASQUERADE_FLOWS:
        new_output, new_masq = overrides.get(name, (None, None))
        cases.append((name, src, dst, dst_port, new_output or output,
                      masq if new_masq is None else new_masq))
    check_flows(masquerade_setup(**options), cases)


# -- the draws ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_ten_thousand_routes_spread_one_nth_each(n):
    """The printed probabilities 1/n, 1/(n-1)... give every endpoint 1/n of new connections.

    Bound: each count within 4.5 standard deviations of 10,000/n (binomial), and a
    chi-square over all endpoints below its 99.9% point for n-1 degrees of freedom.
    """
    dataplane = synced(
        [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
        [endpoint_slice("ns1", "svc1", [endpoint(f"10.180.0.{i}") for i in range(1, n + 1)],
                        P80)])
    rng = random.Random(42)
    counts = Counter(dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend
                     for _ in range(10_000))
    assert len(counts) == n
    expected = 10_000 / n
    sd = (10_000 * (1 / n) * (1 - 1 / n)) ** 0.5
    assert all(abs(c - expected) <= 4.5 * sd + 1e-9 for c in counts.values()), counts
    chi2 = sum((c - expected) ** 2 / expected for c in counts.values())
    assert chi2 < {1: 1e-9, 2: 10.83, 3: 13.82, 4: 16.27, 5: 18.47}[n], (chi2, counts)


def test_outcomes_give_each_route_its_probability():
    dataplane = synced(
        [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
        [endpoint_slice("ns1", "svc1", [endpoint(f"10.180.0.{i}") for i in (1, 2, 3)], P80)])
    outcomes = dataplane.outcomes("172.30.0.41", 80, src_ip="10.0.0.2")
    assert [route.backend for _, route in outcomes] == [
        ("10.180.0.1", 80), ("10.180.0.2", 80), ("10.180.0.3", 80)]
    assert [round(p, 9) for p, _ in outcomes] == [0.333333333, 0.333333333, 0.333333333]


def test_same_seed_same_routes():
    dataplane = synced(*overall_services())

    def run(seed: int) -> list:
        rng = random.Random(seed)
        return [dataplane.route("172.30.0.44", 80, src_ip="10.0.0.2", rng=rng).backend
                for _ in range(50)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_route_says_the_path_the_service_and_the_source_the_backend_sees():
    dataplane = synced(*external_service("Cluster"))
    rng = random.Random(0)
    route = dataplane.route(TEST_NODE_IP, 3001, src_ip=TEST_EXTERNAL_CLIENT, rng=rng)
    assert route.verdict == "DNAT" and route.masquerade
    assert route.source == TEST_NODE_IP  # SNAT: the pod sees the node, not the client
    assert route.service == "ns1/svc1:p80"
    assert route.chains[:5] == ("PREROUTING", "KUBE-SERVICES", "KUBE-NODEPORTS",
                                "KUBE-EXT-XPGD46QRK7WJZT7O", "KUBE-MARK-MASQ")
    assert route.chains[-1].startswith("KUBE-SEP-")
    pod = dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng)
    assert not pod.masquerade and pod.source == "10.0.0.2"
    assert pod.reason == "ns1/svc1:p80 cluster IP"
    refused = synced([service("ns6", "svc6", clusterIP="172.30.0.46", ports=P80)]).route(
        "172.30.0.46", 80, src_ip="10.0.0.2", rng=rng)
    assert (refused.verdict, refused.backend, refused.reason) == \
        ("REJECT", None, "ns6/svc6:p80 has no endpoints")


def test_an_undeclared_cluster_ip_port_gets_no_rule():
    """Why ping of a ClusterIP gets no answer: only declared ports have rules."""
    dataplane = synced(*overall_services())
    route = dataplane.route("172.30.0.41", 22, src_ip="10.0.0.2", rng=random.Random(0))
    assert route.verdict == "NO_RULE" and route.backend == ("172.30.0.41", 22)
    assert route.service is None and route.reason is None
    assert dataplane.is_service_address("172.30.0.41")  # nobody will answer
    assert dataplane.is_service_address("172.30.0.46")  # REJECTed: no endpoints
    assert not dataplane.is_service_address("10.180.0.1")  # a pod: it answers itself
    icmp = dataplane.route("172.30.0.41", 0, "ICMP", src_ip="10.0.0.2", rng=random.Random(0))
    assert icmp.verdict == "NO_RULE"


# -- state: affinity, conntrack, flush, reboot --------------------------------------------------

def affinity_dataplane(clock: list[float]) -> Dataplane:
    proxy = feed(fake_proxier(), [service(
        "ns1", "svc1", clusterIP="172.30.0.41", ports=P80, sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10800}})],
        [endpoint_slice("ns1", "svc1", [endpoint(f"10.180.0.{i}") for i in (1, 2, 3)], P80)])
    proxy.sync_now()
    proxy.dataplane.clock = lambda: clock[0]
    return proxy.dataplane


def test_session_affinity_pins_a_client_for_10800_seconds():
    clock = [0.0]
    dataplane = affinity_dataplane(clock)
    rng = random.Random(3)
    first = dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend
    for t in (1.0, 100.0, 5000.0):  # each new connection refreshes the --set time
        clock[0] = t
        assert dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend == first
    other = {dataplane.route("172.30.0.41", 80, src_ip=f"10.0.9.{i}", rng=rng).backend
             for i in range(30)}
    assert len(other) == 3  # other clients still spread
    clock[0] = 5000.0 + 10800.0  # exactly the timeout: still pinned (--rcheck --seconds)
    assert dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend == first
    clock[0] += 10800.5  # idle longer than the timeout: reaped, a fresh draw
    seen = {dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend}
    assert dataplane.recent  # the kernel's -m recent lists exist
    for _ in range(20):
        clock[0] += 10801.0
        seen.add(dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).backend)
    assert len(seen) > 1


def test_conntrack_keeps_an_established_connection_on_its_backend():
    proxy = feed(fake_proxier(), [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
                 [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1")], P80)])
    proxy.sync_now()
    dataplane, rng = proxy.dataplane, random.Random(0)
    route = dataplane.connect("172.30.0.41", 80, src_ip="10.0.0.2", src_port=40000, rng=rng)
    assert route.backend == ("10.180.0.1", 80)
    proxy.on_endpoint_slice_update(endpoint_slice("ns1", "svc1", [endpoint("10.180.0.9")], P80))
    proxy.sync_now()
    # the old connection still goes to the old pod; a new one gets the new pod
    assert dataplane.connect("172.30.0.41", 80, src_ip="10.0.0.2", src_port=40000,
                             rng=rng).backend == ("10.180.0.1", 80)
    assert dataplane.connect("172.30.0.41", 80, src_ip="10.0.0.2", src_port=40001,
                             rng=rng).backend == ("10.180.0.9", 80)
    dataplane.close("172.30.0.41", 80, src_ip="10.0.0.2", src_port=40000)
    assert dataplane.connect("172.30.0.41", 80, src_ip="10.0.0.2", src_port=40000,
                             rng=rng).backend == ("10.180.0.9", 80)


def test_udp_entries_of_removed_endpoints_are_cleaned_after_a_sync():
    dns = [port("dns", 53, "UDP")]
    proxy = feed(fake_proxier(), [service("kube-system", "kube-dns", clusterIP="172.30.0.10",
                                          ports=dns)],
                 [endpoint_slice("kube-system", "kube-dns", [endpoint("10.180.0.53")], dns)])
    proxy.sync_now()
    dataplane, rng = proxy.dataplane, random.Random(0)
    dataplane.connect("172.30.0.10", 53, "UDP", src_ip="10.0.0.2", src_port=5353, rng=rng)
    assert len(dataplane.conntrack) == 1
    proxy.on_endpoint_slice_update(endpoint_slice("kube-system", "kube-dns",
                                                  [endpoint("10.180.0.54")], dns))
    proxy.sync_now()
    assert dataplane.conntrack == {}  # or the client would keep asking the dead pod
    assert dataplane.connect("172.30.0.10", 53, "UDP", src_ip="10.0.0.2", src_port=5353,
                             rng=rng).backend == ("10.180.0.54", 53)


def test_udp_conntrack_entries_idle_out():
    clock = [0.0]
    dns = [port("dns", 53, "UDP")]
    proxy = feed(fake_proxier(), [service("ns", "dns", clusterIP="172.30.0.10", ports=dns)],
                 [endpoint_slice("ns", "dns", [endpoint("10.180.0.53"), endpoint("10.180.0.54")],
                                 dns)])
    proxy.sync_now()
    dataplane = proxy.dataplane
    dataplane.clock = lambda: clock[0]
    rng = random.Random(1)
    first = dataplane.connect("172.30.0.10", 53, "UDP", src_ip="10.0.0.2", rng=rng)
    clock[0] = 29.0
    assert dataplane.connect("172.30.0.10", 53, "UDP", src_ip="10.0.0.2", rng=rng) is first
    clock[0] = 29.0 + 31.0  # nf_conntrack_udp_timeout (30s) since the last packet
    assert dataplane.connect("172.30.0.10", 53, "UDP", src_ip="10.0.0.2", rng=rng) is not first


def test_flush_unhooks_services_and_reset_forgets_everything():
    proxy = feed(fake_proxier(), *overall_services())
    proxy.sync_now()
    dataplane, rng = proxy.dataplane, random.Random(0)
    dataplane.connect("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng)
    dataplane.flush()
    assert dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).verdict == "NO_RULE"
    assert len(dataplane.rules) == 0 and dataplane.conntrack  # connections outlive a flush
    proxy.sync_now(force_full=True)
    assert dataplane.route("172.30.0.41", 80, src_ip="10.0.0.2", rng=rng).verdict == "DNAT"
    dataplane.reset()
    assert dataplane.rules == RuleSet() and not dataplane.conntrack and not dataplane.recent


def test_restore_reports_what_changed():
    proxy = feed(fake_proxier(), [service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80)],
                 [endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1")], P80)])
    proxy.sync_now()
    first = proxy.syncs[-1]
    assert first.full and first.rules_added == len(proxy.rules(None)) and first.rules_removed == 0
    proxy.on_endpoint_slice_update(endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1"),
                                                                  endpoint("10.180.0.2")], P80))
    proxy.sync_now()
    second = proxy.syncs[-1]
    assert not second.full
    # svc1's chain: 1 rule becomes 2 (+2 -1); a new SEP chain with 2 rules
    assert (second.rules_added, second.rules_removed) == (4, 1)
