"""PodTopologySpread: spread matching pods evenly over hosts, zones or any node label.

A ``topologySpreadConstraint`` names a node label (``topologyKey``: each value a
*domain*), a label selector (the pods to count) and ``maxSkew``:

- ``whenUnsatisfiable: DoNotSchedule`` (Filter): placing the pod in a domain must keep
  ``pods in that domain + 1 - pods in the emptiest domain <= maxSkew``; a node without
  the label is rejected.
- ``whenUnsatisfiable: ScheduleAnyway`` (Score): fewer matching pods in the node's
  domains scores higher; NormalizeScore maps the best node to 100.

A pod without constraints of its own gets the *default constraints*: by default
(``defaultingType: System``) ScheduleAnyway with maxSkew 3 per hostname and 5 per
zone, counting the pods selected by the Services, ReplicaSets, StatefulSets and
ReplicationControllers that select the pod.

The per-node methods come first; :meth:`PodTopologySpread.filter_mask` (PreFilter
and Filter) and :meth:`PodTopologySpread.score_column` (PreScore, Score and
NormalizeScore) compute the same verdicts and scores for many nodes at once from
numpy columns (the vectorised scheduler's path): the matching pods per node, summed
per domain with ``np.bincount`` where the per-node form adds them up in a dict.

A port of pkg/scheduler/framework/plugins/podtopologyspread (plugin.go, common.go,
filtering.go, scoring.go) and plugins/helper/spread.go (DefaultSelector).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kubelearn.api import LabelSelector, Path, SelectorError, is_label_key
from kubelearn.api.errors import FieldError
from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    FilterPlugin,
    NodeScore,
    PreFilterExtensions,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    ScoreExtensions,
    ScorePlugin,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot
from kubelearn.scheduler.plugins.helper import (
    NodeColumns,
    find_matching_untolerated_taint,
    go_round,
    pod_tolerations,
)
from kubelearn.scheduler.plugins.helper import (
    field as get,
)
from kubelearn.scheduler.plugins.node_affinity import RequiredNodeAffinity

NAME = "PodTopologySpread"
ERR_REASON_CONSTRAINTS_NOT_MATCH = "node(s) didn't match pod topology spread constraints"
ERR_REASON_NODE_LABEL_NOT_MATCH = ERR_REASON_CONSTRAINTS_NOT_MATCH + " (missing required label)"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
PRE_SCORE_STATE_KEY = "PreScore" + NAME

LABEL_HOSTNAME = "kubernetes.io/hostname"  # v1.LabelHostname
LABEL_TOPOLOGY_ZONE = "topology.kubernetes.io/zone"  # v1.LabelTopologyZone
DO_NOT_SCHEDULE = "DoNotSchedule"
SCHEDULE_ANYWAY = "ScheduleAnyway"
SYSTEM_DEFAULTING = "System"
LIST_DEFAULTING = "List"
HONOR = "Honor"
IGNORE = "Ignore"
_MAX_INT32 = 2**31 - 1  # criticalPaths start at math.MaxInt32
DEFAULTS_CACHE_SIZE = 1024  # pod shapes whose defaulted constraints are remembered

# plugin.go systemDefaultConstraints
SYSTEM_DEFAULT_CONSTRAINTS: tuple[Mapping[str, Any], ...] = (
    {"topologyKey": LABEL_HOSTNAME, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 3},
    {"topologyKey": LABEL_TOPOLOGY_ZONE, "whenUnsatisfiable": SCHEDULE_ANYWAY, "maxSkew": 5},
)


# -- args ----------------------------------------------------------------------------------------

@dataclass
class PodTopologySpreadArgs:
    """pluginConfig args: ``defaultConstraints`` and ``defaultingType`` (System or List)."""

    default_constraints: list[Mapping[str, Any]] = field(default_factory=list)
    defaulting_type: str = SYSTEM_DEFAULTING

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> PodTopologySpreadArgs:
        """Read the YAML form; defaultingType defaults to System."""
        args = args or {}
        return cls(list(args.get("defaultConstraints") or []),
                   args.get("defaultingType") or SYSTEM_DEFAULTING)

    def validate(self, path: Path) -> list[FieldError]:
        """Upstream's ValidatePodTopologySpreadArgs."""
        errs: list[FieldError] = []
        p = path.child("defaultingType")
        if self.defaulting_type not in (SYSTEM_DEFAULTING, LIST_DEFAULTING):
            errs.append(FieldError.not_supported(p, self.defaulting_type,
                                                 [SYSTEM_DEFAULTING, LIST_DEFAULTING]))
        elif self.defaulting_type == SYSTEM_DEFAULTING and self.default_constraints:
            errs.append(FieldError.invalid(p, self.defaulting_type,
                                           "when .defaultConstraints are not empty"))
        constraints_path = path.child("defaultConstraints")
        for i, c in enumerate(self.default_constraints):
            cp = constraints_path.index(i)
            max_skew = c.get("maxSkew") or 0
            if max_skew <= 0:
                errs.append(FieldError.invalid(cp.child("maxSkew"), max_skew,
                                               "not in valid range (0, inf)"))
            key = c.get("topologyKey") or ""
            if not key:
                errs.append(FieldError.required(cp.child("topologyKey"), "can not be empty"))
            else:
                errs.extend(FieldError.invalid(cp.child("topologyKey"), key, msg)
                            for msg in is_label_key(key))
            action = c.get("whenUnsatisfiable") or ""
            if not action:
                errs.append(FieldError.required(cp.child("whenUnsatisfiable"), "can not be empty"))
            elif action not in (DO_NOT_SCHEDULE, SCHEDULE_ANYWAY):
                errs.append(FieldError.not_supported(cp.child("whenUnsatisfiable"), action,
                                                     [DO_NOT_SCHEDULE, SCHEDULE_ANYWAY]))
            if c.get("labelSelector") is not None:
                errs.append(FieldError.forbidden(
                    cp.child("labelSelector"),
                    "constraint must not define a selector, as they deduced for each pod"))
            for other in self.default_constraints[:i]:
                if (other.get("topologyKey"), other.get("whenUnsatisfiable")) == (key, action):
                    errs.append(FieldError.duplicate(cp, f"{{{key}, {action}}}"))
                    break
        return errs


