"""NodeResourcesFit: does the pod fit the node's free resources, and how well?

- Filter: for each resource the pod requests, ``requested on the node + the pod's
  request <= allocatable``; otherwise ``Insufficient cpu`` (one reason per resource),
  and ``Too many pods`` when the node's pod count is full. Requests, not usage, count.
- Score, by ``scoringStrategy.type``, per resource then weighted and averaged:

  - ``LeastAllocated`` (default): ``(allocatable - requested) * 100 / allocatable`` --
    spread pods onto the emptiest nodes;
  - ``MostAllocated``: ``requested * 100 / allocatable`` -- pack nodes full;
  - ``RequestedToCapacityRatio``: a piecewise-linear ``shape`` over utilization.

  Scoring counts 100m CPU / 200Mi memory for a container that requests none.

Filter and each strategy are written first for one node; :meth:`NodeResourcesFit.fit_mask`
(with :meth:`NodeResourcesFit.fit_thresholds`), :meth:`NodeResourcesFit.score_columns`
and :meth:`NodeResourcesFit.score_matrix` compute the same verdicts and scores for many
nodes at once from numpy columns (the vectorised scheduler's path).

A port of pkg/scheduler/framework/plugins/noderesources/ fit.go, least_allocated.go,
most_allocated.go and requested_to_capacity_ratio.go, with the NodeResourcesFitArgs
defaults and validation of apis/config (v1/defaults.go, validation_pluginargs.go).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kubelearn.api import Path, is_label_key, pod_requests
from kubelearn.api.errors import FieldError, aggregate
from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    FilterPlugin,
    PreFilterPlugin,
    PreFilterResult,
    PreScorePlugin,
    ScorePlugin,
    Status,
)
from kubelearn.scheduler.nodeinfo import (
    CPU,
    EPHEMERAL_STORAGE,
    MEMORY,
    PODS,
    NodeInfo,
    Resource,
    is_extended_resource_name,
)
from kubelearn.scheduler.plugins.helper import (
    broken_linear_columns,
    build_broken_linear_function,
    go_round,
)
from kubelearn.scheduler.plugins.resource_allocation import (
    DEFAULT_RESOURCES,
    ResourceSpec,
    pod_resource_requests,
    resource_specs,
    resource_vectors,
)
from kubelearn.version import since

NAME = "NodeResourcesFit"
PRE_FILTER_STATE_KEY = "PreFilter" + NAME
PRE_SCORE_STATE_KEY = "PreScore" + NAME

LEAST_ALLOCATED = "LeastAllocated"
MOST_ALLOCATED = "MostAllocated"
REQUESTED_TO_CAPACITY_RATIO = "RequestedToCapacityRatio"
SCORING_STRATEGY_TYPES = (LEAST_ALLOCATED, MOST_ALLOCATED, REQUESTED_TO_CAPACITY_RATIO)

MAX_UTILIZATION = 100  # requested_to_capacity_ratio.go maxUtilization
MAX_CUSTOM_PRIORITY_SCORE = 10  # config.MaxCustomPriorityScore: shape scores run 0..10
MAX_RESOURCE_WEIGHT = 100  # validateResources: weights in (0, 100]


# -- args ----------------------------------------------------------------------------------------

@dataclass
class ScoringStrategy:
    """How NodeResourcesFit scores: the strategy, its resources and, for RTCR, the shape."""

    type: str = LEAST_ALLOCATED
    resources: list[ResourceSpec] = field(default_factory=lambda: list(DEFAULT_RESOURCES))
    # RequestedToCapacityRatio shape: (utilization 0..100, score 0..10) points
    shape: list[tuple[int, int]] | None = None


@dataclass
class NodeResourcesFitArgs:
    """pluginConfig args of NodeResourcesFit (config.NodeResourcesFitArgs)."""

    ignored_resources: list[str] = field(default_factory=list)
    ignored_resource_groups: list[str] = field(default_factory=list)
    scoring_strategy: ScoringStrategy | None = field(default_factory=ScoringStrategy)

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> NodeResourcesFitArgs:
        """Read the YAML form and apply v1 defaults (SetDefaults_NodeResourcesFitArgs)."""
        args = args or {}
        strategy = args.get("scoringStrategy")
        if strategy is None:
            scoring = ScoringStrategy()
        else:
            resources = resource_specs(strategy.get("resources")) or list(DEFAULT_RESOURCES)
            rtcr = strategy.get("requestedToCapacityRatio")
            shape = None
            if rtcr is not None:
                shape = [(int(p.get("utilization") or 0), int(p.get("score") or 0))
                         for p in (rtcr or {}).get("shape") or []]
            scoring = ScoringStrategy(str(strategy.get("type") or ""), resources, shape)
        return cls(list(args.get("ignoredResources") or []),
                   list(args.get("ignoredResourceGroups") or []), scoring)

    def validate(self, path: Path | None = None) -> list[FieldError]:
        """Upstream's ValidateNodeResourcesFitArgs; a None path roots field names at the args."""
        def child(*names: str) -> Path:
            return path.child(*names) if path is not None else Path(*names)

        errs: list[FieldError] = []
        for i, res in enumerate(self.ignored_resources):
            errs.extend(_label_name_errors(child("ignoredResources").index(i), res))
        for i, group in enumerate(self.ignored_resource_groups):
            p = child("ignoredResourceGroups").index(i)
            if "/" in group:
                errs.append(FieldError.invalid(p, group, "resource group name can't contain '/'"))
            errs.extend(_label_name_errors(p, group))
        strategy_path = child("scoringStrategy")
        s = self.scoring_strategy
        if s is None:
            errs.append(FieldError.required(strategy_path, "ScoringStrategy field is required"))
            return errs
        if s.type not in SCORING_STRATEGY_TYPES:
            errs.append(FieldError.not_supported(strategy_path.child("type"), s.type,
                                                 sorted(SCORING_STRATEGY_TYPES)))
        for i, r in enumerate(s.resources):
            if not 0 < r.weight <= MAX_RESOURCE_WEIGHT:
                errs.append(FieldError.invalid(
                    strategy_path.child("resources").index(i).child("weight"), r.weight,
                    f"resource weight of {r.name} not in valid range (0, 100]"))
        rtcr_path = strategy_path.child("requestedToCapacityRatio")
        if s.type == REQUESTED_TO_CAPACITY_RATIO:
            if s.shape is None:
                errs.append(FieldError.required(
                    rtcr_path, "must be specified when type is RequestedToCapacityRatio"))
            else:
                errs.extend(validate_function_shape(s.shape, rtcr_path.child("shape")))
        elif s.shape is not None:
            errs.append(FieldError.forbidden(
                rtcr_path, "must be nil when type is not RequestedToCapacityRatio"))
        return errs


