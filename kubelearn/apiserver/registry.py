"""The resource registry: one table row per resource the API server serves.

Each :class:`ResourceInfo` says what discovery says about a resource (group,
version, kind, plural and singular names, scope, short names, verbs,
subresources, categories) and the few facts of its registry strategy that
storage needs (does ``status`` reset on create, what counts as the spec for
``metadata.generation``, graceful deletion, a TTL, what DELETE returns).
Adding a resource is adding a row to :data:`RESOURCES`.

Names, short names and subresources follow upstream's discovery documents
(``kubectl api-resources`` on a v1.32 cluster) and pkg/registry/*/*/storage.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from kubelearn.api import StatusError
from kubelearn.version import since

# The verbs of an ordinary stored resource, as discovery lists them.
STANDARD_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update",
                  "watch")

SpecOf = Callable[[Mapping[str, Any]], Any]


def _spec(obj: Mapping[str, Any]) -> Any:
    """What a strategy compares to decide whether ``metadata.generation`` moves: ``spec``."""
    return obj.get("spec")


def _spec_and_annotations(obj: Mapping[str, Any]) -> Any:
    """deploymentStrategy: spec and annotations (which the controller copies to ReplicaSets)."""
    return (obj.get("spec"), (obj.get("metadata") or {}).get("annotations") or {})


def _never(obj: Mapping[str, Any]) -> Any:
    """A strategy whose generation is 1 on create and never moves (priorityClassStrategy)."""
    return None


def _endpointslice_spec(obj: Mapping[str, Any]) -> Any:
    """EndpointSlice strategy: everything but metadata counts as the spec, and the labels.

    endpointSliceStrategy.PrepareForUpdate moves the generation when the slice
    outside its metadata, or its labels, are not Semantic.DeepEqual to before
    -- a label change, too, is news for the controller that owns the slice.
    """
    return {"endpoints": obj.get("endpoints"), "ports": obj.get("ports"),
            "addressType": obj.get("addressType"),
            "labels": (obj.get("metadata") or {}).get("labels")}


@dataclass(frozen=True)
class ResourceInfo:
    """One served resource: its discovery entry and its storage strategy."""

    group: str
    version: str
    kind: str
    resource: str  # plural, as in URLs and etcd keys
    singular: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = STANDARD_VERBS
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    # -- strategy ---------------------------------------------------------------------------------
    reset_status_on_create: bool = False  # PrepareForCreate clears status
    generation: SpecOf | None = None  # generation 1 on create, +1 when this changes
    # (compared as Semantic.DeepEqual compares: kubelearn.api.equality)
    graceful: bool = False  # CheckGracefulDelete (pods)
    ttl: int = 0  # seconds; objects live on an etcd lease (events: --event-ttl)
    return_deleted_object: bool = False  # DELETE answers the object, else a Status
    stored: bool = True  # False: create-only reviews, never written to etcd
    replicas_path: tuple[str, ...] = ()  # where the scale subresource reads replicas

    @property
    def api_version(self) -> str:
        """``v1`` or ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """The kind of a list of these: ``PodList``."""
        return f"{self.kind}List"

    @property
    def qualified(self) -> str:
        """``pods`` or ``deployments.apps``, as error messages name the resource."""
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def has_status(self) -> bool:
        """True if ``status`` is a subresource: the main resource then ignores status."""
        return "status" in self.subresources

    def names(self) -> tuple[str, ...]:
        """Every name this resource answers to on the command line."""
        return (self.resource, self.singular, self.kind.lower(), *self.short_names)


def _row(group: str, kind: str, resource: str, namespaced: bool = True, **more: Any
         ) -> ResourceInfo:
    """A table row with upstream's usual version (v1) and singular name (lowercased kind)."""
    return ResourceInfo(group=group, version=more.pop("version", "v1"), kind=kind,
                        resource=resource, singular=kind.lower(), namespaced=namespaced,
                        **more)


RBAC = "rbac.authorization.k8s.io"

