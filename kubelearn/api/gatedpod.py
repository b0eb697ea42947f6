"""What an update may change in a pod that still has scheduling gates.

A pod's spec is mostly fixed once created. A pod held by ``spec.schedulingGates``
is not scheduled yet, so ValidatePodUpdate (pkg/apis/core/validation/validation.go,
v1.32; KEP-3838, mutable scheduling directives) lets whoever holds it -- a queueing
system such as Kueue -- *narrow* where it may run before lifting the gate:

- ``spec.nodeSelector`` may gain entries, not lose or change one
  (validateNodeSelectorMutation);
- ``spec.affinity.nodeAffinity``: anything may be set while it has no required
  terms; once it has some, their number is fixed and each term may only gain
  matchExpressions or matchFields after the ones it has
  (validateNodeAffinityMutation, validateNodeSelectorTermHasOnlyAdditions).
  Preferred terms may change freely.

Pod affinity and anti-affinity stay fixed (their ``matchLabelKeys`` were resolved
at create). :func:`gated_pod_update_errors` checks both rules and then puts the
old values back into the munged spec, so the final "may not change fields other
than ..." comparison sees them as unchanged, as upstream's mungedPodSpec does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api.equality import semantic_equal
from kubelearn.api.errors import FieldError, GoStruct, GoValue, Path

NODE_SELECTOR_DETAIL = "only additions to spec.nodeSelector are allowed (no mutations or deletions)"
TERMS_COUNT_DETAIL = "no additions/deletions to non-empty NodeSelectorTerms list are allowed"
TERM_DETAIL = "only additions are allowed (no mutations or deletions)"

_TERMS_PATH = Path("spec", "affinity", "nodeAffinity",
                   "requiredDuringSchedulingIgnoredDuringExecution", "nodeSelectorTerms")


def gated_pod_update_errors(munged: dict, old_spec: Mapping[str, Any]) -> list[FieldError]:
    """The gated-pod block of ValidatePodUpdate: nodeSelector, then node affinity.

    ``munged`` is the new spec with the other updatable fields already set back
    to the old values; it is changed in place the same way for these two.
    """
    return _node_selector_errors(munged, old_spec) + _node_affinity_errors(munged, old_spec)


# -- spec.nodeSelector -----------------------------------------------------------------------

def _node_selector_errors(munged: dict, old_spec: Mapping[str, Any]) -> list[FieldError]:
    """validateNodeSelectorMutation: every old entry is still there, with its value."""
    selector = munged.get("nodeSelector") or {}
    old_selector = old_spec.get("nodeSelector") or {}
    if selector == old_selector:  # Semantic.DeepEqual: nil and empty maps are equal
        return []
    _put_back(munged, old_spec, "nodeSelector")
    if not isinstance(selector, Mapping) or any(
            k not in selector or selector[k] != v for k, v in old_selector.items()):
        return [FieldError.invalid(Path("spec", "nodeSelector"),
                                   GoValue("map[string]string", selector), NODE_SELECTOR_DETAIL)]
    return []


# -- spec.affinity.nodeAffinity --------------------------------------------------------------

def _node_affinity_errors(munged: dict, old_spec: Mapping[str, Any]) -> list[FieldError]:
    """validateNodeAffinityMutation, then the old node affinity put back into ``munged``."""
    old_affinity, affinity = old_spec.get("affinity"), munged.get("affinity")
    old_na = old_affinity.get("nodeAffinity") if isinstance(old_affinity, Mapping) else None
    new_na = affinity.get("nodeAffinity") if isinstance(affinity, Mapping) else None
    if semantic_equal(old_na, new_na):
        return []
    errs = _node_affinity_mutation_errors(new_na, old_na)
    if affinity is None:
        if old_na is not None:  # the whole affinity went: only its node part may have
            munged["affinity"] = {"nodeAffinity": old_na}
    elif old_affinity is None and not _has_pod_affinity(affinity):
        _put_back(munged, old_spec, "affinity")  # only node affinity was added: as before
    elif isinstance(affinity, Mapping):
        restored = dict(affinity)
        _put_back(restored, old_affinity if isinstance(old_affinity, Mapping) else {},
                  "nodeAffinity")
        munged["affinity"] = restored
    return errs


def _has_pod_affinity(affinity: Any) -> bool:
    return isinstance(affinity, Mapping) and (affinity.get("podAffinity") is not None
                                              or affinity.get("podAntiAffinity") is not None)


def _node_affinity_mutation_errors(new_na: Any, old_na: Any) -> list[FieldError]:
    """Required terms: anything while there are none, else same count and only additions."""
    old_terms = _required_terms(old_na)
    if old_terms is None:  # no old node affinity, or no required part: anything may be set
        return []
    new_terms = _required_terms(new_na)
    if old_terms and len(old_terms) != len(new_terms or ()):
        return [FieldError.invalid(_TERMS_PATH, _terms_value(new_terms), TERMS_COUNT_DETAIL)]
    return [FieldError.invalid(_TERMS_PATH.index(i), _term_value(new_terms[i]), TERM_DETAIL)
            for i, old in enumerate(old_terms)
            if not _term_has_only_additions(new_terms[i], old)]


def _required_terms(node_affinity: Any) -> list | None:
    """The required nodeSelectorTerms; None when there is no required part at all."""
    if not isinstance(node_affinity, Mapping):
        return None
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not isinstance(required, Mapping):
        return None
    terms = required.get("nodeSelectorTerms")
    return list(terms) if isinstance(terms, list) else []


def _term_has_only_additions(new: Any, old: Any) -> bool:
    """validateNodeSelectorTermHasOnlyAdditions: the old requirements are a prefix of the new."""
    new, old = _as_term(new), _as_term(old)
    if not old["matchExpressions"] and not old["matchFields"]:
        return not new["matchExpressions"] and not new["matchFields"]
    for field in ("matchExpressions", "matchFields"):
        before, after = old[field], new[field]
        if before and (len(after) < len(before)
                       or not semantic_equal(after[:len(before)], before)):
            return False
    return True


def _as_term(term: Any) -> dict[str, list]:
    term = term if isinstance(term, Mapping) else {}
    return {field: list(term.get(field) or []) for field in ("matchExpressions", "matchFields")}


# -- the bad values, as %#v prints the internal types ---------------------------------------

def _terms_value(terms: list | None) -> GoValue:
    """``[]core.NodeSelectorTerm{...}``, or ``(nil)`` when the new pod has no required terms."""
    return GoValue("[]core.NodeSelectorTerm",
                   None if terms is None else [_term_value(t) for t in terms])


def _term_value(term: Any) -> GoStruct:
    term = term if isinstance(term, Mapping) else {}
    return GoStruct("core.NodeSelectorTerm", json=term,
                    MatchExpressions=_requirements_value(term.get("matchExpressions")),
                    MatchFields=_requirements_value(term.get("matchFields")))


def _requirements_value(requirements: Any) -> GoValue:
    if not isinstance(requirements, list):
        return GoValue("[]core.NodeSelectorRequirement", None)
    return GoValue("[]core.NodeSelectorRequirement", [
        GoStruct("core.NodeSelectorRequirement", json=r,
                 Key=str(r.get("key") or ""), Operator=str(r.get("operator") or ""),
                 Values=GoValue("[]string", r.get("values")))
        for r in requirements if isinstance(r, Mapping)])


def _put_back(munged: dict, old: Mapping[str, Any], field: str) -> None:
    """Set ``munged[field]`` to the old value (or leave it out, as the old did)."""
    if field in old:
        munged[field] = old[field]
    else:
        munged.pop(field, None)


__all__ = ["NODE_SELECTOR_DETAIL", "TERMS_COUNT_DETAIL", "TERM_DETAIL", "gated_pod_update_errors"]
