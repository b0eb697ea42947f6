"""RBAC: rule matching, bindings, the bootstrap policy, and the 403 messages.

The first cases are upstream's plugin/pkg/auth/authorizer/rbac/rbac_test.go
(TestAuthorizer, TestRuleMatches), ported case for case.
"""

import pytest

from kubelearn.api import Forbidden
from kubelearn.apiserver import authn
from kubelearn.apiserver.authn import UserInfo
from kubelearn.apiserver.bootstrap import (
    BOOTSTRAP_LABELS,
    CONTROLLERS,
    bootstrap_policy,
    cluster_role_bindings,
    cluster_roles,
)
from kubelearn.apiserver.rbac import (
    Attributes,
    RBACAuthorizer,
    aggregate_rules,
    attributes_for,
    can_i,
    forbidden,
    rule_allows,
    static_source,
)

# -- builders, as rbac_test.go's newRule/newClusterRole/newRoleBinding ---------------------------


def new_rule(verbs, groups, resources, urls):
    return {"verbs": verbs.split(","), "apiGroups": groups.split(","),
            "resources": resources.split(","), "nonResourceURLs": urls.split(",")}


def cluster_role(name, *rules, labels=None):
    return {"kind": "ClusterRole", "metadata": {"name": name, "labels": labels or {}},
            "rules": list(rules)}


def role(name, namespace, *rules):
    return {"kind": "Role", "metadata": {"name": name, "namespace": namespace},
            "rules": list(rules)}


def _subjects(subjects):
    out = []
    for s in subjects:
        kind, name = s.split(":", 1)
        subject = {"kind": kind, "name": name}
        if kind == "ServiceAccount" and "/" in name:
            subject["namespace"], subject["name"] = name.split("/", 1)
        out.append(subject)
    return out


def cluster_binding(role_name, *subjects, name=None):
    return {"kind": "ClusterRoleBinding", "metadata": {"name": name or role_name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                        "name": role_name},
            "subjects": _subjects(subjects)}


def role_binding(namespace, role_name, kind, *subjects, name=None):
    return {"kind": "RoleBinding", "metadata": {"name": name or role_name, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name},
            "subjects": _subjects(subjects)}


def authorizer(*objects):
    return RBACAuthorizer(static_source(objects))


def attrs(user, groups, verb, resource, subresource="", namespace="", group=""):
    """rbac_test.go's defaultAttributes."""
    return Attributes(UserInfo(user, tuple(g for g in groups.split(",") if g)), verb, resource,
                      subresource, namespace, "", group)


def nonresource(user="", groups=(), verb="get", path=""):
    return Attributes(UserInfo(user, tuple(groups)), verb, path=path, resource_request=False)


# -- TestAuthorizer ------------------------------------------------------------------------------


def test_rolebinding_to_clusterrole_grants_only_in_its_namespace():
    a = authorizer(cluster_role("admin", new_rule("*", "*", "*", "*")),
                   role_binding("ns1", "admin", "ClusterRole", "User:admin", "Group:admins"))
    for ok in (attrs("admin", "", "get", "Pods", namespace="ns1"),
               attrs("admin", "", "watch", "Pods", namespace="ns1"),
               attrs("admin", "group1", "watch", "Foobar", namespace="ns1"),
               attrs("joe", "admins", "watch", "Foobar", namespace="ns1"),
               attrs("joe", "group1,admins", "watch", "Foobar", namespace="ns1")):
        assert a.authorize(ok).allowed, ok
    for denied in (attrs("admin", "", "GET", "Pods", namespace="ns2"),
                   attrs("admin", "", "GET", "Nodes"),
                   attrs("admin", "admins", "GET", "Pods", namespace="ns2"),
                   attrs("admin", "admins", "GET", "Nodes")):
        assert not a.authorize(denied).allowed, denied


