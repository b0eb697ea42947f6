"""The ``kubernetes`` Service and its endpoints: how a pod finds the API server.

Ports of three pieces of kube-apiserver (v1.32):

- the kubernetes service controller (pkg/controlplane/controller/kubernetesservice):
  when the API server is up, and every 10 s after (``DefaultEndpointReconcilerInterval``),
  it makes sure ``default/kubernetes`` exists -- ClusterIP ``10.96.0.1`` (the
  service range's first address), port ``https`` 443 -> 6443 (kubeadm's
  ``--secure-port``), labels ``component=apiserver``, ``provider=kubernetes``,
  no selector -- and has the lease reconciler point it at this API server;
- the lease endpoint reconciler (pkg/controlplane/reconcilers/lease.go, the
  default ``--endpoint-reconciler-type=lease``): each API server keeps a
  "master lease", ``/registry/masterleases/<its address>``, an Endpoints
  object written straight to etcd with a 15 s TTL (``DefaultEndpointReconcilerTTL``)
  and renewed every round; the addresses of the live leases are the
  ``default/kubernetes`` Endpoints' addresses, so a dead API server drops out
  of the Service 15 s after its last renewal;
- the EndpointsAdapter (reconcilers/endpointsadapter.go) that writes them: the
  Endpoints (labelled ``endpointslice.kubernetes.io/skip-mirror: "true"``, so
  the EndpointSliceMirroring controller leaves it alone) and an EndpointSlice of
  the same name (label ``kubernetes.io/service-name``, no managed-by label,
  every address ``ready: true``). The EndpointSlice controller never touches
  either: the Service has no selector.

The API server's own address is its ``--advertise-address``: the control-plane
node's, :data:`CONTROL_PLANE_IP` (``172.18.0.2`` on kind's network; worker
nodes follow it, :func:`kubelearn.kubelet.kubelet.node_network`).

:func:`endpoints_for` and :func:`sync_endpoints` are the adapter's logic for any
selector-less Service whose endpoints someone keeps by hand -- kubelearn's
cluster DNS keeps ``kube-system/kube-dns`` so.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kubelearn.api import AlreadyExists, NotFound, StatusError
from kubelearn.apiserver.defaults import set_defaults
from kubelearn.apiserver.storage import LeaseManager
from kubelearn.etcd import Compare, EtcdError, Op

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.client import Client
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

# The control-plane node's address. kind puts its nodes on the docker network 172.18.0.0/16,
# whose .1 is the gateway; the control-plane container starts first and gets .2, the workers
# the addresses after it. The API server advertises it (--advertise-address).
CONTROL_PLANE_IP = "172.18.0.2"
# pkg/controlplane/instance.go
ENDPOINT_RECONCILER_INTERVAL = 10.0  # DefaultEndpointReconcilerInterval
MASTER_LEASE_TTL = 15  # DefaultEndpointReconcilerTTL, seconds
MASTER_LEASES_PREFIX = "/registry/masterleases/"  # NewLeases(config, "/masterleases/", ttl)
KUBERNETES_SERVICE = "kubernetes"
SERVICE_PORT = 443  # kube-apiserver's APIServerServicePort
SECURE_PORT = 6443  # kubeadm's --secure-port, the kubernetes Service's targetPort
ADVERTISE_ADDRESS = CONTROL_PLANE_IP  # kube-apiserver --advertise-address
# k8s.io/api/discovery/v1 well-known labels
LABEL_SKIP_MIRROR = "endpointslice.kubernetes.io/skip-mirror"
LABEL_SERVICE_NAME = "kubernetes.io/service-name"

_dumps = json.JSONEncoder(separators=(",", ":")).encode


# -- the EndpointsAdapter ------------------------------------------------------------------------


def _address_type(addresses: Sequence[str]) -> str:
    """IPv6 if every address is IPv6, else IPv4 (endpointSliceFromEndpoints)."""
    if addresses and all(ipaddress.ip_address(a).version == 6 for a in addresses):
        return "IPv6"
    return "IPv4"


def endpoint_slice_for(endpoints: Mapping[str, Any]) -> dict:
    """The EndpointSlice mirroring an Endpoints' first subset (endpointSliceFromEndpoints)."""
    meta = endpoints["metadata"]
    subsets = endpoints.get("subsets") or [{}]
    subset = subsets[0]
    ready = [a["ip"] for a in subset.get("addresses") or ()]
    not_ready = [a["ip"] for a in subset.get("notReadyAddresses") or ()]
    address_type = _address_type(ready + not_ready)
    eps: dict[str, Any] = {
        "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
        "metadata": {"name": meta["name"], "namespace": meta.get("namespace"),
                     "labels": {LABEL_SERVICE_NAME: meta["name"]}},
        "addressType": address_type,
        "endpoints": [{"addresses": [ip], "conditions": {"ready": is_ready}}
                      for group, is_ready in ((ready, True), (not_ready, False))
                      for ip in group if _address_type([ip]) == address_type],
    }
    ports = [{"name": p.get("name") or "", "port": p.get("port"), "protocol": p.get("protocol")}
             for p in subset.get("ports") or ()]
    if ports:
        eps["ports"] = ports
    return eps


