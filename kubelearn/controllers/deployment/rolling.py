"""RollingUpdate: grow the new ReplicaSet, shrink the old ones, inside the fenceposts (rolling.go).

Each sync does one step and stops:

1. **scale up** the new ReplicaSet as far as ``replicas + maxSurge`` total pods
   allow (:func:`~.util.new_rs_new_replicas`) -- if it grew, done;
2. **scale down** old ReplicaSets, first their unhealthy pods (they add no
   availability), then healthy ones while more than ``replicas - maxUnavailable``
   stay available -- if any shrank, done;
3. otherwise, when the rollout is complete, delete history beyond
   ``revisionHistoryLimit``.

The ReplicaSet controller then creates and deletes the pods; their readiness
comes back as ReplicaSet status, wakes this controller, and the next step runs.
10 replicas with the default 25%/25%: at most 13 pods, at least 8 available.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.controllers.deployment import util
from kubelearn.controllers.deployment.progress import sync_rollout_status

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.controllers.deployment.controller import DeploymentController

Obj = Mapping[str, Any]


def rollout_rolling(dc: DeploymentController, d: dict, rs_list: list[Obj]) -> None:
    """rolloutRolling: one step of a rolling update, then status."""
    new_rs, old_rss = dc.all_replicasets_and_sync_revision(d, rs_list, create=True)
    all_rss = [*old_rss, new_rs]
    if reconcile_new_replicaset(dc, all_rss, new_rs, d):
        sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if reconcile_old_replicasets(dc, all_rss, util.active(old_rss), new_rs, d):
        sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if util.deployment_complete(d, d.get("status") or {}):
        dc.cleanup_deployment(old_rss, d)
    sync_rollout_status(dc, all_rss, new_rs, d)


def reconcile_new_replicaset(dc: DeploymentController, all_rss: list[Obj | None],
                             new_rs: Obj, d: dict) -> bool:
    """reconcileNewReplicaSet: scale the new ReplicaSet up (or down to replicas)."""
    if util.replicas(new_rs) == util.replicas(d):
        return False
    if util.replicas(new_rs) > util.replicas(d):
        return dc.scale_replicaset_and_record_event(new_rs, util.replicas(d), d)[0]
    count = util.new_rs_new_replicas(d, all_rss, new_rs)
    return dc.scale_replicaset_and_record_event(new_rs, count, d)[0]


def max_scaled_down(all_rss: list[Obj | None], new_rs: Obj, d: Obj) -> int:
    """How many old pods may go now: all - minAvailable - the new ReplicaSet's unavailable.

    Counting the new ReplicaSet's unavailable pods keeps a crash-looping new
    version from eating the old version's availability (rolling.go's worked
    example: 10 replicas, maxUnavailable 2, maxSurge 3).
    """
    min_available = util.replicas(d) - util.max_unavailable(d)
    new_unavailable = util.replicas(new_rs) - util.status_of(new_rs, "availableReplicas")
    return util.replica_count(all_rss) - min_available - new_unavailable


def reconcile_old_replicasets(dc: DeploymentController, all_rss: list[Obj | None],
                              old_rss: list[Obj], new_rs: Obj, d: dict) -> bool:
    """reconcileOldReplicaSets: scale old ReplicaSets down, unhealthy pods first."""
    if util.replica_count(old_rss) == 0:
        return False  # cannot scale down further
    budget = max_scaled_down(all_rss, new_rs, d)
    if budget <= 0:
        return False
    old_rss, cleaned = cleanup_unhealthy_replicas(dc, old_rss, d, budget)
    scaled = scale_down_old_replicasets(dc, [*old_rss, new_rs], old_rss, d)
    return cleaned + scaled > 0


def cleanup_unhealthy_replicas(dc: DeploymentController, old_rss: list[Obj], d: dict,
                               max_cleanup: int) -> tuple[list[Obj], int]:
    """cleanupUnhealthyReplicas: drop old ReplicaSets' unavailable pods (costs no availability)."""
    old_rss = util.by_creation(old_rss)
    total = 0
    for i, rs in enumerate(old_rss):
        if total >= max_cleanup:
            break
        unhealthy = util.replicas(rs) - util.status_of(rs, "availableReplicas")
        if util.replicas(rs) == 0 or unhealthy <= 0:
            continue
        count = min(max_cleanup - total, unhealthy)
        _, old_rss[i] = dc.scale_replicaset_and_record_event(rs, util.replicas(rs) - count, d)
        total += count
    return old_rss, total


def scale_down_old_replicasets(dc: DeploymentController, all_rss: list[Obj | None],
                               old_rss: list[Obj], d: dict) -> int:
    """scaleDownOldReplicaSetsForRollingUpdate: oldest first, down to minAvailable."""
    min_available = util.replicas(d) - util.max_unavailable(d)
    available = util.available_replica_count(all_rss)
    if available <= min_available:
        return 0  # cannot scale down
    budget = available - min_available
    total = 0
    for rs in util.by_creation(old_rss):
        if total >= budget:
            break
        if util.replicas(rs) == 0:
            continue
        count = min(util.replicas(rs), budget - total)
        dc.scale_replicaset_and_record_event(rs, util.replicas(rs) - count, d)
        total += count
    return total
