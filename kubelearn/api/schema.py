"""The Go types behind each kind's fields, and the error a value of the wrong type gets.

The API server decodes a request body into Go structs before it validates
anything, and a value of the wrong type stops it there with a 400::

    Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal
    string into Go struct field PodSpec.spec.containers of type []v1.Container

This module describes the fields a learner meets -- ObjectMeta and the kinds
kubelearn serves -- as Go types (:class:`Scalar`, :class:`Struct`, :class:`ListOf`,
:class:`MapOf` and the custom-decoded Quantity, IntOrString, Time and MicroTime),
and :func:`check_types` replays that decode step with the same words
(encoding/json UnmarshalTypeError; the apiserver's transformDecodeError).
Fields it does not describe are ignored, as with ``fieldValidation=Ignore``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from kubelearn.api.errors import BadRequest, go_float, go_json, go_quote
from kubelearn.api.quantity import Quantity, QuantityError, parse_quantity


class Scalar:
    """A Go string, bool or integer type, e.g. ``int32`` or ``v1.RestartPolicy``."""

    def __init__(self, name: str, kind: str, bits: int = 0) -> None:
        self.name, self.kind, self.bits = name, kind, bits


class Struct:
    """A Go struct: JSON field names and their types."""

    def __init__(self, name: str, fields: Mapping[str, Any]) -> None:
        self.name, self.fields = name, dict(fields)
        self.short = name.rpartition(".")[2]  # what encoding/json calls the struct
        # The string-typed fields, which the quick check (_decodes) tests without a call.
        self.strings = frozenset(k for k, t in self.fields.items()
                                 if isinstance(t, Scalar) and t.kind == "string")

    def extend(self, name: str, **fields: Any) -> Struct:
        """A struct with this one's fields and more."""
        return Struct(name, {**self.fields, **fields})


class ListOf:
    """A Go slice."""

    def __init__(self, item: Any, name: str = "") -> None:
        self.item, self.name = item, name or "[]" + item.name


class MapOf:
    """A Go map from strings."""

    def __init__(self, value: Any, name: str = "") -> None:
        self.value, self.name = value, name or "map[string]" + value.name


class Custom:
    """A type that decodes itself (UnmarshalJSON): Quantity, IntOrString, Time, MicroTime."""

    def __init__(self, name: str) -> None:
        self.name = name


STRING = Scalar("string", "string")
BOOL = Scalar("bool", "bool")
INT32 = Scalar("int32", "int", 32)
INT64 = Scalar("int64", "int", 64)
QUANTITY = Custom("resource.Quantity")
INT_OR_STRING = Custom("intstr.IntOrString")
TIME = Custom("v1.Time")
MICRO_TIME = Custom("v1.MicroTime")
STRINGS = ListOf(STRING)
STRING_MAP = MapOf(STRING)
RESOURCE_LIST = MapOf(QUANTITY, "v1.ResourceList")


def named(name: str) -> Scalar:
    """A named string type such as ``v1.PullPolicy``."""
    return Scalar(name, "string")


# -- ObjectMeta and friends (k8s.io/apimachinery/pkg/apis/meta/v1/types.go) --------

OWNER_REFERENCE = Struct("v1.OwnerReference", {
    "apiVersion": STRING, "kind": STRING, "name": STRING, "uid": named("types.UID"),
    "controller": BOOL, "blockOwnerDeletion": BOOL})
OBJECT_META = Struct("v1.ObjectMeta", {
    "name": STRING, "generateName": STRING, "namespace": STRING, "selfLink": STRING,
    "uid": named("types.UID"), "resourceVersion": STRING, "generation": INT64,
    "creationTimestamp": TIME, "deletionTimestamp": TIME, "deletionGracePeriodSeconds": INT64,
    "labels": STRING_MAP, "annotations": STRING_MAP,
    "ownerReferences": ListOf(OWNER_REFERENCE), "finalizers": STRINGS})
LABEL_SELECTOR_REQUIREMENT = Struct("v1.LabelSelectorRequirement", {
    "key": STRING, "operator": named("v1.LabelSelectorOperator"), "values": STRINGS})
