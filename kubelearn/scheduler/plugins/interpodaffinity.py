"""InterPodAffinity: place a pod near (affinity) or away from (anti-affinity) other pods.

A pod affinity *term* names a label selector (which pods), the namespaces to look
in (``namespaces``, ``namespaceSelector``, else the pod's own) and a
``topologyKey``: a node label whose values are *domains* (a hostname, a zone).

- Filter (``requiredDuringSchedulingIgnoredDuringExecution``): a node passes the pod's
  affinity if, for every term, its domain holds a pod matching *all* terms (a pod
  whose terms match itself may go first); it fails the pod's anti-affinity if its
  domain holds a matching pod; and it fails *existing* pods' anti-affinity if one
  of them, in the node's domain, has a required anti-affinity term matching the pod
  (symmetry). Each has its own FailedScheduling reason.
- Score (``preferredDuringScheduling...``): per domain, the weights of the pod's
  preferred terms that existing pods match (minus for anti-affinity), plus, the
  other way round, existing pods' preferred terms that match the pod and their
  required affinity terms at ``hardPodAffinityWeight``. NormalizeScore maps the
  lowest node to 0 and the highest to 100.

PreFilter counts matches per ``(topologyKey, value)`` once; Filter and Score then
look a node's labels up. A pod without affinity, in a cluster where no pod has
required anti-affinity, costs two lookups: PreFilter and PreScore return Skip.

Counting must not cost a walk over every pod for every pod scheduled. Two indexes
of the scheduler's cache keep it small (upstream walks the pods, in parallel, in Go):

- :class:`ExistingTermsIndex` -- the *existing* pods' terms, each distinct term once
  with how many pods on each node carry it. Pods of one Deployment share their
  terms, so "does any existing pod's anti-affinity reject this pod?" is one match
  per distinct term, not one per pod.
- the cache's :class:`~kubelearn.scheduler.nodeinfo.PodLabelIndex` -- the pods by
  label. The *incoming* pod's term ``spread=web`` can only match pods labelled
  ``spread=web``; only a selector pinning no label walks all pods.

Without the cache's indexes (a Snapshot built by hand) the same counts come from
walking the pods.

PreFilterExtensions: preemption takes victims off a node one by one and puts them
back; pods nominated to a node are added before it is filtered. AddPod and RemovePod
update the PreFilter counts for that one pod (updateWithPod), instead of counting
the cluster again.

``matchLabelKeys`` / ``mismatchLabelKeys`` (feature MatchLabelKeysInPodAffinity, beta
and on by default in v1.31-v1.32, GA in v1.33; pkg/features/kube_features.go) add
``key in (the pod's value)`` / ``key notin (...)`` to the term's selector. Upstream's
API server does that when the pod is created (pkg/registry/core/pod/strategy.go
applyMatchLabelKeysAndMismatchLabelKeys); here the terms are merged when parsed, with
the same result.

Each extension point comes twice: per node, as the framework calls it, and as an
array over a column of nodes (:meth:`InterPodAffinity.filter_nodes`,
:meth:`InterPodAffinity.score_nodes`) for the vectorised cycle -- the same counts
looked up through each node's label code instead of its label dict.

A port of pkg/scheduler/framework/plugins/interpodaffinity (plugin.go, filtering.go,
scoring.go) and the AffinityTerm parts of pkg/scheduler/framework/types.go (v1.32).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kubelearn.api import LabelSelector, Path, SelectorError
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
from kubelearn.scheduler.plugins.helper import field as get

NAME = "InterPodAffinity"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
PRE_SCORE_STATE_KEY = "PreScore" + NAME
# filtering.go
ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH = \
    "node(s) didn't satisfy existing pods anti-affinity rules"
ERR_REASON_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod affinity rules"
ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH = "node(s) didn't match pod anti-affinity rules"
DEFAULT_HARD_POD_AFFINITY_WEIGHT = 1  # apis/config/v1/defaults.go HardPodAffinityWeight
MAX_HARD_POD_AFFINITY_WEIGHT = 100  # validation_pluginargs.go: weight in [0, 100]

TopologyPair = tuple[str, str]  # (topologyKey, value)


# -- args ----------------------------------------------------------------------------------------

@dataclass
class InterPodAffinityArgs:
    """pluginConfig args: ``hardPodAffinityWeight`` and ``ignorePreferredTermsOfExistingPods``."""

    hard_pod_affinity_weight: int = DEFAULT_HARD_POD_AFFINITY_WEIGHT
    ignore_preferred_terms_of_existing_pods: bool = False

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> InterPodAffinityArgs:
        """Read the YAML form; an absent weight defaults to 1."""
        args = args or {}
        weight = args.get("hardPodAffinityWeight")
        return cls(DEFAULT_HARD_POD_AFFINITY_WEIGHT if weight is None else weight,
                   bool(args.get("ignorePreferredTermsOfExistingPods")))

    def validate(self, path: Path) -> list[FieldError]:
        """ValidateInterPodAffinityArgs: the weight lies in [0, 100]."""
        w = self.hard_pod_affinity_weight
        if not isinstance(w, int) or isinstance(w, bool) or not 0 <= w <= \
                MAX_HARD_POD_AFFINITY_WEIGHT:
            return [FieldError.invalid(path.child("hardPodAffinityWeight"), w,
                                       f"not in valid range [0, {MAX_HARD_POD_AFFINITY_WEIGHT}]")]
        return []


# -- terms ---------------------------------------------------------------------------------------

class AffinityTerm:
    """A parsed PodAffinityTerm: namespaces, selector, topology key (framework.AffinityTerm)."""

    __slots__ = ("namespaces", "selector", "topology_key", "namespace_selector")

    def __init__(self, namespaces: set[str], selector: LabelSelector, topology_key: str,
                 namespace_selector: LabelSelector) -> None:
        self.namespaces = namespaces
        self.selector = selector
        self.topology_key = topology_key
        self.namespace_selector = namespace_selector

    def key(self) -> tuple[Any, ...]:
        """What makes two terms match the same pods in the same domains: a dict key."""
        return (frozenset(self.namespaces), self.selector, self.topology_key,
                self.namespace_selector)

    def matches(self, pod: PodInfo, ns_labels: Mapping[str, str] | None) -> bool:
        """The pod is in one of the term's namespaces and its labels match (Matches)."""
        if pod.namespace in self.namespaces or self.namespace_selector.matches(ns_labels):
            return self.selector.matches(pod.labels)
        return False

    def __repr__(self) -> str:
        return (f"AffinityTerm({sorted(self.namespaces)}, {self.selector!r}, "
                f"{self.topology_key!r}, ns={self.namespace_selector!r})")


