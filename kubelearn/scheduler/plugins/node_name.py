"""NodeName: a pod that names its node (``spec.nodeName``) fits only that node.

A port of pkg/scheduler/framework/plugins/nodename/node_name.go.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.scheduler.framework import Code, CycleState, FilterPlugin, Status
from kubelearn.scheduler.nodeinfo import NodeInfo
from kubelearn.scheduler.plugins.helper import field

NAME = "NodeName"
ERR_REASON = "node(s) didn't match the requested node name"  # nodename.ErrReason


def fits(pod: Mapping[str, Any], node_info: NodeInfo) -> bool:
    """True if the pod names no node or names this one (nodename.Fits)."""
    wanted = field(pod, "spec", "nodeName") or ""
    return not wanted or wanted == node_info.name


class NodeName(FilterPlugin):
    """Filter: only the node the pod asks for by name."""

    name = NAME

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unresolvable for every node but the named one."""
        if fits(pod, node_info):
            return None
        return Status(Code.UnschedulableAndUnresolvable, ERR_REASON)
