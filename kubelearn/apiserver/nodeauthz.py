"""The Node authorizer: a kubelet may touch its own node, its pods and what they use -- no more.

kubeadm runs kube-apiserver with ``--authorization-mode=Node,RBAC``: every
request from a kubelet (user ``system:node:<name>`` in group ``system:nodes``)
is first put to this authorizer, and RBAC is asked only if it has no opinion.
The ``system:node`` ClusterRole still exists, but its binding has no subjects:
what a kubelet may do is decided here. Faithful to upstream
plugin/pkg/auth/authorizer/node (v1.32, AuthorizeNodeWithSelectors beta and on):

- **pods** -- ``get`` only a pod bound to the node; ``list``/``watch`` only with
  ``fieldSelector=spec.nodeName=<node>`` (or one named pod bound to it, as a
  ``metadata.name`` selector makes it); ``create``/``delete`` (mirror pods),
  ``status`` updates and ``eviction`` are allowed here and narrowed by
  NodeRestriction admission (:mod:`~kubelearn.apiserver.noderestriction`);
- **nodes** -- ``get``/``list``/``watch`` only its own Node (by name: it may
  read it before it exists), ``create``/``update``/``patch`` and status
  (NodeRestriction keeps them to its own);
- **leases** -- only its own, in ``kube-node-lease``; **csinodes** likewise;
- **secrets, configmaps** (read), **persistentvolumeclaims**, **persistentvolumes**
  (get), **serviceaccounts/token** (create) -- only objects a pod bound to the
  node names: the :class:`NodeGraph`;
- everything else -- the static rules of policy.go ``NodeRules()``
  (:func:`~kubelearn.apiserver.bootstrap.node_rules`): services, events,
  endpoints, tokenreviews...

A refusal is *no opinion* with a reason; the authorization chain
(:mod:`~kubelearn.apiserver.union`) then asks RBAC, and the 403 quotes the
reason: ``pods is forbidden: User "system:node:node-1" cannot list resource
"pods" in API group "" in the namespace "default": can only list/watch pods
with spec.nodeName field selector``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kubelearn.api.errors import go_quote
from kubelearn.api.podrefs import claim_names, configmap_names, secret_names
from kubelearn.apiserver.authn import NODES_GROUP, UserInfo
from kubelearn.apiserver.bootstrap import node_rules
from kubelearn.apiserver.rbac import Attributes, Decision, rules_allow
from kubelearn.version import FEATURE_GATES

# nodeidentifier/default.go: a node's user name is this prefix and the node's name.
NODE_USER_PREFIX = "system:node:"
# api.NamespaceNodeLease: where the kubelets' heartbeat Leases live.
NODE_LEASE_NAMESPACE = "kube-node-lease"
# api.MirrorPodAnnotationKey: a pod the kubelet made for a static pod.
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
# resourceapi.ResourceSliceSelectorNodeName
RESOURCE_SLICE_NODE_FIELD = "spec.nodeName"

# The vertex types of the graph (graph.go vertexTypes).
POD, SECRET, CONFIGMAP, PVC, PV = "pod", "secret", "configmap", "pvc", "pv"
SERVICE_ACCOUNT, VOLUME_ATTACHMENT = "serviceaccount", "volumeattachment"
RESOURCE_CLAIM, RESOURCE_SLICE = "resourceclaim", "resourceslice"

ALLOW = Decision(True)
NO_OPINION = Decision(False)


def node_identity(user: UserInfo) -> tuple[str, bool]:
    """``(node name, is a node)`` of a user (nodeidentifier NodeIdentity).

    A node is a user named ``system:node:<name>`` *and* in group ``system:nodes``;
    the name may come out empty (a node, but not one we can tell).
    """
    if not user.name.startswith(NODE_USER_PREFIX) or NODES_GROUP not in user.groups:
        return "", False
    return user.name[len(NODE_USER_PREFIX):], True


def is_node(user: UserInfo) -> bool:
    """True for a kubelet's identity (what the Node authorizer and NodeRestriction look at)."""
    return node_identity(user)[1]


def is_mirror_pod(pod: Mapping[str, Any]) -> bool:
    """True if the pod carries the ``kubernetes.io/config.mirror`` annotation."""
    annotations = (pod.get("metadata") or {}).get("annotations")
    return isinstance(annotations, Mapping) and MIRROR_POD_ANNOTATION in annotations


def _no(reason: str) -> Decision:
    return Decision(False, reason)


# -- the graph ---------------------------------------------------------------------------------

PodsOnNode = Callable[[str], Iterable[Mapping[str, Any]]]


