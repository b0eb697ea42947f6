"""The controller manager: controllers that watch the cluster and remediate.

- nodelifecycle.py  the node lifecycle controller (so far: tainting nodes
                    NoSchedule from their conditions)
"""

from kubelearn.controllers.nodelifecycle import NodeLifecycleController

__all__ = ["NodeLifecycleController"]
