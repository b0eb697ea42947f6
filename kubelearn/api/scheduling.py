"""Pod priority: the PriorityClass numbers and the two classes every cluster has.

A PriorityClass (scheduling.k8s.io/v1, cluster-scoped) maps a name to an
integer; the Priority admission plugin copies that integer into a new pod's
``spec.priority``, and the scheduler orders its queue and picks preemption
victims by it. This module holds what upstream keeps in pkg/apis/scheduling
(types.go: the limits; v1/helpers.go: the system classes) as of v1.32:

- :data:`HIGHEST_USER_DEFINABLE_PRIORITY`, :data:`SYSTEM_CRITICAL_PRIORITY`,
  :data:`DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS`, the ``system-`` prefix;
- :func:`system_priority_classes` -- ``system-node-critical`` and
  ``system-cluster-critical``, which the API server creates at start;
- :func:`known_system_priority_class_error` -- why a ``system-`` class is not one of them;
- :func:`pod_priority` -- the priority the scheduler reads off a pod;
- :func:`default_priority_class`, :func:`class_priority` -- what the Priority
  admission plugin gives a pod: its class's value and policy, the
  ``globalDefault`` class's when it names none, else 0.

Validation lives with the other kinds' in :mod:`kubelearn.api.validation`, the
admission plugin in :mod:`kubelearn.apiserver.admission`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# pkg/apis/scheduling/types.go
DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS = 0  # DefaultPriorityWhenNoDefaultClassExists
HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000  # HighestUserDefinablePriority
SYSTEM_CRITICAL_PRIORITY = 2 * HIGHEST_USER_DEFINABLE_PRIORITY  # SystemCriticalPriority
SYSTEM_PRIORITY_CLASS_PREFIX = "system-"  # SystemPriorityClassPrefix
SYSTEM_CLUSTER_CRITICAL = "system-cluster-critical"  # SystemClusterCritical
SYSTEM_NODE_CRITICAL = "system-node-critical"  # SystemNodeCritical

# core/v1 PreemptionPolicy values (PreemptLowerPriority, PreemptNever), in the order
# ValidatePreemptionPolicy lists them when it refuses another.
PREEMPT_LOWER_PRIORITY = "PreemptLowerPriority"
PREEMPT_NEVER = "Never"
PREEMPTION_POLICIES = (PREEMPT_LOWER_PRIORITY, PREEMPT_NEVER)

# pkg/apis/scheduling/v1/helpers.go systemPriorityClasses: (name, value, description).
_SYSTEM_CLASSES = (
    (SYSTEM_NODE_CRITICAL, SYSTEM_CRITICAL_PRIORITY + 1000,
     "Used for system critical pods that must not be moved from their current node."),
    (SYSTEM_CLUSTER_CRITICAL, SYSTEM_CRITICAL_PRIORITY,
     "Used for system critical pods that must run in the cluster, but can be moved to another "
     "node if necessary."),
)
SYSTEM_PRIORITY_CLASS_NAMES = tuple(name for name, _, _ in _SYSTEM_CLASSES)


def system_priority_classes() -> list[dict[str, Any]]:
    """SystemPriorityClasses: fresh PriorityClass objects, as the API server creates them."""
    return [{"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
             "metadata": {"name": name}, "value": value, "description": description}
            for name, value, description in _SYSTEM_CLASSES]


def known_system_priority_class_error(name: str, value: int, global_default: bool) -> str:
    """IsKnownSystemPriorityClass: "" if the class is a system class as defined, else why not."""
    for known, known_value, _ in _SYSTEM_CLASSES:
        if known == name:
            if value != known_value:
                return f"value of {known} PriorityClass must be {known_value}"
            if global_default:  # neither system class is the global default
                return f"globalDefault of {known} PriorityClass must be false"
            return ""
    return f"{name} is not a known system priority class"


def pod_priority(pod: Mapping[str, Any]) -> int:
    """corev1helpers.PodPriority: ``spec.priority``, 0 when unset (admission always sets it)."""
    return int((pod.get("spec") or {}).get("priority") or 0)


def default_priority_class(classes: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """getDefaultPriorityClass: the ``globalDefault`` class; of several (a race), the lowest."""
    default = None
    for pc in classes:
        if pc.get("globalDefault") is True and (
                default is None or pc.get("value", 0) < default.get("value", 0)):
            default = pc
    return default


def class_priority(pc: Mapping[str, Any] | None) -> tuple[int, str | None]:
    """``(spec.priority, spec.preemptionPolicy)`` a pod gets from ``pc`` (None: no class).

    Without a class, DefaultPriorityWhenNoDefaultClassExists and PreemptLowerPriority
    (plugin/pkg/admission/priority/admission.go, v1.32).
    """
    if pc is None:
        return DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS, PREEMPT_LOWER_PRIORITY
    return int(pc.get("value", 0)), pc.get("preemptionPolicy")


__all__ = [
    "DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS", "HIGHEST_USER_DEFINABLE_PRIORITY",
    "SYSTEM_CRITICAL_PRIORITY", "SYSTEM_PRIORITY_CLASS_PREFIX", "SYSTEM_CLUSTER_CRITICAL",
    "SYSTEM_NODE_CRITICAL", "SYSTEM_PRIORITY_CLASS_NAMES", "PREEMPT_LOWER_PRIORITY",
    "PREEMPT_NEVER", "PREEMPTION_POLICIES", "system_priority_classes",
    "known_system_priority_class_error", "pod_priority", "default_priority_class",
    "class_priority",
]
