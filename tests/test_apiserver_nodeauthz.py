"""The Node authorizer and NodeRestriction admission (kube-apiserver v1.32, Node,RBAC).

The unit cases follow upstream's plugin/pkg/auth/authorizer/node/node_authorizer_test.go
and plugin/pkg/admission/noderestriction/admission_test.go; then the same rules
through a running cluster, its kubelets, and the real kubectl with a node's token.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

import kubelearn as kl
from kubelearn.api import Forbidden, NotFound
from kubelearn.apiserver import authn
from kubelearn.apiserver.admission import (
    CREATE,
    AdmissionAttributes,
    NodeRestriction,
    forbidden_node_labels,
)
from kubelearn.apiserver.bootstrap import cluster_role_bindings
from kubelearn.apiserver.nodeauthz import NodeAuthorizer, NodeGraph, node_identity
from kubelearn.apiserver.rbac import attributes_for, forbidden
from kubelearn.apiserver.registry import Registry
from kubelearn.apiserver.union import UnionAuthorizer

NODE1 = authn.node_user("node-1").with_group("system:authenticated")


def pod(name, node, namespace="ns0", **spec):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "i"}], **spec}}


PODS = [
    pod("node0-pod0", "node-0"),
    pod("node1-pod0", "node-1", serviceAccountName="node1-sa0",
        imagePullSecrets=[{"name": "node1-pull0"}],
        volumes=[{"name": "s", "secret": {"secretName": "node1-secret0"}},
                 {"name": "c", "configMap": {"name": "node1-configmap0"}},
                 {"name": "p", "persistentVolumeClaim": {"claimName": "node1-pvc0"}},
                 {"name": "e", "ephemeral": {"volumeClaimTemplate": {"spec": {}}}},
                 {"name": "proj", "projected": {"sources": [
                     {"secret": {"name": "node1-projected-secret"}},
                     {"configMap": {"name": "kube-root-ca.crt"}}]}}]),
    pod("node1-pod1", "node-1", containers=[{"name": "c", "image": "i", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "shared-secret", "key": "k"}}}]}]),
    pod("node2-pod0", "node-2", containers=[{"name": "c", "image": "i", "env": [
        {"name": "A", "valueFrom": {"secretKeyRef": {"name": "shared-secret", "key": "k"}}},
        {"name": "B", "valueFrom": {"configMapKeyRef": {"name": "node2-cm", "key": "k"}}}]}]),
    {**pod("node1-mirror", "node-1", volumes=[{"name": "s", "secret": {"secretName": "mine"}}]),
     "metadata": {"name": "node1-mirror", "namespace": "ns0",
                  "annotations": {"kubernetes.io/config.mirror": "x"}}},
]


def graph_of(pods):
    return NodeGraph(lambda node: [p for p in pods if p["spec"]["nodeName"] == node])


AUTHZ = NodeAuthorizer(graph_of(PODS))


def ask(verb, resource, *, user=NODE1, namespace="ns0", name="", group="", subresource="",
        field_selector="", authorizer=AUTHZ):
    attrs = attributes_for(user, verb, resource, namespace=namespace or None, name=name or None,
                           group=group, subresource=subresource or None,
                           field_selector=field_selector)
    return authorizer.authorize(attrs)


NO_RELATION = "no relationship found between node 'node-1' and this object"


# -- who is a node (nodeidentifier) -------------------------------------------------------

def test_only_a_node_name_in_the_nodes_group_is_a_node():
    assert node_identity(authn.node_user("node-1")) == ("node-1", True)
    assert node_identity(authn.UserInfo("system:node:node-1")) == ("", False)
    assert node_identity(authn.UserInfo("alice", ("system:nodes",))) == ("", False)
    other = ask("get", "pods", name="node1-pod0", user=authn.UserInfo("system:node:node-1"))
    assert (other.allowed, other.reason) == (False, "")
    unknown = ask("get", "pods", user=authn.UserInfo("system:node:", ("system:nodes",)))
    assert unknown.reason == 'unknown node for user "system:node:"'


# -- pods and nodes (AuthorizeNodeWithSelectors) ------------------------------------------

def test_get_pods_only_bound_to_the_node():
    assert ask("get", "pods", name="node1-pod0").allowed
    assert ask("get", "pods", name="node1-mirror").allowed
    assert ask("get", "pods", name="node0-pod0").reason == NO_RELATION
    assert ask("get", "pods", name="node1-pod0", namespace="other").reason == NO_RELATION
    assert ask("get", "pods").reason == "No Object name found"


@pytest.mark.parametrize("verb", ["list", "watch"])
def test_list_and_watch_pods_only_with_the_node_selector(verb):
    assert ask(verb, "pods", field_selector="spec.nodeName=node-1").allowed
    assert ask(verb, "pods", namespace="", field_selector="spec.nodeName=node-1").allowed
    assert ask(verb, "pods", field_selector="status.phase=Running,spec.nodeName==node-1").allowed
    why = "can only list/watch pods with spec.nodeName field selector"
    assert ask(verb, "pods").reason == why
    assert ask(verb, "pods", field_selector="spec.nodeName=node-2").reason == why
    assert ask(verb, "pods", field_selector="spec.nodeName!=node-2").reason == why
    assert ask(verb, "pods", field_selector="spec.nodeName=node-1,x").reason == why  # unparsable
    # one pod, named by a metadata.name selector (RequestInfo makes it the request's name)
    assert ask(verb, "pods", field_selector="metadata.name=node1-pod1").allowed
    assert ask(verb, "pods", field_selector="metadata.name=node0-pod0").reason == NO_RELATION


def test_pod_writes_are_left_to_node_restriction():
    assert ask("create", "pods").allowed and ask("delete", "pods", name="node0-pod0").allowed
    for verb in ("update", "patch"):
        assert ask(verb, "pods", name="x", subresource="status").allowed
        assert not ask(verb, "pods", name="node1-pod0").allowed
    assert ask("create", "pods", name="x", subresource="eviction").allowed
    assert ask("create", "pods", name="x", subresource="binding") == ask(
        "deletecollection", "pods")  # no opinion, no reason
    assert not ask("create", "pods", name="x", subresource="binding").allowed


def test_nodes_only_its_own_for_reading():
    assert ask("get", "nodes", namespace="", name="node-1").allowed
    assert ask("get", "nodes", namespace="", name="node-0").reason == \
        "node 'node-1' cannot read 'node-0', only its own Node object"
    for verb in ("list", "watch"):
        assert ask(verb, "nodes", namespace="").reason == \
            "node 'node-1' cannot read all nodes, only its own Node object"
        assert ask(verb, "nodes", namespace="", field_selector="metadata.name=node-1").allowed
    for verb in ("create", "update", "patch"):
        assert ask(verb, "nodes", namespace="", name="node-0").allowed
    assert ask("patch", "nodes", namespace="", name="node-1", subresource="status").allowed
    assert not ask("delete", "nodes", namespace="", name="node-1").allowed


def test_without_the_selector_gate_pods_and_nodes_fall_to_the_static_rules():
    old = NodeAuthorizer(graph_of(PODS), features={"AuthorizeNodeWithSelectors": False})
    assert ask("list", "pods", namespace="", authorizer=old).allowed
    assert ask("get", "pods", name="node0-pod0", authorizer=old).allowed
    assert ask("get", "nodes", namespace="", name="node-0", authorizer=old).allowed


# -- the graph: secrets, configmaps, claims, service accounts -----------------------------

@pytest.mark.parametrize("verb", ["get", "list", "watch"])
def test_secrets_and_configmaps_of_pods_on_the_node(verb):
    for name in ("node1-secret0", "node1-pull0", "node1-projected-secret", "shared-secret"):
        assert ask(verb, "secrets", name=name).allowed, name
    for name in ("node1-configmap0", "kube-root-ca.crt"):
        assert ask(verb, "configmaps", name=name).allowed, name
    assert ask(verb, "configmaps", name="node2-cm").reason == NO_RELATION
    assert ask(verb, "secrets", name="node1-secret0", namespace="other").reason == NO_RELATION
    assert ask(verb, "secrets", name="mine").reason == NO_RELATION  # a mirror pod grants nothing


def test_secret_reads_one_by_one():
    assert ask("list", "secrets").reason == "No Object name found"  # disallowed list many
    assert ask("list", "secrets", namespace="").reason == \
        "can only read namespaced object of this type"
    assert ask("list", "secrets", field_selector="metadata.name=node1-secret0").allowed
    assert ask("create", "secrets", name="x").reason == "can only read resources of this type"
    assert ask("get", "secrets", name="node1-secret0", subresource="x").reason == \
        "cannot read subresource"


def test_claims_and_service_account_tokens():
    assert ask("get", "persistentvolumeclaims", name="node1-pvc0").allowed
    assert ask("get", "persistentvolumeclaims", name="node1-pod0-e").allowed  # ephemeral
    assert ask("update", "persistentvolumeclaims", name="node1-pvc0").reason == \
        "can only get individual resources of this type"
    assert ask("patch", "persistentvolumeclaims", name="node1-pvc0", subresource="status").allowed
    assert ask("get", "persistentvolumeclaims", name="node1-pvc0", subresource="status"
               ).reason == "can only get/update/patch this type"
    assert ask("get", "persistentvolumes", namespace="", name="pv0").reason == \
        "no relationship found between node 'node-1' and this object"
    assert ask("create", "serviceaccounts", name="node1-sa0", subresource="token").allowed
    assert ask("create", "serviceaccounts", name="default", subresource="token").reason == \
        NO_RELATION
    assert ask("get", "serviceaccounts", name="node1-sa0").reason == \
        "can only create tokens for individual service accounts"


def test_leases_only_its_own_in_kube_node_lease():
    lease = {"group": "coordination.k8s.io", "namespace": "kube-node-lease"}
    assert ask("update", "leases", name="node-1", **lease).allowed
    assert ask("create", "leases", **lease).allowed  # the name is NodeRestriction's to check
    assert ask("update", "leases", name="node-2", **lease).reason == \
        "can only access node lease with the same name as the requesting node"
    assert ask("list", "leases", **lease).reason == \
        "can only get, create, update, patch, or delete a node lease"
    assert ask("get", "leases", name="node-1", group="coordination.k8s.io",
               namespace="kube-system").reason == \
        'can only access leases in the "kube-node-lease" system namespace'


def test_everything_else_by_the_static_node_rules():
    assert ask("create", "events").allowed
    assert ask("watch", "services", namespace="").allowed
    assert ask("create", "tokenreviews", namespace="", group="authentication.k8s.io").allowed
    refused = ask("list", "deployments", group="apps")
    assert (refused.allowed, refused.reason) == (False, "")


def test_the_chain_joins_every_reason_and_the_binding_has_no_subjects():
    class Says:
        def __init__(self, reason):
            self.reason = reason

        def authorize(self, attrs):
            return kl.apiserver.rbac.Decision(False, self.reason)

    chain = UnionAuthorizer([AUTHZ, Says(""), Says("RBAC: nope")])
    decision = ask("list", "pods", authorizer=chain)
    assert decision.reason == \
        "can only list/watch pods with spec.nodeName field selector\nRBAC: nope"
    binding = next(b for b in cluster_role_bindings() if b["metadata"]["name"] == "system:node")
    assert "subjects" not in binding


# -- through the API server -----------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster():
    c = kl.Cluster(nodes=2, seed=3)
    c.run(20)
    c.apply("""
