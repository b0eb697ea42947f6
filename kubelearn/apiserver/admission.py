"""Admission: the plugins that may change or refuse a request after authorization.

Each plugin looks at an :class:`AdmissionAttributes` (operation, resource,
namespace, name, the object and the old object, the user). Mutating plugins
run first, in order (``admit``), then -- after validation -- the validating
ones (``validate``), as kube-apiserver runs them (pkg/kubeapiserver/options/
plugins.go AllOrderedPlugins). The plugins served here, in that order:

- :class:`NamespaceLifecycle` -- no new objects in a namespace that does not
  exist or is being terminated; ``default``, ``kube-system`` and
  ``kube-public`` may not be deleted;
- :class:`ServiceAccount` -- a pod runs as the ``default`` service account
  unless it names one, which must exist; its API token is mounted (a mirror
  pod gets nothing, and may name no account and no secret);
- :class:`NodeRestriction` -- a kubelet may change only its own Node and Lease,
  and only pods bound to its node (kubeadm enables it);
- :class:`TaintNodesByCondition` -- a new node starts tainted
  ``node.kubernetes.io/not-ready:NoSchedule`` until the node controller sees it Ready;
- :class:`Priority` -- a pod gets the priority of its PriorityClass (or of the
  ``globalDefault`` class, or 0), and only one class may be the default;
- :class:`DefaultTolerationSeconds` -- a pod tolerates ``not-ready`` and
  ``unreachable`` NoExecute taints for 300 seconds unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelearn.api import Forbidden, NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE, InternalError, go_quote
from kubelearn.api.podrefs import configmap_names, has_claim_volume, secret_names
from kubelearn.api.scheduling import class_priority, default_priority_class
from kubelearn.apiserver.nodeauthz import NODE_LEASE_NAMESPACE, is_mirror_pod, node_identity
from kubelearn.version import FEATURE_GATES

if TYPE_CHECKING:  # pragma: no cover
    import random

    from kubelearn.apiserver.registry import ResourceInfo

# Operations, as admission.Attributes names them.
CREATE, UPDATE, DELETE, CONNECT = "CREATE", "UPDATE", "DELETE", "CONNECT"

# plugin/pkg/admission/defaulttolerationseconds: --default-not-ready-toleration-seconds
# and --default-unreachable-toleration-seconds.
DEFAULT_NOT_READY_TOLERATION_SECONDS = 300
DEFAULT_UNREACHABLE_TOLERATION_SECONDS = 300
TAINT_NOT_READY = "node.kubernetes.io/not-ready"
TAINT_UNREACHABLE = "node.kubernetes.io/unreachable"
# lifecycle admission: the namespaces kube-apiserver refuses to delete.
IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
# serviceaccount admission: where the token lands, and the projected volume's parts.
SERVICE_ACCOUNT_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
TOKEN_EXPIRATION_SECONDS = 3607  # serviceaccount.WarnOnlyBoundTokenExpirationSeconds
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"

Lookup = Callable[[str, str, str], "dict | None"]  # (resource, namespace, name) -> object
Lister = Callable[[str], "list[dict]"]  # cluster-scoped resource -> every object of it


@dataclass
class AdmissionAttributes:
    """What an admission plugin sees of a request (admission.Attributes)."""

    operation: str
    info: ResourceInfo
    namespace: str
    name: str
    obj: dict | None
    old: dict | None = None
    subresource: str = ""
    user: Any = None
    dry_run: bool = False

    @property
    def resource(self) -> str:
        """The resource's plural name."""
        return self.info.resource

    def forbidden(self, why: str) -> Forbidden:
        """admission.NewForbidden: ``pods "x" is forbidden: <why>``."""
        name = self.name
        if not name and self.obj is not None:
            meta = self.obj.get("metadata") or {}
            name = meta.get("name") or meta.get("generateName") or ""
        return Forbidden(self.info.resource, name or "Unknown", why, self.info.group)


