"""The Deployment controller: rolling updates, Recreate, progress, history, rollback, scaling."""

import pytest
from namespace_testing import refuse_creates

import kubelearn as kl
from kubelearn.api import BadRequest, NotFound
from kubelearn.controllers.deployment import rolling, util
from kubelearn.controllers.deployment.controller import COMPONENT


def deployment(image: str = "nginx:1.27", replicas: int = 10, name: str = "web",
               annotations: dict | None = None, **spec) -> dict:
    meta: dict = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}},
                     **spec}}


def pods(cluster: kl.Cluster) -> list[dict]:
    """Pods not terminating."""
    return [p for p in cluster.admin.list("pods", "default")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in (pod.get("status") or {}).get("conditions") or [])


def images(cluster: kl.Cluster) -> set[str]:
    return {p["spec"]["containers"][0]["image"] for p in pods(cluster)}


def replicasets(cluster: kl.Cluster) -> dict[str, dict]:
    return {rs["metadata"]["name"]: rs
            for rs in cluster.admin.list("replicasets", "default")["items"]}


def sample(cluster: kl.Cluster, seconds: float, every: float = 0.1) -> list[tuple]:
    """(time, pods, available pods, all pods incl. terminating) read from the API every 0.1 s."""
    samples: list[tuple] = []
    end = cluster.now + seconds

    def watch():
        while cluster.now < end:
            listed = cluster.admin.list("pods", "default")["items"]
            live = [p for p in listed if not p["metadata"].get("deletionTimestamp")]
            samples.append((cluster.now, len(live), sum(map(ready, live)), len(listed)))
            yield cluster.sim.timeout(every)

    cluster.sim.process(watch())
    cluster.run(seconds)
    return samples


def progressing(cluster: kl.Cluster, name: str = "web") -> dict:
    d = cluster.admin.get("deployments", name)
    return util.get_condition(d["status"], "Progressing")


def rolled_out(cluster: kl.Cluster, **kw) -> kl.Cluster:
    cluster.apply(deployment(**kw))
    cluster.run(60)
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'
    return cluster


# -- the check ----------------------------------------------------------------------------

def test_rolling_update_of_ten_keeps_eight_available_and_at_most_thirteen_pods():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0))
    cluster.apply(deployment("nginx:1.28"))
    samples = sample(cluster, 120)
    assert min(s[2] for s in samples) >= 8  # maxUnavailable 25% of 10, rounded down: 2
    assert max(s[1] for s in samples) <= 13  # maxSurge 25% of 10, rounded up: 3
    assert max(s[1] for s in samples) == 13 and min(s[2] for s in samples) == 8  # both used
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'
    assert images(cluster) == {"nginx:1.28"} and len(pods(cluster)) == 10
    d = cluster.admin.get("deployments", "web")
    assert {k: d["status"][k] for k in ("replicas", "updatedReplicas", "readyReplicas",
                                        "availableReplicas", "observedGeneration")} == {
        "replicas": 10, "updatedReplicas": 10, "readyReplicas": 10, "availableReplicas": 10,
        "observedGeneration": 2}
    assert d["metadata"]["annotations"][util.REVISION] == "2"


def test_first_steps_follow_upstream_scaling_messages():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0))
    rs1 = next(iter(replicasets(cluster)))
    cluster.apply(deployment("nginx:1.28"))
    cluster.run(0.001)
    rs2 = next(n for n in replicasets(cluster) if n != rs1)
    messages = [r.message for r in cluster.sim.records
                if r.reason == "ScalingReplicaSet" and r.time >= 60]
    assert messages == [f"Scaled up replica set {rs2} to 3",
                        f"Scaled down replica set {rs1} to 8 from 10",
                        f"Scaled up replica set {rs2} to 5 from 3"]
    roles = [util.parse_fields(r.message) for r in cluster.sim.records
             if r.reason == "ReplicaSetScaled" and r.time >= 60]
    assert [(f["role"], f["from"], f["to"]) for f in roles] == [
        ("new", 0, 3), ("old", 10, 8), ("new", 3, 5)]
    events = [e for e in cluster.admin.list("events")["items"]
              if e["reason"] == "ScalingReplicaSet"]
    assert events[-1]["involvedObject"]["kind"] == "Deployment"
    assert events[-1]["source"] == {"component": COMPONENT}


