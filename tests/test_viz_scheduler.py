"""kubelearn.viz.scheduler helpers agree with the scheduler they describe."""

from __future__ import annotations

import kubelearn as kl
from kubelearn.viz.scheduler import balanced_allocation_versions

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "default"},
       "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": {
           "requests": {"cpu": "1", "memory": "1Gi"}}}]}}


def test_the_v132_column_is_what_explain_scores():
    cluster = kl.Cluster(seed=0, nodes=0)
    cluster.add_node("cpu-heavy", cpu="8", memory="4Gi")
    cluster.add_node("even", cpu="4", memory="8Gi")
    cluster.run(15)
    table = balanced_allocation_versions(cluster, POD)
    explained = cluster.scheduler.explain(POD)["NodeResourcesBalancedAllocation"]
    assert table["score v1.32 (balance with)"].to_dict() == explained.to_dict()
    # cpu-heavy: 1/8 cpu, 1/4 memory -> std 0.0625 -> 93; empty before -> 100; v1.36 71
    assert table.loc["cpu-heavy"].tolist() == [0.125, 0.25, 100, 93, 93, 71]


def _three_nodes() -> kl.Cluster:
    cluster = kl.Cluster(seed=0)
    cluster.add_node("small", cpu="2", memory="4Gi")
    cluster.add_node("medium", cpu="4", memory="8Gi")
    cluster.add_node("large", cpu="8", memory="16Gi")
    cluster.run(2)
    return cluster


BIG = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "big", "namespace": "default"},
       "spec": {"containers": [{"name": "c", "image": "nginx:1.27", "resources": {
           "requests": {"cpu": "500m", "memory": "6Gi"}}}]}}


def _drawn(ax) -> list[str]:
    labels = [c.get_label() for c in ax.containers] + [line.get_label() for line in ax.lines]
    return [label for label in labels if not label.startswith("_")]


def test_score_bars_leave_out_what_is_equal_everywhere_and_never_score_a_filtered_node():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kubelearn.viz.scheduler import score_bars

    cluster = _three_nodes()
    table = cluster.scheduler.explain(BIG)
    weights = cluster.scheduler.profiles["default-scheduler"].score_weights
    fig = score_bars(table, weights, "default-scheduler")
    ax = fig.axes[0]
    assert ax.get_title() == "default-scheduler: large wins with 461 points"
    assert ax.get_xlabel().startswith("points for the node")
    assert ax.get_ylabel() == "score plugin × weight"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == _drawn(ax) == ["medium: total 424", "large: total 461 ★ chosen"]
    assert [t.get_text() for t in ax.get_yticklabels()] == [
        "NodeResourcesFit ×1", "NodeResourcesBalancedAllocation ×1"]
    widths = {c.get_label(): [b.get_width() for b in c] for c in ax.containers}
    assert widths == {"medium: total 424": [56, 68], "large: total 461 ★ chosen": [77, 84]}
    note = fig.get_supxlabel()
    assert "TaintToleration ×3 = 300" in note and "ImageLocality ×1 = 0" in note
    assert "small: filtered out (Insufficient memory), not scored" in note
    plt.close(fig)


def test_scheduling_timeline_is_tall_enough_and_its_legend_sits_outside_the_plot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kubelearn.viz.scheduler import scheduling_timeline

    cluster = _three_nodes()
    cluster.admin.create(BIG)
    cluster.run(20)
    fig = scheduling_timeline(cluster.events(), ["big"])
    ax = fig.axes[0]
    assert fig.get_size_inches()[1] >= 2.4
    assert ax.get_legend() is None and len(fig.legends) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    # big was bound at once: no waiting bar, so no waiting entry
    assert legend == _drawn(ax) == ["scheduled: its kubelet pulls the image and starts it",
                                    "container started"]
    assert ax.get_xlabel() == "simulated seconds" and ax.get_ylabel() == "pod"
    assert ax.get_title().startswith("How long each pod waited")
    assert [t.get_text() for t in ax.texts] == ["0 s for a node, 3.97 s to start"]
    plt.close(fig)


def test_placement_plot_is_titled_and_labelled():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kubelearn.viz.scheduler import placement_plot

    fig = placement_plot({"LeastAllocated": _three_nodes()})
    heatmap = fig.axes[0]
    assert fig.get_suptitle().startswith("How much of each node the pods request")
    assert heatmap.get_title() == "LeastAllocated"
    assert (heatmap.get_xlabel(), heatmap.get_ylabel()) == ("resource", "node (pods bound to it)")
    assert fig.axes[1].get_ylabel() == "requested / allocatable"  # the colour bar
    plt.close(fig)
