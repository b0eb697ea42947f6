"""Helpers for the kube-proxy tests: upstream's fake-proxier conventions and object builders.

proxier_test.go's NewFakeProxier: node ``test-node`` at 192.168.0.2 (also owning
192.168.1.2 and 192.168.99.11), pods in 10.0.0.0/8, localhost NodePorts and the
nfacct counters on, an iptables without --random-fully, the 0x4000 mark. Services
and EndpointSlices are built as the API server returns them (dicts); a NodePort
Service as a manifest for a live cluster. Last, TestOverallIPTablesRules: its
Services and the rules it expects, which the iptables and the packet-flow tests share.
"""

from __future__ import annotations

from textwrap import dedent
from typing import Any

from kubelearn.proxy.dataplane import Dataplane, Route
from kubelearn.proxy.proxier import KubeProxy
from kubelearn.sim import Simulation

TEST_NODE_NAME = "test-node"
TEST_NODE_IP = "192.168.0.2"
TEST_NODE_IP_ALT = "192.168.1.2"
TEST_EXTERNAL_IP = "192.168.99.11"
TEST_EXTERNAL_CLIENT = "203.0.113.2"
TEST_EXTERNAL_CLIENT_BLOCKED = "203.0.113.130"
TEST_NODE_IPS = (TEST_NODE_IP, TEST_NODE_IP_ALT, TEST_EXTERNAL_IP)


def fake_proxier(sim: Simulation | None = None, **options: Any) -> KubeProxy:
    """A stopped KubeProxy configured like NewFakeProxier, fed by hand, synced with sync_now."""
    sim = sim or Simulation(0)
    settings = {"cluster_cidr": "10.0.0.0/8", "random_fully": False, "events": False}
    settings.update(options)
    dataplane = Dataplane(TEST_NODE_NAME, TEST_NODE_IP, local_ips=TEST_NODE_IPS,
                          clock=lambda: sim.now)
    proxy = KubeProxy(sim, None, TEST_NODE_NAME, node_ip=TEST_NODE_IP,  # type: ignore[arg-type]
                      dataplane=dataplane, start=False, **settings)
    return proxy


def service(namespace: str, name: str, *, status: dict | None = None,
            **spec: Any) -> dict[str, Any]:
    """makeTestService: a Service with ``spec`` as given."""
    annotations = spec.pop("annotations", None)
    meta: dict[str, Any] = {"namespace": namespace, "name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec,
            "status": status or {}}


def port(name: str, number: int, protocol: str = "TCP", **extra: Any) -> dict[str, Any]:
    return {"name": name, "port": number, "protocol": protocol, **extra}


P80 = [port("p80", 80)]


def endpoint(ip: str, node: str | None = None, *, ready: bool | None = None,
             serving: bool | None = None, terminating: bool | None = None,
             zones: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {"addresses": [ip]}
    conditions = {k: v for k, v in (("ready", ready), ("serving", serving),
                                    ("terminating", terminating)) if v is not None}
    if conditions:
        out["conditions"] = conditions
    if node is not None:
        out["nodeName"] = node
    if zones:
        out["hints"] = {"forZones": [{"name": z} for z in zones]}
    return out


def endpoint_slice(namespace: str, name: str, endpoints: list[dict], ports: list[dict], *,
                   number: int = 1, address_type: str = "IPv4") -> dict[str, Any]:
    """makeTestEndpointSlice: ``<name>-<number>`` labelled for Service ``name``."""
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"namespace": namespace, "name": f"{name}-{number}",
                         "labels": {"kubernetes.io/service-name": name}},
            "addressType": address_type, "endpoints": endpoints, "ports": ports}


def nodeport_service(policy: str, target: int | str) -> str:
    """A NodePort Service ``web`` for pods ``app: web``: port 80 to ``target``, node port 30080."""
    return f"""
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  externalTrafficPolicy: {policy}
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: {target}, nodePort: 30080}}]
"""


def feed(proxy: KubeProxy, services: list[dict] = (), slices: list[dict] = ()) -> KubeProxy:
    """makeServiceMap + populateEndpointSlices."""
    for svc in services:
        proxy.on_service_update(None, svc)
    for eps in slices:
        proxy.on_endpoint_slice_update(eps)
    return proxy


