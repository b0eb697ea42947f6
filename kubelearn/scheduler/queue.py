"""The scheduling queue: where pending pods wait for their turn (kube-scheduler's PriorityQueue).

Three places a pending pod can be:

- **activeQ** -- ready to be tried, highest ``spec.priority`` first, then the one
  queued earliest (the PrioritySort plugin's order); ties in virtual time go
  first in, first out.
- **backoffQ** -- tried, failed, and since then something changed that may help;
  it waits out its backoff first: 1s after the first attempt, doubling per
  attempt up to 10s (``podInitialBackoffSeconds`` / ``podMaxBackoffSeconds``).
- **unschedulablePods** -- tried and failed, nothing has changed yet. A cluster
  event that could make it fit moves it to backoffQ (or straight to activeQ if
  its backoff is over); after 5 minutes there it is retried anyway.

Which events move which pods -- upstream's *queueing hints*, simplified: each
plugin names the cluster events that can undo its rejection (NodeResourcesFit:
a node added, a node's allocatable grown, an assigned pod deleted; TaintToleration:
a node added or its taints changed; ...), see :data:`PLUGIN_EVENTS`. A pod moves
when an event interests any plugin that rejected it. Upstream also asks each
plugin's hint function whether *this* node or pod helps; here any event of the
right kind does. A plugin kubelearn does not know (a learner's) is interested in
every event, as upstream treats plugins without EnqueueExtensions.

Simplified timing: upstream flushes backoffQ once a second; here a pod leaves
backoffQ the moment its backoff ends, so the 1, 2, 4, 8, 10 s gaps are exact.
``SchedulerPopFromBackoffQ`` (new in v1.33, beta and on; off here, as kubelearn
models v1.32 -- :data:`kubelearn.version.FEATURE_GATES`): when activeQ is empty the
scheduler takes the next pod from backoffQ instead of idling -- set
:attr:`SchedulingQueue.pop_from_backoff_q` to True to see the later behaviour.

A port of pkg/scheduler/backend/queue (scheduling_queue.go, active_queue.go,
backoff_queue.go) and framework/plugins/queuesort (PrioritySort).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import simpy

from kubelearn import version
from kubelearn.api.scheduling import pod_priority

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.sim import Simulation

DEFAULT_POD_INITIAL_BACKOFF = 1.0  # seconds; DefaultPodInitialBackoffDuration
DEFAULT_POD_MAX_BACKOFF = 10.0  # seconds; DefaultPodMaxBackoffDuration
DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION = 300.0  # 5 minutes
UNSCHEDULABLE_FLUSH_INTERVAL = 30.0  # flushUnschedulablePodsLeftover runs every 30s

ACTIVE_Q = "activeQ"
BACKOFF_Q = "backoffQ"
UNSCHEDULABLE_PODS = "unschedulablePods"

# Cluster events, labelled as upstream's framework/events.go labels them.
UNSCHEDULED_POD_ADD = "UnscheduledPodAdd"
UNSCHEDULED_POD_UPDATE = "UnscheduledPodUpdate"
ASSIGNED_POD_ADD = "AssignedPodAdd"
ASSIGNED_POD_UPDATE = "AssignedPodUpdate"
ASSIGNED_POD_DELETE = "AssignedPodDelete"
NODE_ADD = "NodeAdd"
NODE_DELETE = "NodeDelete"
NODE_ALLOCATABLE_CHANGE = "NodeAllocatableChange"
NODE_LABEL_CHANGE = "NodeLabelChange"
NODE_TAINT_CHANGE = "NodeTaintChange"
NODE_SPEC_UNSCHEDULABLE_CHANGE = "NodeSpecUnschedulableChange"
NODE_CONDITION_CHANGE = "NodeConditionChange"
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"
BACKOFF_COMPLETE = "BackoffComplete"
SCHEDULE_ATTEMPT_FAILURE = "ScheduleAttemptFailure"
FORCE_ACTIVATE = "ForceActivate"

# The events after which each in-tree plugin's rejection may no longer hold
# (each plugin's EventsToRegister, without the per-object hint functions).
PLUGIN_EVENTS: dict[str, frozenset[str]] = {
    "SchedulingGates": frozenset({UNSCHEDULED_POD_UPDATE}),
    "NodeUnschedulable": frozenset({NODE_ADD, NODE_TAINT_CHANGE, NODE_SPEC_UNSCHEDULABLE_CHANGE,
                                    UNSCHEDULED_POD_UPDATE}),
    "NodeName": frozenset({NODE_ADD, UNSCHEDULED_POD_UPDATE}),
    "TaintToleration": frozenset({NODE_ADD, NODE_TAINT_CHANGE, UNSCHEDULED_POD_UPDATE}),
    "NodeAffinity": frozenset({NODE_ADD, NODE_LABEL_CHANGE, UNSCHEDULED_POD_UPDATE}),
    "NodePorts": frozenset({NODE_ADD, ASSIGNED_POD_DELETE, UNSCHEDULED_POD_UPDATE}),
    "NodeResourcesFit": frozenset({NODE_ADD, NODE_ALLOCATABLE_CHANGE, ASSIGNED_POD_DELETE,
                                   UNSCHEDULED_POD_UPDATE}),
    "InterPodAffinity": frozenset({NODE_ADD, NODE_LABEL_CHANGE, ASSIGNED_POD_ADD,
                                   ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE,
                                   UNSCHEDULED_POD_UPDATE}),
    "PodTopologySpread": frozenset({NODE_ADD, NODE_DELETE, NODE_LABEL_CHANGE, NODE_TAINT_CHANGE,
                                    ASSIGNED_POD_ADD, ASSIGNED_POD_UPDATE, ASSIGNED_POD_DELETE,
                                    UNSCHEDULED_POD_UPDATE}),
}
# Events every pod is moved by, whatever rejected it (framework.ClusterEventIsWildCard).
WILDCARD_EVENTS = frozenset({UNSCHEDULABLE_TIMEOUT, FORCE_ACTIVATE})


def backoff_duration(attempts: int, initial: float = DEFAULT_POD_INITIAL_BACKOFF,
                     maximum: float = DEFAULT_POD_MAX_BACKOFF) -> float:
    """How long a pod waits after its ``attempts``-th failed attempt: 1, 2, 4, 8, 10, 10...

    ``initial << (attempts - 1)``, capped at ``maximum``; 0 before any attempt
    (backoffQueue.calculateBackoffDuration).
    """
    if attempts <= 0:
        return 0.0
    duration = initial
    for _ in range(1, attempts):
        if duration > maximum - duration:
            return maximum
        duration += duration
    return duration


def pod_key(pod: Mapping[str, Any]) -> str:
    """``namespace/name``, the queue's key for a pod (podInfoKeyFunc)."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"


