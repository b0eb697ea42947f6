"""The kubelet: the node agent -- registers its Node, heartbeats, and runs the pods bound to it.

Like every component, the kubelet talks only to the API server, through its
own client (user ``system:node:<name>``, group ``system:nodes``):

- **registration** -- at start it POSTs its ``Node`` (capacity, allocatable,
  labels ``kubernetes.io/hostname``, ``kubernetes.io/os``, ``kubernetes.io/arch``,
  ``topology.kubernetes.io/zone``, ``spec.podCIDR``, conditions, addresses,
  ``nodeInfo``); if the Node exists already it takes it over
  (kubelet_node_status.go ``registerWithAPIServer``);
- **heartbeats** -- the :class:`~kubelearn.kubelet.lease.NodeLease` every 10 s,
  and the node status, computed every 10 s and sent when it changed or
  every 5 minutes (:mod:`~kubelearn.kubelet.nodestatus`);
- **pods** -- a watch on pods with ``fieldSelector=spec.nodeName=<node>`` (the
  API server's watch cache indexes by node, so the kubelet sees only its own);
  each new pod passes node-level admission (:mod:`~kubelearn.kubelet.admission`)
  and gets a :class:`~kubelearn.kubelet.pods.PodWorker` that runs it through the
  simulated container runtime (:mod:`~kubelearn.kubelet.runtime`);
- **what containers read** -- an informer on every Service (the service links
  of each container's environment), and a GET of each ConfigMap and Secret a
  container's ``env`` or ``envFrom`` names, just before the container is
  created (:mod:`~kubelearn.kubelet.envvars`). Upstream's default
  ``configMapAndSecretChangeDetectionStrategy: Watch`` keeps a watch on each
  such object while a pod uses it and reads from that cache; the value read
  is the same, the requests differ.

:meth:`Kubelet.stop` kills the kubelet process: no more heartbeats or status, and
its pods keep the status they last reported -- the containers keep running
(``power_off=True``: they die with the machine). :meth:`Kubelet.start` brings it
back: it takes its Node over, renews its lease, lists its pods again and adopts
the containers the runtime still has (its back-off memory is gone, as with a
real kubelet restart).

    >>> import kubelearn as kl                                     # doctest: +SKIP
    >>> cluster = kl.Cluster(nodes=2)                              # doctest: +SKIP
    >>> cluster.kubelets["node-1"].node_ip                         # doctest: +SKIP
    '172.18.0.3'
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import simpy

from kubelearn.api import AlreadyExists, NotFound, StatusError, resource_list
from kubelearn.apiserver.endpointsreconciler import CONTROL_PLANE_IP
from kubelearn.kubelet import admission, nodestatus
from kubelearn.kubelet.backoff import Backoff
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.kubelet.dns import Configurer
from kubelearn.kubelet.envvars import EnvError, secret_data
from kubelearn.kubelet.events import NORMAL, WARNING, EventRecorder
from kubelearn.kubelet.lease import NodeLease
from kubelearn.kubelet.pods import PodWorker
from kubelearn.kubelet.podstatus import merge_diff
from kubelearn.kubelet.runtime import DEFAULT_BANDWIDTH_MIB, ExecError, Runtime
from kubelearn.scheduler.informer import RELIST_DELAY, Informer

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.client import Client
    from kubelearn.sim import Simulation

# Well-known labels (k8s.io/api/core/v1 well_known_labels.go).
LABEL_HOSTNAME = "kubernetes.io/hostname"
LABEL_OS = "kubernetes.io/os"
LABEL_ARCH = "kubernetes.io/arch"
LABEL_ZONE = "topology.kubernetes.io/zone"
LABEL_REGION = "topology.kubernetes.io/region"
# The kubelet asks the attach/detach controller to manage its volumes (kubelet_node_status.go).
ANNOTATION_CONTROLLER_MANAGED_ATTACH = "volumes.kubernetes.io/controller-managed-attach-detach"
DEFAULT_CPU = "4"
DEFAULT_MEMORY = "8Gi"
DEFAULT_EPHEMERAL_STORAGE = "100Gi"


class Kubelet:
    """One node's agent on the virtual clock, talking to the API server through ``client``.

    ``cpu``, ``memory``, ``pods`` (default ``config.max_pods``, 110) and
    ``ephemeral_storage`` make the node's capacity; ``zone`` its
    ``topology.kubernetes.io/zone`` label; ``pod_cidr`` the range pod IPs
    come from; ``internal_ip`` its address; ``bandwidth`` (MiB/s) how fast it
    pulls images. ``start=False`` builds it without starting it.
    """

    def __init__(self, sim: Simulation, client: Client, node_name: str, *,
                 cpu: Any = DEFAULT_CPU, memory: Any = DEFAULT_MEMORY, pods: int | None = None,
                 ephemeral_storage: Any = DEFAULT_EPHEMERAL_STORAGE, zone: str | None = None,
                 region: str | None = None, labels: Mapping[str, str] | None = None,
                 pod_cidr: str | None = None, internal_ip: str = "10.0.0.1",
                 bandwidth: float = DEFAULT_BANDWIDTH_MIB, config: KubeletConfig | None = None,
                 start: bool = True) -> None:
        self.sim = sim
        self.client = client
        self.node_name = node_name
        self.config = config or KubeletConfig()
        self.zone = zone
        self.region = region
        self.extra_labels = dict(labels or {})
        self.pod_cidr = pod_cidr
        self.node_ip = internal_ip
        self.capacity = nodestatus.capacity(cpu, memory, pods or self.config.max_pods,
                                            ephemeral_storage)
        self.allocatable = nodestatus.allocatable(self.capacity, self.config)
        self.allocatable_usage = admission.capacity_of(resource_list(self.allocatable))
        self.runtime = Runtime(sim, node_name, pod_cidr=pod_cidr, bandwidth_mib=bandwidth,
                               serialize_pulls=self.config.serialize_image_pulls)
        self.recorder = EventRecorder(sim, client, "kubelet", node_name,
                                      enabled=self.config.events)
        self.lease = NodeLease(self)
        # Each pod's DNS settings (kubelearn.kubelet.dns): worked out when the pod is
        # admitted, written by the runtime into its sandbox as /etc/resolv.conf.
        self.dns = Configurer(cluster_dns=self.config.cluster_dns,
                              cluster_domain=self.config.cluster_domain,
                              resolver_config=self.config.resolv_conf,
                              host_resolv_conf=self.config.host_resolv_conf,
                              node_ips=(internal_ip,), events=self.recorder.event,
                              node_ref=self.node_ref)
        self._rng = sim.rng(f"kubelet/{node_name}")
        self.prober_rng = sim.rng(f"kubelet/{node_name}/prober")  # probe workers' first sleep
        self.running = False
        self.generation = 0  # one per run of the kubelet process
        self.boots = 0
        self._power_lost = True
        self.node_uid = ""
        self.workers: dict[str, PodWorker] = {}  # by pod uid
        self.used = admission.Usage()
        self.node_status: dict | None = None  # the status as last reported
        self.last_report = -float("inf")
        self._last_inputs: tuple | None = None
        self.started_at = 0.0
        self._stream = None
        self._services: Informer | None = None
        self._new_backoffs()
        if start:
            self.start()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"Kubelet({self.node_name}, {state}, pods={len(self.workers)})"

    @property
    def powered_on(self) -> bool:
        """Is the machine up (whether or not the kubelet process runs)?"""
        return not self._power_lost

    # -- plumbing ----------------------------------------------------------------------------
    def after(self, delay: float, callback: Callable[[], Any]) -> None:
        """Call ``callback()`` ``delay`` seconds from now (a bare timer, no process)."""
        timeout = self.sim.timeout(delay)
        timeout.callbacks.append(lambda _event: callback())

    def jittered(self, period: float) -> float:
        """``period`` stretched by up to ``heartbeat_jitter`` (wait.JitterUntil), seeded."""
        jitter = self.config.heartbeat_jitter
        return period * (1 + jitter * self._rng.random()) if jitter else period

    def _new_backoffs(self) -> None:
        """Fresh CrashLoopBackOff and ImagePullBackOff memories (a new kubelet process)."""
        clock = lambda: self.sim.now  # noqa: E731
        self.container_backoff = Backoff(clock, self.config.container_backoff_period,
                                         self.config.max_container_backoff)
        self.image_backoff = Backoff(clock, self.config.image_backoff_period,
                                     self.config.max_image_backoff)

    @property
    def node_ref(self) -> dict:
        """The ObjectReference of node events: the kubelet uses the node's name as its uid."""
        return {"kind": "Node", "name": self.node_name, "uid": self.node_name}

    def _node_event(self, kind: str, reason: str, message: str) -> None:
        self.recorder.event(self.node_ref, kind, reason, message)

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the kubelet: register the Node, start heartbeats, watch and run its pods."""
        if self.running:
            return
        self.running = True
        self.generation += 1
        self.started_at = self.sim.now
        if self._power_lost:
            self.boots += 1
            self._power_lost = False
        self.workers = {}
        self.used = admission.Usage()
        self._new_backoffs()  # a new process remembers no back-off, and holds no lease
        self.lease.latest = None
        self._node_event(NORMAL, "Starting", "Starting kubelet.")
        self.register()
        self.sim.process(self.lease.run(self.generation))
        self.sim.process(self._status_loop(self.generation))
        self._watch_services(self.generation)
        self._watch_pods()

    def stop(self, *, power_off: bool = False) -> None:
        """Kill the kubelet: no heartbeats, no status; ``power_off`` also kills every container."""
        if not self.running:
            return
        self.running = False
        self.generation += 1
        for worker in self.workers.values():
            worker.dead = True
        self.workers = {}
        if self._stream is not None:
            self._stream.stop()
            self._stream = None
        if self._services is not None:
            self._services.stop()
            self._services = None
        if power_off:
            self.runtime.lose_everything()
            self._power_lost = True
        self.sim.record(self.recorder.record_as, "KubeletStopped", f"node/{self.node_name}",
                        "the machine lost power" if power_off else "the kubelet process died")

    # -- registration and node status ------------------------------------------------------
    def _labels(self) -> dict[str, str]:
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  LABEL_ARCH: "amd64", LABEL_HOSTNAME: self.node_name, LABEL_OS: "linux"}
        if self.zone:
            labels[LABEL_ZONE] = self.zone
        if self.region:
            labels[LABEL_REGION] = self.region
        labels.update(self.extra_labels)
        return labels

    def compute_status(self, previous: Mapping[str, Any] | None = None) -> tuple[dict, list]:
        """The node status now (setters.go), and the condition events it makes."""
        now = self.sim.timestamp()
        ready = self.sim.now >= self.started_at + self.config.network_ready_after - 1e-9
        old = list((previous or {}).get("conditions") or ())
        conditions, events = nodestatus.conditions(old, now, ready)
        status = {
            "addresses": [{"type": "InternalIP", "address": self.node_ip},
                          {"type": "Hostname", "address": self.node_name}],
            "allocatable": dict(self.allocatable), "capacity": dict(self.capacity),
            "conditions": conditions,
            "daemonEndpoints": {"kubeletEndpoint": {"Port": nodestatus.KUBELET_PORT}},
            "images": self.runtime.image_list()[:self.config.node_status_max_images],
            "nodeInfo": nodestatus.node_info(self.node_name, self.config, self.boots),
        }
        return status, events

    def register(self) -> None:
        """POST the Node (registerWithAPIServer); if it exists, take it over and update it."""
        try:
            existing = self.client.get("nodes", self.node_name)
        except NotFound:
            existing = None
        except StatusError:
            return
        status, events = self.compute_status(existing.get("status") if existing else None)
        if existing is None:
            spec: dict[str, Any] = {}
            if self.pod_cidr:
                spec = {"podCIDR": self.pod_cidr, "podCIDRs": [self.pod_cidr]}
            node = {"apiVersion": "v1", "kind": "Node",
                    "metadata": {"name": self.node_name, "labels": self._labels(),
                                 "annotations": {ANNOTATION_CONTROLLER_MANAGED_ATTACH: "true"}},
                    "spec": spec, "status": status}
            try:
                created = self.client.create(node)
            except AlreadyExists:
                created = self.client.get("nodes", self.node_name)
            self.node_uid = created["metadata"].get("uid", "")
            self.node_status = created.get("status") or status
            self.sim.record(self.recorder.record_as, "NodeRegistered", f"node/{self.node_name}",
                            f"Successfully registered node {self.node_name}")
        else:
            self.node_uid = existing["metadata"].get("uid", "")
            self.node_status = existing.get("status")
            self._send_status(status)
        self.last_report = self.sim.now
        self._last_inputs = self._inputs()
        for event in events:
            self._node_event(NORMAL, event, f"Node {self.node_name} status is now: {event}")
        if existing is None:
            self._node_event(NORMAL, "NodeAllocatableEnforced",
                             "Updated Node Allocatable limit across pods")

    def _send_status(self, status: dict) -> bool:
        """PATCH nodes/<name>/status with what changed (nodeutil.PatchNodeStatus)."""
        patch = merge_diff(self.node_status or {}, status)
        try:
            if patch:
                self.client.patch("nodes", self.node_name, {"status": patch},
                                  patch_type="merge", subresource="status")
        except NotFound:
            self.node_status = None
            self.register()  # the Node was deleted: register again
            return True
        except StatusError:
            return False
        self.node_status = status
        self.last_report = self.sim.now
        if self.config.record_heartbeats:
            ready = status["conditions"][-1]
            self.sim.record(self.recorder.record_as, "NodeStatusUpdated",
                            f"node/{self.node_name}",
                            f"Ready={ready['status']} ({ready['reason']})")
        return True

    def _inputs(self) -> tuple:
        """What the node status is computed from, besides the clock (a cheap "changed?")."""
        now = self.sim.now
        ready = now >= self.started_at + self.config.network_ready_after - 1e-9
        images = sum(1 for _, since in self.runtime.images.values() if since <= now)
        return ready, images, self.boots, self.node_status is None

    def sync_node_status(self) -> None:
        """tryUpdateNodeStatus: compute; send if it changed or the report is due."""
        due = self.sim.now - self.last_report >= self.config.node_status_report_frequency - 1e-6
        inputs = self._inputs()
        if not due and inputs == self._last_inputs:
            return  # only heartbeat times would move: nothing to send, nothing to build
        self._last_inputs = inputs
        status, events = self.compute_status(self.node_status)
        if (nodestatus.changed(self.node_status, status) or due) \
                and not self._send_status(status):
            self._last_inputs = None  # not sent: try again at the next computation
        for event in events:
            self._node_event(NORMAL, event, f"Node {self.node_name} status is now: {event}")

    def _status_loop(self, generation: int) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.sim.timeout(self.jittered(self.config.node_status_update_frequency))
            if self.generation != generation:
                return
            self.sync_node_status()

    # -- pods --------------------------------------------------------------------------------
    def _watch_pods(self) -> None:
        """List the pods bound to this node, then watch from the list's resourceVersion.

        As the reflector behind the kubelet's API server pod source does
        (pkg/kubelet/config/apiserver.go; client-go v1.32 lists first, its
        WatchListClient gate is off). New pods are admitted oldest first; a pod
        the kubelet runs that a relist no longer shows was deleted meanwhile.
        """
        selector = f"spec.nodeName={self.node_name}"
        generation = self.generation
        try:
            listed = self.client.list("pods", None, field_selector=selector)
            stream = self.client.watch("pods", None, field_selector=selector,
                                       resource_version=listed["metadata"]["resourceVersion"])
        except StatusError:  # the API server is not answering: try again shortly
            self._rewatch(generation)
            return
        self._stream = stream
        pods = sorted(listed["items"], key=lambda p: (p["metadata"].get("creationTimestamp") or "",
                                                      p["metadata"].get("name") or ""))
        listed_uids = {p["metadata"].get("uid") for p in pods}
        for uid in [uid for uid in self.workers if uid not in listed_uids]:
            self.workers.pop(uid).removed()
        for pod in pods:
            self._on_pod_event({"type": "ADDED", "object": pod})
        stream.on_event(self._on_pod_event)
        stream.on_stop(lambda: self._rewatch(generation))

    def _rewatch(self, generation: int) -> None:
        """The watch ended under a running kubelet: list and watch again (a reflector relist)."""
        if self.running and self.generation == generation:
            self.after(1.0, lambda: self._watch_pods() if self.running
                       and self.generation == generation else None)

    def _on_pod_event(self, event: Mapping[str, Any]) -> None:
        kind, pod = event.get("type"), event.get("object") or {}
        if kind not in ("ADDED", "MODIFIED", "DELETED") or not self.running:
            return
        uid = pod["metadata"].get("uid") or ""
        worker = self.workers.get(uid)
        if kind == "DELETED":
            if worker is not None:
                del self.workers[uid]
                worker.removed()
            return
        if worker is not None:
            worker.update(pod)
            return
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return  # finished before we knew it: nothing to run
        self._add_pod(pod)

    def _add_pod(self, pod: dict) -> None:
        """HandlePodAdditions: admit the pod (or reject it), then let a worker run it."""
        request = admission.request_of(pod)
        refused = admission.admit(request, self.used, self.allocatable_usage)
        if refused is not None:
            self.reject(pod, *refused)
            return
        self.used.add(request)
        worker = PodWorker(self, pod, request)
        self.workers[worker.uid] = worker
        worker.dns = self.dns.get_pod_dns(pod)  # its sandbox's resolv.conf, once it has one
        if pod["metadata"].get("deletionTimestamp"):
            worker.begin_termination()
        else:
            worker.enqueue()

    def reject(self, pod: dict, reason: str, message: str) -> None:
        """rejectPod: a Warning event and the status ``Failed``, ``Pod was rejected: ...``."""
        meta = pod["metadata"]
        ref = {"kind": "Pod", "namespace": meta.get("namespace"), "name": meta.get("name"),
               "uid": meta.get("uid"), "apiVersion": "v1",
               "resourceVersion": meta.get("resourceVersion")}
        self.recorder.event(ref, WARNING, reason, message)
        observed = pod.get("status") or {}
        status = {"phase": "Failed", "reason": reason,
                  "message": admission.REJECTED_PREFIX + message,
                  "startTime": observed.get("startTime") or self.sim.timestamp()}
        if observed.get("qosClass"):
            status["qosClass"] = observed["qosClass"]
        try:
            self.client.patch("pods", meta["name"], {"status": merge_diff(observed, status)},
                              meta.get("namespace"), patch_type="merge", subresource="status")
        except StatusError:
            return

    def release(self, worker: PodWorker) -> None:
        """A pod stopped for good: its requests no longer count against the node."""
        if worker.counted:
            worker.counted = False
            self.used.add(worker.request, -1)

    # -- what containers read: Services, ConfigMaps, Secrets -----------------------------------
    def _watch_services(self, generation: int) -> None:
        """List and watch every Service (kubelet.go's serviceLister), kept small in memory."""
        informer = Informer(self.sim, self.client, "services", transform=_service_summary)
        try:
            informer.start()
        except StatusError:  # the API server is not answering: try again shortly
            self.after(RELIST_DELAY, lambda: self._watch_services(generation)
                       if self.running and self.generation == generation else None)
            return
        self._services = informer

    def services(self) -> list[Mapping[str, Any]]:
        """Every Service the kubelet knows; EnvError until the first list has succeeded."""
        if self._services is None:
            raise EnvError("services have not yet been read at least once, cannot construct "
                           "envvars")
        return list(self._services.store.values())

    def config_map_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A ConfigMap's ``data`` read as this node (None if it does not exist)."""
        obj = self._read("configmaps", namespace, name)
        return None if obj is None else {str(k): str(v) for k, v in
                                         (obj.get("data") or {}).items()}

    def secret_data(self, namespace: str, name: str) -> dict[str, str] | None:
        """A Secret's ``data``, decoded, read as this node (None if it does not exist)."""
        obj = self._read("secrets", namespace, name)
        return None if obj is None else secret_data(obj)

    def _read(self, resource: str, namespace: str, name: str) -> dict | None:
        try:
            return self.client.get(resource, name, namespace)
        except NotFound:
            return None
        except StatusError as error:  # forbidden, unavailable...: the start fails, and retries
            raise EnvError(str(error)) from None

    # -- for lessons and tests ---------------------------------------------------------------
    def pods(self) -> list[str]:
        """``namespace/name`` of every pod this kubelet runs."""
        return sorted(f"{w.namespace}/{w.name}" for w in self.workers.values())

    def resolv_conf(self, name: str, namespace: str = "default") -> str:
        """The pod's /etc/resolv.conf, as its containers read it.

        The file lives in the pod's sandbox (containerd writes it there), so it
        is there exactly while the sandbox is: from the pod's start until it
        stops, through a restart of the kubelet. A pod without one on this node
        -- on another node, not started yet, refused by admission, finished or
        deleted -- is a 404 (reason NotFound) naming the pod and the node.
        """
        pod = f"{namespace}/{name}"
        for sandbox in self.runtime.sandboxes.values():
            if sandbox.pod == pod:
                return sandbox.resolv_conf
        raise StatusError(f'pod "{name}" in namespace "{namespace}" has no sandbox on node '
                          f"{self.node_name}, so no /etc/resolv.conf", reason="NotFound",
                          code=404)

    def exec(self, name: str, command: Sequence[str], container: str | None = None,
             namespace: str = "default") -> str:
        """Run ``command`` in one of the pod's running containers (the first unless named).

        Raises KeyError if the pod is not on this node, and
        :class:`~kubelearn.kubelet.runtime.ExecError` if the container is not running.
        """
        worker = self.worker(name, namespace)
        slots = [s for s in worker.slots if container is None or s.name == container]
        if not slots:
            raise KeyError(f"container {container} is not valid for pod {name}")
        current = slots[0].current
        if current is None:
            raise ExecError(f"container not found ({slots[0].name!r})")
        return self.runtime.exec(current, command)

    def worker(self, name: str, namespace: str = "default") -> PodWorker:
        """The worker of one pod (KeyError if the kubelet does not run it)."""
        for worker in self.workers.values():
            if worker.name == name and worker.namespace == namespace:
                return worker
        raise KeyError(f"{namespace}/{name} is not on {self.node_name}")


def _service_summary(service: Mapping[str, Any]) -> dict:
    """The fields of a Service the kubelet's environment uses (an informer transform)."""
    meta, spec = service.get("metadata") or {}, service.get("spec") or {}
    return {"metadata": {k: meta.get(k) for k in ("name", "namespace", "resourceVersion")},
            "spec": {"clusterIP": spec.get("clusterIP"),
                     "ports": [{k: p.get(k) for k in ("name", "port", "protocol")}
                               for p in spec.get("ports") or () if isinstance(p, Mapping)]}}


# -- node addresses (the Cluster's stand-in for node IPAM) -------------------------------------
# kind puts its nodes on the docker network 172.18.0.0/16: the gateway is .1, the control-plane
# node (the API server's address, CONTROL_PLANE_IP) .2, and the workers follow from .3.
# kubeadm's --pod-network-cidr (flannel's default) 10.244.0.0/16 gives each node a /24
# (--node-cidr-mask-size 24), which is room for 255 nodes. Bigger clusters need a bigger
# range: kops' default 100.96.0.0/11.
NODE_NETWORK = "172.18.0.0/16"
CLUSTER_CIDR = "10.244.0.0/16"
LARGE_CLUSTER_CIDR = "100.96.0.0/11"


def node_network(index: int) -> tuple[str, str]:
    """``(InternalIP, podCIDR)`` of worker ``index`` (1, 2, ...): 172.18.0.3, 10.244.1.0/24."""
    internal_ip = str(ipaddress.ip_address(CONTROL_PLANE_IP) + index)
    cidr = ipaddress.ip_network(CLUSTER_CIDR if index < 256 else LARGE_CLUSTER_CIDR)
    base = int(cidr.network_address) + (index % (cidr.num_addresses // 256)) * 256
    return internal_ip, f"{ipaddress.ip_address(base)}/24"
