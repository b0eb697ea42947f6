"""The disruption controller: each PodDisruptionBudget's status (pkg/controller/disruption).

A PodDisruptionBudget says how many of its pods may be down at once; this
controller does the arithmetic the eviction API and the scheduler's preemption
read. For each budget its sync (``trySync``):

1. finds the pods its selector matches in its namespace;
2. works out how many pods there should be (``expectedPods``) and how many must
   stay healthy (``desiredHealthy``) -- :meth:`DisruptionController.expected_pod_count`:

   - ``minAvailable: 3`` -- desired 3, expected the pods found;
   - ``minAvailable: "50%"`` or any ``maxUnavailable`` -- expected is the *scale* of
     the pods' controllers (a Deployment's ``spec.replicas``, found through the
     pod's ReplicaSet, or a ReplicaSet's, or any workload's ``/scale``), so a pod
     that is missing counts as unhealthy rather than making the budget smaller;
     percentages round up;
3. counts ``currentHealthy``: Ready pods that are not being deleted and not just
   evicted (in ``status.disruptedPods`` for less than 2 minutes);
4. writes ``disruptionsAllowed = currentHealthy - desiredHealthy`` (never below 0,
   and 0 while no pod is expected) with ``observedGeneration`` and the
   ``DisruptionAllowed`` condition: True/``SufficientPods`` or
   False/``InsufficientPods`` -- only if something changed.

When a sync fails (a pod whose controller cannot be found, say) the controller
*fails safe*: disruptionsAllowed 0, DisruptionAllowed False with reason
``SyncFailed`` and the error as its message, so nobody disrupts what could not
be counted. A conflict is simply retried.

It also resets a stale ``DisruptionTarget`` condition: a pod marked for
preemption or eviction that was then not deleted gets the condition set to
False after 2 minutes.

Cost: a pod event first asks whether any budget exists in the pod's namespace
(a dict lookup); with no budgets it does nothing else, and the pods are indexed
by namespace only once a budget exists. A port of disruption.go, v1.32.
ReplicationControllers and StatefulSets are not served by kubelearn: a pod owned
by one cannot be scaled and fails the sync as upstream does for an unknown kind.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from kubelearn.api import StatusError
from kubelearn.api.policy import (
    DISRUPTION_ALLOWED_CONDITION,
    SYNC_FAILED_REASON,
    IntOrPercentError,
    conditions_are_up_to_date,
    pdb_selector,
    pdbs_for_pod,
    scaled_value,
    set_status_condition,
    update_disruption_allowed_condition,
)
from kubelearn.client import Client
from kubelearn.controllers.events import NORMAL, WARNING, EventRecorder, object_ref
from kubelearn.controllers.informer import SharedInformerFactory, WorkQueue, object_key
from kubelearn.controllers.replicaset import controller_of, is_pod_ready
from kubelearn.sim import Simulation

COMPONENT = "disruption-controller"
EVENT_SOURCE = "controllermanager"  # disruption.go: v1.EventSource{Component: "controllermanager"}
# disruption.go DeletionTimeout: how long an evicted pod in status.disruptedPods counts as
# about to go before the controller decides it will not.
DELETION_TIMEOUT = 120.0
# disruption.go stalePodDisruptionTimeout: a DisruptionTarget=True condition on a pod that is
# not being deleted is reset to False after this long.
STALE_POD_DISRUPTION_TIMEOUT = 120.0
DISRUPTION_TARGET = "DisruptionTarget"  # v1.DisruptionTarget
TERMINATION_BY_KUBELET = "TerminationByKubelet"  # v1.PodReasonTerminationByKubelet
NAMESPACE_INDEX = "namespace"  # cache.NamespaceIndex


class DisruptionError(Exception):
    """A budget that cannot be computed (no controller for a pod, a bad percentage)."""


# -- pods ----------------------------------------------------------------------------------------

def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _namespace_of(obj: Mapping[str, Any]) -> list[str]:
    """cache.MetaNamespaceIndexFunc."""
    return [_meta(obj).get("namespace") or ""]


def _seconds(timestamp: str, epoch: datetime) -> float:
    """An RFC 3339 time as seconds on the simulation's clock."""
    when = datetime.fromisoformat(timestamp.replace("Z", "+00:00"))
    return (when - epoch).total_seconds()


