"""The framework: Status, NodeInfo sums, running a profile, and the FailedScheduling message.

Ported: framework/types_test.go TestFitError_Error (8 cases) and
TestPodInfoCalculateResources (the 7 cases without DRA); the rest exercises the runs
with upstream's plugins and with a plugin written the way a learner would.
"""

import random

import pytest
from scheduler_testing import container, make_node, make_pod

from kubelearn.scheduler import (
    Code,
    CycleState,
    FilterPlugin,
    FrameworkError,
    NodeInfo,
    PodInfo,
    Profile,
    ScorePlugin,
    Snapshot,
    Status,
    default_profile,
    failed_scheduling_message,
    fit_error_message,
    run_filters,
    run_scores,
    select_host,
)
from kubelearn.scheduler.framework import NodePluginScores, code_of
from kubelearn.scheduler.nodeinfo import DEFAULT_MEMORY_REQUEST, DEFAULT_MILLI_CPU_REQUEST
from kubelearn.scheduler.plugins import NodeName, NodePorts, NodeUnschedulable

MI = 1024 * 1024

# -- Status --------------------------------------------------------------------------------------


def test_status_codes_and_message():
    assert [str(c) for c in Code] == ["Success", "Error", "Unschedulable",
                                      "UnschedulableAndUnresolvable", "Wait", "Skip", "Pending"]
    s = Status(Code.Unschedulable, "Insufficient cpu", "Insufficient memory")
    assert s.message() == "Insufficient cpu, Insufficient memory"
    assert s.is_rejected() and not s.is_success()
    assert code_of(None) == Code.Success
    assert Status(Code.Error, "x", err=ValueError("boom")).all_reasons() == ("boom", "x")


# -- FitError.Error() ----------------------------------------------------------------------------

def unsched(reason):
    return Status(Code.Unschedulable, reason)


def three(*reasons):
    return {f"node{i + 1}": unsched(r) for i, r in enumerate(reasons)}


PRE = "Node(s) failed PreFilter plugin FalsePreFilter"
POST = "Error running PostFilter plugin FailedPostFilter"
F1 = "Node(s) failed Filter plugin FalseFilter-1"
F2 = "Node(s) failed Filter plugin FalseFilter-2"

FIT_ERRORS = [
    ("nodes failed Prefilter plugin", 3, three(PRE, PRE, PRE), PRE, "",
     "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter."),
    ("nodes failed Prefilter plugin and the preemption also failed", 3, three(PRE, PRE, PRE),
     PRE, POST, "0/3 nodes are available: Node(s) failed PreFilter plugin FalsePreFilter. "
     "Error running PostFilter plugin FailedPostFilter"),
    ("nodes failed one Filter plugin with an empty PostFilterMsg", 3, three(F1, F1, F1), "", "",
     "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1."),
    ("nodes failed one Filter plugin with a non-empty PostFilterMsg", 3, three(F1, F1, F1), "",
     POST, "0/3 nodes are available: 3 Node(s) failed Filter plugin FalseFilter-1. "
     "Error running PostFilter plugin FailedPostFilter"),
    ("nodes failed two Filter plugins with an empty PostFilterMsg", 3, three(F1, F1, F2), "", "",
     "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-2, "
     "2 Node(s) failed Filter plugin FalseFilter-1."),
    ("nodes failed two Filter plugins with a non-empty PostFilterMsg", 3, three(F1, F1, F2), "",
     POST, "0/3 nodes are available: 1 Node(s) failed Filter plugin FalseFilter-2, "
     "2 Node(s) failed Filter plugin FalseFilter-1. Error running PostFilter plugin "
     "FailedPostFilter"),
    ("failed to Permit on node", 1, {"node1": unsched("Node failed Permit plugin Permit-1")},
     "", "", "0/1 nodes are available: 1 Node failed Permit plugin Permit-1."),
    ("failed to Reserve on node", 1, {"node1": unsched("Node failed Reserve plugin Reserve-1")},
     "", "", "0/1 nodes are available: 1 Node failed Reserve plugin Reserve-1."),
]


@pytest.mark.parametrize("name,n,statuses,pre,post,want", FIT_ERRORS,
                         ids=[c[0] for c in FIT_ERRORS])