class AdmissionPlugin:
    """A plugin: ``admit`` may change the object, ``validate`` may only refuse it."""

    name = ""
    mutating = False
    validating = False

    def handles(self, a: AdmissionAttributes) -> bool:
        """True if the plugin looks at this request at all."""
        return True

    def admit(self, a: AdmissionAttributes) -> None:
        """Change ``a.obj`` or refuse the request (mutating phase)."""

    def validate(self, a: AdmissionAttributes) -> None:
        """Refuse the request, changing nothing (validating phase)."""


def _is_pod_create(a: AdmissionAttributes) -> bool:
    return a.operation == CREATE and a.info.resource == "pods" and not a.subresource \
        and a.obj is not None


class NamespaceLifecycle(AdmissionPlugin):
    """No content in missing or terminating namespaces; some namespaces never die."""

    name, mutating = "NamespaceLifecycle", True

    def __init__(self, lookup: Lookup, immortal: Iterable[str] = IMMORTAL_NAMESPACES) -> None:
        self.lookup = lookup
        self.immortal = set(immortal)

    def admit(self, a: AdmissionAttributes) -> None:
        """lifecycle/admission.go Admit."""
        if a.info.resource == "namespaces":
            if a.operation == DELETE and a.name in self.immortal:
                raise a.forbidden("this namespace may not be deleted")
            return
        if not a.namespace or a.operation == DELETE:
            return
        if a.info.resource in ("localsubjectaccessreviews",):
            return
        try:
            namespace = self.lookup("namespaces", "", a.namespace)
        except StatusError as err:  # the live lookup failed: errors.NewInternalError
            raise InternalError(err) from None
        if namespace is None:
            raise NotFound("namespaces", a.namespace)
        if a.operation == CREATE and (namespace.get("status") or {}).get("phase") == \
                "Terminating":
            err = a.forbidden(f"unable to create new content in namespace {a.namespace} "
                              "because it is being terminated")
            err.details = dict(err.details or {})
            err.details["causes"] = [{"reason": NAMESPACE_TERMINATING_CAUSE,
                                      "message": f"namespace {a.namespace} is being terminated",
                                      "field": "metadata.namespace"}]
            raise err


