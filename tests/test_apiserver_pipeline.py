"""The request pipeline: stages, where each kind of request stops, the audit, RBAC, can-i."""

import pytest

import kubelearn as kl
from kubelearn.api import (
    BadRequest,
    Forbidden,
    Invalid,
    MethodNotSupported,
    StatusError,
    Unauthorized,
)
from kubelearn.apiserver import STAGES, Request
from kubelearn.apiserver.authn import UserInfo, admin


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0)


POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
       "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def last_row(cluster):
    return cluster.api.audit_log.records[-1]


def test_the_stages_in_order():
    assert STAGES == ("authentication", "authorization", "decode", "mutating admission",
                      "validation", "validating admission", "storage")
    assert kl.Cluster(seed=0).api.STAGES == STAGES


def test_each_stage_can_stop_a_request_and_the_audit_says_where(cluster):
    api = cluster.api
    with pytest.raises(Unauthorized) as err:
        api.handle(Request("list", "pods", namespace="default"))
    assert err.value.code == 401 and str(err.value) == "Unauthorized"
    assert last_row(cluster)[1:] == ("", "list", "pods", "default", "", "authentication",
                                     "deny", 401)
    with pytest.raises(Unauthorized):
        api.handle(Request("list", "pods", token="not-a-token"))

    alice = cluster.client("alice")
    with pytest.raises(Forbidden) as err:
        alice.list("pods", "default")
    assert str(err.value) == ('pods is forbidden: User "alice" cannot list resource "pods" in '
                              'API group "" in the namespace "default"')
    assert last_row(cluster)[1:] == ("alice", "list", "pods", "default", "", "authorization",
                                     "deny", 403)

    bad_type = {**POD, "spec": {"containers": "nginx"}}
    with pytest.raises(BadRequest):
        cluster.admin.create(bad_type)
    assert last_row(cluster).stage == "decode" and last_row(cluster).decision == "error"

    with pytest.raises(StatusError):
        cluster.admin.create({**POD, "metadata": {"name": "web", "namespace": "missing"}})
    assert last_row(cluster).stage == "mutating admission" and last_row(cluster).code == 404

    invalid = {**POD, "metadata": {"name": "Not_A_Name"}}
    with pytest.raises(Invalid):
        cluster.admin.create(invalid)
    assert last_row(cluster).stage == "validation" and last_row(cluster).code == 422

    created = cluster.admin.create(POD)
    row = last_row(cluster)
    assert (row.user, row.verb, row.resource, row.name, row.stage, row.decision, row.code) == (
        "kubernetes-admin", "create", "pods", "", "storage", "allow", 201)
    stale = {**created, "metadata": {**created["metadata"], "resourceVersion": "1"}}
    with pytest.raises(StatusError):
        cluster.admin.update(stale)
    assert last_row(cluster).stage == "storage" and last_row(cluster).code == 409


def test_the_audit_table(cluster):
    cluster.admin.create(POD)
    cluster.client("kube-scheduler").bind("web", "node-1")
    table = cluster.audit()
    assert list(table.columns) == ["time", "user", "verb", "resource", "namespace", "name",
                                   "stage", "decision", "code"]
    assert table.iloc[-1].to_dict() == {
        "time": 0.0, "user": "system:kube-scheduler", "verb": "create",
        "resource": "pods/binding", "namespace": "default", "name": "web", "stage": "storage",
        "decision": "allow", "code": 201}


def test_unknown_resources_and_verbs(cluster):
    api = cluster.api
    with pytest.raises(StatusError) as err:
        api.handle(Request("list", "widgets", token=cluster.admin_token))
    assert err.value.code == 404
    assert str(err.value) == "the server could not find the requested resource"
    with pytest.raises(StatusError) as err:
        api.handle(Request("list", "pods", version="v2", token=cluster.admin_token))
    assert err.value.code == 404
    with pytest.raises(MethodNotSupported):
        api.handle(Request("list", "selfsubjectaccessreviews", group="authorization.k8s.io",
                           token=cluster.admin_token))
    with pytest.raises(MethodNotSupported):
        api.handle(Request("create", "pods", namespace="default", name="web",
                           subresource="status", body=POD, token=cluster.admin_token))


def test_rbac_lets_one_user_read_but_not_delete(cluster):
    cluster.admin.create(POD)
    cluster.admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                          "metadata": {"name": "pod-reader"},
                          "rules": [{"apiGroups": [""], "resources": ["pods"],
                                     "verbs": ["get", "list", "watch"]}]})
    alice = cluster.client("alice")
    assert not alice.can_i("list", "pods", "default")
    cluster.admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                          "metadata": {"name": "alice-reads"},
                          "roleRef": {"kind": "Role", "name": "pod-reader"},
                          "subjects": [{"kind": "User", "name": "alice"}]})
    assert [p["metadata"]["name"] for p in alice.list("pods", "default")["items"]] == ["web"]
    assert alice.can_i("list", "pods", "default")
    assert not alice.can_i("delete", "pods", "default")
    assert not alice.can_i("list", "pods", "kube-system")
    with pytest.raises(Forbidden) as err:
        alice.delete("pods", "web")
    assert str(err.value) == ('pods "web" is forbidden: User "alice" cannot delete resource '
                              '"pods" in API group "" in the namespace "default"')
    assert cluster.api.can_i(UserInfo("alice"), "get", "pods", "default")
    assert not cluster.api.can_i(UserInfo("alice"), "get", "deployments", "default")


