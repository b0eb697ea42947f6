"""DefaultPreemption: victims per node, the node picked, and a preemption end to end.

Ported from pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go:
TestSelectNodesForPreemption (the NodeResourcesFit and anti-affinity cases, with its
5000m / 1000Mi nodes) and TestPickOneNodeForPreemption (nine of its ten cases, with its
500m / 1000Mi nodes). Pod sizes and priorities are the test file's: small, medium,
large and very large containers ask 1, 2, 3 and 5 times 100m / 200Mi; priorities
-100, 0, 100, 1000, 10000.
"""

import random

import pytest
from scheduler_testing import container, make_node, make_pod

import kubelearn as kl
from kubelearn.scheduler import CycleState, Profile, Snapshot, Status
from kubelearn.scheduler.framework import (
    Code,
    Handle,
    NodeToStatus,
    run_pre_filter_plugins,
)
from kubelearn.scheduler.plugins import InterPodAffinity, NodeResourcesFit, TaintToleration
from kubelearn.scheduler.plugins.default_preemption import (
    Candidate,
    DefaultPreemption,
    DefaultPreemptionArgs,
    calculate_num_candidates,
    dry_run_preemption,
    nodes_where_preemption_might_help,
    pick_one_node_for_preemption,
    select_victims_on_node,
    terminating_by_preemption,
)

MI = 1024 * 1024
NEG, LOW, MID, HIGH, VERY_HIGH = -100, 0, 100, 1000, 10000


def size(k):
    return {"cpu": f"{100 * k}m", "memory": str(200 * MI * k)}


SMALL, MEDIUM, LARGE, VERY_LARGE = size(1), size(2), size(3), size(5)


def pod(name, requests=None, priority=LOW, node=None, start=None, **kw):
    p = make_pod(name, node=node, containers=[container(requests)] if requests else (),
                 priority=priority, **kw)
    if start is not None:
        p["status"] = {"startTime": f"2019-01-{start:02d}T01:01:01Z"}
    return p


def node(name, milli_cpu, memory=1000 * MI, labels=None):
    return make_node(name, {"cpu": f"{milli_cpu}m", "memory": str(memory), "pods": "100"},
                     labels={"hostname": name, **(labels or {})})


def dry_run(profile, preemptor, nodes, pods):
    """Every node's candidate (victim names), all nodes tried from the first."""
    snap = Snapshot.build(nodes, pods)
    state = CycleState(snap)
    run_pre_filter_plugins(profile, state, preemptor, snap.node_infos)
    candidates, statuses = dry_run_preemption(Handle(profile), state, preemptor,
                                              snap.node_infos, 0, len(nodes))
    return {c.name: {v["metadata"]["name"] for v in c.victims} for c in candidates}, statuses


FIT = Profile.of([NodeResourcesFit()])

SELECT_CASES = [
    ("a pod that fits on both nodes when lower priority pods are preempted",
     pod("p", LARGE, HIGH),
     [pod("a", LARGE, MID, "node1"), pod("b", LARGE, MID, "node2")],
     {"node1": {"a"}, "node2": {"b"}}),
    ("a pod that would fit on the nodes, but other pods running are higher priority",
     pod("p", LARGE, LOW),
     [pod("a", LARGE, MID, "node1"), pod("b", LARGE, MID, "node2")], {}),
    ("medium priority pod is preempted, but lower priority one stays as it is small",
     pod("p", LARGE, HIGH),
     [pod("a", SMALL, LOW, "node1"), pod("b", LARGE, MID, "node1"),
      pod("c", LARGE, MID, "node2")],
     {"node1": {"b"}, "node2": {"c"}}),
    ("mixed priority pods are preempted",
     pod("p", LARGE, HIGH),
     [pod("a", SMALL, MID, "node1"), pod("b", SMALL, LOW, "node1"),
      pod("c", MEDIUM, MID, "node1"), pod("d", SMALL, HIGH, "node1"),
      pod("e", LARGE, HIGH, "node2")],
     {"node1": {"b", "c"}}),
    ("mixed priority pods are preempted, pick later StartTime one when priorities are equal",
     pod("p", LARGE, HIGH),
     [pod("a", SMALL, LOW, "node1", start=7), pod("b", SMALL, LOW, "node1", start=6),
      pod("c", MEDIUM, MID, "node1", start=5), pod("d", SMALL, HIGH, "node1", start=4),
      pod("e", LARGE, HIGH, "node2", start=3)],
     {"node1": {"a", "c"}}),
]


