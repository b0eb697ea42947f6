"""The EndpointSlice controller: a Service's endpoints, 100 a slice (pkg/controller/endpointslice).

What kube-proxy reads today. The Endpoints object (:mod:`kubelearn.controllers.endpoints`)
holds every address of a Service in one object, rewritten whole on every
change -- a Service of 5,000 pods sends 5,000 addresses to every node each
time one pod turns ready. EndpointSlices split them: at most
``--max-endpoints-per-slice`` (100) endpoints per slice, and a change rewrites
only the slice it touches.

For every Service with a selector the sync (``syncService``) takes the pods
the selector matches -- terminating ones too, marked -- and the Service's
existing slices (labelled ``kubernetes.io/service-name`` and
``endpointslice.kubernetes.io/managed-by: endpointslice-controller.k8s.io``),
and the reconciler (k8s.io/endpointslice ``Reconciler``) closes the gap:

1. each pod becomes an endpoint (:func:`pod_to_endpoint`): its addresses, its
   conditions -- ``serving`` (the pod is Ready), ``terminating``
   (``deletionTimestamp``), ``ready`` (serving and not terminating) -- its
   ``nodeName``, the node's ``topology.kubernetes.io/zone`` and a ``targetRef``;
   pods are grouped by their resolved ports (a named ``targetPort`` may differ
   from pod to pod), one set of slices per group;
2. existing slices keep the endpoints still wanted, updated in place where
   they changed; a slice left empty is deleted;
3. the remaining endpoints fill the slices already being updated, then one
   unchanged slice they fit in, then new slices (``generateName:
   <service>-``, an ownerReference to the Service so the garbage collector
   deletes them with it);
4. creates that would pair with deletes become updates of those slices.

A Service with no endpoints still gets one empty *placeholder* slice. The
``EndpointSliceTracker`` remembers the generation of each slice this
controller wrote: a cache showing an older one is stale, and the sync waits
for it rather than act on old news.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from kubelearn.api import StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE, aggregate
from kubelearn.client import Client
from kubelearn.controllers.endpoints import (
    ENDPOINT_UPDATES_BATCH_PERIOD,
    IS_HEADLESS_SERVICE,
    LAST_CHANGE_TRIGGER_TIME,
    TriggerTimeTracker,
    find_port,
    format_time,
    has_selector,
    is_service_ip_set,
    selects,
    service_keys_for_pod,
    services_to_update_on_pod_change,
    should_pod_be_in_endpoints,
    should_set_hostname,
)
from kubelearn.controllers.events import WARNING, EventRecorder
from kubelearn.controllers.informer import SharedInformerFactory, SyncError, WorkQueue, object_key
from kubelearn.controllers.replicaset import is_pod_ready
from kubelearn.sim import Simulation

# The event source upstream's recorder uses (the service account is endpointslice-controller).
COMPONENT = "endpoint-slice-controller"
# endpointslice_controller.go controllerName: the managed-by label's value.
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
# k8s.io/api/discovery/v1 well-known labels; core/v1 LabelTopologyZone.
LABEL_SERVICE_NAME = "kubernetes.io/service-name"
LABEL_MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"
# kube-controller-manager --max-endpoints-per-slice.
MAX_ENDPOINTS_PER_SLICE = 100
# endpointslice_controller.go endpointSliceChangeMinSyncDelay: a slice change is synced after
# at least this long, so several slice events make one sync.
ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY = 1.0
# endpointslice_controller.go defaultSyncBackOff / maxSyncBackOff: retries wait 1s, 2s, 4s...
DEFAULT_SYNC_BACKOFF = 1.0
MAX_SYNC_BACKOFF = 1000.0
# endpointslice_controller.go maxRetries: then the service is dropped out of the queue.
MAX_RETRIES = 15
_DELETION_EXPECTED = -1  # endpointslice_tracker.go deletionExpected


# -- from pods to endpoints (k8s.io/endpointslice utils.go) ---------------------------------------

def address_types(svc: Mapping[str, Any]) -> list[str]:
    """getAddressTypesForService: from ``ipFamilies``, else guessed from the cluster IP."""
    spec = svc.get("spec") or {}
    families = spec.get("ipFamilies") or []
    if families:
        return [f for f in ("IPv4", "IPv6") if f in families]
    if is_service_ip_set(svc):
        return ["IPv6" if ":" in spec["clusterIP"] else "IPv4"]
    return ["IPv4", "IPv6"]  # headless, families unknown: both, until the API server says


def endpoint_ports(svc: Mapping[str, Any], pod: Mapping[str, Any]) -> list[dict]:
    """getEndpointPorts: each Service port resolved on this pod (ports it lacks left out)."""
    out = []
    for service_port in (svc.get("spec") or {}).get("ports") or []:
        number = find_port(pod, service_port)
        if number is None:
            continue  # "Failed to find port for service"
        port = {"name": service_port.get("name") or "", "port": number,
                "protocol": service_port.get("protocol") or "TCP"}
        if service_port.get("appProtocol"):
            port["appProtocol"] = service_port["appProtocol"]
        out.append(port)
    return out


def port_map_key(ports: list[Mapping[str, Any]]) -> tuple:
    """NewPortMapKey: the same ports in any order are one group."""
    return tuple(sorted((p.get("name") or "", p.get("port") or 0, p.get("protocol") or "",
                         p.get("appProtocol") or "") for p in ports))


def pod_to_endpoint(pod: Mapping[str, Any], node: Mapping[str, Any] | None,
                    svc: Mapping[str, Any], address_type: str) -> dict:
    """podToEndpoint: addresses, conditions, targetRef, nodeName, zone (and hostname)."""
    serving = is_pod_ready(pod)
    terminating = bool(pod["metadata"].get("deletionTimestamp"))
    # "ready should never be true if a pod is terminating, unless publishNotReadyAddresses"
    ready = bool((svc.get("spec") or {}).get("publishNotReadyAddresses")) or (
        serving and not terminating)
    want_ipv6 = address_type == "IPv6"
    ips = [ip.get("ip") for ip in (pod.get("status") or {}).get("podIPs") or []]
    endpoint: dict[str, Any] = {
        "addresses": [ip for ip in ips if ip and (":" in ip) == want_ipv6],
        "conditions": {"ready": ready, "serving": serving, "terminating": terminating}}
    if should_set_hostname(pod, svc):
        endpoint["hostname"] = pod["spec"]["hostname"]
    meta = pod["metadata"]
    endpoint["targetRef"] = {"kind": "Pod", "namespace": meta.get("namespace"),
                             "name": meta["name"], "uid": meta.get("uid")}
    if (pod.get("spec") or {}).get("nodeName"):
        endpoint["nodeName"] = pod["spec"]["nodeName"]
    zone = ((node or {}).get("metadata", {}).get("labels") or {}).get(LABEL_TOPOLOGY_ZONE)
    if zone:
        endpoint["zone"] = zone
    return endpoint


def endpoint_key(endpoint: Mapping[str, Any]) -> tuple:
    """hashEndpoint: an endpoint is its sorted addresses, hostname and pod."""
    ref = endpoint.get("targetRef") or {}
    return (tuple(sorted(endpoint.get("addresses") or [])), endpoint.get("hostname") or "",
            ref.get("namespace") or "", ref.get("name") or "")


def endpoints_equal_beyond_hash(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """EndpointsEqualBeyondHash: same node, zone, conditions and pod (resourceVersion aside)."""
    def ref(e: Mapping[str, Any]) -> dict:
        return {k: v for k, v in (e.get("targetRef") or {}).items() if k != "resourceVersion"}
    return (a.get("nodeName") == b.get("nodeName") and a.get("zone") == b.get("zone")
            and (a.get("conditions") or {}) == (b.get("conditions") or {})
            and ref(a) == ref(b))


def slice_labels(existing: Mapping[str, Any], svc: Mapping[str, Any]) -> tuple[dict, bool]:
    """setEndpointSliceLabels: the Service's labels plus the reserved ones; changed or not."""
    reserved = (LABEL_SERVICE_NAME, LABEL_MANAGED_BY, IS_HEADLESS_SERVICE)
    current = {k: v for k, v in ((existing.get("metadata") or {}).get("labels") or {}).items()
               if k not in reserved}
    labels = {k: v for k, v in (svc["metadata"].get("labels") or {}).items()
              if k not in reserved}
    changed = current != labels
    if not is_service_ip_set(svc):
        labels[IS_HEADLESS_SERVICE] = ""
    labels[LABEL_SERVICE_NAME] = svc["metadata"]["name"]
    labels[LABEL_MANAGED_BY] = CONTROLLER_NAME
    return labels, changed


