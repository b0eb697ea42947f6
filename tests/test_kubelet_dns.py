"""The kubelet's resolv.conf for pods: dnsPolicy, dnsConfig, the limits (pkg/kubelet/network/dns).

Most tables are ported from dns_test.go; the ExpandedDNSConfig limits (32 paths,
2048 chars) are the only ones since the feature gate went away in v1.30.
"""

import pytest

import kubelearn as kl
from kubelearn.api import StatusError
from kubelearn.kubelet import KubeletConfig
from kubelearn.kubelet.dns import (
    MAX_DNS_SEARCH_LIST_CHARS,
    MISSING_CLUSTER_DNS_MESSAGE,
    Configurer,
    DNSConfig,
    fit_search_limits,
    merge_dns_options,
    parse_resolv_conf,
    pod_dns_type,
)
from kubelearn.kubelet.runtime import CommandTerminated

SEARCH_LIMITS = ("Search Line limits were exceeded, some search paths have been omitted, the "
                 "applied search line is: ")


def pod(policy: str | None = None, *, host_network: bool = False, dns_config: dict | None = None,
        namespace: str = "testNS", name: str = "test_pod") -> dict:
    spec: dict = {"hostNetwork": host_network}
    if policy is not None:
        spec["dnsPolicy"] = policy
    if dns_config is not None:
        spec["dnsConfig"] = dns_config
    return {"metadata": {"name": name, "namespace": namespace, "uid": "u1"}, "spec": spec}


class Events:
    """A FakeRecorder: the events posted, as (kind of object, type, reason, message)."""

    def __init__(self) -> None:
        self.posted: list[tuple[str, str, str, str]] = []

    def __call__(self, ref, event_type, reason, message) -> None:
        self.posted.append((ref["kind"], event_type, reason, message))


# -- parseResolvConf (TestParseResolvConf) --------------------------------------------------------

@pytest.mark.parametrize("data, nameservers, searches, options, is_err", [
    ("", [], [], [], False),
    (" ", [], [], [], False),
    ("\n", [], [], [], False),
    ("\t\n\t", [], [], [], False),
    ("#comment\n", [], [], [], False),
    (" #comment\n", [], [], [], False),
    ("#comment\n#comment", [], [], [], False),
    ("#comment\nnameserver", [], [], [], True),
    ("#comment\nnameserver\nsearch", [], [], [], True),
    ("#comment\nnameserver 1.2.3.4\nsearch", ["1.2.3.4"], [], [], False),
    ("nameserver 1.2.3.4", ["1.2.3.4"], [], [], False),
    (" nameserver 1.2.3.4", ["1.2.3.4"], [], [], False),
    ("\tnameserver 1.2.3.4", ["1.2.3.4"], [], [], False),
    ("nameserver\t1.2.3.4", ["1.2.3.4"], [], [], False),
    ("nameserver \t 1.2.3.4", ["1.2.3.4"], [], [], False),
    ("nameserver 1.2.3.4\nnameserver 5.6.7.8", ["1.2.3.4", "5.6.7.8"], [], [], False),
    ("nameserver 1.2.3.4 #comment", ["1.2.3.4"], [], [], False),
    ("search ", [], [], [], False),
    ("search foo", [], ["foo"], [], False),
    ("search foo bar", [], ["foo", "bar"], [], False),
    ("search foo. bar", [], ["foo", "bar"], [], False),
    ("search foo bar bat\n", [], ["foo", "bar", "bat"], [], False),
    ("search foo\nsearch bar", [], ["bar"], [], False),
    ("nameserver 1.2.3.4\nsearch foo bar", ["1.2.3.4"], ["foo", "bar"], [], False),
    ("nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar", ["1.2.3.4", "5.6.7.8"],
     ["bar"], [], False),
    ("#comment\nnameserver 1.2.3.4\n#comment\nsearch foo\ncomment", ["1.2.3.4"], ["foo"], [],
     False),
    ("options ", [], [], [], False),
    ("options ndots:5 attempts:2", [], [], ["ndots:5", "attempts:2"], False),
    ("options ndots:1\noptions ndots:5 attempts:3", [], [], ["ndots:5", "attempts:3"], False),
    ("nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar\noptions ndots:5 attempts:4",
     ["1.2.3.4", "5.6.7.8"], ["bar"], ["ndots:5", "attempts:4"], False),
])
def test_parse_resolv_conf(data, nameservers, searches, options, is_err):
    got_ns, got_search, got_options, errors = parse_resolv_conf(data)
    assert bool(errors) == is_err
    if not is_err:
        assert (got_ns, got_search, got_options) == (nameservers, searches, options)
    else:
        assert errors == ["nameserver list is empty "]