@pytest.mark.parametrize("name,preemptor,pods,want", SELECT_CASES,
                         ids=[c[0] for c in SELECT_CASES])
def test_select_nodes_for_preemption(name, preemptor, pods, want):
    nodes = [node("node1", 5000), node("node2", 5000)]
    victims, _ = dry_run(FIT, preemptor, nodes, pods)
    assert victims == want


def test_pod_with_anti_affinity_is_preempted():
    """TestSelectNodesForPreemption "pod with anti-affinity is preempted": the victim's
    anti-affinity term keeps the preemptor off node1 until it is gone."""
    profile = Profile.of([NodeResourcesFit(), InterPodAffinity()])
    anti = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{
        "labelSelector": {"matchExpressions": [
            {"key": "pod", "operator": "In", "values": ["preemptor", "value2"]}]},
        "topologyKey": "hostname"}]}}
    preemptor = pod("p", SMALL, HIGH, labels={"pod": "preemptor"})
    pods = [pod("a", SMALL, LOW, "node1", labels={"service": "securityscan"}, affinity=anti),
            pod("b", SMALL, MID, "node1"), pod("d", SMALL, HIGH, "node1"),
            pod("e", LARGE, HIGH, "node2")]
    victims, statuses = dry_run(profile, preemptor, [node("node1", 5000), node("node2", 5000)],
                                pods)
    assert victims == {"node1": {"a"}}
    assert statuses["node2"] == Status(Code.UnschedulableAndUnresolvable,
                                       "No preemption victims found for incoming pod")


def test_a_node_too_small_even_when_emptied_keeps_its_filter_status():
    preemptor = pod("p", VERY_LARGE, HIGH)
    victims, statuses = dry_run(FIT, preemptor, [node("node1", 300)],
                                [pod("a", SMALL, LOW, "node1")])
    assert victims == {}
    assert statuses["node1"] == Status(Code.Unschedulable, "Insufficient cpu").with_plugin(
        "NodeResourcesFit")


# -- TestPickOneNodeForPreemption ------------------------------------------------------------------

