"""Lesson 08's tables and figures (kubelearn.viz.traffic): one Service's rules, the paths
requests took, the rolling-update race pod by pod, and a power cut's error window."""

from __future__ import annotations

import pandas as pd
import pytest

import kubelearn as kl
from kubelearn.controllers.nodelifecycle import NODE_MONITOR_GRACE_PERIOD, NODE_MONITOR_PERIOD
from kubelearn.proxy.iptables import probability
from kubelearn.proxy.traffic import EXTERNAL_CLIENT_IP
from kubelearn.viz import traffic as vt


@pytest.fixture(scope="module")
def race() -> kl.Cluster:
    return vt.simulate_rolling_update(replicas=3, prestop=0)


@pytest.fixture(scope="module")
def dark() -> kl.Cluster:
    return vt.simulate_power_off(at=40, node="node-2")


def web(replicas: int) -> kl.Cluster:
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(vt.web_manifests(replicas))
    cluster.run(30)
    return cluster


# -- rules_for ----------------------------------------------------------------------------------

def test_rules_for_walks_services_then_the_service_chain_then_each_endpoint_in_jump_order():
    cluster = web(3)
    lines = vt.rules_for(cluster.proxies["node-1"].rules(), "default/web").splitlines()
    assert lines[0].startswith("-A KUBE-SERVICES ")
    assert lines[0].endswith("-j KUBE-SVC-CDGGSHYLG3RE2FKL")  # upstream's hash of default/web:http
    svc = [line for line in lines if line.startswith("-A KUBE-SVC-")]
    assert len(svc) == 4  # the masquerade rule, then one per endpoint
    assert f"--probability {probability(3)}" in svc[1]
    assert f"--probability {probability(2)}" in svc[2]
    assert "--probability" not in svc[3]  # the last rule takes what is left
    jumps = [line.rsplit(" ", 1)[1] for line in svc[1:]]
    seps = [line.split()[1] for line in lines if line.startswith("-A KUBE-SEP-")]
    assert seps == [chain for chain in jumps for _ in range(2)]  # two rules each, jump order
    assert len(lines) == 11
    assert not any("kube-dns" in line or "default/kubernetes" in line for line in lines)


def test_rules_for_finds_the_reject_of_a_service_without_endpoints_in_the_filter_table():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"selector": {"app": "typo"}, "ports": [{"port": 80}]}})
    cluster.run(5)
    rules = cluster.proxies["node-1"].rules(None)
    text = vt.rules_for(rules, "default/web")
    assert text.splitlines() == [line for line in text.splitlines() if "has no endpoints" in line]
    assert text.endswith("-j REJECT")
    assert vt.rules_for(rules, "default/nosuch") == ""
    assert vt.rules_for(rules, "default/we") == ""  # a prefix of a name is another Service


# -- paths --------------------------------------------------------------------------------------

