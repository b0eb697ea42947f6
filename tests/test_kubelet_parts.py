"""The kubelet's small parts: back-off, image references and pulls, behaviour, admission, diffs."""

import pytest

from kubelearn.kubelet import admission, images
from kubelearn.kubelet.backoff import Backoff
from kubelearn.kubelet.behaviour import Behaviour, behaviour_for, from_command, parse_duration
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.kubelet.nodestatus import allocatable, capacity, changed, conditions
from kubelearn.kubelet.podstatus import merge_diff, pod_phase, summary
from kubelearn.kubelet.runtime import Runtime
from kubelearn.sim import Simulation


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_backoff_doubles_to_the_cap_and_forgets_after_twice_the_cap():
    clock = Clock()
    backoff = Backoff(clock, 10, 300)
    delays = []
    for _ in range(8):
        delays.append(backoff.next("c", clock.now))
        clock.now += 1
    assert delays == [10, 20, 40, 80, 160, 300, 300, 300]
    assert backoff.in_backoff_since("c", clock.now - 1)  # 1 s after the last exit, 300 s delay
    # quiet for more than 2 x 300 s: the next exit starts over at 10 s
    clock.now += 601
    assert not backoff.in_backoff_since("c", clock.now)
    assert backoff.next("c", clock.now) == 10


def test_backoff_since_event_and_since_update():
    clock = Clock()
    backoff = Backoff(clock, 10, 300)
    assert not backoff.in_backoff_since("k", 0)  # nothing known: go ahead
    backoff.next("k", 0)
    clock.now = 9.9
    assert backoff.in_backoff_since("k", 0) and backoff.in_backoff_since_update("k", 9.9)
    clock.now = 10.0  # exactly the delay later: free again (no 9.9999 surprises)
    assert not backoff.in_backoff_since("k", 0)
    assert not backoff.in_backoff_since_update("k", 10.0)
    backoff.forget("k")
    assert backoff.get("k") == 0 and len(backoff) == 0


def test_references_normalise_like_containerd():
    ref = images.parse_reference("nginx:1.27")
    assert (ref.registry, ref.path, ref.tag, ref.name) == (
        "docker.io", "library/nginx", "1.27", "docker.io/library/nginx:1.27")
    assert images.parse_reference("busybox").name == "docker.io/library/busybox:latest"
    assert images.parse_reference("bitnami/redis:7").repository == "docker.io/bitnami/redis"
    assert images.parse_reference("registry.k8s.io/pause:3.10").registry == "registry.k8s.io"
    assert images.parse_reference("localhost:5000/app").name == "localhost:5000/app:latest"
    assert ref.image_id.startswith("docker.io/library/nginx@sha256:")
    assert len(ref.image_id.split(":")[-1]) == 64
    assert images.is_valid("nginx:1.27") and not images.is_valid("Nginx:1.27")


def test_pull_errors_use_containerds_words():
    assert images.pull_error(images.parse_reference("nginx:1.27")) is None
    missing_tag = images.pull_error(images.parse_reference("nginx:does-not-exist"))
    assert missing_tag == (
        'rpc error: code = NotFound desc = failed to pull and unpack image '
        '"docker.io/library/nginx:does-not-exist": failed to resolve reference '
        '"docker.io/library/nginx:does-not-exist": docker.io/library/nginx:does-not-exist: '
        "not found")
    missing_repo = images.pull_error(images.parse_reference("does-not-exist"))
    assert "pull access denied, repository does not exist" in missing_repo
    no_host = images.pull_error(images.parse_reference("registry.example.invalid/app:1"))
    assert no_host.endswith("dial tcp: lookup registry.example.invalid: no such host")


def test_go_durations():
    assert [images.go_duration(s) for s in (0, 0.25, 2.97, 10, 65.5, 300, 3700)] == [
        "0s", "250ms", "2.97s", "10s", "1m5.5s", "5m0s", "1h1m40s"]


def test_durations_parse_go_style_and_plain():
    assert parse_duration("30s") == 30 and parse_duration("1m30s") == 90
    assert parse_duration("90") == 90 and parse_duration(2.5) == 2.5
    assert parse_duration("1h") == 3600 and parse_duration("500ms") == 0.5
    with pytest.raises(ValueError):
        parse_duration("soon")


