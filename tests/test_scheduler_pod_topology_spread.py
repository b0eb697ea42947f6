"""PodTopologySpread: upstream's cases from podtopologyspread/filtering_test.go and scoring_test.go.

TestSingleConstraint (11 cases), the first case of TestMultipleConstraints, and
TestPodTopologySpreadScore (11 cases), plus the system default constraints and
args validation.
"""

import pytest
from scheduler_testing import exists, make_node, make_pod, plugin_scores, spread_constraint

from kubelearn.api import Path
from kubelearn.scheduler import Code, CycleState, Snapshot
from kubelearn.scheduler.plugins.pod_topology_spread import (
    LABEL_HOSTNAME,
    PodTopologySpread,
    PodTopologySpreadArgs,
    default_selector,
)

DNS = "DoNotSchedule"
SA = "ScheduleAnyway"
OK, UNSCHED, UNRESOLVABLE = Code.Success, Code.Unschedulable, Code.UnschedulableAndUnresolvable


def zone_nodes(zone_key="zone"):
    return [make_node("node-a", labels={zone_key: "zone1", "node": "node-a"}),
            make_node("node-b", labels={zone_key: "zone1", "node": "node-b"}),
            make_node("node-x", labels={"zone": "zone2", "node": "node-x"}),
            make_node("node-y", labels={"zone": "zone2", "node": "node-y"})]


def foo_pod(name, node, namespace="default", **kw):
    return make_pod(name, node=node, namespace=namespace, labels={"foo": ""}, **kw)


SPREAD_2_1_0_3 = [foo_pod("p-a1", "node-a"), foo_pod("p-a2", "node-a"), foo_pod("p-b1", "node-b"),
                  foo_pod("p-y1", "node-y"), foo_pod("p-y2", "node-y"), foo_pod("p-y3", "node-y")]


def incoming(*constraints, labels=None, **kw):
    return make_pod("p", labels={"foo": ""} if labels is None else labels,
                    spread=list(constraints), **kw)


SINGLE = [
    ("no existing pods", incoming(spread_constraint(1, "zone", DNS, exists("foo"))),
     zone_nodes(), [], {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}),
    ("no existing pods, incoming pod doesn't match itself",
     incoming(spread_constraint(1, "zone", DNS, exists("bar"))), zone_nodes(), [],
     {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}),
    ("existing pods in a different namespace do not count",
     incoming(spread_constraint(1, "zone", DNS, exists("foo"))), zone_nodes(),
     [foo_pod("p-a1", "node-a", "ns1"), foo_pod("p-b1", "node-a", "ns2"),
      foo_pod("p-x1", "node-x"), foo_pod("p-y1", "node-y")],
     {"node-a": OK, "node-b": OK, "node-x": UNSCHED, "node-y": UNSCHED}),
    ("pods spread across zones as 3/3, all nodes fit",
     incoming(spread_constraint(1, "zone", DNS, exists("foo"))), zone_nodes(), SPREAD_2_1_0_3,
     {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": OK}),
    ("pods spread across zones as 1/2 due to absence of label 'zone' on node-b",
     incoming(spread_constraint(1, "zone", DNS, exists("foo"))),
     [make_node("node-a", labels={"zone": "zone1", "node": "node-a"}),
      make_node("node-b", labels={"zon": "zone1", "node": "node-b"}),
      make_node("node-x", labels={"zone": "zone2", "node": "node-x"}),
      make_node("node-y", labels={"zone": "zone2", "node": "node-y"})],
     [foo_pod("p-a1", "node-a"), foo_pod("p-b1", "node-b"), foo_pod("p-x1", "node-x"),
      foo_pod("p-y1", "node-y")],
     {"node-a": OK, "node-b": UNRESOLVABLE, "node-x": UNSCHED, "node-y": UNSCHED}),
    ("pod cannot be scheduled as all nodes don't have label 'rack'",
     incoming(spread_constraint(1, "rack", DNS, exists("foo"))),
     [make_node("node-a", labels={"zone": "zone1", "node": "node-a"}),
      make_node("node-x", labels={"zone": "zone2", "node": "node-x"})], [],
     {"node-a": UNRESOLVABLE, "node-x": UNRESOLVABLE}),
    ("pods spread across nodes as 2/1/0/3, only node-x fits",
     incoming(spread_constraint(1, "node", DNS, exists("foo"))), zone_nodes(), SPREAD_2_1_0_3,
     {"node-a": UNSCHED, "node-b": UNSCHED, "node-x": OK, "node-y": UNSCHED}),
    ("pods spread across nodes as 2/1/0/3, maxSkew is 2, node-b and node-x fit",
     incoming(spread_constraint(2, "node", DNS, exists("foo"))), zone_nodes(), SPREAD_2_1_0_3,
     {"node-a": UNSCHED, "node-b": OK, "node-x": OK, "node-y": UNSCHED}),
    ("pods spread across nodes as 2/1/0/3, but pod doesn't match itself",
     incoming(spread_constraint(1, "node", DNS, exists("foo")), labels={"bar": ""}),
     zone_nodes(), SPREAD_2_1_0_3,
     {"node-a": UNSCHED, "node-b": OK, "node-x": OK, "node-y": UNSCHED}),
    ("incoming pod has nodeAffinity, pods spread as 2/~1~/~0~/3, hence node-a fits",
     incoming(spread_constraint(1, "node", DNS, exists("foo")),
              affinity={"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                  "nodeSelectorTerms": [{"matchExpressions": [
                      {"key": "node", "operator": "In", "values": ["node-a", "node-y"]}]}]}}}),
     zone_nodes(), SPREAD_2_1_0_3,
     # node-b and node-x pass here; in a real cycle NodeAffinity rejects them first
     {"node-a": OK, "node-b": OK, "node-x": OK, "node-y": UNSCHED}),
    ("terminating Pods should be excluded",
     incoming(spread_constraint(1, "node", DNS, exists("foo"))),
     [make_node("node-a", labels={"node": "node-a"}),
      make_node("node-b", labels={"node": "node-b"})],
     [foo_pod("p-a", "node-a", terminating=True), foo_pod("p-b", "node-b")],
     {"node-a": OK, "node-b": UNSCHED}),
    ("two Constraints on zone and node, spreads = [3/3, 2/1/0/3]",
     incoming(spread_constraint(1, "zone", DNS, exists("foo")),
              spread_constraint(1, "node", DNS, exists("foo"))), zone_nodes(), SPREAD_2_1_0_3,
     {"node-a": UNSCHED, "node-b": UNSCHED, "node-x": OK, "node-y": UNSCHED}),
]