def test_new_replicaset_is_named_by_its_pod_template_hash():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=2)
    (name, rs), = replicasets(cluster).items()
    d = cluster.admin.get("deployments", "web")
    pod_hash = util.compute_hash(d["spec"]["template"])
    assert name == f"web-{pod_hash}"
    assert rs["metadata"]["labels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["selector"] == {"matchLabels": {"app": "web",
                                                      "pod-template-hash": pod_hash}}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    assert rs["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs["metadata"]["annotations"] == {util.REVISION: "1", util.DESIRED_REPLICAS: "2",
                                             util.MAX_REPLICAS: "3"}
    assert all(p["metadata"]["labels"]["pod-template-hash"] == pod_hash for p in pods(cluster))


def test_compute_hash_is_safe_encoded_fnv32a_and_moves_with_collision_count():
    template = {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": []}}
    h = util.compute_hash(template)
    assert h == util.compute_hash(dict(template)) and set(h) <= set(util.ALPHANUMS)
    assert h != util.compute_hash(template, 1) != util.compute_hash(template, 2)
    assert util.fnv32a(b"") == 2166136261 and util.fnv32a(b"a") == 0xE40C292C  # FNV-1a vectors
    assert util.safe_encode_string("0123") == "4567"  # ord("0") = 48, 48 % 27 = 21


# -- Recreate --------------------------------------------------------------------------------------

def test_recreate_leaves_a_gap_with_no_pods():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply(deployment(replicas=4, strategy={"type": "Recreate"}))
    cluster.run(60)
    pods_when_new_scaled_up = []

    def on_record(record):
        if record.reason == "ReplicaSetScaled" and "role=new" in record.message:
            pods_when_new_scaled_up.append(cluster.admin.list("pods", "default")["items"])

    cluster.sim.subscribe(on_record)
    cluster.apply(deployment("nginx:1.28", replicas=4, strategy={"type": "Recreate"}))
    samples = sample(cluster, 60)
    # the new ReplicaSet grew only once every old pod was gone, terminating ones too
    assert pods_when_new_scaled_up == [[]]
    gap = [s[0] for s in samples if s[2] == 0]
    assert gap[-1] - gap[0] >= 1  # seconds with nothing serving
    assert max(s[1] for s in samples) <= 4  # never old and new together
    assert images(cluster) == {"nginx:1.28"}
    scaled = [r.message for r in cluster.sim.records if r.reason == "ScalingReplicaSet"]
    assert scaled[-2].startswith("Scaled down replica set web-") and scaled[-2].endswith(
        "to 0 from 4")
    assert scaled[-1].startswith("Scaled up replica set web-") and scaled[-1].endswith("to 4")
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'


# -- a bad image, the deadline, and rollback -------------------------------------------------------

def test_bad_image_stalls_then_progress_deadline_exceeded_and_undo_restores():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0))
    cluster.apply(deployment("nginx:does-not-exist"))
    cluster.run(60)
    assert len([p for p in pods(cluster) if ready(p)]) == 8  # the old version still serves
    assert cluster.rollout_status("web") == (
        'Waiting for deployment "web" rollout to finish: 5 out of 10 new replicas have been '
        "updated...")
    started = util.unix_seconds(progressing(cluster)["lastUpdateTime"]) - \
        cluster.sim.epoch.timestamp()
    cluster.run(started + 600 - cluster.now - 1)
    assert progressing(cluster)["reason"] != util.TIMED_OUT
    cluster.run(3)
    condition = progressing(cluster)
    new_rs = [n for n, rs in replicasets(cluster).items() if rs["spec"]["replicas"] == 5][0]
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "False", "ProgressDeadlineExceeded", f'ReplicaSet "{new_rs}" has timed out progressing.')
    timed_out = [r for r in cluster.sim.records if r.reason == "ProgressDeadlineExceeded"]
    assert len(timed_out) == 1 and 600 < timed_out[0].time - started <= 602
    assert cluster.rollout_status("web") == 'error: deployment "web" exceeded its progress deadline'
    # no automatic rollback: the old pods keep serving, the bad ones keep failing
    assert len([p for p in pods(cluster) if ready(p)]) == 8
    assert cluster.rollout_undo("web") == "deployment.apps/web rolled back"
    cluster.run(60)
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'
    assert images(cluster) == {"nginx:1.27"} and len(pods(cluster)) == 10
    history = cluster.rollout_history("web")
    assert list(history["REVISION"]) == [2, 3]  # revision 1 came back as 3
    old = replicasets(cluster)
    revived = [rs for rs in old.values() if rs["spec"]["replicas"] == 10][0]
    assert revived["metadata"]["annotations"][util.REVISION_HISTORY] == "1"