LABEL_SELECTOR = Struct("v1.LabelSelector", {
    "matchLabels": STRING_MAP, "matchExpressions": ListOf(LABEL_SELECTOR_REQUIREMENT)})
OBJECT_REFERENCE = Struct("v1.ObjectReference", {
    "kind": STRING, "namespace": STRING, "name": STRING, "uid": named("types.UID"),
    "apiVersion": STRING, "resourceVersion": STRING, "fieldPath": STRING})

# -- core/v1 (k8s.io/api/core/v1/types.go) ---------------------------------------

RESOURCE_REQUIREMENTS = Struct("v1.ResourceRequirements", {
    "limits": RESOURCE_LIST, "requests": RESOURCE_LIST})
CONTAINER_PORT = Struct("v1.ContainerPort", {
    "name": STRING, "hostPort": INT32, "containerPort": INT32,
    "protocol": named("v1.Protocol"), "hostIP": STRING})
ENV_VAR = Struct("v1.EnvVar", {"name": STRING, "value": STRING})
PROBE = Struct("v1.Probe", {
    "exec": Struct("v1.ExecAction", {"command": STRINGS}),
    "httpGet": Struct("v1.HTTPGetAction", {"path": STRING, "port": INT_OR_STRING,
                                           "host": STRING, "scheme": named("v1.URIScheme")}),
    "tcpSocket": Struct("v1.TCPSocketAction", {"port": INT_OR_STRING, "host": STRING}),
    "initialDelaySeconds": INT32, "timeoutSeconds": INT32, "periodSeconds": INT32,
    "successThreshold": INT32, "failureThreshold": INT32,
    "terminationGracePeriodSeconds": INT64})
VOLUME_MOUNT = Struct("v1.VolumeMount", {"name": STRING, "readOnly": BOOL, "mountPath": STRING,
                                         "subPath": STRING})
CONTAINER = Struct("v1.Container", {
    "name": STRING, "image": STRING, "command": STRINGS, "args": STRINGS, "workingDir": STRING,
    "ports": ListOf(CONTAINER_PORT), "env": ListOf(ENV_VAR), "resources": RESOURCE_REQUIREMENTS,
    "restartPolicy": named("v1.ContainerRestartPolicy"), "volumeMounts": ListOf(VOLUME_MOUNT),
    "livenessProbe": PROBE, "readinessProbe": PROBE, "startupProbe": PROBE,
    "terminationMessagePath": STRING,
    "terminationMessagePolicy": named("v1.TerminationMessagePolicy"),
    "imagePullPolicy": named("v1.PullPolicy"), "stdin": BOOL, "stdinOnce": BOOL, "tty": BOOL})
TOLERATION = Struct("v1.Toleration", {
    "key": STRING, "operator": named("v1.TolerationOperator"), "value": STRING,
    "effect": named("v1.TaintEffect"), "tolerationSeconds": INT64})
TAINT = Struct("v1.Taint", {"key": STRING, "value": STRING, "effect": named("v1.TaintEffect"),
                            "timeAdded": TIME})
VOLUME = Struct("v1.Volume", {"name": STRING})
POD_SPEC = Struct("v1.PodSpec", {
    "volumes": ListOf(VOLUME), "initContainers": ListOf(CONTAINER),
    "containers": ListOf(CONTAINER), "restartPolicy": named("v1.RestartPolicy"),
    "terminationGracePeriodSeconds": INT64, "activeDeadlineSeconds": INT64,
    "dnsPolicy": named("v1.DNSPolicy"), "nodeSelector": STRING_MAP,
    "serviceAccountName": STRING, "serviceAccount": STRING,
    "automountServiceAccountToken": BOOL, "nodeName": STRING, "hostNetwork": BOOL,
    "hostPID": BOOL, "hostIPC": BOOL, "hostname": STRING, "subdomain": STRING,
    "schedulerName": STRING, "tolerations": ListOf(TOLERATION), "priorityClassName": STRING,
    "priority": INT32, "runtimeClassName": STRING, "overhead": RESOURCE_LIST,
    "resources": RESOURCE_REQUIREMENTS})
