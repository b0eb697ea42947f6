"""The scheduler's cache: every node with the pods on it, including pods only *assumed* there.

The scheduler's informers keep this up to date from watch events. When a cycle
picks a node, the pod is *assumed* onto it at once -- counted in that node's
requests -- so the next pod already sees the space taken, long before the
binding's watch event comes back. When that event arrives the assumption is
confirmed; if binding fails the pod is *forgotten*.

- :class:`NodeTree` -- the order nodes are visited in: round-robin over zones
  (zone-a's first node, zone-b's first, ..., zone-a's second, ...), so the
  adaptive cut-off of a cycle samples every zone (backend/cache/node_tree.go);
- :class:`Cache` -- NodeInfo per node, assumed pods, shared image states, and
  :meth:`Cache.snapshot` -- the nodes a cycle sees, in NodeTree order.

A port of pkg/scheduler/backend/cache (cache.go, node_tree.go, snapshot.go).
Simplified: upstream snapshots are copies refreshed per cycle by generation
numbers; cycles here run between watch events, so the snapshot shares the live
NodeInfos.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kubelearn.scheduler.nodeinfo import (
    AffinityIndex,
    NodeInfo,
    PodInfo,
    PodLabelIndex,
    Snapshot,
)
from kubelearn.scheduler.plugins.interpodaffinity import ExistingTermsIndex

LABEL_ZONE = "topology.kubernetes.io/zone"  # v1.LabelTopologyZone
LABEL_REGION = "topology.kubernetes.io/region"  # v1.LabelTopologyRegion
LABEL_FAILURE_DOMAIN_ZONE = "failure-domain.beta.kubernetes.io/zone"  # deprecated, still read
LABEL_FAILURE_DOMAIN_REGION = "failure-domain.beta.kubernetes.io/region"


def zone_key(node: Mapping[str, Any]) -> str:
    """``region:\\x00:zone`` of a node, "" if it has neither label (utilnode.GetZoneKey)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    zone = labels.get(LABEL_ZONE) or labels.get(LABEL_FAILURE_DOMAIN_ZONE) or ""
    region = labels.get(LABEL_REGION) or labels.get(LABEL_FAILURE_DOMAIN_REGION) or ""
    if not zone and not region:
        return ""
    return f"{region}:\x00:{zone}"


def node_name(node: Mapping[str, Any]) -> str:
    """metadata.name of a node."""
    return (node.get("metadata") or {}).get("name", "")


