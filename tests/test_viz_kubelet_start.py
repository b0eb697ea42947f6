"""kl.viz.kubelet's start-up timeline: every pod measured from its own creation (lesson 05)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.viz import kubelet as viz  # noqa: E402


def _records(pod: str, created: float, pulls: bool, ready: bool = True) -> list[tuple]:
    """The records of one nginx pod's start, as the kubelet writes them, from ``created``."""
    obj, who = f"pod/default/{pod}", "kubelet/node-1"
    rows = [(created, who, "PodStatusUpdated", obj, "ContainerCreating 0/1"),
            (created + 0.5, who, "SandboxCreated", obj, "pod sandbox created")]
    pulled = created + 0.5
    if pulls:
        rows.append((created + 0.5, who, "Pulling", obj, 'Pulling image "nginx:1.27"'))
        pulled += 2.97
    rows += [(pulled, who, "Pulled", obj, "pulled"),
             (pulled + 0.25, who, "Created", obj, "Created container: web"),
             (pulled + 0.5, who, "Started", obj, "Started container web")]
    if ready:
        rows.append((pulled + 0.5, who, "PodStatusUpdated", obj, "Running 1/1"))
    return rows


def _events(*pods: list[tuple]) -> pd.DataFrame:
    rows = sorted(row for pod in pods for row in pod)
    return pd.DataFrame(rows, columns=["time", "component", "reason", "object", "message"])


def test_stretches_start_at_the_pods_creation() -> None:
    events = _events(_records("web-a", 125.0, pulls=True), _records("web-b", 145.0, pulls=False))
    assert viz.created_at(events, "web-a") == 125.0
    assert viz.created_at(events, "web-b") == 145.0
    assert viz.created_at(events, "nobody") is None
    late = viz.start_stretches(events, "web-b")
    assert late["from"].iloc[0] == 0.0
    assert list(late["step"]) == ["SandboxCreated", "Pulled", "Created", "Started", "Ready"]
    assert list(late["to"]) == [0.5, 0.5, 0.75, 1.0, 1.0]  # the cached image: no pull time
    pulled = viz.start_stretches(events, "web-a").set_index("step")
    assert pulled.loc["Pulled", "to"] - pulled.loc["Pulled", "from"] == pytest.approx(2.97)
    assert pulled.loc["Ready", "to"] == pytest.approx(3.97)


def _bars(fig) -> list[tuple[float, float, float]]:
    """(row, left, width) of every bar on the figure's axes."""
    ax = fig.axes[0]
    return [(round(p.get_y() + p.get_height() / 2), round(p.get_x(), 2), round(p.get_width(), 2))
            for p in ax.patches]


def test_timeline_aligns_pods_created_20_seconds_apart() -> None:
    events = _events(_records("web-a", 125.0, pulls=True), _records("web-b", 145.0, pulls=False),
                     _records("web-c", 145.0, pulls=True))
    fig = viz.start_timeline(events, ["web-a", "web-b", "web-c"])
    bars = _bars(fig)
    for row in range(3):  # each row's first bar starts at 0, its creation
        assert min(left for r, left, _ in bars if r == row) == 0.0
    assert max(left + width for _, left, width in bars) < 4.0  # no 20 s gap on the axis
    assert fig.axes[0].get_xlim()[1] < 6.0
    assert (0, 0.5, 2.97) in bars and not any(r == 1 and w > 1 for r, _, w in bars)
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert ticks == ["web-a\ncreated at 125 s", "web-b\ncreated at 145 s",
                     "web-c\ncreated at 145 s"]
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "Ready after 3.97 s" in texts
    assert "Ready after 1.00 s\n(image already on the node)" in texts
    assert "created" in fig.axes[0].get_xlabel() and "seconds" in fig.axes[0].get_xlabel()
    plt.close(fig)


def test_legend_lists_only_stretches_drawn() -> None:
    cached = _events(_records("web-b", 10.0, pulls=False))
    fig = viz.start_timeline(cached, ["web-b"])
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["pod sandbox (pause container, IP)", "creating the container",
                      "starting the container"]  # no pull, no zero-length stretches
    plt.close(fig)


def test_a_pod_that_never_gets_ready_says_how_far_it_got() -> None:
    events = _events(_records("web-x", 3.0, pulls=True, ready=False))
    fig = viz.start_timeline(events, ["web-x", "missing"])
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "not Ready: last step Started at 3.97 s" in texts
    assert "no records" in texts
    plt.close(fig)


def test_timeline_from_a_real_cluster() -> None:
    """Lesson 05's story: the second pod on a node reuses the image and is ready sooner."""
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(1)
    for name, node, wait in (("web-a", "node-1", 20), ("web-b", "node-1", 20)):
        cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"nodeName": node,
                                "containers": [{"name": "web", "image": "nginx:1.27"}]}})
        cluster.run(wait)
    events = cluster.events()
    first = viz.start_stretches(events, "web-a").set_index("step")
    second = viz.start_stretches(events, "web-b").set_index("step")
    assert viz.created_at(events, "web-b") - viz.created_at(events, "web-a") == 20.0
    assert first.loc["Ready", "to"] > second.loc["Ready", "to"] > 0
    assert "Pulling" in first.index and "Pulling" not in second.index
    plt.close(viz.start_timeline(events, ["web-a", "web-b"]))


def test_a_pod_that_waits_for_the_scheduler_shows_the_wait() -> None:
    """Scheduling time is its own stretch, not folded into the sandbox's 0.5 s."""
    obj = "pod/default/late"
    rows = [(50.0, "kube-scheduler", "Queued", obj, "activeQ"),
            (50.0, "kube-scheduler", "FailedScheduling", obj, "0/1 nodes are available"),
            (58.0, "kube-scheduler", "Scheduled", obj, "Successfully assigned default/late")]
    rows += [row for row in _records("late", 58.0, pulls=False) if row[2] != "PodStatusUpdated"
             or row[4] == "Running 1/1"]
    events = _events(rows)
    stretches = viz.start_stretches(events, "late").set_index("step")
    assert stretches.loc["Scheduled", "to"] == 8.0
    assert stretches.loc["SandboxCreated", "from"] == 8.0
    assert stretches.loc["SandboxCreated", "to"] == 8.5
    fig = viz.start_timeline(events, ["late"])
    assert "waiting for the scheduler" in [t.get_text() for t in fig.legends[0].get_texts()]
    plt.close(fig)


def test_a_scheduled_pod_from_a_real_cluster_starts_at_its_creation() -> None:
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.run(1)
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                   "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}})
    cluster.run(20)
    stretches = viz.start_stretches(cluster.events(), "web")
    assert stretches["step"].iloc[0] == "Scheduled" and stretches["from"].iloc[0] == 0.0
    assert stretches["step"].iloc[-1] == "Ready"
