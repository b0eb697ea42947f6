"""Manifests: reading the YAML a learner writes, and the helpers that name things.

- :func:`load` -- YAML or JSON text (many documents), a file path, a dict, a list
  of dicts or a ``kind: List``, in; plain dicts in the real Kubernetes shape
  (``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``) out. Anything
  malformed raises a :class:`~kubelearn.api.errors.StatusError` worded as
  kubectl or the API server words it.
- :func:`to_yaml` -- an object printed as ``kubectl get -o yaml`` prints it;
  :func:`jsonable` -- a copy holding only what JSON can.
- :data:`KINDS`, :func:`kind_info`, :func:`resource_for`, :func:`kind_for`,
  :func:`is_namespaced` -- each kind's group, version, resource (plural) and scope.
- :func:`key_for`, :func:`key_prefix`, :func:`object_ref` -- where an object lives
  in etcd, and a reference to it.
- :func:`resource_list`, :func:`pod_requests`, :func:`pod_limits`,
  :func:`node_allocatable` -- the resource sums the scheduler and kubelet use
  (k8s.io/component-helpers/resource).
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from kubelearn.api.errors import BadRequest, go_float, go_json, go_quote
from kubelearn.api.quantity import Quantity, parse_quantity
from kubelearn.api.schema import check_types, json_kind

# -- kinds and resources --------------------------------------------------------------


class KindInfo(NamedTuple):
    """What the API server knows of a kind (its discovery entry)."""

    kind: str
    group: str  # "" is the core (legacy) group
    version: str
    resource: str  # the plural, as in URLs and etcd keys
    namespaced: bool
    short_names: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        """``v1`` or ``group/version``."""
        return f"{self.group}/{self.version}" if self.group else self.version


KINDS: dict[str, KindInfo] = {k.kind: k for k in (
    KindInfo("Pod", "", "v1", "pods", True, ("po",)),
    KindInfo("Node", "", "v1", "nodes", False, ("no",)),
    KindInfo("Namespace", "", "v1", "namespaces", False, ("ns",)),
    KindInfo("Service", "", "v1", "services", True, ("svc",)),
    KindInfo("Endpoints", "", "v1", "endpoints", True, ("ep",)),
    KindInfo("ConfigMap", "", "v1", "configmaps", True, ("cm",)),
    KindInfo("Secret", "", "v1", "secrets", True),
    KindInfo("ServiceAccount", "", "v1", "serviceaccounts", True, ("sa",)),
    KindInfo("Event", "", "v1", "events", True, ("ev",)),
    KindInfo("Binding", "", "v1", "bindings", True),
    KindInfo("PersistentVolume", "", "v1", "persistentvolumes", False, ("pv",)),
    KindInfo("PersistentVolumeClaim", "", "v1", "persistentvolumeclaims", True, ("pvc",)),
    KindInfo("Deployment", "apps", "v1", "deployments", True, ("deploy",)),
    KindInfo("ReplicaSet", "apps", "v1", "replicasets", True, ("rs",)),
    KindInfo("StatefulSet", "apps", "v1", "statefulsets", True, ("sts",)),
    KindInfo("DaemonSet", "apps", "v1", "daemonsets", True, ("ds",)),
    KindInfo("Job", "batch", "v1", "jobs", True),
    KindInfo("CronJob", "batch", "v1", "cronjobs", True, ("cj",)),
    KindInfo("Lease", "coordination.k8s.io", "v1", "leases", True),
    KindInfo("EndpointSlice", "discovery.k8s.io", "v1", "endpointslices", True),
    KindInfo("PriorityClass", "scheduling.k8s.io", "v1", "priorityclasses", False, ("pc",)),
    KindInfo("Role", "rbac.authorization.k8s.io", "v1", "roles", True),
    KindInfo("RoleBinding", "rbac.authorization.k8s.io", "v1", "rolebindings", True),
    KindInfo("ClusterRole", "rbac.authorization.k8s.io", "v1", "clusterroles", False),
    KindInfo("ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", "clusterrolebindings",
             False),
)}

# Kinds served under more than one group/version (events.k8s.io/v1 Event).
EXTRA_API_VERSIONS = {"Event": ("events.k8s.io/v1",)}

# pkg/kubeapiserver/default_storage_factory_builder.go SpecialDefaultResourcePrefixes:
# the few resources whose etcd prefix is not their name.
ETCD_PREFIXES = {"nodes": "minions", "services": "services/specs",
                 "endpoints": "services/endpoints", "replicationcontrollers": "controllers",
                 "ingresses": "ingress"}


def kind_info(kind: str) -> KindInfo | None:
    """The discovery entry of ``kind``, or None for a kind kubelearn does not know."""
    return KINDS.get(kind)


def resource_for(kind: str) -> str:
    """The resource (plural) of a kind: Pod -> pods (meta.UnsafeGuessKindToResource if unknown)."""
    if kind in KINDS:
        return KINDS[kind].resource
    singular = kind.lower()
    if not singular or singular.endswith("endpoints"):
        return singular
    if singular.endswith("s"):
        return singular + "es"
    if singular.endswith("y"):
        return singular[:-1] + "ies"
    return singular + "s"


def kind_for(resource: str) -> str:
    """The kind a resource name, singular or short name stands for: pods, pod, po -> Pod."""
    name = resource.lower().partition(".")[0]
    for info in KINDS.values():
        if name in (info.resource, info.kind.lower(), *info.short_names):
            return info.kind
    raise BadRequest(f'the server doesn\'t have a resource type "{resource}"')


def is_namespaced(kind: str) -> bool:
    """True if objects of ``kind`` live in a namespace (unknown kinds are assumed to)."""
    info = KINDS.get(kind)
    return info.namespaced if info else True


def key_prefix(resource: str, namespace: str | None = None) -> str:
    """The etcd prefix a list or watch reads: ``/registry/pods/`` or ``/registry/pods/default/``."""
    prefix = f"/registry/{ETCD_PREFIXES.get(resource, resource)}/"
    return f"{prefix}{namespace}/" if namespace else prefix


def key_for(resource: str, namespace: str | None, name: str) -> str:
    """Where an object lives in etcd: ``/registry/pods/default/web``, ``/registry/minions/node-1``.

    Upstream keeps nodes under ``minions`` and services under ``services/specs``
    (SpecialDefaultResourcePrefixes); every other core resource under its own name.
    """
    return key_prefix(resource, namespace) + name


def object_ref(obj: Mapping[str, Any]) -> dict[str, Any]:
    """A v1.ObjectReference to ``obj``, like an event's ``involvedObject`` (GetReference)."""
    meta = _map(obj.get("metadata"))
    ref = {"kind": obj.get("kind"), "namespace": meta.get("namespace"), "name": meta.get("name"),
           "uid": meta.get("uid"), "apiVersion": obj.get("apiVersion"),
           "resourceVersion": meta.get("resourceVersion")}
    return {k: v for k, v in ref.items() if v}