def test_rollout_undo_errors_are_kubectls():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=2)
    with pytest.raises(BadRequest, match="unable to find specified revision 5 in history"):
        cluster.rollout_undo("web", to_revision=5)
    with pytest.raises(BadRequest, match='no rollout history found for deployment "web"'):
        cluster.rollout_undo("web")
    assert cluster.rollout_undo("web", to_revision=1) == (
        "deployment.apps/web skipped rollback (current template already matches revision 1)")
    with pytest.raises(NotFound, match='deployments.apps "nope" not found'):
        cluster.rollout_undo("nope")
    cluster.rollout_pause("web")
    with pytest.raises(BadRequest, match="you cannot rollback a paused deployment"):
        cluster.rollout_undo("web", to_revision=1)
    with pytest.raises(BadRequest, match='deployments.apps "web" is already paused'):
        cluster.rollout_pause("web")
    cluster.rollout_resume("web")
    with pytest.raises(BadRequest, match='deployments.apps "web" is not paused'):
        cluster.rollout_resume("web")


# -- pause, resume, restart ------------------------------------------------------------------------

def test_pause_stops_a_rollout_and_resume_finishes_it():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=4)
    assert cluster.rollout_pause("web") == "deployment.apps/web paused"
    cluster.run(1)
    condition = progressing(cluster)
    assert (condition["status"], condition["reason"], condition["message"]) == (
        "Unknown", "DeploymentPaused", "Deployment is paused")
    cluster.apply(deployment("nginx:1.28", replicas=4, paused=True))
    cluster.run(120)
    assert len(replicasets(cluster)) == 1 and images(cluster) == {"nginx:1.27"}
    assert cluster.rollout_status("web") == (
        'Waiting for deployment "web" rollout to finish: 0 out of 4 new replicas have been '
        "updated...")
    assert cluster.rollout_resume("web") == "deployment.apps/web resumed"
    cluster.run(1)
    assert progressing(cluster)["reason"] in ("DeploymentResumed", "ReplicaSetUpdated",
                                              "NewReplicaSetCreated")
    assert any(r.reason == "DeploymentResumed" for r in cluster.sim.records)
    cluster.run(60)
    assert images(cluster) == {"nginx:1.28"}
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'


def test_rollout_restart_replaces_every_pod():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=3)
    before = {p["metadata"]["name"] for p in pods(cluster)}
    assert cluster.rollout_restart("web") == "deployment.apps/web restarted"
    cluster.run(60)
    d = cluster.admin.get("deployments", "web")
    stamp = d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"]
    assert stamp == "2024-01-01T00:01:00Z"  # the virtual clock at 60 s
    assert not before & {p["metadata"]["name"] for p in pods(cluster)}
    assert len(pods(cluster)) == 3


# -- history ---------------------------------------------------------------------------------------

def test_history_is_pruned_to_revision_history_limit_and_shows_change_cause():
    cluster = kl.Cluster(nodes=3, seed=0)
    for i in range(5):
        cluster.apply(deployment(f"nginx:1.{20 + i}", replicas=2, revisionHistoryLimit=2,
                                 annotations={util.CHANGE_CAUSE: f"v{i + 1}"}))
        cluster.run(30)
    sets = replicasets(cluster)
    assert len(sets) == 3  # the new one and 2 old ones
    history = cluster.rollout_history("web")
    assert list(history["REVISION"]) == [3, 4, 5]
    assert list(history["CHANGE-CAUSE"]) == ["v3", "v4", "v5"]
    deleted = [r for r in cluster.sim.records if r.reason == "ReplicaSetDeleted"]
    assert [util.parse_fields(r.message)["revision"] for r in deleted] == [1, 2]


def test_default_history_limit_is_ten():
    cluster = kl.Cluster(nodes=1, seed=0)
    for i in range(13):
        cluster.apply(deployment(f"nginx:1.{i}", replicas=1))
        cluster.run(20)
    assert len(replicasets(cluster)) == 11
    assert list(cluster.rollout_history("web")["REVISION"]) == list(range(3, 14))


