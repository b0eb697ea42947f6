"""The array forms of the Filter plugins equal their per-node Filters, node by node.

Random nodes (sizes, pods already on them, taints, cordons) and random pods; for
each pod the plugin's ``filter`` runs on every NodeInfo and its array form on
columns built here from the same NodeInfos, in the layout the form's docstring
describes. The vectorised scheduler builds those columns its own way; its
differential tests (test_scheduler_vectorized.py) check the placements.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from scheduler_testing import make_node, make_pod

from kubelearn.scheduler import CycleState, Snapshot
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.node_resources_fit import (
    FREE_ROWS,
    PRE_FILTER_STATE_KEY,
    NodeResourcesFit,
    NodeResourcesFitArgs,
)
from kubelearn.scheduler.plugins.node_unschedulable import (
    NodeUnschedulable,
    tolerates_unschedulable,
)
from kubelearn.scheduler.plugins.taint_toleration import TaintToleration, untolerated_taints

SEEDS = range(6)
# scalar resources: an extended one, one the plugin ignores by name, one by group, hugepages
GPU, FPGA, GROUPED, HUGEPAGES = ("example.com/gpu", "ignored.io/fpga", "group.io/asic",
                                 "hugepages-2Mi")
FIT_ARGS = NodeResourcesFitArgs(ignored_resources=[FPGA], ignored_resource_groups=["group.io"])


def random_requests(rng: random.Random) -> dict[str, str]:
    requests: dict[str, str] = {}
    if rng.random() < 0.7:
        requests["cpu"] = f"{rng.choice([0, 100, 500, 1000, 1500])}m"
    if rng.random() < 0.6:
        requests["memory"] = f"{rng.choice([0, 256, 1024, 3072])}Mi"
    if rng.random() < 0.3:
        requests["ephemeral-storage"] = f"{rng.choice([1, 5, 20])}Gi"
    for name in (GPU, FPGA, GROUPED, HUGEPAGES):
        if rng.random() < 0.2:
            requests[name] = str(rng.choice([0, 1, 2]))
    return requests


def resource_cluster(rng: random.Random) -> tuple[Snapshot, list[NodeInfo]]:
    nodes, pods = [], []
    for i in range(40):
        capacity = {"cpu": str(rng.choice([1, 2, 4])), "memory": f"{rng.choice([2, 4])}Gi",
                    "pods": str(rng.choice([1, 2, 3, 110])),
                    "ephemeral-storage": f"{rng.choice([10, 50])}Gi"}
        for name in (GPU, FPGA, GROUPED, HUGEPAGES):
            if rng.random() < 0.4:
                capacity[name] = str(rng.choice([1, 2, 4]))
        nodes.append(make_node(f"n{i}", capacity))
        for j in range(rng.choice([0, 1, 2, 3])):
            pods.append(make_pod(f"p{i}-{j}", node=f"n{i}", requests=[random_requests(rng)]))
    snapshot = Snapshot.build(nodes, pods)
    return snapshot, list(snapshot.node_infos)


def free_columns(infos: list[NodeInfo]) -> np.ndarray:
    """One row per FREE_ROWS entry: pod slots left, then allocatable - requested."""
    rows = []
    for name in FREE_ROWS:
        if name == "pods":
            rows.append([i.allocatable.allowed_pod_number - len(i.pods) for i in infos])
        else:
            rows.append([i.allocatable.get(name) - i.requested.get(name) for i in infos])
    return np.array(rows, dtype=np.int64)


def scalar_columns(infos: list[NodeInfo]):
    def columns(name: str) -> tuple[np.ndarray, np.ndarray]:
        return (np.array([i.allocatable.scalar_resources.get(name, 0) for i in infos],
                         dtype=np.int64),
                np.array([i.requested.scalar_resources.get(name, 0) for i in infos],
                         dtype=np.int64))
    return columns


@pytest.mark.parametrize("seed", SEEDS)
def test_fit_mask_is_node_resources_fit_filter(seed):
    rng = random.Random(seed)
    snapshot, infos = resource_cluster(rng)
    plugin = NodeResourcesFit(FIT_ARGS)
    free, scalars = free_columns(infos), scalar_columns(infos)
    verdicts = set()
    for k in range(60):
        pod = make_pod(f"new-{k}", requests=[random_requests(rng)
                                             for _ in range(rng.choice([1, 1, 2]))])
        state = CycleState(snapshot)
        plugin.pre_filter(state, pod, infos)
        expected = [plugin.filter(state, pod, info) is None for info in infos]
        request = plugin.fit_thresholds(state.read(PRE_FILTER_STATE_KEY))
        got = plugin.fit_mask(request, free, scalars)
        assert got.tolist() == expected, pod["spec"]["containers"]
        verdicts.update(expected)
    assert verdicts == {True, False}  # both answers were put to the test


TAINTS = [{"key": "dedicated", "value": "db", "effect": "NoSchedule"},
          {"key": "dedicated", "value": "web", "effect": "NoSchedule"},
          {"key": "spot", "effect": "PreferNoSchedule"},
          {"key": "gone", "effect": "NoExecute"},
          {"key": "gpu", "value": "true", "effect": "NoSchedule"}]
TOLERATIONS = [{"key": "dedicated", "operator": "Equal", "value": "db", "effect": "NoSchedule"},
               {"key": "dedicated", "operator": "Exists"},
               {"key": "gone", "operator": "Exists", "effect": "NoExecute"},
               {"key": "gpu", "value": "true"},
               {"operator": "Exists"},
               {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"},
               {"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                "effect": "NoSchedule"}]


def taint_cluster(rng: random.Random) -> list[NodeInfo]:
    nodes = [make_node(f"n{i}", {"cpu": "4", "memory": "8Gi", "pods": "110"},
                       taints=rng.sample(TAINTS, rng.choice([0, 0, 1, 2, 3])),
                       unschedulable=rng.random() < 0.3)
             for i in range(30)]
    return list(Snapshot.build(nodes).node_infos)


def taint_bits(infos: list[NodeInfo], registry: list[dict[str, str]]) -> np.ndarray:
    """Bit i % 64 of word i // 64 set where a node has the registry's taint i."""
    words = np.zeros(((len(registry) + 63) // 64 or 1, len(infos)), dtype=np.uint64)
    for col, info in enumerate(infos):
        for taint in info.taints:
            i = registry.index(taint)
            words[i // 64, col] |= np.uint64(1 << (i % 64))
    return words


def random_tolerant_pod(rng: random.Random, k: int) -> dict:
    return make_pod(f"new-{k}", tolerations=rng.sample(TOLERATIONS, rng.choice([0, 0, 1, 2])))


@pytest.mark.parametrize("seed", SEEDS)
def test_taint_filter_mask_is_taint_toleration_filter(seed):
    rng = random.Random(seed)
    infos = taint_cluster(rng)
    # the cluster's distinct taints, numbered; more than 64, so the nodes' taints (numbers
    # 62 to 66) fall in both words
    registry = [{"key": f"other-{j}", "effect": "NoSchedule"} for j in range(70)]
    registry[62:62] = [dict(t) for t in TAINTS]
    bits = taint_bits(infos, registry)
    plugin, verdicts = TaintToleration(), set()
    for k in range(40):
        pod = random_tolerant_pod(rng, k)
        expected = [plugin.filter(CycleState(), pod, info) is None for info in infos]
        ids = untolerated_taints(registry, pod["spec"].get("tolerations") or [])
        words = np.zeros(bits.shape[0], dtype=np.uint64)
        for i in ids:
            words[i // 64] |= np.uint64(1 << (i % 64))
        assert plugin.filter_mask(bits, words).tolist() == expected, pod["spec"]
        verdicts.update(expected)
    assert verdicts == {True, False}


@pytest.mark.parametrize("seed", SEEDS)
def test_unschedulable_filter_mask_is_node_unschedulable_filter(seed):
    rng = random.Random(seed)
    infos = taint_cluster(rng)
    cordoned = np.array([info.unschedulable for info in infos], dtype=bool)
    plugin, verdicts = NodeUnschedulable(), set()
    for k in range(40):
        pod = random_tolerant_pod(rng, k)
        expected = [plugin.filter(CycleState(), pod, info) is None for info in infos]
        got = [True] * len(infos) if tolerates_unschedulable(pod) \
            else plugin.filter_mask(cordoned).tolist()
        assert got == expected, pod["spec"]
        verdicts.update(expected)
    assert verdicts == {True, False}
