"""The node lifecycle controller: taints that say what state a node is in.

Upstream (pkg/controller/nodelifecycle/node_lifecycle_controller.go) this
controller does three things: it taints nodes ``NoSchedule`` from their
conditions (so the scheduler stops placing pods on a node that is not ready),
it watches heartbeats and marks silent nodes ``Ready=Unknown``, and it taints
them ``NoExecute`` so their pods get evicted. This module has the first part,
``doNoScheduleTaintingPass``; heartbeat monitoring and eviction come with the
rest of the controller manager.

Why it matters from the first node on: the TaintNodesByCondition admission
plugin registers every new node with ``node.kubernetes.io/not-ready:NoSchedule``,
and it is this controller that removes the taint once the kubelet reports
``Ready=True``. Without it, no pod is ever scheduled.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from typing import Any

import simpy

from kubelearn.api import StatusError
from kubelearn.client import Client
from kubelearn.sim import Simulation

COMPONENT = "node-lifecycle-controller"

# nodeConditionToTaintKeyStatusMap: a condition in this status means this NoSchedule taint.
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": "node.kubernetes.io/not-ready",
              "Unknown": "node.kubernetes.io/unreachable"},
    "MemoryPressure": {"True": "node.kubernetes.io/memory-pressure"},
    "DiskPressure": {"True": "node.kubernetes.io/disk-pressure"},
    "NetworkUnavailable": {"True": "node.kubernetes.io/network-unavailable"},
    "PIDPressure": {"True": "node.kubernetes.io/pid-pressure"},
}
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"  # v1.TaintNodeUnschedulable
# The NoSchedule taints this controller owns; any other taint is left alone.
OWNED = {key for statuses in CONDITION_TAINTS.values() for key in statuses.values()} | {
    UNSCHEDULABLE}


def wanted_noschedule_taints(node: Mapping[str, Any]) -> set[str]:
    """The NoSchedule taint keys a node's conditions and spec.unschedulable call for."""
    keys = set()
    for condition in node.get("status", {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(condition.get("type"), {}).get(condition.get("status"))
        if key:
            keys.add(key)
    if node.get("spec", {}).get("unschedulable"):
        keys.add(UNSCHEDULABLE)
    return keys


def reconcile_taints(node: Mapping[str, Any]) -> list[dict] | None:
    """The node's new taint list, or None when its NoSchedule taints are already right."""
    taints = list(node.get("spec", {}).get("taints") or [])
    have = {t["key"] for t in taints if t.get("effect") == "NoSchedule" and t["key"] in OWNED}
    want = wanted_noschedule_taints(node)
    if have == want:
        return None
    kept = [t for t in taints if not (t.get("effect") == "NoSchedule" and t["key"] in OWNED)]
    return kept + [{"key": key, "effect": "NoSchedule"} for key in sorted(want)]


class NodeLifecycleController:
    """Keeps each node's condition taints in step with its conditions."""

    def __init__(self, sim: Simulation, client: Client) -> None:
        self.sim = sim
        self.client = client
        self._process: simpy.Process | None = None

    def start(self) -> None:
        """Watch nodes and reconcile each one that changes."""
        if self._process is None:
            self._process = self.sim.process(self._run())

    def _run(self) -> Generator[simpy.Event, Any, None]:
        stream = self.client.watch("nodes")
        while not stream.stopped:
            event = yield stream.get()
            if event is None or event["type"] not in ("ADDED", "MODIFIED"):
                continue
            self.taint_no_schedule(event["object"]["metadata"]["name"])

    def taint_no_schedule(self, name: str) -> None:
        """doNoScheduleTaintingPass: add and remove this node's NoSchedule condition taints."""
        try:
            node = self.client.get("nodes", name)
            taints = reconcile_taints(node)
            if taints is None:
                return
            self.client.patch("nodes", name, {"spec": {"taints": taints}},
                              patch_type="merge")
        except StatusError as error:  # gone or changed meanwhile: the next event retries
            self.sim.record(COMPONENT, "TaintFailed", f"node/{name}", str(error))
            return
        keys = ", ".join(t["key"] for t in taints if t["key"] in OWNED) or "none"
        self.sim.record(COMPONENT, "NoScheduleTaints", f"node/{name}", f"condition taints: {keys}")
