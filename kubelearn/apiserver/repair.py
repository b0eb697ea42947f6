"""The repair loops: rebuild the ClusterIP and NodePort ranges from the Services themselves.

A port of kube-apiserver's pkg/registry/core/service/ipallocator/controller
and portallocator/controller ``repair.go`` (v1.32). When the API server starts
(post-start hook ``start-service-ip-repair-controllers``) and then every
3 minutes (pkg/controlplane/instance.go ``repairLoopInterval``) each loop:

1. reads the stored RangeAllocation (none yet on a new cluster);
2. lists every Service and marks what it holds in a fresh bitmap --
   warning when a Service holds an item the stored bitmap does not have
   (``ClusterIPNotAllocated``, ``PortNotAllocated``: repaired), one another
   Service holds too (``...AlreadyAllocated``) or one outside the range
   (``ClusterIPOutOfRange``, ``PortOutOfRange``);
3. keeps an item the stored bitmap has but no Service holds for
   ``numRepairsBeforeLeakCleanup`` (3) rounds -- it may belong to a Service
   being created right now -- then lets it go;
4. writes the rebuilt bitmap back (compare-and-swap; nothing when unchanged).

The first round creates ``/registry/ranges/serviceips`` and
``/registry/ranges/servicenodeports``; until then no Service can get an address.
Upstream the warnings are Events from ``ipallocator-repair-controller`` and
``portallocator-repair-controller``; here they are simulation records.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import TYPE_CHECKING, Any

from kubelearn.api import Conflict, StatusError
from kubelearn.apiserver.allocator import AllocationBitmap
from kubelearn.apiserver.ipallocator import ServiceIPRange
from kubelearn.apiserver.portallocator import PortAllocator
from kubelearn.apiserver.rangeallocation import AllocatorError
from kubelearn.etcd import EtcdError

if TYPE_CHECKING:  # pragma: no cover
    import random

    from kubelearn.apiserver.rangeallocation import EtcdAllocator
    from kubelearn.sim import Simulation

REPAIR_INTERVAL = 180.0  # pkg/controlplane/instance.go repairLoopInterval (3 minutes)
NUM_REPAIRS_BEFORE_LEAK_CLEANUP = 3  # repair.go numRepairsBeforeLeakCleanup
# retry.DefaultBackoff: RetryOnConflict tries this many times.
CONFLICT_RETRIES = 4


def service_cluster_ips(svc: dict) -> list[str]:
    """The addresses a Service holds (helper.IsServiceIPSet: not headless, not ExternalName)."""
    spec = svc.get("spec") or {}
    if spec.get("type") == "ExternalName" or spec.get("clusterIP") in (None, "", "None"):
        return []
    return [str(ip) for ip in spec.get("clusterIPs") or [spec["clusterIP"]]]


def service_node_ports(svc: dict) -> list[int]:
    """The node ports a Service holds, its health check node port too (collectServiceNodePorts).

    The same port under two protocols counts once; under the same protocol twice.
    """
    spec = svc.get("spec") or {}
    ports: list[int] = []
    seen: dict[int, set[str]] = {}
    for port in spec.get("ports") or ():
        node_port = port.get("nodePort") if isinstance(port, dict) else None
        if not node_port:
            continue
        protocol = str(port.get("protocol") or "")
        protocols = seen.get(node_port)
        if protocols is None:
            seen[node_port] = {protocol}
            ports.append(node_port)
        elif protocol in protocols:
            ports.append(node_port)
        else:
            protocols.add(protocol)
    health = spec.get("healthCheckNodePort")
    if health and (health not in seen or "TCP" in seen[health]):
        ports.append(health)
    return ports


# The repair controllers' event reasons (repair.go), by allocator.
IP_REASONS = {"NotAllocated": "ClusterIPNotAllocated", "AlreadyAllocated":
              "ClusterIPAlreadyAllocated", "NotInRange": "ClusterIPOutOfRange",
              "RangeFull": "ServiceCIDRFull"}
PORT_REASONS = {"NotAllocated": "PortNotAllocated", "AlreadyAllocated": "PortAlreadyAllocated",
                "NotInRange": "PortOutOfRange", "RangeFull": "PortRangeFull"}
# What a failed round says, before the error (runtime.HandleError logs it; the next round
# tries again): ipallocator/controller/repair.go and portallocator/controller/repair.go, v1.32.
REFRESH_FAILED = {"ipallocator-repair-controller": "unable to refresh the service IP block",
                  "portallocator-repair-controller": "unable to refresh the port allocations"}


class Repair:
    """One repair loop over one range: ClusterIPs or NodePorts.

    ``component`` names it in the records; ``reasons`` maps what went wrong to
    its event reason; ``label`` names an item (``Cluster IP [IPv4]:10.96.0.5``,
    ``Port 30080``); ``new_range`` wraps a bitmap as the range it is;
    ``items`` are what a Service holds.
    """

    def __init__(self, sim: Simulation, allocator: EtcdAllocator, *, component: str,
                 reasons: dict[str, str], label: Callable[[Any], str],
                 new_range: Callable[[AllocationBitmap], ServiceIPRange | PortAllocator],
                 items: Callable[[dict], list[Any]], rng: random.Random) -> None:
        self.sim = sim
        self.allocator = allocator
        self.component = component
        self.reasons = reasons
        self._label = label
        self._new_range = new_range
        self._items = items
        self._rng = rng
        self.leaks: dict[Any, int] = {}  # item -> repairs left before it is let go

    def _fresh(self) -> AllocationBitmap:
        bitmap = self.allocator.bitmap
        return AllocationBitmap(bitmap.size, bitmap.range_spec, self._rng, bitmap.offset)

    def run_once(self, services: Iterable[dict]) -> None:
        """Rebuild the range from ``services`` and store it (runOnce, retried on a conflict)."""
        services = list(services)
        for attempt in range(CONFLICT_RETRIES):
            try:
                self._run(services)
                return
            except Conflict:
                if attempt == CONFLICT_RETRIES - 1:
                    raise

    def _run(self, services: list[dict]) -> None:
        snapshot = self.allocator.get()
        stored_bitmap = self._fresh()
        revision = 0
        if snapshot is not None:
            range_spec, data, revision = snapshot
            stored_bitmap.restore(range_spec, data)
        stored = self._new_range(stored_bitmap)
        rebuilt = self._new_range(self._fresh())
        for svc in services:
            for item in self._items(svc):
                self._mark(svc, item, stored, rebuilt)
        self._check_leaked(stored, rebuilt)
        self.allocator.create_or_update(*rebuilt.allocator.snapshot(), revision)

    def _warn(self, svc: dict, what: str, message: str) -> None:
        meta = svc.get("metadata") or {}
        self.sim.record(self.component, self.reasons[what],
                        f"service/{meta.get('namespace', '')}/{meta.get('name', '')}", message)

    def _mark(self, svc: dict, item: Any, stored: Any, rebuilt: Any) -> None:
        """Mark one item of one Service as in use in the rebuilt range."""
        label = self._label(item)
        try:
            rebuilt.allocate(item)
        except AllocatorError as err:
            what = type(err).__name__
            message = {
                "AlreadyAllocated": f"{label} was assigned to multiple services; please "
                                    "recreate service",
                "NotInRange": f"{label} is not within the range {rebuilt.allocator.range_spec}; "
                              "please recreate service",
            }.get(what, f"{label}: {err}")
            self._warn(svc, what if what in self.reasons else "RangeFull", message)
            return
        if stored.has(item):
            stored.release(item)  # accounted for: what stays in ``stored`` may have leaked
        else:
            self._warn(svc, "NotAllocated", f"{label} is not allocated; repairing")
        self.leaks.pop(item, None)  # it is used, so it cannot have leaked

    def _check_leaked(self, stored: Any, rebuilt: Any) -> None:
        """Items stored as taken that no Service holds: kept a few rounds, then let go."""
        for item in stored.allocated():
            left = self.leaks.get(item, NUM_REPAIRS_BEFORE_LEAK_CLEANUP - 1)
            if left > 0:
                self.leaks[item] = left - 1
                rebuilt.allocate(item)  # pretend it is still in use until the count runs out
            else:
                self.leaks.pop(item, None)  # not marked in ``rebuilt``: free again


def repair_loop(sim: Simulation, repairs: list[Repair],
                list_services: Callable[[], list[dict]],
                interval: float = REPAIR_INTERVAL) -> Generator[Any, Any, None]:
    """Run every repair again every ``interval`` seconds (the first round ran at start)."""
    while True:
        yield sim.timeout(interval)
        try:
            services = list_services()
            for repair in repairs:
                repair.run_once(services)
        except (StatusError, EtcdError) as err:  # RunUntil: runtime.HandleError, next round
            for repair in repairs:
                sim.record(repair.component, "RepairFailed", "",
                           f"{REFRESH_FAILED.get(repair.component, 'unable to repair')}: {err}")
