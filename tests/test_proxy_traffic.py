"""Simulated traffic over the Service data path (kubelearn.proxy.traffic).

The numbers issue 10 asks for: an even spread over n endpoints, the rolling
update race and its preStop fix, a node dying under traffic, NodePort traffic
policies; and every way a request fails.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest

import kubelearn as kl
from kubelearn.apiserver.endpointsreconciler import CONTROL_PLANE_IP
from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.proxy.traffic import CLIENT_TIMEOUT, EXTERNAL_CLIENT_IP
from kubelearn.viz import traffic as vt
from tests.proxy_testing import nodeport_service

LEASE_PERIOD = KubeletConfig().node_lease_duration_seconds * 0.25  # 10 s


def web(replicas: int, **options) -> kl.Cluster:
    """A cluster running ``web`` (nginx, readiness probe) behind its Service, all Ready."""
    cluster = kl.Cluster(seed=options.pop("seed", 0), nodes=options.pop("nodes", 3))
    cluster.apply(vt.web_manifests(replicas, **options))
    cluster.run(30)
    assert ready_pods(cluster) == replicas
    return cluster


def ready_pods(cluster: kl.Cluster) -> int:
    pods = cluster.get("pods")
    return int((pods["READY"] == "1/1").sum()) if len(pods) else 0


def outcomes(traffic) -> dict[str, int]:
    return traffic.requests()["outcome"].value_counts().to_dict()


def requests_for(cluster: kl.Cluster, seconds: float, target: str = "web",
                 **options) -> pd.DataFrame:
    """The requests ``cluster.traffic(target, **options)`` sent in ``seconds``, as a frame."""
    traffic = cluster.traffic(target, **options)
    cluster.run(seconds)
    return traffic.requests()


# -- spread ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_ten_thousand_requests_spread_one_nth_each(n):
    cluster = web(n)
    traffic = cluster.traffic("web", rate=1000)
    cluster.run(10)
    traffic.stop()
    frame = traffic.requests()
    assert len(frame) == 10_000 and set(frame["outcome"]) == {"ok"}
    shares = frame["pod"].value_counts(normalize=True)
    assert len(shares) == n
    # Each share is a binomial proportion: within 4.5 standard deviations of 1/n
    # (a bound a fair draw breaks once in ~150,000 tries).
    sigma = math.sqrt((1 / n) * (1 - 1 / n) / len(frame))
    for pod, share in shares.items():
        assert abs(share - 1 / n) <= 4.5 * sigma + 1e-12, (pod, share)


def test_keepalive_pins_a_client_to_the_pods_its_connections_picked():
    cluster = web(3)
    fresh = cluster.traffic("web", rate=100, from_node="node-1", name="fresh")
    pooled = cluster.traffic("web", rate=100, from_node="node-1", keepalive=True,
                             connections=1, name="pooled")
    cluster.run(30)
    assert fresh.requests()["pod"].nunique() == 3
    assert pooled.requests()["pod"].nunique() == 1  # one connection, one backend, every time
    assert set(pooled.requests()["outcome"]) == {"ok"}


def test_session_affinity_client_ip_sends_one_client_to_one_pod():
    cluster = web(3)
    svc = cluster.admin.get("services", "web")
    svc["spec"]["sessionAffinity"] = "ClientIP"
    cluster.admin.update(svc)
    cluster.run(5)
    traffic = cluster.traffic("web", rate=100)  # one client pod per node
    cluster.run(20)
    per_client = traffic.requests().groupby("client")["pod"].nunique()
    assert list(per_client) == [1, 1, 1]


# -- the rolling update race ---------------------------------------------------------------------

def _windows(cluster: kl.Cluster) -> list[tuple[float, float]]:
    """For each SIGTERM to a backend: until the last node's rules stopped sending to it."""
    frame = vt.requests(cluster, "web")
    ips = {pod: dest.split(":")[0] for pod, dest in zip(frame["pod"], frame["destination"],
                                                        strict=True) if pod}
    marks = vt.marks(cluster, "web")
    kills = marks[(marks["lane"] == "pods stopping") & marks["what"].str.startswith("Killing")]
    windows = []
    for kill, pod in zip(kills["time"], kills["object"], strict=True):
        ip = ips[pod.removeprefix("pod/")]
        windows.append((float(kill), max(_dropped(proxy, ip, kill)
                                         for proxy in cluster.proxies.values())))
    return windows


