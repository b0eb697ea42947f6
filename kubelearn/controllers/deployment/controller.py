"""The Deployment controller: informers, the sync, scaling (deployment_controller.go, sync.go).

``sync_deployment(key)`` decides what kind of sync a Deployment needs, in
upstream's order:

1. being deleted -> only write status;
2. paused -> :meth:`DeploymentController.sync` (scale, no rollout);
3. a scaling event (``spec.replicas`` differs from the ``desired-replicas``
   annotation of an active ReplicaSet) -> :meth:`DeploymentController.sync`,
   proportional scaling;
4. otherwise a rollout: :func:`~.rolling.rollout_rolling` or
   :func:`~.recreate.rollout_recreate`.

The strategies live in rolling.py and recreate.py, the Progressing condition
in progress.py; the shared steps (find or create the new ReplicaSet, scale a
ReplicaSet, clean up history, write status) are methods here.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from kubelearn.api import AlreadyExists, LabelSelector, NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE
from kubelearn.client import Client
from kubelearn.controllers.deployment import util
from kubelearn.controllers.events import NORMAL, WARNING, EventRecorder, object_ref
from kubelearn.controllers.informer import SharedInformerFactory, WorkQueue, object_key
from kubelearn.controllers.replicaset import controller_of
from kubelearn.sim import Simulation

COMPONENT = "deployment-controller"
# deployment_controller.go maxRetries: a failing deployment is retried 15 times (5ms ... 82s),
# then dropped out of the queue until it changes again.
MAX_RETRIES = 15

Obj = Mapping[str, Any]


def owner_reference(d: Obj) -> dict:
    """metav1.NewControllerRef: the ownerReference a Deployment's ReplicaSets carry."""
    return {"apiVersion": "apps/v1", "kind": "Deployment", "name": d["metadata"]["name"],
            "uid": d["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


class DeploymentController:
    """Rolls each Deployment's pod template out through ReplicaSets.

    ``events=False`` keeps the records but posts no Event objects.
    """

    def __init__(self, sim: Simulation, client: Client, *,
                 informers: SharedInformerFactory | None = None, events: bool = True) -> None:
        self.sim = sim
        self.client = client
        self.recorder = EventRecorder(sim, client, COMPONENT, enabled=events)
        self.queue = WorkQueue(sim, COMPONENT, self._sync, max_retries=MAX_RETRIES)
        self.informers = informers or SharedInformerFactory(sim, client)
        self.deployments = self.informers.informer("deployments")
        self.deployments.add_event_handler(self._enqueue, lambda old, new: self._enqueue(new),
                                           self._enqueue)
        self.replicasets = self.informers.informer("replicasets")
        self.replicasets.add_event_handler(self._add_rs, self._update_rs, self._delete_rs)
        self.pods = self.informers.informer("pods")
        self.pods.add_event_handler(on_delete=self._delete_pod)

    def start(self) -> None:
        """Start the informers and the worker."""
        self.informers.start()
        self.queue.start()

    @property
    def now(self) -> float:
        """Unix seconds now, on the virtual clock."""
        return self.sim.epoch.timestamp() + self.sim.now

    # -- event handlers: which Deployment needs a look -------------------------------------------
    def _enqueue(self, d: Obj) -> None:
        self.queue.add(object_key(d))

    def _resolve(self, namespace: str | None, ref: Mapping[str, Any] | None) -> Obj | None:
        """resolveControllerRef: the cached Deployment ``ref`` names, if it is still that one."""
        if ref is None or ref.get("kind") != "Deployment":
            return None
        d = self.deployments.store.get(f"{namespace}/{ref.get('name')}")
        return d if d is not None and d["metadata"].get("uid") == ref.get("uid") else None

    def _matching(self, rs: Obj) -> list[Obj]:
        """getDeploymentsForReplicaSet: Deployments whose selector matches an orphan's labels."""
        namespace, labels = rs["metadata"].get("namespace"), rs["metadata"].get("labels")
        found = []
        for d in self.deployments.store.values():
            if d["metadata"].get("namespace") != namespace:
                continue
            try:
                selector = LabelSelector.from_dict(d["spec"].get("selector"))
            except StatusError:
                continue
            if not selector.empty() and selector.matches(labels):
                found.append(d)
        return found

    def _add_rs(self, rs: Obj) -> None:
        if rs["metadata"].get("deletionTimestamp"):
            self._delete_rs(rs)
            return
        ref = controller_of(rs)
        if ref is not None:
            d = self._resolve(rs["metadata"].get("namespace"), ref)
            if d is not None:
                self._enqueue(d)
            return
        for d in self._matching(rs):  # an orphan: whoever matches may adopt it
            self._enqueue(d)

    def _update_rs(self, old: Obj, new: Obj) -> None:
        if old["metadata"].get("resourceVersion") == new["metadata"].get("resourceVersion"):
            return
        namespace = new["metadata"].get("namespace")
        old_ref, new_ref = controller_of(old), controller_of(new)
        if old_ref != new_ref and old_ref is not None:
            d = self._resolve(namespace, old_ref)
            if d is not None:
                self._enqueue(d)
        if new_ref is not None:
            d = self._resolve(namespace, new_ref)
            if d is not None:
                self._enqueue(d)
            return
        if old["metadata"].get("labels") != new["metadata"].get("labels") or old_ref != new_ref:
            for d in self._matching(new):
                self._enqueue(d)

    def _delete_rs(self, rs: Obj) -> None:
        d = self._resolve(rs["metadata"].get("namespace"), controller_of(rs))
        if d is not None:
            self._enqueue(d)

    def _delete_pod(self, pod: Obj) -> None:
        """deletePod: a Recreate Deployment whose last pod is gone may create its new pods."""
        namespace = pod["metadata"].get("namespace")
        ref = controller_of(pod)
        if ref is None or ref.get("kind") != "ReplicaSet":
            return
        rs = self.replicasets.store.get(f"{namespace}/{ref.get('name')}")
        if rs is None or rs["metadata"].get("uid") != ref.get("uid"):
            return
        d = self._resolve(namespace, controller_of(rs))
        if d is None or util.is_rolling_update(d):
            return
        rs_list = [r for r in self.replicasets.store.values()
                   if r["metadata"].get("namespace") == namespace and util.is_controlled_by(r, d)]
        if not any(self.pod_map(d, rs_list).values()):
            self._enqueue(d)

    # -- syncDeployment ------------------------------------------------------------------------
    def _sync(self, key: str) -> None:
        """syncDeployment as the worker runs it: handleErr forgets, rather than retries, a
        failure caused by the namespace being deleted."""
        try:
            self.sync_deployment(key)
        except StatusError as error:
            if not error.has_cause(NAMESPACE_TERMINATING_CAUSE):
                raise

    def sync_deployment(self, key: str) -> None:
        """syncDeployment: delete-only, paused, scaling event, or a rollout."""
        from kubelearn.controllers.deployment import recreate, rolling

        cached = self.deployments.store.get(key)
        if cached is None:
            return  # deleted; the garbage collector takes its ReplicaSets
        d = copy.deepcopy(dict(cached))  # never change the cache
        selector = d["spec"].get("selector") or {}
        if not selector.get("matchLabels") and not selector.get("matchExpressions"):
            self.recorder.event(d, WARNING, "SelectingAll",
                                "This deployment is selecting all pods. A non-empty selector is "
                                "required.")
            if util.status_of(d, "observedGeneration") < int(d["metadata"].get("generation") or 0):
                d.setdefault("status", {})["observedGeneration"] = d["metadata"]["generation"]
                self.update_status(d)
            return
        rs_list = self.replicasets_for_deployment(d)
        pods = self.pod_map(d, rs_list)
        if d["metadata"].get("deletionTimestamp"):
            self.sync_status_only(d, rs_list)
            return
        self.check_paused_conditions(d)
        if d["spec"].get("paused"):
            self.sync(d, rs_list)
            return
        if self.is_scaling_event(d, rs_list):
            self.sync(d, rs_list)
            return
        if util.is_rolling_update(d):
            rolling.rollout_rolling(self, d, rs_list)
        else:
            recreate.rollout_recreate(self, d, rs_list, pods)

    # -- what the Deployment owns ----------------------------------------------------------------
    def replicasets_for_deployment(self, d: dict) -> list[Obj]:
        """getReplicaSetsForDeployment / ClaimReplicaSets: ours, adopting and releasing."""
        meta = d["metadata"]
        selector = LabelSelector.from_dict(d["spec"]["selector"])
        deleting = bool(meta.get("deletionTimestamp"))
        claimed, fresh = [], None
        for rs in list(self.replicasets.store.values()):
            if rs["metadata"].get("namespace") != meta.get("namespace"):
                continue
            ref, matches = controller_of(rs), selector.matches(rs["metadata"].get("labels"))
            if ref is not None:
                if ref.get("uid") != meta["uid"]:
                    continue  # another controller's
                if matches:
                    claimed.append(rs)
                elif not deleting:
                    self._patch_owner(d, rs, release=True)
                continue
            if deleting or not matches or rs["metadata"].get("deletionTimestamp"):
                continue
            if fresh is None:  # canAdopt: recheck the Deployment itself, not the cache
                fresh = self.client.get("deployments", meta["name"], meta["namespace"])
            if fresh["metadata"].get("uid") != meta["uid"] or \
                    fresh["metadata"].get("deletionTimestamp"):
                continue
            adopted = self._patch_owner(d, rs, release=False)
            if adopted is not None:
                claimed.append(adopted)
        return claimed

    def _patch_owner(self, d: Obj, rs: Obj, *, release: bool) -> dict | None:
        """AdoptReplicaSet / ReleaseReplicaSet: a strategic merge patch of ownerReferences."""
        meta = rs["metadata"]
        ref = {"$patch": "delete", "uid": d["metadata"]["uid"]} if release \
            else owner_reference(d)
        try:
            out = self.client.patch("replicasets", meta["name"],
                                    {"metadata": {"ownerReferences": [ref], "uid": meta["uid"]}},
                                    meta["namespace"])
        except NotFound:
            return None
        verb = "ReleasedReplicaSet" if release else "AdoptedReplicaSet"
        self.sim.record(COMPONENT, verb, object_ref(rs),
                        f"{'released by' if release else 'adopted by'} {object_ref(d)}")
        return out

    def pod_map(self, d: Obj, rs_list: list[Obj]) -> dict[str, list[Obj]]:
        """getPodMapForDeployment: the Deployment's pods by ReplicaSet uid (terminating too)."""
        selector = LabelSelector.from_dict(d["spec"]["selector"])
        out: dict[str, list[Obj]] = {rs["metadata"]["uid"]: [] for rs in rs_list}
        for pod in self.pods.store.values():
            if pod["metadata"].get("namespace") != d["metadata"].get("namespace") \
                    or not selector.matches(pod["metadata"].get("labels")):
                continue
            ref = controller_of(pod)
            if ref is not None and ref.get("uid") in out:
                out[ref["uid"]].append(pod)
        return out

    # -- sync.go ----------------------------------------------------------------------------------
    def sync_status_only(self, d: dict, rs_list: list[Obj]) -> None:
        """syncStatusOnly: a Deployment being deleted only gets its status written."""
        new_rs, old_rss = self.all_replicasets_and_sync_revision(d, rs_list, create=False)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    def sync(self, d: dict, rs_list: list[Obj]) -> None:
        """sync: a scaling event or a paused Deployment -- scale, maybe clean up, write status."""
        new_rs, old_rss = self.all_replicasets_and_sync_revision(d, rs_list, create=False)
        self.scale(d, new_rs, old_rss)
        if d["spec"].get("paused"):  # and no rollback in flight
            self.cleanup_deployment(old_rss, d)
        self.sync_deployment_status([*old_rss, new_rs], new_rs, d)

    def check_paused_conditions(self, d: dict) -> None:
        """checkPausedConditions: Progressing=Unknown while paused, so a resume cannot time out."""
        if not util.has_progress_deadline(d):
            return
        status = d.setdefault("status", {})
        condition = util.get_condition(status, util.PROGRESSING)
        if condition is not None and condition.get("reason") == util.TIMED_OUT:
            return  # a reported lack of progress is not overwritten
        paused_exists = condition is not None and condition.get("reason") == util.PAUSED
        now = self.sim.timestamp()
        if d["spec"].get("paused") and not paused_exists:
            util.set_condition(status, util.new_condition(
                util.PROGRESSING, "Unknown", util.PAUSED, "Deployment is paused", now))
        elif not d["spec"].get("paused") and paused_exists:
            util.set_condition(status, util.new_condition(
                util.PROGRESSING, "Unknown", util.RESUMED, "Deployment is resumed", now))
        else:
            return
        self.update_status(d)

    def all_replicasets_and_sync_revision(self, d: dict, rs_list: list[Obj], *,
                                          create: bool) -> tuple[Obj | None, list[Obj]]:
        """getAllReplicaSetsAndSyncRevision: (the new ReplicaSet or None, every old one)."""
        _, old_rss = util.find_old_replicasets(d, rs_list)
        return self.new_replicaset(d, rs_list, old_rss, create=create), old_rss

    def new_replicaset(self, d: dict, rs_list: list[Obj], old_rss: list[Obj], *,
                       create: bool) -> Obj | None:
        """getNewReplicaSet: the ReplicaSet running the Deployment's template, kept current.

        An existing one gets the Deployment's annotations and the next revision
        (``max old revision + 1``); with ``create``, a missing one is created as
        ``<deployment>-<pod-template-hash>``.
        """
        existing = util.find_new_replicaset(d, rs_list)
        new_revision = str(util.max_revision(old_rss) + 1)
        status = d.setdefault("status", {})
        if existing is not None:
            # the cache's latest copy: an earlier step of this sync may have updated it
            # (upstream reuses its list and meets a Conflict, then retries)
            latest = self.replicasets.store.get(object_key(existing), existing)
            rs = copy.deepcopy(dict(latest))
            changed = util.set_new_replicaset_annotations(d, rs, new_revision, True)
            min_ready = d["spec"].get("minReadySeconds") or 0
            if changed or (rs["spec"].get("minReadySeconds") or 0) != min_ready:
                rs["spec"]["minReadySeconds"] = min_ready
                return self.client.update(rs)
            needs_update = self._set_revision(d, util.annotations(rs).get(util.REVISION, ""))
            if util.has_progress_deadline(d) and \
                    util.get_condition(status, util.PROGRESSING) is None:
                util.set_condition(status, util.new_condition(
                    util.PROGRESSING, "True", util.FOUND_NEW_RS,
                    f'Found new replica set "{rs["metadata"]["name"]}"', self.sim.timestamp()))
                needs_update = True
            if needs_update:
                self.update_status(d)
            return rs
        if not create:
            return None
        return self._create_new_replicaset(d, old_rss, new_revision)

    def _create_new_replicaset(self, d: dict, old_rss: list[Obj], new_revision: str) -> Obj:
        meta, spec, status = d["metadata"], d["spec"], d["status"]
        template = copy.deepcopy(spec["template"])
        pod_hash = util.compute_hash(template, status.get("collisionCount"))
        template.setdefault("metadata", {})["labels"] = {
            **(template["metadata"].get("labels") or {}), util.POD_TEMPLATE_HASH: pod_hash}
        selector = copy.deepcopy(spec["selector"])
        selector["matchLabels"] = {**(selector.get("matchLabels") or {}),
                                   util.POD_TEMPLATE_HASH: pod_hash}
        name = f"{meta['name']}-{pod_hash}"  # deterministic, so a retry cannot create two
        new_rs: dict = {
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": name, "namespace": meta["namespace"],
                         "ownerReferences": [owner_reference(d)],
                         "labels": dict(template["metadata"]["labels"])},
            "spec": {"replicas": 0, "minReadySeconds": spec.get("minReadySeconds") or 0,
                     "selector": selector, "template": template}}
        count = util.new_rs_new_replicas(d, [*old_rss, new_rs], new_rs)
        new_rs["spec"]["replicas"] = count
        util.set_new_replicaset_annotations(d, new_rs, new_revision, False)
        already_exists = False
        try:
            created = self.client.create(new_rs, meta["namespace"])
        except AlreadyExists:
            already_exists = True
            found = self.replicasets.store.get(f"{meta['namespace']}/{name}")
            if found is None:
                raise
            ref = controller_of(found)
            if ref is None or ref.get("uid") != meta["uid"] or not util.equal_ignore_hash(
                    spec["template"], found["spec"].get("template")):
                # a hash collision: another template has this name; try the next hash
                status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
                self.sim.record(COMPONENT, "HashCollision", object_ref(d),
                                f"collisionCount={status['collisionCount']} replicaSet={name}")
                self.update_status(d)
                raise
            created = found
        except StatusError as error:
            message = f'Failed to create new replica set "{name}": {error}'
            if util.has_progress_deadline(d):
                util.set_condition(status, util.new_condition(
                    util.PROGRESSING, "False", util.FAILED_RS_CREATE, message,
                    self.sim.timestamp()))
                try:
                    self.update_status(d)
                except StatusError:
                    pass  # the bigger problem is reported below
            self.recorder.event(d, WARNING, util.FAILED_RS_CREATE, message)
            raise
        if not already_exists and count > 0:
            self._scaled(d, created, 0, count, f"Scaled up replica set {name} to {count}")
        needs_update = self._set_revision(d, new_revision)
        if not already_exists and util.has_progress_deadline(d):
            util.set_condition(status, util.new_condition(
                util.PROGRESSING, "True", util.NEW_REPLICA_SET,
                f'Created new replica set "{name}"', self.sim.timestamp()))
            needs_update = True
        if needs_update:
            self.update_status(d)
        return created

    @staticmethod
    def _set_revision(d: dict, value: str) -> bool:
        """SetDeploymentRevision: the Deployment's revision annotation; True if it changed."""
        ann = d["metadata"].setdefault("annotations", {})
        if ann.get(util.REVISION) == value:
            return False
        ann[util.REVISION] = value
        return True

    def scale(self, d: dict, new_rs: Obj | None, old_rss: list[Obj]) -> None:
        """scale: a scaling event, spread proportionally over the active ReplicaSets.

        Mid-rollout, growing the new ReplicaSet alone would hasten a rollout that
        may be going wrong; so each active ReplicaSet gets its share (by its
        ``max-replicas`` annotation), leftovers to the largest.
        """
        only = util.find_active_or_latest(new_rs, old_rss)
        if only is not None:
            if util.replicas(only) != util.replicas(d):
                self.scale_replicaset_and_record_event(only, util.replicas(d), d)
            return
        if util.is_saturated(d, new_rs):
            for old in util.active(old_rss):
                self.scale_replicaset_and_record_event(old, 0, d)
            return
        if not util.is_rolling_update(d):
            return
        actives = util.active([*old_rss, new_rs])
        allowed = util.replicas(d) + util.max_surge(d) if util.replicas(d) > 0 else 0
        to_add = allowed - util.replica_count(actives)
        if to_add > 0:
            actives, operation = util.by_size_newer(actives), "up"
        elif to_add < 0:
            actives, operation = util.by_size_older(actives), "down"
        else:
            operation = ""
        added, sizes = 0, {}
        for rs in actives:
            if to_add != 0:
                proportion = util.get_proportion(rs, d, to_add, added)
                sizes[rs["metadata"]["name"]] = util.replicas(rs) + proportion
                added += proportion
            else:
                sizes[rs["metadata"]["name"]] = util.replicas(rs)
        for i, rs in enumerate(actives):
            name = rs["metadata"]["name"]
            if i == 0 and to_add != 0:  # leftovers to the largest
                sizes[name] = max(0, sizes[name] + to_add - added)
            self.scale_replicaset(rs, sizes[name], d, operation)

    def scale_replicaset_and_record_event(self, rs: Obj, new_scale: int,
                                          d: dict) -> tuple[bool, Obj]:
        """scaleReplicaSetAndRecordEvent: scale ``rs`` if its size differs."""
        if util.replicas(rs) == new_scale:
            return False, rs
        operation = "up" if util.replicas(rs) < new_scale else "down"
        return self.scale_replicaset(rs, new_scale, d, operation)

    def scale_replicaset(self, rs: Obj, new_scale: int, d: dict,
                         operation: str) -> tuple[bool, Obj]:
        """scaleReplicaSet: set spec.replicas and the replicas annotations; a ScalingReplicaSet."""
        desired, maximum = util.replicas(d), util.replicas(d) + util.max_surge(d)
        size_changed = util.replicas(rs) != new_scale
        if not size_changed and not util.replicas_annotations_need_update(rs, desired, maximum):
            return False, rs
        old_scale = util.replicas(rs)
        rs_copy = copy.deepcopy(dict(rs))
        rs_copy["spec"]["replicas"] = new_scale
        util.set_replicas_annotations(rs_copy, desired, maximum)
        updated = self.client.update(rs_copy)
        if size_changed:
            self._scaled(d, updated, old_scale, new_scale,
                         f"Scaled {operation} replica set {rs['metadata']['name']} to "
                         f"{new_scale} from {old_scale}")
        return size_changed, updated

    def _scaled(self, d: Obj, rs: Obj, old: int, new: int, message: str) -> None:
        """The ScalingReplicaSet Event, and a record saying which ReplicaSet, old or new."""
        self.recorder.event(d, NORMAL, "ScalingReplicaSet", message)
        role = "new" if util.equal_ignore_hash(rs["spec"].get("template"),
                                               d["spec"].get("template")) else "old"
        self.sim.record(COMPONENT, "ReplicaSetScaled", object_ref(rs),
                        f"deployment={d['metadata']['name']} role={role} from={old} to={new} "
                        f"revision={util.revision(rs)}")

    def cleanup_deployment(self, old_rss: list[Obj], d: dict) -> None:
        """cleanupDeployment: delete the oldest empty ReplicaSets beyond revisionHistoryLimit."""
        if not util.has_revision_history_limit(d):
            return
        alive = [rs for rs in old_rss if rs is not None
                 and not rs["metadata"].get("deletionTimestamp")]
        limit = d["spec"]["revisionHistoryLimit"]
        diff = len(alive) - limit
        if diff <= 0:
            return
        for rs in util.by_revision(alive)[:diff]:
            if util.status_of(rs, "replicas") != 0 or util.replicas(rs) != 0 \
                    or int(rs["metadata"].get("generation") or 0) > util.status_of(
                        rs, "observedGeneration"):
                continue  # only empty ReplicaSets the ReplicaSet controller has caught up with
            try:
                self.client.delete("replicasets", rs["metadata"]["name"],
                                   rs["metadata"]["namespace"])
            except NotFound:
                continue
            self.sim.record(COMPONENT, "ReplicaSetDeleted", object_ref(rs),
                            f"deployment={d['metadata']['name']} revision={util.revision(rs)} "
                            f"revisionHistoryLimit={limit}")

    def is_scaling_event(self, d: dict, rs_list: list[Obj]) -> bool:
        """isScalingEvent: an active ReplicaSet's desired-replicas differs from spec.replicas."""
        new_rs, old_rss = self.all_replicasets_and_sync_revision(d, rs_list, create=False)
        for rs in util.active([*old_rss, new_rs]):
            desired = util.int_annotation(rs, util.DESIRED_REPLICAS)
            if desired is not None and desired != util.replicas(d):
                return True
        return False

    # -- status --------------------------------------------------------------------------------
    def calculate_status(self, all_rss: list[Obj | None], new_rs: Obj | None, d: Obj) -> dict:
        """calculateStatus: counts from the ReplicaSets' statuses, and the Available condition."""
        available = util.available_replica_count(all_rss)
        total = util.replica_count(all_rss)
        status: dict[str, Any] = {
            "observedGeneration": d["metadata"].get("generation"),
            "replicas": util.actual_replica_count(all_rss),
            "updatedReplicas": util.actual_replica_count([new_rs]),
            "readyReplicas": util.ready_replica_count(all_rss),
            "availableReplicas": available,
            "unavailableReplicas": max(0, total - available),
        }
        old = d.get("status") or {}
        if old.get("collisionCount") is not None:
            status["collisionCount"] = old["collisionCount"]
        if old.get("conditions"):
            status["conditions"] = copy.deepcopy(old["conditions"])
        now = self.sim.timestamp()
        if available >= util.replicas(d) - util.max_unavailable(d):
            util.set_condition(status, util.new_condition(
                util.AVAILABLE, "True", util.MINIMUM_REPLICAS_AVAILABLE,
                "Deployment has minimum availability.", now))
        else:
            util.set_condition(status, util.new_condition(
                util.AVAILABLE, "False", util.MINIMUM_REPLICAS_UNAVAILABLE,
                "Deployment does not have minimum availability.", now))
        return status

    def sync_deployment_status(self, all_rss: list[Obj | None], new_rs: Obj | None,
                               d: dict) -> None:
        """syncDeploymentStatus: write the calculated status if it differs."""
        status = self.calculate_status(all_rss, new_rs, d)
        if _status_equal(d.get("status") or {}, status):
            return
        d["status"] = status
        self.update_status(d, new_rs)

    def update_status(self, d: dict, new_rs: Obj | None = None) -> None:
        """PUT deployments/status, and the records a timeline is drawn from.

        Upstream drops the answer and keeps its copy, so a second write in the
        same sync meets a Conflict and the sync is retried; we carry the new
        resourceVersion forward instead, which spares those retries.
        """
        before = self.deployments.store.get(object_key(d))
        out = self.client.update_status(d)
        d["metadata"]["resourceVersion"] = out["metadata"]["resourceVersion"]
        status = out.get("status") or {}
        fields = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas",
                  "unavailableReplicas", "observedGeneration")
        counts = " ".join(f"{k}={int(status.get(k) or 0)}" for k in fields)
        new_name = new_rs["metadata"]["name"] if new_rs is not None else "<none>"
        self.sim.record(COMPONENT, "DeploymentStatus", object_ref(d),
                        f"{counts} desired={util.replicas(d)} maxSurge={util.max_surge(d)} "
                        f"maxUnavailable={util.max_unavailable(d)} "
                        f"revision={util.annotations(out).get(util.REVISION, '0')} "
                        f"newReplicaSet={new_name}")
        old_status = (before or {}).get("status") or {}
        for condition in status.get("conditions") or []:
            previous = util.get_condition(old_status, condition["type"])
            if previous is None or (previous.get("status"), previous.get("reason")) != (
                    condition.get("status"), condition.get("reason")):
                self.sim.record(COMPONENT, condition.get("reason") or condition["type"],
                                object_ref(d), f"{condition['type']}={condition.get('status')}: "
                                               f"{condition.get('message', '')}")


def _status_equal(a: Obj, b: Obj) -> bool:
    """reflect.DeepEqual of two statuses, absent counts being zero."""
    keys = set(a) | set(b)
    return all((a.get(k) or None) == (b.get(k) or None) for k in keys)
