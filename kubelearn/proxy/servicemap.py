"""What kube-proxy makes of Services and EndpointSlices: service ports and their endpoints.

kube-proxy never programs a Service object directly. Each Service becomes one
:class:`ServicePort` per port (pkg/proxy/serviceport.go ``BaseServicePortInfo``),
keyed by namespace, name, port name and protocol; each EndpointSlice port becomes a
sorted list of :class:`Endpoint` for the service port of the same name
(pkg/proxy/endpointslicecache.go). Two change trackers remember what changed
since the last sync, so a sync can rewrite only the Services that changed:

- :class:`ServiceChangeTracker` (servicechangetracker.go): the ports before and
  after, per Service; a change that leaves the ports as they were is no change
  (a new label on a Service does not make kube-proxy sync);
- :class:`EndpointsChangeTracker` (endpointschangetracker.go over
  endpointslicecache.go): the slices of each Service, pending and applied; any
  slice write is a change.

:func:`categorize_endpoints` is pkg/proxy/topology.go ``CategorizeEndpoints``:
which endpoints "Cluster" and "Local" traffic policies may use -- ready ones, or,
when none is ready, the serving-and-terminating ones (ProxyTerminatingEndpoints, GA
since v1.28) -- and whether the Service has any usable endpoint anywhere.

Topology hints: an endpoint's ``hints.forZones`` are read, and used as v1.32's
canUseTopology does -- only for a Service with the topology annotation
(``service.kubernetes.io/topology-mode``, or the deprecated ``topology-aware-hints``)
or a ``spec.trafficDistribution``, a node with a ``topology.kubernetes.io/zone``
label, every ready endpoint hinted and one hinted for this zone. kubelearn's
EndpointSlice controller writes no hints, so in a kubelearn cluster this never
narrows anything; hand-written slices can try it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

# core/v1 well-known labels and annotations (k8s.io/api/core/v1/well_known_labels.go,
# annotation_key_constants.go, discovery/v1/well_known_labels.go).
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
ANNOTATION_TOPOLOGY_MODE = "service.kubernetes.io/topology-mode"
DEPRECATED_ANNOTATION_TOPOLOGY_AWARE_HINTS = "service.kubernetes.io/topology-aware-hints"
# v1.DefaultClientIPServiceAffinitySeconds: what the API server defaults timeoutSeconds to.
DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800

ServicePortName = tuple[str, str, str, str]  # namespace, name, port name, protocol


def port_name_string(namespace: str, name: str, port_name: str) -> str:
    """ServicePortName.String(): ``ns/name:port``, or ``ns/name`` for an unnamed port."""
    return f"{namespace}/{name}:{port_name}" if port_name else f"{namespace}/{name}"


def _ipv4(text: Any) -> str | None:
    """The address as IPv4 text, or None (kube-proxy's IPv4 proxier skips the others)."""
    try:
        address = ipaddress.ip_address(str(text).strip())
    except ValueError:
        return None
    return str(address) if address.version == 4 else None


def _ipv4_cidr(text: Any) -> str | None:
    """MapCIDRsByIPFamily: trimmed and parsed (host bits cleared, as net.ParseCIDR does)."""
    try:
        network = ipaddress.ip_network(str(text).strip(), strict=False)
    except ValueError:
        return None
    return str(network) if network.version == 4 else None


# -- service ports (serviceport.go, servicechangetracker.go) -----------------------------------

@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port of one Service, as kube-proxy sees it (BaseServicePortInfo)."""

    namespace: str
    name: str
    port_name: str
    protocol: str  # "TCP", "UDP" or "SCTP"
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_vips: tuple[str, ...] = ()
    load_balancer_source_ranges: tuple[str, ...] = ()
    session_affinity_client_ip: bool = False
    sticky_max_age_seconds: int = 0
    external_policy_local: bool = False
    internal_policy_local: bool = False
    health_check_node_port: int = 0
    hints_annotation: str = ""
    traffic_distribution: str = ""
    name_string: str = field(init=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "name_string",
                           port_name_string(self.namespace, self.name, self.port_name))

    @property
    def key(self) -> ServicePortName:
        return (self.namespace, self.name, self.port_name, self.protocol)

    @property
    def service(self) -> str:
        """The Service's ``namespace/name``."""
        return f"{self.namespace}/{self.name}"

    @property
    def externally_accessible(self) -> bool:
        """Reachable by a NodePort, a load-balancer IP or an external IP."""
        return bool(self.node_port or self.load_balancer_vips or self.external_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        """Cluster endpoints are used unless iTP is Local and nothing external reaches it.

        Even with externalTrafficPolicy Local they are needed, for the short circuit
        that sends pods' traffic to an external address to every endpoint.
        """
        return not self.internal_policy_local or self.externally_accessible

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_policy_local or (self.external_policy_local
                                              and self.externally_accessible)


def _externally_accessible(spec: Mapping[str, Any]) -> bool:
    """pkg/api/v1/service ExternallyAccessible."""
    kind = spec.get("type") or "ClusterIP"
    return kind in ("LoadBalancer", "NodePort") or (kind == "ClusterIP"
                                                    and bool(spec.get("externalIPs")))


def should_skip_service(svc: Mapping[str, Any]) -> bool:
    """proxyutil.ShouldSkipService: headless (no cluster IP) and ExternalName get no rules."""
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    return not ip or ip == "None" or spec.get("type") == "ExternalName"


def service_ports(svc: Mapping[str, Any] | None) -> dict[ServicePortName, ServicePort]:
    """serviceToServiceMap: the Service's ports (empty for one kube-proxy skips)."""
    if svc is None or should_skip_service(svc):
        return {}
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    cluster_ip = _ipv4(spec["clusterIP"])  # GetClusterIPByFamily, IPv4 proxier
    if cluster_ip is None:
        return {}
    external_local = _externally_accessible(spec) and \
        spec.get("externalTrafficPolicy") == "Local"
    internal_local = spec.get("internalTrafficPolicy") == "Local"
    affinity = spec.get("sessionAffinity") == "ClientIP"
    sticky = 0
    if affinity:
        client_ip = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {})
        sticky = int(client_ip.get("timeoutSeconds") or DEFAULT_CLIENT_IP_AFFINITY_SECONDS)
    annotations = meta.get("annotations") or {}
    hints = annotations.get(DEPRECATED_ANNOTATION_TOPOLOGY_AWARE_HINTS,
                            annotations.get(ANNOTATION_TOPOLOGY_MODE, ""))
    external_ips = tuple(ip for ip in map(_ipv4, spec.get("externalIPs") or []) if ip)
    ranges = tuple(c for c in map(_ipv4_cidr, spec.get("loadBalancerSourceRanges") or []) if c)
    vips = []
    for ingress in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ingress.get("ip") and ingress.get("ipMode", "VIP") == "VIP":  # proxyutil.IsVIPMode
            ip = _ipv4(ingress["ip"])
            if ip:
                vips.append(ip)
    # apiservice.NeedsHealthCheck: LoadBalancer with externalTrafficPolicy Local
    health = int(spec.get("healthCheckNodePort") or 0) \
        if spec.get("type") == "LoadBalancer" and external_local else 0
    ports = {}
    for port in spec.get("ports") or []:
        sp = ServicePort(
            namespace=meta.get("namespace") or "default", name=meta.get("name") or "",
            port_name=port.get("name") or "", protocol=port.get("protocol") or "TCP",
            cluster_ip=cluster_ip, port=int(port.get("port") or 0),
            node_port=int(port.get("nodePort") or 0), external_ips=external_ips,
            load_balancer_vips=tuple(vips), load_balancer_source_ranges=ranges,
            session_affinity_client_ip=affinity, sticky_max_age_seconds=sticky,
            external_policy_local=external_local, internal_policy_local=internal_local,
            health_check_node_port=health, hints_annotation=hints,
            traffic_distribution=spec.get("trafficDistribution") or "")
        ports[sp.key] = sp
    return ports


class ServiceChangeTracker:
    """The ports of each changed Service before and after, since the last sync."""

    def __init__(self) -> None:
        # "ns/name" -> (ports before, ports now)
        self.items: dict[str, tuple[dict, dict]] = {}

    def __len__(self) -> int:
        return len(self.items)

    def update(self, previous: Mapping[str, Any] | None,
               current: Mapping[str, Any] | None) -> bool:
        """ServiceChangeTracker.Update: remember the change; True if any change is pending."""
        svc = current if current is not None else previous
        if svc is None:
            return False
        key = f"{svc['metadata'].get('namespace')}/{svc['metadata'].get('name')}"
        before = self.items[key][0] if key in self.items else service_ports(previous)
        after = service_ports(current)
        if before == after:  # reflect.DeepEqual(change.previous, change.current)
            self.items.pop(key, None)
        else:
            self.items[key] = (before, after)
        return bool(self.items)

    def checkout(self) -> dict[str, tuple[dict, dict]]:
        items, self.items = self.items, {}
        return items


def apply_service_changes(port_map: dict[ServicePortName, ServicePort],
                          tracker: ServiceChangeTracker) -> set[str]:
    """ServicePortMap.Update: apply the pending changes; the Services ("ns/name") updated."""
    updated = set()
    for key, (before, after) in tracker.checkout().items():
        updated.add(key)
        for name in before:
            port_map.pop(name, None)
        port_map.update(after)
    return updated


# -- endpoints (endpointslicecache.go, endpointschangetracker.go) ------------------------------

class Endpoint(NamedTuple):
    """One backend of one service port (BaseEndpointInfo)."""

    ip: str
    port: int
    node_name: str | None = None
    is_local: bool = False
    ready: bool = True
    serving: bool = True
    terminating: bool = False
    zone_hints: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"

    @property
    def address(self) -> str:
        """``ip:port``, what the KUBE-SEP chain DNATs to."""
        return f"{self.ip}:{self.port}"


def slice_endpoints(eps: Mapping[str, Any], node_name: str
                    ) -> dict[ServicePortName, dict[str, Endpoint]]:
    """endpointInfoByServicePort for one slice: its endpoints for each of its ports."""
    meta = eps.get("metadata") or {}
    service = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME, "")
    out: dict[ServicePortName, dict[str, Endpoint]] = {}
    for port in eps.get("ports") or []:
        if port.get("name") is None or not port.get("port"):
            continue  # "Ignoring port with nil name" / "Ignoring invalid endpoint port"
        key = (meta.get("namespace") or "", service, port["name"], port.get("protocol") or "TCP")
        out[key] = add_endpoints({}, int(port["port"]), eps.get("endpoints") or [], node_name)
    return out


