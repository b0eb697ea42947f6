"""The API server: every request through the same pipeline, in stages a learner can list.

:meth:`APIServer.handle` takes a :class:`~kubelearn.apiserver.request.Request`
-- from the in-process client or the HTTP front, it is the same shape -- and
runs it through :data:`STAGES`:

1. **authentication** -- the bearer token names a user (401 if it does not);
2. **authorization** -- the Node authorizer (for kubelets), then RBAC, allows
   the verb on the resource (403 if not; ``--authorization-mode=Node,RBAC``);
3. **decode** -- the body is read, type-checked and *defaulted* (upstream's
   codec applies the ``SetDefaults_*`` functions while decoding);
4. **mutating admission** -- plugins that may change the object
   (NamespaceLifecycle, ServiceAccount, Priority, DefaultTolerationSeconds...);
5. **validation** -- the kind's validation, and on update what may not change;
6. **validating admission** -- plugins that may only refuse;
7. **storage** -- etcd, with optimistic concurrency.

Reads skip 3-6. Every request leaves an audit row (:meth:`APIServer.audit`)
naming the stage it reached and how it ended. At start the server stores the
bootstrap RBAC policy, the namespaces ``default``, ``kube-system``,
``kube-public`` and ``kube-node-lease`` and the PriorityClasses
``system-node-critical`` and ``system-cluster-critical`` (which DELETE may not
remove); its repair loops create the ClusterIP
and NodePort ranges (:mod:`~kubelearn.apiserver.repair`); its kubernetes
service controller creates the ``kubernetes`` Service and keeps its endpoints
at the API server's address (:mod:`~kubelearn.apiserver.endpointsreconciler`).

Services get their ClusterIPs and NodePorts from allocators kept in etcd
(:mod:`~kubelearn.apiserver.servicealloc`), taken before validation and given
back if the request fails, released when the Service is deleted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import orjson

from kubelearn.api import (
    AlreadyExists,
    BadRequest,
    FieldSelector,
    Forbidden,
    Invalid,
    LabelSelector,
    MethodNotSupported,
    NotFound,
    StatusError,
    load,
    selectable_fields,
    validate_errors,
)
from kubelearn.api.conversion import to_internal
from kubelearn.api.errors import FieldError, Path, go_quote
from kubelearn.api.gatedpod import gated_pod_update_errors
from kubelearn.api.manifest import jsonable
from kubelearn.api.names import name_is_path_segment
from kubelearn.api.scheduling import SYSTEM_PRIORITY_CLASS_NAMES, system_priority_classes
from kubelearn.api.schema import TOO_DEEP, decode_object, go_string
from kubelearn.api.validation import (
    label_selector_value,
    validate_configmap_update,
    validate_object_meta,
    validate_priority_class_update,
    validate_secret_update,
    validate_service_update,
    validate_status_update,
)
from kubelearn.apiserver.admission import (
    CREATE,
    DELETE,
    UPDATE,
    Admission,
    AdmissionAttributes,
    AdmissionPlugin,
    default_plugins,
)
from kubelearn.apiserver.audit import AuditLog
from kubelearn.apiserver.authn import SYSTEM_PRIVILEGED_GROUP, TokenAuthenticator, UserInfo
from kubelearn.apiserver.bootstrap import bootstrap_policy
from kubelearn.apiserver.defaults import set_defaults
from kubelearn.apiserver.endpointsreconciler import (
    ADVERTISE_ADDRESS,
    KubernetesServiceController,
    MasterLeases,
)
from kubelearn.apiserver.eviction import EvictionREST, eviction_version
from kubelearn.apiserver.ipallocator import ServiceIPRange
from kubelearn.apiserver.listoptions import check_list_options, watch_send_initial_events
from kubelearn.apiserver.nodeauthz import NodeAuthorizer, NodeGraph, is_node
from kubelearn.apiserver.patch import apply_patch
from kubelearn.apiserver.portallocator import DEFAULT_NODE_PORT_RANGE, PortAllocator
from kubelearn.apiserver.rbac import Attributes, Decision, RBACAuthorizer, attributes_for, forbidden
from kubelearn.apiserver.registry import Registry, ResourceInfo, not_found_path
from kubelearn.apiserver.repair import (
    IP_REASONS,
    PORT_REASONS,
    Repair,
    repair_loop,
    service_cluster_ips,
    service_node_ports,
)
from kubelearn.apiserver.request import VERBS, Request
from kubelearn.apiserver.rest import query_flag, query_option
from kubelearn.apiserver.servicealloc import (
    Transaction,
    drop_type_dependent_fields,
    family_of,
    new_allocators,
)
from kubelearn.apiserver.storage import Storage, decode, status_of_etcd_error
from kubelearn.apiserver.union import PrivilegedGroups, UnionAuthorizer
from kubelearn.apiserver.watch import WatchCache, WatchStream
from kubelearn.etcd import EtcdError, KeyValue

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

STAGES = ("authentication", "authorization", "decode", "mutating admission", "validation",
          "validating admission", "storage")

# The namespaces a cluster starts with (kube-apiserver's system namespaces controller
# creates kube-system, kube-public and kube-node-lease; default is always there).
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
# kubeadm's --service-cidr (kube-apiserver --service-cluster-ip-range); the first address
# goes to the `kubernetes` Service.
SERVICE_CIDR = "10.96.0.0/12"
SERVICE_NODE_PORT_RANGE = DEFAULT_NODE_PORT_RANGE  # --service-node-port-range
# The API server's own identity for requests to itself (the loopback client):
# user.APIServerUser in system:masters (k8s.io/apiserver/pkg/server/config.go).
LOOPBACK_USER = "system:apiserver"
# The admission plugins' listers that, when their informer's cache has no such object,
# look it up live: NamespaceLifecycle (lifecycle/admission.go) and ServiceAccount
# (serviceaccount/admission.go getServiceAccount), v1.32.
LIVE_LOOKUP_ON_MISS = frozenset({"namespaces", "serviceaccounts"})
# The namespace controller re-checks a terminating namespace this often (seconds).
NAMESPACE_RESYNC = 5.0
_AUTHZ_CACHE_LIMIT = 20000
# Kinds whose names need only be path segments (pkg/apis/rbac/validation ValidateRBACName),
# which kubelearn.api.validation's NAME_RULES does not list yet.
_PATH_SEGMENT_NAMES = {"Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"}
# A caller's body becomes the server's own through JSON, as over HTTP; one encoder made
# once (json.dumps with options builds a new one per call).
_to_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
# orjson (Rust, ~15x faster for a pod) makes that copy when it can make the same one: with
# these options it refuses what json writes its own way (a subclass of str, int, dict or
# list, a dataclass, a datetime), and what it writes where json refuses (NaN as null, an
# Enum or a UUID by its value) leaves a copy unequal to the body. Both go the json way.
_ORJSON_AS_JSON = (orjson.OPT_PASSTHROUGH_SUBCLASS | orjson.OPT_PASSTHROUGH_DATACLASS
                   | orjson.OPT_PASSTHROUGH_DATETIME)
# The method serving each (verb, subresource) that is not a plain read: a table made once,
# not a dict of bound methods per request.
_HANDLERS = {
    ("create", ""): "_create", ("update", ""): "_update", ("patch", ""): "_update",
    ("delete", ""): "_delete", ("deletecollection", ""): "_delete_collection",
    ("get", "status"): "_get_sub", ("update", "status"): "_update",
    ("patch", "status"): "_update", ("create", "binding"): "_bind",
    ("create", "eviction"): "_evict", ("get", "scale"): "_get_sub",
    ("update", "scale"): "_scale", ("patch", "scale"): "_scale",
    ("update", "finalize"): "_update",
}
# metav1.FieldValidation{Ignore,Warn,Strict}; "" is Warn (handlers/rest.go fieldValidation).
FIELD_VALIDATION = ("", "Ignore", "Strict", "Warn")  # sorted, as the 422 lists them
# The options each writing verb decodes its query into (ValidateCreateOptions & co.).
_OPTIONS_KIND = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}


class _Progress:
    """How far one request got, for its audit row."""

    __slots__ = ("stage", "user")

    def __init__(self) -> None:
        self.stage = STAGES[0]
        self.user = ""


def _json_copy(body: Mapping[str, Any]) -> Any:
    """``body`` through JSON, as it would travel over HTTP (the json module's copy)."""
    try:
        copy = orjson.loads(orjson.dumps(body, option=_ORJSON_AS_JSON))
        if copy == body:  # a comparison in C: nothing was written another way
            return copy
    except orjson.JSONEncodeError:
        pass
    return json.loads(_to_json(body))


def _opt(request: Request, name: str) -> str:
    """A query option as a string ('' when absent)."""
    return query_option(request.query, name)


def _int_opt(request: Request, name: str) -> int | None:
    text = _opt(request, name)
    if text == "":
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"invalid value for {name}: {text!r}: must be an integer") from None