def test_components_can_do_their_jobs(cluster):
    api = cluster.api
    assert api.can_i(admin(), "delete", "nodes")
    assert api.can_i(UserInfo("system:kube-scheduler"), "create", "pods", "default",
                     subresource="binding")
    assert not api.can_i(UserInfo("system:kube-scheduler"), "delete", "deployments", "default")
    assert api.can_i(UserInfo("system:kube-proxy"), "watch", "endpointslices")
    assert api.can_i(UserInfo("system:node:n1", ("system:nodes",)), "update", "pods/status",
                     "default")
    assert cluster.client("kube-scheduler").can_i("create", "pods", subresource="binding",
                                                  namespace="default")


def test_the_default_service_account_can_do_nothing(cluster):
    account = UserInfo("system:serviceaccount:default:default",
                       ("system:serviceaccounts", "system:serviceaccounts:default"))
    assert not cluster.api.can_i(account, "list", "pods", "default")
    assert cluster.api.can_i(account, "create", "selfsubjectaccessreviews",
                             group="authorization.k8s.io")


def test_self_subject_access_review_is_answered_not_stored(cluster):
    review = cluster.admin.create({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "delete", "resource": "nodes"}}})
    # system:masters is allowed before RBAC is asked, and that authorizer gives no reason
    assert review["status"] == {"allowed": True}
    review = cluster.client(kl.apiserver.authn.scheduler()).create({
        "apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"verb": "create", "resource": "bindings"}}})
    assert review["status"]["allowed"] is True
    assert 'ClusterRoleBinding "system:kube-scheduler"' in review["status"]["reason"]
    assert cluster.etcd.range("/registry/selfsubjectaccessreviews", prefix=True).count == 0


def test_startup_objects(cluster):
    names = [n["metadata"]["name"] for n in cluster.admin.list("namespaces")["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    for ns in names:
        assert cluster.admin.get("serviceaccounts", "default", ns)
    svc = cluster.admin.get("services", "kubernetes")
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"] == [{"name": "https", "port": 443, "protocol": "TCP",
                                     "targetPort": 6443}]
    roles = cluster.admin.list("clusterroles")["items"]
    admin_role = next(r for r in roles if r["metadata"]["name"] == "cluster-admin")
    assert admin_role["metadata"]["labels"]["kubernetes.io/bootstrapping"] == "rbac-defaults"


def test_same_seed_same_audit_but_never_the_same_tokens():
    def run(seed):
        c = kl.Cluster(seed=seed)
        c.admin.create(POD)
        with pytest.raises(Forbidden):
            c.client("bob").list("pods")
        c.run(5)
        c.admin.delete("pods", "web")
        return c.tokens, c.api.audit_log.records, c.admin.get("serviceaccounts", "default")

    first, second = run(3), run(3)
    assert first[1:] == second[1:]
    # tokens come from secrets, not from the seed (issue 11): a served cluster's are secret
    assert first[0].keys() == second[0].keys()
    assert not set(first[0].values()) & set(second[0].values())


def test_authorization_decisions_follow_rbac_changes(cluster):
    bob = cluster.client("bob")
    with pytest.raises(Forbidden):
        bob.get("configmaps", "x")
    cluster.admin.create({"apiVersion": "rbac.authorization.k8s.io/v1",
                          "kind": "ClusterRoleBinding", "metadata": {"name": "bob-view"},
                          "roleRef": {"kind": "ClusterRole", "name": "view"},
                          "subjects": [{"kind": "User", "name": "bob"}]})
    with pytest.raises(StatusError) as err:
        bob.get("configmaps", "x")
    assert err.value.code == 404  # allowed now: the object just is not there
    cluster.admin.delete("clusterrolebindings", "bob-view")
    with pytest.raises(Forbidden):
        bob.get("configmaps", "x")


def test_resource_names_in_rules_are_honoured(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "one"}})
    cluster.admin.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "two"}})
    cluster.admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                          "metadata": {"name": "only-one"},
                          "rules": [{"apiGroups": [""], "resources": ["configmaps"],
                                     "resourceNames": ["one"], "verbs": ["get"]}]})
    cluster.admin.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                          "metadata": {"name": "carol"},
                          "roleRef": {"kind": "Role", "name": "only-one"},
                          "subjects": [{"kind": "User", "name": "carol"}]})
    carol = cluster.client("carol")
    assert carol.get("configmaps", "one")["metadata"]["name"] == "one"
    with pytest.raises(Forbidden):
        carol.get("configmaps", "two")
