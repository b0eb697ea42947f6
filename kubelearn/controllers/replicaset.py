"""The ReplicaSet controller: keep ``spec.replicas`` pods running (pkg/controller/replicaset).

The seed's "replication controller replaces a lost replica", as it works today.
For each ReplicaSet the controller's sync (``syncReplicaSet``):

1. counts the *active* pods it may own -- its own (found through the pod
   cache's index by controller uid, not by walking every pod) and the orphans
   in its namespace -- that are not terminating (``deletionTimestamp``) nor
   ``Succeeded``/``Failed``;
2. claims them (``ClaimPods``): keeps the pods whose controller ownerReference
   is this ReplicaSet and that still match its selector, *adopts* orphans that
   match (adds the ownerReference), *releases* its pods that no longer match
   (removes it);
3. if its *expectations* are met -- every create and delete it asked for last
   time has been seen coming back through the watch -- creates or deletes the
   difference (``manageReplicas``): at most ``BurstReplicas`` (500) per sync,
   creations in slow-start batches of 1, 2, 4, … so a template that cannot be
   created fails once rather than 500 times, deletions in the order
   :func:`deletion_order` gives;
4. writes ``status`` (replicas, fullyLabeledReplicas, readyReplicas,
   availableReplicas, observedGeneration) through ``replicasets/status``, and
   records each write (``ReplicaSetStatus``: ``desired=3 replicas=3
   readyReplicas=2 availableReplicas=2 observedGeneration=1 images=nginx:1.27``,
   the numbers of ``kubectl get rs -o wide``) for timelines to draw.

Why expectations: the informer's cache lags behind the controller's own
writes. Without them a sync right after creating 3 pods would not see them
yet and create 3 more.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from kubelearn.api import LabelSelector, NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE
from kubelearn.client import Client
from kubelearn.controllers.events import NORMAL, WARNING, EventRecorder, object_ref
from kubelearn.controllers.informer import Informer, SharedInformerFactory, WorkQueue, object_key
from kubelearn.sim import Simulation

COMPONENT = "replicaset-controller"

# pkg/controller/replicaset/replica_set.go BurstReplicas: at most this many creates or
# deletes per sync.
BURST_REPLICAS = 500
# pkg/controller/controller_utils.go SlowStartInitialBatchSize.
SLOW_START_INITIAL_BATCH_SIZE = 1
# pkg/controller/controller_utils.go ExpectationsTimeout: expectations older than this are
# considered met (a watch event may have been lost).
EXPECTATIONS_TIMEOUT = 300.0
# k8s.io/api/core/v1 PodDeletionCost annotation.
POD_DELETION_COST = "controller.kubernetes.io/pod-deletion-cost"
# controller_utils.go podPhaseToOrdinal: Pending < Unknown < Running.
PHASE_ORDINAL = {"Pending": 0, "Unknown": 1, "Running": 2}
# controller_utils.go PodControllerUIDIndex and OrphanPodIndexKey: the pod cache's index by
# the uid of each pod's controller, orphans under one key per namespace.
POD_CONTROLLER_UID_INDEX = "podControllerUID"
ORPHAN_POD_INDEX_KEY = "_ORPHAN_POD"


# -- pods --------------------------------------------------------------------------------------

def controller_of(obj: Mapping[str, Any]) -> dict | None:
    """metav1.GetControllerOf: the ownerReference with ``controller: true``, if any."""
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def pod_controller_uid(pod: Mapping[str, Any]) -> list[str]:
    """The PodControllerUIDIndex function: the controller's uid, else the namespace's orphan key."""
    ref = controller_of(pod)
    if ref is not None:
        return [ref.get("uid", "")]
    return [f"{ORPHAN_POD_INDEX_KEY}/{pod['metadata'].get('namespace')}"]


def filter_pods_by_owner(pods: Informer, owner: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """controller.FilterPodsByOwner: the cached pods ``owner`` controls, then the orphans.

    ``pods`` is a pod informer with the :data:`POD_CONTROLLER_UID_INDEX` index.
    """
    meta = owner["metadata"]
    namespace = meta.get("namespace")
    owned = [p for p in pods.by_index(POD_CONTROLLER_UID_INDEX, meta["uid"])
             if p["metadata"].get("namespace") == namespace]
    return owned + pods.by_index(POD_CONTROLLER_UID_INDEX, f"{ORPHAN_POD_INDEX_KEY}/{namespace}")


def is_pod_active(pod: Mapping[str, Any]) -> bool:
    """controller.IsPodActive: not Succeeded, not Failed, not being deleted."""
    return ((pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
            and not pod["metadata"].get("deletionTimestamp"))


def _ready_condition(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return condition
    return None


def is_pod_ready(pod: Mapping[str, Any]) -> bool:
    """podutil.IsPodReady: the Ready condition is True."""
    condition = _ready_condition(pod)
    return condition is not None and condition.get("status") == "True"


def _seconds(timestamp: str | None) -> float | None:
    """Unix seconds of an RFC 3339 time (None for none)."""
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def ready_since(pod: Mapping[str, Any]) -> float | None:
    """podReadyTime: when a ready pod became ready (None if not ready)."""
    condition = _ready_condition(pod)
    if condition is None or condition.get("status") != "True":
        return None
    return _seconds(condition.get("lastTransitionTime"))


def is_pod_available(pod: Mapping[str, Any], min_ready_seconds: int, now: float) -> bool:
    """podutil.IsPodAvailable: ready for more than ``minReadySeconds`` (now in unix seconds)."""
    if not is_pod_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    since = ready_since(pod)
    return since is not None and since + min_ready_seconds < now


def deletion_cost(pod: Mapping[str, Any]) -> int:
    """helper.GetDeletionCostFromPodAnnotations (0 if absent or not an int32)."""
    value = ((pod.get("metadata") or {}).get("annotations") or {}).get(POD_DELETION_COST)
    try:
        return int(value) if value is not None else 0
    except ValueError:
        return 0


def max_restarts(pod: Mapping[str, Any]) -> int:
    """maxContainerRestarts."""
    return max((s.get("restartCount", 0)
                for s in (pod.get("status") or {}).get("containerStatuses") or []), default=0)


def _log_rank(t: float | None, now: float) -> int:
    """logarithmicRankDiff's half: floor(log2(age in nanoseconds)), -1 for no age."""
    age = (now - t) * 1e9 if t is not None else 0
    return int(math.log2(age)) if age > 0 else -1


