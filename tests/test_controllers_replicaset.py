"""The ReplicaSet controller: replicas kept, adoption, slow start, scale-down order, status."""

from namespace_testing import refuse_creates

import kubelearn as kl
from kubelearn.api import Forbidden
from kubelearn.controllers.replicaset import deletion_order, slow_start_batch


def replicaset(replicas: int = 3, name: str = "web", min_ready: int = 0,
               template_labels: dict | None = None) -> dict:
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready,
                     "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": template_labels or {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


def active_pods(cluster: kl.Cluster) -> list[dict]:
    return [p for p in cluster.admin.list("pods", "default")["items"]
            if not p["metadata"].get("deletionTimestamp")]


def records(cluster: kl.Cluster, reason: str) -> list:
    return [r for r in cluster.sim.records
            if r.component == "replicaset-controller" and r.reason == reason]


def test_a_replicaset_of_three_gets_three_running_pods_it_owns():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(replicaset(3))
    cluster.run(30)
    rs = cluster.admin.get("replicasets", "web")
    pods = active_pods(cluster)
    assert len(pods) == 3
    for pod in pods:
        assert pod["status"]["phase"] == "Running"
        assert pod["metadata"]["generateName"] == "web-"
        assert pod["metadata"]["name"].startswith("web-") and len(pod["metadata"]["name"]) == 9
        assert pod["metadata"]["ownerReferences"] == [
            {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
             "uid": rs["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}]
    created = records(cluster, "SuccessfulCreate")
    assert sorted(r.message for r in created) == sorted(
        f"Created pod: {p['metadata']['name']}" for p in pods)
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["involvedObject"]["kind"] == "ReplicaSet"]
    assert {e["reason"] for e in events} == {"SuccessfulCreate"}
    assert events[0]["source"] == {"component": "replicaset-controller"}
    assert "SuccessfulCreate" in cluster.describe("replicaset", "web")


def test_a_deleted_pod_comes_back():
    cluster = kl.Cluster(seed=1, nodes=3)
    cluster.apply(replicaset(3))
    cluster.run(30)
    victim = active_pods(cluster)[0]["metadata"]["name"]
    cluster.delete("pod", victim)
    cluster.run(30)
    pods = active_pods(cluster)
    assert len(pods) == 3 and victim not in {p["metadata"]["name"] for p in pods}
    assert all(p["status"]["phase"] == "Running" for p in pods)
    assert len(records(cluster, "SuccessfulCreate")) == 4
    assert records(cluster, "SuccessfulCreate")[-1].time >= 30


def test_slow_start_batches_double_and_burst_caps_each_sync():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(replicaset(10))
    cluster.run(1)
    assert [r.message for r in records(cluster, "SlowStartBatch")] == [
        f"creating a batch of {n} pods" for n in (1, 2, 4, 3)]
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.controllers["replicaset"].burst_replicas = 4
    cluster.apply(replicaset(10))
    cluster.run(1)
    sizes = [int(r.message.split()[4]) for r in records(cluster, "SlowStartBatch")]
    assert sizes == [1, 2, 1, 1, 2, 1, 1, 1]  # three syncs: 4, 4, then the last 2
    assert len(active_pods(cluster)) == 10


def test_slow_start_stops_at_the_first_failing_batch():
    calls = []

    def create():
        calls.append(1)
        if len(calls) == 4:
            raise Forbidden("pods", "", "exceeded quota")

    successes, error = slow_start_batch(10, 1, create)
    assert successes == 6 and len(calls) == 7 and isinstance(error, Forbidden)


def test_scale_down_deletes_unassigned_pods_then_the_cheapest():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(replicaset(3))
    cluster.run(30)
    running = [p["metadata"]["name"] for p in active_pods(cluster)]
    for node in cluster.kubelets:  # cordon every node: new pods stay unscheduled
        cluster.admin.patch("nodes", node, {"spec": {"unschedulable": True}})
    cluster.run(1)
    cluster.admin.scale("replicasets", "web", 5)
    cluster.run(10)
    pending = [p["metadata"]["name"] for p in active_pods(cluster)
               if not p["spec"].get("nodeName")]
    assert len(pending) == 2
    cheap = running[1]
    cluster.admin.patch("pods", cheap, {"metadata": {"annotations": {
        "controller.kubernetes.io/pod-deletion-cost": "-10"}}})
    cluster.admin.scale("replicasets", "web", 2)
    cluster.run(40)
    deleted = [r.message.removeprefix("Deleted pod: ") for r in records(cluster,
                                                                        "SuccessfulDelete")]
    assert sorted(deleted[:2]) == sorted(pending) and deleted[2] == cheap
    assert sorted(p["metadata"]["name"] for p in active_pods(cluster)) == sorted(
        set(running) - {cheap})


def pod(name: str, node: str = "", phase: str = "Running", ready: bool = True,
        created: str = "2024-01-01T00:00:00Z", restarts: int = 0, cost: str | None = None):
    conditions = [{"type": "Ready", "status": "True" if ready else "False",
                   "lastTransitionTime": "2024-01-01T00:00:10Z"}]
    meta = {"name": name, "uid": name, "creationTimestamp": created}
    if cost is not None:
        meta["annotations"] = {"controller.kubernetes.io/pod-deletion-cost": cost}
    return {"metadata": meta, "spec": {"nodeName": node},
            "status": {"phase": phase, "conditions": conditions,
                       "containerStatuses": [{"restartCount": restarts}]}}


def test_deletion_order_follows_active_pods_with_ranks():
    now = kl.sim.EPOCH.timestamp() + 3600
    pods = [
        pod("old", "n1"),
        pod("newer", "n2", created="2024-01-01T00:50:00Z"),
        pod("restarts", "n3", restarts=3),
        pod("doubled-a", "n4"), pod("doubled-b", "n4"),
        pod("costly", "n5", cost="100"),
        pod("cheap", "n6", cost="-1"),
        pod("not-ready", "n7", ready=False),
        pod("unknown", "n8", phase="Unknown"),
        pod("pending", "n9", phase="Pending", ready=False),
        pod("unassigned", "", phase="Pending", ready=False),
    ]
    order = [p["metadata"]["name"] for p in deletion_order(pods, pods, now)]
    assert order == ["unassigned", "pending", "unknown", "not-ready", "cheap",
                     "doubled-a", "doubled-b", "restarts", "newer", "old", "costly"]


def test_status_counts_ready_and_available_after_min_ready_seconds():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(replicaset(3, min_ready=20))
    cluster.run(15)
    status = cluster.admin.get("replicasets", "web")["status"]
    assert status["replicas"] == 3 and status["readyReplicas"] == 3
    assert "availableReplicas" not in status  # 0, omitempty: Go leaves it out
    cluster.run(20)
    rs = cluster.admin.get("replicasets", "web")
    assert rs["status"]["availableReplicas"] == 3
    assert rs["status"]["fullyLabeledReplicas"] == 3
    assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"]
    cluster.admin.scale("replicasets", "web", 1)
    cluster.run(40)
    rs = cluster.admin.get("replicasets", "web")
    assert rs["status"]["replicas"] == 1
    assert rs["status"]["observedGeneration"] == rs["metadata"]["generation"] == 2


def test_orphans_are_adopted_and_pods_that_stop_matching_are_released():
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "stray", "labels": {"app": "web"}},
                   "spec": {"containers": [{"name": "web", "image": "nginx"}]}})
    cluster.run(5)
    cluster.apply(replicaset(3, template_labels={"app": "web", "tier": "front"}))
    cluster.run(30)
    rs = cluster.admin.get("replicasets", "web")
    stray = cluster.admin.get("pods", "stray")
    assert stray["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    assert len(active_pods(cluster)) == 3 and len(records(cluster, "SuccessfulCreate")) == 2
    assert rs["status"]["fullyLabeledReplicas"] == 2  # the stray lacks tier=front
    cluster.admin.patch("pods", "stray", {"metadata": {"labels": {"app": "other"}}})
    cluster.run(30)
    assert not cluster.admin.get("pods", "stray")["metadata"].get("ownerReferences")
    assert len(records(cluster, "SuccessfulCreate")) == 3
    assert len([p for p in active_pods(cluster) if p["metadata"]["labels"]["app"] == "web"]) == 3


def test_creates_refused_for_a_terminating_namespace_are_not_retried(monkeypatch):
    """manageReplicas: such a failure counts as done; createPods posts no FailedCreate event."""
    cluster = kl.Cluster(seed=0, nodes=0)
    tries = refuse_creates(monkeypatch, cluster.controllers["replicaset"].client, "Pod", "pods")
    cluster.apply(replicaset(3))
    cluster.run(60)
    assert len(tries) == 3  # slow start 1 + 2, each "done": no error, so no retry
    assert not records(cluster, "FailedCreate") and not records(cluster, "SyncFailed")