@dataclass
class WeightedAffinityTerm:
    """A preferred term and its weight."""

    term: AffinityTerm
    weight: int


@dataclass
class AffinityTerms:
    """A pod's four kinds of terms (the PodInfo fields RequiredAffinityTerms, ...)."""

    required_affinity: list[AffinityTerm] = field(default_factory=list)
    required_anti_affinity: list[AffinityTerm] = field(default_factory=list)
    preferred_affinity: list[WeightedAffinityTerm] = field(default_factory=list)
    preferred_anti_affinity: list[WeightedAffinityTerm] = field(default_factory=list)


NO_TERMS = AffinityTerms()


def _merged_selector(term: Mapping[str, Any], pod_labels: Mapping[str, str]
                     ) -> Mapping[str, Any] | None:
    """The term's labelSelector with matchLabelKeys / mismatchLabelKeys merged in."""
    selector = term.get("labelSelector")
    match, mismatch = term.get("matchLabelKeys") or [], term.get("mismatchLabelKeys") or []
    if selector is None or not (match or mismatch):  # nil selects nothing: left alone
        return selector
    expressions = list(selector.get("matchExpressions") or [])
    for keys, operator in ((match, "In"), (mismatch, "NotIn")):
        expressions += [{"key": k, "operator": operator, "values": [pod_labels[k]]}
                        for k in keys if k in pod_labels]
    return {**selector, "matchExpressions": expressions}


def new_affinity_term(pod: PodInfo, term: Mapping[str, Any]) -> AffinityTerm:
    """Parse a PodAffinityTerm of ``pod``; SelectorError if a selector is bad (newAffinityTerm).

    Without ``namespaces`` and ``namespaceSelector`` the term looks in the pod's own
    namespace. A nil namespaceSelector matches no namespace, an empty one all.
    """
    selector = LabelSelector.from_dict(_merged_selector(term, pod.labels))
    namespaces = set(term.get("namespaces") or [])
    ns_selector_spec = term.get("namespaceSelector")
    if not namespaces and ns_selector_spec is None:
        namespaces = {pod.namespace}
    return AffinityTerm(namespaces, selector, term.get("topologyKey") or "",
                        LabelSelector.from_dict(ns_selector_spec))


def parse_affinity_terms(pod: PodInfo) -> AffinityTerms:
    """All four kinds of the pod's terms; SelectorError on the first bad one."""
    affinity = get(pod.pod, "spec", "affinity") or {}
    pa, paa = affinity.get("podAffinity") or {}, affinity.get("podAntiAffinity") or {}
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    preferred = "preferredDuringSchedulingIgnoredDuringExecution"

    def weighted(terms: Sequence[Mapping[str, Any]]) -> list[WeightedAffinityTerm]:
        return [WeightedAffinityTerm(new_affinity_term(pod, t.get("podAffinityTerm") or {}),
                                     int(t.get("weight") or 0)) for t in terms]
    return AffinityTerms([new_affinity_term(pod, t) for t in pa.get(required) or []],
                         [new_affinity_term(pod, t) for t in paa.get(required) or []],
                         weighted(pa.get(preferred) or []), weighted(paa.get(preferred) or []))


