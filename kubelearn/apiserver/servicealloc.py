"""The Service REST's allocations: ClusterIPs and NodePorts, taken all together or not at all.

A port of kube-apiserver's pkg/registry/core/service/storage (v1.32):
``alloc.go`` and the hooks ``storage.go`` gives the generic store.

- :meth:`ServiceAllocators.begin_create` (``beginCreate``) runs after mutating
  admission and *before* the strategy and validation: it syncs ``clusterIP``
  into ``clusterIPs``, settles ``ipFamilyPolicy`` and ``ipFamilies``, takes the
  requested or a random ClusterIP, and for NodePort and LoadBalancer Services
  the requested or random node ports (ports with the same number share one),
  plus a ``healthCheckNodePort`` for a LoadBalancer with
  ``externalTrafficPolicy: Local`` (apiservice.NeedsHealthCheck: LoadBalancer
  only, never NodePort);
- :meth:`ServiceAllocators.begin_update` (``beginUpdate``) first fills in what
  the client left out but was allocated before (``patchAllocatedValues``),
  then allocates what a type change needs (ExternalName to ClusterIP) and
  marks what it gives up (ClusterIP to ExternalName, NodePort to ClusterIP) to
  be released once the update is stored;
- both return a :class:`Transaction`: ``commit()`` once the object is stored,
  ``revert()`` if anything later refused it -- so a refused create leaves
  nothing allocated. A dry run takes nothing (and shows a placeholder: the
  network address, port 32769 and up, as upstream does);
- :meth:`ServiceAllocators.after_delete` (``releaseAllocatedResources``) gives
  everything back once the Service is gone from etcd.

A requested address or port that cannot be had is a 422 on the field, with
the allocator's words: ``spec.clusterIPs: Invalid value: ["10.96.0.5"]:
failed to allocate IP 10.96.0.5: provided IP is already allocated``,
``spec.ports[0].nodePort: Invalid value: 30080: provided port is already
allocated``. A full range is upstream's 500, ``Internal error occurred:
failed to allocate a serviceIP: range is full`` -- the request was fine, the
cluster ran out (upstream's own TODO says it is neither a field error nor
really internal). A requested ``healthCheckNodePort`` that cannot be had is
upstream's 500 too; kubelearn answers that one 422 on ``spec.healthCheckNodePort``
with upstream's message, since there the request is at fault.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubelearn.api import Invalid
from kubelearn.api.errors import FieldError, GoValue, InternalError, Path
from kubelearn.api.validation import validate_service_cluster_ips
from kubelearn.apiserver import ipallocator, portallocator
from kubelearn.apiserver.allocator import AllocationBitmap
from kubelearn.apiserver.ipallocator import ServiceIPRange
from kubelearn.apiserver.portallocator import PortAllocationOperation, PortAllocator, PortRange
from kubelearn.apiserver.rangeallocation import (
    NODE_PORTS_KEY,
    NODE_PORTS_RESOURCE,
    SERVICE_IPS_KEY,
    SERVICE_IPS_RESOURCE,
    AllocatorError,
    EtcdAllocator,
)

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

SINGLE_STACK = "SingleStack"
PREFER_DUAL_STACK = "PreferDualStack"
REQUIRE_DUAL_STACK = "RequireDualStack"
NEEDS_NODE_PORTS = ("NodePort", "LoadBalancer")


class Transaction:
    """What one create or update allocated: keep it (commit) or give it back (revert)."""

    def __init__(self) -> None:
        self._commits: list[Callable[[], None]] = []
        self._reverts: list[Callable[[], None]] = []

    def on_commit(self, fn: Callable[[], None]) -> None:
        self._commits.append(fn)

    def on_revert(self, fn: Callable[[], None]) -> None:
        self._reverts.append(fn)

    def commit(self) -> None:
        """The object is stored: do what was deferred (release what it gave up)."""
        for fn in self._commits:
            fn()
        self._commits, self._reverts = [], []

    def revert(self) -> None:
        """The request failed: give back what it took."""
        for fn in reversed(self._reverts):
            fn()
        self._commits, self._reverts = [], []


# -- small facts about a Service -----------------------------------------------------------------


def _spec(svc: dict) -> dict:
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        spec = svc["spec"] = {}
    return spec


def _ports(spec: dict) -> list[dict]:
    return [p for p in spec.get("ports") or () if isinstance(p, dict)]


def needs_cluster_ip(svc: dict) -> bool:
    return _spec(svc).get("type") != "ExternalName"


def needs_node_port(svc: dict) -> bool:
    return _spec(svc).get("type") in NEEDS_NODE_PORTS


def needs_health_check(svc: dict) -> bool:
    """apiservice.NeedsHealthCheck: a LoadBalancer that keeps traffic node-local."""
    spec = _spec(svc)
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def externally_accessible(svc: dict) -> bool:
    """apiservice.ExternallyAccessible: NodePort, LoadBalancer, or a ClusterIP with externalIPs."""
    spec = _spec(svc)
    return spec.get("type") in NEEDS_NODE_PORTS or \
        (spec.get("type") == "ClusterIP" and bool(spec.get("externalIPs")))


def should_allocate_node_ports(svc: dict) -> bool:
    """NodePort Services always; LoadBalancers unless allocateLoadBalancerNodePorts is false."""
    spec = _spec(svc)
    if spec.get("type") == "NodePort":
        return True
    if spec.get("type") == "LoadBalancer":
        return spec.get("allocateLoadBalancerNodePorts") is not False
    return False


def family_of(ip: str) -> str:
    try:
        return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"
    except ValueError:
        return "unknown"


def _cluster_ips(spec: dict) -> list[str]:
    return [str(ip) for ip in spec.get("clusterIPs") or ()]


def _node_ports(svc: dict) -> list[int]:
    """collectServiceNodePorts (alloc.go): every non-zero nodePort, in order."""
    return [p["nodePort"] for p in _ports(_spec(svc)) if p.get("nodePort")]


def normalize_cluster_ips(new: dict, old: dict | None) -> None:
    """Keep ``clusterIP`` and ``clusterIPs`` in step (normalizeClusterIPs)."""
    spec = _spec(new)
    if old is None:
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]  # an old client set only the singular
        return
    old_spec = _spec(old)
    if old_spec.get("clusterIPs") and not spec.get("clusterIPs") \
            and old_spec.get("clusterIP") == spec.get("clusterIP"):
        spec["clusterIPs"] = list(old_spec["clusterIPs"])  # an old client patched something
    if (old_spec.get("clusterIP") or "") != (spec.get("clusterIP") or ""):
        same = _cluster_ips(old_spec) == _cluster_ips(spec)
        if old_spec.get("clusterIP") and not spec.get("clusterIP"):
            if same:
                spec.pop("clusterIPs", None)  # clearing the singular clears the plural
        elif same:
            spec["clusterIPs"] = [spec["clusterIP"]]


def patch_allocated_values(new: dict, old: dict) -> None:
    """Fill in what the client left out but was allocated before (patchAllocatedValues)."""
    spec, old_spec = _spec(new), _spec(old)
    if needs_cluster_ip(old) and needs_cluster_ip(new):
        if not spec.get("clusterIP") and old_spec.get("clusterIP"):
            spec["clusterIP"] = old_spec["clusterIP"]
        if not spec.get("clusterIPs") and old_spec.get("clusterIPs"):
            spec["clusterIPs"] = list(old_spec["clusterIPs"])
    if needs_node_port(old) and needs_node_port(new):
        used = set(_node_ports(old)) & set(_node_ports(new))
        by_name = {p.get("name") or "": p.get("nodePort") or 0 for p in _ports(old_spec)}
        for port in _ports(spec):
            if not port.get("nodePort"):
                kept = by_name.get(port.get("name") or "", 0)
                if kept and kept not in used:
                    port["nodePort"] = kept
    if needs_health_check(old) and needs_health_check(new) and \
            not spec.get("healthCheckNodePort") and old_spec.get("healthCheckNodePort"):
        spec["healthCheckNodePort"] = old_spec["healthCheckNodePort"]


def default_on_read(svc: dict) -> None:
    """Fields a Service stored long ago may lack (defaultOnRead): clusterIPs, families."""
    normalize_cluster_ips(svc, None)
    spec = _spec(svc)
    if not needs_cluster_ip(svc) or spec.get("ipFamilies"):
        return
    if spec.get("clusterIP") == "None":
        return  # the policy and families of a headless Service are set when it is created
    spec["ipFamilies"] = [family_of(ip) for ip in _cluster_ips(spec)]
    if len(spec["ipFamilies"]) == 1:
        spec["ipFamilyPolicy"] = SINGLE_STACK


def drop_type_dependent_fields(new: dict, old: dict) -> None:
    """What a type change makes pointless, cleared unless the client changed it too.

    pkg/registry/core/service/strategy.go dropTypeDependentFields (the update
    strategy): ClusterIP -> ExternalName drops the cluster IPs and families,
    NodePort -> ClusterIP the node ports, and so on; what was allocated for
    them is released once the update is stored.
    """
    spec, old_spec = _spec(new), _spec(old)
    if needs_cluster_ip(old) and not needs_cluster_ip(new):
        if spec.get("clusterIP") == old_spec.get("clusterIP") and \
                _cluster_ips(spec) == _cluster_ips(old_spec):
            spec.pop("clusterIP", None)
            spec.pop("clusterIPs", None)
        if (spec.get("ipFamilies") or []) == (old_spec.get("ipFamilies") or []):
            spec.pop("ipFamilies", None)
        if spec.get("ipFamilyPolicy") == old_spec.get("ipFamilyPolicy"):
            spec.pop("ipFamilyPolicy", None)
    if needs_node_port(old) and not needs_node_port(new) and \
            set(_node_ports(new)) <= set(_node_ports(old)):
        for port in _ports(spec):
            port.pop("nodePort", None)
    if needs_health_check(old) and not needs_health_check(new) and \
            spec.get("healthCheckNodePort") == old_spec.get("healthCheckNodePort"):
        spec.pop("healthCheckNodePort", None)
    if old_spec.get("type") == "LoadBalancer" and spec.get("type") != "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not None and \
                spec.get("allocateLoadBalancerNodePorts") == \
                old_spec.get("allocateLoadBalancerNodePorts"):
            spec.pop("allocateLoadBalancerNodePorts")
        if spec.get("loadBalancerClass") == old_spec.get("loadBalancerClass"):
            spec.pop("loadBalancerClass", None)
    if externally_accessible(old) and not externally_accessible(new) and \
            spec.get("externalTrafficPolicy") == old_spec.get("externalTrafficPolicy"):
        spec.pop("externalTrafficPolicy", None)
    if spec.get("type") != "LoadBalancer":  # the load balancer's status goes with it
        new["status"] = {**(new.get("status") or {}), "loadBalancer": {}}


def _invalid(svc: dict, errs: list[FieldError]) -> Invalid:
    return Invalid("Service", (svc.get("metadata") or {}).get("name") or "", errs)


def new_allocators(sim: Simulation, store: Store, service_cidr: str,
                   node_port_range: str) -> ServiceAllocators:
    """The two ranges over their RangeAllocations in etcd (storage_core.go newServiceIPAllocators).

    ``service_cidr`` is ``--service-cluster-ip-range``, ``node_port_range``
    ``--service-node-port-range``; a malformed one is a ValueError.
    """
    network = ipaddress.ip_network(service_cidr, strict=False)  # net.ParseCIDR masks the host
    ip_bitmap = AllocationBitmap(ipallocator.usable_size(network), str(network),
                                 sim.rng("apiserver/service-ips"),
                                 ipallocator.calculate_range_offset(network))
    ips = ServiceIPRange(str(network), EtcdAllocator(ip_bitmap, store, SERVICE_IPS_KEY,
                                                     SERVICE_IPS_RESOURCE))
    port_range = PortRange.parse(node_port_range)
    port_bitmap = AllocationBitmap(port_range.size, str(port_range),
                                   sim.rng("apiserver/node-ports"),
                                   portallocator.calculate_range_offset(port_range))
    ports = PortAllocator(port_range, EtcdAllocator(port_bitmap, store, NODE_PORTS_KEY,
                                                    NODE_PORTS_RESOURCE))
    return ServiceAllocators(ips, ports)


class ServiceAllocators:
    """The ClusterIP range and the node port range, as the Service REST uses them (Allocators)."""

    def __init__(self, cluster_ips: ServiceIPRange, node_ports: PortAllocator) -> None:
        self.cluster_ips = cluster_ips
        self.node_ports = node_ports
        self.family = cluster_ips.family  # --service-cluster-ip-range[0]'s family, the default

    # -- the store's hooks -----------------------------------------------------------------------
    def begin_create(self, svc: dict, dry_run: bool = False) -> Transaction:
        """beginCreate: allocate what a new Service needs; commit or revert the result."""
        normalize_cluster_ips(svc, None)
        txn = Transaction()
        try:
            self._init_ip_family_fields(svc, None)
            self._alloc_cluster_ips(svc, txn, dry_run)
            self._alloc_node_ports(svc, txn, dry_run)
        except Exception:
            txn.revert()
            raise
        return txn

    def begin_update(self, new: dict, old: dict, dry_run: bool = False) -> Transaction:
        """beginUpdate: keep what was allocated, allocate or release what a type change asks."""
        old = _copy(old)
        default_on_read(old)
        patch_allocated_values(new, old)
        normalize_cluster_ips(new, old)
        txn = Transaction()
        try:
            self._init_ip_family_fields(new, old)
            self._update_cluster_ips(new, old, txn, dry_run)
            self._update_node_ports(new, old, txn, dry_run)
        except Exception:
            txn.revert()
            raise
        return txn

    def after_delete(self, svc: dict) -> None:
        """releaseAllocatedResources: the Service left etcd; its addresses and ports are free."""
        svc = _copy(svc)
        default_on_read(svc)
        if needs_cluster_ip(svc) and _spec(svc).get("clusterIP") != "None":
            for ip in _cluster_ips(_spec(svc)):
                if family_of(ip) == self.family:
                    _release(self.cluster_ips.release, ip)
        for port in _node_ports(svc):
            _release(self.node_ports.release, port)
        if needs_health_check(svc) and _spec(svc).get("healthCheckNodePort"):
            _release(self.node_ports.release, _spec(svc)["healthCheckNodePort"])

    # -- IP families (initIPFamilyFields, for a single-stack cluster) ----------------------------
    def _init_ip_family_fields(self, svc: dict, old: dict | None) -> None:
        """Settle ipFamilyPolicy and ipFamilies, refusing what this cluster cannot do."""
        spec = _spec(svc)
        if spec.get("type") == "ExternalName":
            return
        if old is not None and self._matching_prefer_dual_stack(svc, old):
            return
        if spec.get("ipFamilyPolicy") is None:
            old_policy = _spec(old).get("ipFamilyPolicy") if old is not None else None
            if old_policy is not None:
                spec["ipFamilyPolicy"] = old_policy
            elif spec.get("clusterIP") == "None" and not spec.get("selector"):
                spec["ipFamilyPolicy"] = REQUIRE_DUAL_STACK  # headless + selectorless
            else:
                spec["ipFamilyPolicy"] = SINGLE_STACK
        errs = validate_service_cluster_ips(svc)  # a loose pre-validation, as upstream
        if errs:
            raise _invalid(svc, errs)
        policy = spec["ipFamilyPolicy"]
        ips, families = _cluster_ips(spec), list(spec.get("ipFamilies") or [])
        errs = self._policy_errors(svc, old, policy, ips, families)
        for i, ip in enumerate(ips):
            if ip == "None":
                break
            if i >= len(families):
                if family_of(ip) != self.family:
                    errs.append(FieldError.invalid(Path("spec", "clusterIPs").index(i),
                                                   GoValue("[]string", ips),
                                                   f"{family_of(ip)} is not configured on this "
                                                   "cluster"))
                else:
                    families.append(family_of(ip))
        if errs:
            raise _invalid(svc, errs)
        if spec.get("clusterIP") == "None" and not spec.get("selector"):
            families = families or [self.family]
            if len(families) < 2 and policy != SINGLE_STACK:
                families.append("IPv6" if families[0] == "IPv4" else "IPv4")
            spec["ipFamilies"] = families
            return
        if policy == REQUIRE_DUAL_STACK:
            errs.append(FieldError.invalid(Path("spec", "ipFamilyPolicy"), policy,
                                           "this cluster is not configured for dual-stack "
                                           "services"))
        for i, family in enumerate(families):
            if family != self.family:
                errs.append(FieldError.invalid(Path("spec", "ipFamilies").index(i), family,
                                               "not configured on this cluster"))
        if errs:
            raise _invalid(svc, errs)
        spec["ipFamilies"] = families or [self.family]

    @staticmethod
    def _policy_errors(svc: dict, old: dict | None, policy: str, ips: list[str],
                       families: list[str]) -> list[FieldError]:
        """What ipFamilyPolicy forbids: two of anything when single-stack, dropping one if not."""
        spec, errs = _spec(svc), []
        path = Path("spec", "ipFamilyPolicy")
        if old is not None:
            old_spec = _spec(old)
            if policy == SINGLE_STACK:
                if ips == _cluster_ips(old_spec) and len(ips) > 1:
                    spec["clusterIPs"] = ips[:1]
                    del ips[1:]
                if families == list(old_spec.get("ipFamilies") or []) and len(families) > 1:
                    spec["ipFamilies"] = families[:1]
                    del families[1:]
            else:
                if ips and len(ips) < len(_cluster_ips(old_spec)):
                    errs.append(FieldError.invalid(path, policy, "must be 'SingleStack' to "
                                                   "release the secondary cluster IP"))
                if families and len(families) < len(old_spec.get("ipFamilies") or []):
                    errs.append(FieldError.invalid(path, policy, "must be 'SingleStack' to "
                                                   "release the secondary IP family"))
        if policy == SINGLE_STACK:
            if len(ips) == 2:
                errs.append(FieldError.invalid(path, policy, "must be 'RequireDualStack' or "
                                               "'PreferDualStack' when multiple cluster IPs are "
                                               "specified"))
            if len(families) == 2:
                errs.append(FieldError.invalid(path, policy, "must be 'RequireDualStack' or "
                                               "'PreferDualStack' when multiple IP families are "
                                               "specified"))
        return errs

    @staticmethod
    def _matching_prefer_dual_stack(new: dict, old: dict) -> bool:
        """isMatchingPreferDualStackClusterIPFields: a PreferDualStack update that changes none."""
        spec, old_spec = _spec(new), _spec(old)
        if spec.get("ipFamilyPolicy") is None or spec.get("type") != old_spec.get("type"):
            return False
        if spec.get("type") not in ("ClusterIP", "NodePort", "LoadBalancer"):
            return False
        if spec.get("ipFamilyPolicy") != PREFER_DUAL_STACK or \
                old_spec.get("ipFamilyPolicy") not in (None, PREFER_DUAL_STACK):
            return False
        return _cluster_ips(spec) == _cluster_ips(old_spec) and \
            list(spec.get("ipFamilies") or []) == list(old_spec.get("ipFamilies") or [])

    # -- ClusterIPs ------------------------------------------------------------------------------
    def _alloc_cluster_ips(self, svc: dict, txn: Transaction, dry_run: bool) -> None:
        """allocClusterIPs: the requested address, or a random one, for each family."""
        spec = _spec(svc)
        if not needs_cluster_ip(svc):
            return
        ips = _cluster_ips(spec)
        if ips and ips[0] == "None":
            return  # headless: no address
        families = list(spec.get("ipFamilies") or [self.family])
        ips += [""] * (len(families) - len(ips))
        for i, family in enumerate(families):
            if family != self.family:
                continue  # validated away above: a single-stack cluster has one range
            ips[i] = self._alloc_ip(svc, ips, ips[i], dry_run)
            if not dry_run:
                allocated = ips[i]
                txn.on_revert(lambda ip=allocated: _release(self.cluster_ips.release, ip))
        spec["clusterIPs"] = ips
        spec["clusterIP"] = ips[0]

    def _alloc_ip(self, svc: dict, ips: list[str], ip: str, dry_run: bool) -> str:
        """allocIPs for one family: a 500 when the range is full, a 422 for a bad request."""
        if not ip:
            try:
                return self.cluster_ips.allocate_next(dry_run=dry_run)
            except AllocatorError as err:
                raise InternalError(f"failed to allocate a serviceIP: {err}") from None
        try:
            self.cluster_ips.allocate(ip, dry_run=dry_run)
        except AllocatorError as err:
            raise _invalid(svc, [FieldError.invalid(
                Path("spec", "clusterIPs"), GoValue("[]string", [i for i in ips if i]),
                f"failed to allocate IP {ip}: {err}")]) from None
        return ip

    def _update_cluster_ips(self, new: dict, old: dict, txn: Transaction, dry_run: bool) -> None:
        """updateClusterIPs: allocate for ExternalName -> ClusterIP, release for the reverse."""
        if old is not None and self._matching_prefer_dual_stack(new, old):
            return
        old_spec = _spec(old)
        if not needs_cluster_ip(old) and needs_cluster_ip(new):
            self._alloc_cluster_ips(new, txn, dry_run)
            return
        if old_spec.get("clusterIP") == "None":
            return  # headless: nothing was allocated
        if needs_cluster_ip(old) and not needs_cluster_ip(new) and not dry_run:
            for ip in _cluster_ips(old_spec):
                if family_of(ip) == self.family:
                    txn.on_commit(lambda ip=ip: _release(self.cluster_ips.release, ip))

    # -- NodePorts -------------------------------------------------------------------------------
    def _alloc_node_ports(self, svc: dict, txn: Transaction, dry_run: bool) -> None:
        """txnAllocNodePorts: node ports for NodePort and LoadBalancer, a health check port."""
        op = PortAllocationOperation(self.node_ports, dry_run)
        txn.on_commit(op.commit)
        txn.on_revert(op.finish)
        if needs_node_port(svc):
            self._init_node_ports(svc, op)
        if needs_health_check(svc):
            self._alloc_health_check_port(svc, op)

    def _init_node_ports(self, svc: dict, op: PortAllocationOperation) -> None:
        """initNodePorts: ports with the same number share a node port; requests first."""
        ports = _ports(_spec(svc))
        by_port: dict[Any, int] = {}
        for i, port in enumerate(ports):
            if not port.get("nodePort") and not should_allocate_node_ports(svc):
                continue  # don't allocate new ports, but do respect specific requests
            shared = by_port.get(port.get("port"))
            if shared is None:
                requested = next((p["nodePort"] for p in ports if p.get("port") ==
                                  port.get("port") and p.get("nodePort")), 0)
                if requested:
                    self._alloc_port(svc, op, i, requested)
                    port["nodePort"] = requested
                else:
                    port["nodePort"] = self._alloc_next_port(op)
                by_port[port.get("port")] = port["nodePort"]
            elif port.get("nodePort") != shared:
                if not port.get("nodePort"):
                    port["nodePort"] = shared
                else:
                    self._alloc_port(svc, op, i, port["nodePort"])

    @staticmethod
    def _alloc_port(svc: dict, op: PortAllocationOperation, i: int, port: int) -> None:
        try:
            op.allocate(port)
        except AllocatorError as err:
            raise _invalid(svc, [FieldError.invalid(
                Path("spec", "ports").index(i).child("nodePort"), port, str(err))]) from None

    @staticmethod
    def _alloc_next_port(op: PortAllocationOperation) -> int:
        try:
            return op.allocate_next()
        except AllocatorError as err:
            raise InternalError(f"failed to allocate a nodePort: {err}") from None

    def _alloc_health_check_port(self, svc: dict, op: PortAllocationOperation) -> None:
        """allocHealthCheckNodePort: the requested one, or any."""
        spec = _spec(svc)
        requested = spec.get("healthCheckNodePort")
        if not requested:
            try:
                spec["healthCheckNodePort"] = op.allocate_next()
            except AllocatorError as err:
                raise InternalError(f"failed to allocate a HealthCheck NodePort 0: {err}") \
                    from None
            return
        try:
            op.allocate(requested)
        except AllocatorError as err:
            # Upstream answers a 500 here; the request is at fault, so kubelearn says 422.
            raise _invalid(svc, [FieldError.invalid(
                Path("spec", "healthCheckNodePort"), requested,
                f"failed to allocate requested HealthCheck NodePort {requested}: {err}")]) \
                from None

    def _update_node_ports(self, new: dict, old: dict, txn: Transaction, dry_run: bool) -> None:
        """txnUpdateNodePorts: release what a type change drops, allocate what it adds."""
        op = PortAllocationOperation(self.node_ports, dry_run)
        txn.on_commit(op.commit)
        txn.on_revert(op.finish)
        if needs_node_port(old) and not needs_node_port(new):
            for port in _node_ports(old):
                op.release_later(port)
        if needs_node_port(new):
            self._update_ports(new, old, op)
        was, now = needs_health_check(old), needs_health_check(new)
        if not was and now:
            self._alloc_health_check_port(new, op)
        elif was and not now and _spec(old).get("healthCheckNodePort"):
            op.release_later(_spec(old)["healthCheckNodePort"])

    def _update_ports(self, new: dict, old: dict, op: PortAllocationOperation) -> None:
        """updateNodePorts: keep the old ports, take the new ones, release the dropped ones."""
        old_ports = _node_ports(old)
        taken: set[int] = set()
        for i, port in enumerate(_ports(_spec(new))):
            if not port.get("nodePort") and not should_allocate_node_ports(new):
                continue
            if port.get("nodePort"):
                if port["nodePort"] not in old_ports and port["nodePort"] not in taken:
                    self._alloc_port(new, op, i, port["nodePort"])
                    taken.add(port["nodePort"])
            else:
                port["nodePort"] = self._alloc_next_port(op)
        kept = set(_node_ports(new))
        for port in old_ports:
            if port not in kept:
                op.release_later(port)


def _release(release: Callable[[Any], None], item: Any) -> None:
    """Give an item back; if etcd will not take it now, the repair loop will
    ("these should be caught by an eventual reconciliation", alloc.go)."""
    try:
        release(item)
    except AllocatorError:
        pass


def _copy(svc: dict) -> dict:
    """A copy deep enough for the hooks to change spec and its ports."""
    spec = dict(svc.get("spec") or {})
    spec["ports"] = [dict(p) if isinstance(p, dict) else p for p in spec.get("ports") or ()]
    return {**svc, "spec": spec}