def _label_name_errors(path: Path, name: str) -> list[FieldError]:
    """metav1validation.ValidateLabelName."""
    return [FieldError.invalid(path, name, msg) for msg in is_label_key(name)]


def validate_function_shape(shape: Sequence[tuple[int, int]], path: Path) -> list[FieldError]:
    """Points sorted by utilization, utilization in [0, 100], score in [0, 10]."""
    if not shape:
        return [FieldError.required(path, "at least one point must be specified")]
    errs = []
    for i in range(1, len(shape)):
        if shape[i - 1][0] >= shape[i][0]:
            errs.append(FieldError.invalid(path.index(i).child("utilization"), shape[i][0],
                                           "values must be sorted in increasing order"))
            break
    for i, (utilization, score) in enumerate(shape):
        if not 0 <= utilization <= MAX_UTILIZATION:
            errs.append(FieldError.invalid(path.index(i).child("utilization"), utilization,
                                           "not in valid range [0, 100]"))
        if not 0 <= score <= MAX_CUSTOM_PRIORITY_SCORE:
            errs.append(FieldError.invalid(path.index(i).child("score"), score,
                                           "not in valid range [0, 10]"))
    return errs


# -- the filter ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InsufficientResource:
    """One resource a node is short of for the pod, with the numbers behind it."""

    resource_name: str
    reason: str
    requested: int
    used: int
    capacity: int
    unresolvable: bool  # even an empty node would not fit (Unresolvable from v1.34)


def compute_pod_resource_request(pod: Mapping[str, Any]) -> Resource:
    """The pod's requests: containers summed, init containers maxed, overhead added."""
    r = Resource()
    r.set_max(pod_requests(pod))
    return r


