"""The cluster DNS: CoreDNS's kubernetes plugin as kubeadm configures it, and a pod's lookups.

The record cases are coredns plugin/kubernetes handler_test.go (v1.11.3) and
handler_pod_insecure_test.go, rebuilt as real objects in a cluster; the TTL is
kubeadm's 30, not the plugin's default 5. IPv6 ClusterIPs are left out
(kubelearn's service CIDR is IPv4); IPv6 endpoints are kept.
"""

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden
from kubelearn.apiserver import authn
from kubelearn.kubelet import KubeletConfig
from kubelearn.proxy.dns import (
    CACHE_MAX_TTL,
    ClusterDNS,
    Record,
    ResolvConf,
    addon_manifests,
    corefile,
    dns_ip,
    parse_request,
    reverse_address,
)

ZONE = "cluster.local."
FAIL_READINESS = "sim.kubelearn.io/web.fail-readiness-after"


def coredns_client(cluster: kl.Cluster):
    return cluster.client(authn.service_account_user("kube-system", "coredns"))


def own_dns(cluster: kl.Cluster, *, start: bool = True, **options) -> ClusterDNS:
    """A second DNS server beside ``cluster.dns``, built with ``options``.

    The cluster already made kubeadm's objects (addon_manifests) and runs its own; this
    one is another client of the API server as kube-system:coredns, reading the same
    objects -- a second CoreDNS replica, as kubeadm runs two.
    """
    dns = ClusterDNS(cluster.sim, coredns_client(cluster), **options)
    if start:
        dns.start()
    return dns


def service(name, namespace="default", **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace}, "spec": spec}


def endpoint_slice(name, service_name, namespace, addresses, ports, address_type="IPv4") -> dict:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {"kubernetes.io/service-name": service_name}},
            "addressType": address_type,
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True},
                           **({"hostname": host} if host else {})} for ip, host in addresses],
            "ports": ports}


HTTP = [{"name": "http", "port": 80, "protocol": "TCP"}]


@pytest.fixture(scope="module")
def testns():
    """handler_test.go's svcIndex and epsIndex, as Services and EndpointSlices."""
    cluster = kl.Cluster(seed=0)
    dns = own_dns(cluster, upstream={"ext.interwebs.test": "1.2.3.4"})
    for ns in ("testns", "podns"):
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    objects = [
        service("svc1", "testns", clusterIP="10.96.0.101", ports=HTTP),
        endpoint_slice("svc1-slice1", "svc1", "testns", [("172.0.0.1", "ep1a")], HTTP),
        service("svcempty", "testns", clusterIP="10.96.0.102", ports=HTTP),
        endpoint_slice("svcempty-slice1", "svcempty", "testns", [], HTTP),
        service("hdls1", "testns", clusterIP="None", ports=HTTP),
        endpoint_slice("hdls1-slice1", "hdls1", "testns",
                       [("172.0.0.2", ""), ("172.0.0.3", ""), ("172.0.0.4", "dup-name"),
                        ("172.0.0.5", "dup-name")], HTTP),
        endpoint_slice("hdls1-slice2", "hdls1", "testns",
                       [("5678:abcd::1", ""), ("5678:abcd::2", "")], HTTP, "IPv6"),
        service("hdlsprtls", "testns", clusterIP="None"),
        endpoint_slice("hdlsprtls-slice1", "hdlsprtls", "testns", [("172.0.0.20", "")], []),
        service("external", "testns", type="ExternalName", externalName="ext.interwebs.test",
                ports=HTTP),
        service("external-to-service", "testns", type="ExternalName",
                externalName="svc1.testns.svc.cluster.local", ports=HTTP),
    ]
    for obj in objects:
        cluster.admin.create(obj)
    return dns


def answer(dns: ClusterDNS, name: str, qtype: str = "A") -> tuple[str, list[str]]:
    """The rcode and the records as dig prints them, sorted (the order is shuffled)."""
    got = dns.query(name, qtype)
    return got.rcode, sorted(str(r) for r in got.records)


def rr(text: str) -> str:
    name, ttl, _, rtype, data = text.split(None, 4)
    return str(Record(name, rtype, int(ttl), data))


# -- handler_test.go dnsTestCases ----------------------------------------------------------------

