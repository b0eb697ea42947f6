"""What the scheduler knows about a node: its allocatable, the pods on it and their sums.

- :class:`Resource` -- CPU in millicores, memory and storage in bytes, pod count and
  extended ("scalar") resources, as plain ints (framework.Resource).
- :class:`PodInfo` -- a pod with its requests worked out once: the raw requests, and the
  *non-zero* CPU and memory that scoring uses (100m / 200Mi for a container that sets none).
- :class:`NodeInfo` -- a node dict plus its pods: ``requested`` (the sum of requests,
  what the filter checks), ``non_zero_requested`` (what scoring uses), ``allocatable``,
  ``used_ports`` and ``image_states``.
- :class:`Snapshot` -- every NodeInfo of one scheduling cycle, built from node and pod
  dicts, with the image spread ImageLocality needs and the objects default spreading reads
  (each kind through a :class:`Lister`, indexed by namespace).

A port of pkg/scheduler/framework/types.go (NodeInfo, PodInfo.CalculateResource,
Resource), k8s.io/kube-scheduler/framework (HostPortInfo, ImageStateSummary),
pkg/scheduler/util (default requests, GetHostPorts) and backend/cache/snapshot.go.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelearn.api import Quantity, is_qualified_name, node_allocatable, pod_requests, resource_list

CPU = "cpu"
MEMORY = "memory"
PODS = "pods"
EPHEMERAL_STORAGE = "ephemeral-storage"

DEFAULT_MILLI_CPU_REQUEST = 100  # pkg/scheduler/util DefaultMilliCPURequest: 0.1 core
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024  # pkg/scheduler/util DefaultMemoryRequest: 200 MiB

DEFAULT_BIND_ALL_HOST_IP = "0.0.0.0"  # kube-scheduler framework DefaultBindAllHostIP
DEFAULT_PROTOCOL = "TCP"  # an unset containerPort protocol

_NATIVE_PREFIX = "kubernetes.io/"  # v1.ResourceDefaultNamespacePrefix
_REQUESTS_PREFIX = "requests."  # v1.DefaultResourceRequestsPrefix
_HUGEPAGES_PREFIX = "hugepages-"  # v1.ResourceHugePagesPrefix
_ATTACHABLE_VOLUMES_PREFIX = "attachable-volumes-"  # v1.ResourceAttachableVolumesPrefix


# -- resource names (pkg/apis/core/v1/helper) ---------------------------------------------------

def is_prefixed_native_resource(name: str) -> bool:
    """True for a resource in the ``kubernetes.io/`` namespace."""
    return _NATIVE_PREFIX in name


def is_native_resource(name: str) -> bool:
    """True for cpu, memory and the like, and anything under ``kubernetes.io/``."""
    return "/" not in name or is_prefixed_native_resource(name)


def is_extended_resource_name(name: str) -> bool:
    """True for a vendor resource such as ``nvidia.com/gpu`` (IsExtendedResourceName)."""
    if is_native_resource(name) or name.startswith(_REQUESTS_PREFIX):
        return False
    return not is_qualified_name(_REQUESTS_PREFIX + name)  # quota must be able to name it


def is_scalar_resource_name(name: str) -> bool:
    """True for resources counted as plain integers beside cpu and memory (IsScalarResourceName)."""
    return (is_extended_resource_name(name) or name.startswith(_HUGEPAGES_PREFIX)
            or is_prefixed_native_resource(name) or name.startswith(_ATTACHABLE_VOLUMES_PREFIX))


# -- Resource ------------------------------------------------------------------------------------

@dataclass
class Resource:
    """Compute resources as ints: millicores, bytes, a pod count, scalar resources."""

    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    allowed_pod_number: int = 0
    scalar_resources: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_list(cls, resources: Mapping[str, Any] | None) -> Resource:
        """A Resource holding a ResourceList such as ``{cpu: 2, memory: 4Gi}`` (NewResource)."""
        r = cls()
        r.add(resources)
        return r

    def add(self, resources: Mapping[str, Any] | None) -> None:
        """Add a ResourceList; unknown native resources are ignored (Resource.Add)."""
        for name, q in resource_list(resources).items():
            if name == CPU:
                self.milli_cpu += q.milli_value()
            elif name == MEMORY:
                self.memory += q.value()
            elif name == PODS:
                self.allowed_pod_number += q.value()
            elif name == EPHEMERAL_STORAGE:
                self.ephemeral_storage += q.value()
            elif is_scalar_resource_name(name):
                self.scalar_resources[name] = self.scalar_resources.get(name, 0) + q.value()

    def set_max(self, resources: Mapping[str, Any] | None) -> None:
        """Keep, per resource, the larger of this and ``resources`` (SetMaxResource)."""
        for name, q in resource_list(resources).items():
            if name == MEMORY:
                self.memory = max(self.memory, q.value())
            elif name == CPU:
                self.milli_cpu = max(self.milli_cpu, q.milli_value())
            elif name == EPHEMERAL_STORAGE:
                self.ephemeral_storage = max(self.ephemeral_storage, q.value())
            elif is_scalar_resource_name(name):
                self.scalar_resources[name] = max(self.scalar_resources.get(name, 0), q.value())

    def get(self, name: str) -> int:
        """The amount of one resource: millicores for cpu, bytes or counts for the rest."""
        if name == CPU:
            return self.milli_cpu
        if name == MEMORY:
            return self.memory
        if name == EPHEMERAL_STORAGE:
            return self.ephemeral_storage
        if name == PODS:
            return self.allowed_pod_number
        return self.scalar_resources.get(name, 0)

    def is_zero(self) -> bool:
        """True when nothing is requested (what NodeResourcesFit treats as 'always fits')."""
        return not (self.milli_cpu or self.memory or self.ephemeral_storage
                    or self.scalar_resources)

    def clone(self) -> Resource:
        """An independent copy."""
        return Resource(self.milli_cpu, self.memory, self.ephemeral_storage,
                        self.allowed_pod_number, dict(self.scalar_resources))


# -- requests of a pod ---------------------------------------------------------------------------

def _map(value: Any) -> Mapping[str, Any]:
    if type(value) is dict:  # the cheap tests first: most values are dicts or missing
        return value
    return value if value is not None and isinstance(value, Mapping) else {}


def _with_default_requests(pod: Mapping[str, Any], defaults: Mapping[str, Quantity]
                           ) -> Mapping[str, Any]:
    """``pod`` with each container's missing requests filled from ``defaults`` (applyNonMissing).

    A request set explicitly -- even to zero -- is kept; only a missing key is filled.
    """
    spec = _map(pod.get("spec"))

    def fill(containers: Any) -> list[Any]:
        out = []
        for c in containers if isinstance(containers, list) else []:
            c = _map(c)
            resources = _map(c.get("resources"))
            requests = dict(_map(resources.get("requests")))
            for name, q in defaults.items():
                if requests.get(name) is None:
                    requests[name] = q
            out.append({**c, "resources": {**resources, "requests": requests}})
        return out

    new_spec = {**spec, "containers": fill(spec.get("containers")),
                "initContainers": fill(spec.get("initContainers"))}
    return {**pod, "spec": new_spec}


def _defaults() -> dict[str, Quantity]:
    return {CPU: Quantity.from_milli(DEFAULT_MILLI_CPU_REQUEST),
            MEMORY: Quantity(DEFAULT_MEMORY_REQUEST)}


def pod_level_requests_set(pod: Mapping[str, Any]) -> bool:
    """True if ``spec.resources.requests`` sets cpu, memory or hugepages (IsPodLevelRequestsSet)."""
    resources = _map(pod.get("spec")).get("resources")
    if not resources:  # most pods: no pod-level resources at all
        return False
    requests = _map(_map(resources).get("requests"))
    return any(k in (CPU, MEMORY) or k.startswith(_HUGEPAGES_PREFIX) for k in requests)


def requests_with_defaults(pod: Mapping[str, Any]) -> dict[str, Quantity]:
    """The pod's requests, with 100m CPU / 200Mi memory for each container missing one.

    What the scoring plugins count for the pod being scheduled
    (resource_allocation.go calculatePodResourceRequest).
    """
    return pod_requests(_with_default_requests(pod, _defaults()))


def non_zero_requests(pod: Mapping[str, Any]) -> dict[str, Quantity]:
    """The requests a *placed* pod adds to NodeInfo.non_zero_requested (CalculateResource).

    Containers missing a CPU or memory request count 100m / 200Mi. With pod-level
    requests set, a default applies only to a resource the pod requests nowhere.
    """
    requests = pod_requests(pod)
    defaults = _defaults()
    if pod_level_requests_set(pod):
        defaults = {k: q for k, q in defaults.items() if k not in requests}
    if not defaults:
        return requests
    return pod_requests(_with_default_requests(pod, defaults))


def _all_set(pod: Mapping[str, Any]) -> bool:
    """True if every container and init container requests both cpu and memory."""
    spec = _map(pod.get("spec"))
    for key in ("containers", "initContainers"):
        for c in spec.get(key) or []:
            requests = _map(_map(_map(c).get("resources")).get("requests"))
            if requests.get(CPU) is None or requests.get(MEMORY) is None:
                return False
    return True


# -- host ports ----------------------------------------------------------------------------------

def host_ports(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The containerPorts with a hostPort, sidecars included (util.GetHostPorts)."""
    spec = _map(pod.get("spec"))
    out = []
    for c in spec.get("initContainers") or []:
        if _map(c).get("restartPolicy") != "Always":  # only init containers that keep running
            continue
        out.extend(p for p in _map(c).get("ports") or [] if (_map(p).get("hostPort") or 0) > 0)
    for c in spec.get("containers") or []:
        out.extend(p for p in _map(c).get("ports") or [] if (_map(p).get("hostPort") or 0) > 0)
    return out


