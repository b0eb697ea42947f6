"""A node dies under a ReplicaSet, end to end: heartbeats, Unknown, taint, eviction, replacements.

Every timing is read from the records (``cluster.sim.records``), as the timelines read them.
The unit-level checks live in test_controllers_nodelifecycle.py and
test_controllers_tainteviction.py; these follow one story through every component.
"""

import kubelearn as kl

UNREACHABLE = "node.kubernetes.io/unreachable"
STOP_AT = 60.0


def replicaset(name, replicas, tolerations=None):
    spec = {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    if tolerations is not None:
        spec["tolerations"] = tolerations
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def records(cluster, reason, obj=None, component=None):
    return [r for r in cluster.sim.records if r.reason == reason
            and (obj is None or r.object == obj)
            and (component is None or r.component == component)]


def pods(cluster, app=None):
    found = cluster.admin.list("pods", "default")["items"]
    return [p for p in found if app is None or p["metadata"]["labels"].get("app") == app]


def on_node(cluster, node, app=None):
    return sorted(p["metadata"]["name"] for p in pods(cluster, app)
                  if p["spec"].get("nodeName") == node)


def marked(cluster, name):
    return [r.time for r in records(cluster, "TaintManagerEviction", f"pod/default/{name}")
            if r.message.startswith("Marking for deletion")]


def kill(*manifests, seconds=420.0):
    """Three nodes (one a zone), the ReplicaSets spread over them; node-1 dies at 60s."""
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(list(manifests))
    cluster.run(STOP_AT)
    victims = on_node(cluster, "node-1")
    assert victims, "the scheduler put nothing on node-1"
    cluster.stop_node("node-1")
    cluster.run(seconds)
    return cluster, victims


def test_a_dead_node_goes_unknown_is_tainted_and_its_pods_move():
    cluster, victims = kill(replicaset("web", 6))
    # 1. Heartbeats stop; 50s (the grace period) later, checked every 5s: Ready=Unknown.
    last = max(r.time for r in records(cluster, "LeaseRenewed", "lease/kube-node-lease/node-1"))
    assert STOP_AT - 10 <= last <= STOP_AT
    [unknown] = [r.time for r in records(cluster, "NodeStatusUnknown", "node/node-1")]
    assert last + 50 <= unknown < last + 55
    node = cluster.admin.get("nodes", "node-1")
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["status"] == "Unknown"
    # 2. The unreachable taints: NoSchedule (no new pods) and NoExecute (evict the old ones).
    [tainted] = [r.time for r in records(cluster, "NoExecuteTaintAdded", "node/node-1")]
    assert unknown < tainted <= unknown + 5
    taints = {(t["key"], t["effect"]): t for t in node["spec"]["taints"]}
    assert set(taints) == {(UNREACHABLE, "NoSchedule"), (UNREACHABLE, "NoExecute")}
    assert taints[UNREACHABLE, "NoExecute"]["timeAdded"] == cluster.sim.timestamp(tainted)
    # 3. Each pod tolerates it for 300s (DefaultTolerationSeconds), then is evicted.
    for name in victims:
        [at] = marked(cluster, name)
        assert abs(at - tainted - 300) <= 1, (name, at, tainted)
        pod = cluster.admin.get("pods", name)
        # The kubelet is gone, so nothing finishes the deletion: Terminating, as upstream.
        assert pod["metadata"].get("deletionTimestamp")
        assert any(c["type"] == "DisruptionTarget" for c in pod["status"]["conditions"])
    # So the pods went about 5m55s after the last heartbeat (FACTS: roughly 5m50s-6m).
    assert 350 <= min(marked(cluster, n)[0] for n in victims) - last <= 360
    # 4. The ReplicaSet does not count terminating pods: it makes replacements...
    evicted_at = min(marked(cluster, n)[0] for n in victims)
    created = [r for r in records(cluster, "SuccessfulCreate", "replicaset/default/web")
               if r.time >= evicted_at]
    assert len(created) == len(victims)
    new = [r.message.removeprefix("Created pod: ") for r in created]
    for name in new:
        # ... the scheduler places them elsewhere (node-1 is tainted NoSchedule) ...
        [scheduled] = records(cluster, "Scheduled", f"pod/default/{name}")
        assert scheduled.time >= evicted_at and "node-1" not in scheduled.message
        pod = cluster.admin.get("pods", name)
        assert pod["spec"]["nodeName"] in ("node-2", "node-3")
        # ... and their kubelets start them.
        assert pod["status"]["phase"] == "Running"
        assert records(cluster, "Started", f"pod/default/{name}")
    status = cluster.admin.get("replicasets", "web")["status"]
    assert (status["replicas"], status["readyReplicas"]) == (6, 6)
    assert len(pods(cluster)) == 6 + len(victims)  # the old ones still Terminating
    # One zone (zone-a: node-1 alone) fully disrupted, the others not: the normal rate.
    zone = cluster.controllers["nodelifecycle"].zone_states
    assert zone[":\x00:zone-a"] == "FullDisruption" and zone[":\x00:zone-b"] == "Normal"
    # And no component met an exception it did not expect (a bug): none was recorded as
    # SyncPanicked (a work queue's sync, a controller's pass) or HandlerPanicked (an informer's).
    assert [r for r in cluster.sim.records if r.reason.endswith("Panicked")] == []


def test_a_node_back_before_eviction_keeps_its_pods():
    cluster, victims = kill(replicaset("web", 6), seconds=200)
    assert records(cluster, "NoExecuteTaintAdded", "node/node-1")
    cluster.start_node("node-1")
    cluster.run(400)
    for name in victims:
        assert not marked(cluster, name)
        assert [r.message for r in records(cluster, "TaintManagerEviction",
                                           f"pod/default/{name}")] == [
            f"Cancelling deletion of Pod default/{name}"]
        pod = cluster.admin.get("pods", name)
        assert pod["status"]["phase"] == "Running" and not pod["metadata"].get(
            "deletionTimestamp")
    assert on_node(cluster, "node-1") == victims
    created_after_stop = [r for r in records(cluster, "SuccessfulCreate") if r.time > STOP_AT]
    assert not created_after_stop
    node = cluster.admin.get("nodes", "node-1")
    assert not node["spec"].get("taints")
    assert records(cluster, "NoExecuteTaintRemoved", "node/node-1")


def test_toleration_seconds_30_goes_after_30s_and_the_default_after_300s():
    short = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
              "tolerationSeconds": 30}]
    cluster, _ = kill(replicaset("web", 3), replicaset("quick", 3, short), seconds=420)
    [tainted] = [r.time for r in records(cluster, "NoExecuteTaintAdded", "node/node-1")]
    quick, web = [], []
    for r in records(cluster, "TaintManagerEviction"):
        if r.message.startswith("Marking for deletion"):
            (quick if "quick-" in r.object else web).append(r.time - tainted)
    assert quick and web
    assert all(abs(t - 30) <= 1 for t in quick), quick
    assert all(abs(t - 300) <= 1 for t in web), web
    # The quick ones' replacements are Running elsewhere well before the others are evicted.
    running = [p for p in pods(cluster, "quick") if not p["metadata"].get("deletionTimestamp")]
    assert len(running) == 3
    assert all(p["spec"]["nodeName"] != "node-1" and p["status"]["phase"] == "Running"
               for p in running)
    first = min(r.time for r in records(cluster, "SuccessfulCreate", "replicaset/default/quick")
                if r.time > STOP_AT)
    assert abs(first - tainted - 30) <= 1