# -- constraints ---------------------------------------------------------------------------------

@dataclass
class TopologySpreadConstraint:
    """A constraint with its selector parsed and its optional fields defaulted."""

    max_skew: int
    topology_key: str
    selector: LabelSelector
    min_domains: int = 1
    node_affinity_policy: str = HONOR  # nil means Honor
    node_taints_policy: str = IGNORE  # nil means Ignore

    def match_node_inclusion_policies(self, pod: Mapping[str, Any], node_info: NodeInfo,
                                      required: RequiredNodeAffinity) -> bool:
        """Whether the node's domain counts for this pod (node affinity / taint policies)."""
        if self.node_affinity_policy == HONOR and not required.match(node_info):
            return False
        if self.node_taints_policy == HONOR and find_matching_untolerated_taint(
                node_info.taints, pod_tolerations(pod)) is not None:
            return False
        return True

    def match_node_inclusion_policies_mask(self, pod: Mapping[str, Any], nodes: NodeColumns,
                                           required: RequiredNodeAffinity) -> np.ndarray:
        """:meth:`match_node_inclusion_policies` for every node."""
        mask = np.ones(nodes.n, dtype=bool)
        if self.node_affinity_policy == HONOR:
            mask &= required.match_mask(nodes)
        if self.node_taints_policy == HONOR:
            mask &= nodes.untolerated_taints(pod_tolerations(pod)) == 0
        return mask


def _merge_label_set(labels: Mapping[str, str], selector: LabelSelector) -> LabelSelector:
    """SelectorFromSet(labels) plus the selector's requirements (mergeLabelSetWithSelector)."""
    merged = LabelSelector.from_set(labels)
    if selector == LabelSelector.nothing():
        return merged
    return LabelSelector([*merged.requirements, *selector.requirements])


