"""kl.viz.kubelet's tables and plots for back-off, probes and termination (lesson 05),
checked against short simulations: the numbers the lesson's prose quotes."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.kubelet.podstatus import should_restart  # noqa: E402
from kubelearn.viz import kubelet as viz  # noqa: E402

HEALTHZ = {"httpGet": {"path": "/healthz", "port": 80}}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def legend_labels(fig) -> list[str]:
    return [text.get_text() for legend in fig.legends for text in legend.get_texts()]


def test_app_pod_writes_the_manifest_the_lesson_shows():
    pod = viz.app_pod("web", node="node-2", sim={"startup-seconds": 45},
                      spec={"terminationGracePeriodSeconds": 10}, livenessProbe=HEALTHZ)
    assert pod["metadata"] == {"name": "web",
                               "annotations": {"sim.kubelearn.io/app.startup-seconds": "45"}}
    assert pod["spec"]["nodeName"] == "node-2"
    assert pod["spec"]["terminationGracePeriodSeconds"] == 10
    assert pod["spec"]["containers"] == [{"name": "app", "image": "nginx:1.27",
                                          "livenessProbe": HEALTHZ}]
    assert "annotations" not in viz.app_pod("plain")["metadata"]


def test_pull_attempts_show_the_image_back_off_doubling():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply(viz.app_pod("typo", image="ngnix-does-not-exist:1.27"))
    cluster.run(120)
    table = viz.pull_attempts(cluster.events(), "typo")
    assert list(table.index) == [1, 2, 3, 4] and table.index.name == "pull"
    assert math.isnan(table["back-off before it (s)"].iloc[0])
    assert list(table["back-off before it (s)"].iloc[1:]) == [10.0, 20.0, 40.0]
    assert table["began (s)"].iloc[0] == 0.5  # after the sandbox, 0.5 s after the create
    assert all(table["failed (s)"] - table["began (s)"] == 0.25)


def crashy(cluster: kl.Cluster, name: str = "crashy") -> None:
    cluster.apply(viz.app_pod(name, sim={"crash-after": "5s"}))


def test_restarts_are_indexed_by_the_count_and_show_the_waits():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(30)  # the pod is created late: times still count from its creation
    crashy(cluster)
    cluster.run(900)
    table = viz.restarts(cluster.events(), "crashy")
    assert table.index.name == "restarts" and list(table.index) == list(range(8))
    assert list(table["back-off before it (s)"].iloc[1:]) == [0, 10, 20, 40, 80, 160, 300]
    assert table["started (s after creation)"].iloc[0] == pytest.approx(3.97)
    fig = viz.crashloop_plot(cluster.events(), "crashy")
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert notes == [f"waited {w} s" for w in (0, 10, 20, 40, 80, 160, 300)]
    assert fig.axes[0].get_xlim()[0] == 0


def test_restart_policy_table_follows_the_kubelets_rule():
    table = viz.restart_policy_table()
    assert list(table.index) == ["Always", "OnFailure", "Never"]
    for policy in table.index:
        for code in (0, 1):
            restarted = table.loc[policy, f"exit code {code}"].startswith("restarted")
            assert restarted == should_restart(policy, code)


@pytest.fixture(scope="module")
def probed():
    """The lesson's four probe stories on one node with nginx already pulled."""
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply(viz.app_pod("warm"))
    cluster.run(10)
    cluster.apply(viz.app_pod("unready", readinessProbe=HEALTHZ,
                              sim={"fail-readiness-after": "60s"}))
    cluster.apply(viz.app_pod("unlive", readinessProbe=HEALTHZ, livenessProbe=HEALTHZ,
                              sim={"fail-liveness-after": "60s"}))
    cluster.apply(viz.app_pod("slow", livenessProbe=HEALTHZ, sim={"startup-seconds": "45"}))
    cluster.apply(viz.app_pod("shielded", readinessProbe=HEALTHZ, livenessProbe=HEALTHZ,
                              startupProbe={**HEALTHZ, "failureThreshold": 30},
                              sim={"startup-seconds": "45"}))
    cluster.run(200)
    return cluster.events()


def test_a_failing_readiness_probe_makes_the_pod_unready_and_never_kills(probed):
    # Each probe worker ticks every 10 s from the pod's arrival (0 here: the kubelet is
    # 10 s old, so no first sleep); the container starts at 1 and fails from 61.
    runs = viz.container_runs(probed, "unready")
    assert runs.values.tolist() == [[1.0, 90.0, True], [90.0, 195.0, False]]
    failures = viz.probe_failures(probed, "unready")
    assert set(failures["probe"]) == {"Readiness"}
    assert list(failures["time"][:3]) == [70.0, 80.0, 90.0]


def test_a_failing_liveness_probe_kills_and_the_back_off_applies(probed):
    runs = viz.container_runs(probed, "unlive")
    # killed at the third failure (70, 80, 90); the next run fails from 90.5 + 60: killed
    # at 180 (160, 170, 180, the count started again by the kill), back in 10 s
    assert [(a, b) for a, b, _ in runs.values.tolist()] == [(1.0, 90.0), (90.5, 180.0),
                                                            (190.5, 195.0)]
    assert viz._restart_count(probed, "unlive", "default") == 2


