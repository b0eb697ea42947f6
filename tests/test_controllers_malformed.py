"""Controllers survive objects they cannot read: they log it, record it, and go on.

The API server's decode keeps most malformed objects out of etcd; these tests
write them straight into etcd (as a bug, an old version or another writer
could), so the watch cache hands them to every informer, and check the second
line of defence upstream's controllers have: one bad object costs its own key
a failed sync (retried under the work queue's rate limit, dropped after max
retries), never the controller, and never the other objects' turn.
"""

from __future__ import annotations

import logging
from itertools import pairwise

from endpoints_testing import replicaset, service

import kubelearn as kl
from kubelearn.api import key_for
from kubelearn.apiserver.storage import encode
from kubelearn.controllers.informer import SyncError, WorkQueue
from kubelearn.scheduler.informer import Informer
from kubelearn.sim import Simulation

SLICES = "endpoint-slice-controller"
NODES = "node-lifecycle-controller"


def put_raw(cluster: kl.Cluster, resource: str, obj: dict) -> None:
    """Write ``obj`` into etcd as the API server stores it, with no decode or validation."""
    meta = obj["metadata"]
    meta.setdefault("uid", f"raw-{meta['name']}")
    meta.setdefault("creationTimestamp", cluster.sim.timestamp())
    cluster.etcd.put(key_for(resource, meta.get("namespace"), meta["name"]), encode(obj))


def records(cluster: kl.Cluster, component: str, reason: str, obj: str | None = None) -> list:
    return [r for r in cluster.sim.records if r.component == component and r.reason == reason
            and (obj is None or r.object == obj)]


def gaps(times: list[float]) -> list[float]:
    """The waits between one attempt and the next."""
    return [round(b - a, 6) for a, b in pairwise(times)]


def slices_of(cluster: kl.Cluster, name: str) -> list[dict]:
    return [s for s in cluster.admin.list("endpointslices", "default")["items"]
            if (s["metadata"].get("labels") or {}).get("kubernetes.io/service-name") == name]


# -- the work queue: any exception from a sync is a failed sync, not a dead worker ------------

def test_the_worker_survives_any_exception_and_retries_under_the_rate_limit(caplog):
    sim = Simulation(0)
    synced: list[tuple[float, str]] = []

    def sync(key: str) -> None:
        synced.append((sim.now, key))
        if key == "bad":
            raise TypeError("'int' object is not subscriptable")

    queue = WorkQueue(sim, "test-controller", sync, base_delay=1.0, max_delay=1000.0,
                      max_retries=15)
    queue.start()
    with caplog.at_level(logging.INFO, logger="kubelearn.controllers.informer"):
        queue.add("bad")
        queue.add("good")
        sim.run(10)
        queue.add("later")
        sim.run(7000)
    assert (10.0, "later") in synced and (0.0, "good") in synced  # the worker lives on
    tries = [t for t, key in synced if key == "bad"]
    # 1 + 15 retries, each 1s, 2s, 4s, ... 512s, then 1000s (ItemExponentialFailureRateLimiter)
    assert gaps(tries) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1000, 1000, 1000, 1000, 1000]
    panics = [r for r in sim.records if r.reason == "SyncPanicked"]
    assert [r.time for r in panics] == tries  # one record per attempt
    assert {(r.component, r.object) for r in panics} == {("test-controller", "bad")}
    assert "TypeError: 'int' object is not subscriptable" in panics[0].message
    [dropped] = [r for r in sim.records if r.reason == "SyncDropped"]
    assert dropped.time == tries[-1] and "after 15 retries" in dropped.message
    # log.exception: a traceback for each attempt, at ERROR
    logged = [r for r in caplog.records if r.exc_info and "bad" in r.getMessage()]
    assert len(logged) == len(tries) and all(r.levelno == logging.ERROR for r in logged)
    # dropped means forgotten: the next event starts the back-off afresh
    queue.add("bad")
    sim.run(1.5)
    assert [t for t, key in synced if key == "bad"][-2:] == [7010.0, 7011.0]