def fits_request(pod_request: Resource, node_info: NodeInfo,
                 ignored_extended_resources: frozenset[str] = frozenset(),
                 ignored_resource_groups: frozenset[str] = frozenset(),
                 ) -> list[InsufficientResource]:
    """Every resource the node lacks for the pod, in upstream's order (fitsRequest)."""
    out: list[InsufficientResource] = []
    allocatable, requested = node_info.allocatable, node_info.requested
    allowed_pods = allocatable.allowed_pod_number
    if len(node_info.pods) + 1 > allowed_pods:
        out.append(InsufficientResource(PODS, "Too many pods", 1, len(node_info.pods),
                                        allowed_pods, False))
    if pod_request.is_zero():
        return out
    for name, want in ((CPU, pod_request.milli_cpu), (MEMORY, pod_request.memory),
                       (EPHEMERAL_STORAGE, pod_request.ephemeral_storage)):
        free = allocatable.get(name) - requested.get(name)
        if want > 0 and want > free:
            out.append(InsufficientResource(name, f"Insufficient {name}", want,
                                            requested.get(name), allocatable.get(name),
                                            want > allocatable.get(name)))
    for name in sorted(pod_request.scalar_resources):  # Go ranges a map; we sort
        want = pod_request.scalar_resources[name]
        if want == 0:
            continue
        if is_extended_resource_name(name) and (
                name in ignored_extended_resources
                or name.split("/")[0] in ignored_resource_groups):
            continue
        capacity = allocatable.scalar_resources.get(name, 0)
        used = requested.scalar_resources.get(name, 0)
        if want > capacity - used:
            out.append(InsufficientResource(name, f"Insufficient {name}", want, used, capacity,
                                            want > capacity))
    return out


# -- the filter, for many nodes at once ------------------------------------------------------------

NO_LIMIT = np.iinfo(np.int64).min  # a free-amount threshold every node passes
# The rows of the ``free`` array fit_mask compares: pod slots left, then each resource's
# allocatable minus requested.
FREE_ROWS = (PODS, CPU, MEMORY, EPHEMERAL_STORAGE)


@dataclass(frozen=True)
class FitThresholds:
    """What :func:`fits_request` asks of every node for one pod, as numbers to compare with.

    ``free`` has one row per :data:`FREE_ROWS` entry (shape ``(4, 1)``, to broadcast over
    a column per node): the least a node must have free -- one pod slot, then the
    pod's cpu, memory and ephemeral-storage request, or :data:`NO_LIMIT` where it asks
    for none. ``scalars`` are the scalar resources the pod asks for and the plugin does
    not ignore, with the amounts.
    """

    free: np.ndarray
    scalars: tuple[tuple[str, int], ...]


# -- the scoring strategies ----------------------------------------------------------------------

Scorer = Callable[[Sequence[int], Sequence[int]], int]


def least_requested_score(requested: int, capacity: int) -> int:
    """``(capacity - requested) * 100 / capacity``, 0 when over capacity."""
    if capacity == 0 or requested > capacity:
        return 0
    return (capacity - requested) * MAX_NODE_SCORE // capacity


def most_requested_score(requested: int, capacity: int) -> int:
    """``requested * 100 / capacity``, requested clamped to capacity."""
    if capacity == 0:
        return 0
    requested = min(requested, capacity)  # pods without requests may add up past capacity
    return requested * MAX_NODE_SCORE // capacity


def _weighted_mean(per_resource: Callable[[int, int], int], resources: Sequence[ResourceSpec]
                   ) -> Scorer:
    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        node_score = weight_sum = 0
        for r, req, alloc in zip(resources, requested, allocatable, strict=True):
            if alloc == 0:  # a resource left out
                continue
            node_score += per_resource(req, alloc) * r.weight
            weight_sum += r.weight
        return node_score // weight_sum if weight_sum else 0
    return scorer


def least_allocated_scorer(resources: Sequence[ResourceSpec]) -> Scorer:
    """LeastAllocated: the weighted mean of least_requested_score (integer division)."""
    return _weighted_mean(least_requested_score, resources)


def most_allocated_scorer(resources: Sequence[ResourceSpec]) -> Scorer:
    """MostAllocated: the weighted mean of most_requested_score (integer division)."""
    return _weighted_mean(most_requested_score, resources)


