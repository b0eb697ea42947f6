"""The RBAC policy the API server creates at start: default ClusterRoles and their bindings.

Written out from upstream plugin/pkg/auth/authorizer/rbac/bootstrappolicy
(policy.go and controller_policy.go), rule for rule as its golden files
testdata/cluster-roles.yaml and testdata/controller-roles.yaml record them
(verbs, groups and resources sorted, as the PolicyRuleBuilder sorts them). Each
role below names the function it comes from.

- :func:`cluster_roles` -- ``cluster-admin``, ``admin``/``edit``/``view`` and the
  ``system:aggregate-to-*`` roles they aggregate, discovery, basic-user, the
  component roles (scheduler, controller manager, node, node-proxier, ...);
- :func:`cluster_role_bindings` -- who gets them (``cluster-admin`` to group
  ``system:masters``, ``system:basic-user`` and ``system:discovery`` to
  ``system:authenticated``, ...);
- :func:`controller_roles` and :func:`controller_role_bindings` -- a faithful
  subset of controller_policy.go's per-controller roles: the controllers this
  cluster runs (see :data:`CONTROLLERS`), each bound to its service account in
  ``kube-system`` (kubeadm runs kube-controller-manager with
  ``--use-service-account-credentials``; use
  :func:`kubelearn.apiserver.authn.controller_user`);
- :func:`bootstrap_policy` -- all of it, in the order the API server creates it.

The ``system:node`` ClusterRoleBinding has no subjects, as upstream's since
v1.8: kubelets are authorized by the Node authorizer
(:mod:`~kubelearn.apiserver.nodeauthz`), which applies :func:`node_rules` itself
to what it does not narrow down to the node's own objects.

One departure, deliberate:

- ``admin``, ``edit`` and ``view`` are stored with their rules filled in, as
  they look after the clusterrole-aggregation controller has run; the
  authorizer recomputes aggregated rules whenever it reads them
  (:func:`kubelearn.apiserver.rbac.aggregate_rules`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelearn.apiserver.rbac import GROUP_NAME, aggregate_rules

# bootstrappolicy/policy.go: the verb sets roles are written with.
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")
READ_WRITE = READ + WRITE
READ_UPDATE = ("get", "list", "watch", "update", "patch")

# policy.go Label and Annotation: on every bootstrap object.
BOOTSTRAP_LABELS = {"kubernetes.io/bootstrapping": "rbac-defaults"}
# rbacv1.AutoUpdateAnnotationKey
AUTOUPDATE_ANNOTATION = "rbac.authorization.kubernetes.io/autoupdate"

AGGREGATE_TO_ADMIN = "rbac.authorization.k8s.io/aggregate-to-admin"
AGGREGATE_TO_EDIT = "rbac.authorization.k8s.io/aggregate-to-edit"
AGGREGATE_TO_VIEW = "rbac.authorization.k8s.io/aggregate-to-view"

# controller_policy.go saRolePrefix
CONTROLLER_ROLE_PREFIX = "system:controller:"

API_VERSION = f"{GROUP_NAME}/v1"


def rule(verbs: Iterable[str], groups: Iterable[str] = (), resources: Iterable[str] = (), *,
         names: Iterable[str] = (), urls: Iterable[str] = ()) -> dict[str, Any]:
    """A PolicyRule as rbacv1helpers.NewRule(...).Rule() builds it: every list sorted."""
    out: dict[str, Any] = {}
    if urls:
        out["nonResourceURLs"] = sorted(urls)
    else:
        out["apiGroups"] = sorted(groups)
        out["resources"] = sorted(resources)
    if names:
        out["resourceNames"] = sorted(names)
    out["verbs"] = sorted(verbs)
    return out


def events_rule() -> dict[str, Any]:
    """policy.go eventsRule(): record events through either events API."""
    return rule(("create", "update", "patch"), ("", "events.k8s.io"), ("events",))


def _metadata(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Bootstrap metadata: rbac-defaults label, autoupdate annotation (addDefaultMetadata)."""
    return {"name": name, "labels": {**(labels or {}), **BOOTSTRAP_LABELS},
            "annotations": {AUTOUPDATE_ANNOTATION: "true"}}