def test_an_expected_failure_is_sync_failed_and_not_a_panic():
    sim = Simulation(0)

    def sync(key: str) -> None:
        raise SyncError("stale cache")

    queue = WorkQueue(sim, "test-controller", sync, max_retries=0)
    queue.start()
    queue.add("a")
    sim.run(1)
    assert [r.reason for r in sim.records] == ["SyncFailed", "SyncDropped"]


# -- informer handlers: one handler's exception does not stop the others -----------------------

def test_a_failing_handler_does_not_stop_the_informer_or_the_other_handlers(caplog):
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.run(1)
    informer = Informer(cluster.sim, cluster.admin, "configmaps")
    seen: list[str] = []

    def broken(obj: dict) -> None:
        if obj["metadata"]["name"] == "c":
            raise KeyError("spec")

    informer.add_event_handler(broken, lambda old, new: broken(new), broken)
    informer.add_event_handler(lambda o: seen.append("add " + o["metadata"]["name"]),
                               lambda _o, n: seen.append("update " + n["metadata"]["name"]),
                               lambda o: seen.append("delete " + o["metadata"]["name"]))
    informer.start()
    seen.clear()  # the ConfigMaps already there (kube-root-ca.crt, coredns)
    config = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
              "data": {"a": "1"}}
    with caplog.at_level(logging.ERROR):
        cluster.apply(config)  # the writer does not see the handler's exception
        config["data"]["a"] = "2"
        cluster.apply(config)
        cluster.delete("configmap", "c")
        cluster.run(1)
    assert seen == ["add c", "update c", "delete c"]
    panics = [r for r in cluster.sim.records if r.reason == "HandlerPanicked"]
    assert [r.object for r in panics] == ["configmaps/default/c"] * 3
    assert "KeyError: 'spec'" in panics[0].message
    assert sum(1 for r in caplog.records if r.exc_info) == 3


# -- the EndpointSlice controller and a Service it cannot read ---------------------------------

def bad_service_cluster() -> kl.Cluster:
    """Two pods, Service ``web``; at 20s a Service ``bad`` with ``ipFamilies: 7`` lands in etcd."""
    cluster = kl.Cluster(nodes=2, seed=0)
    cluster.apply([replicaset(2), service("web")])
    cluster.run(20)
    bad = service("bad")
    bad["metadata"]["namespace"] = "default"
    bad["spec"].update(ipFamilies=7, clusterIP="10.96.200.200", clusterIPs=["10.96.200.200"])
    put_raw(cluster, "services", bad)
    return cluster


def test_a_malformed_service_costs_its_own_sync_not_the_other_services(caplog):
    with caplog.at_level(logging.ERROR):
        cluster = bad_service_cluster()
        cluster.run(5)
        cluster.apply(service("later"))
        cluster.run(20)
    [slice_] = slices_of(cluster, "later")  # the Service made after the bad one gets its slice
    assert len(slice_["endpoints"]) == 2
    [web] = slices_of(cluster, "web")
    assert len(web["endpoints"]) == 2
    assert slices_of(cluster, "bad") == []
    panics = records(cluster, SLICES, "SyncPanicked")
    assert panics and {r.object for r in panics} == {"default/bad"}
    assert "TypeError" in panics[0].message
    # retried at upstream's pace: 1s, 2s, 4s, ... after each failure (defaultSyncBackOff)
    tries = [r.time for r in panics]
    assert gaps(tries)[:4] == [1, 2, 4, 8]
    assert any(r.exc_info and "default/bad" in r.getMessage() for r in caplog.records)
    # and the Endpoints controller, which reads the same Service, lives on too
    assert cluster.admin.get("endpoints", "later")["subsets"][0]["addresses"]


# -- the node lifecycle controller and nodes it cannot read ------------------------------------