@pytest.mark.parametrize("name,pod,nodes,pods,want", SINGLE, ids=[c[0] for c in SINGLE])
def test_filter(name, pod, nodes, pods, want):
    snapshot = Snapshot.build(nodes, pods)
    plugin, state = PodTopologySpread(), CycleState(snapshot)
    _, status = plugin.pre_filter(state, pod, snapshot.node_infos)
    assert status is None
    got = {}
    for node_info in snapshot:
        s = plugin.filter(state, pod, node_info)
        got[node_info.name] = Code.Success if s is None else s.code
    assert got == want


def test_filter_reasons():
    snapshot = Snapshot.build([make_node("n", labels={"zone": "z"}), make_node("m")],
                              [foo_pod("a", "n")])
    pod = incoming(spread_constraint(1, "zone", DNS, exists("foo")),
                   spread_constraint(1, LABEL_HOSTNAME, DNS, exists("foo")))
    plugin, state = PodTopologySpread(), CycleState(snapshot)
    plugin.pre_filter(state, pod, snapshot.node_infos)
    assert plugin.filter(state, pod, snapshot.get("m")).message() == (
        "node(s) didn't match pod topology spread constraints (missing required label)")


def hostname_nodes(*names, key=LABEL_HOSTNAME):
    return [make_node(n, labels={key: n}) for n in names]


def foo_pods(spec):
    """``{"node-a": 2, ...}`` -> that many foo pods on each node."""
    return [foo_pod(f"p-{n}{i}", n) for n, count in spec.items() for i in range(count)]


def soft(max_skew=1, key=LABEL_HOSTNAME, selector=None):
    return incoming(spread_constraint(max_skew, key, SA,
                                      exists("foo") if selector is None else selector))


