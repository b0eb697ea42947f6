"""The nominator: which pending pods preemption promised which node, indexed by node.

When DefaultPreemption evicts victims for a pod, the pod does not take the node at
once: the victims first terminate gracefully, and the pod waits in the queue with
``status.nominatedNodeName`` set. Meanwhile other pods are scheduled. Each of their
cycles must leave the promised room free: before filtering a node, the scheduler
adds the pods nominated to it with a priority at least the incoming pod's
(RunFilterPluginsWithNominatedPods in :mod:`kubelearn.scheduler.framework`).

So every filter pass asks "who is nominated to this node?" -- thousands of times a
cycle. The nominator answers from an index kept by node, updated as pending pods
are added, updated and deleted, and when preemption nominates a pod (before the
API server has the new status: the next cycle must already see it). With no
nomination anywhere, :meth:`Nominator.__bool__` is False and the filter pass does
no extra work at all.

A port of pkg/scheduler/backend/queue/nominator.go (v1.32): ``addNominatedPod``
(with upstream's NominatingInfo modes: None keeps the pod's own
``status.nominatedNodeName``, a string overrides it, ``""`` clears it),
``UpdateNominatedPod``, ``DeleteNominatedPodIfExists`` and ``NominatedPodsForNode``.
Pods are keyed ``namespace/name`` as the scheduling queue keys them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubelearn.scheduler.nodeinfo import PodInfo
from kubelearn.scheduler.queue import pod_key

# The pod as the informer has it now (None if deleted): upstream's podLister check.
PodLister = Callable[[str], Mapping[str, Any] | None]


def nominated_node_name(pod: Mapping[str, Any]) -> str:
    """status.nominatedNodeName, "" when unset."""
    return (pod.get("status") or {}).get("nominatedNodeName") or ""


class Nominator:
    """Pending pods by the node they are nominated to (nominator)."""

    def __init__(self, lister: PodLister | None = None) -> None:
        self.lister = lister
        # node name -> pod key -> PodInfo, in nomination order (nominatedPods)
        self._by_node: dict[str, dict[str, PodInfo]] = {}
        self._node_of: dict[str, str] = {}  # pod key -> node name (nominatedPodToNode)

    def __bool__(self) -> bool:
        """True if some pod is nominated somewhere: the filter pass's fast path."""
        return bool(self._node_of)

    def __len__(self) -> int:
        return len(self._node_of)

    def add(self, info: PodInfo, nominated: str | None = None) -> None:
        """Record (or move, or clear) a pod's nomination (addNominatedPodUnlocked).

        ``nominated`` None keeps what the pod's status says (ModeNoop); a node name
        overrides it, "" clears it (ModeOverride). A pod the lister no longer has, or
        has bound, is not nominated.
        """
        pod = info.pod
        self.delete(pod)
        node = nominated_node_name(pod) if nominated is None else nominated
        if not node:
            return
        key = pod_key(pod)
        if self.lister is not None:
            current = self.lister(key)
            if current is None or (current.get("spec") or {}).get("nodeName"):
                return
        self._node_of[key] = node
        self._by_node.setdefault(node, {})[key] = info

    def update(self, old: Mapping[str, Any], info: PodInfo) -> None:
        """A pending pod changed: keep its nomination current (UpdateNominatedPod).

        An update that neither sets nor clears ``nominatedNodeName`` keeps a
        nomination made in memory whose status write has not come back yet.
        """
        nominated = None
        if not nominated_node_name(old) and not nominated_node_name(info.pod):
            nominated = self._node_of.get(pod_key(old))
        self.delete(old)
        self.add(info, nominated)

    def delete(self, pod: Mapping[str, Any]) -> None:
        """Forget the pod's nomination, if it has one (DeleteNominatedPodIfExists)."""
        key = pod_key(pod)
        node = self._node_of.pop(key, None)
        if node is None:
            return
        pods = self._by_node[node]
        del pods[key]
        if not pods:
            del self._by_node[node]

    def pods_for_node(self, node: str) -> list[PodInfo]:
        """The pods nominated to ``node``, in nomination order (NominatedPodsForNode)."""
        pods = self._by_node.get(node)
        return list(pods.values()) if pods else []

    def nodes(self) -> list[str]:
        """The nodes some pod is nominated to."""
        return list(self._by_node)

    def node_of(self, pod: Mapping[str, Any]) -> str:
        """The node the pod is nominated to here, "" if none."""
        return self._node_of.get(pod_key(pod), "")

    def __repr__(self) -> str:
        return f"Nominator({ {n: list(p) for n, p in self._by_node.items()} })"
