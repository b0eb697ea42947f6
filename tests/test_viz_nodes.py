"""kl.viz.node_failure_timeline and friends: built from records, labelled for a learner."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

import kubelearn as kl  # noqa: E402
from kubelearn.viz import nodes  # noqa: E402

UNREACHABLE = "node.kubernetes.io/unreachable"


def web(replicas=6, name="web", tolerations=None):
    spec = {"containers": [{"name": "web", "image": "nginx:1.27"}]}
    if tolerations:
        spec["tolerations"] = tolerations
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def dead(*manifests, back_at=None, seconds=420):
    cluster = kl.Cluster(seed=0, nodes=3)
    cluster.apply(list(manifests) or [web()])
    cluster.run(60)
    cluster.stop_node("node-1")
    if back_at is not None:
        cluster.run(back_at - 60)
        cluster.start_node("node-1")
    cluster.run(seconds)
    return cluster


@pytest.fixture(scope="module")
def cluster():
    return dead()


def texts(fig):
    ax = fig.axes[0]
    found = [t.get_text() for t in ax.texts]
    found += [t.get_text() for t in ax.get_yticklabels()]
    found += [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else []
    found += [t.get_text() for legend in fig.legends for t in legend.get_texts()]
    return found + [ax.get_title()]


def drawn_labels(ax):
    """The labels of what was drawn on ``ax`` (a legend may show each once)."""
    artists = list(ax.lines) + list(ax.collections) + list(ax.patches) + list(ax.containers)
    return {a.get_label() for a in artists if not a.get_label().startswith("_")}


def legend_labels(fig):
    legends = fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


def test_the_timeline_shows_every_step_with_its_duration(cluster):
    fig = kl.viz.node_failure_timeline(cluster, "node-1")
    found = texts(fig)
    joined = "\n".join(found)
    for expected in ("50s grace", "Ready=Unknown (+50s)", "300s toleration", "NoSchedule",
                     "unreachable:NoExecute", "evicted (+355s) → Terminating",
                     "lease renewal (every 10s)", "controller check (every 5s)",
                     "kubelet stops"):
        assert expected in joined, expected
    victims = sorted(p["metadata"]["name"] for p in cluster.admin.list("pods")["items"]
                     if p["metadata"].get("deletionTimestamp"))
    assert len(victims) == 2
    for name in victims:
        assert f"pod {name}" in found
    new_lanes = [t for t in found if t.startswith("new pod ")]
    assert len(new_lanes) == 2
    assert joined.count("→ node-2") + joined.count("→ node-3") == 2
    assert "→ node-1" not in joined
    assert joined.count("Running (+") == 2
    assert fig.axes[0].get_xlabel() == "simulated seconds"
    plt.close(fig)


def test_the_timeline_reads_records_only(cluster):
    # The same figure from the events DataFrame alone.
    fig = kl.viz.node_failure_timeline(cluster.events(), "node-1")
    assert "300s toleration" in texts(fig)
    plt.close(fig)


def test_failure_steps_give_the_durations(cluster):
    steps = nodes.failure_steps(cluster.events(), "node-1")
    after = dict(zip(steps["step"], steps["after last heartbeat"], strict=True))
    assert after["Ready=Unknown (grace period 50s)"] == 50
    assert after["tainted node.kubernetes.io/unreachable:NoExecute"] == 55
    evicted = [v for k, v in after.items() if k.endswith("evicted (TaintManagerEviction)")]
    assert evicted == [355, 355]
    running = [v for k, v in after.items() if k.endswith(" Running")]
    assert len(running) == 2 and all(355 <= v <= 360 for v in running)


def test_a_node_that_never_died_gets_an_empty_timeline_that_says_so(cluster):
    fig = kl.viz.node_failure_timeline(cluster, "node-2")
    title = fig.axes[0].get_title()
    assert "node-2 never went Ready=Unknown" in title and "nothing was tainted" in title
    plt.close(fig)
    steps = nodes.failure_steps(cluster.events(), "node-2")
    assert steps.empty


def test_a_short_toleration_shows_its_own_countdown():
    short = [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
              "tolerationSeconds": 30}]
    cluster = dead(web(3), web(3, "quick", short))
    found = "\n".join(texts(kl.viz.node_failure_timeline(cluster, "node-1")))
    assert "30s toleration" in found and "300s toleration" in found
    assert "30s / 300s toleration" in found  # the title names both
    plt.close("all")


def test_a_node_back_in_time_keeps_its_pods_on_the_timeline():
    cluster = dead(back_at=200, seconds=300)
    found = "\n".join(texts(kl.viz.node_failure_timeline(cluster, "node-1")))
    assert "kept: node back" in found and "taints removed" in found and "kubelet back" in found
    assert "comes back in time: its pods stay" in found and "node back in time: kept" in found
    assert "evicted" not in found.replace("evicted (TaintManagerEviction)", "")
    assert not any(t.startswith("new pod") for t in found.splitlines())
    plt.close("all")


def test_evictions_over_time_draws_one_panel_per_run(cluster):
    fig = nodes.evictions_over_time({"one node": cluster.events(), "again": cluster.events()},
                                    failed_at=60, horizon=400)
    assert [ax.get_title() for ax in fig.axes] == ["one node", "again"]  # none hides another
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["1 node\nFullDisruption\n(taint rate 0.1/s)"]
    assert list(ax.get_lines()[0].get_ydata()) == [0, 1, 1]
    assert ax.get_ylabel() == "nodes tainted NoExecute"
    assert fig.get_supxlabel() == "seconds after the nodes stopped"
    assert "tainted NoExecute" in fig.get_suptitle()  # it says what it counts: taints
    assert legend_labels(fig) == []  # one staircase a panel: the axis label says what it is
    plt.close(fig)


def test_the_timeline_legend_lists_only_what_was_drawn(cluster):
    fig = kl.viz.node_failure_timeline(cluster, "node-1")
    ax = fig.axes[0]
    legend = legend_labels(fig)
    assert len(legend) == len(set(legend)) and set(legend) == drawn_labels(ax)
    assert "taints removed" not in legend and "kubelet back" not in legend  # not in this story
    assert "grace period" in legend and "evicted (TaintManagerEviction)" in legend
    assert fig.get_size_inches()[0] <= 9  # notebook width
    plt.close(fig)
    back = dead(back_at=200, seconds=300)
    fig = kl.viz.node_failure_timeline(back, "node-1")
    legend = legend_labels(fig)
    assert set(legend) == drawn_labels(fig.axes[0])
    assert "taints removed" in legend and "evicted (TaintManagerEviction)" not in legend
    plt.close(fig)


def test_the_widget_has_a_slider_for_each_knob_and_draws():
    widget = nodes.failure_widget(grace_period=40, toleration_seconds=30)
    sliders = widget.children[0].children
    assert [(s.description, s.value) for s in sliders] == [("grace (s)", 40),
                                                          ("toleration (s)", 30)]
    plt.close("all")


def test_replicaset_timeline_marks_scale_down_in_the_controllers_order():
    cluster = kl.Cluster(seed=1, nodes=3)
    cluster.apply(web(4))
    cluster.run(30)
    cluster.admin.patch("replicasets", "web", {"spec": {"replicas": 2}}, "default",
                        patch_type="merge")
    cluster.run(10)
    deleted = [r.message.removeprefix("Deleted pod: ") for r in cluster.sim.records
               if r.reason == "SuccessfulDelete"]
    fig = nodes.replicaset_timeline(cluster, "web")
    ax = fig.axes[0]
    rows = [t.get_text() for t in ax.get_yticklabels()]
    marks = {t.get_text(): rows[round(t.xy[1])] for t in ax.texts}
    assert marks == {"scale-down #1": deleted[0], "scale-down #2": deleted[1]}
    assert ax.get_title() == "ReplicaSet web: 4 pods created; 2 removed by scale-down (#1 first)"
    legend = legend_labels(fig)
    assert set(legend) == drawn_labels(ax) and "deleted by someone else" not in legend
    plt.close(fig)


def check_ticks(ax):
    """The x positions of the node lifecycle controller's check ticks on the timeline."""
    for collection in ax.collections:
        if collection.get_label() == "controller check (every 5s)":
            return sorted(path.vertices[0][0] for path in collection.get_paths())
    return []