# -- formDNSSearchFitsLimits, formDNSNameserversFitsLimits ----------------------------------------

LIST_2048 = ["A" * 128] + ["A" * 127] * 15  # 2048 = 128 + 127 * 15 + 15 spaces
THIRTY_TWO = ["testNS.svc.TEST", "svc.TEST", "TEST", *map(str, range(4, 33))]


@pytest.mark.parametrize("searches, expected, exceeded", [
    (["testNS.svc.TEST", "svc.TEST", "TEST"], ["testNS.svc.TEST", "svc.TEST", "TEST"], False),
    (["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"],
     ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"], False),
    # a path over 253 characters is dropped, wherever it is
    (["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "B" * 256, "BBB"],
     ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB"], True),
    (LIST_2048, LIST_2048, False),
    ([*LIST_2048, "B"], LIST_2048, True),  # 2050 characters: the last domain goes
    (["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB", "CCC", "DDD"],  # 7: fine since v1.28
     ["testNS.svc.TEST", "svc.TEST", "TEST", "AAA", "BBB", "CCC", "DDD"], False),
    (THIRTY_TWO, THIRTY_TWO, False),
    ([*THIRTY_TWO, "33"], THIRTY_TWO, True),
])
def test_search_line_limits(searches, expected, exceeded):
    events = Events()
    config = Configurer(cluster_domain="TEST", resolver_config="", events=events)
    fitted = config.fit_limits(DNSConfig(searches=tuple(searches)), pod())
    assert list(fitted.searches) == expected
    assert fit_search_limits(searches) == (expected, exceeded)
    assert events.posted == ([("Pod", "Warning", "DNSConfigForming",
                               SEARCH_LIMITS + " ".join(expected))] if exceeded else [])
    assert len(" ".join(fitted.searches)) <= MAX_DNS_SEARCH_LIST_CHARS


@pytest.mark.parametrize("nameservers, expected, event", [
    (["127.0.0.1"], ["127.0.0.1"], False),
    (["127.0.0.1", "10.0.0.10", "8.8.8.8"], ["127.0.0.1", "10.0.0.10", "8.8.8.8"], False),
    (["127.0.0.1", "10.0.0.10", "8.8.8.8", "1.2.3.4"], ["127.0.0.1", "10.0.0.10", "8.8.8.8"],
     True),
])
def test_nameserver_limits(nameservers, expected, event):
    events = Events()
    config = Configurer(cluster_domain="TEST", resolver_config="", events=events)
    assert list(config.fit_limits(DNSConfig(servers=tuple(nameservers)), pod()).servers) == \
        expected
    message = ("Nameserver limits were exceeded, some nameservers have been omitted, the "
               "applied nameserver line is: 127.0.0.1 10.0.0.10 8.8.8.8")
    assert events.posted == ([("Pod", "Warning", "DNSConfigForming", message)] if event else [])


# -- mergeDNSOptions, getPodDNSType ---------------------------------------------------------------

@pytest.mark.parametrize("existing, options, expected", [
    (["ndots:5", "debug"], [], ["ndots:5", "debug"]),
    (["ndots:5", "debug"], [{"name": "single-request"}, {"name": "attempts", "value": "3"}],
     ["ndots:5", "debug", "single-request", "attempts:3"]),
    (["ndots:5", "debug"], [{"name": "ndots", "value": "3"}, {"name": "debug"},
                            {"name": "single-request"}, {"name": "attempts", "value": "3"}],
     ["ndots:3", "debug", "single-request", "attempts:3"]),
])
def test_merge_dns_options(existing, options, expected):
    # Upstream's order varies (a Go map); ours keeps the existing options' places.
    assert merge_dns_options(existing, options) == expected


@pytest.mark.parametrize("policy, host_network, expected", [
    ("ClusterFirst", False, "cluster"),
    ("ClusterFirstWithHostNet", True, "cluster"),
    ("ClusterFirstWithHostNet", False, "cluster"),
    ("Default", False, "host"),
    ("Default", True, "host"),
    ("ClusterFirst", True, "host"),  # a hostNetwork pod falls back to Default
    ("None", False, "none"),
])
def test_pod_dns_type(policy, host_network, expected):
    assert pod_dns_type(pod(policy, host_network=host_network)) == (expected, None)


def test_an_invalid_policy_is_an_error_and_treated_as_cluster_first():
    assert pod_dns_type(pod("invalidPolicy")) == ("cluster", "invalid DNSPolicy=invalidPolicy")


# -- GetPodDNS (testGetPodDNS, TestGetPodDNSCustom) -----------------------------------------------

def test_get_pod_dns_without_a_resolver_file():
    """--resolv-conf="": Default (and hostNetwork ClusterFirst) pods get 127.0.0.1 and "."."""
    config = Configurer(cluster_dns=["203.0.113.1"], cluster_domain="kubernetes.io",
                        resolver_config="")
    pods = [pod("ClusterFirstWithHostNet", host_network=True, namespace=""),
            pod("ClusterFirst", host_network=True, namespace=""),
            pod("ClusterFirst", namespace=""),
            pod("Default", host_network=True, namespace="")]
    got = [config.get_pod_dns(p) for p in pods]
    assert got[0].servers == ("203.0.113.1",) and got[0].searches[0] == ".svc.kubernetes.io"
    assert got[1].servers == ("127.0.0.1",) and got[1].searches == (".",)
    assert got[2].servers == ("203.0.113.1",) and got[2].searches[0] == ".svc.kubernetes.io"
    assert got[3].servers == ("127.0.0.1",) and got[3].searches == (".",)


def test_get_pod_dns_with_the_node_file_prepends_the_cluster_domains():
    config = Configurer(cluster_dns=["203.0.113.1"], cluster_domain="kubernetes.io",
                        host_resolv_conf="nameserver 8.8.8.8\nsearch host.domain\n")
    got = config.get_pod_dns(pod("ClusterFirst", namespace="testNS"))
    assert got == DNSConfig(("203.0.113.1",), ("testNS.svc.kubernetes.io", "svc.kubernetes.io",
                                               "kubernetes.io", "host.domain"), ("ndots:5",))


HOST = "nameserver 8.8.8.8\nsearch host.domain\n"
MERGED = {"nameservers": ["10.0.0.11"], "searches": ["my.domain"],
          "options": [{"name": "ndots", "value": "3"}, {"name": "debug"}]}
CLUSTER_SEARCH = ("testNS.svc.kubernetes.io", "svc.kubernetes.io", "kubernetes.io")


@pytest.mark.parametrize("policy, host_network, dns_config, expected", [
    ("None", False, None, DNSConfig()),
    ("None", False, {"nameservers": ["203.0.113.1"], "searches": ["my.domain", "second.domain"],
                     "options": [{"name": "ndots", "value": "3"}, {"name": "debug"}]},
     DNSConfig(("203.0.113.1",), ("my.domain", "second.domain"), ("ndots:3", "debug"))),
    ("ClusterFirst", False, MERGED,
     DNSConfig(("10.0.0.10", "10.0.0.11"), (*CLUSTER_SEARCH, "host.domain", "my.domain"),
               ("ndots:3", "debug"))),
    ("ClusterFirstWithHostNet", True, MERGED,
     DNSConfig(("10.0.0.10", "10.0.0.11"), (*CLUSTER_SEARCH, "host.domain", "my.domain"),
               ("ndots:3", "debug"))),
    ("Default", False, MERGED,
     DNSConfig(("8.8.8.8", "10.0.0.11"), ("host.domain", "my.domain"), ("ndots:3", "debug"))),
])
def test_get_pod_dns_custom(policy, host_network, dns_config, expected):
    config = Configurer(cluster_dns=["10.0.0.10"], cluster_domain="kubernetes.io",
                        host_resolv_conf=HOST)
    assert config.get_pod_dns(pod(policy, host_network=host_network, dns_config=dns_config)) == \
        expected


def test_no_cluster_dns_falls_back_to_default_with_warnings():
    events = Events()
    config = Configurer(cluster_domain="cluster.local", host_resolv_conf=HOST, events=events)
    got = config.get_pod_dns(pod("ClusterFirst"))
    assert got == DNSConfig(("8.8.8.8",), ("host.domain",))
    assert events.posted == [
        ("Node", "Warning", "MissingClusterDNS", MISSING_CLUSTER_DNS_MESSAGE),
        ("Pod", "Warning", "MissingClusterDNS",
         f'pod: "test_pod_testNS(u1)". {MISSING_CLUSTER_DNS_MESSAGE}')]


def test_resolv_conf_text_is_what_containerd_writes():
    config = DNSConfig(("10.96.0.10", "10.0.0.11"), ("default.svc.cluster.local", "a.b"),
                       ("ndots:5", "edns0"))
    assert config.resolv_conf() == ("search default.svc.cluster.local a.b\n"
                                    "nameserver 10.96.0.10\nnameserver 10.0.0.11\n"
                                    "options ndots:5 edns0\n")
    assert DNSConfig().resolv_conf() == ""


# -- on a cluster: the kubelet's hook --------------------------------------------------------------

def run_pod(cluster: kl.Cluster, name: str, **spec) -> str:
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec}})
    cluster.run(5)
    pod = cluster.admin.get("pods", name)
    return pod["spec"]["nodeName"]


