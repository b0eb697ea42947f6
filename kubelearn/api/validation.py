"""Validation: what the API server checks before it stores an object.

- :func:`validate` -- decode-check then validate one object; raise
  :class:`~kubelearn.api.errors.BadRequest` for a wrong type and
  :class:`~kubelearn.api.errors.Invalid` with *every* field error aggregated,
  e.g. ``Pod "web" is invalid: spec.containers[0].image: Required value``.
- :func:`validate_errors` -- the field errors alone.
- One function per kind -- :func:`validate_pod`, :func:`validate_node`,
  :func:`validate_namespace`, :func:`validate_service`, :func:`validate_configmap`,
  :func:`validate_secret` (and the ``*_update`` rules of ConfigMaps and Secrets),
  :func:`validate_deployment`, :func:`validate_replicaset`, :func:`validate_lease`,
  :func:`validate_event`, :func:`validate_endpoints`, :func:`validate_priority_class`
  (and :func:`validate_priority_class_update`) -- and the shared pieces
  (:func:`validate_object_meta`, :func:`validate_pod_spec`, :func:`validate_labels`,
  :func:`validate_label_selector`...).
- The name rules of :mod:`kubelearn.api.names`, re-exported, and :data:`NAME_RULES`:
  which rule each kind's names follow.

The checks are the common ones a learner meets, in upstream's order and words:
k8s.io/apimachinery/pkg/api/validation/objectmeta.go, pkg/apis/meta/v1/validation,
and kubernetes pkg/apis/core/validation/validation.go, pkg/apis/apps/validation,
pkg/apis/coordination/validation, pkg/apis/scheduling/validation. Fields the API
server would default (restartPolicy, imagePullPolicy, protocol, a namespace from the
request URL, a name from generateName) are only checked when they are set.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kubelearn.api.errors import (
    BadRequest,
    FieldError,
    GoStruct,
    GoValue,
    Invalid,
    Path,
    go_json,
    go_quote,
)
from kubelearn.api.manifest import (
    EXTRA_API_VERSIONS,
    is_namespaced,
    jsonable,
    kind_info,
    resource_list,
)
from kubelearn.api.names import (
    inclusive_range_error,
    is_config_map_key,
    is_dns1035_label,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_label_key,
    is_label_value,
    is_qualified_name,
    is_valid_ip,
    is_valid_port_name,
    is_valid_port_num,
    name_is_dns1035_label,
    name_is_dns_label,
    name_is_dns_subdomain,
    name_is_path_segment,
    regex_error,
)
from kubelearn.api.policy import UNHEALTHY_POD_EVICTION_POLICIES
from kubelearn.api.quantity import Quantity
from kubelearn.api.scheduling import (
    HIGHEST_USER_DEFINABLE_PRIORITY,
    PREEMPTION_POLICIES,
    SYSTEM_PRIORITY_CLASS_PREFIX,
    known_system_priority_class_error,
)
from kubelearn.api.schema import check_types, json_kind
from kubelearn.api.selector import LabelSelector, SelectorError

__all__ = [
    "validate", "validate_errors", "NAME_RULES", "validate_object_meta", "validate_labels",
    "validate_annotations", "validate_label_selector", "validate_pod", "validate_pod_spec",
    "validate_node", "validate_namespace", "validate_service", "validate_service_cluster_ips",
    "validate_pod_dns_config",
    "validate_service_update",
    "validate_configmap", "validate_configmap_update", "validate_secret",
    "validate_secret_update",
    "validate_deployment", "validate_replicaset", "validate_lease", "validate_event",
    "validate_endpoints", "validate_priority_class", "validate_priority_class_update",
    "validate_preemption_policy", "validate_pod_disruption_budget",
    "validate_pod_disruption_budget_status", "validate_conditions", "validate_status_update",
    "is_dns1123_label", "is_dns1123_subdomain", "is_dns1035_label",
    "is_label_key", "is_label_value", "is_qualified_name", "is_valid_port_num",
    "is_valid_port_name", "is_config_map_key", "is_valid_ip",
]

NameRule = Callable[[str, bool], list[str]]

# Which rule each kind's metadata.name follows (ValidatePodName, ValidateNamespaceName...).
NAME_RULES: dict[str, NameRule] = {
    "Pod": name_is_dns_subdomain, "Node": name_is_dns_subdomain,
    "Namespace": name_is_dns_label, "Service": name_is_dns1035_label,
    "ConfigMap": name_is_dns_subdomain, "Secret": name_is_dns_subdomain,
    "Endpoints": name_is_dns_subdomain, "Deployment": name_is_dns_subdomain,
    "ReplicaSet": name_is_dns_subdomain, "Lease": name_is_dns_subdomain,
    "Event": name_is_path_segment,  # events only get the generic path-segment check
}

# Messages shared by many checks (apimachinery validation, core validation).
IS_NEGATIVE = "must be greater than or equal to 0"
IS_NOT_INTEGER = "must be an integer"
TOTAL_ANNOTATION_SIZE_LIMIT = 256 * (1 << 10)  # objectmeta.go TotalAnnotationSizeLimitB
MAX_CONFIG_SIZE = 1 * 1024 * 1024  # core.MaxSecretSize, also the ConfigMap limit
MAX_INT32 = 2**31 - 1

SUPPORTED_PROTOCOLS = ["SCTP", "TCP", "UDP"]  # sets.List(supportedPortProtocols)
RESTART_POLICIES = ["Always", "OnFailure", "Never"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
TOLERATION_OPERATORS = ["Equal", "Exists"]
SERVICE_TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"]
SESSION_AFFINITIES = ["ClientIP", "None"]
STRATEGY_TYPES = ["Recreate", "RollingUpdate"]
STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion"}

# helper.IsStandardContainerResourceName / IsStandardResourceName
STANDARD_CONTAINER_RESOURCES = {"cpu", "memory", "ephemeral-storage"}
STANDARD_RESOURCES = STANDARD_CONTAINER_RESOURCES | {
    "pods", "services", "replicationcontrollers", "resourcequotas", "secrets", "configmaps",
    "persistentvolumeclaims", "storage", "requests.cpu", "requests.memory", "requests.storage",
    "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"}


# -- small shared checks --------------------------------------------------------------------------


def _map(value: Any) -> Mapping[str, Any]:
    """A struct field's value; null (Go's zero value) reads as empty."""
    if value.__class__ is dict:  # the usual cases, both much cheaper than the ABC check below
        return value
    if value is None:
        return {}
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """A slice field's value; null reads as empty."""
    if value is None:  # the usual case for an optional list
        return []
    return list(value) if isinstance(value, (list, tuple)) else []


def _str(value: Any) -> str:
    """A string field's value; null reads as ""."""
    return value if isinstance(value, str) else ""


def _int(value: Any, default: int = 0) -> int:
    """A JSON number as a Go int (whole floats included; the decoder checked the rest)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    if isinstance(value, float) and not value.is_integer():
        return int(value) if value == value and abs(value) != float("inf") else default
    return int(value)


def validate_nonnegative(value: int, path: Path) -> list[FieldError]:
    """``must be greater than or equal to 0`` (ValidateNonnegativeField)."""
    return [FieldError.invalid(path, value, IS_NEGATIVE)] if value < 0 else []


def _each(msgs: list[str], path: Path, value: Any) -> list[FieldError]:
    """One Invalid for each reason ``value`` fails its format.

    Hot callers write ``if msgs := check(value): errs += _each(msgs, path, value)``: almost
    every write passes every check, and then neither the call nor the path need be made.
    """
    return [FieldError.invalid(path, value, msg) for msg in msgs]


def _item(path: Path, field: str, i: int, *more: str) -> Path:
    """``path.field[i].more...``: the path of a list item's field, made when an error needs it."""
    return path.child(field).index(i).child(*more) if more else path.child(field).index(i)


def validate_dns1123_label(value: str, path: Path) -> list[FieldError]:
    """ValidateDNS1123Label: one Invalid per reason."""
    return _each(is_dns1123_label(value), path, value)


def validate_labels(labels: Any, path: Path) -> list[FieldError]:
    """Every key a qualified name, every value a label value (ValidateLabels)."""
    errs = []
    for key, value in _map(labels).items():
        if msgs := is_qualified_name(key):
            errs += _each(msgs, path, key)
        if msgs := is_label_value(_str(value)):
            errs += _each(msgs, path, _str(value))
    return errs


