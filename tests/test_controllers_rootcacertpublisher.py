"""The root CA publisher: every namespace's kube-root-ca.crt holds the cluster's CA, always."""

from __future__ import annotations

import http.client
import json
import ssl

import pytest

import kubelearn as kl
from kubelearn.apiserver import authn
from kubelearn.apiserver.bootstrap import controller_roles
from kubelearn.controllers.rootcacertpublisher import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    ROOT_CA_CONFIGMAP,
)

PUBLISHER = authn.controller_user("root-ca-cert-publisher")


def root_ca(cluster: kl.Cluster, namespace: str) -> dict:
    return cluster.admin.get("configmaps", ROOT_CA_CONFIGMAP, namespace)


@pytest.fixture
def cluster() -> kl.Cluster:
    cluster = kl.Cluster(seed=0)
    cluster.run(1)
    return cluster


def test_every_namespace_gets_the_clusters_ca(cluster):
    pem = cluster.ca.pem.decode()
    assert pem.startswith("-----BEGIN CERTIFICATE-----\n")
    for namespace in ("default", "kube-system", "kube-public", "kube-node-lease"):
        cm = root_ca(cluster, namespace)
        assert cm["data"] == {"ca.crt": pem}
        assert cm["metadata"]["annotations"] == {DESCRIPTION_ANNOTATION: DESCRIPTION}
    audit = cluster.audit()
    creates = audit[(audit.verb == "create") & (audit.resource == "configmaps")
                    & (audit.user == PUBLISHER.name)]
    assert sorted(creates.namespace) == ["default", "kube-node-lease", "kube-public",
                                         "kube-system"]


def test_a_new_namespace_gets_it_too(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}})
    cluster.run(1)
    assert root_ca(cluster, "team")["data"] == {"ca.crt": cluster.ca.pem.decode()}


def test_deleted_it_comes_back(cluster):
    first = root_ca(cluster, "default")
    cluster.admin.delete("configmaps", ROOT_CA_CONFIGMAP, "default")
    cluster.run(1)
    again = root_ca(cluster, "default")
    assert again["metadata"]["uid"] != first["metadata"]["uid"]
    assert again["data"] == first["data"]


def test_changed_it_is_put_back_keeping_what_else_it_carries(cluster):
    cm = root_ca(cluster, "default")
    cm["data"] = {"ca.crt": "not a certificate", "extra": "x"}
    cm["metadata"]["annotations"] = {"mine": "kept"}
    cm["metadata"]["labels"] = {"team": "a"}
    cluster.admin.update(cm)
    cluster.run(1)
    fixed = root_ca(cluster, "default")
    assert fixed["data"] == {"ca.crt": cluster.ca.pem.decode()}  # exactly the CA, nothing more
    assert fixed["metadata"]["annotations"] == {"mine": "kept",
                                                DESCRIPTION_ANNOTATION: DESCRIPTION}
    assert fixed["metadata"]["labels"] == {"team": "a"}
    cluster.run(60)
    assert root_ca(cluster, "default")["metadata"]["resourceVersion"] == \
        fixed["metadata"]["resourceVersion"]  # in step now: no more writes


def test_its_role_is_upstreams_and_all_it_may_do(cluster):
    role = next(r for r in controller_roles()
                if r["metadata"]["name"] == "system:controller:root-ca-cert-publisher")
    assert role["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "update"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
         "verbs": ["create", "patch", "update"]}]
    can_i = cluster.api.can_i
    assert can_i(PUBLISHER, "create", "configmaps", "team")
    assert can_i(PUBLISHER, "update", "configmaps", "default")
    assert not can_i(PUBLISHER, "delete", "configmaps", "default")
    assert not can_i(PUBLISHER, "get", "secrets", "default")


def test_a_terminating_namespace_is_not_retried(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "gone"}})
    cluster.admin.delete("namespaces", "gone")
    cluster.run(30)
    failed = [r for r in cluster.sim.records
              if r.component == "root-ca-cert-publisher" and r.reason == "SyncFailed"]
    assert failed == []


def test_turned_off_nothing_is_published():
    cluster = kl.Cluster(seed=0, controllers=("*", "-root-ca-cert-publisher"))
    cluster.run(5)
    assert cluster.admin.list("configmaps", "default")["items"] == []


def test_a_pod_can_check_the_served_api_server_with_it(tmp_path):
    """The CA in the ConfigMap is the one that signed the certificate `serve` presents."""
    cluster = kl.Cluster(seed=0)
    cluster.run(1)
    pem = root_ca(cluster, "default")["data"]["ca.crt"]
    server = cluster.serve(quiet=True, speed=0, kubeconfig=tmp_path / "config")
    try:
        assert server.ca_path.read_text() == pem  # what the kubeconfig trusts
        context = ssl.create_default_context(cadata=pem)
        host, port = server.url.removeprefix("https://").rsplit(":", 1)
        connection = http.client.HTTPSConnection(host, int(port), context=context, timeout=30)
        connection.request("GET", "/version")
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["gitVersion"].startswith("v1.32")
        connection.close()
    finally:
        server.stop()
