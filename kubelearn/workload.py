"""Many nodes and many pods at once, for the lessons that need scale.

A cluster of 5,000 nodes with a kubelet each would spend its time on
heartbeats. What the scheduler needs of a node is its Node object, so
:func:`register_nodes` creates the Nodes as kubelets register them (each under
its own ``system:node:<name>`` identity, Ready, with capacity and the usual
labels) and runs no kubelet: nothing starts the pods, and nothing needs to.
:func:`pod_arrivals` is a SimPy process that creates pods at a steady rate,
and :func:`run_until_scheduled` moves the clock on until the scheduler has
bound them, with a progress bar. :func:`pod_manifest` and :func:`mixed_pods`
write the pods lesson 04 creates a few at a time.
"""

from __future__ import annotations

import sys
from collections.abc import Generator, Mapping
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


def pod_manifest(name: str, requests: Mapping[str, str] | None = None, *,
                 limits: Mapping[str, str] | None = None,
                 annotations: Mapping[str, str] | None = None, **spec: Any) -> dict:
    """A pod whose one container, ``app``, runs nginx with these requests (and limits).

    No requests and no limits: a container without ``resources``. ``annotations``
    go on the pod (``{"sim.kubelearn.io/app.cpu-usage": "900m"}`` says how much CPU
    its process uses); any other keyword is a PodSpec field as the API spells it:
    ``priorityClassName="urgent"``, ``schedulerName="bin-packing"``, ``nodeName="node-a"``.
    """
    resources = {k: dict(v) for k, v in (("requests", requests), ("limits", limits)) if v}
    container: dict[str, Any] = {"name": "app", "image": "nginx:1.27"}
    if resources:
        container["resources"] = resources
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata,
            "spec": {**spec, "containers": [container]}}


# Lesson 04's pods of mixed sizes: pod i asks for MIXED_CPU[i % 3] and MIXED_MEMORY[i % 4].
MIXED_CPU = ("250m", "500m", "1")
MIXED_MEMORY = ("256Mi", "1Gi", "512Mi", "2Gi")


def mixed_pods(count: int, **spec: Any) -> list[dict]:
    """Pods ``app-0``... of mixed sizes (:data:`MIXED_CPU`, :data:`MIXED_MEMORY`), in order.

    Keywords are PodSpec fields, as for :func:`pod_manifest`.
    """
    return [pod_manifest(f"app-{i}", {"cpu": MIXED_CPU[i % len(MIXED_CPU)],
                                      "memory": MIXED_MEMORY[i % len(MIXED_MEMORY)]}, **spec)
            for i in range(count)]


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

    The progress bar is tqdm's plain text bar. In a notebook it is one output
    redrawn in place (:class:`kubelearn.viz.interact.LineDisplay`), so a saved
    lesson shows the one line where it ended -- not every redraw, and not a
    widget's first state; elsewhere it goes to stdout. While it runs it shows the
    real time and rate; its last line leaves them out, so a lesson saved twice
    saves the same line.
    """
    from tqdm.std import tqdm

    from kubelearn.viz.interact import LineDisplay, in_kernel

    out = LineDisplay() if progress and in_kernel() else sys.stdout
    with tqdm(total=total, unit="pod", file=out, disable=not progress,
              mininterval=1.0) as bar:
        while cluster.scheduler.scheduled < total:
            cluster.run(1)
            bar.update(cluster.scheduler.scheduled - bar.n)
        bar.bar_format = "{l_bar}{bar}| {n_fmt}/{total_fmt} pods scheduled"
