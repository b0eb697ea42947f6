"""The controller manager: controllers that watch the cluster and remediate.

- nodelifecycle.py  the node lifecycle controller: condition taints, heartbeats
                    (Ready=Unknown), rate-limited NoExecute taints per zone
- tainteviction.py  the taint eviction controller: pods leave NoExecute-tainted nodes
- replicaset.py     the ReplicaSet controller
- deployment/       the Deployment controller: rolling updates, Recreate, history, progress
- garbagecollector.py  the garbage collector (ownerReferences, propagation policies)
- endpoints.py      the Endpoints controller: a Service's ready and not-ready pod addresses
- endpointslice.py  the EndpointSlice controller: the same, in slices of at most 100
- disruption.py     the disruption controller: each PodDisruptionBudget's allowed disruptions
- rootcacertpublisher.py  the root CA publisher: a kube-root-ca.crt ConfigMap in every namespace
- informer.py, events.py  the shape they share: informers, a work queue, events
"""

from kubelearn.controllers.deployment import DeploymentController
from kubelearn.controllers.disruption import DisruptionController
from kubelearn.controllers.endpoints import EndpointsController
from kubelearn.controllers.endpointslice import EndpointSliceController
from kubelearn.controllers.garbagecollector import GarbageCollector
from kubelearn.controllers.nodelifecycle import NodeLifecycleController
from kubelearn.controllers.replicaset import ReplicaSetController
from kubelearn.controllers.rootcacertpublisher import RootCACertPublisher
from kubelearn.controllers.tainteviction import TaintEvictionController

__all__ = ["DeploymentController", "DisruptionController", "EndpointSliceController",
           "EndpointsController", "GarbageCollector", "NodeLifecycleController",
           "ReplicaSetController", "RootCACertPublisher", "TaintEvictionController"]