def owned_by(eps: Mapping[str, Any], svc: Mapping[str, Any]) -> bool:
    """ownedBy: an ownerReference to this Service (by uid)."""
    return any(ref.get("uid") == svc["metadata"].get("uid") and ref.get("kind") == "Service"
               and ref.get("apiVersion") == "v1"
               for ref in eps["metadata"].get("ownerReferences") or [])


def new_endpoint_slice(svc: Mapping[str, Any], ports: list[dict], address_type: str) -> dict:
    """newEndpointSlice: ``generateName: <service>-``, owned by the Service, no endpoints yet."""
    meta = svc["metadata"]
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"generateName": f"{meta['name']}-", "namespace": meta["namespace"],
                        "ownerReferences": [{"apiVersion": "v1", "kind": "Service",
                                             "name": meta["name"], "uid": meta["uid"],
                                             "controller": True, "blockOwnerDeletion": True}]},
           "addressType": address_type, "endpoints": [], "ports": copy.deepcopy(ports)}
    eps["metadata"]["labels"], _ = slice_labels(eps, svc)
    return eps


def slice_to_fill(slices: list[dict], count: int, max_endpoints: int) -> dict | None:
    """getSliceToFill: the slice ``count`` more endpoints would bring closest to full."""
    closest, closest_diff = None, max_endpoints
    for eps in slices:
        diff = max_endpoints - (count + len(eps["endpoints"] or ()))  # null: read back empty
        if 0 <= diff < closest_diff:
            closest, closest_diff = eps, diff
            if diff == 0:
                break
    return closest