@pytest.mark.parametrize("qname, qtype, rcode, records", [
    # A Service
    ("svc1.testns.svc.cluster.local.", "A", "NOERROR",
     ["svc1.testns.svc.cluster.local. 30 IN A 10.96.0.101"]),
    ("svcempty.testns.svc.cluster.local.", "A", "NOERROR",
     ["svcempty.testns.svc.cluster.local. 30 IN A 10.96.0.102"]),
    ("svc1.testns.svc.cluster.local.", "SRV", "NOERROR",
     ["svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 svc1.testns.svc.cluster.local."]),
    ("svcempty.testns.svc.cluster.local.", "SRV", "NOERROR",
     ["svcempty.testns.svc.cluster.local. 30 IN SRV 0 100 80 svcempty.testns.svc.cluster.local."]),
    # SRV Service
    ("_http._tcp.svc1.testns.svc.cluster.local.", "SRV", "NOERROR",
     ["_http._tcp.svc1.testns.svc.cluster.local. 30 IN SRV 0 100 80 "
      "svc1.testns.svc.cluster.local."]),
    # A Service (Headless): only the IPv4 endpoints
    ("hdls1.testns.svc.cluster.local.", "A", "NOERROR",
     [f"hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.{i}" for i in (2, 3, 4, 5)]),
    # A Service (Headless and Portless)
    ("hdlsprtls.testns.svc.cluster.local.", "A", "NOERROR",
     ["hdlsprtls.testns.svc.cluster.local. 30 IN A 172.0.0.20"]),
    # An Endpoint with no port; by IP; by name (two endpoints share it)
    ("172-0-0-20.hdlsprtls.testns.svc.cluster.local.", "A", "NOERROR",
     ["172-0-0-20.hdlsprtls.testns.svc.cluster.local. 30 IN A 172.0.0.20"]),
    ("172-0-0-2.hdls1.testns.svc.cluster.local.", "A", "NOERROR",
     ["172-0-0-2.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.2"]),
    ("172-0-0-3.hdls1.testns.svc.cluster.local.", "A", "NOERROR",
     ["172-0-0-3.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.3"]),
    ("dup-name.hdls1.testns.svc.cluster.local.", "A", "NOERROR",
     ["dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.4",
      "dup-name.hdls1.testns.svc.cluster.local. 30 IN A 172.0.0.5"]),
    # SRV Service (Headless): 6 targets weigh 100/6 = 16 each; dup-name twice is one record
    ("_http._tcp.hdls1.testns.svc.cluster.local.", "SRV", "NOERROR",
     [f"_http._tcp.hdls1.testns.svc.cluster.local. 30 IN SRV 0 16 80 {h}.hdls1.testns.svc."
      "cluster.local." for h in ("172-0-0-2", "172-0-0-3", "5678-abcd--1", "5678-abcd--2",
                                 "dup-name")]),
    # AAAA
    ("5678-abcd--2.hdls1.testns.svc.cluster.local", "AAAA", "NOERROR",
     ["5678-abcd--2.hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::2"]),
    ("hdls1.testns.svc.cluster.local.", "AAAA", "NOERROR",
     ["hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::1",
      "hdls1.testns.svc.cluster.local. 30 IN AAAA 5678:abcd::2"]),
    # CNAME External, and its A: the CNAME and the target's addresses from upstream
    ("external.testns.svc.cluster.local.", "CNAME", "NOERROR",
     ["external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test."]),
    ("external.testns.svc.cluster.local.", "A", "NOERROR",
     ["ext.interwebs.test. 30 IN A 1.2.3.4",
      "external.testns.svc.cluster.local. 30 IN CNAME ext.interwebs.test."]),
    # CNAME External To Internal Service
    ("external-to-service.testns.svc.cluster.local", "A", "NOERROR",
     ["external-to-service.testns.svc.cluster.local. 30 IN CNAME svc1.testns.svc.cluster.local.",
      "svc1.testns.svc.cluster.local. 30 IN A 10.96.0.101"]),
    # AAAA Service with an A record but no AAAA; missing service; missing namespace
    ("svc1.testns.svc.cluster.local.", "AAAA", "NOERROR", []),
    ("svc0.testns.svc.cluster.local.", "AAAA", "NXDOMAIN", []),
    ("svc0.testns.svc.cluster.local.", "A", "NXDOMAIN", []),
    ("svc0.svc-nons.svc.cluster.local.", "A", "NXDOMAIN", []),
    # TXT: the schema (its 28800 s TTL capped by `cache 30`), NODATA, NXDOMAIN
    ("dns-version.cluster.local.", "TXT", "NOERROR",
     ["dns-version.cluster.local. 30 IN TXT 1.1.0"]),
    ("svc1.testns.svc.cluster.local.", "TXT", "NOERROR", []),
    ("svc0.svc-nons.svc.cluster.local.", "TXT", "NXDOMAIN", []),
    # no such endpoint of a headless service; of a missing service
    ("bogusendpoint.hdls1.testns.svc.cluster.local.", "A", "NXDOMAIN", []),
    ("bogusendpoint.svc0.testns.svc.cluster.local.", "A", "NXDOMAIN", []),
    # names that exist but hold no records
    ("svc.cluster.local.", "A", "NOERROR", []),
    ("pod.cluster.local.", "A", "NOERROR", []),
    ("testns.svc.cluster.local.", "A", "NOERROR", []),
    ("svc.cluster.local.", "NS", "NOERROR", []),
    ("testns.svc.cluster.local.", "NS", "NOERROR", []),
    ("foo.cluster.local.", "NS", "NXDOMAIN", []),
    ("foo.svc.cluster.local.", "NS", "NXDOMAIN", []),
    ("svc1.testns.svc.cluster.local.", "SOA", "NOERROR", []),
    # a name under an ExternalName service is not the service
    ("endpoint.external.testns.svc.cluster.local.", "CNAME", "NXDOMAIN", []),
    ("subdomain.subdomain.external.testns.svc.cluster.local.", "CNAME", "NXDOMAIN", []),
    # SRV of a portless headless service: its port -1 gives no record
    ("hdlsprtls.testns.svc.cluster.local.", "SRV", "NOERROR", []),
])
def test_coredns_handler_cases(testns, qname, qtype, rcode, records):
    assert answer(testns, qname, qtype) == (rcode, sorted(rr(r) for r in records))