def endpoints_for(namespace: str, name: str, addresses: Sequence[str],
                  ports: Sequence[Mapping[str, Any]]) -> tuple[dict, dict]:
    """The Endpoints and the EndpointSlice that point Service ``namespace/name`` at ``addresses``.

    ``ports`` are EndpointPorts: ``{"name": "https", "port": 6443, "protocol": "TCP"}``.
    Shaped as the API server's EndpointsAdapter writes them (see the module docstring).
    """
    endpoints = {
        "apiVersion": "v1", "kind": "Endpoints",
        "metadata": {"name": name, "namespace": namespace, "labels": {LABEL_SKIP_MIRROR: "true"}},
        "subsets": [{"addresses": [{"ip": ip} for ip in addresses],
                     "ports": [dict(p) for p in ports]}] if addresses else [],
    }
    set_defaults(endpoints)
    eps = endpoint_slice_for(endpoints)
    set_defaults(eps)
    return endpoints, eps


def ensure_endpoint_slice(client: Client, endpoints: Mapping[str, Any]) -> dict:
    """Create or update the EndpointSlice of ``endpoints``; unchanged, write nothing.

    EnsureEndpointSliceFromEndpoints: it compares endpoints, ports and labels;
    a slice of the wrong address type is deleted and made again.
    """
    want = endpoint_slice_for(endpoints)
    set_defaults(want)
    meta = want["metadata"]
    try:
        current = client.get("endpointslices", meta["name"], meta["namespace"])
    except NotFound:
        try:
            return client.create(want, meta["namespace"])
        except AlreadyExists:
            return client.get("endpointslices", meta["name"], meta["namespace"])
    if current.get("addressType") != want["addressType"]:
        client.delete("endpointslices", meta["name"], meta["namespace"])
        return client.create(want, meta["namespace"])
    if all(current.get(k) == want.get(k) for k in ("endpoints", "ports")) and \
            current["metadata"].get("labels") == meta["labels"]:
        return current
    return client.update(want, meta["namespace"])


_UNREAD: Any = object()  # sync_endpoints: the caller has not read the Endpoints yet


def sync_endpoints(client: Client, namespace: str, name: str, addresses: Sequence[str],
                   ports: Sequence[Mapping[str, Any]], current: Any = _UNREAD
                   ) -> tuple[dict, dict]:
    """Keep a selector-less Service's Endpoints and EndpointSlice at ``addresses``, via ``client``.

    Creates both, or updates what differs (nothing when nothing does); returns
    both as stored. The lease reconciler does this for ``default/kubernetes``,
    passing the Endpoints it has just read as ``current`` (None: there are none)
    so they are not read twice.
    """
    endpoints, _ = endpoints_for(namespace, name, addresses, ports)
    if current is _UNREAD:
        try:
            current = client.get("endpoints", name, namespace)
        except NotFound:
            current = None
    if current is None:
        try:
            stored = client.create(endpoints, namespace)
        except AlreadyExists:
            stored = client.update(endpoints, namespace)
    elif current.get("subsets") != endpoints["subsets"] or \
            (current["metadata"].get("labels") or {}).get(LABEL_SKIP_MIRROR) != "true":
        labels = {**(current["metadata"].get("labels") or {}), LABEL_SKIP_MIRROR: "true"}
        stored = client.update({**endpoints, "metadata": {**endpoints["metadata"],
                                                          "labels": labels}}, namespace)
    else:
        stored = current
    return stored, ensure_endpoint_slice(client, stored)


# -- the master leases ---------------------------------------------------------------------------


class MasterLeases:
    """``/registry/masterleases/<ip>``: a key per live API server, with a TTL (storageLeases).

    Written straight to etcd, as upstream does (its own storage, not the REST API).
    """

    def __init__(self, sim: Simulation, store: Store, ttl: int = MASTER_LEASE_TTL) -> None:
        self.store = store
        self.ttl = ttl
        self._leases = LeaseManager(sim, store)  # its own, as NewLeases makes its own storage

    def key(self, ip: str) -> str:
        return MASTER_LEASES_PREFIX + ip

    def update_lease(self, ip: str) -> None:
        """Write (or refresh) ``ip``'s lease: the TTL starts again (UpdateLease).

        The generation goes up every time: GuaranteedUpdate writes nothing that did
        not change, and a new TTL alone is no change.
        """
        key = self.key(ip)
        while True:
            kv = self.store.get(key)
            obj = json.loads(kv.value) if kv is not None else {
                "kind": "Endpoints", "apiVersion": "v1", "metadata": {"creationTimestamp": None}}
            obj["subsets"] = [{"addresses": [{"ip": ip}]}]
            obj["metadata"]["generation"] = int(obj["metadata"].get("generation") or 0) + 1
            compare = [Compare.mod_revision(key) == kv.mod_revision] if kv is not None \
                else [Compare.version(key) == 0]
            lease = self._leases.lease_for(self.ttl)
            if self.store.txn(compare, [Op.put(key, _dumps(obj), lease)]).succeeded:
                return

    def list_leases(self) -> list[str]:
        """The addresses of the live leases, in key order (ListLeases)."""
        ips = []
        for kv in self.store.range(MASTER_LEASES_PREFIX, prefix=True).kvs:
            subsets = json.loads(kv.value).get("subsets") or []
            addresses = (subsets[0].get("addresses") or []) if subsets else []
            if addresses and addresses[0].get("ip"):
                ips.append(addresses[0]["ip"])
        return ips


