"""The node lifecycle controller: NoSchedule condition taints, heartbeats, NoExecute taints."""

import kubelearn as kl
from kubelearn.controllers.nodelifecycle import (
    STATE_FULL_DISRUPTION,
    STATE_NORMAL,
    STATE_PARTIAL_DISRUPTION,
    RateLimitedTimedQueue,
    compute_zone_state,
    reconcile_taints,
    wanted_noschedule_taints,
)
from kubelearn.sim import Simulation

NOT_READY = "node.kubernetes.io/not-ready"


def node(conditions: dict[str, str], taints: list[dict] | None = None,
         unschedulable: bool = False) -> dict:
    return {"metadata": {"name": "n"},
            "spec": {"taints": taints or [], "unschedulable": unschedulable},
            "status": {"conditions": [{"type": t, "status": s} for t, s in conditions.items()]}}


def test_conditions_map_to_upstreams_taint_keys():
    assert wanted_noschedule_taints(node({"Ready": "False"})) == {NOT_READY}
    assert wanted_noschedule_taints(node({"Ready": "Unknown"})) == {
        "node.kubernetes.io/unreachable"}
    assert wanted_noschedule_taints(node({"Ready": "True", "MemoryPressure": "True",
                                          "DiskPressure": "False"})) == {
        "node.kubernetes.io/memory-pressure"}
    assert wanted_noschedule_taints(node({"Ready": "True"}, unschedulable=True)) == {
        "node.kubernetes.io/unschedulable"}


def test_reconcile_keeps_other_taints_and_changes_only_what_it_owns():
    mine = {"key": NOT_READY, "effect": "NoSchedule"}
    theirs = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    evict = {"key": NOT_READY, "effect": "NoExecute"}
    assert reconcile_taints(node({"Ready": "True"}, [mine, theirs, evict])) == [theirs, evict]
    assert reconcile_taints(node({"Ready": "False"}, [mine, theirs])) is None


def test_new_nodes_lose_the_not_ready_taint_and_pods_get_scheduled():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    cluster.run(30)
    for name in ("node-1", "node-2"):
        taints = cluster.admin.get("nodes", name)["spec"].get("taints") or []
        assert NOT_READY not in {t["key"] for t in taints}, taints
    pod = cluster.admin.get("pods", "web")
    assert pod["spec"]["nodeName"] in ("node-1", "node-2")
    assert pod["status"]["phase"] == "Running"


def test_cordoning_a_node_taints_it_unschedulable():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(1)
    cluster.admin.patch("nodes", "node-1", {"spec": {"unschedulable": True}}, patch_type="merge")
    cluster.run(1)
    taints = cluster.admin.get("nodes", "node-1")["spec"]["taints"]
    # SwapNodeControllerTaint stamps every taint it adds with timeAdded.
    assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
            "timeAdded": cluster.sim.timestamp(1)} in taints
    cluster.admin.patch("nodes", "node-1", {"spec": {"unschedulable": False}}, patch_type="merge")
    cluster.run(1)
    assert not cluster.admin.get("nodes", "node-1")["spec"].get("taints")


# -- monitorNodeHealth and the NoExecute taints ------------------------------------------------

UNREACHABLE = "node.kubernetes.io/unreachable"


def records(cluster, reason, obj=None):
    return [r for r in cluster.sim.records
            if r.reason == reason and (obj is None or r.object == obj)]


def no_execute(cluster, name):
    taints = cluster.admin.get("nodes", name)["spec"].get("taints") or []
    return [t for t in taints if t["effect"] == "NoExecute"]


def stopped_node(grace=None, nodes=3, **settings):
    """A cluster whose node-1 dies at 30s; returns it and the last lease renewal's time."""
    if grace is not None:
        settings["node_monitor_grace_period"] = grace
    cluster = kl.Cluster(seed=0, nodes=nodes, **settings)
    cluster.run(30)
    cluster.stop_node("node-1")
    last = records(cluster, "LeaseRenewed", "lease/kube-node-lease/node-1")[-1].time
    return cluster, last