# -- handler_pod_insecure_test.go -----------------------------------------------------------------

@pytest.mark.parametrize("qname, qtype, rcode, records", [
    ("10-240-0-1.podns.pod.cluster.local.", "A", "NOERROR",
     ["10-240-0-1.podns.pod.cluster.local. 30 IN A 10.240.0.1"]),
    ("172-0-0-2.podns.pod.cluster.local.", "A", "NOERROR",
     ["172-0-0-2.podns.pod.cluster.local. 30 IN A 172.0.0.2"]),
    ("blah.podns.pod.cluster.local.", "A", "NXDOMAIN", []),
    ("blah.podns.pod.cluster.local.", "AAAA", "NXDOMAIN", []),
    ("blah.podns.pod.cluster.local.", "HINFO", "NXDOMAIN", []),
    ("blah.pod-nons.pod.cluster.local.", "A", "NXDOMAIN", []),
    ("podns.pod.cluster.local.", "A", "NOERROR", []),
    # no pod need exist: the address is read from the name ("pods insecure")
    ("10-244-9-9.podns.pod.cluster.local.", "A", "NOERROR",
     ["10-244-9-9.podns.pod.cluster.local. 30 IN A 10.244.9.9"]),
    ("010-244-9-9.podns.pod.cluster.local.", "A", "NXDOMAIN", []),  # not an address
])
def test_pods_insecure(testns, qname, qtype, rcode, records):
    assert answer(testns, qname, qtype) == (rcode, sorted(rr(r) for r in records))


# -- reverse lookups, the zone's own records -------------------------------------------------------

def test_ptr_for_cluster_ips_and_endpoints(testns):
    assert answer(testns, "101.0.96.10.in-addr.arpa.", "PTR") == (
        "NOERROR", [rr("101.0.96.10.in-addr.arpa. 30 IN PTR svc1.testns.svc.cluster.local.")])
    assert answer(testns, "1.0.0.172.in-addr.arpa.", "PTR") == (
        "NOERROR", [rr("1.0.0.172.in-addr.arpa. 30 IN PTR ep1a.svc1.testns.svc.cluster.local.")])
    # not the cluster's: `fallthrough in-addr.arpa` hands it to forward, which knows it not
    assert answer(testns, "99.99.99.10.in-addr.arpa.", "PTR") == ("NXDOMAIN", [])
    assert reverse_address("1.0.96.10.in-addr.arpa.") == "10.96.0.1"
    assert reverse_address("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.c.b.a.8.7.6.5."
                           "ip6.arpa.") == "5678:abcd::2"
    assert reverse_address("0.96.10.in-addr.arpa.") == ""