def _dropped(proxy, ip: str, after: float) -> float:
    """When the first of ``proxy``'s syncs after ``after`` landed rules without ``ip``."""
    for sync in proxy.syncs:
        if sync.landed >= after and f"--to-destination {ip}:" not in \
                proxy.rules_after(sync.number).save():
            return sync.landed
    raise AssertionError(f"{proxy.node_name} still routes to {ip}")


def test_a_rolling_update_without_prestop_drops_requests_in_the_race_window():
    cluster = vt.simulate_rolling_update(replicas=3, prestop=0)
    frame = vt.requests(cluster, "web")
    failed = frame[frame["outcome"] != "ok"]
    assert len(failed) > 0
    assert set(failed["outcome"]) == {"refused"}  # nginx is gone at once on SIGTERM
    windows = _windows(cluster)
    assert len(windows) == 3  # each old pod replaced
    for t in failed["time"]:  # every failure between a SIGTERM and the last proxy's sync
        assert any(start <= t <= end for start, end in windows), t
    # and the window is the proxies' sync lag: tens of milliseconds, never seconds
    assert all(0 < end - start < 1.0 for start, end in windows)


def test_the_same_rolling_update_with_a_prestop_sleep_drops_nothing():
    plain = vt.simulate_rolling_update(replicas=3, prestop=0)
    longest = max(end - start for start, end in _windows(plain))
    prestop = math.ceil(longest) + 4  # longer than the window, whole seconds like the hook
    cluster = vt.simulate_rolling_update(replicas=3, prestop=prestop)
    frame = vt.requests(cluster, "web")
    assert len(frame) > 5000
    assert vt.failures(cluster) == 0
    events = cluster.events()
    assert (events["reason"] == "PreStopHook").sum() == 3


# -- a node dies under traffic --------------------------------------------------------------------

def test_a_node_that_loses_power_times_out_requests_until_its_endpoints_are_gone():
    cluster = web(3)
    traffic = cluster.traffic("web", rate=200)
    cluster.run(10)
    node = "node-2"
    off = cluster.now
    cluster.stop_node(node, power_off=True)
    cluster.run(90)
    traffic.stop()
    frame = traffic.requests()
    failed = frame[frame["outcome"] != "ok"]
    assert set(failed["outcome"]) == {"timeout"}
    owners = {cluster.network.owner(d.split(":")[0]).node_name for d in failed["destination"]}
    assert owners == {node}  # only requests to the dead node's pod
    assert failed["latency"].eq(CLIENT_TIMEOUT).all()
    assert node not in set(frame[frame["time"] >= off]["client"])  # its client died with it

    # Why the window is as long as it is: the node's last lease renewal, plus the
    # node monitor's grace period, rounded up to the monitor's next 5 s pass, then
    # the EndpointSlice write and every proxy's sync.
    events = cluster.events()
    leases = events[(events["reason"] == "LeaseRenewed") & (events["object"].str.endswith(node))]
    last_lease = float(leases[leases["time"] <= off]["time"].max())
    assert off - LEASE_PERIOD <= last_lease <= off
    not_ready = float(events[(events["reason"] == "NodeNotReady")
                             & (events["object"] == f"node/{node}")]["time"].min())
    deadline = last_lease + NODE_MONITOR_GRACE_PERIOD
    assert deadline <= not_ready <= deadline + NODE_MONITOR_PERIOD
    marks = vt.marks(cluster, "web")
    synced = marks[marks["lane"].str.startswith("kube-proxy") & (marks["time"] >= not_ready)]
    last_sync = float(synced.groupby("lane")["time"].min().max())
    assert failed["time"].min() >= off
    assert failed["time"].max() <= last_sync
    assert failed["time"].max() >= not_ready - 1  # failures lasted until the controller acted
    after = frame[frame["time"] > last_sync]
    assert len(after) > 1000 and set(after["outcome"]) == {"ok"}