def test_zone_states_follow_upstreams_compute_zone_state():
    ready, not_ready, unknown = {"status": "True"}, {"status": "False"}, {"status": "Unknown"}
    assert compute_zone_state([ready, ready]) == (0, STATE_NORMAL)
    assert compute_zone_state([unknown, None]) == (2, STATE_FULL_DISRUPTION)
    assert compute_zone_state([ready, unknown, unknown]) == (2, STATE_NORMAL)  # not > 2
    assert compute_zone_state([ready, unknown, unknown, not_ready]) == (3,
                                                                      STATE_PARTIAL_DISRUPTION)
    assert compute_zone_state([ready, ready, ready, unknown, unknown, unknown]) == (
        3, STATE_NORMAL)  # 50% < 55%


def test_taint_queue_is_unique_and_rate_limited():
    sim = Simulation(0)
    queue = RateLimitedTimedQueue(sim, 0.1)
    done = []
    assert queue.add("a") and queue.add("b") and not queue.add("a")
    queue.try_(lambda name: (done.append((sim.now, name)) or True, 0))
    assert done == [(0.0, "a")]  # burst 1
    sim.run(9.9)
    queue.try_(lambda name: (done.append((sim.now, name)) or True, 0))
    sim.run(0.1)
    queue.try_(lambda name: (done.append((sim.now, name)) or True, 0))
    assert done == [(0.0, "a"), (10.0, "b")]
    assert not queue.add("a")  # processed names stay in the set until removed
    queue.swap_limiter(0)
    queue.remove("a")
    queue.add("a")
    queue.try_(lambda name: (done.append((sim.now, name)) or True, 0))
    assert len(done) == 2  # rate 0: no tainting at all


def test_a_silent_node_goes_unknown_50_to_55s_after_its_last_heartbeat():
    cluster, last = stopped_node()
    cluster.run(60)
    unknown = records(cluster, "NodeStatusUnknown", "node/node-1")
    assert len(unknown) == 1 and last + 50 <= unknown[0].time < last + 55
    node = cluster.admin.get("nodes", "node-1")
    conditions = {c["type"]: c for c in node["status"]["conditions"]}
    ready = conditions["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    for kind in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert conditions[kind]["status"] == "Unknown"
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["reason"] == "NodeNotReady" and e["involvedObject"]["kind"] == "Node"]
    assert [e["message"] for e in events] == ["Node node-1 status is now: NodeNotReady"]
    assert events[0]["source"]["component"] == "node-controller"
    # The other nodes kept heartbeating.
    assert get_ready(cluster, "node-2") == "True"