def flow(dataplane: Dataplane, src: str, dst: str, dst_port: int,
         protocol: str = "TCP") -> tuple[str, bool]:
    """runPacketFlowTests' view of a packet: the outputs joined by ", ", and the masquerade.

    Every route the rules allow is walked (no draw): DNAT targets as ``ip:port``
    sorted, or ``REJECT``/``DROP``/``ACCEPT``, or ``""`` when no rule applies. The
    masquerade must agree across them.
    """
    routes: list[Route] = [route for _, route in
                           dataplane.outcomes(dst, dst_port, protocol, src_ip=src)]
    outputs = []
    for route in routes:
        if route.verdict == "DNAT":
            outputs.append(f"{route.backend[0]}:{route.backend[1]}")
        elif route.verdict != "NO_RULE":
            outputs.append(route.verdict)
    masq = {route.masquerade for route in routes}
    assert len(masq) == 1, f"masquerade differs between routes: {routes}"
    return ", ".join(sorted(set(outputs), key=_address_order)), masq.pop()


def _address_order(text: str) -> tuple:
    ip, _, number = text.partition(":")
    parts = ip.split(".")
    if len(parts) != 4:
        return (1, text)
    return (0, tuple(int(p) for p in parts), int(number or 0))


# -- TestOverallIPTablesRules ------------------------------------------------------------------

# The filter table's chains as proxier_test.go's expected tables begin (sortIPTablesRules:
# KUBE-NODEPORTS and KUBE-SERVICES first, then the rest by name).
FILTER_CHAINS = dedent("""\
    *filter
    :KUBE-NODEPORTS - [0:0]
    :KUBE-SERVICES - [0:0]
    :KUBE-EXTERNAL-SERVICES - [0:0]
    :KUBE-FIREWALL - [0:0]
    :KUBE-FORWARD - [0:0]
    :KUBE-PROXY-FIREWALL - [0:0]
    """)