def count_healthy_pods(pods: Sequence[Mapping[str, Any]], disrupted: Mapping[str, str],
                       now: float, epoch: datetime) -> int:
    """countHealthyPods: Ready pods, not being deleted, not evicted in the last 2 minutes."""
    healthy = 0
    for pod in pods:
        meta = _meta(pod)
        if meta.get("deletionTimestamp"):
            continue
        when = disrupted.get(meta.get("name", ""))
        if when is not None and _seconds(when, epoch) + DELETION_TIMEOUT > now:
            continue
        if is_pod_ready(pod):
            healthy += 1
    return healthy


def disruption_target(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The pod's DisruptionTarget condition, if any."""
    for condition in (pod.get("status") or {}).get("conditions") or ():
        if condition.get("type") == DISRUPTION_TARGET:
            return condition
    return None


def label_selector_string(selector: Mapping[str, Any] | None) -> str:
    """A *metav1.LabelSelector as Go's %v prints it (its generated String method)."""
    if selector is None:
        return "nil"
    labels = selector.get("matchLabels") or {}
    label_text = "".join(f"{k}: {labels[k]}," for k in sorted(labels))
    exprs = "".join(
        f"LabelSelectorRequirement{{Key:{e.get('key', '')},Operator:{e.get('operator', '')},"
        f"Values:[{' '.join(e.get('values') or [])}],}},"
        for e in selector.get("matchExpressions") or [])
    return (f"&LabelSelector{{MatchLabels:map[string]string{{{label_text}}},"
            f"MatchExpressions:[]LabelSelectorRequirement{{{exprs}}},}}")


# -- the controller ---------------------------------------------------------------------------

class DisruptionController:
    """Keeps each PodDisruptionBudget's status in step with its pods.

    ``events=False`` keeps the records but posts no Event objects;
    ``stale_pod_disruption_timeout`` is the 2 minutes after which a stale
    DisruptionTarget condition is reset.
    """

    def __init__(self, sim: Simulation, client: Client, *, events: bool = True,
                 informers: SharedInformerFactory | None = None,
                 stale_pod_disruption_timeout: float = STALE_POD_DISRUPTION_TIMEOUT) -> None:
        self.sim = sim
        self.client = client
        self.stale_pod_disruption_timeout = stale_pod_disruption_timeout
        self.recorder = EventRecorder(sim, client, EVENT_SOURCE, enabled=events)
        self.recorder.record_as = COMPONENT
        self.queue = WorkQueue(sim, COMPONENT, self.sync)
        self.stale_queue = WorkQueue(sim, COMPONENT, self.sync_stale_pod_disruption)
        self.informers = informers or SharedInformerFactory(sim, client)
        self.pdbs = self.informers.informer("poddisruptionbudgets")
        self.pdbs.add_indexers({NAMESPACE_INDEX: _namespace_of})
        self.pdbs.add_event_handler(self._enqueue, lambda old, new: self._enqueue(new),
                                    self._enqueue)
        self.pods = self.informers.informer("pods")
        self.pods.add_event_handler(self._add_pod, lambda old, new: self._add_pod(new),
                                    self._delete_pod)
        self.replicasets = self.informers.informer("replicasets")
        self.deployments = self.informers.informer("deployments")

    def start(self) -> None:
        """Start the informers and the workers."""
        self.informers.start()
        self.queue.start()
        self.stale_queue.start()

    # -- event handlers: which budget needs a look --------------------------------------------
    def _enqueue(self, pdb: Mapping[str, Any]) -> None:
        self.queue.add(object_key(pdb))

    def _add_pod(self, pod: Mapping[str, Any]) -> None:
        """addPod / updatePod: the pod's budget, and a stale DisruptionTarget to reset later."""
        pdb = self.pdb_for_pod(pod)
        if pdb is not None:
            self._enqueue(pdb)
        stale, clean_after = self.has_stale_disruption_condition(pod)
        if stale:
            self.stale_queue.add_after(object_key(pod), clean_after)

    def _delete_pod(self, pod: Mapping[str, Any]) -> None:
        pdb = self.pdb_for_pod(pod)
        if pdb is not None:
            self._enqueue(pdb)

    def pdb_for_pod(self, pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """getPdbForPod: the first budget covering the pod; a warning if several do.

        The common case -- no budget in the pod's namespace -- is one index lookup.
        """
        candidates = self.pdbs.by_index(NAMESPACE_INDEX, _meta(pod).get("namespace") or "")
        if not candidates:
            return None
        pdbs = pdbs_for_pod(candidates, pod)
        if not pdbs:
            return None
        if len(pdbs) > 1:
            meta = _meta(pod)
            message = (f'Pod "{meta.get("namespace")}"/"{meta.get("name")}" matches multiple '
                       f'PodDisruptionBudgets.  Chose "{_meta(pdbs[0]).get("name")}" '
                       "arbitrarily.")
            # a handler may not call the API server: the event is posted just after
            self.sim.call_later(0, lambda: self.recorder.event(
                pod, WARNING, "MultiplePodDisruptionBudgets", message))
        return pdbs[0]

    def has_stale_disruption_condition(self, pod: Mapping[str, Any]) -> tuple[bool, float]:
        """nonTerminatingPodHasStaleDisruptionCondition: (stale?, seconds until it is reset).

        Not for a pod being deleted, one in a terminal phase, or one the kubelet marked.
        """
        if _meta(pod).get("deletionTimestamp"):
            return False, 0.0
        condition = disruption_target(pod)
        if condition is None or condition.get("status") != "True" \
                or condition.get("reason") == TERMINATION_BY_KUBELET \
                or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return False, 0.0
        since = condition.get("lastTransitionTime")
        age = self.sim.now - _seconds(since, self.sim.epoch) if since else self.sim.now
        return True, max(0.0, self.stale_pod_disruption_timeout - age)

    # -- sync ---------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """sync: trySync; a conflict is retried, any other failure fails safe."""
        pdb = self.pdbs.store.get(key)
        if pdb is None:  # deleted meanwhile
            return
        try:
            self.try_sync(pdb)
        except StatusError as error:
            if error.code == 409:
                raise
            self.fail_safe(pdb, error)
        except DisruptionError as error:
            self.fail_safe(pdb, error)

    def try_sync(self, pdb: Mapping[str, Any]) -> None:
        """Count the budget's pods and write its status (trySync)."""
        pods = self.pods_for_pdb(pdb)
        if not pods:
            self.recorder.event(pdb, NORMAL, "NoPods", "No matching pods found")
        try:
            expected, desired, unmanaged = self.expected_pod_count(pdb, pods)
        except (DisruptionError, StatusError) as error:
            self.recorder.event(pdb, WARNING, "CalculateExpectedPodCountFailed",
                                f"Failed to calculate the number of expected pods: {error}")
            raise
        if unmanaged:
            selector = label_selector_string((pdb.get("spec") or {}).get("selector"))
            self.recorder.event(
                pdb, WARNING, "UnmanagedPods",
                f"Pods selected by this PodDisruptionBudget (selector: {selector}) were found to "
                "be unmanaged. As a result, the status of the PDB cannot be calculated correctly, "
                "which may result in undefined behavior. To account for these pods please set "
                "\".spec.minAvailable\" field of the PDB to an integer value.")
        now = self.sim.now
        disrupted, recheck = self.build_disrupted_pod_map(pods, pdb, now)
        healthy = count_healthy_pods(pods, disrupted, now, self.sim.epoch)
        self.update_pdb_status(pdb, healthy, desired, expected, disrupted)
        if recheck is not None:
            self.queue.add_after(object_key(pdb), max(0.0, recheck - now))

    def pods_for_pdb(self, pdb: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """getPodsForPdb: the cached pods of the budget's namespace its selector matches.

        The pod cache gets its namespace index the first time a budget needs it, so a
        cluster without budgets never pays for it.
        """
        selector = pdb_selector(pdb)
        if selector is None:
            return []
        self.pods.add_indexers({NAMESPACE_INDEX: _namespace_of})  # a no-op once there
        namespace = _meta(pdb).get("namespace") or ""
        return [p for p in self.pods.by_index(NAMESPACE_INDEX, namespace)
                if selector.matches(_meta(p).get("labels"))]

    # -- expected pods ------------------------------------------------------------------------
    def expected_pod_count(self, pdb: Mapping[str, Any], pods: Sequence[Mapping[str, Any]]
                           ) -> tuple[int, int, list[str]]:
        """getExpectedPodCount: (expectedPods, desiredHealthy, unmanaged pod names).

        ``maxUnavailable`` (int or %) and a percentage ``minAvailable`` count against
        the controllers' scale; an integer ``minAvailable`` against the pods found.
        """
        spec = pdb.get("spec") or {}
        max_unavailable, min_available = spec.get("maxUnavailable"), spec.get("minAvailable")
        if max_unavailable is not None:
            expected, unmanaged = self.expected_scale(pods)
            unavailable = self._scaled(max_unavailable, expected)
            return expected, max(0, expected - unavailable), unmanaged
        if min_available is None:
            return 0, 0, []
        if isinstance(min_available, int):
            return len(pods), min_available, []
        expected, unmanaged = self.expected_scale(pods)
        return expected, self._scaled(min_available, expected), unmanaged

    @staticmethod
    def _scaled(value: Any, total: int) -> int:
        try:
            return scaled_value(value, total, True)
        except IntOrPercentError as error:
            raise DisruptionError(str(error)) from None

    def expected_scale(self, pods: Sequence[Mapping[str, Any]]) -> tuple[int, list[str]]:
        """getExpectedScale: the sum of the scales of the pods' controllers, each counted once.

        A pod without a controller is listed as unmanaged; one whose controller no
        finder knows fails the sync.
        """
        scales: dict[str, int] = {}
        unmanaged: list[str] = []
        for pod in pods:
            ref = controller_of(pod)
            if ref is None:
                unmanaged.append(_meta(pod).get("name", ""))
                continue
            if ref.get("uid") in scales:
                continue
            namespace = _meta(pod).get("namespace") or ""
            for finder in (self.find_deployment, self.find_replica_set, self.find_scale):
                found = finder(ref, namespace)
                if found is not None:
                    scales[found[0]] = found[1]
                    break
            else:
                raise DisruptionError(f'found no controllers for pod "{_meta(pod).get("name")}"')
        return sum(scales.values()), unmanaged

    def _replica_set(self, ref: Mapping[str, Any], namespace: str) -> Mapping[str, Any] | None:
        """The cached ReplicaSet a controllerRef names, if kind, group and uid agree."""
        if not _is_kind(ref, "ReplicaSet", ("apps", "extensions")):
            return None
        rs = self.replicasets.store.get(f"{namespace}/{ref.get('name')}")
        if rs is None or _meta(rs).get("uid") != ref.get("uid"):
            return None
        return rs

    def find_deployment(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        """getPodDeployment: the Deployment controlling the pod's ReplicaSet, and its replicas."""
        rs = self._replica_set(ref, namespace)
        owner = controller_of(rs) if rs is not None else None
        if owner is None or not _is_kind(owner, "Deployment", ("apps", "extensions")):
            return None
        deployment = self.deployments.store.get(f"{namespace}/{owner.get('name')}")
        if deployment is None or _meta(deployment).get("uid") != owner.get("uid"):
            return None
        return owner["uid"], _replicas(deployment)

    def find_replica_set(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        """getPodReplicaSet: a ReplicaSet no Deployment controls, and its replicas."""
        rs = self._replica_set(ref, namespace)
        if rs is None:
            return None
        owner = controller_of(rs)
        if owner is not None and owner.get("kind") == "Deployment":
            return None
        return ref["uid"], _replicas(rs)

    def find_scale(self, ref: Mapping[str, Any], namespace: str) -> tuple[str, int] | None:
        """getScaleController: any served kind with a ``/scale`` subresource.

        An unknown kind is an error (the REST mapper's "no matches for kind"), as is a
        kind without ``/scale``; a workload that is gone or another uid is no match.
        """
        api_version, kind = str(ref.get("apiVersion") or ""), str(ref.get("kind") or "")
        info = self.client.api.registry.for_kind(api_version, kind)
        if info is None:
            raise DisruptionError(f'no matches for kind "{kind}" in version "{api_version}"')
        try:
            scale = self.client.scale(info.resource, str(ref.get("name") or ""),
                                      namespace=namespace)
        except StatusError as error:
            if error.code != 404:
                raise
            if "scale" not in info.subresources:
                raise DisruptionError(f"{info.qualified} does not implement the scale "
                                      "subresource") from None
            return None
        if _meta(scale).get("uid") != ref.get("uid"):
            return None
        return ref["uid"], int((scale.get("spec") or {}).get("replicas") or 0)

    # -- disrupted pods and status -------------------------------------------------------------
    def build_disrupted_pod_map(self, pods: Sequence[Mapping[str, Any]],
                                pdb: Mapping[str, Any], now: float
                                ) -> tuple[dict[str, str], float | None]:
        """buildDisruptedPodMap: evicted pods still expected to go, and when to look again.

        A pod evicted more than 2 minutes ago and still not being deleted drops out
        (with a ``NotDeleted`` warning); pods being deleted or gone drop out silently.
        """
        recorded = (pdb.get("status") or {}).get("disruptedPods") or {}
        result: dict[str, str] = {}
        recheck: float | None = None
        if not recorded:
            return result, recheck
        pdb_meta = _meta(pdb)
        for pod in pods:
            meta = _meta(pod)
            when = recorded.get(meta.get("name", ""))
            if meta.get("deletionTimestamp") or when is None:
                continue
            expected_deletion = _seconds(when, self.sim.epoch) + DELETION_TIMEOUT
            # upstream: Before(now); at the very instant it is due, a virtual clock that does
            # not move would recheck for ever, so the due one counts as overdue here
            if expected_deletion <= now:
                # upstream prints the PDB's namespace twice ("%s/%s", Namespace, Namespace)
                self.recorder.event(pod, WARNING, "NotDeleted",
                                    f"Pod was expected by PDB {pdb_meta.get('namespace')}/"
                                    f"{pdb_meta.get('namespace')} to be deleted but it wasn't")
            else:
                if recheck is None or expected_deletion < recheck:
                    recheck = expected_deletion
                result[meta["name"]] = when
        return result, recheck

    def update_pdb_status(self, pdb: Mapping[str, Any], current_healthy: int,
                          desired_healthy: int, expected: int, disrupted: dict[str, str]
                          ) -> None:
        """updatePdbStatus: write the numbers and the condition, unless nothing changed.

        disruptionsAllowed is 0 while no pod is expected: a budget whose first pods
        have just appeared is safe until this controller has counted them.
        """
        allowed = current_healthy - desired_healthy
        if expected <= 0 or allowed <= 0:
            allowed = 0
        status = pdb.get("status") or {}
        generation = int(_meta(pdb).get("generation") or 0)
        if (int(status.get("currentHealthy") or 0), int(status.get("desiredHealthy") or 0),
                int(status.get("expectedPods") or 0), int(status.get("disruptionsAllowed") or 0),
                status.get("disruptedPods") or {}, int(status.get("observedGeneration") or 0)) \
                == (current_healthy, desired_healthy, expected, allowed, disrupted, generation) \
                and conditions_are_up_to_date(pdb):
            return
        new_status: dict[str, Any] = {
            "observedGeneration": generation, "disruptionsAllowed": allowed,
            "currentHealthy": current_healthy, "desiredHealthy": desired_healthy,
            "expectedPods": expected,
            "conditions": copy.deepcopy(list(status.get("conditions") or []))}
        if disrupted:
            new_status["disruptedPods"] = disrupted
        update_disruption_allowed_condition(new_status, self.sim.timestamp())
        self._write_status(pdb, new_status)

    def fail_safe(self, pdb: Mapping[str, Any], error: Exception) -> None:
        """failSafe: disruptionsAllowed 0 and DisruptionAllowed False/SyncFailed, the error said."""
        status = copy.deepcopy(dict(pdb.get("status") or {}))
        status["disruptionsAllowed"] = 0
        conditions = status.setdefault("conditions", [])
        set_status_condition(conditions, {
            "type": DISRUPTION_ALLOWED_CONDITION, "status": "False",
            "observedGeneration": int(status.get("observedGeneration") or 0),
            "reason": SYNC_FAILED_REASON, "message": str(error)}, self.sim.timestamp())
        self._write_status(pdb, status)

    def _write_status(self, pdb: Mapping[str, Any], status: dict[str, Any]) -> None:
        """writePdbStatus: PUT poddisruptionbudgets/status (a failure is retried by the queue)."""
        new = {**pdb, "metadata": dict(_meta(pdb)), "status": status}
        self.client.update_status(new)
        self.sim.record(COMPONENT, "PodDisruptionBudgetStatus", object_ref(pdb),
                        f"expectedPods={status.get('expectedPods', 0)} "
                        f"currentHealthy={status.get('currentHealthy', 0)} "
                        f"desiredHealthy={status.get('desiredHealthy', 0)} "
                        f"disruptionsAllowed={status['disruptionsAllowed']}")

    # -- stale DisruptionTarget conditions -----------------------------------------------------
    def sync_stale_pod_disruption(self, key: str) -> None:
        """syncStalePodDisruption: DisruptionTarget set to False on a pod that was not deleted."""
        pod = self.pods.store.get(key)
        if pod is None:
            return
        stale, clean_after = self.has_stale_disruption_condition(pod)
        if not stale:
            return
        if clean_after > 0:
            self.stale_queue.add_after(key, clean_after)
            return
        new = copy.deepcopy(dict(pod))
        conditions = new.setdefault("status", {}).setdefault("conditions", [])
        # UpdatePodCondition replaces the condition: no reason or message, a new transition time
        conditions[:] = [{"type": DISRUPTION_TARGET, "status": "False", "lastProbeTime": None,
                          "lastTransitionTime": self.sim.timestamp()}
                         if c.get("type") == DISRUPTION_TARGET else c for c in conditions]
        self.client.update_status(new)
        self.sim.record(COMPONENT, "DisruptionTargetReset", object_ref(pod),
                        "Reset stale DisruptionTarget condition to False")


def _is_kind(ref: Mapping[str, Any], kind: str, groups: Sequence[str]) -> bool:
    """verifyGroupKind: the reference's kind, and its apiVersion's group among ``groups``."""
    api_version = str(ref.get("apiVersion") or "")
    group = api_version.rpartition("/")[0] if "/" in api_version else ""
    return ref.get("kind") == kind and group in groups


def _replicas(workload: Mapping[str, Any]) -> int:
    """spec.replicas (defaulted to 1 by the API server)."""
    replicas = (workload.get("spec") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


__all__ = ["DisruptionController", "DisruptionError", "COMPONENT", "DELETION_TIMEOUT",
           "STALE_POD_DISRUPTION_TIMEOUT", "count_healthy_pods", "label_selector_string"]
