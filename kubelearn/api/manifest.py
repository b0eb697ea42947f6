"""Manifests: reading the YAML a learner writes, and the helpers that name things.

- :func:`load` -- YAML or JSON text (many documents), a file path, a dict, a list
  of dicts or a ``kind: List``, in; plain dicts in the real Kubernetes shape
  (``apiVersion``, ``kind``, ``metadata``, ``spec``, ``status``) out. Anything
  malformed raises a :class:`~kubelearn.api.errors.StatusError` worded as
  kubectl or the API server words it. :func:`read` is the same, going on past a
  document that fails as kubectl's resource builder does (``ContinueOnError``).
  The work is bounded as upstream's decoders bound it: input size (the API
  server's 3 MiB), YAML alias expansion (go-yaml's ratio rule), nesting depth.
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

from kubelearn.api.errors import (
    BadRequest,
    RequestEntityTooLarge,
    StatusError,
    go_float,
    go_json,
    go_quote,
)
from kubelearn.api.quantity import Quantity, parse_quantity
from kubelearn.api.schema import MAX_DEPTH, check_types, json_kind

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
    KindInfo("PodDisruptionBudget", "policy", "v1", "poddisruptionbudgets", True, ("pdb",)),
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

# k8s.io/apiserver/pkg/server/config.go MaxRequestBodyBytes: the API server reads no body
# over 3 MiB (kubelearn.apiserver.rest.MAX_REQUEST_BODY_BYTES); no manifest is read past it.
MAX_MANIFEST_BYTES = 3 * 1024 * 1024

# gopkg.in/yaml.v2 decode.go (v2.4.0, the YAML reader of sigs.k8s.io/yaml): a document that
# is mostly alias expansion ("billion laughs") is refused once past these counts.
ALIAS_RATIO_RANGE_LOW = 400_000
ALIAS_RATIO_RANGE_HIGH = 4_000_000
EXCESSIVE_ALIASING = "document contains excessive aliasing"  # yaml.v2 decode.go unmarshal

_YAML_ERROR = "error converting YAML to JSON: yaml: "  # sigs.k8s.io/yaml YAMLToJSON
_SURROGATES = re.compile("[\ud800-\udfff]")


def allowed_alias_ratio(decode_count: int) -> float:
    """yaml.v2 allowedAliasRatio: up to 99% of a small document may come from aliases, 10%
    of a huge one (4 million values decoded), scaling in between."""
    if decode_count <= ALIAS_RATIO_RANGE_LOW:
        return 0.99
    if decode_count >= ALIAS_RATIO_RANGE_HIGH:
        return 0.10
    return 0.99 - 0.89 * ((decode_count - ALIAS_RATIO_RANGE_LOW)
                          / (ALIAS_RATIO_RANGE_HIGH - ALIAS_RATIO_RANGE_LOW))


class _Loader(yaml.SafeLoader):
    """A YAML 1.1 loader that, like kubectl's, keeps timestamps as strings.

    It composes nodes as go-yaml does: no deeper than MAX_DEPTH (yaml.v2's scanner
    stops at 10000 levels, "exceeded max depth of 10000"; Python's recursion limit
    is far lower, see schema.MAX_DEPTH), and no anchor that holds itself.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0
        self.open_anchors: set[str] = set()

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) and event.anchor in self.open_anchors:
            raise BadRequest(f"{_YAML_ERROR}anchor '{event.anchor}' value contains itself")
        if not isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            return super().compose_node(parent, index)
        if self.depth >= MAX_DEPTH:
            raise BadRequest(f"{_YAML_ERROR}line {event.start_mark.line + 1}: exceeded max "
                             f"depth of {MAX_DEPTH}")
        self.depth += 1
        if event.anchor:
            self.open_anchors.add(event.anchor)
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1
            self.open_anchors.discard(event.anchor)


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


def _json_scalar(value: Any) -> Any:
    """A value that is no list or map as JSON holds it; what JSON cannot hold is a BadRequest."""
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


def jsonable(value: Any) -> Any:
    """A deep copy of ``value`` holding only what JSON can: dicts, lists, str, numbers, bools.

    Quantities become their strings, tuples lists; what JSON cannot hold is a BadRequest.
    """
    if isinstance(value, Mapping):
        return {_json_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):  # YAML !!set: a mapping to nulls
        return {_json_key(k): None for k in value}
    return _json_scalar(value)


def _go_string(text: str) -> str:
    """``text`` as Go's decoders leave it: each unpaired surrogate becomes U+FFFD."""
    return text if text.isascii() else _SURROGATES.sub("\ufffd", text)


