"""DefaultPreemption and PodDisruptionBudgets: victims that break a budget count against a node.

The dry-run cases are TestDryRunPreemption's PDB cases from
pkg/scheduler/framework/plugins/defaultpreemption/default_preemption_test.go (v1.32):
a node with the capacity of one very large pod, a very large high-priority
preemptor, so every pod on the node must go; the budgets decide how many of
those evictions count as violations. Then filterPodsWithPDBViolation on its own,
the pick that prefers fewer violations, and a cluster where the scheduler sees a
budget the disruption controller computed.
"""

import pytest
from scheduler_testing import container, make_node, make_pod

import kubelearn as kl
from kubelearn.scheduler import CycleState, Profile, Snapshot
from kubelearn.scheduler.framework import Handle, run_pre_filter_plugins
from kubelearn.scheduler.nodeinfo import PodInfo
from kubelearn.scheduler.plugins import NodeResourcesFit
from kubelearn.scheduler.plugins.default_preemption import (
    Candidate,
    dry_run_preemption,
    filter_pods_with_pdb_violation,
    pick_one_node_for_preemption,
    select_victims_on_node,
)

MI = 1024 * 1024
MID, HIGH = 100, 1000
MEDIUM = {"cpu": "200m", "memory": str(400 * MI)}
VERY_LARGE = {"cpu": "500m", "memory": str(1000 * MI)}
FIT = Profile.of([NodeResourcesFit()])


def pod(name, requests, priority, node=None, labels=None):
    return make_pod(name, node=node, containers=[container(requests)], priority=priority,
                    labels=labels)


def pdb(allowed, disrupted=(), selector=None, namespace="default", name="pdb"):
    status = {"disruptionsAllowed": allowed}
    if disrupted:
        status["disruptedPods"] = {p: "2024-01-01T00:00:00Z" for p in disrupted}
    return {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": "foo"}} if selector is None
                     else selector},
            "status": status}


def dry_run(preemptor, pods, pdbs):
    nodes = [make_node("node1", {"cpu": "500m", "memory": str(1000 * MI), "pods": "100"})]
    snap = Snapshot.build(nodes, pods)
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    handle = Handle(FIT, pdbs=pdbs)
    candidates, _ = dry_run_preemption(handle, state, preemptor, snap.node_infos, 0, 1,
                                       handle.pod_disruption_budgets())
    return [(c.name, [v["metadata"]["name"] for v in c.victims], c.num_pdb_violations)
            for c in candidates]


FOO = {"app": "foo"}
TWO = [pod("p1.1", MEDIUM, MID, "node1", FOO), pod("p1.2", MEDIUM, MID, "node1", FOO)]
THREE = [*TWO, pod("p1.3", MEDIUM, MID, "node1", FOO)]

DRY_RUN_CASES = [
    ("preemption with violation of same pdb", TWO, [pdb(1)],
     [("node1", ["p1.1", "p1.2"], 1)]),
    ("preemption with violation of the pdb with pod whose eviction was processed, the victim "
     "doesn't belong to DisruptedPods", TWO, [pdb(1, ["p2"])],
     [("node1", ["p1.1", "p1.2"], 1)]),
    ("preemption with violation of the pdb with pod whose eviction was processed, the victim "
     "belongs to DisruptedPods", TWO, [pdb(1, ["p1.2"])],
     [("node1", ["p1.1", "p1.2"], 0)]),
    ("preemption with violation of the pdb with pod whose eviction was processed, the victim "
     "which belongs to DisruptedPods is treated as 'nonViolating'", THREE, [pdb(1, ["p1.3"])],
     [("node1", ["p1.1", "p1.2", "p1.3"], 1)]),
]


@pytest.mark.parametrize("name,pods,pdbs,want", DRY_RUN_CASES, ids=[c[0] for c in DRY_RUN_CASES])
def test_dry_run_preemption_counts_pdb_violations(name, pods, pdbs, want):
    assert dry_run(pod("p", VERY_LARGE, HIGH), pods, pdbs) == want


def test_without_budgets_nothing_violates():
    assert dry_run(pod("p", VERY_LARGE, HIGH), TWO, []) == [("node1", ["p1.1", "p1.2"], 0)]


def _names(infos):
    return [pi.pod["metadata"]["name"] for pi in infos]


def test_filter_spends_each_budget_in_order():
    infos = [PodInfo(p) for p in THREE]
    violating, fine = filter_pods_with_pdb_violation(infos, [pdb(2)])
    assert (_names(violating), _names(fine)) == (["p1.3"], ["p1.1", "p1.2"])


@pytest.mark.parametrize("budget", [
    pdb(0, selector={}),  # an empty selector matches nothing here
    pdb(0, namespace="other"),  # another namespace
    pdb(0, selector={"matchLabels": {"app": "bar"}}),
    pdb(0, selector={"matchExpressions": [{"key": "app", "operator": "Bogus"}]}),  # unreadable
], ids=["empty selector", "other namespace", "other labels", "invalid selector"])
def test_budgets_that_do_not_cover_the_pod(budget):
    violating, fine = filter_pods_with_pdb_violation([PodInfo(THREE[0])], [budget])
    assert (_names(violating), _names(fine)) == ([], ["p1.1"])


