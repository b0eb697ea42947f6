"""The scheduling framework: plugin extension points, a profile, and the runs over them.

A pod is scheduled in stages, each an *extension point* where plugins plug in:
PreFilter -> Filter -> (PostFilter if no node fits) -> PreScore -> Score ->
NormalizeScore -> Reserve -> Bind. This module holds

- :class:`Code` and :class:`Status` -- what a plugin answers (``None`` means Success);
- :class:`CycleState` -- scratch space plugins share during one pod's cycle;
- :class:`NodeToStatus` -- why each node was rejected, and the status of those not listed;
- :class:`Handle` -- what a plugin may use of the scheduler running it (preemption's
  client, event recorder, nominated pods, seeded generator);
- the extension points as base classes a plugin subclasses: :class:`PreFilterPlugin`,
  :class:`FilterPlugin`, :class:`PostFilterPlugin`, :class:`PreScorePlugin`,
  :class:`ScorePlugin` (with :class:`ScoreExtensions` for NormalizeScore),
  :class:`ReservePlugin`, :class:`BindPlugin`;
- :class:`Profile` -- the enabled plugins per extension point and the score weights;
- :func:`run_filters` and :func:`run_scores` -- PreFilter+Filter and
  PreScore+Score+NormalizeScore over a set of nodes, as frameworkImpl runs them;
  :func:`select_host` picks among the best, ties broken by a seeded generator;
- :func:`fit_error_message` and :func:`failed_scheduling_message` -- the
  ``0/3 nodes are available: ...`` text of a FailedScheduling event, as v1.32 words it.

A port of k8s.io/kube-scheduler/framework (interface.go, cycle_state.go),
pkg/scheduler/framework/runtime/framework.go, pkg/scheduler/framework/types.go
(FitError) and pkg/scheduler/schedule_one.go (prioritizeNodes, selectHost).
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

from kubelearn.scheduler.nodeinfo import NodeInfo, PodInfo, Snapshot
from kubelearn.version import FEATURE_GATES

MAX_NODE_SCORE = 100  # framework.MaxNodeScore: the most a Score plugin may return
MIN_NODE_SCORE = 0  # framework.MinNodeScore
DEFAULT_SCHEDULER_NAME = "default-scheduler"  # v1.DefaultSchedulerName

# pkg/scheduler/framework/types.go NoNodeAvailableMsg
NO_NODE_AVAILABLE_MSG = "0/{} nodes are available"
# pkg/scheduler/framework/plugins/defaultpreemption and framework/preemption: per-node words
PREEMPTION_NOT_HELPFUL = "Preemption is not helpful for scheduling"
NO_PREEMPTION_VICTIMS = "No preemption victims found for incoming pod"
# pkg/scheduler/framework/plugins/dynamicresources PostFilter, when it frees nothing: only
# with the DynamicResourceAllocation gate on (off in v1.32), which adds that plugin
NO_NEW_CLAIMS_TO_DEALLOCATE = "no new claims to deallocate"


# -- Status ------------------------------------------------------------------------------------

class Code(IntEnum):
    """What a plugin found, in upstream's order (framework.Code)."""

    Success = 0
    Error = 1
    Unschedulable = 2
    UnschedulableAndUnresolvable = 3
    Wait = 4
    Skip = 5
    Pending = 6

    def __str__(self) -> str:
        return self.name


class Status:
    """A plugin's answer: a code and the reasons, and which plugin gave it (framework.Status)."""

    __slots__ = ("code", "reasons", "plugin", "err")

    def __init__(self, code: Code = Code.Success, *reasons: str, plugin: str = "",
                 err: BaseException | None = None) -> None:
        self.code = Code(code)
        self.reasons: tuple[str, ...] = tuple(reasons)
        self.plugin = plugin
        self.err = err

    def all_reasons(self) -> tuple[str, ...]:
        """The reasons, the error first if there is one (Status.Reasons)."""
        return ((str(self.err),) if self.err is not None else ()) + self.reasons

    def message(self) -> str:
        """The reasons joined by ``, `` (Status.Message)."""
        return ", ".join(self.all_reasons())

    def is_success(self) -> bool:
        """True for Success."""
        return self.code == Code.Success

    def is_skip(self) -> bool:
        """True for Skip: the plugin has nothing to do for this pod."""
        return self.code == Code.Skip

    def is_rejected(self) -> bool:
        """True for Unschedulable, UnschedulableAndUnresolvable and Pending."""
        return self.code in (Code.Unschedulable, Code.UnschedulableAndUnresolvable, Code.Pending)

    def with_plugin(self, plugin: str) -> Status:
        """Record which plugin gave this status; returns self."""
        self.plugin = plugin
        return self

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Status) and (self.code, self.all_reasons(), self.plugin) == (
            other.code, other.all_reasons(), other.plugin)

    def __hash__(self) -> int:
        return hash((self.code, self.all_reasons(), self.plugin))

    def __repr__(self) -> str:
        plugin = f", plugin={self.plugin!r}" if self.plugin else ""
        reasons = "".join(f", {r!r}" for r in self.all_reasons())
        return f"Status({self.code}{reasons}{plugin})"