def _newer_first(t1: float | None, t2: float | None, uid1: str, uid2: str,
                 now: float) -> bool | None:
    """Steps 6 and 8 of ActivePodsWithRanks.Less (LogarithmicScaleDown on, as by default)."""
    if t1 == t2:
        return None
    if t1 is None or t2 is None:  # afterOrZero: the zero time first
        return t1 is None
    diff = _log_rank(t1, now) - _log_rank(t2, now)
    return uid1 < uid2 if diff == 0 else diff < 0


def deletion_less(a: Mapping[str, Any], b: Mapping[str, Any], rank_a: int, rank_b: int,
                  now: float) -> bool:
    """controller.ActivePodsWithRanks.Less: should ``a`` be deleted before ``b``?"""
    node_a = (a.get("spec") or {}).get("nodeName") or ""
    node_b = (b.get("spec") or {}).get("nodeName") or ""
    # 1. unassigned < assigned
    if node_a != node_b and (not node_a or not node_b):
        return not node_a
    # 2. Pending < Unknown < Running
    phase_a = PHASE_ORDINAL.get((a.get("status") or {}).get("phase"), 0)
    phase_b = PHASE_ORDINAL.get((b.get("status") or {}).get("phase"), 0)
    if phase_a != phase_b:
        return phase_a < phase_b
    # 3. not ready < ready
    if is_pod_ready(a) != is_pod_ready(b):
        return not is_pod_ready(a)
    # 4. lower pod-deletion-cost < higher
    if deletion_cost(a) != deletion_cost(b):
        return deletion_cost(a) < deletion_cost(b)
    # 5. doubled up (more related pods on the same node) < not doubled up
    if rank_a != rank_b:
        return rank_a > rank_b
    uid_a, uid_b = a["metadata"].get("uid", ""), b["metadata"].get("uid", "")
    # 6. ready for less time < ready for longer (both ready)
    if is_pod_ready(a) and is_pod_ready(b):
        newer = _newer_first(ready_since(a), ready_since(b), uid_a, uid_b, now)
        if newer is not None:
            return newer
    # 7. more restarts < fewer restarts
    if max_restarts(a) != max_restarts(b):
        return max_restarts(a) > max_restarts(b)
    # 8. newer < older
    newer = _newer_first(_seconds(a["metadata"].get("creationTimestamp")),
                         _seconds(b["metadata"].get("creationTimestamp")), uid_a, uid_b, now)
    return bool(newer)