# -- scaling mid-rollout ---------------------------------------------------------------------------

def test_scaling_mid_rollout_is_proportional():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0))
    cluster.apply(deployment("nginx:does-not-exist"))
    cluster.run(30)
    sizes = sorted(rs["spec"]["replicas"] for rs in replicasets(cluster).values())
    assert sizes == [5, 8]
    cluster.admin.scale("deployments", "web", 20)
    cluster.run(1)
    sets = replicasets(cluster).values()
    # 25 allowed (20 + 5 surge); old 8*25/13 -> 15, new 5*25/13 -> 10 (getReplicaSetFraction)
    by_image = {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs for rs in sets}
    assert by_image["nginx:1.27"]["spec"]["replicas"] == 15
    assert by_image["nginx:does-not-exist"]["spec"]["replicas"] == 10
    assert all(rs["metadata"]["annotations"][util.DESIRED_REPLICAS] == "20" for rs in sets)
    assert all(rs["metadata"]["annotations"][util.MAX_REPLICAS] == "25" for rs in sets)


def test_scaling_a_finished_deployment_scales_its_only_replicaset():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=3)
    cluster.admin.scale("deployments", "web", 6)
    cluster.run(30)
    (rs,) = replicasets(cluster).values()
    assert rs["spec"]["replicas"] == 6 and len(pods(cluster)) == 6
    assert [r.message for r in cluster.sim.records if r.reason == "ScalingReplicaSet"][-1] == (
        f"Scaled up replica set {rs['metadata']['name']} to 6 from 3")


# -- status and conditions -------------------------------------------------------------------------

def test_status_records_and_conditions_match_upstream():
    cluster = rolled_out(kl.Cluster(nodes=3, seed=0), replicas=3, minReadySeconds=5)
    d = cluster.admin.get("deployments", "web")
    conditions = {c["type"]: c for c in d["status"]["conditions"]}
    (rs,) = replicasets(cluster)
    assert (conditions["Available"]["reason"], conditions["Available"]["message"]) == (
        "MinimumReplicasAvailable", "Deployment has minimum availability.")
    assert (conditions["Progressing"]["reason"], conditions["Progressing"]["message"]) == (
        "NewReplicaSetAvailable", f'ReplicaSet "{rs}" has successfully progressed.')
    reasons = [r.reason for r in cluster.sim.records if r.component == COMPONENT
               and r.object == "deployment/default/web" and r.reason not in (
                   "DeploymentStatus", "ScalingReplicaSet")]
    assert reasons[:2] == ["NewReplicaSetCreated", "MinimumReplicasUnavailable"]
    assert "MinimumReplicasAvailable" in reasons and reasons[-1] == "NewReplicaSetAvailable"
    statuses = [util.parse_fields(r.message) for r in cluster.sim.records
                if r.reason == "DeploymentStatus"]
    assert statuses[-1] | {"observedGeneration": 1} == {
        "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3,
        "unavailableReplicas": 0, "observedGeneration": 1, "desired": 3, "maxSurge": 1,
        "maxUnavailable": 0, "revision": 1, "newReplicaSet": rs}
    # minReadySeconds: ready before available
    assert any(s["readyReplicas"] > s["availableReplicas"] for s in statuses)
    assert replicasets(cluster)[rs]["spec"]["minReadySeconds"] == 5
    text = cluster.describe("deployment", "web")
    assert "OldReplicaSets:  <none>" in text and f"NewReplicaSet:   {rs} (3/3" in text


# -- upstream's table tests ------------------------------------------------------------------------

@pytest.mark.parametrize("surge, unavailable, desired, expected", [
    # deployment_util_test.go TestResolveFenceposts
    ("0%", "0%", 0, (0, 1)),
    ("39%", "39%", 10, (4, 3)),
    (None, "39%", 10, (0, 3)),
    ("39%", None, 10, (4, 0)),
    (None, None, 10, (0, 1)),
    # FACTS.md: the defaults
    ("25%", "25%", 10, (3, 2)),
    ("25%", "25%", 3, (1, 0)),
    ("25%", "25%", 1, (1, 0)),
    (0, "25%", 1, (0, 1)),
    (2, 1, 10, (2, 1)),
])
def test_resolve_fenceposts(surge, unavailable, desired, expected):
    assert util.resolve_fenceposts(surge, unavailable, desired) == expected