# Left out: "No node needs preemption" -- the pod fits beside m1.1, so v1.32's dry run
# reports 'expected at least one victim pod on node "node1"' (see the test below).
PICK_CASES = [
    ("a pod that fits on both nodes when lower priority pods are preempted",
     pod("p", LARGE, HIGH), ["node1", "node2"],
     [pod("m1.1", LARGE, MID, "node1", start=1), pod("m2.1", LARGE, MID, "node2", start=1)],
     ["node1", "node2"]),
    ("node with min highest priority pod is picked", pod("p", VERY_LARGE, HIGH),
     ["node1", "node2", "node3"],
     [pod("m1.1", MEDIUM, MID, "node1", start=1), pod("m1.2", LARGE, MID, "node1", start=1),
      pod("m2.1", MEDIUM, MID, "node2", start=1), pod("m2.2", MEDIUM, LOW, "node2", start=1),
      pod("m3.1", MEDIUM, LOW, "node3", start=1), pod("m3.2", MEDIUM, LOW, "node3", start=1)],
     ["node3"]),
    ("when highest priorities are the same, minimum sum of priorities is picked",
     pod("p", VERY_LARGE, HIGH), ["node1", "node2", "node3"],
     [pod("m1.1", MEDIUM, MID, "node1", start=1), pod("m1.2", LARGE, MID, "node1", start=1),
      pod("m2.1", LARGE, MID, "node2", start=1), pod("m2.2", MEDIUM, LOW, "node2", start=1),
      pod("m3.1", MEDIUM, MID, "node3", start=1), pod("m3.2", MEDIUM, MID, "node3", start=1)],
     ["node2"]),
    ("when highest priority and sum are the same, minimum number of pods is picked",
     pod("p", VERY_LARGE, HIGH), ["node1", "node2", "node3"],
     [pod("m1.1", SMALL, MID, "node1", start=1), pod("m1.2", SMALL, NEG, "node1", start=1),
      pod("m1.3", SMALL, MID, "node1", start=1), pod("m1.4", SMALL, NEG, "node1", start=1),
      pod("m2.1", LARGE, MID, "node2", start=1), pod("m2.2", MEDIUM, NEG, "node2", start=1),
      pod("m3.1", MEDIUM, MID, "node3", start=1), pod("m3.2", SMALL, NEG, "node3", start=1),
      pod("m3.3", SMALL, LOW, "node3", start=1)],
     ["node2"]),
    ("sum of adjusted priorities is considered", pod("p", VERY_LARGE, HIGH),
     ["node1", "node2", "node3"],
     [pod("m1.1", SMALL, MID, "node1", start=1), pod("m1.2", SMALL, NEG, "node1", start=1),
      pod("m1.3", SMALL, NEG, "node1", start=1),
      pod("m2.1", LARGE, MID, "node2", start=1), pod("m2.2", MEDIUM, NEG, "node2", start=1),
      pod("m3.1", MEDIUM, MID, "node3", start=1), pod("m3.2", SMALL, NEG, "node3", start=1),
      pod("m3.3", SMALL, LOW, "node3", start=1)],
     ["node2"]),
    ("non-overlapping lowest high priority, sum priorities, and number of pods",
     pod("p", VERY_LARGE, VERY_HIGH), ["node1", "node2", "node3", "node4"],
     [pod("m1.1", SMALL, MID, "node1", start=1), pod("m1.2", SMALL, LOW, "node1", start=1),
      pod("m1.3", SMALL, LOW, "node1", start=1),
      pod("m2.1", LARGE, HIGH, "node2", start=1),
      pod("m3.1", MEDIUM, MID, "node3", start=1), pod("m3.2", SMALL, LOW, "node3", start=1),
      pod("m3.3", SMALL, LOW, "node3", start=1), pod("m3.4", MEDIUM, LOW, "node3", start=1),
      pod("m4.1", MEDIUM, MID, "node4", start=1), pod("m4.2", SMALL, MID, "node4", start=1),
      pod("m4.3", SMALL, MID, "node4", start=1), pod("m4.4", SMALL, NEG, "node4", start=1)],
     ["node1"]),
    ("same priority, same number of victims, different start time for each node's pod",
     pod("p", VERY_LARGE, HIGH), ["node1", "node2", "node3"],
     [pod("m1.1", MEDIUM, MID, "node1", start=3), pod("m1.2", MEDIUM, MID, "node1", start=3),
      pod("m2.1", MEDIUM, MID, "node2", start=4), pod("m2.2", MEDIUM, MID, "node2", start=4),
      pod("m3.1", MEDIUM, MID, "node3", start=2), pod("m3.2", MEDIUM, MID, "node3", start=2)],
     ["node2"]),
    ("same priority, same number of victims, different start time for all pods",
     pod("p", VERY_LARGE, HIGH), ["node1", "node2", "node3"],
     [pod("m1.1", MEDIUM, MID, "node1", start=5), pod("m1.2", MEDIUM, MID, "node1", start=3),
      pod("m2.1", MEDIUM, MID, "node2", start=6), pod("m2.2", MEDIUM, MID, "node2", start=2),
      pod("m3.1", MEDIUM, MID, "node3", start=4), pod("m3.2", MEDIUM, MID, "node3", start=7)],
     ["node3"]),
    ("different priority, same number of victims, different start time for all pods",
     pod("p", VERY_LARGE, HIGH), ["node1", "node2", "node3"],
     [pod("m1.1", MEDIUM, LOW, "node1", start=5), pod("m1.2", MEDIUM, MID, "node1", start=3),
      pod("m2.1", MEDIUM, MID, "node2", start=7), pod("m2.2", MEDIUM, LOW, "node2", start=2),
      pod("m3.1", MEDIUM, LOW, "node3", start=4), pod("m3.2", MEDIUM, MID, "node3", start=6)],
     ["node2"]),
]


