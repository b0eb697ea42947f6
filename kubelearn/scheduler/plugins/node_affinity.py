"""NodeAffinity: ``nodeSelector`` and ``affinity.nodeAffinity``, required and preferred.

- Filter: the node must match the pod's ``nodeSelector`` (every label) *and* its
  ``requiredDuringSchedulingIgnoredDuringExecution`` (terms ORed, expressions ANDed),
  and the profile's ``addedAffinity`` if configured.
- Score: the sum of the weights of the ``preferredDuringScheduling...`` terms the node
  matches; NormalizeScore scales by the best node to 0..100.

A port of pkg/scheduler/framework/plugins/nodeaffinity/node_affinity.go and
k8s.io/component-helpers/scheduling/corev1/nodeaffinity (the matching).

:meth:`NodeAffinity.filter_mask` is PreFilter and Filter, :meth:`NodeAffinity.score_nodes`
PreScore, Score and NormalizeScore, for many nodes at once (the vectorised scheduler's
path). They ask the same questions, each over a column of nodes
(:class:`~kubelearn.scheduler.plugins.helper.NodeColumns`): every ``match`` below has a
``match_mask`` beside it -- a term ANDs its requirements' masks, a selector ORs its
terms' masks -- as the per-node form ANDs and ORs booleans.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kubelearn.api import LabelSelector, Path, Requirement, SelectorError
from kubelearn.api.errors import FieldError, aggregate
from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    FilterPlugin,
    NodeScore,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    ScoreExtensions,
    ScorePlugin,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.helper import (
    NodeColumns,
    default_normalize_columns,
    default_normalize_score,
    field,
)

NAME = "NodeAffinity"
ERR_REASON_POD = "node(s) didn't match Pod's node affinity/selector"  # ErrReasonPod
ERR_REASON_ENFORCED = "node(s) didn't match scheduler-enforced node affinity"
ERR_REASON_CONFLICT = "pod affinity terms conflict"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
PRE_SCORE_STATE_KEY = "PreScore" + NAME
OBJECT_NAME_FIELD = "metadata.name"  # metav1.ObjectNameField

# NodeSelectorOperator -> labels selection.Operator
_OPERATORS = {"In": "in", "NotIn": "notin", "Exists": "exists", "DoesNotExist": "!",
              "Gt": "gt", "Lt": "lt"}


class NodeAffinityParseError(SelectorError):
    """A node selector term that does not parse; the message lists every problem."""


def _index(path: Path | None, index: int) -> Path:
    """``path[index]``; a nil path gives just ``[index]``, as field.Path does."""
    return Path("", _index=str(index)) if path is None else path.index(index)


@dataclass
class NodeSelectorTerm:
    """One parsed term: label requirements ANDed with metadata.name requirements."""

    labels: LabelSelector | None
    fields: list[tuple[str, str, str]] | None  # (key, "In"/"NotIn", value)
    errors: list[str]

    @classmethod
    def parse(cls, term: Mapping[str, Any], path: Path) -> NodeSelectorTerm:
        """Parse matchExpressions and matchFields, collecting errors (newNodeSelectorTerm)."""
        errors: list[str] = []
        labels: LabelSelector | None = None
        expressions = term.get("matchExpressions") or []
        if expressions:
            reqs = []
            for i, expr in enumerate(expressions):
                p = path.child("matchExpressions").index(i)
                op = expr.get("operator") or ""
                if op not in _OPERATORS:
                    errors.append(str(FieldError.not_supported(p.child("operator"), op,
                                                               list(_OPERATORS))))
                    continue
                try:
                    reqs.append(Requirement(expr.get("key") or "", _OPERATORS[op],
                                            [str(v) for v in expr.get("values") or []], path=p))
                except SelectorError as e:
                    errors.append(str(e))
            labels = LabelSelector(reqs)
        fields = None
        match_fields = term.get("matchFields") or []
        if match_fields:
            fields = []
            for i, expr in enumerate(match_fields):
                p = path.child("matchFields").index(i)
                op = expr.get("operator") or ""
                values = list(expr.get("values") or [])
                if op not in ("In", "NotIn"):
                    errors.append(str(FieldError.not_supported(p.child("operator"), op,
                                                               ["In", "NotIn"])))
                elif len(values) != 1:
                    errors.append(str(FieldError.invalid(p.child("values"), values,
                                                         "must have one element")))
                else:
                    fields.append((expr.get("key") or "", op, str(values[0])))
        return cls(labels, fields, errors)

    def matches(self, node_labels: Mapping[str, str], node_fields: Mapping[str, str]) -> bool:
        """True if the node matches; a term with parse errors matches nothing."""
        if self.errors:
            return False
        if self.labels is not None and not self.labels.matches(node_labels):
            return False
        if self.fields is not None and node_fields:
            for key, op, value in self.fields:
                if (node_fields.get(key, "") == value) != (op == "In"):
                    return False
        return True

    def match_mask(self, nodes: NodeColumns) -> np.ndarray:
        """:meth:`matches` for every node: each label requirement, then each field, ANDed.

        Upstream (component-helpers nodeSelectorTerm.match) has the per-node form only.
        """
        if self.errors:
            return np.zeros(nodes.n, dtype=bool)
        mask = np.ones(nodes.n, dtype=bool)
        if self.labels is not None:
            for requirement in self.labels.requirements:
                mask &= nodes.label_matches(requirement)
        for key, op, value in self.fields or ():
            if key == OBJECT_NAME_FIELD:
                equal = np.array([name == value for name in nodes.names()], dtype=bool)
            else:
                equal = np.full(nodes.n, value == "", dtype=bool)
            mask &= equal if op == "In" else ~equal
        return mask


def _is_empty_term(term: Mapping[str, Any]) -> bool:
    return not term.get("matchExpressions") and not term.get("matchFields")


def _node_fields(node_info: NodeInfo) -> dict[str, str]:
    return {OBJECT_NAME_FIELD: node_info.name} if node_info.name else {}


class NodeSelector:
    """A parsed v1.NodeSelector: terms ORed; empty terms never match (LazyErrorNodeSelector)."""

    def __init__(self, selector: Mapping[str, Any], path: Path | None = None) -> None:
        base = path.child("nodeSelectorTerms") if path is not None else Path("nodeSelectorTerms")
        self.terms = [NodeSelectorTerm.parse(t, base.index(i))
                      for i, t in enumerate(selector.get("nodeSelectorTerms") or [])
                      if not _is_empty_term(t)]

    def errors(self) -> list[str]:
        """Every parse error of every term."""
        return [e for t in self.terms for e in t.errors]

    def match(self, node_info: NodeInfo) -> bool:
        """True if any term matches the node."""
        labels, fields = node_info.labels, _node_fields(node_info)
        return any(t.matches(labels, fields) for t in self.terms)

    def match_mask(self, nodes: NodeColumns) -> np.ndarray:
        """:meth:`match` for every node: the terms' masks, ORed (LazyErrorNodeSelector.Match)."""
        mask = np.zeros(nodes.n, dtype=bool)
        for term in self.terms:
            mask |= term.match_mask(nodes)
        return mask


