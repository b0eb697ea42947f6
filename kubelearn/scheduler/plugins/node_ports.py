"""NodePorts: a pod asking for a ``hostPort`` needs it free on the node.

0.0.0.0 (or no hostIP) clashes with the same protocol/port on any IP. A port of
pkg/scheduler/framework/plugins/nodeports/node_ports.go.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from kubelearn.scheduler.framework import (
    Code,
    CycleState,
    FilterPlugin,
    PreFilterPlugin,
    PreFilterResult,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo, host_ports

NAME = "NodePorts"
ERR_REASON = "node(s) didn't have free ports for the requested pod ports"  # nodeports.ErrReason
PRE_FILTER_STATE_KEY = "PreFilter" + NAME


def fits_ports(want: Sequence[Mapping[str, Any]], node_info: NodeInfo) -> bool:
    """True if none of the wanted host ports is taken on the node (fitsPorts)."""
    return not any(node_info.used_ports.check_conflict(p.get("hostIP"), p.get("protocol"),
                                                       int(p.get("hostPort") or 0))
                   for p in want)


class NodePorts(PreFilterPlugin, FilterPlugin):
    """PreFilter: collect the pod's host ports (Skip if none); Filter: check them."""

    name = NAME

    def pre_filter(self, state: CycleState, pod: Mapping[str, Any], nodes: Sequence[NodeInfo]
                   ) -> tuple[PreFilterResult | None, Status | None]:
        """Remember the wanted host ports."""
        ports = host_ports(pod)
        if not ports:
            return None, Status(Code.Skip)
        state.write(PRE_FILTER_STATE_KEY, ports)
        return None, None

    def filter(self, state: CycleState, pod: Mapping[str, Any], node_info: NodeInfo
               ) -> Status | None:
        """Unschedulable if a wanted host port is in use there."""
        try:
            want = state.read(PRE_FILTER_STATE_KEY)
        except KeyError:
            want = host_ports(pod)
        if fits_ports(want, node_info):
            return None
        return Status(Code.Unschedulable, ERR_REASON)
