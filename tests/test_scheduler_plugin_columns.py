"""The array forms of NodeAffinity, NodePorts, PodTopologySpread and BalancedAllocation.

Each equals its plugin's per-node form, node by node: random nodes (labels, some
missing or empty, taints, pods with labels and host ports) and random pods; the
per-node PreFilter/Filter or PreScore/Score/NormalizeScore runs on the NodeInfos,
the array form on :class:`InfoColumns`, a ``helper.NodeColumns`` built here from the
same NodeInfos one node at a time (label values numbered in a shuffled order, with
values no node has). The vectorised scheduler keeps those columns its own way; its
differential tests (test_scheduler_vectorized.py) check the placements.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest
from scheduler_testing import make_node, make_pod

from kubelearn.api import LabelSelector, Requirement
from kubelearn.scheduler import CycleState, NodeScore, Snapshot
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins import balanced_allocation
from kubelearn.scheduler.plugins.balanced_allocation import (
    NodeResourcesBalancedAllocation,
    NodeResourcesBalancedAllocationArgs,
)
from kubelearn.scheduler.plugins.helper import (
    DO_NOT_SCHEDULE_EFFECTS,
    tolerations_tolerate_taint,
)
from kubelearn.scheduler.plugins.node_affinity import NodeAffinity, NodeAffinityArgs
from kubelearn.scheduler.plugins.node_ports import PRE_FILTER_STATE_KEY, NodePorts
from kubelearn.scheduler.plugins.pod_topology_spread import (
    PodTopologySpread,
    PodTopologySpreadArgs,
    count_pods_match_selector,
)
from kubelearn.scheduler.plugins.resource_allocation import ResourceSpec, pod_resource_requests

SEEDS = range(5)
HOSTNAME, ZONE = "kubernetes.io/hostname", "topology.kubernetes.io/zone"
GPU = "example.com/gpu"


class InfoColumns:
    """``helper.NodeColumns`` of a list of NodeInfos, each entry worked out on its own."""

    def __init__(self, infos: Sequence[NodeInfo], rng: random.Random) -> None:
        self.infos = list(infos)
        self.n = len(self.infos)
        self.rng = rng

    def names(self) -> list[str]:
        return [info.name for info in self.infos]

    def label(self, key: str) -> tuple[np.ndarray, list[str]]:
        values = sorted({info.labels[key] for info in self.infos if key in info.labels}
                        | {"unused", "", f"{key}-gone"})  # values no node has (now)
        self.rng.shuffle(values)
        codes = [values.index(info.labels[key]) if key in info.labels else -1
                 for info in self.infos]
        return np.array(codes, dtype=np.int64), values

    def label_matches(self, requirement: Requirement) -> np.ndarray:
        return np.array([requirement.matches(info.labels) for info in self.infos], dtype=bool)

    def untolerated_taints(self, tolerations: Sequence[Mapping[str, Any]],
                           effects: Sequence[str] = DO_NOT_SCHEDULE_EFFECTS) -> np.ndarray:
        return np.array([sum(1 for t in info.taints if t.get("effect") in effects
                             and not tolerations_tolerate_taint(tolerations, t))
                         for info in self.infos], dtype=np.int64)

    def matching_pods(self, namespace: str, selector: LabelSelector) -> np.ndarray:
        return np.array([count_pods_match_selector(info.pods, selector, namespace)
                         for info in self.infos], dtype=np.int64)

    def ports_in_use(self) -> np.ndarray:
        return np.array([len(info.used_ports) > 0 for info in self.infos], dtype=bool)

    def node_info(self, i: int) -> NodeInfo:
        return self.infos[i]


# -- a random cluster ----------------------------------------------------------------------------

TAINTS = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"},
          {"key": "gone", "effect": "NoExecute"},
          {"key": "spot", "effect": "PreferNoSchedule"}]


def random_cluster(rng: random.Random, services: Sequence[Mapping[str, Any]] = ()
                   ) -> tuple[Snapshot, list[NodeInfo]]:
    nodes, pods = [], []
    for i in range(rng.choice([12, 25, 40])):
        labels = {HOSTNAME: f"n{i}", "disktype": rng.choice(["ssd", "hdd", ""]),
                  "cores": str(rng.choice([2, 4, 8, 16]))}
        zone = rng.choice(["a", "b", "c", "", None])
        if zone is not None:
            labels[ZONE] = zone
        if rng.random() < 0.15:
            del labels["disktype"]
        if rng.random() < 0.05:
            del labels[HOSTNAME]
        capacity = {"cpu": str(rng.choice([1, 2, 4])), "memory": f"{rng.choice([2, 4, 8])}Gi",
                    "pods": "110", "ephemeral-storage": rng.choice(["0", "20Gi"])}
        if rng.random() < 0.3:
            capacity[GPU] = str(rng.choice([0, 1, 4]))
        nodes.append(make_node(f"n{i}", capacity, labels=labels,
                               taints=rng.sample(TAINTS, rng.choice([0, 0, 0, 1, 2]))))
        for j in range(rng.choice([0, 1, 2, 3, 5])):
            pods.append(random_pod(rng, f"p{i}-{j}", node=f"n{i}"))
    snapshot = Snapshot.build(nodes, pods, {"services": list(services)})
    return snapshot, list(snapshot.node_infos)


def random_pod(rng: random.Random, name: str, node: str | None = None, **spec: Any
               ) -> dict[str, Any]:
    labels = {k: rng.choice(["a", "b"]) for k in ("app", "tier") if rng.random() < 0.7}
    requests = {}
    if rng.random() < 0.7:
        requests["cpu"] = rng.choice(["0", "100m", "500m", "1"])
    if rng.random() < 0.7:
        requests["memory"] = rng.choice(["0", "256Mi", "1Gi"])
    if rng.random() < 0.2:
        requests["ephemeral-storage"] = "1Gi"
    if rng.random() < 0.2:
        requests[GPU] = rng.choice(["0", "1"])
    container: dict[str, Any] = {"name": "c", "image": "x", "resources": {"requests": requests}}
    if rng.random() < 0.25:
        container["ports"] = [{"containerPort": 80, "hostPort": rng.choice([80, 8080]),
                               "protocol": rng.choice(["TCP", "UDP"]),
                               **({"hostIP": "10.0.0.1"} if rng.random() < 0.3 else {})}]
    return make_pod(name, namespace=rng.choice(["default", "default", "shop"]), node=node,
                    labels=labels, containers=[container],
                    terminating=node is not None and rng.random() < 0.1,
                    tolerations=rng.choice([None, [{"operator": "Exists"}],
                                            [{"key": "dedicated", "operator": "Exists"}]]),
                    **spec)


def expression(rng: random.Random) -> dict[str, Any]:
    key = rng.choice([ZONE, "disktype", "cores", HOSTNAME, "missing"])
    op = rng.choice(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"])
    if op in ("Exists", "DoesNotExist"):
        return {"key": key, "operator": op}
    if op in ("Gt", "Lt"):
        return {"key": key, "operator": op, "values": [str(rng.choice([2, 4, 8]))]}
    return {"key": key, "operator": op,
            "values": rng.sample(["a", "b", "", "ssd", "hdd", "n3", "4"], rng.choice([1, 2]))}


def node_selector_term(rng: random.Random) -> dict[str, Any]:
    term: dict[str, Any] = {"matchExpressions": [expression(rng)
                                                 for _ in range(rng.choice([0, 1, 2]))]}
    if rng.random() < 0.2:
        term["matchFields"] = [{"key": "metadata.name", "operator": rng.choice(["In", "NotIn"]),
                                "values": [f"n{rng.randrange(12)}"]}]
    return term


def affinity_pod(rng: random.Random, k: int) -> dict[str, Any]:
    node_affinity: dict[str, Any] = {}
    if rng.random() < 0.6:
        node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
            "nodeSelectorTerms": [node_selector_term(rng) for _ in range(rng.choice([1, 2]))]}
    if rng.random() < 0.6:
        node_affinity["preferredDuringSchedulingIgnoredDuringExecution"] = [
            {"weight": rng.choice([0, 1, 20, 50]), "preference": node_selector_term(rng)}
            for _ in range(rng.choice([1, 2, 3]))]
    spec: dict[str, Any] = {}
    if node_affinity:
        spec["affinity"] = {"nodeAffinity": node_affinity}
    if rng.random() < 0.4:
        spec["node_selector"] = {rng.choice([ZONE, "disktype"]): rng.choice(["a", "ssd", ""])}
    return random_pod(rng, f"new-{k}", **spec)


ADDED = NodeAffinityArgs({"requiredDuringSchedulingIgnoredDuringExecution": {
    "nodeSelectorTerms": [{"matchExpressions": [
        {"key": "cores", "operator": "NotIn", "values": ["2"]}]}]},
    "preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 7, "preference": {"matchExpressions": [
            {"key": ZONE, "operator": "In", "values": ["b"]}]}}]})


def per_node_scores(plugin: Any, pod: Mapping[str, Any], state: CycleState,
                    candidates: Sequence[NodeInfo]) -> list[int] | None:
    """PreScore, Score and NormalizeScore, as the framework runs them; None on Skip."""
    status = plugin.pre_score(state, pod, candidates)
    if status is not None and status.is_skip():
        return None
    assert status is None or status.is_success(), status
    scores = [NodeScore(info.name, plugin.score(state, pod, info)) for info in candidates]
    ext = plugin.score_extensions()
    if ext is not None:
        ext.normalize_score(state, pod, scores)
    return [s.score for s in scores]


def candidates_of(rng: random.Random, n: int) -> np.ndarray:
    """Some nodes, in a visiting order that may wrap around (as the cycle's feasible nodes)."""
    return np.array(rng.sample(range(n), rng.randint(1, n)), dtype=np.int64)


# -- NodeAffinity --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_node_affinity_filter_mask_is_its_filter(seed):
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng)
    columns = InfoColumns(infos, rng)
    verdicts = set()
    for plugin in (NodeAffinity(), NodeAffinity(ADDED)):
        for k in range(60):
            pod = affinity_pod(rng, k)
            state = CycleState(snapshot)
            _, status = plugin.pre_filter(state, pod, infos)
            got = plugin.filter_mask(pod, columns)
            if status is not None and status.is_skip():
                assert got is None
                continue
            expected = [plugin.filter(state, pod, info) is None for info in infos]
            assert got is not None and got.tolist() == expected, pod["spec"]
            verdicts.update(expected)
    assert verdicts == {True, False}


