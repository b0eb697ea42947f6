"""NodeResourcesFit: the filter's reasons and the three scoring strategies, upstream's numbers.

Cases ported from pkg/scheduler/framework/plugins/noderesources: least_allocated_test.go
(TestLeastAllocatedScoringStrategy), most_allocated_test.go (TestMostAllocatedScoringStrategy),
requested_to_capacity_ratio_test.go (TestRequestedToCapacityRatioScoringStrategy,
TestBrokenLinearFunction, TestResourceBinPackingSingleExtended) and fit_test.go
(TestEnoughRequests). Quantities are upstream's: ``"cpu": "4000"`` is 4000 cores there too.
"""

import pytest
from scheduler_testing import container, make_node, make_pod, plugin_scores, resource_node

from kubelearn.scheduler import Code, CycleState, NodeInfo, Status
from kubelearn.scheduler.plugins.helper import build_broken_linear_function
from kubelearn.scheduler.plugins.node_resources_fit import (
    LEAST_ALLOCATED,
    MOST_ALLOCATED,
    REQUESTED_TO_CAPACITY_RATIO,
    NodeResourcesFit,
    NodeResourcesFitArgs,
    ScoringStrategy,
    compute_pod_resource_request,
    fits_request,
)
from kubelearn.scheduler.plugins.resource_allocation import DEFAULT_RESOURCES, ResourceSpec

EXT = "abc.com/xyz"  # test_util.go extendedRes
EXTENDED_SET = [ResourceSpec("cpu", 1), ResourceSpec("memory", 1), ResourceSpec(EXT, 1)]


def node(name, cpu=None, memory=None, **more):
    cap = None if cpu is None else {"cpu": cpu, "memory": memory, **more}
    return make_node(name, cap)


def req(cpu, memory, **more):
    return {"cpu": cpu, "memory": memory, **more}


def on(node_name, *requests):
    return make_pod(f"x-{node_name}-{len(requests)}-{id(requests)}", node=node_name,
                    requests=list(requests))


def fit(strategy, resources=DEFAULT_RESOURCES, shape=None):
    return NodeResourcesFit(NodeResourcesFitArgs(
        scoring_strategy=ScoringStrategy(strategy, list(resources), shape)))


POD_3000_5000 = make_pod(requests=[req("1000", "2000"), req("2000", "3000")])
EMPTY = make_pod()