class _Decoder:
    """One document made JSON (as :func:`jsonable`), with yaml.v2 decode.go's bookkeeping.

    Every value decoded counts, and so does each one reached through an alias;
    a document mostly made of aliases is refused. PyYAML hands an alias back as
    the very list or map its anchor made, so a collection met a second time is
    an alias (a dict built in Python that shares a value counts the same way;
    a shared string cannot be told from a copy and counts once). Nesting past
    MAX_DEPTH is refused too, which also stops a dict that holds itself.
    """

    def __init__(self) -> None:
        self.decoded = 0  # yaml.v2 decodeCount
        self.aliased = 0  # yaml.v2 aliasCount
        self.seen: set[int] = set()

    def document(self, doc: Any) -> Any:
        self.count(False)  # the document node
        return self.value(doc, 1, False)

    def count(self, aliased: bool) -> None:
        self.decoded += 1
        if aliased:
            self.aliased += 1
        if self.aliased > 100 and self.decoded > 1000 \
                and self.aliased / self.decoded > allowed_alias_ratio(self.decoded):
            raise BadRequest(_YAML_ERROR + EXCESSIVE_ALIASING)

    def value(self, value: Any, level: int, aliased: bool) -> Any:
        if isinstance(value, str):
            self.count(aliased)
            return _go_string(value)
        if not isinstance(value, (Mapping, list, tuple, set, frozenset)):
            self.count(aliased)
            return _json_scalar(value)
        if id(value) in self.seen:
            self.count(aliased)  # the alias; what it stands for is decoded again below
            aliased = True
        self.seen.add(id(value))
        self.count(aliased)
        if level > MAX_DEPTH:  # encoding/json's words (scanner.go pushParseState)
            bracket = "{" if isinstance(value, Mapping) else "["
            raise BadRequest(f"error parsing JSON: invalid character '{bracket}' exceeded max "
                             "depth")
        if isinstance(value, Mapping):
            out = {}
            for key, item in value.items():
                self.count(aliased)
                out[_go_string(_json_key(key))] = self.value(item, level + 1, aliased)
            return out
        if isinstance(value, (set, frozenset)):  # YAML !!set: a mapping to nulls
            return {_go_string(_json_key(k)): None for k in value}
        return [self.value(item, level + 1, aliased) for item in value]


def _check_size(text: str) -> None:
    """RequestEntityTooLarge past MAX_MANIFEST_BYTES of UTF-8, as the API server's limit."""
    if len(text) > MAX_MANIFEST_BYTES or (
            len(text) * 4 > MAX_MANIFEST_BYTES
            and len(text.encode("utf-8", "surrogatepass")) > MAX_MANIFEST_BYTES):
        raise RequestEntityTooLarge(f"limit is {MAX_MANIFEST_BYTES}")  # handlers/rest.go


def _documents(text: str) -> tuple[list[Any], StatusError | None]:
    """The documents of a YAML or JSON stream, empty ones dropped, and the syntax error
    that ended it early (None if none did): those before it are read, as kubectl does."""
    text = text.lstrip("\ufeff")
    docs: list[Any] = []
    if text.lstrip().startswith("{"):  # kubectl's YAMLOrJSONDecoder sniffs for JSON
        decoder, pos = json.JSONDecoder(), 0
        while True:
            while pos < len(text) and text[pos] in " \t\r\n":
                pos += 1
            if pos >= len(text):
                return docs, None
            try:
                doc, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as err:
                return docs, BadRequest(f"error parsing JSON: {err.msg} at line {err.lineno} "
                                        f"column {err.colno}")
            except RecursionError:  # deeper than Python's parser goes: far past MAX_DEPTH
                return docs, BadRequest("error parsing JSON: exceeded max depth")
            except ValueError as err:
                return docs, BadRequest(f"error parsing JSON: {err}")
            docs.append(doc)
    try:
        for doc in yaml.load_all(text, Loader=_Loader):
            if doc is not None:
                docs.append(doc)
    except StatusError as err:
        return docs, err
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        where = f"line {mark.line + 1}: " if mark else ""
        return docs, BadRequest(f"{_YAML_ERROR}{where}{err.problem or err.context}")
    except yaml.YAMLError as err:
        return docs, BadRequest(f"{_YAML_ERROR}{err}")
    except RecursionError:
        return docs, BadRequest(f"{_YAML_ERROR}exceeded max depth of {MAX_DEPTH}")
    except ValueError as err:  # e.g. an integer of more digits than Python will convert
        return docs, BadRequest(f"error converting YAML to JSON: {err}")
    return docs, None


class Item(NamedTuple):
    """One object read from a manifest -- or, in its place, why a document could not be read."""

    source: str  # the file it came from; "" for text or dicts (kubectl's builder: in-memory)
    obj: dict[str, Any] | None
    error: StatusError | None = None


