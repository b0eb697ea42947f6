"""NodeResourcesBalancedAllocation: upstream's cases, in the modelled v1.32 formula and v1.36's.

Cases ported from noderesources/balanced_allocation_test.go
(TestNodeResourcesBalancedAllocation, v1.35; the DRA cases are left out). Its
expected numbers are the balance *with* the pod -- the whole score up to v1.35, so
the score of the v1.32 kubelearn models. Since v1.36 (PR #135573) the plugin scores
the *change* in balance; those expected scores are derived from the same vectors
with upstream's formula ``50 + (50 + with - without) / 2`` and checked with the
plugin switched to the later forms.
"""

import pytest
from scheduler_testing import container, make_pod, plugin_scores, resource_node

from kubelearn import version
from kubelearn.api import Path
from kubelearn.scheduler import Code, CycleState, NodeInfo
from kubelearn.scheduler.plugins import balanced_allocation
from kubelearn.scheduler.plugins.balanced_allocation import (
    NodeResourcesBalancedAllocation,
    NodeResourcesBalancedAllocationArgs,
    balance_change_score,
    balanced_resource_score,
    balanced_resource_scorer,
)
from kubelearn.scheduler.plugins.resource_allocation import (
    ResourceSpec,
    pod_resource_requests,
    resource_vectors,
)

GPU = "nvidia.com/gpu"
CPU_MEM_GPU = [ResourceSpec("cpu"), ResourceSpec("memory"), ResourceSpec(GPU)]


def spec(node, *requests):
    return make_pod(f"on-{node}-{len(requests)}-{requests[0]['cpu']}", node=node,
                    containers=[container(r) for r in requests])


def cpu_and_memory(node="node2"):
    return spec(node, {"cpu": "1000m", "memory": "2000"}, {"cpu": "2000m", "memory": "3000"})


def cpu_only(node="node1"):
    return spec(node, {"cpu": "1000m", "memory": "0"}, {"cpu": "2000m", "memory": "0"})


def cpu_and_memory_and_gpu(node="node1"):
    return spec(node, {"cpu": "1000m", "memory": "2000"},
                {"cpu": "2000m", "memory": "3000", GPU: "3"})


CASES = [
    # name, pod, nodes, existing pods, resources, upstream v1.35 score, v1.36 score
    ("nothing scheduled, resources requested, differently sized nodes", cpu_and_memory(),
     [resource_node("node1", 4000, 10000), resource_node("node2", 6000, 10000)], [], None,
     {"node1": 87, "node2": 100}, {"node1": 68, "node2": 75}),
    ("resources requested, pods scheduled with resources", cpu_and_memory(),
     [resource_node("node1", 10000, 20000), resource_node("node2", 10000, 20000)],
     [cpu_only(), cpu_and_memory()], None,
     {"node1": 82, "node2": 95}, {"node1": 73, "node2": 74}),
    ("resources requested, pods scheduled with resources, differently sized nodes",
     cpu_and_memory(),
     [resource_node("node1", 10000, 20000), resource_node("node2", 10000, 50000)],
     [cpu_only(), cpu_and_memory()], None,
     {"node1": 82, "node2": 80}, {"node1": 73, "node2": 70}),
    ("requested resources at node capacity", cpu_only(),
     [resource_node("node1", 6000, 10000), resource_node("node2", 6000, 10000)],
     [cpu_only(), cpu_and_memory()], None,
     {"node1": 50, "node2": 75}, {"node1": 62, "node2": 62}),
    ("include scalar resource on a node for balanced resource allocation",
     make_pod(requests=[{"memory": "0", GPU: "1"}]),
     [resource_node("node1", 3500, 40000, {GPU: 8}), resource_node("node2", 3500, 40000, {GPU: 8})],
     [cpu_and_memory(), cpu_and_memory_and_gpu()], CPU_MEM_GPU,
     {"node1": 70, "node2": 65}, {"node1": 75, "node2": 76}),
    ("node without the scalar resource should skip the scalar resource", cpu_and_memory(),
     [resource_node("node1", 3500, 40000, {GPU: 8}), resource_node("node2", 3500, 40000)],
     [], CPU_MEM_GPU, {"node1": 63, "node2": 63}, {"node1": 56, "node2": 56}),
]