LEAST = [
    # name, pod, nodes, existing pods, resources, want
    ("nothing scheduled, nothing requested", EMPTY,
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")], [], DEFAULT_RESOURCES,
     {"node1": 100, "node2": 100}),
    ("nothing scheduled, resources requested, differently sized nodes", POD_3000_5000,
     [node("node1", "4000", "10000"), node("node2", "6000", "10000")], [], DEFAULT_RESOURCES,
     {"node1": 37, "node2": 50}),
    ("no resources requested, pods scheduled", EMPTY,
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")],
     [on("node1"), on("node1"), on("node2"), on("node2")], DEFAULT_RESOURCES,
     {"node1": 100, "node2": 100}),
    ("no resources requested, pods scheduled with resources", EMPTY,
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     [on("node1", req("3000", "0")), on("node1", req("3000", "0")),
      on("node2", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 70, "node2": 57}),
    ("resources requested, pods scheduled with resources", POD_3000_5000,
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     [on("node1", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 57, "node2": 45}),
    ("resources requested, pods scheduled with resources, differently sized nodes",
     POD_3000_5000, [node("node1", "10000", "20000"), node("node2", "10000", "50000")],
     [on("node1", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 57, "node2": 60}),
    ("requested resources exceed node capacity", make_pod(requests=[req("3000", "0")]),
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")],
     [on("node1", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 50, "node2": 25}),
    ("zero node resources, pods scheduled with resources", EMPTY,
     [node("node1"), node("node2")],
     [on("node1", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 0, "node2": 0}),
    ("nothing scheduled, resources requested with different weight on CPU and memory",
     POD_3000_5000, [node("node1", "4000", "10000"), node("node2", "6000", "10000")], [],
     [ResourceSpec("memory", 2), ResourceSpec("cpu", 1)], {"node1": 41, "node2": 50}),
    ("bypass extended resource if the pod does not request", POD_3000_5000,
     [node("node1", "6000", "10000"), node("node2", "6000", "10000", **{EXT: "4"})], [],
     EXTENDED_SET, {"node1": 50, "node2": 50}),
    ("honor extended resource if the pod requests",
     make_pod(requests=[req("3000", "5000", **{EXT: "2"})]),
     [node("node1", "6000", "10000", **{EXT: "4"}), node("node2", "6000", "10000", **{EXT: "10"})],
     [], EXTENDED_SET, {"node1": 50, "node2": 60}),
    ("if the node doesn't have a resource", make_pod(requests=[req("3000", "4000")]),
     [node("node1", "6000", "10000"), node("node2", "6000", "10000", **{EXT: "4"})], [],
     [ResourceSpec(EXT, 2), ResourceSpec("cpu", 1), ResourceSpec("memory", 1)],
     {"node1": 55, "node2": 55}),
]

MOST = [
    ("nothing scheduled, nothing requested", EMPTY,
     [node("node1", "4000", "10000"), node("node2", "4000", "10000")], [], DEFAULT_RESOURCES,
     {"node1": 0, "node2": 0}),
    ("nothing scheduled, resources requested, differently sized nodes", POD_3000_5000,
     [node("node1", "4000", "10000"), node("node2", "6000", "10000")], [], DEFAULT_RESOURCES,
     {"node1": 62, "node2": 50}),
    ("no resources requested, pods scheduled with resources", EMPTY,
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     [on("node1", req("3000", "0")), on("node1", req("3000", "0")),
      on("node2", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 30, "node2": 42}),
    ("resources requested, pods scheduled with resources", POD_3000_5000,
     [node("node1", "10000", "20000"), node("node2", "10000", "20000")],
     [on("node1", req("3000", "0")), on("node2", req("3000", "5000"))], DEFAULT_RESOURCES,
     {"node1": 42, "node2": 55}),
    ("resources requested equal node capacity",
     make_pod(requests=[req("2000", "4000"), req("3000", "5000")]),
     [node("node1", "5000", "10000"), node("node2", "10000", "9000")], [], DEFAULT_RESOURCES,
     {"node1": 95, "node2": 75}),
    ("nothing scheduled, resources requested, differently sized nodes, weights",
     POD_3000_5000, [node("node1", "4000", "10000"), node("node2", "6000", "10000")], [],
     [ResourceSpec("memory", 2), ResourceSpec("cpu", 1)], {"node1": 58, "node2": 50}),
    ("no resources requested, pods scheduled, nonzero request for resource",
     make_pod(containers=[container()]),
     [node("node1", "250m", "1000Mi"), node("node2", "250m", "1000Mi")],
     [make_pod("a", node="node1", containers=[container()]),
      make_pod("b", node="node1", containers=[container()])], DEFAULT_RESOURCES,
     {"node1": 80, "node2": 30}),
    ("bypass extended resource if the pod does not request", POD_3000_5000,
     [node("node1", "6000", "10000"), node("node2", "6000", "10000", **{EXT: "4"})], [],
     EXTENDED_SET, {"node1": 50, "node2": 50}),
    ("honor extended resource if the pod request",
     make_pod(requests=[req("3000", "5000", **{EXT: "2"})]),
     [node("node1", "6000", "10000", **{EXT: "4"}), node("node2", "6000", "10000", **{EXT: "10"})],
     [], EXTENDED_SET, {"node1": 50, "node2": 40}),
    ("if the node doesn't have a resource", make_pod(requests=[req("3000", "4000")]),
     [node("node1", "6000", "10000"), node("node2", "6000", "10000", **{EXT: "4"})], [],
     [ResourceSpec(EXT, 2), ResourceSpec("cpu", 1), ResourceSpec("memory", 1)],
     {"node1": 45, "node2": 45}),
]


@pytest.mark.parametrize("name,pod,nodes,pods,resources,want", LEAST, ids=[c[0] for c in LEAST])
def test_least_allocated(name, pod, nodes, pods, resources, want):
    assert plugin_scores(fit(LEAST_ALLOCATED, resources), pod, nodes, pods) == want


@pytest.mark.parametrize("name,pod,nodes,pods,resources,want", MOST, ids=[c[0] for c in MOST])
def test_most_allocated(name, pod, nodes, pods, resources, want):
    assert plugin_scores(fit(MOST_ALLOCATED, resources), pod, nodes, pods) == want


@pytest.mark.parametrize("strategy", [LEAST_ALLOCATED, MOST_ALLOCATED])
def test_resources_not_set_is_an_error(strategy):
    # "Resources not set, pods scheduled with error": Score returns an Error status
    with pytest.raises(RuntimeError, match="resources not found"):
        plugin_scores(fit(strategy, []), POD_3000_5000, [node("node1", "4000", "10000")])


@pytest.mark.parametrize("strategy", [LEAST_ALLOCATED, MOST_ALLOCATED])
@pytest.mark.parametrize("resources,field_name,weight", [
    ([ResourceSpec("memory", -1), ResourceSpec("cpu", 1)], "resources[0]", -1),
    ([ResourceSpec("memory", 1), ResourceSpec("cpu", 0)], "resources[1]", 0),
    ([ResourceSpec("memory", 1), ResourceSpec("cpu", 101)], "resources[1]", 101),
])
def test_resource_weight_out_of_range(strategy, resources, field_name, weight):
    name = resources[int(field_name[-2])].name
    with pytest.raises(ValueError) as e:
        fit(strategy, resources)
    assert str(e.value) == (f"scoringStrategy.{field_name}.weight: Invalid value: {weight}: "
                            f"resource weight of {name} not in valid range (0, 100]")


RTCR_SHAPE = [(0, 10), (100, 0)]


@pytest.mark.parametrize("pod,nodes,pods,want", [
    # nothing scheduled, nothing requested (default - least requested nodes have priority)
    (EMPTY, [node("node1", "4000", "10000"), node("node2", "4000", "10000")],
     [on("node1"), on("node1")], {"node1": 100, "node2": 100}),
    # nothing scheduled, resources requested, differently sized nodes
    (POD_3000_5000, [node("node1", "4000", "10000"), node("node2", "6000", "10000")],
     [on("node1"), on("node1")], {"node1": 38, "node2": 50}),
    # no resources requested, pods scheduled with resources
    (EMPTY, [node("node1", "4000", "10000"), node("node2", "6000", "10000")],
     [on("node1", req("3000", "5000")), on("node2", req("3000", "5000"))],
     {"node1": 38, "node2": 50}),
])
def test_requested_to_capacity_ratio(pod, nodes, pods, want):
    plugin = fit(REQUESTED_TO_CAPACITY_RATIO, DEFAULT_RESOURCES, RTCR_SHAPE)
    assert plugin_scores(plugin, pod, nodes, pods) == want


FOO = "intel.com/foo"


@pytest.mark.parametrize("pod,pods,want", [
    (make_pod(), [make_pod("q")], {"node1": 0, "node2": 0}),
    (make_pod(requests=[{FOO: "2"}]), [make_pod("q")], {"node1": 2, "node2": 5}),
    (make_pod(requests=[{FOO: "2"}]), [make_pod("q", node="node2", requests=[{FOO: "2"}])],
     {"node1": 2, "node2": 10}),
    (make_pod(requests=[{FOO: "4"}]), [make_pod("q")], {"node1": 5, "node2": 10}),
])
def test_resource_bin_packing_single_extended(pod, pods, want):
    plugin = fit(REQUESTED_TO_CAPACITY_RATIO, [ResourceSpec(FOO, 1)], [(0, 0), (100, 1)])
    nodes = [resource_node("node1", 4000, 10000 * 1024 * 1024, {FOO: 8}),
             resource_node("node2", 4000, 10000 * 1024 * 1024, {FOO: 4})]
    assert plugin_scores(plugin, pod, nodes, pods) == want


@pytest.mark.parametrize("points,assertions", [
    ([(10, 1), (90, 9)], [(-10, 1), (0, 1), (9, 1), (10, 1), (15, 1), (19, 1), (20, 2), (89, 8),
                          (90, 9), (99, 9), (100, 9), (110, 9)]),
    ([(0, 2), (40, 10), (100, 0)], [(-10, 2), (0, 2), (20, 6), (30, 8), (40, 10), (70, 5),
                                    (100, 0), (110, 0)]),
    ([(0, 2), (40, 2), (100, 2)], [(-10, 2), (0, 2), (20, 2), (30, 2), (40, 2), (70, 2),
                                   (100, 2), (110, 2)]),
])
def test_broken_linear_function(points, assertions):
    f = build_broken_linear_function(points)
    assert [(p, f(p)) for p, _ in assertions] == assertions


def test_rtcr_requires_a_shape():
    with pytest.raises(ValueError, match="scoringStrategy.requestedToCapacityRatio: Required "
                                         "value: must be specified when type is "
                                         "RequestedToCapacityRatio"):
        fit(REQUESTED_TO_CAPACITY_RATIO)


# -- the filter: fit_test.go TestEnoughRequests ---------------------------------------------------

EXT_A = "example.com/aaa"
EXT_B = "example.com/bbb"
# makeAllocatableResources(10, 20, 32, 5, 20, 5)
ALLOCATABLE = {"cpu": "10m", "memory": "20", "pods": "32", EXT_A: "5",
               "ephemeral-storage": "20", "hugepages-2Mi": "5"}


def r(cpu=0, mem=0, **scalars):
    """A request list as fit_test.go's framework.Resource{MilliCPU, Memory, Scalar...}."""
    out = {"cpu": f"{cpu}m", "memory": str(mem)}
    out.update({k: str(v) for k, v in scalars.items()})
    return out


def resource_pod(*usage, init=()):
    return make_pod("incoming", containers=[container(u) for u in usage],
                    init_containers=[container(u) for u in init])


def filter_status(pod, existing_usage, allocatable=ALLOCATABLE):
    node_info = NodeInfo(make_node("node", allocatable))
    node_info.add_pod(make_pod("existing", containers=[container(existing_usage)]))
    plugin = NodeResourcesFit()
    state = CycleState()
    plugin.pre_filter(state, pod, [node_info])
    return plugin.filter(state, pod, node_info)


def unschedulable(*reasons):
    return Status(Code.Unschedulable, *reasons)


def unresolvable(*reasons):
    """A request above the node's whole allocatable: v1.32 still says Unschedulable
    (fit.go; UnschedulableAndUnresolvable only from v1.34, PR #131345)."""
    return Status(Code.Unschedulable, *reasons)


ENOUGH_REQUESTS = [
    ("no resources requested always fits", make_pod("incoming"), r(10, 20), None),
    ("too many resources fails", resource_pod(r(1, 1)), r(10, 20),
     unschedulable("Insufficient cpu", "Insufficient memory")),
    ("too many resources fails due to init container cpu",
     resource_pod(r(1, 1), init=[r(3, 1)]), r(8, 19), unschedulable("Insufficient cpu")),
    ("too many resources fails due to highest init container cpu",
     resource_pod(r(1, 1), init=[r(3, 1), r(2, 1)]), r(8, 19), unschedulable("Insufficient cpu")),
    ("too many resources fails due to init container memory",
     resource_pod(r(1, 1), init=[r(1, 3)]), r(9, 19), unschedulable("Insufficient memory")),
    ("too many resources fails due to highest init container memory",
     resource_pod(r(1, 1), init=[r(1, 3), r(1, 2)]), r(9, 19),
     unschedulable("Insufficient memory")),
    ("init container fits because it's the max, not sum, of containers and init containers",
     resource_pod(r(1, 1), init=[r(1, 1)]), r(9, 19), None),
    ("multiple init containers fit because it's the max, not sum, of containers and init "
     "containers", resource_pod(r(1, 1), init=[r(1, 1), r(1, 1)]), r(9, 19), None),
    ("both resources fit", resource_pod(r(1, 1)), r(5, 5), None),
    ("one resource memory fits", resource_pod(r(2, 1)), r(9, 5), unschedulable("Insufficient cpu")),
    ("one resource cpu fits", resource_pod(r(1, 2)), r(5, 19),
     unschedulable("Insufficient memory")),
    ("equal edge case", resource_pod(r(5, 1)), r(5, 19), None),
    ("equal edge case for init container", resource_pod(r(4, 1), init=[r(5, 1)]), r(5, 19), None),
    ("extended resource fits", resource_pod({EXT_A: "1"}), {}, None),
    ("extended resource fits for init container", resource_pod({}, init=[{EXT_A: "1"}]), {}, None),
    ("extended resource capacity enforced", resource_pod(r(1, 1, **{EXT_A: 10})),
     r(0, 0, **{EXT_A: 0}), unresolvable(f"Insufficient {EXT_A}")),
    ("extended resource allocatable enforced", resource_pod(r(1, 1, **{EXT_A: 1})),
     r(0, 0, **{EXT_A: 5}), unschedulable(f"Insufficient {EXT_A}")),
    ("extended resource allocatable enforced for multiple containers",
     resource_pod(r(1, 1, **{EXT_A: 3}), r(1, 1, **{EXT_A: 3})), r(0, 0, **{EXT_A: 2}),
     unresolvable(f"Insufficient {EXT_A}")),
    ("extended resource allocatable admits multiple init containers",
     resource_pod({}, init=[r(1, 1, **{EXT_A: 3}), r(1, 1, **{EXT_A: 3})]),
     r(0, 0, **{EXT_A: 2}), None),
    ("extended resource allocatable enforced for multiple init containers",
     resource_pod({}, init=[r(1, 1, **{EXT_A: 6}), r(1, 1, **{EXT_A: 3})]),
     r(0, 0, **{EXT_A: 2}), unresolvable(f"Insufficient {EXT_A}")),
    ("extended resource allocatable enforced for unknown resource",
     resource_pod(r(1, 1, **{EXT_B: 1})), r(0, 0), unresolvable(f"Insufficient {EXT_B}")),
]


@pytest.mark.parametrize("name,pod,existing,want", ENOUGH_REQUESTS,
                         ids=[c[0] for c in ENOUGH_REQUESTS])
def test_enough_requests(name, pod, existing, want):
    assert filter_status(pod, existing) == want


def test_insufficient_resource_numbers():
    # "too many resources fails": {cpu, Insufficient cpu, 1, 10, 10}, {memory, ..., 1, 20, 20}
    node_info = NodeInfo(make_node("node", ALLOCATABLE),
                         [make_pod("existing", requests=[r(10, 20)])])
    got = fits_request(compute_pod_resource_request(resource_pod(r(1, 1))), node_info)
    assert [(i.resource_name, i.reason, i.requested, i.used, i.capacity) for i in got] == [
        ("cpu", "Insufficient cpu", 1, 10, 10), ("memory", "Insufficient memory", 1, 20, 20)]


@pytest.mark.parametrize("pod,existing", [
    # after fit_test.go's notEnoughPodsTests: a node whose pod count is full rejects any pod
    (make_pod("incoming"), r(10, 20)),
    (resource_pod(r(1, 1)), r(5, 5)),
    (resource_pod(r(5, 1)), r(5, 19)),
])
def test_too_many_pods(pod, existing):
    allocatable = {"cpu": "10m", "memory": "20", "pods": "1"}
    assert filter_status(pod, existing, allocatable) == unschedulable("Too many pods")


def test_ignored_resources_and_groups():
    pod = resource_pod(r(1, 1, **{EXT_B: 1}))
    for args in (NodeResourcesFitArgs(ignored_resources=[EXT_B]),
                 NodeResourcesFitArgs(ignored_resource_groups=["example.com"])):
        node_info = NodeInfo(make_node("node", ALLOCATABLE))
        plugin, state = NodeResourcesFit(args), CycleState()
        plugin.pre_filter(state, pod, [node_info])
        assert plugin.filter(state, pod, node_info) is None


def test_six_gigabyte_pod_on_four_gigabyte_node():
    """The seed's example: v1.32 leaves it to preemption to find it cannot help."""
    node_info = NodeInfo(make_node("small", {"cpu": "4", "memory": "4Gi", "pods": "110"}))
    pod = make_pod(requests=[{"memory": "6Gi"}])
    plugin, state = NodeResourcesFit(), CycleState()
    plugin.pre_filter(state, pod, [node_info])
    assert plugin.filter(state, pod, node_info) == unresolvable("Insufficient memory")
