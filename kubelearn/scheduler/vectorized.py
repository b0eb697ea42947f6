"""The scheduling cycle as array arithmetic: 5,000 nodes filtered and scored in a few numpy steps.

The per-node path asks every plugin about every node, a Python call each. Here
the cache's node state is also kept column-wise -- one numpy array per quantity,
one slot per node -- so a filter is a comparison over a whole column and a score
a formula over it:

- resources: allocatable and requested CPU, memory, ephemeral storage, pods and
  extended resources; the *non-zero* requests scoring counts;
- taints as bitmasks (bit *i* set: the node has the cluster's *i*-th distinct
  taint), so "has a taint this pod does not tolerate" is one AND;
- labels as value codes per key, so a nodeSelector term becomes a table lookup;
- images present per node, matching pods per node for spread constraints.

:class:`VectorizedScheduler` runs a cycle for a profile made only of
NodeUnschedulable, NodeName, NodePorts, TaintToleration, NodeAffinity,
NodeResourcesFit (all three scoring strategies), NodeResourcesBalancedAllocation
(up to two resources), ImageLocality, PodTopologySpread and InterPodAffinity. Each
plugin's filter and scoring formulas live once, in its own module, beside its per-node
form (``filter_mask``, ``fit_mask``, ``filter_nodes``, ``score_nodes``,
``score_column``, ``score_columns``, ``score_matrix``). This module keeps the columns
they read (:class:`NodeArrays`; a plugin sees the snapshot's share of them as
:class:`~kubelearn.scheduler.plugins.helper.NodeColumns`) and runs the cycle. It
visits the nodes in the same order, stops at the same ``numFeasibleNodesToFind``,
computes the same integers (floats where upstream uses them, in the same order of
operations) and makes the same draw for ties -- so placements equal the
per-node path's for the same seed. Anything else (a learner's plugin, a pod
naming its node or shortlisting nodes by name, a pod no node fits -- whose
message needs each node's reason) goes the per-node way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kubelearn.api import LabelSelector, Requirement
from kubelearn.scheduler.framework import (
    CycleState,
    Profile,
    ge_nominated_pods,
    run_filter_plugins_with_nominated_pods,
    run_pre_filter_plugins,
)
from kubelearn.scheduler.nodeinfo import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    NodeInfo,
    PodInfo,
    Resource,
    Snapshot,
    is_scalar_resource_name,
    pod_level_requests_set,
)
from kubelearn.scheduler.plugins.balanced_allocation import NodeResourcesBalancedAllocation
from kubelearn.scheduler.plugins.default_preemption import DefaultPreemption
from kubelearn.scheduler.plugins.helper import (
    DO_NOT_SCHEDULE_EFFECTS,
    PREFER_NO_SCHEDULE,
    pod_tolerations,
)
from kubelearn.scheduler.plugins.image_locality import (
    ImageLocality,
    normalized_image_name,
    pod_images,
)
from kubelearn.scheduler.plugins.interpodaffinity import InterPodAffinity
from kubelearn.scheduler.plugins.node_affinity import NodeAffinity, NodeAffinityParseError
from kubelearn.scheduler.plugins.node_name import NodeName
from kubelearn.scheduler.plugins.node_ports import NodePorts
from kubelearn.scheduler.plugins.node_resources_fit import (
    LEAST_ALLOCATED,
    MOST_ALLOCATED,
    REQUESTED_TO_CAPACITY_RATIO,
    NodeResourcesFit,
)
from kubelearn.scheduler.plugins.node_unschedulable import (
    NodeUnschedulable,
    tolerates_unschedulable,
)
from kubelearn.scheduler.plugins.pod_topology_spread import PodTopologySpread
from kubelearn.scheduler.plugins.resource_allocation import pod_resource_requests
from kubelearn.scheduler.plugins.taint_toleration import (
    TaintToleration,
    untolerated_taints,
)

if TYPE_CHECKING:  # pragma: no cover
    import random

    from kubelearn.scheduler.cache import Cache
    from kubelearn.scheduler.scheduler import Scheduler, ScheduleResult

SUPPORTED_PLUGINS = (NodeUnschedulable, NodeName, NodePorts, TaintToleration, NodeAffinity,
                     NodeResourcesFit, NodeResourcesBalancedAllocation, ImageLocality,
                     PodTopologySpread, InterPodAffinity)
SPREAD_CACHE_SIZE = 64  # selectors whose per-node matching-pod counts are kept up to date
SHAPE_CACHE_SIZE = 1024  # tolerations whose untolerated taints are kept
IMAGE_CACHE_SIZE = 64  # pods' image sets whose every-node ImageLocality scores are kept
_MISSING = -1  # the label code of a node without the key
LabelKey = tuple[str, str, str]  # (namespace, label key, value)
# The integer columns. The free_* rows (pods left; allocatable - requested) sit together, in
# the order of node_resources_fit.FREE_ROWS, so NodeResourcesFit.fit_mask takes one 4-row slice.
INT_FIELDS = ("alloc_cpu", "alloc_mem", "alloc_eph", "alloc_pods", "req_cpu", "req_mem",
              "req_eph", "nz_cpu", "nz_mem", "pod_count", "free_pods", "free_cpu", "free_mem",
              "free_eph")
(ALLOC_CPU, ALLOC_MEM, ALLOC_EPH, ALLOC_PODS, REQ_CPU, REQ_MEM, REQ_EPH, NZ_CPU, NZ_MEM,
 POD_COUNT, FREE_PODS, FREE_CPU, FREE_MEM, FREE_EPH) = range(len(INT_FIELDS))


Selection = slice | np.ndarray  # slots: a slice of the arranged columns, or chosen slots
MaskFn = Callable[[Selection], np.ndarray]
FIRST_WINDOW = 256  # nodes filtered in the first window (at least twice the nodes to find)


def _size(sel: Selection) -> int:
    return sel.stop - sel.start if isinstance(sel, slice) else len(sel)


def _gather_rows(cols: np.ndarray, rows: list[int]) -> np.ndarray:
    """``cols[rows]``; a view, not a copy, when the rows are consecutive (cpu, memory are)."""
    if rows == list(range(rows[0], rows[0] + len(rows))):
        return cols[rows[0]:rows[0] + len(rows)]
    return cols[rows]


def popcount(words: np.ndarray) -> np.ndarray:
    """Set bits per uint64 word."""
    if hasattr(np, "bitwise_count"):
        return np.bitwise_count(words).astype(np.int64)
    as_bytes = words.view(np.uint8).reshape(*words.shape, 8)
    return np.unpackbits(as_bytes, axis=-1).sum(axis=-1).astype(np.int64)


class NodeArrays:
    """The cache's nodes, column-wise: one slot per node, kept in step by cache listeners."""

    def __init__(self, cache: Cache, capacity: int = 64) -> None:
        self.cache = cache
        self.cap = 0
        self.slot_of: dict[str, int] = {}
        self.names: list[str | None] = []
        self.free: list[int] = []
        # the integer columns, one row each (see INT_FIELDS), so one gather takes them all
        self.ints = np.zeros((len(INT_FIELDS), 0), dtype=np.int64)
        self.alloc_version = 0  # bumped whenever a node's allocatable is set
        self.unschedulable = np.zeros(0, dtype=bool)
        self.has_ports = np.zeros(0, dtype=bool)
        self.scalar_alloc: dict[str, np.ndarray] = {}
        self.scalar_req: dict[str, np.ndarray] = {}
        # taints: a registry of distinct taints, bits per node in words of 64
        self.taint_ids: dict[tuple[str, str, str], int] = {}
        self.taints: list[dict[str, str]] = []
        self.taint_bits = np.zeros((1, 0), dtype=np.uint64)
        # labels: per key, each node's value as a code into label_values[key]
        self.label_codes: dict[str, np.ndarray] = {}
        self.label_values: dict[str, list[str]] = {}
        self.label_index: dict[str, dict[str, int]] = {}
        # ... and per label requirement its verdict per value code (see requirement_verdicts)
        self.requirement_tables: dict[Requirement, np.ndarray] = {}
        self.untolerated_seen: dict[tuple, np.ndarray | None] = {}  # see untolerated_words
        self.slot_labels: list[Mapping[str, str]] = []
        # images: size per node (0: absent), and a count bumped whenever a column changes
        self.image_sizes: dict[str, np.ndarray] = {}
        self.image_version = 0
        self.slot_images: list[dict[str, int]] = []
        # spreading: matching, non-terminating pods per node for recent (namespace, selector)s
        self.spread_counts: OrderedDict[tuple[str, LabelSelector], np.ndarray] = OrderedDict()
        # ... kept cheap by two indexes on one (namespace, label, value): the pods with it
        # (the cache's PodLabelIndex), and the counted selectors that require it
        self.selectors_by_label: dict[LabelKey | None, dict[tuple[str, LabelSelector], None]] = {}
        self._grow(capacity)
        for name, info in cache.nodes.items():
            self.on_node(name, info if info.node is not None else None)
            if info.pods:
                self.on_pods_changed(name, info)
        cache.node_listeners.append(self.on_node)
        cache.pod_listeners.append(self.on_pod)

    # -- slots -------------------------------------------------------------------------------
    def _grow(self, capacity: int) -> None:
        old = self.cap
        if capacity <= old:
            return

        def grown(a: np.ndarray, fill: Any = 0) -> np.ndarray:
            out = np.full((*a.shape[:-1], capacity), fill, dtype=a.dtype)
            out[..., :old] = a
            return out

        self.ints = grown(self.ints)
        self.unschedulable = grown(self.unschedulable, False)
        self.has_ports = grown(self.has_ports, False)
        self.scalar_alloc = {k: grown(v) for k, v in self.scalar_alloc.items()}
        self.scalar_req = {k: grown(v) for k, v in self.scalar_req.items()}
        self.taint_bits = grown(self.taint_bits)
        self.label_codes = {k: grown(v, _MISSING) for k, v in self.label_codes.items()}
        self.image_sizes = {k: grown(v) for k, v in self.image_sizes.items()}
        self.image_version += 1
        self.spread_counts = OrderedDict((k, grown(v)) for k, v in self.spread_counts.items())
        self.names.extend([None] * (capacity - old))
        self.slot_labels.extend({} for _ in range(capacity - old))
        self.slot_images.extend({} for _ in range(capacity - old))
        self.free.extend(range(capacity - 1, old - 1, -1))
        self.cap = capacity

    def slot(self, name: str) -> int:
        """The slot of a node, allocated on first sight."""
        s = self.slot_of.get(name)
        if s is None:
            if not self.free:
                self._grow(max(64, self.cap * 2))
            s = self.free.pop()
            self.slot_of[name] = s
            self.names[s] = name
        return s

    def _release(self, name: str) -> None:
        s = self.slot_of.pop(name)
        self.names[s] = None
        self.ints[:, s] = 0
        self.unschedulable[s] = self.has_ports[s] = False
        for arrays in (self.scalar_alloc, self.scalar_req, self.image_sizes):
            for a in arrays.values():
                a[s] = 0
        self.image_version += 1
        for a in self.spread_counts.values():
            a[s] = 0
        self.taint_bits[:, s] = 0
        self._set_labels(s, {})
        self.slot_images[s] = {}
        self.free.append(s)

    # -- listeners ---------------------------------------------------------------------------
    def on_node(self, name: str, info: NodeInfo | None) -> None:
        """A node was added, changed or removed."""
        if info is None:
            remaining = self.cache.nodes.get(name)
            if remaining is None:
                if name in self.slot_of:
                    self._release(name)
                return
            info = remaining  # pods still name it: keep their requests, drop the node
        s = self.slot(name)
        alloc = info.allocatable
        self.ints[ALLOC_CPU, s] = alloc.milli_cpu
        self.ints[ALLOC_MEM, s] = alloc.memory
        self.ints[ALLOC_EPH, s] = alloc.ephemeral_storage
        self.ints[ALLOC_PODS, s] = alloc.allowed_pod_number
        self.alloc_version += 1
        self._free(s)
        for resource in alloc.scalar_resources:
            self._scalar(resource)
        for resource, column in self.scalar_alloc.items():
            column[s] = alloc.scalar_resources.get(resource, 0)
        self.unschedulable[s] = info.node is not None and info.unschedulable
        self._set_taints(s, info.taints if info.node is not None else [])
        self._set_labels(s, info.labels if info.node is not None else {})
        self._set_images(s, {n: st.size for n, st in info.image_states.items()})

    def on_pod(self, node: str, info: PodInfo, sign: int) -> None:
        """A pod was counted on (+1) or taken off (-1) a node."""
        node_info = self.cache.nodes.get(node)
        if node_info is None:  # the node's last pod left a node-less NodeInfo
            if node in self.slot_of:
                self._release(node)
            return
        self.on_pods_changed(node, node_info)
        if not info.terminating and self.spread_counts:
            labels, namespace = info.labels, info.namespace
            s = self.slot_of[node]
            # Only the selectors filed under one of the pod's labels (or under none) can match.
            for key in [None, *((namespace, k, v) for k, v in labels.items())]:
                for ns, selector in self.selectors_by_label.get(key, ()):
                    if ns == namespace and selector.matches(labels):
                        self.spread_counts[ns, selector][s] += sign

    def on_pods_changed(self, node: str, info: NodeInfo) -> None:
        """Copy a node's request sums (NodeInfo keeps them) into the columns."""
        s = self.slot(node)
        requested, non_zero = info.requested, info.non_zero_requested
        self.ints[REQ_CPU, s] = requested.milli_cpu
        self.ints[REQ_MEM, s] = requested.memory
        self.ints[REQ_EPH, s] = requested.ephemeral_storage
        self.ints[NZ_CPU, s] = non_zero.milli_cpu
        self.ints[NZ_MEM, s] = non_zero.memory
        self.ints[POD_COUNT, s] = len(info.pods)
        self._free(s)
        self.has_ports[s] = len(info.used_ports) > 0
        for resource in requested.scalar_resources:
            self._scalar(resource)
        for resource, column in self.scalar_req.items():
            column[s] = requested.scalar_resources.get(resource, 0)

    def _free(self, s: int) -> None:
        ints = self.ints
        ints[FREE_PODS, s] = ints[ALLOC_PODS, s] - ints[POD_COUNT, s]
        ints[FREE_CPU, s] = ints[ALLOC_CPU, s] - ints[REQ_CPU, s]
        ints[FREE_MEM, s] = ints[ALLOC_MEM, s] - ints[REQ_MEM, s]
        ints[FREE_EPH, s] = ints[ALLOC_EPH, s] - ints[REQ_EPH, s]

    def _scalar(self, resource: str) -> None:
        if resource in self.scalar_alloc:
            return
        alloc = np.zeros(self.cap, dtype=np.int64)
        req = np.zeros(self.cap, dtype=np.int64)
        for name, s in self.slot_of.items():
            info = self.cache.nodes.get(name)
            if info is not None:
                alloc[s] = info.allocatable.scalar_resources.get(resource, 0)
                req[s] = info.requested.scalar_resources.get(resource, 0)
        self.scalar_alloc[resource] = alloc
        self.scalar_req[resource] = req

    def _set_taints(self, s: int, taints: Sequence[Mapping[str, Any]]) -> None:
        self.taint_bits[:, s] = 0
        for t in taints:
            key = (t.get("key") or "", t.get("value") or "", t.get("effect") or "")
            i = self.taint_ids.get(key)
            if i is None:
                i = self.taint_ids[key] = len(self.taints)
                self.taints.append({"key": key[0], "value": key[1], "effect": key[2]})
                if i // 64 >= self.taint_bits.shape[0]:
                    more = np.zeros((1, self.cap), dtype=np.uint64)
                    self.taint_bits = np.concatenate([self.taint_bits, more])
            self.taint_bits[i // 64, s] |= np.uint64(1 << (i % 64))

    def taint_mask(self, ids: Sequence[int]) -> np.ndarray:
        """The bitmask words selecting the given taint ids."""
        words = np.zeros(self.taint_bits.shape[0], dtype=np.uint64)
        for i in ids:
            words[i // 64] |= np.uint64(1 << (i % 64))
        return words

    def untolerated_words(self, tolerations: Sequence[Mapping[str, Any]],
                          effects: Sequence[str]) -> np.ndarray | None:
        """Bitmask words of the cluster's taints with these effects the tolerations leave.

        None if there is no such taint anywhere.
        """
        # Pods of a template share their tolerations: remembered per tolerations and taint
        # registry (it only grows, so its length tells its version).
        try:
            key = (len(self.taints), tuple(effects),
                   tuple(tuple(t.items()) for t in tolerations))
            known = self.untolerated_seen.get(key, False)
        except TypeError:  # an unhashable value in a toleration: work it out every time
            key, known = None, False
        if known is not False:
            return known
        ids = untolerated_taints(self.taints, tolerations, effects)
        words = self.taint_mask(ids) if ids else None
        if key is not None:
            if len(self.untolerated_seen) >= SHAPE_CACHE_SIZE:
                self.untolerated_seen.clear()
            self.untolerated_seen[key] = words
        return words

    def requirement_verdicts(self, requirement: Requirement) -> np.ndarray:
        """``requirement.matches`` per value code of its key; the last entry: key missing.

        Worked out once per distinct value, not once per node: indexed by the nodes'
        codes (-1 picks the last entry) it says which nodes match. A key's values
        only grow, so a table stays right until a new value comes.
        """
        values = self.label_values.get(requirement.key, [])
        table = self.requirement_tables.get(requirement)
        if table is None or len(table) != len(values) + 1:
            table = np.array([requirement.matches({requirement.key: v}) for v in values]
                             + [requirement.matches({})], dtype=bool)
            self.requirement_tables[requirement] = table
        return table

    def _set_labels(self, s: int, labels: Mapping[str, str]) -> None:
        old = self.slot_labels[s]
        if old == labels:
            return
        for key in old.keys() - labels.keys():
            self.label_codes[key][s] = _MISSING
        for key, value in labels.items():
            if old.get(key, None) == value and key in old:
                continue
            codes = self.label_codes.get(key)
            if codes is None:
                codes = self.label_codes[key] = np.full(self.cap, _MISSING, dtype=np.int32)
                self.label_values[key] = []
                self.label_index[key] = {}
            index = self.label_index[key]
            code = index.get(value)
            if code is None:
                code = index[value] = len(self.label_values[key])
                self.label_values[key].append(value)
            codes[s] = code
        self.slot_labels[s] = dict(labels)

    def _set_images(self, s: int, images: dict[str, int]) -> None:
        old = self.slot_images[s]
        if old == images:
            return
        self.image_version += 1
        for name in old.keys() - images.keys():
            self.image_sizes[name][s] = 0
        for name, size in images.items():
            column = self.image_sizes.get(name)
            if column is None:
                column = self.image_sizes[name] = np.zeros(self.cap, dtype=np.int64)
            column[s] = size
        self.slot_images[s] = images

    # -- node order ------------------------------------------------------------------------------
    def arrange(self, names: Sequence[str]) -> None:
        """Renumber the slots so that node ``i`` of ``names`` sits in slot ``i``.

        A cycle then reads every column as a plain slice ``[:n]`` in NodeTree order.
        """
        for name in names:
            self.slot(name)
        first = [self.slot_of[name] for name in names]
        chosen = set(first)
        rest = [s for s in range(self.cap) if s not in chosen and self.names[s] is not None]
        free = [s for s in range(self.cap) if self.names[s] is None]
        perm = np.array(first + rest + free, dtype=np.int64)
        if np.array_equal(perm, np.arange(self.cap)):
            return
        self.ints = self.ints[:, perm]
        self.unschedulable = self.unschedulable[perm]
        self.has_ports = self.has_ports[perm]
        for arrays in (self.scalar_alloc, self.scalar_req, self.label_codes, self.image_sizes,
                       self.spread_counts):
            for key in list(arrays):
                arrays[key] = arrays[key][perm]
        self.taint_bits = self.taint_bits[:, perm]
        self.image_version += 1
        order = perm.tolist()
        self.names = [self.names[s] for s in order]
        self.slot_labels = [self.slot_labels[s] for s in order]
        self.slot_images = [self.slot_images[s] for s in order]
        self.slot_of = {name: i for i, name in enumerate(self.names) if name is not None}
        self.free = list(range(self.cap - 1, len(first) + len(rest) - 1, -1))

    # -- spreading counts ------------------------------------------------------------------------
    def matching_pods(self, namespace: str, selector: LabelSelector) -> np.ndarray:
        """Per slot: pods in ``namespace`` matching ``selector``, terminating ones left out."""
        key = (namespace, selector)
        counts = self.spread_counts.get(key)
        if counts is not None:
            self.spread_counts.move_to_end(key)
            return counts
        counts = np.zeros(self.cap, dtype=np.int64)
        label = _required_label(namespace, selector)
        if label is None:  # nothing to look up by: every pod is a candidate
            for name, info in self.cache.nodes.items():
                s = self.slot_of.get(name)
                if s is None:
                    continue
                counts[s] = sum(1 for p in info.pods if not p.terminating
                                and p.namespace == namespace and selector.matches(p.labels))
        else:  # only the pods with that label can match
            for pod, name in self.cache.pod_labels.pods(*label).items():
                s = self.slot_of.get(name)
                if s is not None and not pod.terminating and selector.matches(pod.labels):
                    counts[s] += 1
        self.spread_counts[key] = counts
        self.selectors_by_label.setdefault(label, {})[key] = None
        if len(self.spread_counts) > SPREAD_CACHE_SIZE:
            old, _ = self.spread_counts.popitem(last=False)
            old_label = _required_label(*old)
            del self.selectors_by_label[old_label][old]
            if not self.selectors_by_label[old_label]:
                del self.selectors_by_label[old_label]
        return counts


class SnapshotColumns:
    """The snapshot's nodes as the plugins' array forms read them (helper.NodeColumns).

    Views of the first ``n`` slots of :class:`NodeArrays`, which
    :meth:`VectorizedScheduler.arrange` lays out so that slot ``i`` is node ``i`` of
    the snapshot.
    """

    def __init__(self, arrays: NodeArrays, snapshot: Snapshot) -> None:
        self.arrays = arrays
        self.snapshot = snapshot
        self.n = len(snapshot.node_infos)

    def names(self) -> Sequence[str]:
        """Each node's name."""
        return self.arrays.names[:self.n]  # type: ignore[return-value]  # all set below n

    def label(self, key: str) -> tuple[np.ndarray, Sequence[str]]:
        """Each node's value code for label ``key`` (-1: missing), and the values."""
        codes = self.arrays.label_codes.get(key)
        if codes is None:
            return np.full(self.n, _MISSING, dtype=np.int64), []
        return codes[:self.n].astype(np.int64), self.arrays.label_values[key]

    def label_matches(self, requirement: Requirement) -> np.ndarray:
        """Where the node's labels satisfy ``requirement``: its verdicts, looked up by code."""
        codes = self.arrays.label_codes.get(requirement.key)
        if codes is None:  # no node has the key
            return np.full(self.n, requirement.matches({}), dtype=bool)
        return self.arrays.requirement_verdicts(requirement)[codes[:self.n]]

    def untolerated_taints(self, tolerations: Sequence[Mapping[str, Any]],
                           effects: Sequence[str] = DO_NOT_SCHEDULE_EFFECTS) -> np.ndarray:
        """How many of each node's taints with these effects the tolerations leave."""
        return self.untolerated_at(slice(0, self.n), tolerations, effects)

    def untolerated_at(self, sel: Selection, tolerations: Sequence[Mapping[str, Any]],
                       effects: Sequence[str]) -> np.ndarray:
        """:meth:`untolerated_taints` of the nodes ``sel`` only."""
        words = self.arrays.untolerated_words(tolerations, effects)
        if words is None:
            return np.zeros(_size(sel), dtype=np.int64)
        return popcount(self.arrays.taint_bits[:, sel] & words[:, None]).sum(axis=0)

    def matching_pods(self, namespace: str, selector: LabelSelector) -> np.ndarray:
        """Per node: its pods of ``namespace`` that ``selector`` matches, not terminating."""
        return self.arrays.matching_pods(namespace, selector)[:self.n]

    def ports_in_use(self) -> np.ndarray:
        """Where some pod on the node uses a host port."""
        return self.arrays.has_ports[:self.n]

    def node_info(self, i: int) -> NodeInfo:
        """Node ``i`` of the snapshot."""
        return self.snapshot.node_infos[i]


class _Unsupported(Exception):
    """This pod or profile goes the per-node way."""


class VectorizedScheduler:
    """Filter and score with arrays; falls back (returns None) where it cannot be exact."""

    def __init__(self, cache: Cache) -> None:
        self.cache = cache
        self.arrays = NodeArrays(cache)
        self._supported: dict[int, bool] = {}
        self._arranged_for: Any = None
        self.n = 0
        self.columns = SnapshotColumns(self.arrays, Snapshot())  # what the plugins read
        self._positive: dict[tuple[Any, ...], bool] = {}
        self._image_seen: dict[tuple[Any, ...], np.ndarray | int] = {}  # see _image_scores
        self.cycles = 0  # cycles run here
        self.fallbacks = 0  # cycles handed to the per-node path

    # -- what it can do ------------------------------------------------------------------------
    def supports(self, profile: Profile) -> bool:
        """True if every plugin of the profile is one this module computes exactly."""
        known = self._supported.get(id(profile))
        if known is None:
            known = self._supported[id(profile)] = self._check(profile)
        return known

    @staticmethod
    def _check(profile: Profile) -> bool:
        for point, plugins in profile.plugins.items():
            for pl in plugins:
                if point == "postFilter" and type(pl) is DefaultPreemption:
                    continue  # runs only when no node fits: the per-node path's business
                if type(pl) not in SUPPORTED_PLUGINS or point in ("postFilter", "reserve",
                                                                   "bind"):
                    return False
                if isinstance(pl, NodeResourcesBalancedAllocation) and len(pl.resources) > 2:
                    return False  # population std of 3+ resources: Python's sum order
        return True

    def all_positive(self, rows: Sequence[int]) -> bool:
        """True if every node of the snapshot has some of each resource in ``rows``."""
        key = (tuple(rows), self.n, self.arrays.alloc_version, id(self._arranged_for))
        known = self._positive.get(key)
        if known is None:
            known = bool((self.arrays.ints[list(rows), :self.n] > 0).all())
            if len(self._positive) > 64:
                self._positive.clear()
            self._positive[key] = known
        return known

    def arrange(self, state: CycleState) -> int:
        """Lay the columns out in the snapshot's NodeTree order; the number of nodes."""
        snapshot = state.snapshot
        if self._arranged_for is not snapshot:
            self.arrays.arrange([n.name for n in snapshot.node_infos])
            self._arranged_for = snapshot
            self.columns = SnapshotColumns(self.arrays, snapshot)
            self.n = self.columns.n
        return self.n

    # -- the cycle -----------------------------------------------------------------------------
    def schedule_pod(self, sched: Scheduler, profile: Profile, state: CycleState,
                     pod: Mapping[str, Any], info: PodInfo | None, dry_run: bool,
                     rng: random.Random) -> ScheduleResult | None:
        """The per-node path's answer, computed over arrays; None to hand over."""
        from kubelearn.scheduler.scheduler import ScheduleResult

        if not self.supports(profile):
            return None
        n = self.arrange(state)
        info = info if info is not None else PodInfo(pod)
        try:
            masks = self.filters(profile, pod, info, n, state)
            nominated = self._nominated_mask(sched, profile, state, pod, n)
        except _Unsupported:
            self.fallbacks += 1
            return None
        if nominated is not None:
            masks.append(lambda sel, m=nominated: m[sel])
        to_find = sched.num_feasible_nodes_to_find(profile, n)
        start = sched.next_start_node_index % n
        if not profile.filter_plugins:
            feasible = (start + np.arange(to_find)) % n
            processed = to_find
        else:
            feasible = self._first_feasible(masks, n, start, to_find)
            if len(feasible) == 0:  # the message needs each node's reason: per-node path
                self.fallbacks += 1
                return None
            if len(feasible) == to_find:
                processed = (int(feasible[-1]) - start) % n + 1
            else:
                processed = n
        if not dry_run:
            sched.next_start_node_index = (start + processed) % n
        self.cycles += 1
        names = self.arrays.names
        if len(feasible) == 1:
            return ScheduleResult(names[int(feasible[0])] or "", processed, 1)
        totals = self.scores(profile, state, pod, info, feasible, n)
        top = (totals == totals.max()).nonzero()[0]  # 1-D: np.flatnonzero, quicker
        pick = top[0] if len(top) == 1 else top[rng.randrange(len(top))]
        return ScheduleResult(names[int(feasible[pick])] or "", processed, len(feasible))

    def _nominated_mask(self, sched: Scheduler, profile: Profile, state: CycleState,
                        pod: Mapping[str, Any], n: int) -> np.ndarray | None:
        """False on the nodes where the pods nominated there leave no room; None: none are.

        RunFilterPluginsWithNominatedPods for the few nodes with a nomination of the
        pod's priority or above: those nodes go through the per-node filters (with
        PreFilter run once for them), every other node is as the masks say. With no
        nomination anywhere, nothing is done.
        """
        if not sched.nominator:
            return None
        handle = sched.handles.get(profile.scheduler_name)
        if handle is None:
            raise _Unsupported("no handle for this profile")
        nodes = state.snapshot.node_infos
        slots = [s for name in sched.nominator.nodes()
                 if (s := self.arrays.slot_of.get(name)) is not None and s < n
                 and nodes[s].name == name and ge_nominated_pods(handle, pod, name)]
        if not slots:
            return None
        _, status, _ = run_pre_filter_plugins(profile, state, pod, nodes)
        if status is not None:
            raise _Unsupported("PreFilter rejects the pod: the per-node path says why")
        mask = np.ones(n, dtype=bool)
        for s in slots:
            mask[s] = run_filter_plugins_with_nominated_pods(handle, state, pod, nodes[s]) is None
        return mask

    def _first_feasible(self, masks: Sequence[MaskFn], n: int, start: int,
                        to_find: int) -> np.ndarray:
        """The first ``to_find`` feasible slots from ``start`` on, wrapping around.

        Windows of growing size, so a roomy cluster filters a few hundred nodes,
        not all of them -- the same nodes the per-node loop would check.
        """
        found: list[np.ndarray] = []
        count = scanned = 0
        window = max(FIRST_WINDOW, to_find + to_find // 2)
        while scanned < n and count < to_find:
            length = min(window, n - scanned)
            lo = (start + scanned) % n
            parts = [(lo, lo + length)] if lo + length <= n else [(lo, n), (0, lo + length - n)]
            for a, b in parts:
                sel = slice(a, b)
                mask = masks[0](sel) if masks else np.ones(b - a, dtype=bool)
                for fn in masks[1:]:
                    mask = mask & fn(sel)  # not in place: a mask may be a view of a column
                positions = mask.nonzero()[0] + a  # the mask is 1-D: np.flatnonzero, quicker
                found.append(positions)
                count += len(positions)
            scanned += length
            window *= 2
        if len(found) == 1:  # the usual case: one window, no wrap-around
            return found[0][:to_find]
        feasible = np.concatenate(found) if found else np.zeros(0, dtype=np.int64)
        return feasible[:to_find]

    # -- filters -------------------------------------------------------------------------------
    def filters(self, profile: Profile, pod: Mapping[str, Any], info: PodInfo,
                n: int, state: CycleState) -> list[MaskFn]:
        """Each Filter plugin as a function of a selection of slots: True where it passes.

        The plugins whose masks need the whole cluster (spreading's per-domain
        counts) or Python per distinct value (label requirements) answer for every
        node at once, here, once per pod; each window then takes its slice.
        """
        a = self.arrays
        spec = pod.get("spec") or {}
        if spec.get("nodeName"):
            raise _Unsupported("pod names its node")
        masks: list[MaskFn] = []
        for pl in profile.filter_plugins:
            kind = type(pl)  # exactly one of SUPPORTED_PLUGINS (supports() checks)
            if kind is NodeUnschedulable:
                if not tolerates_unschedulable(pod):
                    masks.append(lambda sel: NodeUnschedulable.filter_mask(a.unschedulable[sel]))
            elif kind is TaintToleration:
                words = a.untolerated_words(pod_tolerations(pod), DO_NOT_SCHEDULE_EFFECTS)
                if words is not None:  # else no node has a taint the pod does not tolerate
                    masks.append(lambda sel, w=words: TaintToleration.filter_mask(
                        a.taint_bits[:, sel], w))
            elif kind is NodeResourcesFit:
                masks.append(self._fits(pl, info.requested))
            else:
                try:
                    full = self._full_mask(pl, state, pod, info)
                except ValueError as e:  # a bad selector or term: the per-node path says so
                    raise _Unsupported("the per-node path reports the error") from e
                if full is not None:
                    masks.append(lambda sel, m=full: m[sel])
        return masks

    def _full_mask(self, pl: Any, state: CycleState, pod: Mapping[str, Any], info: PodInfo
                   ) -> np.ndarray | None:
        """A plugin's filter over every node of the snapshot; None: its PreFilter says Skip."""
        columns = self.columns
        kind = type(pl)  # exactly one of SUPPORTED_PLUGINS (supports() checks)
        if kind is NodeAffinity:
            if pl.shortlists_nodes(pod):
                raise _Unsupported("matchFields may shortlist nodes in PreFilter")
            return pl.filter_mask(pod, columns)
        if kind is NodePorts:
            return NodePorts.filter_mask(info.host_ports, columns) if info.host_ports else None
        if kind is PodTopologySpread:
            return pl.filter_mask(state, pod, columns)
        if kind is InterPodAffinity:
            return pl.filter_nodes(state, pod, info, columns.label)
        if kind is NodeName:
            return None  # a pending pod names no node (checked above)
        raise _Unsupported(pl.name)  # pragma: no cover - supports() keeps others out

    def _fits(self, pl: NodeResourcesFit, request: Resource) -> MaskFn:
        """NodeResourcesFit's filter over a selection: its thresholds, our free columns."""
        a = self.arrays
        thresholds = pl.fit_thresholds(request)
        for name, _ in thresholds.scalars:
            a._scalar(name)  # a column for every scalar resource asked for

        def fits(sel: Selection) -> np.ndarray:
            return pl.fit_mask(thresholds, a.ints[FREE_PODS:FREE_EPH + 1, sel],
                               lambda name: (a.scalar_alloc[name][sel], a.scalar_req[name][sel]))
        return fits

    # -- scores --------------------------------------------------------------------------------
    def scores(self, profile: Profile, state: CycleState, pod: Mapping[str, Any],
               info: PodInfo, feasible: np.ndarray, n: int) -> np.ndarray:
        """Σ weight × normalized score over the feasible nodes, in their order."""
        totals = np.zeros(len(feasible), dtype=np.int64)
        same_everywhere = 0  # plugins that gave every node the same score: added once
        # the columns scores read, at once (take: a quicker gather than [:, feasible])
        cols = self.arrays.ints[:NZ_MEM + 1].take(feasible, axis=1)
        for pl in profile.score_plugins:
            s = self.plugin_scores(pl, state, pod, info, feasible, n, cols)
            if s is None:
                continue
            weight = profile.score_weights.get(pl.name, 1)
            if isinstance(s, int):
                same_everywhere += s * weight
            else:
                totals += s * weight if weight != 1 else s
        if same_everywhere:
            totals += same_everywhere
        return totals

    def plugin_scores(self, pl: Any, state: CycleState, pod: Mapping[str, Any], info: PodInfo,
                      feasible: np.ndarray, n: int, cols: np.ndarray | None = None
                      ) -> np.ndarray | int | None:
        """One plugin's final scores (after NormalizeScore); None if its PreScore skips.

        A plain int means every feasible node gets that score.
        """
        if cols is None:
            cols = self.arrays.ints[:NZ_MEM + 1].take(feasible, axis=1)
        score = self._SCORERS.get(type(pl))
        if score is None:  # pragma: no cover - supports() keeps others out
            raise _Unsupported(pl.name)
        return score(self, pl, state, pod, info, feasible, n, cols)

    def _taint_scores(self, pl: TaintToleration, state: CycleState, pod: Mapping[str, Any],
                      info: PodInfo, feasible: np.ndarray, n: int, cols: np.ndarray
                      ) -> np.ndarray | int:
        def count_untolerated(tolerations: Sequence[Mapping[str, Any]]) -> np.ndarray | None:
            if self.arrays.untolerated_words(tolerations, (PREFER_NO_SCHEDULE,)) is None:
                return None  # no such taint anywhere: no column to build
            return self.columns.untolerated_at(feasible, tolerations, (PREFER_NO_SCHEDULE,))
        return pl.score_nodes(pod, count_untolerated)

    def _affinity_scores(self, pl: NodeAffinity, state: CycleState, pod: Mapping[str, Any],
                         info: PodInfo, feasible: np.ndarray, n: int, cols: np.ndarray
                         ) -> np.ndarray | None:
        try:
            return pl.score_nodes(pod, self.columns, feasible)
        except NodeAffinityParseError as e:  # pragma: no cover - filtered before
            raise _Unsupported("the per-node path reports the error") from e

    def _image_scores(self, pl: ImageLocality, state: CycleState, pod: Mapping[str, Any],
                      info: PodInfo, feasible: np.ndarray, n: int, cols: np.ndarray
                      ) -> np.ndarray | int:
        """ImageLocality's scores at ``feasible``, taken from every node's, which are kept.

        A node's score reads only its sizes of the pod's images, how many nodes hold
        each and the number of nodes: pods of a template share one column of every
        node's scores until an image comes or goes somewhere (``image_version``).
        """
        a, holders_of = self.arrays, self.cache.image_nodes
        images = tuple(pod_images(pod))
        key = (images, tuple(len(holders_of.get(normalized_image_name(i), ())) for i in images),
               n, a.image_version)
        every = self._image_seen.get(key)
        if every is None:
            def image_column(name: str) -> tuple[np.ndarray, int] | None:
                sizes = a.image_sizes.get(name)
                holders = holders_of.get(name)
                if sizes is None or not holders:
                    return None
                return sizes[:n], len(holders)
            every = pl.score_nodes(pod, image_column, n, n)
            if len(self._image_seen) >= IMAGE_CACHE_SIZE:
                self._image_seen.clear()
            self._image_seen[key] = every
        return every if isinstance(every, int) else every[feasible]

    def _inter_pod_scores(self, pl: InterPodAffinity, state: CycleState,
                          pod: Mapping[str, Any], info: PodInfo, feasible: np.ndarray, n: int,
                          cols: np.ndarray) -> np.ndarray | None:
        try:
            return pl.score_nodes(state, pod, info, self.columns.label, feasible)
        except ValueError as e:  # pragma: no cover - PreFilter reported it first
            raise _Unsupported("the per-node path reports the error") from e

    def _spread_scores(self, pl: PodTopologySpread, state: CycleState,
                       pod: Mapping[str, Any], info: PodInfo, feasible: np.ndarray, n: int,
                       cols: np.ndarray) -> np.ndarray | None:
        try:
            return pl.score_column(state, pod, self.columns, feasible)
        except ValueError as e:  # a bad selector: the per-node path reports it
            raise _Unsupported("the per-node path reports the error") from e

    def _fit_scores_of(self, pl: NodeResourcesFit, state: CycleState, pod: Mapping[str, Any],
                       info: PodInfo, feasible: np.ndarray, n: int, cols: np.ndarray
                       ) -> np.ndarray:
        return self._fit_scores(pl, pod, info, feasible, cols)

    def _balanced_scores(self, pl: NodeResourcesBalancedAllocation, state: CycleState,
                         pod: Mapping[str, Any], info: PodInfo, feasible: np.ndarray, n: int,
                         cols: np.ndarray) -> np.ndarray | None:
        requests = self.pod_requests(pod, info, pl.resources, True)
        return pl.score_column(requests, *self._resource_rows(pl.resources, feasible, cols))

    _SCORERS: dict[type, Callable[..., np.ndarray | None]] = {
        TaintToleration: _taint_scores, NodeAffinity: _affinity_scores,
        NodeResourcesFit: _fit_scores_of, NodeResourcesBalancedAllocation: _balanced_scores,
        ImageLocality: _image_scores, PodTopologySpread: _spread_scores,
        InterPodAffinity: _inter_pod_scores}

    @staticmethod
    def pod_requests(pod: Mapping[str, Any], info: PodInfo, resources: Sequence[Any],
                     use_requested: bool) -> list[int]:
        """pod_resource_requests, read off the PodInfo where that gives the same numbers."""
        if pod_level_requests_set(pod):
            return pod_resource_requests(pod, resources, use_requested)
        requested = info.requested
        out = []
        for r in resources:
            name = r.name
            if name == CPU:
                out.append(requested.milli_cpu if use_requested else info.non0_cpu)
            elif name == MEMORY:
                out.append(requested.memory if use_requested else info.non0_mem)
            elif name == EPHEMERAL_STORAGE or is_scalar_resource_name(name):
                out.append(requested.get(name))
            else:  # not a resource PodInfo sums
                return pod_resource_requests(pod, resources, use_requested)
        return out

    @staticmethod
    def _rows(resources: Sequence[Any], use_requested: bool) -> tuple[list[int], list[int]] | None:
        """The (allocatable, requested) rows of ``cols`` for cpu, memory, ephemeral storage."""
        alloc_rows, req_rows = [], []
        for r in resources:
            if r.name == CPU:
                alloc_rows.append(ALLOC_CPU)
                req_rows.append(REQ_CPU if use_requested else NZ_CPU)
            elif r.name == MEMORY:
                alloc_rows.append(ALLOC_MEM)
                req_rows.append(REQ_MEM if use_requested else NZ_MEM)
            elif r.name == EPHEMERAL_STORAGE:
                alloc_rows.append(ALLOC_EPH)
                req_rows.append(REQ_EPH)
            else:
                return None
        return (alloc_rows, req_rows) if resources else None

    def _resource_rows(self, resources: Sequence[Any], slots: np.ndarray, cols: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray]:
        """(allocatable, requested) at ``slots``, one row per resource: raw requests.

        ``cols`` are the integer columns gathered at ``slots``. A resource no node
        has (or not a node's resource at all) comes as rows of 0.
        """
        rows = self._rows(resources, True)
        if rows is not None:  # cpu, memory, ephemeral storage: one gather
            return _gather_rows(cols, rows[0]), _gather_rows(cols, rows[1])
        a = self.arrays
        allocatable, requested = [], []
        for r in resources:
            rows = self._rows([r], True)
            if rows is not None:
                allocatable.append(cols[rows[0][0]])
                requested.append(cols[rows[1][0]])
            elif is_scalar_resource_name(r.name):
                a._scalar(r.name)
                allocatable.append(a.scalar_alloc[r.name][slots])
                requested.append(a.scalar_req[r.name][slots])
            else:
                allocatable.append(np.zeros(len(slots), dtype=np.int64))
                requested.append(np.zeros(len(slots), dtype=np.int64))
        return np.array(allocatable), np.array(requested)

    def _resource_columns(self, name: str, pod_request: int, slots: np.ndarray,
                          cols: np.ndarray, use_requested: bool
                          ) -> tuple[np.ndarray, np.ndarray] | None:
        """(allocatable, requested + the pod) of one resource; None: left out everywhere.

        ``cols`` are the integer columns gathered at ``slots``. Scoring counts the
        non-zero requests for cpu and memory unless ``use_requested``.
        """
        a = self.arrays
        if pod_request == 0 and is_scalar_resource_name(name):
            return None
        if name == CPU:
            return cols[ALLOC_CPU], cols[REQ_CPU if use_requested else NZ_CPU] + pod_request
        if name == MEMORY:
            return cols[ALLOC_MEM], cols[REQ_MEM if use_requested else NZ_MEM] + pod_request
        if name == EPHEMERAL_STORAGE:
            return cols[ALLOC_EPH], cols[REQ_EPH] + pod_request
        if is_scalar_resource_name(name):
            a._scalar(name)
            alloc = a.scalar_alloc[name][slots]
            # a node without the resource leaves it out (0, 0)
            return alloc, np.where(alloc > 0, a.scalar_req[name][slots] + pod_request, 0)
        return None

    def _fit_scores(self, pl: NodeResourcesFit, pod: Mapping[str, Any], info: PodInfo,
                    slots: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The plugin's columns of allocatable and requested; it does the scoring."""
        requests = self.pod_requests(pod, info, pl.resources, False)
        strategy = pl.strategy.type
        if strategy not in (LEAST_ALLOCATED, MOST_ALLOCATED, REQUESTED_TO_CAPACITY_RATIO):
            raise _Unsupported(strategy)
        fast = self._rows(pl.resources, False) if strategy != REQUESTED_TO_CAPACITY_RATIO \
            else None
        if fast is not None and self.all_positive(fast[0]):
            # every resource on every node: one 2-D step
            return pl.score_matrix(_gather_rows(cols, fast[0]), _gather_rows(cols, fast[1])
                                   + np.array(requests, dtype=np.int64)[:, None])
        columns = [self._resource_columns(r.name, pod_request, slots, cols, False)
                   for r, pod_request in zip(pl.resources, requests, strict=True)]
        return pl.score_columns(columns, len(slots))


def _required_label(namespace: str, selector: LabelSelector) -> LabelKey | None:
    """A (namespace, label, value) every pod ``selector`` matches has, or None if none is pinned."""
    for r in selector.requirements:
        value = selector.requires_exact_match(r.key)
        if value is not None:
            return namespace, r.key, value
    return None