def cluster_role(name: str, rules: list[dict[str, Any]] | None = None, *,
                 labels: dict[str, str] | None = None,
                 aggregate_from: str | None = None) -> dict[str, Any]:
    """A bootstrap ClusterRole; ``aggregate_from`` gives it an aggregationRule on that label."""
    role: dict[str, Any] = {"apiVersion": API_VERSION, "kind": "ClusterRole",
                            "metadata": _metadata(name, labels)}
    if aggregate_from:
        selector = {"matchLabels": {aggregate_from: "true"}}
        role["aggregationRule"] = {"clusterRoleSelectors": [selector]}
    role["rules"] = list(rules or [])
    return role


def subject(kind: str, name: str, namespace: str = "") -> dict[str, Any]:
    """A binding subject as rbacv1helpers' builders make it."""
    if kind == "ServiceAccount":
        return {"kind": kind, "name": name, "namespace": namespace}
    return {"apiGroup": GROUP_NAME, "kind": kind, "name": name}


def cluster_role_binding(name: str, *subjects: dict[str, Any],
                         role: str | None = None) -> dict[str, Any]:
    """A bootstrap ClusterRoleBinding of ClusterRole ``role`` (default: its own name)."""
    binding: dict[str, Any] = {
        "apiVersion": API_VERSION, "kind": "ClusterRoleBinding", "metadata": _metadata(name),
        "roleRef": {"apiGroup": GROUP_NAME, "kind": "ClusterRole", "name": role or name},
    }
    if subjects:
        binding["subjects"] = list(subjects)
    return binding


# -- policy.go ---------------------------------------------------------------------------------


def node_rules() -> list[dict[str, Any]]:
    """policy.go NodeRules(): what a kubelet may do (with the default feature gates)."""
    return [
        rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
        rule(("create",), ("authorization.k8s.io",),
             ("subjectaccessreviews", "localsubjectaccessreviews")),
        rule(READ, ("",), ("services",)),
        rule(("create", "get", "list", "watch"), ("",), ("nodes",)),
        rule(("update", "patch"), ("",), ("nodes/status",)),
        rule(("update", "patch"), ("",), ("nodes",)),
        rule(("create", "update", "patch"), ("",), ("events",)),
        rule(READ, ("",), ("pods",)),
        rule(("create", "delete"), ("",), ("pods",)),
        rule(("update", "patch"), ("",), ("pods/status",)),
        rule(("create",), ("",), ("pods/eviction",)),
        rule(READ, ("",), ("secrets", "configmaps")),
        rule(("get",), ("",), ("persistentvolumeclaims", "persistentvolumes")),
        rule(("get",), ("",), ("endpoints",)),
        rule(("create", "get", "list", "watch"), ("certificates.k8s.io",),
             ("certificatesigningrequests",)),
        rule(("get", "create", "update", "patch", "delete"), ("coordination.k8s.io",), ("leases",)),
        rule(("get",), ("storage.k8s.io",), ("volumeattachments",)),
        rule(("create",), ("",), ("serviceaccounts/token",)),
        rule(("get", "update", "patch"), ("",), ("persistentvolumeclaims/status",)),
        rule(READ, ("storage.k8s.io",), ("csidrivers",)),
        rule(("get", "create", "update", "patch", "delete"), ("storage.k8s.io",), ("csinodes",)),
        rule(READ, ("node.k8s.io",), ("runtimeclasses",)),
    ]


def _aggregate_to_admin() -> list[dict[str, Any]]:
    """policy.go system:aggregate-to-admin: edit plus granting roles in the namespace."""
    return [
        rule(("create",), ("authorization.k8s.io",), ("localsubjectaccessreviews",)),
        rule(READ_WRITE, (GROUP_NAME,), ("roles", "rolebindings")),
    ]


