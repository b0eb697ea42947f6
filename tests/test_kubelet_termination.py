"""Stopping pods: graceful termination, exit 137, preStop; and pods across kubelet restarts."""

import pytest

import kubelearn as kl
from kubelearn.api import NotFound
from kubelearn.kubelet.images import parse_reference


@pytest.fixture
def cluster():
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False)
    images = cluster.kubelets["node-1"].runtime.images
    for image in ("nginx:1.27", "busybox:1.36"):  # already on the node: start in 1 s
        images[parse_reference(image).name] = (1 << 20, 0.0)
    return cluster


def start(cluster, name, image="nginx:1.27", annotations=None, **spec):
    container = {"name": "app", "image": image}
    for key in ("command", "lifecycle"):
        if key in spec:
            container[key] = spec.pop(key)
    cluster.apply({"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": name, "annotations": annotations or {}},
                   "spec": {"containers": [container], **spec}})
    cluster.client("scheduler").bind(name, "node-1")


def records(cluster, name, reason):
    return [r for r in cluster.sim.records if r.object == f"pod/default/{name}"
            and r.reason == reason]


def times(cluster, name, reason):
    return [r.time for r in records(cluster, name, reason)]


def gone(cluster, name):
    try:
        cluster.admin.get("pods", name)
    except NotFound:
        return True
    return False


def final_status(cluster, name, seconds):
    """Delete the pod now and return the last status the kubelet wrote before it vanished."""
    stream = cluster.admin.watch("pods", "default")
    stream.drain()
    cluster.delete("pod", name)
    cluster.run(seconds)
    events = [e for e in stream.drain() if e["object"]["metadata"]["name"] == name]
    assert events[-1]["type"] == "DELETED"
    return events[-1]["object"]["status"]


