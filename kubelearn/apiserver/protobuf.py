"""Kubernetes' protobuf encoding, read for the request bodies kubectl sends that way.

Most of kubectl speaks JSON, but its typed clients send
``application/vnd.kubernetes.protobuf``: ``kubectl auth can-i`` POSTs a
SelfSubjectAccessReview so, and so does every ``kubectl create <kind>``
generator (namespace, deployment, configmap, secret, serviceaccount,
service, role, rolebinding, priorityclass, poddisruptionbudget...). client-go does not
fall back to JSON on a 415, so this module reads such a body into the dict its JSON form would give;
answers are still JSON (kubectl's Accept lists ``application/json`` after
protobuf).

The wire format (k8s.io/apimachinery/pkg/runtime/serializer/protobuf): the
magic ``k8s\\0``, then a ``runtime.Unknown`` message holding the TypeMeta
(apiVersion, kind) and the object's own message in ``raw``. Messages are read
with the field numbers of upstream's generated.proto files (:data:`MESSAGES`,
checked against the descriptors compiled into kubectl v1.32), for the fields
those generators fill in; other fields are skipped, as proto2 skips unknown
ones. Go's protobuf code writes every non-pointer field, zero or not, so zero
values are dropped as JSON's ``omitempty`` would, except for pointer fields
(type ending in ``!``: ``replicas: 0`` means zero). A kind not listed is a 415.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from kubelearn.api import BadRequest, UnsupportedMediaType

MEDIA_TYPE = "application/vnd.kubernetes.protobuf"
MAGIC = b"k8s\x00"

# {field number: (JSON name, type)}. Types: "string", "bool", "int" (varint,
# int32 or int64), "bytes", "map" (map<string,string>), "b64map" (map<string,bytes>,
# base64 in JSON), "quantities" (map<string,Quantity>), "intorstr" (IntOrString),
# a message name, or [type] for a repeated field; "!" marks a Go pointer field.
_META = (1, ("metadata", "ObjectMeta"))
_STRINGS = ["string"]
MESSAGES: dict[str, dict[int, tuple[str, Any]]] = {
    # k8s.io/apimachinery: runtime, meta/v1
    "Unknown": {1: ("typeMeta", "TypeMeta"), 2: ("raw", "bytes"),
                3: ("contentEncoding", "string"), 4: ("contentType", "string")},
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {1: ("name", "string"), 2: ("generateName", "string"),
                   3: ("namespace", "string"), 11: ("labels", "map"),
                   12: ("annotations", "map"), 14: ("finalizers", _STRINGS)},
    "LabelSelector": {1: ("matchLabels", "map"),
                      2: ("matchExpressions", ["LabelSelectorRequirement"])},
    "LabelSelectorRequirement": {1: ("key", "string"), 2: ("operator", "string"),
                                 3: ("values", _STRINGS)},
    # k8s.io/api/core/v1
    "Namespace": dict([_META, (2, ("spec", "NamespaceSpec"))]),
    "NamespaceSpec": {1: ("finalizers", _STRINGS)},
    "ConfigMap": dict([_META, (2, ("data", "map")), (3, ("binaryData", "b64map")),
                       (4, ("immutable", "bool!"))]),
    "Secret": dict([_META, (2, ("data", "b64map")), (3, ("type", "string")),
                    (4, ("stringData", "map")), (5, ("immutable", "bool!"))]),
    "ServiceAccount": dict([_META, (3, ("imagePullSecrets", ["LocalObjectReference"])),
                            (4, ("automountServiceAccountToken", "bool!"))]),
    "LocalObjectReference": {1: ("name", "string")},
    "Service": dict([_META, (2, ("spec", "ServiceSpec"))]),
    "ServiceSpec": {1: ("ports", ["ServicePort"]), 2: ("selector", "map"),
                    3: ("clusterIP", "string"), 4: ("type", "string"),
                    5: ("externalIPs", _STRINGS), 7: ("sessionAffinity", "string"),
                    10: ("externalName", "string"), 11: ("externalTrafficPolicy", "string"),
                    13: ("publishNotReadyAddresses", "bool"), 17: ("ipFamilyPolicy", "string!"),
                    18: ("clusterIPs", _STRINGS), 19: ("ipFamilies", _STRINGS),
                    22: ("internalTrafficPolicy", "string!")},
    "ServicePort": {1: ("name", "string"), 2: ("protocol", "string"), 3: ("port", "int"),
                    4: ("targetPort", "intorstr"), 5: ("nodePort", "int"),
                    6: ("appProtocol", "string!")},
    "Pod": dict([_META, (2, ("spec", "PodSpec"))]),
    "PodTemplateSpec": dict([_META, (2, ("spec", "PodSpec"))]),
    "PodSpec": {2: ("containers", ["Container"]), 20: ("initContainers", ["Container"]),
                3: ("restartPolicy", "string"), 4: ("terminationGracePeriodSeconds", "int!"),
                5: ("activeDeadlineSeconds", "int!"), 6: ("dnsPolicy", "string"),
                7: ("nodeSelector", "map"), 8: ("serviceAccountName", "string"),
                10: ("nodeName", "string"), 11: ("hostNetwork", "bool"),
                19: ("schedulerName", "string"), 24: ("priorityClassName", "string")},
    "Container": {1: ("name", "string"), 2: ("image", "string"), 3: ("command", _STRINGS),
                  4: ("args", _STRINGS), 5: ("workingDir", "string"),
                  6: ("ports", ["ContainerPort"]), 7: ("env", ["EnvVar"]),
                  8: ("resources", "ResourceRequirements"), 14: ("imagePullPolicy", "string"),
                  16: ("stdin", "bool"), 18: ("tty", "bool")},
    "ContainerPort": {1: ("name", "string"), 2: ("hostPort", "int"), 3: ("containerPort", "int"),
                      4: ("protocol", "string"), 5: ("hostIP", "string")},
    "EnvVar": {1: ("name", "string"), 2: ("value", "string")},
    "ResourceRequirements": {1: ("limits", "quantities"), 2: ("requests", "quantities")},
    # k8s.io/api/apps/v1
    "Deployment": dict([_META, (2, ("spec", "DeploymentSpec"))]),
    "DeploymentSpec": {1: ("replicas", "int!"), 2: ("selector", "LabelSelector"),
                       3: ("template", "PodTemplateSpec"), 4: ("strategy", "DeploymentStrategy"),
                       5: ("minReadySeconds", "int"), 6: ("revisionHistoryLimit", "int!"),
                       7: ("paused", "bool"), 9: ("progressDeadlineSeconds", "int!")},
    "DeploymentStrategy": {1: ("type", "string"),
                           2: ("rollingUpdate", "RollingUpdateDeployment")},
    "RollingUpdateDeployment": {1: ("maxUnavailable", "intorstr"), 2: ("maxSurge", "intorstr")},
    # k8s.io/api/rbac/v1
    "Role": dict([_META, (2, ("rules", ["PolicyRule"]))]),
    "ClusterRole": dict([_META, (2, ("rules", ["PolicyRule"])),
                         (3, ("aggregationRule", "AggregationRule"))]),
    "PolicyRule": {1: ("verbs", _STRINGS), 2: ("apiGroups", _STRINGS), 3: ("resources", _STRINGS),
                   4: ("resourceNames", _STRINGS), 5: ("nonResourceURLs", _STRINGS)},
    "AggregationRule": {1: ("clusterRoleSelectors", ["LabelSelector"])},
    "RoleBinding": dict([_META, (2, ("subjects", ["Subject"])), (3, ("roleRef", "RoleRef"))]),
    "ClusterRoleBinding": dict([_META, (2, ("subjects", ["Subject"])),
                                (3, ("roleRef", "RoleRef"))]),
    "Subject": {1: ("kind", "string"), 2: ("apiGroup", "string"), 3: ("name", "string"),
                4: ("namespace", "string")},
    "RoleRef": {1: ("apiGroup", "string"), 2: ("kind", "string"), 3: ("name", "string")},
    # k8s.io/api/scheduling/v1 (kubectl create priorityclass)
    "PriorityClass": dict([_META, (2, ("value", "int")), (3, ("globalDefault", "bool")),
                           (4, ("description", "string")), (5, ("preemptionPolicy", "string!"))]),
    # k8s.io/api/policy/v1 (kubectl create poddisruptionbudget)
    "PodDisruptionBudget": dict([_META, (2, ("spec", "PodDisruptionBudgetSpec"))]),
    "PodDisruptionBudgetSpec": {1: ("minAvailable", "intorstr"), 2: ("selector", "LabelSelector"),
                                3: ("maxUnavailable", "intorstr"),
                                4: ("unhealthyPodEvictionPolicy", "string!")},
    # k8s.io/api/authorization/v1
    "SelfSubjectAccessReview": dict([_META, (2, ("spec", "SelfSubjectAccessReviewSpec"))]),
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", "ResourceAttributes"),
                                    2: ("nonResourceAttributes", "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", "string"), 2: ("verb", "string"),
                           3: ("group", "string"), 4: ("version", "string"),
                           5: ("resource", "string"), 6: ("subresource", "string"),
                           7: ("name", "string")},
    "NonResourceAttributes": {1: ("path", "string"), 2: ("verb", "string")},
    # the helpers: a map entry, a Quantity, an IntOrString
    "MapEntry": {1: ("key", "string"), 2: ("value", "bytes")},
    "Quantity": {1: ("string", "string")},
    "IntOrString": {1: ("type", "int"), 2: ("intVal", "int"), 3: ("strVal", "string")},
}
# The kinds whose request bodies can be read.
READABLE_KINDS = ("Namespace", "ConfigMap", "Secret", "ServiceAccount", "Service", "Pod",
                  "Deployment", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                  "PriorityClass", "PodDisruptionBudget", "SelfSubjectAccessReview")


class ProtobufError(BadRequest):
    """A protobuf body that cannot be read."""

    def __init__(self, what: str) -> None:
        super().__init__(f"unable to decode protobuf body: {what}")


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise ProtobufError("truncated varint")
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, pos


def fields(data: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of each field of a message, in order."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + size], pos + size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise ProtobufError("truncated field")
            value, pos = data[pos:pos + width], pos + width
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield number, wire, value


def _text(value: Any) -> str:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited field")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtobufError("a string is not UTF-8") from None


def _int(value: Any) -> int:
    if not isinstance(value, int):
        raise ProtobufError("expected a varint")
    return value - (1 << 64) if value >= 1 << 63 else value  # negative: two's complement


def _value(value: Any, typ: str) -> Any:
    """One field's value as JSON has it."""
    if typ == "string":
        return _text(value)
    if typ == "bool":
        return bool(_int(value))
    if typ == "int":
        return _int(value)
    if typ == "bytes":
        if not isinstance(value, bytes):
            raise ProtobufError("expected bytes")
        return value
    if typ == "intorstr":
        parts = message(_bytes(value), "IntOrString")
        return parts.get("strVal", "") if parts.get("type") == 1 else parts.get("intVal", 0)
    return message(_bytes(value), typ)