def _aggregate_to_edit() -> list[dict[str, Any]]:
    """policy.go system:aggregate-to-edit: user-level writes; no /status, quota or limits."""
    return [
        rule(READ, ("",), ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward",
                          "secrets", "services/proxy")),
        rule(("impersonate",), ("",), ("serviceaccounts",)),
        rule(WRITE, ("",), ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
        rule(("create",), ("",), ("pods/eviction",)),
        rule(WRITE, ("",), ("replicationcontrollers", "replicationcontrollers/scale",
                           "serviceaccounts", "services", "services/proxy",
                           "persistentvolumeclaims", "configmaps", "secrets", "events")),
        rule(("create",), ("",), ("serviceaccounts/token",)),
        rule(WRITE, ("apps",), ("statefulsets", "statefulsets/scale", "daemonsets",
                               "deployments", "deployments/scale", "deployments/rollback",
                               "replicasets", "replicasets/scale")),
        rule(WRITE, ("autoscaling",), ("horizontalpodautoscalers",)),
        rule(WRITE, ("batch",), ("jobs", "cronjobs")),
        rule(WRITE, ("extensions",), ("daemonsets", "deployments", "deployments/scale",
                                     "deployments/rollback", "ingresses", "replicasets",
                                     "replicasets/scale", "replicationcontrollers/scale",
                                     "networkpolicies")),
        rule(WRITE, ("policy",), ("poddisruptionbudgets",)),
        rule(WRITE, ("networking.k8s.io",), ("networkpolicies", "ingresses")),
        # in upstream's golden testdata/cluster-roles.yaml (recent releases)
        rule(READ_WRITE, ("coordination.k8s.io",), ("leases",)),
    ]