def test_non_resource_urls():
    a = authorizer(
        cluster_role("non-resource-url-getter", new_rule("get", "", "", "/apis")),
        cluster_role("non-resource-url", new_rule("*", "", "", "/apis")),
        cluster_role("non-resource-url-prefix", new_rule("get", "", "", "/apis/*")),
        cluster_binding("non-resource-url-getter", "User:foo", "Group:bar"),
        cluster_binding("non-resource-url", "User:admin", "Group:admin"),
        cluster_binding("non-resource-url-prefix", "User:prefixed", "Group:prefixed"))
    allowed = [nonresource("foo", path="/apis"), nonresource(groups=["bar"], path="/apis"),
               nonresource("admin", path="/apis"), nonresource(groups=["admin"], path="/apis"),
               nonresource("admin", verb="watch", path="/apis"),
               nonresource(groups=["admin"], verb="watch", path="/apis"),
               nonresource("prefixed", path="/apis/v1"),
               nonresource(groups=["prefixed"], path="/apis/v1"),
               nonresource("prefixed", path="/apis/v1/foobar"),
               nonresource(groups=["prefixed"], path="/apis/v1/foorbar")]
    denied = [nonresource("foo", verb="watch", path="/apis"),  # wrong verb
              nonresource(groups=["bar"], verb="watch", path="/apis"),
              nonresource("foo", path="/api/v1"),  # wrong path
              nonresource(groups=["bar"], path="/api/v1"),
              nonresource("admin", path="/api/v1"),
              nonresource(groups=["admin"], path="/api/v1"),
              nonresource("prefixed", path="/api/v1"),  # not covered by the prefix
              nonresource(groups=["prefixed"], path="/api/v1")]
    assert all(a.authorize(x).allowed for x in allowed)
    assert not any(a.authorize(x).allowed for x in denied)


def test_subresource_needs_its_own_rule():
    a = authorizer(cluster_role("admin", new_rule("*", "*", "pods", "*")),
                   role_binding("ns1", "admin", "ClusterRole", "User:admin", "Group:admins"))
    assert a.authorize(attrs("admin", "", "get", "pods", namespace="ns1")).allowed
    assert not a.authorize(attrs("admin", "", "get", "pods", "status", namespace="ns1")).allowed
    b = authorizer(cluster_role("admin", new_rule("*", "*", "pods/status", "*")),
                   role_binding("ns1", "admin", "ClusterRole", "User:admin", "Group:admins"))
    assert b.authorize(attrs("admin", "", "get", "pods", "status", namespace="ns1")).allowed
    assert not b.authorize(attrs("admin", "", "get", "pods", namespace="ns1")).allowed


# -- TestRuleMatches -------------------------------------------------------------------------------


def req(verb, group, resource, subresource=""):
    return Attributes(UserInfo("u"), verb, resource, subresource, "", "", group)


def url(verb, path):
    return Attributes(UserInfo("u"), verb, path=path, resource_request=False)