def test_the_zone_apex(testns):
    rcode, [soa] = answer(testns, "cluster.local.", "SOA")
    name, ttl, _, rtype, data = soa.split("\t")
    assert (rcode, name, ttl, rtype) == ("NOERROR", ZONE, "30", "SOA")
    mname, rname, serial, *timers = data.split()
    assert (mname, rname, timers) == ("ns.dns.cluster.local.", "hostmaster.cluster.local.",
                                      ["7200", "1800", "86400", "30"])
    assert int(serial) == int(testns.sim.epoch.timestamp() + testns.modified)
    # the name server: the kube-dns Service, whose endpoint is the machine the DNS runs on
    assert answer(testns, "cluster.local.", "NS") == (
        "NOERROR", [rr("cluster.local. 30 IN NS kube-dns.kube-system.svc.cluster.local.")])
    assert answer(testns, "ns.dns.cluster.local.", "A") == (
        "NOERROR", [rr("ns.dns.cluster.local. 30 IN A 10.96.0.10")])
    assert answer(testns, "cluster.local.", "AXFR") == ("REFUSED", [])


def test_parse_request():
    """parse_test.go, on the zone cluster.local."""
    def parts(name):
        request, error = parse_request(name, ZONE)
        assert error is None
        return ".".join([request.port, request.protocol, request.endpoint, request.service,
                         request.namespace, request.pod_or_svc])
    assert parts("_http._tcp.webs.mynamespace.svc.cluster.local.") == \
        "http.tcp..webs.mynamespace.svc"
    assert parts("1-2-3-4.webs.mynamespace.svc.cluster.local.") == \
        "..1-2-3-4.webs.mynamespace.svc"
    assert parts(ZONE) == parts("svc." + ZONE) == parts("pod." + ZONE) == "....."
    assert parts("..webs.mynamespace.svc.cluster.local.") == "...webs.mynamespace.svc"
    for invalid in ("webs.mynamespace.pood.cluster.local.",
                    "too.long.for.what.i.am.trying.to.pod.cluster.local."):
        assert parse_request(invalid, ZONE)[1] is not None


# -- TTLs and the cache's caps ---------------------------------------------------------------------

def test_forwarded_answers_are_capped_at_the_caches_30s(testns):
    got = testns.query("ext.interwebs.test")  # upstream says 300 s
    assert got.rcode == "NOERROR" and [r.ttl for r in got.records] == [CACHE_MAX_TTL]
    assert testns.query("no-such-name.example").rcode == "NXDOMAIN"


def test_a_low_ttl_is_raised_to_the_caches_minimum():
    cluster = kl.Cluster(seed=0)
    dns = own_dns(cluster, ttl=1)
    assert [r.ttl for r in dns.query("kubernetes.default.svc.cluster.local").records] == [5]


# -- kubeadm's objects -----------------------------------------------------------------------------

def test_dns_ip_is_the_tenth_address_of_the_service_cidr():
    assert dns_ip() == dns_ip("10.96.0.0/12") == "10.96.0.10"
    assert dns_ip("10.96.0.0/12,fd00:10:96::/112") == "10.96.0.10"
    assert dns_ip("fd00:10:96::/112") == "fd00:10:96::a"
    with pytest.raises(ValueError, match='subnet too small. subnet: "10.96.0.0/29"'):
        dns_ip("10.96.0.0/29")
    with pytest.raises(ValueError, match="unable to get internal Kubernetes Service IP"):
        dns_ip("not-a-cidr")


def test_the_kubelets_cluster_dns_is_the_kube_dns_service():
    assert KubeletConfig().cluster_dns == (dns_ip(),)
    assert KubeletConfig().cluster_domain + "." == ZONE


def test_the_corefile_is_kubeadms():
    text = corefile()
    for line in ("kubernetes cluster.local in-addr.arpa ip6.arpa {", "pods insecure",
                 "fallthrough in-addr.arpa ip6.arpa", "ttl 30", "prometheus :9153",
                 "forward . /etc/resolv.conf {", "max_concurrent 1000", "cache 30 {",
                 "disable success cluster.local", "disable denial cluster.local", "loadbalance"):
        assert f"    {line}\n" in text or f"       {line}\n" in text, line