def test_fit_error_message(name, n, statuses, pre, post, want):
    absent = Status(Code.UnschedulableAndUnresolvable)
    assert fit_error_message(n, statuses, pre, post, absent_status=absent) == want


def cluster_with_taint_and_full_nodes():
    """One control-plane node (tainted) and two 4Gi workers with 3Gi already requested."""
    cap = {"cpu": "2", "memory": "4Gi", "pods": "110"}
    nodes = [make_node("control-plane", cap, taints=[
                 {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
             make_node("worker-1", cap), make_node("worker-2", cap)]
    pods = [make_pod(f"busy-{n}", node=n, requests=[{"memory": "3Gi"}])
            for n in ("worker-1", "worker-2")]
    return Snapshot.build(nodes, pods)


def test_failed_scheduling_message_of_the_seed():
    result = run_filters(default_profile(), make_pod(requests=[{"memory": "2Gi"}]),
                         cluster_with_taint_and_full_nodes())
    assert result.feasible == []
    taint = "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"
    assert result.fit_error_message() == (
        f"0/3 nodes are available: 1 {taint}, 2 Insufficient memory.")
    # v1.32: no DynamicResources plugin (its gate is off), one "." at the end (PR #117588)
    assert result.failed_scheduling_message() == (
        f"0/3 nodes are available: 1 {taint}, 2 Insufficient memory. "
        "preemption: 0/3 nodes are available: 1 Preemption is not "
        "helpful for scheduling, 2 No preemption victims found for incoming pod.")
    assert result.failed_scheduling_message(dynamic_resources=True) == (
        f"0/3 nodes are available: 1 {taint}, 2 Insufficient memory. "
        "no new claims to deallocate, preemption: 0/3 nodes are available: 1 Preemption is not "
        "helpful for scheduling, 2 No preemption victims found for incoming pod.")
    assert result.failed_scheduling_message(preemption=False) == result.fit_error_message()


def test_preemption_does_not_try_an_unresolvable_node():
    statuses = {"a": Status(Code.UnschedulableAndUnresolvable, "Insufficient memory")}
    assert failed_scheduling_message(1, statuses) == (
        "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: "
        "1 Preemption is not helpful for scheduling.")


# -- PodInfo and NodeInfo ------------------------------------------------------------------------

def pod_resources(containers, init=(), pod_requests=None):
    pod = make_pod(containers=[container(c) for c in containers],
                   init_containers=[container(c, restart_policy=rp) for c, rp in init])
    if pod_requests is not None:
        pod["spec"]["resources"] = {"requests": pod_requests}
    info = PodInfo(pod)
    return info.requested.milli_cpu, info.requested.memory, info.non0_cpu, info.non0_mem


M500, M800, M1200 = 500 * MI, 800 * MI, 1200 * MI


@pytest.mark.parametrize("containers,init,pod_level,want", [
    ([None], (), None, (0, 0, DEFAULT_MILLI_CPU_REQUEST, DEFAULT_MEMORY_REQUEST)),
    ([{"cpu": "500m", "memory": "500Mi"}], (), None, (500, M500, 500, M500)),
    ([{"cpu": "500m", "memory": "500Mi"}, {"cpu": "700m", "memory": "800Mi"}], (), None,
     (1200, M500 + M800, 1200, M500 + M800)),
    ([{"cpu": "500m", "memory": "500Mi"}], [({"cpu": "500m", "memory": "500Mi"}, None)],
     {"cpu": "1200m", "memory": "1200Mi"}, (1200, M1200, 1200, M1200)),
    ([{"cpu": "500m", "memory": "500Mi"}], [({"cpu": "500m", "memory": "500Mi"}, "Always")],
     {"cpu": "1200m", "memory": "1200Mi"}, (1200, M1200, 1200, M1200)),
    ([{}], [({}, None)], {"memory": "1200Mi"}, (0, M1200, DEFAULT_MILLI_CPU_REQUEST, M1200)),
    ([{}], [({}, None)], {"cpu": "500m"}, (500, 0, 500, DEFAULT_MEMORY_REQUEST)),
])
def test_pod_info_calculate_resources(containers, init, pod_level, want):
    assert pod_resources(containers, init, pod_level) == want


def test_defaults_apply_per_missing_key():
    # a container that sets only cpu counts 200Mi of memory for scoring, not 100m more cpu
    assert pod_resources([{"cpu": "250m"}]) == (250, 0, 250, DEFAULT_MEMORY_REQUEST)
    # an explicit zero is a request: no default
    assert pod_resources([{"cpu": "0", "memory": "0"}]) == (0, 0, 0, 0)


def test_node_info_sums_and_removes():
    info = NodeInfo(make_node("n", {"cpu": "4", "memory": "8Gi", "pods": "110"}))
    a = info.add_pod(make_pod("a", requests=[{"cpu": "1", "memory": "1Gi"}]))
    info.add_pod(make_pod("b", containers=[container()]))
    assert (info.requested.milli_cpu, info.requested.memory) == (1000, 1024 * MI)
    assert (info.non_zero_requested.milli_cpu, info.non_zero_requested.memory) == (
        1100, 1024 * MI + DEFAULT_MEMORY_REQUEST)
    assert (info.allocatable.milli_cpu, info.allocatable.allowed_pod_number) == (4000, 110)
    info.remove_pod(a)
    assert info.requested.milli_cpu == 0 and len(info.pods) == 1


def test_snapshot_image_states():
    snap = Snapshot.build([make_node("a", images=[(["nginx:1.27", "nginx:latest"], 70 * MI)]),
                           make_node("b", images=[(["nginx:latest"], 70 * MI)]), make_node("c")])
    state = snap.get("a").image_states
    assert (state["nginx:latest"].num_nodes, state["nginx:1.27"].num_nodes) == (2, 1)


# -- NodeName, NodeUnschedulable, NodePorts ------------------------------------------------------

def test_node_name_filter():
    info = NodeInfo(make_node("node-1"))
    assert NodeName().filter(CycleState(), make_pod(), info) is None
    assert NodeName().filter(CycleState(), make_pod(nodeName="node-1"), info) is None
    assert NodeName().filter(CycleState(), make_pod(nodeName="node-2"), info) == Status(
        Code.UnschedulableAndUnresolvable, "node(s) didn't match the requested node name")


def test_node_unschedulable_filter():
    cordoned = NodeInfo(make_node("n", unschedulable=True))
    assert NodeUnschedulable().filter(CycleState(), make_pod(), cordoned) == Status(
        Code.UnschedulableAndUnresolvable, "node(s) were unschedulable")
    tolerant = make_pod(tolerations=[{"key": "node.kubernetes.io/unschedulable",
                                      "operator": "Exists", "effect": "NoSchedule"}])
    assert NodeUnschedulable().filter(CycleState(), tolerant, cordoned) is None


@pytest.mark.parametrize("used,wanted,fits", [
    ({"hostPort": 8080}, {"hostPort": 8080}, False),
    ({"hostPort": 8080, "protocol": "UDP"}, {"hostPort": 8080}, True),
    ({"hostPort": 8080, "hostIP": "127.0.0.1"}, {"hostPort": 8080, "hostIP": "127.0.0.2"}, True),
    ({"hostPort": 8080, "hostIP": "127.0.0.1"}, {"hostPort": 8080}, False),  # 0.0.0.0 vs any IP
    ({"hostPort": 8080}, {"hostPort": 8080, "hostIP": "10.0.0.1"}, False),
    ({"hostPort": 8001}, {"hostPort": 8080}, True),
])
def test_node_ports(used, wanted, fits):
    info = NodeInfo(make_node("n"), [make_pod("old", containers=[
        container(ports=[{"containerPort": 80, **used}])])])
    pod = make_pod(containers=[container(ports=[{"containerPort": 80, **wanted}])])
    plugin, state = NodePorts(), CycleState()
    plugin.pre_filter(state, pod, [info])
    want = None if fits else Status(
        Code.Unschedulable, "node(s) didn't have free ports for the requested pod ports")
    assert plugin.filter(state, pod, info) == want


def test_node_ports_skips_pods_without_host_ports():
    _, status = NodePorts().pre_filter(CycleState(), make_pod(containers=[container()]), [])
    assert status == Status(Code.Skip)


# -- a learner's plugin in a profile -------------------------------------------------------------

class GpuOnly(FilterPlugin):
    """Only nodes labelled gpu=true."""

    name = "GpuOnly"

    def filter(self, state, pod, node_info):
        if node_info.labels.get("gpu") == "true":
            return None
        return Status(Code.Unschedulable, "node(s) had no GPU")


class FewerPods(ScorePlugin):
    """Prefer nodes with fewer pods."""

    name = "FewerPods"

    def score(self, state, pod, node_info):
        return max(0, 100 - 10 * len(node_info.pods))


def learner_cluster():
    nodes = [make_node(f"n{i}", {"cpu": "1", "memory": "1Gi", "pods": "110"},
                       labels={"gpu": "true" if i else "false"}) for i in range(3)]
    return Snapshot.build(nodes, [make_pod("x", node="n1")])


def test_a_learner_plugin_in_a_profile():
    profile = Profile.of([GpuOnly(), (FewerPods(), 3)], scheduler_name="gpu")
    result = run_filters(profile, make_pod(), learner_cluster())
    assert [n.name for n in result.feasible] == ["n1", "n2"]
    assert result.fit_error_message() == "0/3 nodes are available: 1 node(s) had no GPU."
    scores = run_scores(profile, make_pod(), result.feasible, result.state)
    assert scores == [NodePluginScores("n1", {"FewerPods": 90}, 270),
                      NodePluginScores("n2", {"FewerPods": 100}, 300)]
    assert select_host(scores, random.Random(0)) == "n2"


def test_scores_out_of_range_are_an_error():
    class TooHigh(ScorePlugin):
        name = "TooHigh"

        def score(self, state, pod, node_info):
            return 101

    with pytest.raises(FrameworkError, match='plugin "TooHigh" returns an invalid score 101'):
        run_scores(Profile.of([TooHigh()]), make_pod(), learner_cluster())


def test_select_host_breaks_ties_with_the_seeded_generator():
    scores = [NodePluginScores(f"n{i}", total_score=s) for i, s in enumerate([5, 9, 9, 1, 9])]
    picks = {select_host(scores, random.Random(seed)) for seed in range(40)}
    assert picks == {"n1", "n2", "n4"}
    assert select_host(scores, random.Random(7)) == select_host(scores, random.Random(7))


def test_pre_filter_shortlist_marks_the_other_nodes():
    pod = make_pod(affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchFields": [
            {"key": "metadata.name", "operator": "In", "values": ["n2"]}]}]}}})
    result = run_filters(default_profile(), pod, learner_cluster())
    assert [n.name for n in result.feasible] == ["n2"]
    assert result.absent_status.message() == "node(s) didn't satisfy plugin(s) [NodeAffinity]"