def add_endpoints(endpoint_set: dict[str, Endpoint], port: int,
                  endpoints: Iterable[Mapping[str, Any]], node_name: str) -> dict[str, Endpoint]:
    """addEndpoints: one Endpoint per address; a terminating duplicate loses to a live one."""
    for endpoint in endpoints:
        addresses = endpoint.get("addresses")
        if not addresses:
            continue  # "Ignoring invalid endpoint port with empty address"
        conditions = endpoint.get("conditions") or _NO_CONDITIONS
        ready = conditions.get("ready")
        serving = conditions.get("serving")
        terminating = bool(conditions.get("terminating"))
        hints = endpoint.get("hints")
        zones = frozenset(h.get("name") for h in hints.get("forZones") or [] if h.get("name")) \
            if hints else _NO_ZONES
        ip = str(addresses[0])
        key = f"{ip}:{port}"
        if key in endpoint_set and terminating:
            continue
        node = endpoint.get("nodeName")
        endpoint_set[key] = Endpoint(ip, port, node, bool(node_name) and node == node_name,
                                     ready is None or bool(ready),
                                     serving is None or bool(serving), terminating, zones)
    return endpoint_set


_NO_CONDITIONS: Mapping[str, Any] = {}
_NO_ZONES: frozenset[str] = frozenset()