def _bytes(value: Any) -> bytes:
    if not isinstance(value, bytes):
        raise ProtobufError("expected a length-delimited field")
    return value


def _empty(value: Any) -> bool:
    return value in ("", 0, False, None) or (isinstance(value, (dict, list)) and not value)


def message(data: bytes, name: str) -> dict[str, Any]:
    """Decode message ``name`` into a dict: unknown fields skipped, zero values dropped."""
    schema = MESSAGES[name]
    out: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number not in schema:
            continue
        key, typ = schema[number]
        if isinstance(typ, list):
            out.setdefault(key, []).append(_value(value, typ[0]))
        elif typ in ("map", "b64map", "quantities"):
            entry = message(_bytes(value), "MapEntry")
            raw = entry.get("value", b"")
            if typ == "b64map":
                item: Any = base64.b64encode(raw).decode()
            elif typ == "quantities":
                item = message(raw, "Quantity").get("string", "0")
            else:
                item = _text(raw)
            out.setdefault(key, {})[entry.get("key", "")] = item
        else:
            out[key] = _value(value, typ.rstrip("!"))
            if _empty(out[key]) and not typ.endswith("!"):
                del out[key]  # Go writes zero values; JSON's omitempty leaves them out
    return out


def decode(body: bytes) -> dict[str, Any]:
    """A protobuf request body as the dict its JSON form would give."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing the k8s protobuf prefix")
    unknown = message(body[len(MAGIC):], "Unknown")
    type_meta = unknown.get("typeMeta", {})
    kind = type_meta.get("kind", "")
    if kind not in READABLE_KINDS:
        raise UnsupportedMediaType(["application/json", "application/yaml"])
    obj = message(unknown.get("raw", b""), kind)
    return {"apiVersion": type_meta.get("apiVersion", ""), "kind": kind, **obj}
