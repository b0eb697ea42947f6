"""TaintToleration: taints keep pods away; tolerations let them in.

- Filter: a NoSchedule or NoExecute taint the pod does not tolerate rejects the node.
- Score: count the PreferNoSchedule taints the pod does not tolerate; NormalizeScore
  reverses it, so the node with most such taints scores 0 and nodes with none 100.

A port of pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go. The
message no longer names the taint: since v1.35 it says ``node(s) had untolerated
taint(s)`` (PR #134740, backported to v1.34; taint keys and values may be
confidential). Before: ``node(s) had untolerated taint {key: value}``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelearn.scheduler.framework import (
    MAX_NODE_SCORE,
    Code,
    CycleState,
    FilterPlugin,
    NodeScore,
    PreScorePlugin,
    ScoreExtensions,
    ScorePlugin,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.helper import (
    PREFER_NO_SCHEDULE,
    default_normalize_score,
    find_matching_untolerated_taint,
    pod_tolerations,
    tolerations_tolerate_taint,
)

NAME = "TaintToleration"
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint(s)"  # taint_toleration.go, PR #134740
PRE_SCORE_STATE_KEY = "PreScore" + NAME


def prefer_no_schedule_tolerations(tolerations: Sequence[Mapping[str, Any]]
                                   ) -> list[Mapping[str, Any]]:
    """Tolerations with effect PreferNoSchedule or no effect (getAllTolerationPreferNoSchedule)."""
    return [t for t in tolerations if (t.get("effect") or "") in ("", PREFER_NO_SCHEDULE)]


def count_intolerable_taints_prefer_no_schedule(taints: Sequence[Mapping[str, Any]],
                                                tolerations: Sequence[Mapping[str, Any]]) -> int:
    """How many PreferNoSchedule taints no toleration tolerates."""
    return sum(1 for t in taints if t.get("effect") == PREFER_NO_SCHEDULE
               and not tolerations_tolerate_taint(tolerations, t))


class TaintToleration(FilterPlugin, PreScorePlugin, ScorePlugin, ScoreExtensions):
    """Filter on NoSchedule/NoExecute taints; score down PreferNoSchedule ones."""

    name = NAME

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable if a NoSchedule or NoExecute taint is not tolerated."""
        if find_matching_untolerated_taint(node_info.taints, pod_tolerations(pod)) is None:
            return None
        return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_NOT_MATCH)

    def pre_score(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                  ) -> Status | None:
        """Keep only the tolerations that matter for PreferNoSchedule taints."""
        state.write(PRE_SCORE_STATE_KEY, prefer_no_schedule_tolerations(pod_tolerations(pod)))
        return None

    def score(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo) -> int:
        """The number of untolerated PreferNoSchedule taints (reversed by normalize_score)."""
        try:
            tolerations = state.read(PRE_SCORE_STATE_KEY)
        except KeyError as e:
            raise RuntimeError(f'failed to read "{PRE_SCORE_STATE_KEY}" from cycleState: '
                               "not found") from e
        return count_intolerable_taints_prefer_no_schedule(node_info.taints, tolerations)

    def score_extensions(self) -> ScoreExtensions:
        """TaintToleration normalizes its scores."""
        return self

    def normalize_score(self, state: CycleState, pod: Mapping[str, Any],
                        scores: list[NodeScore]) -> Status | None:
        """Fewest untolerated taints -> 100 (DefaultNormalizeScore, reversed)."""
        default_normalize_score(MAX_NODE_SCORE, True, scores)
        return None