def existing_pod_terms(pod: PodInfo) -> AffinityTerms:
    """An existing pod's terms, parsed once and kept on its PodInfo.

    A term that does not parse leaves the pod without terms, as a PodInfo whose
    NewPodInfo failed (the API server's validation keeps such pods out).
    """
    if pod.affinity_terms is None:
        try:
            pod.affinity_terms = parse_affinity_terms(pod) if pod.with_affinity else NO_TERMS
        except SelectorError:
            pod.affinity_terms = NO_TERMS
    return pod.affinity_terms


def pod_matches_all_affinity_terms(terms: Sequence[AffinityTerm], pod: PodInfo) -> bool:
    """True if there are terms and ``pod`` matches every one (podMatchesAllAffinityTerms)."""
    if not terms:
        return False
    # The incoming pod's namespaceSelectors are merged into its namespaces: no labels needed.
    return all(t.matches(pod, None) for t in terms)


# -- namespaces ----------------------------------------------------------------------------------

def _namespaces(snapshot: Snapshot) -> Sequence[Mapping[str, Any]]:
    # Namespaces are cluster-scoped: the lister files them all under "default".
    return list(snapshot.lister("namespaces").list("default"))


def namespace_labels(snapshot: Snapshot, namespace: str) -> dict[str, str]:
    """The labels of the pod's Namespace, {} if unknown (GetNamespaceLabelsSnapshot)."""
    ns = snapshot.lister("namespaces").get("default", namespace)
    return dict(get(ns, "metadata", "labels") or {}) if ns is not None else {}


def merge_term_namespaces(term: AffinityTerm, snapshot: Snapshot) -> None:
    """Turn a namespaceSelector into the names it selects now (mergeAffinityTermNamespaces...).

    An empty selector (all namespaces) and a nil one are left as they are.
    """
    if term.namespace_selector.empty():
        return
    for ns in _namespaces(snapshot):
        if term.namespace_selector.matches(get(ns, "metadata", "labels") or {}):
            term.namespaces.add(get(ns, "metadata", "name") or "")
    term.namespace_selector = LabelSelector.nothing()


# -- counting ------------------------------------------------------------------------------------

Counts = dict[TopologyPair, int]


def _add(counts: Counts, labels: Mapping[str, str], key: str, value: int) -> None:
    tv = labels.get(key)
    if tv is not None:
        pair = (key, tv)
        n = counts.get(pair, 0) + value
        if n:
            counts[pair] = n
        else:
            counts.pop(pair, None)


@dataclass
class PreFilterState:
    """Matches per (topologyKey, value), worked out once per pod (preFilterState)."""

    terms: AffinityTerms
    pod: PodInfo
    namespace_labels: dict[str, str]
    # existing pods whose required anti-affinity terms match the incoming pod
    existing_anti_affinity_counts: Counts = field(default_factory=dict)
    # existing pods matching all the incoming pod's required affinity terms
    affinity_counts: Counts = field(default_factory=dict)
    # existing pods matching the incoming pod's required anti-affinity terms
    anti_affinity_counts: Counts = field(default_factory=dict)

    def clone(self) -> PreFilterState:
        """A copy whose counts change independently (preFilterState.Clone)."""
        return PreFilterState(self.terms, self.pod, self.namespace_labels,
                              dict(self.existing_anti_affinity_counts),
                              dict(self.affinity_counts), dict(self.anti_affinity_counts))

    def update_with_pod(self, existing: PodInfo, labels: Mapping[str, str],
                        multiplier: int) -> None:
        """Count ``existing`` on a node with ``labels`` in (+1) or out (-1) (updateWithPod)."""
        for t in existing_pod_terms(existing).required_anti_affinity:
            if t.matches(self.pod, self.namespace_labels):
                _add(self.existing_anti_affinity_counts, labels, t.topology_key, multiplier)
        affinity = self.terms.required_affinity
        if pod_matches_all_affinity_terms(affinity, existing):
            for t in affinity:
                _add(self.affinity_counts, labels, t.topology_key, multiplier)
        # The incoming pod's namespaceSelectors are merged into its namespaces: no labels.
        for t in self.terms.required_anti_affinity:
            if t.matches(existing, None):
                _add(self.anti_affinity_counts, labels, t.topology_key, multiplier)


@dataclass
class PreScoreState:
    """Score per topology key and value (preScoreState.topologyScore)."""

    topology_score: dict[str, dict[str, int]]
    terms: AffinityTerms
    namespace_labels: dict[str, str]


