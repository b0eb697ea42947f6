"""Discovery: how kubectl learns which resources the API server serves.

Before its first real request kubectl asks the server what it has, and
caches the answer (``~/.kube/cache/discovery``). Two shapes exist upstream
(k8s.io/apiserver/pkg/endpoints/discovery), both built here from the
registry (``cluster.api.resources``):

- the legacy documents: :func:`api_versions` (``GET /api``, kind APIVersions),
  :func:`api_group_list` (``GET /apis``, kind APIGroupList), :func:`api_group`
  (``GET /apis/<group>``) and :func:`api_resource_list` (``GET /api/v1``,
  ``GET /apis/<group>/<version>``, kind APIResourceList: each resource's verbs,
  short names, singular name, scope, kind and categories, subresources as
  ``pods/status``);
- aggregated discovery, :func:`aggregated_discovery` (kind APIGroupDiscoveryList,
  apidiscovery.k8s.io/v2): the same facts for every group in one document.
  kubectl v1.30+ asks for it first (``Accept: application/json;g=apidiscovery.k8s.io;
  v=v2;as=APIGroupDiscoveryList,...,application/json``) and falls back to the
  legacy documents when a server answers plain JSON;
- :func:`version_info` -- ``GET /version``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubelearn import version

# The Kubernetes release this API server speaks, kubelearn.version's one constant
# (kubectl's skew check reads major/minor; the gitVersion suffix says it is not a
# real kube-apiserver).
MAJOR, MINOR = str(version.MAJOR), str(version.MINOR)
GIT_VERSION = version.GIT_VERSION

AGGREGATED_GROUP = "apidiscovery.k8s.io"
AGGREGATED_VERSIONS = ("v2", "v2beta1")  # v2beta1 is still accepted by kubectl 1.32

# Subresources whose object is not the parent's kind, and the verbs each serves
# (pkg/registry/*/rest: StatusREST, ScaleREST, BindingREST, EvictionREST).
SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
}
SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "binding": ("create",),
    "eviction": ("create",),
    "finalize": ("update",),
}


def group_version(group: str, version: str) -> str:
    """``v1`` for the core group, ``apps/v1`` for the others."""
    return f"{group}/{version}" if group else version


def _subresources(info: Any) -> list[tuple[str, tuple[str, str, str], tuple[str, ...]]]:
    """(name, (group, version, kind), verbs) of each subresource of a registry entry."""
    return [(name, SUBRESOURCE_KINDS.get(name, (info.group, info.version, info.kind)),
             SUBRESOURCE_VERBS.get(name, ("get",))) for name in info.subresources]


def group_versions(resources: Iterable[Any]) -> dict[str, list[str]]:
    """Every group served and its versions, in the order the registry lists them."""
    groups: dict[str, list[str]] = {}
    for info in resources:
        versions = groups.setdefault(info.group, [])
        if info.version not in versions:
            versions.append(info.version)
    return groups


def version_info() -> dict[str, str]:
    """``GET /version``: the server's release (version.Info)."""
    return {"major": MAJOR, "minor": MINOR, "gitVersion": GIT_VERSION,
            "gitCommit": "", "gitTreeState": "clean", "buildDate": "2024-01-01T00:00:00Z",
            "goVersion": "python", "compiler": "kubelearn", "platform": "linux/amd64"}


def api_versions(server_address: str) -> dict[str, Any]:
    """``GET /api``: the versions of the legacy core group (kind APIVersions)."""
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0",
                                            "serverAddress": server_address}]}


def api_group(group: str, versions: list[str]) -> dict[str, Any]:
    """One APIGroup: its name, versions and preferred version (the first)."""
    entries = [{"groupVersion": group_version(group, v), "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": entries,
            "preferredVersion": entries[0]}


def api_group_list(resources: Iterable[Any]) -> dict[str, Any]:
    """``GET /apis``: every named group (kind APIGroupList); the core group is not listed."""
    groups = [api_group(g, vs) for g, vs in group_versions(resources).items() if g]
    for entry in groups:
        del entry["kind"], entry["apiVersion"]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _api_resource(info: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": info.resource, "singularName": info.singular,
                             "namespaced": bool(info.namespaced), "kind": info.kind,
                             "verbs": sorted(info.verbs)}
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if getattr(info, "categories", ()):
        entry["categories"] = list(info.categories)
    return entry


def api_resource_list(resources: Iterable[Any], group: str, version: str) -> dict[str, Any] | None:
    """``GET /api/v1`` or ``/apis/<group>/<version>`` (kind APIResourceList); None if not served."""
    out: list[dict[str, Any]] = []
    found = False
    for info in resources:
        if info.group != group or info.version != version:
            continue
        found = True
        out.append(_api_resource(info))
        for name, (sub_group, sub_version, kind), verbs in _subresources(info):
            entry: dict[str, Any] = {"name": f"{info.resource}/{name}", "singularName": "",
                                     "namespaced": bool(info.namespaced)}
            if (sub_group, sub_version) != (group, version):
                entry["group"], entry["version"] = sub_group, sub_version
            entry["kind"], entry["verbs"] = kind, list(verbs)
            out.append(entry)
    if not found:
        return None
    body: dict[str, Any] = {"kind": "APIResourceList", "apiVersion": "v1",
                            "groupVersion": group_version(group, version), "resources": out}
    if not group:  # the legacy /api/v1 document carries no apiVersion
        del body["apiVersion"]
    return body


def _discovery_resource(info: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": info.resource,
        "responseKind": {"group": info.group, "version": info.version, "kind": info.kind},
        "scope": "Namespaced" if info.namespaced else "Cluster",
        "singularResource": info.singular, "verbs": sorted(info.verbs)}
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if getattr(info, "categories", ()):
        entry["categories"] = list(info.categories)
    subs = [{"subresource": name,
             "responseKind": {"group": g, "version": v, "kind": k}, "verbs": list(verbs)}
            for name, (g, v, k), verbs in _subresources(info)]
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated_discovery(resources: Iterable[Any], *, legacy: bool,
                         version: str = "v2") -> dict[str, Any]:
    """``GET /api`` (``legacy``) or ``/apis`` as one APIGroupDiscoveryList (KEP-3352)."""
    resources = list(resources)
    items = []
    for group, versions in group_versions(resources).items():
        if bool(group) == legacy:
            continue
        entries = []
        for v in versions:
            served = [_discovery_resource(i) for i in resources
                      if i.group == group and i.version == v]
            entries.append({"version": v, "resources": served, "freshness": "Current"})
        metadata: dict[str, Any] = {"creationTimestamp": None}
        if group:
            metadata["name"] = group
        items.append({"metadata": metadata, "versions": entries})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": f"{AGGREGATED_GROUP}/{version}",
            "metadata": {}, "items": items}
