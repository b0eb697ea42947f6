"""OpenAPI: the schema documents kubectl reads before ``create``, ``apply`` and ``explain``.

kubectl v1.32 reads OpenAPI v3 (``/openapi/v3``, an index of one document per
group-version, then e.g. ``/openapi/v3/apis/apps/v1``) for two things:

- ``create -f`` / ``apply -f`` (``--validate=strict`` by default) look for the
  ``fieldValidation`` parameter on the PATCH operation of the kind's path
  (cli-runtime query_param_verifier_v3.go); found, kubectl leaves validation to
  the server (``?fieldValidation=Strict``); not found, it wants OpenAPI v2 in
  protobuf to validate on the client side, which kubelearn does not serve;
- ``apply`` computes its three-way strategic merge patch from the kind's
  schema (``x-kubernetes-group-version-kind`` on a component schema), reading
  ``x-kubernetes-patch-merge-key`` / ``x-kubernetes-patch-strategy`` on list
  fields (containers merge by ``name``, ports by ``containerPort``...).

The schemas are generated from the same Go-type descriptions the API server
decodes with (:data:`kubelearn.api.schema.KIND_TYPES`, vendored from upstream's
v1.32 OpenAPI: their definition names, x-kubernetes list, map and patch
markers and ``required`` lists are upstream's). A kind without a
description gets a schema without ``x-kubernetes-group-version-kind``, so that
kubectl apply quietly uses its compiled-in types for it. ``/openapi/v2``
(Swagger 2.0, JSON only) is :func:`swagger`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

from kubelearn.api import schema as types
from kubelearn.apiserver.discovery import GIT_VERSION, group_version

META = "io.k8s.apimachinery.pkg.apis.meta.v1"
QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
TIME = f"{META}.Time"
MICRO_TIME = f"{META}.MicroTime"
PATCH = f"{META}.Patch"
STATUS = f"{META}.Status"
DELETE_OPTIONS = f"{META}.DeleteOptions"

# Go packages of the API groups (k8s.io/api/<package>/v1).
PACKAGES = {"": "core", "apps": "apps", "batch": "batch", "policy": "policy",
            "autoscaling": "autoscaling", "coordination.k8s.io": "coordination",
            "discovery.k8s.io": "discovery", "events.k8s.io": "events",
            "rbac.authorization.k8s.io": "rbac", "scheduling.k8s.io": "scheduling",
            "authorization.k8s.io": "authorization"}
META_STRUCTS = {types.OBJECT_META, types.OWNER_REFERENCE, types.LABEL_SELECTOR,
                types.LABEL_SELECTOR_REQUIREMENT}

# patchStrategy / patchMergeKey struct tags of k8s.io/api (types.go), by
# (Go struct, JSON field): what kubectl apply's strategic merge reads.
PATCH_TAGS: dict[tuple[str, str], tuple[str, str]] = {
    ("v1.ObjectMeta", "finalizers"): ("merge", ""),
    ("v1.ObjectMeta", "ownerReferences"): ("merge", "uid"),
    ("v1.PodSpec", "containers"): ("merge", "name"),
    ("v1.PodSpec", "initContainers"): ("merge", "name"),
    ("v1.PodSpec", "ephemeralContainers"): ("merge", "name"),
    ("v1.PodSpec", "volumes"): ("merge,retainKeys", "name"),
    ("v1.PodSpec", "imagePullSecrets"): ("merge", "name"),
    ("v1.PodSpec", "hostAliases"): ("merge", "ip"),
    ("v1.PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),
    ("v1.PodSpec", "schedulingGates"): ("merge", "name"),
    ("v1.Container", "ports"): ("merge", "containerPort"),
    ("v1.Container", "env"): ("merge", "name"),
    ("v1.Container", "volumeMounts"): ("merge", "mountPath"),
    ("v1.Container", "volumeDevices"): ("merge", "devicePath"),
    ("v1.PodStatus", "conditions"): ("merge", "type"),
    ("v1.PodStatus", "podIPs"): ("merge", "ip"),
    ("v1.NodeSpec", "podCIDRs"): ("merge", ""),
    ("v1.NodeStatus", "conditions"): ("merge", "type"),
    ("v1.NodeStatus", "addresses"): ("merge", "type"),
    ("v1.ServiceSpec", "ports"): ("merge", "port"),
    ("v1.DeploymentSpec", "strategy"): ("retainKeys", ""),
    ("v1.DeploymentStatus", "conditions"): ("merge", "type"),
    ("v1.ReplicaSetStatus", "conditions"): ("merge", "type"),
}
# listType=map and its keys (the +listType/+listMapKey markers), for server-side apply.
LIST_MAP_KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("v1.PodSpec", "containers"): ("name",),
    ("v1.PodSpec", "initContainers"): ("name",),
    ("v1.PodSpec", "ephemeralContainers"): ("name",),
    ("v1.Container", "ports"): ("containerPort", "protocol"),
    ("v1.ServiceSpec", "ports"): ("port", "protocol"),
}

_OBJECT = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
_ARRAY = {"type": "array", "items": _OBJECT}
# Upstream fields kubelearn stores as given without modelling them: enough
# shape that apply's patch computation finds them (free-form below this level).
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "v1.ObjectMeta": {"managedFields": _ARRAY},
    "v1.Container": {"securityContext": _OBJECT, "lifecycle": _OBJECT, "envFrom": _ARRAY,
                     "volumeDevices": _ARRAY, "resizePolicy": _ARRAY},
    "v1.EnvVar": {"valueFrom": _OBJECT},
    "v1.PodSpec": {"affinity": _OBJECT, "securityContext": _OBJECT, "dnsConfig": _OBJECT,
                   "imagePullSecrets": _ARRAY, "hostAliases": _ARRAY,
                   "topologySpreadConstraints": _ARRAY, "readinessGates": _ARRAY,
                   "ephemeralContainers": _ARRAY, "schedulingGates": _ARRAY, "os": _OBJECT,
                   "enableServiceLinks": {"type": "boolean"},
                   "shareProcessNamespace": {"type": "boolean"},
                   "preemptionPolicy": {"type": "string"}},
    "v1.Volume": {source: _OBJECT for source in (
        "configMap", "secret", "emptyDir", "hostPath", "persistentVolumeClaim", "projected",
        "downwardAPI", "nfs", "csi", "ephemeral")},
    "v1.ServiceSpec": {"ipFamilies": {"type": "array", "items": {"type": "string"}},
                       "ipFamilyPolicy": {"type": "string"},
                       "internalTrafficPolicy": {"type": "string"},
                       "externalTrafficPolicy": {"type": "string"},
                       "sessionAffinityConfig": _OBJECT, "loadBalancerIP": {"type": "string"}},
}

# Leaf components every document carries (k8s.io/apimachinery types).
LEAF_SCHEMAS: dict[str, dict[str, Any]] = {
    QUANTITY: {"type": "string", "description": "A fixed-point number: 500m, 1536Mi, 2."},
    INT_OR_STRING: {"type": "string", "format": "int-or-string",
                    "description": "An int32 or a string."},
    TIME: {"type": "string", "format": "date-time"},
    MICRO_TIME: {"type": "string", "format": "date-time"},
    PATCH: {"type": "object", "description": "A patch, in one of the patch types."},
    STATUS: {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "status": {"type": "string"}, "message": {"type": "string"},
        "reason": {"type": "string"}, "code": {"type": "integer", "format": "int32"},
        "details": _OBJECT, "metadata": _OBJECT}},
    DELETE_OPTIONS: {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "gracePeriodSeconds": {"type": "integer", "format": "int64"},
        "propagationPolicy": {"type": "string"},
        "dryRun": {"type": "array", "items": {"type": "string"}}}},
}


class SchemaWriter:
    """Turns kubelearn's Go-type descriptions into OpenAPI schemas under one ``$ref`` prefix."""

    def __init__(self, ref_prefix: str) -> None:
        self.ref_prefix = ref_prefix
        self.schemas: dict[str, dict[str, Any]] = dict(LEAF_SCHEMAS)
        self._names: dict[int, str] = {}

    def ref(self, name: str) -> dict[str, Any]:
        """A reference to component ``name``."""
        return {"$ref": self.ref_prefix + name}

    def name_of(self, struct: types.Struct, package: str) -> str:
        """The component name of a Go struct: ``io.k8s.api.core.v1.PodSpec``."""
        if struct.definition:
            return struct.definition
        key = id(struct)
        if key not in self._names:
            short = struct.short or "Object"
            if struct in META_STRUCTS:
                self._names[key] = f"{META}.{short}"
            else:
                self._names[key] = f"io.k8s.api.{package}.v1.{short}"
        return self._names[key]

    def struct(self, struct: types.Struct, package: str) -> str:
        """Write ``struct`` (and the structs below it) as components; return its name."""
        name = self.name_of(struct, package)
        if name in self.schemas:
            return name
        self.schemas[name] = {}  # placeholder: a struct may refer to itself
        properties = {field: self.value(typ, package, struct.name, field,
                                        struct.extensions.get(field))
                      for field, typ in struct.fields.items()}
        for field, extra in EXTRA_FIELDS.get(struct.name, {}).items():
            properties.setdefault(field, dict(extra))
        # Sorted, as kube-apiserver serves them (the vendored schema keeps Go's field order).
        self.schemas[name] = {"type": "object", "properties": dict(sorted(properties.items()))}
        if struct.required:  # upstream's list: kubectl explain marks these -required-
            self.schemas[name]["required"] = list(struct.required)
        return name

    def value(self, typ: Any, package: str, owner: str = "", field: str = "",
              extensions: dict[str, Any] | None = None) -> dict[str, Any]:
        """The schema of one field of Go type ``typ`` (``extensions``: its upstream markers)."""
        if isinstance(typ, types.Scalar):
            if typ.kind == "bool":
                return {"type": "boolean"}
            if typ.kind == "int":
                return {"type": "integer", "format": f"int{typ.bits}"}
            if typ.kind == "float":
                return {"type": "number", "format": "double"}
            return {"type": "string", "format": "byte"} if typ.encoding else {"type": "string"}
        if isinstance(typ, types.Struct):
            return {"allOf": [self.ref(self.struct(typ, package))], "default": {}}
        if extensions is not None:  # vendored from upstream: its markers as they are
            out = self.value(typ, package)
            return {**out, **extensions} if extensions else out
        if isinstance(typ, types.ListOf):
            out: dict[str, Any] = {"type": "array", "items": self.value(typ.item, package)}
            strategy, key = PATCH_TAGS.get((owner, field), ("", ""))
            if strategy:
                out["x-kubernetes-patch-strategy"] = strategy
            if key:
                out["x-kubernetes-patch-merge-key"] = key
            if (owner, field) in LIST_MAP_KEYS:
                out["x-kubernetes-list-type"] = "map"
                out["x-kubernetes-list-map-keys"] = list(LIST_MAP_KEYS[(owner, field)])
            return out
        if isinstance(typ, types.MapOf):
            return {"type": "object", "additionalProperties": self.value(typ.value, package)}
        custom = {types.QUANTITY: QUANTITY, types.INT_OR_STRING: INT_OR_STRING,
                  types.TIME: TIME, types.MICRO_TIME: MICRO_TIME}.get(typ)
        if custom:
            return self.ref(custom)
        return dict(_OBJECT)

    def kind(self, info: Any) -> str:
        """Write the schema of a served kind and of its List; return the kind's component name."""
        package = PACKAGES.get(info.group, info.group.split(".")[0] or "core")
        described = types.KIND_TYPES.get(info.kind)
        gvk = {"group": info.group, "version": info.version, "kind": info.kind}
        if described is not None:
            name = self.struct(described, package)
            self.schemas[name]["x-kubernetes-group-version-kind"] = [gvk]
        else:  # not modelled: no GVK, so kubectl apply falls back to its own types
            name = f"io.k8s.api.{package}.{info.version}.{info.kind}"
            meta = self.struct(types.OBJECT_META, package)
            self.schemas[name] = {"type": "object",
                                  "x-kubernetes-preserve-unknown-fields": True,
                                  "properties": {"apiVersion": {"type": "string"},
                                                 "kind": {"type": "string"},
                                                 "metadata": {"allOf": [self.ref(meta)],
                                                              "default": {}}}}
        list_name = f"{name}List"
        list_meta = self.struct(types.Struct("v1.ListMeta", {
            "resourceVersion": types.STRING, "continue": types.STRING,
            "remainingItemCount": types.INT64}), package)
        self.schemas[list_name] = {
            "type": "object", "required": ["items"],
            "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                           "items": {"type": "array", "items": self.ref(name)},
                           "metadata": {"allOf": [self.ref(list_meta)], "default": {}}},
            "x-kubernetes-group-version-kind": [{**gvk, "kind": f"{info.kind}List"}]}
        return name