class HostPortInfo:
    """Host IP -> the (protocol, port) pairs in use on a node (framework.HostPortInfo)."""

    __slots__ = ("_by_ip",)

    def __init__(self) -> None:
        self._by_ip: dict[str, dict[tuple[str, int], int]] = {}

    @staticmethod
    def _sanitize(ip: str | None, protocol: str | None) -> tuple[str, str]:
        return ip or DEFAULT_BIND_ALL_HOST_IP, protocol or DEFAULT_PROTOCOL

    def add(self, ip: str | None, protocol: str | None, port: int) -> None:
        """Record a port in use."""
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        ports = self._by_ip.setdefault(ip, {})
        ports[(protocol, port)] = ports.get((protocol, port), 0) + 1

    def remove(self, ip: str | None, protocol: str | None, port: int) -> None:
        """Release a port."""
        if port <= 0:
            return
        ip, protocol = self._sanitize(ip, protocol)
        ports = self._by_ip.get(ip, {})
        key = (protocol, port)
        if key in ports:
            ports[key] -= 1
            if ports[key] <= 0:
                del ports[key]
            if not ports:
                self._by_ip.pop(ip, None)

    def check_conflict(self, ip: str | None, protocol: str | None, port: int) -> bool:
        """True if the port is taken; 0.0.0.0 conflicts with every IP (CheckConflict)."""
        if port <= 0:
            return False
        ip, protocol = self._sanitize(ip, protocol)
        key = (protocol, port)
        if ip == DEFAULT_BIND_ALL_HOST_IP:
            return any(key in ports for ports in self._by_ip.values())
        return any(key in self._by_ip.get(i, {}) for i in (DEFAULT_BIND_ALL_HOST_IP, ip))

    def __len__(self) -> int:
        return sum(len(p) for p in self._by_ip.values())