def deletion_order(pods: list[Mapping[str, Any]], related: list[Mapping[str, Any]],
                   now: float) -> list[Mapping[str, Any]]:
    """getPodsToDelete's sort: ``pods`` with the ones to delete first.

    Each pod's rank is the number of active ``related`` pods on its node
    (getPodsRankedByRelatedPodsOnSameNode). ``now`` is unix seconds.
    """
    on_node: dict[str, int] = {}
    for pod in related:
        if is_pod_active(pod):
            node = pod.get("spec", {}).get("nodeName") or ""
            on_node[node] = on_node.get(node, 0) + 1
    ranked = [(pod, on_node.get(pod.get("spec", {}).get("nodeName") or "", 0)) for pod in pods]
    # an insertion sort keeps it readable; Go's sort.Sort gives the same order for a strict Less
    out: list[tuple[Mapping[str, Any], int]] = []
    for item in ranked:
        i = len(out)
        while i > 0 and deletion_less(item[0], out[i - 1][0], item[1], out[i - 1][1], now):
            i -= 1
        out.insert(i, item)
    return [pod for pod, _ in out]


def slow_start_batch(count: int, initial: int, fn: Callable[[], Any],
                     on_batch: Callable[[int], Any] | None = None,
                     ) -> tuple[int, StatusError | None]:
    """controller_utils.go slowStartBatch: call ``fn`` ``count`` times in growing batches.

    Batches of 1, 2, 4, … (from ``initial``); the first batch with an error is the last.
    Returns (successes, the first error or None).
    """
    remaining, successes = count, 0
    batch = min(remaining, initial)
    while batch > 0:
        if on_batch is not None:
            on_batch(batch)
        error = None
        for _ in range(batch):
            try:
                fn()
                successes += 1
            except StatusError as e:
                error = error or e
        if error is not None:
            return successes, error
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


# -- expectations --------------------------------------------------------------------------------

class Expectations:
    """controller.UIDTrackingControllerExpectations: creates and deletes not yet seen.

    ``expect_creations(key, 3)`` before creating 3 pods; each pod ADDED event
    lowers it by one. ``expect_deletions(key, pods)`` remembers which pods, so a
    pod's update to terminating and its DELETED event count once.
    """

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self._pending: dict[str, list] = {}  # key -> [adds, deletes, set at]
        self._deleting: dict[str, set[str]] = {}

    def satisfied(self, key: str) -> bool:
        """SatisfiedExpectations: nothing pending, or expired, or never set."""
        pending = self._pending.get(key)
        if pending is None:
            return True
        adds, deletes, since = pending
        return (adds <= 0 and deletes <= 0) or self.sim.now - since > EXPECTATIONS_TIMEOUT

    def expect_creations(self, key: str, count: int) -> None:
        self._pending[key] = [count, 0, self.sim.now]

    def expect_deletions(self, key: str, pod_keys: list[str]) -> None:
        self._deleting[key] = set(pod_keys)
        self._pending[key] = [0, len(pod_keys), self.sim.now]

    def creation_observed(self, key: str) -> None:
        if key in self._pending:
            self._pending[key][0] -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        if pod_key in self._deleting.get(key, ()):
            self._deleting[key].discard(pod_key)
            if key in self._pending:
                self._pending[key][1] -= 1

    def delete(self, key: str) -> None:
        self._pending.pop(key, None)
        self._deleting.pop(key, None)


