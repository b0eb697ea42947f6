"""The taint eviction controller: pods leave a node tainted ``NoExecute``.

Upstream (pkg/controller/tainteviction/taint_eviction.go, once the node
lifecycle controller's "taint manager") it watches nodes and pods. For every
pod on a node with ``NoExecute`` taints it decides (``processPodOnNode``):

- a taint the pod does not tolerate: delete the pod now;
- every taint tolerated, some with ``tolerationSeconds``: delete the pod when
  the smallest of them has passed -- 300s for the ``not-ready`` and
  ``unreachable`` tolerations the DefaultTolerationSeconds admission plugin
  gives every pod;
- tolerated for ever (no ``tolerationSeconds``): keep it;
- the taints gone before the time is up: cancel the deletion.

A deletion is an Event ``TaintManagerEviction`` "Marking for deletion Pod
default/web", a ``DisruptionTarget`` condition on the pod, then a DELETE. That
is how a dead node's pods go, 300s after the node controller tainted it
``node.kubernetes.io/unreachable:NoExecute``, and how their ReplicaSet learns to
make new ones elsewhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubelearn.api import StatusError
from kubelearn.client import Client
from kubelearn.controllers.informer import SharedInformerFactory, handle_crash, object_key
from kubelearn.kubelet.events import NORMAL, EventRecorder
from kubelearn.scheduler.plugins.helper import tolerates
from kubelearn.sim import Simulation
from kubelearn.version import since

COMPONENT = "taint-eviction-controller"
RETRIES = 5  # taint_eviction.go retries: attempts at deleting a pod


def no_execute_taints(node: Mapping[str, Any] | None) -> list[dict]:
    """getNoExecuteTaints: the node's taints with effect NoExecute."""
    taints = ((node or {}).get("spec") or {}).get("taints") or []
    return [t for t in taints if t.get("effect") == "NoExecute"]


def matching_tolerations(taints: list[Mapping[str, Any]],
                         tolerations: list[Mapping[str, Any]]) -> tuple[bool, list]:
    """v1helper.GetMatchingTolerations: all taints tolerated?, and the first match of each."""
    used = []
    for taint in taints:
        match = next((t for t in tolerations if tolerates(t, taint)), None)
        if match is None:
            return False, []
        used.append(match)
    return True, used


def min_toleration_time(tolerations: list[Mapping[str, Any]]) -> float:
    """getMinTolerationTime: the smallest tolerationSeconds; -1 means for ever.

    No tolerations at all, or one with tolerationSeconds <= 0: 0 (evict now).
    """
    if not tolerations:
        return 0.0
    smallest = None
    for toleration in tolerations:
        seconds = toleration.get("tolerationSeconds")
        if seconds is None:
            continue
        if seconds <= 0:
            return 0.0
        smallest = seconds if smallest is None else min(smallest, seconds)
    return -1.0 if smallest is None else float(smallest)


@dataclass
class TimedWork:
    """timedWorker: one pod's deletion, due at ``fire_at``; cancelled or not."""

    created_at: float
    fire_at: float
    cancelled: bool = False