def _incoming_terms(pod: Mapping[str, Any], info: PodInfo) -> AffinityTerms:
    """The pod's terms, freshly parsed (merging namespaceSelectors changes them)."""
    return parse_affinity_terms(info) if info.with_affinity else AffinityTerms()


class InterPodAffinity(PreFilterPlugin, PreFilterExtensions, FilterPlugin, PreScorePlugin,
                       ScorePlugin, ScoreExtensions):
    """Required pod (anti-)affinity as a filter, preferred as a score."""

    name = NAME
    args_type = InterPodAffinityArgs

    def __init__(self, args: InterPodAffinityArgs | None = None) -> None:
        super().__init__(args or InterPodAffinityArgs())

    # -- PreFilter ----------------------------------------------------------------------------
    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Count the matches Filter looks up; Skip when nothing can reject the pod."""
        s = self.pre_filter_state(state, pod, nodes)
        if isinstance(s, Status):
            return None, s
        state.write(PRE_FILTER_STATE_KEY, s)
        return None, None

    def pre_filter_state(self, state: CycleState, pod: Mapping[str, Any],
                         nodes: Sequence[NodeInfo], info: PodInfo | None = None
                         ) -> PreFilterState | Status:
        """PreFilter's counts, or the status it returns instead (Skip, or a parse error)."""
        snapshot = state.snapshot
        info = info if info is not None else PodInfo(pod)
        index = _terms_index(snapshot)
        if index is not None:  # the index says at once whether any such pod exists
            anti_nodes: Sequence[NodeInfo] = ()
            any_anti = len(index.required_anti_affinity) > 0
        else:
            anti_nodes = snapshot.have_pods_with_required_anti_affinity()
            any_anti = bool(anti_nodes)
        if not info.with_affinity and not any_anti:
            return Status(Code.Skip)  # the fast path: nothing to count
        try:
            terms = _incoming_terms(pod, info)
        except SelectorError as e:
            return Status(Code.UnschedulableAndUnresolvable, f"parsing pod: {e}")
        for t in (*terms.required_affinity, *terms.required_anti_affinity):
            merge_term_namespaces(t, snapshot)
        s = PreFilterState(terms, info, namespace_labels(snapshot, info.namespace))
        if any_anti:
            self._existing_anti_affinity_counts(s, snapshot, anti_nodes)
        if terms.required_affinity or terms.required_anti_affinity:
            self._incoming_counts(s, snapshot, nodes)
        if not (s.existing_anti_affinity_counts or terms.required_affinity
                or terms.required_anti_affinity):
            return Status(Code.Skip)
        return s

    @staticmethod
    def _existing_anti_affinity_counts(s: PreFilterState, snapshot: Snapshot,
                                       nodes: Sequence[NodeInfo]) -> None:
        """Existing pods whose required anti-affinity terms match the pod, per domain.

        ``nodes``: the nodes holding pods with required anti-affinity.
        """
        counts = s.existing_anti_affinity_counts
        index = _terms_index(snapshot)
        if index is not None:  # each distinct term once, then its nodes
            for _, (term, nodes_with) in index.required_anti_affinity.candidates(s.pod):
                if term.matches(s.pod, s.namespace_labels):
                    for node_info, n in _in_snapshot(snapshot, nodes_with):
                        _add(counts, node_info.labels, term.topology_key, n)
            return
        for node_info in nodes:
            labels = node_info.labels
            for existing in node_info.pods_with_required_anti_affinity:
                for t in existing_pod_terms(existing).required_anti_affinity:
                    if t.matches(s.pod, s.namespace_labels):
                        _add(counts, labels, t.topology_key, 1)

    @staticmethod
    def _incoming_counts(s: PreFilterState, snapshot: Snapshot, nodes: Sequence[NodeInfo]
                         ) -> None:
        """Existing pods on ``nodes`` matching the pod's required terms, per domain."""
        affinity, anti = s.terms.required_affinity, s.terms.required_anti_affinity
        if affinity:  # a pod matching all terms is among the first term's candidates
            for existing, node_info in candidate_pods(affinity[0], snapshot, nodes):
                if pod_matches_all_affinity_terms(affinity, existing):
                    for t in affinity:
                        _add(s.affinity_counts, node_info.labels, t.topology_key, 1)
        for t in anti:
            for existing, node_info in candidate_pods(t, snapshot, nodes):
                if t.matches(existing, None):
                    _add(s.anti_affinity_counts, node_info.labels, t.topology_key, 1)

    # -- AddPod and RemovePod -----------------------------------------------------------------
    def pre_filter_extensions(self) -> PreFilterExtensions:
        """AddPod and RemovePod are this plugin's own."""
        return self

    def add_pod(self, state: CycleState, pod: Mapping[str, Any], pod_info_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None:
        """Count a pod now on ``node_info``'s node in the PreFilter state (AddPod)."""
        return self._update(state, pod_info_to_add, node_info, 1)

    def remove_pod(self, state: CycleState, pod: Mapping[str, Any],
                   pod_info_to_remove: PodInfo, node_info: NodeInfo) -> Status | None:
        """Stop counting a pod taken off ``node_info``'s node (RemovePod)."""
        return self._update(state, pod_info_to_remove, node_info, -1)

    @staticmethod
    def _update(state: CycleState, info: PodInfo, node_info: NodeInfo, multiplier: int
                ) -> Status | None:
        s = _pre_filter_state(state)
        if isinstance(s, Status):
            return s
        s.update_with_pod(info, node_info.labels, multiplier)
        return None

    # -- Filter -------------------------------------------------------------------------------
    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Affinity (unresolvable), then anti-affinity, then existing pods' anti-affinity."""
        s = _pre_filter_state(state)
        if isinstance(s, Status):
            return s
        labels = node_info.labels
        if not satisfy_pod_affinity(s, labels):
            return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_AFFINITY_RULES_NOT_MATCH)
        if not satisfy_pod_anti_affinity(s, labels):
            return Status(Code.Unschedulable, ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH)
        if not satisfy_existing_pods_anti_affinity(s, labels):
            return Status(Code.Unschedulable, ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH)
        return None

    # -- PreScore and Score -------------------------------------------------------------------
    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Sum the weights per topology pair; Skip when no pod has anything to say."""
        s = self.pre_score_state(state, pod)
        if isinstance(s, Status):
            return s
        state.write(PRE_SCORE_STATE_KEY, s)
        return None

    def pre_score_state(self, state: CycleState, pod: Mapping[str, Any],
                        info: PodInfo | None = None) -> PreScoreState | Status:
        """PreScore's topology scores, or the status it returns instead."""
        snapshot = state.snapshot
        info = info if info is not None else PodInfo(pod)
        affinity = get(pod, "spec", "affinity") or {}
        preferred = "preferredDuringSchedulingIgnoredDuringExecution"
        has_constraints = bool((affinity.get("podAffinity") or {}).get(preferred)
                               or (affinity.get("podAntiAffinity") or {}).get(preferred))
        if self.args.ignore_preferred_terms_of_existing_pods and not has_constraints:
            return Status(Code.Skip)
        # Unless the pod has preferred terms, only pods with affinity can score.
        index = _terms_index(snapshot)
        nodes: Sequence[NodeInfo] = snapshot.node_infos
        if index is not None:
            if not has_constraints and not len(index.scoring):
                return Status(Code.Skip)  # no existing pod has a term that scores
        elif not has_constraints:
            nodes = snapshot.have_pods_with_affinity()
        if not nodes:
            return Status(Code.Skip)
        try:
            terms = _incoming_terms(pod, info)
        except SelectorError as e:  # PreFilter has reported it already
            return Status(Code.Error, err=RuntimeError(f"failed to parse pod: {e}"))
        for wt in (*terms.preferred_affinity, *terms.preferred_anti_affinity):
            merge_term_namespaces(wt.term, snapshot)
        s = PreScoreState({}, terms, namespace_labels(snapshot, info.namespace))
        if index is None:
            for node_info in nodes:
                labels = node_info.labels
                if not labels:
                    continue
                for existing in (node_info.pods if has_constraints
                                 else node_info.pods_with_affinity):
                    self._process_existing_pod(s, existing, info, labels)
        else:
            if has_constraints:
                self._process_incoming_terms(s, snapshot)
            self._process_existing_terms(s, index, snapshot, info)
        if not s.topology_score:
            return Status(Code.Skip)
        return s

    @staticmethod
    def _process_incoming_terms(s: PreScoreState, snapshot: Snapshot) -> None:
        """The pod's preferred terms against the existing pods they may match (by label)."""
        score = s.topology_score
        for wts, multiplier in ((s.terms.preferred_affinity, 1),
                                (s.terms.preferred_anti_affinity, -1)):
            for wt in wts:
                for existing, node_info in candidate_pods(wt.term, snapshot,
                                                          snapshot.node_infos):
                    labels = node_info.labels
                    if labels:
                        _process_term(score, wt.term, wt.weight, existing, None, labels,
                                      multiplier)

    def _process_existing_terms(self, s: PreScoreState, index: ExistingTermsIndex,
                                snapshot: Snapshot, pod: PodInfo) -> None:
        """The existing pods' terms against the pod: each distinct term matched once."""
        score = s.topology_score
        hard = self.args.hard_pod_affinity_weight
        for (_, weight, multiplier), (term, nodes_with) in index.scoring.candidates(pod):
            if weight is None:  # a required affinity term: scored at hardPodAffinityWeight
                if hard <= 0:
                    continue
                weight = hard
            if not term.matches(pod, s.namespace_labels):
                continue
            for node_info, n in _in_snapshot(snapshot, nodes_with):
                tv = node_info.labels.get(term.topology_key)
                if tv is not None:
                    by_value = score.setdefault(term.topology_key, {})
                    by_value[tv] = by_value.get(tv, 0) + weight * multiplier * n

    def _process_existing_pod(self, s: PreScoreState, existing: PodInfo, pod: PodInfo,
                              labels: Mapping[str, str]) -> None:
        """What one existing pod adds to its node's domains (processExistingPod)."""
        score = s.topology_score
        for wt in s.terms.preferred_affinity:
            _process_term(score, wt.term, wt.weight, existing, None, labels, 1)
        for wt in s.terms.preferred_anti_affinity:
            _process_term(score, wt.term, wt.weight, existing, None, labels, -1)
        if not existing.with_affinity:
            return
        theirs = existing_pod_terms(existing)
        if self.args.hard_pod_affinity_weight > 0:
            for t in theirs.required_affinity:
                _process_term(score, t, self.args.hard_pod_affinity_weight, pod,
                              s.namespace_labels, labels, 1)
        for wt in theirs.preferred_affinity:
            _process_term(score, wt.term, wt.weight, pod, s.namespace_labels, labels, 1)
        for wt in theirs.preferred_anti_affinity:
            _process_term(score, wt.term, wt.weight, pod, s.namespace_labels, labels, -1)

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The sum of the node's domains' scores (negative for anti-affinity)."""
        s: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        labels = node_info.labels
        total = 0
        for key, values in s.topology_score.items():
            v = labels.get(key)
            if v is not None:
                total += values.get(v, 0)
        return total

    def score_extensions(self) -> ScoreExtensions:
        """NormalizeScore is this plugin's own."""
        return self

    def normalize_score(self, state: CycleState, pod: Mapping[str, Any],
                        scores: list[NodeScore]) -> Status | None:
        """Min-max scaling to 0..100, truncated: the lowest node 0, the highest 100."""
        s: PreScoreState = state.read(PRE_SCORE_STATE_KEY)
        if not s.topology_score or not scores:
            return None
        lo = min(ns.score for ns in scores)
        diff = max(ns.score for ns in scores) - lo
        for ns in scores:
            # float64(MaxNodeScore) * (float64(score-min) / float64(maxMinDiff)), truncated
            ns.score = int(MAX_NODE_SCORE * ((ns.score - lo) / diff)) if diff > 0 else 0
        return None

    # -- the same over a column of nodes (the vectorised cycle) -------------------------------
    def filter_nodes(self, state: CycleState, pod: Mapping[str, Any], info: PodInfo,
                     domains: DomainFn) -> np.ndarray | None:
        """Filter for every node of the snapshot at once: True where the pod may go.

        ``domains(key)`` gives each node's value of label ``key`` as codes, with the
        values the codes stand for; None if PreFilter says Skip. Raises
        :class:`ValueError` where the per-node path must report an error.
        """
        s = self.pre_filter_state(state, pod, state.snapshot.node_infos, info)
        if isinstance(s, Status):
            if s.is_skip():
                return None
            raise ValueError(s.message())
        n = len(state.snapshot.node_infos)
        ok = np.ones(n, dtype=bool)
        affinity = s.terms.required_affinity
        if affinity:
            pods_exist = np.ones(n, dtype=bool)
            for t in affinity:
                codes, values = domains(t.topology_key)
                ok &= codes >= 0  # every topology label must exist on the node
                pods_exist &= _lookup(s.affinity_counts, t.topology_key, codes, values) > 0
            if not s.affinity_counts and pod_matches_all_affinity_terms(affinity, s.pod):
                pods_exist[:] = True  # the first of a group with affinity to itself
            ok &= pods_exist
        if s.anti_affinity_counts:
            for t in s.terms.required_anti_affinity:
                codes, values = domains(t.topology_key)
                ok &= _lookup(s.anti_affinity_counts, t.topology_key, codes, values) <= 0
        for key in {k for k, _ in s.existing_anti_affinity_counts}:
            codes, values = domains(key)
            ok &= _lookup(s.existing_anti_affinity_counts, key, codes, values) <= 0
        return ok

    def score_nodes(self, state: CycleState, pod: Mapping[str, Any], info: PodInfo,
                    domains: DomainFn, feasible: np.ndarray) -> np.ndarray | None:
        """PreScore, Score and NormalizeScore for the ``feasible`` slots; None on Skip."""
        s = self.pre_score_state(state, pod, info)
        if isinstance(s, Status):
            if s.is_skip():
                return None
            raise ValueError(s.message())
        raw = np.zeros(len(feasible), dtype=np.int64)
        for key, by_value in s.topology_score.items():
            codes, values = domains(key)
            table = np.array([by_value.get(v, 0) for v in values] + [0], dtype=np.int64)
            raw += table[codes[feasible]]  # code -1 (no such label) picks the trailing 0
        if not len(raw):
            return raw
        lo, diff = int(raw.min()), int(raw.max()) - int(raw.min())
        if diff <= 0:
            return np.zeros(len(raw), dtype=np.int64)
        return (MAX_NODE_SCORE * ((raw - lo) / diff)).astype(np.int64)


