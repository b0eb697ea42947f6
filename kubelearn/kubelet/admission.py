"""Node-level admission: the kubelet's own check that a pod bound to it fits.

The scheduler already checked, but its view may be stale, and anyone can bind
a pod by hand (``spec.nodeName`` in the manifest skips the scheduler). So
before it starts a pod the kubelet runs the scheduler's resource check again
against what it has already admitted (pkg/kubelet/lifecycle/predicate.go,
``generalFilter`` -> noderesources ``fitsRequest``): first the pod count, then
cpu, memory and ephemeral storage. A pod that does not fit is *rejected*:
phase ``Failed``, reason ``OutOf<resource>``, and upstream's message (one line)::

    Pod was rejected: Node didn't have enough resource: cpu, requested: 2000,
    used: 500, capacity: 2000

(cpu in millicores, memory in bytes). Node affinity, host ports and NoExecute
taints, which upstream checks here too, are not checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelearn.api import Quantity, pod_requests

# predicate.go: the reasons, "OutOf" + the resource name.
INSUFFICIENT_RESOURCE_PREFIX = "OutOf"
OUT_OF_CPU = "OutOfcpu"
OUT_OF_MEMORY = "OutOfmemory"
OUT_OF_EPHEMERAL_STORAGE = "OutOfephemeral-storage"
OUT_OF_PODS = "OutOfpods"
REJECTED_PREFIX = "Pod was rejected: "  # kubelet.go rejectPod


@dataclass
class Usage:
    """What admitted pods request in total, in the units of the messages."""

    pods: int = 0
    milli_cpu: int = 0
    memory: int = 0
    ephemeral_storage: int = 0
    scalar: dict[str, int] = field(default_factory=dict)

    def add(self, request: Usage, sign: int = 1) -> None:
        """Add (or with ``sign=-1`` take away) one pod's request."""
        self.pods += sign * request.pods
        self.milli_cpu += sign * request.milli_cpu
        self.memory += sign * request.memory
        self.ephemeral_storage += sign * request.ephemeral_storage
        for name, value in request.scalar.items():
            self.scalar[name] = self.scalar.get(name, 0) + sign * value


_REQUESTS: dict[str, Usage] = {}  # pods of one template ask for the same: compute it once


def request_of(pod: Mapping[str, Any]) -> Usage:
    """A pod's request (containers summed, init containers maxed, overhead added)."""
    spec = pod.get("spec") or {}
    key = repr(([c.get("resources") for c in spec.get("containers") or ()],
                [(c.get("resources"), c.get("restartPolicy")) for c in
                 spec.get("initContainers") or ()], spec.get("overhead"), spec.get("resources")))
    cached = _REQUESTS.get(key)
    if cached is None:
        cached = _REQUESTS[key] = _request_of(pod)
        if len(_REQUESTS) > 4096:
            _REQUESTS.clear()
    return cached


def _usage(quantities: Mapping[str, Quantity], pods: int = 0) -> Usage:
    """Quantities by resource name in the units the checks compare (millicores, bytes)."""
    usage = Usage(pods=pods)
    for name, q in quantities.items():
        if name == "cpu":
            usage.milli_cpu = q.milli_value()
        elif name == "memory":
            usage.memory = q.value()
        elif name == "ephemeral-storage":
            usage.ephemeral_storage = q.value()
        elif name == "pods":
            usage.pods = q.value()
        else:
            usage.scalar[name] = q.value()
    return usage


def _request_of(pod: Mapping[str, Any]) -> Usage:
    return _usage(pod_requests(pod), pods=1)


def capacity_of(allocatable: Mapping[str, Quantity]) -> Usage:
    """A node's allocatable resources in the same units."""
    return _usage(allocatable)


def insufficient(resource: str, requested: int, used: int, capacity: int) -> tuple[str, str]:
    """The reason and message of InsufficientResourceError."""
    reasons = {"cpu": OUT_OF_CPU, "memory": OUT_OF_MEMORY,
               "ephemeral-storage": OUT_OF_EPHEMERAL_STORAGE, "pods": OUT_OF_PODS}
    reason = reasons.get(resource, INSUFFICIENT_RESOURCE_PREFIX + resource)
    return reason, (f"Node didn't have enough resource: {resource}, requested: {requested}, "
                    f"used: {used}, capacity: {capacity}")


def admit(request: Usage, used: Usage, allocatable: Usage) -> tuple[str, str] | None:
    """None if the pod fits, else ``(reason, message)`` for the first resource short."""
    if used.pods + 1 > allocatable.pods:
        return insufficient("pods", 1, used.pods, allocatable.pods)
    checks = (("cpu", request.milli_cpu, used.milli_cpu, allocatable.milli_cpu),
              ("memory", request.memory, used.memory, allocatable.memory),
              ("ephemeral-storage", request.ephemeral_storage, used.ephemeral_storage,
               allocatable.ephemeral_storage))
    for resource, want, have, cap in checks:
        if want > 0 and want > cap - have:
            return insufficient(resource, want, have, cap)
    for resource, want in sorted(request.scalar.items()):
        if resource not in allocatable.scalar:
            continue  # removeMissingExtendedResources: the node does not know it
        cap = allocatable.scalar[resource]
        have = used.scalar.get(resource, 0)
        if want > 0 and want > cap - have:
            return insufficient(resource, want, have, cap)
    return None
