"""Stop signals: the image's STOPSIGNAL is what the runtime sends, and the exit code follows."""

import pytest

import kubelearn as kl
from kubelearn.kubelet import images, signals
from kubelearn.kubelet.behaviour import Behaviour, behaviour_for, from_command
from kubelearn.kubelet.images import parse_reference

IMAGES = ("nginx:1.27", "httpd:2.4", "redis:7", "postgres:16", "busybox:1.36",
          "ghcr.io/example/app:1.0")


@pytest.fixture
def cluster():
    cluster = kl.Cluster(nodes=1, seed=0, scheduler=False)
    store = cluster.kubelets["node-1"].runtime.images
    for image in IMAGES:  # already on the node: each pod starts in 1 s
        store[parse_reference(image).name] = (1 << 20, 0.0)
    return cluster


def start(cluster, name, image, command=None, **spec):
    container = {"name": "app", "image": image, **({"command": command} if command else {})}
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"containers": [container], **spec}})
    cluster.client("scheduler").bind(name, "node-1")


def stop(cluster, *names, seconds=40):
    """Delete the pods 10 s from now; per pod, (seconds from delete to exit, ContainerDied)."""
    cluster.run(10)
    deleted = cluster.sim.now
    for name in names:
        cluster.delete("pod", name)
    cluster.run(seconds)
    out = {}
    for record in cluster.sim.records:
        name = record.object.rpartition("/")[2]
        if record.reason == "ContainerDied" and name in names and record.time >= deleted:
            out[name] = (record.time - deleted, record.message)
    return out


def test_the_catalogue_carries_each_official_images_stopsignal():
    def signal(image):
        return images.stop_signal(parse_reference(image))
    assert signal("nginx:1.27") == "SIGQUIT"  # nginx/docker-nginx: STOPSIGNAL SIGQUIT
    assert signal("httpd:2.4") == "SIGWINCH"  # docker-library/httpd: graceful stop
    assert signal("postgres:17") == "SIGINT"  # docker-library/postgres: fast shutdown
    for image in ("redis:7", "mysql:8.0", "busybox:1.36", "python:3.12", "ubuntu"):
        assert signal(image) == "SIGTERM"
    assert signal("ghcr.io/example/app:1.0") == "SIGTERM"  # an unknown config: the default


def test_nginx_gets_sigquit_and_exits_0(cluster):
    start(cluster, "web", "nginx:1.27")
    assert stop(cluster, "web")["web"] == (0, "container app exited with code 0 (Completed) "
                                                 "after SIGQUIT")


def test_httpd_gets_sigwinch_its_graceful_stop_and_exits_0(cluster):
    start(cluster, "apache", "httpd:2.4")
    assert stop(cluster, "apache")["apache"] == (
        0, "container app exited with code 0 (Completed) after SIGWINCH")


def test_an_image_without_stopsignal_gets_sigterm(cluster):
    start(cluster, "cache", "redis:7")
    start(cluster, "app", "ghcr.io/example/app:1.0")
    died = stop(cluster, "cache", "app")
    assert died["cache"] == (0, "container app exited with code 0 (Completed) after SIGTERM")
    assert died["app"] == (0, "container app exited with code 0 (Completed) after SIGTERM")


def test_postgres_gets_sigint_and_takes_its_second(cluster):
    start(cluster, "db", "postgres:16")
    cluster.run(10)  # past its 5 s start-up
    assert stop(cluster, "db")["db"] == (
        1, "container app exited with code 0 (Completed) after SIGINT")


def test_a_shell_that_traps_term_in_the_nginx_image_waits_for_sigkill(cluster):
    """The image's SIGQUIT is not the TERM the script traps, and PID 1 ignores it."""
    start(cluster, "trapper", "nginx:1.27",
          command=["sh", "-c", "trap 'exit 0' TERM; sleep infinity"])
    start(cluster, "trapper-busybox", "busybox:1.36",
          command=["sh", "-c", "trap 'exit 0' TERM; sleep infinity"])
    died = stop(cluster, "trapper", "trapper-busybox")
    assert died["trapper"] == (30, "container app exited with code 137 (Error) "
                                   "after SIGQUIT, then SIGKILL")
    assert died["trapper-busybox"] == (0, "container app exited with code 0 (Completed) "
                                          "after SIGTERM")