def code_of(status: Status | None) -> Code:
    """The code of a status, where ``None`` means Success (Status.Code on a nil Status)."""
    return Code.Success if status is None else status.code


def as_status(err: BaseException) -> Status:
    """An Error status wrapping an exception (framework.AsStatus)."""
    return Status(Code.Error, err=err)


class FrameworkError(RuntimeError):
    """A plugin or the framework failed (an Error status): the cycle cannot go on."""


# -- CycleState and results --------------------------------------------------------------------

class CycleState:
    """What plugins write during one pod's scheduling cycle and read later in it.

    A PreFilter plugin computes something once (the pod's requests, its spread
    constraints) and its Filter reads it for each node. ``snapshot`` is the set of
    nodes this cycle sees -- upstream's SnapshotSharedLister.
    """

    def __init__(self, snapshot: Snapshot | None = None) -> None:
        self._storage: dict[str, Any] = {}
        self.snapshot = snapshot if snapshot is not None else Snapshot()
        self.skip_filter_plugins: set[str] = set()  # PreFilter returned Skip
        self.skip_score_plugins: set[str] = set()  # PreScore returned Skip

    def read(self, key: str) -> Any:
        """The value stored under ``key``; KeyError ``not found`` if there is none."""
        if key not in self._storage:
            raise KeyError("not found")
        return self._storage[key]

    def write(self, key: str, value: Any) -> None:
        """Store a value for later extension points."""
        self._storage[key] = value

    def delete(self, key: str) -> None:
        """Forget a value."""
        self._storage.pop(key, None)

    def clone(self) -> CycleState:
        """A copy whose writes do not reach this one (CycleState.Clone).

        A value with a ``clone()`` method is cloned -- PreFilter states that
        AddPod/RemovePod change in place -- the others are shared.
        """
        copy = CycleState(self.snapshot)
        copy._storage = {k: v.clone() if hasattr(v, "clone") else v
                         for k, v in self._storage.items()}
        copy.skip_filter_plugins = set(self.skip_filter_plugins)
        copy.skip_score_plugins = set(self.skip_score_plugins)
        return copy


class NodeToStatus(dict):
    """Node name -> why a filter rejected it; ``absent_status`` for nodes not listed.

    Nodes a PreFilter shortlist left out, or all nodes when a PreFilter rejected the
    pod, carry ``absent_status`` (framework.NodeToStatus, v1.32).
    """

    def __init__(self, statuses: Mapping[str, Status] | None = None,
                 absent_status: Status | None = None) -> None:
        super().__init__(statuses or {})
        self.absent_status = absent_status if absent_status is not None else Status(
            Code.UnschedulableAndUnresolvable)


@dataclass
class PreFilterResult:
    """A PreFilter plugin's shortlist: only these nodes can fit; ``None`` means all."""

    node_names: set[str] | None = None

    def all_nodes(self) -> bool:
        """True when the result does not restrict the nodes."""
        return self.node_names is None

    def merge(self, other: PreFilterResult | None) -> PreFilterResult:
        """The intersection of two shortlists (PreFilterResult.Merge)."""
        if other is None or other.all_nodes():
            return PreFilterResult(None if self.all_nodes() else set(self.node_names or ()))
        if self.all_nodes():
            return PreFilterResult(set(other.node_names or ()))
        return PreFilterResult(set(self.node_names or ()) & set(other.node_names or ()))


@dataclass
class PostFilterResult:
    """What a PostFilter plugin achieved: the node preemption nominated ("" clears it)."""

    nominated_node_name: str = ""


@dataclass
class NodeScore:
    """One node's score from one plugin."""

    name: str
    score: int


@dataclass
class NodePluginScores:
    """A node's final score per plugin (after NormalizeScore, before weighting) and its total."""

    name: str
    scores: dict[str, int] = field(default_factory=dict)
    total_score: int = 0


# -- plugins and extension points --------------------------------------------------------------