RULE_CASES = [
    ("star verb, exact match other",
     {"verbs": ["*"], "apiGroups": ["group1"], "resources": ["resource1"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): False,
      req("verb1", "group1", "resource2"): False, req("verb1", "group2", "resource2"): False,
      req("verb2", "group1", "resource1"): True, req("verb2", "group2", "resource1"): False,
      req("verb2", "group1", "resource2"): False, req("verb2", "group2", "resource2"): False}),
    ("star group, exact match other",
     {"verbs": ["verb1"], "apiGroups": ["*"], "resources": ["resource1"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): True,
      req("verb1", "group1", "resource2"): False, req("verb2", "group1", "resource1"): False}),
    ("star resource, exact match other",
     {"verbs": ["verb1"], "apiGroups": ["group1"], "resources": ["*"]},
     {req("verb1", "group1", "resource1"): True, req("verb1", "group2", "resource1"): False,
      req("verb1", "group1", "resource2"): True, req("verb2", "group1", "resource1"): False}),
    ("tuple expansion",
     {"verbs": ["verb1", "verb2"], "apiGroups": ["group1", "group2"],
      "resources": ["resource1", "resource2"]},
     {req(v, g, r): True for v in ("verb1", "verb2") for g in ("group1", "group2")
      for r in ("resource1", "resource2")}),
    ("subresource expansion",
     {"verbs": ["*"], "apiGroups": ["*"], "resources": ["resource1/subresource1"]},
     {req("verb1", "group1", "resource1", "subresource1"): True,
      req("verb1", "group2", "resource1", "subresource2"): False,
      req("verb1", "group1", "resource2", "subresource1"): False,
      req("verb2", "group1", "resource1", "subresource1"): True}),
    ("star nonresource, exact match other", {"verbs": ["verb1"], "nonResourceURLs": ["*"]},
     {url("verb1", "/foo"): True, url("verb1", "/foo/bar/one"): True,
      url("verb2", "/foo"): False, url("verb2", "/foo/baz/one"): False}),
    ("star nonresource subpath", {"verbs": ["verb1"], "nonResourceURLs": ["/foo/*"]},
     {url("verb1", "/foo"): False, url("verb1", "/foo/bar"): True,
      url("verb1", "/foo/bar/one"): True, url("verb1", "/notfoo"): False,
      url("verb1", "/notfoo/bar"): False}),
    ("star verb, exact nonresource", {"verbs": ["*"], "nonResourceURLs": ["/foo", "/foo/bar/one"]},
     {url("verb1", "/foo"): True, url("verb1", "/foo/bar"): False,
      url("verb1", "/foo/bar/one"): True, url("verb2", "/foo/baz/one"): False}),
    # beyond rbac_test.go: */subresource, and resourceNames
    ("star slash subresource", {"verbs": ["get"], "apiGroups": ["*"], "resources": ["*/scale"]},
     {req("get", "apps", "deployments", "scale"): True, req("get", "apps", "deployments"): False,
      req("get", "", "pods", "status"): False}),
]


@pytest.mark.parametrize("name,rule,expected", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_rule_matches(name, rule, expected):
    for request, want in expected.items():
        assert rule_allows(request, rule) is want, (name, request)


def test_resource_names_limit_a_rule_to_named_objects():
    rule = {"verbs": ["get", "update"], "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"], "resourceNames": ["kube-scheduler"]}
    lease = Attributes(UserInfo("u"), "get", "leases", "", "kube-system", "kube-scheduler",
                       "coordination.k8s.io")
    assert rule_allows(lease, rule)
    assert not rule_allows(Attributes(UserInfo("u"), "get", "leases", "", "kube-system", "other",
                                      "coordination.k8s.io"), rule)
    assert not rule_allows(Attributes(UserInfo("u"), "list", "leases", "", "kube-system", "",
                                      "coordination.k8s.io"), rule)


# -- subjects and the reasons given --------------------------------------------------------------


def test_service_account_subjects_and_the_binding_namespace_default():
    reader = cluster_role("reader", {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})
    a = authorizer(reader,
                   role_binding("dev", "reader", "ClusterRole", "ServiceAccount:web"),  # dev/web
                   role_binding("dev", "reader", "ClusterRole", "ServiceAccount:ops/bot",
                                name="bot-reads-dev"))
    web = authn.service_account_user("dev", "web")
    assert a.authorize(Attributes(web, "get", "pods", namespace="dev")).allowed
    assert not a.authorize(Attributes(web, "get", "pods", namespace="ops")).allowed
    other = authn.service_account_user("prod", "web")  # same name, other namespace
    assert not a.authorize(Attributes(other, "get", "pods", namespace="dev")).allowed
    bot = authn.service_account_user("ops", "bot")
    decision = a.authorize(Attributes(bot, "get", "pods", namespace="dev"))
    assert decision.allowed
    # rule.go describeSubject prints name/namespace, in that order
    assert decision.reason == ('RBAC: allowed by RoleBinding "bot-reads-dev/dev" of ClusterRole '
                               '"reader" to ServiceAccount "bot/ops"')