@pytest.mark.parametrize("surge, unavailable", [("oops", "39%"), ("55%", "urg"), ("5", "1")])
def test_resolve_fenceposts_rejects_bad_values(surge, unavailable):
    with pytest.raises(ValueError):
        util.resolve_fenceposts(surge, unavailable, 10)


def _deployment(replicas: int, surge=1, unavailable=1, strategy="RollingUpdate") -> dict:
    d = deployment(replicas=replicas)
    d["metadata"]["generation"] = 1
    d["spec"]["strategy"] = {"type": strategy}
    if strategy == "RollingUpdate":
        d["spec"]["strategy"]["rollingUpdate"] = {"maxSurge": surge, "maxUnavailable": unavailable}
    return d


def _rs(name: str, replicas: int, available: int = 0) -> dict:
    return {"metadata": {"name": name, "namespace": "default", "uid": name,
                         "creationTimestamp": "2024-01-01T00:00:00Z"},
            "spec": {"replicas": replicas}, "status": {"availableReplicas": available}}


@pytest.mark.parametrize("replicas, unavailable, expected", [
    # deployment_util_test.go TestMaxUnavailable (maxSurge 1)
    (10, 5, 5), (10, 10, 10), (5, 10, 5), (0, 10, 0),
    (10, "50%", 5), (10, "100%", 10), (5, "100%", 5),
])
def test_max_unavailable(replicas, unavailable, expected):
    assert util.max_unavailable(_deployment(replicas, 1, unavailable)) == expected


def test_max_unavailable_of_recreate_is_zero():
    assert util.max_unavailable(_deployment(10, strategy="Recreate")) == 0


@pytest.mark.parametrize("strategy, dep_replicas, new_replicas, surge, expected", [
    # deployment_util_test.go TestNewRSNewReplicas (allRSs: one old RS of 5)
    ("RollingUpdate", 1, 5, 1, 5),  # can not scale up
    ("RollingUpdate", 6, 2, 10, 6),  # scale up to depReplicas
    ("Recreate", 3, 1, 1, 3),
])
def test_new_rs_new_replicas(strategy, dep_replicas, new_replicas, surge, expected):
    d = _deployment(dep_replicas, surge, 1, strategy)
    assert util.new_rs_new_replicas(d, [_rs("rs5", 5)], _rs("new", new_replicas)) == expected


class FakeController:
    """Records scale calls instead of calling the API server (rolling_test.go's fake client)."""

    def __init__(self) -> None:
        self.scaled: list[tuple[str, int]] = []

    def scale_replicaset_and_record_event(self, rs, new_scale, d):
        if util.replicas(rs) == new_scale:
            return False, rs
        self.scaled.append((rs["metadata"]["name"], new_scale))
        return True, {**rs, "spec": {**rs["spec"], "replicas": new_scale}}


@pytest.mark.parametrize("dep, surge, old, new, expected", [
    # rolling_test.go TestDeploymentController_reconcileNewReplicaSet (maxUnavailable 0)
    (10, 0, 10, 0, None),
    (10, 2, 10, 0, 2),
    (10, 2, 5, 0, 7),
    (10, 2, 10, 2, None),
    (10, 2, 2, 11, 10),  # scale down
])
def test_reconcile_new_replicaset(dep, surge, old, new, expected):
    dc = FakeController()
    new_rs, old_rs = _rs("foo-new", new), _rs("foo-old", old)
    scaled = rolling.reconcile_new_replicaset(dc, [new_rs, old_rs], new_rs,
                                              _deployment(dep, surge, 0))
    assert scaled == (expected is not None)
    assert dc.scaled == ([("foo-new", expected)] if expected is not None else [])


@pytest.mark.parametrize("dep, unavailable, old, new, ready_old, ready_new, expected", [
    # rolling_test.go TestDeploymentController_reconcileOldReplicaSets (maxSurge 0)
    (10, 0, 10, 0, 10, 0, 9),
    (10, 2, 10, 0, 10, 0, 8),
    (10, 2, 10, 0, 8, 0, 8),  # unhealthy old replicas cleaned up
    (10, 2, 10, 0, 9, 0, 8),  # 1 unhealthy cleaned up, 1 ready scaled down
    (10, 2, 8, 2, 8, 0, None),  # the new RS's unavailable pods block further scale-down
])
def test_reconcile_old_replicasets(dep, unavailable, old, new, ready_old, ready_new, expected):
    dc = FakeController()
    new_rs, old_rs = _rs("foo-new", new, ready_new), _rs("foo-old", old, ready_old)
    scaled = rolling.reconcile_old_replicasets(dc, [old_rs, new_rs], [old_rs], new_rs,
                                               _deployment(dep, 0, unavailable))
    assert scaled == (expected is not None)
    if expected is not None:
        assert dc.scaled[-1] == ("foo-old", expected)