def _endpoints_of(slices: Mapping[str, Mapping[str, Any]],
                  node_name: str) -> dict[ServicePortName, list[Endpoint]]:
    """getEndpointsMap: merge the slices' endpoints per port, sorted by ``ip:port`` string."""
    merged: dict[ServicePortName, dict[str, Endpoint]] = {}
    for eps in slices.values():
        for key, endpoints in slice_endpoints(eps, node_name).items():
            merged.setdefault(key, {}).update(
                {k: v for k, v in endpoints.items()
                 if k not in merged.get(key, {}) or not v.terminating})
    # "Ensure endpoints are always returned in the same order to simplify diffing."
    return {key: sorted(eps.values(), key=str) for key, eps in merged.items() if eps}


class EndpointsChangeTracker:
    """Each Service's EndpointSlices, as applied by the last sync and as pending since."""

    def __init__(self, node_name: str, address_type: str = "IPv4") -> None:
        self.node_name = node_name
        self.address_type = address_type
        # "ns/svc" -> slice name -> the slice (pending: None when it is to be removed)
        self.applied: dict[str, dict[str, Mapping[str, Any]]] = {}
        self.pending: dict[str, dict[str, Mapping[str, Any] | None]] = {}
        self.trigger_times: dict[str, list[str]] = {}  # last-change-trigger-time annotations

    def __len__(self) -> int:
        return len(self.pending)

    def endpoint_slice_update(self, eps: Mapping[str, Any], remove: bool = False) -> bool:
        """EndpointSliceUpdate: note the slice (or its removal); True if that is a change."""
        if eps.get("addressType") != self.address_type:
            return False
        meta = eps.get("metadata") or {}
        service = (meta.get("labels") or {}).get(LABEL_SERVICE_NAME)
        if not service or not meta.get("name"):
            return False  # "no kubernetes.io/service-name label set on endpoint slice"
        key, name = f"{meta.get('namespace')}/{service}", meta["name"]
        value = None if remove else eps
        pending = self.pending.get(key, {})
        if name in pending:
            changed = pending[name] != value
        elif name in self.applied.get(key, {}):
            changed = self.applied[key][name] != value
        else:
            changed = not remove
        if changed:
            self.pending.setdefault(key, {})[name] = value
            trigger = (meta.get("annotations") or {}).get(
                "endpoints.kubernetes.io/last-change-trigger-time")
            if remove:
                self.trigger_times.pop(key, None)
            elif trigger:
                self.trigger_times.setdefault(key, []).append(trigger)
        return changed

    def checkout(self) -> dict[str, tuple[dict, dict]]:
        """checkoutChanges: each changed Service's endpoints before and after; pending applied."""
        changes = {}
        for key, pending in self.pending.items():
            applied = self.applied.setdefault(key, {})
            before = _endpoints_of(applied, self.node_name)
            for name, eps in pending.items():
                if eps is None:
                    applied.pop(name, None)
                else:
                    applied[name] = eps
            if not applied:
                del self.applied[key]
            changes[key] = (before, _endpoints_of(applied, self.node_name))
        self.pending = {}
        return changes