def test_behaviour_annotations_beat_the_command_which_beats_the_image():
    nginx = images.spec_for(images.parse_reference("nginx"))
    busybox = images.spec_for(images.parse_reference("busybox"))
    assert behaviour_for({}, {"name": "web", "image": "nginx"}, nginx).run_seconds is None
    assert behaviour_for({}, {"name": "c", "image": "busybox"}, busybox).run_seconds == 0
    sleeper = behaviour_for({}, {"name": "c", "command": ["sleep", "3600"]}, busybox)
    assert (sleeper.run_seconds, sleeper.exit_code, sleeper.handles) == (3600, 0, frozenset())
    script = from_command({"command": ["sh", "-c", "sleep 30; exit 3"]})
    assert script == {"exit_code": 3, "run_seconds": 30, "handles": frozenset(),
                      "ignores": frozenset()}
    assert from_command({"command": ["sh", "-c", "trap 'exit 0' TERM; sleep infinity"]})[
        "handles"] == {"SIGTERM"}
    assert from_command({"command": ["nginx", "-g", "daemon off;"]}) is None
    pod = {"metadata": {"annotations": {
        "sim.kubelearn.io/c.crash-after": "1m", "sim.kubelearn.io/c.exit-code": "2",
        "sim.kubelearn.io/c.ignore-stop-signal": "true", "sim.kubelearn.io/c.image-size": "1Gi",
        "sim.kubelearn.io/other.crash-after": "1s"}}}
    b = behaviour_for(pod, {"name": "c", "command": ["sleep", "5"]}, busybox)
    assert (b.run_seconds, b.exit_code, b.on_signal("SIGTERM"), b.image_size) == (
        60, 2, "ignore", 1024 ** 3)


def test_behaviour_health_over_time():
    b = Behaviour(startup_seconds=10, ready_after=15, fail_readiness_after=60,
                  fail_liveness_after=120)
    assert not b.listening(5) and b.listening(10)
    assert not b.ready(12) and b.ready(15) and not b.ready(60)
    assert b.live(100) and not b.live(120)
    assert b.changes() == [10, 15, 60, 120]


def test_admission_checks_pods_then_cpu_then_memory():
    allocatable_ = admission.Usage(pods=110, milli_cpu=2000, memory=4 * 1024 ** 3)
    used = admission.Usage(pods=1, milli_cpu=500, memory=1024 ** 3)
    pod = {"spec": {"containers": [{"resources": {"requests": {"cpu": "2", "memory": "1Gi"}}}]}}
    request = admission.request_of(pod)
    assert (request.milli_cpu, request.memory, request.pods) == (2000, 1024 ** 3, 1)
    assert admission.admit(request, used, allocatable_) == (
        "OutOfcpu", "Node didn't have enough resource: cpu, requested: 2000, used: 500, "
        "capacity: 2000")
    big = admission.request_of({"spec": {"containers": [
        {"resources": {"requests": {"memory": "4Gi"}}}]}})
    assert admission.admit(big, used, allocatable_)[0] == "OutOfmemory"
    full = admission.Usage(pods=110)
    assert admission.admit(admission.Usage(pods=1), full, allocatable_) == (
        "OutOfpods", "Node didn't have enough resource: pods, requested: 1, used: 110, "
        "capacity: 110")
    gpu = admission.request_of({"spec": {"containers": [
        {"resources": {"requests": {"example.com/gpu": "1"}}}]}})
    assert admission.admit(gpu, used, allocatable_) is None  # unknown to the node: ignored


def test_allocatable_is_capacity_minus_reservations():
    cap = capacity("4", "8Gi", 110, "100Gi")
    assert cap == {"cpu": "4", "ephemeral-storage": "100Gi", "hugepages-1Gi": "0",
                   "hugepages-2Mi": "0", "memory": "8Gi", "pods": "110"}
    assert allocatable(cap, KubeletConfig()) == cap
    config = KubeletConfig(kube_reserved={"cpu": "100m", "memory": "256Mi"},
                           system_reserved={"cpu": "100m"}, eviction_hard={"memory": "100Mi"})
    reserved = allocatable(cap, config)
    assert reserved["cpu"] == "3800m" and reserved["memory"] == "7836Mi"


