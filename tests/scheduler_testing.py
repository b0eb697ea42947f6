"""Builders for scheduler tests, after upstream's pkg/scheduler/testing (st.MakePod, MakeNode).

Plain Kubernetes dicts, so a case reads like the upstream test it ports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelearn.scheduler import CycleState, NodeScore, Snapshot
from kubelearn.scheduler.framework import PreScorePlugin, ScorePlugin

MB = 1024 * 1024


def make_node(name: str, capacity: Mapping[str, Any] | None = None, *,
              labels: Mapping[str, str] | None = None,
              taints: Sequence[Mapping[str, Any]] | None = None,
              images: Sequence[tuple[Sequence[str], int]] | None = None,
              unschedulable: bool = False) -> dict[str, Any]:
    """A Node; ``capacity`` sets both capacity and allocatable, as st.MakeNode().Capacity."""
    node: dict[str, Any] = {"apiVersion": "v1", "kind": "Node",
                            "metadata": {"name": name, "labels": dict(labels or {})},
                            "spec": {}, "status": {}}
    if capacity is not None:
        node["status"]["capacity"] = dict(capacity)
        node["status"]["allocatable"] = dict(capacity)
    if taints:
        node["spec"]["taints"] = [dict(t) for t in taints]
    if unschedulable:
        node["spec"]["unschedulable"] = True
    if images:
        node["status"]["images"] = [{"names": list(n), "sizeBytes": s} for n, s in images]
    return node


def resource_node(name: str, milli_cpu: int, memory: int,
                  scalars: Mapping[str, int] | None = None) -> dict[str, Any]:
    """makeNode of noderesources/test_util.go: cpu in millicores, memory in bytes, 32 pods."""
    cap: dict[str, Any] = {"cpu": f"{milli_cpu}m", "memory": str(memory), "pods": "32"}
    cap.update({k: str(v) for k, v in (scalars or {}).items()})
    return make_node(name, cap)


def container(requests: Mapping[str, Any] | None = None, *, image: str = "",
              ports: Sequence[Mapping[str, Any]] | None = None,
              restart_policy: str | None = None) -> dict[str, Any]:
    """A container; ``requests=None`` leaves requests unset."""
    c: dict[str, Any] = {"name": "c", "image": image}
    if requests is not None:
        c["resources"] = {"requests": dict(requests)}
    if ports:
        c["ports"] = [dict(p) for p in ports]
    if restart_policy:
        c["restartPolicy"] = restart_policy
    return c


def make_pod(name: str = "p", *, namespace: str = "default", node: str | None = None,
             labels: Mapping[str, str] | None = None,
             containers: Sequence[Mapping[str, Any]] = (),
             init_containers: Sequence[Mapping[str, Any]] = (),
             requests: Sequence[Mapping[str, Any]] = (),
             tolerations: Sequence[Mapping[str, Any]] | None = None,
             node_selector: Mapping[str, str] | None = None,
             affinity: Mapping[str, Any] | None = None,
             spread: Sequence[Mapping[str, Any]] | None = None,
             owner: Mapping[str, Any] | None = None,
             terminating: bool = False, **spec: Any) -> dict[str, Any]:
    """A Pod; each entry of ``requests`` adds one container with those requests (st.Req)."""
    meta: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {}),
                            "uid": f"{namespace}-{name}"}
    if owner is not None:
        meta["ownerReferences"] = [{"controller": True, **owner}]
    if terminating:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    pod_spec: dict[str, Any] = {"containers": [*map(dict, containers),
                                               *(container(r) for r in requests)], **spec}
    if init_containers:
        pod_spec["initContainers"] = [dict(c) for c in init_containers]
    if node is not None:
        pod_spec["nodeName"] = node
    if tolerations is not None:
        pod_spec["tolerations"] = [dict(t) for t in tolerations]
    if node_selector is not None:
        pod_spec["nodeSelector"] = dict(node_selector)
    if affinity is not None:
        pod_spec["affinity"] = affinity
    if spread is not None:
        pod_spec["topologySpreadConstraints"] = [dict(c) for c in spread]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec}


def spread_constraint(max_skew: int, key: str, action: str,
                      selector: Mapping[str, Any] | None, **extra: Any) -> dict[str, Any]:
    """A topologySpreadConstraint (st.SpreadConstraint)."""
    c: dict[str, Any] = {"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": action,
                         "labelSelector": selector}
    c.update(extra)
    return c


def exists(key: str) -> dict[str, Any]:
    """A label selector ``key exists`` (st.MakeLabelSelector().Exists)."""
    return {"matchExpressions": [{"key": key, "operator": "Exists"}]}


def plugin_scores(plugin: ScorePlugin, pod: Mapping[str, Any],
                  nodes: Sequence[Mapping[str, Any]], pods: Sequence[Mapping[str, Any]] = (),
                  *, failed_nodes: Sequence[Mapping[str, Any]] = (),
                  objects: Mapping[str, Any] | None = None, pre_score: bool = True,
                  normalize: bool = True) -> dict[str, int]:
    """Run one Score plugin as upstream's tests do: PreScore, Score each node, NormalizeScore.

    ``failed_nodes`` are in the cluster but did not pass the filters.
    """
    snapshot = Snapshot.build([*nodes, *failed_nodes], pods, objects)
    candidates = [snapshot.get(n["metadata"]["name"]) for n in nodes]
    state = CycleState(snapshot)
    if pre_score and isinstance(plugin, PreScorePlugin):
        status = plugin.pre_score(state, pod, candidates)
        assert status is None or status.is_success(), status
    scores = [NodeScore(n.name, plugin.score(state, pod, n)) for n in candidates]
    ext = plugin.score_extensions()
    if normalize and ext is not None:
        ext.normalize_score(state, pod, scores)
    return {s.name: s.score for s in scores}


# -- a cluster with nodes, through the API -------------------------------------------------------

def register_node(cluster: Any, name: str, capacity: Mapping[str, Any] | None = None, *,
                  labels: Mapping[str, str] | None = None,
                  taints: Sequence[Mapping[str, Any]] | None = None,
                  images: Sequence[tuple[Sequence[str], int]] | None = None,
                  unschedulable: bool = False) -> dict[str, Any]:
    """Register a Node through the API as its kubelet would, under ``system:node:<name>``.

    Admission (TaintNodesByCondition) gives a new node the not-ready taint, which the
    node lifecycle controller lifts once the node is Ready; here an admin sets the
    node's taints to ``taints`` right away, as that controller would.
    """
    from kubelearn.apiserver import authn

    cap = dict(capacity or {"cpu": "4", "memory": "8Gi", "pods": "110"})
    node = make_node(name, cap, labels={"kubernetes.io/hostname": name, **(labels or {})},
                     images=images)
    node["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    cluster.client(authn.node_user(name)).create(node)
    spec: dict[str, Any] = {"taints": [dict(t) for t in taints or []]}
    if unschedulable:
        spec["unschedulable"] = True
    return cluster.admin.patch("nodes", name, {"spec": spec}, patch_type="merge")


def pod_manifest(name: str, requests: Mapping[str, Any] | None = None, **spec: Any
                 ) -> dict[str, Any]:
    """A one-container Pod as a learner writes it (no namespace, uid or defaults)."""
    c: dict[str, Any] = {"name": "app", "image": spec.pop("image", "nginx:1.27")}
    if requests is not None:
        c["resources"] = {"requests": dict(requests)}
    labels = spec.pop("labels", None)
    meta: dict[str, Any] = {"name": name}
    if labels:
        meta["labels"] = dict(labels)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [c], **spec}}


def node_of(cluster: Any, pod: str, namespace: str = "default") -> str | None:
    """spec.nodeName of a pod, as the API server has it."""
    return (cluster.admin.get("pods", pod, namespace).get("spec") or {}).get("nodeName")