class APIServer:
    """kube-apiserver in one object: ``handle(request)`` for every verb on every resource."""

    STAGES = STAGES

    def __init__(self, sim: Simulation, store: Store, *, authenticator: TokenAuthenticator,
                 authorizer: Any = None, disable_admission_plugins: tuple[str, ...] = (),
                 admission_plugins: list[AdmissionPlugin] | None = None,
                 audit_limit: int | None = None, bootstrap: bool = True,
                 service_cidr: str = SERVICE_CIDR,
                 service_node_port_range: str = SERVICE_NODE_PORT_RANGE,
                 advertise_address: str = ADVERTISE_ADDRESS) -> None:
        self.sim = sim
        self.store = store
        self.registry = Registry()
        self.resources = self.registry
        self.authenticator = authenticator
        self.storage = Storage(sim, store)
        self.watch_cache = WatchCache(sim, store, self.registry)
        self.storage.watch_cache = self.watch_cache
        self._rbac_lists: dict[str, tuple[int, list[dict]]] = {}
        self._cluster_lists: dict[str, tuple[int, list[dict]]] = {}
        self._listed: dict[str, tuple[int, dict]] = {}
        self._named_resources: set[str] = set()
        self._authz_cache: dict[tuple, Decision] = {}  # see _authorize for the key
        self._authz_generation = -1
        # system:masters first (always), then --authorization-mode=Node,RBAC (kubeadm's):
        # kubelets by the Node authorizer, then everyone by RBAC.
        self.rbac = RBACAuthorizer(self._rbac_source)
        self.node_authorizer = NodeAuthorizer(NodeGraph(self._pods_on_node))
        self._own_authorizer = authorizer is None
        self.authorizer = authorizer if authorizer is not None else UnionAuthorizer(
            [PrivilegedGroups(SYSTEM_PRIVILEGED_GROUP), self.node_authorizer, self.rbac])
        if admission_plugins is None:
            admission_plugins = default_plugins(self._lookup, sim.rng("apiserver/admission"),
                                                disable_admission_plugins,
                                                lister=self._list_cluster_scoped)
        self.admission = Admission(admission_plugins)
        self.audit_log = AuditLog(audit_limit)
        # The Service REST's allocators (storage_core.go): ClusterIPs and NodePorts in etcd.
        self.services = new_allocators(sim, store, service_cidr, service_node_port_range)
        # pods/eviction (storage_core.go's EvictionREST): the pods' storage, and a loopback
        # client for the PodDisruptionBudgets it charges.
        self._loopback: Any = None
        self.eviction = EvictionREST(self.storage, self.registry.lookup("pods"),
                                     self._budget_client, sim.timestamp)
        self.advertise_address = advertise_address
        self.repairs = self._repairs()
        self.kubernetes_service: KubernetesServiceController | None = None
        if bootstrap:
            self._bootstrap()

    def __repr__(self) -> str:
        return f"APIServer(resources={len(self.registry)}, revision={self.store.revision})"

    # -- the public surface ----------------------------------------------------------------------
    def handle(self, request: Request) -> dict | WatchStream:
        """Serve one request; raises a StatusError the way the API server answers one."""
        progress = _Progress()
        try:
            try:
                result, code = self._serve(request, progress)
            except EtcdError as err:  # etcd failed, not the request (a real etcd: RemoteStore)
                self.sim.record("kube-apiserver", "EtcdRequestFailed", request.resource or "",
                                str(err))
                raise status_of_etcd_error(err, request.verb) from None
        except StatusError as err:
            self._audit(request, progress, err.code)
            raise
        self._audit(request, progress, code)
        return result

    def audit(self):  # -> pandas.DataFrame
        """Every request so far: time, user, verb, resource, namespace, name, stage, decision,
        code."""
        return self.audit_log.frame()

    def can_i(self, user: UserInfo, verb: str, resource: str, namespace: str = "",
              group: str = "", subresource: str = "", name: str = "",
              field_selector: str = "") -> bool:
        """Whether ``user`` may ``verb`` the ``resource`` (``kubectl auth can-i``).

        ``field_selector`` is the list's or watch's (a kubelet may list pods only
        with ``spec.nodeName=<its node>``).
        """
        from kubelearn.apiserver.authn import ALL_AUTHENTICATED

        if "/" in resource and not resource.startswith("/") and not subresource:
            resource, subresource = resource.split("/", 1)
        info = self.registry.get(resource, group or None)
        if info is not None:
            resource, group = info.resource, info.group
        attrs = attributes_for(user.with_group(ALL_AUTHENTICATED), verb, resource,
                               namespace=namespace or None, name=name or None, group=group,
                               subresource=subresource or None, field_selector=field_selector)
        return self._authorize(attrs).allowed

    def authorize_path(self, token: str | None, path: str, verb: str = "get") -> UserInfo:
        """Authenticate and authorize a non-resource request (``/api``, ``/healthz``...)."""
        progress = _Progress()
        request = Request(verb=verb, resource="", token=token)
        try:
            user = self.authenticator.authenticate(token)
            progress.user = user.name
            progress.stage = "authorization"
            attrs = Attributes(user, verb, path=path, resource_request=False)
            decision = self._authorize(attrs)
            if not decision.allowed:
                raise forbidden(attrs, decision.reason)
            progress.stage = "storage"
        except StatusError as err:
            self._audit(request, progress, err.code, path)
            raise
        self._audit(request, progress, 200, path)
        return user

    # -- authorization ---------------------------------------------------------------------------
    def _rbac_source(self, resource: str) -> list[dict]:
        """The stored RBAC objects of ``resource``; the same list until one of them changes."""
        changes = self.watch_cache.changes(resource)
        cached = self._rbac_lists.get(resource)
        if cached is not None and cached[0] == changes:
            return cached[1]
        info = self.registry.lookup(resource, "rbac.authorization.k8s.io")
        items = self.storage.list(info, None)["items"]
        self._rbac_lists[resource] = (changes, items)
        return items

    def _authorize(self, attrs: Attributes) -> Decision:
        """The authorizer's decision, remembered until an RBAC object changes.

        A decision does not depend on the object's name unless some rule lists
        resourceNames for that resource, so the name is left out of the key then.
        A kubelet's is not remembered: the Node authorizer's answer depends on
        the name, the field selector and the pods bound to the node, which
        change with every binding and deletion.
        """
        if is_node(attrs.user):
            return self.authorizer.authorize(attrs)
        changes = self.watch_cache.changes
        generation = (changes("roles") + changes("rolebindings") + changes("clusterroles")
                      + changes("clusterrolebindings"))
        if generation != self._authz_generation or len(self._authz_cache) > _AUTHZ_CACHE_LIMIT:
            self._authz_cache.clear()
            self._authz_generation = generation
            self._named_resources = self._resources_with_names()
        name = attrs.name
        if name and "*" not in self._named_resources \
                and attrs.resource not in self._named_resources:
            name = ""
        # The attributes as a plain tuple: it hashes in C, where the frozen dataclasses
        # (Attributes holding a UserInfo) would hash field by field in Python.
        user = attrs.user
        key = (user.name, user.groups, user.uid, attrs.verb, attrs.resource, attrs.subresource,
               attrs.namespace, name, attrs.group, attrs.path, attrs.resource_request,
               attrs.field_selector)
        decision = self._authz_cache.get(key)
        if decision is None:
            decision = self.authorizer.authorize(attrs)
            self._authz_cache[key] = decision
        return decision

    def _resources_with_names(self) -> set[str]:
        """The resources some RBAC rule restricts by resourceNames."""
        if not self._own_authorizer:
            return {"*"}  # an authorizer of the caller's: any decision may depend on the name
        named: set[str] = set()
        for resource in ("roles", "clusterroles"):
            for role in self._rbac_source(resource):
                for rule in role.get("rules") or ():
                    if isinstance(rule, Mapping) and rule.get("resourceNames"):
                        named.update(str(r).partition("/")[0] for r in rule.get("resources") or ())
        return named

    # -- the pipeline ----------------------------------------------------------------------------
    def _serve(self, request: Request, progress: _Progress) -> tuple[Any, int]:
        user = self.authenticator.authenticate(request.token)
        if request.name and not request.name.isascii():  # a Python str may hold what Go's
            request.name = go_string(request.name)  # cannot: a lone surrogate is U+FFFD
        if request.namespace and not request.namespace.isascii():
            request.namespace = go_string(request.namespace)
        progress.user = user.name
        progress.stage = "authorization"
        verb = request.verb
        if verb == "list" and query_flag(request.query, "watch"):
            verb = "watch"
        if verb not in VERBS:
            raise MethodNotSupported(request.resource, verb, request.group)
        attrs = attributes_for(user, verb, request.resource, namespace=request.namespace,
                               name=request.name, group=request.group,
                               subresource=request.subresource,
                               field_selector=_opt(request, "fieldSelector"))
        decision = self._authorize(attrs)
        if not decision.allowed:
            raise forbidden(attrs, decision.reason)
        info = self._resolve(request)
        sub = request.subresource or ""
        namespace = request.namespace if info.namespaced else None
        if info.namespaced and not namespace and (request.name or verb == "create"):
            raise not_found_path()
        if sub and sub not in info.subresources:
            raise not_found_path()
        if verb in _OPTIONS_KIND:
            self._field_validation(request)  # the options are checked before the body
        if not info.stored:
            if verb != "create":
                raise MethodNotSupported(info.resource, verb, info.group)
            return self._access_review(request, progress, user, info), 201
        if verb in ("get", "list", "watch") and not sub:
            progress.stage = "storage"
            if verb == "watch":
                return self._watch(request, info, namespace), 200
            if verb == "list":
                return self._list(request, info, namespace), 200
            return self.storage.get(info, namespace, request.name or "",
                                    _opt(request, "resourceVersion")), 200
        handler = _HANDLERS.get((verb, sub))
        if handler is None:
            raise MethodNotSupported(f"{info.resource}/{sub}" if sub else info.resource, verb,
                                     info.group)
        return getattr(self, handler)(request, progress, user, info, namespace)

    def _resolve(self, request: Request) -> ResourceInfo:
        """The served resource a request names (exact plural and group, as in a URL)."""
        info = self.registry.exact(request.group or "", request.resource)
        if info is None:
            raise not_found_path()
        if request.version and request.version != info.version:
            raise not_found_path()
        return info

    def _audit(self, request: Request, progress: _Progress, code: int, path: str = "") -> None:
        resource = request.resource
        if request.subresource:
            resource = f"{resource}/{request.subresource}"
        self.audit_log.record(self.sim.now, progress.user, request.verb, resource or path,
                              request.namespace or "", request.name or "", progress.stage, code)

    # -- reads -----------------------------------------------------------------------------------
    @staticmethod
    def _selectors(request: Request, info: ResourceInfo, *, watch: bool | None = None
                   ) -> tuple[LabelSelector | None, FieldSelector | None]:
        """The request's label and field selectors, in ListResource's order (v1.32).

        A selector that does not parse is a 400 from decoding the parameters;
        then, for a list or watch, the ListOptions checks (422); then a field
        the kind cannot be selected by is a 400 (ConvertFieldLabel).
        """
        label_text, field_text = _opt(request, "labelSelector"), _opt(request, "fieldSelector")
        label = LabelSelector.parse(label_text) if label_text else None
        field = FieldSelector.parse(field_text) if field_text else None
        if watch is not None:
            check_list_options(request.query, watch=watch)
        if field is not None:
            known = selectable_fields({"kind": info.kind, "metadata": {}})
            for name, _, _ in field.terms:
                if name not in known and name != "metadata.namespace":
                    raise BadRequest(f"field label not supported: {name}")
        return label, field

    def _list(self, request: Request, info: ResourceInfo, namespace: str | None) -> dict:
        label, field = self._selectors(request, info, watch=False)
        limit = _int_opt(request, "limit") or 0
        if limit < 0:
            raise BadRequest("limit must not be negative")  # not reached by kubectl
        return self.storage.list(info, namespace, label=label, field=field, limit=limit,
                                 continue_token=_opt(request, "continue"),
                                 resource_version=_opt(request, "resourceVersion"),
                                 match=_opt(request, "resourceVersionMatch"))

    def _watch(self, request: Request, info: ResourceInfo, namespace: str | None) -> WatchStream:
        label, field = self._selectors(request, info, watch=True)
        timeout = _int_opt(request, "timeoutSeconds")
        return self.watch_cache.watch(
            info, namespace, label=label, field=field,
            resource_version=_opt(request, "resourceVersion") or None,
            bookmarks=bool(query_flag(request.query, "allowWatchBookmarks")),
            send_initial_events=watch_send_initial_events(request.query),
            timeout=float(timeout) if timeout else None)

    def _get_sub(self, request: Request, progress: _Progress, user: UserInfo,
                 info: ResourceInfo, namespace: str | None) -> tuple[dict, int]:
        progress.stage = "storage"
        obj = self.storage.get(info, namespace, request.name or "")
        if request.subresource == "scale":
            return self.storage.scale_of(info, obj), 200
        return obj, 200

    def _lookup(self, resource: str, namespace: str, name: str, *,
                live: bool = False) -> dict | None:
        """An object by resource, namespace and name, or None (admission plugins' listers).

        Like an informer's lister, it reads the API server's cache (the watch
        cache, fed by its etcd watch), not etcd: a pod create admitted while etcd
        has no majority reaches the write. Namespaces and service accounts the
        cache does not have are then looked up live, an etcd read, as their
        plugins do (lifecycle/admission.go; serviceaccount/admission.go
        getServiceAccount, v1.32; which tries a missing ``default`` account up to
        10 times, 100-200 ms apart, where kubelearn's cache, never behind etcd,
        makes one read enough). ``live`` reads etcd only.
        Like a lister, it hands out shared objects: read, don't change.
        """
        key = self.storage.key(self.registry.lookup(resource), namespace or None, name)
        if not live:
            kv = self.watch_cache.current(key)
            if kv is not None or resource not in LIVE_LOOKUP_ON_MISS:
                return self._decoded(kv)
            return self._live_get(key)
        return self._decoded(self.store.get(key))

    def _live_get(self, key: str) -> dict | None:
        """A plugin's live lookup: a GET of its own through the loopback client.

        Its failure reaches the plugin as that GET's Status (a 500 with etcd's
        text), which the plugin wraps (ServiceAccount: a 403). A failure that only
        the deadline ends (a read clientv3 retries until then) is left as it is:
        the GET started after the request that waits on it, so that request's own
        deadline passes first and it answers its own 504.
        """
        try:
            return self._decoded(self.store.get(key))
        except EtcdError as err:
            status = status_of_etcd_error(err, "get")
            if status.code == 504:
                raise
            raise status from None

    def _pods_on_node(self, node: str) -> list[dict]:
        """The pods bound to ``node``, from the watch cache (the Node authorizer's graph,
        which upstream keeps from informers). Shared objects: read only."""
        pods = (self._decoded(self.watch_cache.current(key))
                for key in self.watch_cache.keys_on_node(node))
        return [pod for pod in pods if pod is not None]

    def _decoded(self, kv: KeyValue | None) -> dict | None:
        """A stored object decoded, once per key and revision; None for no object."""
        if kv is None:
            return None
        cached = self._listed.get(kv.key)
        if cached is not None and cached[0] == kv.mod_revision:
            return cached[1]
        if len(self._listed) > 10000:
            self._listed.clear()
        obj = decode(kv)
        self._listed[kv.key] = (kv.mod_revision, obj)
        return obj

    def _list_cluster_scoped(self, resource: str) -> list[dict]:
        """Every object of a cluster-scoped resource (an admission plugin's lister).

        The same list until one of them changes, so a plugin that consults it on every
        pod create (Priority) costs a counter comparison. Shared objects: read only.
        """
        changes = self.watch_cache.changes(resource)
        cached = self._cluster_lists.get(resource)
        if cached is not None and cached[0] == changes:
            return cached[1]
        items = self.storage.list(self.registry.lookup(resource), None)["items"]
        self._cluster_lists[resource] = (changes, items)
        return items

    # -- bodies ----------------------------------------------------------------------------------
    def _body(self, request: Request, info: ResourceInfo, *, kind: str | None = None,
              api_version: str | None = None, fresh: bool = False,
              stored: dict | None = None, origin: Request | None = None,
              fill: bool = True) -> dict:
        """The request body as a fresh dict of JSON values, of the right kind, decoded.

        Decoding is the gate (:func:`~kubelearn.api.schema.decode_object`): a
        wrong type is a 400; nulls, unknown fields and lone surrogates leave
        what Go's decoder would keep; unknown fields are then warned about or
        refused as the request's ``fieldValidation`` says.

        For a status update only ``status`` counts, so only that is copied and checked.
        ``fresh``: the body is already the server's own (a patch result): no copy.
        ``stored``: the object an update replaces (what it leaves as is needs no check).
        ``origin``: the client's request, when ``request`` is the server's own (a patch's
        result): its options apply and its warnings are collected.
        ``fill``: False leaves the zero values to storage, which fills every object it writes.
        """
        body = self._parsed_body(request, fresh)
        if request.subresource == "status":
            body = {k: body[k] for k in ("apiVersion", "kind", "metadata", "status")
                    if k in body}
        self._check_kind(body, kind or info.kind, api_version or info.api_version)
        body, unknown = decode_object(body, stored, fill=fill)
        if unknown:
            self._unknown_fields(origin or request, body, unknown)
        if body.get("metadata") is None:
            body["metadata"] = {}
        return body

    @staticmethod
    def _parsed_body(request: Request, fresh: bool = False) -> dict:
        """The request body as a fresh dict of JSON values, not yet checked or decoded.

        Text is JSON or YAML (one document); a dict is copied through JSON, as it
        would travel over HTTP, unless ``fresh`` (already the server's own).
        """
        body = request.body
        if body is None:
            raise BadRequest("the body of the request was empty")
        if isinstance(body, (bytes, bytearray)):
            body = bytes(body).decode("utf-8", "replace")
        if isinstance(body, str):
            if ":" not in body:
                raise BadRequest("Object 'Kind' is missing in the request body")
            try:
                docs = [json.loads(body)]
            except ValueError:
                docs = load(body)
            if len(docs) != 1:
                raise BadRequest(f"the request body holds {len(docs)} objects, not one")
            body = docs[0]
        elif isinstance(body, Mapping):
            if request.subresource == "status":
                body = {k: body[k] for k in ("apiVersion", "kind", "metadata", "status")
                        if k in body}
            if not fresh:
                try:
                    body = _json_copy(body)
                except (TypeError, ValueError):
                    body = jsonable(body)
                except RecursionError:  # deeper than Python goes: far past MAX_DEPTH
                    raise BadRequest(TOO_DEEP) from None
        if not isinstance(body, dict):
            raise BadRequest(f"json: cannot unmarshal {type(body).__name__} into Go value of "
                             "type map[string]interface {}")
        return body

    @staticmethod
    def _field_validation(request: Request) -> str:
        """The request's fieldValidation directive ("" is Warn); any other value is a 422
        on the request's options (apimachinery pkg/apis/meta/v1/validation
        ValidateFieldValidation)."""
        directive = _opt(request, "fieldValidation")
        if directive not in FIELD_VALIDATION:
            raise Invalid(_OPTIONS_KIND.get(request.verb, "CreateOptions"), "", [
                FieldError.not_supported(Path("fieldValidation"), directive, FIELD_VALIDATION)],
                "meta.k8s.io")
        return directive or "Warn"

    def _unknown_fields(self, request: Request, body: dict, unknown: list[str]) -> None:
        """Fields the kind does not have, as fieldValidation says: Ignore, Warn or Strict.

        Warn (the default) adds one warning a field, which HTTP sends as
        ``Warning`` headers (handlers/rest.go addStrictDecodingWarnings); Strict
        refuses the request: a 400 for a body (create.go, update.go,
        transformDecodeError), a 422 on ``patch`` for a patch (patch.go).
        """
        directive = self._field_validation(request)
        errors = [f"unknown field {go_quote(path)}" for path in unknown]
        if directive == "Warn":
            request.warnings.extend(w for w in errors if w not in request.warnings)
        elif directive == "Strict":
            strict = "strict decoding error: " + ", ".join(errors)
            if request.verb == "patch":
                raise Invalid("", "", [FieldError.invalid(Path("patch"), _to_json(body), strict)])
            kind, version = body["kind"], body["apiVersion"].rpartition("/")[2]
            raise BadRequest(f"{kind} in version {go_quote(version)} cannot be handled as a "
                             f"{kind}: {strict}")

    @staticmethod
    def _check_kind(body: dict, kind: str, api_version: str) -> None:
        """Fill in a missing kind or apiVersion from the URL; refuse a different one."""
        have_version, have_kind = body.get("apiVersion"), body.get("kind")
        if have_version in (None, ""):
            body["apiVersion"] = api_version
        elif have_version != api_version:
            raise BadRequest(f"the API version in the data ({have_version}) does not match the "
                             f"expected API version ({api_version})")
        if have_kind in (None, ""):
            body["kind"] = kind
        elif have_kind != kind:
            raise BadRequest(f"the kind in the data ({have_kind}) does not match the expected "
                             f"kind ({kind})")

    @staticmethod
    def _place(body: dict, info: ResourceInfo, namespace: str | None) -> None:
        """EnsureObjectNamespaceMatchesRequestNamespace."""
        meta = body["metadata"]
        have = meta.get("namespace") or ""
        if not info.namespaced:
            meta.pop("namespace", None)
        elif not have:
            meta["namespace"] = namespace
        elif have != namespace:
            raise BadRequest("the namespace of the provided object does not match the namespace "
                             "sent on the request")

    @staticmethod
    def _validate(obj: dict, info: ResourceInfo) -> None:
        """The kind's validation (kubelearn.api.validation), as an Invalid with every error."""
        if obj["kind"] in _PATH_SEGMENT_NAMES:  # rbac ValidateRBACName: a path segment
            errs = validate_object_meta(obj, name_is_path_segment, info.namespaced)
        else:
            errs = validate_errors(obj)
        if errs:
            raise Invalid(info.kind, obj["metadata"].get("name") or "", errs, info.group)

    # -- create ----------------------------------------------------------------------------------
    def _create(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
                namespace: str | None) -> tuple[dict, int]:
        progress.stage = "decode"
        # No zero values yet: storage fills the object once, with what defaulting and
        # admission added (Storage.create), instead of walking it twice.
        body = self._body(request, info, fill=False)
        self._place(body, info, namespace)
        meta = body["metadata"]
        for field in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(field, None)  # rest.WipeObjectMetaSystemFields
        set_defaults(body)
        to_internal(body)  # the codec's conversion: a Secret's stringData into data
        dry_run = bool(_opt(request, "dryRun"))
        obj = self._admit_create(info, body, namespace, user, progress, dry_run)
        return obj, 201

    def _admit_create(self, info: ResourceInfo, body: dict, namespace: str | None,
                      user: UserInfo | None, progress: _Progress, dry_run: bool = False) -> dict:
        """Mutating admission, PrepareForCreate, validation, validating admission, storage."""
        meta = body["metadata"]
        progress.stage = "mutating admission"
        attrs = AdmissionAttributes(CREATE, info, namespace or "", meta.get("name") or "", body,
                                    user=user, dry_run=dry_run)
        self.admission.admit(attrs)
        # The store's BeginCreate hook: a Service's addresses and ports are taken before the
        # strategy and validation run, and given back below if anything refuses it.
        txn = self.services.begin_create(body, dry_run) if info.resource == "services" \
            else Transaction()
        try:
            self.storage.prepare_for_create(info, body)
            if info.resource == "services":
                body["status"] = {"loadBalancer": {}}  # svcStrategy: an empty ServiceStatus
            progress.stage = "validation"
            self._validate(body, info)
            progress.stage = "validating admission"
            self.admission.validate(attrs)
            progress.stage = "storage"
            obj = self.storage.create(info, body, dry_run=dry_run)
        except BaseException:
            txn.revert()
            raise
        txn.commit()
        if info.resource == "namespaces" and not dry_run:
            self._ensure_default_service_account(obj["metadata"]["name"])
        return obj

    # -- update, patch, status, finalize ---------------------------------------------------------
    def _update(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
                namespace: str | None) -> tuple[dict, int]:
        name = request.name or ""
        sub = request.subresource or ""
        progress.stage = "decode"
        kv = self.storage.get_kv(info, namespace, name)
        old = decode(kv)
        if request.verb == "patch":
            patched = apply_patch(decode(kv), request.body, request.patch_type, info.kind)
            body = self._body(Request("update", info.resource, body=patched, subresource=sub),
                              info, fresh=True, stored=old, origin=request)
        else:
            body = self._body(request, info, stored=old)
        self._place(body, info, namespace)
        body_name = body["metadata"].get("name")
        if body_name != name:
            raise BadRequest(f"the name of the object ({body_name or ''}) does not match the "
                             f"name on the URL ({name})")
        set_defaults(body)
        to_internal(body)
        if sub == "finalize":
            finalizers = (body.get("spec") or {}).get("finalizers") or []
            body = json.loads(kv.value)
            body["metadata"]["resourceVersion"] = str(kv.mod_revision)
            body.setdefault("spec", {})["finalizers"] = finalizers
        dry_run = bool(_opt(request, "dryRun"))
        progress.stage = "mutating admission"
        attrs = AdmissionAttributes(UPDATE, info, namespace or "", name, body, old, sub, user,
                                    dry_run)
        self.admission.admit(attrs)
        # BeginUpdate: what the client left out but was allocated is kept; what a type change
        # needs is allocated now, what it gives up is released once the update is stored.
        services = info.resource == "services" and not sub
        txn = self.services.begin_update(body, old, dry_run) if services else Transaction()
        try:
            self.storage.prepare_for_update(info, body, old, sub)
            if services:
                drop_type_dependent_fields(body, old)
            progress.stage = "validation"
            if sub != "status":  # ValidatePodStatusUpdate & co. look at metadata and status only
                self._validate(body, info)
                self._validate_update(info, body, old)
            elif errs := validate_status_update(body):
                raise Invalid(info.kind, name, errs, info.group)
            progress.stage = "validating admission"
            self.admission.validate(attrs)
            progress.stage = "storage"
            self.storage.check_precondition(info, body, kv)
            out = self.storage.update(info, body, kv, dry_run=dry_run, old=old)
        except BaseException:
            txn.revert()
            raise
        txn.commit()
        if info.resource == "services" and not dry_run:
            self._after_delete(info, old)  # the last finalizer went: the Service is gone
        if info.resource == "namespaces" and out["metadata"].get("deletionTimestamp") \
                and not (out.get("spec") or {}).get("finalizers") and not dry_run:
            self._finish_namespace(name)
        return out, 200

    def _validate_update(self, info: ResourceInfo, new: dict, old: dict) -> None:
        """What may not change: uid, pod specs (mostly), workload selectors, cluster IPs."""
        errs: list[FieldError] = []
        meta, old_meta = new["metadata"], old["metadata"]
        if meta.get("uid") != old_meta.get("uid"):
            errs.append(FieldError.invalid(Path("metadata", "uid"), meta.get("uid"),
                                           "field is immutable"))
        if info.resource == "pods":
            errs += _pod_update_errors(new, old)
        elif info.resource in ("deployments", "replicasets"):
            selector = (new.get("spec") or {}).get("selector")
            if selector != (old.get("spec") or {}).get("selector"):
                errs.append(FieldError.invalid(Path("spec", "selector"),
                                               None if selector is None
                                               else label_selector_value(selector),
                                               "field is immutable"))
        elif info.resource == "endpointslices":  # ValidateEndpointSliceUpdate
            if new.get("addressType") != old.get("addressType"):
                errs.append(FieldError.invalid(Path("addressType"), new.get("addressType"),
                                               "field is immutable"))
        elif info.resource == "services":
            errs += validate_service_update(new, old)
        elif info.resource == "priorityclasses":
            errs += validate_priority_class_update(new, old)
        elif info.resource == "secrets":
            errs += validate_secret_update(new, old)
        elif info.resource == "configmaps":
            errs += validate_configmap_update(new, old)
        if errs:
            raise Invalid(info.kind, meta.get("name") or "", errs, info.group)

    # -- delete ----------------------------------------------------------------------------------
    def _delete_options(self, request: Request) -> dict:
        options: dict[str, Any] = {}
        body = request.body
        if isinstance(body, (bytes, str)) and body:
            try:
                body = json.loads(body)
            except ValueError as err:
                raise BadRequest(f"error decoding DeleteOptions: {err}") from None
        if isinstance(body, Mapping):
            options.update(body)
        grace = _int_opt(request, "gracePeriodSeconds")
        if grace is not None:
            options["gracePeriodSeconds"] = grace
        policy = _opt(request, "propagationPolicy")
        if policy:
            options["propagationPolicy"] = policy
        if options.get("propagationPolicy") not in (None, "Orphan", "Background", "Foreground"):
            raise Invalid("DeleteOptions", "", [FieldError.not_supported(
                Path("propagationPolicy"), options["propagationPolicy"],
                ["Foreground", "Background", "Orphan", "nil"])], "meta.k8s.io")
        grace = options.get("gracePeriodSeconds")
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, int)):
            raise BadRequest("gracePeriodSeconds must be an integer")
        dry_run = options.get("dryRun")  # the body's (ValidateDeleteOptions: only "All")
        if dry_run is not None:
            if not isinstance(dry_run, list):
                raise BadRequest("json: cannot unmarshal into Go struct field "
                                 "DeleteOptions.dryRun of type []string")
            errs = [FieldError.not_supported(Path("dryRun").index(i), value, ["All"])
                    for i, value in enumerate(dry_run) if value != "All"]
            if errs:
                raise Invalid("DeleteOptions", "", errs, "meta.k8s.io")
        return options

    @staticmethod
    def _delete_dry_run(request: Request, options: Mapping[str, Any]) -> bool:
        """A dry run, asked in the query or in the body's DeleteOptions."""
        return bool(_opt(request, "dryRun")) or bool(options.get("dryRun"))

    def _delete(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
                namespace: str | None) -> tuple[dict, int]:
        name = request.name or ""
        progress.stage = "decode"
        options = self._delete_options(request)
        dry_run = self._delete_dry_run(request, options)
        if info.resource == "priorityclasses" and name in SYSTEM_PRIORITY_CLASS_NAMES:
            progress.stage = "storage"  # the priority class REST's Delete, before the store's
            raise Forbidden(info.resource, name, "this is a system priority class and cannot be "
                            "deleted", info.group)
        progress.stage = "mutating admission"
        kv = self.storage.get_kv(info, namespace, name)
        attrs = AdmissionAttributes(DELETE, info, namespace or "", name, None, None,
                                    user=user, dry_run=dry_run)
        self.admission.admit(attrs)
        progress.stage = "validating admission"
        self.admission.validate(attrs)
        progress.stage = "storage"
        if info.resource == "namespaces":
            return self._delete_namespace(name, options, dry_run), 200
        out = self.storage.delete(info, namespace, name, options, dry_run=dry_run, kv=kv)
        if not dry_run:
            self._after_delete(info, decode(kv))
        return out, 200

    def _delete_collection(self, request: Request, progress: _Progress, user: UserInfo,
                           info: ResourceInfo, namespace: str | None) -> tuple[dict, int]:
        progress.stage = "decode"
        options = self._delete_options(request)
        label, field = self._selectors(request, info, watch=False)  # delete.go: ListOptions too
        progress.stage = "storage"
        listed = self.storage.list(info, namespace, label=label, field=field)
        deleted = []
        dry_run = self._delete_dry_run(request, options)
        for obj in listed["items"]:
            meta = obj["metadata"]
            try:
                deleted.append(self.storage.delete(info, meta.get("namespace"), meta["name"],
                                                   options, dry_run=dry_run))
            except NotFound:
                continue
            if not dry_run:
                self._after_delete(info, obj)
        return {"kind": info.list_kind, "apiVersion": info.api_version,
                "metadata": {"resourceVersion": str(self.store.revision)}, "items": deleted}, 200

    # -- namespaces: terminating, and the namespace controller's part ----------------------------
    def _delete_namespace(self, name: str, options: dict, dry_run: bool) -> dict:
        """namespace REST Delete: with spec.finalizers the namespace only starts terminating."""
        info = self.registry.lookup("namespaces")
        kv = self.storage.get_kv(info, None, name)
        ns = decode(kv)
        meta = ns["metadata"]
        if meta.get("deletionTimestamp"):
            return ns
        if not (ns.get("spec") or {}).get("finalizers"):
            return self.storage.delete(info, None, name, options, dry_run=dry_run)
        meta["deletionTimestamp"] = self.sim.timestamp()
        ns["status"] = {**(ns.get("status") or {}), "phase": "Terminating"}
        out = self.storage.update(info, ns, kv, dry_run=dry_run)
        if not dry_run:
            self.sim.call_later(0, lambda: self._finish_namespace(name))
        return out

    def _finish_namespace(self, name: str) -> None:
        """Empty a terminating namespace, then remove it.

        Upstream this is the namespace controller's job (kube-controller-manager,
        pkg/controller/namespace/deletion): delete every object in the namespace,
        wait until they are gone (pods wait for their kubelets), then drop the
        ``kubernetes`` finalizer. The API server does it here until kubelearn's
        controller manager takes it over.
        """
        info = self.registry.lookup("namespaces")
        kv = self.store.get(self.storage.key(info, None, name))
        if kv is None:
            return
        ns = decode(kv)
        if not ns["metadata"].get("deletionTimestamp"):
            return
        remaining = 0
        for res in self.registry:
            if not res.namespaced or not res.stored:
                continue
            for item in self.storage.list(res, name)["items"]:
                remaining += 1
                if item["metadata"].get("deletionTimestamp"):
                    continue
                try:
                    self.storage.delete(res, name, item["metadata"]["name"], {})
                except StatusError:
                    continue
                self._after_delete(res, item)
        if any(self.storage.list(res, name)["items"] for res in self.registry
               if res.namespaced and res.stored):
            self.sim.call_later(NAMESPACE_RESYNC, lambda: self._finish_namespace(name))
            return
        kv = self.store.get(kv.key)
        if kv is None:
            return
        ns = decode(kv)
        finalizers = [f for f in (ns.get("spec") or {}).get("finalizers") or []
                      if f != "kubernetes"]
        ns.setdefault("spec", {})["finalizers"] = finalizers
        if finalizers or ns["metadata"].get("finalizers"):
            self.storage.update(info, ns, kv)
            return
        self.storage.delete(info, None, name, {})
        self.sim.record("kube-apiserver", "NamespaceDeleted", f"namespace/{name}",
                        f"namespace {name} was emptied and removed")

    def _ensure_default_service_account(self, namespace: str) -> None:
        """Create ``default`` in a new namespace.

        Upstream the service account controller (kube-controller-manager,
        pkg/controller/serviceaccount) creates it a moment after the namespace;
        here the API server does it at once so a pod can be created right away.
        """
        info = self.registry.lookup("serviceaccounts")
        if self.store.get(self.storage.key(info, namespace, "default")) is not None:
            return
        account = {"apiVersion": "v1", "kind": "ServiceAccount",
                   "metadata": {"name": "default", "namespace": namespace}}
        self.storage.prepare_for_create(info, account)
        self.storage.create(info, account)

    # -- subresources ----------------------------------------------------------------------------
    def _bind(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
              namespace: str | None) -> tuple[dict, int]:
        progress.stage = "decode"
        body = request.body
        binding = self._body(Request("create", "bindings", body=body),
                             info, kind="Binding", api_version="v1",
                             origin=request, fill=False) if body is not None else {}
        progress.stage = "mutating admission"
        attrs = AdmissionAttributes(CREATE, info, namespace or "", request.name or "", binding,
                                    subresource="binding", user=user)
        self.admission.admit(attrs)
        progress.stage = "validating admission"
        self.admission.validate(attrs)
        progress.stage = "storage"
        return self.storage.bind(namespace or "", request.name or "", binding, info,
                                 dry_run=bool(_opt(request, "dryRun"))), 201

    def _evict(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
               namespace: str | None) -> tuple[dict, int]:
        """pods/eviction (:mod:`kubelearn.apiserver.eviction`): delete if the budget allows."""
        name = request.name or ""
        progress.stage = "decode"
        raw = self._parsed_body(request)
        eviction = self._body(Request("create", "pods", body=raw, subresource="eviction"), info,
                              kind="Eviction", api_version=eviction_version(raw), fresh=True,
                              origin=request)
        self._place(eviction, info, namespace)
        progress.stage = "mutating admission"
        dry_run = _opt(request, "dryRun")
        attrs = AdmissionAttributes(CREATE, info, namespace or "", name, eviction,
                                    subresource="eviction", user=user, dry_run=bool(dry_run))
        self.admission.admit(attrs)
        options = self.eviction.prepare(name, eviction, [dry_run] if dry_run else [])
        progress.stage = "validating admission"
        self.admission.validate(attrs)
        progress.stage = "storage"
        return self.eviction.evict(namespace or "", name, options), 201

    def _scale(self, request: Request, progress: _Progress, user: UserInfo, info: ResourceInfo,
               namespace: str | None) -> tuple[dict, int]:
        name = request.name or ""
        progress.stage = "decode"
        kv = self.storage.get_kv(info, namespace, name)
        current = decode(kv)
        scale = self.storage.scale_of(info, current)
        if request.verb == "patch":
            scale = apply_patch(scale, request.body, request.patch_type, "Scale")
            scale = self._body(Request("update", "scale", body=scale), info, kind="Scale",
                               api_version="autoscaling/v1", origin=request)
        else:
            scale = self._body(request, info, kind="Scale", api_version="autoscaling/v1")
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        progress.stage = "validation"
        if not isinstance(replicas, int) or replicas < 0:
            raise Invalid("Scale", name, [FieldError.invalid(
                Path("spec", "replicas"), replicas, "must be greater than or equal to 0")],
                "autoscaling")
        new = decode(kv)
        new.setdefault("spec", {})["replicas"] = replicas
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        new["metadata"]["resourceVersion"] = rv or str(kv.mod_revision)
        progress.stage = "mutating admission"
        attrs = AdmissionAttributes(UPDATE, info, namespace or "", name, new, current, "scale",
                                    user)
        self.admission.admit(attrs)
        self.storage.prepare_for_update(info, new, current)
        progress.stage = "validating admission"
        self.admission.validate(attrs)
        progress.stage = "storage"
        self.storage.check_precondition(info, new, kv)
        out = self.storage.update(info, new, kv, dry_run=bool(_opt(request, "dryRun")))
        return self.storage.scale_of(info, out), 200

    def _access_review(self, request: Request, progress: _Progress, user: UserInfo,
                       info: ResourceInfo) -> dict:
        """SelfSubjectAccessReview: may I? Answered, never stored (``kubectl auth can-i``)."""
        progress.stage = "decode"
        review = self._body(request, info)
        spec = review.get("spec") or {}
        progress.stage = "storage"
        resource_attrs, path_attrs = spec.get("resourceAttributes"), \
            spec.get("nonResourceAttributes")
        if isinstance(resource_attrs, Mapping):
            attrs = attributes_for(user, resource_attrs.get("verb") or "",
                                   resource_attrs.get("resource") or "",
                                   namespace=resource_attrs.get("namespace") or None,
                                   name=resource_attrs.get("name") or None,
                                   group=resource_attrs.get("group") or "",
                                   subresource=resource_attrs.get("subresource") or None,
                                   field_selector=_raw_selector(resource_attrs))
        elif isinstance(path_attrs, Mapping):
            attrs = Attributes(user, path_attrs.get("verb") or "", path=path_attrs.get("path")
                               or "", resource_request=False)
        else:
            raise Invalid(info.kind, "", [FieldError.invalid(
                Path("spec", "resourceAttributes"), None,
                "exactly one of nonResourceAttributes or resourceAttributes must be specified")],
                info.group)
        decision = self._authorize(attrs)
        status: dict[str, Any] = {"allowed": decision.allowed}
        if decision.reason:
            status["reason"] = decision.reason
        return {"kind": info.kind, "apiVersion": info.api_version,
                "metadata": {"creationTimestamp": None}, "spec": spec, "status": status}

    # -- services: releasing, repairing, the kubernetes Service ----------------------------------
    def _after_delete(self, info: ResourceInfo, obj: dict) -> None:
        """The Service REST's AfterDelete, once a Service really left etcd (not just marked).

        Its ClusterIPs and NodePorts are free again, and its Endpoints go too
        (storage.go afterDelete: "for fear that the endpoints controller might lag").
        """
        if info.resource != "services":
            return
        meta = obj["metadata"]
        namespace, name = meta.get("namespace"), meta["name"]
        if self.store.get(self.storage.key(info, namespace, name)) is not None:
            return  # terminating, waiting for a finalizer
        self.services.after_delete(obj)
        endpoints = self.registry.lookup("endpoints")
        try:
            self.storage.delete(endpoints, namespace, name, {})
        except NotFound:
            pass

    def _repairs(self) -> list[Repair]:
        """The two repair loops, over the two ranges (start-service-ip-repair-controllers)."""
        ips, ports = self.services.cluster_ips, self.services.node_ports
        rng = self.sim.rng("apiserver/repair")
        return [
            Repair(self.sim, ips.allocator, component="ipallocator-repair-controller",
                   reasons=IP_REASONS, label=lambda ip: f"Cluster IP [{family_of(ip)}]:{ip}",
                   new_range=lambda bitmap: ServiceIPRange(ips.cidr, bitmap),
                   items=service_cluster_ips, rng=rng),
            Repair(self.sim, ports.allocator, component="portallocator-repair-controller",
                   reasons=PORT_REASONS, label=lambda port: f"Port {port}",
                   new_range=lambda bitmap: PortAllocator(ports.port_range, bitmap),
                   items=service_node_ports, rng=rng),
        ]

    def _all_services(self) -> list[dict]:
        return self.storage.list(self.registry.lookup("services"), None)["items"]

    def repair_service_ranges(self) -> None:
        """One round of both repair loops: rebuild the ranges in etcd from the Services."""
        services = self._all_services()
        for repair in self.repairs:
            repair.run_once(services)

    def _loopback_client(self):  # -> kubelearn.client.Client
        """The API server's client of itself (LoopbackClientConfig), as system:apiserver."""
        from kubelearn.apiserver.authn import ALL_AUTHENTICATED
        from kubelearn.client import Client  # kubelearn.client imports this package

        user = UserInfo(LOOPBACK_USER, (ALL_AUTHENTICATED, SYSTEM_PRIVILEGED_GROUP))
        # Random, never seeded: upstream's is uuid.New() (options/serving_with_loopback.go).
        token = self.authenticator.issue(user)
        return Client(self, token, user_agent="kube-apiserver")

    def _budget_client(self):  # -> kubelearn.client.Client
        """The loopback client the eviction REST reads and writes budgets with (made once)."""
        if self._loopback is None:
            self._loopback = self._loopback_client()
        return self._loopback

    # -- start-up --------------------------------------------------------------------------------
    def _bootstrap(self) -> None:
        """What a new API server does: system namespaces, RBAC policy, system priority classes,
        ranges, the kubernetes Service.

        Then, on the virtual clock: the repair loops every 3 minutes, the
        kubernetes service controller every 10 seconds.
        """
        for name in SYSTEM_NAMESPACES:
            self._create_missing({"apiVersion": "v1", "kind": "Namespace",
                                  "metadata": {"name": name}})
        for obj in bootstrap_policy():
            self._create_missing(obj)
        loopback = self._loopback_client()
        self._add_system_priority_classes(loopback)
        self.repair_service_ranges()  # the post-start hook waits for a first successful round
        self.sim.process(repair_loop(self.sim, self.repairs, self._all_services))
        self.kubernetes_service = KubernetesServiceController(
            self.sim, loopback, MasterLeases(self.sim, self.store),
            service_ip=self.services.cluster_ips.ip_at(0),
            get_service=lambda: self._lookup("services", "default", "kubernetes", live=True),
            public_ip=self.advertise_address)
        self.kubernetes_service.start()
        self.sim.record("kube-apiserver", "Started", "apiserver",
                        f"serving {len(self.registry)} resources at revision {self.store.revision}")

    @staticmethod
    def _add_system_priority_classes(loopback) -> None:  # loopback: kubelearn.client.Client
        """The scheduling/bootstrap-system-priority-classes post-start hook.

        Through the API server's own client, as upstream's hook
        (pkg/registry/scheduling/rest/storage_scheduling.go AddSystemPriorityClasses):
        for each class a GET, and a create if it is not found -- so, like the
        ``kubernetes`` Service, they leave ``system:apiserver`` rows in the audit log.
        """
        for pc in system_priority_classes():
            try:
                loopback.get("priorityclasses", pc["metadata"]["name"])
            except NotFound:
                try:
                    loopback.create(pc)
                except AlreadyExists:  # another API server was quicker: fine
                    pass

    def _create_missing(self, obj: dict) -> None:
        """Create one object as the API server's own loopback client would, unless it exists."""
        info = self.registry.for_kind(obj["apiVersion"], obj["kind"])
        assert info is not None, f"no resource serves {obj['kind']}"
        meta = obj["metadata"]
        if self.store.get(self.storage.key(info, meta.get("namespace"), meta["name"])):
            return
        body = json.loads(json.dumps(obj))
        set_defaults(body)
        to_internal(body)
        self._admit_create(info, body, meta.get("namespace"), None, _Progress())