CONDITION_FIELDS = {"type": STRING, "status": named("v1.ConditionStatus"),
                    "lastProbeTime": TIME, "lastTransitionTime": TIME, "reason": STRING,
                    "message": STRING}
CONTAINER_STATUS = Struct("v1.ContainerStatus", {
    "name": STRING, "ready": BOOL, "restartCount": INT32, "image": STRING, "imageID": STRING,
    "containerID": STRING, "started": BOOL})
POD_STATUS = Struct("v1.PodStatus", {
    "phase": named("v1.PodPhase"), "conditions": ListOf(Struct("v1.PodCondition",
                                                               CONDITION_FIELDS)),
    "message": STRING, "reason": STRING, "nominatedNodeName": STRING, "hostIP": STRING,
    "podIP": STRING, "podIPs": ListOf(Struct("v1.PodIP", {"ip": STRING})), "startTime": TIME,
    "initContainerStatuses": ListOf(CONTAINER_STATUS),
    "containerStatuses": ListOf(CONTAINER_STATUS), "qosClass": named("v1.PodQOSClass")})
POD_TEMPLATE_SPEC = Struct("v1.PodTemplateSpec", {"metadata": OBJECT_META, "spec": POD_SPEC})

NODE_SPEC = Struct("v1.NodeSpec", {
    "podCIDR": STRING, "podCIDRs": STRINGS, "providerID": STRING, "unschedulable": BOOL,
    "taints": ListOf(TAINT)})
NODE_STATUS = Struct("v1.NodeStatus", {
    "capacity": RESOURCE_LIST, "allocatable": RESOURCE_LIST, "phase": named("v1.NodePhase"),
    "conditions": ListOf(Struct("v1.NodeCondition", {
        **CONDITION_FIELDS, "lastHeartbeatTime": TIME})),
    "addresses": ListOf(Struct("v1.NodeAddress", {"type": named("v1.NodeAddressType"),
                                                  "address": STRING})),
    "nodeInfo": Struct("v1.NodeSystemInfo", {k: STRING for k in (
        "machineID", "systemUUID", "bootID", "kernelVersion", "osImage",
        "containerRuntimeVersion", "kubeletVersion", "kubeProxyVersion", "operatingSystem",
        "architecture")}),
    "images": ListOf(Struct("v1.ContainerImage", {"names": STRINGS, "sizeBytes": INT64}))})

SERVICE_PORT = Struct("v1.ServicePort", {
    "name": STRING, "protocol": named("v1.Protocol"), "appProtocol": STRING, "port": INT32,
    "targetPort": INT_OR_STRING, "nodePort": INT32})
SERVICE_SPEC = Struct("v1.ServiceSpec", {
    "ports": ListOf(SERVICE_PORT), "selector": STRING_MAP, "clusterIP": STRING,
    "clusterIPs": STRINGS, "type": named("v1.ServiceType"), "externalIPs": STRINGS,
    "sessionAffinity": named("v1.ServiceAffinity"), "externalName": STRING,
    "publishNotReadyAddresses": BOOL})

ENDPOINT_ADDRESS = Struct("v1.EndpointAddress", {
    "ip": STRING, "hostname": STRING, "nodeName": STRING, "targetRef": OBJECT_REFERENCE})
ENDPOINT_SUBSET = Struct("v1.EndpointSubset", {
    "addresses": ListOf(ENDPOINT_ADDRESS), "notReadyAddresses": ListOf(ENDPOINT_ADDRESS),
    "ports": ListOf(Struct("v1.EndpointPort", {"name": STRING, "port": INT32,
                                               "protocol": named("v1.Protocol"),
                                               "appProtocol": STRING}))})

# -- apps/v1, coordination.k8s.io/v1 ----------------------------------------------