def get_ready(cluster, name):
    node = cluster.admin.get("nodes", name)
    return next(c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready")


def test_then_the_unreachable_noexecute_taint_with_time_added():
    cluster, last = stopped_node()
    cluster.run(70)
    unknown_at = records(cluster, "NodeStatusUnknown", "node/node-1")[0].time
    taints = no_execute(cluster, "node-1")
    assert [t["key"] for t in taints] == [UNREACHABLE]  # never both
    added = records(cluster, "NoExecuteTaintAdded", "node/node-1")[0].time
    assert unknown_at < added <= unknown_at + 5.1  # the next monitor pass
    assert taints[0]["timeAdded"] == cluster.sim.timestamp(added)
    assert not no_execute(cluster, "node-2")


def test_grace_period_is_configurable_40s_as_before_v1_32():
    cluster, last = stopped_node(grace=40)
    cluster.run(60)
    unknown = records(cluster, "NodeStatusUnknown", "node/node-1")[0].time
    assert last + 40 <= unknown < last + 45


def test_a_node_back_gets_its_taints_removed():
    cluster, _ = stopped_node()
    cluster.run(90)
    assert no_execute(cluster, "node-1")
    cluster.start_node("node-1")
    cluster.run(15)
    assert get_ready(cluster, "node-1") == "True"
    assert not cluster.admin.get("nodes", "node-1")["spec"].get("taints")
    assert records(cluster, "NoExecuteTaintRemoved", "node/node-1")


def test_all_nodes_silent_is_full_disruption_and_nothing_is_tainted():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(30)
    cluster.stop_node("node-1")
    cluster.stop_node("node-2")
    cluster.run(120)
    assert get_ready(cluster, "node-1") == "Unknown"
    assert records(cluster, "MasterDisruptionMode")
    assert not no_execute(cluster, "node-1") and not no_execute(cluster, "node-2")


def test_a_small_zone_mostly_down_stops_tainting():
    cluster = kl.Cluster(seed=0, nodes=4, zones=("zone-a",))
    cluster.run(30)
    for name in ("node-1", "node-2", "node-3"):  # 3 of 4 > 55%: PartialDisruption
        cluster.stop_node(name)
    cluster.run(120)
    assert cluster.controllers["nodelifecycle"].zone_states == {
        ":\x00:zone-a": STATE_PARTIAL_DISRUPTION}
    assert not any(no_execute(cluster, f"node-{i}") for i in (1, 2, 3))  # 4 nodes <= 50: rate 0


def test_noexecute_tainting_goes_at_0_1_nodes_per_second_per_zone():
    cluster = kl.Cluster(seed=0, nodes=5, zones=("zone-a",))
    cluster.run(30)
    cluster.stop_node("node-1")
    cluster.stop_node("node-2")  # 2 of 5: still Normal
    cluster.run(120)
    times = sorted(r.time for r in records(cluster, "NoExecuteTaintAdded"))
    assert len(times) == 2 and abs(times[1] - times[0] - 10) < 0.2


# -- checked against upstream node_lifecycle_controller.go (each test names what it pins) -------

def node_events(cluster, reason):
    return [e for e in cluster.admin.list("events", "default")["items"]
            if e["reason"] == reason and e["involvedObject"]["kind"] == "Node"]


def test_the_monitor_runs_its_first_pass_at_once():
    # wait.UntilWithContext(ctx, monitorNodeHealth, period): the first call does not wait.
    cluster = kl.Cluster(seed=0)
    cluster.run(6)
    passes = [r.time for r in records(cluster, "MonitorNodeHealth")]
    assert passes == [0.0, 5.0]


def test_new_nodes_get_registered_node_and_deleted_ones_removing_node_events():
    # monitorNodeHealth's classifyNodes: RecordNodeEvent "Node %s event: %s".
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(6)
    assert sorted(e["message"] for e in node_events(cluster, "RegisteredNode")) == [
        "Node node-1 event: Registered Node node-1 in Controller",
        "Node node-2 event: Registered Node node-2 in Controller"]
    assert node_events(cluster, "RegisteredNode")[0]["source"]["component"] == "node-controller"
    cluster.stop_node("node-2")
    cluster.admin.delete("nodes", "node-2")
    cluster.run(6)
    assert [e["message"] for e in node_events(cluster, "RemovingNode")] == [
        "Node node-2 event: Removing Node node-2 from Controller"]


def test_noschedule_pass_adds_and_removes_only_the_difference():
    # TaintSetDiff + SwapNodeControllerTaint: taints already right stay where they are (with
    # their timeAdded); new ones are appended in condition order, stamped timeAdded.
    cordon = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule",
              "timeAdded": "2024-01-01T00:00:01Z"}
    theirs = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    n = node({"Ready": "True", "PIDPressure": "True", "MemoryPressure": "True"},
             [cordon, theirs], unschedulable=True)
    assert reconcile_taints(n, "2024-01-01T00:00:09Z") == [cordon, theirs, {
        "key": "node.kubernetes.io/pid-pressure", "effect": "NoSchedule",
        "timeAdded": "2024-01-01T00:00:09Z"}, {
        "key": "node.kubernetes.io/memory-pressure", "effect": "NoSchedule",
        "timeAdded": "2024-01-01T00:00:09Z"}]


def test_a_queued_node_without_ready_condition_is_retried_in_50ms():
    # doNoExecuteTaintingPass: condition == nil -> return false, 50 * time.Millisecond
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(6)
    controller = cluster.controllers["nodelifecycle"]
    controller.nodes["ghost"] = {"metadata": {"name": "ghost"}, "status": {}}
    try:
        assert controller._taint_one("ghost") == (False, 0.05)
    finally:
        del controller.nodes["ghost"]
    assert controller._taint_one("gone") == (True, 0.0)  # not in the lister: done


