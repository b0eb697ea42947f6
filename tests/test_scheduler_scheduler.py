"""The Scheduler as a client of the API server: placing pods, failing in upstream's words, retrying.

Every test drives a real kl.Cluster: pods are created through the API, the
scheduler's informers see them, its SimPy process binds them through
pods/binding. Nodes are registered through the API as kubelets register them.
"""

from collections import Counter

import pytest
from scheduler_testing import node_of, pod_manifest, register_node

import kubelearn as kl
from kubelearn.scheduler import BindPlugin, FilterPlugin, ScorePlugin, Status
from kubelearn.scheduler.framework import Code
from kubelearn.scheduler.queue import UNSCHEDULABLE_PODS

GI = {"cpu": "4", "memory": "4Gi", "pods": "110"}
SEED_MESSAGE = ("0/3 nodes are available: 1 node(s) had untolerated taint "
                "{node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.")
# v1.32: a 6Gi request above every node's 4Gi is plain Unschedulable (Unresolvable from
# v1.34), so preemption tries the two workers; no pod there has a lower priority.
POST_FILTER = (" preemption: 0/3 nodes are available: 1 Preemption is not helpful for "
               "scheduling, 2 No preemption victims found for incoming pod.")


def seed_cluster(seed=0, **settings):
    """The seed's cluster: a tainted control plane and two 4 GB workers."""
    cluster = kl.Cluster(seed=seed, **settings)
    register_node(cluster, "node-1", GI, taints=[
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    register_node(cluster, "node-2", GI)
    register_node(cluster, "node-3", GI)
    return cluster


def events_for(cluster, pod):
    return [(e["type"], e["reason"], e["message"], e.get("count"))
            for e in cluster.admin.list("events")["items"]
            if e["involvedObject"]["name"] == pod]


def test_a_6gb_pod_never_goes_to_a_4gb_node_and_waits_for_one_that_fits():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("big", {"memory": "6Gi"}))
    cluster.run(10)
    pod = cluster.admin.get("pods", "big")
    assert pod["spec"].get("nodeName") is None and pod["status"]["phase"] == "Pending"
    condition = next(c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled")
    assert (condition["status"], condition["reason"]) == ("False", "Unschedulable")
    assert condition["message"] == SEED_MESSAGE + POST_FILTER
    assert events_for(cluster, "big") == [("Warning", "FailedScheduling",
                                          SEED_MESSAGE + POST_FILTER, 1)]
    assert cluster.scheduler.pending_pods()["queue"].tolist() == [UNSCHEDULABLE_PODS]

    cluster.run(20)  # nothing changed: no retry (until the 5-minute flush), no new event
    assert cluster.scheduler.failed_attempts == 1
    register_node(cluster, "node-4", {"cpu": "4", "memory": "8Gi", "pods": "110"})
    cluster.run(1)
    assert node_of(cluster, "big") == "node-4"
    assert events_for(cluster, "big")[-1] == (
        "Normal", "Scheduled", "Successfully assigned default/big to node-4", 1)
    condition = next(c for c in cluster.admin.get("pods", "big")["status"]["conditions"]
                     if c["type"] == "PodScheduled")
    assert condition["status"] == "True"


def test_the_failed_scheduling_message_counts_each_node_under_its_filter():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("web-0", {"memory": "6Gi"}))
    cluster.run(1)
    records = cluster.events("kube-scheduler")
    failed = records[records.reason == "FailedScheduling"]
    assert failed.message.tolist() == [SEED_MESSAGE + POST_FILTER]
    assert failed.object.tolist() == ["pod/default/web-0"]


def test_scheduled_event_and_timeline_records():
    cluster = seed_cluster()
    cluster.run(2)
    cluster.apply(pod_manifest("web-0", {"cpu": "500m", "memory": "1Gi"}))
    cluster.run(1)
    node = node_of(cluster, "web-0")
    assert node in ("node-2", "node-3")
    assert events_for(cluster, "web-0") == [
        ("Normal", "Scheduled", f"Successfully assigned default/web-0 to {node}", 1)]
    records = cluster.events("kube-scheduler")
    mine = records[records.object == "pod/default/web-0"]
    assert mine[["time", "reason"]].values.tolist() == [[2.0, "Queued"], [2.0, "Scheduled"]]


def test_no_nodes_at_all():
    cluster = kl.Cluster(seed=0)
    cluster.apply(pod_manifest("web-0"))
    cluster.run(1)
    pod = cluster.admin.get("pods", "web-0")
    condition = pod["status"]["conditions"][0]
    assert (condition["reason"], condition["message"]) == (
        "Unschedulable", "no nodes available to schedule pods")
    cluster.run(40)  # an error, not a verdict: retried at 1, 3, 7, 15, 25, 35 s
    assert cluster.scheduler.failed_attempts == 7
    assert events_for(cluster, "web-0") == [  # one Event, its count going up
        ("Warning", "FailedScheduling", "no nodes available to schedule pods", 7)]


def placements(seed, pods=20):
    cluster = kl.Cluster(seed=seed)
    for i in range(1, 5):
        register_node(cluster, f"node-{i}", {"cpu": "8", "memory": "16Gi", "pods": "110"})
    for i in range(pods):
        cluster.apply(pod_manifest(f"web-{i}"))  # no requests: every node scores the same
        cluster.run(1)
    return [node_of(cluster, f"web-{i}") for i in range(pods)]


def test_ties_are_random_but_the_same_for_the_same_seed():
    first = placements(seed=1)
    assert first == placements(seed=1)
    assert len(set(first)) > 1  # not always the first node
    assert placements(seed=2) != first


def test_least_allocated_spreads_and_most_allocated_packs():
    config = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
- schedulerName: bin-packing
  pluginConfig:
  - name: NodeResourcesFit
    args: {scoringStrategy: {type: MostAllocated}}
"""
    cluster = kl.Cluster(seed=0, scheduler_config=config)
    for i in range(1, 4):
        register_node(cluster, f"node-{i}", {"cpu": "8", "memory": "16Gi", "pods": "110"})
    for i in range(6):
        cluster.apply(pod_manifest(f"spread-{i}", {"cpu": "1", "memory": "1Gi"}))
        cluster.run(1)
    spread = Counter(node_of(cluster, f"spread-{i}") for i in range(6))
    assert sorted(spread.values()) == [2, 2, 2]
    for i in range(6):
        cluster.apply(pod_manifest(f"pack-{i}", {"cpu": "1", "memory": "1Gi"},
                                   schedulerName="bin-packing"))
        cluster.run(1)
    pack = Counter(node_of(cluster, f"pack-{i}") for i in range(6))
    assert len(pack) == 1  # every pack-* pod on the same node
    assert set(cluster.scheduler.profiles) == {"default-scheduler", "bin-packing"}


def test_pods_for_another_scheduler_are_left_alone():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("other", schedulerName="my-scheduler"))
    cluster.run(5)
    assert node_of(cluster, "other") is None
    assert events_for(cluster, "other") == []
    assert "default/other" not in cluster.scheduler.queue


class OnlyEvenNodes(FilterPlugin):
    """A learner's filter: only nodes whose name ends in an even digit."""

    name = "OnlyEvenNodes"

    def filter(self, state, pod, node_info):
        if int(node_info.name[-1]) % 2 == 0:
            return None
        return Status(Code.Unschedulable, "node(s) had an odd name")


class PreferHighNumbers(ScorePlugin):
    """A learner's score: node-4 over node-2."""

    name = "PreferHighNumbers"

    def score(self, state, pod, node_info):
        return 20 * int(node_info.name[-1])


LEARNER_CONFIG = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: default-scheduler
  plugins:
    filter:
      enabled: [{name: OnlyEvenNodes}]
    score:
      enabled: [{name: PreferHighNumbers, weight: 10}]
"""


def test_a_learner_plugin_in_a_cluster():
    cluster = kl.Cluster(seed=0, scheduler_config=LEARNER_CONFIG,
                         scheduler_plugins={"OnlyEvenNodes": OnlyEvenNodes,
                                            "PreferHighNumbers": PreferHighNumbers})
    for i in range(1, 6):
        register_node(cluster, f"node-{i}")
    cluster.apply(pod_manifest("web-0", {"cpu": "100m"}))
    cluster.run(1)
    assert node_of(cluster, "web-0") == "node-4"
    assert cluster.scheduler.vector is None or cluster.scheduler.vector.cycles == 0
    cluster.apply(pod_manifest("odd", nodeSelector={"kubernetes.io/hostname": "node-1"}))
    cluster.run(1)
    message = events_for(cluster, "odd")[0][2]
    assert message.startswith("0/5 nodes are available: 1 node(s) had an odd name, "
                              "4 node(s) didn't match Pod's node affinity/selector.")


def test_the_adaptive_number_of_nodes_and_the_rotating_start():
    cluster = kl.Cluster(seed=0)
    for i in range(300):
        register_node(cluster, f"node-{i:03d}", {"cpu": "8", "memory": "16Gi", "pods": "110"})
    cluster.run(1)
    scheduler = cluster.scheduler
    profile = scheduler.profiles["default-scheduler"]
    assert scheduler.num_feasible_nodes_to_find(profile, 300) == 144  # 300 * (50 - 2) / 100
    cluster.apply(pod_manifest("a", {"cpu": "100m"}))
    cluster.run(1)
    assert scheduler.next_start_node_index == 144
    cluster.apply(pod_manifest("b", {"cpu": "100m"}))
    cluster.run(1)
    assert scheduler.next_start_node_index == 288
    cluster.apply(pod_manifest("c", {"cpu": "100m"}))
    cluster.run(1)
    assert scheduler.next_start_node_index == (288 + 144) % 300


def test_zones_are_visited_round_robin():
    cluster = kl.Cluster(seed=0)
    for i, zone in enumerate(["a", "a", "b", "c", "b"]):
        register_node(cluster, f"node-{i}", labels={"topology.kubernetes.io/zone": zone})
    cluster.run(1)
    order = [n.name for n in cluster.scheduler.cache.node_infos()]
    assert order == ["node-0", "node-2", "node-3", "node-1", "node-4"]


def test_a_pod_deleted_while_pending_leaves_the_queue():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("big", {"memory": "6Gi"}))
    cluster.run(1)
    cluster.delete("pod", "big")
    cluster.run(1)
    assert "default/big" not in cluster.scheduler.queue
    assert len(cluster.scheduler.queue) == 0


def test_a_pod_bound_by_someone_else_is_not_scheduled_again():
    cluster = seed_cluster(scheduler=False)
    cluster.apply(pod_manifest("web-0"))
    cluster.admin.bind("web-0", "node-3")
    cluster.scheduler = kl.scheduler.Scheduler(cluster.sim, cluster.client("kube-scheduler"))
    cluster.run(1)
    assert node_of(cluster, "web-0") == "node-3"
    assert cluster.scheduler.scheduled == 0
    info = cluster.scheduler.cache.nodes["node-3"]
    assert [p.name for p in info.pods] == ["web-0"]


def test_assumed_pods_count_before_their_binding_comes_back():
    cluster = seed_cluster()
    for i in range(3):  # 3 x 3Gi: one per worker, the third fits nowhere
        cluster.apply(pod_manifest(f"web-{i}", {"memory": "3Gi"}))
    cluster.run(1)
    nodes = sorted(filter(None, (node_of(cluster, f"web-{i}") for i in range(3))))
    assert nodes == ["node-2", "node-3"]
    assert cluster.scheduler.failed_attempts == 1


def test_status_patches_and_binding_go_through_the_api_as_the_scheduler():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("web-0"))
    cluster.apply(pod_manifest("big", {"memory": "6Gi"}))
    cluster.run(1)
    audit = cluster.audit()
    mine = audit[audit.user == "system:kube-scheduler"]
    assert {"create pods/binding", "patch pods/status", "create events"} <= {
        f"{verb} {resource}" for verb, resource in zip(mine.verb, mine.resource, strict=True)}


def test_explain_rejects_a_pod_for_another_scheduler():
    cluster = seed_cluster()
    with pytest.raises(ValueError, match="no profile"):
        cluster.scheduler.explain(pod_manifest("x", schedulerName="nope"))


class FlakyBinder(BindPlugin):
    """A learner's Bind plugin: fails the first time, then leaves it to the default binder."""

    name = "FlakyBinder"
    calls = 0

    def bind(self, state, pod, node_name):
        FlakyBinder.calls += 1
        if FlakyBinder.calls == 1:
            return Status(Code.Error, "the network is down")
        return Status(Code.Skip)


def test_a_failed_binding_is_forgotten_and_retried():
    config = """
apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- plugins:
    bind:
      enabled: [{name: FlakyBinder}]
"""
    FlakyBinder.calls = 0
    cluster = seed_cluster(scheduler_config=config, scheduler_plugins={"FlakyBinder": FlakyBinder})
    cluster.apply(pod_manifest("web-0", {"memory": "1Gi"}))
    cluster.run(0.5)
    assert node_of(cluster, "web-0") is None
    assert not cluster.scheduler.cache.pod_states  # the assumption was forgotten
    (event,) = events_for(cluster, "web-0")
    assert event[:3] == ("Warning", "FailedScheduling",
                         'running Bind plugin "FlakyBinder": the network is down')
    condition = cluster.admin.get("pods", "web-0")["status"]["conditions"][0]
    assert condition["reason"] == "SchedulerError"
    cluster.run(1)  # an error: back off 1 s, then again
    assert node_of(cluster, "web-0") in ("node-2", "node-3")


def test_deleting_a_pod_makes_room_for_a_pending_one():
    cluster = seed_cluster()
    cluster.apply(pod_manifest("a", {"memory": "3Gi"}))
    cluster.apply(pod_manifest("b", {"memory": "3Gi"}))
    cluster.run(1)
    cluster.apply(pod_manifest("c", {"memory": "3Gi"}))
    cluster.run(5)
    assert node_of(cluster, "c") is None
    freed = node_of(cluster, "a")
    cluster.delete("pod", "a", grace_period_seconds=0)
    cluster.run(1)
    assert node_of(cluster, "c") == freed
    records = cluster.events("kube-scheduler")
    requeued = records[(records.reason == "Requeued") & (records.object == "pod/default/c")]
    assert requeued.message.str.startswith("AssignedPodDelete").any()


def test_the_seed_story_with_kubelets():
    """kl.Cluster(nodes=3): three 4 GB workers, each with its kubelet; a 6 GB pod waits."""
    cluster = kl.Cluster(seed=0, nodes=3, node_memory="4Gi")
    cluster.run(5)
    cluster.apply(pod_manifest("big", {"memory": "6Gi"}))
    cluster.apply(pod_manifest("web-0", {"memory": "1Gi"}))
    cluster.run(10)
    assert node_of(cluster, "big") is None
    assert node_of(cluster, "web-0") in cluster.kubelets
    (failed,) = [e for e in events_for(cluster, "big") if e[1] == "FailedScheduling"]
    assert failed[2].startswith("0/3 nodes are available: 3 Insufficient memory.")
    cluster.add_node(memory="8Gi")
    cluster.run(10)
    assert node_of(cluster, "big") == "node-4"
