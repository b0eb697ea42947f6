"""The Go types behind each kind's fields, and decoding a body into them as the API server does.

The API server decodes a request body into Go structs before it validates
anything (k8s.io/apimachinery runtime/serializer/json, sigs.k8s.io/json). That
step is the gate every object passes on its way to storage, and it shapes what
is stored:

- a value of the wrong type stops it with a 400 (encoding/json's words, the
  apiserver's transformDecodeError)::

    Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal
    string into Go struct field PodSpec.spec.containers of type []v1.Container

- a ``null`` leaves the Go zero value: the field is gone from the stored
  object, a ``null`` list item is the empty struct (``containers: [null]`` is
  ``[{}]``), a ``null`` map value the empty string; a ``null`` Time stays
  ``null``, as metav1.Time writes its zero value;
- a field the type does not have is dropped and reported by its path
  (``spec.containers[0].foo``), for ``fieldValidation`` to warn about or refuse;
- a lone UTF-16 surrogate in a string (``"\\ud800"``) becomes U+FFFD;
- nesting deeper than :data:`MAX_DEPTH` is refused;
- the object is kept as Go writes it back (:func:`zero_filled`): a field whose
  json tag has no ``omitempty``, and every non-pointer struct field (omitempty
  never drops a struct), is always there, with Go's zero value where the body
  leaves it out -- ``""``, ``0``, ``false``, ``null`` for a slice, map or
  pointer, a struct's own zero form (NodeSystemInfo's ``kubeProxyVersion:
  ""``, an EndpointSlice's ``endpoints: null``, a container's ``resources:
  {}``, a pod template's ``metadata: {creationTimestamp: null}``); an empty
  slice or map in an ``omitempty`` field is gone (``labels: {}``). The
  vendored document says which fields Go always writes, per definition, under
  ``x-kubelearn-go-written`` (read from the Go structs by
  ``tools/go_fields.py``); its ``required`` lists are upstream's (openapi-gen:
  neither ``omitempty`` nor ``+optional``), served to kubectl.

The types come from upstream's v1.32 OpenAPI document, vendored by
``tools/vendor_schema.py`` into ``schema-v1.32.json`` (every kind kubelearn
serves and everything they reach), as :class:`Scalar`, :class:`Struct`,
:class:`ListOf`, :class:`MapOf` and the custom-decoded :class:`Custom` types
(Quantity, IntOrString, Time, MicroTime, and the free-form FieldsV1). OpenAPI
does not name Go's string types, so :data:`NAMED_TYPES` lays the names a learner
meets over them (``of type v1.RestartPolicy``). :data:`KIND_TYPES` maps each
kind to its Struct; :func:`decode_object` decodes, :func:`check_types` only checks.
"""

from __future__ import annotations

import functools
import itertools
import json
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from typing import Any

from kubelearn.api.errors import BadRequest, go_float, go_json, go_quote
from kubelearn.api.quantity import Quantity, QuantityError, parse_quantity

# How deep a body may nest. Go's encoding/json and go-yaml stop at 10000
# (maxNestingDepth, "exceeded max depth"); Python's own recursion limit is 1000,
# and printing YAML takes about three frames a level, so kubelearn stops at 100:
# ten times the deepest real object (a Deployment's managedFields is about 15).
MAX_DEPTH = 100
# sigs.k8s.io/json saveStrictError: at most 100 strict errors are kept.
MAX_STRICT_ERRORS = 100
SCHEMA_FILE = "schema-v1.32.json"
# The vendored document's keys: see tools/vendor_schema.py.
WRITTEN = "x-kubelearn-go-written"
OMITTED_ZEROS = "x-kubelearn-go-omitted-zeros"


class Scalar:
    """A Go string, bool or integer type, e.g. ``int32`` or ``v1.RestartPolicy``.

    ``encoding`` "base64": a Go ``[]byte``, written in JSON as base64 text.
    """

    def __init__(self, name: str, kind: str, bits: int = 0, encoding: str = "") -> None:
        self.name, self.kind, self.bits, self.encoding = name, kind, bits, encoding


class Struct:
    """A Go struct: JSON field names and their types.

    ``definition``: its OpenAPI name (``io.k8s.api.core.v1.PodSpec``);
    ``extensions``: per field, its x-kubernetes list, map and patch markers;
    ``required``: upstream's OpenAPI ``required`` list (served, for kubectl explain);
    ``written``: the fields Go always writes -> what it writes for their zero value
    (``{}``: the field's struct's own zero form), in Go's field order;
    ``omitted_zeros``: the omitempty string, integer and bool fields (not pointers),
    which Go leaves out when ``""``, ``0`` or ``false``; every other field not
    written is an omitempty pointer, slice or map, left out when nil;
    ``fields`` are in Go's struct order (the order Go writes them in);
    ``open``: unknown fields are kept (a kind kubelearn has no type for).
    """

    def __init__(self, name: str, fields: Mapping[str, Any], *, definition: str = "",
                 extensions: Mapping[str, Mapping[str, Any]] | None = None,
                 required: tuple[str, ...] = (), written: Mapping[str, Any] | None = None,
                 omitted_zeros: Iterable[str] = (),
                 open: bool = False) -> None:  # noqa: A002 - Go's word for it
        self.name, self.definition, self.open = name, definition, open
        self.extensions = dict(extensions or {})
        self.required = required
        self.written = dict(written or {})
        self.omitted_zeros = frozenset(omitted_zeros)
        self.fills = True  # a value of this type may change as Go writes it (_mark_fills)
        self.zero_plan: _ZeroPlan | None = None  # made on first use
        self.short = name.rpartition(".")[2]  # what encoding/json calls the struct
        self.set_fields(fields)

    def set_fields(self, fields: Mapping[str, Any]) -> None:
        """Fill in the fields (after construction, for types that refer to each other)."""
        self.fields = dict(fields)
        # Each plain string, bool, int and Time field by a code, so that the quick check
        # (_decodes) tests the commonest values in its loop, without a call.
        self.codes = {k: _code(t) for k, t in self.fields.items()}

    def extend(self, name: str, **fields: Any) -> Struct:
        """A struct with this one's fields and more."""
        return Struct(name, {**self.fields, **fields}, open=self.open)


