"""The node lifecycle controller: taints that say what state a node is in.

Upstream (pkg/controller/nodelifecycle/node_lifecycle_controller.go) this
controller does four things, and so does this module:

1. ``doNoScheduleTaintingPass`` -- it taints nodes ``NoSchedule`` from their
   conditions, so the scheduler stops placing pods on a node that is not ready;
2. ``monitorNodeHealth`` -- every ``--node-monitor-period`` (5s) it looks at each
   node's heartbeats (the Lease in ``kube-node-lease`` and the Ready condition).
   A node silent for ``--node-monitor-grace-period`` (50s) goes ``Ready=Unknown``
   ("Kubelet stopped posting node status.", a ``NodeNotReady`` event);
3. ``doNoExecuteTaintingPass`` -- it taints a Ready=Unknown node
   ``node.kubernetes.io/unreachable:NoExecute`` (Ready=False: ``not-ready``),
   rate limited per zone so that a whole zone going dark (a network split, not
   dead machines) does not empty it. The taint eviction controller
   (``tainteviction.py``) then deletes the pods that do not tolerate the taint;
4. ``podUpdated`` -> ``processPod`` -- the monitor pass marks a node's pods
   ``Ready=False`` once, when the node stops being Ready. A pod it did not see
   then (one bound later: a pod tolerating the taints, one created with
   ``spec.nodeName``, one the pod cache learnt of late) is queued when its
   ``spec.nodeName`` is set, and marked on its own if its node is not Ready --
   else it would stay a ready endpoint of its Services. A failed status write
   is retried under the work queue's rate limiter.

Why it matters from the first node on: the TaintNodesByCondition admission
plugin registers every new node with ``node.kubernetes.io/not-ready:NoSchedule``,
and it is this controller that removes the taint once the kubelet reports
``Ready=True``. Without it, no pod is ever scheduled.
"""

from __future__ import annotations

import copy
import heapq
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any

import simpy

from kubelearn import version
from kubelearn.api import NotFound, StatusError
from kubelearn.apiserver.printers import parse_time
from kubelearn.client import Client
from kubelearn.controllers.informer import (
    SharedInformerFactory,
    SyncError,
    WorkQueue,
    handle_crash,
    object_key,
)
from kubelearn.kubelet.events import NORMAL, WARNING, EventRecorder
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
NOT_READY = "node.kubernetes.io/not-ready"  # v1.TaintNodeNotReady
UNREACHABLE = "node.kubernetes.io/unreachable"  # v1.TaintNodeUnreachable
# The NoSchedule taints this controller owns; any other taint is left alone.
OWNED = {key for statuses in CONDITION_TAINTS.values() for key in statuses.values()} | {
    UNSCHEDULABLE}


def wanted_noschedule_taints(node: Mapping[str, Any]) -> set[str]:
    """The NoSchedule taint keys a node's conditions and spec.unschedulable call for."""
    keys = set()
    for condition in (node.get("status") or {}).get("conditions") or []:
        key = CONDITION_TAINTS.get(condition.get("type"), {}).get(condition.get("status"))
        if key:
            keys.add(key)
    if (node.get("spec") or {}).get("unschedulable"):
        keys.add(UNSCHEDULABLE)
    return keys


def reconcile_taints(node: Mapping[str, Any], time_added: str | None = None
                     ) -> list[dict] | None:
    """The node's new taint list, or None when its NoSchedule taints are already right.

    As doNoScheduleTaintingPass does it (taintutils.TaintSetDiff, then
    SwapNodeControllerTaint): the owned taints the conditions no longer call for
    go, the missing ones are appended (in condition order, stamped ``timeAdded``),
    every other taint stays where it is.
    """
    taints = list((node.get("spec") or {}).get("taints") or [])
    have = {t["key"] for t in taints if t.get("effect") == "NoSchedule" and t["key"] in OWNED}
    want = wanted_noschedule_taints(node)
    if have == want:
        return None
    kept = [t for t in taints if not (t.get("effect") == "NoSchedule" and t["key"] in OWNED
                                      and t["key"] not in want)]
    stamp = {"timeAdded": time_added} if time_added else {}
    return kept + [{"key": key, "effect": "NoSchedule", **stamp}
                   for key in wanted_noschedule_order(node) if key not in have]


def wanted_noschedule_order(node: Mapping[str, Any]) -> list[str]:
    """The wanted NoSchedule taint keys in upstream's order: conditions as listed, then cordon."""
    keys = [CONDITION_TAINTS.get(c.get("type"), {}).get(c.get("status"))
            for c in (node.get("status") or {}).get("conditions") or []]
    if (node.get("spec") or {}).get("unschedulable"):
        keys.append(UNSCHEDULABLE)
    return list(dict.fromkeys(k for k in keys if k))


def own_conditions(node: Mapping[str, Any]) -> dict:
    """A copy of ``node`` with its own status and conditions, the parts a controller changes.

    Everything else (the images, addresses, capacity...) is shared with ``node``,
    the informer's read-only object: upstream's ``node.DeepCopy()`` would do, but a
    deep copy of a Node in Python costs far more than the rest of a health check,
    and the monitor pass makes one for every unresponsive node every 5 s.
    """
    status = node.get("status") or {}
    conditions = [dict(condition) for condition in status.get("conditions") or ()]
    return {**node, "status": {**status, "conditions": conditions}}