# -- the controller ---------------------------------------------------------------------------

class ReplicaSetController:
    """Keeps each ReplicaSet's pods at ``spec.replicas``.

    ``burst_replicas`` caps creates/deletes per sync (500); ``events=False``
    keeps the records but posts no Event objects.
    """

    def __init__(self, sim: Simulation, client: Client, *, burst_replicas: int = BURST_REPLICAS,
                 events: bool = True, informers: SharedInformerFactory | None = None) -> None:
        self.sim = sim
        self.client = client
        self.burst_replicas = burst_replicas
        self.expectations = Expectations(sim)
        self.recorder = EventRecorder(sim, client, COMPONENT, enabled=events)
        self.queue = WorkQueue(sim, COMPONENT, self.sync)
        self.informers = informers or SharedInformerFactory(sim, client)
        self.replicasets = self.informers.informer("replicasets")
        self.replicasets.add_event_handler(self._add_rs, lambda old, new: self._add_rs(new),
                                           self._delete_rs)
        self.pods = self.informers.informer("pods")
        self.pods.add_indexers({POD_CONTROLLER_UID_INDEX: pod_controller_uid})
        self.pods.add_event_handler(self._add_pod, self._update_pod, self._delete_pod)

    def start(self) -> None:
        """Start the informers and the worker."""
        self.informers.start()
        self.queue.start()

    # -- event handlers: decide which ReplicaSet needs a sync -----------------------------------
    def _add_rs(self, rs: Mapping[str, Any]) -> None:
        self.queue.add(object_key(rs))

    def _delete_rs(self, rs: Mapping[str, Any]) -> None:
        key = object_key(rs)
        self.expectations.delete(key)
        self.queue.add(key)

    def _owner(self, pod: Mapping[str, Any], ref: Mapping[str, Any] | None) -> str | None:
        """resolveControllerRef: the key of the cached ReplicaSet ``ref`` names, if it is one."""
        if ref is None or ref.get("kind") != "ReplicaSet":
            return None
        key = f"{pod['metadata'].get('namespace')}/{ref.get('name')}"
        rs = self.replicasets.store.get(key)
        return key if rs is not None and rs["metadata"].get("uid") == ref.get("uid") else None

    def _matching(self, pod: Mapping[str, Any]) -> list[str]:
        """getPodReplicaSets: the ReplicaSets in the pod's namespace whose selector matches it."""
        namespace, labels = pod["metadata"].get("namespace"), pod["metadata"].get("labels")
        keys = []
        for key, rs in self.replicasets.store.items():
            if rs["metadata"].get("namespace") != namespace:
                continue
            try:
                if LabelSelector.from_dict(rs["spec"].get("selector")).matches(labels):
                    keys.append(key)
            except StatusError:
                continue
        return keys

    def _add_pod(self, pod: Mapping[str, Any]) -> None:
        if pod["metadata"].get("deletionTimestamp"):
            self._delete_pod(pod)  # a restarted controller sees a pod already terminating
            return
        key = self._owner(pod, controller_of(pod))
        if key is not None:
            self.expectations.creation_observed(key)
            self.queue.add(key)
            return
        if controller_of(pod) is None:  # an orphan: whoever matches may adopt it
            for key in self._matching(pod):
                self.queue.add(key)

    def _update_pod(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        labels_changed = old["metadata"].get("labels") != new["metadata"].get("labels")
        if new["metadata"].get("deletionTimestamp"):
            self._delete_pod(new)
            if labels_changed:
                self._delete_pod(old)
            return
        old_ref, new_ref = controller_of(old), controller_of(new)
        if old_ref != new_ref and old_ref is not None:
            old_key = self._owner(old, old_ref)
            if old_key is not None:
                self.queue.add(old_key)
        if new_ref is not None:
            key = self._owner(new, new_ref)
            if key is None:
                return
            self.queue.add(key)
            rs = self.replicasets.store[key]
            min_ready = rs["spec"].get("minReadySeconds") or 0
            if min_ready and not is_pod_ready(old) and is_pod_ready(new):
                self.queue.add_after(key, min_ready)  # availability is due then
            return
        if labels_changed or old_ref != new_ref:
            for key in self._matching(new):
                self.queue.add(key)

    def _delete_pod(self, pod: Mapping[str, Any]) -> None:
        key = self._owner(pod, controller_of(pod))
        if key is None:
            return
        self.expectations.deletion_observed(key, object_key(pod))
        self.queue.add(key)

    # -- the sync ------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """syncReplicaSet: claim pods, create or delete the difference, write status."""
        rs = self.replicasets.store.get(key)
        if rs is None:
            self.expectations.delete(key)
            return
        needs_sync = self.expectations.satisfied(key)
        selector = LabelSelector.from_dict(rs["spec"].get("selector"))
        pods = [p for p in filter_pods_by_owner(self.pods, rs) if is_pod_active(p)]
        pods = self.claim_pods(rs, selector, pods)
        error: StatusError | None = None
        if needs_sync and not rs["metadata"].get("deletionTimestamp"):
            error = self.manage_replicas(key, rs, pods)
        status = self.calculate_status(rs, pods, error)
        rs = self.update_status(rs, status)
        min_ready = rs["spec"].get("minReadySeconds") or 0
        replicas = rs["spec"].get("replicas", 1)
        if error is None and min_ready and status["readyReplicas"] == replicas \
                and status["availableReplicas"] != replicas:
            self.queue.add_after(key, min_ready)
        if error is not None:
            raise error

    def claim_pods(self, rs: Mapping[str, Any], selector: LabelSelector,
                   pods: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
        """PodControllerRefManager.ClaimPods: keep ours that match, adopt, release."""
        uid = rs["metadata"]["uid"]
        deleting = bool(rs["metadata"].get("deletionTimestamp"))
        claimed, fresh = [], None
        for pod in pods:
            ref, matches = controller_of(pod), selector.matches(pod["metadata"].get("labels"))
            if ref is not None:
                if ref.get("uid") != uid:
                    continue  # another controller's
                if matches:
                    claimed.append(pod)
                elif not deleting:
                    self._patch_owner(rs, pod, release=True)
                continue
            if deleting or not matches or pod["metadata"].get("deletionTimestamp"):
                continue
            if fresh is None:  # canAdopt: recheck the ReplicaSet itself, not the cache
                fresh = self.client.get("replicasets", rs["metadata"]["name"],
                                        rs["metadata"]["namespace"])
            if fresh["metadata"].get("uid") != uid or fresh["metadata"].get("deletionTimestamp"):
                continue
            adopted = self._patch_owner(rs, pod, release=False)
            if adopted is not None:
                claimed.append(adopted)
        return claimed

    def _patch_owner(self, rs: Mapping[str, Any], pod: Mapping[str, Any], *,
                     release: bool) -> dict | None:
        """AdoptPod / ReleasePod: a strategic merge patch of the pod's ownerReferences."""
        meta = pod["metadata"]
        ref = {"$patch": "delete", "uid": rs["metadata"]["uid"]} if release \
            else owner_reference(rs)
        patch = {"metadata": {"ownerReferences": [ref], "uid": meta["uid"]}}
        try:
            out = self.client.patch("pods", meta["name"], patch, meta["namespace"])
        except NotFound:
            return None  # gone meanwhile: nothing to claim or release
        verb = "ReleasedPod" if release else "AdoptedPod"
        self.sim.record(COMPONENT, verb, f"pod/{meta['namespace']}/{meta['name']}",
                        f"{'released by' if release else 'adopted by'} {object_ref(rs)}")
        return out

    def manage_replicas(self, key: str, rs: Mapping[str, Any],
                        pods: list[Mapping[str, Any]]) -> StatusError | None:
        """manageReplicas: create or delete pods to reach ``spec.replicas``."""
        diff = len(pods) - rs["spec"].get("replicas", 1)
        if diff < 0:
            count = min(-diff, self.burst_replicas)
            self.expectations.expect_creations(key, count)
            successes, error = slow_start_batch(
                count, SLOW_START_INITIAL_BATCH_SIZE, lambda: self._create_unless_terminating(rs),
                lambda n: self.sim.record(COMPONENT, "SlowStartBatch", object_ref(rs),
                                          f"creating a batch of {n} pods"))
            for _ in range(count - successes):  # the skipped ones will never be observed
                self.expectations.creation_observed(key)
            return error
        if diff > 0:
            count = min(diff, self.burst_replicas)
            related = self._related_pods(rs)
            now = self.sim.epoch.timestamp() + self.sim.now
            doomed = deletion_order(list(pods), related, now)[:count]
            self.expectations.expect_deletions(key, [object_key(p) for p in doomed])
            error = None
            for pod in doomed:
                try:
                    self.delete_pod(rs, pod)
                except StatusError as e:
                    # the informer will not observe this deletion
                    self.expectations.deletion_observed(key, object_key(pod))
                    if not isinstance(e, NotFound):
                        error = error or e
            return error
        return None

    def _create_unless_terminating(self, rs: Mapping[str, Any]) -> None:
        """One create of manageReplicas: in a namespace being deleted every create will fail,
        so such a failure counts as done rather than as an error to retry."""
        try:
            self.create_pod(rs)
        except StatusError as error:
            if not error.has_cause(NAMESPACE_TERMINATING_CAUSE):
                raise

    def _related_pods(self, rs: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """getIndirectlyRelatedPods: pods of every ReplicaSet with the same controller."""
        owner = controller_of(rs)
        namespace = rs["metadata"].get("namespace")
        uids = {rs["metadata"]["uid"]}
        if owner is not None:
            uids |= {other["metadata"]["uid"] for other in self.replicasets.store.values()
                     if other["metadata"].get("namespace") == namespace
                     and (controller_of(other) or {}).get("uid") == owner.get("uid")}
        return [p for uid in sorted(uids) for p in self.pods.by_index(POD_CONTROLLER_UID_INDEX, uid)
                if p["metadata"].get("namespace") == namespace]

    def create_pod(self, rs: Mapping[str, Any]) -> dict:
        """RealPodControl.CreatePodsWithGenerateName: a pod from the template."""
        template = rs["spec"].get("template") or {}
        tmeta = template.get("metadata") or {}
        meta: dict[str, Any] = {"generateName": f"{rs['metadata']['name']}-",
                                "namespace": rs["metadata"]["namespace"],
                                "labels": dict(tmeta.get("labels") or {}),
                                "ownerReferences": [owner_reference(rs)]}
        for field in ("annotations", "finalizers"):
            if tmeta.get(field):
                meta[field] = tmeta[field]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
               "spec": dict(template.get("spec") or {})}
        try:
            created = self.client.create(pod, rs["metadata"]["namespace"])
        except StatusError as error:
            if not error.has_cause(NAMESPACE_TERMINATING_CAUSE):  # no event for those
                self.recorder.event(rs, WARNING, "FailedCreate", f"Error creating: {error}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulCreate",
                            f"Created pod: {created['metadata']['name']}")
        return created

    def delete_pod(self, rs: Mapping[str, Any], pod: Mapping[str, Any]) -> None:
        """RealPodControl.DeletePod, with a SuccessfulDelete or FailedDelete event."""
        name = pod["metadata"]["name"]
        try:
            self.client.delete("pods", name, pod["metadata"]["namespace"])
        except NotFound:
            raise
        except StatusError as error:
            self.recorder.event(rs, WARNING, "FailedDelete", f"Error deleting: {error}")
            raise
        self.recorder.event(rs, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")

    # -- status ----------------------------------------------------------------------------------
    def calculate_status(self, rs: Mapping[str, Any], pods: list[Mapping[str, Any]],
                         error: StatusError | None) -> dict:
        """calculateStatus: counts from the claimed active pods, and ReplicaFailure."""
        status = dict(rs.get("status") or {})
        template_labels = ((rs["spec"].get("template") or {}).get("metadata") or {}).get(
            "labels") or {}
        min_ready = rs["spec"].get("minReadySeconds") or 0
        now = self.sim.epoch.timestamp() + self.sim.now
        labeled = sum(1 for p in pods if all(
            (p["metadata"].get("labels") or {}).get(k) == v for k, v in template_labels.items()))
        ready = sum(1 for p in pods if is_pod_ready(p))
        available = sum(1 for p in pods if is_pod_available(p, min_ready, now))
        conditions = [c for c in status.get("conditions") or []
                      if c.get("type") != "ReplicaFailure"]
        failure = next((c for c in status.get("conditions") or []
                        if c.get("type") == "ReplicaFailure"), None)
        if error is not None:
            if failure is None:
                diff = len(pods) - rs["spec"].get("replicas", 1)
                reason = "FailedCreate" if diff < 0 else "FailedDelete" if diff > 0 else ""
                failure = {"type": "ReplicaFailure", "status": "True",
                           "lastTransitionTime": self.sim.timestamp(), "reason": reason,
                           "message": str(error)}
            conditions.append(failure)
        status.update(replicas=len(pods), fullyLabeledReplicas=labeled, readyReplicas=ready,
                      availableReplicas=available)
        if conditions:
            status["conditions"] = conditions
        else:
            status.pop("conditions", None)
        return status

    def update_status(self, rs: Mapping[str, Any], status: dict) -> Mapping[str, Any]:
        """updateReplicaSetStatus: PUT replicasets/status if anything changed (one retry)."""
        generation = rs["metadata"].get("generation")
        for attempt in range(2):  # statusUpdateRetries = 1
            current = rs.get("status") or {}
            if all(current.get(k, 0) == status.get(k, 0) for k in (
                    "replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")) \
                    and current.get("conditions") == status.get("conditions") \
                    and current.get("observedGeneration") == generation:
                return rs
            new = {**rs, "status": {**status, "observedGeneration": generation}}
            try:
                out = self.client.update_status(new)
                self._record_status(out)
                return out
            except NotFound:
                return rs
            except StatusError:
                if attempt:
                    raise
                rs = self.client.get("replicasets", rs["metadata"]["name"],
                                     rs["metadata"]["namespace"])
                generation = rs["metadata"].get("generation")
        return rs

    def _record_status(self, rs: Mapping[str, Any]) -> None:
        """A ``ReplicaSetStatus`` record of what was written (parse with key=value words)."""
        status = rs.get("status") or {}
        counts = " ".join(f"{k}={int(status.get(k) or 0)}" for k in (
            "replicas", "readyReplicas", "availableReplicas", "observedGeneration"))
        containers = ((rs["spec"].get("template") or {}).get("spec") or {}).get("containers") or []
        images = ",".join(str(c.get("image")) for c in containers) or "<none>"
        self.sim.record(COMPONENT, "ReplicaSetStatus", object_ref(rs),
                        f"desired={rs['spec'].get('replicas', 1)} {counts} images={images}")


def owner_reference(rs: Mapping[str, Any]) -> dict:
    """metav1.NewControllerRef: the ownerReference a ReplicaSet's pods carry."""
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs["metadata"]["name"],
            "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