def test_addon_objects_as_applied():
    """What kubeadm's addon phase creates, as every Cluster creates it at start."""
    cluster = kl.Cluster(seed=0)
    assert [(o["kind"], o["metadata"]["name"]) for o in addon_manifests()] == [
        ("ServiceAccount", "coredns"), ("ConfigMap", "coredns"), ("ClusterRole", "system:coredns"),
        ("ClusterRoleBinding", "system:coredns"), ("Service", "kube-dns"),
        ("Endpoints", "kube-dns"), ("EndpointSlice", "kube-dns")]
    assert cluster.admin.get("serviceaccounts", "coredns", "kube-system")
    svc = cluster.admin.get("services", "kube-dns", "kube-system")
    assert svc["metadata"]["labels"] == {"k8s-app": "kube-dns",
                                         "kubernetes.io/cluster-service": "true",
                                         "kubernetes.io/name": "CoreDNS"}
    assert svc["metadata"]["annotations"] == {"prometheus.io/port": "9153",
                                              "prometheus.io/scrape": "true"}
    assert svc["spec"]["clusterIP"] == "10.96.0.10" == cluster.dns.service_ip
    assert "selector" not in svc["spec"]  # the deliberate difference: no CoreDNS pods
    assert [(p["name"], p["port"], p["protocol"], p["targetPort"]) for p in svc["spec"]["ports"]] \
        == [("dns", 53, "UDP", 53), ("dns-tcp", 53, "TCP", 53), ("metrics", 9153, "TCP", 9153)]
    role = cluster.admin.get("clusterroles", "system:coredns")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
         "verbs": ["list", "watch"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
         "verbs": ["list", "watch"]}]
    binding = cluster.admin.get("clusterrolebindings", "system:coredns")
    assert [(s["kind"], s["name"], s["namespace"]) for s in binding["subjects"]] == [
        ("ServiceAccount", "coredns", "kube-system")]
    assert binding["roleRef"]["name"] == "system:coredns"
    assert "ttl 30" in cluster.admin.get("configmaps", "coredns", "kube-system")["data"]["Corefile"]
    cluster.run(30)  # the controllers leave a selector-less Service's objects alone
    endpoints = cluster.admin.get("endpoints", "kube-dns", "kube-system")
    assert endpoints["subsets"][0]["addresses"] == [{"ip": "172.18.0.2"}]
    (eps,) = cluster.admin.list("endpointslices", "kube-system")["items"]
    assert eps["metadata"]["labels"]["kubernetes.io/service-name"] == "kube-dns"
    assert eps["endpoints"][0]["addresses"] == ["172.18.0.2"]
    assert [p["name"] for p in eps["ports"]] == ["dns", "dns-tcp", "metrics"]


def test_coredns_may_list_and_watch_what_it_serves_and_nothing_else():
    cluster = kl.Cluster(seed=0)
    client = coredns_client(cluster)
    for resource in ("services", "endpointslices", "namespaces", "pods", "endpoints"):
        assert client.can_i("list", resource) and client.can_i("watch", resource)
    assert not client.can_i("get", "services", "default")
    assert not client.can_i("create", "services", "default")
    with pytest.raises(Forbidden):
        client.create(service("evil", ports=HTTP))


def test_without_its_rbac_the_dns_cannot_start():
    cluster = kl.Cluster(seed=0)
    cluster.admin.delete("clusterrolebindings", "system:coredns")
    with pytest.raises(Forbidden, match="cannot list resource"):
        own_dns(cluster)


# -- watching: what the answers follow -------------------------------------------------------------

def test_before_its_caches_sync_a_missing_name_is_servfail():
    cluster = kl.Cluster(seed=0)
    dns = own_dns(cluster, start=False)
    assert dns.query("svc0.default.svc.cluster.local").rcode == "SERVFAIL"
    dns.start()
    assert dns.query("svc0.default.svc.cluster.local").rcode == "NXDOMAIN"
    assert dns.query("kubernetes.default.svc.cluster.local").addresses == ["10.96.0.1"]


def test_a_service_created_later_is_answered_and_a_deleted_one_is_gone():
    cluster = kl.Cluster(seed=0)
    dns = cluster.dns
    name = "redis.default.svc.cluster.local"
    assert dns.query(name).rcode == "NXDOMAIN"
    (svc,) = cluster.apply(service("redis", selector={"app": "redis"},
                                   ports=[{"port": 6379}]))
    assert dns.query(name).addresses == [svc["spec"]["clusterIP"]]
    cluster.delete("service", "redis")
    assert dns.query(name).rcode == "NXDOMAIN"


def test_a_new_namespace_is_served_once_it_exists():
    cluster = kl.Cluster(seed=0)
    dns = cluster.dns
    assert dns.query("shop.svc.cluster.local").rcode == "NXDOMAIN"
    cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
    assert dns.query("shop.svc.cluster.local").rcode == "NOERROR"  # exists, holds no records