def _objects(doc: Any, where: str, source: str, items: list[Item]) -> None:
    """One decoded document as items: a List's items expanded, kind and apiVersion checked."""
    if isinstance(doc, list):  # a YAML sequence of objects: each is a document
        for item in doc:
            _objects(item, where, source, items)
        return
    try:
        if not isinstance(doc, dict):
            raise BadRequest(f"{where}json: cannot unmarshal {json_kind(doc)} into Go value of "
                             "type map[string]interface {}")
        listed = doc.get("items")
        if listed is not None:  # unstructuredJSONScheme: anything with items is a list
            if not isinstance(listed, list):
                raise BadRequest(f"{where}json: cannot unmarshal {json_kind(listed)} into Go "
                                 "struct field .items of type []json.RawMessage")
            item_kind = str(doc.get("kind") or "").removesuffix("List")
            for item in listed:
                if isinstance(item, dict) and not item.get("kind") and not item.get("apiVersion"):
                    item = {**item, "kind": item_kind, "apiVersion": doc.get("apiVersion")}
                _objects(item, where, source, items)
            return
        if not isinstance(doc.get("kind"), str) or not doc["kind"]:
            raise BadRequest(f"{where}Object 'Kind' is missing in '{go_json(doc)}'")
        if not isinstance(doc.get("apiVersion"), str) or not doc["apiVersion"]:
            raise BadRequest(f"{where}Object 'apiVersion' is missing in '{go_json(doc)}'")
        try:
            check_types(doc)
        except BadRequest as err:
            raise BadRequest(f"{where}{err}") from None
    except BadRequest as err:
        items.append(Item(source, None, err))
        return
    items.append(Item(source, doc))


def _read_text(text: str, source: str, where: str | None, items: list[Item]) -> None:
    """Every document of a stream as items; a document that cannot be decoded ends it."""
    _check_size(text)
    docs, ended = _documents(text)
    many = len(docs) > 1
    for i, doc in enumerate(docs, 1):
        try:
            decoded = _Decoder().document(doc)
        except BadRequest as err:  # kubectl's YAML reader stops at an undecodable document
            items.append(Item(source, None, err))
            return
        prefix = where if where is not None else f"document {i}: " if many else ""
        _objects(decoded, prefix, source, items)
    if ended is not None:
        items.append(Item(source, None, ended))


def _looks_like_path(text: str) -> bool:
    """True for ``pod.yaml`` or an existing file; False for manifest text."""
    if "\n" in text or "\0" in text or ": " in text or len(text) > 4096:
        return False
    return os.path.isfile(text) or bool(re.search(r"\.(ya?ml|json)\s*$", text))


Source = str | os.PathLike[str] | Mapping[str, Any] | Sequence[Any]


def _read(source: Source, items: list[Item]) -> None:
    if isinstance(source, os.PathLike) or (isinstance(source, str) and _looks_like_path(source)):
        path = Path(source)
        name = str(path)
        try:
            if path.stat().st_size > MAX_MANIFEST_BYTES:
                raise RequestEntityTooLarge(f"limit is {MAX_MANIFEST_BYTES}")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            raise BadRequest(f"the path {go_quote(name)} does not exist") from None
        _read_text(text, name, f"unable to decode {go_quote(name)}: ", items)
    elif isinstance(source, (bytes, bytearray)):
        _read_text(bytes(source).decode("utf-8", "replace"), "", None, items)
    elif isinstance(source, str):
        _read_text(source, "", None, items)
    elif isinstance(source, Mapping):
        _objects(_Decoder().document(source), "", "", items)
    elif isinstance(source, Sequence):
        for item in source:
            if isinstance(item, (str, os.PathLike)):
                _read(item, items)
            else:
                _objects(_Decoder().document(item), "", "", items)
    else:
        raise BadRequest(f"cannot read manifests from {type(source).__name__}")


def read(source: Source) -> list[Item]:
    """Read manifests as :func:`load` does, going on past a document that fails.

    kubectl's resource builder with ContinueOnError: a document that is no
    object (no kind, a field of the wrong type...) is an :class:`Item` holding
    its error, and reading goes on; a syntax error, excessive aliasing or
    nesting ends the stream there, as kubectl's YAML reader stops at it. A
    missing file or input over MAX_MANIFEST_BYTES is raised at once.
    """
    items: list[Item] = []
    _read(source, items)
    return items


def load(source: Source) -> list[dict[str, Any]]:
    """Read manifests from YAML/JSON text, a file path, a dict or a list, as plain dicts.

    Empty documents are skipped and ``kind: List`` items expanded; malformed input
    raises :class:`~kubelearn.api.errors.BadRequest` with kubectl's wording (the
    first document's that fails). See :func:`read` for the bounds.
    """
    objects = []
    for item in read(source):
        if item.error is not None:
            raise item.error
        objects.append(item.obj)
    return objects


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

# component-helpers/resource IsSupportedPodLevelResource. PodLevelResources is alpha and off
# in v1.32 (beta and on in v1.34), so the API server drops a pod's spec.resources
# (apiserver/storage.py drop_disabled_pod_fields) and no stored pod has any; the helpers
# below still honour it, as upstream's do with the gate on (their unit tests set it).
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