_STRING, _BOOL, _INT32, _INT64, _TIME, _QUANTITY, _CALL = range(7)


def _code(typ: Any) -> int:
    """How _decodes checks a value of ``typ`` in a loop: a code above, or _CALL (a call)."""
    if isinstance(typ, Scalar) and not typ.encoding:
        if typ.kind == "string":
            return _STRING
        if typ.kind == "bool":
            return _BOOL
        if typ.kind == "int":
            return _INT32 if typ.bits == 32 else _INT64
    if typ is TIME:
        return _TIME
    return _QUANTITY if typ is QUANTITY else _CALL


class ListOf:
    """A Go slice."""

    def __init__(self, item: Any, name: str = "") -> None:
        self.item, self.name = item, name or "[]" + item.name
        self.code = _code(item)  # for _decodes


class MapOf:
    """A Go map from strings."""

    def __init__(self, value: Any, name: str = "") -> None:
        self.value, self.name = value, name or "map[string]" + value.name
        self.code = _code(value)  # for _decodes


class Custom:
    """A type that decodes itself (UnmarshalJSON): Quantity, IntOrString, Time, MicroTime, and
    FieldsV1, which keeps any JSON as it came (``free``)."""

    def __init__(self, name: str, free: bool = False) -> None:
        self.name, self.free = name, free


STRING = Scalar("string", "string")
BOOL = Scalar("bool", "bool")
INT32 = Scalar("int32", "int", 32)
INT64 = Scalar("int64", "int", 64)
FLOAT64 = Scalar("float64", "float", 64)
BYTES = Scalar("[]uint8", "string", encoding="base64")  # reflect's name for []byte
QUANTITY = Custom("resource.Quantity")
INT_OR_STRING = Custom("intstr.IntOrString")
TIME = Custom("v1.Time")
MICRO_TIME = Custom("v1.MicroTime")
FIELDS_V1 = Custom("v1.FieldsV1", free=True)
STRINGS = ListOf(STRING)
STRING_MAP = MapOf(STRING)
RESOURCE_LIST = MapOf(QUANTITY, "v1.ResourceList")


def named(name: str) -> Scalar:
    """A named string type such as ``v1.PullPolicy``."""
    return Scalar(name, "string")


# The Go names of string fields' types (k8s.io/api/*/v1/types.go), which OpenAPI
# leaves out: the error for a wrong type names them ("of type v1.RestartPolicy").
NAMED_TYPES: dict[str, dict[str, str]] = {
    "v1.ObjectMeta": {"uid": "types.UID"},
    "v1.ObjectReference": {"uid": "types.UID"},
    "v1.OwnerReference": {"uid": "types.UID"},
    "v1.LabelSelectorRequirement": {"operator": "v1.LabelSelectorOperator"},
    "v1.Container": {"imagePullPolicy": "v1.PullPolicy",
                     "restartPolicy": "v1.ContainerRestartPolicy",
                     "terminationMessagePolicy": "v1.TerminationMessagePolicy"},
    "v1.ContainerPort": {"protocol": "v1.Protocol"},
    "v1.HTTPGetAction": {"scheme": "v1.URIScheme"},
    "v1.VolumeMount": {"mountPropagation": "v1.MountPropagationMode"},
    "v1.PodSpec": {"dnsPolicy": "v1.DNSPolicy", "restartPolicy": "v1.RestartPolicy",
                   "preemptionPolicy": "v1.PreemptionPolicy"},
    "v1.PodStatus": {"phase": "v1.PodPhase", "qosClass": "v1.PodQOSClass"},
    "v1.PodCondition": {"status": "v1.ConditionStatus", "type": "v1.PodConditionType"},
    "v1.Toleration": {"effect": "v1.TaintEffect", "operator": "v1.TolerationOperator"},
    "v1.Taint": {"effect": "v1.TaintEffect"},
    "v1.NodeStatus": {"phase": "v1.NodePhase"},
    "v1.NodeCondition": {"status": "v1.ConditionStatus", "type": "v1.NodeConditionType"},
    "v1.NodeAddress": {"type": "v1.NodeAddressType"},
    "v1.NamespaceStatus": {"phase": "v1.NamespacePhase"},
    "v1.ServiceSpec": {"sessionAffinity": "v1.ServiceAffinity", "type": "v1.ServiceType",
                       "ipFamilies": "v1.IPFamily", "ipFamilyPolicy": "v1.IPFamilyPolicy",
                       "externalTrafficPolicy": "v1.ServiceExternalTrafficPolicy",
                       "internalTrafficPolicy": "v1.ServiceInternalTrafficPolicy"},
    "v1.ServicePort": {"protocol": "v1.Protocol"},
    "v1.EndpointPort": {"protocol": "v1.Protocol"},
    "v1.EndpointSlice": {"addressType": "v1.AddressType"},
    "v1.Secret": {"type": "v1.SecretType"},
    "v1.DeploymentStrategy": {"type": "v1.DeploymentStrategyType"},
    "v1.DeploymentCondition": {"status": "v1.ConditionStatus",
                               "type": "v1.DeploymentConditionType"},
    "v1.ReplicaSetCondition": {"status": "v1.ConditionStatus",
                               "type": "v1.ReplicaSetConditionType"},
    "v1.LeaseSpec": {"strategy": "v1.CoordinatedLeaseStrategy"},
}
# The apimachinery types that decode themselves, by OpenAPI name.
CUSTOM_TYPES = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": QUANTITY,
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": INT_OR_STRING,
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": TIME,
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": MICRO_TIME,
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": FIELDS_V1,
}


