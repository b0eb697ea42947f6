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


def _shop() -> tuple[kl.Cluster, dict]:
    """Three 2-CPU nodes, a 1-CPU pod on each (using 50m, 900m, 20m), and a 2-CPU pod."""
    from kubelearn.workload import pod_manifest

    cluster = kl.Cluster(seed=0)
    for node in ("node-a", "node-b", "node-c"):
        cluster.add_node(node, cpu="2", memory="4Gi")
    cluster.run(2)
    for name, usage in (("api", "50m"), ("worker", "900m"), ("cache", "20m")):
        cluster.admin.create(pod_manifest(name, {"cpu": "1"}, limits={"cpu": "4"},
                                          annotations={"sim.kubelearn.io/app.cpu-usage": usage}))
        cluster.run(1)
    cluster.run(30)
    train = pod_manifest("train", {"cpu": "2"})
    cluster.admin.create(train)
    cluster.run(5)
    return cluster, train


def test_node_cpu_counts_requests_as_the_scheduler_does_and_usage_of_running_containers():
    from kubelearn.viz.scheduler import node_cpu

    cluster, _ = _shop()
    table = node_cpu(cluster)
    assert table["allocatable"].tolist() == [2.0, 2.0, 2.0]
    assert table["requested"].tolist() == [1.0, 1.0, 1.0]  # train is pending: on no node
    assert table["limits"].tolist() == [4.0, 4.0, 4.0]
    assert sorted(table["used"]) == [0.02, 0.05, 0.9]
    placed = {p["spec"].get("nodeName"): p["metadata"]["name"]
              for p in cluster.admin.list("pods")["items"]}
    assert table.at[next(n for n, p in placed.items() if p == "worker"), "used"] == 0.9


def test_cpu_bars_draw_the_incoming_pod_red_where_it_would_not_fit():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kubelearn.viz.scheduler import cpu_bars, failed_scheduling

    cluster, train = _shop()
    assert failed_scheduling(cluster.events(), "train") == (
        "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: "
        "3 No preemption victims found for incoming pod.")
    fig = cpu_bars(cluster, train)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "CPU (cores)" and ax.get_xlabel() == "node (pods on it)"
    assert ax.get_title().startswith("Per node: the scheduler adds up requests")
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["allocatable (and the black line)", "requested: what the scheduler adds up",
                      "used: what the containers run",
                      "train: its 2 CPU would go past allocatable"]  # no green: fits nowhere
    hatched = ax.containers[-1]
    assert [b.get_y() for b in hatched] == [1.0, 1.0, 1.0]  # on top of each node's requests
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        "node-a\n(1 pod)", "node-b\n(1 pod)", "node-c\n(1 pod)"]
    plt.close(fig)


def test_failed_scheduling_says_plainly_when_there_is_none():
    import pandas as pd
    import pytest

    from kubelearn.viz.scheduler import failed_scheduling

    with pytest.raises(LookupError, match="pod default/web has no FailedScheduling event"):
        failed_scheduling(pd.DataFrame({"object": [], "reason": [], "message": []}), "web")