def test_a_node_whose_kubelet_dies_keeps_serving():
    cluster = web(3)
    traffic = cluster.traffic("web", rate=200)
    cluster.run(5)
    cluster.stop_node("node-2")  # the process, not the machine: the containers run on
    cluster.run(30)
    assert outcomes(traffic) == {"ok": len(traffic.records)}


# -- NodePorts and traffic policies --------------------------------------------------------------

WEB_ON_NODE_1 = """
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: node-1
  containers: [{name: web, image: nginx}]
"""


@pytest.mark.parametrize("policy", ["Cluster", "Local"])
def test_nodeport_from_outside_through_a_node_without_the_pod(policy):
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply(WEB_ON_NODE_1 + "---" + nodeport_service(policy, 80))  # nginx serves on 80
    cluster.run(20)
    node1, node2 = (cluster.kubelets[n].node_ip for n in ("node-1", "node-2"))
    direct = cluster.traffic(f"{node1}:30080", rate=20, from_node="outside", name="direct")
    other = cluster.traffic(f"{node2}:30080", rate=20, from_node="outside", name="other")
    cluster.run(5)
    d, o = direct.requests(), other.requests()
    assert set(d["outcome"]) == {"ok"}
    assert set(d["seen_as"]) == ({EXTERNAL_CLIENT_IP} if policy == "Local" else {node1})
    if policy == "Cluster":  # forwarded to node-1, the client's address replaced by node-2's
        assert set(o["outcome"]) == {"ok"} and set(o["node"]) == {"node-1"}
        assert set(o["seen_as"]) == {node2}
    else:  # no local endpoint on node-2: DROP, the client waits in vain
        assert set(o["outcome"]) == {"timeout"}
        assert o["reason"].str.contains("has no local endpoints").all()


# -- how requests fail -------------------------------------------------------------------------

def test_a_service_with_no_endpoints_refuses_at_once():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply("""
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {selector: {app: typo}, ports: [{port: 80}]}
""")
    cluster.run(5)
    frame = requests_for(cluster, 2, rate=10)
    assert set(frame["outcome"]) == {"refused"}
    assert frame["reason"].str.contains("has no endpoints").all()
    assert (frame["latency"] < 0.01).all()


def test_a_target_port_nothing_listens_on_is_refused_by_the_pod():
    cluster = web(2)
    svc = cluster.admin.get("services", "web")
    svc["spec"]["ports"][0]["targetPort"] = 8080  # nginx serves on 80
    cluster.admin.update(svc)
    cluster.run(5)
    frame = requests_for(cluster, 2, rate=10)
    assert set(frame["outcome"]) == {"refused"}
    assert frame["reason"].str.contains("nothing listens on default/web-").all()
    assert set(frame["destination"].str.split(":").str[1]) == {"8080"}


def test_an_unknown_name_fails_in_dns_and_changes_nothing():
    cluster = web(1)
    before = {r: cluster.admin.list(r, None)["items"] for r in ("services", "endpointslices")}
    frame = requests_for(cluster, 1, "nosuch", rate=10, from_node="node-1")
    assert set(frame["outcome"]) == {"nxdomain"}
    assert frame["reason"].eq("no DNS name nosuch").all()
    assert before == {r: cluster.admin.list(r, None)["items"] for r in before}


def test_a_cluster_ip_port_no_service_declares_gets_no_answer():
    cluster = web(1)
    ip = cluster.admin.get("services", "web")["spec"]["clusterIP"]
    frame = requests_for(cluster, 1, f"{ip}:22", rate=5, from_node="node-1")
    assert set(frame["outcome"]) == {"timeout"}