def go_name(definition: str) -> str:
    """The Go name of an OpenAPI definition: ``io.k8s.api.core.v1.PodSpec`` -> ``v1.PodSpec``."""
    return ".".join(definition.split(".")[-2:])


class _Builder:
    """Turns the vendored OpenAPI definitions into Structs, each built once."""

    def __init__(self, definitions: Mapping[str, Any]) -> None:
        self.definitions = definitions
        self.structs: dict[str, Struct] = {}

    def struct(self, definition: str) -> Struct:
        if definition in self.structs:
            return self.structs[definition]
        name = go_name(definition)
        struct = self.structs[definition] = Struct(name, {}, definition=definition)
        properties = self.definitions[definition].get("properties", {})
        names = NAMED_TYPES.get(name, {})
        struct.extensions = {f: {k: v for k, v in s.items() if k.startswith("x-kubernetes-")}
                             for f, s in properties.items()}
        struct.set_fields({f: self.value(s, names.get(f)) for f, s in properties.items()})
        struct.required = tuple(f for f in self.definitions[definition].get("required", ())
                                if f in struct.fields)
        struct.written = dict(self.definitions[definition].get(WRITTEN, {}))
        struct.omitted_zeros = frozenset(self.definitions[definition].get(OMITTED_ZEROS, ()))
        return struct

    def value(self, schema: Mapping[str, Any], name: str | None = None) -> Any:
        """The Go type of one property; ``name`` names its string type (or its items')."""
        ref = schema.get("$ref")
        if ref:
            if ref in CUSTOM_TYPES:
                return CUSTOM_TYPES[ref]
            if "properties" not in self.definitions[ref]:
                return FIELDS_V1  # an object OpenAPI does not describe: kept as given
            return self.struct(ref)
        kind, fmt = schema.get("type"), schema.get("format", "")
        if kind == "array":
            return ListOf(self.value(schema["items"], name))
        if kind == "object":
            if "additionalProperties" not in schema:
                return FIELDS_V1
            value = self.value(schema["additionalProperties"])
            return RESOURCE_LIST if value is QUANTITY else MapOf(value)
        if kind == "integer":
            return INT32 if fmt == "int32" else INT64
        if kind == "number":
            return FLOAT64
        if kind == "boolean":
            return BOOL
        if fmt == "byte":
            return BYTES
        return named(name) if name else STRING


def _inner_struct(typ: Any) -> Struct | None:
    """The struct a field holds, directly or as slice items or map values; else None."""
    while isinstance(typ, (ListOf, MapOf)):
        typ = typ.item if isinstance(typ, ListOf) else typ.value
    return typ if isinstance(typ, Struct) else None


def _is_collection(typ: Any) -> bool:
    """A Go slice or map ([]byte too): nil and empty are written alike, null or left out."""
    return isinstance(typ, (ListOf, MapOf)) or (isinstance(typ, Scalar) and bool(typ.encoding))


def _omitted_pointers(typ: Struct) -> frozenset[str]:
    """The omitempty pointer fields of a vendored struct (``*int32``, ``*PodSecurityContext``,
    ``*metav1.Time``): Go leaves them out when nil, and writes ``0``, ``""``, ``false`` or
    ``{}`` when they point at one. What is neither always written, nor an omitempty plain
    value, nor a slice or map."""
    if not typ.definition:  # a struct made here, not from Go's: nothing known
        return frozenset()
    return frozenset(f for f, t in typ.fields.items() if f not in typ.written
                     and f not in typ.omitted_zeros and not _is_collection(t))


def _mark_fills(structs: Iterable[Struct]) -> None:
    """Set ``fills`` on every struct whose values Go may write differently than given.

    One with a field Go always writes, or an omitempty one (dropped when empty or
    nil), or one that holds such a struct. The zero-fill walks only into those, so
    a write skips the parts of an object Go writes as they are (a label selector's
    matchLabels, a struct made here).
    """
    structs = list(structs)
    for struct in structs:
        struct.fills = bool(struct.written or struct.omitted_zeros or _omitted_pointers(struct)
                            or any(map(_is_collection, struct.fields.values())))
    changed = True
    while changed:  # to a fixed point: the types refer to each other
        changed = False
        for struct in structs:
            if struct.fills:
                continue
            for typ in struct.fields.values():
                inner = _inner_struct(typ)
                if inner is not None and inner.fills:
                    struct.fills = changed = True
                    break


