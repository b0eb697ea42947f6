"""NodeResourcesBalancedAllocation: favour nodes whose resources get used evenly.

For each resource, the fraction ``requested / allocatable`` (capped at 1); the
spread of those fractions is their standard deviation (``|f1 - f2| / 2`` for two
resources). A node's balance is ``int((1 - std) * 100)``. Raw requests count, not
the 100m/200Mi defaults, and a pod requesting none of the resources is not scored.

Since v1.36 the score is the *change* in balance the pod brings (PR #135573):
``50 + (50 + balance_with_pod - balance_without_pod) / 2`` -- 75 for no change,
towards 100 if the pod evens the node out, towards 50 if it skews it. From v1.30
to v1.35 the score was ``balance_with_pod`` alone; :func:`balanced_resource_score`
is that formula.

A port of pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubelearn.api import Path
from kubelearn.api.errors import FieldError
from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    PreScorePlugin,
    ScorePlugin,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.resource_allocation import (
    DEFAULT_RESOURCES,
    ResourceSpec,
    is_best_effort,
    pod_resource_requests,
    resource_specs,
    resource_vectors,
)

NAME = "NodeResourcesBalancedAllocation"
PRE_SCORE_STATE_KEY = "PreScore" + NAME


@dataclass
class NodeResourcesBalancedAllocationArgs:
    """pluginConfig args: the resources to balance, each with weight 1."""

    resources: list[ResourceSpec] = field(default_factory=lambda: list(DEFAULT_RESOURCES))

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> NodeResourcesBalancedAllocationArgs:
        """Read the YAML form; no resources means cpu and memory (v1 defaults)."""
        resources = resource_specs((args or {}).get("resources"))
        return cls(resources or list(DEFAULT_RESOURCES))

    def validate(self, path: Path) -> list[FieldError]:
        """No duplicates, every weight 1 (ValidateNodeResourcesBalancedAllocationArgs)."""
        errs, seen = [], set()
        for i, r in enumerate(self.resources):
            p = path.child("resources").index(i)
            if r.name in seen:
                errs.append(FieldError.duplicate(p.child("name"), r.name))
            seen.add(r.name)
            if r.weight != 1:
                errs.append(FieldError.invalid(p.child("weight"), r.weight, "must be 1"))
        return errs


def balanced_resource_score(requested: Sequence[int], allocatable: Sequence[int]) -> int:
    """``int((1 - std) * 100)`` of the fractions requested/allocatable (v1.30-v1.35 score)."""
    fractions = [min(req / alloc, 1.0) for req, alloc in zip(requested, allocatable, strict=True)
                 if alloc != 0]
    std = 0.0
    if len(fractions) == 2:  # the usual cpu + memory: std is half the difference
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def balanced_resource_scorer(requested: Sequence[int], allocated: Sequence[int],
                             allocatable: Sequence[int]) -> int:
    """The change in balance the pod brings, mapped to 50..100 (v1.36 and later)."""
    with_pod = balanced_resource_score(requested, allocatable)
    without_pod = balanced_resource_score(allocated, allocatable)
    half = MAX_NODE_SCORE // 2
    return half + (half + with_pod - without_pod) // 2


class NodeResourcesBalancedAllocation(PreScorePlugin, ScorePlugin):
    """Score how evenly the node's resources end up requested."""

    name = NAME
    args_type = NodeResourcesBalancedAllocationArgs

    def __init__(self, args: NodeResourcesBalancedAllocationArgs | None = None) -> None:
        super().__init__(args or NodeResourcesBalancedAllocationArgs())
        self.resources = list(self.args.resources)

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Skip a pod that requests nothing (best-effort), so they don't pile up (#129138)."""
        requests = pod_resource_requests(pod, self.resources, True)
        if is_best_effort(requests):
            return Status(Code.Skip)
        state.write(PRE_SCORE_STATE_KEY, requests)
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The balance score of the node with the pod on it."""
        try:
            requests = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            requests = pod_resource_requests(pod, self.resources, True)
            if is_best_effort(requests):
                return 0
        requested, allocated, allocatable = resource_vectors(node_info, self.resources,
                                                             requests, True)
        return balanced_resource_scorer(requested, allocated, allocatable)