# -- load ---------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """A YAML 1.1 loader that, like kubectl's, keeps timestamps as strings."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# go-yaml v2 (yamlStyleFloat) also reads 1e3 as a float, where PyYAML wants 1.0e+3.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$"), list("-+0123456789."))


def _json_key(key: Any) -> str:
    """A mapping key as sigs.k8s.io/yaml turns it into a JSON key."""
    if isinstance(key, str):
        return key
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return "null"
    if isinstance(key, float):
        return go_float(key, json_style=True)
    if isinstance(key, int):
        return str(key)
    raise BadRequest(f"error converting YAML to JSON: unsupported map key of type "
                     f"{type(key).__name__}: {key!r}")


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` holding only what JSON can: dicts, lists, str, numbers, bools.

    Quantities become their strings, tuples lists; what JSON cannot hold is a BadRequest.
    """
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, int):
        if value.bit_length() > 1024:  # beyond any float64: encoding/json refuses it
            raise BadRequest("error converting YAML to JSON: json: number out of range")
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise BadRequest(f"error converting YAML to JSON: json: unsupported value: "
                             f"{go_float(value)}")
        return value
    if isinstance(value, Mapping):
        return {_json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):  # YAML !!set: a mapping to nulls
        return {_json_key(k): None for k in value}
    if isinstance(value, Quantity):
        return str(value)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):  # YAML !!binary
        return value.decode("utf-8", "replace")
    raise BadRequest(f"json: unsupported type: {type(value).__name__}")


def _documents(text: str) -> list[Any]:
    """The documents of a YAML or JSON stream, empty ones dropped."""
    text = text.lstrip("\ufeff")
    if text.lstrip().startswith("{"):  # kubectl's YAMLOrJSONDecoder sniffs for JSON
        decoder, docs, pos = json.JSONDecoder(), [], 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return docs
            try:
                doc, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as err:
                raise BadRequest(f"error parsing JSON: {err.msg} at line {err.lineno} "
                                 f"column {err.colno}") from None
            except (ValueError, RecursionError) as err:
                raise BadRequest(f"error parsing JSON: {err}") from None
            docs.append(doc)
    try:
        return [doc for doc in yaml.load_all(text, Loader=_Loader) if doc is not None]
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        raise BadRequest(f"error converting YAML to JSON: yaml: {where}"
                         f"{err.problem or err.context}") from None
    except yaml.YAMLError as err:
        raise BadRequest(f"error converting YAML to JSON: yaml: {err}") from None
    except RecursionError:
        raise BadRequest("error converting YAML to JSON: yaml: exceeded max depth") from None
    except ValueError as err:  # e.g. an integer of more digits than Python will convert
        raise BadRequest(f"error converting YAML to JSON: {err}") from None


def _objects(doc: Any, where: str) -> list[dict[str, Any]]:
    """One decoded document as objects: a List's items expanded, kind and apiVersion checked."""
    if isinstance(doc, list):  # a YAML sequence of objects: each is a document
        return [obj for item in doc for obj in _objects(item, where)]
    if not isinstance(doc, dict):
        raise BadRequest(f"{where}json: cannot unmarshal {json_kind(doc)} into Go value of type "
                         "map[string]interface {}")
    items = doc.get("items")
    if items is not None:  # unstructuredJSONScheme: anything with items is a list
        if not isinstance(items, list):
            raise BadRequest(f"{where}json: cannot unmarshal {json_kind(items)} into Go struct "
                             "field .items of type []json.RawMessage")
        objects = []
        item_kind = str(doc.get("kind") or "").removesuffix("List")
        for item in items:
            if isinstance(item, dict) and not item.get("kind") and not item.get("apiVersion"):
                item = {**item, "kind": item_kind, "apiVersion": doc.get("apiVersion")}
            objects.extend(_objects(item, where))
        return objects
    if not isinstance(doc.get("kind"), str) or not doc["kind"]:
        raise BadRequest(f"{where}Object 'Kind' is missing in '{go_json(doc)}'")
    if not isinstance(doc.get("apiVersion"), str) or not doc["apiVersion"]:
        raise BadRequest(f"{where}Object 'apiVersion' is missing in '{go_json(doc)}'")
    try:
        check_types(doc)
    except BadRequest as err:
        raise BadRequest(f"{where}{err}") from None
    return [doc]


def _looks_like_path(text: str) -> bool:
    """True for ``pod.yaml`` or an existing file; False for manifest text."""
    if "\n" in text or "\0" in text or ": " in text or len(text) > 4096:
        return False
    return os.path.isfile(text) or bool(re.search(r"\.(ya?ml|json)\s*$", text))


Source = str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any]


def load(source: Source) -> list[dict[str, Any]]:
    """Read manifests from YAML/JSON text, a file path, a dict or a list, as plain dicts.

    Empty documents are skipped and ``kind: List`` items expanded; malformed input
    raises :class:`~kubelearn.api.errors.BadRequest` with kubectl's wording.
    """
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise BadRequest(f"the path {go_quote(str(path))} does not exist") from None
        docs, where = _documents(text), f"unable to decode {go_quote(str(path))}: "
        return [obj for doc in docs for obj in _objects(jsonable(doc), where)]
    if isinstance(source, (bytes, bytearray)):
        source = bytes(source).decode("utf-8", "replace")
    if isinstance(source, str):
        docs = _documents(source)
        many = len(docs) > 1
        return [obj for i, doc in enumerate(docs, 1)
                for obj in _objects(jsonable(doc), f"document {i}: " if many else "")]
    if isinstance(source, Mapping):
        return _objects(jsonable(source), "")
    if isinstance(source, Sequence):
        objects = []
        for item in source:
            if isinstance(item, (str, os.PathLike)):
                objects.extend(load(item))
            else:
                objects.extend(_objects(jsonable(item), ""))
        return objects
    raise BadRequest(f"cannot read manifests from {type(source).__name__}")


# -- printing --------------------------------------------------------------------------------

_STR_TAG = "tag:yaml.org,2002:str"
_GO_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")


class _KubectlDumper(yaml.SafeDumper):
    """Dumps as kubectl (go-yaml v2) does: sorted keys, unindented lists, quotes only if needed."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # kubectl never prints &anchors


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    style = None
    if "\n" in data:
        style = "|"
    elif dumper.resolve(yaml.ScalarNode, data, (True, False)) != _STR_TAG \
            or _GO_FLOAT.fullmatch(data):
        style = '"'  # go-yaml double-quotes a string that would read back as another type
    return dumper.represent_scalar(_STR_TAG, data, style=style)


_KubectlDumper.add_representer(str, _represent_str)


def to_yaml(obj: Mapping[str, Any] | Sequence[Mapping[str, Any]]) -> str:
    """Print an object -- several as a ``kind: List`` -- the way ``kubectl get -o yaml`` does."""
    if not isinstance(obj, Mapping):
        obj = {"apiVersion": "v1", "items": list(obj), "kind": "List",
               "metadata": {"resourceVersion": ""}}
    return yaml.dump(jsonable(obj), Dumper=_KubectlDumper, sort_keys=True, default_flow_style=False,
                     allow_unicode=True)


# -- resources ---------------------------------------------------------------------------------

# component-helpers/resource IsSupportedPodLevelResource (PodLevelResources, beta in v1.34)
POD_LEVEL_RESOURCES = ("cpu", "memory")


def resource_list(values: Mapping[str, Any] | None) -> dict[str, Quantity]:
    """A ResourceList (``{cpu: 500m, memory: 1Gi}``) as Quantities; YAML numbers read as JSON."""
    out = {}
    for name, value in _map(values).items():
        if isinstance(value, Quantity):
            out[name] = value
        elif value is not None:
            out[name] = parse_quantity(value.strip() if isinstance(value, str) else go_json(value))
    return out


def _add(total: dict[str, Quantity], more: Mapping[str, Quantity]) -> None:
    """addResourceList: ``total += more`` for every resource in ``more``."""
    for name, q in more.items():
        total[name] = total[name] + q if name in total else q


def _max(total: dict[str, Quantity], other: Mapping[str, Quantity]) -> None:
    """maxResourceList: keep the larger of the two for every resource in ``other``."""
    for name, q in other.items():
        if name not in total or q > total[name]:
            total[name] = q


def _map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    """The mappings in a list; anything else counts as empty."""
    return [_map(v) for v in value] if isinstance(value, list) else []


def _aggregate(pod: Mapping[str, Any], field: str) -> dict[str, Quantity]:
    """Sum of containers, maxed with each init container's need (AggregateContainerRequests).

    A sidecar (an init container with ``restartPolicy: Always``) keeps running, so it
    adds to the sum and to what every later init container needs (KEP-753).
    """
    spec = _map(pod.get("spec"))
    total: dict[str, Quantity] = {}
    for c in _items(spec.get("containers")):
        _add(total, resource_list(_map(c.get("resources")).get(field)))
    sidecars: dict[str, Quantity] = {}
    init_peak: dict[str, Quantity] = {}
    for c in _items(spec.get("initContainers")):
        own = resource_list(_map(c.get("resources")).get(field))
        if c.get("restartPolicy") == "Always":
            _add(total, own)
            _add(sidecars, own)
            need = dict(sidecars)
        else:
            need = dict(own)
            _add(need, sidecars)
        _max(init_peak, need)
    _max(total, init_peak)
    return total


def pod_requests(pod: Mapping[str, Any]) -> dict[str, Quantity]:
    """What a pod asks for: containers summed, init containers maxed, plus overhead."""
    spec = _map(pod.get("spec"))
    reqs = _aggregate(pod, "requests")
    pod_level = resource_list(_map(spec.get("resources")).get("requests"))
    for name in POD_LEVEL_RESOURCES:  # pod-level requests replace the containers' sum
        if name in pod_level:
            reqs[name] = pod_level[name]
    _add(reqs, resource_list(spec.get("overhead")))
    return reqs


def pod_limits(pod: Mapping[str, Any]) -> dict[str, Quantity]:
    """A pod's limits, aggregated like requests; overhead only on limits set (PodLimits)."""
    spec = _map(pod.get("spec"))
    limits = _aggregate(pod, "limits")
    pod_level = resource_list(_map(spec.get("resources")).get("limits"))
    for name in POD_LEVEL_RESOURCES:
        if name in pod_level:
            limits[name] = pod_level[name]
    for name, q in resource_list(spec.get("overhead")).items():
        if name in limits:
            limits[name] = limits[name] + q
    return limits


def node_allocatable(node: Mapping[str, Any]) -> dict[str, Quantity]:
    """What the scheduler may place on a node: ``status.allocatable``, else its capacity.

    SetDefaults_NodeStatus copies capacity into an unset allocatable.
    """
    status = _map(node.get("status"))
    allocatable = status.get("allocatable")
    return resource_list(allocatable if allocatable is not None else status.get("capacity"))