class ServiceAccount(AdmissionPlugin):
    """Pods run as a service account that exists; its token is mounted into them."""

    name, mutating, validating = "ServiceAccount", True, True

    def __init__(self, lookup: Lookup, rng: random.Random) -> None:
        self.lookup = lookup
        self.rng = rng

    def handles(self, a: AdmissionAttributes) -> bool:
        return _is_pod_create(a)

    def _account(self, a: AdmissionAttributes, spec: dict) -> dict:
        """getServiceAccount; any failure, not only a missing account, is a 403 (v1.32)."""
        name = spec["serviceAccountName"]
        try:
            account = self.lookup("serviceaccounts", a.namespace, name)
        except StatusError as err:  # the live lookup's GET failed
            raise a.forbidden(f"error looking up service account {a.namespace}/{name}: "
                              f"{err}") from None
        if account is None:
            raise a.forbidden(f"error looking up service account {a.namespace}/{name}: "
                              f"serviceaccount {go_quote(name)} not found")
        return account

    def admit(self, a: AdmissionAttributes) -> None:
        """serviceaccount/admission.go Admit: default account, token volume and mounts.

        A mirror pod is left as the kubelet wrote it (changing its spec would make
        the kubelet delete it again), but checked: it may not use the API.
        """
        if is_mirror_pod(a.obj or {}):
            self.validate(a)
            return
        spec = a.obj.setdefault("spec", {})  # type: ignore[union-attr]
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = "default"
        account = self._account(a, spec)
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken")
        if automount is False:
            return
        containers = [c for f in ("initContainers", "containers") for c in spec.get(f) or ()
                      if isinstance(c, dict)]
        if any(m.get("mountPath") == SERVICE_ACCOUNT_MOUNT_PATH
               for c in containers for m in c.get("volumeMounts") or () if isinstance(m, dict)):
            return
        volume = "kube-api-access-" + "".join([self.rng.choice(NAME_ALPHABET) for _ in range(5)])
        spec.setdefault("volumes", []).append({"name": volume, "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                         "path": "token"}},
                {"configMap": {"name": ROOT_CA_CONFIGMAP,
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
        for container in containers:
            container.setdefault("volumeMounts", []).append(
                {"name": volume, "readOnly": True, "mountPath": SERVICE_ACCOUNT_MOUNT_PATH})

    def validate(self, a: AdmissionAttributes) -> None:
        """The account a pod names must exist; a mirror pod may name none, nor secrets."""
        pod = a.obj or {}
        if not is_mirror_pod(pod):
            self._account(a, pod.get("spec") or {})
            return
        spec = pod.get("spec") or {}
        if spec.get("serviceAccountName"):
            raise a.forbidden("a mirror pod may not reference service accounts")
        if secret_names(pod):
            raise a.forbidden("a mirror pod may not reference secrets")
        for volume in spec.get("volumes") or ():
            sources = ((volume or {}).get("projected") or {}).get("sources") or ()
            if any(isinstance(s, dict) and s.get("serviceAccountToken") is not None
                   for s in sources):
                raise a.forbidden("a mirror pod may not use ServiceAccountToken volume "
                                  "projections")


# -- NodeRestriction -------------------------------------------------------------------------

# k8s.io/api core/v1 LabelNamespaceNodeRestriction: labels a kubelet may never set itself,
# so an admin can steer workloads by them.
LABEL_NAMESPACE_NODE_RESTRICTION = "node-restriction.kubernetes.io"
# k8s.io/kubelet pkg/apis well_known_labels.go (v1.32): the kubernetes.io and k8s.io labels a
# kubelet may set on its own Node, and the label namespaces it may use freely.
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")


def _label_namespace(key: str) -> str:
    prefix, slash, _ = key.partition("/")
    return prefix if slash else ""


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def is_kubelet_label(key: str) -> bool:
    """True if a kubelet may set this label on its own Node (IsKubeletLabel)."""
    namespace = _label_namespace(key)
    return key in KUBELET_LABELS or any(_in_namespace(namespace, allowed)
                                        for allowed in KUBELET_LABEL_NAMESPACES)


def forbidden_node_labels(new: Mapping[str, Any] | None, old: Mapping[str, Any] | None
                          ) -> list[str]:
    """The added, removed or changed labels a kubelet may not touch, sorted (getForbiddenLabels).

    ``node-restriction.kubernetes.io/`` labels, and ``kubernetes.io`` or ``k8s.io``
    ones that are not kubelet labels: they would let a node steer workloads to itself.
    """
    new, old = dict(new or {}), dict(old or {})
    modified = {k for k in new.keys() | old.keys() if new.get(k) != old.get(k) or
                (k in new) != (k in old)}
    forbidden = []
    for key in modified:
        namespace = _label_namespace(key)
        kubernetes = _in_namespace(namespace, "kubernetes.io") or _in_namespace(namespace,
                                                                                 "k8s.io")
        if _in_namespace(namespace, LABEL_NAMESPACE_NODE_RESTRICTION) or (
                kubernetes and not is_kubelet_label(key)):
            forbidden.append(key)
    return sorted(forbidden)


def _meta(obj: Mapping[str, Any] | None) -> Mapping[str, Any]:
    meta = (obj or {}).get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _node_name(pod: Mapping[str, Any] | None) -> str:
    return str(((pod or {}).get("spec") or {}).get("nodeName") or "")


class NodeRestriction(AdmissionPlugin):
    """A kubelet may write only its own Node, its own Lease and pods bound to its node.

    plugin/pkg/admission/noderestriction (v1.32), which kube-apiserver does not
    enable by default but kubeadm does (``--enable-admission-plugins=NodeRestriction``).
    The Node authorizer lets a kubelet create, update and delete pods and nodes
    without knowing which: the object is only known here. For a user that is a
    node (:func:`~kubelearn.apiserver.nodeauthz.node_identity`):

    - **pods** -- create only *mirror* pods (annotation ``kubernetes.io/config.mirror``)
      bound to itself, owned by its Node, naming no service account, secret,
      configmap, cluster trust bundle or claim; delete, update status and evict
      only pods bound to itself, and change no labels through status;
    - **nodes** -- only its own; no ``configSource``, no change of taints, no
      labels outside the kubelet's own (:func:`forbidden_node_labels`);
    - **leases** -- only its own, in ``kube-node-lease``; **csinodes** likewise;
    - **persistentvolumeclaims** -- only their status, and in it only capacity,
      conditions and the allocated resources;
    - **serviceaccounts/token** -- only bound to a pod on its node.

    Every refusal is admission's 403 (admission.NewForbidden), named after the
    object in the request, or ``"Unknown"`` when it has none (a delete).
    Departure: a PVC status refusal lists the fields that changed where
    upstream prints go-cmp's diff of the two objects.
    """

    name, mutating = "NodeRestriction", True

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup  # the pod and node informers' listers, upstream

    def handles(self, a: AdmissionAttributes) -> bool:
        return a.operation in (CREATE, UPDATE, DELETE) and a.user is not None \
            and node_identity(a.user)[1]

    @staticmethod
    def forbidden(a: AdmissionAttributes, why: str) -> Forbidden:
        """admission.NewForbidden: named after the request's object, else ``Unknown``."""
        meta = _meta(a.obj)
        name = meta.get("name") or meta.get("generateName") or "Unknown"
        return Forbidden(a.info.resource, name, why, a.info.group)

    def admit(self, a: AdmissionAttributes) -> None:
        """Admit: route by resource; anything else a node writes is not this plugin's."""
        node, _ = node_identity(a.user)
        if not node:
            raise self.forbidden(a, f"could not determine node from user "
                                    f"{go_quote(a.user.name)}")
        check = {("", "pods"): self._pods, ("", "nodes"): self._node,
                 ("", "persistentvolumeclaims"): self._pvc,
                 ("", "serviceaccounts"): self._token,
                 ("coordination.k8s.io", "leases"): self._lease,
                 ("storage.k8s.io", "csinodes"): self._csinode}.get((a.info.group,
                                                                     a.info.resource))
        if check is not None:
            check(node, a)

    def _existing_pod(self, a: AdmissionAttributes, name: str) -> Mapping[str, Any]:
        """The pod as the lister has it; its NotFound if it is gone."""
        pod = self.lookup("pods", a.namespace, name)
        if pod is None:
            raise NotFound("pods", name)
        return pod

    # -- pods ------------------------------------------------------------------------------
    def _pods(self, node: str, a: AdmissionAttributes) -> None:
        if a.subresource == "status":
            self._pod_status(node, a)
        elif a.subresource == "eviction":
            self._eviction(node, a)
        elif a.subresource:
            raise self.forbidden(a, f"unexpected pod subresource {go_quote(a.subresource)}, "
                                    "only 'status' and 'eviction' are allowed")
        elif a.operation == CREATE:
            self._mirror_pod(node, a)
        elif a.operation == DELETE:
            if _node_name(self._existing_pod(a, a.name)) != node:
                raise self.forbidden(a, f"node {go_quote(node)} can only delete pods with "
                                        "spec.nodeName set to itself")
        else:
            raise self.forbidden(a, f"unexpected operation {go_quote(a.operation)}, node "
                                    f"{go_quote(node)} can only create and delete mirror pods")

    def _mirror_pod(self, node: str, a: AdmissionAttributes) -> None:
        """admitPodCreate: a mirror pod of this node, owned by it, using nothing of the API."""
        pod, q = a.obj or {}, go_quote(node)
        if not is_mirror_pod(pod):
            raise self.forbidden(a, 'pod does not have "kubernetes.io/config.mirror" '
                                    f"annotation, node {q} can only create mirror pods")
        if _node_name(pod) != node:
            raise self.forbidden(a, f"node {q} can only create pods with spec.nodeName set to "
                                    "itself")
        self._mirror_pod_owner(node, a)
        spec = pod.get("spec") or {}
        if spec.get("serviceAccountName"):
            raise self.forbidden(a, f"node {q} can not create pods that reference a service "
                                    "account")
        if secret_names(pod):
            raise self.forbidden(a, f"node {q} can not create pods that reference secrets")
        if configmap_names(pod):
            raise self.forbidden(a, f"node {q} can not create pods that reference configmaps")
        for volume in spec.get("volumes") or ():
            sources = ((volume or {}).get("projected") or {}).get("sources") or ()
            if any(isinstance(s, dict) and s.get("clusterTrustBundle") is not None
                   for s in sources):
                raise self.forbidden(a, f"node {q} can not create pods that reference "
                                        "clustertrustbundles")
        if has_claim_volume(pod):
            raise self.forbidden(a, f"node {q} can not create pods that reference "
                                    "persistentvolumeclaims")

    def _mirror_pod_owner(self, node: str, a: AdmissionAttributes) -> None:
        """A mirror pod has one owner: its Node, as controller, not blocking deletion."""
        q = go_quote(node)
        owners = _meta(a.obj).get("ownerReferences") or []
        if len(owners) > 1:
            raise self.forbidden(a, f"node {q} can only create pods with a single owner "
                                    "reference set to itself")
        owner = owners[0] if owners and isinstance(owners[0], Mapping) else {}
        if not owners or (owner.get("apiVersion"), owner.get("kind"), owner.get("name")) != \
                ("v1", "Node", node):
            raise self.forbidden(a, f"node {q} can only create pods with an owner reference "
                                    "set to itself")
        if owner.get("controller") is not True:
            raise self.forbidden(a, f"node {q} can only create pods with a controller owner "
                                    "reference set to itself")
        if owner.get("blockOwnerDeletion") is True:
            raise self.forbidden(a, f"node {q} must not set blockOwnerDeletion on an owner "
                                    "reference")
        registered = self.lookup("nodes", "", node)
        if registered is None:
            raise NotFound("nodes", node)
        uid = _meta(registered).get("uid") or ""
        if owner.get("uid") != uid:
            raise self.forbidden(a, f"node {node} UID mismatch: expected {owner.get('uid') or ''}"
                                    f" got {uid}")

    def _pod_status(self, node: str, a: AdmissionAttributes) -> None:
        """admitPodStatus: only pods bound to this node; no relabelling through status."""
        if a.operation != UPDATE:
            raise self.forbidden(a, f"unexpected operation {go_quote(a.operation)}")
        q = go_quote(node)
        if _node_name(a.old) != node:
            raise self.forbidden(a, f"node {q} can only update pod status for pods with "
                                    "spec.nodeName set to itself")
        if (_meta(a.obj).get("labels") or {}) != (_meta(a.old).get("labels") or {}):
            raise self.forbidden(a, f"node {q} cannot update labels through pod status")
        claims = [((a.obj or {}).get("status") or {}).get("resourceClaimStatuses") or [],
                  ((a.old or {}).get("status") or {}).get("resourceClaimStatuses") or []]
        if claims[0] != claims[1]:  # upstream's spelling
            raise self.forbidden(a, f"node {q} cannot update resource claim statues")

    def _eviction(self, node: str, a: AdmissionAttributes) -> None:
        """admitPodEviction: evict only pods bound to this node."""
        if a.operation != CREATE:
            raise self.forbidden(a, f"unexpected operation {a.operation}")
        name = a.name or _meta(a.obj).get("name") or ""
        if not name:
            raise self.forbidden(a, "could not determine pod from request data")
        if _node_name(self._existing_pod(a, name)) != node:
            raise self.forbidden(a, f"node {node} can only evict pods with spec.nodeName set "
                                    "to itself")

    # -- nodes -----------------------------------------------------------------------------
    def _node(self, node: str, a: AdmissionAttributes) -> None:
        """admitNode: its own Node only; no configSource, taints or restricted labels."""
        q = go_quote(node)
        if a.name != node:
            raise self.forbidden(a, f"node {q} is not allowed to modify node {go_quote(a.name)}")
        new_spec = (a.obj or {}).get("spec") or {}
        labels = _meta(a.obj).get("labels")
        if a.operation == CREATE:
            if new_spec.get("configSource") is not None:
                raise self.forbidden(a, f"node {q} is not allowed to create pods with a non-nil "
                                        "configSource")
            if forbidden := forbidden_node_labels(labels, None):
                raise self.forbidden(a, f"node {q} is not allowed to set the following labels: "
                                        f"{', '.join(forbidden)}")
        elif a.operation == UPDATE:
            old_spec = (a.old or {}).get("spec") or {}
            if a.subresource == "status":  # the body kept only status; the spec stays as stored
                new_spec = old_spec
            source = new_spec.get("configSource")
            if source is not None and source != old_spec.get("configSource"):
                raise self.forbidden(a, f"node {q} is not allowed to update configSource to a "
                                        "new non-nil configSource")
            if (new_spec.get("taints") or []) != (old_spec.get("taints") or []):
                raise self.forbidden(a, f"node {q} is not allowed to modify taints")
            if forbidden := forbidden_node_labels(labels, _meta(a.old).get("labels")):
                raise self.forbidden(a, f"is not allowed to modify labels: {', '.join(forbidden)}")

    # -- what is named after the node ------------------------------------------------------
    def _lease(self, node: str, a: AdmissionAttributes) -> None:
        """admitLease: its own Lease in kube-node-lease (on create, the object's name)."""
        if a.namespace != NODE_LEASE_NAMESPACE:
            raise self.forbidden(a, f"can only access leases in the "
                                    f"{go_quote(NODE_LEASE_NAMESPACE)} system namespace")
        name = _meta(a.obj).get("name") if a.operation == CREATE else a.name
        if name != node:
            raise self.forbidden(a, "can only access node lease with the same name as the "
                                    "requesting node")

    def _csinode(self, node: str, a: AdmissionAttributes) -> None:
        """admitCSINode: its own CSINode."""
        name = _meta(a.obj).get("name") if a.operation == CREATE else a.name
        if name != node:
            raise self.forbidden(a, "can only access CSINode with the same name as the "
                                    "requesting node")

    def _pvc(self, node: str, a: AdmissionAttributes) -> None:
        """admitPVCStatus: a claim's status, and in it only capacity, conditions, allocations."""
        if a.subresource != "status":
            raise self.forbidden(a, "may only update PVC status")
        if a.operation != UPDATE:
            raise self.forbidden(a, f"unexpected operation {go_quote(a.operation)}")
        ignored = ["capacity", "conditions"]
        if FEATURE_GATES["RecoverVolumeExpansionFailure"]:
            ignored += ["allocatedResourceStatuses", "allocatedResources"]
        changed = _changed_fields(a.obj or {}, a.old or {}, ignored)
        if changed:
            raise self.forbidden(a, f"node {go_quote(node)} is not allowed to update fields "
                                    f"other than status.quantity and status.conditions: "
                                    f"{', '.join(changed)}")

    def _token(self, node: str, a: AdmissionAttributes) -> None:
        """admitServiceAccount: a TokenRequest bound to a pod on this node."""
        if a.operation != CREATE or a.subresource != "token":
            return
        ref = ((a.obj or {}).get("spec") or {}).get("boundObjectRef") or {}
        if (ref.get("apiVersion"), ref.get("kind")) != ("v1", "Pod") or not ref.get("name"):
            raise self.forbidden(a, "node requested token not bound to a pod")
        if not ref.get("uid"):
            raise self.forbidden(a, "node requested token with a pod binding without a uid")
        pod = self._existing_pod(a, ref["name"])
        if ref["uid"] != _meta(pod).get("uid"):
            raise self.forbidden(a, f"the UID in the bound object reference ({ref['uid']}) does "
                                    "not match the UID in record. The object might have been "
                                    "deleted and then recreated")
        if _node_name(pod) != node:
            raise self.forbidden(a, "node requested token bound to a pod scheduled on a "
                                    "different node")


def _changed_fields(new: Mapping[str, Any], old: Mapping[str, Any],
                    ignored_status: Sequence[str]) -> list[str]:
    """The top-level fields (``metadata.labels``, ``status.phase``...) that differ.

    resourceVersion and managedFields do not count, nor the ``ignored_status`` fields.
    """
    def parts(obj: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for section, value in obj.items():
            if isinstance(value, Mapping):
                for key, inner in value.items():
                    out[f"{section}.{key}"] = inner
            else:
                out[section] = value
        for skip in ("metadata.resourceVersion", "metadata.managedFields",
                     *(f"status.{f}" for f in ignored_status)):
            out.pop(skip, None)
        return out

    a, b = parts(new), parts(old)
    return sorted(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


class TaintNodesByCondition(AdmissionPlugin):
    """A node is created tainted not-ready:NoSchedule (nodetaint/admission.go)."""

    name, mutating = "TaintNodesByCondition", True

    def handles(self, a: AdmissionAttributes) -> bool:
        return a.operation == CREATE and a.info.resource == "nodes" and not a.subresource

    def admit(self, a: AdmissionAttributes) -> None:
        spec = a.obj.setdefault("spec", {})  # type: ignore[union-attr]
        taints = spec.setdefault("taints", [])
        if not any(t.get("key") == TAINT_NOT_READY and t.get("effect") == "NoSchedule"
                   for t in taints if isinstance(t, dict)):
            taints.append({"key": TAINT_NOT_READY, "effect": "NoSchedule"})


class Priority(AdmissionPlugin):
    """Pods get the priority of their PriorityClass; only one class may be the default.

    plugin/pkg/admission/priority/admission.go (v1.32). On a pod's create,
    ``spec.priorityClassName`` -- or, when it names none, the ``globalDefault``
    class, or no class and priority 0 -- gives ``spec.priority`` and
    ``spec.preemptionPolicy``; a pod may not ask for other values itself. On a
    PriorityClass's create or update, a second ``globalDefault`` is refused.
    """

    name, mutating, validating = "Priority", True, True

    def __init__(self, lister: Lister) -> None:
        self.lister = lister  # the priority class informer's lister, upstream

    def handles(self, a: AdmissionAttributes) -> bool:
        return a.info.resource in ("pods", "priorityclasses") and not a.subresource \
            and a.operation in (CREATE, UPDATE) and a.obj is not None

    def admit(self, a: AdmissionAttributes) -> None:
        """Admit: resolve a new pod's priority; an update keeps the one the pod has."""
        if a.info.resource != "pods":
            return
        spec = a.obj.setdefault("spec", {})  # type: ignore[union-attr]
        if a.operation == UPDATE:
            old_spec = (a.old or {}).get("spec") or {}
            for field in ("priority", "preemptionPolicy"):
                if spec.get(field) is None and old_spec.get(field) is not None:
                    spec[field] = old_spec[field]
            return
        class_name = spec.get("priorityClassName") or ""
        if not class_name:
            pc = self.default_priority_class()
            if pc:
                spec["priorityClassName"] = pc["metadata"]["name"]
        else:
            pc = self._get(class_name)
            if pc is None:
                raise a.forbidden(f"no PriorityClass with name {class_name} was found")
        priority, policy = class_priority(pc)
        if spec.get("priority") is not None and spec["priority"] != priority:
            raise a.forbidden(f"the integer value of priority ({spec['priority']}) must not be "
                              f"provided in pod spec; priority admission controller computed "
                              f"{priority} from the given PriorityClass name")
        spec["priority"] = priority
        if policy is not None:
            if spec.get("preemptionPolicy") is not None and spec["preemptionPolicy"] != policy:
                raise a.forbidden(f"the string value of PreemptionPolicy "
                                  f"({spec['preemptionPolicy']}) must not be provided in pod "
                                  f"spec; priority admission controller computed {policy} from "
                                  f"the given PriorityClass name")
            spec["preemptionPolicy"] = policy

    def validate(self, a: AdmissionAttributes) -> None:
        """validatePriorityClass: no second globalDefault class."""
        pc = a.obj or {}
        if a.info.resource != "priorityclasses" or pc.get("globalDefault") is not True:
            return
        default = self.default_priority_class()
        if default is None:
            return
        default_name = default["metadata"]["name"]
        if a.operation == CREATE or default_name != pc["metadata"].get("name"):
            raise a.forbidden(f"PriorityClass {default_name} is already marked as default. Only "
                              "one default can exist")

    def default_priority_class(self) -> Mapping[str, Any] | None:
        """getDefaultPriorityClass: the globalDefault class; of several (a race), the lowest."""
        return default_priority_class(self.lister("priorityclasses"))

    def _get(self, name: str) -> dict | None:
        """The lister's Get: the class named ``name``, or None."""
        for pc in self.lister("priorityclasses"):
            if pc["metadata"].get("name") == name:
                return pc
        return None


class DefaultTolerationSeconds(AdmissionPlugin):
    """Tolerate not-ready and unreachable for 300s unless the pod already tolerates them."""

    name, mutating = "DefaultTolerationSeconds", True

    def __init__(self, not_ready: int = DEFAULT_NOT_READY_TOLERATION_SECONDS,
                 unreachable: int = DEFAULT_UNREACHABLE_TOLERATION_SECONDS) -> None:
        self.not_ready = not_ready
        self.unreachable = unreachable

    def handles(self, a: AdmissionAttributes) -> bool:
        return _is_pod_create(a)

    def admit(self, a: AdmissionAttributes) -> None:
        """defaulttolerationseconds/admission.go Admit."""
        spec = a.obj.setdefault("spec", {})  # type: ignore[union-attr]
        tolerations = spec.get("tolerations") or []
        not_ready = unreachable = False
        for t in tolerations:
            if not isinstance(t, dict):
                continue
            key, effect = t.get("key") or "", t.get("effect") or ""
            if effect in ("NoExecute", ""):
                not_ready = not_ready or key in (TAINT_NOT_READY, "")
                unreachable = unreachable or key in (TAINT_UNREACHABLE, "")
        added = []
        if not not_ready:
            added.append({"key": TAINT_NOT_READY, "operator": "Exists", "effect": "NoExecute",
                          "tolerationSeconds": self.not_ready})
        if not unreachable:
            added.append({"key": TAINT_UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                          "tolerationSeconds": self.unreachable})
        if added:
            spec["tolerations"] = [*tolerations, *added]


class Admission:
    """The ordered chain of plugins: every mutating one, then every validating one."""

    def __init__(self, plugins: Sequence[AdmissionPlugin]) -> None:
        self.plugins = list(plugins)

    @property
    def names(self) -> list[str]:
        """The plugin names, in the order they run."""
        return [p.name for p in self.plugins]

    def admit(self, a: AdmissionAttributes) -> None:
        """The mutating phase."""
        for plugin in self.plugins:
            if plugin.mutating and plugin.handles(a):
                plugin.admit(a)

    def validate(self, a: AdmissionAttributes) -> None:
        """The validating phase."""
        for plugin in self.plugins:
            if plugin.validating and plugin.handles(a):
                plugin.validate(a)


def default_plugins(lookup: Lookup, rng: random.Random, disabled: Iterable[str] = (), *,
                    lister: Lister) -> list[AdmissionPlugin]:
    """kube-apiserver's default plugins that matter here, in upstream's order.

    ``lookup`` reads one object and ``lister`` all of a cluster-scoped resource,
    as the plugins' informers would (they hand out shared objects: read only).
    """
    plugins: list[AdmissionPlugin] = [NamespaceLifecycle(lookup), ServiceAccount(lookup, rng),
                                      NodeRestriction(lookup), TaintNodesByCondition(),
                                      Priority(lister), DefaultTolerationSeconds()]
    off = set(disabled)
    unknown = off - {p.name for p in plugins}
    if unknown:
        raise StatusError(f"unknown admission plugins: {sorted(unknown)}", code=400,
                          reason="BadRequest")
    return [p for p in plugins if p.name not in off]