def test_the_lessons_run_has_the_checks_over_the_whole_axis():
    fig = kl.viz.node_failure_timeline(nodes.simulate_node_failure(), "node-1")
    ax = fig.axes[0]
    x0, x1 = ax.get_xlim()
    ticks = check_ticks(ax)
    assert ticks[0] - x0 < 5 and x1 - ticks[-1] < 5  # one 5 s period at most at either end
    assert "not simulated (the run ended)" not in legend_labels(fig)
    plt.close(fig)


def test_a_run_shorter_than_the_axis_says_where_it_ended(cluster):
    fig = kl.viz.node_failure_timeline(cluster, "node-1")  # 480 s: the axis wants ~533 s
    ax = fig.axes[0]
    ended = float(cluster.events()["time"].max())
    assert ax.get_xlim()[1] > ended
    assert "not simulated (the run ended)" in legend_labels(fig)
    assert max(check_ticks(ax)) <= ended
    running = [c for c in ax.collections if c.get_label() == "pod Running (as the API shows it)"]
    assert max(seg[:, 0].max() for c in running for seg in c.get_segments()) <= ended
    plt.close(fig)


def test_the_replicaset_manifest_writes_the_toleration_only_when_asked():
    plain, = kl.api.load(nodes.replicaset_manifest("web", replicas=6))
    assert plain["spec"]["replicas"] == 6 and "tolerations" not in plain["spec"]["template"]["spec"]
    assert plain["spec"]["selector"]["matchLabels"] == {"app": "web"}
    fast, = kl.api.load(nodes.replicaset_manifest("fast", replicas=3, toleration_seconds=30))
    assert fast["spec"]["template"]["spec"]["tolerations"] == [
        {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}]
    assert fast["spec"]["template"]["metadata"]["labels"] == {"app": "fast"}