def pod_affinity_kinds(pod: Mapping[str, Any]) -> tuple[bool, bool]:
    """(has podAffinity or podAntiAffinity, has required podAntiAffinity terms).

    What NodeInfo files a pod under: PodsWithAffinity and PodsWithRequiredAntiAffinity.
    """
    affinity = _map(pod.get("spec")).get("affinity")
    if not affinity:  # the common case: nothing to look at
        return False, False
    affinity = _map(affinity)
    pod_affinity, anti = affinity.get("podAffinity"), affinity.get("podAntiAffinity")
    required_anti = bool(_map(anti).get("requiredDuringSchedulingIgnoredDuringExecution"))
    return bool(pod_affinity or anti), required_anti


# -- PodInfo -------------------------------------------------------------------------------------

class PodInfo:
    """A pod with what the scheduler needs of it worked out once."""

    __slots__ = ("pod", "requested", "non0_cpu", "non0_mem", "host_ports", "with_affinity",
                 "with_required_anti_affinity", "affinity_terms")

    def __init__(self, pod: Mapping[str, Any]) -> None:
        self.pod = pod
        self.with_affinity, self.with_required_anti_affinity = pod_affinity_kinds(pod)
        self.affinity_terms: Any = None  # InterPodAffinity's parsed terms, filled on first use
        requests = pod_requests(pod)
        self.requested = Resource.from_list(requests)
        # Every container asks for cpu and memory: no default applies, the sums are the same.
        non0 = requests if _all_set(pod) else non_zero_requests(pod)
        self.non0_cpu = non0[CPU].milli_value() if CPU in non0 else 0
        self.non0_mem = non0[MEMORY].value() if MEMORY in non0 else 0
        self.host_ports = host_ports(pod)

    @classmethod
    def sharing(cls, pod: Mapping[str, Any], other: PodInfo) -> PodInfo:
        """A PodInfo for ``pod``, whose spec is ``other``'s: the same requests, not reparsed."""
        info = cls.__new__(cls)
        info.pod = pod
        info.requested = other.requested  # read-only: NodeInfo sums copies of the numbers
        info.non0_cpu, info.non0_mem = other.non0_cpu, other.non0_mem
        info.host_ports = other.host_ports
        info.with_affinity = other.with_affinity
        info.with_required_anti_affinity = other.with_required_anti_affinity
        info.affinity_terms = None  # the terms read the pod's own namespace and labels
        return info

    @property
    def name(self) -> str:
        """metadata.name."""
        return _map(self.pod.get("metadata")).get("name", "")

    @property
    def namespace(self) -> str:
        """metadata.namespace (``default`` when unset)."""
        return _map(self.pod.get("metadata")).get("namespace") or "default"

    @property
    def labels(self) -> Mapping[str, str]:
        """metadata.labels."""
        return _map(_map(self.pod.get("metadata")).get("labels"))

    @property
    def key(self) -> str:
        """The uid if the pod has one, else namespace/name (GetPodKey uses the uid)."""
        meta = _map(self.pod.get("metadata"))
        return meta.get("uid") or f"{self.namespace}/{self.name}"

    @property
    def terminating(self) -> bool:
        """True once metadata.deletionTimestamp is set."""
        return _map(self.pod.get("metadata")).get("deletionTimestamp") is not None

    def __repr__(self) -> str:
        return f"PodInfo({self.namespace}/{self.name})"