# -- the tracker -----------------------------------------------------------------------------------

class EndpointSliceTracker:
    """util.EndpointSliceTracker: the generation of each slice this controller last wrote."""

    def __init__(self) -> None:
        self.generations: dict[str, dict[str, int]] = {}  # service key -> slice uid -> generation

    @staticmethod
    def service_key(eps: Mapping[str, Any]) -> str:
        """The key of the Service a slice belongs to (by its service-name label)."""
        meta = eps["metadata"]
        return f"{meta.get('namespace')}/{(meta.get('labels') or {}).get(LABEL_SERVICE_NAME, '')}"

    def has(self, eps: Mapping[str, Any]) -> bool:
        return eps["metadata"].get("uid") in self.generations.get(self.service_key(eps), {})

    def should_sync(self, eps: Mapping[str, Any]) -> bool:
        """ShouldSync: a slice not written by us, or newer than what we wrote."""
        known = self.generations.get(self.service_key(eps), {})
        uid = eps["metadata"].get("uid")
        return uid not in known or eps["metadata"].get("generation", 0) > known[uid]

    def stale_slices(self, key: str, slices: list[Mapping[str, Any]]) -> bool:
        """StaleSlices: the cache has a slice older than we wrote, one we deleted, or lacks one."""
        known = self.generations.get(key)
        if not known:
            return False
        cached = {eps["metadata"].get("uid") for eps in slices}
        for eps in slices:
            generation = known.get(eps["metadata"].get("uid"))
            if generation is not None and (generation == _DELETION_EXPECTED
                                           or generation > eps["metadata"].get("generation", 0)):
                return True
        return any(uid not in cached for uid, g in known.items() if g != _DELETION_EXPECTED)

    def update(self, eps: Mapping[str, Any]) -> None:
        self.generations.setdefault(self.service_key(eps), {})[eps["metadata"]["uid"]] = \
            eps["metadata"].get("generation", 0)

    def expect_deletion(self, eps: Mapping[str, Any]) -> None:
        self.generations.setdefault(self.service_key(eps), {})[eps["metadata"]["uid"]] = \
            _DELETION_EXPECTED

    def handle_deletion(self, eps: Mapping[str, Any]) -> bool:
        """HandleDeletion: forget the slice; True if we expected it to go."""
        key = self.service_key(eps)
        generation = self.generations.get(key, {}).pop(eps["metadata"].get("uid"), None)
        if key in self.generations and not self.generations[key]:
            del self.generations[key]
        return generation == _DELETION_EXPECTED

    def delete_service(self, key: str) -> None:
        self.generations.pop(key, None)