def _raw_selector(resource_attrs: Mapping[str, Any]) -> str:
    """A SubjectAccessReview's ``fieldSelector.rawSelector`` ('' if none or not a string)."""
    selector = resource_attrs.get("fieldSelector")
    raw = selector.get("rawSelector") if isinstance(selector, Mapping) else None
    return raw if isinstance(raw, str) else ""


def _keep_old(munged: dict, old_spec: Mapping[str, Any], field: str) -> None:
    """Put the old spec's ``field`` back into ``munged`` (or leave it out, as the old did)."""
    if field in old_spec:
        munged[field] = old_spec[field]
    else:
        munged.pop(field, None)


def _only_deleted_scheduling_gates(new_gates: Any, old_gates: Any) -> list[FieldError]:
    """validateOnlyDeletedSchedulingGates: a scheduling gate may be removed, never added.

    Upstream collects the new gates in a map (a repeated name keeps its last index)
    and reports them in Go's random map order; here in index order.
    """
    if not isinstance(new_gates, list) or not new_gates:
        return []
    added: dict[Any, int] = {}
    for i, gate in enumerate(new_gates):
        added[gate.get("name") if isinstance(gate, Mapping) else None] = i
    for gate in old_gates if isinstance(old_gates, list) else ():
        added.pop(gate.get("name") if isinstance(gate, Mapping) else None, None)
    return [FieldError.forbidden(Path("spec", "schedulingGates").index(i).child("name"),
                                 f"only deletion is allowed, but found new scheduling gate "
                                 f"'{name or ''}'")
            for name, i in sorted(added.items(), key=lambda item: item[1])]


