"""TaintToleration: taints keep pods away; tolerations let them in.

- Filter: a NoSchedule or NoExecute taint the pod does not tolerate rejects the node.
- Score: count the PreferNoSchedule taints the pod does not tolerate; NormalizeScore
  reverses it, so the node with most such taints scores 0 and nodes with none 100.

A port of pkg/scheduler/framework/plugins/tainttoleration/taint_toleration.go. In the
modelled v1.32 the filter names the first untolerated taint, ``node(s) had untolerated
taint {key: value}``; from v1.35 (PR #134740, backported to v1.34) it says only
``node(s) had untolerated taint(s)``, as taint keys and values may be confidential.

:meth:`TaintToleration.filter_mask` is the Filter and :meth:`TaintToleration.score_nodes`
Score and NormalizeScore for many nodes at once (the vectorised scheduler's path): the
cluster's distinct taints are numbered, each node's taints kept as bits, and
:func:`untolerated_taints` picks the numbers of those a pod does not tolerate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

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
    DO_NOT_SCHEDULE_EFFECTS,
    PREFER_NO_SCHEDULE,
    default_normalize_columns,
    default_normalize_score,
    find_matching_untolerated_taint,
    pod_tolerations,
    tolerations_tolerate_taint,
)
from kubelearn.version import since

NAME = "TaintToleration"
# taint_toleration.go Filter errReason: v1.32 names the taint (Go's "{%s: %s}" of key, value)
ERR_REASON_NOT_MATCH = "node(s) had untolerated taint {{{key}: {value}}}"
ERR_REASON_UNTOLERATED_TAINTS = "node(s) had untolerated taint(s)"  # v1.35+, PR #134740
PRE_SCORE_STATE_KEY = "PreScore" + NAME


def untolerated_taint_reason(taint: Mapping[str, Any]) -> str:
    """The Filter's reason for a node whose ``taint`` the pod does not tolerate."""
    if since(34):  # the later wording, backported to v1.34
        return ERR_REASON_UNTOLERATED_TAINTS
    return ERR_REASON_NOT_MATCH.format(key=taint.get("key") or "", value=taint.get("value") or "")


def prefer_no_schedule_tolerations(tolerations: Sequence[Mapping[str, Any]]
                                   ) -> list[Mapping[str, Any]]:
    """Tolerations with effect PreferNoSchedule or no effect (getAllTolerationPreferNoSchedule)."""
    return [t for t in tolerations if (t.get("effect") or "") in ("", PREFER_NO_SCHEDULE)]


def count_intolerable_taints_prefer_no_schedule(taints: Sequence[Mapping[str, Any]],
                                                tolerations: Sequence[Mapping[str, Any]]) -> int:
    """How many PreferNoSchedule taints no toleration tolerates."""
    return sum(1 for t in taints if t.get("effect") == PREFER_NO_SCHEDULE
               and not tolerations_tolerate_taint(tolerations, t))


def untolerated_taints(taints: Sequence[Mapping[str, Any]],
                       tolerations: Sequence[Mapping[str, Any]],
                       effects: Sequence[str] = DO_NOT_SCHEDULE_EFFECTS) -> list[int]:
    """The positions in ``taints`` of those with one of ``effects`` no toleration tolerates.

    Over the cluster's distinct taints: with the default effects these are the taints
    Filter rejects a node for (find_matching_untolerated_taint with upstream's
    doNotScheduleTaintsFilterFunc); with PreferNoSchedule, the ones Score counts.
    """
    return [i for i, t in enumerate(taints)
            if t.get("effect") in effects and not tolerations_tolerate_taint(tolerations, t)]


class TaintToleration(FilterPlugin, PreScorePlugin, ScorePlugin, ScoreExtensions):
    """Filter on NoSchedule/NoExecute taints; score down PreferNoSchedule ones."""

    name = NAME

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable if a NoSchedule or NoExecute taint is not tolerated."""
        taint = find_matching_untolerated_taint(node_info.taints, pod_tolerations(pod))
        if taint is None:
            return None
        return Status(Code.UnschedulableAndUnresolvable, untolerated_taint_reason(taint))

    @staticmethod
    def filter_mask(taint_bits: np.ndarray, untolerated: np.ndarray) -> np.ndarray:
        """:meth:`filter` for many nodes at once: True where the pod may go.

        ``taint_bits`` has one column per node and one row per 64 of the cluster's
        distinct taints: bit ``i % 64`` of row ``i // 64`` is set where the node has
        taint ``i``. ``untolerated`` is one such column with the bits of the taints
        :func:`untolerated_taints` gives for the pod. A node passes if it has none
        of them -- one AND per word, however many taints.
        """
        return ~(taint_bits & untolerated[:, None]).any(axis=0)

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

    def score_nodes(self, pod: Mapping[str, Any],
                    count_untolerated: Callable[[Sequence[Mapping[str, Any]]], np.ndarray | None]
                    ) -> np.ndarray | int:
        """:meth:`score` then :meth:`normalize_score`, the same numbers for many nodes.

        ``count_untolerated(tolerations)`` gives each node's number of PreferNoSchedule
        taints the tolerations leave, or None when no node has one -- then every node
        scores 100 (returned as one int).
        """
        counts = count_untolerated(prefer_no_schedule_tolerations(pod_tolerations(pod)))
        if counts is None:
            return MAX_NODE_SCORE
        return default_normalize_columns(counts, True)