def test_a_default_pod_gets_the_cluster_dns():
    cluster = kl.Cluster(seed=0, nodes=1)
    node = run_pod(cluster, "web")
    assert cluster.kubelets[node].resolv_conf("web") == (
        "search default.svc.cluster.local svc.cluster.local cluster.local\n"
        "nameserver 10.96.0.10\n"
        "options ndots:5\n")


def test_policies_and_dns_config_through_the_api():
    cluster = kl.Cluster(seed=0, nodes=1)
    kubelet = cluster.kubelets["node-1"]
    run_pod(cluster, "host", dnsPolicy="Default")
    run_pod(cluster, "hostnet", hostNetwork=True)
    run_pod(cluster, "custom", dnsPolicy="None",
            dnsConfig={"nameservers": ["1.1.1.1"], "searches": ["corp.example"],
                       "options": [{"name": "ndots", "value": "2"}]})
    assert kubelet.resolv_conf("host") == "nameserver 172.18.0.1\n"  # the node's own file
    assert kubelet.resolv_conf("hostnet") == "nameserver 172.18.0.1\n"  # ClusterFirst -> Default
    assert kubelet.resolv_conf("custom") == ("search corp.example\nnameserver 1.1.1.1\n"
                                             "options ndots:2\n")


def test_the_nodes_search_domains_follow_the_clusters():
    config = KubeletConfig(host_resolv_conf="nameserver 10.0.0.2\nsearch c.proj.internal "
                                            "google.internal\n")
    cluster = kl.Cluster(seed=0, nodes=1, kubelet_config=config)
    run_pod(cluster, "web")
    assert cluster.kubelets["node-1"].resolv_conf("web").splitlines()[0] == (
        "search default.svc.cluster.local svc.cluster.local cluster.local c.proj.internal "
        "google.internal")