def plugin(resources):
    args = NodeResourcesBalancedAllocationArgs(resources) if resources else None
    return NodeResourcesBalancedAllocation(args)


@pytest.mark.parametrize("name,pod,nodes,pods,resources,v135,v136", CASES,
                         ids=[c[0] for c in CASES])
def test_balance_with_the_pod_is_upstreams_v135_score(name, pod, nodes, pods, resources, v135,
                                                     v136):
    pl = plugin(resources)
    requests = pod_resource_requests(pod, pl.resources, True)
    got = {}
    for node in nodes:
        name = node["metadata"]["name"]
        node_info = NodeInfo(node, [p for p in pods if p["spec"]["nodeName"] == name])
        requested, _, allocatable = resource_vectors(node_info, pl.resources, requests, True)
        got[node_info.name] = balanced_resource_score(requested, allocatable)
    assert got == v135


@pytest.mark.parametrize("name,pod,nodes,pods,resources,v135,v136", CASES,
                         ids=[c[0] for c in CASES])
@pytest.mark.parametrize("pre_score", [True, False])
def test_v132_scores_the_balance_with_the_pod(name, pod, nodes, pods, resources, v135, v136,
                                              pre_score):
    assert plugin_scores(plugin(resources), pod, nodes, pods, pre_score=pre_score) == v135


@pytest.mark.parametrize("name,pod,nodes,pods,resources,v135,v136", CASES,
                         ids=[c[0] for c in CASES])
@pytest.mark.parametrize("pre_score", [True, False])
def test_v136_scores_the_change(monkeypatch, name, pod, nodes, pods, resources, v135, v136,
                                pre_score):
    monkeypatch.setattr(balanced_allocation, "SCORES_CHANGE", True)
    assert plugin_scores(plugin(resources), pod, nodes, pods, pre_score=pre_score) == v136


def test_the_modelled_version_picks_the_forms():
    """v1.32: neither the v1.33 best-effort skip nor the v1.36 change-in-balance score."""
    assert (version.MAJOR, version.MINOR) == (1, 32)
    assert not balanced_allocation.SKIPS_BEST_EFFORT
    assert not balanced_allocation.SCORES_CHANGE


def test_v136_formula_endpoints(monkeypatch):
    """PR #135573: no change -> 75, balanced to imbalanced -> 50, the reverse -> 100."""
    assert balance_change_score(100, 100) == 75
    monkeypatch.setattr(balanced_allocation, "SCORES_CHANGE", True)
    assert balanced_resource_scorer([5, 5], [5, 5], [10, 10]) == 75
    assert balanced_resource_scorer([10, 0], [0, 0], [10, 10]) == 50
    assert balanced_resource_scorer([10, 10], [10, 0], [10, 10]) == 100


def test_v132_scores_a_best_effort_pod():
    """Before v1.33 a pod requesting nothing is scored: the node's balance as it stands."""
    pl = plugin(None)
    node_info = NodeInfo(resource_node("node1", 4000, 10000))
    assert pl.pre_score(CycleState(), make_pod(), [node_info]) is None
    assert pl.score(CycleState(), make_pod(), node_info) == 100


def test_v133_skips_a_best_effort_pod_in_pre_score(monkeypatch):
    # "nothing scheduled, nothing requested, skip in PreScore" (PR #130260)
    monkeypatch.setattr(balanced_allocation, "SKIPS_BEST_EFFORT", True)
    pl = plugin(None)
    node_info = NodeInfo(resource_node("node1", 4000, 10000))
    status = pl.pre_score(CycleState(), make_pod(), [node_info])
    assert status is not None and status.code == Code.Skip
    assert pl.score(CycleState(), make_pod(), node_info) == 0  # without PreScore: 0


@pytest.mark.parametrize("resources,message", [
    ([ResourceSpec("cpu", 2)], "args.resources[0].weight: Invalid value: 2: must be 1"),
    ([ResourceSpec("cpu"), ResourceSpec("cpu")],
     'args.resources[1].name: Duplicate value: "cpu"'),
])
def test_args_validation(resources, message):
    errs = NodeResourcesBalancedAllocationArgs(resources).validate(Path("args"))
    assert [str(e) for e in errs] == [message]
