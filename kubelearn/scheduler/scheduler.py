"""kube-scheduler: watch pending pods, pick a node for each, bind it -- through the API server only.

The scheduler is a client like any other. Its informers list and watch Nodes
and Pods (and the Services and controllers default spreading reads, and the
PodDisruptionBudgets preemption weighs), keeping
a :class:`~kubelearn.scheduler.cache.Cache`; pending pods go to the
:class:`~kubelearn.scheduler.queue.SchedulingQueue`. One SimPy process takes
them one at a time through a *scheduling cycle*:

1. snapshot the cache; pick the profile named by the pod's ``spec.schedulerName``
   (pods for other schedulers are not ours);
2. PreFilter, then Filter node by node, starting where the last cycle stopped
   (``nextStartNodeIndex``) and stopping once ``numFeasibleNodesToFind`` nodes fit;
3. none fits: PostFilter -- DefaultPreemption may evict lower-priority pods and
   nominate the node they free -- then a ``FailedScheduling`` Event,
   ``PodScheduled=False`` (reason ``Unschedulable``, and ``nominatedNodeName``)
   through ``pods/status``, and back to the queue until the victims are gone;
4. PreScore, Score, NormalizeScore, weights; the best total wins, ties broken by
   the cluster's seeded generator;
5. Reserve: *assume* the pod onto the node in the cache; Bind: POST
   ``pods/<name>/binding``; a ``Scheduled`` Event: ``Successfully assigned
   default/web-0 to node-2``.

With numpy, a profile made only of plugins :mod:`~kubelearn.scheduler.vectorized`
knows runs steps 2 and 4 as array operations -- same placements, much faster.
:meth:`Scheduler.explain` shows one pod's filter verdicts and scores per node.

A port of pkg/scheduler (scheduler.go, schedule_one.go, eventhandlers.go).
Cycles take no virtual time and binding is not asynchronous: the binding cycle
runs right after the scheduling cycle.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson
import simpy

from kubelearn import version
from kubelearn.api import StatusError
from kubelearn.api.scheduling import pod_priority
from kubelearn.scheduler import queue as q_events
from kubelearn.scheduler.cache import Cache
from kubelearn.scheduler.config import (
    Registry,
    SchedulerConfiguration,
    load_scheduler_config,
    num_feasible_nodes_to_find,
)
from kubelearn.scheduler.framework import (
    DEFAULT_SCHEDULER_NAME,
    NO_NEW_CLAIMS_TO_DEALLOCATE,
    Code,
    CycleState,
    FrameworkError,
    Handle,
    NodePluginScores,
    NodeToStatus,
    PostFilterResult,
    Profile,
    Status,
    fit_error_message,
    run_filter_plugins,
    run_filter_plugins_with_nominated_pods,
    run_post_filter_plugins,
    run_pre_filter_plugins,
    run_scores,
    select_host,
)
from kubelearn.scheduler.informer import Informer
from kubelearn.scheduler.nodeinfo import NodeInfo, PodInfo
from kubelearn.scheduler.nominator import Nominator, nominated_node_name
from kubelearn.scheduler.plugins.default_preemption import (
    CONDITION_MESSAGE,
    DISRUPTION_TARGET,
    EVENT_MESSAGE,
    REASON_PREEMPTION_BY_SCHEDULER,
)
from kubelearn.scheduler.queue import QueuedPodInfo, SchedulingQueue, pod_key

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from kubelearn.client import Client
    from kubelearn.sim import Simulation

COMPONENT = "kube-scheduler"
ERR_NO_NODES_AVAILABLE = "no nodes available to schedule pods"  # schedule_one.go
POD_REASON_UNSCHEDULABLE = "Unschedulable"  # v1.PodReasonUnschedulable
POD_REASON_SCHEDULER_ERROR = "SchedulerError"  # v1.PodReasonSchedulerError
EVENT_CACHE_SIZE = 4096  # client-go record.maxLruCacheEntries
MAX_EVENT_MESSAGE = 1024  # schedule_one.go truncateMessage: events carry at most 1 KiB
# Pods that have finished do not hold resources: the pod informer leaves them out.
POD_FIELD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"
# What plugins read besides nodes and pods: default spreading's owners, and the Namespaces
# whose labels InterPodAffinity's namespaceSelector matches.
SPREAD_OBJECTS = ("services", "replicationcontrollers", "replicasets", "statefulsets",
                  "namespaces")
# Feature gates that change what the scheduler does, at the modelled version's defaults.
DEFAULT_FEATURE_GATES = {"SchedulerPopFromBackoffQ":
                         version.FEATURE_GATES["SchedulerPopFromBackoffQ"]}


# -- what the scheduler keeps of a pod ----------------------------------------------------------

_KEEP_META = ("name", "namespace", "uid", "labels", "annotations", "ownerReferences",
              "deletionTimestamp", "generation", "resourceVersion")
_KEEP_SPEC = ("nodeName", "schedulerName", "priority", "preemptionPolicy", "nodeSelector",
              "affinity", "tolerations", "topologySpreadConstraints", "schedulingGates",
              "overhead", "resources", "hostNetwork")
_KEEP_CONTAINER = ("name", "image", "resources", "ports", "restartPolicy")
_KEEP_STATUS = ("phase", "conditions", "nominatedNodeName")
# What pods of one template have alike: the kept spec but its nodeName, each pod's own.
_TEMPLATE_SPEC = tuple(k for k in _KEEP_SPEC if k != "nodeName")
INTERN_LIMIT = 10_000  # distinct pod specs remembered for sharing


class PodTrimmer:
    """The informer's transform for pods: keep what the plugins read, share what repeats.

    Volumes, mounts, probes, env, most of the status: the scheduler never reads
    them. Pods of one template have the same spec, so one copy serves them all
    (objects from informers are read-only). A cache of 150,000 pods shrinks
    from ~11 KB to ~2 KB each.
    """

    def __init__(self) -> None:
        self._shared: dict[bytes, Any] = {}
        # id of a labels or status object -> (it, what is kept of it): the API server hands
        # one read-only object to every pod whose labels (or status) read the same
        self._kept: dict[int, tuple[Any, Any]] = {}

    def _intern(self, value: Any) -> Any:
        """An equal value kept before, else ``value``, kept.

        Keyed by the JSON, written in C: the same bytes are the same fields in the
        same order with the same types (``true`` is not ``1``), so one may stand for
        the other.
        """
        try:
            key = orjson.dumps(value)
        except orjson.JSONEncodeError:  # not JSON (an object built by hand): kept as it is
            return value
        seen = self._shared.get(key)
        if seen is not None:
            return seen
        if len(self._shared) >= INTERN_LIMIT:
            self._shared.clear()
        self._shared[key] = value
        return value

    def __call__(self, pod: Mapping[str, Any]) -> dict[str, Any]:
        meta = pod.get("metadata") or {}
        spec = pod.get("spec") or {}
        status = pod.get("status") or {}
        kept_spec = {k: spec[k] for k in _TEMPLATE_SPEC if k in spec}
        for key in ("containers", "initContainers"):
            if key in spec:
                kept_spec[key] = [{k: c[k] for k in _KEEP_CONTAINER if k in c}
                                  for c in spec[key] or []]
        kept_spec = self._intern(kept_spec)
        if spec.get("nodeName"):
            kept_spec = {**kept_spec, "nodeName": spec["nodeName"]}
        kept_meta = {k: meta[k] for k in _KEEP_META if k in meta}
        if "labels" in kept_meta:
            kept_meta["labels"] = self._keep(kept_meta["labels"], None)
        return {"apiVersion": pod.get("apiVersion", "v1"), "kind": pod.get("kind", "Pod"),
                "metadata": kept_meta, "spec": kept_spec,
                "status": self._keep(status, _KEEP_STATUS)}

    def _keep(self, value: Any, fields: tuple[str, ...] | None) -> Any:
        """What is kept of ``value`` -- its ``fields``, or all of it for None -- interned.

        Looked up by the object itself first: an object seen before (read-only, like
        all the API server hands out) keeps what it kept then.
        """
        seen = self._kept.get(id(value))
        if seen is not None and seen[0] is value:
            return seen[1]
        kept = self._intern(value if fields is None else
                            {k: value[k] for k in fields if k in value})
        if len(self._kept) >= INTERN_LIMIT:
            self._kept.clear()
        self._kept[id(value)] = (value, kept)  # holding value keeps its id from reuse
        return kept


class FitError(Exception):
    """No node fits the pod: the filter statuses behind the ``0/N nodes are available`` text."""

    def __init__(self, num_all_nodes: int, statuses: Mapping[str, Status],
                 absent_status: Status | None = None, pre_filter_msg: str = "",
                 plugins: set[str] | None = None) -> None:
        self.num_all_nodes = num_all_nodes
        self.statuses = dict(statuses)
        self.absent_status = absent_status
        self.pre_filter_msg = pre_filter_msg
        self.plugins = plugins if plugins is not None else {
            s.plugin for s in self.statuses.values() if s.plugin}
        super().__init__(self.message())

    def message(self, post_filter_msg: str = "") -> str:
        """``0/3 nodes are available: ...`` (FitError.Error)."""
        return fit_error_message(self.num_all_nodes, self.statuses, self.pre_filter_msg,
                                 post_filter_msg, absent_status=self.absent_status)


@dataclass
class ScheduleResult:
    """Where a cycle would put the pod, and how many nodes it looked at (ScheduleResult)."""

    suggested_host: str
    evaluated_nodes: int
    feasible_nodes: int
    scores: list[NodePluginScores] = field(default_factory=list)


def truncate_message(message: str) -> str:
    """Cut a message to what an Event may carry, ending in `` ...``."""
    if len(message) <= MAX_EVENT_MESSAGE:
        return message
    suffix = " ..."
    return message[:MAX_EVENT_MESSAGE - len(suffix)] + suffix


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _node_name(pod: Mapping[str, Any]) -> str:
    return (pod.get("spec") or {}).get("nodeName") or ""


def pod_ref(pod: Mapping[str, Any]) -> str:
    """``pod/<namespace>/<name>``: how the scheduler's records name a pod."""
    meta = _meta(pod)
    return f"pod/{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