def test_filter_verdicts_count_a_node_under_its_first_failing_filter():
    from kubelearn.viz.scheduler import failed_scheduling, filter_verdicts
    from kubelearn.workload import pod_manifest

    cluster = kl.Cluster(seed=0)
    for node in ("node-a", "node-b", "node-c", "node-d"):
        cluster.add_node(node, cpu="2", memory="4Gi",
                         labels={"disktype": "ssd"} if node != "node-d" else {})
    cluster.run(2)
    for node in ("node-a", "node-b"):
        cluster.admin.create(pod_manifest(f"batch-{node}", {"cpu": "1500m"}, nodeName=node))
    cluster.run(10)
    cluster.admin.patch("nodes", "node-b", {"spec": {"taints": [
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})
    db = pod_manifest("db", {"cpu": "1"}, nodeSelector={"disktype": "ssd"})
    table = filter_verdicts(cluster.scheduler.explain(db))
    assert list(table.columns) == ["TaintToleration", "NodeAffinity", "NodeResourcesFit",
                                   "counted under"]
    assert table.loc["node-b"].tolist() == [  # short of CPU too, but the taint comes first
        "✗", "✓", "✗", "node(s) had untolerated taint {dedicated: gpu}"]
    assert table.loc["node-a", "counted under"] == "Insufficient cpu"
    assert table.loc["node-c", "counted under"] == "fits"
    assert table.loc["node-d", "counted under"] == (
        "node(s) didn't match Pod's node affinity/selector")
    cluster.admin.patch("nodes", "node-c", {"spec": {"taints": [
        {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]}})
    cluster.admin.create(db)
    cluster.run(5)
    # each node once, under its first rejection; the reasons sorted as strings, as Go does
    assert failed_scheduling(cluster.events(), "db").startswith(
        "0/4 nodes are available: 1 Insufficient cpu, 1 node(s) didn't match Pod's node "
        "affinity/selector, 2 node(s) had untolerated taint {dedicated: gpu}. preemption: ")


def test_request_defaults_score_as_the_scheduler_and_count_unset_requests_only_for_scoring():
    from kubelearn.viz.scheduler import request_defaults
    from kubelearn.workload import pod_manifest

    cluster = kl.Cluster(seed=0)
    for node in ("node-a", "node-b"):
        cluster.add_node(node, cpu="2", memory="4Gi")
    cluster.run(2)
    for i in range(10):
        cluster.admin.create(pod_manifest(f"sidecar-{i}", nodeName="node-a"))
    cluster.admin.create(pod_manifest("db", {"cpu": "300m", "memory": "600Mi"},
                                      nodeName="node-b"))
    cluster.run(30)
    web = pod_manifest("web")
    table = request_defaults(cluster, web)
    explained = cluster.scheduler.explain(web)
    scores = table["scores for web"]
    assert list(table.index) == ["node-a (10 pods)", "node-b (1 pod)"]
    assert scores["NodeResourcesFit"].tolist() == explained["NodeResourcesFit"].tolist()
    assert table["the Fit filter counts"].to_numpy().tolist() == [["0m", "0Mi"],
                                                                  ["300m", "600Mi"]]
    assert table["the Fit score counts"].to_numpy().tolist() == [["1000m", "2000Mi"],
                                                           ["300m", "600Mi"]]
    # with web's own 100m / 200Mi: node-a (2000-1100)/2000 -> 45, memory 46 -> 45
    assert scores["NodeResourcesFit"].tolist() == [45, 80]
    assert scores["NodeResourcesFit, unset as 0"].tolist() == [100, 85]
    assert scores["chosen"].tolist() == [False, True]


def test_placements_by_seed_list_pods_per_node_and_compare_the_groups():
    from kubelearn.viz.scheduler import placements_by_seed
    from kubelearn.workload import mixed_pods

    def fill(seed: int) -> kl.Cluster:
        cluster = kl.Cluster(seed=seed)
        for node in ("node-a", "node-b", "node-c", "node-d"):
            cluster.add_node(node, cpu="4", memory="8Gi")
        cluster.run(2)
        for pod in mixed_pods(12):
            cluster.admin.create(pod)
            cluster.run(1)
        return cluster

    table = placements_by_seed({seed: fill(seed) for seed in (0, 3)})
    assert list(table.columns) == ["node-a", "node-b", "node-c", "node-d",
                                   "pods per node, sorted", "groups as seed 0"]
    assert table.loc[0, "node-c"] == "0 4 7 11"
    assert table.loc[0, "pods per node, sorted"] == table.loc[3, "pods per node, sorted"] \
        == [2, 3, 3, 4]
    assert table["groups as seed 0"].tolist() == ["same", "different"]


def test_pods_per_node_counts_every_node_and_the_plot_says_what_most_got():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from kubelearn import workload
    from kubelearn.viz.scheduler import pods_per_node, pods_per_node_plot

    cluster = kl.Cluster(seed=0, audit_limit=100)
    workload.register_nodes(cluster, 10, cpu="4", memory="8Gi")
    cluster.run(1)
    for i, node in enumerate(["node-0000"] * 3 + ["node-0001"] * 2 + ["node-0002"]):
        cluster.admin.create(workload.pod_manifest(f"p-{i}", {"cpu": "100m"}, nodeName=node))
    cluster.run(1)
    spread = pods_per_node(cluster)
    assert spread.to_dict() == {0: 7, 1: 1, 2: 1, 3: 1}
    fig = pods_per_node_plot(cluster)
    ax = fig.axes[0]
    assert ax.get_title() == "6 pods over 10 nodes: most nodes got 0 pods, the others 1, 2 or 3"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("pods on the node", "nodes")
    plt.close(fig)