class NodeGraph:
    """What a node can reach, through the pods bound to it (graph.go, graph_populator.go).

    Upstream keeps a graph fed by informers: an edge pod -> node for each bound
    pod, and secret/configmap/pvc/serviceaccount -> pod for what the pod names
    (none for a mirror pod: a node must not grant itself access by creating
    one). A request is allowed if a path leads from the object to the node.

    kubelearn computes the same answer from the pods bound to the node, which
    the watch cache indexes by ``spec.nodeName`` (``pods_on_node``): a pod is on
    the path from the moment it is bound until it is deleted, whatever its
    phase. PersistentVolumes, VolumeAttachments, ResourceClaims and
    ResourceSlices are not served by kubelearn, so nothing leads from them.
    """

    def __init__(self, pods_on_node: PodsOnNode) -> None:
        self.pods_on_node = pods_on_node

    @staticmethod
    def references(pod: Mapping[str, Any]) -> set[tuple[str, str]]:
        """The (vertex type, name) pairs with an edge to this pod, in its namespace (AddPod)."""
        if is_mirror_pod(pod):
            return set()
        refs = {(SECRET, name) for name in secret_names(pod)}
        refs |= {(CONFIGMAP, name) for name in configmap_names(pod)}
        refs |= {(PVC, name) for name in claim_names(pod)}
        account = (pod.get("spec") or {}).get("serviceAccountName")
        if isinstance(account, str) and account:
            refs.add((SERVICE_ACCOUNT, account))
        return refs

    def has_path(self, node: str, vertex: str, namespace: str, name: str) -> bool:
        """True if the object leads to ``node`` through a pod bound there (hasPathFrom)."""
        for pod in self.pods_on_node(node):
            meta = pod.get("metadata") or {}
            if meta.get("namespace") != namespace:
                continue
            if vertex == POD:
                if meta.get("name") == name:
                    return True
            elif (vertex, name) in self.references(pod):
                return True
        return False


# -- the authorizer --------------------------------------------------------------------------