# -- Events ----------------------------------------------------------------------------------------

class EventRecorder:
    """Writes core/v1 Events about pods, counting repeats as client-go's correlator does."""

    def __init__(self, sim: Simulation, client: Client) -> None:
        self.sim = sim
        self.client = client
        self._stamp: tuple[float, str] = (-1.0, "")
        # recent events by what makes them the same (client-go's correlator: an LRU of 4096)
        self._seen: OrderedDict[tuple[str, str, str, str, str], tuple[str, str, int]] = \
            OrderedDict()

    def event(self, obj: Mapping[str, Any], type_: str, reason: str, action: str,
              message: str, component: str = DEFAULT_SCHEDULER_NAME) -> None:
        """Record ``reason`` about ``obj``; the same event again bumps ``count``."""
        meta = _meta(obj)
        namespace = meta.get("namespace") or "default"
        key = (meta.get("uid", ""), type_, reason, message, component)
        now = self._timestamp()
        seen = self._seen.get(key)
        try:
            if seen is not None:
                name, ns, count = seen
                self.client.patch("events", name, {"count": count + 1, "lastTimestamp": now},
                                  ns, patch_type="merge")
                self._seen[key] = (name, ns, count + 1)
                self._seen.move_to_end(key)
                return
            name = self._create(obj, namespace, type_, reason, action, message, component, now)
            if name:
                self._seen[key] = (name, namespace, 1)
                if len(self._seen) > EVENT_CACHE_SIZE:
                    self._seen.popitem(last=False)
        except StatusError as e:  # events are best effort, as the broadcaster's
            self.sim.record(COMPONENT, "EventRejected", pod_ref(obj), str(e))
            self._seen.pop(key, None)

    def _timestamp(self) -> str:
        """The current virtual time as RFC 3339, formatted once per virtual instant."""
        if self._stamp[0] != self.sim.now:
            self._stamp = (self.sim.now, self.sim.timestamp())
        return self._stamp[1]

    def _create(self, obj: Mapping[str, Any], namespace: str, type_: str, reason: str,
                action: str, message: str, component: str, now: str) -> str:
        meta = _meta(obj)
        event = {"apiVersion": "v1", "kind": "Event",
                 "metadata": {"name": "", "namespace": namespace},
                 "involvedObject": {"apiVersion": obj.get("apiVersion", "v1"),
                                    "kind": obj.get("kind", "Pod"), "namespace": namespace,
                                    "name": meta.get("name", ""), "uid": meta.get("uid", ""),
                                    "resourceVersion": meta.get("resourceVersion", "")},
                 "reason": reason, "message": message, "type": type_,
                 "source": {"component": component},
                 "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                 "reportingComponent": component, "action": action}
        for _ in range(8):  # name: <object>.<unix nanoseconds in hex>, as client-go's
            event["metadata"]["name"] = f"{meta.get('name', '')}.{self.sim.unique_nanos():x}"
            try:
                self.client.create(event, namespace)
                return event["metadata"]["name"]
            except StatusError as e:
                if e.code != 409:
                    raise
        return ""


# -- what plugins may use of the scheduler ------------------------------------------------------

class SchedulerHandle(Handle):
    """A profile's plugins' view of the scheduler: its informers, client and events.

    Preemption reads the newest pod and the nominated pods from the pod informer,
    and evicts victims through the API server (preemption.go PreemptPod,
    prepareCandidate).
    """

    def __init__(self, scheduler: Scheduler, profile: Profile) -> None:
        super().__init__(profile, scheduler.sim.rng("scheduler/preemption"))
        self.scheduler = scheduler

    def _pods(self) -> Mapping[str, Mapping[str, Any]]:
        informer = self.scheduler.informers.get("pods")
        return informer.store if informer is not None else {}

    def latest(self, pod: Mapping[str, Any]) -> Mapping[str, Any]:
        """The pod as the informer last saw it (Evaluator.Preempt fetches it first)."""
        return self._pods().get(pod_key(pod)) or pod

    def nominated_pods(self, node_name: str) -> list[PodInfo]:
        """Pending pods nominated to ``node_name``, from the nominator's index."""
        return self.scheduler.nominator.pods_for_node(node_name)

    def pod_disruption_budgets(self) -> list[Mapping[str, Any]]:
        """The PodDisruptionBudgets the scheduler's informer holds (read-only)."""
        informer = self.scheduler.informers.get("poddisruptionbudgets")
        return list(informer.store.values()) if informer is not None else []

    def prepare_candidate(self, node_name: str, victims: Sequence[Mapping[str, Any]],
                          preemptor: Mapping[str, Any], plugin: str) -> Status | None:
        """Evict the victims; un-nominate lower-priority pods from the node (prepareCandidate)."""
        for victim in victims:
            s = self._preempt_pod(node_name, preemptor, victim)
            if s is not None:
                return s
        priority = pod_priority(preemptor)
        for info in self.nominated_pods(node_name):
            if pod_priority(info.pod) < priority:
                self._clear_nomination(info.pod)
        return None

    def _preempt_pod(self, node_name: str, preemptor: Mapping[str, Any],
                     victim: Mapping[str, Any]) -> Status | None:
        """DisruptionTarget on the victim, a graceful delete, a Preempted event (PreemptPod)."""
        sched, meta = self.scheduler, _meta(victim)
        name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
        component = sched._component(preemptor)
        # No observedGeneration: PodCondition has it only from v1.33.
        condition = {"type": DISRUPTION_TARGET, "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": sched.sim.timestamp(),
                     "reason": REASON_PREEMPTION_BY_SCHEDULER,
                     "message": CONDITION_MESSAGE.format(component)}
        try:
            sched.client.patch("pods", name, {"status": {"conditions": [condition]}}, namespace,
                               subresource="status")
            sched.client.delete("pods", name, namespace)
        except StatusError as e:
            if e.code != 404:  # already gone: nothing to preempt
                return Status(Code.Error, err=e)
        message = EVENT_MESSAGE.format(_meta(preemptor).get("uid", ""), node_name)
        sched.sim.record(COMPONENT, "Preempted", pod_ref(victim), message)
        sched.recorder.event(victim, "Normal", "Preempted", "Preempting", message, component)
        return None

    def _clear_nomination(self, pod: Mapping[str, Any]) -> None:
        """status.nominatedNodeName cleared, so the pod looks elsewhere (ClearNominatedNodeName)."""
        meta = _meta(pod)
        try:
            self.scheduler.client.patch("pods", meta.get("name", ""),
                                        {"status": {"nominatedNodeName": None}},
                                        meta.get("namespace") or "default",
                                        patch_type="merge", subresource="status")
        except StatusError as e:  # not critical, as upstream logs and goes on
            self.scheduler.sim.record(COMPONENT, "StatusUpdateFailed", pod_ref(pod), str(e))


_nominated = nominated_node_name


# -- the scheduler ---------------------------------------------------------------------------------

class Scheduler:
    """kube-scheduler: informers, a cache, a queue and one scheduling loop, on the virtual clock.

    ``config`` is a KubeSchedulerConfiguration (YAML text, a dict or a loaded
    :class:`~kubelearn.scheduler.config.SchedulerConfiguration`); ``plugins`` adds
    a learner's plugin classes by name so the YAML can enable them.
    ``vectorized``: None uses the numpy path where it applies, False never.
    """

    def __init__(self, sim: Simulation, client: Client,
                 config: str | Mapping[str, Any] | SchedulerConfiguration | None = None, *,
                 plugins: Registry | None = None, vectorized: bool | None = None,
                 feature_gates: Mapping[str, bool] | None = None, start: bool = True) -> None:
        self.sim = sim
        self.client = client
        if isinstance(config, SchedulerConfiguration):
            self.config = config
        else:
            self.config = load_scheduler_config(config, plugins)
        self.feature_gates = {**DEFAULT_FEATURE_GATES, **(feature_gates or {})}
        self.rng: random.Random = sim.rng("scheduler")
        self.cache = Cache()
        self.queue = SchedulingQueue(
            sim, initial_backoff=float(self.config.pod_initial_backoff_seconds),
            max_backoff=float(self.config.pod_max_backoff_seconds),
            pop_from_backoff_q=self.feature_gates["SchedulerPopFromBackoffQ"],
            on_move=self._on_queue_move)
        self.recorder = EventRecorder(sim, client)
        self.next_start_node_index = 0
        self._pod_infos: dict[int, tuple[Any, PodInfo]] = {}
        self.vector: Any = None
        if vectorized is not False:
            try:
                from kubelearn.scheduler.vectorized import VectorizedScheduler
            except ImportError:  # numpy missing: the per-node path does everything
                if vectorized:
                    raise
            else:
                self.vector = VectorizedScheduler(self.cache)
        self.informers: dict[str, Informer] = {}
        # pending pods preemption promised a node, by node (the queue's nominator upstream)
        self.nominator = Nominator(lister=self._current_pod)
        self.handles: dict[str, SchedulerHandle] = {}
        for name, profile in self.config.profiles.items():
            handle = self.handles[name] = SchedulerHandle(self, profile)
            for pl in dict.fromkeys(pl for pls in profile.plugins.values() for pl in pls):
                if hasattr(pl, "set_handle"):
                    pl.set_handle(handle)
        self.process: simpy.Process | None = None
        self.scheduled = 0
        self.failed_attempts = 0
        # Whose credentials explain() reads PriorityClasses with: the learner's (a Cluster
        # sets its admin client); kube-scheduler's own role may not read them (policy.go).
        self.explain_client: Client | None = None
        if start:
            self.start()

    def __repr__(self) -> str:
        return (f"Scheduler(profiles={list(self.config.profiles)}, "
                f"nodes={self.cache.tree.num_nodes}, {self.queue.summary()})")

    @property
    def profiles(self) -> dict[str, Profile]:
        """The profiles by scheduler name."""
        return self.config.profiles

    # -- start-up: informers ------------------------------------------------------------------
    def start(self) -> None:
        """List and watch, then start the scheduling loop and the queue's timers."""
        if self.process is not None:
            return
        self.informers["nodes"] = Informer(self.sim, self.client, "nodes",
                                           on_add=self._add_node, on_update=self._update_node,
                                           on_delete=self._delete_node)
        for resource in SPREAD_OBJECTS:
            try:
                self.client.info(resource)
            except StatusError:  # not served (yet): nothing of that kind to spread by
                continue
            self.informers[resource] = Informer(
                self.sim, self.client, resource,
                on_add=lambda o, r=resource: self.cache.set_object(r, o),
                on_update=lambda _, o, r=resource: self.cache.set_object(r, o),
                on_delete=lambda o, r=resource: self.cache.set_object(r, o, deleted=True))
        try:  # preemption's PDB lister (policy/v1); no handlers: a budget moves no pod
            self.client.info("poddisruptionbudgets")
        except StatusError:
            pass
        else:
            self.informers["poddisruptionbudgets"] = Informer(self.sim, self.client,
                                                              "poddisruptionbudgets")
        self.informers["pods"] = Informer(self.sim, self.client, "pods",
                                          field_selector=POD_FIELD_SELECTOR,
                                          transform=PodTrimmer(),
                                          on_add=self._add_pod, on_update=self._update_pod,
                                          on_delete=self._delete_pod)
        for informer in self.informers.values():
            informer.start()
        self.queue.run()
        self.process = self.sim.process(self._run())
        self.sim.record(COMPONENT, "Started", "scheduler",
                        f"profiles: {', '.join(self.config.profiles)}")

    def stop(self) -> None:
        """Stop watching and scheduling."""
        for informer in self.informers.values():
            informer.stop()
        if self.process is not None and self.process.is_alive:
            self.process.interrupt()
        self.process = None

    # -- event handlers (eventhandlers.go) --------------------------------------------------------
    def _current_pod(self, key: str) -> Mapping[str, Any] | None:
        """The pod as the pod informer has it now; None if it is gone.

        Without a pod informer (a scheduler fed by hand) every pod counts as pending.
        """
        informer = self.informers.get("pods")
        return informer.store.get(key) if informer is not None else {}

    @staticmethod
    def _gating_plugin(pod: Mapping[str, Any], profile: Profile) -> str:
        if "SchedulingGates" in profile.not_implemented \
                and (pod.get("spec") or {}).get("schedulingGates"):
            return "SchedulingGates"
        return ""

    def _add_node(self, node: Mapping[str, Any]) -> None:
        self.cache.add_node(node)
        self.queue.move_all_to_active_or_backoff_queue(q_events.NODE_ADD)

    def _update_node(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        self.cache.update_node(new)
        for event in node_scheduling_properties_change(old, new):
            self.queue.move_all_to_active_or_backoff_queue(event)

    def _delete_node(self, node: Mapping[str, Any]) -> None:
        self.cache.remove_node(node)
        self.queue.move_all_to_active_or_backoff_queue(q_events.NODE_DELETE)

    def _add_pod(self, pod: Mapping[str, Any]) -> None:
        node = _node_name(pod)
        if node:
            self.cache.add_pod(pod_key(pod), pod, node)
            self._assigned_pod_event(pod, q_events.ASSIGNED_POD_ADD)
            return
        profile = self.config.profile_for(pod)
        if profile is not None:  # a pending pod for one of our profiles
            gate = self._gating_plugin(pod, profile)
            # moveToActiveQ nominates only a pod entering activeQ: a gated one is nominated
            # by its next update (UpdateNominatedPod runs for every queued pod, gated or not)
            if not gate and _nominated(pod):
                self.nominator.add(self._pod_info(pod))
            q = self.queue.add(pod, gate)
            self.sim.record(COMPONENT, "Queued", pod_ref(pod), q.queue)

    def _update_pod(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        key, node = pod_key(new), _node_name(new)
        if node:
            if _node_name(old):
                self.cache.update_pod(key, new, node)
                self._assigned_pod_event(new, q_events.ASSIGNED_POD_UPDATE)
            else:  # just bound: by us (confirms the assumption) or by someone else
                self.queue.delete(new)
                if self.nominator:  # some pod is nominated somewhere: maybe this one
                    self.nominator.delete(new)
                self.cache.add_pod(key, new, node)
                self._assigned_pod_event(new, q_events.ASSIGNED_POD_ADD)
            return
        profile = self.config.profile_for(new)
        if profile is not None:
            if self.nominator or _nominated(new):
                self.nominator.update(old, self._pod_info(new))
            self.queue.update(old, new, self._gating_plugin(new, profile))

    def _delete_pod(self, pod: Mapping[str, Any]) -> None:
        key = pod_key(pod)
        if key in self.cache.pod_states:
            self.cache.remove_pod(key)
            self.queue.move_all_to_active_or_backoff_queue(q_events.ASSIGNED_POD_DELETE)
        else:
            self.queue.delete(pod)
            self.nominator.delete(pod)

    def _assigned_pod_event(self, pod: Mapping[str, Any], event: str) -> None:
        """Only pods rejected by spreading in the same namespace can care (AssignedPodAdded)."""
        if not self.queue.unschedulable_count:
            return
        namespace = _meta(pod).get("namespace") or "default"
        self.queue.move_all_to_active_or_backoff_queue(
            event, lambda q: "PodTopologySpread" in q.unschedulable_plugins
            and (_meta(q.pod).get("namespace") or "default") == namespace)

    def _on_queue_move(self, q: QueuedPodInfo, queue: str, event: str) -> None:
        if event not in (q_events.UNSCHEDULED_POD_ADD, q_events.SCHEDULE_ATTEMPT_FAILURE):
            self.sim.record(COMPONENT, "Requeued", pod_ref(q.pod), f"{event}: to {queue}")

    # -- the loop -----------------------------------------------------------------------------
    def _run(self) -> Iterator[simpy.Event]:
        try:
            while True:
                q = self.queue.pop()
                if q is None:
                    yield self.queue.wait()
                    continue
                self.schedule_one(q)
        except simpy.Interrupt:
            return

    def schedule_one(self, q: QueuedPodInfo) -> None:
        """One pod's scheduling cycle and binding cycle (scheduleOne)."""
        pod = q.pod
        key = q.key
        profile = self.config.profile_for(pod)
        if profile is None or _meta(pod).get("deletionTimestamp") is not None \
                or key in self.cache.pod_states:  # being deleted, or already placed
            self.queue.done(key)
            return
        cycle = self.queue.scheduling_cycle
        state = CycleState(self.cache.snapshot())
        if q.pod_info is None:
            q.pod_info = self._pod_info(pod)
        try:
            result = self.schedule_pod(profile, state, pod, q.pod_info)
        except FitError as err:
            self._handle_fit_error(q, profile, state, err, cycle)
            return
        except FrameworkError as err:
            self._handle_failure(q, str(err), POD_REASON_SCHEDULER_ERROR, set(), cycle, "")
            return
        host = result.suggested_host
        assumed = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": host}}
        info = q.pod_info
        info.pod = assumed
        self.cache.assume_pod(key, info, host)
        if self.nominator:  # placed: its nomination, if any, has served (assume)
            self.nominator.delete(pod)
        status = self._reserve(profile, state, assumed, host)
        if status is not None:
            self._unreserve(profile, state, assumed, host)
            self.cache.forget_pod(key)
            info.pod = pod
            self._handle_failure(q, status.message(), POD_REASON_SCHEDULER_ERROR, set(), cycle,
                                 "")
            return
        self._bind(profile, state, q, assumed, host, cycle)

    def _pod_info(self, pod: Mapping[str, Any]) -> PodInfo:
        """The pod's requests worked out -- once per spec: pods of a template share theirs."""
        spec = pod.get("spec")
        seen = self._pod_infos.get(id(spec))
        if seen is not None and seen[0] is spec:
            return PodInfo.sharing(pod, seen[1])
        info = PodInfo(pod)
        if len(self._pod_infos) >= INTERN_LIMIT:
            self._pod_infos.clear()
        self._pod_infos[id(spec)] = (spec, info)  # holding spec keeps its id from reuse
        return info

    # -- scheduling cycle ---------------------------------------------------------------------
    def schedule_pod(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                     info: PodInfo | None = None, *, dry_run: bool = False,
                     rng: random.Random | None = None) -> ScheduleResult:
        """Filter and score the nodes; the suggested host, or FitError (schedulePod).

        ``dry_run`` leaves ``nextStartNodeIndex`` alone; ``rng`` replaces the
        scheduler's generator (explain passes a copy so it changes nothing).
        """
        nodes = state.snapshot.node_infos
        if not nodes:
            raise FitError(0, {}, Status(Code.UnschedulableAndUnresolvable, ERR_NO_NODES_AVAILABLE),
                           ERR_NO_NODES_AVAILABLE, set())
        rng = rng if rng is not None else self.rng
        if _nominated(pod):
            host = self.evaluate_nominated_node(profile, state, pod)
            if host:  # the one feasible node: no need to score
                return ScheduleResult(host, 1, 1)
        if self.vector is not None:
            result = self.vector.schedule_pod(self, profile, state, pod, info, dry_run, rng)
            if result is not None:
                return result
        feasible, evaluated = self.find_nodes_that_fit(profile, state, pod, dry_run)
        if len(feasible) == 1:  # only one node passed: no need to score
            return ScheduleResult(feasible[0].name, evaluated, 1)
        scores = run_scores(profile, pod, feasible, state)
        return ScheduleResult(select_host(scores, rng), evaluated, len(feasible), scores)

    def num_feasible_nodes_to_find(self, profile: Profile, num_all_nodes: int) -> int:
        """How many feasible nodes this profile's cycles look for (adaptive by default)."""
        return num_feasible_nodes_to_find(num_all_nodes, self.config.percentage_for(profile))

    def find_nodes_that_fit(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                            dry_run: bool = False) -> tuple[list[NodeInfo], int]:
        """PreFilter, then Filter from ``nextStartNodeIndex`` until enough nodes fit.

        Returns the feasible nodes and how many nodes were evaluated; raises
        FitError when none fits (findNodesThatFitPod, findNodesThatPassFilters).
        """
        all_nodes = state.snapshot.node_infos
        pre_res, s, plugins = run_pre_filter_plugins(profile, state, pod, all_nodes)
        if s is not None:
            raise FitError(len(all_nodes), {}, s, s.message(), set(plugins))
        nodes = all_nodes
        absent: Status | None = None
        if pre_res is not None and not pre_res.all_nodes():
            shortlist = pre_res.node_names or set()
            nodes = [n for n in all_nodes if n.name in shortlist]
            absent = Status(Code.UnschedulableAndUnresolvable,
                            f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins))}]")
        feasible, statuses = self._pass_filters(profile, state, pod, nodes, dry_run)
        if not feasible:
            rejectors = {st.plugin for st in statuses.values() if st.plugin} | (
                set(plugins) if absent is not None else set())
            raise FitError(len(all_nodes), statuses, absent or Status(
                Code.UnschedulableAndUnresolvable), "", rejectors)
        return feasible, len(feasible) + len(statuses)

    def _pass_filters(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                      nodes: list[NodeInfo], dry_run: bool
                      ) -> tuple[list[NodeInfo], dict[str, Status]]:
        num_all = len(nodes)
        if not num_all:
            return [], {}
        to_find = self.num_feasible_nodes_to_find(profile, num_all)
        start = self.next_start_node_index % num_all
        feasible: list[NodeInfo] = []
        statuses: dict[str, Status] = {}
        if not profile.filter_plugins:
            feasible = [nodes[(start + i) % num_all] for i in range(to_find)]
        else:
            check = self._node_check(profile)
            for i in range(num_all):
                node_info = nodes[(start + i) % num_all]
                s = check(state, pod, node_info)
                if s is None:
                    feasible.append(node_info)
                    if len(feasible) >= to_find:
                        break
                else:
                    statuses[node_info.name] = s
        if not dry_run:
            self.next_start_node_index = (start + len(feasible) + len(statuses)) % num_all
        return feasible, statuses

    def _node_check(self, profile: Profile) -> Any:
        """How the filter pass checks one node: with the nominated pods if there are any.

        RunFilterPluginsWithNominatedPods; with no nomination anywhere it is the plain
        filter run -- the fast path.
        """
        if not self.nominator:
            return lambda state, pod, node_info: run_filter_plugins(profile, state, pod,
                                                                      node_info)
        handle = self.handles.get(profile.scheduler_name) or SchedulerHandle(self, profile)
        return lambda state, pod, node_info: run_filter_plugins_with_nominated_pods(
            handle, state, pod, node_info)

    def evaluate_nominated_node(self, profile: Profile, state: CycleState,
                                pod: Mapping[str, Any]) -> str:
        """The pod's nominated node if it passes the filters there; "" otherwise.

        Preemption freed that node for the pod, so it is tried first, before the
        usual pass over all nodes (findNodesThatFitPod, evaluateNominatedNode).
        Runs PreFilter; raises FitError if PreFilter rejects the pod.
        """
        all_nodes = state.snapshot.node_infos
        _, s, plugins = run_pre_filter_plugins(profile, state, pod, all_nodes)
        if s is not None:
            raise FitError(len(all_nodes), {}, s, s.message(), set(plugins))
        try:
            node_info = state.snapshot.get(_nominated(pod))
        except KeyError:
            return ""
        if self._node_check(profile)(state, pod, node_info) is not None:
            return ""
        return node_info.name

    # -- failure ------------------------------------------------------------------------------
    def post_filter(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                    err: FitError) -> tuple[PostFilterResult | None, str]:
        """Run the PostFilter plugins when no node fits: their result and their words.

        DefaultPreemption may evict pods and nominate a node (its message is then
        empty). A DynamicResources plugin enabled in the profile, which kubelearn
        does not implement, is worded as for a pod without resource claims.
        """
        post: list[str] = []
        if "DynamicResources" in profile.not_implemented:
            post.append(NO_NEW_CLAIMS_TO_DEALLOCATE)
        result: PostFilterResult | None = None
        if profile.plugins["postFilter"]:
            statuses = NodeToStatus(err.statuses, err.absent_status)
            result, s = run_post_filter_plugins(profile, state, pod, statuses)
            post.extend(s.all_reasons())
        return result, ", ".join(post)

    def _handle_fit_error(self, q: QueuedPodInfo, profile: Profile, state: CycleState,
                          err: FitError, cycle: int) -> None:
        nominated: str | None = None
        if err.pre_filter_msg == ERR_NO_NODES_AVAILABLE:
            message = ERR_NO_NODES_AVAILABLE
            nominated = ""  # clearNominatedNode
        else:
            try:
                result, post = self.post_filter(profile, state, q.pod, err)
            except FrameworkError as e:  # logged upstream; the fit error still stands
                result, post = None, str(e)
            message = err.message(post)
            if result is not None:
                nominated = result.nominated_node_name
        self._handle_failure(q, message, POD_REASON_UNSCHEDULABLE, err.plugins, cycle,
                             nominated)

    def _handle_failure(self, q: QueuedPodInfo, message: str, reason: str, plugins: set[str],
                        cycle: int, nominated: str | None = None) -> None:
        """Requeue the pod, tell the world (handleSchedulingFailure).

        ``nominated``: the node preemption nominated, "" to clear a nomination (any
        failure but a fit error's), None to keep the pod's own. The nominator learns
        it at once, before the status write comes back: the next cycle must already
        leave the room free.
        """
        self.failed_attempts += 1
        pod = q.pod
        q.unschedulable_plugins = set(plugins)
        current = self.informers["pods"].store.get(pod_key(pod)) if "pods" in self.informers \
            else pod
        if current is None or _node_name(current):
            self.queue.done(q.key)  # deleted, or bound meanwhile: nothing to retry
        else:
            if current is not pod:
                q.update(current)
            self.queue.add_unschedulable_if_not_present(q, cycle)
            if nominated or self.nominator.node_of(current) or _nominated(current):
                self.nominator.add(self._pod_info(current), nominated)
        self.sim.record(COMPONENT, "FailedScheduling", pod_ref(pod), message)
        if current is None:
            return
        self.recorder.event(pod, "Warning", "FailedScheduling", "Scheduling",
                            truncate_message(message), self._component(pod))
        self._set_pod_scheduled_false(current, reason, message, nominated)

    def _component(self, pod: Mapping[str, Any]) -> str:
        return (pod.get("spec") or {}).get("schedulerName") or DEFAULT_SCHEDULER_NAME

    def _set_pod_scheduled_false(self, pod: Mapping[str, Any], reason: str, message: str,
                                 nominated: str | None = None) -> None:
        """PodScheduled=False with the reason, through pods/status, if it changed (updatePod).

        ``nominated`` (the node preemption freed, or "" to clear) becomes
        status.nominatedNodeName when it differs; None leaves it alone.
        """
        conditions = (pod.get("status") or {}).get("conditions") or []
        old = next((c for c in conditions if c.get("type") == "PodScheduled"), None)
        nominate = nominated is not None and nominated != _nominated(pod)
        if not nominate and old is not None and (
                old.get("status"), old.get("reason"), old.get("message")) == (
                "False", reason, message):
            return
        transition = old.get("lastTransitionTime") if old is not None and \
            old.get("status") == "False" else self.sim.timestamp()
        condition = {"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                     "lastTransitionTime": transition, "reason": reason, "message": message}
        # No observedGeneration: PodCondition has that field only from v1.33
        # (PodObservedGenerationTracking), and v1.32's decoder would drop it.
        meta = _meta(pod)
        status: dict[str, Any] = {"conditions": [condition]}
        if nominate:
            status["nominatedNodeName"] = nominated or None
        try:
            self.client.patch("pods", meta.get("name", ""), {"status": status},
                              meta.get("namespace") or "default", subresource="status")
        except StatusError as e:
            self.sim.record(COMPONENT, "StatusUpdateFailed", pod_ref(pod), str(e))

    # -- reserve and bind ---------------------------------------------------------------------
    def _reserve(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                 host: str) -> Status | None:
        for pl in profile.plugins["reserve"]:
            s = pl.reserve(state, pod, host)  # type: ignore[attr-defined]
            if s is not None and not s.is_success():
                return Status(s.code, f'running Reserve plugin "{pl.name}": {s.message()}',
                              plugin=pl.name)
        return None

    def _unreserve(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
                   host: str) -> None:
        for pl in reversed(profile.plugins["reserve"]):
            pl.unreserve(state, pod, host)  # type: ignore[attr-defined]

    def _bind(self, profile: Profile, state: CycleState, q: QueuedPodInfo,
              assumed: Mapping[str, Any], host: str, cycle: int) -> None:
        """Bind plugins first (a learner's), else the default binder: POST pods/binding."""
        pod = q.pod
        meta = _meta(pod)
        name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
        error = ""
        for pl in profile.plugins["bind"]:
            s = pl.bind(state, assumed, host)  # type: ignore[attr-defined]
            if s is None or s.is_success():
                break
            if not s.is_skip():
                error = f'running Bind plugin "{pl.name}": {s.message()}'
                break
        else:  # no Bind plugin took it: DefaultBinder POSTs the Binding
            try:
                self.client.bind(name, host, namespace, uid=meta.get("uid"))
            except StatusError as e:
                error = f'running Bind plugin "DefaultBinder": {e}'
        if error:
            self._unreserve(profile, state, assumed, host)
            self.cache.forget_pod(q.key)
            q.pod_info.pod = pod
            self.queue.move_all_to_active_or_backoff_queue(q_events.ASSIGNED_POD_DELETE)
            self._handle_failure(q, error, POD_REASON_SCHEDULER_ERROR, set(), cycle, "")
            return
        self.queue.done(q.key)
        self.scheduled += 1
        message = f"Successfully assigned {namespace}/{name} to {host}"
        self.sim.record(COMPONENT, "Scheduled", f"pod/{namespace}/{name}", message)
        self.recorder.event(pod, "Normal", "Scheduled", "Binding", message,
                            self._component(pod))

    # -- for learners -------------------------------------------------------------------------
    def explain(self, pod: Mapping[str, Any] | str, client: Client | None = None
                ) -> pd.DataFrame:
        """One row per node: each filter's verdict, each score, the total, feasible, chosen.

        ``client`` reads the PriorityClass of a pod not created yet (default: the
        :attr:`explain_client`, else the scheduler's own). See
        :func:`kubelearn.scheduler.explain.explain`.
        """
        from kubelearn.scheduler.explain import explain

        return explain(self, pod, client=client or self.explain_client or self.client)

    def pending_pods(self) -> pd.DataFrame:
        """The pods waiting in the queue: which queue, how many attempts."""
        import pandas as pd

        return pd.DataFrame(self.queue.pending_pods(), columns=["pod", "queue", "attempts"])


# -- what changed about a node ---------------------------------------------------------------------

def _without_heartbeats(conditions: Any) -> list[tuple[Any, Any, Any]]:
    return [(c.get("type"), c.get("status"), c.get("reason")) for c in conditions or []]


def node_scheduling_properties_change(old: Mapping[str, Any], new: Mapping[str, Any]
                                      ) -> list[str]:
    """The cluster events a node update amounts to (nodeSchedulingPropertiesChange)."""
    events = []
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    old_status, new_status = old.get("status") or {}, new.get("status") or {}
    if bool(old_spec.get("unschedulable")) != bool(new_spec.get("unschedulable")):
        events.append(q_events.NODE_SPEC_UNSCHEDULABLE_CHANGE)
    if old_status.get("allocatable") != new_status.get("allocatable"):
        events.append(q_events.NODE_ALLOCATABLE_CHANGE)
    if _meta(old).get("labels") != _meta(new).get("labels"):
        events.append(q_events.NODE_LABEL_CHANGE)
    if old_spec.get("taints") != new_spec.get("taints"):
        events.append(q_events.NODE_TAINT_CHANGE)
    if _without_heartbeats(old_status.get("conditions")) != \
            _without_heartbeats(new_status.get("conditions")):
        events.append(q_events.NODE_CONDITION_CHANGE)
    return events