class PreferredSchedulingTerms:
    """Parsed preferred terms with their weights; weight-0 and empty terms are dropped."""

    def __init__(self, terms: Sequence[Mapping[str, Any]], path: Path | None = None) -> None:
        self.terms: list[tuple[NodeSelectorTerm, int]] = []
        errors: list[str] = []
        for i, term in enumerate(terms):
            weight = int(term.get("weight") or 0)
            preference = term.get("preference") or {}
            if weight == 0 or _is_empty_term(preference):
                continue
            parsed = NodeSelectorTerm.parse(preference, _index(path, i))
            if parsed.errors:
                errors.extend(parsed.errors)
            else:
                self.terms.append((parsed, weight))
        if errors:
            raise NodeAffinityParseError(aggregate(errors))

    def score(self, node_info: NodeInfo) -> int:
        """The sum of the weights of the matching terms."""
        labels, fields = node_info.labels, _node_fields(node_info)
        return sum(w for t, w in self.terms if t.matches(labels, fields))

    def score_column(self, nodes: NodeColumns) -> np.ndarray:
        """:meth:`score` for every node: each matching term's weight (upstream's Score)."""
        score = np.zeros(nodes.n, dtype=np.int64)
        for term, weight in self.terms:
            score += np.where(term.match_mask(nodes), weight, 0)
        return score


