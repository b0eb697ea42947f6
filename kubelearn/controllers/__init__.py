"""The controller manager: controllers that watch the cluster and remediate.

- nodelifecycle.py  the node lifecycle controller: condition taints, heartbeats
                    (Ready=Unknown), rate-limited NoExecute taints per zone
- tainteviction.py  the taint eviction controller: pods leave NoExecute-tainted nodes
- replicaset.py     the ReplicaSet controller
- garbagecollector.py  the garbage collector (ownerReferences, propagation policies)
- informer.py, events.py  the shape they share: informers, a work queue, events
"""

from kubelearn.controllers.garbagecollector import GarbageCollector
from kubelearn.controllers.nodelifecycle import NodeLifecycleController
from kubelearn.controllers.replicaset import ReplicaSetController
from kubelearn.controllers.tainteviction import TaintEvictionController

__all__ = ["GarbageCollector", "NodeLifecycleController", "ReplicaSetController",
           "TaintEvictionController"]
