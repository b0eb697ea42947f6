"""InterPodAffinity: upstream's filter and score tables, and a Deployment that cannot fit.

Cases ported from pkg/scheduler/framework/plugins/interpodaffinity/filtering_test.go
(TestRequiredAffinitySingleNode, TestRequiredAffinityMultipleNodes) and scoring_test.go
(TestPreferredAffinity, TestPreferredAffinityWithHardPodAffinitySymmetricWeight), v1.32.
"""

import pytest
from scheduler_testing import make_node, make_pod, plugin_scores, register_node

import kubelearn as kl
from kubelearn.scheduler import CycleState, Snapshot
from kubelearn.scheduler.framework import Code, Status
from kubelearn.scheduler.plugins.interpodaffinity import (
    ERR_REASON_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH,
    ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH,
    InterPodAffinity,
    InterPodAffinityArgs,
)

REQ = "requiredDuringSchedulingIgnoredDuringExecution"
PREF = "preferredDuringSchedulingIgnoredDuringExecution"
POD_LABEL = {"service": "securityscan"}
NODE1 = make_node("node1", labels={"region": "r1", "zone": "z11", "kubernetes.io/hostname": "n1"})

AFFINITY_FAIL = Status(Code.UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
ANTI_FAIL = Status(Code.Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
EXISTING_FAIL = Status(Code.Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)


def term(op, values, key="region", label="service", **extra):
    return {"labelSelector": {"matchExpressions": [
        {"key": label, "operator": op, "values": values}]}, "topologyKey": key, **extra}


def affinity(required=(), anti=(), preferred=(), anti_preferred=()):
    out = {}
    if required or preferred:
        out["podAffinity"] = {REQ: list(required), PREF: list(preferred)}
    if anti or anti_preferred:
        out["podAntiAffinity"] = {REQ: list(anti), PREF: list(anti_preferred)}
    return out


def weighted(weight, t):
    return {"weight": weight, "podAffinityTerm": t}


def run_filter(pod, pods, nodes, node, namespaces=()):
    """PreFilter over all nodes, then Filter on one: the status, None for success."""
    snapshot = Snapshot.build(nodes, pods, {"namespaces": list(namespaces)})
    state = CycleState(snapshot)
    pl = InterPodAffinity()
    _, s = pl.pre_filter(state, pod, snapshot.node_infos)
    if s is not None:
        return None if s.is_skip() else s
    return pl.filter(state, pod, snapshot.get(node))


def namespace(name, labels):
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": labels}}


SINGLE_NODE = [
    ("no required affinity, no existing pods",
     make_pod("p"), [], None),
    ("affinity In matches the existing pod",
     make_pod(labels=POD_LABEL, affinity=affinity([term("In", ["securityscan", "value2"])])),
     [make_pod("e", node="node1", labels=POD_LABEL)], None),
    ("affinity NotIn matches the existing pod",
     make_pod(labels=POD_LABEL, affinity=affinity([term("NotIn", ["securityscan3", "value3"])])),
     [make_pod("e", node="node1", labels=POD_LABEL)], None),
    ("affinity fails: the existing pod is in another namespace",
     make_pod(labels=POD_LABEL, affinity=affinity([
         term("In", ["securityscan", "value2"], namespaces=["DiffNameSpace"])])),
     [make_pod("e", node="node1", labels=POD_LABEL, namespace="ns")], AFFINITY_FAIL),
    ("affinity fails: the selector does not match the existing pod",
     make_pod(labels=POD_LABEL, affinity=affinity([term("In", ["antivirusscan", "value2"])])),
     [make_pod("e", node="node1", labels=POD_LABEL)], AFFINITY_FAIL),
    ("affinity with several terms, all matching",
     make_pod(labels=POD_LABEL, affinity=affinity([
         {"labelSelector": {"matchExpressions": [
             {"key": "service", "operator": "Exists"},
             {"key": "wrongkey", "operator": "DoesNotExist"}]}, "topologyKey": "region"},
         term("In", ["securityscan"]), term("NotIn", ["WrongValue"])])),
     [make_pod("e", node="node1", labels=POD_LABEL)], None),
    ("affinity with several terms, one not matching",
     make_pod(labels=POD_LABEL, affinity=affinity([
         {"labelSelector": {"matchExpressions": [
             {"key": "service", "operator": "Exists"},
             {"key": "wrongkey", "operator": "DoesNotExist"}]}, "topologyKey": "region"},
         term("In", ["securityscan2"]), term("NotIn", ["WrongValue"])])),
     [make_pod("e", node="node1", labels=POD_LABEL)], AFFINITY_FAIL),
    ("affinity and anti-affinity both satisfied",
     make_pod(labels=POD_LABEL, affinity=affinity(
         [term("In", ["securityscan", "value2"])],
         [term("In", ["antivirusscan", "value2"], key="node")])),
     [make_pod("e", node="node1", labels=POD_LABEL)], None),
    ("anti-affinity of the pod matches the existing pod",
     make_pod(labels=POD_LABEL, affinity=affinity(anti=[
         term("In", ["securityscan", "value2"], key="zone")])),
     [make_pod("e", node="node1", labels=POD_LABEL)], ANTI_FAIL),
    ("the existing pod's anti-affinity matches the pod (symmetry)",
     make_pod(labels=POD_LABEL, affinity=affinity(
         [term("In", ["securityscan", "value2"])],
         [term("In", ["antivirusscan", "value2"], key="node")])),
     [make_pod("e", node="node1", labels=POD_LABEL, affinity=affinity(anti=[
         term("In", ["securityscan", "value2"], key="zone")]))], EXISTING_FAIL),
    ("the pod without affinity, the existing pod's anti-affinity matches it",
     make_pod(labels=POD_LABEL),
     [make_pod("e", node="node1", labels={"app": "x"}, affinity=affinity(anti=[
         term("In", ["securityscan"], key="zone")]))], EXISTING_FAIL),
    ("the existing pod's anti-affinity on a key the node lacks does not bite",
     make_pod(labels=POD_LABEL),
     [make_pod("e", node="node1", affinity=affinity(anti=[
         term("In", ["securityscan"], key="rack")]))], None),
    ("the first pod of a group with affinity to itself may go anywhere",
     make_pod(labels=POD_LABEL, affinity=affinity([term("In", ["securityscan"])])),
     [], None),
    ("... but not when its affinity does not match itself",
     make_pod(labels=POD_LABEL, affinity=affinity([term("In", ["other"])])),
     [], AFFINITY_FAIL),
    ("... and not on a node without the topology key",
     make_pod(labels=POD_LABEL, affinity=affinity([term("In", ["securityscan"], key="rack")])),
     [], AFFINITY_FAIL),
    ("matchLabelKeys narrows the selector to the pod's own value",
     make_pod(labels={**POD_LABEL, "version": "v2"}, affinity=affinity(anti=[
         term("In", ["securityscan"], key="zone", matchLabelKeys=["version"])])),
     [make_pod("e", node="node1", labels={**POD_LABEL, "version": "v1"})], None),
    ("mismatchLabelKeys excludes pods with the pod's own value",
     make_pod(labels={**POD_LABEL, "tenant": "a"}, affinity=affinity(anti=[
         {"labelSelector": {}, "topologyKey": "zone", "mismatchLabelKeys": ["tenant"]}])),
     [make_pod("e", node="node1", labels={"tenant": "b"})], ANTI_FAIL),
]


@pytest.mark.parametrize("name,pod,pods,want", SINGLE_NODE, ids=[c[0] for c in SINGLE_NODE])
def test_required_affinity_single_node(name, pod, pods, want):
    assert run_filter(pod, pods, [NODE1], "node1") == want


NAMESPACES = [namespace("team1", {"team": "team1"}), namespace("team2", {"team": "team2"}),
              namespace("default", {})]


@pytest.mark.parametrize("ns_selector,want", [
    ({"matchLabels": {"team": "team1"}}, None),  # the existing pod's namespace is selected
    ({"matchLabels": {"team": "team2"}}, AFFINITY_FAIL),
    ({}, None),  # an empty namespaceSelector selects every namespace
])
def test_affinity_namespace_selector(ns_selector, want):
    pod = make_pod(labels=POD_LABEL, affinity=affinity([
        term("In", ["securityscan"], namespaceSelector=ns_selector)]))
    pods = [make_pod("e", node="node1", labels=POD_LABEL, namespace="team1")]
    assert run_filter(pod, pods, [NODE1], "node1", NAMESPACES) == want


def test_existing_anti_affinity_namespace_selector_reads_the_pods_namespace_labels():
    existing = make_pod("e", node="node1", namespace="team2", affinity=affinity(anti=[
        term("In", ["securityscan"], key="zone",
             namespaceSelector={"matchLabels": {"team": "team1"}})]))
    in_team1 = make_pod(labels=POD_LABEL, namespace="team1")
    in_team2 = make_pod(labels=POD_LABEL, namespace="team2")
    assert run_filter(in_team1, [existing], [NODE1], "node1", NAMESPACES) == EXISTING_FAIL
    assert run_filter(in_team2, [existing], [NODE1], "node1", NAMESPACES) is None


def test_required_affinity_multiple_nodes():
    # TestRequiredAffinityMultipleNodes: affinity to a region holding a matching pod
    nodes = [make_node("nodeA", labels={"region": "r1", "zone": "z1", "hostname": "h1"}),
             make_node("nodeB", labels={"region": "r1", "zone": "z2", "hostname": "h2"}),
             make_node("nodeC", labels={"region": "r2", "zone": "z3", "hostname": "h3"})]
    pods = [make_pod("e", node="nodeA", labels={"foo": "bar"})]
    pod = make_pod(labels={"foo": "bar"}, affinity=affinity([
        term("In", ["bar"], key="region", label="foo")]))
    got = {n: run_filter(pod, pods, nodes, n) for n in ("nodeA", "nodeB", "nodeC")}
    assert got == {"nodeA": None, "nodeB": None, "nodeC": AFFINITY_FAIL}
    # anti-affinity by zone against a pod in z1: only nodeA is out
    anti = make_pod(labels={"foo": "bar"}, affinity=affinity(anti=[
        term("In", ["bar"], key="zone", label="foo")]))
    got = {n: run_filter(anti, pods, nodes, n) for n in ("nodeA", "nodeB", "nodeC")}
    assert got == {"nodeA": ANTI_FAIL, "nodeB": None, "nodeC": None}


def test_pre_filter_skips_pods_without_affinity_when_no_pod_has_anti_affinity():
    snapshot = Snapshot.build([NODE1], [make_pod("e", node="node1", labels=POD_LABEL)])
    _, s = InterPodAffinity().pre_filter(CycleState(snapshot), make_pod(), snapshot.node_infos)
    assert s is not None and s.is_skip()
    pl = InterPodAffinity()
    assert pl.pre_score(CycleState(snapshot), make_pod(), snapshot.node_infos).is_skip()


def test_a_bad_selector_is_unresolvable():
    pod = make_pod(affinity=affinity([term("Bogus", ["x"])]))
    s = run_filter(pod, [], [NODE1], "node1")
    assert s.code == Code.UnschedulableAndUnresolvable and s.message().startswith("parsing pod: ")


# -- scoring -------------------------------------------------------------------------------------

CHINA = {"region": "China"}
INDIA = {"region": "India"}
AZ1 = {"az": "az1"}
S1, S2 = {"security": "S1"}, {"security": "S2"}
STAY_WITH_S1_IN_REGION = affinity(preferred=[weighted(5, term("In", ["S1"], label="security"))])
AWAY_FROM_S1_IN_AZ = affinity(anti_preferred=[
    weighted(5, term("In", ["S1"], key="az", label="security"))])


def nodes_of(*label_sets):
    return [make_node(f"node{i}", labels=labels) for i, labels in enumerate(label_sets, 1)]


@pytest.mark.parametrize("pod,pods,nodes,want", [
    # pods matching in the same region score; others do not
    (make_pod(labels=S1, affinity=STAY_WITH_S1_IN_REGION),
     [make_pod("a", node="node1", labels=S1), make_pod("b", node="node2", labels=S2),
      make_pod("c", node="node3", labels={"foo": "bar"})],
     nodes_of(CHINA, INDIA, AZ1), {"node1": 100, "node2": 0, "node3": 0}),
    # every node of the matching pod's region gets the same score
    (make_pod(labels=S1, affinity=STAY_WITH_S1_IN_REGION),
     [make_pod("a", node="node1", labels=S1)],
     nodes_of(CHINA, {**CHINA, **AZ1}, INDIA), {"node1": 100, "node2": 100, "node3": 0}),
    # anti-affinity: the node without matching pods in its az scores high
    (make_pod(labels=S1, affinity=AWAY_FROM_S1_IN_AZ),
     [make_pod("a", node="node1", labels=S1), make_pod("b", node="node2", labels=S2)],
     nodes_of(AZ1, CHINA), {"node1": 0, "node2": 100}),
    # existing pods' preferred affinity to the pod counts too (symmetry)
    (make_pod(labels=S1),
     [make_pod("a", node="node1", labels=S2, affinity=STAY_WITH_S1_IN_REGION)],
     nodes_of(CHINA, INDIA), {"node1": 100, "node2": 0}),
    # ... and their preferred anti-affinity
    (make_pod(labels=S1),
     [make_pod("a", node="node1", labels=S2, affinity=AWAY_FROM_S1_IN_AZ)],
     nodes_of(AZ1, CHINA), {"node1": 0, "node2": 100}),
])
def test_preferred_affinity(pod, pods, nodes, want):
    assert plugin_scores(InterPodAffinity(), pod, nodes, pods) == want


def test_preferred_affinity_min_max_normalization_truncates():
    # raw scores 5, -5 and 2: (2 - -5) / 10 * 100 = 70 (Go truncates)
    pod = make_pod(affinity=affinity(
        preferred=[weighted(5, term("In", ["S1"], key="region", label="security")),
                   weighted(2, term("In", ["S2"], key="az", label="security"))],
        anti_preferred=[weighted(5, term("In", ["S3"], key="region", label="security"))]))
    nodes = nodes_of(CHINA, INDIA, AZ1)
    pods = [make_pod("a", node="node1", labels=S1), make_pod("b", node="node2", labels={
        "security": "S3"}), make_pod("c", node="node3", labels=S2)]
    assert plugin_scores(InterPodAffinity(), pod, nodes, pods) == {
        "node1": 100, "node2": 0, "node3": 70}


@pytest.mark.parametrize("weight,want", [
    (1, {"node1": 100, "node2": 100, "node3": 0}),
    (0, None),  # no symmetric weight: nothing to score, PreScore skips
])
def test_preferred_affinity_with_hard_pod_affinity_symmetric_weight(weight, want):
    hard = affinity([term("In", ["S1"], label="service")])
    pods = [make_pod("a", node="node1", affinity=hard), make_pod("b", node="node2", affinity=hard),
            make_pod("c", node="node3")]
    nodes = nodes_of(CHINA, INDIA, AZ1)
    pod = make_pod(labels={"service": "S1"})
    pl = InterPodAffinity(InterPodAffinityArgs(hard_pod_affinity_weight=weight))
    if want is None:
        snapshot = Snapshot.build(nodes, pods)
        assert pl.pre_score(CycleState(snapshot), pod, snapshot.node_infos).is_skip()
    else:
        assert plugin_scores(pl, pod, nodes, pods) == want


def test_args_validation():
    from kubelearn.api import Path
    assert InterPodAffinityArgs(101).validate(Path("args"))[0].detail == \
        "not in valid range [0, 100]"
    assert InterPodAffinityArgs.from_dict({}).hard_pod_affinity_weight == 1


# -- end to end ----------------------------------------------------------------------------------

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
                 "containers": [{"name": "web", "image": "nginx:1.27"}],
                 "affinity": {"podAntiAffinity": {REQ: [
                     {"labelSelector": {"matchLabels": {"app": "web"}},
                      "topologyKey": "kubernetes.io/hostname"}]}}}}}}


@pytest.mark.parametrize("vectorised", [True, False])
def test_a_deployment_of_3_with_anti_affinity_over_2_nodes_leaves_one_pending(vectorised):
    cluster = kl.Cluster(seed=1)
    if not vectorised:
        cluster.scheduler.vector = None
    register_node(cluster, "node-1")
    register_node(cluster, "node-2")
    cluster.apply(DEPLOYMENT)
    cluster.run(10)
    pods = cluster.admin.list("pods", namespace="default")["items"]
    nodes = sorted(p["spec"].get("nodeName") or "-" for p in pods)
    assert nodes == ["-", "node-1", "node-2"]
    (pending,) = [p for p in pods if not p["spec"].get("nodeName")]
    condition = next(c for c in pending["status"]["conditions"] if c["type"] == "PodScheduled")
    assert condition["reason"] == "Unschedulable"
    assert condition["message"].startswith(
        "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules.")
    assert condition["message"].endswith(
        "preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.")
    # a third node lets it run: the pod's rejection listens for NodeAdd
    register_node(cluster, "node-3")
    cluster.run(15)
    pods = cluster.admin.list("pods", namespace="default")["items"]
    assert sorted(p["spec"].get("nodeName") for p in pods) == ["node-1", "node-2", "node-3"]