# TestOverallIPTablesRules' expected restore input (pkg/proxy/iptables/proxier_test.go),
# in sortIPTablesRules' order, for overall_services() synced by fake_proxier().
OVERALL_IPTABLES_RULES = FILTER_CHAINS + dedent("""\
    -A KUBE-NODEPORTS -m comment --comment "ns2/svc2:p80 health check node port" -m tcp -p tcp --dport 30000 -j ACCEPT
    -A KUBE-SERVICES -m comment --comment "ns6/svc6:p80 has no endpoints" -m tcp -p tcp -d 172.30.0.46 --dport 80 -j REJECT
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j DROP
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j DROP
    -A KUBE-EXTERNAL-SERVICES -m comment --comment "ns2/svc2:p80 has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 3001 -j DROP
    -A KUBE-FIREWALL -m comment --comment "block incoming localnet connections" -d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP
    -A KUBE-FORWARD -m conntrack --ctstate INVALID -m nfacct --nfacct-name ct_state_invalid_dropped_pkts -j DROP
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark 0x4000/0x4000 -j ACCEPT
    -A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
    -A KUBE-PROXY-FIREWALL -m comment --comment "ns5/svc5:p80 traffic not accepted by KUBE-FW-NUKIZ6OKUXPJNT4C" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j DROP
    COMMIT
    *nat
    :KUBE-NODEPORTS - [0:0]
    :KUBE-SERVICES - [0:0]
    :KUBE-EXT-4SW47YFZTEDKD3PK - [0:0]
    :KUBE-EXT-GNZBNJ2PO5MGZ6GT - [0:0]
    :KUBE-EXT-NUKIZ6OKUXPJNT4C - [0:0]
    :KUBE-EXT-X27LE4BHSL4DOUIK - [0:0]
    :KUBE-FW-NUKIZ6OKUXPJNT4C - [0:0]
    :KUBE-MARK-MASQ - [0:0]
    :KUBE-POSTROUTING - [0:0]
    :KUBE-SEP-C6EBXVWJJZMIWKLZ - [0:0]
    :KUBE-SEP-I77PXRDZVX7PMWMN - [0:0]
    :KUBE-SEP-OYPFS5VJICHGATKP - [0:0]
    :KUBE-SEP-RS4RBKLTHTF2IUXJ - [0:0]
    :KUBE-SEP-SXIVWICOYRO3J4NJ - [0:0]
    :KUBE-SEP-UKSFD7AGPMPPLUHC - [0:0]
    :KUBE-SVC-4SW47YFZTEDKD3PK - [0:0]
    :KUBE-SVC-GNZBNJ2PO5MGZ6GT - [0:0]
    :KUBE-SVC-NUKIZ6OKUXPJNT4C - [0:0]
    :KUBE-SVC-X27LE4BHSL4DOUIK - [0:0]
    :KUBE-SVC-XPGD46QRK7WJZT7O - [0:0]
    -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3001 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-NODEPORTS -m comment --comment ns2/svc2:p80 -m tcp -p tcp --dport 3001 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3003 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-X27LE4BHSL4DOUIK
    -A KUBE-NODEPORTS -m comment --comment ns3/svc3:p80 -m tcp -p tcp --dport 3003 -j KUBE-EXT-X27LE4BHSL4DOUIK
    -A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp -d 127.0.0.0/8 --dport 3002 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    -A KUBE-NODEPORTS -m comment --comment ns5/svc5:p80 -m tcp -p tcp --dport 3002 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 -j KUBE-SVC-XPGD46QRK7WJZT7O
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 external IP" -m tcp -p tcp -d 192.168.99.22 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns2/svc2:p80 loadbalancer IP" -m tcp -p tcp -d 1.2.3.4 --dport 80 -j KUBE-EXT-GNZBNJ2PO5MGZ6GT
    -A KUBE-SERVICES -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 -j KUBE-SVC-X27LE4BHSL4DOUIK
    -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 -j KUBE-SVC-4SW47YFZTEDKD3PK
    -A KUBE-SERVICES -m comment --comment "ns4/svc4:p80 external IP" -m tcp -p tcp -d 192.168.99.33 --dport 80 -j KUBE-EXT-4SW47YFZTEDKD3PK
    -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 -j KUBE-SVC-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "ns5/svc5:p80 loadbalancer IP" -m tcp -p tcp -d 5.6.7.8 --dport 80 -j KUBE-FW-NUKIZ6OKUXPJNT4C
    -A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
    -A KUBE-EXT-4SW47YFZTEDKD3PK -m comment --comment "masquerade traffic for ns4/svc4:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-4SW47YFZTEDKD3PK -j KUBE-SVC-4SW47YFZTEDKD3PK
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "pod traffic for ns2/svc2:p80 external destinations" -s 10.0.0.0/8 -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "masquerade LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ
    -A KUBE-EXT-GNZBNJ2PO5MGZ6GT -m comment --comment "route LOCAL traffic for ns2/svc2:p80 external destinations" -m addrtype --src-type LOCAL -j KUBE-SVC-GNZBNJ2PO5MGZ6GT
    -A KUBE-EXT-NUKIZ6OKUXPJNT4C -m comment --comment "masquerade traffic for ns5/svc5:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-NUKIZ6OKUXPJNT4C -j KUBE-SVC-NUKIZ6OKUXPJNT4C
    -A KUBE-EXT-X27LE4BHSL4DOUIK -m comment --comment "masquerade traffic for ns3/svc3:p80 external destinations" -j KUBE-MARK-MASQ
    -A KUBE-EXT-X27LE4BHSL4DOUIK -j KUBE-SVC-X27LE4BHSL4DOUIK
    -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 loadbalancer IP" -s 203.0.113.0/25 -j KUBE-EXT-NUKIZ6OKUXPJNT4C
    -A KUBE-FW-NUKIZ6OKUXPJNT4C -m comment --comment "other traffic to ns5/svc5:p80 will be dropped by KUBE-PROXY-FIREWALL"
    -A KUBE-MARK-MASQ -j MARK --or-mark 0x4000
    -A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
    -A KUBE-POSTROUTING -j MARK --xor-mark 0x4000
    -A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE
    -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -s 10.180.0.5 -j KUBE-MARK-MASQ
    -A KUBE-SEP-C6EBXVWJJZMIWKLZ -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.5:80
    -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
    -A KUBE-SEP-I77PXRDZVX7PMWMN -m comment --comment ns5/svc5:p80 -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --set -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
    -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -s 10.180.0.3 -j KUBE-MARK-MASQ
    -A KUBE-SEP-OYPFS5VJICHGATKP -m comment --comment ns3/svc3:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.3:80
    -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -s 10.180.0.2 -j KUBE-MARK-MASQ
    -A KUBE-SEP-RS4RBKLTHTF2IUXJ -m comment --comment ns2/svc2:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.2:80
    -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ
    -A KUBE-SEP-SXIVWICOYRO3J4NJ -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80
    -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -s 10.180.0.4 -j KUBE-MARK-MASQ
    -A KUBE-SEP-UKSFD7AGPMPPLUHC -m comment --comment ns4/svc4:p80 -m tcp -p tcp -j DNAT --to-destination 10.180.0.4:80
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 cluster IP" -m tcp -p tcp -d 172.30.0.44 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.4:80" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-UKSFD7AGPMPPLUHC
    -A KUBE-SVC-4SW47YFZTEDKD3PK -m comment --comment "ns4/svc4:p80 -> 10.180.0.5:80" -j KUBE-SEP-C6EBXVWJJZMIWKLZ
    -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 cluster IP" -m tcp -p tcp -d 172.30.0.42 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-GNZBNJ2PO5MGZ6GT -m comment --comment "ns2/svc2:p80 -> 10.180.0.2:80" -j KUBE-SEP-RS4RBKLTHTF2IUXJ
    -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 cluster IP" -m tcp -p tcp -d 172.30.0.45 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -m recent --name KUBE-SEP-I77PXRDZVX7PMWMN --rcheck --seconds 10800 --reap -j KUBE-SEP-I77PXRDZVX7PMWMN
    -A KUBE-SVC-NUKIZ6OKUXPJNT4C -m comment --comment "ns5/svc5:p80 -> 10.180.0.3:80" -j KUBE-SEP-I77PXRDZVX7PMWMN
    -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 cluster IP" -m tcp -p tcp -d 172.30.0.43 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-X27LE4BHSL4DOUIK -m comment --comment "ns3/svc3:p80 -> 10.180.0.3:80" -j KUBE-SEP-OYPFS5VJICHGATKP
    -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp -d 172.30.0.41 --dport 80 ! -s 10.0.0.0/8 -j KUBE-MARK-MASQ
    -A KUBE-SVC-XPGD46QRK7WJZT7O -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j KUBE-SEP-SXIVWICOYRO3J4NJ
    COMMIT
    """)  # noqa: E501