def test_replicaset_timeline_title_counts_and_hides_instant_terminations():
    cluster = kl.Cluster(seed=1, nodes=3)
    cluster.apply(web(3))
    cluster.run(30)
    cluster.delete("pod", cluster.get("pods").NAME.iloc[0])
    cluster.run(20)
    fig = nodes.replicaset_timeline(cluster, "web")
    assert fig.axes[0].get_title() == "ReplicaSet web: 4 pods created; 1 deleted by someone else"
    assert "terminating" not in legend_labels(fig)  # nginx stops at once: nothing to see
    assert set(legend_labels(fig)) == drawn_labels(fig.axes[0])
    plt.close(fig)


def test_zone_states_name_the_last_change_and_master_disruption_mode():
    runs = {"one": nodes.zone_failure(1, seconds=30),
            "all": nodes.zone_failure(60, zone_b_fails=True, seconds=60)}
    table = nodes.zone_states(runs).set_index("run")
    assert table.loc["one", "zone-a's last state change"].endswith("Normal (taint rate 0.1/s)")
    assert "FullDisruption" in table.loc["all", "zone-a's last state change"]
    assert list(table["master disruption mode"]) == [False, True]


def test_ranking_table_keeps_the_controllers_order():
    from kubelearn.controllers.replicaset import deletion_order

    cluster = kl.Cluster(seed=1, nodes=3)
    cluster.apply(web(4))
    cluster.run(30)
    pods = cluster.admin.list("pods", "default")["items"]
    ranked = deletion_order(pods, pods, cluster.sim.epoch.timestamp() + cluster.now)
    table = nodes.ranking_table(ranked, pods)
    assert list(table["pod (first to go at the top)"]) == [p["metadata"]["name"] for p in ranked]
    assert table["pods on that node"].sum() == sum(
        sum(q["spec"]["nodeName"] == p["spec"]["nodeName"] for q in pods) for p in pods)
    assert set(table["deletion cost"]) == {"0"}
    ready = {p["metadata"]["name"]: c["lastTransitionTime"] for p in pods
             for c in p["status"]["conditions"] if c["type"] == "Ready"}
    assert dict(zip(table["pod (first to go at the top)"], table["ready since"],
                    strict=True)) == ready and all(ready.values())


def test_replicaset_timeline_runs_to_the_clusters_clock():
    """The bars of pods still Running end at the cluster's clock, not at the last record."""
    cluster = kl.Cluster(seed=1, nodes=3)
    cluster.apply(web(2))
    cluster.run(60)
    last = float(cluster.events()["time"].max())
    assert last < cluster.now
    fig = nodes.replicaset_timeline(cluster, "web")
    ends = [seg[:, 0].max() for c in fig.axes[0].collections for seg in c.get_segments()
            if c.get_label() == "Running" or c.get_label().startswith("_")]
    assert max(ends) == cluster.now
    plt.close(fig)