class Plugin:
    """Base of every scheduler plugin: a name, and the args it was configured with.

    A plugin subclasses one or more extension points below and overrides their
    methods. ``args_type``, when set, is the class that parses its ``pluginConfig``
    args (a ``from_dict`` classmethod and a ``validate(path)`` method).
    """

    name: ClassVar[str] = ""
    args_type: ClassVar[Any] = None

    def __init__(self, args: Any = None) -> None:
        self.args = args

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class PreFilterExtensions:
    """What a PreFilter plugin whose state counts other pods offers: AddPod and RemovePod.

    Preemption asks "would the pod fit here without these victims?", and the filter
    pass "... beside the pods nominated here?". Both change the pods of one node;
    these update the PreFilter state for that change in place, instead of
    recomputing it over the whole cluster (framework.PreFilterExtensions).
    """

    def add_pod(self, state: CycleState, pod: Mapping[str, Any], pod_info_to_add: PodInfo,
                node_info: NodeInfo) -> Status | None:
        """``pod_info_to_add`` now runs on ``node_info``'s node; None on success."""
        return None

    def remove_pod(self, state: CycleState, pod: Mapping[str, Any],
                   pod_info_to_remove: PodInfo, node_info: NodeInfo) -> Status | None:
        """``pod_info_to_remove`` no longer runs on ``node_info``'s node; None on success."""
        return None


class PreFilterPlugin(Plugin):
    """Runs once per pod before any Filter: precompute, shortlist nodes, or reject early."""

    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Return (shortlist or None, status or None); Skip turns this plugin's Filter off."""
        return None, None

    def pre_filter_extensions(self) -> PreFilterExtensions | None:
        """AddPod/RemovePod for this plugin's state, or None if it reads only the pod."""
        return None


class FilterPlugin(Plugin):
    """Says whether the pod can run on one node."""

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """None if the pod fits, else an Unschedulable(AndUnresolvable) status with reasons."""
        return None


