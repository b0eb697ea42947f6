"""NodeAffinity: upstream's cases from nodeaffinity/node_affinity_test.go.

TestNodeAffinity (filter, PreFilter Skip and PreFilterResult; 20 cases) and
TestNodeAffinityPriority (8 cases).
"""

import pytest
from scheduler_testing import make_node, make_pod, plugin_scores

from kubelearn.api import Path
from kubelearn.scheduler import Code, CycleState, NodeInfo, PreFilterResult, Status
from kubelearn.scheduler.plugins.node_affinity import (
    ERR_REASON_ENFORCED,
    ERR_REASON_POD,
    NodeAffinity,
    NodeAffinityArgs,
)

REJECTED = Status(Code.UnschedulableAndUnresolvable, ERR_REASON_POD)


def expr(key, op, *values):
    e = {"key": key, "operator": op}
    if values:
        e["values"] = list(values)
    return e


def required(*terms):
    return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": list(terms)}}}


def term(*expressions, fields=()):
    t = {}
    if expressions:
        t["matchExpressions"] = list(expressions)
    if fields:
        t["matchFields"] = list(fields)
    return t


NAME_IN = {"key": "metadata.name", "operator": "In", "values": ["node1"]}

FILTER_CASES = [
    # name, pod, node labels, node name, want status, want PreFilterResult node names
    ("missing labels", make_pod(node_selector={"foo": "bar"}), {}, "", REJECTED, None),
    ("same labels", make_pod(node_selector={"foo": "bar"}), {"foo": "bar"}, "", None, None),
    ("node labels are superset", make_pod(node_selector={"foo": "bar"}),
     {"foo": "bar", "baz": "blah"}, "", None, None),
    ("node labels are subset", make_pod(node_selector={"foo": "bar", "baz": "blah"}),
     {"foo": "bar"}, "", REJECTED, None),
    ("matchExpressions using In operator that matches the existing node",
     make_pod(affinity=required(term(expr("foo", "In", "bar", "value2")))), {"foo": "bar"}, "",
     None, None),
    ("matchExpressions using Gt operator that matches the existing node",
     make_pod(affinity=required(term(expr("kernel-version", "Gt", "0204")))),
     {"kernel-version": "0206"}, "", None, None),
    ("matchExpressions using NotIn operator that matches the existing node",
     make_pod(affinity=required(term(expr("mem-type", "NotIn", "DDR", "DDR2")))),
     {"mem-type": "DDR3"}, "", None, None),
    ("matchExpressions using Exists operator that matches the existing node",
     make_pod(affinity=required(term(expr("GPU", "Exists")))), {"GPU": "NVIDIA-GRID-K1"}, "",
     None, None),
    ("affinity that don't match node's labels won't schedule onto the node",
     make_pod(affinity=required(term(expr("foo", "In", "value1", "value2")))), {"foo": "bar"},
     "", REJECTED, None),
    ("empty MatchExpressions is not a valid value will match no objects",
     make_pod(affinity=required({"matchExpressions": []})), {"foo": "bar"}, "", REJECTED, None),
    ("multiple matchExpressions ANDed that matches the existing node",
     make_pod(affinity=required(term(expr("GPU", "Exists"), expr("GPU", "NotIn", "AMD", "INTER")))),
     {"GPU": "NVIDIA-GRID-K1"}, "", None, None),
    ("multiple matchExpressions ANDed that doesn't match the existing node",
     make_pod(affinity=required(term(expr("GPU", "Exists"), expr("GPU", "In", "AMD", "INTER")))),
     {"GPU": "NVIDIA-GRID-K1"}, "", REJECTED, None),
    ("multiple NodeSelectorTerms ORed in affinity, matches the node's labels",
     make_pod(affinity=required(term(expr("foo", "In", "bar", "value2")),
                                term(expr("diffkey", "In", "wrong", "value2")))),
     {"foo": "bar"}, "", None, None),
    ("an Affinity and a PodSpec.NodeSelector both are satisfied",
     make_pod(node_selector={"foo": "bar"}, affinity=required(term(expr("foo", "Exists")))),
     {"foo": "bar"}, "", None, None),
    ("an Affinity matches node's labels but the PodSpec.NodeSelector is not satisfied",
     make_pod(node_selector={"foo": "bar"}, affinity=required(term(expr("foo", "Exists")))),
     {"foo": "barrrrrr"}, "", REJECTED, None),
    ("an invalid value in Affinity term won't be scheduled onto the node",
     make_pod(affinity=required(term(expr("foo", "NotIn", "invalid value: ___@#$%^")))),
     {"foo": "bar"}, "", REJECTED, None),
    ("matchFields using In operator that matches the existing node",
     make_pod(affinity=required(term(fields=[NAME_IN]))), {}, "node1", None, {"node1"}),
    ("matchFields using In operator that does not match the existing node",
     make_pod(affinity=required(term(fields=[NAME_IN]))), {}, "node2", REJECTED, {"node1"}),
    ("two terms: matchFields does not match, but matchExpressions matches",
     make_pod(affinity=required(
         term(fields=[NAME_IN, {"key": "metadata.name", "operator": "In", "values": ["node2"]}]),
         term(expr("foo", "In", "bar")))), {"foo": "bar"}, "node2", None, None),
]


@pytest.mark.parametrize("name,pod,labels,node_name,want,want_names", FILTER_CASES,
                         ids=[c[0] for c in FILTER_CASES])
