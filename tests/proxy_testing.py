"""Helpers for the kube-proxy tests: upstream's fake-proxier conventions and object builders.

proxier_test.go's NewFakeProxier: node ``test-node`` at 192.168.0.2 (also owning
192.168.1.2 and 192.168.99.11), pods in 10.0.0.0/8, localhost NodePorts and the
nfacct counters on, an iptables without --random-fully, the 0x4000 mark. Services
and EndpointSlices are built as the API server returns them (dicts).
"""

from __future__ import annotations

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