def test_paths_counts_every_request_once_and_shows_what_the_pod_saw():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply(vt.web_manifests(1))
    cluster.admin.patch("services", "web", {"spec": {
        "type": "NodePort", "externalTrafficPolicy": "Local",
        "ports": [{"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}]}})
    cluster.run(30)
    runs = [cluster.traffic(f"{k.node_ip}:30080", rate=10, from_node="outside", name=name)
            for name, k in cluster.kubelets.items()]
    cluster.run(2)
    table = vt.paths(*runs)
    assert table["requests"].sum() == sum(len(r.records) for r in runs) == 40
    pod_node = cluster.get("pods", wide=True)["NODE"].iloc[0]
    served = table[table["outcome"] == "ok"]
    assert list(served["traffic"]) == [pod_node]
    assert list(served["seen_as"]) == [EXTERNAL_CLIENT_IP]  # Local: no SNAT
    dropped = table[table["outcome"] == "timeout"]
    assert list(dropped["node"]) == ["-"] and list(dropped["seen_as"]) == ["-"]
    assert dropped["reason"].str.contains("has no local endpoints").all()
    by_outcome = vt.paths(*runs, by=["outcome"])
    assert dict(zip(by_outcome["outcome"], by_outcome["requests"], strict=True)) == \
        {"ok": 20, "timeout": 20}


# -- the rolling-update race --------------------------------------------------------------------

def test_race_windows_account_for_every_failed_request(race):
    table = vt.race_windows(race)
    assert len(table) == 3  # each old pod replaced once
    assert list(table["stopping"]) == sorted(table["stopping"])
    assert (table["exited"] == table["stopping"]).all()  # nginx exits at SIGTERM, no preStop
    assert ((table["rules_updated"] > table["exited"]) & (table["window_ms"] > 0)).all()
    assert (table["window_ms"] < 1000).all()
    assert table["failed"].sum() == vt.failures(race) > 0


def test_a_prestop_sleep_outlives_the_rules_so_no_window_is_left():
    table = vt.race_windows(vt.simulate_rolling_update(replicas=3, prestop=5))
    assert (table["exited"] - table["stopping"]).round(6).eq(5).all()
    assert (table["exited"] > table["rules_updated"]).all()
    assert table["window_ms"].eq(0).all() and table["failed"].eq(0).all()


def test_the_widget_figure_counts_the_failures_in_its_title(race):
    fig = vt.rollout_race_figure(replicas=3, prestop=0)
    assert fig.axes[0].get_title() == f"3 replicas, preStop sleep 0 s: {vt.failures(race)} " \
        "failed requests"


# -- a power cut -----------------------------------------------------------------------------

def test_error_window_explains_the_failures_from_the_components_periods(dark):
    steps = vt.error_window(dark, "node-2").set_index("step")["time"]
    lease = steps["last lease renewal (heartbeat)"]
    off = steps["node-2 loses power"]
    assert off == 40 and off - 10 <= lease < off
    marked = steps["node controller: Ready=Unknown, its pods NotReady"]
    assert lease + NODE_MONITOR_GRACE_PERIOD <= marked \
        <= lease + NODE_MONITOR_GRACE_PERIOD + NODE_MONITOR_PERIOD
    assert steps["EndpointSlice: its endpoints not ready"] >= marked
    proxies = steps[steps.index.str.startswith("kube-proxy")]
    assert sorted(proxies.index) == ["kube-proxy node-1: rules without them",
                                     "kube-proxy node-3: rules without them"]  # node-2 is dark
    assert steps["first request sent to its pod that timed out"] >= off
    assert marked - 1 < steps["last request sent to its pod that timed out"] <= proxies.max()
    failed = vt.requests(dark, "web").query("outcome != 'ok'")
    assert set(failed["outcome"]) == {"timeout"} and failed["time"].max() <= proxies.max()


def test_a_power_cut_before_the_traffic_starts_is_refused():
    with pytest.raises(ValueError, match="at must be 30 s or later"):
        vt.simulate_power_off(at=10)


def test_the_power_cut_timeline_runs_cause_to_effect_with_one_lane_each(dark):
    fig = vt.traffic_timeline(dark, "web", since=20)
    lanes = [label.get_text() for label in fig.axes[-1].get_yticklabels()]
    assert lanes == ["node node-2", "node controller", "EndpointSlice", "kube-proxy node-1",
                     "kube-proxy node-3"]  # node-2's proxy is dark: it syncs nothing
    drawn = [(lanes[int(line.get_ydata()[0])], line) for line in fig.axes[-1].get_lines()
             if len(line.get_xdata())]
    controller = [line for lane, line in drawn if lane == "node controller"]
    assert [line.get_color() for line in controller] == [vt.LANE_COLOURS["node controller"]]
    assert set(controller[0].get_xdata()) == {80.0}
    node = {line.get_markersize(): list(line.get_xdata()) for lane, line in drawn
            if lane == "node node-2"}
    assert node == {5: [20.0, 30.0], 9: [40.0]}  # small heartbeats, then the power cut


def test_the_median_latency_leaves_a_gap_where_nothing_was_answered():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                   "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}})
    cluster.run(5)
    sent = cluster.traffic(to="web", rate=10, name="web")
    cluster.run(3)  # no endpoints: refused
    cluster.apply(vt.web_manifests(1))
    cluster.run(30)
    sent.stop()
    latency = vt.traffic_timeline(cluster, "web").axes[2]
    median = next(line for line in latency.get_lines() if line.get_label() == "median, answered")
    x, y = median.get_data()
    answered = vt.requests(cluster, "web").query("outcome == 'ok'")
    assert min(x[~pd.isna(y)]) == answered["time"].min() // 1  # nothing drawn before the first
    refused = vt.requests(cluster, "web").query("outcome == 'refused'")
    assert len(refused) >= 30
    at = dict(zip(x, y, strict=True))
    # a gap, not the last median, in every second with no answer
    unanswered = set(refused["time"] // 1) - set(answered["time"] // 1)
    assert len(unanswered) >= 3 and all(pd.isna(at[t]) for t in unanswered)
    last = vt.requests(cluster, "web")["time"].max()
    assert latency.get_xlim()[1] == last // 1 + 1  # the axis ends with the last bin drawn


# -- lesson 08's small tables -------------------------------------------------------------------

def test_probability_table_shows_upstreams_numbers_rule_by_rule():
    table = vt.probability_table(4)
    assert list(table.columns) == ["rule 1", "rule 2", "rule 3", "rule 4"]
    assert table.loc["n = 4"].tolist() == [probability(4), probability(3), probability(2),
                                           "(none)"]
    assert table.loc["n = 1"].tolist() == ["(none)", "", "", ""]
    with pytest.raises(ValueError, match="at least 1"):
        vt.probability_table(0)


def test_routes_lists_every_way_with_its_chance_and_nothing_for_other_ports():
    cluster = web(3)
    ip = cluster.admin.get("services", "web")["spec"]["clusterIP"]
    pods = cluster.get("pods", wide=True)
    mine = pods[pods["NODE"] == "node-1"]["IP"].iloc[0]
    table = vt.routes(cluster.proxies["node-1"].dataplane, ip,
                      [("TCP", 80), ("TCP", 22), ("ICMP", 0)], src_ip=mine)
    dnat = table[table["port"] == 80]
    assert sorted(dnat["goes to"]) == sorted(f"{p}:80" for p in pods["IP"])
    assert dnat["chance"].tolist() == pytest.approx([1 / 3] * 3, abs=1e-6)
    assert dnat["endpoint chain"].str.startswith("KUBE-SEP-").all()
    assert dnat.loc[dnat["goes to"] == f"{mine}:80", "masquerade"].tolist() == [True]  # hairpin
    others = table[table["port"] != 80]
    assert others[["protocol", "port", "verdict", "goes to"]].values.tolist() == [
        ["TCP", 22, "NO_RULE", f"{ip}:22"], ["ICMP", "-", "NO_RULE", ip]]
    assert (others["service rule"] == "-").all()


def test_from_outside_tries_every_node_and_stops_its_clients():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply(vt.web_manifests(1))
    cluster.admin.patch("services", "web", {"spec": {"type": "NodePort", "ports": [
        {"name": "http", "port": 80, "targetPort": "http", "nodePort": 30080}]}})
    cluster.run(30)
    table = vt.from_outside(cluster, 30080, label="Cluster", seconds=2, rate=10)
    assert list(table.columns) == ["traffic", "outcome", "node", "seen_as", "requests"]
    assert table["traffic"].tolist() == ["Cluster via node-1", "Cluster via node-2"]
    assert (table["outcome"] == "ok").all() and table["requests"].tolist() == [20, 20]
    node_ips = {k.node_ip for k in cluster.kubelets.values()}
    assert set(table["seen_as"]) <= node_ips  # Cluster policy: SNAT to the node's address
    assert all(t.stopped_at is not None for t in cluster.traffics)


def test_side_by_side_timelines_share_scales_and_one_legend_names_every_failure(race):
    fixed = vt.simulate_rolling_update(replicas=3, prestop=5)
    fig = vt.traffic_timelines([(race, "web", "no preStop"), (fixed, "web", "preStop")],
                               since=30, until=65)
    grid = [fig.axes[i:i + 2] for i in range(0, 8, 2)]  # rows of (left, right)
    assert [ax.get_title() for ax in grid[0]] == ["no preStop", "preStop"]
    for left, right in grid:
        assert left.get_xlim() == right.get_xlim() == (30, 65)
        assert left.get_ylim() == right.get_ylim()
    left, right = grid[1]
    assert left.get_legend() is None
    legend = right.get_legend()  # on the right, though only the left column failed
    assert [t.get_text() for t in legend.get_texts()] == ["refused"]
    for ax in grid[2]:  # no latency drawn for a bin that starts at until
        assert all(max(line.get_xdata()) <= 65 for line in ax.get_lines())


def test_web_manifests_write_tolerations_and_the_probe_period_only_when_asked():
    plain, service = kl.api.load(vt.web_manifests(3))
    pod = plain["spec"]["template"]["spec"]
    assert "tolerations" not in pod and pod["containers"][0]["readinessProbe"]["periodSeconds"] == 1
    assert service["spec"]["selector"] == {"app": "web"}
    patient, _ = kl.api.load(vt.web_manifests(6, toleration_seconds=120, probe_period=2))
    pod = patient["spec"]["template"]["spec"]
    assert [(t["key"], t["effect"], t["tolerationSeconds"]) for t in pod["tolerations"]] == [
        ("node.kubernetes.io/not-ready", "NoExecute", 120),
        ("node.kubernetes.io/unreachable", "NoExecute", 120)]
    assert pod["containers"][0]["readinessProbe"]["periodSeconds"] == 2
