"""The kubelet runs pods: pulls, starts, restarts, back-off, admission, status, events."""

import pytest

import kubelearn as kl
from kubelearn.kubelet import KubeletConfig
from kubelearn.kubelet.images import RESOLVE_SECONDS, MiB
from kubelearn.kubelet.runtime import (
    CREATE_SECONDS,
    DEFAULT_BANDWIDTH_MIB,
    SANDBOX_SECONDS,
    START_SECONDS,
)

NGINX_PULL = RESOLVE_SECONDS + 68 / DEFAULT_BANDWIDTH_MIB  # 2.97 s at 25 MiB/s


@pytest.fixture
def cluster():
    return kl.Cluster(nodes=2, seed=0, scheduler=False)


def pod(name, image="nginx:1.27", annotations=None, **spec):
    container = {"name": spec.pop("container", "app"), "image": image}
    for key in ("command", "resources", "readinessProbe", "livenessProbe", "startupProbe",
                "imagePullPolicy", "lifecycle"):
        if key in spec:
            container[key] = spec.pop(key)
    meta = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [container], **spec}}


def run_pod(cluster, manifest, node="node-1"):
    """Create a pod and bind it, as the scheduler would."""
    [created] = cluster.apply(manifest)
    cluster.client("scheduler").bind(created["metadata"]["name"], node)
    return created


def records(cluster, name, reason=None):
    return [r for r in cluster.sim.records if r.object == f"pod/default/{name}"
            and (reason is None or r.reason == reason)]


def times(cluster, name, reason):
    return [r.time for r in records(cluster, name, reason)]


def status(cluster, name):
    return cluster.admin.get("pods", name)["status"]