def test_a_cluster_role_binding_cannot_bind_a_service_account_without_namespace():
    reader = cluster_role("reader", {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]})
    a = authorizer(reader, cluster_binding("reader", "ServiceAccount:web"))
    assert not a.authorize(Attributes(authn.service_account_user("dev", "web"), "get", "pods",
                                      namespace="dev")).allowed


def test_allowed_reason_names_the_binding_the_role_and_the_subject():
    a = authorizer(cluster_role("view-pods", {"verbs": ["list"], "apiGroups": [""],
                                              "resources": ["pods"]}),
                   cluster_binding("view-pods", "Group:readers", "User:z", name="x"))
    decision = a.authorize(Attributes(UserInfo("z"), "list", "pods"))
    assert decision.reason == ('RBAC: allowed by ClusterRoleBinding "x" of ClusterRole '
                               '"view-pods" to User "z"')


def test_role_in_namespace_and_missing_roles_give_rbac_reasons():
    a = authorizer(role("pod-reader", "dev", {"verbs": ["get"], "apiGroups": [""],
                                             "resources": ["pods"]}),
                   role_binding("dev", "pod-reader", "Role", "User:alice"),
                   role_binding("dev", "ghost", "Role", "User:alice", name="ghostly"),
                   cluster_binding("gone", "User:alice"))
    alice = UserInfo("alice")
    assert a.authorize(Attributes(alice, "get", "pods", namespace="dev")).allowed
    denied = a.authorize(Attributes(alice, "delete", "pods", namespace="dev"))
    assert not denied.allowed
    assert denied.reason == ('RBAC: [clusterrole.rbac.authorization.k8s.io "gone" not found, '
                             'role.rbac.authorization.k8s.io "ghost" not found]')
    # a Role of another namespace does not count
    assert not a.authorize(Attributes(alice, "get", "pods", namespace="prod")).allowed


def test_rules_for_lists_what_a_user_holds():
    a = authorizer(cluster_role("r1", {"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}),
                   cluster_binding("r1", "User:alice"))
    assert a.rules_for(UserInfo("alice")) == [{"verbs": ["get"], "apiGroups": [""],
                                               "resources": ["pods"]}]
    assert a.rules_for(UserInfo("bob")) == []


def test_malformed_objects_are_ignored_not_crashed_on():
    a = authorizer({"kind": "ClusterRoleBinding", "metadata": {"name": "b"}},
                   {"kind": "ClusterRoleBinding", "metadata": {"name": "c"}, "subjects": "x"},
                   {"kind": "ClusterRole", "metadata": {"name": "r"}, "rules": [None, "x"]},
                   cluster_binding("r", "User:alice"))
    assert not a.authorize(Attributes(UserInfo("alice"), "get", "pods")).allowed


# -- aggregation ---------------------------------------------------------------------------------


def test_aggregated_cluster_role_collects_labelled_roles_when_read():
    label = {"rbac.authorization.k8s.io/aggregate-to-monitoring": "true"}
    monitoring = {"kind": "ClusterRole", "metadata": {"name": "monitoring"},
                  "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": label}]},
                  "rules": []}
    endpoints = cluster_role("monitoring-endpoints", {"verbs": ["get", "list", "watch"],
                                                      "apiGroups": [""],
                                                      "resources": ["endpoints"]}, labels=label)
    a = authorizer(monitoring, endpoints, cluster_binding("monitoring", "User:prom"))
    assert a.authorize(Attributes(UserInfo("prom"), "list", "endpoints", namespace="x")).allowed
    assert not a.authorize(Attributes(UserInfo("prom"), "list", "pods", namespace="x")).allowed
    assert aggregate_rules(monitoring, [monitoring, endpoints]) == endpoints["rules"]


