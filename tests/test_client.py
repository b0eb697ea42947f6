"""The client: every verb through the API server's pipeline, under a component's identity."""

import pytest

import kubelearn as kl
from kubelearn.api import Conflict, Forbidden, NotFound
from kubelearn.apiserver.watch import WatchStream
from kubelearn.client import Client


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0)


def cm(name, namespace=None, labels=None):
    meta = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": "v"}}


def test_every_verb(cluster):
    c = cluster.admin
    created = c.create(cm("a", labels={"app": "web"}))
    assert created["metadata"]["namespace"] == "default"
    assert c.get("configmaps", "a") == c.get("cm", "a", "default") == c.get("ConfigMap", "a")
    assert [o["metadata"]["name"] for o in c.list("cm", label_selector={"app": "web"})["items"]] \
        == ["a"]
    created["data"] = {"k": "w"}
    updated = c.update(created)
    assert updated["data"] == {"k": "w"}
    patched = c.patch("cm", "a", {"data": {"k": "x"}}, patch_type="merge")
    assert patched["data"] == {"k": "x"}
    stream = c.watch("configmaps", "default", resource_version=patched["metadata"][
        "resourceVersion"])
    assert isinstance(stream, WatchStream)
    assert c.delete("cm", "a")["status"] == "Success"
    assert [e["type"] for e in stream.drain()] == ["DELETED"]
    with pytest.raises(NotFound):
        c.get("cm", "a")


def test_namespaces_come_from_the_call_the_object_or_default(cluster):
    c = cluster.admin
    c.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    assert c.create(cm("a", "dev"))["metadata"]["namespace"] == "dev"
    assert c.create(cm("b"), namespace="dev")["metadata"]["namespace"] == "dev"
    assert c.create(cm("c"))["metadata"]["namespace"] == "default"
    everywhere = c.list("configmaps")["items"]
    assert {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in everywhere} == {
        ("dev", "a"), ("dev", "b"), ("default", "c"),
        ("kube-system", "coredns")}  # the cluster DNS's Corefile, made at start
    assert c.get("namespaces", "dev")["metadata"]["name"] == "dev"  # cluster-scoped


def test_the_scheduler_binds_and_the_admin_scales(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                          "spec": {"containers": [{"name": "c", "image": "nginx"}]}})
    scheduler = cluster.client("kube-scheduler")
    assert scheduler.bind("web", "node-1")["status"] == "Success"
    with pytest.raises(Forbidden):  # the scheduler may evict pods, not touch workloads
        scheduler.delete("deployments", "web")
    cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}})
    assert cluster.admin.scale("deploy", "web")["spec"]["replicas"] == 1
    assert cluster.admin.scale("deploy", "web", 3)["spec"]["replicas"] == 3


def test_update_status_and_a_two_writers_race(cluster):
    c = cluster.admin
    c.create(cm("race"))
    mine, theirs = c.get("cm", "race"), c.get("cm", "race")
    mine["data"] = {"k": "mine"}
    theirs["data"] = {"k": "theirs"}
    c.update(mine)
    with pytest.raises(Conflict):
        c.update(theirs)
    fresh = c.get("cm", "race")  # re-read and retry: the usual controller loop
    fresh["data"] = {"k": "theirs"}
    assert c.update(fresh)["data"] == {"k": "theirs"}


def test_a_client_is_its_token(cluster):
    stranger = Client(cluster.api, "no-such-token")
    with pytest.raises(Exception) as err:
        stranger.list("pods")
    assert getattr(err.value, "code", None) == 401
    assert not cluster.client("alice").can_i("list", "pods")
    assert cluster.admin.can_i("list", "pods")
    assert repr(cluster.admin) == "Client(admin)"