def test_default_profile_scores_a_pod_end_to_end():
    snap = cluster_with_taint_and_full_nodes()
    pod = make_pod(requests=[{"cpu": "100m", "memory": "512Mi"}])
    result = run_filters(default_profile(), pod, snap)
    assert [n.name for n in result.feasible] == ["worker-1", "worker-2"]
    scores = run_scores(default_profile(), pod, result.feasible, result.state)
    # NodeAffinity, PodTopologySpread and InterPodAffinity skip at PreScore (no preferred
    # affinity; no Service or controller selects the pod; no pod has inter-pod affinity)
    assert set(scores[0].scores) == {"TaintToleration", "NodeResourcesFit",
                                     "NodeResourcesBalancedAllocation", "ImageLocality"}
    assert scores[0].total_score == scores[1].total_score


def test_filter_statuses_reports_every_plugin():
    from kubelearn.scheduler.framework import filter_statuses, run_pre_filter_plugins
    snap = cluster_with_taint_and_full_nodes()
    profile = default_profile()
    pod = make_pod(requests=[{"memory": "2Gi"}])
    state = CycleState(snap)
    run_pre_filter_plugins(profile, state, pod, snap.node_infos)
    verdicts = filter_statuses(profile, state, pod, snap.get("control-plane"))
    assert verdicts["TaintToleration"].message().startswith("node(s) had untolerated taint {")
    assert verdicts["NodeResourcesFit"] is None  # the control plane has room
    assert verdicts["NodePorts"].code == Code.Skip  # no hostPort: PreFilter said Skip
