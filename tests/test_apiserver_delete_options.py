"""DeleteOptions in a DELETE's body count as the query's do: a dry run changes nothing."""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import BadRequest, Invalid


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0, controllers=())


def delete(cluster, name, body, *, resource="configmaps"):
    return cluster.admin.request("delete", cluster.admin.info(resource), namespace="default",
                                 name=name, body={"kind": "DeleteOptions", "apiVersion": "v1",
                                                  **body})


def configmap(cluster, name):
    return cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap",
                                 "metadata": {"name": name}, "data": {"a": "b"}})


def test_dry_run_in_the_body_deletes_nothing(cluster):
    configmap(cluster, "cfg")
    revision = cluster.etcd.revision
    out = delete(cluster, "cfg", {"dryRun": ["All"]})
    assert out["status"] == "Success"
    assert cluster.etcd.revision == revision
    assert cluster.admin.get("configmaps", "cfg")["data"] == {"a": "b"}
    delete(cluster, "cfg", {})
    assert cluster.etcd.revision == revision + 1


def test_dry_run_in_the_body_of_a_collection_delete_deletes_nothing(cluster):
    for name in ("a", "b"):
        configmap(cluster, name)
    revision = cluster.etcd.revision
    cluster.admin.request("deletecollection", cluster.admin.info("configmaps"),
                          namespace="default", body={"dryRun": ["All"]})
    assert cluster.etcd.revision == revision


def test_dry_run_values_are_checked_as_ValidateDeleteOptions_does(cluster):
    configmap(cluster, "cfg")
    with pytest.raises(Invalid) as err:
        delete(cluster, "cfg", {"dryRun": ["Some"]})
    assert 'dryRun[0]: Unsupported value: "Some": supported values: "All"' in str(err.value)
    with pytest.raises(BadRequest, match="DeleteOptions.dryRun of type"):
        delete(cluster, "cfg", {"dryRun": "All"})
    assert cluster.admin.get("configmaps", "cfg")