@pytest.mark.parametrize("seed", SEEDS)
def test_node_affinity_score_nodes_is_its_score(seed):
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng)
    columns = InfoColumns(infos, rng)
    scored = set()
    for plugin in (NodeAffinity(), NodeAffinity(ADDED)):
        for k in range(60):
            pod = affinity_pod(rng, k)
            feasible = candidates_of(rng, len(infos))
            expected = per_node_scores(plugin, pod, CycleState(snapshot),
                                       [infos[i] for i in feasible])
            got = plugin.score_nodes(pod, columns, feasible)
            assert (None if got is None else got.tolist()) == expected, pod["spec"]
            scored.update(expected or ())
    assert len(scored) >= 3  # 0, 100 and some in between


# -- NodePorts -----------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", SEEDS)
def test_node_ports_filter_mask_is_its_filter(seed):
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng)
    columns = InfoColumns(infos, rng)
    plugin, verdicts = NodePorts(), set()
    for k in range(60):
        pod = random_pod(rng, f"new-{k}")
        state = CycleState(snapshot)
        _, status = plugin.pre_filter(state, pod, infos)
        if status is not None and status.is_skip():
            continue  # no host port: nothing to ask (the cycle adds no mask)
        expected = [plugin.filter(state, pod, info) is None for info in infos]
        got = plugin.filter_mask(state.read(PRE_FILTER_STATE_KEY), columns)
        assert got.tolist() == expected, pod["spec"]["containers"]
        verdicts.update(expected)
    assert verdicts == {True, False}


