"""The Endpoints controller: a Service's pod addresses, ready and not (pkg/controller/endpoint).

A Service names its pods by a label selector; kube-proxy needs their
addresses. For every Service with a selector, the controller keeps an
``Endpoints`` object of the same name (``syncService``):

1. it lists the pods the selector matches (from its cache) and skips those
   that cannot take traffic (:func:`should_pod_be_in_endpoints`): finished
   (``Succeeded``/``Failed``), without an IP yet, or terminating
   (``deletionTimestamp``) -- unless the Service says
   ``publishNotReadyAddresses``;
2. each remaining pod becomes an address (``ip``, ``nodeName``, ``targetRef``)
   for each Service port, its ``targetPort`` resolved on that pod
   (:func:`find_port`: a number as is, a name looked up among the pod's
   container ports); a pod that is Ready goes to ``addresses``, one that is
   not to ``notReadyAddresses``;
3. the addresses are repacked into subsets (:func:`repack_subsets`): ports
   served by the same addresses share one subset;
4. if that differs from what is stored, it writes the object -- with the
   ``endpoints.kubernetes.io/last-change-trigger-time`` annotation (when the
   change that caused it happened, for latency measurements), the Service's
   labels (plus ``endpoints.kubernetes.io/managed-by: endpoint-controller`` from
   v1.33), and ``service.kubernetes.io/headless`` for a Service without a cluster IP,
   and at most 1000 addresses (``endpoints.kubernetes.io/over-capacity:
   truncated`` beyond that).

A Service without a selector is left alone (its Endpoints are yours to
write); a deleted Service's Endpoints are deleted. The handlers only decide
which Services a pod change touches (:func:`services_to_update_on_pod_change`);
the sync does the rest. The EndpointSlice controller
(:mod:`kubelearn.controllers.endpointslice`) shares these helpers, as
upstream's ``k8s.io/endpointslice/util``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from kubelearn.api import LabelSelector, NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE
from kubelearn.client import Client
from kubelearn.controllers.events import WARNING, EventRecorder
from kubelearn.controllers.informer import SharedInformerFactory, WorkQueue, object_key
from kubelearn.controllers.replicaset import is_pod_ready
from kubelearn.sim import Simulation
from kubelearn.version import since

COMPONENT = "endpoint-controller"
# endpoints_controller.go maxRetries: a failing service is retried 15 times (5ms ... 82s),
# then dropped out of the queue until it changes again.
MAX_RETRIES = 15

# pkg/controller/endpoint/endpoints_controller.go maxCapacity: at most this many addresses
# in one Endpoints object; the rest are dropped and the object annotated.
MAX_CAPACITY = 1000
TRUNCATED = "truncated"
# k8s.io/api/core/v1 annotation and label keys.
LAST_CHANGE_TRIGGER_TIME = "endpoints.kubernetes.io/last-change-trigger-time"
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
IS_HEADLESS_SERVICE = "service.kubernetes.io/headless"
# endpoints_controller.go LabelManagedBy / ControllerName, added in v1.33 (PR #130564,
# KEP-4974): from then the Endpoints this controller writes say so. v1.32 writes none.
LABEL_MANAGED_BY = "endpoints.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpoint-controller"
# kube-controller-manager --endpoint-updates-batch-period: 0, a pod change is synced at once.
ENDPOINT_UPDATES_BATCH_PERIOD = 0.0


# -- which pods, which ports (k8s.io/endpointslice/util) -----------------------------------------

def has_selector(svc: Mapping[str, Any]) -> bool:
    """``spec.selector != nil``: a Service without one gets no endpoints from a controller.

    An empty selector is dropped on the way to etcd (``omitempty``), so it counts as none.
    """
    return bool((svc.get("spec") or {}).get("selector"))


def selects(svc: Mapping[str, Any], pod: Mapping[str, Any]) -> bool:
    """The Service's selector (a plain label set) matches the pod, in the same namespace."""
    return (has_selector(svc)
            and svc["metadata"].get("namespace") == pod["metadata"].get("namespace")
            and LabelSelector.from_set(svc["spec"]["selector"]).matches(
                pod["metadata"].get("labels")))