def apply_endpoint_changes(endpoints_map: dict[ServicePortName, list[Endpoint]],
                           tracker: EndpointsChangeTracker) -> tuple[set[str], dict]:
    """EndpointsMap.Update: apply the changes; the Services updated, and their trigger times."""
    updated = set()
    for key, (before, after) in tracker.checkout().items():
        updated.add(key)
        for name in before:
            endpoints_map.pop(name, None)
        endpoints_map.update(after)
    triggers, tracker.trigger_times = tracker.trigger_times, {}
    return updated, triggers


# -- which endpoints each traffic policy uses (topology.go) ------------------------------------

class Categorized(NamedTuple):
    """CategorizeEndpoints' four results."""

    cluster: list[Endpoint]
    local: list[Endpoint]
    all_reachable: list[Endpoint]
    has_any: bool


def can_use_topology(endpoints: list[Endpoint], sp: ServicePort,
                     node_labels: Mapping[str, str] | None) -> bool:
    """canUseTopology: hints asked for, a zone label, all ready endpoints hinted, one for us."""
    if sp.hints_annotation in ("", "disabled", "Disabled") and not sp.traffic_distribution:
        return False
    zone = (node_labels or {}).get(LABEL_TOPOLOGY_ZONE)
    if not zone:
        return False
    ready = [ep for ep in endpoints if ep.ready]
    if any(not ep.zone_hints for ep in ready):
        return False
    return any(zone in ep.zone_hints for ep in ready)


def categorize_endpoints(endpoints: list[Endpoint], sp: ServicePort, node_name: str,
                         node_labels: Mapping[str, str] | None = None) -> Categorized:
    """CategorizeEndpoints: usable Cluster and Local endpoints, all reachable, any anywhere.

    "Usable" means ready; when no endpoint is ready (independently for Cluster and
    Local), serving-and-terminating ones stand in.
    """
    cluster: list[Endpoint] = []
    local: list[Endpoint] = []
    has_any = False
    topology = False
    if sp.uses_cluster_endpoints:
        topology = can_use_topology(endpoints, sp, node_labels)
        zone = (node_labels or {}).get(LABEL_TOPOLOGY_ZONE)
        cluster = [ep for ep in endpoints
                   if ep.ready and (not topology or zone in ep.zone_hints)]
        if not cluster:
            cluster = [ep for ep in endpoints if ep.serving and ep.terminating]
        has_any = bool(cluster)
    if not sp.uses_local_endpoints:
        return Categorized(cluster, local, cluster, has_any)
    local_ready = local_terminating = False
    for ep in endpoints:
        if ep.ready:
            has_any = True
            local_ready = local_ready or ep.is_local
        elif ep.serving and ep.terminating:
            has_any = True
            local_terminating = local_terminating or ep.is_local
    serving_terminating = False
    if local_ready:
        local = [ep for ep in endpoints if ep.is_local and ep.ready]
    elif local_terminating:
        serving_terminating = True
        local = [ep for ep in endpoints if ep.is_local and ep.serving and ep.terminating]
    if not sp.uses_cluster_endpoints:
        return Categorized(cluster, local, local, has_any)
    if not topology and not serving_terminating:
        return Categorized(cluster, local, cluster, has_any)  # cluster holds every local one
    merged = {str(ep): ep for ep in cluster}
    merged.update({str(ep): ep for ep in local})
    return Categorized(cluster, local, list(merged.values()), has_any)