# -- NodeInfo ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageStateSummary:
    """An image on a node: its size, and on how many nodes of the cluster it is."""

    size: int
    num_nodes: int


class NodeInfo:
    """A node and the pods on it, with their requests summed (framework.NodeInfo)."""

    def __init__(self, node: Mapping[str, Any] | None = None,
                 pods: Iterable[Mapping[str, Any] | PodInfo] = ()) -> None:
        self.node: Mapping[str, Any] | None = None
        self.pods: list[PodInfo] = []
        # the pods with inter-pod (anti-)affinity, for InterPodAffinity (PodsWithAffinity,
        # PodsWithRequiredAntiAffinity): most pods have none, so most nodes skip the work
        self.pods_with_affinity: list[PodInfo] = []
        self.pods_with_required_anti_affinity: list[PodInfo] = []
        self.requested = Resource()
        self.non_zero_requested = Resource()
        self.allocatable = Resource()
        self.used_ports = HostPortInfo()
        self.image_states: dict[str, ImageStateSummary] = {}
        self._labels_of: Mapping[str, Any] | None = None
        self._labels: Mapping[str, str] = {}
        if node is not None:
            self.set_node(node)
        for pod in pods:
            self.add_pod(pod)

    # -- the node --------------------------------------------------------------------------
    def set_node(self, node: Mapping[str, Any]) -> None:
        """Attach the node object; its allocatable becomes ``allocatable`` (SetNode)."""
        self.node = node
        self.allocatable = Resource.from_list(node_allocatable(node))

    @property
    def name(self) -> str:
        """The node's name."""
        return _map(_map(self.node).get("metadata")).get("name", "")

    @property
    def labels(self) -> Mapping[str, str]:
        """The node's labels (looked up once per node object: filters read them a lot)."""
        node = self.node
        if node is not self._labels_of:
            self._labels_of = node
            self._labels = _map(_map(_map(node).get("metadata")).get("labels"))
        return self._labels

    @property
    def taints(self) -> list[Mapping[str, Any]]:
        """spec.taints."""
        return [_map(t) for t in _map(_map(self.node).get("spec")).get("taints") or []]

    @property
    def unschedulable(self) -> bool:
        """spec.unschedulable (``kubectl cordon``)."""
        return bool(_map(_map(self.node).get("spec")).get("unschedulable"))

    def snapshot(self) -> NodeInfo:
        """An independent copy: the same node and pods, its own sums (NodeInfo.Snapshot)."""
        copy = NodeInfo(self.node, self.pods) if self.node is not None \
            else NodeInfo(pods=self.pods)
        copy.image_states = self.image_states
        return copy

    # -- its pods ---------------------------------------------------------------------------
    def add_pod(self, pod: Mapping[str, Any] | PodInfo) -> PodInfo:
        """Count a pod on this node (AddPodInfo)."""
        info = pod if isinstance(pod, PodInfo) else PodInfo(pod)
        self.pods.append(info)
        if info.with_affinity:
            self.pods_with_affinity.append(info)
            if info.with_required_anti_affinity:
                self.pods_with_required_anti_affinity.append(info)
        self._update(info, 1)
        return info

    def remove_pod(self, pod: Mapping[str, Any] | PodInfo) -> None:
        """Stop counting a pod, matched by uid or namespace/name (RemovePod)."""
        key = (pod if isinstance(pod, PodInfo) else PodInfo(pod)).key
        for i, info in enumerate(self.pods):
            if info.key == key:
                del self.pods[i]
                if info.with_affinity:
                    self.pods_with_affinity.remove(info)
                    if info.with_required_anti_affinity:
                        self.pods_with_required_anti_affinity.remove(info)
                self._update(info, -1)
                return
        raise KeyError(f"no corresponding pod {key} in pods of node {self.name}")

    def _update(self, info: PodInfo, sign: int) -> None:
        r = info.requested
        self.requested.milli_cpu += sign * r.milli_cpu
        self.requested.memory += sign * r.memory
        self.requested.ephemeral_storage += sign * r.ephemeral_storage
        for name, q in r.scalar_resources.items():
            scalars = self.requested.scalar_resources
            scalars[name] = scalars.get(name, 0) + sign * q
        self.non_zero_requested.milli_cpu += sign * info.non0_cpu
        self.non_zero_requested.memory += sign * info.non0_mem
        for p in info.host_ports:
            args = (p.get("hostIP"), p.get("protocol"), int(p.get("hostPort") or 0))
            self.used_ports.add(*args) if sign > 0 else self.used_ports.remove(*args)

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, pods={len(self.pods)})"


