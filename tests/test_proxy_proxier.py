"""kube-proxy on a live kubelearn cluster: informers, pacing, lag, restarts, records.

The cluster's controllers and kubelets write Services' EndpointSlices through the API
server; a KubeProxy per node watches them as ``system:kube-proxy`` and programs its
node's dataplane.
"""

from __future__ import annotations

import random

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden
from kubelearn.proxy.iptables import endpoint_chain, service_chain
from kubelearn.proxy.proxier import FULL_SYNC_PERIOD, LABEL_SELECTOR, KubeProxy
from tests.proxy_testing import nodeport_service

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      containers: [{{name: web, image: nginx, ports: [{{containerPort: 8080, name: http}}]}}]
"""
SERVICE = """
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: {target}}}]
"""


def web_app(replicas: int, target: str = "http") -> str:
    """DEPLOYMENT ``web`` with ``replicas`` and its Service ``web``, port 80 to ``target``."""
    return DEPLOYMENT.format(replicas=replicas) + "---" + SERVICE.format(name="web", target=target)


def cluster_with_proxies(nodes: int = 3, seed: int = 0, **options) -> tuple:
    """A cluster and its nodes' kube-proxies (``cluster.proxies``).

    ``options`` (KubeProxy's): each node's kube-proxy is stopped at once -- before its
    first sync lands -- and replaced by one built with them, on the node's dataplane.
    """
    cluster = kl.Cluster(nodes=nodes, seed=seed)
    for name, builtin in list(cluster.proxies.items()) if options else ():
        builtin.stop()
        cluster.proxies[name] = KubeProxy(
            cluster.sim, cluster.client("kube-proxy"), name, node_ip=builtin.config.node_ip,
            cluster_cidr=builtin.config.cluster_cidr, dataplane=builtin.dataplane, **options)
    return cluster, cluster.proxies


def pod_ips(cluster: kl.Cluster, ready_only: bool = True) -> set[str]:
    pods = cluster.admin.list("pods", "default")["items"]
    return {p["status"]["podIP"] for p in pods if p.get("status", {}).get("podIP")
            and not p["metadata"].get("deletionTimestamp")
            and (not ready_only or any(c["type"] == "Ready" and c["status"] == "True"
                                       for c in p["status"].get("conditions", [])))}


def dnat_targets(proxy: KubeProxy) -> set[str]:
    return {r.option("--to-destination").split(":")[0] for _, r in proxy.rules().rules()
            if r.target == "DNAT" and r.comment and r.comment.startswith("default/web")}


def cluster_ip(cluster: kl.Cluster, name: str = "web") -> str:
    return cluster.admin.get("services", name)["spec"]["clusterIP"]


def test_rules_follow_a_deployment_and_its_scale_down_on_every_node():
    cluster, proxies = cluster_with_proxies()
    cluster.apply(web_app(3))
    cluster.run(60)
    ips = pod_ips(cluster)
    assert len(ips) == 3
    for proxy in proxies.values():
        assert dnat_targets(proxy) == ips
        rng = random.Random(0)
        routed = {proxy.dataplane.route(cluster_ip(cluster), 80, src_ip="10.244.9.9",
                                        rng=rng).backend for _ in range(200)}
        assert routed == {(ip, 8080) for ip in ips}

    cluster.admin.scale("deployments", "web", 1)
    changed_at = cluster.now
    cluster.run(60)
    left = pod_ips(cluster)
    assert len(left) == 1
    for proxy in proxies.values():
        assert dnat_targets(proxy) == left
        # the rules changed in a sync after the scale-down, and the change is in the diff
        sync = next(s for s in proxy.syncs if s.started >= changed_at and s.rules_removed)
        removed = proxy.diff(sync.number - 1, sync.number).removed
        assert {r.option("--to-destination") for _, r in removed if r.target == "DNAT"} == \
            {f"{ip}:8080" for ip in ips - left}


def test_each_node_lags_the_endpoint_slice_by_its_own_amount():
    def scaled_from_two_to_three() -> tuple[kl.Cluster, dict[str, KubeProxy]]:
        cluster, proxies = cluster_with_proxies(nodes=4)
        cluster.apply(web_app(2))
        cluster.run(60)
        cluster.admin.scale("deployments", "web", 3)
        cluster.run(60)
        return cluster, proxies

    cluster, proxies = scaled_from_two_to_three()
    updates = [r.time for r in cluster.sim.records
               if r.component == "endpoint-slice-controller"
               and r.reason.startswith("EndpointSlice")
               and r.message.startswith("3 endpoints, 3 ready")]
    assert updates, "the slice never showed 3 ready endpoints"
    at = updates[0]
    lags = {name: next(s.landed for s in proxy.syncs if s.started >= at) - at
            for name, proxy in proxies.items()}
    assert all(0 < lag < 1.0 for lag in lags.values()), lags
    assert len(set(lags.values())) == len(proxies), lags  # seeded per-node speed and noise
    # and the same seed gives the same lags
    _, proxies_again = scaled_from_two_to_three()
    assert [s.landed for s in proxies_again["node-2"].syncs] == \
        [s.landed for s in proxies["node-2"].syncs]


def test_a_burst_of_changes_gives_two_syncs_at_once_then_one_a_second():
    cluster, proxies = cluster_with_proxies(nodes=1)
    proxy = proxies["node-1"]
    cluster.run(5)
    for i in range(10):  # ten Services within 100ms
        cluster.sim.call_later(i / 100, lambda i=i: cluster.apply(
            SERVICE.format(name=f"svc{i}", target=80)))
    cluster.run(5)
    syncs = [s for s in proxy.syncs if s.started >= 5.0]
    assert syncs[0].started == pytest.approx(5.0) and syncs[0].trigger == "changes"
    assert syncs[1].started == pytest.approx(syncs[0].landed)  # the burst's second token
    assert syncs[2].started == pytest.approx(syncs[1].landed + 1.0)  # minSyncPeriod after
    assert all(b.started - a.landed >= 1.0 - 1e-9
               for a, b in zip(syncs[1:], syncs[2:], strict=False))
    assert all(f"svc{i}" in str(proxy.rules(None)) for i in range(10))


def test_nothing_changing_means_a_sync_an_hour_and_a_full_one_within_two():
    """The runner's maxInterval is an hour; a sync is full when the last full one is an hour old.

    The first timer fires an hour after the runner's loop began, a few ms before the
    initial (direct) full sync is an hour old: that one is partial, the next is full.
    """
    cluster, proxies = cluster_with_proxies(nodes=1)
    proxy = proxies["node-1"]
    cluster.run(10)
    (initial,) = proxy.syncs
    cluster.run(2 * FULL_SYNC_PERIOD)
    hourly = proxy.syncs[1:]
    assert [(s.trigger, s.full) for s in hourly] == [("periodic", False), ("periodic", True)]
    assert hourly[0].started == pytest.approx(FULL_SYNC_PERIOD)
    assert hourly[0].started - initial.landed < FULL_SYNC_PERIOD
    assert hourly[1].started == pytest.approx(hourly[0].landed + FULL_SYNC_PERIOD)


def test_a_target_port_no_container_has_means_no_endpoints_and_a_reject_rule():
    cluster, proxies = cluster_with_proxies(nodes=2)
    cluster.apply(web_app(2, target="metrics"))
    cluster.run(60)
    proxy = proxies["node-1"]
    reject = [r.text() for _, r in proxy.rules("filter").rules() if "default/web" in r.text()]
    assert reject == [f'-A KUBE-SERVICES -m comment --comment "default/web has no endpoints" '
                      f"-m tcp -p tcp -d {cluster_ip(cluster)} --dport 80 -j REJECT"]
    route = proxy.dataplane.route(cluster_ip(cluster), 80, src_ip="10.244.1.7",
                                  rng=random.Random(0))
    assert (route.verdict, route.reason) == ("REJECT", "default/web has no endpoints")


def test_services_for_another_proxy_and_headless_services_get_no_rules():
    cluster, proxies = cluster_with_proxies(nodes=1)
    cluster.apply(DEPLOYMENT.format(replicas=1) + """---
apiVersion: v1
kind: Service
metadata: {name: other, labels: {service.kubernetes.io/service-proxy-name: cilium}}
spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec: {clusterIP: None, selector: {app: web}, ports: [{port: 80, targetPort: http}]}
""")
    cluster.run(60)
    proxy = proxies["node-1"]
    text = proxy.rules(None).save()
    assert "default/other" not in text and "default/db" not in text
    assert proxy.slices.label_selector == LABEL_SELECTOR
    assert all("default/db" not in key and "default/other" not in key
               for key in proxy.slices.store)  # the API server filtered them out
    assert "default/db" in {f"{e['metadata']['namespace']}/"
                            f"{e['metadata']['labels']['kubernetes.io/service-name']}"
                            for e in cluster.admin.list("endpointslices")["items"]}


@pytest.mark.parametrize("policy, verdict", [("Local", "DROP"), ("Cluster", "DNAT")])
def test_node_port_on_a_node_without_a_local_endpoint(policy, verdict):
    cluster, proxies = cluster_with_proxies(nodes=2)
    cluster.apply(DEPLOYMENT.format(replicas=1) + "---" + nodeport_service(policy, "http"))
    cluster.run(60)
    (pod,) = cluster.admin.list("pods", "default")["items"]
    other = next(n for n in proxies if n != pod["spec"]["nodeName"])
    node_ip = cluster.kubelets[other].node_ip
    route = proxies[other].dataplane.route(node_ip, 30080, src_ip="192.168.1.50",
                                           rng=random.Random(0))
    assert route.verdict == verdict
    if verdict == "DNAT":
        assert route.backend == (pod["status"]["podIP"], 8080)
        assert route.masquerade and route.source == node_ip  # the pod sees the node
    else:
        assert route.reason == "default/web has no local endpoints"
    # on the pod's own node the client's address is kept with Local
    home = pod["spec"]["nodeName"]
    local = proxies[home].dataplane.route(cluster.kubelets[home].node_ip, 30080,
                                          src_ip="192.168.1.50", rng=random.Random(0))
    assert local.verdict == "DNAT" and local.masquerade == (policy == "Cluster")


def test_a_stopped_proxy_leaves_its_rules_and_a_restart_resyncs_in_full():
    cluster, proxies = cluster_with_proxies(nodes=2)
    cluster.apply(web_app(2))
    cluster.run(60)
    proxy = proxies["node-2"]
    before = dnat_targets(proxy)
    proxy.stop()
    assert not proxy.running
    cluster.admin.scale("deployments", "web", 4)
    cluster.run(60)
    assert dnat_targets(proxy) == before  # stale, and still routing
    assert proxy.dataplane.route(cluster_ip(cluster), 80, src_ip="10.244.3.3",
                                 rng=random.Random(0)).verdict == "DNAT"
    assert dnat_targets(proxies["node-1"]) == pod_ips(cluster)
    proxy.start()
    cluster.run(5)
    assert dnat_targets(proxy) == pod_ips(cluster)
    restart = [s for s in proxy.syncs if s.trigger == "initial"][-1]
    assert restart.full
    records = [r.reason for r in cluster.events("kube-proxy/node-2").itertuples()]
    assert records.count("Starting") == 2 and "Stopped" in records


def test_power_off_takes_the_rules_with_it():
    cluster, proxies = cluster_with_proxies(nodes=1)
    cluster.run(5)
    proxy = proxies["node-1"]
    assert len(proxy.rules(None))
    proxy.stop(power_off=True)
    assert len(proxy.rules(None)) == 0
    proxy.start()
    cluster.run(1)
    assert len(proxy.rules(None))


def test_a_proxy_killed_mid_sync_lands_nothing():
    cluster, proxies = cluster_with_proxies(nodes=1)
    proxy = proxies["node-1"]
    assert proxy.syncs == []  # the initial sync takes a little time
    proxy.stop()
    cluster.run(1)
    assert proxy.syncs == [] and len(proxy.rules(None)) == 0


def test_an_iptables_flush_is_noticed_within_the_sync_period():
    cluster, proxies = cluster_with_proxies(nodes=1)
    proxy = proxies["node-1"]
    cluster.apply(web_app(1))
    cluster.run(40)
    flushed_at = cluster.now
    proxy.dataplane.flush()
    assert proxy.dataplane.route(cluster_ip(cluster), 80, src_ip="10.244.1.9",
                                 rng=random.Random(0)).verdict == "NO_RULE"
    cluster.run(31)
    sync = proxy.syncs[-1]
    assert (sync.trigger, sync.full) == ("iptables flushed", True)
    assert sync.started - flushed_at <= proxy.sync_period
    assert proxy.dataplane.route(cluster_ip(cluster), 80, src_ip="10.244.1.9",
                                 rng=random.Random(0)).verdict == "DNAT"


def test_rules_print_like_iptables_save_and_table_as_a_frame():
    cluster, proxies = cluster_with_proxies(nodes=1)
    cluster.apply(web_app(2))
    cluster.run(60)
    rules = proxies["node-1"].rules()
    text = str(rules)
    assert text.startswith("*nat\n") and text.endswith("COMMIT\n")
    chain = service_chain("default/web", "tcp")
    assert f":{chain} - [0:0]" in text
    assert "--probability 0.5000000000" in text
    frame = rules.frame()
    assert set(frame.table) == {"nat"}
    assert set(frame[frame.chain == chain].service) == {"default/web"}
    ips = sorted(pod_ips(cluster))
    assert endpoint_chain("default/web", "tcp", f"{ips[0]}:8080") in set(frame.chain)


def test_sync_records_and_history():
    cluster, proxies = cluster_with_proxies(nodes=1, history_limit=3)
    proxy = proxies["node-1"]
    cluster.apply(web_app(1))
    cluster.run(60)
    for replicas in (2, 1):
        cluster.admin.scale("deployments", "web", replicas)
        cluster.run(60)
    assert len(proxy.syncs) > 3
    frame = proxy.sync_frame()
    assert list(frame.number) == list(range(1, len(proxy.syncs) + 1))
    assert frame.full.iloc[0] and not frame.full.iloc[-1]
    assert (frame.landed > frame.started).all()
    events = cluster.events("kube-proxy/node-1")
    syncs = events[events.reason == "SyncProxyRules"]
    assert len(syncs) == len(proxy.syncs)
    assert syncs.message.iloc[0].startswith("full sync (initial): ")
    latencies = frame.programming_latency.dropna()
    assert len(latencies) and (latencies > 0).all()
    oldest = proxy.syncs[0].number
    with pytest.raises(ValueError, match=f"sync {oldest} of node-1 is not in the history"):
        proxy.diff(oldest)
    assert not proxy.diff(proxy.syncs[-1].number)


def test_kube_proxy_has_the_rights_of_system_node_proxier_and_no_more():
    cluster, _ = cluster_with_proxies(nodes=1)
    client = cluster.client("kube-proxy")
    for verb, resource in [("list", "services"), ("watch", "services"),
                           ("list", "endpointslices"), ("watch", "endpointslices"),
                           ("get", "nodes"), ("watch", "nodes"), ("create", "events")]:
        assert client.can_i(verb, resource), (verb, resource)
    assert not client.can_i("create", "pods")
    with pytest.raises(Forbidden):
        client.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})


def test_node_label_change_means_a_full_sync():
    cluster, proxies = cluster_with_proxies(nodes=1)
    proxy = proxies["node-1"]
    cluster.run(5)
    cluster.admin.patch("nodes", "node-1", {"metadata": {"labels": {"team": "blue"}}})
    cluster.run(2)
    assert proxy.syncs[-1].full and proxy.node_labels["team"] == "blue"


def test_bad_settings_are_refused():
    cluster = kl.Cluster(nodes=0)
    client = cluster.client("kube-proxy")
    with pytest.raises(ValueError, match="node_ip 'nowhere' is not an IPv4 address"):
        KubeProxy(cluster.sim, client, "node-1", node_ip="nowhere", start=False)
    with pytest.raises(ValueError, match="sync periods must be positive"):
        KubeProxy(cluster.sim, client, "node-1", node_ip="172.18.0.3", sync_period=0,
                  start=False)
