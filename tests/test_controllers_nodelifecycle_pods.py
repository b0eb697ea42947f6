"""The node lifecycle controller's pod path: podUpdated -> processPod -> MarkPodsNotReady.

The monitor pass marks a node's pods NotReady once, when the node stops being
Ready. A pod bound to the node after that is queued by ``podUpdated`` (its
``spec.nodeName`` set or changed) and marked on its own by ``processPod``
(node_lifecycle_controller.go, v1.32); a failed write is retried under the
queue's rate limiter. The monitor pass retries its own failures on the next
pass (``nodesToRetry``; upstream's TestMonitorNodeHealthMarkPodsNotReadyRetry).
"""

import kubelearn as kl
from kubelearn.api import InternalError

LABEL_SERVICE_NAME = "kubernetes.io/service-name"
UNREACHABLE = "node.kubernetes.io/unreachable"
FAKE = "Internal error occurred: fake error"  # apierrors.NewInternalError, as the test fails it
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}


def records(cluster, reason, obj=None):
    return [r for r in cluster.sim.records
            if r.reason == reason and (obj is None or r.object == obj)]


def ready(cluster, name):
    pod = cluster.admin.get("pods", name, "default")
    return {c["type"]: c["status"] for c in pod["status"].get("conditions") or []}.get("Ready")


def endpoint_ready(cluster, name):
    """The pod's endpoint's conditions.ready in the Service's EndpointSlices (None: absent)."""
    for eps in cluster.admin.list("endpointslices", "default")["items"]:
        if eps["metadata"]["labels"].get(LABEL_SERVICE_NAME) != "web":
            continue
        for endpoint in eps.get("endpoints") or []:
            if endpoint["targetRef"]["name"] == name:
                return endpoint["conditions"]["ready"]
    return None


def node_ready(cluster, name):
    node = cluster.admin.get("nodes", name)
    return {c["type"]: c["status"] for c in node["status"]["conditions"]}["Ready"]


def unknown_node_cluster():
    """Three nodes and a Service; node-1's kubelet dies at 30s and node-1 is Unknown at 90s."""
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(SERVICE)
    cluster.run(30)
    cluster.stop_node("node-1")
    cluster.run(60)
    assert node_ready(cluster, "node-1") == "Unknown"
    assert node_ready(cluster, "node-2") == "True"
    return cluster


def ready_pod(cluster, name, ip, **spec):
    """A pod reported Running and Ready (as a kubelet reports one) before it is bound.

    The API server drops the status of a pod being created, so the status is
    written after; the pod stays unbound (no scheduler serves ``manual``, or a
    scheduling gate holds it) until the test binds or releases it.
    """
    spec = {"schedulerName": "manual", **spec}
    cluster.admin.create({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": name, "labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}],
                                   **spec}}, "default")
    pod = cluster.admin.get("pods", name, "default")
    stamp = cluster.sim.timestamp()
    pod["status"] = {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                     "conditions": [{"type": kind, "status": "True", "lastTransitionTime": stamp}
                                    for kind in ("Initialized", "Ready", "ContainersReady")]}
    cluster.admin.update_status(pod, "default")
    cluster.run(1)
    assert ready(cluster, name) == "True"
    assert endpoint_ready(cluster, name) is None  # no node yet: in no EndpointSlice
    return pod


def controller(cluster):
    return cluster.controllers["nodelifecycle"]


def pod_status_writes(cluster):
    """Count the node lifecycle controller's pod status writes (and let a test fail some)."""
    ctl = controller(cluster)
    writes = {"pods": 0, "fail": 0}
    update_status = ctl.client.update_status

    def counting(obj, namespace=None):
        if obj.get("kind") == "Pod" or "containers" in (obj.get("spec") or {}):
            writes["pods"] += 1
            if writes["fail"]:
                writes["fail"] -= 1
                raise InternalError("fake error")
        return update_status(obj, namespace)

    ctl.client.update_status = counting
    return writes


