"""kube-proxy in iptables mode, one per node: watch Services and EndpointSlices, write rules.

How it works, as cmd/kube-proxy/app/server.go and pkg/proxy/iptables/proxier.go do:

1. Informers (a client of the API server, as ``system:kube-proxy``) list and watch
   Services and EndpointSlices with the label selector
   ``!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless``
   (a Service another proxy implements, and headless Services' slices, never reach
   it), and its own Node (``metadata.name=<node>``) for the topology labels.
2. Their handlers only note the change in the trackers
   (:mod:`kubelearn.proxy.servicemap`) and, if it is one, ask the
   :class:`~kubelearn.proxy.runner.BoundedFrequencyRunner` for a sync. Nothing is
   written in the handler.
3. A sync (``syncProxyRules``) applies the pending changes, generates the
   iptables-restore input (:func:`kubelearn.proxy.iptables.sync_rules`) -- a full one
   at start, after a node label change, after an iptables flush and every hour; a
   partial one (only the changed Services' chains) otherwise -- and restores it into
   the node's :class:`~kubelearn.proxy.dataplane.Dataplane`.
4. The iptables canary monitor checks every ``syncPeriod`` that its
   ``KUBE-PROXY-CANARY`` chain still exists; if someone flushed iptables, a full
   sync puts everything back.

Upstream's numbers: ``minSyncPeriod`` 1s and ``syncPeriod`` 30s
(KubeProxyIPTablesConfiguration, v1alpha1/defaults.go), ``burstSyncs`` 2 and the
runner's maxInterval ``proxyutil.FullSyncPeriod``, one hour (proxier.go NewProxier).

kubelearn's model, not upstream's numbers: how long a sync takes. A real one runs
``iptables-save`` and ``iptables-restore``; kind's kube-proxy logs
``SyncProxyRules complete elapsed="21ms"`` to ``"104ms"`` for a handful of
Services, and big rule sets take seconds. Here a sync costs :data:`SYNC_BASE_COST`
plus :data:`SYNC_COST_PER_LINE` per line of restore input, times a per-node speed
drawn once from ``sim.rng("kube-proxy/<node>")`` and a per-sync noise from the same
generator -- so each node's rules land a different, seeded, measurable time after
the EndpointSlice changed. The rules land at the end of that time, all at once
(iptables-restore commits a table atomically); a proxy stopped meanwhile lands
nothing.

Every sync is recorded (``SyncProxyRules``, component ``kube-proxy/<node>``): when
it was queued, started and landed, full or partial, lines restored, rules added and
removed. :attr:`KubeProxy.syncs` keeps them as :class:`SyncRecord` rows and
:meth:`KubeProxy.diff` compares the rules after any two of the last
``history_limit`` syncs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import simpy

from kubelearn.client import Client
from kubelearn.controllers.events import NORMAL
from kubelearn.kubelet.events import EventRecorder
from kubelearn.proxy.dataplane import Dataplane
from kubelearn.proxy.iptables import (
    NAT,
    ProxyConfig,
    RuleDiff,
    RuleSet,
    SyncResult,
    diff,
    sync_rules,
)
from kubelearn.proxy.runner import BoundedFrequencyRunner
from kubelearn.proxy.servicemap import (
    EndpointsChangeTracker,
    ServiceChangeTracker,
    apply_endpoint_changes,
    apply_service_changes,
)
from kubelearn.scheduler.informer import Informer
from kubelearn.sim import Simulation

COMPONENT = "kube-proxy"
# pkg/proxy/apis well_known_labels.go LabelServiceProxyName; core/v1 IsHeadlessService.
LABEL_SERVICE_PROXY_NAME = "service.kubernetes.io/service-proxy-name"
LABEL_HEADLESS = "service.kubernetes.io/headless"
# server.go: noProxyName and noHeadlessEndpoints, both "DoesNotExist".
LABEL_SELECTOR = f"!{LABEL_SERVICE_PROXY_NAME},!{LABEL_HEADLESS}"
# KubeProxyIPTablesConfiguration.minSyncPeriod / syncPeriod, v1alpha1/defaults.go.
MIN_SYNC_PERIOD = 1.0
SYNC_PERIOD = 30.0
# proxyutil.FullSyncPeriod: the runner's maxInterval, and how often a sync is a full one.
FULL_SYNC_PERIOD = 3600.0
# proxier.go NewProxier burstSyncs.
BURST_SYNCS = 2
# kubelearn's cost model of one sync (not upstream numbers; see the module docstring).
SYNC_BASE_COST = 0.020  # seconds: iptables-save, starting iptables-restore
SYNC_COST_PER_LINE = 20e-6  # seconds per line of restore input
NODE_SPEED_RANGE = (0.8, 1.6)  # a node's factor, drawn once
SYNC_NOISE = 0.25  # each sync's duration varies by up to +-25%
HISTORY_LIMIT = 100  # syncs whose rules are kept for diff()
_NANOSECOND = 1e-9


class _PendingSync(NamedTuple):
    """A sync between writing its restore input and the rules landing."""

    started: float
    queued: float | None
    full: bool
    services: int
    triggers: Mapping[str, list[str]]
    result: SyncResult


@dataclass
class SyncRecord:
    """One sync: when, what kind, and how much it wrote and changed."""

    number: int
    trigger: str  # "initial", "changes", "periodic" (the runner's timer), "iptables flushed"
    queued: float | None  # the first change it carries was noticed (None: nothing asked)
    started: float
    landed: float
    full: bool
    services_changed: int
    lines: int  # iptables-restore input lines
    rules_added: int
    rules_removed: int
    programming_latency: float | None  # landed minus the oldest EndpointSlice trigger time

    @property
    def duration(self) -> float:
        return self.landed - self.started


class KubeProxy:
    """kube-proxy on ``node_name``: its informers, change trackers, sync runner and records.

    ``dataplane`` is the node's kernel (made if not given); it outlives
    :meth:`stop`. Options: ``cluster_cidr`` (``--cluster-cidr``; None: no local-traffic
    detector), ``min_sync_period``, ``sync_period``, ``masquerade_all``,
    ``localhost_nodeports``, ``random_fully``, ``nfacct``; ``events=False`` posts no
    Event objects (the records stay); ``start=False`` builds it stopped.
    """

    def __init__(self, sim: Simulation, client: Client, node_name: str, *, node_ip: str,
                 cluster_cidr: str | None = "10.244.0.0/16",
                 min_sync_period: float = MIN_SYNC_PERIOD, sync_period: float = SYNC_PERIOD,
                 masquerade_all: bool = False, localhost_nodeports: bool = True,
                 random_fully: bool = True, nfacct: bool = True,
                 dataplane: Dataplane | None = None, events: bool = True,
                 history_limit: int = HISTORY_LIMIT, start: bool = True) -> None:
        if min_sync_period < 0 or sync_period <= 0:
            raise ValueError(f"sync periods must be positive: min_sync_period="
                             f"{min_sync_period}, sync_period={sync_period}")
        self.sim = sim
        self.client = client
        self.node_name = node_name
        self.config = ProxyConfig(node_name, node_ip, cluster_cidr=cluster_cidr,
                                  masquerade_all=masquerade_all,
                                  localhost_nodeports=localhost_nodeports,
                                  random_fully=random_fully, nfacct=nfacct)
        self.min_sync_period = min_sync_period
        self.sync_period = sync_period
        self.dataplane = dataplane or Dataplane(node_name, node_ip, clock=lambda: sim.now)
        self.component = f"{COMPONENT}/{node_name}"
        self.recorder = EventRecorder(sim, client, COMPONENT, node_name, enabled=events)
        self._rng = sim.rng(f"kube-proxy/{node_name}")
        self.speed = self._rng.uniform(*NODE_SPEED_RANGE)
        self.history_limit = history_limit
        self.syncs: list[SyncRecord] = []
        # sync number -> all the rules right after it, for the last history_limit syncs
        self.history: OrderedDict[int, RuleSet] = OrderedDict()
        self.running = False
        self.generation = 0
        self._mutex = simpy.Resource(sim.env, capacity=1)
        self.runner: BoundedFrequencyRunner | None = None
        self.informers: list[Informer] = []
        self._new_process_state()
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"KubeProxy({self.node_name}, {state}, {len(self.syncs)} syncs)"

    def _new_process_state(self) -> None:
        """What a kube-proxy process starts with: empty maps, a full sync due."""
        self.svc_port_map: dict = {}
        self.endpoints_map: dict = {}
        self.service_changes = ServiceChangeTracker()
        self.endpoint_changes = EndpointsChangeTracker(self.node_name)
        self.node_labels: dict[str, str] | None = None
        self.initialized = False
        self.need_full_sync = True
        self.last_full_sync = -float("inf")
        self.last_cleanup = -float("inf")
        self.started_at = self.sim.now
        self._queued_at: float | None = None

    # -- life -------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the process: list and watch, sync everything, then follow changes."""
        if self.running:
            return
        self.running = True
        self.generation += 1
        self._new_process_state()
        self.recorder.event({"apiVersion": "v1", "kind": "Node", "name": self.node_name,
                             "uid": self.node_name}, NORMAL, "Starting", "")  # birthCry
        self.services = Informer(self.sim, self.client, "services", label_selector=LABEL_SELECTOR,
                                 on_add=lambda s: self.on_service_update(None, s),
                                 on_update=self.on_service_update,
                                 on_delete=lambda s: self.on_service_update(s, None))
        self.slices = Informer(self.sim, self.client, "endpointslices",
                               label_selector=LABEL_SELECTOR,
                               on_add=self.on_endpoint_slice_update,
                               on_update=lambda _old, new: self.on_endpoint_slice_update(new),
                               on_delete=lambda e: self.on_endpoint_slice_update(e, True))
        self.nodes = Informer(self.sim, self.client, "nodes",
                              field_selector=f"metadata.name={self.node_name}",
                              on_add=self.on_node_update,
                              on_update=lambda _old, new: self.on_node_update(new),
                              on_delete=lambda _node: self.on_node_update(None))
        self.informers = [self.services, self.slices, self.nodes]
        for informer in self.informers:
            informer.start()
        # OnServiceSynced / OnEndpointSlicesSynced: "Sync unconditionally - this is called
        # once per lifetime." -- not through the runner.
        self.initialized = True
        self.sim.process(self._sync_proxy_rules("initial", generation=self.generation))
        self.runner = BoundedFrequencyRunner(self.sim, "sync-runner", self._runner_sync,
                                             self.min_sync_period, FULL_SYNC_PERIOD, BURST_SYNCS)
        self.runner.loop()
        self.sim.process(self._monitor(self.generation))

    def stop(self, *, power_off: bool = False) -> None:
        """The process dies: rules stay in the kernel. ``power_off``: the kernel state goes too."""
        if not self.running:
            return
        self.running = False
        self.initialized = False
        self.generation += 1
        for informer in self.informers:
            informer.stop()
        if self.runner is not None:
            self.runner.stop()
        self.sim.record(self.component, "Stopped", f"node/{self.node_name}",
                        "the machine lost power" if power_off else "the kube-proxy process died")
        if power_off:
            self.dataplane.reset()

    # -- handlers: note the change, ask for a sync ------------------------------------------------
    def on_service_update(self, old: Mapping[str, Any] | None,
                          new: Mapping[str, Any] | None) -> None:
        """OnServiceAdd/Update/Delete (old None: added; new None: deleted)."""
        if self.service_changes.update(old, new) and self.initialized:
            self._queue()

    def on_endpoint_slice_update(self, eps: Mapping[str, Any], remove: bool = False) -> None:
        """OnEndpointSliceAdd/Update/Delete."""
        if self.endpoint_changes.endpoint_slice_update(eps, remove) and self.initialized:
            self._queue()

    def on_node_update(self, node: Mapping[str, Any] | None) -> None:
        """OnNodeAdd/Update/Delete (None: deleted): new topology labels mean a full sync."""
        labels = dict(((node or {}).get("metadata") or {}).get("labels") or {}) \
            if node is not None else None
        if node is not None and labels == self.node_labels:
            return
        self.node_labels = labels
        self.need_full_sync = True
        if self.initialized:
            self._queue()

    def _queue(self) -> None:
        """Sync: remember when the oldest pending change came, poke the runner."""
        if self._queued_at is None:
            self._queued_at = self.sim.now
        if self.runner is not None:
            self.runner.run()

    # -- syncs ------------------------------------------------------------------------------------
    def _runner_sync(self) -> Generator[simpy.Event, Any, None]:
        trigger = "changes" if self._queued_at is not None else "periodic"
        yield from self._sync_proxy_rules(trigger, generation=self.generation)

    def sync_duration(self, lines: int) -> float:
        """kubelearn's cost of restoring ``lines`` lines on this node (seeded noise)."""
        noise = 1.0 + SYNC_NOISE * self._rng.uniform(-1.0, 1.0)
        return (SYNC_BASE_COST + SYNC_COST_PER_LINE * lines) * self.speed * noise

    def _sync_proxy_rules(self, trigger: str, *, generation: int,
                          force_full: bool = False) -> Generator[simpy.Event, Any, None]:
        """syncProxyRules: apply the changes, write the rules, restore them after a while.

        ``generation`` is the process run that asked; a process stopped since does nothing.
        """
        with self._mutex.request() as turn:
            yield turn
            if generation != self.generation or not self.initialized:
                return  # "Not syncing iptables until Services and Endpoints have been received"
            pending = self._begin_sync(force_full)
            yield self.sim.timeout(self.sync_duration(pending.result.lines))
            if generation != self.generation:
                return  # killed before iptables-restore committed: nothing changed
            self._land(pending, trigger)

    def sync_now(self, force_full: bool = False) -> SyncResult:
        """Sync at once, taking no virtual time; the restore input written (tests, lessons)."""
        pending = self._begin_sync(force_full)
        self._land(pending, "sync_now")
        return pending.result

    def _begin_sync(self, force_full: bool) -> _PendingSync:
        """Check the changes out and write the restore input (all at the sync's start)."""
        started = self.sim.now
        if force_full:
            self.need_full_sync = True
        # A real clock is always a little late for the hourly timer; ours is on time, to
        # the nanosecond the runner counts in.
        full = self.need_full_sync or \
            started - self.last_full_sync >= FULL_SYNC_PERIOD - _NANOSECOND
        queued, self._queued_at = self._queued_at, None
        updated = apply_service_changes(self.svc_port_map, self.service_changes)
        ep_updated, triggers = apply_endpoint_changes(self.endpoints_map, self.endpoint_changes)
        updated |= ep_updated
        result = sync_rules(self.svc_port_map, self.endpoints_map, self.config,
                            node_labels=self.node_labels, full=full, changed=updated,
                            existing_nat_chains=self.dataplane.rules.table(NAT).chains,
                            cleanup_due=started - self.last_cleanup > self.sync_period)
        if result.cleaned_up:
            self.last_cleanup = started
        return _PendingSync(started, queued, full, len(updated), triggers, result)

    def _land(self, pending: _PendingSync, trigger: str) -> None:
        """iptables-restore: the rules land in the kernel; record the sync."""
        changes = self.dataplane.restore(pending.result.restore, ensure_jumps=pending.full)
        self.need_full_sync = False
        if pending.full:
            self.last_full_sync = self.sim.now
        self._record(trigger, pending.queued, pending.started, pending.full, pending.services,
                     pending.result.lines, changes, pending.triggers)

    def _record(self, trigger: str, queued: float | None, started: float, full: bool,
                services: int, lines: int, changes: RuleDiff,
                triggers: Mapping[str, list[str]]) -> None:
        landed = self.sim.now
        latency = None
        seen = [self._virtual_seconds(t) for times in triggers.values() for t in times]
        seen = [t for t in seen if t is not None and t >= self.started_at]
        if seen:
            latency = landed - min(seen)  # NetworkProgrammingLatency of the oldest change
        record = SyncRecord(len(self.syncs) + 1, trigger, queued, started, landed, full,
                            services, lines, len(changes.added), len(changes.removed), latency)
        self.syncs.append(record)
        self.history[record.number] = self.dataplane.rules
        while len(self.history) > self.history_limit:
            self.history.popitem(last=False)
        asked = f"queued at {queued:.3f}s, " if queued is not None else ""
        self.sim.record(self.component, "SyncProxyRules", f"node/{self.node_name}",
                        f"{'full' if full else 'partial'} sync ({trigger}): {lines} lines "
                        f"restored, +{record.rules_added} -{record.rules_removed} rules; "
                        f"{asked}started at {started:.3f}s, landed at {landed:.3f}s")

    def _virtual_seconds(self, stamp: str) -> float | None:
        """An RFC 3339 trigger time as virtual seconds (None if unreadable)."""
        try:
            moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (moment - self.sim.epoch).total_seconds()

    def _monitor(self, generation: int) -> Generator[simpy.Event, Any, None]:
        """iptables.Monitor: every syncPeriod, check the canary; a flush means a full resync."""
        self.dataplane.ensure_canary()
        while generation == self.generation:
            yield self.sim.timeout(self.sync_period)
            if generation != self.generation:
                return
            if not self.dataplane.has_canary:
                self.sim.record(self.component, "IPTablesFlushed", f"node/{self.node_name}",
                                "iptables canary deleted; reloading after iptables flush")
                yield self.sim.process(self._sync_proxy_rules(
                    "iptables flushed", generation=generation, force_full=True))
                self.dataplane.ensure_canary()

    # -- what the learner looks at ----------------------------------------------------------------
    def rules(self, table: str | None = NAT) -> RuleSet:
        """The node's rules as last restored: one table (``nat`` unless told), or all (None).

        Prints like ``iptables-save -t nat``; ``.frame()`` gives a DataFrame.
        """
        state = self.dataplane.rules
        if table is None:
            return state
        if table not in state.tables:
            if state.tables:
                raise ValueError(f"no table {table!r} on {self.node_name}; tables: "
                                 f"{', '.join(state.tables)}")
            return RuleSet()
        return RuleSet({table: state.tables[table]})

    def rules_after(self, number: int) -> RuleSet:
        """All the rules as they were right after sync ``number`` (0: before the first)."""
        if number == 0:
            return RuleSet()
        if number in self.history:
            return self.history[number]
        kept = f"{min(self.history)}..{max(self.history)}" if self.history else "none"
        raise ValueError(f"sync {number} of {self.node_name} is not in the history "
                         f"(kept: {kept}; history_limit={self.history_limit})")

    def diff(self, a: int, b: int | None = None) -> RuleDiff:
        """What changed in the rules from sync ``a`` to sync ``b`` (default: the latest)."""
        if b is None:
            b = self.syncs[-1].number if self.syncs else 0
        return diff(self.rules_after(a), self.rules_after(b))

    def sync_frame(self):  # -> pandas.DataFrame
        """Every sync so far, one row each."""
        import pandas as pd

        columns = list(SyncRecord.__dataclass_fields__)
        return pd.DataFrame([[getattr(s, c) for c in columns] for s in self.syncs],
                            columns=columns)