# -- the existing pods' terms, indexed -----------------------------------------------------------

TermCounts = tuple[AffinityTerm, dict[str, int]]  # a term, and per node how many pods carry it


def _pinned_labels(term: AffinityTerm) -> list[tuple[str, str, str]] | None:
    """The (namespace, key, value)s a pod must carry one of to match ``term``; None: any pod."""
    if not term.namespaces or term.namespace_selector != LabelSelector.nothing():
        return None  # namespaces chosen by their labels: any namespace may be one
    for r in term.selector.requirements:
        value = term.selector.requires_exact_match(r.key)
        if value is not None:
            return [(ns, r.key, value) for ns in term.namespaces]
    return None


class TermGroups:
    """Distinct terms, each with its pods counted per node, findable by the labels they pin.

    ``groups``: key -> (term, {node: pods carrying it}). A term pinning a label
    (``app=web``) in named namespaces is filed under those (namespace, label, value)s:
    :meth:`candidates` of a pod are the terms filed under one of its labels, and the
    terms that pin none -- not every term of the cluster.
    """

    def __init__(self) -> None:
        self.groups: dict[Any, TermCounts] = {}
        self._by_label: dict[tuple[str, str, str] | None, set[Any]] = {}

    def count(self, key: Any, term: AffinityTerm, node: str, sign: int) -> None:
        """One more (+1) or one fewer (-1) pod on ``node`` carrying ``term``."""
        entry = self.groups.get(key)
        if entry is None:
            if sign < 0:
                return
            entry = self.groups[key] = (term, {})
            for label in _pinned_labels(term) or [None]:
                self._by_label.setdefault(label, set()).add(key)
        nodes = entry[1]
        n = nodes.get(node, 0) + sign
        if n > 0:
            nodes[node] = n
            return
        nodes.pop(node, None)
        if not nodes:
            del self.groups[key]
            for label in _pinned_labels(term) or [None]:
                keys = self._by_label[label]
                keys.discard(key)
                if not keys:
                    del self._by_label[label]

    def candidates(self, pod: PodInfo) -> Iterator[tuple[Any, TermCounts]]:
        """The groups whose term may match ``pod`` (each still to be matched)."""
        namespace = pod.namespace
        seen: set[Any] = set()
        for label in [None, *((namespace, k, v) for k, v in pod.labels.items())]:
            for key in self._by_label.get(label, ()):
                if key not in seen:
                    seen.add(key)
                    yield key, self.groups[key]

    def __len__(self) -> int:
        return len(self.groups)