# -- Snapshot ------------------------------------------------------------------------------------

class Lister:
    """One resource's objects by namespace, then name, as a client-go lister indexes them.

    ``list(ns)`` and ``get(ns, name)`` read one namespace -- ``Services(ns).List()``,
    ``ReplicaSets(ns).Get(name)`` -- instead of walking every object of the kind.
    """

    def __init__(self, objects: Iterable[Mapping[str, Any]] = ()) -> None:
        self.by_namespace: dict[str, dict[str, Mapping[str, Any]]] = {}
        for obj in objects:
            meta = _map(obj.get("metadata"))
            names = self.by_namespace.setdefault(meta.get("namespace") or "default", {})
            names.setdefault(meta.get("name"), obj)  # a repeated name: the first, as a scan finds

    def list(self, namespace: str) -> Iterable[Mapping[str, Any]]:
        """The objects in ``namespace``."""
        return self.by_namespace.get(namespace, {}).values()

    def get(self, namespace: str, name: str | None) -> Mapping[str, Any] | None:
        """The object ``namespace/name``, or None."""
        return self.by_namespace.get(namespace, {}).get(name)


LabelKey = tuple[str, str, str]  # (namespace, label key, value)


class PodLabelIndex:
    """Every counted pod filed under each of its labels, with the node it is on.

    A selector that pins a label (``app=web``) can match only the pods filed under
    it: spreading's matching-pod counts and InterPodAffinity's term matches look
    those up instead of walking every pod of the cluster. Terminating pods are
    filed too (InterPodAffinity counts them; spreading skips them).
    """

    def __init__(self) -> None:
        self.by_label: dict[LabelKey, dict[PodInfo, str]] = {}

    def add(self, node: str, info: PodInfo) -> None:
        """File a pod counted on ``node``."""
        namespace = info.namespace
        for k, v in info.labels.items():
            self.by_label.setdefault((namespace, k, v), {})[info] = node

    def remove(self, info: PodInfo) -> None:
        """Unfile a pod (its labels are those it was filed with: a relabel recounts it)."""
        namespace = info.namespace
        for k, v in info.labels.items():
            key = (namespace, k, v)
            pods = self.by_label.get(key)
            if pods is not None:
                pods.pop(info, None)
                if not pods:
                    del self.by_label[key]

    def pods(self, namespace: str, key: str, value: str) -> Mapping[PodInfo, str]:
        """The pods in ``namespace`` labelled ``key=value``, each with its node."""
        return self.by_label.get((namespace, key, value), {})


