"""The garbage collector: background, foreground and orphan propagation."""

import pytest

import kubelearn as kl
from kubelearn.api import NotFound

RS = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
      "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
               "template": {"metadata": {"labels": {"app": "web"}},
                            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}


def running_replicaset(seed: int = 0) -> tuple[kl.Cluster, list[str]]:
    cluster = kl.Cluster(seed=seed, nodes=3)
    cluster.apply(RS)
    cluster.run(30)
    names = [p["metadata"]["name"] for p in cluster.admin.list("pods", "default")["items"]]
    assert len(names) == 3
    return cluster, names


def pod_names(cluster: kl.Cluster) -> list[str]:
    return [p["metadata"]["name"] for p in cluster.admin.list("pods", "default")["items"]]


def gc_records(cluster: kl.Cluster, reason: str) -> list:
    return [r for r in cluster.sim.records
            if r.component == "garbage-collector" and r.reason == reason]


def test_background_deletes_the_owner_at_once_and_its_pods_after():
    cluster, names = running_replicaset()
    cluster.delete("replicaset", "web")
    with pytest.raises(NotFound):
        cluster.admin.get("replicasets", "web")
    cluster.run(60)
    assert pod_names(cluster) == []
    deleted = gc_records(cluster, "DeleteDependent")
    assert sorted(r.object for r in deleted) == sorted(f"pod/default/{n}" for n in names)
    assert all("propagationPolicy=Background" in r.message for r in deleted)


def test_orphan_keeps_the_pods_without_owner_references():
    cluster, names = running_replicaset()
    cluster.delete("replicaset", "web", propagation_policy="Orphan")
    cluster.run(10)
    with pytest.raises(NotFound):
        cluster.admin.get("replicasets", "web")
    pods = cluster.admin.list("pods", "default")["items"]
    assert sorted(p["metadata"]["name"] for p in pods) == sorted(names)
    for pod in pods:
        assert not pod["metadata"].get("ownerReferences")
        assert pod["status"]["phase"] == "Running"
        assert not pod["metadata"].get("deletionTimestamp")
    assert len(gc_records(cluster, "OrphanDependent")) == 3
    assert [r.message for r in gc_records(cluster, "RemoveFinalizer")] == [
        "finalizer orphan removed"]


def test_foreground_deletes_the_pods_before_the_owner():
    cluster, names = running_replicaset()
    cluster.delete("replicaset", "web", propagation_policy="Foreground")
    rs = cluster.admin.get("replicasets", "web")  # still there, marked
    assert rs["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert rs["metadata"]["deletionTimestamp"]
    cluster.run(10)
    assert pod_names(cluster) == []
    with pytest.raises(NotFound):
        cluster.admin.get("replicasets", "web")
    order = [(r.reason, r.object) for r in cluster.sim.records
             if r.reason in ("PodDeleted", "RemoveFinalizer")]
    assert sorted(order[:3]) == sorted(("PodDeleted", f"pod/default/{n}") for n in names)
    assert order[3:] == [("RemoveFinalizer", "replicaset/default/web")]


def test_foreground_owner_waits_for_a_pod_that_is_held():
    cluster = kl.Cluster(seed=0, nodes=3)
    held = {**RS, "spec": {**RS["spec"], "replicas": 1, "template": {
        "metadata": {"labels": {"app": "web"}, "finalizers": ["example.com/hold"]},
        "spec": RS["spec"]["template"]["spec"]}}}
    cluster.apply(held)
    cluster.run(30)
    [name] = pod_names(cluster)
    cluster.delete("replicaset", "web", propagation_policy="Foreground")
    cluster.run(60)
    pod = cluster.admin.get("pods", name)
    assert pod["metadata"]["deletionTimestamp"]  # terminating, kept by its finalizer
    assert cluster.admin.get("replicasets", "web")["metadata"]["deletionTimestamp"]
    cluster.admin.patch("pods", name, {"metadata": {"finalizers": None}}, patch_type="merge")
    cluster.run(5)
    assert pod_names(cluster) == []
    with pytest.raises(NotFound):
        cluster.admin.get("replicasets", "web")