DEPLOYMENT_SPEC = Struct("v1.DeploymentSpec", {
    "replicas": INT32, "selector": LABEL_SELECTOR, "template": POD_TEMPLATE_SPEC,
    "strategy": Struct("v1.DeploymentStrategy", {
        "type": named("v1.DeploymentStrategyType"),
        "rollingUpdate": Struct("v1.RollingUpdateDeployment", {
            "maxUnavailable": INT_OR_STRING, "maxSurge": INT_OR_STRING})}),
    "minReadySeconds": INT32, "revisionHistoryLimit": INT32, "paused": BOOL,
    "progressDeadlineSeconds": INT32})
WORKLOAD_STATUS_FIELDS = {
    "observedGeneration": INT64, "replicas": INT32, "updatedReplicas": INT32,
    "readyReplicas": INT32, "availableReplicas": INT32, "unavailableReplicas": INT32,
    "fullyLabeledReplicas": INT32, "collisionCount": INT32}
REPLICA_SET_SPEC = Struct("v1.ReplicaSetSpec", {
    "replicas": INT32, "minReadySeconds": INT32, "selector": LABEL_SELECTOR,
    "template": POD_TEMPLATE_SPEC})
LEASE_SPEC = Struct("v1.LeaseSpec", {
    "holderIdentity": STRING, "leaseDurationSeconds": INT32, "acquireTime": MICRO_TIME,
    "renewTime": MICRO_TIME, "leaseTransitions": INT32,
    "strategy": named("v1.CoordinatedLeaseStrategy"), "preferredHolder": STRING})

_TOP = Struct("", {"apiVersion": STRING, "kind": STRING, "metadata": OBJECT_META})

KIND_TYPES: dict[str, Struct] = {
    "Pod": _TOP.extend("v1.Pod", spec=POD_SPEC, status=POD_STATUS),
    "Node": _TOP.extend("v1.Node", spec=NODE_SPEC, status=NODE_STATUS),
    "Namespace": _TOP.extend("v1.Namespace",
                             spec=Struct("v1.NamespaceSpec", {"finalizers": STRINGS}),
                             status=Struct("v1.NamespaceStatus",
                                           {"phase": named("v1.NamespacePhase")})),
    "Service": _TOP.extend("v1.Service", spec=SERVICE_SPEC),
    "ConfigMap": _TOP.extend("v1.ConfigMap", data=STRING_MAP, binaryData=STRING_MAP,
                             immutable=BOOL),
    "Secret": _TOP.extend("v1.Secret", data=STRING_MAP, stringData=STRING_MAP,
                          type=named("v1.SecretType"), immutable=BOOL),
    "Endpoints": _TOP.extend("v1.Endpoints", subsets=ListOf(ENDPOINT_SUBSET)),
    "Event": _TOP.extend(
        "v1.Event", involvedObject=OBJECT_REFERENCE, reason=STRING, message=STRING,
        source=Struct("v1.EventSource", {"component": STRING, "host": STRING}),
        firstTimestamp=TIME, lastTimestamp=TIME, count=INT32, type=STRING,
        eventTime=MICRO_TIME, action=STRING, related=OBJECT_REFERENCE,
        reportingComponent=STRING, reportingInstance=STRING),
    "Deployment": _TOP.extend(
        "v1.Deployment", spec=DEPLOYMENT_SPEC,
        status=Struct("v1.DeploymentStatus", {
            **WORKLOAD_STATUS_FIELDS,
            "conditions": ListOf(Struct("v1.DeploymentCondition",
                                        {**CONDITION_FIELDS, "lastUpdateTime": TIME}))})),
    "ReplicaSet": _TOP.extend(
        "v1.ReplicaSet", spec=REPLICA_SET_SPEC,
        status=Struct("v1.ReplicaSetStatus", {
            **WORKLOAD_STATUS_FIELDS,
            "conditions": ListOf(Struct("v1.ReplicaSetCondition", CONDITION_FIELDS))})),
    "Lease": _TOP.extend("v1.Lease", spec=LEASE_SPEC),
    "Binding": _TOP.extend("v1.Binding", target=OBJECT_REFERENCE),
}


# -- the decoder ------------------------------------------------------------------


