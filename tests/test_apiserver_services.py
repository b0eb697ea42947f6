"""Services get addresses: the ClusterIP and NodePort allocators, their ranges in etcd, the repair
loops, and the ``kubernetes`` Service pointing at the API server.

Allocator cases are ported from kube-apiserver v1.32's unit tests
(pkg/registry/core/service/ipallocator/bitmap_test.go, portallocator/allocator_test.go);
messages are upstream's (pkg/registry/core/service/storage/alloc.go, ipallocator,
portallocator).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random

import pytest

import kubelearn as kl
from kubelearn.api import AlreadyExists, Invalid, NotFound, StatusError
from kubelearn.apiserver import portallocator
from kubelearn.apiserver.allocator import AllocationBitmap
from kubelearn.apiserver.authn import admin
from kubelearn.apiserver.endpointsreconciler import (
    CONTROL_PLANE_IP,
    LABEL_SERVICE_NAME,
    LABEL_SKIP_MIRROR,
    MasterLeases,
    endpoints_for,
    sync_endpoints,
)
from kubelearn.apiserver.ipallocator import (
    AlreadyAllocated,
    NotInRange,
    RangeFull,
    ServiceIPRange,
    calculate_range_offset,
    usable_size,
)
from kubelearn.apiserver.portallocator import PortAllocationOperation, PortAllocator, PortRange
from kubelearn.apiserver.portallocator import calculate_range_offset as port_range_offset
from kubelearn.apiserver.rangeallocation import NODE_PORTS_KEY, SERVICE_IPS_KEY
from kubelearn.apiserver.repair import REPAIR_INTERVAL
from kubelearn.apiserver.server import APIServer
from kubelearn.client import Client
from kubelearn.kubelet.kubelet import node_network


def ip_range(cidr: str, seed: int = 0) -> ServiceIPRange:
    """An in-memory ClusterIP range (ipallocator.NewInMemory)."""
    network = ipaddress.ip_network(cidr, strict=False)
    bitmap = AllocationBitmap(usable_size(network), str(network), random.Random(seed),
                              calculate_range_offset(network))
    return ServiceIPRange(str(network), bitmap)


def port_allocator(spec: str, seed: int = 0) -> PortAllocator:
    """An in-memory node port range (portallocator.NewInMemory)."""
    pr = PortRange.parse(spec)
    return PortAllocator(pr, AllocationBitmap(pr.size, str(pr), random.Random(seed),
                                              port_range_offset(pr)))


def service(name: str, **spec) -> dict:
    spec.setdefault("ports", [{"port": 80}])
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def create_error(cluster: kl.Cluster, svc: dict) -> StatusError:
    with pytest.raises(StatusError) as err:
        cluster.admin.create(svc)
    return err.value


def stored_range(cluster: kl.Cluster, key: str) -> tuple[str, int]:
    """The RangeAllocation at ``key``: its range and its bitmap as an int."""
    obj = json.loads(cluster.etcd.get(key).value)
    assert obj["kind"] == "RangeAllocation" and obj["apiVersion"] == "v1"
    return obj["range"], int.from_bytes(base64.b64decode(obj["data"]), "big")


@pytest.fixture
def cluster() -> kl.Cluster:
    return kl.Cluster(seed=0)


# -- the allocators, ported from upstream's unit tests ------------------------------------------


@pytest.mark.parametrize("cidr,want", [  # ipallocator bitmap_test.go Test_calculateRangeOffset
    ("192.168.1.1/32", 0), ("fd00::1/128", 0), ("192.168.1.1/30", 0), ("fd00::1/126", 0),
    ("192.168.1.1/28", 0), ("192.168.1.1/27", 16), ("fd00::1/124", 0), ("fd00::1/122", 16),
    ("192.168.1.1/22", 64), ("fd00::1/118", 64), ("192.168.1.1/8", 256), ("fd00::1/12", 256),
    ("10.96.0.0/12", 256),
])
def test_the_static_band_of_a_service_cidr(cidr: str, want: int) -> None:
    assert calculate_range_offset(ipaddress.ip_network(cidr, strict=False)) == want


@pytest.mark.parametrize("size,want", [  # portallocator allocator_test.go Test_calculateRangeOffset
    (2768, 86), (10, 0), (16, 0), (128, 16), (2048, 64), (4096, 128), (65535, 128),
])
def test_the_static_band_of_a_node_port_range(size: int, want: int) -> None:
    assert port_range_offset(PortRange(30000, size)) == want


@pytest.mark.parametrize("cidr,free,released,out_of_range,taken", [  # bitmap_test.go TestAllocate
    ("192.168.1.0/24", 254, "192.168.1.5",
     ["192.168.0.1", "192.168.1.0", "192.168.1.255", "192.168.2.2"], "192.168.1.1"),
    ("2001:db8:1::/112", 65535, "2001:db8:1::5", ["2001:db8::1", "2001:db8:1::"],
     "2001:db8:1::1"),
])
def test_allocate_every_address_once_then_full(cidr, free, released, out_of_range, taken):
    r = ip_range(cidr)
    assert r.free() == free and r.used() == 0
    if free > 1000:
        return  # the IPv6 case is here for its size: capped at 2^16, no broadcast address
    found = {r.allocate_next() for _ in range(free)}
    assert len(found) == free and all(ipaddress.ip_address(ip) in r.network for ip in found)
    with pytest.raises(RangeFull):
        r.allocate_next()
    r.release(released)
    assert (r.free(), r.used()) == (1, free - 1)
    assert r.allocate_next() == released
    r.release(released)
    for ip in out_of_range:
        with pytest.raises(NotInRange) as err:
            r.allocate(ip)
        assert str(err.value) == (f"the provided IP ({ip}) is not in the valid range. The range "
                                  f"of valid IPs is {cidr}")
    with pytest.raises(AlreadyAllocated, match="^provided IP is already allocated$"):
        r.allocate(taken)
    r.allocate(released)
    assert (r.free(), r.used()) == (0, free)


def test_ipv6_ranges_are_capped_at_65536_addresses():
    assert usable_size(ipaddress.ip_network("2001:db8:1::/48")) == 65535
    assert ip_range("2001:db8:1::/48").offset_of("2001:db8:1::1:0") is None  # past the cap


def test_a_tiny_range_is_full_and_a_small_one_holds_two():  # TestAllocateTiny, TestAllocateSmall
    with pytest.raises(RangeFull, match="^range is full$"):
        ip_range("192.168.1.0/32").allocate_next()
    r = ip_range("192.168.1.240/30")
    assert r.free() == 2
    assert sorted([r.allocate_next(), r.allocate_next()]) == ["192.168.1.241", "192.168.1.242"]
    for _ in range(100):
        with pytest.raises(RangeFull):
            r.allocate_next()


def test_dynamic_allocation_fills_the_upper_band_before_the_static_one():  # TestAllocateReserved
    r = ip_range("192.168.1.0/25")
    offset, size = 16, 126  # min(max(16, 128/16), 256); 128 addresses less network, broadcast
    for _ in range(size - offset):
        r.allocate_next()
    assert all(r.has(f"192.168.1.{i + 1}") for i in range(offset, size))
    assert r.free() == offset and not any(r.has(f"192.168.1.{i + 1}") for i in range(offset))
    for i in range(offset):  # the static band is still there for addresses asked for by value
        r.allocate(f"192.168.1.{i + 1}")
    assert r.free() == 0
    r.release("192.168.1.10")
    assert r.allocate_next() == "192.168.1.10"  # full upper band: the lower band is scanned


def test_snapshot_is_the_big_int_bytes_and_restores():  # TestSnapshot, TestNewFromSnapshot
    bitmap = AllocationBitmap(254, "192.168.1.0/24", random.Random(0))
    bitmap.allocate(0)
    bitmap.allocate(9)
    assert bitmap.snapshot() == ("192.168.1.0/24", b"\x02\x01")  # 2**9 + 2**0, big-endian
    r = ip_range("192.168.0.0/24")
    taken = [r.allocate_next() for _ in range(128)]
    other = ip_range("192.168.0.0/24", seed=1)
    other.allocator.restore(*r.allocator.snapshot())
    assert (other.free(), other.used()) == (126, 128) and all(other.has(ip) for ip in taken)
    with pytest.raises(ValueError, match="the provided range does not match the current range"):
        other.allocator.restore("192.168.2.0/24", b"")


def test_a_seed_picks_the_same_addresses_and_ports():
    def picks(seed: int) -> list:
        r, p = ip_range("10.96.0.0/12", seed), port_allocator("30000-32767", seed)
        return [(r.allocate_next(), p.allocate_next()) for _ in range(5)]

    assert picks(7) == picks(7) and picks(7) != picks(8)


@pytest.mark.parametrize("text,base,size", [
    ("30000-32767", 30000, 2768), ("30000+2767", 30000, 2768), ("8080", 8080, 1)])
def test_port_range_parses_as_apimachinery_does(text, base, size):
    pr = PortRange.parse(text)
    assert (pr.base, pr.size) == (base, size)
    assert str(pr) == f"{base}-{base + size - 1}"


@pytest.mark.parametrize("text", ["", "abc", "32767-30000", "30000-70000", "-1"])
def test_a_bad_port_range_is_refused(text):
    with pytest.raises(ValueError, match="unable to parse port range"):
        PortRange.parse(text)


def test_port_allocator_messages_and_bands():
    p = port_allocator("30000-32767")
    for _ in range(100):
        assert 30086 <= p.allocate_next() <= 32767  # dynamic ports come from above 30085 first
    with pytest.raises(portallocator.NotInRange) as err:
        p.allocate(80)
    assert str(err.value) == ("provided port is not in the valid range. The range of valid "
                              "ports is 30000-32767")
    p.allocate(30080)
    with pytest.raises(portallocator.AlreadyAllocated,
                       match="^provided port is already allocated$"):
        p.allocate(30080)


def test_a_port_operation_keeps_or_gives_back():
    p = port_allocator("30000-30100")
    op = PortAllocationOperation(p)
    op.allocate(30010)
    op.allocate_next()
    op.finish()  # no commit: both go back
    assert p.used() == 0
    p.allocate(30020)
    op = PortAllocationOperation(p)
    op.allocate(30010)
    op.release_later(30020)
    assert p.has(30020)
    op.commit()
    op.finish()
    assert p.allocated() == [30010]
    dry = PortAllocationOperation(p, dry_run=True)  # operation.go: made-up ports, nothing taken
    assert [dry.allocate_next(), dry.allocate_next()] == [32769, 32770]
    with pytest.raises(portallocator.AlreadyAllocated):
        dry.allocate(30010)
    dry.finish()
    assert p.allocated() == [30010]


# -- the API server: allocation on create -------------------------------------------------------


def test_services_get_addresses_in_range_without_collisions(cluster):
    ips, ports = set(), set()
    for i in range(150):
        spec = cluster.admin.create(service(f"s{i}", type="NodePort"))["spec"]
        ip = ipaddress.ip_address(spec["clusterIP"])
        # dynamic addresses come from above the static band (10.96.0.1 .. 10.96.1.0)
        assert ip in ipaddress.ip_network("10.96.0.0/12") and ip > ipaddress.ip_address("10.96.1.0")
        assert spec["clusterIPs"] == [spec["clusterIP"]]
        assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
        ips.add(ip)
        ports.add(spec["ports"][0]["nodePort"])
        assert 30086 <= spec["ports"][0]["nodePort"] <= 32767
    assert len(ips) == 150 and len(ports) == 150


def test_same_seed_same_addresses():
    def addresses(seed: int) -> list[str]:
        c = kl.Cluster(seed=seed)
        return [c.admin.create(service(f"s{i}", type="NodePort"))["spec"]["clusterIP"]
                for i in range(3)]

    assert addresses(3) == addresses(3) != addresses(4)


def test_requested_address_and_port_are_honoured(cluster):
    spec = cluster.admin.create(service("db", clusterIP="10.96.0.53"))["spec"]
    assert spec["clusterIPs"] == ["10.96.0.53"]
    spec = cluster.admin.create(service("np", type="NodePort",
                                        ports=[{"port": 80, "nodePort": 30080}]))["spec"]
    assert spec["ports"][0]["nodePort"] == 30080
    assert cluster.api.services.cluster_ips.has("10.96.0.53")
    assert cluster.api.services.node_ports.has(30080)


def test_ports_with_one_number_share_a_node_port(cluster):
    spec = cluster.admin.create(service("dns", type="NodePort", ports=[
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]))["spec"]
    assert spec["ports"][0]["nodePort"] == spec["ports"][1]["nodePort"]
    assert cluster.api.services.node_ports.used() == 1


@pytest.mark.parametrize("request_spec,message", [
    ({"clusterIP": "10.96.0.1"},
     'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.1"}: failed '
     "to allocate IP 10.96.0.1: provided IP is already allocated"),
    ({"clusterIP": "10.200.0.5"},
     'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.200.0.5"}: failed to '
     "allocate IP 10.200.0.5: the provided IP (10.200.0.5) is not in the valid range. The range "
     "of valid IPs is 10.96.0.0/12"),
    ({"clusterIP": "10.96.0.0"},  # the network address is not in the range
     'Service "bad" is invalid: spec.clusterIPs: Invalid value: []string{"10.96.0.0"}: failed to '
     "allocate IP 10.96.0.0: the provided IP (10.96.0.0) is not in the valid range. The range "
     "of valid IPs is 10.96.0.0/12"),
    ({"clusterIP": "10.96.0.300"},
     'Service "bad" is invalid: spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a '
     "valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"),
    ({"clusterIP": "fd00::10"},
     'Service "bad" is invalid: spec.clusterIPs[0]: Invalid value: []string{"fd00::10"}: IPv6 '
     "is not configured on this cluster"),
    ({"ipFamilyPolicy": "RequireDualStack", "selector": {"app": "x"}},
     'Service "bad" is invalid: spec.ipFamilyPolicy: Invalid value: "RequireDualStack": this '
     "cluster is not configured for dual-stack services"),
    ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]},
     'Service "bad" is invalid: spec.ports[0].nodePort: Invalid value: 80: provided port is not '
     "in the valid range. The range of valid ports is 30000-32767"),
])
def test_a_request_that_cannot_be_had_is_a_422_and_changes_nothing(cluster, request_spec,
                                                                     message):
    def state() -> tuple:
        return (stored_range(cluster, SERVICE_IPS_KEY), stored_range(cluster, NODE_PORTS_KEY),
                cluster.api.services.cluster_ips.used(), cluster.api.services.node_ports.used())

    before = state()
    err = create_error(cluster, service("bad", **request_spec))
    assert (err.code, err.reason, str(err)) == (422, "Invalid", message)
    # (an address taken before a port was refused is given back: written twice, same bitmap)
    assert state() == before
    with pytest.raises(NotFound):
        cluster.admin.get("services", "bad")


def test_a_taken_node_port_is_refused_and_the_address_taken_first_comes_back(cluster):
    cluster.admin.create(service("a", type="NodePort", ports=[{"port": 80, "nodePort": 30080}]))
    err = create_error(cluster, service("b", type="NodePort", clusterIP="10.96.0.20",
                                        ports=[{"port": 80, "nodePort": 30080}]))
    assert str(err) == ('Service "b" is invalid: spec.ports[0].nodePort: Invalid value: 30080: '
                        "provided port is already allocated")
    assert not cluster.api.services.cluster_ips.has("10.96.0.20")
    assert cluster.admin.create(service("c", clusterIP="10.96.0.20"))["spec"]["clusterIP"] == \
        "10.96.0.20"


def test_refused_later_in_the_pipeline_leaves_nothing_allocated(cluster):
    """Allocation runs before validation (BeginCreate): a refusal after it is undone."""
    bad_port_name = service("v", type="NodePort", clusterIP="10.96.0.30",
                            ports=[{"name": "Not_A_Name", "port": 80, "nodePort": 30030}])
    err = create_error(cluster, bad_port_name)
    assert err.code == 422 and "spec.ports[0].name" in str(err)
    cluster.admin.create(service("web", clusterIP="10.96.0.31"))
    err = create_error(cluster, service("web", type="NodePort", clusterIP="10.96.0.32",
                                        ports=[{"port": 80, "nodePort": 30032}]))
    assert isinstance(err, AlreadyExists)
    for ip in ("10.96.0.30", "10.96.0.32"):
        assert not cluster.api.services.cluster_ips.has(ip)
    assert cluster.api.services.node_ports.used() == 0
    cluster.admin.create(service("again", type="NodePort", clusterIP="10.96.0.30",
                                 ports=[{"port": 80, "nodePort": 30030}]))


def test_a_full_range_is_upstreams_internal_error():
    # a /28, 14 usable addresses: no smaller range has a 10th address for kube-dns
    cluster = kl.Cluster(seed=0, service_cidr="10.96.0.0/28",
                         service_node_port_range="30000-30001")
    ips = {cluster.admin.create(service(f"s{i}"))["spec"]["clusterIP"] for i in range(12)}
    # .1 is the kubernetes Service's, .10 kube-dns's
    assert ips == {f"10.96.0.{i}" for i in range(2, 15)} - {"10.96.0.10"}
    err = create_error(cluster, service("one-too-many"))
    assert (err.code, err.reason) == (500, "InternalError")
    assert str(err) == "Internal error occurred: failed to allocate a serviceIP: range is full"
    # errors.NewInternalError's Status, as the 500 body carries it (alloc.go allocIPs, v1.32)
    assert err.status["details"] == {
        "causes": [{"message": "failed to allocate a serviceIP: range is full"}]}
    cluster.admin.delete("services", "s0")
    cluster.admin.create(service("np0", type="NodePort"))
    cluster.admin.delete("services", "s1")
    cluster.admin.create(service("np1", type="NodePort"))
    cluster.admin.delete("services", "s2")
    err = create_error(cluster, service("np2", type="NodePort"))
    assert str(err) == "Internal error occurred: failed to allocate a nodePort: range is full"
    assert cluster.api.services.cluster_ips.free() == 1  # the refused one gave its address back


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        kl.Cluster(service_cidr="10.96.0.0/40")
    with pytest.raises(ValueError, match="can't generate IP with index 10 from subnet"):
        kl.Cluster(service_cidr="10.96.0.0/29")  # kubeadm's GetDNSIP: no room for kube-dns
    with pytest.raises(ValueError, match="unable to parse port range"):
        kl.Cluster(service_node_port_range="30000-")


# -- release, updates, dry runs -----------------------------------------------------------------


def test_delete_releases_address_and_ports_and_the_endpoints_go_too(cluster):
    spec = cluster.admin.create(service("web", type="NodePort",
                                        ports=[{"port": 80, "nodePort": 30080}]))["spec"]
    endpoints, _ = endpoints_for("default", "web", ["10.244.1.5"], [{"port": 80}])
    cluster.admin.create(endpoints)
    cluster.admin.delete("services", "web")
    with pytest.raises(NotFound):
        cluster.admin.get("endpoints", "web")  # the service storage's afterDelete
    assert not cluster.api.services.cluster_ips.has(spec["clusterIP"])
    again = cluster.admin.create(service("web2", type="NodePort", clusterIP=spec["clusterIP"],
                                         ports=[{"port": 80, "nodePort": 30080}]))
    assert again["spec"]["clusterIP"] == spec["clusterIP"]


def test_a_finalizer_keeps_the_address_until_the_service_is_gone(cluster):
    svc = service("kept", clusterIP="10.96.0.40")
    svc["metadata"]["finalizers"] = ["example.com/hold"]
    cluster.admin.create(svc)
    cluster.admin.delete("services", "kept")
    assert cluster.api.services.cluster_ips.has("10.96.0.40")
    cluster.admin.patch("services", "kept", {"metadata": {"finalizers": None}})
    with pytest.raises(NotFound):
        cluster.admin.get("services", "kept")
    assert not cluster.api.services.cluster_ips.has("10.96.0.40")


def test_namespace_deletion_releases_its_services(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    cluster.admin.create(service("web", clusterIP="10.96.0.50"), "team")
    cluster.admin.delete("namespaces", "team")
    cluster.run(10)
    assert not cluster.api.services.cluster_ips.has("10.96.0.50")


def test_type_changes_allocate_and_release(cluster):
    spec = cluster.admin.create(service("web", type="NodePort",
                                        ports=[{"port": 80, "nodePort": 30080}]))["spec"]
    ip = spec["clusterIP"]
    # NodePort -> ClusterIP: the strategy drops the unchanged nodePort, the port is released
    spec = cluster.admin.patch("services", "web", {"spec": {"type": "ClusterIP"}})["spec"]
    assert "nodePort" not in spec["ports"][0] and "externalTrafficPolicy" not in spec
    assert not cluster.api.services.node_ports.has(30080) and spec["clusterIP"] == ip
    # ClusterIP -> NodePort: a new port
    spec = cluster.admin.patch("services", "web", {"spec": {"type": "NodePort"}})["spec"]
    assert cluster.api.services.node_ports.allocated() == [spec["ports"][0]["nodePort"]]
    # -> ExternalName: address and port released, the IP fields dropped
    spec = cluster.admin.patch("services", "web", {"spec": {
        "type": "ExternalName", "externalName": "db.example.com"}})["spec"]
    for field in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        assert field not in spec
    assert not cluster.api.services.cluster_ips.has(ip)
    assert cluster.api.services.node_ports.used() == 0
    assert cluster.get("services").set_index("NAME").loc["web", "CLUSTER-IP"] == "<none>"
    # ExternalName -> ClusterIP: a fresh address
    spec = cluster.admin.patch("services", "web", {"spec": {
        "type": "ClusterIP", "externalName": None, "ports": [{"port": 80}]}})["spec"]
    assert cluster.api.services.cluster_ips.has(spec["clusterIP"])


def test_an_update_keeps_what_was_allocated_and_refuses_a_changed_address(cluster):
    created = cluster.admin.create(service("web", type="NodePort", selector={"app": "web"},
                                           ports=[{"name": "http", "port": 80}]))
    node_port = created["spec"]["ports"][0]["nodePort"]
    resubmitted = service("web", type="NodePort", selector={"app": "web"},
                          ports=[{"name": "http", "port": 81}])  # patchAllocatedValues
    spec = cluster.admin.update(resubmitted)["spec"]
    assert spec["clusterIP"] == created["spec"]["clusterIP"]
    assert spec["ports"][0]["nodePort"] == node_port
    resubmitted["spec"]["clusterIP"] = "10.96.0.99"
    with pytest.raises(Invalid) as err:
        cluster.admin.update(resubmitted)
    assert str(err.value) == ('Service "web" is invalid: spec.clusterIPs[0]: Invalid value: '
                              '[]string{"10.96.0.99"}: may not change once set')
    assert not cluster.api.services.cluster_ips.has("10.96.0.99")


def test_health_check_node_port_is_for_local_load_balancers_only(cluster):
    lb = cluster.admin.create(service("lb", type="LoadBalancer",
                                      externalTrafficPolicy="Local"))["spec"]
    assert cluster.api.services.node_ports.has(lb["healthCheckNodePort"])
    np = cluster.admin.create(service("np", type="NodePort",
                                      externalTrafficPolicy="Local"))["spec"]
    assert "healthCheckNodePort" not in np  # apiservice.NeedsHealthCheck: LoadBalancer only
    err = create_error(cluster, service("lb2", type="LoadBalancer", externalTrafficPolicy="Local",
                                        healthCheckNodePort=lb["healthCheckNodePort"]))
    assert str(err) == (f'Service "lb2" is invalid: spec.healthCheckNodePort: Invalid value: '
                        f"{lb['healthCheckNodePort']}: failed to allocate requested HealthCheck "
                        f"NodePort {lb['healthCheckNodePort']}: provided port is already "
                        "allocated")
    cluster.admin.patch("services", "lb", {"spec": {"externalTrafficPolicy": "Cluster"}})
    assert not cluster.api.services.node_ports.has(lb["healthCheckNodePort"])


def test_dry_run_allocates_nothing(cluster):
    revision = cluster.etcd.revision
    ranges = stored_range(cluster, SERVICE_IPS_KEY), stored_range(cluster, NODE_PORTS_KEY)
    spec = cluster.admin.create(service("web", type="NodePort"), dry_run=True)["spec"]
    # upstream's dry run shows placeholders: the network address, port 32769
    assert (spec["clusterIP"], spec["ports"][0]["nodePort"]) == ("10.96.0.0", 32769)
    # a requested address is only checked against the range, not for being free (bitmap.go)
    spec = cluster.admin.create(service("dup", clusterIP="10.96.0.1"), dry_run=True)["spec"]
    assert spec["clusterIP"] == "10.96.0.1"
    assert cluster.etcd.revision == revision
    assert (stored_range(cluster, SERVICE_IPS_KEY), stored_range(cluster, NODE_PORTS_KEY)) == \
        ranges
    real = cluster.admin.create(service("web", type="NodePort"))["spec"]
    cluster.admin.request("delete", cluster.admin.info("services"), namespace="default",
                          name="web", query={"dryRun": "All"})
    assert cluster.api.services.cluster_ips.has(real["clusterIP"])
    assert cluster.admin.get("services", "web")


# -- the ranges in etcd --------------------------------------------------------------------------


def test_the_range_allocations_in_etcd_follow_every_change(cluster):
    at_start = 1 | 1 << 9  # 10.96.0.1 (kubernetes) and 10.96.0.10 (kube-dns), bit = ip - .1
    assert stored_range(cluster, SERVICE_IPS_KEY) == ("10.96.0.0/12", at_start)
    assert stored_range(cluster, NODE_PORTS_KEY) == ("30000-32767", 0)
    spec = cluster.admin.create(service("web", type="NodePort"))["spec"]
    offset = int(ipaddress.ip_address(spec["clusterIP"])) - int(
        ipaddress.ip_address("10.96.0.1"))
    assert stored_range(cluster, SERVICE_IPS_KEY)[1] == at_start | 1 << offset
    port = spec["ports"][0]["nodePort"]
    assert stored_range(cluster, NODE_PORTS_KEY)[1] == 1 << (port - 30000)
    cluster.admin.delete("services", "web")
    assert stored_range(cluster, SERVICE_IPS_KEY)[1] == at_start
    assert stored_range(cluster, NODE_PORTS_KEY)[1] == 0


def test_a_second_api_server_over_the_same_etcd_agrees(cluster):
    """Each allocation reads the stored bitmap first: two API servers never hand out one item."""
    first = cluster.admin
    other = APIServer(cluster.sim, cluster.etcd, authenticator=cluster.authenticator)
    second = Client(other, cluster.authenticator.issue(admin()))
    assert other.services.cluster_ips.has("10.96.0.1")  # rebuilt from etcd at start
    taken = set()
    for i in range(20):
        client = first if i % 2 else second
        spec = client.create(service(f"s{i}", type="NodePort"))["spec"]
        taken.add((spec["clusterIP"], spec["ports"][0]["nodePort"]))
    assert len({ip for ip, _ in taken}) == len({p for _, p in taken}) == 20
    s1 = first.get("services", "s1")["spec"]  # made through the first API server
    with pytest.raises(Invalid, match="provided IP is already allocated"):
        second.create(service("dup", clusterIP=s1["clusterIP"]))
    with pytest.raises(Invalid, match="provided port is already allocated"):
        second.create(service("dup", type="NodePort", ports=[
            {"port": 80, "nodePort": s1["ports"][0]["nodePort"]}]))
    first.delete("services", "s1")  # released through the first, reusable through the second
    reused = second.create(service("reuse", type="NodePort", clusterIP=s1["clusterIP"], ports=[
        {"port": 80, "nodePort": s1["ports"][0]["nodePort"]}]))["spec"]
    assert reused["clusterIP"] == s1["clusterIP"]
    # 20 Services, and the kubernetes and kube-dns ones
    _, bits = stored_range(cluster, SERVICE_IPS_KEY)
    assert bits.bit_count() == other.services.cluster_ips.used() == 22


def test_repair_frees_a_leak_after_three_rounds_and_records_what_it_fixed(cluster):
    ips = cluster.api.services.cluster_ips
    ips.allocate("10.96.0.77")  # taken, but no Service holds it
    spec = cluster.admin.create(service("web"))["spec"]
    # 10.96.0.1, 10.96.0.10 (kube-dns) and the leaked 10.96.0.77: web's address is lost
    bits = 1 | 1 << 9 | 1 << 76
    cluster.etcd.put(SERVICE_IPS_KEY, json.dumps({
        "kind": "RangeAllocation", "apiVersion": "v1", "metadata": {"creationTimestamp": None},
        "range": "10.96.0.0/12",
        "data": base64.b64encode(bits.to_bytes((bits.bit_length() + 7) // 8, "big")).decode()}))
    cluster.run(REPAIR_INTERVAL + 1)  # the first round after the one at start
    fixed = list(cluster.events("ipallocator-repair-controller").itertuples())
    assert [(r.reason, r.object) for r in fixed] == [
        ("ClusterIPNotAllocated", "service/default/web")]
    assert fixed[0].message == f"Cluster IP [IPv4]:{spec['clusterIP']} is not allocated; repairing"
    assert ips.has(spec["clusterIP"]) and ips.has("10.96.0.77")
    cluster.run(REPAIR_INTERVAL)
    assert ips.has("10.96.0.77")
    cluster.run(REPAIR_INTERVAL)  # the third round since it was seen: let go
    assert not ips.has("10.96.0.77") and ips.has(spec["clusterIP"])


# -- the kubernetes Service and its endpoints ----------------------------------------------------


def test_the_kubernetes_service_points_at_the_api_server(cluster):
    svc = cluster.admin.get("services", "kubernetes")
    assert svc["metadata"]["labels"] == {"component": "apiserver", "provider": "kubernetes"}
    assert svc["spec"] == {
        "clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster",
        "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
        "sessionAffinity": "None", "type": "ClusterIP"}
    endpoints = cluster.admin.get("endpoints", "kubernetes")
    assert endpoints["metadata"]["labels"] == {LABEL_SKIP_MIRROR: "true"}
    assert endpoints["subsets"] == [{"addresses": [{"ip": CONTROL_PLANE_IP}],
                                     "ports": [{"name": "https", "port": 6443,
                                                "protocol": "TCP"}]}]
    eps = cluster.admin.get("endpointslices", "kubernetes")
    assert eps["metadata"]["labels"] == {LABEL_SERVICE_NAME: "kubernetes"}  # no managed-by
    assert (eps["addressType"], eps["endpoints"], eps["ports"]) == (
        "IPv4", [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}],
        [{"name": "https", "port": 6443, "protocol": "TCP"}])
    assert cluster.get("endpoints").set_index("NAME").loc["kubernetes", "ENDPOINTS"] == \
        "172.18.0.2:6443"
    # the system priority classes' post-start hook first, then the kubernetes service controller
    assert cluster.audit().query("user == 'system:apiserver' and verb == 'create'")[
        "resource"].tolist() == ["priorityclasses", "priorityclasses", "services", "endpoints",
                                 "endpointslices"]


def test_the_master_lease_is_renewed_every_10s_with_a_15s_ttl(cluster):
    key = "/registry/masterleases/172.18.0.2"
    first = cluster.etcd.get(key)
    assert json.loads(first.value)["subsets"] == [{"addresses": [{"ip": "172.18.0.2"}]}]
    assert cluster.etcd.time_to_live(first.lease).granted_ttl == 15
    cluster.run(1)  # second 0: the controllers' first writes (each namespace's kube-root-ca.crt)
    revision = cluster.etcd.revision
    cluster.run(34)  # rounds at 10, 20 and 30 s
    assert cluster.etcd.revision == revision + 3  # the lease, and nothing else, each round
    assert json.loads(cluster.etcd.get(key).value)["metadata"]["generation"] == 4


def test_a_second_api_server_joins_and_drops_out_with_its_lease(cluster):
    leases = MasterLeases(cluster.sim, cluster.etcd)
    leases.update_lease("172.18.0.9")
    cluster.run(11)  # the next round, at 10 s
    ips = {a["ip"] for a in cluster.admin.get("endpoints", "kubernetes")["subsets"][0][
        "addresses"]}
    assert ips == {"172.18.0.2", "172.18.0.9"}
    assert len(cluster.admin.get("endpointslices", "kubernetes")["endpoints"]) == 2
    cluster.run(20)  # not renewed: gone after its 15s TTL, and from the endpoints next round
    assert cluster.admin.get("endpointslices", "kubernetes")["endpoints"] == [
        {"addresses": ["172.18.0.2"], "conditions": {"ready": True}}]


def test_a_deleted_kubernetes_service_comes_back(cluster):
    cluster.admin.delete("services", "kubernetes")
    cluster.run(11)  # the next round, at 10 s
    assert cluster.admin.get("services", "kubernetes")["spec"]["clusterIP"] == "10.96.0.1"


def test_controllers_leave_selector_less_services_alone():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.admin.create(service("db", ports=[{"name": "pg", "port": 5432}]))
    endpoints, slice_ = sync_endpoints(cluster.admin, "default", "db", ["192.0.2.10"],
                                       [{"name": "pg", "port": 5432, "protocol": "TCP"}])
    cluster.run(60)
    for resource, name, stored in (("endpoints", "db", endpoints),
                                   ("endpointslices", "db", slice_)):
        assert cluster.admin.get(resource, name)["metadata"]["resourceVersion"] == \
            stored["metadata"]["resourceVersion"]
    slices = cluster.admin.list("endpointslices")["items"]
    # no others: the API server's and kubeadm's kube-dns are selector-less too
    assert sorted(s["metadata"]["name"] for s in slices) == ["db", "kube-dns", "kubernetes"]
    assert not [r for r in cluster.events().itertuples() if "db" in str(r.object)
                and r.component in ("endpoint-controller", "endpointslice-controller")]


def test_sync_endpoints_writes_only_what_changed(cluster):
    ports = [{"name": "dns", "port": 53, "protocol": "UDP"},
             {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
             {"name": "metrics", "port": 9153, "protocol": "TCP"}]
    # kube-dns's ports, on a selector-less Service of our own
    cluster.admin.create(service("dns", ports=[
        {"name": p["name"], "port": p["port"], "protocol": p["protocol"]} for p in ports]))
    endpoints, eps = sync_endpoints(cluster.admin, "default", "dns", [CONTROL_PLANE_IP], ports)
    assert endpoints["subsets"][0]["ports"] == ports
    assert eps["ports"] == ports and eps["metadata"]["name"] == "dns"
    revision = cluster.etcd.revision
    sync_endpoints(cluster.admin, "default", "dns", [CONTROL_PLANE_IP], ports)
    assert cluster.etcd.revision == revision
    # the cluster wrote kube-dns's at start (addon_manifests) just as sync_endpoints would
    sync_endpoints(cluster.admin, "kube-system", "kube-dns", [CONTROL_PLANE_IP], ports)
    assert cluster.etcd.revision == revision
    _, eps = sync_endpoints(cluster.admin, "default", "dns", ["172.18.0.5"], ports)
    assert eps["endpoints"] == [{"addresses": ["172.18.0.5"], "conditions": {"ready": True}}]
    assert cluster.etcd.revision == revision + 2  # one Endpoints update, one EndpointSlice


def test_worker_nodes_follow_the_control_plane():
    assert CONTROL_PLANE_IP == "172.18.0.2"
    assert node_network(1) == ("172.18.0.3", "10.244.1.0/24")
    assert node_network(2) == ("172.18.0.4", "10.244.2.0/24")
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(1)
    assert list(cluster.get("nodes", wide=True)["INTERNAL-IP"]) == ["172.18.0.3", "172.18.0.4"]


# -- printing ------------------------------------------------------------------------------------


def test_get_services_prints_as_kubectl(cluster):
    cluster.admin.create(service("np", type="NodePort", selector={"app": "web"},
                                 ports=[{"port": 80, "nodePort": 30080}]))
    cluster.admin.create(service("lb", type="LoadBalancer", selector={"app": "web"},
                                 ports=[{"port": 443, "nodePort": 30443}]))
    cluster.admin.create(service("ext", type="ExternalName", externalName="db.example.com",
                                 ports=[]))
    cluster.admin.create(service("hl", clusterIP="None", selector={"app": "web"}))
    table = cluster.get("services", wide=True).set_index("NAME")
    assert list(table.columns) == ["TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE",
                                   "SELECTOR"]
    rows = {name: list(row[["TYPE", "EXTERNAL-IP", "PORT(S)", "SELECTOR"]])
            for name, row in table.iterrows()}
    assert rows == {"ext": ["ExternalName", "db.example.com", "<none>", "<none>"],
                    "hl": ["ClusterIP", "<none>", "80/TCP", "app=web"],
                    "kubernetes": ["ClusterIP", "<none>", "443/TCP", "<none>"],
                    "lb": ["LoadBalancer", "<pending>", "443:30443/TCP", "app=web"],
                    "np": ["NodePort", "<none>", "80:30080/TCP", "app=web"]}
    assert (table.loc["ext", "CLUSTER-IP"], table.loc["hl", "CLUSTER-IP"]) == ("<none>", "None")
    lb = cluster.admin.get("services", "lb")
    lb["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}, {"hostname": "a.example"},
                                                 {"ip": "198.51.100.7"}]}}
    cluster.admin.update_status(lb)
    # loadBalancerStatusStringer: a sorted set; the server prints wide, so nothing is cut
    assert cluster.get("services").set_index("NAME").loc["lb", "EXTERNAL-IP"] == \
        "198.51.100.7,203.0.113.9,a.example"


def test_describe_the_kubernetes_service_as_kubectl_does(cluster):
    assert cluster.describe("service", "kubernetes") == (
        "Name:                     kubernetes\n"
        "Namespace:                default\n"
        "Labels:                   component=apiserver\n"
        "                          provider=kubernetes\n"
        "Annotations:              <none>\n"
        "Selector:                 <none>\n"
        "Type:                     ClusterIP\n"
        "IP Family Policy:         SingleStack\n"
        "IP Families:              IPv4\n"
        "IP:                       10.96.0.1\n"
        "IPs:                      10.96.0.1\n"
        "Port:                     https  443/TCP\n"
        "TargetPort:               6443/TCP\n"
        "Endpoints:                172.18.0.2:6443\n"
        "Session Affinity:         None\n"
        "Internal Traffic Policy:  Cluster\n"
        "Events:                   <none>\n")


def test_before_the_first_repair_nothing_can_be_allocated():
    """The ranges exist once the repair loops ran (start-service-ip-repair-controllers)."""
    cluster = kl.Cluster(seed=0)
    bare = APIServer(cluster.sim, kl.cluster.Store(cluster.sim),
                     authenticator=cluster.authenticator, bootstrap=False)
    with pytest.raises(StatusError) as err:
        bare.services.begin_create(service("early"))
    assert (err.value.code, str(err.value)) == (
        500, "Internal error occurred: failed to allocate a serviceIP: cannot allocate resources "
             "of type serviceipallocations at this time")
    bare.repair_service_ranges()
    spec = service("early")
    bare.services.begin_create(spec).commit()
    assert bare.services.cluster_ips.has(spec["spec"]["clusterIP"])