# -- PodTopologySpread ---------------------------------------------------------------------------

SERVICES = [{"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"svc-{v}",
             "namespace": "default"}, "spec": {"selector": {"app": v}}} for v in ("a", "b")]
LIST_DEFAULTS = PodTopologySpreadArgs(default_constraints=[
    {"maxSkew": 1, "topologyKey": ZONE, "whenUnsatisfiable": "DoNotSchedule"},
    {"maxSkew": 2, "topologyKey": HOSTNAME, "whenUnsatisfiable": "ScheduleAnyway"},
    {"maxSkew": 1, "topologyKey": "disktype", "whenUnsatisfiable": "ScheduleAnyway"}],
    defaulting_type="List")


def spread_pod(rng: random.Random, k: int) -> dict[str, Any]:
    constraints = []
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        c: dict[str, Any] = {
            "maxSkew": rng.choice([1, 1, 2, 4]),
            "topologyKey": rng.choice([ZONE, HOSTNAME, "disktype", "missing"]),
            "whenUnsatisfiable": rng.choice(["DoNotSchedule", "ScheduleAnyway"]),
            "labelSelector": rng.choice([{"matchLabels": {"app": "a"}},
                                         {"matchExpressions": [{"key": "tier",
                                                                "operator": "Exists"}]},
                                         {}])}
        if rng.random() < 0.3:
            c["minDomains"] = rng.choice([1, 3, 5])
        if rng.random() < 0.3:
            c["nodeAffinityPolicy"] = rng.choice(["Honor", "Ignore"])
        if rng.random() < 0.4:
            c["nodeTaintsPolicy"] = rng.choice(["Honor", "Ignore"])
        if rng.random() < 0.2:
            c["matchLabelKeys"] = ["tier"]
        constraints.append(c)
    spec: dict[str, Any] = {}
    if constraints:
        spec["spread"] = constraints
    if rng.random() < 0.3:
        spec["node_selector"] = {"disktype": rng.choice(["ssd", "hdd"])}
    if rng.random() < 0.2:
        spec["owner"] = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs"}
    return random_pod(rng, f"new-{k}", **spec)


