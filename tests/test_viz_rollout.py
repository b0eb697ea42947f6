"""kl.viz.rollout_timeline and friends: a rollout drawn from records, checked against the API."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.controllers.deployment import util  # noqa: E402
from kubelearn.viz import rollout  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def web(image="nginx:1.27", replicas=10, **spec):
    return rollout.deployment_manifest(image=image, replicas=replicas, ready_after=None, **spec)


def texts(fig):
    ax = fig.axes[0]
    found = [t.get_text() for t in ax.texts]
    found += [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []
    return "\n".join(found + [ax.get_title()])


def sample_replicasets(cluster, seconds, every=0.1):
    """Every 0.1 s (off the rollout's own instants), each ReplicaSet as the API shows it."""
    samples = []
    end = cluster.now + seconds

    def watch():
        yield cluster.sim.timeout(every / 2)
        while cluster.now < end:
            for rs in cluster.admin.list("replicasets", "default")["items"]:
                status = rs.get("status") or {}
                samples.append((cluster.now, rs["metadata"]["name"], rs["spec"]["replicas"],
                                status.get("replicas", 0), status.get("availableReplicas", 0),
                                util.revision(rs)))
            yield cluster.sim.timeout(every)

    cluster.sim.process(watch())
    cluster.run(seconds)
    return samples


@pytest.fixture(scope="module")
def updated():
    """10 replicas of nginx:1.27, then nginx:1.28, sampled from the API throughout."""
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply(web())
    cluster.run(60)
    cluster.apply(web("nginx:1.28"))
    samples = sample_replicasets(cluster, 60)
    return cluster, samples


def at(frame, time, rs):
    rows = frame[(frame["rs"] == rs) & (frame["time"] <= time)]
    return rows.iloc[-1] if len(rows) else None


def test_frame_agrees_with_the_api_at_every_sample(updated):
    cluster, samples = updated
    frame = rollout.rollout_frame(cluster, "web")
    assert list(frame.columns) == rollout.FRAME_COLUMNS
    assert len(samples) > 1000
    for time, name, desired, replicas, available, revision in samples:
        row = at(frame, time, name)
        assert row is not None, (time, name)
        assert (row["desired"], row["replicas"], row["available"], row["revision"]) == (
            desired, replicas, available, revision), (time, name)
    images = dict(zip(frame["rs"], frame["image"], strict=True))
    assert sorted(images.values()) == ["nginx:1.27", "nginx:1.28"]


def test_totals_keep_the_issue_check_and_use_both_limits(updated):
    cluster, samples = updated
    sums = rollout.totals(rollout.rollout_frame(cluster, "web"))
    during = sums[sums["time"] >= 60]
    assert during["available"].min() == 8 and during["pods"].max() == 13
    by_time: dict = {}
    for time, _, _, replicas, available, _ in samples:
        pods, up = by_time.get(time, (0, 0))
        by_time[time] = (pods + replicas, up + available)
    assert max(p for p, _ in by_time.values()) == 13
    assert min(a for _, a in by_time.values()) == 8


def test_rollouts_table(updated):
    cluster, _ = updated
    table = rollout.rollouts(cluster, "web")
    assert list(table["from_revision"]) == [0, 1] and list(table["to_revision"]) == [1, 2]
    second = table.iloc[1]
    assert second["start"] == 60 and second["outcome"] == "complete"
    assert 60 < second["end"] < 70 and second["duration"] == second["end"] - 60
    assert (second["strategy"], second["desired"], second["max_surge"],
            second["max_unavailable"], second["ceiling"], second["floor"]) == (
        "RollingUpdate", 10, 3, 2, 13, 8)
    assert (second["max_pods"], second["min_available"]) == (13, 8)
    assert second["new_replicaset"] == cluster.admin.get("deployments", "web")["status"][
        "conditions"][-1]["message"].split('"')[1]
    assert not second["reuses_replicaset"] and math.isnan(second["deadline_exceeded"])


def test_timeline_draws_the_ceiling_at_13_and_the_floor_at_8(updated):
    cluster, _ = updated
    fig = kl.viz.rollout_timeline(cluster, "web")
    ax = fig.axes[0]
    dashed = {line.get_label(): set(line.get_ydata()) for line in ax.get_lines()
              if line.get_linestyle() == "--"}
    assert dashed == {"maxSurge ceiling (replicas + maxSurge)": {13},
                      "minimum available (replicas − maxUnavailable)": {8}}
    found = texts(fig)
    for expected in ("10 + 3 = 13 pods at most", "10 − 2 = 8 available at least",
                     "rev 1 → 2 starts", "complete (+", "available pods",
                     "· rev 1 · nginx:1.27 (old)", "· rev 2 · nginx:1.28 (new)",
                     "at most 13 pods, never fewer than 8 available"):
        assert expected in found, expected
    start, end = ax.get_xlim()
    assert start < 60 < 65 < end < 80  # the window is the rollout, not the whole run


def test_no_rollout_is_a_message_not_a_traceback():
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.apply(web(replicas=2, paused=True))
    cluster.run(10)
    for name, words in (("nope", "never wrote its status"), ("web", "no ReplicaSet")):
        fig = kl.viz.rollout_timeline(cluster, name)
        found = texts(fig)
        assert f'No rollout to draw for deployment "{name}"' in found and words in found
        assert rollout.rollout_frame(cluster, name).empty
        assert list(rollout.rollout_frame(cluster, name).columns) == rollout.FRAME_COLUMNS
    assert rollout.rollouts(cluster, "nope").empty


def test_recreate_has_no_floor_and_shows_its_gap():
    cluster = rollout.simulate_rollout(4, strategy="Recreate", ready_after=None, seconds=30)
    second = rollout.rollouts(cluster, "web").iloc[1]
    assert (second["strategy"], second["ceiling"], second["floor"], second["min_available"],
            second["max_pods"]) == ("Recreate", 4, 0, 0, 4)
    fig = kl.viz.rollout_timeline(cluster, "web")
    found = texts(fig)
    assert "4 pods at most (Recreate: no surge)" in found and "no pod available" in found
    assert "with none" in found
    # Recreate has no maxSurge: the ceiling's legend says so, as the text on the line does
    dashed = {line.get_label(): set(line.get_ydata()) for line in fig.axes[0].get_lines()
              if line.get_linestyle() == "--"}
    assert dashed == {"ceiling = replicas (Recreate: no surge)": {4}}
    assert "maxSurge" not in found
    assert not any(line.get_label().startswith("minimum available")
                   for line in fig.axes[0].get_lines())


def test_stalled_rollout_deadline_and_undo():
    cluster = kl.Cluster(nodes=3, seed=0)
    cluster.apply(web(progressDeadlineSeconds=120))
    cluster.run(60)
    cluster.apply(web("nginx:1.28-does-not-exist", progressDeadlineSeconds=120))
    cluster.run(150)
    assert cluster.rollout_status("web") == 'error: deployment "web" exceeded its progress deadline'
    cluster.rollout_undo("web")
    cluster.run(30)
    table = rollout.rollouts(cluster, "web")
    assert list(table["outcome"]) == ["complete", "replaced by rev 3", "complete"]
    stalled, undo = table.iloc[1], table.iloc[2]
    assert 180 <= stalled["deadline_exceeded"] <= 182 and stalled["min_available"] == 8
    assert undo["reuses_replicaset"] and undo["new_replicaset"] == table.iloc[0]["new_replicaset"]
    assert (undo["from_revision"], undo["to_revision"]) == (2, 3)
    fig = kl.viz.rollout_timeline(cluster, "web")
    found = texts(fig)
    assert "ProgressDeadlineExceeded (+121s)" in found and "nothing rolls back" in found
    assert "rev 2 → 3 starts:\nback to" in found
    # the undo makes the old ReplicaSet new again: colours say the role, hatches which one
    assert "rev 1 → 3 · nginx:1.27" in found and "new ReplicaSet at the time" in found
    ax = fig.axes[0]
    layers = [c for c in ax.collections if c.get_hatch() is not None]
    new = matplotlib.colors.to_rgba(rollout.NEW_COLOUR)
    broken = next(h for h in ax.get_legend().legend_handles
                  if h.get_label().endswith("nginx:1.28-does-not-exist"))
    stalled_layer = [c for c in layers if c.get_hatch() == broken.get_hatch()
                     and tuple(c.get_facecolor()[0]) == new]
    assert stalled_layer  # while it was being rolled out, the broken ReplicaSet was new
    drawn = {(tuple(c.get_facecolor()[0]), c.get_hatch()) for c in layers}
    for key in ax.get_legend().legend_handles:  # every colour and hatch in the legend is drawn
        if key.get_label().endswith(" at the time") or "(current template)" in key.get_label():
            assert tuple(key.get_facecolor()) in {colour for colour, _ in drawn}
        elif getattr(key, "get_hatch", lambda: None)() is not None:
            assert key.get_hatch() in {hatch for _, hatch in drawn}


def test_replicaset_status_record():
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.apply(web(replicas=2))
    cluster.run(30)
    records = [r for r in cluster.sim.records if r.reason == "ReplicaSetStatus"]
    assert records and records[0].component == "replicaset-controller"
    last = util.parse_fields(records[-1].message)
    assert last == {"desired": 2, "replicas": 2, "readyReplicas": 2, "availableReplicas": 2,
                    "observedGeneration": 1, "images": "nginx:1.27"}


def test_widget_builds_and_draws():
    pytest.importorskip("ipywidgets")
    widget = rollout.rollout_widget(replicas=4, max_surge=1, max_unavailable=0)
    sliders = widget.children[0].children
    assert [s.description for s in sliders] == ["replicas", "maxSurge", "maxUnavailable"]
    sliders[1].value = 0  # 0 and 0: the API server's 422 is printed, nothing breaks


def test_a_deployment_only_created_draws_its_creation():
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.apply(web(replicas=2))
    cluster.run(30)
    table = rollout.rollouts(cluster, "web")
    assert list(table["outcome"]) == ["complete"] and table.iloc[0]["from_revision"] == 0
    found = texts(kl.viz.rollout_timeline(cluster, "web"))
    assert "created" in found and "2 + 1 = 3 pods at most" in found
    assert "2 − 0 = 2 available at least" in found


def test_window_chooses_the_rollouts_in_the_title(updated):
    cluster, _ = updated
    fig = kl.viz.rollout_timeline(cluster.events(), "web", since=0, until=20)
    assert fig.axes[0].get_xlim() == (0, 20)
    assert fig.axes[0].get_title().startswith("deployment/web: rev 1, RollingUpdate")


def test_one_colour_for_old_and_one_for_new_and_the_gap_behind_them():
    cluster = rollout.simulate_rollout(4, strategy="Recreate", ready_after="5s", seconds=30)
    fig = kl.viz.rollout_timeline(cluster, "web")
    ax = fig.axes[0]
    handles, labels = ax.get_legend_handles_labels()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == labels  # no key without an artist drawn
    colours = {label: matplotlib.colors.to_hex(h.get_facecolor()[0])
               for h, label in zip(handles, labels, strict=True) if label.startswith("web-")}
    assert sorted(colours.values()) == sorted([rollout.OLD_COLOUR, rollout.NEW_COLOUR])
    old = next(label for label in colours if label.endswith("nginx:1.27 (old)"))
    assert colours[old] == rollout.OLD_COLOUR
    gap = next(p for p in ax.patches if p.get_label() == "no pod available")
    pods = [c for c in ax.collections if c.get_label().startswith("web-")]
    assert all(c.get_alpha() in (None, 1) for c in pods)  # opaque: the gap cannot tint them
    assert gap.get_zorder() < min(c.get_zorder() for c in pods)
    assert ax.get_xlabel() == "simulated seconds" and ax.get_ylabel() == "pods"


def test_the_lessons_deployment_carries_the_image_and_the_change_cause():
    deployment, = kl.api.load(rollout.web_deployment("nginx:1.28", "nginx 1.28"))
    assert deployment["metadata"]["annotations"] == {"kubernetes.io/change-cause": "nginx 1.28"}
    spec = deployment["spec"]
    assert spec["replicas"] == 10 and spec["progressDeadlineSeconds"] == 120
    container, = spec["template"]["spec"]["containers"]
    assert container["image"] == "nginx:1.28"
    assert container["readinessProbe"] == {"httpGet": {"path": "/", "port": 80},
                                           "periodSeconds": 1}
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(rollout.web_deployment())
    cluster.run(30)
    assert cluster.rollout_status("web") == 'deployment "web" successfully rolled out'
    assert list(cluster.rollout_history("web")["CHANGE-CAUSE"]) == ["first version"]