# -- the controller --------------------------------------------------------------------------------

class EndpointSliceController:
    """Keeps each Service's EndpointSlices in step with its pods.

    ``max_endpoints_per_slice`` is ``--max-endpoints-per-slice`` (100),
    ``batch_period`` ``--endpoint-updates-batch-period`` (0); ``events=False``
    keeps the records but posts no Events.
    """

    def __init__(self, sim: Simulation, client: Client, *,
                 informers: SharedInformerFactory | None = None, events: bool = True,
                 max_endpoints_per_slice: int = MAX_ENDPOINTS_PER_SLICE,
                 batch_period: float = ENDPOINT_UPDATES_BATCH_PERIOD) -> None:
        self.sim = sim
        self.client = client
        self.max_endpoints = max_endpoints_per_slice
        self.batch_period = batch_period
        self.recorder = EventRecorder(sim, client, COMPONENT, enabled=events)
        self.queue = WorkQueue(sim, COMPONENT, self.sync, base_delay=DEFAULT_SYNC_BACKOFF,
                               max_delay=MAX_SYNC_BACKOFF, max_retries=MAX_RETRIES)
        self.tracker = EndpointSliceTracker()
        self.trigger_times = TriggerTimeTracker()
        self.informers = informers or SharedInformerFactory(sim, client)
        self.services = self.informers.informer("services")
        self.services.add_event_handler(self._on_service, lambda old, new: self._on_service(new),
                                        self._on_service)
        self.pods = self.informers.informer("pods")
        self.pods.add_event_handler(self._add_pod, self._update_pod, self._add_pod)
        self.nodes = self.informers.informer("nodes")  # read for zones; no handlers
        self.slices = self.informers.informer("endpointslices")
        self.slices.add_event_handler(self._add_slice, self._update_slice, self._delete_slice)

    def start(self) -> None:
        """Start the informers and the worker."""
        self.informers.start()
        self.queue.start()

    # -- event handlers: which Services need a sync -----------------------------------------------
    def _on_service(self, svc: Mapping[str, Any]) -> None:
        self.queue.add(object_key(svc))

    def _add_soon(self, key: str, delay: float) -> None:
        if delay:
            self.queue.add_after(key, delay)
        else:
            self.queue.add(key)

    def _add_pod(self, pod: Mapping[str, Any]) -> None:
        """addPod (and deletePod): every Service whose selector matches the pod.

        Go walks the set in random order; sorted here, so a seed replays the same run
        whatever Python's string hash seed (a notebook kernel's is random)."""
        for key in sorted(service_keys_for_pod(self.services.store, pod)):
            self._add_soon(key, self.batch_period)

    def _update_pod(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for key in sorted(services_to_update_on_pod_change(self.services.store, old, new)):
            self._add_soon(key, self.batch_period)

    @staticmethod
    def _managed(eps: Mapping[str, Any]) -> bool:
        return (eps["metadata"].get("labels") or {}).get(LABEL_MANAGED_BY) == CONTROLLER_NAME

    def _queue_for_slice(self, eps: Mapping[str, Any]) -> None:
        """queueServiceForEndpointSlice: the Service it belongs to, after at least 1s."""
        name = (eps["metadata"].get("labels") or {}).get(LABEL_SERVICE_NAME)
        if name:
            self._add_soon(f"{eps['metadata'].get('namespace')}/{name}",
                           max(ENDPOINT_SLICE_CHANGE_MIN_SYNC_DELAY, self.batch_period))

    def _add_slice(self, eps: Mapping[str, Any]) -> None:
        # Someone else's write, or ours seen before the tracker heard of it (kubelearn's
        # watch delivers during the write itself): either way, a look a second later.
        if self._managed(eps) and self.tracker.should_sync(eps):
            self._queue_for_slice(eps)

    def _update_slice(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        name = (new["metadata"].get("labels") or {}).get(LABEL_SERVICE_NAME)
        if name != (old["metadata"].get("labels") or {}).get(LABEL_SERVICE_NAME):
            self._queue_for_slice(new)
            self._queue_for_slice(old)
            return
        if self._managed(old) != self._managed(new) or (
                self._managed(new) and self.tracker.should_sync(new)):
            self._queue_for_slice(new)

    def _delete_slice(self, eps: Mapping[str, Any]) -> None:
        if self._managed(eps) and self.tracker.has(eps) and not self.tracker.handle_deletion(eps):
            self._queue_for_slice(eps)  # deleted by someone else: put it back

    # -- the sync --------------------------------------------------------------------------------
    def sync(self, key: str) -> None:
        """syncService: reconcile the Service's slices with its pods."""
        svc = self.services.store.get(key)
        if svc is None:  # its slices go with it (the garbage collector, by ownerReference)
            self.trigger_times.delete_service(key)
            self.tracker.delete_service(key)
            return
        if (svc.get("spec") or {}).get("type") == "ExternalName" or not has_selector(svc):
            return
        namespace, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        pods = [p for p in self.pods.store.values() if selects(svc, p)]
        slices = [eps for eps in self.slices.store.values()
                  if eps["metadata"].get("namespace") == namespace
                  and (eps["metadata"].get("labels") or {}).get(LABEL_SERVICE_NAME) == name
                  and self._managed(eps) and not eps["metadata"].get("deletionTimestamp")]
        if self.tracker.stale_slices(key, slices):
            raise SyncError("EndpointSlice informer cache is out of date")
        trigger = self.trigger_times.compute(key, svc, pods)
        try:
            self.reconcile(svc, pods, slices, trigger)
        except SyncError as error:
            self.recorder.event(svc, WARNING, "FailedToUpdateEndpointSlices",
                                f"Error updating Endpoint Slices for Service {namespace}/{name}: "
                                f"{error}")
            raise

    def reconcile(self, svc: Mapping[str, Any], pods: list[Mapping[str, Any]],
                  existing: list[Mapping[str, Any]], trigger: datetime | None) -> None:
        """Reconciler.Reconcile: per address type; slices of a type no longer served go."""
        types = address_types(svc)
        errors: list[str] = []
        for address_type in types:
            mine = [eps for eps in existing if eps.get("addressType") == address_type]
            errors += self.reconcile_by_address_type(svc, pods, mine, trigger, address_type)
        for eps in existing:
            if eps.get("addressType") not in types:
                try:
                    self._delete(svc, eps)
                except StatusError as error:
                    errors.append(f"error deleting {eps['metadata']['name']} EndpointSlice for "
                                  f"Service {svc['metadata']['namespace']}/"
                                  f"{svc['metadata']['name']}: {error}")
        if errors:
            raise SyncError(aggregate(errors))

    def reconcile_by_address_type(self, svc: Mapping[str, Any], pods: list[Mapping[str, Any]],
                                  existing: list[Mapping[str, Any]], trigger: datetime | None,
                                  address_type: str) -> list[str]:
        """reconcileByAddressType: desired endpoints by port group, then create/update/delete."""
        errors: list[str] = []
        to_create: list[dict] = []
        to_update: list[dict] = []
        to_delete: list[Mapping[str, Any]] = []
        existing_by_ports: dict[tuple, list[Mapping[str, Any]]] = {}
        for eps in existing:
            if owned_by(eps, svc):
                existing_by_ports.setdefault(port_map_key(eps.get("ports") or []), []).append(eps)
            else:
                to_delete.append(eps)  # a slice of an older Service of the same name

        desired: dict[tuple, dict[tuple, dict]] = {}  # port group -> endpoint key -> endpoint
        desired_ports: dict[tuple, list[dict]] = {}
        publish_not_ready = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
        for pod in pods:
            if not should_pod_be_in_endpoints(pod, True):
                continue
            ports = endpoint_ports(svc, pod)
            group = port_map_key(ports)
            desired.setdefault(group, {})
            desired_ports.setdefault(group, ports)
            node_name = (pod.get("spec") or {}).get("nodeName") or ""
            node = self.nodes.store.get(node_name)
            if node is None and not publish_not_ready:
                errors.append(f"skipping Pod {pod['metadata']['name']} for Service "
                              f"{svc['metadata']['namespace']}/{svc['metadata']['name']}: "
                              f"Node {node_name} Not Found")
                continue
            endpoint = pod_to_endpoint(pod, node, svc, address_type)
            if endpoint["addresses"]:
                desired[group][endpoint_key(endpoint)] = endpoint

        for group, endpoints in desired.items():
            creates, updates, deletes = self.reconcile_by_port_mapping(
                svc, existing_by_ports.get(group, []), endpoints, desired_ports[group],
                address_type)
            to_create += creates
            to_update += updates
            to_delete += deletes
        for group, slices in existing_by_ports.items():
            if group not in desired:
                to_delete += slices  # nobody serves these ports any more

        if len(existing) == len(to_delete) and not to_create:
            # no endpoints: keep one empty placeholder slice
            placeholder = new_endpoint_slice(svc, [], address_type)
            if len(to_delete) == 1 and _is_placeholder(to_delete[0], placeholder):
                to_delete = []  # it is already there
            else:
                to_create.append(placeholder)
        try:
            self.finalize(svc, to_create, to_update, to_delete, trigger)
        except SyncError as error:
            errors.append(str(error))
        return errors

    def reconcile_by_port_mapping(self, svc: Mapping[str, Any],
                                  existing: list[Mapping[str, Any]], desired: dict[tuple, dict],
                                  ports: list[dict], address_type: str,
                                  ) -> tuple[list[dict], list[dict], list[Mapping[str, Any]]]:
        """reconcileByPortMapping: keep, update, fill up, create -- the three steps."""
        desired = dict(desired)
        by_name: dict[str, Any] = {}  # the slices, copied once they are to change
        unchanged: dict[str, None] = {}
        to_update: dict[str, None] = {}
        to_delete: dict[str, None] = {}
        # 1. existing slices keep the endpoints still wanted (updated where they changed)
        for eps in existing:
            name = eps["metadata"]["name"]
            by_name[name] = eps
            kept, changed = [], False
            for endpoint in eps.get("endpoints") or []:
                wanted = desired.pop(endpoint_key(endpoint), None)
                if wanted is not None:
                    kept.append(wanted)
                    changed = changed or not endpoints_equal_beyond_hash(wanted, endpoint)
            labels, labels_changed = slice_labels(eps, svc)
            if changed or len(kept) != len(eps.get("endpoints") or []):
                if not kept:
                    to_delete[name] = None
                else:
                    by_name[name] = {**copy.deepcopy(dict(eps)), "endpoints": kept}
                    by_name[name]["metadata"]["labels"] = labels
                    to_update[name] = None
            elif labels_changed:
                by_name[name] = copy.deepcopy(dict(eps))
                by_name[name]["metadata"]["labels"] = labels
                to_update[name] = None
            else:
                unchanged[name] = None
        remaining = list(desired.values())
        # 2. fill the slices being updated anyway, the fullest first
        if remaining and to_update:
            for eps in sorted((by_name[n] for n in to_update), key=lambda e: -len(e["endpoints"])):
                while remaining and len(eps["endpoints"]) < self.max_endpoints:
                    eps["endpoints"].append(remaining.pop(0))
        # 3. then one unchanged slice they fit in, then new slices
        to_create: list[dict] = []
        while remaining:
            target = None
            if len(remaining) < self.max_endpoints and unchanged:
                target = slice_to_fill([by_name[n] for n in unchanged], len(remaining),
                                       self.max_endpoints)
            if target is None:
                target = new_endpoint_slice(svc, ports, address_type)
            else:
                target = copy.deepcopy(target)
                target["endpoints"] = target["endpoints"] or []  # stored empty, read as null
                by_name[target["metadata"]["name"]] = target
            while remaining and len(target["endpoints"]) < self.max_endpoints:
                target["endpoints"].append(remaining.pop(0))
            if target["metadata"].get("name"):
                to_update[target["metadata"]["name"]] = None
                unchanged.pop(target["metadata"]["name"], None)
            else:
                to_create.append(target)
        return (to_create, [by_name[n] for n in to_update], [by_name[n] for n in to_delete])

    def finalize(self, svc: Mapping[str, Any], to_create: list[dict], to_update: list[dict],
                 to_delete: list[Mapping[str, Any]], trigger: datetime | None) -> None:
        """finalize: turn create+delete pairs into updates, then create, update, delete."""
        namespace, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        to_delete = list(to_delete)
        i = 0
        while i < len(to_delete) and to_create:
            doomed = to_delete[i]
            if doomed.get("addressType") == to_create[-1].get("addressType") \
                    and owned_by(doomed, svc):
                reused = to_create.pop()
                reused["metadata"]["name"] = doomed["metadata"]["name"]
                to_update.append(reused)
                del to_delete[i]
            else:
                i += 1
        if not svc["metadata"].get("deletionTimestamp"):  # no new slices for a Service going
            for eps in to_create:
                _set_trigger_time(eps, trigger)
                try:
                    created = self.client.create(eps, namespace)
                except StatusError as error:
                    if error.has_cause(NAMESPACE_TERMINATING_CAUSE):
                        return
                    raise SyncError(f"failed to create EndpointSlice for Service "
                                    f"{namespace}/{name}: {error}") from error
                self.tracker.update(created)
                self._record("EndpointSliceCreated", created)
        for eps in to_update:
            _set_trigger_time(eps, trigger)
            try:
                updated = self.client.update(eps, namespace)
            except StatusError as error:
                raise SyncError(f"failed to update {eps['metadata']['name']} EndpointSlice for "
                                f"Service {namespace}/{name}: {error}") from error
            self.tracker.update(updated)
            self._record("EndpointSliceUpdated", updated)
        for eps in to_delete:
            try:
                self._delete(svc, eps)
            except StatusError as error:
                raise SyncError(f"failed to delete {eps['metadata']['name']} EndpointSlice for "
                                f"Service {namespace}/{name}: {error}") from error

    def _delete(self, svc: Mapping[str, Any], eps: Mapping[str, Any]) -> None:
        """Delete a slice, telling the tracker first (the DELETED event comes during the call)."""
        known = self.tracker.generations.setdefault(self.tracker.service_key(eps), {})
        uid = eps["metadata"].get("uid")
        before = known.get(uid)
        known[uid] = _DELETION_EXPECTED  # upstream: ExpectDeletion after the call returns
        try:
            self.client.delete("endpointslices", eps["metadata"]["name"],
                               eps["metadata"]["namespace"])
        except StatusError:
            if before is None:
                known.pop(uid, None)
            else:
                known[uid] = before
            raise
        self._record("EndpointSliceDeleted", eps)

    def _record(self, reason: str, eps: Mapping[str, Any]) -> None:
        meta = eps["metadata"]
        endpoints = eps.get("endpoints") or []
        ready = sum(1 for e in endpoints if (e.get("conditions") or {}).get("ready"))
        self.sim.record(COMPONENT, reason, f"endpointslice/{meta['namespace']}/{meta['name']}",
                        f"{len(endpoints)} endpoints, {ready} ready")


def _set_trigger_time(eps: dict, trigger: datetime | None) -> None:
    """addTriggerTimeAnnotation: set or clear the last-change-trigger-time annotation."""
    annotations = dict(eps["metadata"].get("annotations") or {})
    if trigger is not None:
        annotations[LAST_CHANGE_TRIGGER_TIME] = format_time(trigger)
    else:
        annotations.pop(LAST_CHANGE_TRIGGER_TIME, None)
    if annotations:
        eps["metadata"]["annotations"] = annotations
    else:
        eps["metadata"].pop("annotations", None)


def _is_placeholder(eps: Mapping[str, Any], placeholder: Mapping[str, Any]) -> bool:
    """placeholderSliceCompare: same namespace, labels, owners, type, and nothing in it."""
    meta, want = eps["metadata"], placeholder["metadata"]
    return (meta.get("namespace") == want["namespace"]
            and (meta.get("labels") or {}) == want["labels"]
            and (meta.get("ownerReferences") or []) == want["ownerReferences"]
            and eps.get("addressType") == placeholder["addressType"]
            and not eps.get("endpoints") and not eps.get("ports"))
