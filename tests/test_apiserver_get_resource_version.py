"""GET with a resourceVersion: "not older than", from the watch cache (cacher.go Get, v1.32).

The API concepts' table: a get with resourceVersion unset reads the most recent
(etcd), "0" any, and any other value "not older than" that revision -- the
object as the watch cache holds it now, never an older version of it.
"""

from __future__ import annotations

import pytest

import kubelearn as kl
from kubelearn.api import NotFound, Timeout

CONFIG = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"},
          "data": {"colour": "blue"}}


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0, scheduler=False)


def test_an_older_resource_version_still_answers_the_object_as_it_is_now(cluster):
    admin = cluster.admin
    first = admin.create(CONFIG)["metadata"]["resourceVersion"]
    admin.patch("configmaps", "settings", {"data": {"colour": "green"}})
    for rv in ("0", first, str(cluster.etcd.revision)):
        got = cluster.api.storage.get(cluster.api.registry.exact("", "configmaps"), "default",
                                      "settings", rv)
        assert got["data"] == {"colour": "green"}, rv


def test_a_resource_version_not_reached_yet_is_too_large(cluster):
    cluster.admin.create(CONFIG)
    ahead = cluster.etcd.revision + 5
    with pytest.raises(Timeout) as refused:
        cluster.api.storage.get(cluster.api.registry.exact("", "configmaps"), "default",
                                "settings", str(ahead))
    assert str(refused.value).endswith(
        f"Too large resource version: {ahead}, current: {cluster.etcd.revision}")


def test_a_deleted_object_is_gone_at_any_resource_version(cluster):
    rv = cluster.admin.create(CONFIG)["metadata"]["resourceVersion"]
    cluster.admin.delete("configmaps", "settings")
    with pytest.raises(NotFound):
        cluster.api.storage.get(cluster.api.registry.exact("", "configmaps"), "default",
                                "settings", rv)