def should_pod_be_in_endpoints(pod: Mapping[str, Any], include_terminating: bool) -> bool:
    """ShouldPodBeInEndpoints: not finished, has an IP, and (unless included) not terminating."""
    status = pod.get("status") or {}
    if status.get("phase") in ("Succeeded", "Failed"):
        return False
    if not status.get("podIP") and not status.get("podIPs"):
        return False
    return include_terminating or not pod["metadata"].get("deletionTimestamp")


def should_set_hostname(pod: Mapping[str, Any], svc: Mapping[str, Any]) -> bool:
    """ShouldSetHostname: the pod has a hostname and names this Service as its subdomain."""
    spec = pod.get("spec") or {}
    return (bool(spec.get("hostname")) and spec.get("subdomain") == svc["metadata"]["name"]
            and svc["metadata"].get("namespace") == pod["metadata"].get("namespace"))


def find_port(pod: Mapping[str, Any], service_port: Mapping[str, Any]) -> int | None:
    """podutil.FindPort: the pod's port for a Service port's ``targetPort`` (None: no such port).

    A number is taken as is; a name is looked up among the containers' ports of
    the same protocol, then among sidecars' (init containers with
    ``restartPolicy: Always``).
    """
    target = service_port.get("targetPort")
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():  # an IntOrString that came as "8080"
        return int(target)
    protocol = service_port.get("protocol") or "TCP"
    spec = pod.get("spec") or {}
    sidecars = [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
    for container in list(spec.get("containers") or []) + sidecars:
        for port in container.get("ports") or []:
            if port.get("name") == target and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def service_keys_for_pod(services: Mapping[str, Mapping[str, Any]],
                         pod: Mapping[str, Any]) -> set[str]:
    """GetPodServiceMemberships: the keys of the Services whose selector matches the pod."""
    return {key for key, svc in services.items() if selects(svc, pod)}


def _pod_ips(pod: Mapping[str, Any]) -> list[str]:
    return [ip.get("ip") for ip in (pod.get("status") or {}).get("podIPs") or []]


def pod_endpoints_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> tuple[bool, bool]:
    """podEndpointsChanged: (may its endpoints have changed, may its Services have changed)."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    labels_changed = (old["metadata"].get("labels") != new["metadata"].get("labels")
                      or old_spec.get("hostname") != new_spec.get("hostname")
                      or old_spec.get("subdomain") != new_spec.get("subdomain"))
    pod_changed = (old["metadata"].get("deletionTimestamp") != new["metadata"].get(
                       "deletionTimestamp")
                   or is_pod_ready(old) != is_pod_ready(new)
                   or _pod_ips(old) != _pod_ips(new))
    return pod_changed, labels_changed


def services_to_update_on_pod_change(services: Mapping[str, Mapping[str, Any]],
                                     old: Mapping[str, Any], new: Mapping[str, Any]) -> set[str]:
    """GetServicesToUpdateOnPodChange: the Services a pod update may have touched."""
    if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
        return set()  # a resync, not a change
    pod_changed, labels_changed = pod_endpoints_changed(old, new)
    if not pod_changed and not labels_changed:
        return set()
    keys = service_keys_for_pod(services, new)
    if labels_changed:
        old_keys = service_keys_for_pod(services, old)
        # determineNeededServiceUpdates: all of both, or only those it joined or left
        keys = keys | old_keys if pod_changed else keys ^ old_keys
    return keys


# -- the trigger time annotation -----------------------------------------------------------------

def parse_time(timestamp: str | None) -> datetime | None:
    """An RFC 3339 timestamp as an aware datetime (None for none)."""
    if not timestamp:
        return None
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def format_time(moment: datetime) -> str:
    """Go's ``time.RFC3339Nano`` in UTC: ``2024-01-01T00:00:05Z``, fractions without trailing 0s."""
    moment = moment.astimezone(timezone.utc)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _ready_transition(pod: Mapping[str, Any]) -> datetime | None:
    """getPodTriggerTime: when the pod's Ready condition last changed."""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return parse_time(condition.get("lastTransitionTime"))
    return None


class TriggerTimeTracker:
    """util.TriggerTimeTracker: when did the change that this sync writes out happen?

    It remembers, per Service, the Service's and each pod's trigger time seen at
    the last sync (a pod's is its Ready condition's ``lastTransitionTime``); the
    earliest one that moved since is the answer. A Service seen for the first
    time answers with its creationTimestamp.
    """

    def __init__(self) -> None:
        self.states: dict[str, tuple[datetime | None, dict[str, datetime]]] = {}

    def compute(self, key: str, svc: Mapping[str, Any],
                pods: list[Mapping[str, Any]]) -> datetime | None:
        """ComputeEndpointLastChangeTriggerTime (None: no annotation)."""
        known = key in self.states
        last_service, last_pods = self.states.get(key, (None, {}))
        earliest: datetime | None = None
        pod_times: dict[str, datetime] = {}
        for pod in pods:
            moment = _ready_transition(pod)
            if moment is None:
                continue
            name = pod["metadata"]["name"]
            pod_times[name] = moment
            if name not in last_pods or moment > last_pods[name]:
                earliest = moment if earliest is None else min(earliest, moment)
        created = parse_time(svc["metadata"].get("creationTimestamp"))
        if created is not None and (last_service is None or created > last_service):
            earliest = created if earliest is None else min(earliest, created)
        self.states[key] = (created, pod_times)
        return earliest if known else created

    def delete_service(self, key: str) -> None:
        """DeleteService."""
        self.states.pop(key, None)


# -- subsets -------------------------------------------------------------------------------------

def _address_key(address: Mapping[str, Any]) -> tuple[str, str]:
    """Addresses are told apart by IP and the pod's UID (mapAddressByPort's addressKey)."""
    return (str(address.get("ip", "")), str((address.get("targetRef") or {}).get("uid", "")))


_SENTINEL = {"port": -1}  # "Don't discard endpoints with no ports defined, use a sentinel."


def _port_key(port: Mapping[str, Any]) -> tuple:
    return (port.get("name", ""), port.get("port", 0), port.get("protocol", ""),
            port.get("appProtocol", ""))


def repack_subsets(subsets: list[dict]) -> list[dict]:
    """endpoints.RepackSubsets: one subset per set of addresses, holding all the ports they serve.

    The per-pod, per-port subsets the sync builds are expanded to (port,
    address, ready) and packed again: ports offered by exactly the same
    addresses share a subset. An address not ready for a port is not ready
    there, whatever another entry says. Addresses are sorted by IP then pod UID
    (LessEndpointAddress). Subsets without ports (a headless Service without
    any) are packed under a sentinel port that is stripped again.
    """
    addresses: dict[tuple[str, str], dict] = {}
    ports: dict[tuple, dict] = {}
    ready_by_port: dict[tuple, dict[tuple[str, str], bool]] = {}
    for subset in subsets:
        for port in subset.get("ports") or [_SENTINEL]:
            pkey = _port_key(port)
            ports.setdefault(pkey, port)
            by_address = ready_by_port.setdefault(pkey, {})
            for field, ready in (("addresses", True), ("notReadyAddresses", False)):
                for address in subset.get(field) or []:
                    akey = _address_key(address)
                    addresses.setdefault(akey, address)
                    if by_address.get(akey, True):  # not ready always trumps ready
                        by_address[akey] = ready
    groups: dict[frozenset, list[tuple]] = {}
    for pkey, by_address in ready_by_port.items():
        groups.setdefault(frozenset(by_address.items()), []).append(pkey)
    packed = []
    for members, pkeys in groups.items():
        ready = sorted(akey for akey, is_ready in members if is_ready)
        not_ready = sorted(akey for akey, is_ready in members if not is_ready)
        subset: dict[str, Any] = {}
        if ready:
            subset["addresses"] = [addresses[a] for a in ready]
        if not_ready:
            subset["notReadyAddresses"] = [addresses[a] for a in not_ready]
        if pkeys != [_port_key(_SENTINEL)]:
            subset["ports"] = [ports[p] for p in sorted(pkeys, key=_sortable)]
        packed.append(subset)
    return sorted(packed, key=_subset_order)


def _sortable(key: tuple) -> tuple:
    return tuple(str(part) if not isinstance(part, int) else f"{part:08d}" for part in key)


def _subset_order(subset: Mapping[str, Any]) -> tuple:
    """A stable order of subsets (upstream sorts by a hash that includes Go pointers)."""
    first = (subset.get("addresses") or subset.get("notReadyAddresses") or [{}])[0]
    return (_address_key(first), [_sortable(_port_key(p)) for p in subset.get("ports") or []])


def count_addresses(subsets: list[Mapping[str, Any]]) -> int:
    """Ready plus not-ready addresses over all subsets."""
    return sum(len(s.get("addresses") or []) + len(s.get("notReadyAddresses") or [])
               for s in subsets)


def truncate_subsets(subsets: list[dict], max_capacity: int = MAX_CAPACITY) -> bool:
    """truncateEndpoints: cut to ``max_capacity`` addresses, ready ones first (True if cut).

    Each subset keeps its share (rounded up) of what may stay: if the ready
    addresses alone are too many, only ready ones stay; otherwise every ready one
    and a share of the not-ready.
    """
    total_ready = sum(len(s.get("addresses") or []) for s in subsets)
    total_not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
    if total_ready + total_not_ready <= max_capacity:
        return False
    truncate_ready = total_ready > max_capacity
    allowed = max_capacity if truncate_ready else max_capacity - total_ready
    total = total_ready if truncate_ready else total_not_ready
    room = allowed
    for subset in subsets:
        field = "addresses" if truncate_ready else "notReadyAddresses"
        share = min(math.ceil(len(subset.get(field) or []) / total * allowed), room)
        kept = (subset.get(field) or [])[:share]
        if kept:
            subset[field] = kept
        else:
            subset.pop(field, None)
        if truncate_ready:
            subset.pop("notReadyAddresses", None)
        room -= len(kept)
    return True


def _without_resource_versions(subsets: list[Mapping[str, Any]]) -> list:
    """endpointSubsetsEqualIgnoreResourceVersion's view: targetRef.resourceVersion left out."""
    out = copy.deepcopy(list(subsets))
    for subset in out:
        for field in ("addresses", "notReadyAddresses"):
            for address in subset.get(field) or []:
                (address.get("targetRef") or {}).pop("resourceVersion", None)
            if field in subset and not subset[field]:
                del subset[field]
    return out


def pod_address(svc: Mapping[str, Any], pod: Mapping[str, Any]) -> dict | None:
    """podToEndpointAddressForService: the pod's IP of the Service's family, nodeName, targetRef."""
    families = (svc.get("spec") or {}).get("ipFamilies") or ["IPv4"]
    want_ipv6 = families[0] == "IPv6"
    ip = next((ip for ip in _pod_ips(pod) if ip and (":" in ip) == want_ipv6), None)
    if ip is None:
        return None
    meta = pod["metadata"]
    address: dict[str, Any] = {"ip": ip}
    if should_set_hostname(pod, svc):
        address["hostname"] = pod["spec"]["hostname"]
    address["nodeName"] = (pod.get("spec") or {}).get("nodeName", "")
    address["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace"),
                            "name": meta["name"], "uid": meta.get("uid")}
    return address