apiVersion: v1
kind: Secret
metadata: {name: db}
data: {password: aHVudGVyMg==}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 4
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
        env: [{name: PW, valueFrom: {secretKeyRef: {name: db, key: password}}}]
""")
    c.run(60)
    return c


def kubelet(cluster, node="node-1"):
    return cluster.client(authn.node_user(node))


def pods_on(cluster, node):
    return sorted(p["metadata"]["name"] for p in cluster.admin.list("pods", "default")["items"]
                  if p["spec"].get("nodeName") == node)


def test_kubelets_run_their_pods_without_a_403(cluster):
    phases = {p["status"].get("phase") for p in cluster.admin.list("pods", "default")["items"]}
    assert phases == {"Running"}
    audit = cluster.audit()
    nodes = audit[audit.user.str.startswith("system:node:")]
    assert set(nodes.verb) >= {"watch", "update", "create", "patch"}
    assert not (nodes.code == 403).any()


def test_a_node_lists_only_its_own_pods(cluster):
    node = kubelet(cluster)
    mine = node.list("pods", None, field_selector="spec.nodeName=node-1")["items"]
    assert sorted(p["metadata"]["name"] for p in mine) == pods_on(cluster, "node-1") != []
    with pytest.raises(Forbidden) as err:
        node.list("pods", "default")
    assert str(err.value) == (
        'pods is forbidden: User "system:node:node-1" cannot list resource "pods" in API group '
        '"" in the namespace "default": can only list/watch pods with spec.nodeName field '
        "selector")
    other = pods_on(cluster, "node-2")[0]
    with pytest.raises(Forbidden) as err:
        node.get("pods", other)
    assert str(err.value) == (
        f'pods "{other}" is forbidden: User "system:node:node-1" cannot get resource "pods" in '
        'API group "" in the namespace "default": no relationship found between node '
        "'node-1' and this object")
    assert node.get("pods", pods_on(cluster, "node-1")[0])["spec"]["nodeName"] == "node-1"
    with pytest.raises(Forbidden, match="only its own Node object"):
        node.get("nodes", "node-2")
    assert node.get("nodes", "node-1")["metadata"]["name"] == "node-1"


def test_can_i_for_a_node_as_the_lesson_shows_it(cluster):
    api, node = cluster.api, authn.node_user("node-1")
    row = [api.can_i(node, verb, "pods", "default") for verb in
           ("get", "list", "watch", "create", "delete")]
    assert row == [False, False, False, True, True]
    assert api.can_i(node, "list", "pods", field_selector="spec.nodeName=node-1")
    assert not api.can_i(node, "list", "pods", field_selector="spec.nodeName=node-2")
    assert api.can_i(node, "list", "pods", field_selector="spec.nodeName=node-1")  # cache
    assert api.can_i(node, "get", "secrets", "default", name="db")
    assert not api.can_i(node, "get", "secrets", "default", name="other")
    assert api.can_i(authn.admin(), "list", "pods", field_selector="spec.nodeName=node-2")


def test_the_graph_follows_bindings_and_deletions(cluster):
    api, admin = cluster.api, cluster.admin
    node = authn.node_user("node-2")
    admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"},
                  "data": {"k": "v"}})
    admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
                  "spec": {"schedulerName": "nobody", "containers": [
                      {"name": "c", "image": "busybox",
                       "envFrom": [{"configMapRef": {"name": "late"}}]}]}})
    assert not api.can_i(node, "get", "configmaps", "default", name="late")
    assert not api.can_i(node, "get", "pods", "default", name="reader")
    admin.bind("reader", "node-2")
    assert api.can_i(node, "get", "configmaps", "default", name="late")
    assert api.can_i(node, "get", "pods", "default", name="reader")
    assert not api.can_i(authn.node_user("node-1"), "get", "configmaps", "default", name="late")
    admin.delete("pods", "reader", grace_period_seconds=0)
    cluster.run(5)
    with pytest.raises(NotFound):
        admin.get("pods", "reader")
    assert not api.can_i(node, "get", "configmaps", "default", name="late")


# -- NodeRestriction ------------------------------------------------------------------------

def node_object(name, **labels):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **labels}}}


def forbidden_message(call):
    with pytest.raises(Forbidden) as err:
        call()
    return str(err.value)


def test_a_node_registers_only_itself_with_kubelet_labels():
    c = kl.Cluster(seed=1)
    node = kubelet(c, "edge")
    assert forbidden_message(lambda: node.create(node_object("other"))) == \
        'nodes "other" is forbidden: node "edge" is not allowed to modify node "other"'
    assert forbidden_message(lambda: node.create(node_object(
        "edge", **{"node-role.kubernetes.io/control-plane": "",
                   "node-restriction.kubernetes.io/pool": "a"}))) == (
        'nodes "edge" is forbidden: node "edge" is not allowed to set the following labels: '
        "node-restriction.kubernetes.io/pool, node-role.kubernetes.io/control-plane")
    created = node.create(node_object("edge", **{"topology.kubernetes.io/zone": "z",
                                                 "node.kubernetes.io/instance-type": "m",
                                                 "team": "a"}))
    assert created["metadata"]["labels"]["team"] == "a"
    assert forbidden_message(lambda: node.patch("nodes", "edge", {"spec": {"taints": []}})) == \
        'nodes "edge" is forbidden: node "edge" is not allowed to modify taints'
    assert forbidden_message(lambda: node.patch("nodes", "edge", {"metadata": {"labels": {
        "kubernetes.io/role": "master"}}})) == \
        'nodes "edge" is forbidden: is not allowed to modify labels: kubernetes.io/role'
    node.patch("nodes", "edge", {"metadata": {"labels": {"team": "b"}}})
    assert forbidden_message(lambda: node.create({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "other", "namespace": "kube-node-lease"}})) == (
        'leases.coordination.k8s.io "other" is forbidden: can only access node lease with the '
        "same name as the requesting node")
    assert forbidden_message(lambda: node.delete("nodes", "edge")) == (  # authorization's
        'nodes "edge" is forbidden: User "system:node:edge" cannot delete resource "nodes" in '
        'API group "" at the cluster scope')


def test_a_node_writes_only_pods_bound_to_it(cluster):
    node = kubelet(cluster)
    other = pods_on(cluster, "node-2")[0]
    assert forbidden_message(lambda: node.patch(
        "pods", other, {"status": {"message": "x"}}, patch_type="merge",
        subresource="status")) == (
        f'pods "{other}" is forbidden: node "node-1" can only update pod status for pods with '
        "spec.nodeName set to itself")
    mine = pods_on(cluster, "node-1")[0]
    assert forbidden_message(lambda: node.patch(
        "pods", mine, {"metadata": {"labels": {"x": "y"}}}, patch_type="merge",
        subresource="status")) == \
        f'pods "{mine}" is forbidden: node "node-1" cannot update labels through pod status'
    assert forbidden_message(lambda: node.delete("pods", other)) == (
        'pods "Unknown" is forbidden: node "node-1" can only delete pods with spec.nodeName '
        "set to itself")


def mirror_pod(node_name, uid, **spec):
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"static-{node_name}", "namespace": "kube-system",
                         "annotations": {"kubernetes.io/config.mirror": "hash"},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                              "name": node_name, "uid": uid,
                                              "controller": True}]},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "etcd"}],
                     **spec}}


def test_a_node_creates_only_its_mirror_pods(cluster):
    node = kubelet(cluster)
    uid = cluster.admin.get("nodes", "node-1")["metadata"]["uid"]
    plain = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sneaky"},
             "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "x"}]}}
    assert forbidden_message(lambda: node.create(plain)) == (
        'pods "sneaky" is forbidden: pod does not have "kubernetes.io/config.mirror" '
        'annotation, node "node-1" can only create mirror pods')
    assert forbidden_message(lambda: node.create(mirror_pod("node-2", uid))).endswith(
        'node "node-1" can only create pods with spec.nodeName set to itself')
    unowned = mirror_pod("node-1", uid)
    del unowned["metadata"]["ownerReferences"]
    assert forbidden_message(lambda: node.create(unowned)).endswith(
        'node "node-1" can only create pods with an owner reference set to itself')
    assert forbidden_message(lambda: node.create(mirror_pod("node-1", "wrong"))).endswith(
        f"node node-1 UID mismatch: expected wrong got {uid}")
    assert forbidden_message(lambda: node.create(mirror_pod("node-1", uid, volumes=[
        {"name": "s", "secret": {"secretName": "db"}}]))).endswith(
        "a mirror pod may not reference secrets")  # ServiceAccount admission, first
    assert forbidden_message(lambda: node.create(mirror_pod("node-1", uid, volumes=[
        {"name": "c", "configMap": {"name": "cfg"}}]))).endswith(
        'node "node-1" can not create pods that reference configmaps')
    created = node.create(mirror_pod("node-1", uid))
    assert "serviceAccountName" not in created["spec"]  # left as the kubelet wrote it
    assert cluster.api.can_i(authn.node_user("node-1"), "get", "pods", "kube-system",
                             name="static-node-1")
    node.delete("pods", "static-node-1", "kube-system", grace_period_seconds=0)


def test_eviction_of_pods_on_other_nodes_is_refused():
    pods = {("ns", "mine"): pod("mine", "node-1", "ns"), ("ns", "theirs"): pod("theirs", "n2")}
    plugin = NodeRestriction(lambda resource, ns, name: pods.get((ns, name)))
    info = Registry().lookup("pods")
    eviction = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "theirs"}}

    def evict(name):
        plugin.admit(AdmissionAttributes(CREATE, info, "ns", name, eviction,
                                         subresource="eviction", user=NODE1))

    evict("mine")
    with pytest.raises(Forbidden) as err:
        evict("theirs")
    assert str(err.value) == ('pods "theirs" is forbidden: node node-1 can only evict pods '
                              "with spec.nodeName set to itself")
    with pytest.raises(NotFound):
        evict("gone")


def test_kubelet_labels():
    assert forbidden_node_labels({"kubernetes.io/hostname": "a", "x.node.kubernetes.io/y": "",
                                  "kubelet.kubernetes.io/z": "", "example.com/k": ""}, {}) == []
    assert forbidden_node_labels({"a.k8s.io/b": "1"}, {"a.k8s.io/b": "2"}) == ["a.k8s.io/b"]
    assert forbidden_node_labels({}, {"kubernetes.io/role": "x"}) == ["kubernetes.io/role"]


def test_forbidden_message_carries_the_node_reason():
    attrs = attributes_for(NODE1, "list", "nodes")
    decision = AUTHZ.authorize(attrs)
    assert str(forbidden(attrs, decision.reason)) == (
        'nodes is forbidden: User "system:node:node-1" cannot list resource "nodes" in API '
        "group \"\" at the cluster scope: node 'node-1' cannot read all nodes, only its own "
        "Node object")


# -- kubectl with a node's credentials ------------------------------------------------------

KUBECTL = shutil.which("kubectl")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if KUBECTL is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is not on PATH, but CI machines must have it", pytrace=False)
        pytest.skip("kubectl is not installed")
    cluster = kl.Cluster(nodes=1, seed=0)
    cluster.run(20)
    server = cluster.serve(quiet=True, speed=1,
                           kubeconfig=tmp_path_factory.mktemp("kube") / "config")
    yield server
    server.stop()


def test_kubectl_as_a_kubelet(served, tmp_path):
    home = tmp_path / "home"
    env = {**os.environ, "KUBECONFIG": str(served.kubeconfig_path), "HOME": str(home),
           "KUBECACHEDIR": str(home / "cache")}
    with served.lock:
        token = served.cluster.client(authn.node_user("node-1")).token

    def kubectl(*args):
        return subprocess.run([KUBECTL, "--token", token, *args], capture_output=True,
                              text=True, env=env, timeout=60)

    pods = kubectl("get", "pods")
    assert pods.returncode == 1
    assert pods.stderr.strip() == (
        'Error from server (Forbidden): pods is forbidden: User "system:node:node-1" cannot '
        'list resource "pods" in API group "" in the namespace "default": can only list/watch '
        "pods with spec.nodeName field selector")
    nodes = kubectl("get", "nodes")
    assert nodes.stderr.strip() == (
        'Error from server (Forbidden): nodes is forbidden: User "system:node:node-1" cannot '
        'list resource "nodes" in API group "" at the cluster scope: node \'node-1\' cannot '
        "read all nodes, only its own Node object")
    own = kubectl("get", "pods", "-A", "--field-selector", "spec.nodeName=node-1")
    assert own.returncode == 0, own.stderr
    assert kubectl("get", "node", "node-1", "-o", "name").stdout.strip() == "node/node-1"
    assert kubectl("auth", "can-i", "list", "pods").stdout.strip() == \
        "no - can only list/watch pods with spec.nodeName field selector"
    assert kubectl("auth", "can-i", "create", "pods").stdout.strip() == "yes"