class _Fatal(Exception):
    """An error that stops decoding at once (one returned by an UnmarshalJSON)."""


def json_kind(value: Any) -> str:
    """The word encoding/json uses for a JSON value's type."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _int_problem(value: Any, bits: int) -> str | None:
    """Why ``value`` does not decode into a Go int of ``bits`` bits, as encoding/json says it."""
    limit = 2 ** (bits - 1)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return json_kind(value)
    if isinstance(value, float):
        # YAML 3.0 reaches the server as JSON 3 (sigs.k8s.io/yaml), so whole floats pass.
        if not value.is_integer() or not -limit <= value < limit:
            return "number " + go_float(value, json_style=True)
        return None
    return None if -limit <= value < limit else f"number {value}"


class _Decoder:
    """Walks a value against a Go type, keeping the first type error as encoding/json does."""

    def __init__(self) -> None:
        self.saved: str | None = None

    @staticmethod
    def message(kind: str, go_type: str, struct: str, stack: tuple[str, ...]) -> str:
        """encoding/json UnmarshalTypeError.Error()."""
        if struct or stack:
            return (f"json: cannot unmarshal {kind} into Go struct field "
                    f"{struct}.{'.'.join(stack)} of type {go_type}")
        return f"json: cannot unmarshal {kind} into Go value of type {go_type}"

    def mismatch(self, kind: str, go_type: str, struct: str, stack: tuple[str, ...]) -> None:
        if self.saved is None:
            self.saved = self.message(kind, go_type, struct, stack)

    def walk(self, value: Any, typ: Any, struct: str, stack: tuple[str, ...]) -> None:
        if value is None:  # JSON null leaves the zero value, never an error
            return
        if isinstance(typ, Scalar):
            if typ.kind == "int":
                problem = _int_problem(value, typ.bits)
            elif typ.kind == "bool":
                problem = None if isinstance(value, bool) else json_kind(value)
            else:
                problem = None if isinstance(value, str) else json_kind(value)
            if problem:
                self.mismatch(problem, typ.name, struct, stack)
        elif isinstance(typ, Struct):
            if not isinstance(value, Mapping):
                self.mismatch(json_kind(value), typ.name, struct, stack)
                return
            for key in sorted(value, key=str):  # kubectl's JSON has its keys sorted
                if key in typ.fields:
                    self.walk(value[key], typ.fields[key], typ.short, (*stack, key))
        elif isinstance(typ, ListOf):
            if not isinstance(value, (list, tuple)):
                self.mismatch(json_kind(value), typ.name, struct, stack)
                return
            for item in value:
                self.walk(item, typ.item, struct, stack)
        elif isinstance(typ, MapOf):
            if not isinstance(value, Mapping):
                self.mismatch(json_kind(value), typ.name, struct, stack)
                return
            for key in sorted(value, key=str):
                self.walk(value[key], typ.value, struct, stack)
        else:
            self.custom(value, typ, struct, stack)

    def custom(self, value: Any, typ: Custom, struct: str, stack: tuple[str, ...]) -> None:
        if typ is QUANTITY:  # Quantity.UnmarshalJSON: the JSON text, quotes and spaces off
            if isinstance(value, Quantity):
                return
            text = value.strip() if isinstance(value, str) else go_json(value)
            try:
                parse_quantity(text)
            except QuantityError as err:
                raise _Fatal(str(err)) from None
        elif typ is INT_OR_STRING:  # IntOrString.UnmarshalJSON: a string, else an int32
            if not isinstance(value, str):
                problem = _int_problem(value, 32)
                if problem:
                    raise _Fatal(self.message(problem, "int32", struct, stack))
        else:  # metav1.Time / MicroTime.UnmarshalJSON: a string in RFC 3339
            if not isinstance(value, str):
                raise _Fatal(self.message(json_kind(value), "string", struct, stack))
            problem = time_parse_error(value, micro=typ is MICRO_TIME)
            if problem:
                raise _Fatal(problem)


def _decodes(value: Any, typ: Any) -> bool:
    """True if ``value`` decodes into ``typ`` with no error at all.

    The quick pass for the everyday body: no key sorting, no field paths, no
    message. Any doubt returns False, and the _Decoder walk then finds the error
    encoding/json would report first.
    """
    if value is None:
        return True
    if isinstance(typ, Struct):
        if not isinstance(value, dict):  # a dict is a quick check; other Mappings take the walk
            return False
        fields, strings = typ.fields, typ.strings
        for key, item in value.items():
            if item.__class__ is str and key in strings:
                continue  # the commonest case, checked here rather than in a call
            field = fields.get(key) if isinstance(key, str) else None
            if field is not None and not _decodes(item, field):
                return False
        return True
    if isinstance(typ, Scalar):
        if typ.kind == "int":
            return _int_problem(value, typ.bits) is None
        return isinstance(value, bool if typ.kind == "bool" else str)
    if isinstance(typ, ListOf):
        if not isinstance(value, (list, tuple)):
            return False
        item_type = typ.item
        for item in value:
            if not _decodes(item, item_type):
                return False
        return True
    if isinstance(typ, MapOf):
        if not isinstance(value, dict):
            return False
        value_type = typ.value
        for item in value.values():
            if not _decodes(item, value_type):
                return False
        return True
    if typ is TIME or typ is MICRO_TIME:
        return value.__class__ is str and _time_ok(value, typ is MICRO_TIME)
    if typ is QUANTITY and value.__class__ is str:
        return _quantity_ok(value)
    try:
        _Decoder().custom(value, typ, "", ())
    except _Fatal:
        return False
    return True


# The same few instants and quantities fill thousands of objects: remember the verdicts.
@functools.lru_cache(maxsize=4096)
def _time_ok(value: str, micro: bool) -> bool:
    """True if ``value`` parses as metav1.Time (or MicroTime)."""
    return time_parse_error(value, micro=micro) is None


@functools.lru_cache(maxsize=4096)
def _quantity_ok(value: str) -> bool:
    """True if ``value`` (a JSON string) decodes as a resource.Quantity."""
    try:
        parse_quantity(value.strip())
    except QuantityError:
        return False
    return True


def check_value(value: Any, typ: Any) -> None:
    """Raise BadRequest if ``value`` would not decode into Go type ``typ``."""
    if _decodes(value, typ):  # nearly every body: skip the ordered walk that words errors
        return
    decoder = _Decoder()
    try:
        decoder.walk(value, typ, "", ())
    except _Fatal as err:
        raise BadRequest(str(err)) from None
    if decoder.saved:
        raise BadRequest(decoder.saved)


def check_types(obj: Mapping[str, Any], stored: Mapping[str, Any] | None = None) -> None:
    """Raise BadRequest, worded as the API server's decoder, if a known field has the wrong type.

    ``stored``: the object an update replaces. Its top-level fields passed this
    check when they were written, so the ones ``obj`` leaves as they were (a
    status update's spec, a lease renewal's metadata) are not walked again --
    they cannot hold the first error.
    """
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else ""
    typ = KIND_TYPES.get(kind) or _TOP.extend(kind)
    if stored is not None:
        obj = {k: v for k, v in obj.items() if k not in stored or stored[k] != v}
    try:
        check_value(obj, typ)
    except BadRequest as err:
        version = go_quote(api_version.rpartition("/")[2])
        raise BadRequest(f"{kind} in version {version} cannot be handled as a {kind}: {err}") \
            from None


# -- time.Parse(time.RFC3339 / metav1.RFC3339Micro, ...) ------------------------------

RFC3339 = "2006-01-02T15:04:05Z07:00"
RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00"


def _time_quote(s: str) -> str:
    """The time package's quote(): non-ASCII and control bytes as \\xNN."""
    out = ['"']
    for ch in s:
        if ord(ch) >= 0x80 or ord(ch) < 0x20:
            out.extend(f"\\x{b:02x}" for b in ch.encode("utf-8", "surrogatepass"))
        else:
            out.append("\\" + ch if ch in '"\\' else ch)
    out.append('"')
    return "".join(out)


