"""NodeUnschedulable: keep pods off cordoned nodes (``spec.unschedulable: true``).

A pod that tolerates the ``node.kubernetes.io/unschedulable:NoSchedule`` taint may
still go there (DaemonSet pods do). A port of
pkg/scheduler/framework/plugins/nodeunschedulable/node_unschedulable.go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


class NodeUnschedulable(FilterPlugin):
    """Filter: reject a cordoned node unless the pod tolerates it."""

    name = NAME

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable if the node is unschedulable and the pod does not tolerate that."""
        if not node_info.unschedulable:
            return None
        taint = {"key": TAINT_NODE_UNSCHEDULABLE, "effect": NO_SCHEDULE}
        if tolerations_tolerate_taint(pod_tolerations(pod), taint):
            return None
        return Status(Code.UnschedulableAndUnresolvable, ERR_REASON_UNSCHEDULABLE)