class AffinityIndex:
    """The nodes holding pods with inter-pod affinity, kept as pods come and go.

    Upstream's snapshot lists them (havePodsWithAffinityNodeInfoList,
    havePodsWithRequiredAntiAffinityNodeInfoList) so that InterPodAffinity looks at
    those nodes only -- and at none when no pod has affinity. ``terms``, when
    given, is told of every such pod too (``terms.update(node, pod, +1 or -1)``):
    InterPodAffinity's count of the existing pods' terms per node.
    """

    def __init__(self, terms: Any = None) -> None:
        self.with_affinity: dict[str, NodeInfo] = {}
        self.with_required_anti_affinity: dict[str, NodeInfo] = {}
        self.terms = terms

    def update(self, name: str, info: NodeInfo) -> None:
        """File (or unfile) a node after a pod with affinity came or went."""
        for index, pods in ((self.with_affinity, info.pods_with_affinity),
                            (self.with_required_anti_affinity,
                             info.pods_with_required_anti_affinity)):
            if pods:
                index[name] = info
            else:
                index.pop(name, None)

    def pod_changed(self, name: str, info: NodeInfo, pod: PodInfo, sign: int) -> None:
        """A pod with affinity was counted on (+1) or taken off (-1) node ``name``."""
        self.update(name, info)
        if self.terms is not None:
            self.terms.update(name, pod, sign)


