"""scheduler.explain(pod): one row per node, every filter's verdict, every score, the pick."""

from scheduler_testing import node_of, pod_manifest, register_node

import kubelearn as kl
from kubelearn.scheduler import run_filters, run_scores
from kubelearn.scheduler.explain import as_pod

GI4 = {"cpu": "2", "memory": "4Gi", "pods": "110"}
FILTERS = ["NodeUnschedulable", "NodeName", "TaintToleration", "NodeAffinity", "NodePorts",
           "NodeResourcesFit", "PodTopologySpread", "InterPodAffinity"]
SCORES = ["TaintToleration", "NodeAffinity", "NodeResourcesFit", "PodTopologySpread",
          "InterPodAffinity", "NodeResourcesBalancedAllocation", "ImageLocality"]


def cluster(seed=0):
    c = kl.Cluster(seed=seed)
    register_node(c, "node-1", GI4, taints=[
        {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}])
    register_node(c, "node-2", GI4, images=[(["nginx:1.27"], 200 * 2**20)])
    register_node(c, "node-3", {"cpu": "4", "memory": "8Gi", "pods": "110"})
    c.apply(pod_manifest("busy", {"cpu": "1", "memory": "2Gi"}, nodeName="node-3"))
    c.run(1)
    return c


def test_columns_one_row_per_node():
    c = cluster()
    table = c.scheduler.explain(pod_manifest("web", {"memory": "1Gi"}))
    assert list(table.index) == ["node-1", "node-2", "node-3"]
    assert table.index.name == "node"
    assert list(table.columns) == ([f"filter:{f}" for f in FILTERS] + SCORES
                                   + ["total", "feasible", "chosen"])


def test_a_6gb_pod_shows_why_every_node_fails():
    c = cluster()
    table = c.scheduler.explain("""
apiVersion: v1
kind: Pod
metadata: {name: big}
spec:
  containers: [{name: app, image: nginx:1.27, resources: {requests: {memory: 6Gi}}}]
""")
    assert table["filter:TaintToleration"].tolist() == [
        "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }", "passed",
        "passed"]
    assert table["filter:NodeResourcesFit"].tolist() == [
        "Insufficient memory", "Insufficient memory", "passed"]
    assert table["filter:NodePorts"].tolist() == ["skipped"] * 3  # no hostPort asked for
    assert table.loc["node-3", "feasible"]
    assert table["chosen"].tolist() == [False, False, True]
    # infeasible nodes are still scored: what they would have scored
    assert table["total"].notna().all()
    assert table.loc["node-1", "NodeResourcesFit"] >= 0


def test_values_agree_with_run_filters_and_run_scores():
    c = cluster()
    scheduler = c.scheduler
    pod = as_pod(pod_manifest("web", {"cpu": "500m", "memory": "1Gi"},
                              affinity={"nodeAffinity": {
                                  "preferredDuringSchedulingIgnoredDuringExecution": [
                                      {"weight": 10, "preference": {"matchExpressions": [
                                          {"key": "kubernetes.io/hostname", "operator": "In",
                                           "values": ["node-2"]}]}}]}}))
    table = scheduler.explain(pod)
    profile = scheduler.profiles["default-scheduler"]
    result = run_filters(profile, pod, scheduler.cache.snapshot())
    assert table.index[table.feasible].tolist() == [n.name for n in result.feasible]
    for ns in run_scores(profile, pod, result.feasible, result.state):
        row = table.loc[ns.name]
        assert row["total"] == ns.total_score
        for plugin, score in ns.scores.items():
            assert row[plugin] == score
    for name, status in result.statuses.items():
        assert table.loc[name, f"filter:{status.plugin}"] == status.message()
    assert table["PodTopologySpread"].isna().all()  # no Service or controller: PreScore skips
    assert table.loc["node-2", "NodeAffinity"] == 100 and table.loc["node-3", "NodeAffinity"] == 0


def test_chosen_is_where_the_scheduler_then_puts_it():
    for seed in range(4):
        c = kl.Cluster(seed=seed)
        for i in range(1, 5):
            register_node(c, f"node-{i}")
        c.run(1)
        manifest = pod_manifest("web", {"cpu": "100m"})
        table = c.scheduler.explain(manifest)
        assert table["total"].nunique() == 1  # four identical nodes: a tie
        (chosen,) = table.index[table.chosen]
        c.apply(manifest)
        c.run(1)
        assert node_of(c, "web") == chosen


def test_explain_changes_nothing():
    c = cluster()
    before = (c.scheduler.next_start_node_index, c.scheduler.rng.getstate(), c.etcd.revision)
    c.scheduler.explain(pod_manifest("web"))
    assert (c.scheduler.next_start_node_index, c.scheduler.rng.getstate(),
            c.etcd.revision) == before