def test_not_pid_1_an_unhandled_stop_signal_kills_128_plus_n(cluster):
    """With shareProcessNamespace the app is not PID 1: the default action applies."""
    shared = {"shareProcessNamespace": True}
    start(cluster, "sleeper", "busybox:1.36", command=["sleep", "3600"], **shared)
    start(cluster, "quitter", "nginx:1.27", command=["sleep", "3600"], **shared)
    start(cluster, "winch", "httpd:2.4", command=["sleep", "3600"], **shared)
    start(cluster, "alone", "busybox:1.36", command=["sleep", "3600"])
    died = stop(cluster, "sleeper", "quitter", "winch", "alone")
    assert died["sleeper"] == (0, "container app exited with code 143 (Error) after SIGTERM")
    assert died["quitter"] == (0, "container app exited with code 131 (Error) after SIGQUIT")
    # SIGWINCH's default action is to do nothing, PID 1 or not
    assert died["winch"] == (30, "container app exited with code 137 (Error) "
                                 "after SIGWINCH, then SIGKILL")
    assert died["alone"] == (30, "container app exited with code 137 (Error) "
                                 "after SIGTERM, then SIGKILL")


def test_ignore_sigterm_ignores_the_images_stop_signal_too(cluster):
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {
        "name": "deaf", "annotations": {"sim.kubelearn.io/app.ignore-stop-signal": "true"}},
        "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}})
    cluster.client("scheduler").bind("deaf", "node-1")
    assert stop(cluster, "deaf")["deaf"] == (
        30, "container app exited with code 137 (Error) after SIGQUIT, then SIGKILL")


def test_a_second_delete_sends_no_second_stop_signal(cluster):
    start(cluster, "sleeper", "busybox:1.36", command=["sleep", "3600"])
    cluster.run(10)
    cluster.delete("pod", "sleeper")
    cluster.run(5)
    [container] = cluster.kubelets["node-1"].runtime.containers_of(
        cluster.admin.get("pods", "sleeper")["metadata"]["uid"])
    cluster.delete("pod", "sleeper", grace_period_seconds=3)
    cluster.run(5)
    assert container.signals_sent == ("SIGTERM",)
    assert (container.exit_at, container.exit_code) == (18, 137)  # 15 s + the 3 s


def test_the_exit_code_reaches_the_pod_status(cluster):
    start(cluster, "sleeper", "busybox:1.36", command=["sleep", "3600"],
          shareProcessNamespace=True)
    cluster.run(10)
    stream = cluster.admin.watch("pods", "default")
    stream.drain()
    cluster.delete("pod", "sleeper")
    cluster.run(5)
    last = [e for e in stream.drain() if e["type"] != "DELETED"][-1]["object"]["status"]
    terminated = last["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (143, "Error")


@pytest.mark.parametrize(("signal", "handles", "ignores", "pid1", "expected"), [
    ("SIGQUIT", {"SIGQUIT"}, (), True, signals.HANDLE),
    ("SIGQUIT", {"SIGTERM"}, (), True, signals.IGNORE),  # PID 1: no default action
    ("SIGQUIT", {"SIGTERM"}, (), False, signals.TERMINATE),
    ("SIGWINCH", (), (), False, signals.IGNORE),  # default action: ignore
    ("SIGTERM", {"SIGTERM"}, {"SIGTERM"}, False, signals.IGNORE),  # SIG_IGN wins
    ("SIGKILL", (), {"SIGKILL"}, True, signals.TERMINATE),  # nothing stops SIGKILL
])
def test_reaction(signal, handles, ignores, pid1, expected):
    assert signals.reaction(signal, handles, ignores, pid1) == expected


def test_exit_codes_are_128_plus_the_signal_number():
    assert [signals.exit_code(s) for s in ("SIGINT", "SIGQUIT", "SIGKILL", "SIGTERM")] == [
        130, 131, 137, 143]


def test_behaviour_reads_traps_and_the_shared_pid_namespace():
    def trapped(script):
        command = from_command({"command": ["sh", "-c", script]})
        return command["handles"], command["ignores"]
    assert trapped("trap 'exit 0' INT QUIT; sleep 5") == ({"SIGINT", "SIGQUIT"}, set())
    assert trapped("trap 'exit 0' SIGTERM 3; sleep 5") == ({"SIGTERM", "SIGQUIT"}, set())
    assert trapped("trap '' TERM; sleep 5") == (set(), {"SIGTERM"})
    assert trapped("trap - TERM; echo TERM; sleep 5") == (set(), set())
    nginx = images.spec_for(parse_reference("nginx"))
    alone = behaviour_for({}, {"name": "web"}, nginx)
    shared = behaviour_for({"spec": {"shareProcessNamespace": True}}, {"name": "web"}, nginx)
    assert (alone.pid1, shared.pid1) == (True, False)
    assert alone.on_signal("SIGQUIT") == shared.on_signal("SIGQUIT") == signals.HANDLE
    assert Behaviour().on_signal("SIGTERM") == signals.HANDLE  # an unknown image's server