def spread_plugins() -> list[PodTopologySpread]:
    return [PodTopologySpread(), PodTopologySpread(LIST_DEFAULTS)]


@pytest.mark.parametrize("seed", SEEDS)
def test_spread_filter_mask_is_its_pre_filter_and_filter(seed):
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng, SERVICES)
    columns = InfoColumns(infos, rng)
    verdicts = set()
    for plugin in spread_plugins():
        for k in range(80):
            pod = spread_pod(rng, k)
            state = CycleState(snapshot)
            _, status = plugin.pre_filter(state, pod, infos)
            got = plugin.filter_mask(state, pod, columns)
            if status is not None and status.is_skip():
                assert got is None
                continue
            expected = [plugin.filter(state, pod, info) is None for info in infos]
            assert got is not None and got.tolist() == expected, pod
            verdicts.update(expected)
    assert verdicts == {True, False}


@pytest.mark.parametrize("seed", SEEDS)
def test_spread_score_column_is_its_pre_score_score_and_normalize(seed):
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng, SERVICES)
    columns = InfoColumns(infos, rng)
    scored = set()
    for plugin in spread_plugins():
        for k in range(80):
            pod = spread_pod(rng, k)
            feasible = candidates_of(rng, len(infos))
            expected = per_node_scores(plugin, pod, CycleState(snapshot),
                                       [infos[i] for i in feasible])
            got = plugin.score_column(CycleState(snapshot), pod, columns, feasible)
            assert (None if got is None else got.tolist()) == expected, pod
            scored.update(expected or ())
    assert len(scored) > 5


# -- NodeResourcesBalancedAllocation -------------------------------------------------------------

RESOURCE_SETS = [["cpu", "memory"], ["cpu", GPU], ["memory", "ephemeral-storage"], ["cpu"],
                 [GPU, "memory"]]


def resource_table(infos: Sequence[NodeInfo], names: Sequence[str]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(allocatable, requested by the pods there) per resource and node."""
    return (np.array([[info.allocatable.get(r) for info in infos] for r in names],
                     dtype=np.int64).reshape(len(names), len(infos)),
            np.array([[info.requested.get(r) for info in infos] for r in names],
                     dtype=np.int64).reshape(len(names), len(infos)))


@pytest.mark.parametrize("later", [False, True], ids=["v1.32", "v1.36"])
@pytest.mark.parametrize("seed", SEEDS)
def test_balanced_score_column_is_its_score(seed, later, monkeypatch):
    """The modelled formula, and v1.33's best-effort skip with v1.36's change in balance."""
    monkeypatch.setattr(balanced_allocation, "SKIPS_BEST_EFFORT", later)
    monkeypatch.setattr(balanced_allocation, "SCORES_CHANGE", later)
    rng = random.Random(seed)
    snapshot, infos = random_cluster(rng)
    scored = set()
    for names in RESOURCE_SETS:
        plugin = NodeResourcesBalancedAllocation(NodeResourcesBalancedAllocationArgs(
            [ResourceSpec(name) for name in names]))
        allocatable, requested = resource_table(infos, names)
        for k in range(30):
            pod = random_pod(rng, f"new-{k}")
            feasible = candidates_of(rng, len(infos))
            expected = per_node_scores(plugin, pod, CycleState(snapshot),
                                       [infos[i] for i in feasible])
            requests = pod_resource_requests(pod, plugin.resources, True)
            got = plugin.score_column(requests, allocatable[:, feasible],
                                      requested[:, feasible])
            assert (None if got is None else got.tolist()) == expected, (names, pod)
            scored.update(expected or ())
    assert len(scored) > 5