@pytest.mark.parametrize("name,preemptor,names,pods,want", PICK_CASES,
                         ids=[c[0] for c in PICK_CASES])
def test_pick_one_node_for_preemption(name, preemptor, names, pods, want):
    nodes = [node(n, 500) for n in names]
    snap = Snapshot.build(nodes, pods)
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    candidates, _ = dry_run_preemption(Handle(FIT), state, preemptor, snap.node_infos, 0,
                                       len(nodes))
    assert pick_one_node_for_preemption(candidates) in want


def test_a_node_that_needs_no_victim_is_an_error_not_a_candidate():
    victims, statuses = dry_run(FIT, pod("p", LARGE, HIGH), [node("node1", 500)],
                                [pod("m1.1", SMALL, MID, "node1")])
    assert victims == {}
    assert statuses["node1"].code == Code.Error
    assert statuses["node1"].message() == 'expected at least one victim pod on node "node1"'


def test_pick_one_node_orders_by_the_highest_priority_victim_before_the_count():
    a = Candidate("a", [pod("x", priority=MID)])
    b = Candidate("b", [pod("y", priority=LOW), pod("z", priority=LOW)])
    assert pick_one_node_for_preemption([a, b]) == "b"
    assert pick_one_node_for_preemption([]) == ""


# -- which nodes, how many -------------------------------------------------------------------------

def test_only_unschedulable_nodes_are_tried():
    """TestNodesWherePreemptionMightHelp's last case: Unresolvable skipped, absent tried
    when the absent status is Unschedulable."""
    snap = Snapshot.build([node(f"node{i}", 500) for i in range(1, 5)])
    statuses = NodeToStatus({"node2": Status(Code.UnschedulableAndUnresolvable),
                             "node3": Status(Code.Unschedulable),
                             "node4": Status(Code.UnschedulableAndUnresolvable)},
                            absent_status=Status(Code.Unschedulable))
    assert [n.name for n in nodes_where_preemption_might_help(snap.node_infos, statuses)] == \
        ["node1", "node3"]


@pytest.mark.parametrize("nodes,pct,absolute,want", [
    (10, 5, 0, 0), (10, 40, 0, 4), (10, 10, 100, 10), (1000, 10, 100, 100), (5000, 10, 100, 500),
])
def test_calculate_num_candidates(nodes, pct, absolute, want):
    """default_preemption_test.go TestCalculateNumCandidates, and the defaults at scale."""
    assert calculate_num_candidates(DefaultPreemptionArgs(pct, absolute), nodes) == want


def test_args_validation():
    with pytest.raises(ValueError, match="must be positive"):
        DefaultPreemption(DefaultPreemptionArgs(0, 0))
    with pytest.raises(ValueError, match=r"not in valid range \[0, 100\]"):
        DefaultPreemption(DefaultPreemptionArgs(101, 0))


# -- PostFilter: eligibility and the message -------------------------------------------------------

def post_filter(profile, preemptor, nodes, pods, statuses):
    snap = Snapshot.build(nodes, pods)
    state = CycleState(snap)
    run_pre_filter_plugins(profile, state, preemptor, snap.node_infos)
    plugin = DefaultPreemption()
    plugin.set_handle(Handle(profile, random.Random(1)))
    return plugin.post_filter(state, preemptor, statuses)