def test_too_many_search_domains_are_cut_with_a_warning_event():
    """30 node domains + 3 cluster ones: 33 > 32, the last is cut and the pod is told."""
    domains = [f"d{i}.example" for i in range(30)]
    config = KubeletConfig(host_resolv_conf="nameserver 10.0.0.2\nsearch " + " ".join(domains))
    cluster = kl.Cluster(seed=0, nodes=1, kubelet_config=config)
    run_pod(cluster, "web")
    applied = ["default.svc.cluster.local", "svc.cluster.local", "cluster.local", *domains[:29]]
    assert cluster.kubelets["node-1"].resolv_conf("web").splitlines()[0] == \
        "search " + " ".join(applied)
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["reason"] == "DNSConfigForming"]
    assert len(events) == 1
    assert events[0]["type"] == "Warning"
    assert events[0]["involvedObject"]["name"] == "web"
    assert events[0]["message"] == SEARCH_LIMITS + " ".join(applied)
    assert events[0]["source"] == {"component": "kubelet", "host": "node-1"}


def test_a_deleted_or_unknown_pod_has_no_resolv_conf():
    cluster = kl.Cluster(seed=0, nodes=1)
    run_pod(cluster, "web")
    kubelet = cluster.kubelets["node-1"]
    with pytest.raises(StatusError) as err:
        kubelet.resolv_conf("nope")
    assert (err.value.code, str(err.value)) == (
        404, 'pod "nope" in namespace "default" has no sandbox on node node-1, '
             "so no /etc/resolv.conf")
    cluster.delete("pod", "web")
    cluster.run(40)
    with pytest.raises(StatusError, match="no sandbox"):
        kubelet.resolv_conf("web")


