"""DefaultPreemption: when no node fits a pod, evict lower-priority pods to make room.

A PostFilter plugin: it runs only after every node failed the filters.

1. **Eligible?** A pod with ``preemptionPolicy: Never`` does not preempt; nor does a
   pod already nominated to a node where a pod it preempted is still terminating --
   it waits for that room (PodEligibleToPreemptOthers).
2. **Candidates.** Only nodes a filter rejected as plain ``Unschedulable`` might
   help; ``UnschedulableAndUnresolvable`` ones (a taint, a nodeSelector) never will.
   From a seeded random offset it dry-runs them in turn until it has
   ``max(10% of them, 100)`` candidates (minCandidateNodesPercentage /
   minCandidateNodesAbsolute). On each, :func:`select_victims_on_node` removes every
   lower-priority pod, checks the pod now passes the filters, then *reprieves*
   victims, most important first, as long as the pod still fits.
3. **Pick one** (:func:`pick_one_node_for_preemption`): fewest PodDisruptionBudget
   violations, then the lowest highest-priority victim, the smallest sum of
   priorities, the fewest victims, the latest start of its top-priority victims,
   then the first.
4. **Prepare**: each victim gets the ``DisruptionTarget`` condition (reason
   ``PreemptionByScheduler``) and is deleted gracefully, with a ``Preempted`` event;
   lower-priority pods nominated to that node lose their nomination. The scheduler
   then sets the preemptor's ``status.nominatedNodeName``; the preemptor waits in
   the queue until the victims are gone.

With no candidate, the PostFilter message says why per node: ``preemption: 0/3 nodes
are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims
found for incoming pod.``

A port of pkg/scheduler/framework/plugins/defaultpreemption/default_preemption.go and
pkg/scheduler/framework/preemption/preemption.go, v1.32, synchronous (async
preemption is alpha and off in v1.32). PodDisruptionBudgets come from the scheduler's
informer (:meth:`Handle.pod_disruption_budgets`); a victim *violates* one when the
budget's ``disruptionsAllowed`` is used up (:func:`filter_pods_with_pdb_violation`).
Extenders and waiting (Permit) pods do not exist here.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubelearn.api import Path
from kubelearn.api.errors import FieldError, aggregate
from kubelearn.api.policy import pdb_matches_pod
from kubelearn.api.scheduling import PREEMPT_NEVER, pod_priority
from kubelearn.scheduler.framework import (
    Code,
    CycleState,
    FrameworkError,
    Handle,
    NodeToStatus,
    PostFilterPlugin,
    PostFilterResult,
    Status,
    fit_error_message,
    run_filter_plugins_with_nominated_pods,
    run_pre_filter_extension_add_pod,
    run_pre_filter_extension_remove_pod,
)
from kubelearn.scheduler.nodeinfo import NodeInfo, PodInfo

NAME = "DefaultPreemption"
DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE = 10  # apis/config/v1/defaults.go DefaultPreemptionArgs
DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE = 100  # apis/config/v1/defaults.go DefaultPreemptionArgs
# default_preemption.go and preemption.go
ERR_NO_VICTIMS = "No preemption victims found for incoming pod"
ERR_NOT_HELPFUL = "Preemption is not helpful for scheduling"
ERR_POLICY_NEVER = "not eligible due to preemptionPolicy=Never."
ERR_TERMINATING_ON_NOMINATED = "not eligible due to a terminating pod on the nominated node."
ERR_NO_CANDIDATE = "no candidate node for preemption"
ERR_NO_VICTIM_ON_NODE = 'expected at least one victim pod on node "{}"'
# preemption.go PreemptPod: the victim's condition and event
DISRUPTION_TARGET = "DisruptionTarget"  # v1.DisruptionTarget
REASON_PREEMPTION_BY_SCHEDULER = "PreemptionByScheduler"  # v1.PodReasonPreemptionByScheduler
CONDITION_MESSAGE = "{}: preempting to accommodate a higher priority pod"  # scheduler name
EVENT_MESSAGE = "Preempted by pod {} on node {}"  # preemptor uid, node (since v1.29)
MAX_INT32 = 2**31 - 1
NOT_STARTED = "~"  # GetPodStartTime is Now for a pod not started: later than any start time

# -- args ----------------------------------------------------------------------------------------

@dataclass
class DefaultPreemptionArgs:
    """pluginConfig args: how many candidate nodes to dry-run, as a share and a floor."""

    min_candidate_nodes_percentage: int = DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE
    min_candidate_nodes_absolute: int = DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE

    @classmethod
    def from_dict(cls, args: Mapping[str, Any] | None) -> DefaultPreemptionArgs:
        """Read the YAML form; an absent field takes its default."""
        args = args or {}
        pct = args.get("minCandidateNodesPercentage")
        absolute = args.get("minCandidateNodesAbsolute")
        return cls(DEFAULT_MIN_CANDIDATE_NODES_PERCENTAGE if pct is None else pct,
                   DEFAULT_MIN_CANDIDATE_NODES_ABSOLUTE if absolute is None else absolute)

    def validate(self, path: Path) -> list[FieldError]:
        """ValidateDefaultPreemptionArgs (validation_pluginargs.go)."""
        errs = []
        pct, absolute = self.min_candidate_nodes_percentage, self.min_candidate_nodes_absolute
        if not 0 <= pct <= 100:
            errs.append(FieldError.invalid(path.child("minCandidateNodesPercentage"), pct,
                                           "not in valid range [0, 100]"))
        if absolute < 0:
            errs.append(FieldError.invalid(path.child("minCandidateNodesAbsolute"), absolute,
                                           "not in valid range [0, inf)"))
        if pct == 0 and absolute == 0:
            errs.append(FieldError.invalid(
                path, "", "at least one of minCandidateNodesPercentage and "
                "minCandidateNodesAbsolute must be positive"))
        return errs


# -- pods: priority, start time, importance ------------------------------------------------------

def pod_start_time(pod: Mapping[str, Any]) -> str:
    """status.startTime; a pod not started yet counts as starting now (GetPodStartTime)."""
    return (pod.get("status") or {}).get("startTime") or NOT_STARTED


def importance(pod: Mapping[str, Any]) -> tuple[int, str]:
    """A sort key, most important first: higher priority, then earlier start (MoreImportantPod)."""
    return -pod_priority(pod), pod_start_time(pod)


def _meta(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return pod.get("metadata") or {}


def terminating_by_preemption(pod: Mapping[str, Any]) -> bool:
    """Deleting, with DisruptionTarget=True from the scheduler (podTerminatingByPreemption)."""
    if _meta(pod).get("deletionTimestamp") is None:
        return False
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == DISRUPTION_TARGET:
            return c.get("status") == "True" and c.get("reason") == REASON_PREEMPTION_BY_SCHEDULER
    return False


# -- candidates ----------------------------------------------------------------------------------

@dataclass
class Candidate:
    """A node the preemptor could run on once ``victims`` (most important first) are gone."""

    name: str
    victims: list[Mapping[str, Any]] = field(default_factory=list)
    num_pdb_violations: int = 0


def _remove_pod(handle: Handle, state: CycleState, pod: Mapping[str, Any], node: NodeInfo,
                info: PodInfo) -> None:
    """Take a pod off the node copy and out of the PreFilter states (RemovePod)."""
    node.remove_pod(info)
    s = run_pre_filter_extension_remove_pod(handle.profile, state, pod, info, node)
    if s is not None:
        raise FrameworkError(s.message())


def _add_pod(handle: Handle, state: CycleState, pod: Mapping[str, Any], node: NodeInfo,
             info: PodInfo) -> None:
    """Put a pod back on the node copy and into the PreFilter states (AddPod)."""
    node.add_pod(info)
    s = run_pre_filter_extension_add_pod(handle.profile, state, pod, info, node)
    if s is not None:
        raise FrameworkError(s.message())


def filter_pods_with_pdb_violation(pod_infos: Sequence[PodInfo],
                                   pdbs: Sequence[Mapping[str, Any]]
                                   ) -> tuple[list[PodInfo], list[PodInfo]]:
    """Split would-be victims into those whose eviction breaks a budget and the rest.

    Goes through the pods in order, spending each matching budget's
    ``status.disruptionsAllowed``: a pod whose budget has nothing left to spend
    violates it. A pod in a budget's ``status.disruptedPods`` (its eviction is
    already counted) spends nothing; a budget with an empty selector matches no
    pod here (filterPodsWithPDBViolation). Returns (violating, non-violating).
    """
    allowed = [int((pdb.get("status") or {}).get("disruptionsAllowed") or 0) for pdb in pdbs]
    violating: list[PodInfo] = []
    non_violating: list[PodInfo] = []
    for pi in pod_infos:
        meta = pi.pod.get("metadata") or {}
        violated = False
        if meta.get("labels"):  # a pod without labels matches no budget
            for i, pdb in enumerate(pdbs):
                if not pdb_matches_pod(pdb, pi.pod, empty_selects_all=False):
                    continue
                if meta.get("name") in ((pdb.get("status") or {}).get("disruptedPods") or {}):
                    continue
                allowed[i] -= 1
                if allowed[i] < 0:
                    violated = True
        (violating if violated else non_violating).append(pi)
    return violating, non_violating


def select_victims_on_node(handle: Handle, state: CycleState, pod: Mapping[str, Any],
                           node_info: NodeInfo, pdbs: Sequence[Mapping[str, Any]] = ()
                           ) -> tuple[list[Mapping[str, Any]], int, Status]:
    """The fewest lower-priority pods to evict from ``node_info`` so ``pod`` fits there.

    Works on a copy of the node and of the cycle state: each pod taken off or put
    back goes through the PreFilter plugins' RemovePod/AddPod, so their counts
    (spreading, inter-pod affinity) follow without recounting the cluster. Returns
    the victims, most important first, how many violate one of ``pdbs`` and Success
    -- or no victims and the status saying why the node cannot help
    (SelectVictimsOnNode). Reprieve tries the pods whose eviction would break a
    budget first, so a budget is broken only when nothing else makes room. Raises
    :class:`FrameworkError` if an extension fails.
    """
    node, state = node_info.snapshot(), state.clone()
    priority = pod_priority(pod)
    potential = [pi for pi in node.pods if pod_priority(pi.pod) < priority]
    if not potential:
        return [], 0, Status(Code.UnschedulableAndUnresolvable, ERR_NO_VICTIMS)
    for pi in potential:
        _remove_pod(handle, state, pod, node, pi)
    s = run_filter_plugins_with_nominated_pods(handle, state, pod, node)
    if s is not None:  # does not fit even with every lower-priority pod gone
        return [], 0, s
    potential.sort(key=lambda pi: importance(pi.pod))  # reprieve the most important first
    violating, non_violating = filter_pods_with_pdb_violation(potential, pdbs)
    victims: list[PodInfo] = []

    def reprieve(pi: PodInfo) -> bool:
        """Put the pod back; if the preemptor no longer fits, it is a victim after all."""
        _add_pod(handle, state, pod, node, pi)
        if run_filter_plugins_with_nominated_pods(handle, state, pod, node) is None:
            return True
        _remove_pod(handle, state, pod, node, pi)
        victims.append(pi)
        return False

    num_violating = sum(not reprieve(pi) for pi in violating)
    for pi in non_violating:
        reprieve(pi)
    if violating and non_violating:  # the two passes mixed the order: most important first
        rank = {id(pi): i for i, pi in enumerate(potential)}  # equals keep their first order
        victims.sort(key=lambda pi: rank[id(pi)])
    return [pi.pod for pi in victims], num_violating, Status(Code.Success)


def calculate_num_candidates(args: DefaultPreemptionArgs, num_nodes: int) -> int:
    """``max(numNodes * pct / 100, absolute)``, at most ``numNodes`` (calculateNumCandidates)."""
    n = num_nodes * args.min_candidate_nodes_percentage // 100
    n = max(n, args.min_candidate_nodes_absolute)
    return min(n, num_nodes)


def nodes_where_preemption_might_help(nodes: Sequence[NodeInfo], statuses: NodeToStatus
                                      ) -> list[NodeInfo]:
    """The nodes a filter rejected as plain Unschedulable (NodesForStatusCode)."""
    absent = statuses.absent_status
    out = []
    for n in nodes:
        s = statuses.get(n.name, absent)
        if s is not None and s.code == Code.Unschedulable:
            out.append(n)
    return out


def dry_run_preemption(handle: Handle, state: CycleState, pod: Mapping[str, Any],
                       potential: Sequence[NodeInfo], offset: int, num_candidates: int,
                       pdbs: Sequence[Mapping[str, Any]] = ()
                       ) -> tuple[list[Candidate], NodeToStatus]:
    """Try nodes from ``offset`` on until enough candidates are found (DryRunPreemption).

    It stops once it has ``num_candidates`` and at least one of them breaks no
    budget. Returns the candidates -- those breaking no budget first -- and, for
    each node tried that is not one, why.
    """
    non_violating: list[Candidate] = []
    violating: list[Candidate] = []
    statuses = NodeToStatus()
    for i in range(len(potential)):
        node_info = potential[(offset + i) % len(potential)]
        try:
            victims, violations, s = select_victims_on_node(handle, state, pod, node_info, pdbs)
        except FrameworkError as e:
            victims, violations, s = [], 0, Status(Code.Error, err=e)
        if s.is_success() and victims:
            (violating if violations else non_violating).append(
                Candidate(node_info.name, victims, violations))
            if non_violating and len(non_violating) + len(violating) >= num_candidates:
                break
            continue
        if s.is_success():
            s = Status(Code.Error, err=RuntimeError(ERR_NO_VICTIM_ON_NODE.format(node_info.name)))
        statuses[node_info.name] = s
    return non_violating + violating, statuses


# -- picking one ---------------------------------------------------------------------------------

def _earliest_start_of_top_victims(victims: Sequence[Mapping[str, Any]]) -> str:
    """The earliest start among the highest-priority victims (GetEarliestPodStartTime)."""
    top = max(pod_priority(v) for v in victims)
    return min(pod_start_time(v) for v in victims if pod_priority(v) == top)


def pick_one_node_for_preemption(candidates: Sequence[Candidate]) -> str:
    """The candidate whose preemption hurts least, by upstream's criteria in order.

    Fewest PDB violations; lowest highest-priority victim; smallest sum of priorities
    (each shifted by 2^31 so negatives count); fewest victims; latest start of the
    highest-priority victims; then the first (pickOneNodeForPreemption).
    """
    if not candidates:
        return ""
    score_funcs = (
        lambda c: -c.num_pdb_violations,
        lambda c: -pod_priority(c.victims[0]),
        lambda c: -sum(pod_priority(v) + MAX_INT32 + 1 for v in c.victims),
        lambda c: -len(c.victims),
        lambda c: _earliest_start_of_top_victims(c.victims),
    )
    remaining = list(candidates)
    for score in score_funcs:
        best = max(score(c) for c in remaining)
        remaining = [c for c in remaining if score(c) == best]
        if len(remaining) == 1:
            break
    return remaining[0].name


# -- the plugin ----------------------------------------------------------------------------------

class DefaultPreemption(PostFilterPlugin):
    """Preempt lower-priority pods when nothing fits; nominate the node it frees."""

    name = NAME
    args_type = DefaultPreemptionArgs

    def __init__(self, args: DefaultPreemptionArgs | None = None) -> None:
        super().__init__(args or DefaultPreemptionArgs())
        errs = self.args.validate(Path("args"))
        if errs:
            raise ValueError(aggregate(errs))
        self.handle: Handle | None = None

    def set_handle(self, handle: Handle) -> None:
        """Attach the scheduler's services: client, events, the seeded offset generator."""
        self.handle = handle

    def post_filter(self, state: CycleState, pod: Mapping[str, Any],
                    statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        """Preempt; a message other than success gets the ``preemption: `` prefix."""
        result, s = self.preempt(state, pod, statuses)
        if s.message():
            return result, Status(s.code, "preemption: " + s.message())
        return result, s

    def preempt(self, state: CycleState, pod: Mapping[str, Any],
                statuses: Mapping[str, Status]) -> tuple[PostFilterResult | None, Status]:
        """Eligibility, candidates, the best one, its victims evicted (Evaluator.Preempt)."""
        handle = self.handle if self.handle is not None else Handle()
        pod = handle.latest(pod)
        m = statuses if isinstance(statuses, NodeToStatus) else NodeToStatus(statuses)
        nominated = (pod.get("status") or {}).get("nominatedNodeName") or ""
        ok, msg = self.pod_eligible_to_preempt_others(state, pod, m.get(nominated, m.absent_status)
                                                      if nominated else None)
        if not ok:
            return None, Status(Code.Unschedulable, msg)
        all_nodes = state.snapshot.node_infos
        candidates, node_statuses = self.find_candidates(handle, state, pod, m)
        if not candidates:
            message = fit_error_message(len(all_nodes), node_statuses, absent_status=Status(
                Code.UnschedulableAndUnresolvable, ERR_NOT_HELPFUL))
            return PostFilterResult(""), Status(Code.Unschedulable, message)
        best = self.select_candidate(candidates)
        s = handle.prepare_candidate(best.name, best.victims, pod, NAME)
        if s is not None:
            return None, s
        return PostFilterResult(best.name), Status(Code.Success)

    def pod_eligible_to_preempt_others(self, state: CycleState, pod: Mapping[str, Any],
                                       nominated_status: Status | None) -> tuple[bool, str]:
        """False with the reason for preemptionPolicy Never, or victims still terminating."""
        if (pod.get("spec") or {}).get("preemptionPolicy") == PREEMPT_NEVER:
            return False, ERR_POLICY_NEVER
        nominated = (pod.get("status") or {}).get("nominatedNodeName")
        if not nominated:
            return True, ""
        # the nominated node turned unresolvable (a taint came): preempt elsewhere
        if nominated_status is not None and \
                nominated_status.code == Code.UnschedulableAndUnresolvable:
            return True, ""
        try:
            node_info = state.snapshot.get(nominated)
        except KeyError:
            return True, ""
        priority = pod_priority(pod)
        for pi in node_info.pods:
            if pod_priority(pi.pod) < priority and terminating_by_preemption(pi.pod):
                return False, ERR_TERMINATING_ON_NOMINATED
        return True, ""

    def get_offset_and_num_candidates(self, rng: random.Random, num_nodes: int) -> tuple[int, int]:
        """A random start among the nodes, and how many candidates to look for."""
        return rng.randrange(num_nodes), calculate_num_candidates(self.args, num_nodes)

    def find_candidates(self, handle: Handle, state: CycleState, pod: Mapping[str, Any],
                        statuses: NodeToStatus) -> tuple[list[Candidate], NodeToStatus]:
        """Dry-run preemption on the nodes where it might help (findCandidates)."""
        potential = nodes_where_preemption_might_help(state.snapshot.node_infos, statuses)
        if not potential:
            return [], NodeToStatus()
        offset, num = self.get_offset_and_num_candidates(handle.rng, len(potential))
        return dry_run_preemption(handle, state, pod, potential, offset, num,
                                  handle.pod_disruption_budgets())

    @staticmethod
    def select_candidate(candidates: Sequence[Candidate]) -> Candidate:
        """The best candidate (SelectCandidate)."""
        if len(candidates) == 1:
            return candidates[0]
        name = pick_one_node_for_preemption(candidates)
        return next(c for c in candidates if c.name == name)