def _aggregate_to_view() -> list[dict[str, Any]]:
    """policy.go system:aggregate-to-view: read-only, nothing that escalates (no secrets)."""
    return [
        rule(READ, ("",), ("pods", "replicationcontrollers", "replicationcontrollers/scale",
                          "serviceaccounts", "services", "services/status", "endpoints",
                          "persistentvolumeclaims", "persistentvolumeclaims/status",
                          "configmaps")),
        rule(READ, ("",), ("limitranges", "resourcequotas", "bindings", "events", "pods/status",
                          "resourcequotas/status", "namespaces/status",
                          "replicationcontrollers/status", "pods/log")),
        # read access to namespaces at the namespace scope means you can read *this* namespace
        rule(READ, ("",), ("namespaces",)),
        rule(READ, ("discovery.k8s.io",), ("endpointslices",)),
        rule(READ, ("apps",), ("controllerrevisions", "statefulsets", "statefulsets/status",
                              "statefulsets/scale", "daemonsets", "daemonsets/status",
                              "deployments", "deployments/status", "deployments/scale",
                              "replicasets", "replicasets/status", "replicasets/scale")),
        rule(READ, ("autoscaling",), ("horizontalpodautoscalers",
                                     "horizontalpodautoscalers/status")),
        rule(READ, ("batch",), ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        rule(READ, ("extensions",), ("daemonsets", "daemonsets/status", "deployments",
                                    "deployments/scale", "deployments/status", "ingresses",
                                    "ingresses/status", "replicasets", "replicasets/scale",
                                    "replicasets/status", "replicationcontrollers/scale",
                                    "networkpolicies")),
        rule(READ, ("policy",), ("poddisruptionbudgets", "poddisruptionbudgets/status")),
        rule(READ, ("networking.k8s.io",), ("ingresses", "ingresses/status", "networkpolicies")),
    ]


def _kube_scheduler() -> list[dict[str, Any]]:
    """policy.go system:kube-scheduler: watch the world, bind pods, record events, lead."""
    return [
        events_rule(),
        # leader election
        rule(("create",), ("coordination.k8s.io",), ("leases",)),
        rule(("get", "update"), ("coordination.k8s.io",), ("leases",), names=("kube-scheduler",)),
        # the scheduler's informers
        rule(READ, ("",), ("nodes",)),
        rule(("get", "list", "watch", "delete"), ("",), ("pods",)),
        rule(("create",), ("",), ("pods/binding", "bindings")),
        rule(("patch", "update"), ("",), ("pods/status",)),
        rule(READ, ("",), ("replicationcontrollers", "services")),
        rule(READ, ("apps", "extensions"), ("replicasets",)),
        rule(READ, ("apps",), ("statefulsets",)),
        rule(READ, ("policy",), ("poddisruptionbudgets",)),
        rule(READ, ("",), ("persistentvolumeclaims", "persistentvolumes")),
        # delegated authentication and authorization
        rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
        rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
        rule(READ, ("storage.k8s.io",), ("csinodes",)),
        rule(READ, ("",), ("namespaces",)),
        rule(READ, ("storage.k8s.io",), ("csidrivers",)),
        rule(READ, ("storage.k8s.io",), ("csistoragecapacities",)),
    ]


def _kube_controller_manager() -> list[dict[str, Any]]:
    """policy.go system:kube-controller-manager: watch everything, make controller identities."""
    return [
        events_rule(),
        # leader election
        rule(("create",), ("coordination.k8s.io",), ("leases",)),
        rule(("get", "update"), ("coordination.k8s.io",), ("leases",),
             names=("kube-controller-manager",)),
        # the service accounts and tokens the controllers run as
        rule(("create",), ("",), ("secrets", "serviceaccounts")),
        rule(("delete",), ("",), ("secrets",)),
        rule(("get",), ("",), ("namespaces", "secrets", "serviceaccounts", "configmaps")),
        rule(("update",), ("",), ("secrets", "serviceaccounts")),
        # delegated authentication and authorization
        rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
        rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
        # the shared informers
        rule(("list", "watch"), ("*",), ("*",)),
        rule(("create",), ("",), ("serviceaccounts/token",)),
    ]


def cluster_roles() -> list[dict[str, Any]]:
    """policy.go ClusterRoles(): the default ClusterRoles, aggregated ones without rules yet."""
    return [
        # a "root" role which can do absolutely anything
        cluster_role("cluster-admin", [rule(("*",), ("*",), ("*",)), rule(("*",), urls=("*",))]),
        # just enough to tell whether the server is ready and to discover API versions
        cluster_role("system:discovery", [rule(("get",), urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*"))]),
        # what kubectl and probes need to see when not logged in
        cluster_role("system:public-info-viewer", [rule(("get",), urls=(
            "/livez", "/readyz", "/healthz", "/version", "/version/"))]),
        cluster_role("system:monitoring", [rule(("get",), urls=(
            "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz",
            "/livez/*", "/readyz/*", "/healthz/*"))]),
        # a "normal" user may learn about themselves: kubectl auth can-i, auth whoami
        cluster_role("system:basic-user", [
            rule(("create",), ("authorization.k8s.io",),
                 ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
            rule(("create",), ("authentication.k8s.io",), ("selfsubjectreviews",)),
        ]),
        # namespace admin: edit plus the power to grant permissions
        cluster_role("admin", aggregate_from=AGGREGATE_TO_ADMIN),
        # namespace editor: every user-level action in a namespace
        cluster_role("edit", labels={AGGREGATE_TO_ADMIN: "true"}, aggregate_from=AGGREGATE_TO_EDIT),
        # namespace viewer: read-only access to non-escalating resources
        cluster_role("view", labels={AGGREGATE_TO_EDIT: "true"}, aggregate_from=AGGREGATE_TO_VIEW),
        cluster_role("system:aggregate-to-admin", _aggregate_to_admin(),
                     labels={AGGREGATE_TO_ADMIN: "true"}),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(),
                     labels={AGGREGATE_TO_EDIT: "true"}),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(),
                     labels={AGGREGATE_TO_VIEW: "true"}),
        # the roles of the components
        cluster_role("system:node", node_rules()),
        cluster_role("system:node-proxier", [
            rule(("list", "watch"), ("",), ("services", "endpoints")),
            rule(READ, ("",), ("nodes",)),
            events_rule(),
            rule(("list", "watch"), ("discovery.k8s.io",), ("endpointslices",)),
        ]),
        cluster_role("system:kube-scheduler", _kube_scheduler()),
        cluster_role("system:volume-scheduler", [
            rule(READ_UPDATE, ("",), ("persistentvolumes",)),
            rule(READ, ("storage.k8s.io",), ("storageclasses",)),
            rule(READ_UPDATE, ("",), ("persistentvolumeclaims",)),
        ]),
        cluster_role("system:kube-controller-manager", _kube_controller_manager()),
        cluster_role("system:kube-dns", [
            rule(("list", "watch"), ("",), ("endpoints", "services"))]),
        # authentication and authorization delegation (e.g. for extension API servers)
        cluster_role("system:auth-delegator", [
            rule(("create",), ("authentication.k8s.io",), ("tokenreviews",)),
            rule(("create",), ("authorization.k8s.io",), ("subjectaccessreviews",)),
        ]),
        cluster_role("system:service-account-issuer-discovery", [rule(("get",), urls=(
            "/.well-known/openid-configuration", "/openid/v1/jwks"))]),
    ]


def cluster_role_bindings() -> list[dict[str, Any]]:
    """policy.go ClusterRoleBindings(): who holds the default roles."""
    return [
        cluster_role_binding("cluster-admin", subject("Group", "system:masters")),
        cluster_role_binding("system:monitoring", subject("Group", "system:monitoring")),
        cluster_role_binding("system:discovery", subject("Group", "system:authenticated")),
        cluster_role_binding("system:basic-user", subject("Group", "system:authenticated")),
        cluster_role_binding("system:public-info-viewer", subject("Group", "system:authenticated"),
                             subject("Group", "system:unauthenticated")),
        cluster_role_binding("system:node-proxier", subject("User", "system:kube-proxy")),
        cluster_role_binding("system:kube-controller-manager",
                             subject("User", "system:kube-controller-manager")),
        cluster_role_binding("system:kube-dns",
                             subject("ServiceAccount", "kube-dns", "kube-system")),
        cluster_role_binding("system:kube-scheduler", subject("User", "system:kube-scheduler")),
        cluster_role_binding("system:volume-scheduler", subject("User", "system:kube-scheduler")),
        # No subjects: the Node authorizer decides for kubelets (the group was bound before
        # v1.8; an admin may still bind it, losing the "own node only" narrowing).
        cluster_role_binding("system:node"),
        cluster_role_binding("system:service-account-issuer-discovery",
                             subject("Group", "system:serviceaccounts")),
    ]


# -- controller_policy.go -------------------------------------------------------------------------


def _controller_rules() -> dict[str, list[dict[str, Any]]]:
    """controller_policy.go buildControllerRoles(), for the controllers kubelearn runs."""
    return {
        "daemon-set-controller": [
            rule(READ, ("apps", "extensions"), ("daemonsets",)),
            rule(("update",), ("apps", "extensions"), ("daemonsets/status",)),
            rule(("update",), ("apps", "extensions"), ("daemonsets/finalizers",)),
            rule(("list", "watch"), ("",), ("nodes",)),
            rule(("list", "watch", "create", "delete", "patch"), ("",), ("pods",)),
            rule(("create",), ("",), ("pods/binding",)),
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), ("apps",),
                 ("controllerrevisions",)),
            events_rule(),
        ],
        "deployment-controller": [
            rule(("get", "list", "watch", "update"), ("apps", "extensions"), ("deployments",)),
            rule(("update",), ("apps", "extensions"), ("deployments/status",)),
            rule(("update",), ("apps", "extensions"), ("deployments/finalizers",)),
            rule(("get", "list", "watch", "create", "update", "patch", "delete"),
                 ("apps", "extensions"), ("replicasets",)),
            # TODO upstream: remove "update" once the controller stops relabelling pods
            rule(("get", "list", "watch", "update"), ("",), ("pods",)),
            events_rule(),
        ],
        "disruption-controller": [
            rule(READ, ("extensions", "apps"), ("deployments",)),
            rule(READ, ("apps", "extensions"), ("replicasets",)),
            rule(READ, ("",), ("replicationcontrollers",)),
            rule(READ, ("policy",), ("poddisruptionbudgets",)),
            rule(READ, ("apps",), ("statefulsets",)),
            rule(("update",), ("policy",), ("poddisruptionbudgets/status",)),
            # the stale DisruptionTarget condition it resets
            rule(("patch", "update"), ("",), ("pods/status",)),
            rule(("get",), ("*",), ("*/scale",)),
            events_rule(),
        ],
        "endpoint-controller": [
            rule(READ, ("",), ("services", "pods")),
            rule(("get", "list", "watch", "create", "update", "delete"), ("",), ("endpoints",)),
            rule(("create",), ("",), ("endpoints/restricted",)),
            events_rule(),
        ],
        "endpointslice-controller": [
            rule(READ, ("",), ("services", "pods", "nodes")),
            # setting the OwnerReference of an EndpointSlice to its Service
            rule(("update",), ("",), ("services/finalizers",)),
            rule(("get", "list", "watch", "create", "update", "delete"), ("discovery.k8s.io",),
                 ("endpointslices",)),
            events_rule(),
        ],
        "generic-garbage-collector": [
            # deletes any kind of object, and patches ownerReferences
            rule(("get", "list", "watch", "patch", "update", "delete"), ("*",), ("*",)),
            events_rule(),
        ],
        "job-controller": [
            rule(("get", "list", "watch", "update", "patch"), ("batch",), ("jobs",)),
            rule(("update",), ("batch",), ("jobs/status",)),
            rule(("update",), ("batch",), ("jobs/finalizers",)),
            rule(("list", "watch", "create", "delete", "patch"), ("",), ("pods",)),
            events_rule(),
        ],
        "namespace-controller": [
            rule(("get", "list", "watch", "delete"), ("",), ("namespaces",)),
            rule(("update",), ("",), ("namespaces/finalize", "namespaces/status")),
            rule(("get", "list", "delete", "deletecollection", "watch"), ("*",), ("*",)),
        ],
        "node-controller": [
            rule(("get", "list", "update", "delete", "patch", "watch"), ("",), ("nodes",)),
            rule(("patch", "update"), ("",), ("nodes/status",)),
            # used for pod eviction
            rule(("patch", "update"), ("",), ("pods/status",)),
            rule(("list", "watch", "delete", "get"), ("",), ("pods",)),
            events_rule(),
        ],
        "pod-garbage-collector": [
            rule(("list", "watch", "delete"), ("",), ("pods",)),
            rule(("get", "list", "watch"), ("",), ("nodes",)),
            rule(("patch",), ("",), ("pods/status",)),
        ],
        "replicaset-controller": [
            rule(("get", "list", "watch", "update"), ("apps", "extensions"), ("replicasets",)),
            rule(("update",), ("apps", "extensions"), ("replicasets/status",)),
            rule(("update",), ("apps", "extensions"), ("replicasets/finalizers",)),
            rule(("list", "watch", "patch", "create", "delete"), ("",), ("pods",)),
            events_rule(),
        ],
        "root-ca-cert-publisher": [
            rule(("create", "update"), ("",), ("configmaps",)),
            events_rule(),
        ],
        "service-account-controller": [
            rule(("create",), ("",), ("serviceaccounts",)),
            events_rule(),
        ],
        "statefulset-controller": [
            rule(("list", "watch"), ("",), ("pods",)),
            rule(READ, ("apps",), ("statefulsets",)),
            rule(("update",), ("apps",), ("statefulsets/status",)),
            rule(("update",), ("apps",), ("statefulsets/finalizers",)),
            rule(("get", "create", "delete", "update", "patch"), ("",), ("pods",)),
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), ("apps",),
                 ("controllerrevisions",)),
            rule(("get", "create", "list", "watch"), ("",), ("persistentvolumeclaims",)),
            rule(("update", "delete"), ("",), ("persistentvolumeclaims",)),
            rule(("update",), ("",), ("pods/finalizers",)),
            events_rule(),
        ],
    }