def test_the_file_lives_in_the_sandbox_so_a_refused_pod_has_none():
    """A pod the kubelet refused (OutOfcpu) never got a sandbox: a 404, not a KeyError."""
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big"},
                   "spec": {"nodeName": "node-1", "containers": [
                       {"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "64"}}}]}})
    cluster.run(5)
    assert cluster.admin.get("pods", "big")["status"]["reason"] == "OutOfcpu"
    with pytest.raises(StatusError, match='pod "big" in namespace "default" has no sandbox'):
        cluster.kubelets["node-1"].resolv_conf("big")


def test_exec_cat_reads_the_same_file():
    """``kubectl exec web -- cat /etc/resolv.conf``: the file the sandbox holds."""
    cluster = kl.Cluster(seed=0, nodes=1)
    run_pod(cluster, "web", dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"]})
    assert cluster.exec("web", "cat /etc/resolv.conf") == "nameserver 1.1.1.1\n" == \
        cluster.kubelets["node-1"].resolv_conf("web")
    with pytest.raises(CommandTerminated) as failed:
        cluster.exec("web", ["cat", "/etc/passwd"])
    assert str(failed.value) == ("cat: /etc/passwd: No such file or directory\n"
                                 "command terminated with exit code 1")  # as kubectl prints
    assert failed.value.exit_code == 1


def test_the_file_outlasts_a_kubelet_restart():
    cluster = kl.Cluster(seed=0, nodes=1)
    run_pod(cluster, "web")
    before = cluster.kubelets["node-1"].resolv_conf("web")
    cluster.stop_node("node-1")
    assert cluster.kubelets["node-1"].resolv_conf("web") == before  # containers still run
    cluster.start_node("node-1")
    cluster.run(2)
    assert cluster.kubelets["node-1"].resolv_conf("web") == before
