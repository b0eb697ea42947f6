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