def _load() -> tuple[dict[str, Struct], dict[str, Struct]]:
    """KIND_TYPES and every Struct by OpenAPI name, from the vendored document."""
    text = resources.files("kubelearn.api").joinpath(SCHEMA_FILE).read_text()
    document = json.loads(text)
    builder = _Builder(document["definitions"])
    kinds = {kind: builder.struct(definition) for kind, definition in document["kinds"].items()}
    return kinds, builder.structs


KIND_TYPES, DEFINITIONS = _load()
_mark_fills(DEFINITIONS.values())
_META = "io.k8s.apimachinery.pkg.apis.meta.v1."
OBJECT_META = DEFINITIONS[_META + "ObjectMeta"]
OWNER_REFERENCE = DEFINITIONS[_META + "OwnerReference"]
LABEL_SELECTOR = DEFINITIONS[_META + "LabelSelector"]
LABEL_SELECTOR_REQUIREMENT = DEFINITIONS[_META + "LabelSelectorRequirement"]
# A kind without a type (not served): its envelope only, everything else kept as given.
_TOP = Struct("", {"apiVersion": STRING, "kind": STRING, "metadata": OBJECT_META}, open=True)


# -- the decoder ------------------------------------------------------------------


class _Fatal(Exception):
    """An error that stops decoding at once (one returned by an UnmarshalJSON)."""


class _TooDeep(Exception):
    """Nesting beyond MAX_DEPTH."""


# encoding/json's scanner (maxNestingDepth), through SimpleMetaFactory.Interpret.
TOO_DEEP = "couldn't get version/kind; json parse error: exceeded max depth"


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


_SURROGATE = re.compile("[\ud800-\udfff]")
_2_31, _2_63 = 2 ** 31, 2 ** 63


