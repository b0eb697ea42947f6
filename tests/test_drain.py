"""cluster.drain / cluster.evict / cluster.uncordon: kubectl drain's steps, on the virtual clock.

The messages are those the real kubectl v1.32 prints for the same cluster
(tests/test_kubectl_drain.py drives it).
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, TooManyRequests


def web_manifest(grace_seconds: int = 30) -> str:
    """Three nginx replicas and a budget that lets one go at a time (test_kubectl_drain too)."""
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: {grace_seconds}
      containers: [{{name: web, image: nginx:1.27}}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {{name: web}}
spec:
  minAvailable: 2
  selector: {{matchLabels: {{app: web}}}}
"""


def web_cluster(extra: str = "", grace_seconds: int = 30) -> kl.Cluster:
    """The web Deployment on two nodes, 30 s on: three pods Ready, the budget counted."""
    cluster = kl.Cluster(seed=0, nodes=2)
    cluster.apply(web_manifest(grace_seconds) + extra)
    cluster.run(30)
    return cluster


def pods_by_node(cluster):
    out: dict[str, list[str]] = {}
    for pod in cluster.admin.list("pods", "default")["items"]:
        out.setdefault(pod["spec"].get("nodeName", ""), []).append(pod["metadata"]["name"])
    return out


def test_drain_waits_for_the_budget_and_each_pod():
    cluster = web_cluster()
    by_node = pods_by_node(cluster)
    node = max(by_node, key=lambda n: len(by_node[n]))
    first, second = sorted(by_node[node])
    start = cluster.now
    out = cluster.drain(node).splitlines()
    assert out[0] == f"node/{node} cordoned" and out[-1] == f"node/{node} drained"
    assert f"evicting pod default/{first}" in out and f"pod/{first} evicted" in out
    retry = (f'error when evicting pods/"{second}" -n "default" (will retry after 5s): '
             "Cannot evict pod as it would violate the pod's disruption budget.")
    assert retry in out  # the budget let one go; the other waited for a replacement
    attempts = [i for i, line in enumerate(out) if line == f"evicting pod default/{second}"]
    assert len(attempts) == 2 and attempts[0] < out.index(retry) < attempts[1]
    assert f"pod/{second} evicted" in out
    assert cluster.now - start >= 5  # the retry came 5 virtual seconds later
    assert node not in pods_by_node(cluster)
    assert cluster.admin.get("nodes", node)["spec"]["unschedulable"] is True
    assert cluster.drain(node).splitlines()[0] == f"node/{node} already cordoned"
    assert cluster.uncordon(node) == f"node/{node} uncordoned"
    assert "unschedulable" not in cluster.admin.get("nodes", node)["spec"]
    assert cluster.uncordon(node) == f"node/{node} already uncordoned"


def test_evict_refuses_what_the_budget_cannot_spare():
    cluster = web_cluster()
    names = sorted(p for pods in pods_by_node(cluster).values() for p in pods)
    assert cluster.evict(names[0])["status"] == "Success"
    with pytest.raises(TooManyRequests):
        cluster.evict(names[1])
    assert "deletionTimestamp" not in cluster.admin.get("pods", names[1], "default")["metadata"]


BARE = """
---
apiVersion: v1
kind: Pod
metadata: {name: bare}
spec:
  nodeName: node-1
  containers: [{name: c, image: nginx:1.27}]
---
apiVersion: v1
kind: Pod
metadata: {name: scratch}
spec:
  nodeName: node-1
  containers: [{name: c, image: nginx:1.27}]
  volumes: [{name: tmp, emptyDir: {}}]
"""


def test_drain_refuses_unmanaged_pods_and_local_data_unless_told():
    cluster = web_cluster(BARE)
    with pytest.raises(BadRequest) as err:
        cluster.drain("node-1")
    assert str(err.value) == (
        'unable to drain node "node-1" due to error: [cannot delete cannot delete Pods that '
        "declare no controller (use --force to override): default/bare, cannot delete Pods "
        "with local storage (use --delete-emptydir-data to override): default/scratch], "
        "continuing command...\nThere are pending nodes to be drained:\n node-1\n"
        "cannot delete cannot delete Pods that declare no controller (use --force to "
        "override): default/bare\ncannot delete Pods with local storage (use "
        "--delete-emptydir-data to override): default/scratch")
    assert {"bare", "scratch"} <= set(pods_by_node(cluster)["node-1"])  # nothing evicted
    out = cluster.drain("node-1", force=True, delete_emptydir_data=True).splitlines()
    assert out[1] == ("Warning: deleting Pods that declare no controller: default/bare, "
                      "default/scratch")
    assert "pod/bare evicted" in out and "pod/scratch evicted" in out


def test_drain_gives_up_at_its_timeout():
    cluster = web_cluster()
    cluster.apply("""
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web}
spec:
  minAvailable: 3
  selector: {matchLabels: {app: web}}
""")
    cluster.run(5)
    by_node = pods_by_node(cluster)
    node = max(by_node, key=lambda n: len(by_node[n]))
    with pytest.raises(BadRequest) as err:
        cluster.drain(node, timeout=20)
    assert "global timeout reached: 20s, continuing command..." in str(err.value)
    assert sorted(pods_by_node(cluster)[node]) == sorted(by_node[node])
