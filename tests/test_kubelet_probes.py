"""Probes: readiness gates Ready, liveness restarts, a startup probe shields slow starters."""

import math

import pytest

import kubelearn as kl


@pytest.fixture
def cluster():
    return kl.Cluster(nodes=1, seed=0, scheduler=False)


def start(cluster, name, container, annotations=None):
    """Create a pod around one container (image already on the node) and bind it."""
    meta = {"name": name, "annotations": annotations or {}}
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                   "spec": {"containers": [{"name": "app", "image": "nginx:1.27",
                                            "imagePullPolicy": "Never", **container}]}})
    cluster.client("scheduler").bind(name, "node-1")


@pytest.fixture
def warm(cluster):
    """The node has nginx already, so containers start 1 s after binding (at t=0 + 1)."""
    kubelet = cluster.kubelets["node-1"]
    from kubelearn.kubelet.images import parse_reference

    kubelet.runtime.images[parse_reference("nginx:1.27").name] = (68 << 20, 0.0)
    return cluster


@pytest.fixture
def settled(warm):
    """The kubelet has run for 12 s, more than a probe period: its probe workers do not
    sleep first (worker.go run), so each ticks every period from its pod's arrival."""
    warm.run(12)
    return warm


def records(cluster, name, reason):
    return [r for r in cluster.sim.records if r.object == f"pod/default/{name}"
            and r.reason == reason]


def times(cluster, name, reason):
    return [r.time for r in records(cluster, name, reason)]


def ready(cluster, name):
    cond = next(c for c in cluster.admin.get("pods", name)["status"]["conditions"]
                if c["type"] == "Ready")
    return cond["status"] == "True"


HTTP = {"httpGet": {"path": "/healthz", "port": 80}}


def test_readiness_waits_for_the_app(settled):
    cluster = settled
    start(cluster, "web", {"readinessProbe": {**HTTP, "initialDelaySeconds": 5}},
          {"sim.kubelearn.io/app.startup-seconds": "12"})
    cluster.run(10)
    assert not ready(cluster, "web")
    assert list(cluster.get("pods")["READY"]) == ["0/1"]
    cluster.run(20)
    started = times(cluster, "web", "Started")[0]
    assert started == 13.0
    assert cluster.kubelets["node-1"].worker("web").slots[0].origins == {"Readiness": 12.0}
    # The worker ticks at 12, 22, 32 (from the pod's arrival, not the container's start).
    # At the start (13) the status write triggers a run, but 0 s < initialDelaySeconds;
    # 22: nothing listens yet (it does from 13 + 12 = 25); 32: it answers, Ready.
    [unhealthy] = records(cluster, "web", "Unhealthy")
    assert unhealthy.time == 22
    assert unhealthy.message == ('Readiness probe failed: Get "http://10.244.1.2:80/healthz": '
                                 "dial tcp 10.244.1.2:80: connect: connection refused")
    assert times(cluster, "web", "ContainerReady") == [32]
    assert ready(cluster, "web")
    cond = next(c for c in cluster.admin.get("pods", "web")["status"]["conditions"]
                if c["type"] == "Ready")
    assert cond["lastTransitionTime"] == "2024-01-01T00:00:32Z"
    # a steady, healthy app is not probed again until its behaviour could change
    probe = cluster.kubelets["node-1"].worker("web").slots[0].probes[0]
    assert probe.next_at == math.inf


def test_failing_readiness_makes_the_pod_unready_but_never_restarts_it(settled):
    cluster = settled
    start(cluster, "web", {"readinessProbe": HTTP},
          {"sim.kubelearn.io/app.fail-readiness-after": "60s"})
    cluster.run(120)
    # Ready at the start (13), the run its status write triggers; the worker ticks at
    # 22, 32, ...; the app fails from 13 + 60 = 73: failures at 82, 92, 102, unready at
    # the third
    assert times(cluster, "web", "ContainerReady") == [13]
    failures = times(cluster, "web", "Unhealthy")
    assert failures[:3] == [82, 92, 102]
    assert times(cluster, "web", "ContainerNotReady") == [102]
    assert not ready(cluster, "web")
    status = cluster.admin.get("pods", "web")["status"]
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["restartCount"] == 0
    assert records(cluster, "web", "Unhealthy")[0].message == \
        "Readiness probe failed: HTTP probe failed with statuscode: 503"
    [event] = [e for e in cluster.admin.list("events", "default")["items"]
               if e["reason"] == "Unhealthy"]
    assert event["count"] == len(failures) and event["type"] == "Warning"