def endpoint_port(service_port: Mapping[str, Any], number: int) -> dict:
    """endpointPortFromServicePort: the Service port's name, protocol and appProtocol."""
    port: dict[str, Any] = {}
    if service_port.get("name"):
        port["name"] = service_port["name"]
    port["port"] = number
    port["protocol"] = service_port.get("protocol") or "TCP"
    if service_port.get("appProtocol"):
        port["appProtocol"] = service_port["appProtocol"]
    return port


def desired_subsets(svc: Mapping[str, Any], pods: list[Mapping[str, Any]]) -> list[dict]:
    """The sync's loop: a subset per pod and port, ready or not, then repacked."""
    spec = svc.get("spec") or {}
    tolerate_unready = bool(spec.get("publishNotReadyAddresses"))
    subsets: list[dict] = []
    for pod in pods:
        if not should_pod_be_in_endpoints(pod, tolerate_unready):
            continue
        address = pod_address(svc, pod)
        if address is None:
            continue
        field = "addresses" if tolerate_unready or is_pod_ready(pod) else "notReadyAddresses"
        service_ports = spec.get("ports") or []
        if not service_ports:
            if spec.get("clusterIP") == "None":  # a headless Service may have no ports
                subsets.append({field: [address]})
            continue
        for service_port in service_ports:
            number = find_port(pod, service_port)
            if number is None:
                continue  # "Failed to find port for service": this pod lacks the named port
            subsets.append({field: [address], "ports": [endpoint_port(service_port, number)]})
    return repack_subsets(subsets)