def requested_to_capacity_ratio_scorer(resources: Sequence[ResourceSpec],
                                       shape: Sequence[tuple[int, int]]) -> Scorer:
    """RequestedToCapacityRatio: shape(utilization) per resource, weighted, math.Round."""
    # Shape scores are 0..10 (MaxCustomPriorityScore); scale them to 0..MaxNodeScore.
    raw = build_broken_linear_function(
        [(u, s * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE)) for u, s in shape])

    def resource_score(requested: int, capacity: int) -> int:
        if capacity == 0 or requested > capacity:
            return raw(MAX_UTILIZATION)
        # Utilization rounded up, as released: 100 - (free * 100 / capacity). (An open
        # upstream PR, #142112, would round it down: requested * 100 / capacity.)
        return raw(MAX_UTILIZATION - (capacity - requested) * MAX_UTILIZATION // capacity)

    def scorer(requested: Sequence[int], allocatable: Sequence[int]) -> int:
        node_score = weight_sum = 0
        for r, req, alloc in zip(resources, requested, allocatable, strict=True):
            if alloc == 0:
                continue
            score = resource_score(req, alloc)
            if score > 0:  # a zero score does not count towards the mean
                node_score += score * r.weight
                weight_sum += r.weight
        return go_round(node_score / weight_sum) if weight_sum else 0
    return scorer


def scorer_for(strategy: ScoringStrategy) -> Scorer:
    """The scorer of a scoring strategy (nodeResourceStrategyTypeMap)."""
    if strategy.type == LEAST_ALLOCATED:
        return least_allocated_scorer(strategy.resources)
    if strategy.type == MOST_ALLOCATED:
        return most_allocated_scorer(strategy.resources)
    if strategy.type == REQUESTED_TO_CAPACITY_RATIO:
        return requested_to_capacity_ratio_scorer(strategy.resources, strategy.shape or [])
    raise ValueError(f"scoring strategy {strategy.type} is not supported")


# -- the plugin ----------------------------------------------------------------------------------

class NodeResourcesFit(PreFilterPlugin, FilterPlugin, PreScorePlugin, ScorePlugin):
    """Filter on free resources; score by the configured strategy."""

    name = NAME
    args_type = NodeResourcesFitArgs

    def __init__(self, args: NodeResourcesFitArgs | None = None) -> None:
        super().__init__(args or NodeResourcesFitArgs())
        errs = self.args.validate()
        if errs:
            raise ValueError(aggregate(errs))
        if self.args.scoring_strategy is None:
            raise ValueError("scoring strategy not specified")
        self.strategy = self.args.scoring_strategy
        self.resources = list(self.strategy.resources)
        self.scorer = scorer_for(self.strategy)
        self.shape_columns = broken_linear_columns(  # the RequestedToCapacityRatio shape
            [(u, sc * (MAX_NODE_SCORE // MAX_CUSTOM_PRIORITY_SCORE))
             for u, sc in self.strategy.shape or []]) \
            if self.strategy.type == REQUESTED_TO_CAPACITY_RATIO else None
        self.ignored_resources = frozenset(self.args.ignored_resources)
        self.ignored_resource_groups = frozenset(self.args.ignored_resource_groups)

    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Work out the pod's requests once."""
        state.write(PRE_FILTER_STATE_KEY, compute_pod_resource_request(pod))
        return None, None

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unschedulable, one reason per short resource.

        From v1.34 (PR #131345) a request above the node's whole allocatable is
        UnschedulableAndUnresolvable -- preemption cannot help there; v1.32 says
        Unschedulable either way, so DefaultPreemption still tries such a node.
        """
        try:
            request = state.read(PRE_FILTER_STATE_KEY)
        except KeyError as e:
            raise RuntimeError(f'error reading "{PRE_FILTER_STATE_KEY}" from cycleState: '
                               "not found") from e
        insufficient = fits_request(request, node_info, self.ignored_resources,
                                    self.ignored_resource_groups)
        if not insufficient:
            return None
        code = Code.UnschedulableAndUnresolvable if since(34) and any(
            r.unresolvable for r in insufficient) else Code.Unschedulable
        return Status(code, *(r.reason for r in insufficient))

    def fit_thresholds(self, request: Resource) -> FitThresholds:
        """:func:`fits_request`'s questions for a pod requesting ``request``, asked once.

        A zero request asks only for a pod slot; a resource requested as 0 is not
        asked about, nor an ignored extended resource (ignoredResources, or its
        group in ignoredResourceGroups).
        """
        wants = [1, NO_LIMIT, NO_LIMIT, NO_LIMIT]  # len(pods) + 1 <= allowed pods
        if request.is_zero():
            return FitThresholds(np.array(wants, dtype=np.int64)[:, None], ())
        for row, want in enumerate((request.milli_cpu, request.memory,
                                    request.ephemeral_storage), start=1):
            if want > 0:
                wants[row] = want
        scalars = tuple((name, want) for name, want in request.scalar_resources.items()
                        if want != 0 and not (is_extended_resource_name(name) and (
                            name in self.ignored_resources
                            or name.split("/")[0] in self.ignored_resource_groups)))
        return FitThresholds(np.array(wants, dtype=np.int64)[:, None], scalars)

    @staticmethod
    def fit_mask(thresholds: FitThresholds, free: np.ndarray,
                 scalar_columns: Callable[[str], tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
        """:meth:`filter` for many nodes at once: True where the pod fits.

        ``free`` has one row per :data:`FREE_ROWS` entry and one column per node
        (allocatable pods minus pods on the node; allocatable minus requested of each
        resource); ``scalar_columns(name)`` gives (allocatable, requested) of a scalar
        resource over the same nodes. Where :func:`fits_request` lists every
        resource a node is short of, this only says whether there is any -- the
        reasons are the per-node path's (a pod no node fits goes that way).
        """
        mask = (free >= thresholds.free).all(axis=0)
        for name, want in thresholds.scalars:
            allocatable, requested = scalar_columns(name)
            mask &= requested <= allocatable - want  # want > allocatable - requested fails
        return mask

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Work out the pod's non-zero request per scored resource once."""
        state.write(PRE_SCORE_STATE_KEY, pod_resource_requests(pod, self.resources, False))
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The strategy's score of the node with the pod on it."""
        try:
            requests = state.read(PRE_SCORE_STATE_KEY)
        except KeyError:
            requests = pod_resource_requests(pod, self.resources, False)
        if not self.resources:
            raise RuntimeError("resources not found")
        requested, _, allocatable = resource_vectors(node_info, self.resources, requests, False)
        return self.scorer(requested, allocatable)

    def score_matrix(self, allocatable: np.ndarray, requested: np.ndarray) -> np.ndarray:
        """:meth:`score` for many nodes, when every node has some of every resource.

        One row per resource (allocatable; requested with the pod), one column per
        node; LeastAllocated or MostAllocated only.
        """
        if self.strategy.type == LEAST_ALLOCATED:  # over capacity: max(.., 0) makes it 0
            score = np.maximum(allocatable - requested, 0) * MAX_NODE_SCORE // allocatable
        else:
            score = np.minimum(requested, allocatable) * MAX_NODE_SCORE // allocatable
        weights = [r.weight for r in self.resources]
        if any(w != 1 for w in weights):
            score = score * np.array(weights, dtype=np.int64)[:, None]
        return score.sum(axis=0) // sum(weights)

    def score_columns(self, columns: Sequence[tuple[np.ndarray, np.ndarray] | None], n: int
                      ) -> np.ndarray:
        """:meth:`score` for ``n`` nodes: per resource, (allocatable, requested with the pod).

        A resource given as None is left out on every node; a node whose allocatable
        is 0 leaves it out there (the weighted mean skips it).
        """
        strategy = self.strategy.type
        node_score: Any = 0
        weight_sum: Any = 0  # a plain int while every node counts every resource
        for r, column in zip(self.resources, columns, strict=True):
            if column is None:
                continue
            alloc, req = column
            present = alloc != 0
            everywhere = bool(present.all())
            safe = alloc if everywhere else np.where(present, alloc, 1)
            if strategy == LEAST_ALLOCATED:  # over capacity: max(.., 0) makes it 0
                score = np.maximum(alloc - req, 0) * MAX_NODE_SCORE // safe
            elif strategy == MOST_ALLOCATED:
                score = np.minimum(req, alloc) * MAX_NODE_SCORE // safe
            else:
                utilization = MAX_UTILIZATION - (alloc - req) * MAX_UTILIZATION // safe
                utilization[req > alloc] = MAX_UTILIZATION
                score = self.shape_columns(utilization)  # type: ignore[misc]
                present = present & (score > 0)  # a zero does not count towards the mean
                everywhere = False
            if everywhere:
                node_score = node_score + score * r.weight
                weight_sum = weight_sum + r.weight
            else:
                node_score = node_score + np.where(present, score * r.weight, 0)
                weight_sum = weight_sum + np.where(present, r.weight, 0)
        if isinstance(weight_sum, int):
            if weight_sum == 0:
                return np.zeros(n, dtype=np.int64)
            return node_score // weight_sum  # RequestedToCapacityRatio never gets here
        safe_sum = np.where(weight_sum > 0, weight_sum, 1)
        if strategy == REQUESTED_TO_CAPACITY_RATIO:
            out = np.floor(node_score / safe_sum + 0.5).astype(np.int64)  # math.Round, >= 0
        else:
            out = node_score // safe_sum
        return np.where(weight_sum > 0, out, 0)