def _num(value: str, fixed: bool) -> tuple[int, str] | None:
    """time.getnum: one or (if ``fixed``, exactly) two leading digits."""
    if not value[:1].isascii() or not value[:1].isdigit():
        return None
    if len(value) < 2 or not value[1].isascii() or not value[1].isdigit():
        return None if fixed else (int(value[0]), value[1:])
    return int(value[:2]), value[2:]


def _days_in(month: int, year: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


# What the API server itself writes: UTC, whole seconds or a fraction (MicroTime: six digits).
_PLAIN_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
                         r"(\.[0-9]+)?Z")


def _plainly_valid(value: str, micro: bool) -> bool:
    """A quick yes for the everyday timestamp; False sends it through the full parse below."""
    match = _PLAIN_TIME.fullmatch(value)
    if match is None or (micro and len(match[7] or "") != 7):
        return False
    year, month, day, hour, minute, second = map(int, match.groups()[:6])
    return 1 <= month <= 12 and 1 <= day <= _days_in(month, year) and hour < 24 \
        and minute < 60 and second < 60


def time_parse_error(value: str, micro: bool = False) -> str | None:
    """What time.Parse says of ``value`` against RFC 3339 (or RFC3339Micro); None if it parses."""
    if _plainly_valid(value, micro):
        return None
    layout = RFC3339_MICRO if micro else RFC3339
    head = f"parsing time {_time_quote(value)}"

    def cannot(rest: str, elem: str) -> str:
        return (f"{head} as {_time_quote(layout)}: "
                f"cannot parse {_time_quote(rest)} as {_time_quote(elem)}")

    rest = value
    year_text = rest[:4]  # stdLongYear: four characters through atoi
    digits = year_text[1:] if year_text[:1] in "+-" else year_text
    if len(rest) < 4 or not (digits == "" or (digits.isascii() and digits.isdigit())):
        return cannot(rest, "2006")
    year, rest = int(year_text) if digits else 0, rest[4:]
    fields: dict[str, int] = {}
    for literal, elem, fixed, what in (("-", "01", True, "month"), ("-", "02", True, ""),
                                       ("T", "15", False, "hour"), (":", "04", True, "minute"),
                                       (":", "05", True, "second")):
        if not rest.startswith(literal):
            return cannot(rest, literal)
        rest = rest[1:]
        got = _num(rest, fixed)
        if got is None:
            return cannot(rest, elem)
        number, rest = got
        out_of_range = {"month": not 1 <= number <= 12, "hour": number >= 24,
                        "minute": number >= 60, "second": number >= 60}.get(what, False)
        if out_of_range:
            return f"{head}: {what} out of range"
        fields[elem] = number
    if micro:  # stdFracSecond0: exactly ".dddddd"
        frac = rest[1:7]
        if len(rest) < 7 or rest[0] not in ".," or not (frac.isascii() and frac.isdigit()):
            return cannot(rest, ".000000")
        rest = rest[7:]
    elif len(rest) >= 2 and rest[0] in ".," and rest[1].isascii() and rest[1].isdigit():
        n = 2
        while n < len(rest) and rest[n].isascii() and rest[n].isdigit():
            n += 1
        rest = rest[n:]
    if rest.startswith("Z"):  # stdISO8601ColonTZ
        rest = rest[1:]
    else:
        hour, minute = _num(rest[1:3], True), _num(rest[4:6], True)
        if len(rest) < 6 or rest[3] != ":" or hour is None or minute is None:
            return cannot(rest, "Z07:00")
        if hour[0] > 24 or minute[0] > 60:
            what = "minute" if minute[0] > 60 else "hour"
            return f"{head}: time zone offset {what} out of range"
        if rest[0] not in "+-":
            return cannot(rest, "Z07:00")
        rest = rest[6:]
    if rest:
        return f"{head}: extra text: {_time_quote(rest)}"
    if not 1 <= fields["02"] <= _days_in(fields["01"], year):
        return f"{head}: day out of range"
    return None