def overall_services() -> tuple[list[dict], list[dict]]:
    """TestOverallIPTablesRules' six Services and five slices."""
    services = [
        service("ns1", "svc1", clusterIP="172.30.0.41", ports=P80),
        # LoadBalancer, Local traffic policy
        service("ns2", "svc2", type="LoadBalancer", externalTrafficPolicy="Local",
                clusterIP="172.30.0.42", ports=[port("p80", 80, nodePort=3001)],
                externalIPs=["192.168.99.22"], healthCheckNodePort=30000,
                status={"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}}),
        service("ns3", "svc3", type="NodePort", clusterIP="172.30.0.43",
                ports=[port("p80", 80, nodePort=3003)]),
        service("ns4", "svc4", type="NodePort", clusterIP="172.30.0.44",
                externalIPs=["192.168.99.33"], ports=[port("p80", 80, targetPort=80)]),
        # LoadBalancer, Cluster policy, source ranges (with stray whitespace), affinity
        service("ns5", "svc5", type="LoadBalancer", externalTrafficPolicy="Cluster",
                clusterIP="172.30.0.45", ports=[port("p80", 80, nodePort=3002)],
                healthCheckNodePort=30000, loadBalancerSourceRanges=[" 203.0.113.0/25"],
                sessionAffinity="ClientIP",
                sessionAffinityConfig={"clientIP": {"timeoutSeconds": 10800}},
                status={"loadBalancer": {"ingress": [{"ip": "5.6.7.8"}]}}),
        service("ns6", "svc6", type="ClusterIP", clusterIP="172.30.0.46",
                ports=[port("p80", 80, targetPort=80)]),  # no endpoints
    ]
    slices = [
        endpoint_slice("ns1", "svc1", [endpoint("10.180.0.1")], P80),
        endpoint_slice("ns2", "svc2", [endpoint("10.180.0.2")], P80),  # not on this node
        endpoint_slice("ns3", "svc3", [endpoint("10.180.0.3")], P80),
        endpoint_slice("ns4", "svc4", [endpoint("10.180.0.4"),
                                       endpoint("10.180.0.5", "test-node")], P80),
        endpoint_slice("ns5", "svc5", [endpoint("10.180.0.3")], P80),
    ]
    return services, slices