class RequiredNodeAffinity:
    """A pod's nodeSelector and required node affinity, both must hold (GetRequiredNodeAffinity)."""

    def __init__(self, pod: Mapping[str, Any]) -> None:
        node_selector = field(pod, "spec", "nodeSelector") or {}
        self.label_selector = (LabelSelector.from_set({k: str(v) for k, v in node_selector.items()})
                               if node_selector else None)
        required = field(pod, "spec", "affinity", "nodeAffinity",
                         "requiredDuringSchedulingIgnoredDuringExecution")
        self.node_selector = NodeSelector(required) if isinstance(required, Mapping) else None

    def match(self, node_info: NodeInfo) -> bool:
        """True if the node satisfies both; parse errors count as no match."""
        if self.label_selector is not None and not self.label_selector.matches(node_info.labels):
            return False
        return self.node_selector is None or self.node_selector.match(node_info)

    def match_mask(self, nodes: NodeColumns) -> np.ndarray:
        """:meth:`match` for every node: the nodeSelector's labels, then the terms, ANDed.

        Upstream: RequiredNodeAffinity.Match, per node.
        """
        mask = np.ones(nodes.n, dtype=bool)
        if self.label_selector is not None:
            for requirement in self.label_selector.requirements:
                mask &= nodes.label_matches(requirement)
        if self.node_selector is not None:
            mask &= self.node_selector.match_mask(nodes)
        return mask


def _required_terms(pod: Mapping[str, Any]) -> Any:
    """spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution, or None."""
    spec = pod.get("spec")
    if (type(spec) is not dict and not isinstance(spec, Mapping)) or not spec.get("affinity"):
        return None  # most pods: no affinity at all
    return field(spec, "affinity", "nodeAffinity",
                 "requiredDuringSchedulingIgnoredDuringExecution")


def pod_preferred_node_affinity(pod: Mapping[str, Any]) -> PreferredSchedulingTerms | None:
    """The pod's preferred terms, parsed, or None if it has none."""
    terms = field(pod, "spec", "affinity", "nodeAffinity",
                  "preferredDuringSchedulingIgnoredDuringExecution")
    return PreferredSchedulingTerms(terms) if terms is not None else None


# -- args ----------------------------------------------------------------------------------------