def validate_annotations(annotations: Any, path: Path) -> list[FieldError]:
    """Keys qualified names (case aside), 256 KiB in all (ValidateAnnotations)."""
    errs, size = [], 0
    for key, value in _map(annotations).items():
        if msgs := is_qualified_name(key.lower()):
            errs += _each(msgs, path, key)
        size += len(key.encode()) + len(_str(value).encode())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(FieldError.too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def label_selector_value(selector: Mapping[str, Any]) -> GoStruct:
    """A metav1.LabelSelector as a bad value: ``v1.LabelSelector{MatchLabels:...}``.

    An absent list or map is a nil one (``[]string(nil)``); the JSON form leaves
    omitempty fields out.
    """
    json_fields: dict[str, Any] = {}
    if selector.get("matchLabels"):
        json_fields["matchLabels"] = selector["matchLabels"]
    exprs = [_map(x) for x in _list(selector.get("matchExpressions"))]
    if exprs:
        json_fields["matchExpressions"] = [
            GoStruct("", key=_str(e.get("key")), operator=_str(e.get("operator")),
                     **({"values": _list(e.get("values"))} if e.get("values") else {}))
            for e in exprs]
    requirements = [
        GoStruct("v1.LabelSelectorRequirement", Key=_str(e.get("key")),
                 Operator=_str(e.get("operator")),
                 Values=GoValue("[]string", None if e.get("values") is None
                                else [_str(v) for v in _list(e.get("values"))]))
        for e in exprs]
    labels = selector.get("matchLabels")
    return GoStruct(
        "v1.LabelSelector", json=GoStruct("", **json_fields),
        MatchLabels=GoValue("map[string]string", None if labels is None else dict(_map(labels))),
        MatchExpressions=GoValue("[]v1.LabelSelectorRequirement",
                                 None if selector.get("matchExpressions") is None
                                 else requirements))


def validate_label_selector(selector: Any, path: Path) -> list[FieldError]:
    """matchLabels and each matchExpression well formed (ValidateLabelSelector)."""
    if selector is None:
        return []
    selector = _map(selector)
    errs = validate_labels(selector.get("matchLabels"), path.child("matchLabels"))
    for i, expr in enumerate(_list(selector.get("matchExpressions"))):
        expr, p = _map(expr), path.child("matchExpressions").index(i)
        operator, values = _str(expr.get("operator")), [_str(v) for v in _list(expr.get("values"))]
        if operator in ("In", "NotIn"):
            if not values:
                errs.append(FieldError.required(
                    p.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(FieldError.forbidden(
                    p.child("values"),
                    "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(FieldError.invalid(p.child("operator"), operator,
                                           "not a valid selector operator"))
        key = _str(expr.get("key"))
        errs += _each(is_qualified_name(key), p.child("key"), key)
        for j, value in enumerate(values):
            errs += _each(is_label_value(value), p.child("values").index(j), value)
    return errs


# -- ObjectMeta -----------------------------------------------------------------------------------


def _owner_reference(ref: Mapping[str, Any]) -> GoStruct:
    """A metav1.OwnerReference as a bad value (its two *bool fields print as pointers)."""
    return GoStruct("v1.OwnerReference", json=dict(ref), APIVersion=_str(ref.get("apiVersion")),
                    Kind=_str(ref.get("kind")), Name=_str(ref.get("name")),
                    UID=_str(ref.get("uid")),
                    Controller=GoValue("*bool", ref.get("controller")),
                    BlockOwnerDeletion=GoValue("*bool", ref.get("blockOwnerDeletion")))


def validate_owner_references(refs: Any, path: Path) -> list[FieldError]:
    """Each reference complete; at most one controller (ValidateOwnerReferences)."""
    errs, controller = [], ""
    for ref in (_map(r) for r in _list(refs)):
        api_version, kind = _str(ref.get("apiVersion")), _str(ref.get("kind"))
        if not api_version.rpartition("/")[2]:
            errs.append(FieldError.invalid(path.child("apiVersion"), api_version,
                                           "version must not be empty"))
        for field in ("kind", "name", "uid"):
            if not _str(ref.get(field)):
                errs.append(FieldError.invalid(path.child(field), _str(ref.get(field)),
                                               f"{field} must not be empty"))
        if api_version == "v1" and kind == "Event":  # BannedOwners
            errs.append(FieldError.invalid(path, _owner_reference(ref),
                                           "/v1, Kind=Event is disallowed from being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{_str(ref.get('name'))}"
            if controller:
                errs.append(FieldError.invalid(
                    path, GoValue("[]v1.OwnerReference",
                                  [_owner_reference(_map(r)) for r in _list(refs)]),
                    "Only one reference can have Controller set to "
                    f'true. Found "true" in references for {controller} and {current}'))
            else:
                controller = current
    return errs


_METADATA = Path("metadata")
_SPEC = Path("spec")
# Every write is validated: its metadata.<field> paths are made once (a Path never changes).
_METADATA_FIELDS = {field: _METADATA.child(field) for field in (
    "generateName", "name", "namespace", "generation", "labels", "annotations",
    "ownerReferences", "finalizers")}


def validate_object_meta(obj: Mapping[str, Any], name_rule: NameRule, namespaced: bool,
                         path: Path | None = None) -> list[FieldError]:
    """metadata: name, namespace, labels, annotations... (ValidateObjectMeta)."""
    path = path or _METADATA
    child = _METADATA_FIELDS.__getitem__ if path is _METADATA else path.child
    meta = _map(obj.get("metadata"))
    name, generate_name = _str(meta.get("name")), _str(meta.get("generateName"))
    errs = []
    # Every write comes through here, and nearly all pass: each error path below is looked up
    # only once its check has failed, and an empty (or missing) field is not walked at all.
    if generate_name and (msgs := name_rule(generate_name, True)):
        errs += _each(msgs, child("generateName"), generate_name)
    if not name:
        if not generate_name:  # with generateName, the API server makes the name first
            errs.append(FieldError.required(child("name"),
                                            "name or generateName is required"))
    elif msgs := name_rule(name, False):
        errs += _each(msgs, child("name"), name)
    namespace = _str(meta.get("namespace"))
    if namespaced:  # an empty namespace is filled from the request URL before validation
        if namespace and (msgs := name_is_dns_label(namespace, False)):
            errs += _each(msgs, child("namespace"), namespace)
    elif namespace:
        errs.append(FieldError.forbidden(child("namespace"), "not allowed on this type"))
    generation = meta.get("generation")  # absent on most writes (a pod's, an event's)
    if generation is not None and _int(generation) < 0:
        errs += validate_nonnegative(_int(generation), child("generation"))
    if labels := meta.get("labels"):
        errs += validate_labels(labels, child("labels"))
    if annotations := meta.get("annotations"):
        errs += validate_annotations(annotations, child("annotations"))
    if refs := meta.get("ownerReferences"):
        errs += validate_owner_references(refs, child("ownerReferences"))
    if finalizers := meta.get("finalizers"):
        finalizers = [_str(f) for f in _list(finalizers)]
        for finalizer in finalizers:
            if msgs := is_qualified_name(finalizer):
                errs += _each(msgs, child("finalizers"), finalizer)
        if "orphan" in finalizers and "foregroundDeletion" in finalizers:
            errs.append(FieldError.invalid(
                child("finalizers"), GoValue("[]string", finalizers),
                "finalizer orphan and foregroundDeletion cannot be both set"))
    return errs


# -- resources ------------------------------------------------------------------------------------


def _is_native(name: str) -> bool:
    """helper.IsNativeResource: no domain, or a kubernetes.io one."""
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    """helper.IsExtendedResourceName: ``example.com/gpu``."""
    return not _is_native(name) and not name.startswith("requests.") \
        and not is_qualified_name("requests." + name)


def _is_hugepages(name: str) -> bool:
    return name.startswith("hugepages-")


def _overcommit_allowed(name: str) -> bool:
    """helper.IsOvercommitAllowed: requests may sit below limits."""
    return _is_native(name) and not _is_hugepages(name)


def validate_container_resource_name(name: str, path: Path) -> list[FieldError]:
    """validateContainerResourceName: cpu, memory, ephemeral-storage, hugepages-*, domain/name."""
    errs = _each(is_qualified_name(name), path, name)
    if errs:
        return errs
    if "/" not in name:
        if name not in STANDARD_RESOURCES and not _is_hugepages(name):
            errs.append(FieldError.invalid(path, name,
                                           "must be a standard resource type or fully qualified"))
        if name not in STANDARD_CONTAINER_RESOURCES and not _is_hugepages(name):
            errs.append(FieldError.invalid(path, name,
                                           "must be a standard resource for containers"))
    elif not _is_native(name) and not _is_extended(name):
        errs.append(FieldError.invalid(path, name,
                                       "doesn't follow extended resource name standard"))
    return errs


def validate_quantity_value(name: str, quantity: Quantity, path: Path) -> list[FieldError]:
    """Not negative; whole for extended resources (ValidateResourceQuantityValue)."""
    errs = []
    if quantity.sign() < 0:
        errs.append(FieldError.invalid(path, str(quantity), IS_NEGATIVE))
    if _is_extended(name) and quantity.milli_value() % 1000:
        errs.append(FieldError.invalid(path, quantity, IS_NOT_INTEGER))
    return errs


def _native_and_not_negative(name: str, quantity: Quantity) -> bool:
    """True if validate_quantity_value would pass ``quantity`` without a word.

    A resource with no domain (cpu, pods, hugepages-2Mi...) is not an extended one, so its
    quantity need not be whole: only a negative one is an error. Callers skip the check, and
    the path its errors would carry, for what nearly every object holds.
    """
    return "/" not in name and quantity.sign() >= 0


def _plainly_valid(name: str, quantity: Quantity) -> bool:
    """cpu, memory or ephemeral-storage, not negative: nothing for the two checks above to say.

    validate_container_resource_name passes these standard container resource names, and
    validate_quantity_value any native quantity (as these are) that is not negative.
    """
    return name in STANDARD_CONTAINER_RESOURCES and quantity.sign() >= 0


def validate_resource_requirements(resources: Any, path: Path) -> list[FieldError]:
    """Names, quantities, and requests within limits (ValidateResourceRequirements)."""
    resources = _map(resources)
    # Most containers set requests only, for cpu and memory: an absent list is not parsed, a
    # standard container resource (all may be overcommitted) needs no limit, and the paths
    # below are made only for an error.
    limits = resource_list(raw) if (raw := resources.get("limits")) else {}
    requests = resource_list(raw) if (raw := resources.get("requests")) else {}
    errs = []
    for name, q in limits.items():
        if not _plainly_valid(name, q):
            errs += validate_container_resource_name(name, path.child("limits").key(name))
            errs += validate_quantity_value(name, q, path.child("limits").key(name))
    for name, q in requests.items():
        if not _plainly_valid(name, q):
            errs += validate_container_resource_name(name, path.child("requests").key(name))
            errs += validate_quantity_value(name, q, path.child("requests").key(name))
        if name in limits:
            limit = limits[name]
            if q != limit and not _overcommit_allowed(name):
                errs.append(FieldError.invalid(path.child("requests"), str(q),
                                               f"must be equal to {name} limit of {limit}"))
            elif q > limit:
                errs.append(FieldError.invalid(
                    path.child("requests"), str(q),
                    f"must be less than or equal to {name} limit of {limit}"))
        elif name not in STANDARD_CONTAINER_RESOURCES and not _overcommit_allowed(name):
            errs.append(FieldError.required(path.child("limits"),
                                            "Limit must be set for non overcommitable resources"))
    names = limits.keys() | requests.keys()
    # A hugepages-* name is no standard container resource: all standard, no hugepages.
    if not names <= STANDARD_CONTAINER_RESOURCES and any(_is_hugepages(n) for n in names) \
            and not names & {"cpu", "memory"}:
        errs.append(FieldError.forbidden(path, "HugePages require cpu or memory"))
    return errs


# -- pods -----------------------------------------------------------------------------------------


def validate_container_ports(ports: Any, path: Path) -> list[FieldError]:
    """Names unique IANA names, ports 1-65535, known protocols (validateContainerPorts)."""
    errs, names = [], set()
    for i, port in enumerate(_map(p) for p in _list(ports)):
        p = path.index(i)
        name = _str(port.get("name"))
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs += _each(msgs, p.child("name"), name)
            elif name in names:
                errs.append(FieldError.duplicate(p.child("name"), name))
            else:
                names.add(name)
        container_port = _int(port.get("containerPort"))
        if container_port == 0:
            errs.append(FieldError.required(p.child("containerPort")))
        elif msgs := is_valid_port_num(container_port):
            errs += _each(msgs, p.child("containerPort"), container_port)
        host_port = _int(port.get("hostPort"))
        if host_port and (msgs := is_valid_port_num(host_port)):
            errs += _each(msgs, p.child("hostPort"), host_port)
        errs += _check_enum(port.get("protocol"), SUPPORTED_PROTOCOLS, p, "protocol")
    return errs


def _check_enum(value: Any, allowed: Sequence[str], path: Path, *fields: str) -> list[FieldError]:
    """A field the API server defaults: checked against ``allowed`` only when set.

    The error's path is ``path``, or ``path.child(*fields)`` -- made only if there is an error.
    """
    if value is None or value == "" or value in allowed:
        return []
    return [FieldError.not_supported(path.child(*fields) if fields else path, value, allowed)]


def _validate_container(c: Mapping[str, Any], path: Path, volumes: set[str],
                        init: bool) -> list[FieldError]:
    """validateContainerCommon: name, image, ports, env, mounts, pull policy, resources."""
    errs = []
    # Paths are made only for errors, or for a field that is there to check: most containers
    # of most writes have no error at all.
    name = _str(c.get("name"))
    if not name:
        errs.append(FieldError.required(path.child("name")))
    elif msgs := is_dns1123_label(name):
        errs += _each(msgs, path.child("name"), name)
    if not _str(c.get("image")):
        errs.append(FieldError.required(path.child("image")))
    if ports := c.get("ports"):
        errs += validate_container_ports(ports, path.child("ports"))
    for i, env in enumerate(_list(c.get("env"))):
        env_name = _str(_map(env).get("name"))
        if not env_name:
            errs.append(FieldError.required(path.child("env").index(i).child("name")))
        elif any(not (" " <= ch <= "~") or ch == "=" for ch in env_name):
            # IsRelaxedEnvVarName: RelaxedEnvironmentVariableValidation is beta and on in
            # v1.32 (FEATURE_GATES), GA in v1.34; kubelearn models no gate-off IsEnvVarName.
            errs.append(FieldError.invalid(
                path.child("env").index(i).child("name"), env_name,
                "a valid environment variable name must consist only of printable ASCII "
                "characters other than '='"))
    mount_paths = set()
    for i, mount in enumerate(_list(c.get("volumeMounts"))):
        mount = _map(mount)
        mount_name, mount_path = _str(mount.get("name")), _str(mount.get("mountPath"))
        if not mount_name:
            errs.append(FieldError.required(_item(path, "volumeMounts", i, "name")))
        elif mount_name not in volumes:
            errs.append(FieldError.not_found(_item(path, "volumeMounts", i, "name"), mount_name))
        if not mount_path:
            errs.append(FieldError.required(_item(path, "volumeMounts", i, "mountPath")))
        elif mount_path in mount_paths:
            errs.append(FieldError.invalid(_item(path, "volumeMounts", i, "mountPath"),
                                           mount_path, "must be unique"))
        mount_paths.add(mount_path)
    errs += _check_enum(c.get("imagePullPolicy"), PULL_POLICIES, path, "imagePullPolicy")
    if resources := c.get("resources"):
        errs += validate_resource_requirements(resources, path.child("resources"))
    restart = c.get("restartPolicy")
    if restart is not None:
        if not init:
            errs.append(FieldError.forbidden(path.child("restartPolicy"),
                                             "may not be set for non-init containers"))
        elif restart != "Always":
            errs.append(FieldError.not_supported(path.child("restartPolicy"), restart,
                                                 ["Always"]))
    return errs


def validate_tolerations(tolerations: Any, path: Path) -> list[FieldError]:
    """Key, operator, value and effect of each toleration (ValidateTolerations)."""
    errs = []
    # Nearly every pod has some (DefaultTolerationSeconds adds two): a toleration's path is
    # made only when it has an error.
    for i, t in enumerate(_list(tolerations)):
        t = _map(t)
        key, op, value = _str(t.get("key")), _str(t.get("operator")), _str(t.get("value"))
        effect = _str(t.get("effect"))
        if key and (msgs := is_qualified_name(key)):
            errs += _each(msgs, path.index(i).child("key"), key)
        if not key and op != "Exists":
            errs.append(FieldError.invalid(
                path.index(i).child("operator"), op, "operator must be Exists when `key` is "
                'empty, which means "match all values and all keys"'))
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(FieldError.invalid(
                path.index(i).child("effect"), effect,
                "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if op in ("Equal", ""):
            msgs = is_label_value(value)
            if msgs:
                errs.append(FieldError.invalid(path.index(i).child("operator"), value,
                                               ";".join(msgs)))
        elif op == "Exists":
            if value:
                seconds = t.get("tolerationSeconds")
                errs.append(FieldError.invalid(
                    path.index(i).child("operator"),
                    GoStruct("core.Toleration", Key=key, Operator=op, Value=value,
                             Effect=effect, TolerationSeconds=GoValue(
                                 "*int64", None if seconds is None else _int(seconds))),
                    "value must be empty when `operator` is 'Exists'"))
        else:
            errs.append(FieldError.not_supported(path.index(i).child("operator"), op,
                                                 TOLERATION_OPERATORS))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(FieldError.not_supported(path.index(i).child("effect"), effect,
                                                 TAINT_EFFECTS))
    return errs


@functools.lru_cache(maxsize=64)
def _spec_path(field: str, i: int = -1) -> Path:
    """``spec.<field>``, or ``spec.<field>[i]``, made once and kept (a Path never changes).

    A pod's own spec is validated on every create, at the same few paths: those it always
    needs -- each container's, and that of the tolerations every pod gets -- are these.
    """
    path = _SPEC.child(field)
    return path.index(i) if i >= 0 else path


def validate_pod_spec(spec: Any, path: Path) -> list[FieldError]:
    """Containers, init containers, policies, scheduling fields (ValidatePodSpec)."""
    spec = _map(spec)
    errs: list[FieldError] = []
    volumes: set[str] = set()
    # As in _validate_container, paths are made for errors and for fields that are set.
    for i, volume in enumerate(_list(spec.get("volumes"))):
        name = _str(_map(volume).get("name"))
        if not name:
            errs.append(FieldError.required(_item(path, "volumes", i, "name")))
        else:
            if msgs := is_dns1123_label(name):
                errs += _each(msgs, _item(path, "volumes", i, "name"), name)
            if name in volumes:
                errs.append(FieldError.duplicate(_item(path, "volumes", i, "name"), name))
        volumes.add(name)
    containers = [_map(c) for c in _list(spec.get("containers"))]
    if not containers:
        errs.append(FieldError.required(path.child("containers")))
    own = path is _SPEC  # a pod's own spec, not a template's: _spec_path keeps its paths
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = _spec_path("containers", i) if own else path.child("containers").index(i)
        errs += _validate_container(c, p, volumes, init=False)
        name = _str(c.get("name"))
        if name in names:
            errs.append(FieldError.duplicate(p.child("name"), name))
        names.add(name)
    for i, c in enumerate(_list(spec.get("initContainers"))):
        c = _map(c)
        p = _spec_path("initContainers", i) if own else path.child("initContainers").index(i)
        errs += _validate_container(c, p, volumes, init=True)
        name = _str(c.get("name"))
        if name in names:  # init container names share one namespace with containers
            errs.append(FieldError.duplicate(p.child("name"), name))
        names.add(name)
    errs += _check_enum(spec.get("restartPolicy"), RESTART_POLICIES, path, "restartPolicy")
    errs += _check_enum(spec.get("dnsPolicy"), DNS_POLICIES, path, "dnsPolicy")
    if node_selector := spec.get("nodeSelector"):
        errs += validate_labels(node_selector, path.child("nodeSelector"))
    if spec.get("dnsConfig") is not None or spec.get("dnsPolicy") == "None":
        errs += validate_pod_dns_config(spec.get("dnsConfig"), spec.get("dnsPolicy"),
                                        path.child("dnsConfig"))
    for field in ("serviceAccountName", "nodeName", "priorityClassName"):
        value = _str(spec.get(field))
        if value and (msgs := is_dns1123_subdomain(value)):
            errs += _each(msgs, path.child(field), value)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= _int(deadline) <= MAX_INT32:
        errs.append(FieldError.invalid(path.child("activeDeadlineSeconds"), _int(deadline),
                                       inclusive_range_error(1, MAX_INT32)))
    for field in ("hostname", "subdomain"):
        if _str(spec.get(field)):
            errs += validate_dns1123_label(_str(spec.get(field)), path.child(field))
    if tolerations := spec.get("tolerations"):
        errs += validate_tolerations(tolerations, _spec_path("tolerations") if own
                                     else path.child("tolerations"))
    if overhead := spec.get("overhead"):
        for name, q in resource_list(overhead).items():
            if not _native_and_not_negative(name, q):
                errs += validate_quantity_value(name, q, path.child("overhead").key(name))
    return errs


# Limits on a pod's DNS settings, from libc's resolver (pkg/apis/core/validation, v1.32):
# MaxDNSNameservers, MaxDNSSearchPaths and MaxDNSSearchListChars (32 and 2048 since
# ExpandedDNSConfig went GA in v1.28; 6 and 256 before). The kubelet cuts what the node
# adds to the same limits (kubelearn.kubelet.dns); a pod's own dnsConfig must keep to them.
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048


def validate_pod_dns_config(config: Any, policy: Any, path: Path) -> list[FieldError]:
    """validatePodDNSConfig: nameservers, search domains and options the resolver can use.

    ``dnsPolicy: None`` takes everything from ``dnsConfig``, so it needs one
    with a nameserver. Search domains may end in a dot; with the
    RelaxedDNSSearchValidation gate (alpha and off in v1.32) they could also
    hold ``_`` or be a lone ``.``.
    """
    if policy == "None":
        if config is None:
            return [FieldError.required(path, "must provide `dnsConfig` when `dnsPolicy` "
                                              "is None")]
        if not _list(_map(config).get("nameservers")):
            return [FieldError.required(path.child("nameservers"),
                                        "must provide at least one DNS nameserver when "
                                        "`dnsPolicy` is None")]
    config = _map(config)
    errs: list[FieldError] = []
    nameservers = [_str(ns) for ns in _list(config.get("nameservers"))]
    if len(nameservers) > MAX_DNS_NAMESERVERS:
        errs.append(FieldError.invalid(path.child("nameservers"),
                                       GoValue("[]string", nameservers),
                                       f"must not have more than {MAX_DNS_NAMESERVERS} "
                                       "nameservers"))
    for i, ns in enumerate(nameservers):
        errs += _each(is_valid_ip(ns), path.child("nameservers").index(i), ns)
    searches = [_str(s) for s in _list(config.get("searches"))]
    if len(searches) > MAX_DNS_SEARCH_PATHS:
        errs.append(FieldError.invalid(path.child("searches"), GoValue("[]string", searches),
                                       f"must not have more than {MAX_DNS_SEARCH_PATHS} "
                                       "search paths"))
    if len(" ".join(searches).encode()) > MAX_DNS_SEARCH_LIST_CHARS:  # spaces included
        errs.append(FieldError.invalid(path.child("searches"), GoValue("[]string", searches),
                                       f"must not have more than {MAX_DNS_SEARCH_LIST_CHARS} "
                                       "characters (including spaces) in the search list"))
    for i, search in enumerate(searches):
        trimmed = search.removesuffix(".")  # it is fine to have a trailing dot
        errs += _each(is_dns1123_subdomain(trimmed), path.child("searches").index(i), trimmed)
    for i, option in enumerate(_list(config.get("options"))):
        if not _str(_map(option).get("name")):
            errs.append(FieldError.required(path.child("options").index(i),
                                            "must not be empty"))
    return errs


def validate_pod(pod: Mapping[str, Any]) -> list[FieldError]:
    """A Pod on create (ValidatePodCreate): metadata and spec."""
    errs = validate_object_meta(pod, name_is_dns_subdomain, True)
    return errs + validate_pod_spec(pod.get("spec"), _SPEC)


def validate_pod_template(template: Any, path: Path) -> list[FieldError]:
    """A pod template's labels, annotations and spec (ValidatePodTemplateSpec)."""
    template = _map(template)
    meta = _map(template.get("metadata"))
    errs = validate_labels(meta.get("labels"), path.child("labels"))
    errs += validate_annotations(meta.get("annotations"), path.child("annotations"))
    return errs + validate_pod_spec(template.get("spec"), path.child("spec"))


# -- nodes and namespaces -------------------------------------------------------------------------


def validate_taints(taints: Any, path: Path) -> list[FieldError]:
    """Key, value, effect; unique by key and effect (validateNodeTaints)."""
    errs, seen = [], set()
    for i, t in enumerate(_map(x) for x in _list(taints)):
        p = path.index(i)
        key, value, effect = _str(t.get("key")), _str(t.get("value")), _str(t.get("effect"))
        errs += _each(is_qualified_name(key), p.child("key"), key)
        msgs = is_label_value(value)
        if msgs:
            errs.append(FieldError.invalid(p.child("value"), value, ";".join(msgs)))
        if not effect:
            errs.append(FieldError.required(p.child("effect")))
        else:
            errs += _check_enum(effect, TAINT_EFFECTS, p.child("effect"))
        if (key, effect) in seen:
            dup = FieldError.duplicate(p, GoStruct("core.Taint", Key=key, Value=value,
                                                   Effect=effect, TimeAdded=GoValue(
                                                       "*v1.Time", t.get("timeAdded"))))
            dup.detail = "taints must be unique by key and effect pair"
            errs.append(dup)
            continue
        seen.add((key, effect))
    return errs


def validate_node(node: Mapping[str, Any]) -> list[FieldError]:
    """A Node (ValidateNode): metadata, taints, capacity and allocatable."""
    errs = validate_object_meta(node, name_is_dns_subdomain, False)
    # Upstream puts the taints under "metadata" in the path: metadata.taints[0].effect.
    if taints := _map(node.get("spec")).get("taints"):
        errs += validate_taints(taints, Path("metadata", "taints"))
    status = _map(node.get("status"))
    for field in ("capacity", "allocatable"):  # a dozen quantities on every status update
        for name, q in resource_list(status.get(field)).items():
            if not _native_and_not_negative(name, q):
                errs += validate_quantity_value(name, q, Path("status", field, name))
    return errs


def validate_namespace(ns: Mapping[str, Any]) -> list[FieldError]:
    """A Namespace (ValidateNamespace): a DNS-1123 label name, known finalizers."""
    errs = validate_object_meta(ns, name_is_dns_label, False)
    for finalizer in (_str(f) for f in _list(_map(ns.get("spec")).get("finalizers"))):
        path = Path("spec", "finalizers")
        msgs = is_qualified_name(finalizer)
        errs += _each(msgs, path, finalizer)
        if not msgs and "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
            errs.append(FieldError.invalid(
                path, finalizer, "name is neither a standard finalizer name nor is it fully "
                "qualified"))
    return errs


# -- services and endpoints -----------------------------------------------------------------------


def validate_service(svc: Mapping[str, Any]) -> list[FieldError]:
    """A Service (ValidateService): DNS-1035 name, ports, selector, type, cluster IPs.

    Whether a nodePort lies in ``--service-node-port-range`` is not validation's
    business: the node port allocator answers that (kubelearn.apiserver.portallocator).
    """
    errs = validate_object_meta(svc, name_is_dns1035_label, True)
    spec, path = _map(svc.get("spec")), Path("spec")
    svc_type = _str(spec.get("type")) or "ClusterIP"  # defaulted
    headless = spec.get("clusterIP") == "None"
    ports = [_map(p) for p in _list(spec.get("ports"))]
    if not ports and not headless and svc_type != "ExternalName":
        errs.append(FieldError.required(path.child("ports")))
    if svc_type == "ExternalName":
        errs += _external_name_errors(spec, path)
    elif headless and svc_type in ("NodePort", "LoadBalancer"):
        errs.append(FieldError.invalid(path.child("clusterIPs").index(0), "None",
                                       f"may not be set to 'None' for {svc_type} services"))
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = path.child("ports").index(i)
        name = _str(port.get("name"))
        if len(ports) > 1 and not name:
            errs.append(FieldError.required(p.child("name")))
        elif name:
            errs += validate_dns1123_label(name, p.child("name"))
            if name in names:
                errs.append(FieldError.duplicate(p.child("name"), name))
            names.add(name)
        errs += _each(is_valid_port_num(_int(port.get("port"))), p.child("port"),
                      _int(port.get("port")))
        errs += _check_enum(port.get("protocol"), SUPPORTED_PROTOCOLS, p.child("protocol"))
        target = port.get("targetPort")
        if isinstance(target, str):
            errs += _each(is_valid_port_name(target), p.child("targetPort"), target)
        elif target is not None:
            errs += _each(is_valid_port_num(_int(target)), p.child("targetPort"), _int(target))
    if spec.get("selector") is not None:
        errs += validate_labels(spec.get("selector"), path.child("selector"))
    errs += _check_enum(spec.get("sessionAffinity"), SESSION_AFFINITIES,
                        path.child("sessionAffinity"))
    errs += _check_enum(spec.get("type"), SERVICE_TYPES, path.child("type"))
    # The service REST syncs clusterIP into clusterIPs before validating; a manifest
    # checked on its own may have only the singular, so do that here too.
    normalized = spec if spec.get("clusterIPs") or not spec.get("clusterIP") else \
        {**spec, "clusterIPs": [spec.get("clusterIP")]}
    errs += validate_service_cluster_ips({**svc, "spec": normalized})
    errs += _node_port_errors(ports, svc_type, path)
    return errs


def _external_name_errors(spec: Mapping[str, Any], path: Path) -> list[FieldError]:
    """An ExternalName Service: a DNS name, and none of the cluster IP fields."""
    errs = []
    for field in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if spec.get(field) not in (None, []):
            errs.append(FieldError.forbidden(path.child(field),
                                             "may not be set for ExternalName services"))
    cname = _str(spec.get("externalName")).removesuffix(".")
    if cname:
        errs += _each(is_dns1123_subdomain(cname), path.child("externalName"), cname)
    else:
        errs.append(FieldError.required(path.child("externalName")))
    return errs


def _node_port_errors(ports: list[Mapping[str, Any]], svc_type: str,
                      path: Path) -> list[FieldError]:
    """No nodePort on a ClusterIP Service; no nodePort twice for one protocol."""
    errs: list[FieldError] = []
    seen: set[tuple[str, int]] = set()
    for i, port in enumerate(ports):
        node_port = _int(port.get("nodePort"))
        if not node_port:
            continue
        p = path.child("ports").index(i).child("nodePort")
        if svc_type == "ClusterIP":
            errs.append(FieldError.forbidden(p, "may not be used when `type` is 'ClusterIP'"))
            continue
        key = (_str(port.get("protocol")) or "TCP", node_port)
        if key in seen:
            errs.append(FieldError.duplicate(p, node_port))
        seen.add(key)
    return errs


SERVICE_IP_FAMILIES = ["IPv4", "IPv6"]  # sets.List(supportedServiceIPFamily)
SERVICE_IP_FAMILY_POLICIES = ["PreferDualStack", "RequireDualStack", "SingleStack"]


def validate_service_cluster_ips(svc: Mapping[str, Any]) -> list[FieldError]:
    """ValidateServiceClusterIPsRelatedFields: clusterIP(s), ipFamilies, ipFamilyPolicy.

    The service REST runs this before it allocates (alloc.go initIPFamilyFields),
    so a malformed address is refused before any address is taken.
    """
    spec, path = _map(svc.get("spec")), Path("spec")
    if _str(spec.get("type")) == "ExternalName":
        return []
    errs: list[FieldError] = []
    ips_path = path.child("clusterIPs")
    cluster_ip = _str(spec.get("clusterIP"))
    ips = [_str(ip) for ip in _list(spec.get("clusterIPs"))]
    if cluster_ip:
        if not ips:
            errs.append(FieldError.required(ips_path))
        elif ips[0] != cluster_ip:
            errs.append(FieldError.invalid(ips_path, GoValue("[]string", ips),
                                           "first value must match `clusterIP`"))
    elif ips:
        errs.append(FieldError.invalid(ips_path, GoValue("[]string", ips),
                                       "must be empty when `clusterIP` is not specified"))
    seen: set[str] = set()
    for i, family in enumerate(_list(spec.get("ipFamilies"))):
        if family not in SERVICE_IP_FAMILIES:
            errs.append(FieldError.not_supported(path.child("ipFamilies").index(i), family,
                                                 SERVICE_IP_FAMILIES))
        if family in seen:
            errs.append(FieldError.duplicate(path.child("ipFamilies").index(i), family))
        seen.add(_str(family))
    policy = spec.get("ipFamilyPolicy")
    if policy is not None and policy not in SERVICE_IP_FAMILY_POLICIES:
        errs.append(FieldError.not_supported(path.child("ipFamilyPolicy"), policy,
                                             SERVICE_IP_FAMILY_POLICIES))
    bad_ips = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                bad_ips = True
                errs.append(FieldError.invalid(ips_path, GoValue("[]string", ips),
                                               "'None' must be the first and only value"))
            continue
        msgs = is_valid_ip(ip)
        bad_ips = bad_ips or bool(msgs)
        errs += _each(msgs, ips_path.index(i), ip)
    if len(ips) > 2:
        errs.append(FieldError.invalid(ips_path, GoValue("[]string", ips),
                                       "may only hold up to 2 values"))
    if bad_ips:
        return errs
    if len(ips) > 1 and len({":" in ip for ip in ips}) != len(ips):
        errs.append(FieldError.invalid(ips_path, GoValue("[]string", ips),
                                       "may specify no more than one IP for each IP family"))
    families = _list(spec.get("ipFamilies"))
    if ips and ips != ["None"]:
        for i, (ip, family) in enumerate(zip(ips, families, strict=False)):
            if family == "IPv4" and ":" in ip:
                errs.append(FieldError.invalid(ips_path.index(i), ip, "expected an IPv4 value "
                                               f"as indicated by `ipFamilies[{i}]`"))
            if family == "IPv6" and ":" not in ip:
                errs.append(FieldError.invalid(ips_path.index(i), ip, "expected an IPv6 value "
                                               f"as indicated by `ipFamilies[{i}]`"))
    return errs


def validate_service_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """What a Service update may not change: its cluster IPs and IP families.

    ValidateServiceUpdate's validateUpgradeDowngradeClusterIPs and
    validateUpgradeDowngradeIPFamilies, for the single-stack case: the primary
    address and family stay, unless the type changes to or from ExternalName.
    """
    spec, old_spec = _map(new.get("spec")), _map(old.get("spec"))
    if "ExternalName" in (spec.get("type"), old_spec.get("type")):
        return []
    errs: list[FieldError] = []
    ips, old_ips = _list(spec.get("clusterIPs")), _list(old_spec.get("clusterIPs"))
    shown = GoValue("[]string", ips if spec.get("clusterIPs") is not None else None)
    if not (ips == ["None"] and old_ips == ["None"]):
        ips_path = Path("spec", "clusterIPs")
        if len(ips) == len(old_ips):
            errs += [FieldError.invalid(ips_path.index(i), shown, "may not change once set")
                     for i, ip in enumerate(old_ips) if ips[i] != ip]
        elif len(ips) < len(old_ips):
            if not ips:
                errs.append(FieldError.invalid(ips_path.index(0), shown,
                                               "primary clusterIP can not be unset"))
            elif ips[0] != old_ips[0]:
                errs.append(FieldError.invalid(ips_path.index(0), shown, "may not change once set"))
        elif old_ips and ips[0] != old_ips[0]:
            errs.append(FieldError.invalid(ips_path.index(0), shown, "may not change once set"))
    headless, old_headless = ips == ["None"], old_ips == ["None"]
    families, old_families = _list(spec.get("ipFamilies")), _list(old_spec.get("ipFamilies"))
    if headless == old_headless and not headless and len(families) == len(old_families):
        # one error per changed family, each at index 0 -- as upstream writes it
        errs += [FieldError.invalid(Path("spec", "ipFamilies").index(0),
                                    GoValue("[]core.IPFamily", families),
                                    "may not change once set")
                 for i, family in enumerate(old_families) if families[i] != family]
    return errs


def _validate_endpoint_ip(ip: str, path: Path) -> list[FieldError]:
    """ValidateEndpointIP: a real, routable address."""
    msgs = is_valid_ip(ip)
    if msgs:
        return _each(msgs, path, ip)
    addr = ipaddress.ip_address(ip) if ":" in ip else ipaddress.ip_address(
        ".".join(str(int(o)) for o in ip.split(".")))
    errs = []
    if addr.is_unspecified:
        errs.append(FieldError.invalid(path, ip, f"may not be unspecified ({ip})"))
    if addr.is_loopback:
        errs.append(FieldError.invalid(path, ip,
                                       "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
    if addr.is_link_local:
        errs.append(FieldError.invalid(
            path, ip, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
    if addr.is_multicast and (ip.startswith("224.0.0.") or ip.lower().startswith("ff02:")):
        errs.append(FieldError.invalid(
            path, ip, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
    return errs


def validate_endpoints(ep: Mapping[str, Any]) -> list[FieldError]:
    """Endpoints (ValidateEndpoints): addresses and ports of each subset."""
    errs = validate_object_meta(ep, name_is_dns_subdomain, True)
    for i, subset in enumerate(_map(s) for s in _list(ep.get("subsets"))):
        p = Path("subsets").index(i)
        addresses = _list(subset.get("addresses"))
        not_ready = _list(subset.get("notReadyAddresses"))
        if not addresses and not not_ready:
            errs.append(FieldError.required(p, "must specify `addresses` or `notReadyAddresses`"))
        for field, group in (("addresses", addresses), ("notReadyAddresses", not_ready)):
            for j, addr in enumerate(_map(a) for a in group):
                ap = p.child(field).index(j)
                hostname, node_name = _str(addr.get("hostname")), addr.get("nodeName")
                if hostname:
                    errs += validate_dns1123_label(hostname, ap.child("hostname"))
                if node_name is not None:
                    errs += _each(is_dns1123_subdomain(_str(node_name)), ap.child("nodeName"),
                                  _str(node_name))
                errs += _validate_endpoint_ip(_str(addr.get("ip")), ap.child("ip"))
        ports = [_map(x) for x in _list(subset.get("ports"))]
        for j, port in enumerate(ports):
            pp = p.child("ports").index(j)
            name = _str(port.get("name"))
            if len(ports) > 1 and not name:
                errs.append(FieldError.required(pp.child("name")))
            elif name:
                errs += validate_dns1123_label(name, pp.child("name"))
            errs += _each(is_valid_port_num(_int(port.get("port"))), pp.child("port"),
                          _int(port.get("port")))
            errs += _check_enum(port.get("protocol"), SUPPORTED_PROTOCOLS, pp.child("protocol"))
    return errs


# -- endpointslices (pkg/apis/discovery/validation) ----------------------------------------------

ADDRESS_TYPES = ("FQDN", "IPv4", "IPv6")  # supportedAddressTypes, sorted as sets.List prints them
# pkg/apis/discovery/validation: maxEndpoints, maxAddresses, maxPorts, maxTopologyLabels,
# maxZoneHints
MAX_SLICE_ENDPOINTS = 1000
MAX_ENDPOINT_ADDRESSES = 100
MAX_SLICE_PORTS = 20000
MAX_TOPOLOGY_LABELS = 16
MAX_ZONE_HINTS = 8


def _ip_family(value: str) -> int | None:
    """4 or 6 for an address ParseIPSloppy reads, else None (IPv4-mapped IPv6 is 4: To4())."""
    if is_valid_ip(value):
        return None
    if ":" not in value:
        return 4
    return 4 if ipaddress.IPv6Address(value).ipv4_mapped is not None else 6


def _fqdn_errors(name: str, path: Path) -> list[FieldError]:
    """validation.IsFullyQualifiedDomainName: a DNS subdomain of at least two labels."""
    if not name:
        return [FieldError.required(path)]
    name = name[:-1] if name.endswith(".") else name
    if msgs := is_dns1123_subdomain(name):
        return [FieldError.invalid(path, name, ",".join(msgs))]
    labels = name.split(".")
    if len(labels) < 2:
        return [FieldError.invalid(
            path, name, "should be a domain with at least two segments separated by dots")]
    for label in labels:
        if msgs := is_dns1123_label(label):
            return [FieldError.invalid(path, label, ",".join(msgs))]
    return []


def _slice_endpoint_errors(endpoint: Mapping[str, Any], address_type: str,
                           path: Path) -> list[FieldError]:
    """One endpoint of a slice: its addresses, nodeName, topology, hostname and hints."""
    errs: list[FieldError] = []
    addresses = [_str(a) for a in _list(endpoint.get("addresses"))]
    address_path = path.child("addresses")
    if not addresses:
        errs.append(FieldError.required(address_path, "must contain at least 1 address"))
    elif len(addresses) > MAX_ENDPOINT_ADDRESSES:
        errs.append(FieldError.too_many(address_path, len(addresses), MAX_ENDPOINT_ADDRESSES))
    for i, address in enumerate(addresses):  # unknown address types are not checked
        p = address_path.index(i)
        if address_type in ("IPv4", "IPv6"):
            family = _ip_family(address)
            if family != (4 if address_type == "IPv4" else 6):  # IsValidIPv4Address / IPv6
                errs.append(FieldError.invalid(p, address,
                                               f"must be a valid {address_type} address"))
            if family is None:  # then ValidateEndpointIP, which says it in its own words
                errs.append(FieldError.invalid(p, address, "must be a valid IP address"))
            else:
                errs += _validate_endpoint_ip(address, p)
        elif address_type == "FQDN":
            errs += _fqdn_errors(address, p)
    node_name = endpoint.get("nodeName")
    if node_name is not None and (msgs := is_dns1123_subdomain(_str(node_name))):
        errs += _each(msgs, path.child("nodeName"), _str(node_name))
    topology = _map(endpoint.get("deprecatedTopology"))
    if len(topology) > MAX_TOPOLOGY_LABELS:
        errs.append(FieldError.too_many(path.child("deprecatedTopology"), len(topology),
                                        MAX_TOPOLOGY_LABELS))
    if topology:
        errs += validate_labels(topology, path.child("deprecatedTopology"))
    hostname = endpoint.get("hostname")
    if hostname is not None:
        errs += validate_dns1123_label(_str(hostname), path.child("hostname"))
    hints = endpoint.get("hints")
    if hints is not None:
        zones = [_map(z) for z in _list(_map(hints).get("forZones"))]
        zones_path = path.child("hints", "forZones")
        if len(zones) > MAX_ZONE_HINTS:
            errs.append(FieldError.too_many(zones_path, len(zones), MAX_ZONE_HINTS))
            return errs
        seen: set[str] = set()
        for i, zone in enumerate(zones):
            name, p = _str(zone.get("name")), zones_path.index(i).child("name")
            if name in seen:
                errs.append(FieldError.duplicate(p, name))
            seen.add(name)
            errs += _each(is_label_value(name), p, name)
    return errs


def validate_endpointslice(eps: Mapping[str, Any]) -> list[FieldError]:
    """An EndpointSlice (ValidateEndpointSlice): address type, endpoints, ports."""
    errs = validate_object_meta(eps, name_is_dns_subdomain, True)
    address_type = _str(eps.get("addressType"))
    if not address_type:
        errs.append(FieldError.required(Path("addressType")))
    elif address_type not in ADDRESS_TYPES:
        errs.append(FieldError.not_supported(Path("addressType"), address_type, ADDRESS_TYPES))
    endpoints = [_map(e) for e in _list(eps.get("endpoints"))]
    if len(endpoints) > MAX_SLICE_ENDPOINTS:
        errs.append(FieldError.too_many(Path("endpoints"), len(endpoints), MAX_SLICE_ENDPOINTS))
    else:
        for i, endpoint in enumerate(endpoints):
            errs += _slice_endpoint_errors(endpoint, address_type, Path("endpoints").index(i))
    ports = [_map(p) for p in _list(eps.get("ports"))]
    if len(ports) > MAX_SLICE_PORTS:
        return errs + [FieldError.too_many(Path("ports"), len(ports), MAX_SLICE_PORTS)]
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = Path("ports").index(i)
        name = _str(port.get("name"))
        if name:
            errs += validate_dns1123_label(name, p.child("name"))
        if name in names:
            errs.append(FieldError.duplicate(p.child("name"), name))
        names.add(name)
        protocol = port.get("protocol")
        if protocol is None:
            errs.append(FieldError.required(p.child("protocol")))
        elif protocol not in SUPPORTED_PROTOCOLS:
            errs.append(FieldError.not_supported(p.child("protocol"), protocol,
                                                 SUPPORTED_PROTOCOLS))
        app_protocol = port.get("appProtocol")
        if app_protocol is not None:
            errs += _each(is_qualified_name(_str(app_protocol)), p.child("appProtocol"),
                          _str(app_protocol))
    return errs


# -- configmaps -----------------------------------------------------------------------------------


def validate_configmap(cm: Mapping[str, Any]) -> list[FieldError]:
    """A ConfigMap (ValidateConfigMap): keys, no key in both bags, 1 MiB in all."""
    errs = validate_object_meta(cm, name_is_dns_subdomain, True)
    data, binary = _map(cm.get("data")), _map(cm.get("binaryData"))
    size = 0
    for key, value in data.items():
        errs += _each(is_config_map_key(key), Path("data").key(key), key)
        if key in binary:
            errs.append(FieldError.invalid(Path("data").key(key), key,
                                           "duplicate of key present in binaryData"))
        size += len(_str(value).encode())
    for key, value in binary.items():
        errs += _each(is_config_map_key(key), Path("binaryData").key(key), key)
        size += len(_str(value).encode()) * 3 // 4  # base64 text -> bytes
    if size > MAX_CONFIG_SIZE:
        errs.append(FieldError.too_long(Path(""), MAX_CONFIG_SIZE))  # prints as "[]"
    return errs


def validate_configmap_update(new: Mapping[str, Any], old: Mapping[str, Any]
                              ) -> list[FieldError]:
    """ValidateConfigMapUpdate: an ``immutable`` ConfigMap keeps its flag and its data."""
    return _immutable_errors(new, old, ("data", "binaryData"))


# -- secrets --------------------------------------------------------------------------------------

# Secret types and the keys they need (k8s.io/api/core/v1 types.go, v1.32).
SECRET_TYPE_SERVICE_ACCOUNT_TOKEN = "kubernetes.io/service-account-token"
SERVICE_ACCOUNT_NAME_KEY = "kubernetes.io/service-account.name"
SECRET_TYPE_DOCKERCFG, DOCKER_CONFIG_KEY = "kubernetes.io/dockercfg", ".dockercfg"
SECRET_TYPE_DOCKER_CONFIG_JSON = "kubernetes.io/dockerconfigjson"
DOCKER_CONFIG_JSON_KEY = ".dockerconfigjson"
SECRET_TYPE_BASIC_AUTH = "kubernetes.io/basic-auth"
SECRET_TYPE_SSH_AUTH, SSH_AUTH_PRIVATE_KEY = "kubernetes.io/ssh-auth", "ssh-privatekey"
SECRET_TYPE_TLS = "kubernetes.io/tls"
REDACTED = "<secret contents redacted>"  # the bad value a Secret's error shows instead of it


def _secret_bytes(value: Any) -> bytes:
    """A ``data`` value's bytes (the decoder already refused bad base64; newlines are skipped)."""
    text = _str(value).replace("\n", "").replace("\r", "")
    try:
        return base64.b64decode(text)
    except (ValueError, binascii.Error):
        return b""


def _innermost_open(text: str, end: int) -> str:
    """The innermost ``{`` or ``[`` still open at ``end`` (strings skipped), or ""."""
    stack: list[str] = []
    in_string = escaped = False
    for char in text[:end]:
        if in_string:
            escaped, in_string = (False, True) if escaped else (char == "\\", char != '"')
        elif char == '"':
            in_string = True
        elif char in "{[":
            stack.append(char)
        elif char in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _quote_char(char: str) -> str:
    """encoding/json quoteChar: ``'x'``, with ``'\\''`` for a quote."""
    return "'\\''" if char == "'" else repr(char)


# encoding/json's scanner: where it was when a character did not fit, by Python's words.
_JSON_CONTEXTS = {
    "Expecting value": "looking for beginning of value",
    "Extra data": "after top-level value",
    "Expecting ':' delimiter": "after object key",
    "Expecting property name enclosed in double quotes": "looking for beginning of object "
                                                         "key string",
}


def go_json_object_error(raw: bytes) -> str:
    """What ``json.Unmarshal(raw, &map[string]interface{}{})`` says of ``raw`` ("" if fine).

    The syntax errors a Secret's JSON keys most often have, worded as Go's
    scanner words them (``invalid character 'x' looking for beginning of value``).
    """
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        if err.pos >= len(text.rstrip()):
            return "unexpected end of JSON input"
        where = _JSON_CONTEXTS.get(err.msg)
        if where is None:  # "Expecting ',' delimiter" and the like
            where = ("after object key:value pair" if _innermost_open(text, err.pos) == "{"
                     else "after array element")
        return f"invalid character {_quote_char(text[err.pos])} {where}"
    if value is None or isinstance(value, dict):  # null leaves the map as it was
        return ""
    return (f"json: cannot unmarshal {json_kind(value)} into Go value of type "
            "map[string]interface {}")


def _secret_type_errors(secret_type: str, data: Mapping[str, bytes],
                        annotations: Mapping[str, Any]) -> list[FieldError]:
    """The keys each type of Secret must carry (ValidateSecret's switch on the type)."""
    data_path = Path("data")
    if secret_type == SECRET_TYPE_SERVICE_ACCOUNT_TOKEN:
        if not _str(annotations.get(SERVICE_ACCOUNT_NAME_KEY)):
            return [FieldError.required(_METADATA.child("annotations").key(
                SERVICE_ACCOUNT_NAME_KEY))]
    elif secret_type in (SECRET_TYPE_DOCKERCFG, SECRET_TYPE_DOCKER_CONFIG_JSON):
        key = DOCKER_CONFIG_KEY if secret_type == SECRET_TYPE_DOCKERCFG \
            else DOCKER_CONFIG_JSON_KEY
        if key not in data:
            return [FieldError.required(data_path.key(key))]
        if message := go_json_object_error(data[key]):  # well-formed JSON
            return [FieldError.invalid(data_path.key(key), REDACTED, message)]
    elif secret_type == SECRET_TYPE_BASIC_AUTH:
        if "username" not in data and "password" not in data:  # either may be empty
            return [FieldError.required(data_path.key("username")),
                    FieldError.required(data_path.key("password"))]
    elif secret_type == SECRET_TYPE_SSH_AUTH:
        if not data.get(SSH_AUTH_PRIVATE_KEY):
            return [FieldError.required(data_path.key(SSH_AUTH_PRIVATE_KEY))]
    elif secret_type == SECRET_TYPE_TLS:
        return [FieldError.required(data_path.key(key)) for key in ("tls.crt", "tls.key")
                if key not in data]
    return []  # Opaque, and any type of the user's own


def validate_secret(secret: Mapping[str, Any]) -> list[FieldError]:
    """A Secret (ValidateSecret): its keys, 1 MiB in all, and what its type requires.

    ``stringData`` counts as part of ``data``, as it is by then upstream (the
    conversion of :mod:`kubelearn.api.conversion` has merged it): a bad key in
    it is reported as ``data[<key>]``.
    """
    errs = validate_object_meta(secret, name_is_dns_subdomain, True)
    data = {str(k): _secret_bytes(v) for k, v in _map(secret.get("data")).items()}
    for key, value in _map(secret.get("stringData")).items():  # not converted yet: validate()
        data[str(key)] = _str(value).encode("utf-8", "replace")
    for key in data:
        if msgs := is_config_map_key(key):
            errs += _each(msgs, Path("data").key(key), key)
    if sum(len(value) for value in data.values()) > MAX_CONFIG_SIZE:
        errs.append(FieldError.too_long(Path("data"), MAX_CONFIG_SIZE))
    annotations = _map(_map(secret.get("metadata")).get("annotations"))
    return errs + _secret_type_errors(_str(secret.get("type")), data, annotations)


def validate_secret_update(new: Mapping[str, Any], old: Mapping[str, Any]) -> list[FieldError]:
    """ValidateSecretUpdate: the type never changes; an ``immutable`` Secret keeps its data."""
    errs = []
    if _str(new.get("type")) != _str(old.get("type")):  # ValidateImmutableField
        errs.append(FieldError.invalid(Path("type"), _str(new.get("type")),
                                       "field is immutable"))
    return errs + _immutable_errors(new, old, ("data",))


def _immutable_errors(new: Mapping[str, Any], old: Mapping[str, Any], fields: Sequence[str]
                      ) -> list[FieldError]:
    """Once ``immutable: true``, the flag stays and so do ``fields`` (nil and empty alike)."""
    if old.get("immutable") is not True:
        return []
    errs = []
    if new.get("immutable") is not True:
        errs.append(FieldError.forbidden(Path("immutable"),
                                         "field is immutable when `immutable` is set"))
    for field in fields:
        if dict(_map(new.get(field))) != dict(_map(old.get(field))):
            errs.append(FieldError.forbidden(Path(field),
                                             "field is immutable when `immutable` is set"))
    return errs


# -- deployments and replicasets ------------------------------------------------------------------


def _selector_and_template(spec: Mapping[str, Any], path: Path) -> list[FieldError]:
    """spec.selector required and valid, and the template inside it (apps validation)."""
    errs: list[FieldError] = []
    raw = spec.get("selector")
    if raw is None:
        errs.append(FieldError.required(path.child("selector")))
    else:
        errs += validate_label_selector(raw, path.child("selector"))
        if not _map(raw).get("matchLabels") and not _map(raw).get("matchExpressions"):
            errs.append(FieldError.invalid(path.child("selector"), label_selector_value(_map(raw)),
                                           "empty selector is invalid for deployment"))
    try:
        selector = LabelSelector.from_dict(_map(raw) if raw is not None else None)
    except (SelectorError, BadRequest):
        errs.append(FieldError.invalid(path.child("selector"), label_selector_value(_map(raw)),
                                       "invalid label selector"))
        return errs
    template_path = path.child("template")
    template = _map(spec.get("template"))
    labels = _map(template.get("metadata")).get("labels")
    if not selector.empty() and not selector.matches(_map(labels)):
        errs.append(FieldError.invalid(template_path.child("metadata", "labels"),
                                       GoValue("map[string]string", labels),
                                       "`selector` does not match template `labels`"))
    errs += validate_pod_template(template, template_path)
    tspec = _map(template.get("spec"))
    restart = tspec.get("restartPolicy")
    if restart is not None and restart != "Always":  # ValidatePodTemplateSpecForReplicaSet
        errs.append(FieldError.not_supported(template_path.child("spec", "restartPolicy"),
                                             restart, ["Always"]))
    if tspec.get("activeDeadlineSeconds") is not None:
        errs.append(FieldError.forbidden(template_path.child("spec", "activeDeadlineSeconds"),
                                         "activeDeadlineSeconds in ReplicaSet is not Supported"))
    return errs


def int_or_string(value: int | str) -> GoStruct:
    """An intstr.IntOrString as a bad value: ``intstr.IntOrString{Type:1, ...}``."""
    if isinstance(value, str):
        return GoStruct("intstr.IntOrString", json=value, Type=1, IntVal=0, StrVal=value)
    return GoStruct("intstr.IntOrString", json=value, Type=0, IntVal=_int(value), StrVal="")


def _int_or_percent(value: Any, path: Path) -> tuple[list[FieldError], int | None]:
    """ValidatePositiveIntOrPercent; also the number or percentage it holds."""
    if isinstance(value, str):
        if not (value.endswith("%") and value[:-1].isascii() and value[:-1].isdigit()):
            msg = regex_error("a valid percent string must be a numeric string followed by an "
                              "ending '%'", "[0-9]+%", "1%", "93%")
            return [FieldError.invalid(path, int_or_string(value), msg)], None
        return [], int(value[:-1])
    return validate_nonnegative(_int(value), path), _int(value)


def validate_deployment(deploy: Mapping[str, Any]) -> list[FieldError]:
    """A Deployment (ValidateDeployment): replicas, selector, template, strategy."""
    errs = validate_object_meta(deploy, name_is_dns_subdomain, True)
    spec, path = _map(deploy.get("spec")), Path("spec")
    errs += validate_nonnegative(_int(spec.get("replicas"), 1), path.child("replicas"))
    errs += _selector_and_template(spec, path)
    strategy = _map(spec.get("strategy"))
    s_path = path.child("strategy")
    s_type = strategy.get("type")
    rolling = strategy.get("rollingUpdate")
    if s_type == "Recreate":
        if rolling is not None:
            errs.append(FieldError.forbidden(
                s_path.child("rollingUpdate"),
                "may not be specified when strategy `type` is 'Recreate'"))
    elif s_type in (None, "", "RollingUpdate"):
        rolling = _map(rolling)
        r_path = s_path.child("rollingUpdate")
        unavailable, surge = rolling.get("maxUnavailable"), rolling.get("maxSurge")
        u_errs, u_value = _int_or_percent(unavailable if unavailable is not None else "25%",
                                          r_path.child("maxUnavailable"))
        s_errs, s_value = _int_or_percent(surge if surge is not None else "25%",
                                          r_path.child("maxSurge"))
        errs += u_errs + s_errs
        if u_value == 0 and s_value == 0:
            errs.append(FieldError.invalid(
                r_path.child("maxUnavailable"),
                int_or_string(unavailable if unavailable is not None else "25%"),
                "may not be 0 when `maxSurge` is 0"))
        if isinstance(unavailable, str) and u_value is not None and u_value > 100:
            errs.append(FieldError.invalid(r_path.child("maxUnavailable"),
                                           int_or_string(unavailable),
                                           "must not be greater than 100%"))
    else:
        errs.append(FieldError.not_supported(
            s_path, GoStruct("apps.DeploymentStrategy", Type=_str(s_type),
                             RollingUpdate=GoValue("*apps.RollingUpdateDeployment", rolling)),
            STRATEGY_TYPES))
    min_ready = _int(spec.get("minReadySeconds"))
    errs += validate_nonnegative(min_ready, path.child("minReadySeconds"))
    if spec.get("revisionHistoryLimit") is not None:
        errs += validate_nonnegative(_int(spec.get("revisionHistoryLimit")),
                                     path.child("revisionHistoryLimit"))
    deadline = _int(spec.get("progressDeadlineSeconds"), 600)  # apps/v1 default: 600
    errs += validate_nonnegative(deadline, path.child("progressDeadlineSeconds"))
    if deadline <= min_ready:
        errs.append(FieldError.invalid(path.child("progressDeadlineSeconds"), deadline,
                                       "must be greater than minReadySeconds"))
    return errs


def validate_replicaset(rs: Mapping[str, Any]) -> list[FieldError]:
    """A ReplicaSet (ValidateReplicaSet): replicas, minReadySeconds, selector, template."""
    errs = validate_object_meta(rs, name_is_dns_subdomain, True)
    spec, path = _map(rs.get("spec")), Path("spec")
    errs += validate_nonnegative(_int(spec.get("replicas"), 1), path.child("replicas"))
    errs += validate_nonnegative(_int(spec.get("minReadySeconds")), path.child("minReadySeconds"))
    return errs + _selector_and_template(spec, path)


# -- leases and events ----------------------------------------------------------------------------


def validate_lease(lease: Mapping[str, Any]) -> list[FieldError]:
    """A Lease (coordination ValidateLease): positive duration, no negative transitions."""
    errs = validate_object_meta(lease, name_is_dns_subdomain, True)
    spec, path = _map(lease.get("spec")), _SPEC
    duration = spec.get("leaseDurationSeconds")
    if duration is not None and _int(duration) <= 0:
        errs.append(FieldError.invalid(path.child("leaseDurationSeconds"), _int(duration),
                                       "must be greater than 0"))
    transitions = spec.get("leaseTransitions")
    if transitions is not None and _int(transitions) < 0:
        errs.append(FieldError.invalid(path.child("leaseTransitions"), _int(transitions),
                                       IS_NEGATIVE))
    return errs


def validate_event(event: Mapping[str, Any]) -> list[FieldError]:
    """A core/v1 Event (legacyValidateEvent), then the generic metadata checks."""
    errs = []
    namespace = _str(_map(event.get("metadata")).get("namespace"))
    involved = _str(_map(event.get("involvedObject")).get("namespace"))
    if namespace and event.get("eventTime") is None:
        if not involved:
            if namespace not in ("", "default"):
                errs.append(FieldError.invalid(Path("involvedObject", "namespace"), involved,
                                               "does not match event.namespace"))
        elif namespace != involved:
            errs.append(FieldError.invalid(Path("involvedObject", "namespace"), involved,
                                           "does not match event.namespace"))
    if namespace and (msgs := is_dns1123_subdomain(namespace)):
        errs += _each(msgs, Path("namespace"), namespace)
    if errs:
        return errs
    # rest.BeforeCreate: generic metadata validation once the kind's own has passed.
    return validate_object_meta(event, name_is_path_segment, True)


# -- persistent volume claims ---------------------------------------------------------------------

# core/validation ValidatePersistentVolumeClaimSpec (v1.32): the access modes a claim may ask for
# (ReadWriteOncePod is GA since v1.29) and the volume modes.
ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
VOLUME_MODES = ("Block", "Filesystem")


def validate_persistent_volume_claim(pvc: Mapping[str, Any]) -> list[FieldError]:
    """A PersistentVolumeClaim (ValidatePersistentVolumeClaim): access modes, a storage request."""
    errs = validate_object_meta(pvc, name_is_dns_subdomain, True)
    spec, path = _map(pvc.get("spec")), _SPEC
    modes = spec.get("accessModes") or []
    if not modes:
        errs.append(FieldError.required(path.child("accessModes"),
                                        "at least 1 access mode is required"))
    for mode in modes:
        if mode not in ACCESS_MODES:
            errs.append(FieldError.not_supported(path.child("accessModes"), mode, ACCESS_MODES))
    storage_path = path.child("resources").key("storage")
    storage = _map(_map(spec.get("resources")).get("requests")).get("storage")
    if storage is None:
        errs.append(FieldError.required(storage_path))
    else:
        quantity = Quantity(storage)
        if quantity.sign() <= 0:  # ValidatePositiveQuantityValue
            errs.append(FieldError.invalid(storage_path, str(quantity),
                                           "must be greater than zero"))
    mode = spec.get("volumeMode")
    if mode is not None and mode not in VOLUME_MODES:
        errs.append(FieldError.not_supported(path.child("volumeMode"), mode, VOLUME_MODES))
    return errs


# -- priority classes -----------------------------------------------------------------------------


def validate_preemption_policy(policy: Any, path: Path) -> list[FieldError]:
    """ValidatePreemptionPolicy (core/validation): PreemptLowerPriority or Never."""
    if policy in PREEMPTION_POLICIES:
        return []
    if policy == "":
        return [FieldError.required(path)]
    return [FieldError.not_supported(path, policy, PREEMPTION_POLICIES)]


def validate_priority_class(pc: Mapping[str, Any]) -> list[FieldError]:
    """A PriorityClass (scheduling/validation ValidatePriorityClass, v1.32).

    A ``system-`` name must be one of the system classes exactly; any other class
    may not rank above HighestUserDefinablePriority.
    """
    errs = validate_object_meta(pc, name_is_dns_subdomain, False)
    name = _str(_map(pc.get("metadata")).get("name"))
    value = _int(pc.get("value"))
    if name.startswith(SYSTEM_PRIORITY_CLASS_PREFIX):
        why = known_system_priority_class_error(name, value, pc.get("globalDefault") is True)
        if why:
            errs.append(FieldError.forbidden(
                _METADATA.child("name"), f"priority class names with '"
                f"{SYSTEM_PRIORITY_CLASS_PREFIX}' prefix are reserved for system use only. "
                f"error: {why}"))
    elif value > HIGHEST_USER_DEFINABLE_PRIORITY:
        errs.append(FieldError.forbidden(Path("value"), "maximum allowed value of a user defined "
                                         f"priority is {HIGHEST_USER_DEFINABLE_PRIORITY}"))
    if pc.get("preemptionPolicy") is not None:
        errs += validate_preemption_policy(pc.get("preemptionPolicy"), Path("preemptionPolicy"))
    return errs


def validate_priority_class_update(new: Mapping[str, Any], old: Mapping[str, Any]
                                   ) -> list[FieldError]:
    """ValidatePriorityClassUpdate: value and preemptionPolicy may not change."""
    errs = []
    if _int(new.get("value")) != _int(old.get("value")):
        errs.append(FieldError.forbidden(Path("value"), "may not be changed in an update."))
    policy = new.get("preemptionPolicy")
    if policy != old.get("preemptionPolicy"):  # ValidateImmutableField
        errs.append(FieldError.invalid(Path("preemptionPolicy"), policy, "field is immutable"))
    return errs


# -- pod disruption budgets -----------------------------------------------------------------------


def _pdb_spec_value(spec: Mapping[str, Any]) -> GoStruct:
    """A policy.PodDisruptionBudgetSpec as a bad value: its four fields are pointers."""
    pointers = (("MinAvailable", "minAvailable", "*intstr.IntOrString"),
                ("Selector", "selector", "*v1.LabelSelector"),
                ("MaxUnavailable", "maxUnavailable", "*intstr.IntOrString"),
                ("UnhealthyPodEvictionPolicy", "unhealthyPodEvictionPolicy",
                 "*policy.UnhealthyPodEvictionPolicyType"))
    return GoStruct("policy.PodDisruptionBudgetSpec",
                    json={k: spec[k] for _, k, _ in pointers if spec.get(k) is not None},
                    **{go: GoValue(t, spec.get(k)) for go, k, t in pointers})


def _budget_errors(value: Any, path: Path) -> list[FieldError]:
    """ValidatePositiveIntOrPercent, then IsNotMoreThan100Percent, for one budget field."""
    errs, number = _int_or_percent(value, path)
    if isinstance(value, str) and number is not None and number > 100:
        errs.append(FieldError.invalid(path, int_or_string(value), "must not be greater than 100%"))
    return errs


def validate_pod_disruption_budget_spec(spec: Mapping[str, Any], path: Path
                                        ) -> list[FieldError]:
    """ValidatePodDisruptionBudgetSpec (policy/validation, v1.32).

    One of minAvailable and maxUnavailable, each a non-negative integer or a
    percentage up to 100%; a well-formed selector; a known unhealthyPodEvictionPolicy.
    """
    errs = []
    min_available, max_unavailable = spec.get("minAvailable"), spec.get("maxUnavailable")
    if min_available is not None and max_unavailable is not None:
        errs.append(FieldError.invalid(path, _pdb_spec_value(spec),
                                       "minAvailable and maxUnavailable cannot be both set"))
    if min_available is not None:
        errs += _budget_errors(min_available, path.child("minAvailable"))
    if max_unavailable is not None:
        errs += _budget_errors(max_unavailable, path.child("maxUnavailable"))
    errs += validate_label_selector(spec.get("selector"), path.child("selector"))
    policy = spec.get("unhealthyPodEvictionPolicy")
    if policy is not None and policy not in UNHEALTHY_POD_EVICTION_POLICIES:
        errs.append(FieldError.not_supported(path.child("unhealthyPodEvictionPolicy"), policy,
                                             UNHEALTHY_POD_EVICTION_POLICIES))
    return errs


def validate_pod_disruption_budget(pdb: Mapping[str, Any]) -> list[FieldError]:
    """A PodDisruptionBudget on create and update, as its REST storage checks it.

    The strategy validates the spec only (ValidatePodDisruptionBudget); the generic
    store's BeforeCreate then checks metadata with the path-segment name rule --
    and only if the spec passed, so a bad spec is reported alone.
    """
    errs = validate_pod_disruption_budget_spec(_map(pdb.get("spec")), _SPEC)
    if errs:
        return errs
    return validate_object_meta(pdb, name_is_path_segment, True)


CONDITION_STATUSES = ("False", "True", "Unknown")  # validConditionStatuses, sorted
MAX_CONDITION_REASON_LENGTH = 1 * 1024  # meta/v1/validation maxReasonLen
MAX_CONDITION_MESSAGE_LENGTH = 32 * 1024  # meta/v1/validation maxMessageLen
_CONDITION_REASON_FMT = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?"
_CONDITION_REASON = re.compile(f"^{_CONDITION_REASON_FMT}$")


def validate_conditions(conditions: Any, path: Path) -> list[FieldError]:
    """metav1 validation.ValidateConditions: unique types, each condition well formed."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, condition in enumerate(_list(conditions)):
        condition, p = _map(condition), path.index(i)
        type_ = _str(condition.get("type"))
        if type_ in seen:
            errs.append(FieldError.duplicate(p.child("type"), type_))
        seen.add(type_)
        errs += _each(is_qualified_name(type_), p.child("type"), type_)
        status = _str(condition.get("status"))
        if status not in CONDITION_STATUSES:
            errs.append(FieldError.not_supported(p.child("status"), status, CONDITION_STATUSES))
        generation = _int(condition.get("observedGeneration"))
        if generation < 0:
            errs.append(FieldError.invalid(p.child("observedGeneration"), generation,
                                           "must be greater than or equal to zero"))
        if not condition.get("lastTransitionTime"):
            errs.append(FieldError.required(p.child("lastTransitionTime"), "must be set"))
        errs += _condition_text_errors(condition, p)
    return errs


def _condition_text_errors(condition: Mapping[str, Any], path: Path) -> list[FieldError]:
    """ValidateCondition's reason (set, shaped, short) and message (short)."""
    errs = []
    reason = _str(condition.get("reason"))
    if not reason:
        errs.append(FieldError.required(path.child("reason"), "must be set"))
    else:
        if not _CONDITION_REASON.match(reason):
            errs.append(FieldError.invalid(path.child("reason"), reason, regex_error(
                "a condition reason must start with alphabetic character, optionally followed "
                "by a string of alphanumeric characters or '_,:', and must end with an "
                "alphanumeric character or '_'", _CONDITION_REASON_FMT, "my_name", "MY_NAME",
                "MyName", "ReasonA,ReasonB", "ReasonA:ReasonB")))
        if len(reason) > MAX_CONDITION_REASON_LENGTH:
            errs.append(FieldError.too_long(path.child("reason"), MAX_CONDITION_REASON_LENGTH))
    if len(_str(condition.get("message"))) > MAX_CONDITION_MESSAGE_LENGTH:
        errs.append(FieldError.too_long(path.child("message"), MAX_CONDITION_MESSAGE_LENGTH))
    return errs


def validate_pod_disruption_budget_status(pdb: Mapping[str, Any]) -> list[FieldError]:
    """ValidatePodDisruptionBudgetStatusUpdate (policy/v1): conditions, no negative counts."""
    status, path = _map(pdb.get("status")), Path("status")
    errs = validate_conditions(status.get("conditions"), path.child("conditions"))
    for field in ("disruptionsAllowed", "currentHealthy", "desiredHealthy", "expectedPods"):
        errs += validate_nonnegative(_int(status.get(field)), path.child(field))
    return errs


# What a write to <resource>/status is checked against, by kind (the status strategies'
# ValidateUpdate); kinds not listed here get no status validation in kubelearn.
_STATUS_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], list[FieldError]]] = {
    "PodDisruptionBudget": validate_pod_disruption_budget_status,
}


def validate_status_update(obj: Mapping[str, Any]) -> list[FieldError]:
    """The field errors of a status write of ``obj`` (none for a kind without a rule here)."""
    validator = _STATUS_VALIDATORS.get(_str(obj.get("kind")))
    return validator(obj) if validator is not None else []


_VALIDATORS: dict[str, Callable[[Mapping[str, Any]], list[FieldError]]] = {
    "Pod": validate_pod, "Node": validate_node, "Namespace": validate_namespace,
    "Service": validate_service, "ConfigMap": validate_configmap, "Secret": validate_secret,
    "Deployment": validate_deployment, "ReplicaSet": validate_replicaset,
    "Lease": validate_lease, "Event": validate_event, "Endpoints": validate_endpoints,
    "EndpointSlice": validate_endpointslice,
    "PersistentVolumeClaim": validate_persistent_volume_claim,
    "PriorityClass": validate_priority_class,
    "PodDisruptionBudget": validate_pod_disruption_budget,
}


def validate_errors(obj: Mapping[str, Any]) -> list[FieldError]:
    """Every field error of ``obj`` (assumed to have passed the decode check)."""
    kind = _str(obj.get("kind"))
    if kind in _VALIDATORS and not (kind == "Event" and obj.get("apiVersion") != "v1"):
        return _VALIDATORS[kind](obj)
    return validate_object_meta(obj, NAME_RULES.get(kind, name_is_dns_subdomain),
                                is_namespaced(kind))


def validate(obj: Mapping[str, Any]) -> None:
    """Check ``obj`` as the API server does on create; raise a StatusError if it would refuse it.

    BadRequest if it is not an object of a known version or a field has the wrong
    type; Invalid, with every field error, if it breaks a validation rule.
    """
    if not isinstance(obj, Mapping):
        raise BadRequest(f"json: cannot unmarshal {json_kind(obj)} into Go value of type "
                         "map[string]interface {}")
    obj = jsonable(obj)  # what the API server would receive: JSON
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if not isinstance(kind, str) or not kind:
        raise BadRequest(f"Object 'Kind' is missing in '{go_json(obj)}'")
    if not isinstance(api_version, str) or not api_version:
        raise BadRequest(f"Object 'apiVersion' is missing in '{go_json(obj)}'")
    info = kind_info(kind)
    if info and api_version not in (info.api_version, *EXTRA_API_VERSIONS.get(kind, ())):
        # meta.NoKindMatchError, as kubectl reports a kind/version the server does not serve
        raise BadRequest(f"no matches for kind {go_quote(kind)} in version {go_quote(api_version)}")
    check_types(obj)
    errs = validate_errors(obj)
    if errs:
        name = _str(_map(obj.get("metadata")).get("name"))
        raise Invalid(kind, name, errs, info.group if info else "")