class ExistingTermsIndex:
    """The terms of the pods in the cache, each distinct term once, counted per node.

    ``required_anti_affinity``: the required anti-affinity terms. ``scoring``: the
    terms that score, keyed (term key, weight, multiplier): required affinity
    (weight None: scored at hardPodAffinityWeight, a profile's setting), preferred
    affinity (+weight) and preferred anti-affinity (-weight). The scheduler's cache
    tells it of every pod with affinity that comes or goes; nodes are kept by name,
    so a relabelled node needs nothing here.
    """

    def __init__(self) -> None:
        self.required_anti_affinity = TermGroups()
        self.scoring = TermGroups()

    def update(self, node: str, pod: PodInfo, sign: int) -> None:
        """Count the pod's terms on ``node`` in (+1) or out (-1)."""
        terms = existing_pod_terms(pod)
        for t in terms.required_anti_affinity:
            self.required_anti_affinity.count(t.key(), t, node, sign)
        for t in terms.required_affinity:
            self.scoring.count((t.key(), None, 1), t, node, sign)
        for wts, multiplier in ((terms.preferred_affinity, 1),
                                (terms.preferred_anti_affinity, -1)):
            for wt in wts:
                self.scoring.count((wt.term.key(), wt.weight, multiplier), wt.term, node, sign)