SCORE = [
    ("one constraint on node, no existing pods", soft(), hostname_nodes("node-a", "node-b"), [],
     [], {"node-a": 100, "node-b": 100}),
    ("one constraint on node, only one node is candidate", soft(), hostname_nodes("node-a"),
     hostname_nodes("node-b"), foo_pods({"node-a": 2, "node-b": 1}), {"node-a": 100}),
    ("one constraint on node, all nodes have the same number of matching pods", soft(),
     hostname_nodes("node-a", "node-b"), [], foo_pods({"node-a": 1, "node-b": 1}),
     {"node-a": 100, "node-b": 100}),
    ("one constraint on node, all 4 nodes are candidates", soft(),
     hostname_nodes("node-a", "node-b", "node-c", "node-d"), [],
     foo_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
     {"node-a": 20, "node-b": 60, "node-c": 100, "node-d": 0}),
    ("one constraint on node, null selector",
     incoming(spread_constraint(1, LABEL_HOSTNAME, SA, None)),
     hostname_nodes("node-a", "node-b", "node-c", "node-d"), [],
     foo_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
     {"node-a": 100, "node-b": 100, "node-c": 100, "node-d": 100}),
    ("one constraint on node, all 4 nodes are candidates, maxSkew=2", soft(2),
     hostname_nodes("node-a", "node-b", "node-c", "node-d"), [],
     foo_pods({"node-a": 2, "node-b": 1, "node-d": 3}),
     {"node-a": 33, "node-b": 66, "node-c": 100, "node-d": 16}),
    ("one constraint on node, all 4 nodes are candidates, maxSkew=3", soft(3),
     hostname_nodes("node-a", "node-b", "node-c", "node-d"), [],
     foo_pods({"node-a": 4, "node-b": 3, "node-c": 2, "node-d": 1}),
     {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100}),
    ("one constraint on node, 3 out of 4 nodes are candidates", soft(),
     hostname_nodes("node-a", "node-b", "node-x"), hostname_nodes("node-y"),
     foo_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
     {"node-a": 33, "node-b": 83, "node-x": 100}),
    ("one constraint on node, 3 out of 4 nodes are candidates, one node doesn't match topology "
     "key", soft(), [make_node("node-a", labels={LABEL_HOSTNAME: "node-a"}),
                     make_node("node-b", labels={"n": "node-b"}),
                     make_node("node-x", labels={LABEL_HOSTNAME: "node-x"})],
     hostname_nodes("node-y"), foo_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
     {"node-a": 16, "node-b": 0, "node-x": 100}),
    ("one constraint on zone, 3 out of 4 nodes are candidates", soft(key="zone"),
     [make_node("node-a", labels={"zone": "zone1", LABEL_HOSTNAME: "node-a"}),
      make_node("node-b", labels={"zone": "zone1", LABEL_HOSTNAME: "node-b"}),
      make_node("node-x", labels={"zone": "zone2", LABEL_HOSTNAME: "node-x"})],
     [make_node("node-y", labels={"zone": "zone2", LABEL_HOSTNAME: "node-y"})],
     foo_pods({"node-a": 4, "node-b": 2, "node-x": 1, "node-y": 3}),
     {"node-a": 75, "node-b": 75, "node-x": 100}),
]


@pytest.mark.parametrize("name,pod,nodes,failed,pods,want", SCORE, ids=[c[0] for c in SCORE])
def test_score(name, pod, nodes, failed, pods, want):
    assert plugin_scores(PodTopologySpread(), pod, nodes, pods, failed_nodes=failed) == want


def test_system_defaulting_nodes_without_zone_pods_match_service():
    # "system defaulting, nodes don't have zone, pods match service": as one hostname constraint
    pod = make_pod("p", labels={"foo": ""})
    nodes = hostname_nodes("node-a", "node-b", "node-c", "node-d")
    pods = foo_pods({"node-a": 4, "node-b": 3, "node-c": 2, "node-d": 1})
    service = {"metadata": {"name": "s", "namespace": "default"}, "spec": {"selector": {"foo": ""}}}
    got = plugin_scores(PodTopologySpread(), pod, nodes, pods, objects={"services": [service]})
    assert got == {"node-a": 44, "node-b": 66, "node-c": 77, "node-d": 100}


def test_default_constraints_skip_a_pod_nothing_selects():
    state = CycleState(Snapshot.build(hostname_nodes("node-a")))
    assert PodTopologySpread().pre_score(state, make_pod("p", labels={"foo": ""}),
                                         state.snapshot.node_infos).code == Code.Skip


def test_default_selector_from_service_and_replicaset():
    pod = make_pod("p", labels={"app": "web", "tier": "fe"},
                   owner={"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1"})
    objects = {
        "services": [{"metadata": {"name": "s", "namespace": "default"},
                      "spec": {"selector": {"app": "web"}}},
                     {"metadata": {"name": "nil", "namespace": "default"}, "spec": {}}],
        "replicasets": [{"metadata": {"name": "web-1", "namespace": "default"},
                         "spec": {"selector": {"matchLabels": {"tier": "fe"}}}}],
    }
    assert str(default_selector(pod, objects)) == "app=web,tier=fe"


@pytest.mark.parametrize("args,messages", [
    (PodTopologySpreadArgs([{"maxSkew": 1, "topologyKey": "zone",
                             "whenUnsatisfiable": "ScheduleAnyway"}], "System"),
     ['args.defaultingType: Invalid value: "System": when .defaultConstraints are not empty']),
    (PodTopologySpreadArgs([{"maxSkew": 0, "topologyKey": "", "whenUnsatisfiable": "Maybe",
                             "labelSelector": {}}], "List"),
     ["args.defaultConstraints[0].maxSkew: Invalid value: 0: not in valid range (0, inf)",
      "args.defaultConstraints[0].topologyKey: Required value: can not be empty",
      'args.defaultConstraints[0].whenUnsatisfiable: Unsupported value: "Maybe": supported '
      'values: "DoNotSchedule", "ScheduleAnyway"',
      "args.defaultConstraints[0].labelSelector: Forbidden: constraint must not define a "
      "selector, as they deduced for each pod"]),
    (PodTopologySpreadArgs([], "Sometimes"),
     ['args.defaultingType: Unsupported value: "Sometimes": supported values: "System", '
      '"List"']),
])
def test_args_validation(args, messages):
    assert [str(e) for e in args.validate(Path("args"))] == messages