# nodeNameKeyIndex: the pod informer's index of pods by the node they are bound to.
NODE_NAME_INDEX = "spec.nodeName"


def pod_node_name(pod: Mapping[str, Any]) -> list[str]:
    """The index function: the pod's node, if it has one."""
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


# -- settings: kube-controller-manager flags and upstream constants ----------------------------
NODE_MONITOR_PERIOD = 5.0  # --node-monitor-period
# --node-monitor-grace-period: 50s since v1.32 (PR #126287), 40s before.
NODE_MONITOR_GRACE_PERIOD_BEFORE_V132 = 40.0
NODE_MONITOR_GRACE_PERIOD = 50.0 if version.since(32) else NODE_MONITOR_GRACE_PERIOD_BEFORE_V132
NODE_STARTUP_GRACE_PERIOD = 60.0  # --node-startup-grace-period
NODE_EVICTION_RATE = 0.1  # --node-eviction-rate: nodes per second per zone
SECONDARY_NODE_EVICTION_RATE = 0.01  # --secondary-node-eviction-rate
UNHEALTHY_ZONE_THRESHOLD = 0.55  # --unhealthy-zone-threshold
LARGE_CLUSTER_SIZE_THRESHOLD = 50  # --large-cluster-size-threshold
EVICTION_RATE_LIMITER_BURST = 1  # scheduler.EvictionRateLimiterBurst
NODE_EVICTION_PERIOD = 0.1  # scheduler.NodeEvictionPeriod: how often the taint queues are tried
NODE_HEALTH_UPDATE_RETRY = 5  # scheduler.NodeHealthUpdateRetry
# doNoExecuteTaintingPass: a queued node without a Ready condition is tried again in 50ms.
NO_READY_CONDITION_RETRY = 0.05
# labelNodeDisruptionExclusion: a node with this label does not count towards its zone's state.
LABEL_EXCLUDE_DISRUPTION = "node.kubernetes.io/exclude-disruption"

# The NoExecute taints of a node whose Ready condition is Unknown or False (never both).
UNREACHABLE_TAINT = {"key": UNREACHABLE, "effect": "NoExecute"}  # UnreachableTaintTemplate
NOT_READY_TAINT = {"key": NOT_READY, "effect": "NoExecute"}  # NotReadyTaintTemplate

# Zone states (ZoneState), from the Ready conditions of a zone's nodes.
STATE_INITIAL, STATE_NORMAL = "Initial", "Normal"
STATE_PARTIAL_DISRUPTION, STATE_FULL_DISRUPTION = "PartialDisruption", "FullDisruption"

# The conditions a silent node's are set Unknown (NetworkUnavailable is the control plane's).
UNKNOWN_CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
LEASE_NAMESPACE = "kube-node-lease"  # v1.NamespaceNodeLease


