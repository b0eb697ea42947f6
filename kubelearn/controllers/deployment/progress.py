"""The Progressing condition: is the rollout moving, done, or stuck? (progress.go)

After each rollout step :func:`sync_rollout_status` compares the new status
with the old one:

- every replica updated and available -> ``NewReplicaSetAvailable``
  (``ReplicaSet "web-7d9c8b" has successfully progressed.``);
- more updated, fewer old, or more ready or available pods than before ->
  ``ReplicaSetUpdated``, and ``lastUpdateTime`` moves to now;
- no progress since ``lastUpdateTime`` for ``progressDeadlineSeconds`` (600) ->
  ``ProgressDeadlineExceeded``, status False. The controller does *not* roll
  back: that is the user's call (``kubectl rollout undo``).

A Deployment with no progress is requeued to be looked at again just after
its deadline (requeueStuckDeployment): nothing else would wake it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.controllers.deployment import util
from kubelearn.controllers.informer import object_key

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.controllers.deployment.controller import DeploymentController

Obj = Mapping[str, Any]


def sync_rollout_status(dc: DeploymentController, all_rss: list[Obj | None],
                        new_rs: Obj | None, d: dict) -> None:
    """syncRolloutStatus: status and the Progressing condition during a rollout."""
    status = dc.calculate_status(all_rss, new_rs, d)
    if not util.has_progress_deadline(d):
        util.remove_condition(status, util.PROGRESSING)
    current = util.get_condition(d.get("status") or {}, util.PROGRESSING)
    complete = status["replicas"] == status["updatedReplicas"] and current is not None \
        and current.get("reason") == util.NEW_RS_AVAILABLE
    if util.has_progress_deadline(d) and not complete:
        name = d["metadata"]["name"]
        subject = f'ReplicaSet "{new_rs["metadata"]["name"]}"' if new_rs is not None \
            else f'Deployment "{name}"'
        now = dc.sim.timestamp()
        if util.deployment_complete(d, status):
            util.set_condition(status, util.new_condition(
                util.PROGRESSING, "True", util.NEW_RS_AVAILABLE,
                f"{subject} has successfully progressed.", now))
        elif util.deployment_progressing(d, status):
            condition = util.new_condition(util.PROGRESSING, "True", util.REPLICA_SET_UPDATED,
                                           f"{subject} is progressing.", now)
            # Unlike SetDeploymentCondition, progress moves lastUpdateTime even with the
            # same reason: that is the clock progressDeadlineSeconds runs against.
            if current is not None:
                if current.get("status") == "True":
                    condition["lastTransitionTime"] = current.get("lastTransitionTime")
                util.remove_condition(status, util.PROGRESSING)
            util.set_condition(status, condition)
        elif util.deployment_timed_out(d, status, dc.now):
            util.set_condition(status, util.new_condition(
                util.PROGRESSING, "False", util.TIMED_OUT,
                f"{subject} has timed out progressing.", now))
    failures = replica_failures(all_rss, new_rs)
    if failures:
        util.set_condition(status, failures[0])
    else:
        util.remove_condition(status, util.REPLICA_FAILURE)
    if _same(d.get("status") or {}, status):
        requeue_stuck_deployment(dc, d, status)
        return
    d["status"] = status
    dc.update_status(d, new_rs)


def _same(a: Obj, b: Obj) -> bool:
    keys = set(a) | set(b)
    return all((a.get(k) or None) == (b.get(k) or None) for k in keys)


def replica_failures(all_rss: list[Obj | None], new_rs: Obj | None) -> list[dict]:
    """getReplicaFailures: ReplicaSets' ReplicaFailure conditions, the new one's first."""
    def of(rss: list[Obj | None]) -> list[dict]:
        return [{"type": c["type"], "status": c.get("status"),
                 "lastUpdateTime": c.get("lastTransitionTime"),
                 "lastTransitionTime": c.get("lastTransitionTime"),
                 "reason": c.get("reason"), "message": c.get("message")}
                for rs in rss if rs is not None
                for c in (rs.get("status") or {}).get("conditions") or []
                if c.get("type") == util.REPLICA_FAILURE]
    return of([new_rs]) or of(all_rss)


def requeue_stuck_deployment(dc: DeploymentController, d: Obj, status: Obj) -> float:
    """requeueStuckDeployment: look again when the deadline will have passed (-1: no need)."""
    current = util.get_condition(d.get("status") or {}, util.PROGRESSING)
    if not util.has_progress_deadline(d) or current is None:
        return -1
    if util.deployment_complete(d, status) or current.get("reason") == util.TIMED_OUT:
        return -1
    since = util.unix_seconds(current.get("lastUpdateTime"))
    if since is None:
        return -1
    after = since + d["spec"]["progressDeadlineSeconds"] - dc.now
    key = object_key(d)
    if after < 1:
        dc.queue.add_rate_limited(key)
        return 0
    # "Add a second to avoid milliseconds skew in AddAfter" (kubernetes#39785)
    dc.queue.add_after(key, after + 1)
    return after