def web_pods(cluster: kl.Cluster, count: int, *, failing: str = "") -> None:
    for i in range(count):
        name = f"web-{i}"
        annotations = {FAIL_READINESS: "60s"} if name == failing else {}
        cluster.apply({"apiVersion": "v1", "kind": "Pod",
                       "metadata": {"name": name, "labels": {"app": "web"},
                                    "annotations": annotations},
                       "spec": {"containers": [{
                           "name": "web", "image": "nginx", "ports": [{"containerPort": 80}],
                           "readinessProbe": {"httpGet": {"path": "/", "port": 80},
                                              "periodSeconds": 5}}]}})


def pod_ips(cluster: kl.Cluster) -> dict[str, str]:
    return {p["metadata"]["name"]: p["status"].get("podIP")
            for p in cluster.admin.list("pods", "default")["items"]}


def test_a_headless_service_answers_its_ready_pods_as_the_slices_say():
    cluster = kl.Cluster(seed=0, nodes=2)
    dns = cluster.dns
    cluster.apply(service("web", clusterIP="None", selector={"app": "web"},
                          ports=[{"name": "http", "port": 80}]))
    web_pods(cluster, 3, failing="web-1")
    cluster.run(30)
    ips = pod_ips(cluster)
    name = "web.default.svc.cluster.local"
    assert sorted(dns.query(name).addresses) == sorted(ips.values())
    srv = dns.query("_http._tcp." + name, "SRV")
    assert sorted(r.data for r in srv.records) == sorted(
        f"0 33 80 {ip.replace('.', '-')}.{name}." for ip in ips.values())
    cluster.run(60)  # web-1's readiness fails at 60s; 3 failures later it is not ready
    assert sorted(dns.query(name).addresses) == sorted(
        ip for pod, ip in ips.items() if pod != "web-1")
    # ... which the DNS learnt from the EndpointSlice, not from the pod
    (eps,) = [e for e in cluster.admin.list("endpointslices", "default")["items"]
              if e["metadata"]["labels"].get("kubernetes.io/service-name") == "web"]
    ready = {e["targetRef"]["name"]: e["conditions"]["ready"] for e in eps["endpoints"]}
    assert ready == {"web-0": True, "web-1": False, "web-2": True}


def test_publish_not_ready_addresses_keeps_them_all():
    cluster = kl.Cluster(seed=0, nodes=2)
    dns = cluster.dns
    cluster.apply(service("web", clusterIP="None", selector={"app": "web"},
                          publishNotReadyAddresses=True, ports=[{"port": 80}]))
    web_pods(cluster, 2, failing="web-1")
    cluster.run(120)
    assert sorted(dns.query("web.default.svc.cluster.local").addresses) == \
        sorted(pod_ips(cluster).values())


def test_a_headless_service_with_no_ready_endpoint_is_nxdomain():
    cluster = kl.Cluster(seed=0, nodes=1)
    dns = cluster.dns
    cluster.apply(service("web", clusterIP="None", selector={"app": "web"}, ports=[{"port": 80}]))
    cluster.run(5)
    assert dns.query("web.default.svc.cluster.local").rcode == "NXDOMAIN"


def test_loadbalance_shuffles_addresses_the_same_way_for_a_seed(testns):
    def orders(seed):
        cluster = kl.Cluster(seed=seed)
        dns = cluster.dns
        cluster.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "testns"}})
        cluster.admin.create(service("hdls1", "testns", clusterIP="None", ports=HTTP))
        cluster.admin.create(endpoint_slice("s1", "hdls1", "testns",
                                            [(f"172.0.0.{i}", "") for i in (2, 3, 4)], HTTP))
        return [tuple(dns.query("hdls1.testns.svc.cluster.local").addresses)
                for _ in range(300)]
    first = orders(1)
    assert first == orders(1)
    assert len(set(first)) == 6  # every order of three shows up


# -- bad input: an rcode, never an exception -------------------------------------------------------