def test_a_pod_ip_is_reachable_directly_from_any_node_but_not_from_outside():
    cluster = web(1)
    ip = cluster.admin.list("pods", "default")["items"][0]["status"]["podIP"]
    inside = cluster.traffic(f"{ip}:80", rate=10, name="inside")
    outside = cluster.traffic(f"{ip}:80", rate=10, from_node="outside", name="outside")
    cluster.run(2)
    assert set(inside.requests()["outcome"]) == {"ok"}
    assert set(inside.requests()["service"]) == {""}  # no Service took part
    assert set(outside.requests()["outcome"]) == {"timeout"}


def test_the_kubernetes_service_reaches_the_api_server():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(2)
    frame = requests_for(cluster, 1, "kubernetes", rate=10)
    assert set(frame["outcome"]) == {"ok"}
    assert set(frame["destination"]) == {f"{CONTROL_PLANE_IP}:6443"}
    assert set(frame["service"]) == {"default/kubernetes:https"}


def test_the_same_seed_gives_the_same_requests():
    def run() -> list:
        cluster = web(3)
        traffic = cluster.traffic("web", rate=300)
        cluster.run(5)
        cluster.delete("pod", cluster.get("pods")["NAME"].iloc[0])
        cluster.run(5)
        return traffic.records

    assert run() == run()


def test_stop_ends_the_requests_and_gives_the_clients_addresses_back():
    cluster = web(1)
    traffic = cluster.traffic("web", rate=100, from_node="node-1")
    runtime = cluster.kubelets["node-1"].runtime
    in_use = len(runtime._ips_in_use)
    cluster.run(1)
    traffic.stop()
    sent = len(traffic.records)
    cluster.run(5)
    assert len(traffic.records) == sent == 100
    assert len(runtime._ips_in_use) == in_use - 1
    assert "stopped" in repr(traffic)


def test_requests_gives_each_caller_its_own_frame_of_every_record_so_far():
    cluster = web(1)
    traffic = cluster.traffic("web", rate=100, from_node="node-1")
    cluster.run(1)
    first = traffic.requests()
    first.loc[:, "outcome"] = "changed by the caller"
    again = traffic.requests()
    assert len(again) == 100 and set(again["outcome"]) == {"ok"}
    cluster.run(1)
    later = traffic.requests()
    assert len(later) == 200
    assert later.equals(pd.DataFrame(traffic.records, columns=list(later.columns)))


def test_duration_stops_by_itself():
    cluster = web(1)
    traffic = cluster.traffic("web", rate=50, duration=2)
    cluster.run(10)
    assert len(traffic.records) == 100
    assert traffic.stopped_at == pytest.approx(traffic.started_at + 2)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"rate": 0}, "rate must be positive"),
    ({"from_node": "node-9"}, "no node 'node-9'"),
    ({"connections": 0}, "connections must be at least 1"),
])
def test_bad_arguments_are_refused_before_anything_starts(kwargs, message):
    cluster = web(1)
    before = len(cluster.traffics)
    with pytest.raises(ValueError, match=message):
        cluster.traffic("web", **{"rate": 10, **kwargs})
    assert len(cluster.traffics) == before


def test_the_timeline_draws_from_the_records():
    cluster = vt.simulate_rolling_update(replicas=2, prestop=0)
    fig = vt.traffic_timeline(cluster, "web")
    titles = [ax.get_title() for ax in fig.axes]
    assert any(t.startswith("Requests to web: ") for t in titles)
    lanes = [label.get_text() for label in fig.axes[-1].get_yticklabels()]
    assert lanes[:3] == ["rollout", "pods stopping", "EndpointSlice"]
    assert [lane for lane in lanes if lane.startswith("kube-proxy")] == \
        ["kube-proxy node-1", "kube-proxy node-2", "kube-proxy node-3"]
    with pytest.raises(ValueError, match="no traffic named 'api'"):
        vt.traffic_timeline(cluster, "api")
