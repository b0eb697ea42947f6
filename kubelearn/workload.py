"""Many nodes and many pods at once, for the lessons that need scale.

A cluster of 5,000 nodes with a kubelet each would spend its time on
heartbeats. What the scheduler needs of a node is its Node object, so
:func:`register_nodes` creates the Nodes as kubelets register them (each under
its own ``system:node:<name>`` identity, Ready, with capacity and the usual
labels) and runs no kubelet: nothing starts the pods, and nothing needs to.
:func:`pod_arrivals` is a SimPy process that creates pods at a steady rate,
and :func:`run_until_scheduled` moves the clock on until the scheduler has
bound them, with a progress bar.
"""

from __future__ import annotations

import sys
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from kubelearn.apiserver import authn

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.cluster import Cluster

ZONES = ("zone-a", "zone-b", "zone-c", "zone-d")
# Three pod shapes, cycled: small, medium, large.
POD_REQUESTS = ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "250m", "memory": "256Mi"},
                {"cpu": "500m", "memory": "1Gi"})


def node_manifest(name: str, zone: str, cpu: str = "16", memory: str = "64Gi",
                  pods: str = "110") -> dict:
    """A Node as its kubelet registers it: capacity = allocatable, Ready, hostname and zone."""
    capacity = {"cpu": cpu, "memory": memory, "pods": pods}
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  "topology.kubernetes.io/zone": zone}},
            "status": {"capacity": capacity, "allocatable": capacity,
                       "conditions": [{"type": "Ready", "status": "True",
                                       "reason": "KubeletReady"}]}}


def register_nodes(cluster: Cluster, count: int, *, cpu: str = "16",
                   memory: str = "64Gi") -> list[str]:
    """Create ``count`` Nodes ``node-0000``... across four zones; returns their names."""
    width = max(4, len(str(count - 1)))
    names = [f"node-{i:0{width}d}" for i in range(count)]
    for i, name in enumerate(names):
        manifest = node_manifest(name, ZONES[i % len(ZONES)], cpu, memory)
        cluster.client(authn.node_user(name)).create(manifest)
    return names


def pod_manifest(name: str, requests: dict[str, str]) -> dict:
    """A one-container nginx pod with these resource requests."""
    container = {"name": "app", "image": "nginx:1.27", "resources": {"requests": requests}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [container]}}


def pod_arrivals(cluster: Cluster, total: int, per_second: int) -> Generator[Any, Any, None]:
    """A SimPy process: ``per_second`` pods ``pod-00000``... a virtual second, ``total`` in all.

    Pod ``i`` asks for :data:`POD_REQUESTS` ``[i % 3]``.
    """
    for start in range(0, total, per_second):
        for i in range(start, min(start + per_second, total)):
            cluster.admin.create(pod_manifest(f"pod-{i:05d}", POD_REQUESTS[i % 3]))
        yield cluster.sim.timeout(1)


def run_until_scheduled(cluster: Cluster, total: int, *, progress: bool = True) -> None:
    """Run the clock a second at a time until the scheduler has bound ``total`` pods.

    The progress bar is plain text (tqdm's, on stdout), so a saved notebook shows
    where it ended, where a widget bar would show its first state.
    """
    from tqdm.std import tqdm

    with tqdm(total=total, unit="pod", file=sys.stdout, disable=not progress,
              mininterval=1.0) as bar:
        while cluster.scheduler.scheduled < total:
            cluster.run(1)
            bar.update(cluster.scheduler.scheduled - bar.n)