@pytest.mark.parametrize("name, qtype, rcode", [
    ("a" * 64 + ".default.svc.cluster.local", "A", "FORMERR"),  # a label over 63 octets
    (".".join(["a" * 60] * 5), "A", "FORMERR"),  # a name over 255 octets
    ("web..default.svc.cluster.local", "A", "FORMERR"),  # an empty label
    ("web.default.svc.cluster.local", "BOGUS", "FORMERR"),  # no such type
    (None, "A", "FORMERR"),
    (42, "A", "FORMERR"),
    (["web"], "A", "FORMERR"),
    ("web.default.svc.cluster.local", ["A"], "FORMERR"),
    ("web app.default.svc.cluster.local", "A", "NXDOMAIN"),  # odd, but a DNS label can carry it
    ("web_app.default.svc.cluster.local", "A", "NXDOMAIN"),
    ("WEB.DEFAULT.SVC.CLUSTER.LOCAL", "a", "NXDOMAIN"),  # case does not matter
    ("a" * 63 + ".default.svc.cluster.local", "A", "NXDOMAIN"),  # 63 is allowed
])
def test_bad_names_get_an_rcode(testns, name, qtype, rcode):
    assert testns.query(name, qtype).rcode == rcode


def test_names_are_case_insensitive_and_keep_their_case(testns):
    got = testns.query("SVC1.TestNS.svc.cluster.local")
    assert [str(r) for r in got.records] == [
        rr("SVC1.TestNS.svc.cluster.local. 30 IN A 10.96.0.101")]




# -- the stub resolver in a pod: search list and ndots ---------------------------------------------

@pytest.fixture
def cluster_dns():
    cluster = kl.Cluster(seed=0)
    dns = cluster.dns
    cluster.apply(service("redis", selector={"app": "redis"}, ports=[{"port": 6379}]))
    return dns


def test_queries_are_counted_not_recorded(cluster_dns):
    before = dict(cluster_dns.responses)
    records = len(cluster_dns.sim.records)
    for _ in range(1000):
        cluster_dns.query("redis.default.svc.cluster.local")
    assert cluster_dns.responses["NOERROR"] == before.get("NOERROR", 0) + 1000
    assert len(cluster_dns.sim.records) == records
    assert [r.reason for r in cluster_dns.sim.records if r.component == "coredns"] == ["Started"]


def tried(lookup) -> list[tuple[str, str]]:
    return [(q.name, q.rcode) for q in lookup.queries]


def test_a_short_name_expands_with_the_first_search_domain(cluster_dns):
    lookup = cluster_dns.lookup("redis", namespace="default")
    assert lookup.rcode == "NOERROR"
    assert lookup.answered_as == "redis.default.svc.cluster.local."
    assert tried(lookup) == [("redis.default.svc.cluster.local.", "NOERROR")]
    steps = lookup.steps()
    assert list(steps.columns) == ["name", "type", "server", "rcode", "answer", "answered_by",
                                   "note"]
    assert steps.iloc[0]["server"] == "10.96.0.10"
    assert steps.iloc[0]["answered_by"] == "kubernetes"


def test_an_outside_name_pays_for_ndots_5(cluster_dns):
    lookup = cluster_dns.lookup("google.com")
    assert tried(lookup) == [("google.com.default.svc.cluster.local.", "NXDOMAIN"),
                             ("google.com.svc.cluster.local.", "NXDOMAIN"),
                             ("google.com.cluster.local.", "NXDOMAIN"),
                             ("google.com.", "NOERROR")]
    assert [q.answered_by for q in lookup.queries] == ["kubernetes"] * 3 + ["forward"]
    assert lookup.addresses == ["203.0.113.14"]


def test_the_nodes_search_domains_cost_one_query_more(cluster_dns):
    text = ("search default.svc.cluster.local svc.cluster.local cluster.local c.proj.internal\n"
            "nameserver 10.96.0.10\noptions ndots:5\n")
    lookup = cluster_dns.lookup("google.com", resolv_conf=text)
    assert [q.name for q in lookup.queries] == [
        "google.com.default.svc.cluster.local.", "google.com.svc.cluster.local.",
        "google.com.cluster.local.", "google.com.c.proj.internal.", "google.com."]


def test_other_namespaces_and_partial_names(cluster_dns):
    assert tried(cluster_dns.lookup("redis.default", namespace="shop")) == [
        ("redis.default.shop.svc.cluster.local.", "NXDOMAIN"),
        ("redis.default.svc.cluster.local.", "NOERROR")]
    assert cluster_dns.lookup("redis", namespace="shop").rcode == "NXDOMAIN"


def test_a_trailing_dot_means_exactly_that_name(cluster_dns):
    assert tried(cluster_dns.lookup("redis.")) == [("redis.", "NXDOMAIN")]
    assert tried(cluster_dns.lookup("redis.default.svc.cluster.local.")) == [
        ("redis.default.svc.cluster.local.", "NOERROR")]


