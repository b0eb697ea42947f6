"""The taint eviction controller: pods leave NoExecute-tainted nodes when tolerations run out."""

import kubelearn as kl
from kubelearn.controllers.tainteviction import matching_tolerations, min_toleration_time

UNREACHABLE = {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}


def pod(name, node="node-1", tolerations=None):
    spec = {"nodeName": node, "containers": [{"name": "app", "image": "nginx:1.27"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec}


def records(cluster, reason, obj=None):
    return [r for r in cluster.sim.records
            if r.reason == reason and (obj is None or r.object == obj)]


def marked(cluster, name):
    return [r.time for r in records(cluster, "TaintManagerEviction", f"pod/default/{name}")
            if r.message == f"Marking for deletion Pod default/{name}"]


def gone(cluster, name):
    found = cluster.admin.list("pods", "default")["items"]
    return all(p["metadata"]["name"] != name or p["metadata"].get("deletionTimestamp")
               for p in found)


def dead_node_cluster(*pods):
    """Pods on node-1 of 3; node-1 dies at 30s. Returns the cluster."""
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(list(pods))
    cluster.run(30)
    cluster.stop_node("node-1")
    return cluster


def taint_time(cluster):
    return records(cluster, "NoExecuteTaintAdded", "node/node-1")[0].time


def test_tolerations_and_their_minimum_time():
    forever = {"key": UNREACHABLE["key"], "operator": "Exists", "effect": "NoExecute"}
    timed = dict(forever, tolerationSeconds=300)
    assert matching_tolerations([UNREACHABLE], [timed, forever]) == (True, [timed])
    assert matching_tolerations([UNREACHABLE, {"key": "x", "effect": "NoExecute"}],
                                [timed]) == (False, [])
    assert min_toleration_time([timed, dict(forever, tolerationSeconds=30)]) == 30
    assert min_toleration_time([forever]) == -1
    assert min_toleration_time([dict(forever, tolerationSeconds=0)]) == 0
    assert min_toleration_time([]) == 0


def test_default_tolerations_evict_300s_after_the_taint():
    cluster = dead_node_cluster(pod("web"))
    tolerations = cluster.admin.get("pods", "web")["spec"]["tolerations"]
    assert {"key": UNREACHABLE["key"], "operator": "Exists", "effect": "NoExecute",
            "tolerationSeconds": 300} in tolerations  # from DefaultTolerationSeconds admission
    cluster.run(300)
    assert not gone(cluster, "web")
    cluster.run(120)
    tainted = taint_time(cluster)
    assert [round(t - tainted) for t in marked(cluster, "web")] == [300]
    assert abs(marked(cluster, "web")[0] - tainted - 300) <= 1
    assert gone(cluster, "web")
    conditions = cluster.admin.get("pods", "web")["status"]["conditions"]
    assert {"type": "DisruptionTarget", "reason": "DeletionByTaintManager"}.items() <= next(
        c for c in conditions if c["type"] == "DisruptionTarget").items()
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["reason"] == "TaintManagerEviction"]
    assert [e["message"] for e in events] == ["Marking for deletion Pod default/web"]


def test_toleration_seconds_30_goes_after_30s_and_forever_stays():
    short = [dict(UNREACHABLE, operator="Exists", tolerationSeconds=30)]
    forever = [dict(UNREACHABLE, operator="Exists")]
    cluster = dead_node_cluster(pod("short", tolerations=short),
                                pod("forever", tolerations=forever))
    cluster.run(450)
    assert abs(marked(cluster, "short")[0] - taint_time(cluster) - 30) <= 1
    assert gone(cluster, "short")
    assert not marked(cluster, "forever") and not gone(cluster, "forever")


def test_a_pod_not_tolerating_a_noexecute_taint_goes_at_once():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply(pod("web", node="node-2"))
    cluster.run(20)
    cluster.admin.patch("nodes", "node-2", {"spec": {"taints": [
        {"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]}}, patch_type="merge")
    at = cluster.now
    cluster.run(1)
    assert marked(cluster, "web") == [at]


def test_a_node_back_before_eviction_keeps_its_pods():
    cluster = dead_node_cluster(pod("web"))
    cluster.run(200)
    assert records(cluster, "PodEvictionScheduled", "pod/default/web")
    cluster.start_node("node-1")
    cluster.run(400)
    assert not marked(cluster, "web") and not gone(cluster, "web")
    cancelled = records(cluster, "TaintManagerEviction", "pod/default/web")
    assert [r.message for r in cancelled] == ["Cancelling deletion of Pod default/web"]
    assert cluster.admin.get("pods", "web")["status"]["phase"] == "Running"


# -- checked against upstream taint_eviction.go and timed_workers.go ---------------------------

def test_a_pod_deleted_while_its_eviction_waits_gets_a_cancelling_event():
    # handlePodUpdate: pod not found -> cancelWorkWithEvent, which records the event when a
    # deletion was pending.
    cluster = dead_node_cluster(pod("web"))
    cluster.run(120)
    assert records(cluster, "PodEvictionScheduled", "pod/default/web")
    cluster.admin.delete("pods", "web", "default", grace_period_seconds=0)
    cluster.run(1)
    assert [r.message for r in records(cluster, "TaintManagerEviction", "pod/default/web")] == [
        "Cancelling deletion of Pod default/web"]
    assert "default/web" not in cluster.controllers["tainteviction"].work


def test_a_deletion_that_keeps_failing_leaves_the_queue():
    # deletePodHandler tries 5 times; a worker that returns an error is removed from the
    # queue, so a later update may schedule it again (a successful one stays, as nil).
    from kubelearn.api import StatusError

    cluster = dead_node_cluster(pod("web"), pod("ok"))
    controller = cluster.controllers["tainteviction"]
    attempts = []
    real = controller.add_condition_and_delete_pod

    def flaky(name, namespace):
        if name == "web":
            attempts.append(cluster.now)
            raise StatusError("etcdserver: request timed out", code=500)
        return real(name, namespace)

    controller.add_condition_and_delete_pod = flaky
    cluster.run(450)
    assert len(attempts) == 5
    assert "default/web" not in controller.work
    assert controller.work["default/ok"] is None and gone(cluster, "ok")


def test_a_worker_cancelled_while_it_deletes_still_stays_as_nil_in_v1_32():
    # timed_workers.go getWrappedWorkerFunc: v1.32 sets workers[key] = nil after a successful
    # run even if CancelWork removed the key meanwhile; PR #129577 (v1.33) only if it exists.
    cluster = dead_node_cluster(pod("web"))
    controller = cluster.controllers["tainteviction"]
    real = controller.add_condition_and_delete_pod

    def cancelled_meanwhile(name, namespace):
        controller.cancel_work(f"{namespace}/{name}", event=False)  # the race, made certain
        return real(name, namespace)

    controller.add_condition_and_delete_pod = cancelled_meanwhile
    cluster.run(450)
    assert gone(cluster, "web")
    assert "default/web" in controller.work and controller.work["default/web"] is None
