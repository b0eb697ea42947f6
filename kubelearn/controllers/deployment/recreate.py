"""Recreate: every old pod gone before any new one starts (recreate.go).

1. scale every old ReplicaSet to 0;
2. wait until no old pod is left -- not even a terminating one (a pod still
   shutting down may hold a port, a volume, a lock);
3. create the new ReplicaSet, or scale it, straight to ``replicas``.

There is a gap with no pods at all: the price of never running two versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.controllers.deployment import util
from kubelearn.controllers.deployment.progress import sync_rollout_status

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.controllers.deployment.controller import DeploymentController

Obj = Mapping[str, Any]


def rollout_recreate(dc: DeploymentController, d: dict, rs_list: list[Obj],
                     pod_map: dict[str, list[Obj]]) -> None:
    """rolloutRecreate: down, wait, up."""
    # no new ReplicaSet yet: creating it now would scale up before scaling down
    new_rs, old_rss = dc.all_replicasets_and_sync_revision(d, rs_list, create=False)
    all_rss = [*old_rss, new_rs]
    if scale_down_old_replicasets(dc, util.active(old_rss), d):
        sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if old_pods_running(new_rs, old_rss, pod_map):
        sync_rollout_status(dc, all_rss, new_rs, d)
        return
    if new_rs is None:
        new_rs, old_rss = dc.all_replicasets_and_sync_revision(d, rs_list, create=True)
        all_rss = [*old_rss, new_rs]
    dc.scale_replicaset_and_record_event(new_rs, util.replicas(d), d)
    if util.deployment_complete(d, d.get("status") or {}):
        dc.cleanup_deployment(old_rss, d)
    sync_rollout_status(dc, all_rss, new_rs, d)


def scale_down_old_replicasets(dc: DeploymentController, old_rss: list[Obj], d: dict) -> bool:
    """scaleDownOldReplicaSetsForRecreate: every old ReplicaSet to 0."""
    scaled = False
    for rs in old_rss:
        if util.replicas(rs) != 0 and dc.scale_replicaset_and_record_event(rs, 0, d)[0]:
            scaled = True
    return scaled


def old_pods_running(new_rs: Obj | None, old_rss: list[Obj],
                     pod_map: dict[str, list[Obj]]) -> bool:
    """oldPodsRunning: an old ReplicaSet counts pods, or an old pod is not Succeeded/Failed."""
    if util.actual_replica_count(old_rss) > 0:
        return True
    new_uid = new_rs["metadata"]["uid"] if new_rs is not None else None
    return any((pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
               for uid, pods in pod_map.items() if uid != new_uid for pod in pods)