def test_liveness_failures_restart_the_container(settled):
    cluster = settled
    start(cluster, "web", {"livenessProbe": {**HTTP, "periodSeconds": 5}},
          {"sim.kubelearn.io/app.fail-liveness-after": "30s"})
    cluster.run(50)
    # ticks every 5 s from 12; no run at the start (only readiness has one); the app
    # fails from 13 + 30 = 43: failures at 47, 52, 57, killed at the third
    assert times(cluster, "web", "Unhealthy")[:3] == [47, 52, 57]
    [kill] = records(cluster, "web", "Killing")
    assert kill.time == 57 and kill.message == "Container app failed liveness probe, will " \
        "be restarted"
    cluster.run(1)
    status = cluster.admin.get("pods", "web")["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Completed"  # nginx exits 0 on TERM


def test_a_slow_starter_is_killed_by_liveness_unless_a_startup_probe_shields_it(settled):
    cluster = settled
    slow = {"sim.kubelearn.io/app.startup-seconds": "60"}
    start(cluster, "naive", {"livenessProbe": HTTP}, slow)
    start(cluster, "shielded", {"livenessProbe": HTTP,
                                "startupProbe": {**HTTP, "failureThreshold": 30}}, slow)
    cluster.run(200)
    naive = cluster.admin.get("pods", "naive")["status"]["containerStatuses"][0]
    assert naive["restartCount"] >= 3
    assert records(cluster, "naive", "Killing")[0].message.endswith(
        "failed liveness probe, will be restarted")
    shielded = cluster.admin.get("pods", "shielded")["status"]["containerStatuses"][0]
    assert shielded["restartCount"] == 0 and shielded["started"] and shielded["ready"]
    startup_failures = [r for r in records(cluster, "shielded", "Unhealthy")]
    assert {r.message.split(":")[0] for r in startup_failures} == {"Startup probe failed"}
    # started at 13, it answers from 73; the worker ticks at 22, 32, ... 72 (6 failures)
    assert [r.time for r in startup_failures] == [22, 32, 42, 52, 62, 72]
    # 82: started; with no readiness probe, ready then
    cond = next(c for c in cluster.admin.get("pods", "shielded")["status"]["conditions"]
                if c["type"] == "Ready")
    assert cond["lastTransitionTime"] == "2024-01-01T00:01:22Z"


def test_a_startup_probe_that_never_passes_kills(settled):
    cluster = settled
    start(cluster, "stuck", {"startupProbe": {**HTTP, "failureThreshold": 3}},
          {"sim.kubelearn.io/app.startup-seconds": "1h"})
    cluster.run(35)
    [kill] = records(cluster, "stuck", "Killing")
    assert kill.time == 42 and kill.message == "Container app failed startup probe, will be " \
        "restarted"
    status = cluster.admin.get("pods", "stuck")["status"]["containerStatuses"][0]
    assert status["started"] is False


def test_a_tcp_probe_only_sees_the_port(warm):
    cluster = warm
    start(cluster, "tcp", {"readinessProbe": {"tcpSocket": {"port": 80}}},
          {"sim.kubelearn.io/app.fail-readiness-after": "20s"})
    cluster.run(60)
    assert ready(cluster, "tcp") and not records(cluster, "tcp", "Unhealthy")


def test_exec_probe_output(settled):
    cluster = settled
    start(cluster, "ex", {"readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}}},
          {"sim.kubelearn.io/app.ready-after": "15s"})
    cluster.run(30)
    failures = records(cluster, "ex", "Unhealthy")
    # at the start (13) and the tick at 22; ready from 13 + 15 = 28: the tick at 32 passes
    assert [r.time for r in failures] == [13, 22]
    assert failures[0].message == 'Readiness probe failed: command "cat /tmp/ready" exited with 1'
    assert ready(cluster, "ex") and times(cluster, "ex", "ContainerReady") == [32]


def test_a_young_kubelet_spreads_its_probe_workers_over_a_period(warm):
    """worker.go run: within one period of the kubelet's start, each worker first sleeps a
    random part of a period (from the kubelet's own seeded stream), then ticks."""
    cluster = warm
    for name in ("a", "b", "c"):
        start(cluster, name, {"readinessProbe": HTTP, "livenessProbe": HTTP},
              {"sim.kubelearn.io/app.fail-liveness-after": "25s"})
    cluster.run(0.5)
    kubelet = cluster.kubelets["node-1"]
    origins = [kubelet.worker(n).slots[0].origins[kind] for n in "abc"
               for kind in ("Liveness", "Readiness")]
    assert all(0 <= o < 10 for o in origins) and len(set(origins)) == 6
    cluster.run(60)
    for name in "abc":  # each one's liveness failures fall on its own worker's ticks
        origin = kubelet.worker(name).slots[0].origins["Liveness"]
        first = times(cluster, name, "Started")[0] + 25
        ticks = [r.time for r in records(cluster, name, "Unhealthy")
                 if r.message.startswith("Liveness")][:3]
        assert [round((t - origin) % 10, 6) % 10 for t in ticks] == [0, 0, 0]
        assert first <= ticks[0] < first + 10
    again = kl.Cluster(nodes=1, seed=0, scheduler=False)  # the same seed: the same sleeps
    again.kubelets["node-1"].runtime.images.update(kubelet.runtime.images)
    for name in ("a", "b", "c"):
        start(again, name, {"readinessProbe": HTTP, "livenessProbe": HTTP})
    again.run(0.5)
    assert [again.kubelets["node-1"].worker(n).slots[0].origins[kind] for n in "abc"
            for kind in ("Liveness", "Readiness")] == origins


def test_the_run_of_failures_goes_on_across_a_restart(settled):
    """worker.go keeps lastResult and resultRun for the pod's life, across containers: a
    container that crashed after two liveness failures is killed at the first failure of
    the next one. Only a kill starts the count again."""
    cluster = settled
    start(cluster, "web", {"livenessProbe": {**HTTP, "periodSeconds": 5}},
          {"sim.kubelearn.io/app.fail-liveness-after": "0s",
           "sim.kubelearn.io/app.crash-after": "12s"})
    cluster.run(40)
    # ticks at 12 + 5k; started at 13, failing at once: failures at 17 and 22, a crash at
    # 25, a restart at once; the tick at 27 is the third failure in a row: killed
    assert times(cluster, "web", "Unhealthy")[:3] == [17, 22, 27]
    assert times(cluster, "web", "Killing")[0] == 27
