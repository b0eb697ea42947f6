"""PodDisruptionBudgets: how many of a set of pods may be down at once.

A PodDisruptionBudget (policy/v1, namespaced, ``kubectl get pdb``) selects pods
by label and says either ``minAvailable`` (that many must stay healthy) or
``maxUnavailable`` (at most that many may be down), each an integer or a
percentage. The disruption controller (:mod:`kubelearn.controllers.disruption`)
writes the budget's arithmetic into ``status``: ``currentHealthy``,
``desiredHealthy``, ``expectedPods`` and ``disruptionsAllowed``. Whoever
disrupts pods on purpose reads ``disruptionsAllowed`` first -- the eviction API
upstream, and the scheduler's preemption, which prefers victims that do not
break a budget (:mod:`kubelearn.scheduler.plugins.default_preemption`).

What upstream keeps in k8s.io/api/policy/v1 (types.go: the condition and its
reasons), apimachinery's intstr (:func:`scaled_value`) and meta/conditions.go
(:func:`set_status_condition`), and component-helpers/apps/poddisruptionbudget
(:func:`update_disruption_allowed_condition`, :func:`conditions_are_up_to_date`),
as of v1.32. Validation lives with the other kinds' in :mod:`kubelearn.api.validation`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelearn.api.selector import LabelSelector, SelectorError

# k8s.io/api/policy/v1 types.go: the condition the disruption controller sets, and its reasons.
DISRUPTION_ALLOWED_CONDITION = "DisruptionAllowed"  # DisruptionAllowedCondition
SYNC_FAILED_REASON = "SyncFailed"  # SyncFailedReason
SUFFICIENT_PODS_REASON = "SufficientPods"  # SufficientPodsReason
INSUFFICIENT_PODS_REASON = "InsufficientPods"  # InsufficientPodsReason
# UnhealthyPodEvictionPolicyType values, sorted as sets.List prints them in NotSupported.
IF_HEALTHY_BUDGET = "IfHealthyBudget"
ALWAYS_ALLOW = "AlwaysAllow"
UNHEALTHY_POD_EVICTION_POLICIES = (ALWAYS_ALLOW, IF_HEALTHY_BUDGET)


class IntOrPercentError(ValueError):
    """An IntOrString that is neither an int nor ``<digits>%``."""


def scaled_value(value: int | str, total: int, round_up: bool) -> int:
    """intstr.GetScaledValueFromIntOrPercent: an int as is, ``"30%"`` of ``total``.

    A percentage is rounded up or down as asked; the disruption controller rounds
    both ``minAvailable`` and ``maxUnavailable`` up.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise IntOrPercentError("invalid value for IntOrString: invalid type: neither int nor "
                                "percentage")
    if isinstance(value, int):
        return value
    if not value.endswith("%"):
        raise IntOrPercentError("invalid value for IntOrString: invalid type: string is not a "
                                "percentage")
    digits = value[:-1]
    try:
        percent = int(digits, 10)
    except ValueError:
        raise IntOrPercentError(f'invalid value for IntOrString: invalid value "{value}": '
                                f'strconv.Atoi: parsing "{digits}": invalid syntax') from None
    product = percent * total
    return -(-product // 100) if round_up else product // 100


def int_or_string_text(value: Any) -> str:
    """intstr.IntOrString.String(): ``3`` or ``"30%"`` as kubectl prints them."""
    return str(value)


# -- which pods a budget covers -------------------------------------------------------------------


def pdb_selector(pdb: Mapping[str, Any]) -> LabelSelector | None:
    """The budget's selector as a LabelSelector; None if it cannot be read (matches nothing).

    metav1.LabelSelectorAsSelector: an absent selector selects nothing, an empty one
    (``{}``) everything.
    """
    try:
        return LabelSelector.from_dict((pdb.get("spec") or {}).get("selector"))
    except (SelectorError, TypeError, ValueError):
        return None


def pdb_matches_pod(pdb: Mapping[str, Any], pod: Mapping[str, Any], *,
                    empty_selects_all: bool = True) -> bool:
    """True if ``pdb`` covers ``pod``: same namespace, and its selector matches the labels.

    An absent or unreadable selector matches nothing. An empty one (``{}``) matches
    every pod for the PDB lister (GetPodPodDisruptionBudgets: "unlike the v1beta
    version, here we let an empty selector match everything") but nothing for the
    scheduler's preemption (filterPodsWithPDBViolation: ``empty_selects_all=False``).
    """
    pod_meta, pdb_meta = pod.get("metadata") or {}, pdb.get("metadata") or {}
    if (pod_meta.get("namespace") or "default") != (pdb_meta.get("namespace") or "default"):
        return False
    selector = pdb_selector(pdb)
    if selector is None or (selector.empty() and not empty_selects_all):
        return False
    return selector.matches(pod_meta.get("labels") or {})


def pdbs_for_pod(pdbs: Sequence[Mapping[str, Any]], pod: Mapping[str, Any]
                 ) -> list[Mapping[str, Any]]:
    """GetPodPodDisruptionBudgets: the budgets covering a pod (none for a pod without labels)."""
    if not (pod.get("metadata") or {}).get("labels"):
        return []
    return [pdb for pdb in pdbs if pdb_matches_pod(pdb, pod)]


# -- the DisruptionAllowed condition --------------------------------------------------------------


def find_status_condition(conditions: Sequence[Mapping[str, Any]] | None, type_: str
                          ) -> Mapping[str, Any] | None:
    """meta.FindStatusCondition: the condition of this type, or None."""
    for condition in conditions or ():
        if condition.get("type") == type_:
            return condition
    return None


def set_status_condition(conditions: list[dict[str, Any]], new: Mapping[str, Any],
                         now: str) -> bool:
    """meta.SetStatusCondition: add or update a metav1.Condition in place; True if it changed.

    ``lastTransitionTime`` moves (to ``new``'s, else ``now``) only when the status
    changes; reason, message and observedGeneration follow ``new`` regardless.
    """
    existing = next((c for c in conditions if c.get("type") == new["type"]), None)
    if existing is None:
        conditions.append({**new, "lastTransitionTime": new.get("lastTransitionTime") or now})
        return True
    changed = False
    if existing.get("status") != new["status"]:
        existing["status"] = new["status"]
        existing["lastTransitionTime"] = new.get("lastTransitionTime") or now
        changed = True
    for field in ("reason", "message", "observedGeneration"):
        if existing.get(field) != new.get(field):
            existing[field] = new.get(field)
            changed = True
    return changed


def disruption_allowed_condition(status: Mapping[str, Any]) -> dict[str, Any]:
    """The DisruptionAllowed condition ``status`` calls for (UpdateDisruptionAllowedCondition).

    True with SufficientPods when disruptionsAllowed > 0, else False with
    InsufficientPods; the message is empty, observedGeneration the status's.
    """
    allowed = int(status.get("disruptionsAllowed") or 0) > 0
    return {"type": DISRUPTION_ALLOWED_CONDITION, "status": "True" if allowed else "False",
            "observedGeneration": int(status.get("observedGeneration") or 0),
            "reason": SUFFICIENT_PODS_REASON if allowed else INSUFFICIENT_PODS_REASON,
            "message": ""}


def update_disruption_allowed_condition(status: dict[str, Any], now: str) -> None:
    """pdbhelper.UpdateDisruptionAllowedCondition: set the condition the numbers call for."""
    conditions = status.setdefault("conditions", [])
    set_status_condition(conditions, disruption_allowed_condition(status), now)


def conditions_are_up_to_date(pdb: Mapping[str, Any]) -> bool:
    """pdbhelper.ConditionsAreUpToDate: the condition exists and agrees with the numbers."""
    status = pdb.get("status") or {}
    condition = find_status_condition(status.get("conditions"), DISRUPTION_ALLOWED_CONDITION)
    if condition is None:
        return False
    if int(status.get("observedGeneration") or 0) != \
            int((pdb.get("metadata") or {}).get("generation") or 0):
        return False
    want = disruption_allowed_condition(status)
    return condition.get("status") == want["status"] and condition.get("reason") == want["reason"]


__all__ = [
    "DISRUPTION_ALLOWED_CONDITION", "SYNC_FAILED_REASON", "SUFFICIENT_PODS_REASON",
    "INSUFFICIENT_PODS_REASON", "IF_HEALTHY_BUDGET", "ALWAYS_ALLOW",
    "UNHEALTHY_POD_EVICTION_POLICIES", "IntOrPercentError", "scaled_value",
    "int_or_string_text", "pdb_selector", "pdb_matches_pod", "pdbs_for_pod",
    "find_status_condition", "set_status_condition", "disruption_allowed_condition",
    "update_disruption_allowed_condition", "conditions_are_up_to_date",
]