def test_a_process_that_handles_sigterm_stops_at_once(cluster):
    start(cluster, "web")
    cluster.run(10)
    status = final_status(cluster, "web", 5)
    assert times(cluster, "web", "Killing") == [10]
    assert records(cluster, "web", "Killing")[0].message == "Stopping container app"
    assert times(cluster, "web", "ContainerDied") == [10]
    assert times(cluster, "web", "PodDeleted") == [10]
    assert status["phase"] == "Succeeded"
    assert status["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    assert gone(cluster, "web")
    assert cluster.kubelets["node-1"].pods() == []


def test_sigterm_ignored_means_sigkill_after_30_seconds_exit_137(cluster):
    start(cluster, "sleeper", image="busybox:1.36", command=["sleep", "3600"])
    cluster.run(10)
    cluster.delete("pod", "sleeper")
    cluster.run(29)
    assert not gone(cluster, "sleeper")
    assert list(cluster.get("pods")["STATUS"]) == ["Terminating"]
    cluster.run(2)
    assert gone(cluster, "sleeper")
    [died] = records(cluster, "sleeper", "ContainerDied")
    assert died.time == 40 and died.message == (
        "container app exited with code 137 (Error) after SIGTERM, then SIGKILL")
    assert times(cluster, "sleeper", "PodDeleted") == [40]


def test_grace_period_and_shutdown_time(cluster):
    start(cluster, "short", image="busybox:1.36", command=["sleep", "3600"],
          terminationGracePeriodSeconds=10)
    start(cluster, "tidy", annotations={"sim.kubelearn.io/app.shutdown-seconds": "5"})
    start(cluster, "stubborn", annotations={"sim.kubelearn.io/app.ignore-stop-signal": "true"})
    cluster.run(10)
    statuses = {}
    stream = cluster.admin.watch("pods", "default")
    for name in ("short", "tidy", "stubborn"):
        cluster.delete("pod", name)
    cluster.run(40)
    for event in stream.drain():
        statuses[event["object"]["metadata"]["name"]] = event["object"]["status"]
    assert times(cluster, "short", "PodDeleted") == [20]
    assert times(cluster, "tidy", "PodDeleted") == [15]
    assert times(cluster, "stubborn", "PodDeleted") == [40]
    code = {n: s["containerStatuses"][0]["state"]["terminated"]["exitCode"]
            for n, s in statuses.items()}
    assert code == {"short": 137, "tidy": 0, "stubborn": 137}
    assert statuses["stubborn"]["phase"] == "Failed"


def test_pre_stop_runs_before_sigterm_within_the_grace_period(cluster):
    start(cluster, "web", lifecycle={"preStop": {"sleep": {"seconds": 5}}})
    start(cluster, "hooked", image="busybox:1.36", command=["sleep", "3600"],
          lifecycle={"preStop": {"exec": {"command": ["sh", "-c", "sleep 20"]}}})
    cluster.run(10)
    cluster.delete("pod", "web")
    cluster.delete("pod", "hooked")
    cluster.run(40)
    assert times(cluster, "web", "PreStopHook") == [10]
    assert times(cluster, "web", "ContainerDied") == [15]  # hook 5 s, then SIGTERM: gone
    # the hook took 20 of the 30 s; SIGTERM is ignored, SIGKILL 10 s later
    assert times(cluster, "hooked", "ContainerDied") == [40]


def test_a_shorter_grace_period_wins(cluster):
    start(cluster, "sleeper", image="busybox:1.36", command=["sleep", "3600"])
    cluster.run(10)
    cluster.delete("pod", "sleeper", grace_period_seconds=3)
    cluster.run(5)
    assert times(cluster, "sleeper", "PodDeleted") == [13]


def test_force_delete_kills_quickly_and_forgets(cluster):
    start(cluster, "sleeper", image="busybox:1.36", command=["sleep", "3600"])
    cluster.run(10)
    cluster.admin.delete("pods", "sleeper", grace_period_seconds=0)
    assert gone(cluster, "sleeper")
    kubelet = cluster.kubelets["node-1"]
    assert kubelet.pods() == [] and kubelet.used.pods == 0
    cluster.run(5)
    assert kubelet.runtime.containers == {} and kubelet.runtime.sandboxes == {}


def test_deleting_a_pod_that_never_started(cluster):
    start(cluster, "bad", image="nginx:does-not-exist")
    cluster.run(5)
    cluster.delete("pod", "bad")
    cluster.run(1)
    assert gone(cluster, "bad")


def test_a_stopped_kubelet_leaves_the_last_status_and_catches_up_when_back(cluster):
    start(cluster, "crash", annotations={"sim.kubelearn.io/app.crash-after": "30s"})
    start(cluster, "web")
    cluster.run(10)
    cluster.stop_node("node-1")
    cluster.run(100)
    # the container crashed at 31 but nobody reported it: the API still says Running
    assert list(cluster.get("pods")["STATUS"]) == ["Running", "Running"]
    cluster.start_node("node-1")
    cluster.run(1)
    crash = cluster.admin.get("pods", "crash")["status"]["containerStatuses"][0]
    assert crash["restartCount"] == 1  # seen at 110, restarted at once: back-off was forgotten
    assert crash["lastState"]["terminated"]["finishedAt"] == "2024-01-01T00:00:31Z"
    web = cluster.admin.get("pods", "web")["status"]["containerStatuses"][0]
    assert web["restartCount"] == 0 and web["ready"]  # adopted, still the same container
    assert cluster.kubelets["node-1"].pods() == ["default/crash", "default/web"]


def test_a_power_cut_kills_the_containers(cluster):
    start(cluster, "web")
    cluster.run(10)
    ip = cluster.admin.get("pods", "web")["status"]["podIP"]
    boot = cluster.admin.get("nodes", "node-1")["status"]["nodeInfo"]["bootID"]
    cluster.stop_node("node-1", power_off=True)
    cluster.run(60)
    cluster.start_node("node-1")
    cluster.run(5)
    status = cluster.admin.get("pods", "web")["status"]
    cs = status["containerStatuses"][0]
    assert cs["restartCount"] == 1 and cs["ready"]
    assert cs["lastState"]["terminated"]["exitCode"] == 255
    assert cs["lastState"]["terminated"]["reason"] == "Unknown"
    assert status["podIP"] != ip  # a new sandbox, a new address
    assert cluster.admin.get("nodes", "node-1")["status"]["nodeInfo"]["bootID"] != boot


def test_pods_deleted_while_the_kubelet_was_down_are_cleaned_up(cluster):
    start(cluster, "web")
    cluster.run(10)
    cluster.stop_node("node-1")
    cluster.delete("pod", "web")
    cluster.run(30)
    assert not gone(cluster, "web")  # terminating: only the kubelet can finish it
    cluster.start_node("node-1")
    cluster.run(1)
    assert gone(cluster, "web")