class NodeAuthorizer:
    """Authorizes kubelets (NodeAuthorizer.Authorize); no opinion on anyone else.

    ``rules`` are the static rules for resources the authorizer does not
    subdivide (policy.go NodeRules); ``features`` the feature gates
    (``AuthorizeNodeWithSelectors`` turns on the checks of pods and nodes).
    """

    mode = "Node"  # its name in --authorization-mode

    def __init__(self, graph: NodeGraph, rules: Sequence[Mapping[str, Any]] | None = None, *,
                 features: Mapping[str, bool] | None = None) -> None:
        self.graph = graph
        self.rules = list(node_rules() if rules is None else rules)
        self.selectors = (FEATURE_GATES if features is None
                          else features).get("AuthorizeNodeWithSelectors", False)
        self._subdivided: dict[tuple[str, str], Callable[[str, Attributes], Decision]] = {
            ("", "secrets"): lambda node, a: self._read_namespaced(node, SECRET, a),
            ("", "configmaps"): lambda node, a: self._read_namespaced(node, CONFIGMAP, a),
            ("", "persistentvolumeclaims"): self._pvc,
            ("", "persistentvolumes"): lambda node, a: self._get(node, PV, a),
            ("resource.k8s.io", "resourceclaims"):
                lambda node, a: self._get(node, RESOURCE_CLAIM, a),
            ("storage.k8s.io", "volumeattachments"):
                lambda node, a: self._get(node, VOLUME_ATTACHMENT, a),
            ("", "serviceaccounts"): self._create_token,
            ("coordination.k8s.io", "leases"): self._lease,
            ("storage.k8s.io", "csinodes"): self._csinode,
            ("resource.k8s.io", "resourceslices"): self._resource_slice,
        }
        if self.selectors:
            self._subdivided[("", "nodes")] = self._node
            self._subdivided[("", "pods")] = self._pod

    def authorize(self, attrs: Attributes) -> Decision:
        """Allow, or no opinion with the reason (empty when the static rules had none)."""
        node, node_user = node_identity(attrs.user)
        if not node_user:
            return NO_OPINION
        if not node:
            return _no(f"unknown node for user {go_quote(attrs.user.name)}")
        if attrs.resource_request:
            check = self._subdivided.get((attrs.group, attrs.resource))
            if check is not None:
                return check(node, attrs)
        return ALLOW if rules_allow(attrs, self.rules) else NO_OPINION

    # -- the graph checks ------------------------------------------------------------------
    def _related(self, node: str, vertex: str, attrs: Attributes) -> Decision:
        """Allowed if a pod bound to ``node`` leads to the named object (authorize)."""
        if not attrs.name:
            return _no("No Object name found")
        if self.graph.has_path(node, vertex, attrs.namespace, attrs.name):
            return ALLOW
        return _no(f"no relationship found between node '{node}' and this object")

    def _read_namespaced(self, node: str, vertex: str, attrs: Attributes) -> Decision:
        """Secrets and ConfigMaps: get, list or watch one object (authorizeReadNamespacedObject)."""
        if attrs.verb not in ("get", "list", "watch"):
            return _no("can only read resources of this type")
        if attrs.subresource:
            return _no("cannot read subresource")
        if not attrs.namespace:
            return _no("can only read namespaced object of this type")
        return self._related(node, vertex, attrs)

    def _get(self, node: str, vertex: str, attrs: Attributes) -> Decision:
        """Get one related object, no subresource (authorizeGet)."""
        if attrs.verb != "get":
            return _no("can only get individual resources of this type")
        if attrs.subresource:
            return _no("cannot get subresource")
        return self._related(node, vertex, attrs)

    def _pvc(self, node: str, attrs: Attributes) -> Decision:
        """A claim: get it, or update its status (authorizeStatusUpdate), if a pod uses it."""
        if attrs.subresource != "status":
            return self._get(node, PVC, attrs)
        if attrs.verb not in ("update", "patch"):
            return _no("can only get/update/patch this type")
        return self._related(node, PVC, attrs)

    def _create_token(self, node: str, attrs: Attributes) -> Decision:
        """A token for a service account a pod on the node runs as (authorizeCreateToken)."""
        if attrs.verb != "create" or not attrs.name:
            return _no("can only create tokens for individual service accounts")
        if attrs.subresource != "token":
            return _no("can only create token subresource of serviceaccount")
        return self._related(node, SERVICE_ACCOUNT, attrs)

    # -- objects named after the node --------------------------------------------------------
    def _lease(self, node: str, attrs: Attributes) -> Decision:
        """Only the node's own Lease in kube-node-lease (authorizeLease)."""
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a node lease")
        if attrs.namespace != NODE_LEASE_NAMESPACE:
            return _no(f"can only access leases in the {go_quote(NODE_LEASE_NAMESPACE)} "
                       "system namespace")
        # a create has no name yet: NodeRestriction checks the object's
        if attrs.verb != "create" and attrs.name != node:
            return _no("can only access node lease with the same name as the requesting node")
        return ALLOW

    def _csinode(self, node: str, attrs: Attributes) -> Decision:
        """Only the node's own CSINode (authorizeCSINode)."""
        if attrs.verb not in ("get", "create", "update", "patch", "delete"):
            return _no("can only get, create, update, patch, or delete a CSINode")
        if attrs.subresource:
            return _no("cannot authorize CSINode subresources")
        if attrs.verb != "create" and attrs.name != node:
            return _no("can only access CSINode with the same name as the requesting node")
        return ALLOW

    def _resource_slice(self, node: str, attrs: Attributes) -> Decision:
        """The node's own ResourceSlices (authorizeResourceSlice)."""
        if attrs.subresource:
            return _no("cannot authorize ResourceSlice subresources")
        if attrs.verb == "create":
            return ALLOW  # NodeRestriction checks spec.nodeName
        if attrs.verb in ("get", "update", "patch", "delete"):
            return self._related(node, RESOURCE_SLICE, attrs)
        if attrs.verb in ("watch", "list", "deletecollection"):
            if not self.selectors or _selects(attrs, RESOURCE_SLICE_NODE_FIELD, node):
                return ALLOW
            return _no("can only list/watch/deletecollection resourceslices with nodeName "
                       "field selector")
        return _no("only the following verbs are allowed for a ResourceSlice: get, watch, "
                   "list, create, update, patch, delete, deletecollection")

    # -- nodes and pods (AuthorizeNodeWithSelectors) ---------------------------------------
    def _node(self, node: str, attrs: Attributes) -> Decision:
        """Read only its own Node; create, update and status go to NodeRestriction (authorizeNode).

        The name is compared directly, not through the graph, so a kubelet can
        look for its Node before registering it.
        """
        if not attrs.subresource:
            if attrs.verb in ("create", "update", "patch"):
                return ALLOW
            if attrs.verb in ("get", "list", "watch"):
                if attrs.name == node:
                    return ALLOW
                if not attrs.name:
                    return _no(f"node '{node}' cannot read all nodes, only its own Node object")
                return _no(f"node '{node}' cannot read '{attrs.name}', only its own Node object")
        elif attrs.subresource == "status" and attrs.verb in ("update", "patch"):
            return ALLOW
        return NO_OPINION

    def _pod(self, node: str, attrs: Attributes) -> Decision:
        """Read only its own pods; writes go to NodeRestriction (authorizePod)."""
        verb, sub = attrs.verb, attrs.subresource
        if not sub:
            if verb == "get":
                return self._get(node, POD, attrs)
            if verb in ("list", "watch"):
                if _selects(attrs, "spec.nodeName", node):
                    return ALLOW
                if attrs.name:  # one pod, by a metadata.name selector
                    return self._related(node, POD, attrs)
                return _no("can only list/watch pods with spec.nodeName field selector")
            if verb in ("create", "delete"):  # mirror pods
                return ALLOW
        elif sub == "status" and verb in ("update", "patch"):
            return ALLOW
        elif sub == "eviction" and verb == "create":
            return ALLOW
        return NO_OPINION


def _selects(attrs: Attributes, field: str, value: str) -> bool:
    """True if the request's field selector has the term ``field=value`` (selection.Equals)."""
    return (field, "=", value) in attrs.field_selector
