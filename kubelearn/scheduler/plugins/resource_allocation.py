"""What the resource scoring plugins compare: per resource, requested against allocatable.

NodeResourcesFit's scoring strategies and NodeResourcesBalancedAllocation both turn
a node and a pod into three vectors, one entry per configured resource:

- ``requested`` -- what the node's pods ask for, plus the incoming pod;
- ``allocated`` -- the same without the incoming pod;
- ``allocatable`` -- what the node offers (0 marks a resource to leave out).

For CPU and memory the NodeResourcesFit strategies count *non-zero* requests (a
container with no request counts 100m / 200Mi); BalancedAllocation counts the raw
requests. An extended resource the pod does not request is left out.

A port of pkg/scheduler/framework/plugins/noderesources/resource_allocation.go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kubelearn.api import pod_requests
from kubelearn.scheduler.nodeinfo import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    NodeInfo,
    is_scalar_resource_name,
    requests_with_defaults,
)


@dataclass(frozen=True)
class ResourceSpec:
    """A resource to score and its weight (config.ResourceSpec)."""

    name: str
    weight: int = 1


# apis/config/v1/defaults.go defaultResourceSpec: cpu and memory, weight 1 each
DEFAULT_RESOURCES = (ResourceSpec(CPU, 1), ResourceSpec(MEMORY, 1))


def resource_specs(items: Sequence[Mapping[str, Any]] | None, default_weight: int = 1
                   ) -> list[ResourceSpec]:
    """Parse ``[{name: cpu, weight: 1}, ...]``; a missing or zero weight becomes 1."""
    return [ResourceSpec(str(r.get("name") or ""), int(r.get("weight") or default_weight))
            for r in items or []]


def pod_resource_requests(pod: Mapping[str, Any], resources: Sequence[ResourceSpec],
                          use_requested: bool) -> list[int]:
    """The pod's request per resource; millicores for cpu (calculatePodResourceRequestList).

    Without ``use_requested``, containers missing a cpu or memory request count the
    defaults (100m / 200Mi).
    """
    requests = pod_requests(pod) if use_requested else requests_with_defaults(pod)
    out = []
    for r in resources:
        q = requests.get(r.name)
        out.append(0 if q is None else q.milli_value() if r.name == CPU else q.value())
    return out


def allocatable_and_requested(node_info: NodeInfo, resource: str, pod_request: int,
                              use_requested: bool) -> tuple[int, int]:
    """(allocatable, requested including the pod) of one resource on one node.

    (0, 0) leaves the resource out: an extended resource the pod does not ask for,
    or one the node does not have (calculateResourceAllocatableRequest).
    """
    requested = node_info.requested if use_requested else node_info.non_zero_requested
    if pod_request == 0 and is_scalar_resource_name(resource):
        return 0, 0
    allocatable = node_info.allocatable
    if resource == CPU:
        return allocatable.milli_cpu, requested.milli_cpu + pod_request
    if resource == MEMORY:
        return allocatable.memory, requested.memory + pod_request
    if resource == EPHEMERAL_STORAGE:
        return allocatable.ephemeral_storage, \
            node_info.requested.ephemeral_storage + pod_request
    if resource in allocatable.scalar_resources:
        return allocatable.scalar_resources[resource], \
            node_info.requested.scalar_resources.get(resource, 0) + pod_request
    return 0, 0


def resource_vectors(node_info: NodeInfo, resources: Sequence[ResourceSpec],
                     pod_requests_list: Sequence[int], use_requested: bool
                     ) -> tuple[list[int], list[int], list[int]]:
    """(requested, allocated, allocatable) per resource; zeros where a resource is left out."""
    requested, allocated, allocatable = [], [], []
    for r, pod_request in zip(resources, pod_requests_list, strict=True):
        alloc, req = allocatable_and_requested(node_info, r.name, pod_request, use_requested)
        if alloc == 0:
            req, pod_request = 0, 0
        allocatable.append(alloc)
        requested.append(req)
        allocated.append(req - pod_request)
    return requested, allocated, allocatable


def is_best_effort(pod_requests_list: Sequence[int]) -> bool:
    """True if the pod requests none of the resources (isBestEffortPod)."""
    return not any(pod_requests_list)