def test_aggregation_cycles_terminate():
    la, lb = {"agg-a": "true"}, {"agg-b": "true"}
    ra = {"kind": "ClusterRole", "metadata": {"name": "a", "labels": lb},
          "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": la}]}}
    rb = {"kind": "ClusterRole", "metadata": {"name": "b", "labels": la},
          "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": lb}]}}
    assert aggregate_rules(ra, [ra, rb]) == []


# -- the bootstrap policy -------------------------------------------------------------------------

POLICY = bootstrap_policy()
BOOTSTRAP = RBACAuthorizer(static_source(POLICY))


def authenticated(user):
    return user.with_group("system:authenticated")


def test_bootstrap_objects_are_labelled_and_unique():
    names = [(o["kind"], o["metadata"]["name"]) for o in POLICY]
    assert len(names) == len(set(names))
    for obj in POLICY:
        assert obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
        assert obj["metadata"]["labels"].items() >= BOOTSTRAP_LABELS.items()
        assert obj["metadata"]["annotations"] == {
            "rbac.authorization.kubernetes.io/autoupdate": "true"}
    roles = {o["metadata"]["name"] for o in POLICY if o["kind"] == "ClusterRole"}
    for binding in (o for o in POLICY if o["kind"] == "ClusterRoleBinding"):
        assert binding["roleRef"]["name"] in roles


def test_bootstrap_rules_are_sorted_as_the_rule_builder_sorts_them():
    for obj in cluster_roles():
        for rule in obj["rules"]:
            for field in ("verbs", "apiGroups", "resources", "nonResourceURLs"):
                if field in rule:
                    assert rule[field] == sorted(rule[field]), (obj["metadata"]["name"], rule)