class PostFilterPlugin(Plugin):
    """Runs when no node fits, to make one fit (preemption)."""

    def post_filter(self, state: CycleState, pod: Mapping[str, Any],
                    statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        """Return (result, status); an Unschedulable status's reasons join the event text."""
        return None, Status(Code.Unschedulable)


class PreScorePlugin(Plugin):
    """Runs once per pod before Score, over the nodes that passed the filters."""

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """None to go on; Skip turns this plugin's Score off for the pod."""
        return None


class ScoreExtensions:
    """What a Score plugin may add: NormalizeScore over all nodes' raw scores."""

    def normalize_score(self, state: CycleState, pod: Mapping[str, Any],
                        scores: list[NodeScore]) -> Status | None:
        """Rewrite ``scores`` in place into [0, MaxNodeScore]."""
        return None


class ScorePlugin(Plugin):
    """Ranks a feasible node: an int, later normalized to 0..100 and weighted."""

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The node's raw score; raise to fail the cycle (an Error status)."""
        return 0

    def score_extensions(self) -> ScoreExtensions | None:
        """An object with normalize_score, or None (return ``self`` to normalize)."""
        return None


class ReservePlugin(Plugin):
    """Claims what the pod will use on the chosen node before it is bound."""

    def reserve(self, state: CycleState, pod: Mapping[str, Any], node_name: str
                ) -> Status | None:
        """None on success."""
        return None

    def unreserve(self, state: CycleState, pod: Mapping[str, Any], node_name: str) -> None:
        """Undo reserve when a later step fails."""


class BindPlugin(Plugin):
    """Binds the pod to the node (the default binder POSTs ``pods/binding``)."""

    def bind(self, state: CycleState, pod: Mapping[str, Any], node_name: str) -> Status | None:
        """None on success; Skip to let the next Bind plugin do it."""
        return Status(Code.Skip)


# Extension points in frameworkImpl.getExtensionPoints order, with the config field name
# and the Go interface name upstream's errors print.
EXTENSION_POINTS: dict[str, type[Plugin]] = {
    "preFilter": PreFilterPlugin,
    "filter": FilterPlugin,
    "postFilter": PostFilterPlugin,
    "reserve": ReservePlugin,
    "preScore": PreScorePlugin,
    "score": ScorePlugin,
    "bind": BindPlugin,
}


def extension_points_of(plugin: Plugin) -> list[str]:
    """The extension points (config names) a plugin implements."""
    return [point for point, base in EXTENSION_POINTS.items() if isinstance(plugin, base)]


# -- Profile -----------------------------------------------------------------------------------

class Profile:
    """A scheduler profile: which plugins run at each extension point, and score weights.

    Build one from plugins with :meth:`Profile.of` (each plugin joins every extension
    point it implements, as ``multiPoint`` does), or from a KubeSchedulerConfiguration
    with :func:`kubelearn.scheduler.config.load_scheduler_config`.
    """

    def __init__(self, scheduler_name: str = DEFAULT_SCHEDULER_NAME, *,
                 plugins: Mapping[str, Sequence[Plugin]] | None = None,
                 score_weights: Mapping[str, int] | None = None,
                 percentage_of_nodes_to_score: int | None = None,
                 not_implemented: Iterable[str] = ()) -> None:
        self.scheduler_name = scheduler_name
        self.plugins: dict[str, list[Plugin]] = {p: [] for p in EXTENSION_POINTS}
        for point, plugins_at in (plugins or {}).items():
            if point not in EXTENSION_POINTS:
                raise ValueError(f"unknown extension point {point!r}")
            self.plugins[point] = list(plugins_at)
        self.score_weights: dict[str, int] = dict(score_weights or {})
        for pl in self.plugins["score"]:
            self.score_weights.setdefault(pl.name, 1)
        self.percentage_of_nodes_to_score = percentage_of_nodes_to_score
        # Upstream plugins this profile enables that kubelearn does not implement.
        self.not_implemented = list(not_implemented)

    @classmethod
    def of(cls, plugins: Iterable[Plugin | tuple[Plugin, int]],
           scheduler_name: str = DEFAULT_SCHEDULER_NAME,
           percentage_of_nodes_to_score: int | None = None) -> Profile:
        """A profile running each plugin at every extension point it implements.

        Give ``(plugin, weight)`` to weight a Score plugin; the weight defaults to 1.
        """
        by_point: dict[str, list[Plugin]] = {p: [] for p in EXTENSION_POINTS}
        weights: dict[str, int] = {}
        for item in plugins:
            plugin, weight = item if isinstance(item, tuple) else (item, 0)
            for point in extension_points_of(plugin):
                by_point[point].append(plugin)
            if isinstance(plugin, ScorePlugin):
                weights[plugin.name] = weight or 1  # a weight of 0 means 1 (getScoreWeights)
        return cls(scheduler_name, plugins=by_point, score_weights=weights,
                   percentage_of_nodes_to_score=percentage_of_nodes_to_score)

    def plugin(self, name: str) -> Plugin:
        """The enabled plugin called ``name``."""
        for plugins_at in self.plugins.values():
            for pl in plugins_at:
                if pl.name == name:
                    return pl
        raise KeyError(name)

    @property
    def filter_plugins(self) -> list[Plugin]:
        """The Filter plugins, in order."""
        return self.plugins["filter"]

    @property
    def score_plugins(self) -> list[Plugin]:
        """The Score plugins, in order."""
        return self.plugins["score"]

    def __repr__(self) -> str:
        points = ", ".join(f"{p}={[pl.name for pl in pls]}" for p, pls in self.plugins.items()
                           if pls)
        return f"Profile({self.scheduler_name!r}, {points})"


# -- filtering ---------------------------------------------------------------------------------

def _snapshot(nodes: Snapshot | Iterable[NodeInfo]) -> Snapshot:
    return nodes if isinstance(nodes, Snapshot) else Snapshot(nodes)


def run_pre_filter_plugins(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                           nodes: Sequence[NodeInfo]
                           ) -> tuple[PreFilterResult | None, Status | None, list[str]]:
    """Run every PreFilter plugin; stop at the first rejection (RunPreFilterPlugins).

    Returns the merged shortlist, the rejecting status if any, and the plugins that
    shortlisted nodes.
    """
    result: PreFilterResult | None = None
    with_nodes: list[str] = []
    for pl in profile.plugins["preFilter"]:
        try:
            r, s = pl.pre_filter(state, pod, nodes)
        except Exception as e:  # a plugin bug is an Error status, as upstream's AsStatus
            raise FrameworkError(f'running PreFilter plugin "{pl.name}": {e}') from e
        if s is not None and s.is_skip():
            state.skip_filter_plugins.add(pl.name)
            continue
        if s is not None and not s.is_success():
            s.with_plugin(pl.name)
            if s.is_rejected():
                return None, s, [pl.name]
            raise FrameworkError(f'running PreFilter plugin "{pl.name}": {s.message()}')
        if r is not None and not r.all_nodes():
            with_nodes.append(pl.name)
        result = r if result is None else result.merge(r)
        if result is not None and not result.all_nodes() and not result.node_names:
            if len(with_nodes) == 1:
                msg = f"node(s) didn't satisfy plugin {with_nodes[0]}"
            else:
                msg = f"node(s) didn't satisfy plugin(s) [{' '.join(with_nodes)}] simultaneously"
            return result, Status(Code.UnschedulableAndUnresolvable, msg), with_nodes
    return result, None, with_nodes


def _run_filter(pl: Plugin, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
                ) -> Status | None:
    try:
        s = pl.filter(state, pod, node_info)  # type: ignore[attr-defined]
    except Exception as e:
        raise FrameworkError(f'running Filter plugin "{pl.name}": {e}') from e
    if s is not None and not s.is_success():
        if not s.is_rejected():
            raise FrameworkError(f'running Filter plugin "{pl.name}": {s.message()}')
        s.with_plugin(pl.name)
        return s
    return None


def run_filter_plugins(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                       node_info: NodeInfo) -> Status | None:
    """The first Filter plugin that rejects the node, as its status; None if all pass."""
    for pl in profile.plugins["filter"]:
        if pl.name in state.skip_filter_plugins:
            continue
        s = _run_filter(pl, state, pod, node_info)
        if s is not None:
            return s
    return None


def _priority(pod: Mapping[str, Any]) -> int:
    return (pod.get("spec") or {}).get("priority") or 0


class Handle:
    """What a plugin may use of the scheduler running it (framework.Handle).

    This base serves a profile alone -- a dry run, a test, an explanation: no pod is
    nominated anywhere, nothing is written to the API server. The scheduler's own
    handle (see :mod:`kubelearn.scheduler.scheduler`) reads its informers and writes
    through its client. ``rng`` draws preemption's random offset: a stream of its own,
    so preempting does not change the scheduler's tie-breaks.
    """

    def __init__(self, profile: Profile | None = None, rng: random.Random | None = None,
                 pdbs: Sequence[Mapping[str, Any]] = ()) -> None:
        self.profile = profile if profile is not None else Profile()
        self.rng = rng if rng is not None else random.Random(0)
        self.pdbs = list(pdbs)

    def latest(self, pod: Mapping[str, Any]) -> Mapping[str, Any]:
        """The newest version of ``pod`` the scheduler has seen."""
        return pod

    def nominated_pods(self, node_name: str) -> list[PodInfo]:
        """Pending pods nominated to ``node_name`` (PodNominator.NominatedPodsForNode)."""
        return []

    def pod_disruption_budgets(self) -> list[Mapping[str, Any]]:
        """Every PodDisruptionBudget, for preemption (getPodDisruptionBudgets: the PDB lister)."""
        return self.pdbs

    def prepare_candidate(self, node_name: str, victims: Sequence[Mapping[str, Any]],
                          preemptor: Mapping[str, Any], plugin: str) -> Status | None:
        """Evict ``victims`` to make room for ``preemptor``; None on success."""
        return None


def _run_pre_filter_extension(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                              info: PodInfo, node_info: NodeInfo, op: str) -> Status | None:
    for pl in profile.plugins["preFilter"]:
        ext = pl.pre_filter_extensions()  # type: ignore[attr-defined]
        if ext is None or pl.name in state.skip_filter_plugins:
            continue
        method = ext.add_pod if op == "AddPod" else ext.remove_pod
        try:
            s = method(state, pod, info, node_info)
        except Exception as e:
            s = Status(Code.Error, err=e)
        if s is not None and not s.is_success():
            return Status(Code.Error, f'running {op} on PreFilter plugin "{pl.name}": '
                          f"{s.message()}", plugin=pl.name)
    return None


def run_pre_filter_extension_add_pod(profile: Profile, state: CycleState,
                                     pod: Mapping[str, Any], info: PodInfo,
                                     node_info: NodeInfo) -> Status | None:
    """Tell every PreFilter state that ``info`` runs on the node (RunPreFilterExtensionAddPod).

    Plugins whose PreFilter returned Skip have no state to update. An Error status
    if a plugin fails.
    """
    return _run_pre_filter_extension(profile, state, pod, info, node_info, "AddPod")


def run_pre_filter_extension_remove_pod(profile: Profile, state: CycleState,
                                        pod: Mapping[str, Any], info: PodInfo,
                                        node_info: NodeInfo) -> Status | None:
    """Tell every PreFilter state that ``info`` left the node (RunPreFilterExtensionRemovePod)."""
    return _run_pre_filter_extension(profile, state, pod, info, node_info, "RemovePod")


def add_ge_nominated_pods(handle: Handle, state: CycleState, pod: Mapping[str, Any],
                          node_info: NodeInfo) -> tuple[bool, CycleState, NodeInfo]:
    """The node and state with the pods nominated there at ``pod``'s priority or above.

    Works on copies; returns whether any pod was added (addGENominatedPods). Raises
    :class:`FrameworkError` if a PreFilter extension fails.
    """
    nominated = ge_nominated_pods(handle, pod, node_info.name)
    if not nominated:
        return False, state, node_info
    node_out, state_out = node_info.snapshot(), state.clone()
    for pi in nominated:
        node_out.add_pod(pi)
        s = run_pre_filter_extension_add_pod(handle.profile, state_out, pod, pi, node_out)
        if s is not None:
            raise FrameworkError(s.message())
    return True, state_out, node_out


def ge_nominated_pods(handle: Handle, pod: Mapping[str, Any], node_name: str) -> list[PodInfo]:
    """The other pods nominated to ``node_name`` whose priority is at least ``pod``'s."""
    nominated = handle.nominated_pods(node_name)
    if not nominated:
        return []
    priority = _priority(pod)
    return [pi for pi in nominated
            if _priority(pi.pod) >= priority and not _same_pod(pi.pod, pod)]


def _same_pod(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """The same pod: by uid, or by namespace and name where one has no uid (a test's)."""
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    if ma.get("uid") and mb.get("uid"):
        return ma["uid"] == mb["uid"]
    return (ma.get("namespace") or "default", ma.get("name")) == (
        mb.get("namespace") or "default", mb.get("name"))


def run_filter_plugins_with_nominated_pods(handle: Handle, state: CycleState,
                                           pod: Mapping[str, Any], node_info: NodeInfo
                                           ) -> Status | None:
    """The filters, with pods nominated to the node at the pod's priority or above counted.

    Such pods will take the room they were promised, so the pod must fit beside them
    -- and without them too, as they may go elsewhere: pod affinity to a nominated
    pod must not be what lets the pod in (RunFilterPluginsWithNominatedPods). The
    nominated pods count in the NodeInfo (resources, ports) and, through AddPod,
    in the PreFilter states (spreading and affinity counts).
    """
    added, state_with, node_with = add_ge_nominated_pods(handle, state, pod, node_info)
    if added:
        s = run_filter_plugins(handle.profile, state_with, pod, node_with)
        if s is not None:
            return s
    return run_filter_plugins(handle.profile, state, pod, node_info)


def filter_statuses(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                    node_info: NodeInfo) -> dict[str, Status | None]:
    """Every Filter plugin's verdict on one node -- not only the first failure.

    A plugin whose PreFilter returned Skip reports a Skip status. What an explain
    table shows; the scheduler itself stops at the first failure.
    """
    out: dict[str, Status | None] = {}
    for pl in profile.plugins["filter"]:
        if pl.name in state.skip_filter_plugins:
            out[pl.name] = Status(Code.Skip, plugin=pl.name)
        else:
            out[pl.name] = _run_filter(pl, state, pod, node_info)
    return out


@dataclass
class FilterResult:
    """Which nodes a pod fits and why the others were rejected (findNodesThatFitPod)."""

    state: CycleState
    num_all_nodes: int
    feasible: list[NodeInfo] = field(default_factory=list)
    statuses: dict[str, Status] = field(default_factory=dict)  # rejected nodes only
    absent_status: Status = field(
        default_factory=lambda: Status(Code.UnschedulableAndUnresolvable))
    pre_filter_msg: str = ""

    def fit_error_message(self, post_filter_msg: str = "") -> str:
        """``0/N nodes are available: ...`` for this result (FitError.Error)."""
        return fit_error_message(self.num_all_nodes, self.statuses, self.pre_filter_msg,
                                 post_filter_msg, absent_status=self.absent_status)

    def failed_scheduling_message(self, **kwargs: bool) -> str:
        """The FailedScheduling event text a default kube-scheduler would write."""
        return failed_scheduling_message(self.num_all_nodes, self.statuses, self.pre_filter_msg,
                                         absent_status=self.absent_status, **kwargs)


def run_filters(profile: Profile, pod: Mapping[str, Any], nodes: Snapshot | Iterable[NodeInfo],
                state: CycleState | None = None) -> FilterResult:
    """Run PreFilter then every node through the Filter plugins.

    Checks all nodes; the adaptive cut-off of :func:`num_feasible_nodes_to_find`
    is the scheduling cycle's business. Returns the feasible nodes and, for each
    rejected node, the status of the first plugin that rejected it.
    """
    snapshot = _snapshot(nodes)
    state = state if state is not None else CycleState(snapshot)
    node_list = snapshot.node_infos
    result = FilterResult(state, len(node_list))
    pre_res, s, plugins = run_pre_filter_plugins(profile, state, pod, node_list)
    if s is not None:  # a rejection: every node gets the same status
        result.absent_status = s
        result.pre_filter_msg = s.message()
        return result
    if pre_res is not None and not pre_res.all_nodes():
        shortlist = pre_res.node_names or set()
        node_list = [n for n in node_list if n.name in shortlist]
        result.absent_status = Status(
            Code.UnschedulableAndUnresolvable,
            f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins))}]")
    for node_info in node_list:
        s = run_filter_plugins(profile, state, pod, node_info)
        if s is None:
            result.feasible.append(node_info)
        else:
            result.statuses[node_info.name] = s
    return result