def test_preemption_policy_never_does_not_preempt():
    preemptor = pod("p", LARGE, HIGH, preemptionPolicy="Never")
    result, s = post_filter(FIT, preemptor, [node("node1", 500)], [pod("a", LARGE, LOW, "node1")],
                            {"node1": Status(Code.Unschedulable, "Insufficient cpu")})
    assert result is None
    assert s == Status(Code.Unschedulable,
                       "preemption: not eligible due to preemptionPolicy=Never.")


def test_a_nominated_pod_waits_for_its_victims_to_terminate():
    victim = pod("a", LARGE, LOW, "node1", terminating=True)
    victim["status"] = {"conditions": [{"type": "DisruptionTarget", "status": "True",
                                        "reason": "PreemptionByScheduler"}]}
    assert terminating_by_preemption(victim)
    preemptor = pod("p", LARGE, HIGH)
    preemptor["status"] = {"nominatedNodeName": "node1"}
    _, s = post_filter(FIT, preemptor, [node("node1", 500)], [victim],
                       {"node1": Status(Code.Unschedulable, "Insufficient cpu")})
    assert s.message() == "preemption: not eligible due to a terminating pod on the nominated node."


def test_the_message_when_no_node_has_victims():
    """v1.32's words, per node: the tainted node is not worth trying, the others have no
    lower-priority pod; one "." at the end (types.go FitError.Error since PR #117588)."""
    profile = Profile.of([TaintToleration(), NodeResourcesFit()])
    nodes = [make_node("cp", {"cpu": "2", "memory": "4Gi", "pods": "110"},
                       taints=[{"key": "node-role.kubernetes.io/control-plane",
                                "effect": "NoSchedule"}]),
             node("w1", 500), node("w2", 500)]
    pods = [pod("busy-1", LARGE, LOW, "w1"), pod("busy-2", LARGE, LOW, "w2")]
    statuses = NodeToStatus({
        "cp": Status(Code.UnschedulableAndUnresolvable, "node(s) had untolerated taint"),
        "w1": Status(Code.Unschedulable, "Insufficient memory"),
        "w2": Status(Code.Unschedulable, "Insufficient memory")})
    result, s = post_filter(profile, pod("p", LARGE, LOW), nodes, pods, statuses)
    assert result is not None and result.nominated_node_name == ""  # clears a nomination
    assert s == Status(Code.Unschedulable,
                       "preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
                       "scheduling, 2 No preemption victims found for incoming pod.")


def test_post_filter_nominates_the_node_it_frees():
    nodes = [node("node1", 500), node("node2", 500)]
    pods = [pod("a", LARGE, MID, "node1", start=1), pod("b", LARGE, LOW, "node2", start=1)]
    statuses = {"node1": Status(Code.Unschedulable, "Insufficient cpu"),
                "node2": Status(Code.Unschedulable, "Insufficient cpu")}
    result, s = post_filter(FIT, pod("p", LARGE, HIGH), nodes, pods, statuses)
    assert s.is_success() and s.message() == ""
    assert result.nominated_node_name == "node2"  # the lower-priority victim


def test_victims_are_reprieved_most_important_first():
    snap = Snapshot.build([node("node1", 500)], [
        pod("old", SMALL, LOW, "node1", start=1), pod("new", SMALL, LOW, "node1", start=2),
        pod("mid", SMALL, MID, "node1", start=3)])
    preemptor = pod("p", LARGE, HIGH)
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    victims, violations, s = select_victims_on_node(Handle(FIT), state, preemptor,
                                                    snap.get("node1"))
    assert s.is_success() and violations == 0
    # 500m - 300m leaves room for two small pods: "mid" and then the earlier-started "old"
    assert [v["metadata"]["name"] for v in victims] == ["new"]
    assert len(snap.get("node1").pods) == 3  # the cache's NodeInfo is untouched