def get_condition(node: Mapping[str, Any], kind: str) -> dict | None:
    """controllerutil.GetNodeCondition: the node's condition of this type, or None."""
    for condition in (node.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def get_pod_condition(pod: Mapping[str, Any], kind: str) -> dict | None:
    """podutil.GetPodCondition: the pod's condition of this type, or None."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == kind:
            return condition
    return None


def taint_exists(taints: Any, template: Mapping[str, Any]) -> bool:
    """taintutils.TaintExists: a taint with the template's key and effect (Taint.MatchTaint)."""
    return any(t.get("key") == template["key"] and t.get("effect") == template["effect"]
               for t in taints or [])


def zone_key(node: Mapping[str, Any]) -> str:
    """nodetopology.GetZoneKey: region and zone labels (GA, else beta) as one key."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region = labels.get("topology.kubernetes.io/region") or labels.get(
        "failure-domain.beta.kubernetes.io/region", "")
    zone = labels.get("topology.kubernetes.io/zone") or labels.get(
        "failure-domain.beta.kubernetes.io/zone", "")
    if not region and not zone:
        return ""
    return f"{region}:\x00:{zone}"  # upstream's separator: no label value holds a NUL


def zone_name(key: str) -> str:
    """A zone key as a learner reads it: ``zone-a`` (or ``region/zone``)."""
    region, _, zone = key.partition(":\x00:")
    return f"{region}/{zone}" if region else (zone or "<no zone>")


def compute_zone_state(ready_conditions: list[Mapping[str, Any] | None],
                       unhealthy_zone_threshold: float = UNHEALTHY_ZONE_THRESHOLD
                       ) -> tuple[int, str]:
    """ComputeZoneState: (not-ready nodes, state) of a zone from its nodes' Ready conditions.

    No node ready: FullDisruption. More than 2 not ready and at least the threshold's
    share (55%) of them: PartialDisruption. Else Normal.
    """
    ready = sum(1 for c in ready_conditions if c is not None and c.get("status") == "True")
    not_ready = len(ready_conditions) - ready
    if ready == 0 and not_ready > 0:
        return not_ready, STATE_FULL_DISRUPTION
    if not_ready > 2 and not_ready / (not_ready + ready) >= unhealthy_zone_threshold:
        return not_ready, STATE_PARTIAL_DISRUPTION
    return not_ready, STATE_NORMAL


class TokenBucket:
    """flowcontrol.NewTokenBucketRateLimiter: ``qps`` tokens a second, at most ``burst``.

    A new bucket starts full. ``qps`` 0 is NewFakeNeverRateLimiter: never accepts.
    """

    def __init__(self, sim: Simulation, qps: float, burst: int = EVICTION_RATE_LIMITER_BURST):
        self.sim, self.qps, self.burst = sim, qps, burst
        self.tokens = float(burst) if qps > 0 else 0.0
        self.last = sim.now

    def reported_qps(self) -> float:
        """RateLimiter.QPS(): the rate, except that the never limiter says 1 (client-go)."""
        return self.qps if self.qps > 0 else 1.0

    def try_accept(self) -> bool:
        """Take a token if there is one."""
        if self.qps <= 0:
            return False
        now = self.sim.now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.qps)
        self.last = now
        if self.tokens >= 1 - 1e-9:
            self.tokens -= 1
            return True
        return False


class RateLimitedTimedQueue:
    """scheduler.RateLimitedTimedQueue: node names waiting to be tainted, one zone's.

    A unique queue (a name is in it at most once; after it is processed it stays
    in the set until removed, so it is not queued again) ordered by when to
    process it, tried at the pace of a token bucket.
    """

    def __init__(self, sim: Simulation, qps: float):
        self.sim = sim
        self.limiter = TokenBucket(sim, qps)
        self.queue: list[tuple[float, int, str]] = []  # (processAt, order, node name)
        self.members: set[str] = set()
        self._order = 0

    def __len__(self) -> int:
        return len(self.queue)

    def add(self, name: str) -> bool:
        """Queue ``name`` now; False if it is already in the set."""
        if name in self.members:
            return False
        self.members.add(name)
        self._order += 1
        heapq.heappush(self.queue, (self.sim.now, self._order, name))
        return True

    def remove(self, name: str) -> None:
        """Forget ``name`` altogether (queue and set)."""
        if name in self.members:
            self.members.discard(name)
            self.queue = [item for item in self.queue if item[2] != name]
            heapq.heapify(self.queue)

    def try_(self, fn) -> None:  # fn(name) -> (done, retry after seconds)
        """Try: process due names while the limiter gives tokens; failures come back later."""
        while self.queue:
            if not self.limiter.try_accept():
                break  # rate limited: try again on the next pass
            process_at, _, name = self.queue[0]
            if self.sim.now < process_at:
                break
            heapq.heappop(self.queue)
            done, wait = fn(name)
            if not done:  # RemoveFromQueue keeps it in the set; Replace puts it back
                self._order += 1
                heapq.heappush(self.queue, (self.sim.now + wait + 1e-9, self._order, name))

    def swap_limiter(self, qps: float) -> None:
        """SwapLimiter: a new bucket at ``qps``, drained if the old one was empty (burst 1)."""
        if self.limiter.reported_qps() == qps:  # upstream compares limiter.QPS()
            return
        new = TokenBucket(self.sim, qps)
        if qps > 0 and not self.limiter.try_accept():
            new.try_accept()
        self.limiter = new


@dataclass
class NodeHealth:
    """nodeHealthData: what the controller last saw of a node, and when, by its own clock."""

    probe_timestamp: float
    ready_transition_timestamp: float
    ready: dict | None = None  # the Ready condition last seen
    renew_time: str | None = None  # the lease's spec.renewTime last seen


class NodeLifecycleController:
    """Keeps each node's condition taints in step with its conditions, and watches heartbeats.

    ``client`` acts as the ``node-controller`` service account; ``informers`` (the
    controller manager's shared informers, made from ``client`` if not given) list
    and watch nodes, pods and leases. The keyword arguments are kube-controller-manager's
    flags, with their defaults.
    """

    def __init__(self, sim: Simulation, client: Client, *,
                 informers: SharedInformerFactory | None = None,
                 node_monitor_period: float = NODE_MONITOR_PERIOD,
                 node_monitor_grace_period: float = NODE_MONITOR_GRACE_PERIOD,
                 node_startup_grace_period: float = NODE_STARTUP_GRACE_PERIOD,
                 node_eviction_rate: float = NODE_EVICTION_RATE,
                 secondary_node_eviction_rate: float = SECONDARY_NODE_EVICTION_RATE,
                 unhealthy_zone_threshold: float = UNHEALTHY_ZONE_THRESHOLD,
                 large_cluster_size_threshold: int = LARGE_CLUSTER_SIZE_THRESHOLD,
                 record_checks: bool = True) -> None:
        self.sim = sim
        self.client = client
        self.informers = informers or SharedInformerFactory(sim, client)
        self.node_monitor_period = node_monitor_period
        self.node_monitor_grace_period = node_monitor_grace_period
        self.node_startup_grace_period = node_startup_grace_period
        self.node_eviction_rate = node_eviction_rate
        self.secondary_node_eviction_rate = secondary_node_eviction_rate
        self.unhealthy_zone_threshold = unhealthy_zone_threshold
        self.large_cluster_size_threshold = large_cluster_size_threshold
        self.record_checks = record_checks  # one record per monitor pass, for timelines
        self.leases: dict[str, str] = {}  # node name -> lease spec.renewTime (lease informer)
        self.node_health: dict[str, NodeHealth] = {}
        self.known_nodes: dict[str, Mapping[str, Any]] = {}  # knownNodeSet
        # nodesToRetry: nodes whose pods could not all be marked NotReady: the next pass
        # marks them again.
        self.nodes_to_retry: set[str] = set()
        self.zone_states: dict[str, str] = {}
        self.zone_no_execute_tainter: dict[str, RateLimitedTimedQueue] = {}
        self.recorder = EventRecorder(sim, client, "node-controller", "")
        self.recorder.record_as = COMPONENT
        self._work = sim.env.event()  # fires when a taint queue gets a node
        self._processes: list[simpy.Process] = []
        # nodeUpdateQueue: nodes whose NoSchedule condition taints need a look.
        self.node_update_queue = WorkQueue(sim, COMPONENT, self.taint_no_schedule)
        node_informer = self.informers.informer("nodes")
        node_informer.add_event_handler(
            lambda node: self.node_update_queue.add(node["metadata"]["name"]),
            lambda _old, node: self.node_update_queue.add(node["metadata"]["name"]),
            lambda node: self.nodes_to_retry.discard(node["metadata"]["name"]))
        # the node informer's cache, by name (shared objects: copy before changing one)
        self.nodes: dict[str, Mapping[str, Any]] = node_informer.store
        # getPodsAssignedToNode reads the pods of a node going NotReady from here.
        self.pod_informer = self.informers.informer("pods")
        self.pod_informer.add_indexers({NODE_NAME_INDEX: pod_node_name})
        # podUpdateQueue: pods just bound to a node, by namespace/name; a failed one comes
        # back under the rate limiter (workqueue.DefaultTypedControllerRateLimiter).
        self.pod_update_queue = WorkQueue(sim, COMPONENT, self.process_pod)
        self.pod_informer.add_event_handler(lambda pod: self.pod_updated(None, pod),
                                            self.pod_updated)
        self.lease_informer = self.informers.informer("leases")
        self.lease_informer.add_event_handler(self._on_lease, lambda _old, new: self._on_lease(new),
                                              self._on_lease_deleted)

    def start(self) -> None:
        """Watch nodes and leases; monitor node health and run the tainting passes."""
        if not self._processes:
            self.informers.start()
            self.node_update_queue.start()
            self.pod_update_queue.start()
            self._processes = [
                               self.sim.process(self._monitor_loop()),
                               self.sim.process(self._no_execute_tainting_loop())]

    # -- informers ---------------------------------------------------------------------------
    def _on_lease(self, lease: Mapping[str, Any]) -> None:
        """The lease informer's handler: remember each node lease's renewTime."""
        meta = lease.get("metadata") or {}
        if meta.get("namespace") == LEASE_NAMESPACE:
            self.leases[meta["name"]] = (lease.get("spec") or {}).get("renewTime") or ""

    def _on_lease_deleted(self, lease: Mapping[str, Any]) -> None:
        meta = lease.get("metadata") or {}
        if meta.get("namespace") == LEASE_NAMESPACE:
            self.leases.pop(meta["name"], None)

    def taint_no_schedule(self, name: str) -> None:
        """doNoScheduleTaintingPass: add and remove this node's NoSchedule condition taints."""
        cached = self.nodes.get(name)
        if cached is None or reconcile_taints(cached) is None:
            return  # gone, or its taints already agree with its conditions (from the cache)
        try:
            node = self.client.get("nodes", name)
            taints = reconcile_taints(node, self.sim.timestamp())
            if taints is None:
                return
            self.client.patch("nodes", name, {"spec": {"taints": taints}},
                              patch_type="merge")
        except StatusError as error:  # gone or changed meanwhile: the next event retries
            self.sim.record(COMPONENT, "TaintFailed", f"node/{name}", str(error))
            return
        keys = ", ".join(t["key"] for t in taints if t["key"] in OWNED) or "none"
        self.sim.record(COMPONENT, "NoScheduleTaints", f"node/{name}", f"condition taints: {keys}")

    # -- monitorNodeHealth -------------------------------------------------------------------
    def _monitor_loop(self) -> Generator[simpy.Event, Any, None]:
        while True:  # wait.Until: a pass at once, then one every period
            try:
                self.monitor_node_health()
            except Exception as error:  # wait.Until's HandleCrash: the next pass still comes
                handle_crash(self.sim, COMPONENT, "", error, "monitorNodeHealth")
            yield self.sim.timeout(self.node_monitor_period)

    def monitor_node_health(self) -> None:
        """One pass: every node's health, its NoExecute taint decision, then the zones'.

        Each node is handled on its own, as upstream's updateNodeFunc is: a node
        that cannot be handled (an error nobody expected) is logged and recorded,
        and the pass goes on with the others -- one bad node must not stop the
        heartbeat checks of a whole cluster.
        """
        # The informer's objects, shared and read-only: tryUpdateNodeHealth copies the
        # one node it changes.
        nodes = [self.nodes[name] for name in sorted(self.nodes)]
        added, deleted, new_zone_representatives = self.classify_nodes(nodes)
        for node in new_zone_representatives:
            self._add_zone(zone_key(node))
        for node in added:
            try:
                self._register(node)
            except Exception as error:
                handle_crash(self.sim, COMPONENT, f"node/{node['metadata']['name']}", error,
                             "Failed to register Node")
        for node in deleted:
            name = node["metadata"]["name"]
            self._node_event(name, node["metadata"].get("uid"), "RemovingNode",
                             f"Removing Node {name} from Controller")
            del self.known_nodes[name]
        zone_conditions: dict[str, list[dict | None]] = {}
        for node in nodes:
            try:
                self._monitor_node(node, zone_conditions)
            except Exception as error:
                handle_crash(self.sim, COMPONENT, f"node/{node['metadata']['name']}", error,
                             "Update health of Node from Controller error, "
                             "Skipping - no pods will be evicted")
        self.handle_disruption(zone_conditions, nodes)
        if self.record_checks:
            self.sim.record(COMPONENT, "MonitorNodeHealth", "",
                            f"checked {len(nodes)} node(s) every {self.node_monitor_period:g}s")

    def _register(self, node: Mapping[str, Any]) -> None:
        """A node seen for the first time: known from now on, in its zone, reachable."""
        name = node["metadata"]["name"]
        self._node_event(name, node["metadata"].get("uid"), "RegisteredNode",
                         f"Registered Node {name} in Controller")
        self.known_nodes[name] = node
        self._add_zone(zone_key(node))
        self.mark_node_as_reachable(node)

    def _monitor_node(self, node: Mapping[str, Any],
                      zone_conditions: dict[str, list[dict | None]]) -> None:
        """updateNodeFunc: one node's health, its zone's tally, its NoExecute taint."""
        result = self._update_node_health(node)
        if result is None:
            return  # could not update it: no decision this pass
        node, observed, current = result
        labels = node["metadata"].get("labels") or {}
        if LABEL_EXCLUDE_DISRUPTION not in labels:  # isNodeExcludedFromDisruptionChecks
            zone_conditions.setdefault(zone_key(node), []).append(current)
        name = node["metadata"]["name"]
        if current is not None:
            self.process_taint_based_eviction(node, observed)
            was_ready = observed.get("status") == "True"
            if current.get("status") != "True" and was_ready:
                # Report the node event only once, when the status changes.
                self.recorder.event(self._node_ref(node), NORMAL, "NodeNotReady",
                                    f"Node {name} status is now: NodeNotReady", f"node/{name}")
            if (current.get("status") != "True" and was_ready) or (
                    name in self.nodes_to_retry and not was_ready):
                errors = self.mark_pods_not_ready(self.pods_assigned_to_node(name), name)
                if errors:
                    self.sim.record(COMPONENT, "MarkPodsNotReadyFailed", f"node/{name}",
                                    f"unable to mark all pods NotReady on node {name}: "
                                    f"{errors[0]}; queuing for retry")
                    self.nodes_to_retry.add(name)
                    return
        self.nodes_to_retry.discard(name)

    def classify_nodes(self, nodes: list[dict]) -> tuple[list[dict], list[dict], list[dict]]:
        """classifyNodes: nodes added, nodes deleted, and known nodes of a zone not yet seen."""
        added, new_zone = [], []
        for node in nodes:
            if node["metadata"]["name"] not in self.known_nodes:
                added.append(node)
            elif zone_key(node) not in self.zone_states:
                new_zone.append(node)
        names = {node["metadata"]["name"] for node in nodes}
        deleted = [self.known_nodes[name] for name in sorted(self.known_nodes) if name not in names]
        return added, deleted, new_zone

    def _node_event(self, name: str, uid: str | None, reason: str, event: str) -> None:
        """RecordNodeEvent: a Normal event about the node, "Node <name> event: <what>"."""
        ref = {"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid, "namespace": ""}
        self.recorder.event(ref, NORMAL, reason, f"Node {name} event: {event}", f"node/{name}")

    def _update_node_health(self, node: Mapping[str, Any]
                            ) -> tuple[Mapping[str, Any], dict, dict | None] | None:
        """tryUpdateNodeHealth, retried with a fresh node on a conflict."""
        for _ in range(NODE_HEALTH_UPDATE_RETRY):
            try:
                return self.try_update_node_health(node)
            except StatusError:
                try:
                    node = self.client.get("nodes", node["metadata"]["name"])
                except StatusError:
                    return None
        return None

    def try_update_node_health(self, node: Mapping[str, Any]
                               ) -> tuple[Mapping[str, Any], dict, dict | None]:
        """Move the probe timestamp on a new heartbeat; past the grace period, go Unknown.

        Returns the node as it is now (``node`` itself, or a changed copy), its Ready
        condition as observed and as it is now. The probe timestamp is the
        controller's clock, set when it sees the lease's renewTime advance or the
        Ready condition's heartbeat change.
        """
        name = node["metadata"]["name"]
        now = self.sim.now
        ready = get_condition(node, "Ready")
        health = self.node_health.get(name)
        if ready is None:
            # Never reported: a synthetic Unknown, and the startup grace period.
            observed = {"type": "Ready", "status": "Unknown"}
            grace = self.node_startup_grace_period
            if health is not None:
                health.ready = None  # nodeHealth.status = &node.Status
            else:  # probe and transition: the node's creationTimestamp
                created = self._created_at(node)
                health = NodeHealth(created, created)
                self.node_health[name] = health
        else:
            observed = dict(ready)  # a condition is flat: a shallow copy is a full one
            grace = self.node_monitor_grace_period
        saved = health.ready if health else None
        if health is None:
            health = NodeHealth(now, now, dict(ready))
        elif (saved is None) != (ready is None):
            health = NodeHealth(now, now, dict(ready), health.renew_time)
        elif saved is not None and ready is not None and \
                saved.get("lastHeartbeatTime") != ready.get("lastHeartbeatTime"):
            transition = now if saved.get("lastTransitionTime") != ready.get(
                "lastTransitionTime") else health.ready_transition_timestamp
            health = NodeHealth(now, transition, dict(ready), health.renew_time)
        self.node_health[name] = health
        # Always update the probe time if the node lease is renewed.
        renew_time = self.leases.get(name)
        if renew_time and (health.renew_time is None or health.renew_time < renew_time):
            health.renew_time = renew_time
            health.probe_timestamp = now
        # Upstream: now.After(probe + grace). Its monitor loop (wait.Until) starts each 5s
        # period after the previous pass has run, so passes drift later and "after" is
        # reached at the pass grace seconds on; on an exact virtual grid that is >=.
        if now >= health.probe_timestamp + grace:
            node = own_conditions(node)
            self._mark_unknown(node, now)
            current = get_condition(node, "Ready")
            if current != observed:
                self.client.update_status(node)
                self.node_health[name] = NodeHealth(health.probe_timestamp, now,
                                                    dict(current), health.renew_time)
                self.sim.record(COMPONENT, "NodeStatusUnknown", f"node/{name}",
                                f"Kubelet stopped posting node status: no heartbeat seen for "
                                f"{now - health.probe_timestamp:g}s (grace period {grace:g}s)")
        return node, observed, get_condition(node, "Ready")

    def _created_at(self, node: Mapping[str, Any]) -> float:
        """Virtual seconds of the node's creationTimestamp (now, if it has none)."""
        moment = parse_time(node["metadata"].get("creationTimestamp"))
        if moment is None:
            return self.sim.now
        return (moment - self.sim.epoch).total_seconds()

    def _mark_unknown(self, node: dict, now: float) -> None:
        """Every condition but NetworkUnavailable to Unknown, as the kubelet cannot say."""
        stamp = self.sim.timestamp(now)
        status = node["status"] = node.get("status") or {}  # null is an empty status, as in Go
        conditions = status["conditions"] = status.get("conditions") or []
        for kind in UNKNOWN_CONDITION_TYPES:
            condition = get_condition(node, kind)
            if condition is None:
                conditions.append({"type": kind, "status": "Unknown",
                                   "reason": "NodeStatusNeverUpdated",
                                   "message": "Kubelet never posted node status.",
                                   "lastHeartbeatTime": node["metadata"].get("creationTimestamp"),
                                   "lastTransitionTime": stamp})
            elif condition.get("status") != "Unknown":
                condition.update(status="Unknown", reason="NodeStatusUnknown",
                                 message="Kubelet stopped posting node status.",
                                 lastTransitionTime=stamp)

    @staticmethod
    def _node_ref(node: Mapping[str, Any]) -> dict:
        return {"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"],
                "uid": node["metadata"].get("uid"), "namespace": ""}

    def pods_assigned_to_node(self, node_name: str) -> list[Mapping[str, Any]]:
        """getPodsAssignedToNode: the node's pods, from the shared pod informer's cache."""
        pods = self.pod_informer.by_index(NODE_NAME_INDEX, node_name)
        return sorted(pods, key=object_key)  # by namespace/name: the same order every run

    def mark_pods_not_ready(self, pods: list[Mapping[str, Any]], node_name: str
                            ) -> list[StatusError]:
        """MarkPodsNotReady: these pods' Ready condition to False (endpoints drop them).

        Only pods bound to ``node_name``; a pod already deleted is skipped. Every other
        failed write is returned (the caller retries) and still gets its event, as
        upstream's does.
        """
        errors: list[StatusError] = []
        for cached in pods:
            if (cached.get("spec") or {}).get("nodeName") != node_name:
                continue  # upstream's defensive check
            ready = get_pod_condition(cached, "Ready")
            if ready is None or ready.get("status") == "False":
                continue  # UpdatePodCondition: nothing changed, nothing to write
            pod = copy.deepcopy(cached)
            get_pod_condition(pod, "Ready").update(status="False",
                                                   lastTransitionTime=self.sim.timestamp())
            meta = pod["metadata"]
            try:
                self.client.update_status(pod)
            except NotFound:  # already deleted: nothing left to do with this pod
                continue
            except StatusError as error:
                self.sim.record(COMPONENT, "PodStatusUpdateFailed",
                                f"pod/{meta.get('namespace')}/{meta['name']}",
                                f"Failed to update status for pod: {error}")
                errors.append(error)
            # The event after the write, so that the pod still exists.
            self.recorder.event({"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                                 "namespace": meta.get("namespace"), "uid": meta.get("uid")},
                                WARNING, "NodeNotReady", "Node is not ready")
        return errors

    # -- podUpdated and processPod --------------------------------------------------------------
    def pod_updated(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> None:
        """podUpdated: queue a pod whose spec.nodeName was just set (or changed)."""
        node_name = (new.get("spec") or {}).get("nodeName")
        if node_name and (old is None or (old.get("spec") or {}).get("nodeName") != node_name):
            self.pod_update_queue.add(object_key(new))

    def process_pod(self, key: str) -> None:
        """processPod: a pod just bound to a node that is not Ready is marked NotReady.

        The node's Ready condition is the one this controller last saw (its node
        health), so a pod bound before the first monitor pass saw its node is
        skipped, as upstream's is: the next node update handles it. A failed
        write raises :class:`SyncError`, and the queue retries it rate limited.
        """
        pod = self.pod_informer.store.get(key)
        if pod is None:
            return  # the pod was deleted: no need to requeue
        node_name = pod["spec"]["nodeName"]
        health = self.node_health.get(node_name)
        if health is None:
            return  # node data is not gathered yet, or the node has been removed
        if node_name not in self.nodes:
            raise SyncError(f"Failed to read node {node_name}: node \"{node_name}\" not found")
        ready = health.ready
        if ready is None or ready.get("status") == "True":
            return  # no Ready condition yet (a new node): its next update handles the pod
        errors = self.mark_pods_not_ready([pod], node_name)
        if errors:
            raise SyncError(f"Unable to mark pod NotReady on node {node_name}: {errors[0]}")

    # -- NoExecute taints ---------------------------------------------------------------------
    def process_taint_based_eviction(self, node: dict, observed: Mapping[str, Any]) -> None:
        """processTaintBaseEviction: queue the node for its NoExecute taint, swap or lift it."""
        taints = (node.get("spec") or {}).get("taints")
        name = node["metadata"]["name"]
        status = observed.get("status")
        if status == "False":
            if taint_exists(taints, UNREACHABLE_TAINT):  # swap straight away
                self.swap_taint(name, NOT_READY_TAINT, UNREACHABLE_TAINT)
            else:
                self.mark_node_for_tainting(node, "False")
        elif status == "Unknown":
            if taint_exists(taints, NOT_READY_TAINT):
                self.swap_taint(name, UNREACHABLE_TAINT, NOT_READY_TAINT)
            else:
                self.mark_node_for_tainting(node, "Unknown")
        elif status == "True":
            self.mark_node_as_reachable(node)

    def mark_node_for_tainting(self, node: Mapping[str, Any], status: str) -> bool:
        """markNodeForTainting: into its zone's queue (again, if the taint is missing)."""
        taints = (node.get("spec") or {}).get("taints")
        name, zone = node["metadata"]["name"], zone_key(node)
        queue = self.zone_no_execute_tainter.get(zone) or self._add_zone(zone)
        template = NOT_READY_TAINT if status == "False" else UNREACHABLE_TAINT
        if not taint_exists(taints, template):
            queue.remove(name)
        added = queue.add(name)
        if added:
            self.sim.record(COMPONENT, "NoExecuteTaintQueued", f"node/{name}",
                            f"Ready={status}: queued for {template['key']}:NoExecute in zone "
                            f"{zone_name(zone)}")
            if not self._work.triggered:
                self._work.succeed()
        return added

    def mark_node_as_reachable(self, node: Mapping[str, Any]) -> bool:
        """markNodeAsReachable: lift both NoExecute taints and leave the queue."""
        name = node["metadata"]["name"]
        zone = zone_key(node)
        (self.zone_no_execute_tainter.get(zone) or self._add_zone(zone)).remove(name)
        taints = (node.get("spec") or {}).get("taints")
        if not (taint_exists(taints, UNREACHABLE_TAINT) or taint_exists(taints, NOT_READY_TAINT)):
            return False
        return self.swap_taint(name, None, UNREACHABLE_TAINT, NOT_READY_TAINT)

    def swap_taint(self, name: str, add: Mapping[str, Any] | None,
                   *remove: Mapping[str, Any]) -> bool:
        """SwapNodeControllerTaint: add one taint (timeAdded now), remove others, one write."""
        try:
            node = self.client.get("nodes", name)
            taints = list((node.get("spec") or {}).get("taints") or [])
            kept = [t for t in taints if not any(
                t.get("key") == r["key"] and t.get("effect") == r["effect"] for r in remove)]
            added = None
            if add is not None and not taint_exists(kept, add):
                added = {**add, "timeAdded": self.sim.timestamp()}
                kept.append(added)
            if kept == taints:
                return True
            self.client.patch("nodes", name, {"spec": {"taints": kept}}, patch_type="merge")
        except StatusError as error:
            self.sim.record(COMPONENT, "TaintFailed", f"node/{name}", str(error))
            return False
        if added is not None:
            self.sim.record(COMPONENT, "NoExecuteTaintAdded", f"node/{name}",
                            f"{added['key']}:NoExecute (timeAdded {added['timeAdded']})")
        gone = [t["key"] for t in taints if t not in kept]
        if gone:
            self.sim.record(COMPONENT, "NoExecuteTaintRemoved", f"node/{name}",
                            f"{', '.join(gone)}:NoExecute")
        return True

    def _no_execute_tainting_loop(self) -> Generator[simpy.Event, Any, None]:
        """Run doNoExecuteTaintingPass every 100ms while a queue holds work, else sleep."""
        while True:
            if not any(len(q) for q in self.zone_no_execute_tainter.values()):
                self._work = self.sim.env.event()
                yield self._work
            self.do_no_execute_tainting_pass()
            yield self.sim.timeout(NODE_EVICTION_PERIOD)

    def do_no_execute_tainting_pass(self) -> None:
        """doNoExecuteTaintingPass: taint queued nodes, zone by zone, as the limiters allow."""
        for zone in sorted(self.zone_no_execute_tainter):
            self.zone_no_execute_tainter[zone].try_(self._taint_one)

    def _taint_one(self, name: str) -> tuple[bool, float]:
        """One queued node; a failure comes back on a later pass, when the limiter allows."""
        try:
            return self._try_taint(name)
        except Exception as error:
            handle_crash(self.sim, COMPONENT, f"node/{name}", error, "Failed to taint Node")
            return False, 0.0

    def _try_taint(self, name: str) -> tuple[bool, float]:
        node = self.nodes.get(name)
        if node is None:
            return True, 0.0
        condition = get_condition(node, "Ready")
        if condition is None:
            return False, NO_READY_CONDITION_RETRY
        # Mimic the Ready condition: unreachable and not-ready are mutually exclusive.
        if condition.get("status") == "False":
            add, opposite = NOT_READY_TAINT, UNREACHABLE_TAINT
        elif condition.get("status") == "Unknown":
            add, opposite = UNREACHABLE_TAINT, NOT_READY_TAINT
        else:
            return True, 0.0  # ready again: no need to taint it
        return self.swap_taint(name, add, opposite), 0.0

    # -- zones --------------------------------------------------------------------------------
    def _add_zone(self, zone: str) -> RateLimitedTimedQueue:
        """addPodEvictorForNewZone: a new zone starts Initial with a normal-rate queue."""
        if zone not in self.zone_states:
            self.zone_states[zone] = STATE_INITIAL
            self.zone_no_execute_tainter[zone] = RateLimitedTimedQueue(self.sim,
                                                                       self.node_eviction_rate)
        return self.zone_no_execute_tainter[zone]

    def reduced_qps(self, zone_size: int) -> float:
        """ReducedQPSFunc (partial disruption): a large zone slows down, a small one stops."""
        if zone_size > self.large_cluster_size_threshold:
            return self.secondary_node_eviction_rate
        return 0.0

    def healthy_qps(self, zone_size: int) -> float:
        """HealthyQPSFunc (normal, and full disruption of one zone): the normal rate."""
        return self.node_eviction_rate

    def set_limiter_in_zone(self, zone: str, zone_size: int, state: str) -> None:
        """setLimiterInZone: the tainting rate for a zone's state."""
        qps = {STATE_NORMAL: self.node_eviction_rate,
               STATE_PARTIAL_DISRUPTION: self.reduced_qps(zone_size),
               STATE_FULL_DISRUPTION: self.healthy_qps(zone_size)}.get(state)
        if qps is not None:
            self.zone_no_execute_tainter[zone].swap_limiter(qps)

    def _zone_changed(self, zone: str, state: str) -> None:
        if self.zone_states.get(zone) != state:
            qps = self.zone_no_execute_tainter[zone].limiter.qps
            self.sim.record(COMPONENT, "ZoneStateChanged", f"zone/{zone_name(zone)}",
                            f"{self.zone_states.get(zone)} -> {state} (taint rate {qps:g}/s)")
        self.zone_states[zone] = state

    def handle_disruption(self, zone_conditions: dict[str, list[dict | None]],
                          nodes: list[dict]) -> None:
        """handleDisruption: zone states, and the taint rates that go with them.

        If every zone is fully disrupted the trouble is more likely the control
        plane's network than the nodes: all NoExecute taints are lifted and tainting
        stops until some node is Ready again.
        """
        new_states: dict[str, str] = {}
        all_are_fully_disrupted = True
        for zone, conditions in zone_conditions.items():
            _, new_states[zone] = compute_zone_state(conditions, self.unhealthy_zone_threshold)
            if new_states[zone] != STATE_FULL_DISRUPTION:
                all_are_fully_disrupted = False
            if zone not in self.zone_states:  # "Setting initial state for unseen zone"
                self.zone_states[zone] = STATE_INITIAL
        # Zones without nodes are forgotten. (Upstream deletes them in the loop below, which
        # stops at the first zone not fully disrupted: in Go's random map order every
        # empty zone goes within a few passes. Here they all go at once.)
        for zone in [z for z in self.zone_states if z not in zone_conditions]:
            del self.zone_states[zone]
        all_was_fully_disrupted = True
        for zone in self.zone_states:
            if self.zone_states[zone] != STATE_FULL_DISRUPTION:
                all_was_fully_disrupted = False
                break
        if all_are_fully_disrupted and all_was_fully_disrupted:
            return
        if all_are_fully_disrupted:  # entering master disruption mode: stop all evictions
            self.sim.record(COMPONENT, "MasterDisruptionMode", "",
                            "all nodes are not Ready: stopping NoExecute tainting")
            for node in nodes:
                self.mark_node_as_reachable(node)
            for zone in self.zone_states:
                self.zone_no_execute_tainter[zone].swap_limiter(0)
            for zone in list(self.zone_states):
                self._zone_changed(zone, STATE_FULL_DISRUPTION)
            return
        if all_was_fully_disrupted:  # exiting it: every node gets a fresh probe timestamp
            self.sim.record(COMPONENT, "MasterDisruptionModeExited", "",
                            "some nodes are Ready: NoExecute tainting resumes")
            now = self.sim.now
            for node in nodes:
                health = self.node_health.get(node["metadata"]["name"])
                if health is not None:
                    health.probe_timestamp = health.ready_transition_timestamp = now
            for zone in list(self.zone_states):
                self.set_limiter_in_zone(zone, len(zone_conditions[zone]), new_states[zone])
                self._zone_changed(zone, new_states[zone])
            return
        for zone, state in list(self.zone_states.items()):
            if state != new_states[zone]:
                self.set_limiter_in_zone(zone, len(zone_conditions[zone]), new_states[zone])
                self._zone_changed(zone, new_states[zone])