def is_pod_updated(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True if anything but status, resourceVersion, generation, managedFields, finalizers changed.

    A status-only update (the scheduler's own PodScheduled=False) does not make a
    pod schedulable (scheduling_queue.go isPodUpdated).
    """
    if old.get("spec") != new.get("spec"):
        return True
    ignored = ("resourceVersion", "generation", "managedFields", "finalizers")
    old_meta = {k: v for k, v in (old.get("metadata") or {}).items() if k not in ignored}
    new_meta = {k: v for k, v in (new.get("metadata") or {}).items() if k not in ignored}
    return old_meta != new_meta


class QueuedPodInfo:
    """A pending pod with its queueing history (framework.QueuedPodInfo)."""

    __slots__ = ("pod", "key", "priority", "timestamp", "initial_attempt_timestamp", "attempts",
                 "unschedulable_plugins", "gating_plugin", "consecutive_errors", "seq",
                 "backoff_expiration", "queue", "pod_info")

    def __init__(self, pod: Mapping[str, Any], now: float, seq: int) -> None:
        self.pod = pod
        self.key = pod_key(pod)
        self.priority = pod_priority(pod)
        self.timestamp = now  # when it was (re)queued: PrioritySort's tie-break, backoff's start
        self.initial_attempt_timestamp: float | None = None
        self.attempts = 0
        self.unschedulable_plugins: set[str] = set()  # the plugins that rejected it last time
        self.gating_plugin = ""  # a PreEnqueue plugin holding it back (SchedulingGates)
        self.consecutive_errors = 0
        self.seq = seq  # first in, first out among equals
        self.backoff_expiration: float | None = None
        self.queue = ""  # where it is now: activeQ, backoffQ, unschedulablePods, or "" in flight
        self.pod_info: Any = None  # the scheduler's PodInfo, worked out once per pod version

    def update(self, pod: Mapping[str, Any]) -> None:
        """Take the newer version of the pod."""
        self.pod = pod
        self.pod_info = None

    @property
    def gated(self) -> bool:
        """True while a PreEnqueue plugin keeps the pod out of activeQ."""
        return bool(self.gating_plugin)

    def __repr__(self) -> str:
        return f"QueuedPodInfo({self.key}, attempts={self.attempts}, queue={self.queue or '-'})"


class SchedulingQueue:
    """activeQ, backoffQ and unschedulablePods, on the simulation's clock.

    The scheduler takes pods with :meth:`pop` (non-blocking) or waits with
    ``yield queue.wait()``. Informer event handlers call :meth:`add`,
    :meth:`update`, :meth:`delete` and :meth:`move_all_to_active_or_backoff_queue`.
    """

    def __init__(self, sim: Simulation, *, initial_backoff: float = DEFAULT_POD_INITIAL_BACKOFF,
                 max_backoff: float = DEFAULT_POD_MAX_BACKOFF,
                 max_in_unschedulable: float = DEFAULT_POD_MAX_IN_UNSCHEDULABLE_PODS_DURATION,
                 pop_from_backoff_q: bool = version.FEATURE_GATES["SchedulerPopFromBackoffQ"],
                 on_move: Callable[[QueuedPodInfo, str, str], None] | None = None) -> None:
        self.sim = sim
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_in_unschedulable = max_in_unschedulable
        self.pop_from_backoff_q = pop_from_backoff_q  # feature gate SchedulerPopFromBackoffQ
        self.on_move = on_move  # called (pod info, queue, event) when a pod changes queue
        self._active: dict[str, QueuedPodInfo] = {}
        self._active_heap: list[tuple[int, float, int, str]] = []
        self._backoff: dict[str, QueuedPodInfo] = {}
        self._backoff_heap: list[tuple[float, int, float, int, str]] = []
        self._error_backoff: dict[str, QueuedPodInfo] = {}
        self._error_heap: list[tuple[float, int, str]] = []
        self._unschedulable: dict[str, QueuedPodInfo] = {}
        self._in_flight: dict[str, QueuedPodInfo] = {}
        self._seq = 0
        self._waiter: simpy.Event | None = None
        self._timer_at: float | None = None
        self.scheduling_cycle = 0
        self.move_request_cycle = -1

    # -- what is where ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return (len(self._active) + len(self._backoff) + len(self._error_backoff)
                + len(self._unschedulable))

    def __contains__(self, key: object) -> bool:
        return any(key in q for q in (self._active, self._backoff, self._error_backoff,
                                      self._unschedulable, self._in_flight))

    @property
    def unschedulable_count(self) -> int:
        """How many pods wait in unschedulablePods."""
        return len(self._unschedulable)

    def get(self, key: str) -> QueuedPodInfo | None:
        """The queued pod ``namespace/name`` wherever it is, or None."""
        for q in (self._active, self._backoff, self._error_backoff, self._unschedulable,
                  self._in_flight):
            if key in q:
                return q[key]
        return None

    def pending_pods(self) -> list[tuple[str, str, int]]:
        """(pod key, queue, attempts) for every pending pod: activeQ in pop order first."""
        rows = [(q.key, ACTIVE_Q, q.attempts)
                for q in sorted(self._active.values(), key=self._active_order)]
        rows += [(q.key, BACKOFF_Q, q.attempts) for q in self._backoff_pods()]
        rows += [(q.key, UNSCHEDULABLE_PODS, q.attempts) for q in self._unschedulable.values()]
        return rows

    def summary(self) -> str:
        """``activeQ:1; backoffQ:0; unschedulablePods:2`` (PendingPods' summary)."""
        backoff = len(self._backoff) + len(self._error_backoff)
        return (f"activeQ:{len(self._active)}; backoffQ:{backoff}; "
                f"unschedulablePods:{len(self._unschedulable)}")

    def _backoff_pods(self) -> Iterator[QueuedPodInfo]:
        both = list(self._backoff.values()) + list(self._error_backoff.values())
        yield from sorted(both, key=lambda q: (self.backoff_time(q), q.seq))

    @staticmethod
    def _active_order(q: QueuedPodInfo) -> tuple[int, float, int]:
        return (-q.priority, q.timestamp, q.seq)

    # -- backoff -------------------------------------------------------------------------------
    def backoff_time(self, q: QueuedPodInfo) -> float:
        """When the pod's backoff ends: its last (re)queue time + the backoff for its attempts."""
        if q.attempts == 0:
            return float("-inf")
        if q.backoff_expiration is None:
            q.backoff_expiration = q.timestamp + backoff_duration(
                q.attempts, self.initial_backoff, self.max_backoff)
        return q.backoff_expiration

    def is_backing_off(self, q: QueuedPodInfo) -> bool:
        """True while the pod must not be retried yet."""
        return self.backoff_time(q) > self.sim.now

    # -- taking pods -----------------------------------------------------------------------------
    def pop(self) -> QueuedPodInfo | None:
        """The next pod to schedule, or None: activeQ's head; else, if allowed, backoffQ's."""
        q = self._pop_heap(self._active_heap, self._active)
        if q is None and self.pop_from_backoff_q:
            q = self._pop_heap(self._backoff_heap, self._backoff)
        if q is None:
            return None
        q.attempts += 1
        q.backoff_expiration = None
        q.unschedulable_plugins = set()
        if q.initial_attempt_timestamp is None:
            q.initial_attempt_timestamp = self.sim.now
        q.queue = ""
        self._in_flight[q.key] = q
        self.scheduling_cycle += 1
        return q

    @staticmethod
    def _pop_heap(heap: list, members: dict[str, QueuedPodInfo]) -> QueuedPodInfo | None:
        while heap:
            entry = heapq.heappop(heap)
            key, seq = entry[-1], entry[-2]
            q = members.get(key)
            if q is not None and q.seq == seq:
                del members[key]
                return q
        return None

    def wait(self) -> simpy.Event:
        """A SimPy event that fires once :meth:`pop` has something to give."""
        if self._active or (self.pop_from_backoff_q and self._backoff):
            return self.sim.env.event().succeed()
        if self._waiter is None:
            self._waiter = self.sim.env.event()
        return self._waiter

    def _wake(self) -> None:
        if self._waiter is not None and (self._active or (self.pop_from_backoff_q
                                                           and self._backoff)):
            waiter, self._waiter = self._waiter, None
            waiter.succeed()

    def done(self, key: str) -> None:
        """The scheduling cycle of ``key`` is over (bound, or handed back)."""
        self._in_flight.pop(key, None)

    # -- putting pods in ------------------------------------------------------------------------
    def _remove(self, key: str) -> QueuedPodInfo | None:
        for q in (self._active, self._backoff, self._error_backoff, self._unschedulable):
            found = q.pop(key, None)
            if found is not None:
                return found
        return None

    def _to_active(self, q: QueuedPodInfo, event: str) -> str:
        if q.gated:
            return self._to_unschedulable(q, event)
        self._remove(q.key)
        self._seq += 1
        q.seq = self._seq
        q.queue = ACTIVE_Q
        self._active[q.key] = q
        heapq.heappush(self._active_heap, (-q.priority, q.timestamp, q.seq, q.key))
        self._moved(q, ACTIVE_Q, event)
        self._wake()
        return ACTIVE_Q

    def _to_backoff(self, q: QueuedPodInfo, event: str) -> str:
        if q.gated:
            return self._to_unschedulable(q, event)
        self._remove(q.key)
        self._seq += 1
        q.seq = self._seq
        q.queue = BACKOFF_Q
        expiry = self.backoff_time(q)
        if not q.unschedulable_plugins:  # an error, not a verdict: podErrorBackoffQ
            self._error_backoff[q.key] = q
            heapq.heappush(self._error_heap, (expiry, q.seq, q.key))
        else:
            self._backoff[q.key] = q
            heapq.heappush(self._backoff_heap, (expiry, -q.priority, q.timestamp, q.seq, q.key))
        self._arm(expiry)
        self._moved(q, BACKOFF_Q, event)
        self._wake()
        return BACKOFF_Q

    def _to_unschedulable(self, q: QueuedPodInfo, event: str) -> str:
        self._remove(q.key)
        q.queue = UNSCHEDULABLE_PODS
        self._unschedulable[q.key] = q
        self._moved(q, UNSCHEDULABLE_PODS, event)
        return UNSCHEDULABLE_PODS

    def _moved(self, q: QueuedPodInfo, queue: str, event: str) -> None:
        if self.on_move is not None:
            self.on_move(q, queue, event)

    def add(self, pod: Mapping[str, Any], gating_plugin: str = "") -> QueuedPodInfo:
        """A new pending pod: into activeQ (unschedulablePods while gated)."""
        self._seq += 1
        q = QueuedPodInfo(pod, self.sim.now, self._seq)
        q.gating_plugin = gating_plugin
        if gating_plugin:
            q.unschedulable_plugins = {gating_plugin}
        self._to_active(q, UNSCHEDULED_POD_ADD)
        return q

    def add_unschedulable_if_not_present(self, q: QueuedPodInfo, cycle: int) -> str:
        """Hand back a pod its cycle could not place; returns the queue it went to.

        With rejecting plugins it waits in unschedulablePods -- unless a move request
        came during its cycle. Without (an error, not a verdict) it backs off.
        """
        self.done(q.key)
        if q.key in self._active or q.key in self._backoff or q.key in self._unschedulable \
                or q.key in self._error_backoff:
            return q.queue
        if q.unschedulable_plugins:
            q.consecutive_errors = 0
        else:
            q.consecutive_errors += 1
        q.timestamp = self.sim.now  # refreshed: backoff counts from now
        q.backoff_expiration = None
        if self.move_request_cycle >= cycle or not q.unschedulable_plugins:
            return self._to_backoff(q, SCHEDULE_ATTEMPT_FAILURE)
        return self._to_unschedulable(q, SCHEDULE_ATTEMPT_FAILURE)

    def update(self, old: Mapping[str, Any] | None, new: Mapping[str, Any],
               gating_plugin: str = "") -> None:
        """A pending pod changed: update it in place, or move it if that may help it fit."""
        key = pod_key(new)
        if key in self._in_flight:
            self._in_flight[key].update(new)
            return
        for members in (self._active, self._backoff, self._error_backoff):
            if key in members:
                members[key].update(new)
                return
        q = self._unschedulable.get(key)
        if q is None:  # not queued at all yet
            self.add(new, gating_plugin)
            return
        q.update(new)
        was_gated = q.gated
        q.gating_plugin = gating_plugin
        if was_gated and not gating_plugin:
            q.unschedulable_plugins.discard("SchedulingGates")
            self._to_active(q, UNSCHEDULED_POD_UPDATE)
        elif old is None or is_pod_updated(old, new):
            if self.is_backing_off(q):
                self._to_backoff(q, UNSCHEDULED_POD_UPDATE)
            else:
                self._to_active(q, UNSCHEDULED_POD_UPDATE)

    def delete(self, pod: Mapping[str, Any]) -> None:
        """Forget a pod (deleted, or bound by someone else)."""
        key = pod_key(pod)
        q = self._remove(key)
        if q is not None:
            q.queue = ""

    def activate(self, keys: Iterable[str]) -> None:
        """Move these pods from backoffQ or unschedulablePods straight to activeQ."""
        for key in keys:
            q = self._unschedulable.get(key) or self._backoff.get(key) \
                or self._error_backoff.get(key)
            if q is not None:
                self._to_active(q, FORCE_ACTIVATE)

    # -- cluster events --------------------------------------------------------------------------
    @staticmethod
    def interested(q: QueuedPodInfo, event: str) -> bool:
        """Could ``event`` undo what rejected this pod? (isPodWorthRequeuing, simplified)."""
        if event in WILDCARD_EVENTS or not q.unschedulable_plugins:
            return True
        return any(event in PLUGIN_EVENTS.get(plugin, (event,))
                   for plugin in q.unschedulable_plugins)

    def move_all_to_active_or_backoff_queue(
            self, event: str, pre_check: Callable[[QueuedPodInfo], bool] | None = None) -> int:
        """After ``event``, move the unschedulable pods it may help; returns how many moved."""
        moved = 0
        for q in list(self._unschedulable.values()):
            if q.gated and event != UNSCHEDULED_POD_UPDATE:
                continue
            if (pre_check is not None and not pre_check(q)) or not self.interested(q, event):
                continue
            if self.is_backing_off(q):
                self._to_backoff(q, event)
            else:
                self._to_active(q, event)
            moved += 1
        self.move_request_cycle = self.scheduling_cycle
        return moved

    # -- the clock -------------------------------------------------------------------------------
    def _arm(self, at: float) -> None:
        """Make sure a flush runs when the earliest backoff ends."""
        if self._timer_at is not None and self._timer_at <= at and self._timer_at > self.sim.now:
            return
        self._timer_at = at
        self.sim.call_later(max(0.0, at - self.sim.now), self.flush_backoff_q_completed)

    def flush_backoff_q_completed(self) -> None:
        """Move every pod whose backoff has ended to activeQ (flushBackoffQCompleted)."""
        now = self.sim.now
        if self._timer_at is not None and self._timer_at <= now:
            self._timer_at = None
        for heap, members in ((self._backoff_heap, self._backoff),
                              (self._error_heap, self._error_backoff)):
            while heap:
                expiry, key, seq = heap[0][0], heap[0][-1], heap[0][-2]
                q = members.get(key)
                if q is None or q.seq != seq:
                    heapq.heappop(heap)
                    continue
                if expiry > now:
                    self._arm(expiry)
                    break
                heapq.heappop(heap)
                self._to_active(q, BACKOFF_COMPLETE)

    def flush_unschedulable_pods_leftover(self) -> None:
        """Retry pods that have waited in unschedulablePods longer than 5 minutes."""
        now = self.sim.now
        stale = {q.key for q in self._unschedulable.values()
                 if now - q.timestamp > self.max_in_unschedulable}
        if stale:
            self.move_all_to_active_or_backoff_queue(UNSCHEDULABLE_TIMEOUT,
                                                     lambda q: q.key in stale)

    def run(self) -> simpy.Process:
        """Start the periodic leftover flush (every 30s, as upstream's queue.Run)."""
        def leftover() -> Iterator[simpy.Event]:
            while True:
                yield self.sim.timeout(UNSCHEDULABLE_FLUSH_INTERVAL)
                self.flush_unschedulable_pods_leftover()

        return self.sim.process(leftover())