def test_admin_edit_view_have_their_aggregated_rules_filled_in():
    by_name = {o["metadata"]["name"]: o for o in POLICY if o["kind"] == "ClusterRole"}
    view, edit, admin = by_name["view"], by_name["edit"], by_name["admin"]
    assert view["rules"] == by_name["system:aggregate-to-view"]["rules"]
    assert all(r in edit["rules"] for r in view["rules"])
    assert all(r in admin["rules"] for r in edit["rules"])
    assert view["aggregationRule"] == {"clusterRoleSelectors": [
        {"matchLabels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}}]}


def test_masters_can_do_everything():
    admin = authenticated(authn.admin())
    for verb, resource, ns in (("delete", "nodes", ""), ("create", "pods", "kube-system"),
                               ("escalate", "clusterroles.rbac.authorization.k8s.io", ""),
                               ("get", "/metrics", "")):
        assert can_i(BOOTSTRAP, admin, verb, resource, namespace=ns), (verb, resource)


def test_default_service_account_can_do_nothing_in_its_namespace():
    sa = authn.service_account_user("default", "default")
    for verb in ("get", "list", "watch", "create", "update", "patch", "delete"):
        for resource in ("pods", "services", "configmaps", "secrets", "deployments.apps",
                         "events", "serviceaccounts"):
            assert not can_i(BOOTSTRAP, sa, verb, resource, namespace="default"), (verb, resource)
    assert not can_i(BOOTSTRAP, sa, "list", "nodes")
    # what every authenticated user may do, it may do too
    assert can_i(BOOTSTRAP, sa, "create", "selfsubjectaccessreviews.authorization.k8s.io")
    assert can_i(BOOTSTRAP, sa, "get", "/version")


def test_basic_user_can_ask_what_it_may_do():
    alice = UserInfo("alice")
    assert can_i(BOOTSTRAP, alice, "create", "selfsubjectaccessreviews",
                 group="authorization.k8s.io")
    assert can_i(BOOTSTRAP, alice, "create", "selfsubjectrulesreviews.authorization.k8s.io")
    assert can_i(BOOTSTRAP, alice, "create", "selfsubjectreviews.authentication.k8s.io")
    assert not can_i(BOOTSTRAP, alice, "create", "subjectaccessreviews.authorization.k8s.io")
    assert not can_i(BOOTSTRAP, alice, "get", "pods", namespace="default")
    # ... but only once authenticated
    assert not can_i(BOOTSTRAP, alice, "create", "selfsubjectaccessreviews.authorization.k8s.io",
                     authenticated=False)


def test_discovery_and_public_info():
    alice = UserInfo("alice")
    for path in ("/api", "/api/v1", "/apis/apps/v1", "/version", "/healthz", "/openapi/v2"):
        assert can_i(BOOTSTRAP, alice, "get", path), path
    assert not can_i(BOOTSTRAP, alice, "get", "/metrics")
    anonymous = authn.anonymous()
    assert can_i(BOOTSTRAP, anonymous, "get", "/healthz")
    assert can_i(BOOTSTRAP, anonymous, "get", "/version")
    assert not can_i(BOOTSTRAP, anonymous, "get", "/api")


def test_scheduler_binds_pods_and_records_events_but_cannot_delete_nodes():
    s = authenticated(authn.scheduler())
    assert can_i(BOOTSTRAP, s, "create", "pods/binding", namespace="default", name="web-0")
    assert can_i(BOOTSTRAP, s, "create", "bindings", namespace="default")
    assert can_i(BOOTSTRAP, s, "create", "events", namespace="default")
    assert can_i(BOOTSTRAP, s, "create", "events.events.k8s.io", namespace="default")
    assert can_i(BOOTSTRAP, s, "watch", "nodes") and can_i(BOOTSTRAP, s, "list", "pods")
    assert can_i(BOOTSTRAP, s, "patch", "pods/status", namespace="default")
    assert can_i(BOOTSTRAP, s, "update", "leases.coordination.k8s.io", namespace="kube-system",
                 name="kube-scheduler")
    assert not can_i(BOOTSTRAP, s, "update", "leases.coordination.k8s.io",
                     namespace="kube-system", name="kube-controller-manager")
    assert not can_i(BOOTSTRAP, s, "delete", "nodes", name="node-1")
    assert not can_i(BOOTSTRAP, s, "create", "pods", namespace="default")


def test_rbac_alone_grants_a_node_nothing_of_system_node():
    """The system:node binding has no subjects: the Node authorizer decides for kubelets."""
    node = authenticated(authn.node_user("node-1"))
    assert not can_i(BOOTSTRAP, node, "update", "nodes/status", name="node-1")
    assert not can_i(BOOTSTRAP, node, "watch", "pods")
    assert can_i(BOOTSTRAP, node, "create", "selfsubjectaccessreviews.authorization.k8s.io")


def test_kube_proxy_watches_services_and_endpoint_slices():
    proxy = authenticated(authn.kube_proxy())
    for verb in ("list", "watch"):
        assert can_i(BOOTSTRAP, proxy, verb, "services")
        assert can_i(BOOTSTRAP, proxy, verb, "endpoints")
        assert can_i(BOOTSTRAP, proxy, verb, "endpointslices.discovery.k8s.io")
    assert can_i(BOOTSTRAP, proxy, "get", "nodes", name="node-1")
    assert not can_i(BOOTSTRAP, proxy, "get", "services", namespace="default", name="web")
    assert not can_i(BOOTSTRAP, proxy, "create", "services", namespace="default")


def test_controller_manager_watches_all_and_its_controllers_do_the_writing():
    kcm = authenticated(authn.controller_manager())
    assert can_i(BOOTSTRAP, kcm, "list", "pods")
    assert can_i(BOOTSTRAP, kcm, "watch", "leases.coordination.k8s.io")
    assert not can_i(BOOTSTRAP, kcm, "create", "pods", namespace="default")
    rs = authenticated(authn.controller_user("replicaset-controller"))
    assert can_i(BOOTSTRAP, rs, "create", "pods", namespace="default")
    assert can_i(BOOTSTRAP, rs, "update", "replicasets.apps/status", namespace="default")
    assert not can_i(BOOTSTRAP, rs, "create", "deployments.apps", namespace="default")
    nodes = authenticated(authn.controller_user("node-controller"))
    assert can_i(BOOTSTRAP, nodes, "patch", "nodes", name="node-1")
    assert can_i(BOOTSTRAP, nodes, "delete", "pods", namespace="default")
    assert "replicaset-controller" in CONTROLLERS and "deployment-controller" in CONTROLLERS


def test_system_node_binding_has_no_subjects():
    node_binding = next(b for b in cluster_role_bindings()
                        if b["metadata"]["name"] == "system:node")
    assert "subjects" not in node_binding


def test_view_binding_in_a_namespace_reads_but_does_not_write():
    a = RBACAuthorizer(static_source(POLICY + [
        role_binding("dev", "view", "ClusterRole", "User:alice", name="alice-view")]))
    alice = UserInfo("alice")
    assert can_i(a, alice, "get", "pods", namespace="dev")
    assert can_i(a, alice, "get", "pods/log", namespace="dev")
    assert can_i(a, alice, "list", "deployments.apps", namespace="dev")
    assert can_i(a, alice, "get", "namespaces", name="dev")  # reading *this* namespace
    assert not can_i(a, alice, "get", "namespaces", name="prod")
    assert not can_i(a, alice, "delete", "pods", namespace="dev")
    assert not can_i(a, alice, "get", "secrets", namespace="dev")
    assert not can_i(a, alice, "get", "pods", namespace="prod")


# -- forbidden messages, exactly as the API server words them -----------------------------------


def test_forbidden_namespaced_list():
    err = forbidden(Attributes(UserInfo("u"), "list", "pods", namespace="default"))
    assert isinstance(err, Forbidden) and err.code == 403 and err.reason == "Forbidden"
    assert str(err) == ('pods is forbidden: User "u" cannot list resource "pods" in API group "" '
                        'in the namespace "default"')


def test_forbidden_named_subresource():
    err = forbidden(Attributes(UserInfo("u"), "get", "pods", "log", "default", "web-0"))
    assert str(err) == ('pods "web-0" is forbidden: User "u" cannot get resource "pods/log" in '
                        'API group "" in the namespace "default"')
    assert err.status["details"] == {"name": "web-0", "kind": "pods"}


def test_forbidden_cluster_scope_and_group():
    err = forbidden(Attributes(UserInfo("u"), "delete", "nodes", name="node-1"))
    assert str(err) == ('nodes "node-1" is forbidden: User "u" cannot delete resource "nodes" in '
                        'API group "" at the cluster scope')
    err = forbidden(Attributes(UserInfo("u"), "create", "deployments", namespace="dev",
                               group="apps"))
    assert str(err) == ('deployments.apps is forbidden: User "u" cannot create resource '
                        '"deployments" in API group "apps" in the namespace "dev"')


def test_forbidden_non_resource_path():
    err = forbidden(Attributes(UserInfo("u"), "get", path="/foo", resource_request=False))
    assert str(err) == 'forbidden: User "u" cannot get path "/foo"'


def test_forbidden_carries_the_rbac_reason():
    attributes = Attributes(UserInfo("alice"), "get", "pods", namespace="dev")
    a = authorizer(role_binding("dev", "gone", "ClusterRole", "User:alice"))
    decision = a.authorize(attributes)
    assert str(forbidden(attributes, decision.reason)) == (
        'pods is forbidden: User "alice" cannot get resource "pods" in API group "" in the '
        'namespace "dev": RBAC: clusterrole.rbac.authorization.k8s.io "gone" not found')


def test_attributes_for_a_namespace_object_is_in_that_namespace():
    a = attributes_for(UserInfo("u"), "get", "namespaces", name="dev")
    assert (a.namespace, a.name) == ("dev", "dev")
    b = attributes_for(UserInfo("u"), "get", path="/healthz")
    assert not b.resource_request and b.path == "/healthz"
