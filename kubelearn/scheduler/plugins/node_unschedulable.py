"""NodeUnschedulable: keep pods off cordoned nodes (``spec.unschedulable: true``).

A pod that tolerates the ``node.kubernetes.io/unschedulable:NoSchedule`` taint may
still go there (DaemonSet pods do). A port of
pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go.

:meth:`NodeUnschedulable.filter_mask` is the Filter for many nodes at once (the
vectorised scheduler's path), from a column of the nodes' ``spec.unschedulable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kubelearn.scheduler.framework import Code, CycleState, FilterPlugin, Status
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.helper import (
    NO_SCHEDULE,
    pod_tolerations,
    tolerations_tolerate_taint,
)

NAME = "NodeUnschedulable"
ERR_REASON_UNSCHEDULABLE = "node(s) were unschedulable"  # ErrReasonUnschedulable
TAINT_NODE_UNSCHEDULABLE = "node.kubernetes.io/unschedulable"  # v1.TaintNodeUnschedulable


def tolerates_unschedulable(pod: Mapping[str, Any]) -> bool:
    """True if the pod tolerates ``node.kubernetes.io/unschedulable:NoSchedule``.

    Upstream's Filter asks this of the taint it makes up for a cordoned node
    (the node need not carry it).
    """
    taint = {"key": TAINT_NODE_UNSCHEDULABLE, "effect": NO_SCHEDULE}
    return tolerations_tolerate_taint(pod_tolerations(pod), taint)


class NodeUnschedulable(FilterPlugin):
    """Filter: reject a cordoned node unless the pod tolerates it."""

    name = NAME

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable if the node is unschedulable and the pod does not tolerate that."""
        if not node_info.unschedulable or tolerates_unschedulable(pod):
            return None
        return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE)

    @staticmethod
    def filter_mask(unschedulable: np.ndarray) -> np.ndarray:
        """:meth:`filter` for many nodes at once, for a pod that does not tolerate cordons.

        ``unschedulable`` holds each node's ``spec.unschedulable``; True where the
        pod may go. (A pod for which :func:`tolerates_unschedulable` holds passes on
        every node: ask that once per pod, then no column is needed.)
        """
        return ~unschedulable