def test_node_conditions_flip_and_heartbeat():
    first, events = conditions([], "T0", ready=True)
    assert [c["type"] for c in first] == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert first[-1]["reason"] == "KubeletReady"
    assert first[-1]["message"] == "kubelet is posting ready status"
    assert events == ["NodeHasSufficientMemory", "NodeHasNoDiskPressure", "NodeHasSufficientPID"]
    again, events = conditions(first, "T1", ready=True)
    assert events == [] and again[-1]["lastTransitionTime"] == "T0"
    assert again[-1]["lastHeartbeatTime"] == "T1"
    assert not changed({"conditions": first}, {"conditions": again})  # only heartbeats moved
    down, events = conditions(again, "T2", ready=False)
    assert events == ["NodeNotReady"] and down[-1]["reason"] == "KubeletNotReady"
    assert changed({"conditions": again}, {"conditions": down})


def test_merge_diff_makes_a_json_merge_patch():
    old = {"phase": "Pending", "podIP": "x", "state": {"waiting": {"reason": "A"}}}
    new = {"phase": "Running", "state": {"running": {"startedAt": "t"}}}
    assert merge_diff(old, new) == {"phase": "Running", "podIP": None,
                                    "state": {"waiting": None, "running": {"startedAt": "t"}}}
    assert merge_diff(new, new) == {}


def test_phase_and_summary():
    running = {"name": "a", "ready": True, "state": {"running": {}}, "lastState": {}}
    crashed = {"name": "b", "ready": False, "state": {"waiting": {"reason": "CrashLoopBackOff"}},
               "lastState": {"terminated": {"exitCode": 1}}}
    done = {"name": "c", "ready": False, "state": {"terminated": {"exitCode": 0,
                                                                  "reason": "Completed"}},
            "lastState": {}}
    assert pod_phase([running, crashed], "Always", False) == "Running"
    assert pod_phase([done], "Never", False) == "Succeeded"
    assert pod_phase([done], "Always", False) == "Running"
    assert pod_phase([{**done, "state": {"terminated": {"exitCode": 1}}}], "Never",
                     False) == "Failed"
    assert summary({"phase": "Running", "containerStatuses": [running, crashed]}) == \
        "CrashLoopBackOff 1/2"
    assert summary({"phase": "Failed", "reason": "OutOfcpu"}) == "OutOfcpu 0/0"


def test_runtime_pulls_queue_and_cache():
    sim = Simulation(0)
    runtime = Runtime(sim, "n", pod_cidr="10.244.1.0/24", bandwidth_mib=10)
    nginx = images.parse_reference("nginx:1.27")
    redis = images.parse_reference("redis:7")
    assert runtime.pull_image(nginx) == (0, 0.25 + 6.8, None)
    start, done, _ = runtime.pull_image(redis)  # serialised: waits for nginx
    assert start == pytest.approx(7.05) and done == pytest.approx(7.05 + 0.25 + 4.5)
    assert not runtime.image_present(nginx)
    sim.run(8)
    assert runtime.image_present(nginx) and not runtime.image_present(redis)
    names = [image["names"][1] for image in runtime.image_list()]
    assert names == ["docker.io/library/nginx:1.27", "registry.k8s.io/pause:3.10"]
    start, done, _ = runtime.pull_image(nginx)  # again (policy Always): the layers are here
    assert start == pytest.approx(11.8) and done - start == pytest.approx(0.25)
    ips = [runtime.run_pod_sandbox(f"uid-{i}").ip for i in range(3)]
    assert ips == ["10.244.1.2", "10.244.1.3", "10.244.1.4"]
    runtime.stop_pod_sandbox(runtime.sandboxes["uid-0"])
    assert runtime.run_pod_sandbox("uid-3").ip == "10.244.1.5"  # host-local keeps going