def run_post_filter_plugins(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                            statuses: Mapping[str, Status]
                            ) -> tuple[PostFilterResult | None, Status]:
    """Run PostFilter plugins until one succeeds; reasons accumulate (RunPostFilterPlugins)."""
    result: PostFilterResult | None = None
    reasons: list[str] = []
    rejector = ""
    for pl in profile.plugins["postFilter"]:
        r, s = pl.post_filter(state, pod, statuses)  # type: ignore[attr-defined]
        if s.is_success():
            return r, s
        if s.code == Code.UnschedulableAndUnresolvable:
            return r, s.with_plugin(pl.name)
        if not s.is_rejected():
            raise FrameworkError(f'running PostFilter plugin "{pl.name}": {s.message()}')
        if r is not None:
            result = r
        reasons.extend(s.all_reasons())
        rejector = rejector or pl.name
    return result, Status(Code.Unschedulable, *reasons, plugin=rejector)


# -- scoring -----------------------------------------------------------------------------------

def run_pre_score_plugins(profile: Profile, state: CycleState, pod: Mapping[str, Any],
                          nodes: Sequence[NodeInfo]) -> None:
    """Run every PreScore plugin; Skip switches that plugin's Score off (RunPreScorePlugins)."""
    for pl in profile.plugins["preScore"]:
        try:
            s = pl.pre_score(state, pod, nodes)  # type: ignore[attr-defined]
        except Exception as e:
            raise FrameworkError(f'running PreScore plugin "{pl.name}": {e}') from e
        if s is not None and s.is_skip():
            state.skip_score_plugins.add(pl.name)
        elif s is not None and not s.is_success():
            raise FrameworkError(f'running PreScore plugin "{pl.name}": {s.message()}')