def test_a_pod_bound_to_an_unknown_node_goes_not_ready_and_leaves_the_ready_endpoints():
    cluster = unknown_node_cluster()
    ready_pod(cluster, "late", "10.244.1.99")
    start = cluster.sim.now
    cluster.admin.bind("late", "node-1", "default")
    cluster.run(0.001)  # one processing: at the same virtual instant, as the event says
    assert ready(cluster, "late") == "False"
    event = records(cluster, "NodeNotReady", "pod/default/late")
    assert [(r.time, r.message) for r in event] == [(start, "Node is not ready")]
    cluster.run(2)  # the EndpointSlice controller's batch
    assert endpoint_ready(cluster, "late") is False


def test_a_tolerating_pod_scheduled_onto_an_unknown_node_goes_not_ready():
    cluster = unknown_node_cluster()
    taints = cluster.admin.get("nodes", "node-1")["spec"]["taints"]
    assert {(t["key"], t["effect"]) for t in taints} == {(UNREACHABLE, "NoSchedule"),
                                                        (UNREACHABLE, "NoExecute")}
    # Unschedulable until node-1 gets the pool label: then the scheduler places it there.
    tolerations = [{"key": UNREACHABLE, "operator": "Exists"}]
    ready_pod(cluster, "tolerant", "10.244.1.98", schedulerName="default-scheduler",
              tolerations=tolerations, nodeSelector={"example.com/pool": "late"})
    assert not cluster.admin.get("pods", "tolerant", "default")["spec"].get("nodeName")
    cluster.admin.patch("nodes", "node-1", {"metadata": {"labels": {"example.com/pool": "late"}}},
                        patch_type="merge")
    cluster.run(1)
    pod = cluster.admin.get("pods", "tolerant", "default")
    assert pod["spec"]["nodeName"] == "node-1"
    assert ready(cluster, "tolerant") == "False"
    assert len(records(cluster, "NodeNotReady", "pod/default/tolerant")) == 1
    cluster.run(2)
    assert endpoint_ready(cluster, "tolerant") is False


def test_a_pod_bound_to_a_healthy_node_is_left_alone():
    cluster = unknown_node_cluster()
    ready_pod(cluster, "fine", "10.244.2.99")
    writes = pod_status_writes(cluster)
    # node-2's kubelet stops too (else it would restart the pod it did not start): its
    # node stays Ready for the grace period, and a pod bound to it meanwhile is untouched.
    cluster.stop_node("node-2")
    cluster.admin.bind("fine", "node-2", "default")
    cluster.run(3)
    assert ready(cluster, "fine") == "True"
    assert endpoint_ready(cluster, "fine") is True
    assert writes["pods"] == 0
    assert not records(cluster, "NodeNotReady", "pod/default/fine")


def test_a_failed_status_write_is_retried_under_the_rate_limiter():
    cluster = unknown_node_cluster()
    ready_pod(cluster, "late", "10.244.1.99")
    writes = pod_status_writes(cluster)
    writes["fail"] = 1
    start = cluster.sim.now
    cluster.admin.bind("late", "node-1", "default")
    cluster.run(0.001)
    assert ready(cluster, "late") == "True"
    failed = records(cluster, "PodStatusUpdateFailed", "pod/default/late")
    assert [r.message for r in failed] == [f"Failed to update status for pod: {FAKE}"]
    [sync] = records(cluster, "SyncFailed", "default/late")
    assert sync.component == "node-lifecycle-controller"
    assert sync.message == f"Unable to mark pod NotReady on node node-1: {FAKE}"
    cluster.run(0.005)  # workqueue.DefaultControllerRateLimiter: 5ms for the first retry
    assert ready(cluster, "late") == "False"
    assert writes["pods"] == 2
    # MarkPodsNotReady records its event after the write, failed or not.
    assert [r.time for r in records(cluster, "NodeNotReady", "pod/default/late")] == [
        start, start + 0.005]