def go_string(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate as U+FFFD, as Go's decoder reads ``"\\ud800"``."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


_clean = go_string


def _is_clean(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


_BASE64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
_BASE64_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
_NEWLINES = (ord("\n"), ord("\r"))


def base64_problem(text: str) -> str | None:
    """What Go's base64.StdEncoding.Decode says of ``text`` (a []byte field), or None.

    encoding/base64 decodeQuantum: newlines are skipped, padding is required,
    and the error names the offending byte (CorruptInputError).
    """
    if _BASE64.fullmatch(text):
        return None
    src, si = text.encode("utf-8", "surrogatepass"), 0

    def corrupt(at: int) -> str:
        return f"illegal base64 data at input byte {at}"

    while True:
        j = 0
        while j < 4:
            if si == len(src):
                return None if j == 0 else corrupt(si - j)
            byte = src[si]
            si += 1
            if byte in _BASE64_ALPHABET:
                j += 1
                continue
            if byte in _NEWLINES:
                continue
            if byte != ord("=") or j < 2:
                return corrupt(si - 1)
            if j == 2:  # "==" expected; the first "=" is read
                while si < len(src) and src[si] in _NEWLINES:
                    si += 1
                if si == len(src):
                    return corrupt(len(src))
                if src[si] != ord("="):
                    return corrupt(si - 1)
                si += 1
            while si < len(src) and src[si] in _NEWLINES:
                si += 1
            return corrupt(si) if si < len(src) else None


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
        self.save(self.message(kind, go_type, struct, stack))

    def save(self, message: str) -> None:
        """decodeState.saveError: the first error is the one reported."""
        if self.saved is None:
            self.saved = message

    def walk(self, value: Any, typ: Any, struct: str, stack: tuple[str, ...]) -> None:
        if value is None:  # JSON null leaves the zero value, never an error
            return
        if isinstance(typ, Scalar):
            self.scalar(value, typ, struct, stack)
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

    def scalar(self, value: Any, typ: Scalar, struct: str, stack: tuple[str, ...]) -> None:
        if typ.kind == "int":
            problem = _int_problem(value, typ.bits)
        elif typ.kind == "float":
            problem = None if isinstance(value, (int, float)) and not isinstance(value, bool) \
                else json_kind(value)
        elif typ.kind == "bool":
            problem = None if isinstance(value, bool) else json_kind(value)
        else:
            problem = None if isinstance(value, str) else json_kind(value)
            if problem is None and typ.encoding:
                bad = base64_problem(value)
                if bad:
                    self.save(bad)
        if problem:
            self.mismatch(problem, typ.name, struct, stack)

    def custom(self, value: Any, typ: Custom, struct: str, stack: tuple[str, ...]) -> None:
        if typ.free:  # FieldsV1.UnmarshalJSON: any JSON, kept as it came
            return
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


def _zero(typ: Any) -> Any:
    """The Go zero value of ``typ`` as it is written back as JSON (a ``null`` list item)."""
    if isinstance(typ, (Struct, MapOf)):
        return {}
    if isinstance(typ, ListOf):
        return []
    if isinstance(typ, Scalar):
        return {"int": 0, "float": 0, "bool": False}.get(typ.kind, "")
    if typ is QUANTITY:
        return "0"
    if typ is INT_OR_STRING:
        return 0
    return None  # Time, MicroTime: the zero time is written as null; free-form: null as given


# -- objects as Go writes them: zero values, empty collections --------------------

# What an empty value (null, [], {}) in a field becomes: left out (an omitempty slice or
# map), null in storage (an always-written one), kept, or walked (a struct to fill).
_DROP, _NULL, _KEEP, _WALK = range(4)


class _ZeroPlan:
    """What writing a struct as Go does looks at, made once a struct (see _zero_plan).

    ``written``: the fields Go always writes, as (name, zero as written, its struct
    if the zero is a struct's zero form), and ``names``, the same as a set, so that
    a value with all of them costs one subset test; ``order``: every field in Go's
    struct order, which a struct that gets a field filled in is rewritten in.

    ``actions``: for each field there is anything to do about, in one lookup, what:
    :data:`_OMIT_ZERO`, an omitempty plain field, left out when ``""``, ``0``,
    ``false`` (or ``null``); :data:`_OMIT_NIL`, an omitempty pointer to nothing
    to look into, left out when ``null``; or, for a slice, map or struct field to
    look into, a tuple: whether it is a pointer (left out when ``null``); what an
    empty value (null, [], {}) becomes -- _DROP (an omitempty slice or map),
    _NULL (an always-written one, in storage), _KEEP, or _WALK (an empty struct
    with fields to fill); which struct it holds to walk into, or None; how
    (_DIRECT, _EACH slice item, or _OTHER, for :func:`_filled`); and, for a
    struct with nothing to visit, the names it always writes, so that a value
    with all of them is passed over without a call (a pod's conditions, ports,
    volume mounts). A field with no action (a plain value Go always writes, a
    field the type does not have) is written as it is.
    """

    __slots__ = ("written", "names", "order", "actions")

    def __init__(self, typ: Struct) -> None:
        self.written = tuple((f, zero, typ.fields[f] if zero == {} else None)
                             for f, zero in typ.written.items())
        self.names = frozenset(typ.written)
        self.order = tuple(typ.fields)
        nils = _omitted_pointers(typ)
        self.actions: dict[str, Any] = dict.fromkeys(nils, _OMIT_NIL)
        for field, field_type in typ.fields.items():
            inner = _inner_struct(field_type)
            if inner is not None and not inner.fills:
                inner = None
            if _is_collection(field_type):
                empty = _NULL if field in typ.written else _DROP
            elif inner is not None:
                empty = _WALK if inner.written else _KEEP
            else:
                continue  # a string, number, bool, or Time: as it is
            pointer = field in nils
            if inner is None:
                self.actions[field] = (pointer, empty, None, _DIRECT, None)
                continue
            leaf = _leaf(inner) if _visits_nothing(inner) else None
            if field_type is inner:
                self.actions[field] = (pointer, empty, inner, _DIRECT, leaf)
            elif isinstance(field_type, ListOf) and field_type.item is inner:
                self.actions[field] = (pointer, empty, inner, _EACH, leaf)
            else:  # a map of structs, a slice of slices
                self.actions[field] = (pointer, empty, field_type, _OTHER, None)
        # omitempty plain fields: strings, numbers and bools, never a field looked into
        self.actions.update(dict.fromkeys(typ.omitted_zeros, _OMIT_ZERO))


# Two of _ZeroPlan's actions, told apart from the tuples of the rest by identity.
_OMIT_ZERO = ("left out when zero",)
_OMIT_NIL = ("left out when null",)
# A struct with nothing to visit, as its parent checks it without a call: the names it
# always writes, its omitempty plain fields, and whether it has omitempty pointers.
_Leaf = tuple[frozenset[str], tuple[str, ...], bool]
_ABSENT_OK = itertools.repeat(True)  # value.get(field, True): an absent field is no zero


def _leaf(typ: Struct) -> _Leaf:
    return frozenset(typ.written), tuple(typ.omitted_zeros), bool(_omitted_pointers(typ))


def _visits_nothing(typ: Struct) -> bool:
    """True if a value of ``typ`` changes only by its own plain fields and pointers (no
    slice, map or struct field to look into)."""
    for field_type in typ.fields.values():
        inner = _inner_struct(field_type)
        if _is_collection(field_type) or (inner is not None and inner.fills):
            return False
    return True


_DIRECT, _EACH, _OTHER = range(3)


def _zero_plan(typ: Struct) -> _ZeroPlan:
    typ.zero_plan = _ZeroPlan(typ)
    return typ.zero_plan


def _filled_struct(value: dict, typ: Struct, stored: bool = False,
                   before: Mapping[str, Any] | None = None) -> dict:
    """``value`` as Go writes it (see zero_filled); ``before``: the version it replaces,
    filled when written, whose equal parts need no walk."""
    plan = typ.zero_plan or _zero_plan(typ)
    out = value
    have = value.keys()
    if not plan.names <= have:  # the commonest case, all there: one test, in C
        out = dict(value)
        for field, zero, struct in plan.written:
            if field not in have:
                if struct is None:
                    out[field] = zero  # "", 0, False, None, "0": immutable
                else:  # a struct's zero form, new each time
                    out[field] = _filled_struct({}, struct) if struct.written else {}
        out = _in_go_order(out, plan.order)
    actions = plan.actions
    # Each field on its own (removing or replacing one leaves the others in place).
    for field, item in value.items():
        action = actions.get(field)
        if action is None:
            continue  # written as it is
        if action is _OMIT_ZERO:
            if item:
                continue
        elif action is _OMIT_NIL:
            if item is not None:
                continue
        elif item is not None or not action[0]:  # anything but a nil pointer: look into it
            if before is not None:
                was = before.get(field)
                if was is item or (was is not None and was == item):
                    continue  # filled when it was written: a comparison in C, not a walk
            else:
                was = None
            _, empty, inner, how, leaf = action
            if not item:  # null, [], {} (or "" for a []byte)
                if empty == _KEEP:
                    continue
                if empty == _DROP:  # omitempty: Go leaves an empty slice or map out
                    if out is value:
                        out = dict(value)
                    del out[field]
                    continue
                if empty == _NULL:
                    if stored and item is not None:  # protobuf reads it back as nil: null
                        if out is value:
                            out = dict(value)
                        out[field] = None
                    continue
            if inner is None:
                continue
            if how == _DIRECT:
                if item.__class__ is not dict or (leaf is not None and leaf[0] <= item.keys() and (
                        not leaf[1] or all(map(item.get, leaf[1], _ABSENT_OK))) and not (
                        leaf[2] and None in item.values())):
                    continue  # as _as_it_is, without the call
                new = _filled_struct(item, inner, stored,
                                     was if was.__class__ is dict else None)
            elif how == _EACH:
                if item.__class__ is not list:
                    continue  # a value of the wrong type: decoding refuses it
                new = item
                names, zeros, nils = leaf or (None, (), False)
                # the same place in the list it replaces: an element as it was needs no walk
                olds = was if was.__class__ is list and len(was) == len(item) else None
                for i, element in enumerate(item):
                    if olds is not None and olds[i] == element:
                        continue
                    if element.__class__ is dict and (names is None or not (  # _as_it_is, inline
                            names <= element.keys() and (
                                not zeros or all(map(element.get, zeros, _ABSENT_OK)))
                            and not (nils and None in element.values()))):
                        filled = _filled_struct(element, inner, stored)
                        if filled is not element:
                            if new is item:
                                new = list(item)
                            new[i] = filled
            else:
                new = _filled(item, inner, stored)
            if new is not item:
                if out is value:
                    out = dict(value)
                out[field] = new
            continue
        # Go leaves it out: a zero omitempty value, a nil pointer
        if out is value:
            out = dict(value)
        del out[field]
    return out


def _as_it_is(value: dict, names: frozenset[str], zeros: tuple[str, ...], nils: bool) -> bool:
    """True if Go writes ``value`` of a struct with nothing to visit (a :data:`_Leaf`) as it
    is: every always-written field there, no zero plain omitempty value, no ``null`` at all
    where there are pointers (a ``null`` Time, always written, costs a walk). In C."""
    return names <= value.keys() and all(map(value.get, zeros, _ABSENT_OK)) and \
        not (nils and None in value.values())


def _in_go_order(value: dict, order: tuple[str, ...]) -> dict:
    """``value`` with its fields in Go's struct order (unknown ones after)."""
    out = {field: value[field] for field in order if field in value}
    if len(out) != len(value):
        out.update(value)
    return out


def _filled(value: Any, typ: Any, stored: bool = False) -> Any:
    cls = value.__class__
    if cls is dict:
        if isinstance(typ, Struct):
            return _filled_struct(value, typ, stored) if typ.fills else value
        if isinstance(typ, MapOf):
            out = value
            for key, item in value.items():
                new = _filled(item, typ.value, stored)
                if new is not item:
                    if out is value:
                        out = dict(value)
                    out[key] = new
            return out
    elif cls is list and isinstance(typ, ListOf):
        out = value
        for i, item in enumerate(value):
            new = _filled(item, typ.item, stored)
            if new is not item:
                if out is value:
                    out = list(value)
                out[i] = new
        return out
    return value


def zero_filled(obj: Mapping[str, Any], typ: Struct | None = None, *,
                stored: bool = False, before: Mapping[str, Any] | None = None) -> Any:
    """``obj`` as Go writes it: every field Go always writes there, empty omitempty ones gone.

    A field whose json tag has no ``omitempty``, or that holds a struct (which
    omitempty never drops), is written even when it holds its zero value: a
    NodeSystemInfo without ``kubeProxyVersion`` has ``kubeProxyVersion: ""``, an
    EndpointSlice without endpoints ``endpoints: null``, a ReplicaSetStatus
    ``replicas: 0``, a container ``resources: {}``, a Deployment's pod template
    ``metadata: {creationTimestamp: null}`` (metav1.Time writes its zero as null),
    an Event ``reportingComponent: ""``. An ``omitempty`` slice or map that is
    empty is left out (``labels: {}``, ``tolerations: []``); other omitempty
    fields stay out when absent. ``typ``: the Go type (default: the kind's).

    ``stored``: also an empty slice or map in an always-written field becomes
    ``null``, as an object read back from storage has it: kube-apiserver stores
    built-in kinds as protobuf (--storage-media-type), which does not tell an
    empty repeated field from a nil one, so an EndpointSlice written with
    ``endpoints: []`` is read back, and answered, with ``endpoints: null``.

    ``before``: the stored object ``obj`` replaces, filled when it was written:
    the parts of ``obj`` left as they were -- a status update's spec, a bound
    pod's containers, at any depth, and list elements at the same place -- are
    not walked again: a comparison in C instead of a walk in Python.

    A field that is there is kept as it is (decoding has made a ``null`` an
    absent field already); so is a value of the wrong type (decoding refuses
    it). Copy on write: ``obj`` itself when nothing changes, else a copy that
    shares every part it does not change.
    """
    if typ is None:
        typ = KIND_TYPES.get(obj.get("kind"))  # type: ignore[arg-type]
        if typ is None:
            return obj
    if before is None or obj.__class__ is not dict or before.__class__ is not dict:
        return _filled(obj, typ, stored)
    return _filled_struct(obj, typ, stored, before) if typ.fills else obj


def fill_zero_values(obj: dict, before: Mapping[str, Any] | None = None) -> dict:
    """Fill ``obj`` in place as storage keeps it (:func:`zero_filled` with ``stored``),
    for an object the caller owns; ``before``: the stored object it replaces."""
    filled = zero_filled(obj, stored=True, before=before)
    if filled is not obj:  # its fields as filled, in filled's order (Go's, where filled in)
        obj.clear()
        obj.update(filled)
    return obj


def _too_deep(value: Any, level: int) -> bool:
    """True if a list or map inside ``value`` (itself at nesting ``level``) is past MAX_DEPTH."""
    stack = [(value, level)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > MAX_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class _Converter:
    """Builds what the Go decoder keeps of a value that passed the type check.

    ``unknown``: the paths of the fields dropped, as sigs.k8s.io/json names them
    for its strict errors (``spec.containers[0].foo``), in document order, each once.
    """

    def __init__(self) -> None:
        self.unknown: list[str] = []

    def report(self, path: str) -> None:
        if len(self.unknown) < MAX_STRICT_ERRORS and path not in self.unknown:
            self.unknown.append(path)

    def value(self, value: Any, typ: Any, path: str, level: int) -> Any:
        if value is None:
            return _zero(typ)
        if isinstance(typ, Struct):
            return self.struct(value, typ, path, level)
        if isinstance(typ, ListOf):
            if level > MAX_DEPTH:
                raise _TooDeep
            return [self.value(item, typ.item, f"{path}[{i}]", level + 1)
                    for i, item in enumerate(value)]
        if isinstance(typ, MapOf):
            if level > MAX_DEPTH:
                raise _TooDeep
            out = {}
            for key, item in value.items():
                key = _clean(key)
                out[key] = self.value(item, typ.value, f"{path}.{key}", level + 1)
            return out
        if isinstance(typ, Custom) and typ.free:
            return self.free(value, level)
        return _clean(value) if isinstance(value, str) else value

    def struct(self, value: Mapping[str, Any], typ: Struct, path: str, level: int) -> dict:
        if level > MAX_DEPTH:
            raise _TooDeep
        out = {}
        for key, item in value.items():
            key = _clean(key)
            field = typ.fields.get(key)
            sub = f"{path}.{key}" if path else key
            if field is None:
                if typ.open:
                    out[key] = self.free(item, level + 1)
                    continue
                self.report(sub)
                if _too_deep(item, level + 1):  # go-json's depth bound holds for skipped values
                    raise _TooDeep
            elif item is not None or field is TIME or field is MICRO_TIME:
                out[key] = self.value(item, field, sub, level + 1)
            # else: null leaves the zero value, which the stored object leaves out
        return out

    def free(self, value: Any, level: int) -> Any:
        """Free-form JSON (FieldsV1, an untyped kind's fields): a clean copy, depth bounded."""
        if _too_deep(value, level):
            raise _TooDeep
        return _free_copy(value)


def _free_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {_clean(k): _free_copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_free_copy(v) for v in value]
    return _clean(value) if isinstance(value, str) else value


def _decodes(value: Any, typ: Any) -> bool:
    """True if ``value`` decodes into ``typ`` exactly as it is: nothing to drop, zero or mend.

    The quick pass for the everyday body: no key sorting, no field paths, no
    copy. Any doubt (a type error, a null, an unknown field, a lone surrogate,
    free-form JSON) returns False, and the full decode then words the error or
    builds what Go would keep.
    """
    if value is None:
        return typ is TIME or typ is MICRO_TIME  # their zero value is written as null
    if isinstance(typ, Struct):
        if not isinstance(value, dict) or typ.open:
            return False
        codes = typ.codes
        for key, item in value.items():
            code, cls = codes.get(key), item.__class__
            # the commonest cases, checked here rather than in a call
            if code == _STRING:
                if cls is str and (item.isascii() or _SURROGATE.search(item) is None):
                    continue
                return False
            if code == _BOOL and cls is bool:
                continue
            if code == _INT32 and cls is int and -_2_31 <= item < _2_31:
                continue
            if code == _INT64 and cls is int and -_2_63 <= item < _2_63:
                continue
            if code == _TIME and cls is str and _time_ok(item, False):
                continue
            if code is None or not _decodes(item, typ.fields[key]):
                return False
        return True
    if isinstance(typ, Scalar):
        kind = typ.kind
        if kind == "string":
            if value.__class__ is not str:
                return False
            if typ.encoding:
                return _BASE64.fullmatch(value) is not None
            return value.isascii() or _SURROGATE.search(value) is None
        if kind == "int":
            return _int_problem(value, typ.bits) is None
        if kind == "bool":
            return value.__class__ is bool
        return isinstance(value, (int, float)) and value.__class__ is not bool
    if isinstance(typ, ListOf):
        if value.__class__ is not list:
            return False
        item_type, code = typ.item, typ.code
        for item in value:
            if code == _STRING:  # args, command, finalizers: checked here, without a call
                if item.__class__ is str and (item.isascii() or _SURROGATE.search(item) is None):
                    continue
                return False
            if not _decodes(item, item_type):
                return False
        return True
    if isinstance(typ, MapOf):
        if not isinstance(value, dict):
            return False
        value_type, code = typ.value, typ.code
        for key, item in value.items():
            if not (key.__class__ is str and (key.isascii() or _SURROGATE.search(key) is None)):
                return False
            # labels, annotations, resource lists: checked here, without a call
            if code == _STRING:
                if item.__class__ is str and (item.isascii() or _SURROGATE.search(item) is None):
                    continue
                return False
            if code == _QUANTITY and item.__class__ is str:
                if _quantity_ok(item):
                    continue
                return False
            if not _decodes(item, value_type):
                return False
        return True
    if typ is TIME or typ is MICRO_TIME:
        return value.__class__ is str and _time_ok(value, typ is MICRO_TIME)
    if typ is QUANTITY and value.__class__ is str:
        return _quantity_ok(value)
    if typ.free or (value.__class__ is str and not _is_clean(value)):
        return False
    try:
        _Decoder().custom(value, typ, "", ())
    except _Fatal:
        return False
    return True


# The same few instants and quantities fill thousands of objects: remember the verdicts.
@functools.lru_cache(maxsize=4096)
def _time_ok(value: str, micro: bool) -> bool:
    """True if ``value`` parses as metav1.Time (or MicroTime)."""
    return _is_clean(value) and time_parse_error(value, micro=micro) is None


@functools.lru_cache(maxsize=4096)
def _quantity_ok(value: str) -> bool:
    """True if ``value`` (a JSON string) decodes as a resource.Quantity."""
    try:
        parse_quantity(value.strip())
    except QuantityError:
        return False
    return True


def _type_error(value: Any, typ: Any) -> str | None:
    """The error encoding/json reports first for ``value`` as ``typ``, or None."""
    decoder = _Decoder()
    try:
        decoder.walk(value, typ, "", ())
    except _Fatal as err:
        return str(err)
    return decoder.saved


def check_value(value: Any, typ: Any) -> None:
    """Raise BadRequest if ``value`` would not decode into Go type ``typ``."""
    if _decodes(value, typ):  # nearly every body: skip the ordered walk that words errors
        return
    problem = _type_error(value, typ)
    if problem:
        raise BadRequest(problem)


def decode_object(obj: Mapping[str, Any], stored: Mapping[str, Any] | None = None, *,
                  fill: bool = True) -> tuple[dict[str, Any], list[str]]:
    """``obj`` decoded into its kind's Go type and back, as the API server keeps a body.

    Returns the object to keep -- ``obj`` itself when decoding changes nothing,
    as for nearly every body, else a copy; fields without ``omitempty`` that it
    leaves out get their zero values (:func:`zero_filled`) -- and the paths of
    the fields the type does not have, which are dropped (for
    ``fieldValidation`` to warn about or refuse).
    Raises BadRequest, worded as the API server's decoder, for a value of the
    wrong type or nesting deeper than :data:`MAX_DEPTH`.

    ``stored``: the object an update replaces. Its top-level fields were decoded
    when they were written, so the ones ``obj`` leaves as they were (a status
    update's spec, a lease renewal's metadata) are not walked again.

    ``fill``: False leaves the zero values out, for a caller that fills the
    object later anyway (a create: storage fills it once defaulting and
    admission have added their fields).
    """
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    typ = KIND_TYPES.get(kind) or _TOP.extend(kind)
    pending = obj if stored is None else \
        {k: v for k, v in obj.items() if k not in stored or stored[k] != v}
    if _decodes(pending, typ):
        kept = dict(obj) if not isinstance(obj, dict) else obj
        return (zero_filled(kept, typ, before=stored) if fill else kept), []
    problem = _type_error(pending, typ)
    if problem:
        api_version = obj.get("apiVersion") if isinstance(obj.get("apiVersion"), str) else ""
        version = go_quote(api_version.rpartition("/")[2])
        raise BadRequest(f"{kind} in version {version} cannot be handled as a {kind}: {problem}")
    converter = _Converter()
    try:
        decoded = converter.struct(pending, typ, "", 1)
    except _TooDeep:
        raise BadRequest(TOO_DEEP) from None
    out = {k: decoded[k] if k in pending else v for k, v in obj.items()
           if k in decoded or k not in pending}
    return (zero_filled(out, typ, before=stored) if fill else out), converter.unknown


def check_types(obj: Mapping[str, Any], stored: Mapping[str, Any] | None = None) -> None:
    """Raise BadRequest, worded as the API server's decoder, if ``obj`` does not decode.

    A field of the wrong type, or nesting deeper than :data:`MAX_DEPTH`; see
    :func:`decode_object`, which also says what decoding keeps.
    """
    decode_object(obj, stored)


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