def _terms_index(snapshot: Snapshot) -> ExistingTermsIndex | None:
    """The cache's index of existing pods' terms, if the snapshot comes with one."""
    affinity = snapshot.affinity
    terms = getattr(affinity, "terms", None) if affinity is not None else None
    return terms if isinstance(terms, ExistingTermsIndex) else None


def _in_snapshot(snapshot: Snapshot, counts: Mapping[str, int]
                 ) -> Iterator[tuple[NodeInfo, int]]:
    """(NodeInfo, count) for the nodes of ``counts`` that this snapshot holds."""
    for name, n in counts.items():
        node_info = snapshot.find(name)
        if node_info is not None:
            yield node_info, n


def candidate_pods(term: AffinityTerm, snapshot: Snapshot, nodes: Sequence[NodeInfo]
                   ) -> Iterator[tuple[PodInfo, NodeInfo]]:
    """The pods on ``nodes`` that ``term`` may match, each with its node.

    A superset: the caller still matches each. When the term pins a label
    (``app=web``) in named namespaces, the cache's label index gives just the pods
    so labelled; otherwise (or without the index) every pod of ``nodes`` is one.
    """
    index = snapshot.pod_labels
    pinned = None
    if index is not None and nodes is snapshot.node_infos and term.namespaces \
            and term.namespace_selector == LabelSelector.nothing():
        pinned = next(((r.key, v) for r in term.selector.requirements
                       if (v := term.selector.requires_exact_match(r.key)) is not None), None)
    if pinned is None:
        for node_info in nodes:
            for pod in node_info.pods:
                yield pod, node_info
        return
    for namespace in term.namespaces:
        for pod, name in index.pods(namespace, *pinned).items():
            node_info = snapshot.find(name)
            if node_info is not None:
                yield pod, node_info


