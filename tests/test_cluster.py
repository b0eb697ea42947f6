"""The cluster: control plane assembly, apply/get/describe/delete, time, records, determinism."""

import threading

import pytest

import kubelearn as kl
from kubelearn.api import NotFound

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: "nginx:1.25"}
      - {name: log, image: busybox}
"""


def test_a_cluster_is_a_control_plane():
    cluster = kl.Cluster(seed=0)
    assert isinstance(cluster.sim, kl.Simulation) and isinstance(cluster.etcd, kl.etcd.Store)
    assert cluster.api.store is cluster.etcd
    assert isinstance(cluster.lock, type(threading.RLock()))
    assert set(cluster.tokens) >= {"admin", "kube-scheduler", "kube-controller-manager",
                                   "kube-proxy"}
    assert cluster.admin_token == cluster.tokens["admin"]
    assert cluster.client("scheduler") is cluster.client("kube-scheduler")
    assert cluster.client("system:kube-scheduler") is cluster.client("kube-scheduler")
    assert cluster.now == 0.0
    assert "revision=" in repr(cluster)
    with pytest.raises(TypeError):
        kl.Cluster(seed=0, nodes_please=3)


def test_apply_creates_then_updates_like_kubectl():
    cluster = kl.Cluster(seed=0)
    [created] = cluster.apply(DEPLOYMENT)
    annotations = created["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/last-applied-configuration" in annotations
    changed = (DEPLOYMENT.replace("tier: front", "owner: me").replace("replicas: 2", "replicas: 3")
               .replace("      - {name: log, image: busybox}\n", ""))
    [updated] = cluster.apply(changed)
    assert updated["metadata"]["labels"] == {"app": "web", "owner": "me"}
    assert updated["spec"]["replicas"] == 3
    assert [c["name"] for c in updated["spec"]["template"]["spec"]["containers"]] == ["web"]
    assert updated["metadata"]["generation"] == 2
    [same] = cluster.apply(changed)
    assert same["metadata"]["resourceVersion"] == updated["metadata"]["resourceVersion"]


def test_get_describe_delete():
    cluster = kl.Cluster(seed=0)
    cluster.apply(DEPLOYMENT)
    cluster.run(90)
    table = cluster.get("deployments")
    assert list(table.columns) == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    # no nodes: the deployment controller made 2 pods of the new template, none can run
    assert table.iloc[0].to_dict() == {"NAME": "web", "READY": "0/2", "UP-TO-DATE": 2,
                                       "AVAILABLE": 0, "AGE": "90s"}
    assert "NAMESPACE" in cluster.get("serviceaccounts", namespace=None).columns
    assert list(cluster.get("nodes").columns)[:2] == ["NAME", "STATUS"]
    text = cluster.describe("deployment", "web")
    assert text.startswith("Name:") and "Replicas:               2 desired" in text
    cluster.delete("deployment", "web")
    with pytest.raises(NotFound):
        cluster.admin.get("deployments", "web")


def test_time_events_and_the_compactor():
    cluster = kl.Cluster(seed=0)
    cluster.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"}})
    assert cluster.run(301) == 301.0
    assert cluster.compactor.revision > 0 and cluster.etcd.compact_revision == 0
    recorded = cluster.compactor.revision
    cluster.run(300)
    assert cluster.etcd.compact_revision == recorded
    reasons = list(cluster.events()["reason"])
    assert "CompactRevisionRecorded" in reasons and "Compacted" in reasons
    assert "Started" in list(cluster.events("kube-apiserver")["reason"])
    assert len(cluster.audit()) >= 2


def test_same_seed_same_cluster():
    def history(seed):
        cluster = kl.Cluster(seed=seed)
        cluster.apply(DEPLOYMENT)
        cluster.admin.create({"apiVersion": "v1", "kind": "Pod",
                              "metadata": {"generateName": "p-"},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
        cluster.run(600)
        return (list(cluster.tokens), [tuple(r) for r in cluster.audit().itertuples(index=False)],
                cluster.etcd.get("/registry/deployments/default/web").value)

    assert history(7) == history(7)  # the same history, though every token differs (secrets)


def test_serve_delegates_to_the_http_front(monkeypatch):
    import kubelearn.apiserver.serve as serve_module

    seen = {}
    monkeypatch.setattr(serve_module, "serve", lambda cluster, **kw: seen.update(kw) or "server")
    cluster = kl.Cluster(seed=0)
    assert cluster.serve(port=0, quiet=True) == "server" and seen == {"port": 0, "quiet": True}


def test_controllers_are_chosen_like_kube_controller_managers_flag():
    from kubelearn.cluster import enabled_controllers

    known = ["nodelifecycle", "tainteviction", "replicaset", "garbagecollector"]
    assert enabled_controllers(("*",), known) == set(known)
    assert enabled_controllers(("*", "-replicaset"), known) == set(known) - {"replicaset"}
    assert enabled_controllers("nodelifecycle", known) == {"nodelifecycle"}
    with pytest.raises(ValueError, match="unknown controllers \\['nope'\\]"):
        enabled_controllers(("nope",), known)
    cluster = kl.Cluster(seed=0, controllers=("nodelifecycle",))
    assert list(cluster.controllers) == ["nodelifecycle"]