@pytest.mark.parametrize("ready, max_cleanup, expected", [
    # rolling_test.go TestDeploymentController_cleanupUnhealthyReplicas (10 old, 2 unhealthy)
    (8, 1, 1), (8, 3, 2), (8, 0, 0), (10, 3, 0),
])
def test_cleanup_unhealthy_replicas(ready, max_cleanup, expected):
    _, count = rolling.cleanup_unhealthy_replicas(
        FakeController(), [_rs("foo-v2", 10, ready)], _deployment(10, 2, 2), max_cleanup)
    assert count == expected


@pytest.mark.parametrize("unavailable, ready, old, expected", [
    # rolling_test.go TestDeploymentController_scaleDownOldReplicaSetsForRollingUpdate
    (0, 10, 10, 9), (2, 10, 10, 8), (2, 8, 10, None), (2, 10, 0, None), (2, 1, 10, None),
])
def test_scale_down_old_replicasets(unavailable, ready, old, expected):
    dc = FakeController()
    old_rs = _rs("foo-v2", old, ready)
    scaled = rolling.scale_down_old_replicasets(dc, [old_rs], [old_rs],
                                                _deployment(10, 0, unavailable))
    assert dc.scaled == ([("foo-v2", expected)] if expected is not None else [])
    assert (scaled > 0) == (expected is not None)


@pytest.mark.parametrize("rs_replicas, annotated, dep_replicas, surge, to_add, added, expected", [
    # GetProportion: scaling up by 12 from 10+3 to 20+5 (rs of 8, then of 5)
    (8, 13, 20, 5, 12, 0, 7),
    (5, 13, 20, 5, 12, 7, 5),
    # scaling down from 20+5 to 10+3: never more than allowed
    (15, 25, 10, 3, -12, 0, -7),
    (0, 25, 10, 3, -12, 0, 0),
])
def test_get_proportion(rs_replicas, annotated, dep_replicas, surge, to_add, added, expected):
    rs = _rs("rs", rs_replicas)
    rs["metadata"]["annotations"] = {util.MAX_REPLICAS: str(annotated)}
    d = _deployment(dep_replicas, surge, 0)
    assert util.get_proportion(rs, d, to_add, added) == expected


def test_revision_history_annotation_keeps_rolled_back_revisions():
    d = _deployment(3)
    rs = _rs("web-x", 0)
    rs["metadata"]["annotations"] = {util.REVISION: "1"}
    assert util.set_new_replicaset_annotations(d, rs, "4", True)
    rs["metadata"]["annotations"][util.REVISION] = "4"
    assert util.set_new_replicaset_annotations(d, rs, "6", True)
    assert rs["metadata"]["annotations"][util.REVISION] == "6"
    assert rs["metadata"]["annotations"][util.REVISION_HISTORY] == "1,4"


def test_same_seed_same_rollout_and_no_failed_syncs():
    def run() -> list:
        cluster = rolled_out(kl.Cluster(nodes=3, seed=4))
        cluster.apply(deployment("nginx:does-not-exist"))
        cluster.run(30)
        cluster.rollout_undo("web")
        cluster.run(30)
        return [r for r in cluster.sim.records if r.component == COMPONENT]

    first = run()
    assert first == run()
    assert not [r for r in first if r.reason == "SyncFailed"]


def test_a_sync_failing_for_a_terminating_namespace_is_forgotten(monkeypatch):
    """handleErr: an error with the NamespaceTerminating cause is not retried."""
    cluster = kl.Cluster(seed=0, nodes=0)
    tries = refuse_creates(monkeypatch, cluster.controllers["deployment"].client, "ReplicaSet",
                           "replicasets")
    cluster.apply(deployment(replicas=2))
    cluster.run(60)
    assert len(tries) <= 2  # the deployment's own events; without the cause: 16 tries
    assert not [r for r in cluster.sim.records
                if r.component == COMPONENT and r.reason == "SyncFailed"]