def filter_topology_spread_constraints(constraints: Sequence[Mapping[str, Any]],
                                       pod_labels: Mapping[str, str], action: str
                                       ) -> list[TopologySpreadConstraint]:
    """Parse the constraints with ``whenUnsatisfiable == action``.

    ``matchLabelKeys`` adds ``key=<the pod's value>`` to the selector for each key the
    pod has.
    """
    out = []
    for c in constraints:
        if c.get("whenUnsatisfiable") != action:
            continue
        selector = LabelSelector.from_dict(c.get("labelSelector"))
        match_labels = {k: pod_labels[k] for k in c.get("matchLabelKeys") or []
                        if k in pod_labels}
        if match_labels:
            selector = _merge_label_set(match_labels, selector)
        out.append(TopologySpreadConstraint(
            int(c.get("maxSkew") or 0), c.get("topologyKey") or "", selector,
            int(c["minDomains"]) if c.get("minDomains") is not None else 1,
            c.get("nodeAffinityPolicy") or HONOR, c.get("nodeTaintsPolicy") or IGNORE))
    return out


def _controller_of(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for ref in get(pod, "metadata", "ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


def default_selector(pod: Mapping[str, Any],
                     objects: Snapshot | Mapping[str, Sequence[Mapping[str, Any]]]
                     ) -> LabelSelector:
    """The selector of the Services and the controller that own the pod (DefaultSelector).

    ``objects`` is a Snapshot, or a mapping of ``services``, ``replicationcontrollers``,
    ``replicasets`` and ``statefulsets`` to lists of those objects. As upstream's
    listers, it reads the pod's namespace only, and finds the controller by name.
    """
    snapshot = objects if isinstance(objects, Snapshot) else Snapshot(objects=objects)
    namespace = get(pod, "metadata", "namespace") or "default"
    pod_labels = get(pod, "metadata", "labels") or {}
    label_set: dict[str, str] = {}
    for svc in snapshot.lister("services").list(namespace):
        svc_selector = get(svc, "spec", "selector")
        if svc_selector is None:  # a nil selector matches nothing
            continue
        if LabelSelector.from_set(svc_selector).matches(pod_labels):
            label_set.update(svc_selector)
    selector = LabelSelector.from_set(label_set)
    owner = _controller_of(pod)
    if owner is None:
        return selector
    kinds = {("v1", "ReplicationController"): "replicationcontrollers",
             ("apps/v1", "ReplicaSet"): "replicasets",
             ("apps/v1", "StatefulSet"): "statefulsets"}
    resource = kinds.get((owner.get("apiVersion"), owner.get("kind")))
    if resource is None:
        return selector
    obj = snapshot.lister(resource).get(namespace, owner.get("name"))
    if obj is None:
        return selector
    if resource == "replicationcontrollers":
        label_set.update(get(obj, "spec", "selector") or {})
        return LabelSelector.from_set(label_set)
    try:
        other = LabelSelector.from_dict(get(obj, "spec", "selector"))
    except SelectorError:
        return selector
    if other != LabelSelector.nothing():
        selector = LabelSelector([*selector.requirements, *other.requirements])
    return selector


def may_have_default_selector(pod: Mapping[str, Any], snapshot: Snapshot) -> bool:
    """False when no Service in the pod's namespace has a selector and no controller owns it.

    Then :func:`default_selector` is empty and the defaults do not apply: the
    vectorised path skips spreading for such a pod without building constraints.
    """
    meta = pod.get("metadata") or {}
    if any(ref.get("controller") for ref in meta.get("ownerReferences") or []):
        return True
    namespace = meta.get("namespace") or "default"
    return any((svc.get("spec") or {}).get("selector") is not None
               for svc in snapshot.lister("services").list(namespace))


def _defaults_key(pod: Mapping[str, Any], action: str) -> tuple | None:
    """What :meth:`PodTopologySpread.constraints` reads of a pod without constraints of its own.

    The namespace, the labels and the controller: every pod of a Deployment has the
    same. None for a pod with its own constraints, or one too odd to key on.
    """
    spec, meta = pod.get("spec"), pod.get("metadata")
    if not isinstance(spec, Mapping) or spec.get("topologySpreadConstraints") \
            or not isinstance(meta, Mapping):
        return None
    try:
        labels = frozenset((meta.get("labels") or {}).items())
        owner = None
        for ref in meta.get("ownerReferences") or []:
            if ref.get("controller"):
                owner = (ref.get("apiVersion"), ref.get("kind"), ref.get("name"))
                break
    except (AttributeError, TypeError):  # not mappings: leave it to the uncached path
        return None
    if not all(isinstance(v, str) for _, v in labels):
        return None  # only strings: 1 and True would make one key
    return action, meta.get("namespace") or "default", labels, owner


def node_labels_match_spread_constraints(labels: Mapping[str, str],
                                         constraints: Sequence[TopologySpreadConstraint]) -> bool:
    """True if the node has every constraint's topology key."""
    return all(c.topology_key in labels for c in constraints)


def count_pods_match_selector(pods: Sequence[PodInfo], selector: LabelSelector,
                              namespace: str) -> int:
    """Matching pods in the namespace, terminating ones excluded (countPodsMatchSelector)."""
    return sum(1 for p in pods if not p.terminating and p.namespace == namespace
               and selector.matches(p.labels))


# -- the plugin ----------------------------------------------------------------------------------

@dataclass
class PreFilterState:
    """Per DoNotSchedule constraint: matching pods per domain."""

    constraints: list[TopologySpreadConstraint]
    tp_value_to_match_num: list[dict[str, int]]

    def clone(self) -> PreFilterState:
        """A copy whose counts change independently (preFilterState.Clone)."""
        return PreFilterState(self.constraints, [dict(c) for c in self.tp_value_to_match_num])

    def min_match_num(self, i: int) -> int:
        """The emptiest domain's count; 0 if there are fewer domains than minDomains."""
        counts = self.tp_value_to_match_num[i]
        if len(counts) < self.constraints[i].min_domains:
            return 0
        return min(counts.values(), default=_MAX_INT32)


@dataclass
class PreScoreState:
    """Per ScheduleAnyway constraint: matching pods per domain, and each domain's weight."""

    constraints: list[TopologySpreadConstraint]
    ignored_nodes: set[str]
    topology_value_to_pod_counts: list[dict[str, int]]
    topology_normalizing_weight: list[float]


def topology_normalizing_weight(size: int) -> float:
    """``log(size + 2)``: counts in many small domains weigh more than in a few big ones."""
    return math.log(size + 2)


def score_for_count(cnt: int, max_skew: int, tp_weight: float) -> float:
    """``cnt * weight + maxSkew - 1``: a bigger maxSkew waters differences down."""
    return cnt * tp_weight + (max_skew - 1)


class PodTopologySpread(PreFilterPlugin, PreFilterExtensions, FilterPlugin, PreScorePlugin,
                        ScorePlugin, ScoreExtensions):
    """Hard spreading (DoNotSchedule) as a filter, soft spreading (ScheduleAnyway) as a score."""

    name = NAME
    args_type = PodTopologySpreadArgs

    def __init__(self, args: PodTopologySpreadArgs | None = None) -> None:
        super().__init__(args or PodTopologySpreadArgs())
        self.default_constraints: Sequence[Mapping[str, Any]] = self.args.default_constraints
        self.system_defaulted = self.args.defaulting_type == SYSTEM_DEFAULTING
        if self.system_defaulted:
            self.default_constraints = SYSTEM_DEFAULT_CONSTRAINTS
        # the defaulted constraints per pod shape (_defaults_key), for one snapshot
        self._defaults_for: Snapshot | None = None
        self._defaults_seen: dict[tuple, list[TopologySpreadConstraint]] = {}

    def constraints(self, state: CycleState, pod: Mapping[str, Any], action: str
                    ) -> list[TopologySpreadConstraint]:
        """The pod's own constraints for ``action``, else the defaults with the deduced selector.

        The defaults are the same for every pod of a controller: remembered per pod
        shape for one snapshot (whose Services and controllers the selector reads).
        """
        key = _defaults_key(pod, action)
        if key is not None:
            if self._defaults_for is not state.snapshot:
                self._defaults_for, self._defaults_seen = state.snapshot, {}
            seen = self._defaults_seen.get(key)
            if seen is not None:
                return seen
        own = get(pod, "spec", "topologySpreadConstraints") or []
        labels = get(pod, "metadata", "labels") or {}
        if own:
            return filter_topology_spread_constraints(own, labels, action)
        constraints = filter_topology_spread_constraints(self.default_constraints, labels, action)
        if constraints:
            selector = default_selector(pod, state.snapshot)
            if selector.empty():
                constraints = []
            for c in constraints:
                c.selector = selector
        if key is not None:
            if len(self._defaults_seen) >= DEFAULTS_CACHE_SIZE:
                self._defaults_seen.clear()
            self._defaults_seen[key] = constraints
        return constraints

    # -- DoNotSchedule ------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Count matching pods per domain over all nodes; Skip if the pod has no hard constraint."""
        try:
            constraints = self.constraints(state, pod, DO_NOT_SCHEDULE)
        except SelectorError as e:
            return None, Status(Code.Error, err=RuntimeError(f"get constraints from pod: {e}"))
        if not constraints:
            return None, Status(Code.Skip)
        namespace = get(pod, "metadata", "namespace") or "default"
        required = RequiredNodeAffinity(pod)
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for node in nodes:
            if not node_labels_match_spread_constraints(node.labels, constraints):
                continue
            for i, c in enumerate(constraints):
                if not c.match_node_inclusion_policies(pod, node, required):
                    continue
                value = node.labels[c.topology_key]
                n = count_pods_match_selector(node.pods, c.selector, namespace)
                counts[i][value] = counts[i].get(value, 0) + n
        state.write(PRE_FILTER_STATE_KEY, PreFilterState(constraints, counts))
        return None, None

    # -- AddPod and RemovePod -----------------------------------------------------------------
    def pre_filter_extensions(self) -> PreFilterExtensions:
        """AddPod and RemovePod are this plugin's own."""
        return self

    def add_pod(self, state: CycleState, pod: Mapping[str, Any], pod_info_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None:
        """Count a pod now on ``node_info``'s node in its domains (AddPod)."""
        return self._update_with_pod(state, pod, pod_info_to_add, node_info, 1)

    def remove_pod(self, state: CycleState, pod: Mapping[str, Any],
                   pod_info_to_remove: PodInfo, node_info: NodeInfo) -> Status | None:
        """Stop counting a pod taken off ``node_info``'s node (RemovePod)."""
        return self._update_with_pod(state, pod, pod_info_to_remove, node_info, -1)

    @staticmethod
    def _update_with_pod(state: CycleState, pod: Mapping[str, Any], updated: PodInfo,
                         node_info: NodeInfo, delta: int) -> Status | None:
        """What PreFilter would have counted of ``updated`` there, added (updateWithPod).

        As upstream: only a pod of the incoming pod's namespace, on a node with every
        topology key that the inclusion policies admit; terminating or not.
        """
        try:
            s: PreFilterState = state.read(PRE_FILTER_STATE_KEY)
        except KeyError as e:
            return Status(Code.Error, err=RuntimeError(
                f'error reading "{PRE_FILTER_STATE_KEY}" from cycleState: {e.args[0]}'))
        namespace = get(pod, "metadata", "namespace") or "default"
        if updated.namespace != namespace or node_info.node is None:
            return None
        labels = node_info.labels
        if not node_labels_match_spread_constraints(labels, s.constraints):
            return None
        required = RequiredNodeAffinity(pod)
        for i, c in enumerate(s.constraints):
            if not c.selector.matches(updated.labels) or \
                    not c.match_node_inclusion_policies(pod, node_info, required):
                continue
            counts = s.tp_value_to_match_num[i]
            value = labels[c.topology_key]
            counts[value] = counts.get(value, 0) + delta
        return None

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unschedulable if the pod here would skew a domain by more than maxSkew."""
        s: PreFilterState = state.read(PRE_FILTER_STATE_KEY)
        pod_labels = get(pod, "metadata", "labels") or {}
        for i, c in enumerate(s.constraints):
            if c.topology_key not in node_info.labels:
                return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_NODE_LABEL_NOT_MATCH)
            tp_val = node_info.labels[c.topology_key]
            self_match = 1 if c.selector.matches(pod_labels) else 0
            match_num = s.tp_value_to_match_num[i].get(tp_val, 0)
            skew = match_num + self_match - s.min_match_num(i)
            if skew > c.max_skew:
                return Status(Code.Unschedulable, ERR_REASON_CONSTRAINTS_NOT_MATCH)
        return None

    # -- ScheduleAnyway -----------------------------------------------------------------------
    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Count matching pods per domain of the candidate nodes; Skip without soft constraints."""
        all_nodes = state.snapshot.node_infos
        if not all_nodes:
            return Status(Code.Skip)
        own = get(pod, "spec", "topologySpreadConstraints") or []
        # Only the system defaults let a node without a zone label keep hostname spreading.
        require_all = bool(own) or not self.system_defaulted
        try:
            constraints = self.constraints(state, pod, SCHEDULE_ANYWAY)
        except SelectorError as e:
            return Status(Code.Error, err=RuntimeError(
                f"calculating preScoreState: obtaining pod's soft topology spread "
                f"constraints: {e}"))
        if not constraints:
            return Status(Code.Skip)
        ignored: set[str] = set()
        counts: list[dict[str, int]] = [{} for _ in constraints]
        for node in nodes:
            if require_all and not node_labels_match_spread_constraints(node.labels,
                                                                        constraints):
                ignored.add(node.name)  # nodes missing a topology key score 0
                continue
            for i, c in enumerate(constraints):
                if c.topology_key != LABEL_HOSTNAME:  # per-node counts come in Score
                    counts[i].setdefault(node.labels.get(c.topology_key, ""), 0)
        weights = []
        for i, c in enumerate(constraints):
            size = len(counts[i])
            if c.topology_key == LABEL_HOSTNAME:
                size = len(nodes) - len(ignored)
            weights.append(topology_normalizing_weight(size))
        namespace = get(pod, "metadata", "namespace") or "default"
        required = RequiredNodeAffinity(pod)
        for node in all_nodes:
            if require_all and not node_labels_match_spread_constraints(node.labels,
                                                                        constraints):
                continue
            for i, c in enumerate(constraints):
                if not c.match_node_inclusion_policies(pod, node, required):
                    continue
                value = node.labels.get(c.topology_key, "")
                if value not in counts[i]:  # a domain with no candidate node
                    continue
                counts[i][value] += count_pods_match_selector(node.pods, c.selector, namespace)
        state.write(PRE_SCORE_STATE_KEY, PreScoreState(constraints, ignored, counts, weights))
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """Matching pods in the node's domains, weighted (low is good; normalize reverses)."""
        s: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        if node_info.name in s.ignored_nodes:
            return 0
        namespace = get(pod, "metadata", "namespace") or "default"
        score = 0.0
        for i, c in enumerate(s.constraints):
            if c.topology_key not in node_info.labels:
                continue
            if c.topology_key == LABEL_HOSTNAME:
                cnt = count_pods_match_selector(node_info.pods, c.selector, namespace)
            else:
                cnt = s.topology_value_to_pod_counts[i].get(node_info.labels[c.topology_key], 0)
            score += score_for_count(cnt, c.max_skew, s.topology_normalizing_weight[i])
        return go_round(score)

    def score_extensions(self) -> ScoreExtensions:
        """PodTopologySpread normalizes its scores."""
        return self

    def normalize_score(self, state: CycleState, pod: Mapping[str, Any],
                        scores: list[NodeScore]) -> Status | None:
        """``100 * (max + min - score) / max``; ignored nodes get 0."""
        s: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        live = [ns.score for ns in scores if ns.name not in s.ignored_nodes]
        min_score = min(live, default=0)
        max_score = max([0, *live])
        for ns in scores:
            if ns.name in s.ignored_nodes:
                ns.score = 0
            elif max_score == 0:
                ns.score = MAX_NODE_SCORE
            else:
                ns.score = MAX_NODE_SCORE * (max_score + min_score - ns.score) // max_score
        return None

    # -- the same, for many nodes at once ----------------------------------------------------
    def filter_mask(self, state: CycleState, pod: Mapping[str, Any], nodes: NodeColumns
                    ) -> np.ndarray | None:
        """:meth:`pre_filter` and :meth:`filter` for every node: True where the pod may go.

        None when PreFilter says Skip. Raises SelectorError (a ValueError) where
        PreFilter reports an error. The counting is PreFilter's: per constraint, the
        matching pods of the nodes that have every topology key and that the
        inclusion policies admit, summed per domain; then each node's skew, as in
        :meth:`filter` (upstream: filtering.go calPreFilterState and Filter).
        """
        if not get(pod, "spec", "topologySpreadConstraints") and self.system_defaulted:
            return None  # the system defaults are all ScheduleAnyway: nothing to filter
        constraints = self.constraints(state, pod, DO_NOT_SCHEDULE)
        if not constraints:
            return None
        namespace = get(pod, "metadata", "namespace") or "default"
        pod_labels = get(pod, "metadata", "labels") or {}
        required = RequiredNodeAffinity(pod)
        domains = [nodes.label(c.topology_key)[0] for c in constraints]
        has_all_keys = np.ones(nodes.n, dtype=bool)  # node_labels_match_spread_constraints
        for codes in domains:
            has_all_keys &= codes != -1
        mask = has_all_keys.copy()  # a node without a topology key is rejected
        for c, codes in zip(constraints, domains, strict=True):
            counted = has_all_keys & c.match_node_inclusion_policies_mask(pod, nodes, required)
            match_num = _per_domain(codes, counted, nodes.matching_pods(namespace, c.selector))
            seen = np.bincount(codes[counted], minlength=len(match_num)) > 0
            mask &= self._skew_ok(c, codes, match_num, seen, pod_labels)
        return mask

    @staticmethod
    def _skew_ok(c: TopologySpreadConstraint, codes: np.ndarray, match_num: np.ndarray,
                 seen: np.ndarray, pod_labels: Mapping[str, str]) -> np.ndarray:
        """:meth:`filter`'s skew test of one constraint, for every node with the key.

        ``match_num`` is PreFilter's count per domain code, ``seen`` the domains
        PreFilter has an entry for (the emptiest domain is among those).
        """
        num_domains = int(np.count_nonzero(seen))
        if num_domains < c.min_domains:  # PreFilterState.min_match_num
            min_match = 0
        elif num_domains == 0:
            min_match = _MAX_INT32
        else:
            min_match = int(match_num[seen].min())
        self_match = 1 if c.selector.matches(pod_labels) else 0
        # .get(tp_val, 0): an unseen domain has 0; code -1 (no key) reads the trailing 0
        return match_num[codes] + self_match - min_match <= c.max_skew

    def score_column(self, state: CycleState, pod: Mapping[str, Any], nodes: NodeColumns,
                     feasible: np.ndarray) -> np.ndarray | None:
        """:meth:`pre_score`, :meth:`score` and :meth:`normalize_score` for the nodes ``feasible``.

        ``feasible`` indexes ``nodes`` (the candidates). None when PreScore says Skip;
        raises SelectorError (a ValueError) where PreScore reports an error. As
        :meth:`pre_score`: candidates missing a topology key are ignored (unless only
        the system defaults apply), each domain of a candidate counts the matching
        pods of every node there that the inclusion policies admit, and is weighed by
        the number of such domains (upstream: scoring.go PreScore, Score and
        NormalizeScore).
        """
        if not nodes.n:
            return None
        own = get(pod, "spec", "topologySpreadConstraints") or []
        # Only the system defaults let a node without a zone label keep hostname spreading.
        require_all = bool(own) or not self.system_defaulted
        if not own and self.system_defaulted and not may_have_default_selector(
                pod, state.snapshot):
            return None  # no Service or controller selects the pod: no default selector
        constraints = self.constraints(state, pod, SCHEDULE_ANYWAY)
        if not constraints:
            return None
        namespace = get(pod, "metadata", "namespace") or "default"
        labels = {c.topology_key: nodes.label(c.topology_key) for c in constraints}
        has_key = {key: codes != -1 for key, (codes, _) in labels.items()}
        counted = np.ones(nodes.n, dtype=bool)  # the nodes whose pods count
        ignored: np.ndarray | None = None  # candidates missing a key (None: none)
        if require_all:
            for key_present in has_key.values():
                counted &= key_present
            if not counted[feasible].all():
                ignored = ~counted[feasible]
        candidates = feasible if ignored is None else feasible[~ignored]
        required = RequiredNodeAffinity(pod)
        terms = []
        for c in constraints:
            matching = nodes.matching_pods(namespace, c.selector)
            if c.topology_key == LABEL_HOSTNAME:  # one node per domain: its own pods
                terms.append((c, matching[feasible], has_key[c.topology_key][feasible],
                              len(candidates)))
                continue
            codes = _missing_as_empty(*labels[c.topology_key])  # labels.get(key, "")
            per_domain = _per_domain(
                codes, counted & c.match_node_inclusion_policies_mask(pod, nodes, required),
                matching)
            candidate_domains = np.zeros(len(per_domain), dtype=bool)
            candidate_domains[codes[candidates]] = True  # weighed by their number
            terms.append((c, per_domain[codes[feasible]], has_key[c.topology_key][feasible],
                          int(np.count_nonzero(candidate_domains))))
        return self._normalized(terms, ignored, len(feasible))

    @staticmethod
    def _normalized(terms: Sequence[tuple[TopologySpreadConstraint, np.ndarray,
                                          np.ndarray, int]],
                    ignored: np.ndarray | None, n: int) -> np.ndarray:
        """:meth:`score` then :meth:`normalize_score` for ``n`` candidate nodes.

        One term per ScheduleAnyway constraint: (the constraint, each node's matching
        pods in its domain, which nodes have the topology key, the number of domains
        PreScore weighs by). ``ignored`` marks nodes missing a required key (None: none).
        """
        score = np.zeros(n, dtype=np.float64)
        for c, cnt, has_key, size in terms:
            term = cnt * topology_normalizing_weight(size) + (c.max_skew - 1)
            score = score + np.where(has_key, term, 0.0)
        raw = np.floor(score + 0.5).astype(np.int64)  # go_round of a non-negative float
        if ignored is not None:
            raw[ignored] = 0
            live = raw[~ignored]
        else:
            live = raw
        min_score = int(live.min()) if len(live) else 0
        max_score = max(0, int(live.max()) if len(live) else 0)
        if max_score == 0:
            out = np.full(n, MAX_NODE_SCORE, dtype=np.int64)
        else:
            out = MAX_NODE_SCORE * (max_score + min_score - raw) // max_score
        if ignored is not None:
            out[ignored] = 0
        return out


def _per_domain(codes: np.ndarray, counted: np.ndarray, matching: np.ndarray) -> np.ndarray:
    """The ``matching`` pods of the ``counted`` nodes, summed per domain code.

    One entry past the last code (always 0), so that code -1 (no such label) reads 0.
    """
    width = int(codes.max()) + 2 if len(codes) else 1
    return np.bincount(codes[counted], weights=matching[counted],
                       minlength=width).astype(np.int64)


def _missing_as_empty(codes: np.ndarray, values: Sequence[str]) -> np.ndarray:
    """``codes`` with the nodes lacking the label (-1) in the domain of value "" instead."""
    if not (codes == -1).any():
        return codes
    empty = values.index("") if "" in values else len(values)
    return np.where(codes == -1, empty, codes)