def _pod_update_errors(new: dict, old: dict) -> list[FieldError]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (added) may change,
    scheduling gates be removed, and a gated pod's scheduling directives narrow
    (:mod:`kubelearn.api.gatedpod`)."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    errs = _only_deleted_scheduling_gates(spec.get("schedulingGates"),
                                          old_spec.get("schedulingGates"))
    munged = dict(spec)
    _keep_old(munged, old_spec, "schedulingGates")
    for field in ("containers", "initContainers"):
        now, before = spec.get(field) or [], old_spec.get(field) or []
        if field in spec and len(now) == len(before):
            munged[field] = [{**c, "image": b.get("image")} if isinstance(c, dict) else c
                             for c, b in zip(now, before, strict=True)]
    for field in ("activeDeadlineSeconds",):
        if old_spec.get(field) is not None or spec.get(field) is not None:
            munged[field] = old_spec.get(field)
            if munged[field] is None:
                munged.pop(field, None)
    tolerations, old_tolerations = spec.get("tolerations") or [], old_spec.get("tolerations") or []
    if all(t in tolerations for t in old_tolerations):
        if "tolerations" in old_spec:
            munged["tolerations"] = old_spec["tolerations"]
        else:
            munged.pop("tolerations", None)
    grace, old_grace = spec.get("terminationGracePeriodSeconds"), \
        old_spec.get("terminationGracePeriodSeconds")
    if old_grace is not None and old_grace < 0 and grace == 1:
        munged["terminationGracePeriodSeconds"] = old_grace
    if old_spec.get("schedulingGates"):
        errs += gated_pod_update_errors(munged, old_spec)
    if munged == old_spec:
        return errs
    changed = sorted(k for k in set(munged) | set(old_spec) if munged.get(k) != old_spec.get(k))
    detail = ("pod updates may not change fields other than `spec.containers[*].image`,"
              "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
              "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
              "(allow it to be set to 1 if it was previously negative)")
    diff = "\n".join(f"  spec.{k}: {json.dumps(old_spec.get(k))} -> {json.dumps(munged.get(k))}"
                     for k in changed)
    return [*errs, FieldError.forbidden(Path("spec"), f"{detail}\n{diff}")]