class Snapshot:
    """The nodes (and watched objects) one scheduling cycle sees (backend/cache.Snapshot).

    ``objects`` holds the Services, ReplicationControllers, ReplicaSets and StatefulSets
    that PodTopologySpread's default constraints read, and the Namespaces whose labels
    InterPodAffinity's namespaceSelector reads, keyed by resource name; :meth:`lister`
    gives one resource's objects indexed by namespace. ``affinity`` is the cache's
    :class:`AffinityIndex` and ``pod_labels`` its :class:`PodLabelIndex`, when the
    snapshot shares the cache's NodeInfos; without them plugins walk the pods.
    """

    def __init__(self, node_infos: Iterable[NodeInfo] = (),
                 objects: Mapping[str, list[Mapping[str, Any]]] | None = None,
                 affinity: AffinityIndex | None = None,
                 pod_labels: PodLabelIndex | None = None) -> None:
        self.node_infos: list[NodeInfo] = list(node_infos)
        self._by_name = {n.name: n for n in self.node_infos}
        self.objects: Mapping[str, list[Mapping[str, Any]]] = objects or {}
        self._listers: dict[str, Lister] = {}
        self.affinity = affinity
        self.pod_labels = pod_labels

    def find(self, name: str) -> NodeInfo | None:
        """The NodeInfo of a node of this snapshot, or None."""
        return self._by_name.get(name)

    def have_pods_with_affinity(self) -> list[NodeInfo]:
        """The nodes with a pod that has inter-pod affinity (HavePodsWithAffinityList)."""
        if self.affinity is None:
            return [n for n in self.node_infos if n.pods_with_affinity]
        return self._in_snapshot(self.affinity.with_affinity)

    def have_pods_with_required_anti_affinity(self) -> list[NodeInfo]:
        """The nodes with a pod that has required anti-affinity (HavePodsWith...List)."""
        if self.affinity is None:
            return [n for n in self.node_infos if n.pods_with_required_anti_affinity]
        return self._in_snapshot(self.affinity.with_required_anti_affinity)

    def _in_snapshot(self, index: Mapping[str, NodeInfo]) -> list[NodeInfo]:
        if not index:
            return []
        return [info for name, info in index.items() if self._by_name.get(name) is info]

    def lister(self, resource: str) -> Lister:
        """``objects[resource]`` by namespace and name, indexed on first use."""
        lister = self._listers.get(resource)
        if lister is None:
            lister = self._listers[resource] = Lister(self.objects.get(resource, ()))
        return lister

    @classmethod
    def build(cls, nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]] = (),
              objects: Mapping[str, list[Mapping[str, Any]]] | None = None) -> Snapshot:
        """NodeInfos for ``nodes``, each with the ``pods`` bound to it (cache.NewSnapshot)."""
        infos = [NodeInfo(node) for node in nodes]
        by_name = {n.name: n for n in infos}
        for pod in pods:
            node_name = _map(pod.get("spec")).get("nodeName")
            if node_name in by_name:
                by_name[node_name].add_pod(pod)
        set_image_states(infos)
        return cls(infos, objects)

    def get(self, name: str) -> NodeInfo:
        """The NodeInfo of a node, or KeyError."""
        return self._by_name[name]

    def __iter__(self) -> Iterator[NodeInfo]:
        return iter(self.node_infos)

    def __len__(self) -> int:
        return len(self.node_infos)


def set_image_states(node_infos: Iterable[NodeInfo]) -> None:
    """Fill each NodeInfo's image_states from status.images (createImageExistenceMap)."""
    node_infos = list(node_infos)
    nodes_with: dict[str, set[str]] = {}
    for info in node_infos:
        for image in _map(_map(info.node).get("status")).get("images") or []:
            for name in _map(image).get("names") or []:
                nodes_with.setdefault(name, set()).add(info.name)
    for info in node_infos:
        states = {}
        for image in _map(_map(info.node).get("status")).get("images") or []:
            size = int(_map(image).get("sizeBytes") or 0)
            for name in _map(image).get("names") or []:
                states[name] = ImageStateSummary(size, len(nodes_with[name]))
        info.image_states = states
