"""NodePorts: a pod asking for a ``hostPort`` needs it free on the node.

0.0.0.0 (or no hostIP) clashes with the same protocol/port on any IP. A port of
pkg/scheduler/framework/plugins/nodeports/node_ports.go.

:meth:`NodePorts.filter_mask` is the Filter for many nodes at once (the vectorised
scheduler's path): only a node where some host port is in use can clash, so only those
nodes are asked, one at a time, as Filter asks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kubelearn.scheduler.framework import (
    Code,
    CycleState,
    FilterPlugin,
    PreFilterPlugin,
    PreFilterResult,
    Status,
)
from kubelearn.scheduler.nodeinfo import NodeInfo, host_ports
from kubelearn.scheduler.plugins.helper import NodeColumns

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

    @staticmethod
    def filter_mask(want: Sequence[Mapping[str, Any]], nodes: NodeColumns) -> np.ndarray:
        """:meth:`filter` for every node: True where each of the ``want`` host ports is free.

        ``want`` is what PreFilter keeps (the pod's host ports, none: PreFilter says
        Skip). A node where no host port is in use passes outright; the others go
        through :func:`fits_ports` one by one, as upstream's Filter does (node_ports.go
        Filter, fitsPorts).
        """
        mask = np.ones(nodes.n, dtype=bool)
        for i in np.flatnonzero(nodes.ports_in_use()):
            mask[i] = fits_ports(want, nodes.node_info(int(i)))
        return mask
