"""The client every component uses to talk to the API server (client-go, in small).

Hub and spoke: the scheduler, the controllers, the kubelets and kube-proxy
never touch etcd or each other -- they call the API server through a
:class:`Client` carrying their own bearer token, so every call goes through
the same pipeline as a ``kubectl`` request over HTTP (authentication, RBAC,
admission, validation, storage) under the component's identity, and leaves
an audit row.

    >>> pods = client.list("pods", namespace="default")          # doctest: +SKIP
    >>> client.patch("deployments", "web", {"spec": {"replicas": 3}})  # doctest: +SKIP

Answers are plain dicts in Kubernetes' JSON shape; errors are raised as
:class:`kubelearn.api.StatusError` (``NotFound``, ``Conflict``...). Objects
from :meth:`Client.watch` are shared by every watcher: copy before changing.
What the API server warns about (an unknown field it dropped) comes back as a
Python warning, :class:`APIWarning`, where kubectl prints ``Warning: ...``
(client-go's default WarningHandler logs them); Python shows each once per
place, as kubectl's deduplicating handler does.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.api import BadRequest, StatusError
from kubelearn.apiserver.request import Request

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.registry import ResourceInfo
    from kubelearn.apiserver.server import APIServer
    from kubelearn.apiserver.watch import WatchStream

Selector = str | Mapping[str, str] | None


def _name_of(obj: Mapping[str, Any]) -> str | None:
    """``metadata.name``, if the object has one (a malformed object is the server's to refuse)."""
    meta = obj.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return name if isinstance(name, str) else None


class APIWarning(UserWarning):
    """A warning the API server sent with its answer (a ``Warning: 299`` header over HTTP)."""


def _selector(selector: Selector) -> str | None:
    """A selector string from ``"app=web"`` or ``{"app": "web"}``."""
    if selector is None or isinstance(selector, str):
        return selector or None
    return ",".join(f"{k}={v}" for k, v in selector.items())


class Client:
    """One component's connection to the API server, under its own token."""

    def __init__(self, api: APIServer, token: str, *, user_agent: str = "") -> None:
        self.api = api
        self.token = token
        self.user_agent = user_agent

    def __repr__(self) -> str:
        return f"Client({self.user_agent or 'kubelearn'})"

    # -- plumbing --------------------------------------------------------------------------------
    def info(self, resource: str) -> ResourceInfo:
        """The served resource named by a plural, singular, short name or kind (404 if none)."""
        return self.api.registry.lookup(resource)

    def _info_of(self, obj: Mapping[str, Any]) -> ResourceInfo:
        if not isinstance(obj, Mapping) or not obj.get("kind"):
            raise BadRequest("Object 'Kind' is missing")
        info = self.api.registry.for_kind(str(obj.get("apiVersion") or ""), str(obj["kind"]))
        return info if info is not None else self.info(str(obj["kind"]))

    @staticmethod
    def _namespace(info: ResourceInfo, namespace: str | None,
                   obj: Mapping[str, Any] | None = None) -> str | None:
        """The namespace a call on one object goes to: given, the object's, else default."""
        if not info.namespaced:
            return None
        if namespace:
            return namespace
        meta = (obj or {}).get("metadata") if isinstance(obj, Mapping) else None
        if isinstance(meta, Mapping) and meta.get("namespace"):
            return str(meta["namespace"])
        return "default"

    def request(self, verb: str, info: ResourceInfo, *, namespace: str | None = None,
                name: str | None = None, subresource: str | None = None, body: Any = None,
                query: dict[str, Any] | None = None, patch_type: str | None = None) -> Any:
        """Send one request through the API server's pipeline."""
        params = {k: str(v).lower() if isinstance(v, bool) else str(v)
                  for k, v in query.items() if v is not None} if query else {}
        request = Request(
            verb=verb, resource=info.resource, group=info.group, version=info.version,
            namespace=namespace, name=name, subresource=subresource, body=body,
            query=params, token=self.token, patch_type=patch_type, user_agent=self.user_agent)
        answer = self.api.handle(request)
        for text in request.warnings:  # stacklevel 3: the line that called create, patch...
            warnings.warn(APIWarning(text), stacklevel=3)
        return answer

    # -- the verbs -------------------------------------------------------------------------------
    def get(self, resource: str, name: str, namespace: str | None = None) -> dict:
        """One object (``default`` namespace unless told)."""
        info = self.info(resource)
        return self.request("get", info, namespace=self._namespace(info, namespace), name=name)

    def list(self, resource: str, namespace: str | None = None, *,
             label_selector: Selector = None, field_selector: Selector = None,
             limit: int | None = None, continue_: str | None = None,
             resource_version: str | None = None) -> dict:
        """A ``<Kind>List``; ``namespace=None`` lists every namespace."""
        info = self.info(resource)
        return self.request("list", info, namespace=namespace if info.namespaced else None,
                            query={"labelSelector": _selector(label_selector),
                                   "fieldSelector": _selector(field_selector), "limit": limit,
                                   "continue": continue_, "resourceVersion": resource_version})

    def create(self, obj: Mapping[str, Any], namespace: str | None = None, *,
               dry_run: bool = False) -> dict:
        """Create ``obj`` (its kind says where); returns the stored object."""
        info = self._info_of(obj)
        return self.request("create", info, namespace=self._namespace(info, namespace, obj),
                            body=obj, query={"dryRun": "All" if dry_run else None})

    def update(self, obj: Mapping[str, Any], namespace: str | None = None) -> dict:
        """Replace an object (a PUT); a stale ``resourceVersion`` is a Conflict."""
        info = self._info_of(obj)
        return self.request("update", info, namespace=self._namespace(info, namespace, obj),
                            name=_name_of(obj), body=obj)

    def update_status(self, obj: Mapping[str, Any], namespace: str | None = None) -> dict:
        """Replace an object's status (PUT .../status): only ``status`` changes."""
        info = self._info_of(obj)
        return self.request("update", info, namespace=self._namespace(info, namespace, obj),
                            name=_name_of(obj), subresource="status",
                            body=obj)

    def patch(self, resource: str, name: str, patch: Any, namespace: str | None = None, *,
              patch_type: str = "strategic", subresource: str | None = None) -> dict:
        """Patch an object: ``strategic`` (default), ``merge`` or ``json`` (RFC 6902)."""
        info = self.info(resource)
        return self.request("patch", info, namespace=self._namespace(info, namespace),
                            name=name, subresource=subresource, body=patch,
                            patch_type=patch_type)

    def delete(self, resource: str, name: str, namespace: str | None = None, *,
               grace_period_seconds: int | None = None, propagation_policy: str | None = None,
               preconditions: Mapping[str, str] | None = None) -> dict:
        """Delete an object: the object (pods: now terminating) or a Success Status."""
        info = self.info(resource)
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy is not None:
            options["propagationPolicy"] = propagation_policy
        if preconditions:
            options["preconditions"] = dict(preconditions)
        return self.request("delete", info, namespace=self._namespace(info, namespace),
                            name=name, body=options)

    def watch(self, resource: str, namespace: str | None = None, *,
              resource_version: str | None = None, label_selector: Selector = None,
              field_selector: Selector = None, allow_bookmarks: bool = False,
              timeout_seconds: int | None = None,
              send_initial_events: bool | None = None) -> WatchStream:
        """A :class:`~kubelearn.apiserver.watch.WatchStream`; ``namespace=None`` watches all.

        ``send_initial_events`` goes with ``resourceVersionMatch=NotOlderThan``, the one
        match the API server accepts with it, as client-go's reflector sends them.
        """
        info = self.info(resource)
        return self.request("watch", info, namespace=namespace if info.namespaced else None,
                            query={"resourceVersion": resource_version,
                                   "labelSelector": _selector(label_selector),
                                   "fieldSelector": _selector(field_selector),
                                   "allowWatchBookmarks": allow_bookmarks or None,
                                   "timeoutSeconds": timeout_seconds,
                                   "sendInitialEvents": send_initial_events,
                                   "resourceVersionMatch": None if send_initial_events is None
                                   else "NotOlderThan"})

    def bind(self, pod: str, node: str, namespace: str | None = None, *,
             uid: str | None = None) -> dict:
        """Bind a pod to a node (POST pods/<pod>/binding), as the scheduler does."""
        info = self.info("pods")
        meta: dict[str, Any] = {"name": pod}
        if uid:
            meta["uid"] = uid
        body = {"apiVersion": "v1", "kind": "Binding", "metadata": meta,
                "target": {"apiVersion": "v1", "kind": "Node", "name": node}}
        return self.request("create", info, namespace=self._namespace(info, namespace),
                            name=pod, subresource="binding", body=body)

    def evict(self, pod: str, namespace: str | None = None, *,
              grace_period_seconds: int | None = None,
              preconditions: Mapping[str, str] | None = None, dry_run: bool = False) -> dict:
        """Evict a pod (POST pods/<pod>/eviction): deleted only if its disruption budget allows.

        Answers the ``Success`` Status; raises ``TooManyRequests`` (429) while the
        pod's PodDisruptionBudget allows no disruption, and the error a ``Failure``
        Status describes (a pod two budgets select), as client-go turns one into.
        """
        info = self.info("pods")
        ns = self._namespace(info, namespace)
        options: dict[str, Any] = {}
        if grace_period_seconds is not None:
            options["gracePeriodSeconds"] = grace_period_seconds
        if preconditions:
            options["preconditions"] = dict(preconditions)
        if dry_run:
            options["dryRun"] = ["All"]
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": pod, "namespace": ns}, "deleteOptions": options}
        answer = self.request("create", info, namespace=ns, name=pod, subresource="eviction",
                              body=body)
        if isinstance(answer, Mapping) and answer.get("status") == "Failure":
            raise StatusError.from_status(dict(answer))
        return answer

    def scale(self, resource: str, name: str, replicas: int | None = None,
              namespace: str | None = None) -> dict:
        """The autoscaling/v1 Scale of a workload; with ``replicas``, set it first."""
        info = self.info(resource)
        ns = self._namespace(info, namespace)
        if replicas is None:
            return self.request("get", info, namespace=ns, name=name, subresource="scale")
        return self.request("patch", info, namespace=ns, name=name, subresource="scale",
                            body={"spec": {"replicas": replicas}}, patch_type="merge")

    def can_i(self, verb: str, resource: str, namespace: str | None = None, *,
              name: str | None = None, subresource: str | None = None) -> bool:
        """``kubectl auth can-i``: a SelfSubjectAccessReview for this client's user."""
        info = self.api.registry.get(resource)
        attrs = {"verb": verb, "resource": info.resource if info else resource,
                 "group": info.group if info else "", "namespace": namespace or "",
                 "name": name or "", "subresource": subresource or ""}
        review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                  "spec": {"resourceAttributes": {k: v for k, v in attrs.items() if v}}}
        answer = self.request("create", self.info("selfsubjectaccessreviews"), body=review)
        return bool(answer["status"]["allowed"])
