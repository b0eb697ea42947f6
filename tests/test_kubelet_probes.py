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


def test_readiness_waits_for_the_app(warm):
    cluster = warm
    start(cluster, "web", {"readinessProbe": {**HTTP, "initialDelaySeconds": 5}},
          {"sim.kubelearn.io/app.startup-seconds": "12"})
    cluster.run(10)
    assert not ready(cluster, "web")
    assert list(cluster.get("pods")["READY"]) == ["0/1"]
    cluster.run(20)
    started = times(cluster, "web", "Started")[0]
    assert started == 1.0
    # probes at start + 5 (nothing listens yet), + 15 (it does): Ready at 16
    [unhealthy] = records(cluster, "web", "Unhealthy")
    assert unhealthy.time == started + 5
    assert unhealthy.message == ('Readiness probe failed: Get "http://10.244.1.2:80/healthz": '
                                 "dial tcp 10.244.1.2:80: connect: connection refused")
    assert times(cluster, "web", "ContainerReady") == [started + 15]
    assert ready(cluster, "web")
    cond = next(c for c in cluster.admin.get("pods", "web")["status"]["conditions"]
                if c["type"] == "Ready")
    assert cond["lastTransitionTime"] == "2024-01-01T00:00:16Z"
    # a steady, healthy app is not probed again until its behaviour could change
    probe = cluster.kubelets["node-1"].worker("web").slots[0].probes[0]
    assert probe.next_at == math.inf


def test_failing_readiness_makes_the_pod_unready_but_never_restarts_it(warm):
    cluster = warm
    start(cluster, "web", {"readinessProbe": HTTP},
          {"sim.kubelearn.io/app.fail-readiness-after": "60s"})
    cluster.run(120)
    # probes every 10 s from start (1): failures at 61, 71, 81; the third makes it unready
    failures = times(cluster, "web", "Unhealthy")
    assert failures[:3] == [61, 71, 81]
    assert times(cluster, "web", "ContainerNotReady") == [81]
    assert not ready(cluster, "web")
    status = cluster.admin.get("pods", "web")["status"]
    assert status["phase"] == "Running"
    assert status["containerStatuses"][0]["restartCount"] == 0
    assert records(cluster, "web", "Unhealthy")[0].message == \
        "Readiness probe failed: HTTP probe failed with statuscode: 503"
    [event] = [e for e in cluster.admin.list("events", "default")["items"]
               if e["reason"] == "Unhealthy"]
    assert event["count"] == len(failures) and event["type"] == "Warning"


def test_liveness_failures_restart_the_container(warm):
    cluster = warm
    start(cluster, "web", {"livenessProbe": {**HTTP, "periodSeconds": 5}},
          {"sim.kubelearn.io/app.fail-liveness-after": "30s"})
    cluster.run(45)
    # failures at 31, 36, 41 (start 1 + 30 on): killed at the third
    assert times(cluster, "web", "Unhealthy")[:3] == [31, 36, 41]
    [kill] = records(cluster, "web", "Killing")
    assert kill.time == 41 and kill.message == "Container app failed liveness probe, will " \
        "be restarted"
    cluster.run(1)
    status = cluster.admin.get("pods", "web")["status"]["containerStatuses"][0]
    assert status["restartCount"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Completed"  # nginx exits 0 on TERM


def test_a_slow_starter_is_killed_by_liveness_unless_a_startup_probe_shields_it(warm):
    cluster = warm
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
    assert len(startup_failures) == 6  # at 1, 11, ... 51; it answers at 61


def test_a_startup_probe_that_never_passes_kills(warm):
    cluster = warm
    start(cluster, "stuck", {"startupProbe": {**HTTP, "failureThreshold": 3}},
          {"sim.kubelearn.io/app.startup-seconds": "1h"})
    cluster.run(25)
    [kill] = records(cluster, "stuck", "Killing")
    assert kill.time == 21 and kill.message == "Container app failed startup probe, will be " \
        "restarted"
    status = cluster.admin.get("pods", "stuck")["status"]["containerStatuses"][0]
    assert status["started"] is False


def test_a_tcp_probe_only_sees_the_port(warm):
    cluster = warm
    start(cluster, "tcp", {"readinessProbe": {"tcpSocket": {"port": 80}}},
          {"sim.kubelearn.io/app.fail-readiness-after": "20s"})
    cluster.run(60)
    assert ready(cluster, "tcp") and not records(cluster, "tcp", "Unhealthy")


def test_exec_probe_output(warm):
    cluster = warm
    start(cluster, "ex", {"readinessProbe": {"exec": {"command": ["cat", "/tmp/ready"]}}},
          {"sim.kubelearn.io/app.ready-after": "15s"})
    cluster.run(30)
    failures = records(cluster, "ex", "Unhealthy")
    assert [r.time for r in failures] == [1, 11]  # ready from age 15: the probe at 21 passes
    assert failures[0].message == 'Readiness probe failed: command "cat /tmp/ready" exited with 1'
    assert ready(cluster, "ex") and times(cluster, "ex", "ContainerReady") == [21]
