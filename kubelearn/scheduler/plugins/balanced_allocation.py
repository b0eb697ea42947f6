"""NodeResourcesBalancedAllocation: favour nodes whose resources get used evenly.

For each resource, the fraction ``requested / allocatable`` (capped at 1); the
spread of those fractions is their standard deviation (``|f1 - f2| / 2`` for two
resources). A node's balance is ``int((1 - std) * 100)``. Raw requests count, not
the 100m/200Mi defaults.

The formula changed twice after v1.32, the version kubelearn models
(:mod:`kubelearn.version`); both later forms are here, labelled, for lessons that
compare them:

- up to v1.35 (v1.32 included) the score is the balance *with* the pod on the node
  (:func:`balanced_resource_score`), and every pod is scored;
- from v1.33 a pod requesting none of the resources (best-effort) is not scored at
  all, so such pods no longer pile up on one node (PR #130260, issue #129138);
- from v1.36 the score is the *change* in balance the pod brings (PR #135573):
  ``50 + (50 + balance_with_pod - balance_without_pod) / 2`` -- 75 for no change,
  towards 100 if the pod evens the node out, towards 50 if it skews it
  (:func:`balance_change_score`).

Each formula is written once and works on a single node's numbers or, through
numpy, on a column per node: :meth:`NodeResourcesBalancedAllocation.score_column` is
Score for many nodes at once (the vectorised scheduler's path), the fractions of
:func:`resource_vectors` as rows of a table with a column per node.

A port of pkg/scheduler/framework/plugins/noderesources/balanced_allocation.go.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kubelearn import version
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
from kubelearn.scheduler.nodeinfo import NodeInfo, is_scalar_resource_name
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
# PR #130260 (v1.33): PreScore returns Skip for a pod that requests none of the resources.
SKIPS_BEST_EFFORT = version.since(33)
# PR #135573 (v1.36): the score is the change in balance, not the balance with the pod.
SCORES_CHANGE = version.since(36)


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
    """``int((1 - std) * 100)`` of the fractions requested/allocatable: the node's balance.

    The score itself up to v1.35 (the modelled v1.32 included).
    """
    fractions = [min(req / alloc, 1.0) for req, alloc in zip(requested, allocatable, strict=True)
                 if alloc != 0]
    std = 0.0
    if len(fractions) == 2:  # the usual cpu + memory: std is half the difference
        std = abs((fractions[0] - fractions[1]) / 2)
    elif len(fractions) > 2:
        mean = sum(fractions) / len(fractions)
        std = math.sqrt(sum((f - mean) * (f - mean) for f in fractions) / len(fractions))
    return int((1 - std) * MAX_NODE_SCORE)


def balance_change_score(with_pod: Any, without_pod: Any) -> Any:
    """The change in balance the pod brings, mapped to 50..100 (v1.36 and later).

    ``with_pod`` and ``without_pod`` are balances: two ints, or two numpy columns.
    """
    half = MAX_NODE_SCORE // 2
    return half + (half + with_pod - without_pod) // 2


def balanced_resource_scorer(requested: Sequence[int], allocated: Sequence[int],
                             allocatable: Sequence[int]) -> int:
    """The node's score in the modelled version, from its requests with and without the pod."""
    with_pod = balanced_resource_score(requested, allocatable)
    if not SCORES_CHANGE:
        return with_pod
    return balance_change_score(with_pod, balanced_resource_score(allocated, allocatable))


def balance_columns(fractions: np.ndarray, present: np.ndarray | None) -> np.ndarray:
    """:func:`balanced_resource_score` for many nodes: one row per resource, a column per node.

    ``fractions`` holds each node's requested/allocatable (capped at 1) and
    ``present`` where the node has the resource at all (None: everywhere). Two
    resources at most: a node with both has std ``|f1 - f2| / 2``, one with a single
    fraction std 0. (Three or more would need the population std summed in Python's
    order to give the same floats: the vectorised path leaves them to the per-node one.)
    """
    if len(fractions) > 2:
        raise ValueError("balance_columns takes at most two resources")
    if len(fractions) < 2:  # one resource (or none) counted: std 0
        return np.full(fractions.shape[1], MAX_NODE_SCORE, dtype=np.int64)
    std = np.abs((fractions[0] - fractions[1]) / 2)
    if present is not None:
        std[~(present[0] & present[1])] = 0.0
    return ((1 - std) * MAX_NODE_SCORE).astype(np.int64)  # int(): toward zero, >= 0


class NodeResourcesBalancedAllocation(PreScorePlugin, ScorePlugin):
    """Score how evenly the node's resources end up requested."""

    name = NAME
    args_type = NodeResourcesBalancedAllocationArgs

    def __init__(self, args: NodeResourcesBalancedAllocationArgs | None = None) -> None:
        super().__init__(args or NodeResourcesBalancedAllocationArgs())
        self.resources = list(self.args.resources)

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Keep the pod's requests; from v1.33 skip a best-effort pod (#129138)."""
        requests = pod_resource_requests(pod, self.resources, True)
        if SKIPS_BEST_EFFORT and is_best_effort(requests):
            return Status(Code.Skip)
        state.write(PRE_SCORE_STATE_KEY, requests)
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The balance score of the node with the pod on it."""
        try:
            requests = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            requests = pod_resource_requests(pod, self.resources, True)
            if SKIPS_BEST_EFFORT and is_best_effort(requests):
                return 0
        requested, allocated, allocatable = resource_vectors(node_info, self.resources,
                                                             requests, True)
        return balanced_resource_scorer(requested, allocated, allocatable)

    def score_column(self, requests: Sequence[int], allocatable: np.ndarray,
                     requested: np.ndarray) -> np.ndarray | None:
        """:meth:`pre_score` and :meth:`score` for many nodes: each node's score.

        ``requests`` is the pod's request per configured resource (PreScore's
        :func:`pod_resource_requests`); ``allocatable`` and ``requested`` have one row
        per configured resource and one column per node: what the node offers, and
        what the pods already on it request (raw requests, the pod not counted). None
        when PreScore skips the pod (a best-effort pod, from v1.33).

        As :func:`resource_vectors`: a node offering none of a resource leaves it out,
        and so does every node for an extended resource the pod does not request.
        Then the fractions with (and from v1.36 without) the pod, balanced as
        :func:`balanced_resource_score` does (upstream: balancedResourceScorer).
        """
        if SKIPS_BEST_EFFORT and is_best_effort(requests):
            return None
        left_out = [i for i, (r, pod_request) in enumerate(zip(self.resources, requests,
                                                                 strict=True))
                    if pod_request == 0 and is_scalar_resource_name(r.name)]
        present: np.ndarray | None = None  # None: every node has every resource
        safe = allocatable
        if left_out or not allocatable.all():
            present = allocatable != 0
            present[left_out] = False  # allocatable_and_requested's (0, 0)
            safe = np.where(present, allocatable, 1)
        pod = np.array(requests, dtype=np.int64)[:, None]
        balance = balance_columns(np.minimum((requested + pod) / safe, 1.0), present)
        if not SCORES_CHANGE:
            return balance
        without_pod = balance_columns(np.minimum(requested / safe, 1.0), present)
        return balance_change_score(balance, without_pod)
