"""The Deployment controller: changes without downtime (pkg/controller/deployment).

A Deployment never touches pods. It owns ReplicaSets -- one per version of its
pod template, named ``<deployment>-<pod-template-hash>`` -- and moves replicas
from the old ones to the new one; the ReplicaSet controller does the pods.

- controller.py  the controller: informers, syncDeployment, the new ReplicaSet,
                 scaling (proportional when scaled mid-rollout), history cleanup, status
- rolling.py     RollingUpdate: maxSurge up, maxUnavailable down, one step a sync
- recreate.py    Recreate: all old pods gone, then the new ones
- progress.py    the Progressing condition and progressDeadlineSeconds
- util.py        the arithmetic: fenceposts, proportions, hashes, revisions, conditions

Rollback is not here: apps/v1 has no ``rollbackTo``; ``kubectl rollout undo``
copies an old ReplicaSet's template back into the Deployment, and this
controller then rolls that out like any change (see :mod:`kubelearn.rollout`).

Records (``cluster.events()``, component ``deployment-controller``), enough to
draw a rollout from records alone; ``object`` is ``kind/namespace/name``, and
key=value messages parse with :func:`~kubelearn.controllers.deployment.util.parse_fields`:

============================  =======================  ==========================================
reason                        object                   message
============================  =======================  ==========================================
``ScalingReplicaSet``         ``deployment/ns/web``    upstream's Event text: ``Scaled up replica
                                                       set web-7d9c8b to 3 from 2``; on creation
                                                       ``Scaled up replica set web-7d9c8b to 3``
``ReplicaSetScaled``          ``replicaset/ns/web-x``  right after each ScalingReplicaSet:
                                                       ``deployment=web role=new from=2 to=3
                                                       revision=2`` (role ``new`` or ``old``)
``DeploymentStatus``          ``deployment/ns/web``    each status write: ``replicas=12
                                                       updatedReplicas=5 readyReplicas=9
                                                       availableReplicas=9 unavailableReplicas=3
                                                       observedGeneration=2 desired=10 maxSurge=3
                                                       maxUnavailable=2 revision=2
                                                       newReplicaSet=web-7d9c8b`` (``<none>``)
a condition reason            ``deployment/ns/web``    when a condition's status or reason changes:
(``NewReplicaSetCreated``,                             ``Progressing=False: ReplicaSet "web-x" has
``ProgressDeadlineExceeded``,                          timed out progressing.``
``MinimumReplicasAvailable``...)
``ReplicaSetDeleted``         ``replicaset/ns/web-x``  history cleanup: ``deployment=web revision=1
                                                       revisionHistoryLimit=10``
``AdoptedReplicaSet`` /       ``replicaset/ns/web-x``  ``adopted by deployment/ns/web``
``ReleasedReplicaSet``
``HashCollision``             ``deployment/ns/web``    ``collisionCount=1 replicaSet=web-x``
``ReplicaSetCreateError``,    ``deployment/ns/web``    upstream's Warning Event text
``SelectingAll``
============================  =======================  ==========================================

Pod counts per ReplicaSet over time come from the ReplicaSet controller's
``SuccessfulCreate`` / ``SuccessfulDelete`` records and its ``ReplicaSetStatus``
record at each status write (pods, ready, available, image; object
``replicaset/ns/web-x``); :mod:`kubelearn.viz.rollout` draws a rollout from these.
"""

from kubelearn.controllers.deployment.controller import COMPONENT, DeploymentController

__all__ = ["COMPONENT", "DeploymentController"]