def test_a_node_labelled_exclude_disruption_does_not_count_for_its_zone():
    # isNodeExcludedFromDisruptionChecks: node.kubernetes.io/exclude-disruption
    def run(label):
        cluster = kl.Cluster(seed=0, nodes=2, zones=("zone-a",))
        if label:
            cluster.admin.patch("nodes", "node-2", {"metadata": {"labels": {
                "node.kubernetes.io/exclude-disruption": ""}}}, patch_type="merge")
        cluster.run(30)
        cluster.stop_node("node-1")
        cluster.run(90)
        return cluster
    counted = run(label=False)  # 1 of 2 not ready: Normal, tainted
    assert no_execute(counted, "node-1") and not records(counted, "MasterDisruptionMode")
    excluded = run(label=True)  # the zone is node-1 alone: every zone fully disrupted
    assert records(excluded, "MasterDisruptionMode") and not no_execute(excluded, "node-1")


def test_swap_limiter_compares_the_never_limiters_qps_of_1():
    # client-go fakeNeverRateLimiter.QPS() returns 1, and SwapLimiter returns early when the
    # QPS is unchanged: after a swap to 0, a swap to 1/s keeps the never limiter.
    sim = Simulation(0)
    queue = RateLimitedTimedQueue(sim, 0.1)
    queue.swap_limiter(0)
    queue.swap_limiter(1.0)
    assert queue.limiter.qps == 0
    queue.swap_limiter(0.5)
    assert queue.limiter.qps == 0.5


def test_a_node_that_never_reported_gets_the_startup_grace_from_its_creation():
    # tryUpdateNodeHealth: no Ready condition -> probeTimestamp = node.CreationTimestamp,
    # grace nodeStartupGracePeriod (60s). Created at 1s and first seen at 7s, it goes Unknown
    # at the first pass at or after 61s (63s), not 7 + 60 = 67s.
    cluster = kl.Cluster(seed=0, node_monitor_period=7)
    cluster.run(1)
    cluster.admin.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "silent"}})
    cluster.run(70)
    assert [r.time for r in records(cluster, "NodeStatusUnknown", "node/silent")] == [63.0]
    ready = next(c for c in cluster.admin.get("nodes", "silent")["status"]["conditions"]
                 if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")


def test_a_ready_condition_removed_keeps_the_probe_timestamp():
    # tryUpdateNodeHealth sets nodeHealth.status = node.Status before comparing, so a Ready
    # condition that disappears does not count as a new heartbeat.
    from kubelearn.controllers.nodelifecycle import NodeHealth

    cluster = kl.Cluster(seed=0)
    controller = cluster.controllers["nodelifecycle"]
    controller.node_health["x"] = NodeHealth(0.0, 0.0, {"type": "Ready", "status": "True"})
    cluster.run(10)
    _, observed, current = controller.try_update_node_health(
        {"metadata": {"name": "x"}, "status": {"conditions": []}})
    assert observed["status"] == "Unknown" and current is None
    assert controller.node_health["x"].probe_timestamp == 0.0


def test_marking_a_node_unknown_leaves_the_informers_object_as_it_was():
    from kubelearn.controllers.nodelifecycle import own_conditions

    cached = {"metadata": {"name": "n"}, "status": {
        "conditions": [{"type": "Ready", "status": "True"}], "images": [{"names": ["nginx"]}]}}
    mine = own_conditions(cached)
    mine["status"]["conditions"][0]["status"] = "Unknown"
    mine["status"]["conditions"].append({"type": "MemoryPressure", "status": "Unknown"})
    assert cached["status"]["conditions"] == [{"type": "Ready", "status": "True"}]
    assert mine["status"]["images"] is cached["status"]["images"]  # the rest is shared
    assert own_conditions({"metadata": {"name": "n"}, "status": None})["status"] == \
        {"conditions": []}