def test_a_pod_goes_pull_create_start_ready(cluster):
    cluster.run(5)
    run_pod(cluster, pod("web"))
    cluster.run(10)
    t0 = 5.0
    sandbox = t0 + SANDBOX_SECONDS
    pulled = sandbox + NGINX_PULL
    steps = [(r.reason, r.time) for r in records(cluster, "web")
             if r.reason in ("SandboxCreated", "Pulling", "Pulled", "Created", "Started")]
    assert steps == [("SandboxCreated", sandbox), ("Pulling", sandbox),
                     ("Pulled", pytest.approx(pulled)),
                     ("Created", pytest.approx(pulled + CREATE_SECONDS)),
                     ("Started", pytest.approx(pulled + CREATE_SECONDS + START_SECONDS))]
    assert [(r.time, r.message) for r in records(cluster, "web", "PodStatusUpdated")] == [
        (t0, "ContainerCreating 0/1"), (pytest.approx(pulled + 0.5), "Running 1/1")]
    [pulled_record] = records(cluster, "web", "Pulled")
    assert pulled_record.message == ('Successfully pulled image "nginx:1.27" in 2.97s (2.97s '
                                     'including waiting). Image size: 71303168 bytes.')
    st = status(cluster, "web")
    assert st["phase"] == "Running"
    assert (st["hostIP"], st["podIP"]) == ("172.18.0.3", "10.244.1.2")
    assert st["hostIPs"] == [{"ip": "172.18.0.3"}] and st["podIPs"] == [{"ip": "10.244.1.2"}]
    assert st["startTime"] == "2024-01-01T00:00:05Z"
    assert [(c["type"], c["status"]) for c in st["conditions"]] == [
        ("PodReadyToStartContainers", "True"), ("Initialized", "True"), ("Ready", "True"),
        ("ContainersReady", "True"), ("PodScheduled", "True")]
    [cs] = st["containerStatuses"]
    assert cs["ready"] and cs["started"] and cs["restartCount"] == 0
    assert cs["image"] == "docker.io/library/nginx:1.27"
    assert cs["imageID"].startswith("docker.io/library/nginx@sha256:")
    assert cs["containerID"].startswith("containerd://")
    assert cs["state"] == {"running": {"startedAt": "2024-01-01T00:00:08Z"}}
    assert cs["lastState"] == {}
    # core/v1 Events for kubectl
    events = [e for e in cluster.admin.list("events", "default")["items"]
              if e["involvedObject"]["name"] == "web"]
    assert [e["reason"] for e in events] == ["Pulling", "Pulled", "Created", "Started"]
    assert events[0]["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert events[2]["message"] == "Created container: app"
    assert events[3]["message"] == "Started container app"
    assert "Started container app" in cluster.describe("pod", "web")


def test_the_status_shows_container_creating_while_pulling(cluster):
    run_pod(cluster, pod("web"))
    cluster.run(2)
    st = status(cluster, "web")
    assert st["phase"] == "Pending"
    [cs] = st["containerStatuses"]
    assert cs["state"] == {"waiting": {"reason": "ContainerCreating"}}
    assert cs["image"] == "nginx:1.27" and cs["imageID"] == ""
    ready = next(c for c in st["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "False", "ContainersNotReady", "containers with unready status: [app]")
    assert "podIP" not in st
    assert list(cluster.get("pods")["STATUS"]) == ["ContainerCreating"]


def test_the_image_cache_makes_the_second_pod_start_faster(cluster):
    run_pod(cluster, pod("first"))
    cluster.run(10)
    run_pod(cluster, pod("second"))
    run_pod(cluster, pod("elsewhere"), node="node-2")  # each node has its own cache
    cluster.run(10)
    first = times(cluster, "first", "Started")[0] - 0
    second = times(cluster, "second", "Started")[0] - 10
    elsewhere = times(cluster, "elsewhere", "Started")[0] - 10
    assert first == pytest.approx(SANDBOX_SECONDS + NGINX_PULL + 0.5)
    assert second == pytest.approx(SANDBOX_SECONDS + 0.5)
    assert elsewhere == pytest.approx(first)
    [present] = records(cluster, "second", "Pulled")
    assert present.message == 'Container image "nginx:1.27" already present on machine'
    assert not records(cluster, "second", "Pulling")


def test_latest_means_pull_always_but_only_the_manifest_moves(cluster):
    run_pod(cluster, pod("a", image="nginx"))
    cluster.run(10)
    run_pod(cluster, pod("b", image="nginx"))
    cluster.run(10)
    assert cluster.admin.get("pods", "b")["spec"]["containers"][0]["imagePullPolicy"] == "Always"
    [again] = records(cluster, "b", "Pulled")
    assert again.message.startswith('Successfully pulled image "nginx" in 250ms (250ms')


def test_serialized_pulls_wait_for_each_other(cluster):
    run_pod(cluster, pod("web"))
    run_pod(cluster, pod("db", image="postgres:16"))
    cluster.run(20)
    [db] = records(cluster, "db", "Pulled")
    pull = RESOLVE_SECONDS + 150 / DEFAULT_BANDWIDTH_MIB
    assert db.message == (f'Successfully pulled image "postgres:16" in {pull:.2f}s '
                          f'({pull + NGINX_PULL:.2f}s including waiting). Image size: '
                          f'{150 * MiB} bytes.')


def test_a_missing_image_is_err_image_pull_then_image_pull_back_off(cluster):
    run_pod(cluster, pod("bad", image="nginx:does-not-exist"))
    cluster.run(80)
    pulls = times(cluster, "bad", "Pulling")
    failures = [r.time for r in records(cluster, "bad", "Failed")
                if r.message.startswith("Failed to pull image")]
    assert pulls == [0.5, 10.75, 31.0, 71.25]
    # from each failure to the next attempt: the image back-off
    assert [b - a for a, b in zip(failures, pulls[1:], strict=False)] == [10, 20, 40]
    statuses = [r.message for r in records(cluster, "bad", "PodStatusUpdated")]
    assert statuses == ["ContainerCreating 0/1", "ErrImagePull 0/1", "ImagePullBackOff 0/1",
                        "ErrImagePull 0/1", "ImagePullBackOff 0/1", "ErrImagePull 0/1",
                        "ImagePullBackOff 0/1"]
    cluster.run(15)  # ErrImagePull at 81.5, ImagePullBackOff at 91.5
    [cs] = status(cluster, "bad")["containerStatuses"]
    waiting = cs["state"]["waiting"]
    assert waiting["reason"] == "ImagePullBackOff"
    assert waiting["message"] == ('Back-off pulling image "nginx:does-not-exist": ErrImagePull: '
                                  "rpc error: code = NotFound desc = failed to pull and unpack "
                                  'image "docker.io/library/nginx:does-not-exist": failed to '
                                  'resolve reference "docker.io/library/nginx:does-not-exist": '
                                  "docker.io/library/nginx:does-not-exist: not found")
    assert status(cluster, "bad")["phase"] == "Pending"
    reasons = {e["reason"]: e for e in cluster.admin.list("events", "default")["items"]
               if e["involvedObject"]["name"] == "bad"}
    assert reasons["BackOff"]["count"] >= 3  # the same event again: one object, counted
    assert reasons["Failed"]["type"] == "Warning"


def test_unknown_registries_and_invalid_names_fail(cluster):
    run_pod(cluster, pod("far", image="registry.example.invalid/team/app:1.0"))
    run_pod(cluster, pod("upper", image="Nginx"))
    cluster.run(3)
    [cs] = status(cluster, "far")["containerStatuses"]
    assert cs["state"]["waiting"]["reason"] == "ErrImagePull"
    assert "lookup registry.example.invalid: no such host" in cs["state"]["waiting"]["message"]
    [cs] = status(cluster, "upper")["containerStatuses"]
    assert cs["state"]["waiting"]["reason"] == "InvalidImageName"


def test_crash_loop_back_off_waits_10_20_40_80_160_300_300(cluster):
    run_pod(cluster, pod("crash", image="busybox:1.36",
                         annotations={"sim.kubelearn.io/app.crash-after": "5s"}))
    cluster.run(1500)
    died = times(cluster, "crash", "ContainerDied")
    restarted = [r.time - CREATE_SECONDS for r in records(cluster, "crash", "Created")][1:]
    gaps = [round(start - end, 6) for end, start in zip(died, restarted, strict=False)]
    assert gaps[:8] == [0, 10, 20, 40, 80, 160, 300, 300]
    messages = [r.message for r in records(cluster, "crash", "PodStatusUpdated")]
    assert messages[:6] == ["ContainerCreating 0/1", "Running 1/1", "Error 0/1", "Running 1/1",
                            "Error 0/1", "CrashLoopBackOff 0/1"]
    cluster.run(30)
    st = status(cluster, "crash")
    assert st["phase"] == "Running"
    [cs] = st["containerStatuses"]
    assert cs["restartCount"] == 9
    waiting = cs["state"]["waiting"]
    assert waiting["reason"] == "CrashLoopBackOff"
    assert waiting["message"].startswith("back-off 5m0s restarting failed container=app "
                                         "pod=crash_default(")
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert cs["lastState"]["terminated"]["reason"] == "Error"
    table = cluster.get("pods")
    assert list(table["STATUS"]) == ["CrashLoopBackOff"]
    assert table["RESTARTS"][0].startswith("9 (")
    [backoff] = [e for e in cluster.admin.list("events", "default")["items"]
                 if e["reason"] == "BackOff"]
    assert backoff["message"].startswith("Back-off restarting failed container app in pod "
                                         "crash_default(")
    assert backoff["count"] > 9


def test_back_off_resets_after_ten_quiet_minutes(cluster):
    run_pod(cluster, pod("slow", image="busybox:1.36",
                         annotations={"sim.kubelearn.io/app.crash-after": "11m"}))
    cluster.run(3 * 660 + 60)
    died = times(cluster, "slow", "ContainerDied")
    restarted = [r.time - CREATE_SECONDS for r in records(cluster, "slow", "Created")][1:]
    assert [round(s - e, 6) for e, s in zip(died, restarted, strict=False)] == [0, 0, 0]


def test_a_container_that_exits_zero_under_always_is_completed_then_back_off(cluster):
    run_pod(cluster, pod("job", image="busybox"))  # sh with no terminal: exits 0 at once
    cluster.run(30)
    messages = [r.message for r in records(cluster, "job", "PodStatusUpdated")]
    assert "Completed 0/1" in messages and "CrashLoopBackOff 0/1" in messages


@pytest.mark.parametrize("policy, code, phase, restarts", [
    ("Never", "0", "Succeeded", 0), ("Never", "3", "Failed", 0),
    ("OnFailure", "0", "Succeeded", 0), ("OnFailure", "1", "Running", 2)])
def test_restart_policies(cluster, policy, code, phase, restarts):
    run_pod(cluster, pod("task", image="busybox", restartPolicy=policy,
                         command=["sh", "-c", f"sleep 5; exit {code}"]))
    cluster.run(30)
    st = status(cluster, "task")
    assert st["phase"] == phase
    assert st["containerStatuses"][0]["restartCount"] == restarts
    if phase == "Succeeded":
        assert st["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
        ready = next(c for c in st["conditions"] if c["type"] == "Ready")
        assert ready["reason"] == "PodCompleted"
        assert cluster.kubelets["node-1"].used.pods == 0  # a finished pod frees its room
    if phase == "Failed":
        assert st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3


def test_out_of_cpu_is_rejected_with_upstreams_message():
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False, node_cpu="2")
    small = {"requests": {"cpu": "500m"}}
    run_pod(cluster, pod("small", resources=small))
    run_pod(cluster, pod("big", resources={"requests": {"cpu": "2"}}))
    cluster.run(5)
    st = status(cluster, "big")
    assert st["phase"] == "Failed"
    assert st["reason"] == "OutOfcpu"
    assert st["message"] == ("Pod was rejected: Node didn't have enough resource: cpu, "
                             "requested: 2000, used: 500, capacity: 2000")
    assert "conditions" not in st and "startTime" in st
    assert list(cluster.get("pods")["STATUS"]) == ["OutOfcpu", "Running"]
    [event] = [e for e in cluster.admin.list("events", "default")["items"]
               if e["reason"] == "OutOfcpu"]
    assert event["type"] == "Warning"
    assert event["message"] == ("Node didn't have enough resource: cpu, requested: 2000, "
                                "used: 500, capacity: 2000")


def test_out_of_memory_and_out_of_pods():
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False, node_memory="1Gi", node_pods=2)
    run_pod(cluster, pod("huge", resources={"requests": {"memory": "2Gi"}}))
    run_pod(cluster, pod("one"))
    run_pod(cluster, pod("two"))
    run_pod(cluster, pod("three"))
    cluster.run(5)
    assert status(cluster, "huge")["reason"] == "OutOfmemory"
    assert status(cluster, "huge")["message"].endswith(
        "memory, requested: 2147483648, used: 0, capacity: 1073741824")
    assert status(cluster, "three")["reason"] == "OutOfpods"
    assert status(cluster, "two")["phase"] == "Running"


def test_pod_ips_come_from_the_node_pod_cidr(cluster):
    for i in range(3):
        run_pod(cluster, pod(f"p{i}"), node="node-2")
    cluster.run(10)
    assert [status(cluster, f"p{i}")["podIP"] for i in range(3)] == [
        "10.244.2.2", "10.244.2.3", "10.244.2.4"]


def test_host_network_pods_get_the_node_ip(cluster):
    run_pod(cluster, pod("agent", hostNetwork=True))
    run_pod(cluster, pod("normal"))
    cluster.run(10)
    assert status(cluster, "agent")["podIP"] == "172.18.0.3"
    assert status(cluster, "normal")["podIP"] == "10.244.1.2"  # the range was not touched


def test_events_can_be_switched_off():
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False,
                         kubelet_config=KubeletConfig(events=False))
    run_pod(cluster, pod("web"))
    cluster.run(10)
    events = cluster.admin.list("events", "default")["items"]
    # (the node controller's own events, e.g. RegisteredNode, are not the kubelet's to switch)
    assert [e for e in events if e["source"]["component"] == "kubelet"] == []
    assert times(cluster, "web", "Started")  # the records are still there


def test_a_new_image_restarts_the_container(cluster):
    run_pod(cluster, pod("web"))
    cluster.run(10)
    cluster.admin.patch("pods", "web", {"spec": {"containers": [
        {"name": "app", "image": "nginx:1.28"}]}})
    cluster.run(40)
    killing = records(cluster, "web", "Killing")
    assert killing[0].message == "Container app definition changed, will be restarted"
    [cs] = status(cluster, "web")["containerStatuses"]
    assert cs["image"] == "docker.io/library/nginx:1.28" and cs["restartCount"] == 1


def test_the_kubelet_only_sees_its_own_pods(cluster):
    run_pod(cluster, pod("a"), node="node-1")
    run_pod(cluster, pod("b"), node="node-2")
    cluster.run(10)
    assert cluster.kubelets["node-1"].pods() == ["default/a"]
    assert cluster.kubelets["node-2"].pods() == ["default/b"]
    assert cluster.kubelets["node-1"].worker("a").pod_ip == "10.244.1.2"
    with pytest.raises(KeyError):
        cluster.kubelets["node-1"].worker("b")


def test_same_seed_same_history():
    def history():
        cluster = kl.Cluster(nodes=2, seed=7, scheduler=False)
        run_pod(cluster, pod("crash", image="busybox",
                             annotations={"sim.kubelearn.io/app.crash-after": "3s"}))
        run_pod(cluster, pod("web", readinessProbe={"httpGet": {"port": 80}}), node="node-2")
        cluster.run(120)
        cluster.delete("pod", "web")
        cluster.run(60)
        return [tuple(r) for r in cluster.sim.records]

    assert history() == history()


def test_the_kubelet_lists_its_pods_then_watches_from_the_lists_version():
    """A reflector, as the kubelet's API server pod source: LIST, then WATCH (no watch-list)."""
    cluster = kl.Cluster(seed=0, nodes=1)
    audit = cluster.api.audit()
    mine = audit[(audit.user == "system:node:node-1") & (audit.resource == "pods")]
    assert list(mine.verb[:2]) == ["list", "watch"]


def test_a_relist_removes_a_pod_deleted_while_the_watch_was_down(cluster):
    run_pod(cluster, pod("kept"))
    run_pod(cluster, pod("gone"))
    cluster.run(10)
    kubelet = cluster.kubelets["node-1"]
    assert sorted(w.name for w in kubelet.workers.values()) == ["gone", "kept"]
    kubelet._stream.stop()  # the watch ends, as on a timeout: the kubelet lists again 1 s later
    cluster.admin.delete("pods", "gone", "default", grace_period_seconds=0)  # meanwhile
    cluster.run(5)
    assert sorted(w.name for w in kubelet.workers.values()) == ["kept"]


def test_events_made_at_one_instant_never_collide():
    """Every component writes its Events at the first try: no name is taken twice (no 409)."""
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.run(30)
    audit = cluster.api.audit()
    creates = audit[(audit.resource == "events") & (audit.verb == "create")]
    assert len(creates) > 20 and set(creates.code) == {201}
    names = [e["metadata"]["name"] for e in cluster.admin.list("events", None)["items"]]
    assert len(names) == len(set(names)) == len(creates)