def test_pod_updated_queues_only_a_pod_whose_node_was_just_set():
    """podUpdated: a new nodeName (added with one, or bound) queues; nothing else does."""
    cluster = kl.Cluster(seed=0, nodes=0)
    ctl = controller(cluster)
    queue = ctl.pod_update_queue

    def pod(node=None):
        return {"metadata": {"namespace": "default", "name": "p"},
                "spec": {"nodeName": node} if node else {}}

    for old, new, queued in [(None, pod(), False), (None, pod("node-1"), True),
                             (pod(), pod(), False), (pod(), pod("node-1"), True),
                             (pod("node-1"), pod("node-1"), False),
                             (pod("node-1"), pod("node-2"), True)]:
        ctl.pod_updated(old, new)
        assert (len(queue) == 1) is queued, (old, new)
        queue._waiting.clear()


def test_process_pod_skips_a_node_not_yet_seen_and_retries_a_node_not_in_the_cache():
    cluster = unknown_node_cluster()
    ctl = controller(cluster)
    ready_pod(cluster, "nowhere", "10.244.9.9")
    cluster.admin.bind("nowhere", "node-9", "default")  # no such node: no node health
    cluster.run(1)
    assert ready(cluster, "nowhere") == "True"
    assert not records(cluster, "SyncFailed", "default/nowhere")
    # node health is kept for a node gone from the cache: "Failed to read node", retried.
    ready_pod(cluster, "orphan", "10.244.1.97")
    del ctl.nodes["node-1"]
    cluster.admin.bind("orphan", "node-1", "default")
    cluster.run(0.0151)  # 5ms, then 10ms
    messages = [r.message for r in records(cluster, "SyncFailed", "default/orphan")]
    assert messages == ['Failed to read node node-1: node "node-1" not found'] * 3
    assert ready(cluster, "orphan") == "True"


# -- the monitor pass's retry (TestMonitorNodeHealthMarkPodsNotReadyRetry) ----------------------

def dying_node_with_a_pod(fail):
    """A ready pod on node-1, whose kubelet dies; the first ``fail`` pod writes fail."""
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(SERVICE)
    cluster.apply({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web", "labels": {"app": "web"}},
                   "spec": {"nodeSelector": {"kubernetes.io/hostname": "node-1"},
                            "containers": [{"name": "web", "image": "nginx:1.27"}]}})
    cluster.run(30)
    assert ready(cluster, "web") == "True"
    writes = pod_status_writes(cluster)
    writes["fail"] = fail
    cluster.stop_node("node-1")
    cluster.run(70)
    return cluster, writes


def test_monitor_pass_marks_pods_once_when_the_status_write_succeeds():
    cluster, writes = dying_node_with_a_pod(fail=0)
    assert writes["pods"] == 1  # "successful pod status update, no retry required"
    assert ready(cluster, "web") == "False"
    assert not records(cluster, "MarkPodsNotReadyFailed")


def test_monitor_pass_retries_a_failed_status_write_on_the_next_pass():
    cluster, writes = dying_node_with_a_pod(fail=1)
    assert writes["pods"] == 2  # "unsuccessful pod status update, retry required"
    assert ready(cluster, "web") == "False"
    [failed] = records(cluster, "MarkPodsNotReadyFailed", "node/node-1")
    assert failed.message == (f"unable to mark all pods NotReady on node node-1: {FAKE}; "
                              "queuing for retry")
    unknown = records(cluster, "NodeStatusUnknown", "node/node-1")[0].time
    assert failed.time == unknown
    marked = [r.time for r in records(cluster, "NodeNotReady", "pod/default/web")]
    assert marked == [unknown, unknown + 5.0]  # the next pass, --node-monitor-period later
    assert "node-1" not in controller(cluster).nodes_to_retry