def test_a_pod_without_labels_violates_nothing():
    bare = pod("bare", MEDIUM, MID, "node1")
    violating, _ = filter_pods_with_pdb_violation([PodInfo(bare)], [pdb(0, selector={})])
    assert violating == []


def test_reprieve_tries_violating_pods_first():
    """Room for the preemptor needs one of two pods gone: the one a budget protects stays."""
    protected = pod("protected", MEDIUM, MID, "node1", FOO)
    free = pod("free", MEDIUM, MID, "node1", {"app": "bar"})
    nodes = [make_node("node1", {"cpu": "500m", "memory": str(1000 * MI), "pods": "100"})]
    preemptor = pod("p", {"cpu": "200m", "memory": str(400 * MI)}, HIGH)
    snap = Snapshot.build(nodes, [protected, free])
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    handle = Handle(FIT)
    victims, violations, s = select_victims_on_node(handle, state, preemptor,
                                                    snap.node_infos[0], [pdb(0)])
    assert s.is_success()
    assert ([v["metadata"]["name"] for v in victims], violations) == (["free"], 0)
    # Without the budget the more important pod is reprieved: the first of equals.
    victims, _, _ = select_victims_on_node(handle, state, preemptor, snap.node_infos[0], [])
    assert [v["metadata"]["name"] for v in victims] == ["free"]


def test_victims_stay_most_important_first_after_both_passes():
    low = pod("low", MEDIUM, 10, "node1", FOO)
    mid = pod("mid", MEDIUM, MID, "node1", {"app": "bar"})
    nodes = [make_node("node1", {"cpu": "500m", "memory": str(1000 * MI), "pods": "100"})]
    preemptor = pod("p", VERY_LARGE, HIGH)
    snap = Snapshot.build(nodes, [low, mid])
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    victims, violations, _ = select_victims_on_node(Handle(FIT), state, preemptor,
                                                    snap.node_infos[0], [pdb(0)])
    assert ([v["metadata"]["name"] for v in victims], violations) == (["mid", "low"], 1)


def test_pick_prefers_the_node_with_fewer_violations():
    """pickOneNodeForPreemption's first criterion, ahead of lower-priority victims."""
    cheap_but_violating = Candidate("node1", [pod("a", MEDIUM, 0)], num_pdb_violations=1)
    dearer = Candidate("node2", [pod("b", MEDIUM, MID)], num_pdb_violations=0)
    assert pick_one_node_for_preemption([cheap_but_violating, dearer]) == "node2"


def test_dry_run_lists_non_violating_candidates_first():
    nodes = [make_node(n, {"cpu": "500m", "memory": str(1000 * MI), "pods": "100"})
             for n in ("node1", "node2")]
    pods = [pod("a", VERY_LARGE, MID, "node1", FOO), pod("b", VERY_LARGE, MID, "node2")]
    preemptor = pod("p", VERY_LARGE, HIGH)
    snap = Snapshot.build(nodes, pods)
    state = CycleState(snap)
    run_pre_filter_plugins(FIT, state, preemptor, snap.node_infos)
    candidates, _ = dry_run_preemption(Handle(FIT), state, preemptor, snap.node_infos, 0, 2,
                                       [pdb(0)])
    assert [(c.name, c.num_pdb_violations) for c in candidates] == [("node2", 0), ("node1", 1)]


def test_a_budget_steers_preemption_in_a_cluster():
    """Two 2-CPU nodes, each full with one low-priority pod. Without a budget the
    scheduler preempts ``batch`` (its pod started last); with a budget on ``batch``
    that allows no disruption (computed by the disruption controller, read by the
    scheduler's informer) it preempts ``db`` instead."""
    cluster = kl.Cluster(seed=0, nodes=2, node_cpu="2", node_memory="4Gi")
    cluster.apply([{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                    "metadata": {"name": name}, "value": value}
                   for name, value in (("low", 10), ("high", 1000))])

    def deployment(name):
        return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
                "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                         "template": {"metadata": {"labels": {"app": name}}, "spec": {
                             "priorityClassName": "low",
                             "containers": [{"name": "app", "image": "nginx:1.27",
                                             "resources": {"requests": {"cpu": "1500m"}}}]}}}}

    cluster.apply([deployment("db"), deployment("batch"),
                   {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                    "metadata": {"name": "batch"},
                    "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "batch"}}}}])
    cluster.run(30)
    status = cluster.admin.get("poddisruptionbudgets", "batch", "default")["status"]
    assert (status["currentHealthy"], status["disruptionsAllowed"]) == (1, 0)
    urgent = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "urgent"},
              "spec": {"priorityClassName": "high",
                       "containers": [{"name": "app", "image": "nginx:1.27",
                                       "resources": {"requests": {"cpu": "1500m"}}}]}}
    cluster.apply(urgent)
    cluster.run(1)
    preempted = [r.object for r in cluster.sim.records if r.reason == "Preempted"]
    assert len(preempted) == 1 and preempted[0].startswith("pod/default/db-")
