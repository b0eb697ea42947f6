"""Semantic equality decides when metadata.generation moves (apiequality.Semantic.DeepEqual)."""

from __future__ import annotations

import copy

import kubelearn as kl
from kubelearn.api.equality import semantic_equal

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def test_nil_and_empty_are_equal_values_are_not():
    assert semantic_equal({"env": [], "ports": None, "labels": {}}, {})
    assert semantic_equal(([], None), (None, {}))  # a tuple of fields, compared field by field
    assert semantic_equal(None, [])
    assert not semantic_equal({"replicas": 0}, {})  # a zero is a value
    assert not semantic_equal({"a": [None]}, {"a": []})  # a list's items count


def test_a_no_op_update_does_not_move_a_deployments_generation():
    """env: [] and volumes: [] sent where storage keeps nothing: the same spec, no new work."""
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.admin.create(copy.deepcopy(DEPLOYMENT))
    cluster.run(10)
    current = cluster.admin.get("deployments", "web")
    pod_spec = current["spec"]["template"]["spec"]
    pod_spec["containers"][0].update(env=[], ports=[])
    pod_spec["volumes"] = []
    assert cluster.admin.update(current)["metadata"]["generation"] == 1
    rows = len(cluster.api.audit_log)
    cluster.run(5)
    after = cluster.api.audit_log.records[rows:]
    assert [r for r in after if r.resource.startswith("deployments")] == []  # no status write
    current["spec"]["replicas"] = 2
    assert cluster.admin.update(current)["metadata"]["generation"] == 2  # a real change does


def test_an_endpointslice_generation_follows_its_content_and_labels():
    cluster = kl.Cluster(seed=0, nodes=1)
    cluster.admin.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "nobody"},
                          "spec": {"selector": {"app": "nobody"}, "ports": [{"port": 80}]}})
    cluster.run(5)
    eps = next(e for e in cluster.admin.list("endpointslices", "default")["items"]
               if e["metadata"].get("generateName") == "nobody-")
    assert (eps["endpoints"], eps["ports"], eps["metadata"]["generation"]) == (None, None, 1)
    annotated = copy.deepcopy(eps)
    annotated.update(endpoints=[], ports=[])  # empty where storage holds null: no change
    annotated["metadata"]["annotations"] = {"note": "x"}
    annotated = cluster.admin.update(annotated)
    assert annotated["metadata"]["generation"] == 1
    labelled = copy.deepcopy(annotated)
    labelled["metadata"]["labels"]["extra"] = "x"
    assert cluster.admin.update(labelled)["metadata"]["generation"] == 2  # labels count
    cluster.run(2)  # the controller sees news it did not write, and puts its labels back
    fixed = cluster.admin.get("endpointslices", eps["metadata"]["name"])
    assert "extra" not in fixed["metadata"]["labels"]
    assert fixed["metadata"]["generation"] == 3