RESOURCES: tuple[ResourceInfo, ...] = (
    # core/v1 ---------------------------------------------------------------------
    _row("", "Namespace", "namespaces", False, short_names=("ns",),
         verbs=("create", "delete", "get", "list", "patch", "update", "watch"),
         subresources=("finalize", "status"), reset_status_on_create=True),
    # No metadata.generation on pods in v1.32: the pod strategy sets it from v1.33 (KEP-5067).
    _row("", "Pod", "pods", short_names=("po",), subresources=("binding", "eviction", "status"),
         categories=("all",), reset_status_on_create=True, graceful=True,
         return_deleted_object=True, generation=_spec if since(33) else None),
    _row("", "Node", "nodes", False, short_names=("no",), subresources=("status",)),
    _row("", "Service", "services", short_names=("svc",), subresources=("status",),
         categories=("all",), reset_status_on_create=True, return_deleted_object=True),
    _row("", "Endpoints", "endpoints", short_names=("ep",)),
    _row("", "Event", "events", short_names=("ev",),
         ttl=3600),  # kube-apiserver --event-ttl 1h
    _row("", "ConfigMap", "configmaps", short_names=("cm",)),
    _row("", "Secret", "secrets"),
    _row("", "ServiceAccount", "serviceaccounts", short_names=("sa",),
         return_deleted_object=True),
    # Stored and validated; no provisioner binds them (kubelearn models no storage).
    _row("", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",),
         subresources=("status",), reset_status_on_create=True),
    # apps/v1 -----------------------------------------------------------------------
    _row("apps", "Deployment", "deployments", short_names=("deploy",),
         subresources=("scale", "status"), categories=("all",), reset_status_on_create=True,
         generation=_spec_and_annotations, replicas_path=("spec", "replicas")),
    _row("apps", "ReplicaSet", "replicasets", short_names=("rs",),
         subresources=("scale", "status"), categories=("all",), reset_status_on_create=True,
         generation=_spec, replicas_path=("spec", "replicas")),
    # discovery.k8s.io, coordination.k8s.io ------------------------------------------
    _row("discovery.k8s.io", "EndpointSlice", "endpointslices", generation=_endpointslice_spec),
    _row("coordination.k8s.io", "Lease", "leases"),
    # scheduling.k8s.io/v1 ---------------------------------------------------------------
    _row("scheduling.k8s.io", "PriorityClass", "priorityclasses", False, short_names=("pc",),
         generation=_never),
    # policy/v1: PodDisruptionBudgets (status written by the disruption controller) -------
    _row("policy", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",),
         subresources=("status",), reset_status_on_create=True, generation=_spec),
    # rbac.authorization.k8s.io/v1 ------------------------------------------------------
    _row(RBAC, "Role", "roles"),
    _row(RBAC, "ClusterRole", "clusterroles", False),
    _row(RBAC, "RoleBinding", "rolebindings"),
    _row(RBAC, "ClusterRoleBinding", "clusterrolebindings", False),
    # authorization.k8s.io/v1: asked, answered, never stored ---------------------------
    _row("authorization.k8s.io", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False,
         verbs=("create",), stored=False),
)


class Registry:
    """The served resources, found by group and any of their names."""

    def __init__(self, resources: Iterable[ResourceInfo] = RESOURCES) -> None:
        self._all = tuple(resources)
        self._by_group: dict[tuple[str, str], ResourceInfo] = {}
        self._by_name: dict[str, list[ResourceInfo]] = {}
        self._by_kind: dict[tuple[str, str], ResourceInfo] = {}
        for info in self._all:
            self._by_group[(info.group, info.resource)] = info
            self._by_kind[(info.api_version, info.kind)] = info
            for name in dict.fromkeys(info.names()):
                self._by_name.setdefault(name, []).append(info)

    def __iter__(self) -> Iterator[ResourceInfo]:
        return iter(self._all)

    def __len__(self) -> int:
        return len(self._all)

    def get(self, resource: str, group: str | None = None) -> ResourceInfo | None:
        """The resource named ``resource`` (plural, singular, short name or kind), or None.

        ``group`` None searches every group (core first); ``deployments.apps`` names one.
        """
        name, _, dotted = resource.partition(".")
        if dotted:
            group = dotted
        if group is not None:
            info = self._by_group.get((group, name))
            if info is not None:
                return info
        found = self._by_name.get(name.lower(), [])
        for info in found:
            if group is None or info.group == group:
                return info
        return None

    def exact(self, group: str, resource: str) -> ResourceInfo | None:
        """The resource with exactly this group and plural name, as a URL names it."""
        return self._by_group.get((group, resource))

    def lookup(self, resource: str, group: str | None = None) -> ResourceInfo:
        """Like :meth:`get`, but an unknown resource is the API server's 404."""
        info = self.get(resource, group)
        if info is None:
            raise not_found_path()
        return info

    def for_kind(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource that stores objects of ``kind`` in ``api_version``, or None."""
        return self._by_kind.get((api_version, kind))


def not_found_path() -> StatusError:
    """The API server's 404 for a path it does not serve (the mux's NotFound handler)."""
    return StatusError("the server could not find the requested resource", reason="NotFound",
                       code=404, details={})
