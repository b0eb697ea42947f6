"""TaintToleration: upstream's cases from tainttoleration/taint_toleration_test.go.

TestTaintTolerationScore (5 cases) and TestTaintTolerationFilter (9 cases); the
Gt/Lt toleration operators (alpha, TaintTolerationComparisonOperators) are not ported.
"""

import pytest
from scheduler_testing import make_node, make_pod, plugin_scores

from kubelearn.scheduler import Code, CycleState, NodeInfo, Status
from kubelearn.scheduler.plugins.taint_toleration import TaintToleration


def taint(key, value, effect):
    return {"key": key, "value": value, "effect": effect}


def tol(key, value="", effect="", operator="Equal"):
    return {"key": key, "operator": operator, "value": value, "effect": effect}


def node(name, taints):
    return make_node(name, taints=taints)


PNS = "PreferNoSchedule"
NS = "NoSchedule"

SCORE_CASES = [
    ("node with taints tolerated by the pod, gets a higher score than those node with "
     "intolerable taints", [tol("foo", "bar", PNS)],
     [node("nodeA", [taint("foo", "bar", PNS)]), node("nodeB", [taint("foo", "blah", PNS)])],
     {"nodeA": 100, "nodeB": 0}),
    ("the nodes that all of their taints are tolerated by the pod, get the same score",
     [tol("cpu-type", "arm64", PNS), tol("disk-type", "ssd", PNS)],
     [node("nodeA", []), node("nodeB", [taint("cpu-type", "arm64", PNS)]),
      node("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)])],
     {"nodeA": 100, "nodeB": 100, "nodeC": 100}),
    ("the more intolerable taints a node has, the lower score it gets.",
     [tol("foo", "bar", PNS)],
     [node("nodeA", []), node("nodeB", [taint("cpu-type", "arm64", PNS)]),
      node("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)])],
     {"nodeA": 100, "nodeB": 50, "nodeC": 0}),
    ("only taints and tolerations that have effect PreferNoSchedule are checked",
     [tol("cpu-type", "arm64", NS), tol("disk-type", "ssd", NS)],
     [node("nodeA", []), node("nodeB", [taint("cpu-type", "arm64", NS)]),
      node("nodeC", [taint("cpu-type", "arm64", PNS), taint("disk-type", "ssd", PNS)])],
     {"nodeA": 100, "nodeB": 100, "nodeC": 0}),
    ("Default behaviour No taints and tolerations, lands on node with no taints", [],
     [node("nodeA", []), node("nodeB", [taint("cpu-type", "arm64", PNS)])],
     {"nodeA": 100, "nodeB": 0}),
]


@pytest.mark.parametrize("name,tolerations,nodes,want", SCORE_CASES,
                         ids=[c[0] for c in SCORE_CASES])
def test_taint_toleration_score(name, tolerations, nodes, want):
    pod = make_pod("pod1", tolerations=tolerations)
    assert plugin_scores(TaintToleration(), pod, nodes) == want


def untolerated(key, value):
    """v1.32's reason names the first untolerated taint (taint_toleration.go Filter)."""
    return Status(Code.UnschedulableAndUnresolvable,
                  f"node(s) had untolerated taint {{{key}: {value}}}")


UNTOLERATED = untolerated("dedicated", "user1")

FILTER_CASES = [
    ("A pod having no tolerations can't be scheduled onto a node with nonempty taints", [],
     [taint("dedicated", "user1", NS)], UNTOLERATED),
    ("A pod which can be scheduled on a dedicated node assigned to user1 with effect NoSchedule",
     [{"key": "dedicated", "value": "user1", "effect": NS}], [taint("dedicated", "user1", NS)],
     None),
    ("A pod which can't be scheduled on a dedicated node assigned to user2 with effect "
     "NoSchedule", [tol("dedicated", "user2", NS)], [taint("dedicated", "user1", NS)],
     UNTOLERATED),
    ("A pod can be scheduled onto the node, with a toleration uses operator Exists",
     [{"key": "foo", "operator": "Exists", "effect": NS}], [taint("foo", "bar", NS)], None),
    ("A pod has multiple tolerations, node has multiple taints, all the taints are tolerated",
     [tol("dedicated", "user2", NS), {"key": "foo", "operator": "Exists", "effect": NS}],
     [taint("dedicated", "user2", NS), taint("foo", "bar", NS)], None),
    ("keys and values match the taint on the node, but (non-empty) effect doesn't match",
     [tol("foo", "bar", PNS)], [taint("foo", "bar", NS)], untolerated("foo", "bar")),
    ("keys and values match, the effect of toleration is empty, the taint's is NoSchedule",
     [tol("foo", "bar")], [taint("foo", "bar", NS)], None),
    ("toleration doesn't match, but the effect of taint on node is PreferNoSchedule",
     [tol("dedicated", "user2", NS)], [taint("dedicated", "user1", PNS)], None),
    ("The pod has no toleration, but the effect of taint on node is PreferNoSchedule", [],
     [taint("dedicated", "user1", PNS)], None),
]


@pytest.mark.parametrize("name,tolerations,taints,want", FILTER_CASES,
                         ids=[c[0] for c in FILTER_CASES])
def test_taint_toleration_filter(name, tolerations, taints, want):
    pod = make_pod("pod1", tolerations=tolerations)
    node_info = NodeInfo(node("nodeA", taints))
    assert TaintToleration().filter(CycleState(), pod, node_info) == want


def test_no_execute_taints_filter_too_and_exists_without_key_tolerates_all():
    node_info = NodeInfo(node("n", [taint("node.kubernetes.io/unreachable", "", "NoExecute")]))
    assert TaintToleration().filter(CycleState(), make_pod(), node_info) == \
        untolerated("node.kubernetes.io/unreachable", "")
    everything = make_pod(tolerations=[{"operator": "Exists"}])
    assert TaintToleration().filter(CycleState(), everything, node_info) is None


def test_the_reason_names_the_first_untolerated_taint_in_the_nodes_order():
    node_info = NodeInfo(node("n", [taint("a", "1", PNS), taint("b", "2", NS),
                                    taint("c", "3", "NoExecute")]))
    assert TaintToleration().filter(CycleState(), make_pod(), node_info) == untolerated("b", "2")
    pod = make_pod(tolerations=[tol("b", "2", NS)])
    assert TaintToleration().filter(CycleState(), pod, node_info) == untolerated("c", "3")