def test_enough_dots_try_the_name_as_given_first(cluster_dns):
    pod = {"metadata": {"name": "p", "namespace": "default"},
           "spec": {"dnsConfig": {"options": [{"name": "ndots", "value": "1"}]}}}
    assert tried(cluster_dns.lookup("google.com", pod)) == [("google.com.", "NOERROR")]
    # as given first; when that fails the search list still follows
    assert tried(cluster_dns.lookup("redis.default", pod)) == [
        ("redis.default.", "NXDOMAIN"),
        ("redis.default.default.svc.cluster.local.", "NXDOMAIN"),
        ("redis.default.svc.cluster.local.", "NOERROR")]


def test_a_name_that_exists_without_records_keeps_the_search_going(cluster_dns):
    lookup = cluster_dns.lookup("default")
    assert tried(lookup) == [("default.default.svc.cluster.local.", "NXDOMAIN"),
                             ("default.svc.cluster.local.", "NOERROR"),  # NODATA
                             ("default.cluster.local.", "NXDOMAIN"),
                             ("default.", "NXDOMAIN")]
    assert (lookup.rcode, lookup.addresses) == ("NOERROR", [])  # glibc's NO_DATA


def test_dns_policy_default_cannot_resolve_services(cluster_dns):
    pod = {"metadata": {"name": "p", "namespace": "default"}, "spec": {"dnsPolicy": "Default"}}
    lookup = cluster_dns.lookup("redis", pod)
    assert tried(lookup) == [("redis.", "NXDOMAIN")]
    assert lookup.queries[0].server == "172.18.0.1"
    assert cluster_dns.lookup("google.com", pod).queries[0].answered_by == "upstream"


def test_the_kubelets_file_drives_the_lookup():
    cluster = kl.Cluster(seed=0, nodes=1)
    dns = cluster.dns
    cluster.apply(service("redis", selector={"app": "redis"}, ports=[{"port": 6379}]))
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    cluster.run(5)
    text = cluster.kubelets["node-1"].resolv_conf("web")
    assert ResolvConf.parse(text) == ResolvConf(
        ("10.96.0.10",), ("default.svc.cluster.local", "svc.cluster.local", "cluster.local"), 5)
    assert dns.lookup("redis", resolv_conf=text).answered_as == "redis.default.svc.cluster.local."


def test_no_resolver_file_leaves_nothing_to_ask():
    cluster = kl.Cluster(seed=0, nodes=1,
                         kubelet_config=KubeletConfig(resolv_conf=""))
    dns = cluster.dns
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"dnsPolicy": "Default",
                            "containers": [{"name": "web", "image": "nginx"}]}})
    cluster.run(5)
    text = cluster.kubelets["node-1"].resolv_conf("web")
    assert text == "search .\nnameserver 127.0.0.1\n"
    lookup = dns.lookup("google.com", resolv_conf=text)
    assert (lookup.rcode, tried(lookup)) == ("UNREACHABLE", [("google.com.", "UNREACHABLE")])


def test_a_name_too_long_for_the_search_list_is_tried_as_given(cluster_dns):
    """res_querydomain cannot build name.domain (over 255): searching stops, as given follows."""
    name = ".".join(["a" * 60] * 3 + ["b" * 50])  # 233 characters, 3 dots
    lookup = cluster_dns.lookup(name)
    assert [(q.rcode, q.note) for q in lookup.queries] == [
        ("FORMERR", "not sent: name longer than 255 octets"), ("NXDOMAIN", "")]
    assert lookup.queries[1].name == name + "."


@pytest.mark.parametrize("name", ["", ".", None, 7, "a" * 64])
def test_lookup_of_a_bad_name_is_an_error_not_an_exception(cluster_dns, name):
    lookup = cluster_dns.lookup(name)
    assert lookup.rcode == "FORMERR" and lookup.records == ()


@pytest.mark.parametrize("resolv_conf", [None, "nameserver 1.1.1.1\n"])
def test_lookup_of_a_bad_type_sends_nothing(cluster_dns, resolv_conf):
    lookup = cluster_dns.lookup("google.com", qtype="BOGUS", resolv_conf=resolv_conf)
    assert lookup.rcode == "FORMERR"
    assert {(q.server, q.note) for q in lookup.queries} == {("", "not sent: no type 'BOGUS'")}
