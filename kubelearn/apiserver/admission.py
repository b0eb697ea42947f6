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
  unless it names one, which must exist; its API token is mounted;
- :class:`TaintNodesByCondition` -- a new node starts tainted
  ``node.kubernetes.io/not-ready:NoSchedule`` until the node controller sees it Ready;
- :class:`Priority` -- a pod gets the priority of its PriorityClass (or of the
  ``globalDefault`` class, or 0), and only one class may be the default;
- :class:`DefaultTolerationSeconds` -- a pod tolerates ``not-ready`` and
  ``unreachable`` NoExecute taints for 300 seconds unless it says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubelearn.api import Forbidden, NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE, go_quote
from kubelearn.api.scheduling import (
    DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
    PREEMPT_LOWER_PRIORITY,
)

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
        namespace = self.lookup("namespaces", "", a.namespace)
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
        name = spec["serviceAccountName"]
        account = self.lookup("serviceaccounts", a.namespace, name)
        if account is None:
            raise a.forbidden(f"error looking up service account {a.namespace}/{name}: "
                              f"serviceaccount {go_quote(name)} not found")
        return account

    def admit(self, a: AdmissionAttributes) -> None:
        """serviceaccount/admission.go Admit: default account, token volume and mounts."""
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
        volume = "kube-api-access-" + "".join(self.rng.choice(NAME_ALPHABET) for _ in range(5))
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
        """The account a pod names must exist."""
        self._account(a, a.obj.get("spec") or {})  # type: ignore[union-attr]


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
            priority = pc["value"] if pc else DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS
            policy = pc.get("preemptionPolicy") if pc else PREEMPT_LOWER_PRIORITY
            if pc:
                spec["priorityClassName"] = pc["metadata"]["name"]
        else:
            pc = self._get(class_name)
            if pc is None:
                raise a.forbidden(f"no PriorityClass with name {class_name} was found")
            priority, policy = pc.get("value", 0), pc.get("preemptionPolicy")
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

    def default_priority_class(self) -> dict | None:
        """getDefaultPriorityClass: the globalDefault class; of several (a race), the lowest."""
        default = None
        for pc in self.lister("priorityclasses"):
            if pc.get("globalDefault") is True and (
                    default is None or pc.get("value", 0) < default.get("value", 0)):
                default = pc
        return default

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
                                      TaintNodesByCondition(), Priority(lister),
                                      DefaultTolerationSeconds()]
    off = set(disabled)
    unknown = off - {p.name for p in plugins}
    if unknown:
        raise StatusError(f"unknown admission plugins: {sorted(unknown)}", code=400,
                          reason="BadRequest")
    return [p for p in plugins if p.name not in off]
