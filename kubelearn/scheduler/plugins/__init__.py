"""The in-tree scheduler plugins kubelearn implements, one upstream plugin per module.

- :mod:`.node_unschedulable` -- NodeUnschedulable (cordoned nodes)
- :mod:`.node_name` -- NodeName (``spec.nodeName``)
- :mod:`.node_ports` -- NodePorts (``hostPort``)
- :mod:`.taint_toleration` -- TaintToleration (filter and score)
- :mod:`.node_affinity` -- NodeAffinity (nodeSelector, required and preferred affinity)
- :mod:`.node_resources_fit` -- NodeResourcesFit (filter; LeastAllocated, MostAllocated,
  RequestedToCapacityRatio scoring)
- :mod:`.balanced_allocation` -- NodeResourcesBalancedAllocation
- :mod:`.image_locality` -- ImageLocality
- :mod:`.pod_topology_spread` -- PodTopologySpread (DoNotSchedule and ScheduleAnyway)
- :mod:`.interpodaffinity` -- InterPodAffinity (required and preferred pod (anti-)affinity)
- :mod:`.default_preemption` -- DefaultPreemption (PostFilter: evict lower-priority pods)

with :mod:`.helper` and :mod:`.resource_allocation` shared among them.
:data:`IN_TREE_PLUGINS` is the registry a profile's plugin names resolve against;
:data:`NOT_IMPLEMENTED` lists the other default plugins and the extension points
they would occupy.
"""

from __future__ import annotations

from kubelearn.scheduler.framework import Plugin
from kubelearn.scheduler.plugins.balanced_allocation import NodeResourcesBalancedAllocation
from kubelearn.scheduler.plugins.default_preemption import DefaultPreemption
from kubelearn.scheduler.plugins.image_locality import ImageLocality
from kubelearn.scheduler.plugins.interpodaffinity import InterPodAffinity
from kubelearn.scheduler.plugins.node_affinity import NodeAffinity
from kubelearn.scheduler.plugins.node_name import NodeName
from kubelearn.scheduler.plugins.node_ports import NodePorts
from kubelearn.scheduler.plugins.node_resources_fit import NodeResourcesFit
from kubelearn.scheduler.plugins.node_unschedulable import NodeUnschedulable
from kubelearn.scheduler.plugins.pod_topology_spread import PodTopologySpread
from kubelearn.scheduler.plugins.taint_toleration import TaintToleration

IN_TREE_PLUGINS: dict[str, type[Plugin]] = {
    cls.name: cls for cls in (
        NodeUnschedulable, NodeName, TaintToleration, NodeAffinity, NodePorts,
        NodeResourcesFit, PodTopologySpread, InterPodAffinity, NodeResourcesBalancedAllocation,
        ImageLocality, DefaultPreemption)
}

# Default-profile plugins kubelearn does not implement (yet), with the extension points
# upstream registers them at (pkg/scheduler/framework/plugins/*). The queue (PrioritySort,
# SchedulingGates) and binding (DefaultBinder) come with the scheduling cycle;
# pods without volumes or resource claims are unaffected by the rest.
NOT_IMPLEMENTED: dict[str, frozenset[str]] = {
    "SchedulingGates": frozenset({"preEnqueue"}),
    "PrioritySort": frozenset({"queueSort"}),
    "VolumeRestrictions": frozenset({"preFilter", "filter"}),
    "NodeVolumeLimits": frozenset({"preFilter", "filter"}),
    "VolumeBinding": frozenset({"preFilter", "filter", "reserve", "preBind", "preScore",
                                "score"}),
    "VolumeZone": frozenset({"preFilter", "filter"}),
    "DynamicResources": frozenset({"preEnqueue", "preFilter", "filter", "postFilter",
                                   "reserve", "preBind"}),
    "DefaultBinder": frozenset({"bind"}),
}

__all__ = ["IN_TREE_PLUGINS", "NOT_IMPLEMENTED", "NodeUnschedulable", "NodeName",
           "TaintToleration", "NodeAffinity", "NodePorts", "NodeResourcesFit",
           "PodTopologySpread", "InterPodAffinity", "NodeResourcesBalancedAllocation",
           "ImageLocality", "DefaultPreemption"]