# -- the kubernetes service controller and the lease reconciler ----------------------------------


def kubernetes_service(service_ip: str, service_port: int = SERVICE_PORT,
                       target_port: int = SECURE_PORT) -> dict:
    """``default/kubernetes`` as the controller creates it (createOrUpdateMasterServiceIfNeeded)."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": KUBERNETES_SERVICE, "namespace": "default",
                         "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"ports": [{"name": "https", "port": service_port, "protocol": "TCP",
                                "targetPort": target_port}],
                     "clusterIP": service_ip, "ipFamilyPolicy": "SingleStack",
                     "sessionAffinity": "None", "type": "ClusterIP"}}


class KubernetesServiceController:
    """Keeps ``default/kubernetes`` and its endpoints pointing at this API server.

    ``client`` is the API server's loopback client (``system:apiserver``, in
    ``system:masters``); ``get_service`` reads the Service from the API server's
    own informer cache, as upstream's lister does.
    """

    def __init__(self, sim: Simulation, client: Client, leases: MasterLeases, *,
                 service_ip: str, get_service: Callable[[], dict | None],
                 public_ip: str = ADVERTISE_ADDRESS, public_port: int = SECURE_PORT,
                 interval: float = ENDPOINT_RECONCILER_INTERVAL) -> None:
        self.sim = sim
        self.client = client
        self.leases = leases
        self.service_ip = service_ip
        self.public_ip = public_ip
        self.public_port = public_port
        self.interval = interval
        self._get_service = get_service
        self.process = None

    def endpoint_ports(self) -> list[dict]:
        """createEndpointPortSpec: ``https`` on the secure port."""
        return [{"name": "https", "port": self.public_port, "protocol": "TCP"}]

    def start(self) -> None:
        """Sync now (the API server just became ready), then every ``interval`` seconds."""
        self.sync()
        self.process = self.sim.process(self._loop())

    def _loop(self) -> Generator[Any, Any, None]:
        while True:
            yield self.sim.timeout(self.interval)  # NonSlidingUntil: a round every interval
            self.sync()

    def sync(self) -> None:
        """One round (UpdateKubernetesService); a failure waits for the next round."""
        try:
            self.update_kubernetes_service()
        except (StatusError, EtcdError) as err:  # the API server's calls, or its master lease
            self.sim.record("kube-apiserver", "KubernetesServiceSyncFailed",
                            "service/default/kubernetes",
                            f"unable to sync kubernetes service: {err}")

    def update_kubernetes_service(self) -> None:
        """The default namespace, the Service, the lease and the endpoints, in that order."""
        try:
            self.client.get("namespaces", "default")
        except NotFound:
            try:
                self.client.create({"apiVersion": "v1", "kind": "Namespace",
                                    "metadata": {"name": "default"}})
            except AlreadyExists:
                pass
        if self._get_service() is None:
            try:
                self.client.create(kubernetes_service(self.service_ip), "default")
            except AlreadyExists:
                pass
        self.reconcile_endpoints()

    def reconcile_endpoints(self) -> None:
        """The lease reconciler: renew this API server's lease, then match the endpoints to
        the live leases (ReconcileEndpoints, doReconcile)."""
        self.leases.update_lease(self.public_ip)
        ips = self.leases.list_leases()
        if not ips:  # we just renewed ours: none at all means storage is in a bad state
            raise StatusError("no API server IP addresses were listed in storage, refusing "
                              "to erase all endpoints for the kubernetes Service")
        try:
            current = self.client.get("endpoints", KUBERNETES_SERVICE, "default")
        except NotFound:
            current = None
        if current is not None and self._endpoints_correct(current, ips):
            ensure_endpoint_slice(self.client, current)
            return
        self.sim.record("kube-apiserver", "EndpointsReset", "endpoints/default/kubernetes",
                        f'Resetting endpoints for master service "{KUBERNETES_SERVICE}" to '
                        f"[{' '.join(ips)}]")
        sync_endpoints(self.client, "default", KUBERNETES_SERVICE, ips, self.endpoint_ports(),
                       current)

    @staticmethod
    def _endpoints_correct(endpoints: Mapping[str, Any], ips: list[str]) -> bool:
        """checkEndpointSubsetFormatWithLease (ports are not reconciled after the first round):
        one subset, exactly the leased addresses, and the skip-mirror label."""
        labels = endpoints["metadata"].get("labels") or {}
        subsets = endpoints.get("subsets") or []
        if labels.get(LABEL_SKIP_MIRROR) != "true" or len(subsets) != 1:
            return False
        addresses = [a.get("ip") for a in subsets[0].get("addresses") or ()]
        return len(addresses) == len(ips) and set(addresses) == set(ips)