class NodeTree:
    """Node names per zone, listed round-robin across zones (nodeTree)."""

    def __init__(self) -> None:
        self.tree: dict[str, list[str]] = {}
        self.zones: list[str] = []
        self.num_nodes = 0

    def add(self, node: Mapping[str, Any]) -> None:
        """Append a node to its zone (a new zone goes last)."""
        zone, name = zone_key(node), node_name(node)
        names = self.tree.get(zone)
        if names is None:
            self.zones.append(zone)
            names = self.tree[zone] = []
        if name in names:
            return
        names.append(name)
        self.num_nodes += 1

    def remove(self, node: Mapping[str, Any]) -> None:
        """Take a node out; an emptied zone disappears."""
        zone, name = zone_key(node), node_name(node)
        names = self.tree.get(zone)
        if names is None or name not in names:
            return
        names.remove(name)
        self.num_nodes -= 1
        if not names:
            del self.tree[zone]
            self.zones.remove(zone)

    def update(self, old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> bool:
        """Move a node whose zone changed; True if the order changed."""
        if old is not None and zone_key(old) == zone_key(new):
            return False
        if old is not None:
            self.remove(old)
        self.add(new)
        return True

    def list(self) -> list[str]:
        """Every node: the first of each zone, then the second of each, ... (nodeTree.list)."""
        out: list[str] = []
        index = 0
        lists = [self.tree[z] for z in self.zones]
        while len(out) < self.num_nodes:
            for names in lists:
                if index < len(names):
                    out.append(names[index])
            index += 1
        return out


class _ImageState:
    """An image on a node: its size there, and the set of nodes holding it (shared)."""

    __slots__ = ("size", "nodes")

    def __init__(self, size: int, nodes: set[str]) -> None:
        self.size = size
        self.nodes = nodes

    @property
    def num_nodes(self) -> int:
        """On how many nodes of the cluster the image is (ImageStateSummary.NumNodes)."""
        return len(self.nodes)


def _images(node: Mapping[str, Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for image in (node.get("status") or {}).get("images") or []:
        size = int(image.get("sizeBytes") or 0)
        for name in image.get("names") or []:
            out[name] = size
    return out


def _same_for_scheduling(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """True if nothing the scheduler counts changed: requests, ports, labels, terminating."""
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    old_meta, new_meta = old.get("metadata") or {}, new.get("metadata") or {}
    return (old_spec.get("containers") == new_spec.get("containers")
            and old_spec.get("initContainers") == new_spec.get("initContainers")
            and old_spec.get("resources") == new_spec.get("resources")
            and old_spec.get("overhead") == new_spec.get("overhead")
            and old_meta.get("labels") == new_meta.get("labels")
            and old_meta.get("namespace") == new_meta.get("namespace")
            and (old_meta.get("deletionTimestamp") is None)
            == (new_meta.get("deletionTimestamp") is None))


PodListener = Callable[[str, PodInfo, int], None]
NodeListener = Callable[[str, NodeInfo | None], None]


class Cache:
    """NodeInfo per node, kept from watch events plus the scheduler's own assumptions."""

    def __init__(self) -> None:
        self.nodes: dict[str, NodeInfo] = {}  # nodes known, and nodes only pods name
        self.tree = NodeTree()
        # pod key -> its info, and pod key -> its node: two maps rather than one of pairs, as a
        # pair holding a PodInfo would stay with the garbage collector, one for every pod
        self.pod_states: dict[str, PodInfo] = {}
        self.pod_nodes: dict[str, str] = {}
        self.assumed: set[str] = set()
        self.image_nodes: dict[str, set[str]] = {}
        self.objects: dict[str, dict[str, Mapping[str, Any]]] = {
            "services": {}, "replicationcontrollers": {}, "replicasets": {}, "statefulsets": {},
            "namespaces": {}}
        # nodes with pods that have inter-pod affinity, and those pods' terms counted per node
        self.affinity = AffinityIndex(ExistingTermsIndex())
        self.pod_labels = PodLabelIndex()  # every pod by each of its labels
        self._order: list[NodeInfo] | None = None
        self._snapshot: Snapshot | None = None
        self.pod_listeners: list[PodListener] = []  # called (node, pod info, +1/-1)
        self.node_listeners: list[NodeListener] = []  # called (node, info or None when gone)

    # -- nodes -------------------------------------------------------------------------------
    def add_node(self, node: Mapping[str, Any]) -> NodeInfo:
        """A node appeared (or changed)."""
        name = node_name(node)
        info = self.nodes.get(name)
        old = info.node if info is not None else None
        if info is None:
            info = self.nodes[name] = NodeInfo()
        if old is None:
            self.tree.add(node)
            self._order = self._snapshot = None
        elif self.tree.update(old, node):
            self._order = self._snapshot = None
        info.set_node(node)
        self._set_images(info, old, node)
        for listener in self.node_listeners:
            listener(name, info)
        return info

    update_node = add_node

    def remove_node(self, node: Mapping[str, Any]) -> None:
        """A node was deleted; pods still naming it keep a node-less NodeInfo until they go."""
        name = node_name(node)
        info = self.nodes.get(name)
        if info is None:
            return
        self.tree.remove(info.node or node)
        self._order = self._snapshot = None
        self._set_images(info, info.node, None)
        info.node = None
        if not info.pods:
            del self.nodes[name]
        for listener in self.node_listeners:
            listener(name, None)

    def _set_images(self, info: NodeInfo, old: Mapping[str, Any] | None,
                    new: Mapping[str, Any] | None) -> None:
        name = info.name or node_name(old or new or {})
        before = _images(old) if old is not None else {}
        after = _images(new) if new is not None else {}
        if before == after:
            return
        for image in before.keys() - after.keys():
            holders = self.image_nodes.get(image)
            if holders is not None:
                holders.discard(name)
                if not holders:
                    del self.image_nodes[image]
        states = {}
        for image, size in after.items():
            holders = self.image_nodes.setdefault(image, set())
            holders.add(name)
            states[image] = _ImageState(size, holders)
        info.image_states = states  # type: ignore[assignment]

    def node_infos(self) -> list[NodeInfo]:
        """The nodes (with a Node object) in NodeTree order."""
        if self._order is None:
            self._order = [self.nodes[n] for n in self.tree.list()]
        return self._order

    def snapshot(self) -> Snapshot:
        """What a scheduling cycle sees: the nodes in NodeTree order, and the watched objects.

        Rebuilt only when nodes come or go or a watched object changes; it shares
        the live NodeInfos, so pods assumed since are counted.
        """
        if self._snapshot is None:
            objects = {k: list(v.values()) for k, v in self.objects.items()}
            self._snapshot = Snapshot(self.node_infos(), objects, self.affinity,
                                      self.pod_labels)
        return self._snapshot

    # -- objects default spreading reads -----------------------------------------------------
    def set_object(self, resource: str, obj: Mapping[str, Any], deleted: bool = False) -> None:
        """Remember (or forget) a Service, ReplicaSet, StatefulSet or ReplicationController."""
        meta = obj.get("metadata") or {}
        key = f"{meta.get('namespace') or 'default'}/{meta.get('name', '')}"
        if deleted:
            self.objects[resource].pop(key, None)
        else:
            self.objects[resource][key] = obj
        self._snapshot = None

    # -- pods --------------------------------------------------------------------------------
    def _node_info(self, name: str) -> NodeInfo:
        info = self.nodes.get(name)
        if info is None:  # a pod bound to a node the informer has not shown yet
            info = self.nodes[name] = NodeInfo()
        return info

    def _add(self, key: str, node: str, info: PodInfo) -> None:
        node_info = self._node_info(node)
        node_info.add_pod(info)
        if info.with_affinity:
            self.affinity.pod_changed(node, node_info, info, 1)
        self.pod_labels.add(node, info)
        self.pod_states[key] = info
        self.pod_nodes[key] = node
        for listener in self.pod_listeners:
            listener(node, info, 1)

    def _remove(self, key: str) -> None:
        info, node = self.pod_states.pop(key), self.pod_nodes.pop(key)
        node_info = self.nodes.get(node)
        if node_info is not None:
            node_info.remove_pod(info)
            if info.with_affinity:
                self.affinity.pod_changed(node, node_info, info, -1)
            if node_info.node is None and not node_info.pods:
                del self.nodes[node]
        self.pod_labels.remove(info)
        for listener in self.pod_listeners:
            listener(node, info, -1)

    def assume_pod(self, key: str, info: PodInfo, node: str) -> None:
        """Count a pod on ``node`` before its binding is confirmed (AssumePod)."""
        if key in self.pod_states:
            raise RuntimeError(f"pod {key} is in the cache, so can't be assumed")
        self._add(key, node, info)
        self.assumed.add(key)

    def forget_pod(self, key: str) -> None:
        """Undo an assumption whose binding failed (ForgetPod)."""
        if key in self.assumed:
            self.assumed.discard(key)
            self._remove(key)

    def is_assumed(self, key: str) -> bool:
        """True if the pod is counted on a node but its binding has not come back yet."""
        return key in self.assumed

    def add_pod(self, key: str, pod: Mapping[str, Any], node: str,
                info: PodInfo | None = None) -> None:
        """An assigned pod from the informer: confirm an assumption or count it (AddPod)."""
        counted = self.pod_states.get(key)
        if counted is not None and key in self.assumed:
            self.assumed.discard(key)
            if self.pod_nodes[key] == node and _same_for_scheduling(counted.pod, pod):
                counted.pod = pod  # the same requests: keep the worked-out PodInfo
                return
            self._remove(key)  # bound elsewhere than assumed, or changed: recount
        elif counted is not None:
            self.update_pod(key, pod, node)
            return
        self._add(key, node, info if info is not None else PodInfo(pod))

    def update_pod(self, key: str, pod: Mapping[str, Any], node: str) -> None:
        """An assigned pod changed (labels, a resize): recount it (UpdatePod)."""
        info = self.pod_states.get(key)
        if info is not None and self.pod_nodes[key] == node \
                and _same_for_scheduling(info.pod, pod):
            info.pod = pod
            return
        if info is not None:
            self._remove(key)
        self._add(key, node, PodInfo(pod))

    def remove_pod(self, key: str) -> None:
        """An assigned pod was deleted or finished (RemovePod)."""
        if key in self.pod_states:
            self.assumed.discard(key)
            self._remove(key)