def score_plugin(pl: ScorePlugin, state: CycleState, pod: Mapping[str, Any],
                 nodes: Sequence[NodeInfo]) -> list[NodeScore]:
    """One plugin's scores for ``nodes``, normalized if it has NormalizeScore."""
    try:
        scores = [NodeScore(n.name, int(pl.score(state, pod, n))) for n in nodes]
        ext = pl.score_extensions()
        s = ext.normalize_score(state, pod, scores) if ext is not None else None
    except Exception as e:
        raise FrameworkError(f'running Score plugin "{pl.name}": {e}') from e
    if s is not None and not s.is_success():
        raise FrameworkError(f'running Normalize on Score plugin "{pl.name}": {s.message()}')
    for ns in scores:
        if not MIN_NODE_SCORE <= ns.score <= MAX_NODE_SCORE:
            raise FrameworkError(
                f'plugin "{pl.name}" returns an invalid score {ns.score}, it should in the range '
                f"of [{MIN_NODE_SCORE}, {MAX_NODE_SCORE}] after normalizing")
    return scores


def run_scores(profile: Profile, pod: Mapping[str, Any], nodes: Snapshot | Iterable[NodeInfo],
               state: CycleState | None = None) -> list[NodePluginScores]:
    """PreScore, Score and NormalizeScore for ``nodes``; per-plugin scores and weighted totals.

    ``nodes`` are the nodes to rank (the feasible ones). Pass the ``state`` that
    :func:`run_filters` returned so plugins see their PreFilter results and the
    whole cluster's snapshot; a fresh state sees only ``nodes``.
    """
    node_list = list(nodes)
    state = state if state is not None else CycleState(_snapshot(node_list))
    run_pre_score_plugins(profile, state, pod, node_list)
    result = [NodePluginScores(n.name) for n in node_list]
    for pl in profile.plugins["score"]:
        if pl.name in state.skip_score_plugins:
            continue
        weight = profile.score_weights.get(pl.name, 1)
        for total, ns in zip(result, score_plugin(pl, state, pod, node_list), strict=True):
            total.scores[pl.name] = ns.score
            total.total_score += ns.score * weight
    return result