def test_a_slow_starter_is_killed_by_liveness_unless_a_startup_probe_guards_it(probed):
    slow = viz.probe_failures(probed, "slow")
    # it answers from 46; liveness ticks at 10, 20, 30 (none at the start): killed at 30
    assert list(slow["time"][:3]) == [10.0, 20.0, 30.0] and set(slow["probe"]) == {"Liveness"}
    assert viz.container_runs(probed, "slow")["ready"].all()  # no readiness probe: Ready
    shielded = viz.probe_failures(probed, "shielded")
    assert list(shielded["time"]) == [10.0, 20.0, 30.0, 40.0]
    assert set(shielded["probe"]) == {"Startup"}
    # started at 50, and the status written runs readiness at once: Ready at 50
    assert viz.container_runs(probed, "shielded").values.tolist() == [
        [1.0, 50.0, False], [50.0, 195.0, True]]


def test_probe_timeline_draws_a_lane_per_pod_and_a_legend_for_what_is_drawn(probed):
    fig = viz.probe_timeline(probed, ["unready", "slow"])
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["unready\n0 restarts",
                                                            "slow\n4 restarts"]
    labels = legend_labels(fig)
    assert labels == ["running, Ready (in the Service)",
                      "running, not Ready (out of the Service)", "liveness probe failed",
                      "readiness probe failed", "killed by the kubelet"]
    assert "startup probe failed" not in labels  # none was drawn
    assert ax.get_xlabel() == "seconds since the pod was created (simulated)"


def test_the_slow_start_figure_says_what_happened():
    killed = viz.slow_start_figure(45, 10, 3).axes[0].get_title()
    assert "killed at every start" in killed and "(3 − 1) × 10 = 20 s" in killed
    assert "never killed" in viz.slow_start_figure(15, 10, 3).axes[0].get_title()
    guarded = viz.slow_start_figure(45, 10, 3, startup_probe=True).axes[0].get_title()
    assert "startupProbe" in guarded and "never killed" in guarded
    assert "kills at the 1st failure" in viz.slow_start_figure(5, 5, 1).axes[0].get_title()


def test_the_slow_start_widget_redraws_when_a_control_moves(monkeypatch):
    drawn = []
    monkeypatch.setattr(viz, "slow_start_figure", lambda **setting: drawn.append(setting))
    widget = viz.slow_start_widget()
    controls = [c for box in widget.children[:2] for c in box.children]
    assert [(c.description, c.value) for c in controls] == [
        ("starts in (s)", 45), ("periodSeconds", 10), ("failureThreshold", 3),
        ("startupProbe", False)]
    controls[0].value = 60
    assert drawn[-1] == {"startup_seconds": 60, "period": 10, "failure_threshold": 3,
                         "startup_probe": False}


def test_termination_steps_and_timeline():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.apply(viz.app_pod("nginx"))
    cluster.apply(viz.app_pod("drains", sim={"shutdown-seconds": "5"}))
    cluster.apply(viz.app_pod("hooked", lifecycle={"preStop": {"sleep": {"seconds": 5}}}))
    cluster.apply(viz.app_pod("deaf", sim={"ignore-stop-signal": "true"}))
    cluster.apply(viz.app_pod("short", sim={"ignore-stop-signal": "true"},
                              spec={"terminationGracePeriodSeconds": 10}))
    cluster.run(10)
    names = ["nginx", "drains", "hooked", "deaf", "short"]
    for name in names:
        cluster.delete("pod", name)
    cluster.run(40)
    steps = viz.termination_steps(cluster.events(), names)
    assert steps.index.name == "pod" and list(steps.index) == names
    assert steps["exited at"].tolist() == [0.0, 5.0, 5.0, 30.0, 10.0]
    assert steps["exit code"].tolist() == [0, 0, 0, 137, 137]
    assert steps["stop signal at"].tolist() == [0.0, 0.0, 5.0, 0.0, 0.0]
    assert steps["preStop hook"].tolist() == ["none", "none", "5 s", "none", "none"]
    assert steps["removed from the API at"].tolist() == [0.0, 5.0, 5.0, 30.0, 10.0]
    fig = viz.termination_timeline(cluster.events(), names[:4])
    assert legend_labels(fig) == [
        "preStop hook runs", "stop signal sent; waiting for the process to exit",
        "exited by itself: code 0", "SIGKILL: exit code 137", "grace period ends: 30 s"]
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert notes == ["exit 0 after 0 s", "exit 0 after 5 s", "exit 0 after 5 s",
                     "exit 137 after 30 s"]


def test_start_steps_count_the_first_step_from_the_create():
    """The sandbox, the first step, took its time since the pod was created (not 0)."""
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.run(10)
    start = cluster.now
    cluster.apply(kl.viz.kubelet.app_pod("web", node="node-1"))
    cluster.run(10)
    steps = kl.viz.kubelet.start_steps(cluster.events(), "web").set_index("step")
    assert steps.loc["SandboxCreated", "took"] == round(steps.loc["SandboxCreated", "time"] -
                                                        start, 2) > 0
    assert steps["took"].sum() == pytest.approx(steps["time"].iloc[-1] - start, abs=0.02)


def test_lease_plot_has_a_legend_for_what_it_draws():
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(25)
    quiet = viz.lease_renewals_plot(cluster.events(), ["node-1", "node-2"])
    assert [t.get_text() for t in quiet.axes[0].get_legend().get_texts()] == ["Lease renewed"]
    cluster.stop_node("node-2")
    cluster.run(5)
    stopped = viz.lease_renewals_plot(cluster.events(), ["node-1", "node-2"])
    assert [t.get_text() for t in stopped.axes[0].get_legend().get_texts()] == [
        "Lease renewed", "kubelet stopped"]