# The controllers whose roles are bootstrapped: kube-controller-manager's
# controllers that kubelearn runs or will run (upstream has about 35).
CONTROLLERS = tuple(sorted(_controller_rules()))


def controller_roles() -> list[dict[str, Any]]:
    """controller_policy.go ControllerRoles(), the subset in :data:`CONTROLLERS`."""
    return [cluster_role(CONTROLLER_ROLE_PREFIX + name, rules)
            for name, rules in sorted(_controller_rules().items())]


def controller_role_bindings() -> list[dict[str, Any]]:
    """controller_policy.go ControllerRoleBindings(): each role to its kube-system account."""
    return [cluster_role_binding(CONTROLLER_ROLE_PREFIX + name,
                                 subject("ServiceAccount", name, "kube-system"))
            for name in CONTROLLERS]


def bootstrap_policy() -> list[dict[str, Any]]:
    """Every ClusterRole and ClusterRoleBinding the API server creates at start.

    Roles first (aggregated ``admin``/``edit``/``view`` with their rules filled in,
    as the aggregation controller leaves them), then bindings.
    """
    roles = cluster_roles() + controller_roles()
    for role in roles:
        if "aggregationRule" in role:
            role["rules"] = aggregate_rules(role, roles)
    return roles + cluster_role_bindings() + controller_role_bindings()