def ready_status(cluster: kl.Cluster, name: str) -> str:
    node = cluster.admin.get("nodes", name)
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_a_node_with_status_null_is_a_node_that_never_reported():
    """As upstream reads it: no Ready condition, so Unknown after the startup grace period."""
    cluster = kl.Cluster(nodes=2, seed=0)
    cluster.run(30)
    put_raw(cluster, "nodes", {"apiVersion": "v1", "kind": "Node",
                               "metadata": {"name": "ghost"}, "spec": {}, "status": None})
    cluster.run(70)
    assert records(cluster, NODES, "SyncPanicked") == []
    node = cluster.admin.get("nodes", "ghost")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
    assert {"node.kubernetes.io/unreachable"} <= {t["key"] for t in node["spec"]["taints"]}
    assert ready_status(cluster, "node-1") == ready_status(cluster, "node-2") == "True"


def test_a_node_the_controller_cannot_read_does_not_stop_the_others(caplog):
    """One node raises on every pass; another dies and is still marked and evicted on time."""
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply(replicaset(3))
    cluster.run(30)
    with caplog.at_level(logging.ERROR):
        put_raw(cluster, "nodes", {
            "apiVersion": "v1", "kind": "Node", "metadata": {"name": "ghost"}, "spec": {},
            "status": {"conditions": [7]}})
        victims = [p["metadata"]["name"] for p in cluster.admin.list("pods", "default")["items"]
                   if p["spec"].get("nodeName") == "node-1"]
        assert victims
        # Two pods on node-1 that sort first: one whose tolerations nobody can read, one
        # with a null status (an empty one, as upstream decodes it: evicted at once).
        for name, spec, status in (("aaa-bad", {"tolerations": [7]}, {}),
                                   ("aab-null", {}, None)):
            put_raw(cluster, "pods", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": name, "namespace": "default", "labels": {"app": name}},
                "spec": {"nodeName": "node-1", **spec,
                         "containers": [{"name": "c", "image": "nginx"}]},
                "status": status})
        cluster.stop_node("node-1")
        cluster.run(420)
    last = max(r.time for r in cluster.sim.records
               if r.reason == "LeaseRenewed" and r.object == "lease/kube-node-lease/node-1")
    [unknown] = [r.time for r in records(cluster, NODES, "NodeStatusUnknown", "node/node-1")]
    assert last + 50 <= unknown < last + 55
    [tainted] = [r.time for r in records(cluster, NODES, "NoExecuteTaintAdded", "node/node-1")]
    assert unknown < tainted <= unknown + 5
    [null_marked] = [r.time for r in cluster.sim.records if r.reason == "TaintManagerEviction"
                     and r.object == "pod/default/aab-null"]
    assert null_marked == tainted  # it tolerates nothing (no admission added the defaults)
    # Deleted -- or, while the API server cannot update a pod stored with a null status (it
    # raises inside the in-process call), that failure recorded once, and the timer survives.
    deleted = records(cluster, "taint-eviction-controller", "PodDeleted", "pod/default/aab-null")
    failed = records(cluster, "taint-eviction-controller", "SyncPanicked", "pod/default/aab-null")
    assert len(deleted) + len(failed) == 1
    [bad] = records(cluster, "taint-eviction-controller", "SyncPanicked", "pod/default/aaa-bad")
    assert bad.time == tainted and "Failed to process Pod on a tainted Node" in bad.message
    for name in victims:  # evicted after the 300s DefaultTolerationSeconds, as always
        [marked] = [r.time for r in cluster.sim.records if r.reason == "TaintManagerEviction"
                    and r.object == f"pod/default/{name}"
                    and r.message.startswith("Marking for deletion")]
        assert abs(marked - tainted - 300) <= 1
    # the ghost: one failure recorded (and logged) per monitor pass, and the passes go on
    passes = [r.time for r in records(cluster, NODES, "MonitorNodeHealth") if r.time >= 30]
    failed = records(cluster, NODES, "SyncPanicked", "node/ghost")
    assert len(passes) == 84 and [r.time for r in failed] == passes
    assert failed[0].message == ("Update health of Node from Controller error, Skipping - no pods "
                                 "will be evicted: AttributeError: 'int' object has no attribute "
                                 "'get'")
    assert any(r.exc_info and "ghost" in r.getMessage() for r in caplog.records)
    assert ready_status(cluster, "node-2") == "True"