# (codes per node, -1 where the label is missing; the values the codes stand for)
DomainFn = Callable[[str], tuple[np.ndarray, Sequence[str]]]


def _lookup(counts: Counts, key: str, codes: np.ndarray, values: Sequence[str]) -> np.ndarray:
    """Each node's count for its (key, value) pair; 0 where the node lacks the key."""
    table = np.array([counts.get((key, v), 0) for v in values] + [0], dtype=np.int64)
    return table[codes]


def _process_term(score: dict[str, dict[str, int]], term: AffinityTerm, weight: int,
                  pod: PodInfo, ns_labels: Mapping[str, str] | None, labels: Mapping[str, str],
                  multiplier: int) -> None:
    """Add ``weight * multiplier`` to the node's domain if ``pod`` matches (processTerm)."""
    if term.matches(pod, ns_labels):
        tv = labels.get(term.topology_key)
        if tv is not None:
            by_value = score.setdefault(term.topology_key, {})
            by_value[tv] = by_value.get(tv, 0) + weight * multiplier


def satisfy_pod_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    """Every term's domain holds a matching pod -- or the pod is the first of its group."""
    pods_exist = True
    for t in s.terms.required_affinity:
        tv = labels.get(t.topology_key)
        if tv is None:
            return False  # all topology labels must exist on the node
        if s.affinity_counts.get((t.topology_key, tv), 0) <= 0:
            pods_exist = False
    if not pods_exist:
        # No pod matches yet: let the pod in if it matches its own terms, or a group with
        # affinity to itself could never start.
        return not s.affinity_counts and pod_matches_all_affinity_terms(
            s.terms.required_affinity, s.pod)
    return True


def satisfy_pod_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    """No term's domain holds a pod its selector matches."""
    if s.anti_affinity_counts:
        for t in s.terms.required_anti_affinity:
            tv = labels.get(t.topology_key)
            if tv is not None and s.anti_affinity_counts.get((t.topology_key, tv), 0) > 0:
                return False
    return True


def satisfy_existing_pods_anti_affinity(s: PreFilterState, labels: Mapping[str, str]) -> bool:
    """No existing pod in any of the node's domains has anti-affinity to this pod."""
    if s.existing_anti_affinity_counts:
        for pair in labels.items():
            if s.existing_anti_affinity_counts.get(pair, 0) > 0:
                return False
    return True


__all__ = ["InterPodAffinity", "InterPodAffinityArgs", "AffinityTerm", "AffinityTerms",
           "ExistingTermsIndex", "candidate_pods",
           "WeightedAffinityTerm", "PreFilterState", "PreScoreState", "parse_affinity_terms",
           "new_affinity_term", "existing_pod_terms", "namespace_labels",
           "merge_term_namespaces", "ERR_REASON_AFFINITY_RULES_NOT_MATCH",
           "ERR_REASON_ANTI_AFFINITY_RULES_NOT_MATCH",
           "ERR_REASON_EXISTING_ANTI_AFFINITY_RULES_NOT_MATCH"]


def _pre_filter_state(state: CycleState) -> PreFilterState | Status:
    """PreFilter's state from the cycle, or the Error upstream's getPreFilterState returns."""
    try:
        return state.read(PRE_FILTER_STATE_KEY)
    except KeyError as e:
        return Status(Code.Error, err=RuntimeError(
            f'error reading "{PRE_FILTER_STATE_KEY}" from cycleState: {e.args[0]}'))
