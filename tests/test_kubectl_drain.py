"""The real ``kubectl drain`` (v1.32) against a served cluster: cordon, then the Eviction API.

Skipped only when kubectl is not installed (and failing under CI, where it must be),
as the other kubectl tests. kubectl's own waits are real seconds (5 s before a
refused eviction is tried again, 1 s between looks for a deleted pod); the cluster
is served at 10 virtual seconds a second, so its pods stop and start meanwhile.
"""

from __future__ import annotations

import json

import pytest
import test_kubectl as base  # skips this module too when kubectl is not installed
from test_drain import web_cluster

# test_kubectl's fixtures, served from this module's own cluster (the `server` below)
env, kubectl, manifest = base.env, base.kubectl, base.manifest


@pytest.fixture(scope="module")
def cluster():
    # kubectl's waits are real seconds: a 5 s grace keeps the evicted pods' stops short
    return web_cluster(grace_seconds=5)


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    served = cluster.serve(quiet=True, speed=10,
                           kubeconfig=tmp_path_factory.mktemp("kube") / "config")
    yield served
    served.stop()


def web_pods_by_node(kubectl):
    pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    by_node: dict[str, list[str]] = {}
    for pod in pods:
        by_node.setdefault(pod["spec"].get("nodeName", ""), []).append(pod["metadata"]["name"])
    return by_node


def test_drain_evicts_through_the_disruption_budget(kubectl, tmp_path):
    by_node = web_pods_by_node(kubectl)
    node = max(by_node, key=lambda n: len(by_node[n]))
    other = next(n for n in by_node if n != node)
    assert len(by_node[node]) == 2  # two of the three: the budget lets one go at a time

    dry = kubectl("drain", node, "--dry-run=server")
    assert f"node/{node} cordoned (server dry run)" in dry.stdout
    assert f"node/{node} drained (server dry run)" in dry.stdout
    assert web_pods_by_node(kubectl) == by_node  # nothing evicted
    spec = json.loads(kubectl("get", "node", node, "-o", "json").stdout)["spec"]
    assert not spec.get("unschedulable")

    # a pod no controller owns stops the drain, in kubectl's words, before any eviction
    kubectl("create", "-f", manifest(tmp_path, "bare.yaml", (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: bare}\n"
        f"spec: {{nodeName: {other}, containers: [{{name: c, image: nginx:1.27}}]}}\n")))
    refused = kubectl("drain", other, check=False)
    assert refused.returncode == 1
    assert ("cannot delete cannot delete Pods that declare no controller (use --force to "
            "override): default/bare") in refused.stderr
    kubectl("uncordon", other)

    drained = kubectl("drain", node, "--timeout=120s")
    out = drained.stdout
    assert f"node/{node} cordoned" in out and out.rstrip().endswith(f"node/{node} drained")
    for pod in by_node[node]:
        assert f"evicting pod default/{pod}" in out and f"pod/{pod} evicted" in out
    assert ("(will retry after 5s): Cannot evict pod as it would violate the pod's disruption "
            "budget.") in drained.stderr
    after = web_pods_by_node(kubectl)
    assert node not in after and sum(map(len, after.values())) == 3  # replaced elsewhere
    spec = json.loads(kubectl("get", "node", node, "-o", "json").stdout)["spec"]
    assert spec["unschedulable"] is True
    pdb = json.loads(kubectl("get", "pdb", "web", "-o", "json").stdout)
    assert pdb["status"]["currentHealthy"] >= 2


def test_the_evictions_in_the_audit(cluster, server):
    audit = cluster.audit()
    rows = audit[audit["resource"] == "pods/eviction"]
    assert set(rows["verb"]) == {"create"}
    assert 429 in set(rows["code"]) and 201 in set(rows["code"])