def select_host(scores: Sequence[NodePluginScores], rng: random.Random) -> str:
    """The node with the highest total; ties broken at random (selectHost).

    Upstream samples the top-scoring nodes reservoir-style as it pops them off a
    heap: each is equally likely. Here one draw picks among them in list order --
    the same odds, and a vectorised scheduler can make the very same draw.
    """
    if not scores:
        raise ValueError("empty priorityList")
    best = max(ns.total_score for ns in scores)
    top = [ns for ns in scores if ns.total_score == best]
    if len(top) == 1:
        return top[0].name
    return top[rng.randrange(len(top))].name


# -- the FailedScheduling message --------------------------------------------------------------

def _histogram(counts: Mapping[str, int]) -> str:
    """``2 Insufficient cpu, 3 node(s) ...``: count then reason, sorted as strings."""
    return ", ".join(sorted(f"{n} {reason}" for reason, n in counts.items()))


def fit_error_message(num_all_nodes: int, statuses: Mapping[str, Status | None],
                      pre_filter_msg: str = "", post_filter_msg: str = "", *,
                      absent_status: Status | None = None) -> str:
    """Why no node fits, worded as FitError.Error().

    ``statuses`` maps each rejected node to its status; every reason is counted once
    per node and the counts are sorted. Nodes missing from ``statuses`` count under
    ``absent_status``'s reasons. A PreFilter rejection replaces the per-node reasons.
    """
    msg = NO_NODE_AVAILABLE_MSG.format(num_all_nodes) + ":"
    if pre_filter_msg:
        msg += f" {pre_filter_msg}."
    else:
        counts: dict[str, int] = {}
        explicit = [s for s in statuses.values() if s is not None]
        for s in explicit:
            for reason in s.all_reasons():
                counts[reason] = counts.get(reason, 0) + 1
        absent = num_all_nodes - len(statuses)
        if absent > 0 and absent_status is not None:
            for reason in absent_status.all_reasons():
                counts[reason] = counts.get(reason, 0) + absent
        if counts:
            msg += f" {_histogram(counts)}."
    if post_filter_msg:
        msg += f" {post_filter_msg}"
    return msg