# -- end to end ------------------------------------------------------------------------------------

LOW_CLASS = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
             "metadata": {"name": "low"}, "value": 10}
HIGH_CLASS = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
              "metadata": {"name": "high"}, "value": 1000}


def with_priority(cluster, manifest, class_name, value):
    """Use the PriorityClass if the API serves them, else set spec.priority directly."""
    spec = manifest["spec"].get("template", {}).get("spec") or manifest["spec"]
    try:
        cluster.admin.info("priorityclasses")
    except Exception:
        spec["priority"] = value
    else:
        spec["priorityClassName"] = class_name
    return manifest


def test_a_high_priority_pod_preempts_low_priority_ones():
    """Two 2-CPU nodes full of low-priority pods; a high-priority pod takes one's place."""
    cluster = kl.Cluster(seed=0, nodes=2, node_cpu="2", node_memory="4Gi")
    try:
        cluster.admin.info("priorityclasses")
        cluster.apply([LOW_CLASS, HIGH_CLASS])
    except Exception:
        pass
    low = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "batch"},
           "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "batch"}},
                    "template": {"metadata": {"labels": {"app": "batch"}},
                                 "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                          "resources": {"requests": {"cpu": "1500m"}}}]}}}}
    cluster.apply(with_priority(cluster, low, "low", 10))
    cluster.run(30)
    assert sorted(cluster.get("pods")["STATUS"]) == ["Running", "Running"]
    pods = cluster.admin.watch("pods", "default")
    urgent = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "urgent"},
              "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                       "resources": {"requests": {"cpu": "1500m"}}}]}}
    cluster.apply(with_priority(cluster, urgent, "high", 1000))
    cluster.run(0.5)
    seen = [e["object"] for e in pods.drain()]
    uid = next(p for p in seen if p["metadata"]["name"] == "urgent")["metadata"]["uid"]
    nominated = next(p["status"]["nominatedNodeName"] for p in seen
                     if p["metadata"]["name"] == "urgent"
                     and p["status"].get("nominatedNodeName"))
    marked = [p for p in seen if any(c["type"] == "DisruptionTarget"
                                     for c in p["status"].get("conditions") or [])]
    assert {p["metadata"]["name"] for p in marked} and \
        {p["spec"]["nodeName"] for p in marked} == {nominated}
    condition = next(c for c in marked[0]["status"]["conditions"]
                     if c["type"] == "DisruptionTarget")
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "True", "PreemptionByScheduler",
        "default-scheduler: preempting to accommodate a higher priority pod")
    victim = marked[0]["metadata"]["name"]
    assert any(p["metadata"]["name"] == victim and p["metadata"].get("deletionTimestamp")
               for p in seen)  # deleted gracefully
    events = cluster.admin.list("events", "default")["items"]
    preempted = [e for e in events if e["reason"] == "Preempted"]
    assert [(e["involvedObject"]["name"], e["message"]) for e in preempted] == [
        (victim, f"Preempted by pod {uid} on node {nominated}")]
    failed = [e["message"] for e in events if e["reason"] == "FailedScheduling"
              and e["involvedObject"]["name"] == "urgent"]
    assert failed == ["0/2 nodes are available: 2 Insufficient cpu."]  # preemption succeeded
    cluster.run(30)
    urgent_now = cluster.admin.get("pods", "urgent", "default")
    assert urgent_now["spec"]["nodeName"] == nominated
    assert urgent_now["status"]["phase"] == "Running"
    # the victim's replacement finds no room, and nothing it may preempt
    pending = [p for p in cluster.admin.list("pods", "default")["items"]
               if not p["spec"].get("nodeName")]
    assert [p["status"]["conditions"][0]["message"] for p in pending] == [
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: "
        "2 No preemption victims found for incoming pod."]