def test_node_affinity_filter(name, pod, labels, node_name, want, want_names):
    plugin, state = NodeAffinity(), CycleState()
    node_info = NodeInfo(make_node(node_name, labels=labels))
    result, status = plugin.pre_filter(state, pod, [node_info])
    assert status is None
    assert result == (PreFilterResult(want_names) if want_names is not None else None)
    assert plugin.filter(state, pod, node_info) == want


@pytest.mark.parametrize("pod", [
    make_pod(),  # Pod with no Affinity will schedule onto a node
    make_pod(affinity={"nodeAffinity": {}}),  # Affinity but nil NodeSelector
])
def test_pre_filter_skips_pods_without_required_affinity(pod):
    _, status = NodeAffinity().pre_filter(CycleState(), pod, [])
    assert status == Status(Code.Skip)


def test_added_affinity_is_enforced():
    args = NodeAffinityArgs({"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term(expr("zone", "In", "foo"))]}})
    plugin, state = NodeAffinity(args), CycleState()
    pod = make_pod()
    good = NodeInfo(make_node("a", labels={"zone": "foo"}))
    bad = NodeInfo(make_node("b", labels={"zone": "bar"}))
    plugin.pre_filter(state, pod, [good, bad])
    assert plugin.filter(state, pod, good) is None
    assert plugin.filter(state, pod, bad) == Status(Code.UnschedulableAndUnresolvable,
                                                    ERR_REASON_ENFORCED)


def preferred(*weighted):
    return {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": w, "preference": term(*exprs)} for w, exprs in weighted]}}


LABEL1 = {"foo": "bar"}
LABEL2 = {"key": "value"}
LABEL3 = {"az": "az1"}
LABEL4 = {"abc": "az11", "def": "az22"}
LABEL5 = {"foo": "bar", "key": "value", "az": "az1"}
AFFINITY1 = preferred((2, [expr("foo", "In", "bar")]))
AFFINITY2 = preferred((2, [expr("foo", "In", "bar")]), (4, [expr("key", "In", "value")]),
                      (5, [expr("foo", "In", "bar"), expr("key", "In", "value"),
                           expr("az", "In", "az1")]))


def labelled(*pairs):
    return [make_node(name, labels=labels) for name, labels in pairs]


PRIORITY_CASES = [
    ("no node matches preferred scheduling requirements so all nodes' priority is zero",
     make_pod(affinity=AFFINITY1), labelled(("node1", LABEL4), ("node2", LABEL2),
                                            ("node3", LABEL3)), None,
     {"node1": 0, "node2": 0, "node3": 0}),
    ("only node1 matches the preferred scheduling requirements of pod",
     make_pod(affinity=AFFINITY1), labelled(("node1", LABEL1), ("node2", LABEL2),
                                            ("node3", LABEL3)), None,
     {"node1": 100, "node2": 0, "node3": 0}),
    ("all nodes matches the preferred scheduling requirements of pod but with different "
     "priorities", make_pod(affinity=AFFINITY2),
     labelled(("node1", LABEL1), ("node5", LABEL5), ("node2", LABEL2)), None,
     {"node1": 18, "node5": 100, "node2": 36}),
    ("added affinity", make_pod(), labelled(("node1", LABEL1), ("node2", LABEL2)),
     NodeAffinityArgs(AFFINITY1["nodeAffinity"]), {"node1": 100, "node2": 0}),
    ("added affinity and pod has default affinity", make_pod(affinity=AFFINITY1),
     labelled(("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL5)),
     NodeAffinityArgs(preferred((3, [expr("key", "In", "value")]))["nodeAffinity"]),
     {"node1": 40, "node2": 60, "node3": 100}),
]


@pytest.mark.parametrize("name,pod,nodes,args,want", PRIORITY_CASES,
                         ids=[c[0] for c in PRIORITY_CASES])
@pytest.mark.parametrize("pre_score", [True, False])
def test_node_affinity_priority(name, pod, nodes, args, want, pre_score):
    assert plugin_scores(NodeAffinity(args), pod, nodes, pre_score=pre_score) == want


def test_all_nodes_same_priority_when_node_affinity_is_nil():
    nodes = labelled(("node1", LABEL1), ("node2", LABEL2), ("node3", LABEL3))
    assert plugin_scores(NodeAffinity(), make_pod(), nodes, pre_score=False) == {
        "node1": 0, "node2": 0, "node3": 0}
    # "Skip is returned in PreScore when NodeAffinity is nil"
    assert NodeAffinity().pre_score(CycleState(), make_pod(), []) == Status(Code.Skip)


def test_pre_score_error_for_a_broken_affinity():
    pod = make_pod(affinity=preferred((2, [expr("invalid key", "In", "bar")])))
    status = NodeAffinity().pre_score(CycleState(), pod, [])
    assert status.code == Code.Error
    assert status.message() == (
        '[0].matchExpressions[0].key: Invalid value: "invalid key": name part must consist of '
        "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric "
        "character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
        "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')")


def test_args_validation_paths():
    args = NodeAffinityArgs({"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term(expr("foo", "Equal", "bar"))]}})
    assert [str(e) for e in args.validate(Path("args"))] == [
        'args.addedAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0]'
        '.matchExpressions[0].operator: Unsupported value: "Equal": supported values: "In", '
        '"NotIn", "Exists", "DoesNotExist", "Gt", "Lt"']