# -- operations -------------------------------------------------------------------

def _param(name: str, where: str = "query", typ: str = "string", *, v3: bool,
           required: bool = False) -> dict[str, Any]:
    schema = {"type": typ, "uniqueItems": True}
    param: dict[str, Any] = {"name": name, "in": where}
    if v3:
        param["schema"] = schema
    else:
        param.update(schema)
    if required or where == "path":
        param["required"] = True
    return param


def _operations(info: Any, writer: SchemaWriter, *, v3: bool,
                patch_types: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """The paths and operations of one resource, as kube-apiserver's installer lays them out."""
    kind_ref = writer.ref(writer.kind(info))
    list_ref = writer.ref(writer.kind(info) + "List")
    gvk = {"group": info.group, "version": info.version, "kind": info.kind}
    root = f"/apis/{info.group}/{info.version}" if info.group else f"/api/{info.version}"
    scope = f"{root}/namespaces/{{namespace}}" if info.namespaced else root
    verbs = set(info.verbs)
    write_params = [_param(p, v3=v3) for p in ("dryRun", "fieldManager", "fieldValidation")]
    patch_params = [*write_params, _param("force", typ="boolean", v3=v3)]
    list_params = [_param(p, typ=t, v3=v3) for p, t in (
        ("labelSelector", "string"), ("fieldSelector", "string"), ("limit", "integer"),
        ("continue", "string"), ("resourceVersion", "string"), ("watch", "boolean"),
        ("timeoutSeconds", "integer"), ("allowWatchBookmarks", "boolean"))]

    def op(action: str, verb_id: str, response: dict[str, Any], *, params: list | None = None,
           body: dict[str, Any] | None = None, body_types: tuple[str, ...] = ("application/json",),
           code: str = "200", suffix: str = "") -> dict[str, Any]:
        group_id = "".join(p.capitalize() for p in (info.group.split(".")[0] or "core",
                                                      info.version))
        operation: dict[str, Any] = {
            "operationId": f"{verb_id}{group_id}{'Namespaced' if info.namespaced else ''}"
                           f"{info.kind}{suffix}",
            "parameters": list(params or []),
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": gvk,
        }
        if v3:
            operation["responses"] = {code: {"content": {
                "application/json": {"schema": response}}}}
            if body is not None:
                operation["requestBody"] = {"required": True, "content": {
                    t: {"schema": body} for t in body_types}}
        else:
            operation["responses"] = {code: {"schema": response}}
            operation["produces"] = ["application/json", "application/yaml"]
            operation["consumes"] = list(body_types)
            if body is not None:
                operation["parameters"].append(
                    {"name": "body", "in": "body", "required": True, "schema": body})
        return operation

    ns_param = [_param("namespace", "path", v3=v3)] if info.namespaced else []
    paths: dict[str, dict[str, Any]] = {}
    collection: dict[str, Any] = {"parameters": ns_param + [_param("pretty", v3=v3)]}
    if "list" in verbs:
        collection["get"] = op("list", "list", list_ref, params=list_params)
    if "create" in verbs:
        collection["post"] = op("post", "create", kind_ref, params=write_params, body=kind_ref,
                                code="201")
    if "deletecollection" in verbs:
        collection["delete"] = op("deletecollection", "deleteCollection", writer.ref(STATUS),
                                  params=list_params, body=writer.ref(DELETE_OPTIONS))
    paths[f"{scope}/{info.resource}"] = collection
    item: dict[str, Any] = {"parameters": [_param("name", "path", v3=v3), *ns_param,
                                           _param("pretty", v3=v3)]}
    if "get" in verbs:
        item["get"] = op("get", "read", kind_ref)
    if "update" in verbs:
        item["put"] = op("put", "replace", kind_ref, params=write_params, body=kind_ref)
    if "patch" in verbs:
        item["patch"] = op("patch", "patch", kind_ref, params=patch_params,
                           body=writer.ref(PATCH), body_types=patch_types)
    if "delete" in verbs:
        item["delete"] = op("delete", "delete", writer.ref(STATUS),
                            params=[_param("gracePeriodSeconds", typ="integer", v3=v3),
                                    _param("propagationPolicy", v3=v3)],
                            body=writer.ref(DELETE_OPTIONS))
    if len(item) > 1:
        paths[f"{scope}/{info.resource}/{{name}}"] = item
    if info.namespaced and "list" in verbs:
        paths[f"{root}/{info.resource}"] = {
            "get": op("list", "list", list_ref, params=list_params, suffix="ForAllNamespaces")}
    if "status" in info.subresources:
        paths[f"{scope}/{info.resource}/{{name}}/status"] = {
            "parameters": item["parameters"],
            "get": op("get", "read", kind_ref, suffix="Status"),
            "put": op("put", "replace", kind_ref, params=write_params, body=kind_ref,
                      suffix="Status"),
            "patch": op("patch", "patch", kind_ref, params=patch_params,
                        body=writer.ref(PATCH), body_types=patch_types, suffix="Status")}
    return paths


# -- documents ----------------------------------------------------------------------

def _info(title: str) -> dict[str, str]:
    return {"title": title, "version": GIT_VERSION}


def swagger(resources: Iterable[Any], patch_types: tuple[str, ...]) -> dict[str, Any]:
    """``GET /openapi/v2``: every served resource in one Swagger 2.0 document."""
    writer = SchemaWriter("#/definitions/")
    paths: dict[str, Any] = {}
    for info in resources:
        paths.update(_operations(info, writer, v3=False, patch_types=patch_types))
    return {"swagger": "2.0", "info": _info("Kubernetes"), "paths": paths,
            "definitions": writer.schemas}


def v3_path(group: str, version: str) -> str:
    """The index key of a group-version's document: ``api/v1``, ``apis/apps/v1``."""
    return f"apis/{group}/{version}" if group else f"api/{version}"


def v3_documents(resources: Iterable[Any],
                 patch_types: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """``GET /openapi/v3/<path>``: one OpenAPI 3.0 document a group-version, by index key."""
    by_gv: dict[str, list[Any]] = {}
    for info in resources:
        by_gv.setdefault(v3_path(info.group, info.version), []).append(info)
    documents = {}
    for path, infos in by_gv.items():
        writer = SchemaWriter("#/components/schemas/")
        paths: dict[str, Any] = {}
        for info in infos:
            paths.update(_operations(info, writer, v3=True, patch_types=patch_types))
        title = f"Kubernetes {group_version(infos[0].group, infos[0].version)}"
        documents[path] = {"openapi": "3.0.0", "info": _info(title), "paths": paths,
                           "components": {"schemas": writer.schemas}}
    return documents


def digest(document: bytes) -> str:
    """The hash in a document's URL, as the index gives it (upstream: SHA-512, upper hex)."""
    return hashlib.sha512(document).hexdigest().upper()


def v3_index(documents: dict[str, bytes]) -> dict[str, Any]:
    """``GET /openapi/v3``: where each group-version's document is, with its content hash."""
    return {"paths": {path: {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest(body)}"}
                      for path, body in sorted(documents.items())}}


def encode(document: dict[str, Any]) -> bytes:
    """A document as served: compact JSON."""
    return json.dumps(document, separators=(",", ":")).encode()