def preemption_message(num_all_nodes: int, statuses: Mapping[str, Status | None], *,
                       absent_status: Status | None = None) -> str:
    """DefaultPreemption's PostFilter message when no node has a lower-priority pod.

    Preemption only tries nodes a filter rejected as plain Unschedulable; there no pod
    has a lower priority than the incoming one -- the case in a cluster without
    PriorityClasses -- so none has victims. Every other node is not worth trying.
    With priorities, :class:`~kubelearn.scheduler.plugins.default_preemption.DefaultPreemption`
    works the message out node by node.
    """
    candidates = sum(1 for s in statuses.values()
                     if s is not None and s.code == Code.Unschedulable)
    if absent_status is not None and absent_status.code == Code.Unschedulable:
        candidates += num_all_nodes - len(statuses)
    counts = {NO_PREEMPTION_VICTIMS: candidates,
              PREEMPTION_NOT_HELPFUL: num_all_nodes - candidates}
    counts = {reason: n for reason, n in counts.items() if n > 0}
    return f"preemption: {NO_NODE_AVAILABLE_MSG.format(num_all_nodes)}: {_histogram(counts)}."


def failed_scheduling_message(num_all_nodes: int, statuses: Mapping[str, Status | None],
                              pre_filter_msg: str = "", *, absent_status: Status | None = None,
                              dynamic_resources: bool = FEATURE_GATES["DynamicResourceAllocation"],
                              preemption: bool = True) -> str:
    """The FailedScheduling event text of a default kube-scheduler, no pod having lower priority.

    The filter reasons, then what the default PostFilter plugins said: DefaultPreemption
    (``preemption: 0/N nodes are available: ...``) and, only where the
    DynamicResourceAllocation gate adds that plugin (off in v1.32, on from v1.34),
    DynamicResources (``no new claims to deallocate``) before it. Both off gives the
    bare :func:`fit_error_message`.
    """
    post: list[str] = []
    if dynamic_resources:
        post.append(NO_NEW_CLAIMS_TO_DEALLOCATE)
    if preemption:
        post.append(preemption_message(num_all_nodes, statuses, absent_status=absent_status))
    return fit_error_message(num_all_nodes, statuses, pre_filter_msg, ", ".join(post),
                             absent_status=absent_status)