@dataclass
class NodeAffinityArgs:
    """pluginConfig args: ``addedAffinity`` applied to every pod of the profile."""

    added_affinity: Mapping[str, Any] | None = None

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> NodeAffinityArgs:
        """Read the camelCase YAML form."""
        return cls((args or {}).get("addedAffinity"))

    def validate(self, path: Path) -> list[FieldError | str]:
        """Every term must parse (ValidateNodeAffinityArgs)."""
        if not self.added_affinity:
            return []
        errs: list[FieldError | str] = []
        required = self.added_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
        if isinstance(required, Mapping):
            p = path.child("addedAffinity", "requiredDuringSchedulingIgnoredDuringExecution")
            errs.extend(NodeSelector(required, p).errors())
        preferred = self.added_affinity.get("preferredDuringSchedulingIgnoredDuringExecution")
        if preferred:
            p = path.child("addedAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
            try:
                PreferredSchedulingTerms(preferred, p)
            except NodeAffinityParseError as e:
                errs.append(str(e))
        return errs


# -- the plugin ----------------------------------------------------------------------------------

class NodeAffinity(PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin, ScoreExtensions):
    """Filter on required affinity and nodeSelector; score preferred affinity."""

    name = NAME
    args_type = NodeAffinityArgs

    def __init__(self, args: NodeAffinityArgs | None = None) -> None:
        super().__init__(args or NodeAffinityArgs())
        added = self.args.added_affinity or {}
        required = added.get("requiredDuringSchedulingIgnoredDuringExecution")
        self.added_node_selector = NodeSelector(required) if isinstance(required, Mapping) \
            else None
        preferred = added.get("preferredDuringSchedulingIgnoredDuringExecution")
        self.added_pref_sched_terms = PreferredSchedulingTerms(preferred) if preferred else None

    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Parse once; Skip if nothing constrains the pod; shortlist nodes named by matchFields."""
        required = field(pod, "spec", "affinity", "nodeAffinity",
                         "requiredDuringSchedulingIgnoredDuringExecution")
        no_node_affinity = not isinstance(required, Mapping)
        if no_node_affinity and self.added_node_selector is None \
                and field(pod, "spec", "nodeSelector") is None:
            return None, Status(Code.Skip)
        state.write(PRE_FILTER_STATE_KEY, RequiredNodeAffinity(pod))
        terms = [] if no_node_affinity else required.get("nodeSelectorTerms") or []
        if not terms:
            return None, None
        node_names: set[str] | None = None
        for term in terms:
            term_names: set[str] | None = None
            for r in term.get("matchFields") or []:
                if r.get("key") == OBJECT_NAME_FIELD and r.get("operator") == "In":
                    s = set(r.get("values") or [])
                    term_names = s if term_names is None else term_names & s
            if term_names is None:  # a term without a name constraint: any node may do
                return None, None
            node_names = term_names if node_names is None else node_names | term_names
        if node_names is not None and not node_names:
            return None, Status(Code.UnschedulableAndUnresolvable, ERR_REASON_CONFLICT)
        return (PreFilterResult(node_names) if node_names else None), None

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable if the added affinity or the pod's own does not match."""
        if self.added_node_selector is not None and not self.added_node_selector.match(node_info):
            return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_ENFORCED)
        try:
            required = state.read(PRE_FILTER_STATE_KEY)
        except KeyError:
            required = RequiredNodeAffinity(pod)
        if not required.match(node_info):
            return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_POD)
        return None

    @staticmethod
    def shortlists_nodes(pod: Mapping[str, Any]) -> bool:
        """True if PreFilter may shortlist nodes: a required term with ``matchFields``.

        :meth:`filter_mask` answers for every node; which nodes a shortlist leaves
        out (and the message when it is empty) is the per-node path's business.
        """
        required = _required_terms(pod)
        return required is not None and isinstance(required, Mapping) and any(
            term.get("matchFields") for term in required.get("nodeSelectorTerms") or [])

    def filter_mask(self, pod: Mapping[str, Any], nodes: NodeColumns) -> np.ndarray | None:
        """:meth:`pre_filter` and :meth:`filter` for every node: True where the pod may go.

        None when PreFilter says Skip (nothing constrains the pod). The same two
        tests as :meth:`filter` (upstream: node_affinity.go Filter), the profile's
        ``addedAffinity`` and the pod's own, each a column.
        """
        required = _required_terms(pod)  # None for most pods: then no ABC isinstance check
        if (required is None or not isinstance(required, Mapping)) \
                and self.added_node_selector is None and field(pod, "spec", "nodeSelector") is None:
            return None
        mask = np.ones(nodes.n, dtype=bool)
        if self.added_node_selector is not None:
            mask &= self.added_node_selector.match_mask(nodes)
        return mask & RequiredNodeAffinity(pod).match_mask(nodes)

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Parse the preferred terms; Skip if there are none."""
        try:
            preferred = pod_preferred_node_affinity(pod)
        except NodeAffinityParseError as e:
            return Status(Code.Error, err=e)
        if preferred is None and self.added_pref_sched_terms is None:
            return Status(Code.Skip)
        state.write(PRE_SCORE_STATE_KEY, preferred)
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The summed weight of the matching preferred terms."""
        count = 0
        if self.added_pref_sched_terms is not None:
            count += self.added_pref_sched_terms.score(node_info)
        try:
            preferred = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            preferred = pod_preferred_node_affinity(pod)
        if preferred is not None:
            count += preferred.score(node_info)
        return count

    def score_extensions(self) -> ScoreExtensions:
        """NodeAffinity normalizes its scores."""
        return self

    def normalize_score(self, state: CycleState, pod: Mapping[str, Any],
                        scores: list[NodeScore]) -> Status | None:
        """The best-matching node -> 100, the rest in proportion (DefaultNormalizeScore)."""
        default_normalize_score(MAX_NODE_SCORE, False, scores)
        return None

    def score_nodes(self, pod: Mapping[str, Any], nodes: NodeColumns, feasible: np.ndarray
                    ) -> np.ndarray | None:
        """:meth:`pre_score`, :meth:`score` and :meth:`normalize_score` for the nodes ``feasible``.

        ``feasible`` indexes ``nodes``. None when PreScore skips (no preferred terms);
        raises NodeAffinityParseError as PreScore reports. Each node's summed weights
        (upstream: node_affinity.go Score), scaled by the best (DefaultNormalizeScore).
        """
        preferred = pod_preferred_node_affinity(pod)
        if preferred is None and self.added_pref_sched_terms is None:
            return None
        raw = np.zeros(len(feasible), dtype=np.int64)
        for terms in (self.added_pref_sched_terms, preferred):
            if terms is not None:
                raw += terms.score_column(nodes)[feasible]
        return default_normalize_columns(raw, False)