def is_service_ip_set(svc: Mapping[str, Any]) -> bool:
    """helper.IsServiceIPSet: a cluster IP that is neither empty nor ``None``."""
    ip = (svc.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


# -- the controller ------------------------------------------------------------------------------

class EndpointsController:
    """Keeps an Endpoints object for every Service with a selector.

    ``batch_period`` is ``--endpoint-updates-batch-period`` (0: a pod change is
    synced at once); ``events=False`` keeps the records but posts no Events.
    """

    def __init__(self, sim: Simulation, client: Client, *,
                 informers: SharedInformerFactory | None = None, events: bool = True,
                 batch_period: float = ENDPOINT_UPDATES_BATCH_PERIOD,
                 max_capacity: int = MAX_CAPACITY) -> None:
        self.sim = sim
        self.client = client
        self.batch_period = batch_period
        self.max_capacity = max_capacity
        self.recorder = EventRecorder(sim, client, COMPONENT, enabled=events)
        self.queue = WorkQueue(sim, COMPONENT, self.sync, max_retries=MAX_RETRIES)
        self.trigger_times = TriggerTimeTracker()
        self.informers = informers or SharedInformerFactory(sim, client)
        self.services = self.informers.informer("services")
        self.services.add_event_handler(self._on_service, lambda old, new: self._on_service(new),
                                        self._on_service)
        self.pods = self.informers.informer("pods")
        self.pods.add_event_handler(self._add_pod, self._update_pod, self._add_pod)
        self.endpoints = self.informers.informer("endpoints")
        self.endpoints.add_event_handler(on_delete=self._on_service)

    def start(self) -> None:
        """Start the informers and the worker, then look for leftover Endpoints."""
        self.informers.start()
        self.queue.start()
        self.check_leftover_endpoints()

    def check_leftover_endpoints(self) -> None:
        """checkLeftoverEndpoints: queue every Endpoints' key, so one without a Service goes."""
        for key, ep in self.endpoints.store.items():
            annotations = ep["metadata"].get("annotations") or {}
            if "control-plane.alpha.kubernetes.io/leader" in annotations:
                continue  # an old-style leader election record, not a Service's
            self.queue.add(key)

    # -- event handlers: which Services need a sync -----------------------------------------------
    def _on_service(self, obj: Mapping[str, Any]) -> None:
        self.queue.add(object_key(obj))

    def _add_soon(self, key: str) -> None:
        if self.batch_period:
            self.queue.add_after(key, self.batch_period)
        else:
            self.queue.add(key)

    def _add_pod(self, pod: Mapping[str, Any]) -> None:
        """addPod (and deletePod): every Service whose selector matches the pod.

        Go walks the set in random order; sorted here, so a seed replays the same run
        whatever Python's string hash seed (a notebook kernel's is random)."""
        for key in sorted(service_keys_for_pod(self.services.store, pod)):
            self._add_soon(key)

    def _update_pod(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for key in sorted(services_to_update_on_pod_change(self.services.store, old, new)):
            self._add_soon(key)

    # -- the sync --------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """syncService: compute the Service's subsets and write its Endpoints if they changed."""
        namespace, _, name = key.partition("/")
        svc = self.services.store.get(key)
        if svc is None:
            try:  # the Service is gone: so are its Endpoints
                self.client.delete("endpoints", name, namespace)
                self.sim.record(COMPONENT, "EndpointsDeleted", f"endpoints/{key}",
                                "the service is gone")
            except NotFound:
                pass
            self.trigger_times.delete_service(key)
            return
        if (svc.get("spec") or {}).get("type") == "ExternalName" or not has_selector(svc):
            return  # no endpoints from this controller
        pods = [p for p in self.pods.store.values() if selects(svc, p)]
        trigger = self.trigger_times.compute(key, svc, pods)
        subsets = desired_subsets(svc, pods)

        current = self.endpoints.store.get(key)
        create = current is None
        if current is None:
            current = {"apiVersion": "v1", "kind": "Endpoints",
                       "metadata": {"name": name, "namespace": namespace}}
        # the labels to be: the Service's, managed-by (v1.33+), headless or not (compared apart)
        labels = dict(svc["metadata"].get("labels") or {})
        if since(33):
            labels[LABEL_MANAGED_BY] = CONTROLLER_NAME
        current_labels = dict(current["metadata"].get("labels") or {})
        current_labels.pop(IS_HEADLESS_SERVICE, None)
        annotations = current["metadata"].get("annotations") or {}
        if (not create
                and _without_resource_versions(current.get("subsets") or [])
                == _without_resource_versions(subsets)
                and current_labels == labels
                and self._capacity_annotation_set_correctly(annotations, current)):
            return  # "endpoints are equal, skipping update"

        new = copy.deepcopy(dict(current))
        meta = new["metadata"]
        new["subsets"] = subsets
        meta["annotations"] = dict(meta.get("annotations") or {})
        if trigger is not None:
            meta["annotations"][LAST_CHANGE_TRIGGER_TIME] = format_time(trigger)
        else:
            meta["annotations"].pop(LAST_CHANGE_TRIGGER_TIME, None)
        if truncate_subsets(subsets, self.max_capacity):
            meta["annotations"][OVER_CAPACITY] = TRUNCATED
        else:
            meta["annotations"].pop(OVER_CAPACITY, None)
        if not meta["annotations"]:
            del meta["annotations"]
        if not is_service_ip_set(svc):
            labels[IS_HEADLESS_SERVICE] = ""
        if labels:
            meta["labels"] = labels
        else:
            meta.pop("labels", None)  # ObjectMeta.Labels is omitempty: none is no field
        if not new["subsets"]:
            del new["subsets"]
        self._write(svc, new, create)

    def _capacity_annotation_set_correctly(self, annotations: Mapping[str, str],
                                           current: Mapping[str, Any]) -> bool:
        """capacityAnnotationSetCorrectly: under capacity and not annotated as truncated."""
        if count_addresses(current.get("subsets") or []) > self.max_capacity:
            return False
        return OVER_CAPACITY not in annotations

    def _write(self, svc: Mapping[str, Any], new: dict, create: bool) -> None:
        """Create or update the Endpoints, with a FailedToCreate/UpdateEndpoint event on error."""
        namespace, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        subsets = new.get("subsets") or []
        ready = sum(len(s.get("addresses") or []) for s in subsets)
        not_ready = sum(len(s.get("notReadyAddresses") or []) for s in subsets)
        try:
            if create:
                self.client.create(new, namespace)
            else:
                self.client.update(new, namespace)
        except StatusError as error:
            if create and error.has_cause(NAMESPACE_TERMINATING_CAUSE):
                return  # creates will keep failing in a terminating namespace: drop it
            if create:
                self.recorder.event(new, WARNING, "FailedToCreateEndpoint",
                                    f"Failed to create endpoint for service {namespace}/{name}: "
                                    f"{error}")
            else:
                self.recorder.event(new, WARNING, "FailedToUpdateEndpoint",
                                    f"Failed to update endpoint {namespace}/{name}: {error}")
            raise
        self.sim.record(COMPONENT, "EndpointsCreated" if create else "EndpointsUpdated",
                        f"endpoints/{namespace}/{name}",
                        f"{ready} ready, {not_ready} not ready")