class TaintEvictionController:
    """Deletes pods from NoExecute-tainted nodes once their tolerations run out.

    Upstream runs it under the ``node-controller`` service account ("taint-manager
    uses existing cluster role from node-controller"); ``informers`` (the controller
    manager's shared informers, made from ``client`` if not given) list and watch
    nodes and pods.
    """

    def __init__(self, sim: Simulation, client: Client, *,
                 informers: SharedInformerFactory | None = None) -> None:
        self.sim = sim
        self.client = client
        self.recorder = EventRecorder(sim, client, COMPONENT, "")
        self.recorder.record_as = COMPONENT
        self.informers = informers or SharedInformerFactory(sim, client)
        self.tainted_nodes: dict[str, list[dict]] = {}  # node -> its NoExecute taints
        self.pods_on_node: dict[str, dict[str, Mapping[str, Any]]] = {}  # node -> key -> pod
        # taintEvictionQueue (TimedWorkerQueue): None once done, so it is not added again.
        self.work: dict[str, TimedWork | None] = {}
        self.pod_informer = self.informers.informer("pods")
        self.pod_informer.add_event_handler(self._pod_added, self._pod_updated, self._pod_deleted)
        self.node_informer = self.informers.informer("nodes")
        self.node_informer.add_event_handler(self._node_updated,
                                             lambda _old, new: self._node_updated(new),
                                             self._node_deleted)
        self._started = False

    def start(self) -> None:
        """Start the informers (pods and nodes, in either order: each handler checks the other)."""
        if not self._started:
            self._started = True
            self.informers.start()

    # -- informer handlers: caches and timers only, no API calls --------------------------------
    def _pod_added(self, pod: Mapping[str, Any]) -> None:
        self._pod_updated(None, pod)

    def _pod_updated(self, old: Mapping[str, Any] | None, pod: Mapping[str, Any]) -> None:
        key, node = object_key(pod), (pod.get("spec") or {}).get("nodeName")
        if old is not None:
            old_node = (old.get("spec") or {}).get("nodeName")
            if old_node == node and (old.get("spec") or {}).get("tolerations") == \
                    (pod.get("spec") or {}).get("tolerations"):
                if node:
                    self.pods_on_node.setdefault(node, {})[key] = pod
                return  # nothing that matters here changed
            if old_node and old_node != node:
                self.pods_on_node.get(old_node, {}).pop(key, None)
        if not node:
            return
        self.pods_on_node.setdefault(node, {})[key] = pod
        taints = self.tainted_nodes.get(node)
        if taints is None:
            return  # node not tainted (or taints removed before: eviction already cancelled)
        self.process_pod_on_node(key, node, pod, taints)

    def _pod_deleted(self, pod: Mapping[str, Any]) -> None:
        key, node = object_key(pod), (pod.get("spec") or {}).get("nodeName")
        if node:
            self.pods_on_node.get(node, {}).pop(key, None)
        # handlePodUpdate, pod not found: cancelWorkWithEvent (an event if a deletion was pending)
        self.cancel_work(key)
        self.work.pop(key, None)

    def _node_updated(self, node: Mapping[str, Any]) -> None:
        name = node["metadata"]["name"]
        taints = no_execute_taints(node)
        old = self.tainted_nodes.get(name, [])
        if taints == old:
            return
        if taints:
            self.tainted_nodes[name] = taints
        else:
            self.tainted_nodes.pop(name, None)
        pods = self.pods_on_node.get(name, {})
        for key, pod in sorted(pods.items()):
            try:
                if not taints:  # short circuit: nothing to evict for
                    self.cancel_work(key)
                else:
                    self.process_pod_on_node(key, name, pod, taints)
            except Exception as error:  # one pod nobody could read: the others still go
                handle_crash(self.sim, COMPONENT, f"pod/{key}", error,
                             "Failed to process Pod on a tainted Node")

    def _node_deleted(self, node: Mapping[str, Any]) -> None:
        self.tainted_nodes.pop(node["metadata"]["name"], None)

    # -- the decision -------------------------------------------------------------------------
    def process_pod_on_node(self, key: str, node: str, pod: Mapping[str, Any],
                            taints: list[dict]) -> None:
        """processPodOnNode: delete now, later (the smallest tolerationSeconds), or never."""
        now = self.sim.now
        if not taints:
            self.cancel_work(key)
        tolerations = list((pod.get("spec") or {}).get("tolerations") or [])
        all_tolerated, used = matching_tolerations(taints, tolerations)
        if not all_tolerated:
            self.cancel_work(key)  # we delete it right away instead
            self.add_work(key, now, now)
            return
        seconds = min_toleration_time(used)
        if seconds < 0:  # tolerates for ever
            self.cancel_work(key)
            return
        start, trigger = now, now + seconds
        scheduled = self.work.get(key)
        if scheduled is not None:
            start = scheduled.created_at
            if start + seconds < trigger:  # already counting down from earlier: keep it
                return
            self.cancel_work(key)
        self.add_work(key, start, trigger)

    def add_work(self, key: str, created_at: float, fire_at: float) -> None:
        """TimedWorkerQueue.AddWork: schedule the deletion (unless there is work for it)."""
        if key in self.work:
            return
        work = TimedWork(created_at, fire_at)
        self.work[key] = work
        namespace, _, name = key.partition("/")
        self.sim.record(COMPONENT, "PodEvictionScheduled", f"pod/{namespace}/{name}",
                        f"deletion at {fire_at:g}s "
                        f"({fire_at - created_at:g}s after {created_at:g}s)")
        self.sim.call_later(max(0.0, fire_at - self.sim.now), lambda: self._fire(key, work))

    def cancel_work(self, key: str, *, event: bool = True) -> bool:
        """cancelWorkWithEvent: drop a pending deletion, with a "Cancelling deletion" event."""
        work = self.work.pop(key, None)
        if work is None:
            return False
        work.cancelled = True
        if event:
            namespace, _, name = key.partition("/")
            self.recorder.event({"apiVersion": "v1", "kind": "Pod", "namespace": namespace,
                                 "name": name}, NORMAL, "TaintManagerEviction",
                                f"Cancelling deletion of Pod {key}", f"pod/{key}")
        return True

    # -- the deletion ----------------------------------------------------------------------------
    def _fire(self, key: str, work: TimedWork) -> None:
        if work.cancelled or self.work.get(key) is not work:
            return
        namespace, _, name = key.partition("/")
        self.recorder.event({"apiVersion": "v1", "kind": "Pod", "namespace": namespace,
                             "name": name}, NORMAL, "TaintManagerEviction",
                            f"Marking for deletion Pod {key}", f"pod/{key}")
        deleted = False
        for _ in range(RETRIES):
            try:
                self.add_condition_and_delete_pod(name, namespace)
            except StatusError:  # NotFound too: upstream retries every error
                continue
            except Exception as error:  # a timer must not take the simulation down with it
                handle_crash(self.sim, COMPONENT, f"pod/{key}", error, "Failed to delete Pod")
                break
            deleted = True
            break
        if not deleted:
            self.work.pop(key, None)  # a failed worker leaves the queue: it may be added again
        elif key in self.work or not since(33):
            # Keep the key (as None) so later updates of the pod do not add it again. v1.32
            # keeps it even when a cancel removed it meanwhile; from v1.33 only if it is still
            # there (PR #129577, "Only set worker to nil when the key exists").
            self.work[key] = None

    def add_condition_and_delete_pod(self, name: str, namespace: str) -> None:
        """addConditionAndDeletePod: a DisruptionTarget condition, then DELETE."""
        pod = self.client.get("pods", name, namespace)
        status = pod["status"] = pod.get("status") or {}  # null is an empty status, as in Go
        conditions = status["conditions"] = status.get("conditions") or []
        if not any(c.get("type") == "DisruptionTarget" and c.get("status") == "True"
                   for c in conditions):
            conditions[:] = [c for c in conditions if c.get("type") != "DisruptionTarget"]
            conditions.append({"type": "DisruptionTarget", "status": "True",
                               "reason": "DeletionByTaintManager",
                               "message": "Taint manager: deleting due to NoExecute taint",
                               "lastTransitionTime": self.sim.timestamp()})
            self.client.update_status(pod)
        self.client.delete("pods", name, namespace)
        self.sim.record(COMPONENT, "PodDeleted", f"pod/{namespace}/{name}",
                        "deleted: NoExecute taint not tolerated (any longer)")
