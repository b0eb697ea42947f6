"""How the API server says no: ``kind: Status`` errors and field errors.

- :class:`StatusError` -- an error the API server returns as a ``kind: Status``
  object (apimachinery ``errors.StatusError``), and one subclass per reason:
  :class:`NotFound`, :class:`AlreadyExists`, :class:`Conflict`, :class:`Invalid`,
  :class:`Forbidden`, :class:`Unauthorized`, :class:`Gone`, :class:`Expired`,
  :class:`BadRequest`, :class:`MethodNotSupported`, :class:`NotAcceptable`,
  :class:`UnsupportedMediaType`, :class:`RequestEntityTooLarge`,
  :class:`TooManyRequests`, :class:`InternalError`, :class:`ServiceUnavailable`,
  :class:`Timeout`.
- :class:`Path` and :class:`FieldError` -- where a validation failure is and what
  it is (apimachinery ``field.Path`` and ``field.Error``), printed the same way.
- :func:`go_quote`, :func:`go_json`, :func:`go_syntax`, :class:`GoValue`,
  :class:`GoStruct` and :func:`render_value` -- values printed as Go prints them in
  those messages: ``%q`` for strings and, in the modelled v1.32, Go syntax (``%#v``)
  for slices, maps and structs: ``[]string{"10.96.0.1"}``.

Messages are upstream's: k8s.io/apimachinery/pkg/api/errors/errors.go and
k8s.io/apimachinery/pkg/util/validation/field/errors.go (v1.32, apimachinery v0.32.0).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from kubelearn.version import since

# -- printing values the way Go does ----------------------------------------------

_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
               "\t": "\\t", "\v": "\\v", '"': '\\"', "\\": "\\\\"}


def go_quote(s: str) -> str:
    """Quote ``s`` as Go's ``%q`` (strconv.Quote) does."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch in _GO_ESCAPES:
            out.append(_GO_ESCAPES[ch])
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:  # a lone surrogate is not valid UTF-8
            out.append("\\ufffd")
        elif ch.isprintable():
            out.append(ch)
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def _json_string(s: str) -> str:
    """Encode a string as Go's encoding/json does (HTML-safe, \\u2028 escaped)."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or ch in "<>&\u2028\u2029":
            out.append(f"\\u{code:04x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append("\\ufffd")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _decimal_text(x: float) -> str:
    """Plain decimal digits of a float's shortest representation."""
    text = format(Decimal(repr(x)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _exponent_text(x: float) -> str:
    """Shortest ``d.ddde±XX`` form of a float, at least two exponent digits (Go's %e)."""
    sign, digits, exp = Decimal(repr(x)).normalize().as_tuple()
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    exponent = int(exp) + len(text) - 1
    return f"{'-' if sign else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"


def go_float(x: float, *, json_style: bool = False) -> str:
    """Format a float as Go's ``%v`` (or encoding/json when ``json_style``) does."""
    if math.isnan(x) or math.isinf(x):
        return "NaN" if math.isnan(x) else ("+Inf" if x > 0 else "-Inf")
    a = abs(x)
    if a == 0:
        return "-0" if math.copysign(1, x) < 0 and not json_style else "0"
    low = 1e-6 if json_style else 1e-4  # encoding/json switches to %e below 1e-6
    if low <= a < 1e21:
        return _decimal_text(x)
    text = _exponent_text(x)
    if json_style:  # encoding/json cleans e-09 to e-9
        mant, _, exp = text.partition("e")
        if exp.startswith("-0"):
            text = f"{mant}e-{exp[2:]}"
    return text


def go_json(value: Any) -> str:
    """Marshal ``value`` as Go's encoding/json does: compact, keys sorted."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value, json_style=True)
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, dict):
        items = sorted((str(k), v) for k, v in value.items())
        return "{" + ",".join(f"{_json_string(k)}:{go_json(v)}" for k, v in items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if hasattr(value, "to_json"):
        return value.to_json()
    return _json_string(str(value))


# What a non-nil pointer inside a composite bad value prints as under %#v. Go prints the
# pointer's address, which differs on every run (and between the API server's replicas);
# kubelearn prints this one fixed address, shaped like a Go heap address on amd64.
GO_POINTER_ADDRESS = "0xc000a4f1e8"


class GoValue:
    """A value with its Go type spelt out, so it prints as Go's ``%#v`` prints it.

    ``GoValue("[]string", ["10.96.0.1"])`` prints ``[]string{"10.96.0.1"}``;
    ``GoValue("*int64", None)`` prints ``(*int64)(nil)``. The JSON form is the value's.
    """

    __slots__ = ("type", "value")

    def __init__(self, type: str, value: Any) -> None:
        self.type = type
        self.value = value

    def to_json(self) -> str:
        """The value as encoding/json marshals it."""
        return go_json(self.value)

    def go_syntax(self) -> str:
        """The value as ``%#v`` prints it."""
        return go_syntax(self.value, self.type)

    def __repr__(self) -> str:
        return f"GoValue({self.type!r}, {self.value!r})"


class GoStruct:
    """A Go struct as a bad value: its type (``core.Toleration``) and fields in order.

    Field values are Python scalars (typed by what they hold), :class:`GoValue` for
    pointers, slices and maps, or nested structs. ``json`` is what encoding/json
    would marshal instead, for a type whose JSON names differ from its Go field names.
    """

    __slots__ = ("type", "fields", "json")

    def __init__(self, type: str, /, *, json: Any = None, **fields: Any) -> None:
        self.type = type
        self.fields = fields
        self.json = json

    def to_json(self) -> str:
        """The struct as encoding/json marshals it."""
        if self.json is not None:
            return go_json(self.json)
        pairs = (f"{_json_string(k)}:{go_json(v)}" for k, v in self.fields.items())
        return "{" + ",".join(pairs) + "}"

    def go_syntax(self) -> str:
        """The struct as ``%#v`` prints it: ``core.Taint{Key:"k", Value:"v", ...}``."""
        pairs = (f"{k}:{go_syntax(v)}" for k, v in self.fields.items())
        return f"{self.type}{{{', '.join(pairs)}}}"

    def __repr__(self) -> str:
        return f"GoStruct({self.go_syntax()})"


def _map_types(go_type: str) -> tuple[str, str]:
    """``map[string][]int`` -> (``string``, ``[]int``): the key ends at the matching bracket."""
    depth = 0
    for i, ch in enumerate(go_type[3:], start=3):
        depth += (ch == "[") - (ch == "]")
        if depth == 0:
            return go_type[4:i], go_type[i + 1:]
    raise ValueError(f"not a Go map type: {go_type!r}")


def _go_type_of(value: Any) -> str:
    """The Go type a plain Python value stands for when the caller gave none."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        kinds = {_go_type_of(v) for v in value}
        return "[]" + (kinds.pop() if len(kinds) == 1 else "interface {}")
    if isinstance(value, dict):
        kinds = {_go_type_of(v) for v in value.values()}
        return "map[string]" + (kinds.pop() if len(kinds) == 1 else "interface {}")
    return "interface {}"


def go_syntax(value: Any, go_type: str | None = None) -> str:
    """Print ``value`` as Go's ``%#v`` does, as a ``go_type`` (inferred when not given).

    Slices print ``[]string{"a", "b"}``, maps ``map[string]string{"a":"b", "c":"d"}``
    (keys sorted, as fmt sorts them), nil ones ``[]string(nil)``; a pointer prints
    ``(*int64)(nil)`` or its address (:data:`GO_POINTER_ADDRESS`); strings ``%q``.
    """
    if isinstance(value, GoValue):
        value, go_type = value.value, value.type
    if go_type is not None and go_type.startswith("*"):
        return f"({go_type})({'nil' if value is None else GO_POINTER_ADDRESS})"
    if hasattr(value, "go_syntax"):  # GoStruct, Quantity
        return value.go_syntax()
    if go_type is None:
        go_type = _go_type_of(value)
    if value is None:
        return f"{go_type}(nil)"
    if go_type.startswith("[]"):
        elem = go_type[2:]
        return go_type + "{" + ", ".join(go_syntax(v, elem) for v in value) + "}"
    if go_type.startswith("map["):
        key_type, elem = _map_types(go_type)
        items = sorted(value.items())
        body = ", ".join(f"{go_syntax(k, key_type)}:{go_syntax(v, elem)}" for k, v in items)
        return go_type + "{" + body + "}"
    simple = _render_simple(value)
    if simple is not None:
        return simple
    inferred = _go_type_of(value)
    if go_type == "interface {}" and inferred != go_type:  # an interface holding a value
        return go_syntax(value, inferred)
    return go_quote(str(value))


def _render_json(value: Any) -> str:
    """field.Error's rendering from v1.34 (PR #132314): JSON for anything not simple."""
    if value is None:
        return "null"
    simple = _render_simple(value)
    return simple if simple is not None else go_json(value)


def render_value(value: Any) -> str:
    """Print a bad value as field.Error.ErrorBody does in the modelled version.

    v1.32: a pointer is dereferenced, and nil becomes the *string* ``"null"``
    (so it prints quoted); numbers and bools print with %v, strings with %q, and
    everything else with %#v -- ``[]string{"a", "b"}``, ``map[string]string{"a":"b"}``,
    ``core.Toleration{Key:"k", ...}``. A ``resource.Quantity`` or ``intstr.IntOrString``
    is passed by value, whose String method needs a pointer, so it prints as a struct
    too. v1.34 (PR #132314, "Nicer value rendering in API errors") prints composite
    values as JSON and nil as ``null``.
    """
    if since(34):
        return _render_json(value)
    if isinstance(value, GoValue) and value.type.startswith("*"):  # ErrorBody dereferences
        value = None if value.value is None else GoValue(value.type[1:], value.value)
    if isinstance(value, GoValue) and not value.type.startswith(("[]", "map[")):
        value = value.value  # a struct or a named scalar type prints as its value does
    if value is None:
        return '"null"'  # errors.go: value = "null", then %q
    simple = _render_simple(value)
    return simple if simple is not None else go_syntax(value)


def _render_simple(value: Any) -> str | None:
    """%v for bools and numbers, %q for strings; None for anything else."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, str):
        return go_quote(value)
    return None


# -- field paths and field errors (apimachinery util/validation/field) ------------


class Path:
    """Where a field is, printed like field.Path: ``spec.containers[0].resources.limits[cpu]``."""

    __slots__ = ("_parent", "_name", "_index")

    def __init__(self, name: str = "", *more: str, _parent: Path | None = None,
                 _index: str | None = None) -> None:
        self._parent = _parent
        self._name = name
        self._index = _index
        for extra in more:  # NewPath("a", "b") is a.b
            self._parent, self._name = Path(self._name, _parent=self._parent), extra

    def child(self, name: str, *more: str) -> Path:
        """The path of a field below this one."""
        path = Path(name, _parent=self)
        for extra in more:
            path = Path(extra, _parent=path)
        return path

    def index(self, i: int) -> Path:
        """The path of list item ``i``: ``[i]``."""
        return Path("", _parent=self, _index=str(i))

    def key(self, k: str) -> Path:
        """The path of map entry ``k``: ``[k]``."""
        return Path("", _parent=self, _index=k)

    def __str__(self) -> str:
        elems: list[Path] = []
        node: Path | None = self
        while node is not None:
            elems.append(node)
            node = node._parent
        out = []
        for p in reversed(elems):
            if p._parent is not None and p._name:
                out.append(".")
            out.append(p._name if p._name else f"[{p._index or ''}]")
        return "".join(out)

    def __repr__(self) -> str:
        return f"Path({str(self)!r})"


# field.ErrorType values, and the words each prints as (field.ErrorType.String()).
REQUIRED = "FieldValueRequired"
NOT_FOUND = "FieldValueNotFound"
DUPLICATE = "FieldValueDuplicate"
INVALID = "FieldValueInvalid"
NOT_SUPPORTED = "FieldValueNotSupported"
FORBIDDEN = "FieldValueForbidden"
TOO_LONG = "FieldValueTooLong"
TOO_MANY = "FieldValueTooMany"
INTERNAL = "InternalError"
TYPE_INVALID = "FieldValueTypeInvalid"

ERROR_TYPE_WORDS = {
    NOT_FOUND: "Not found",
    REQUIRED: "Required value",
    DUPLICATE: "Duplicate value",
    INVALID: "Invalid value",
    NOT_SUPPORTED: "Unsupported value",
    FORBIDDEN: "Forbidden",
    TOO_LONG: "Too long",
    TOO_MANY: "Too many",
    INTERNAL: "Internal error",
    TYPE_INVALID: "Invalid value",
}

# These types never print the bad value (field.Error.ErrorBody).
_VALUE_OMITTED = {REQUIRED, FORBIDDEN, TOO_LONG, INTERNAL}
_OMIT = object()  # field.omitValue: TooMany with an unknown count


class FieldError:
    """One validation failure at one field (apimachinery ``field.Error``)."""

    __slots__ = ("type", "field", "bad_value", "detail")

    def __init__(self, type: str, field: Path | str, bad_value: Any = "", detail: str = "") -> None:
        self.type = type
        self.field = str(field)
        self.bad_value = bad_value
        self.detail = detail

    def error_body(self) -> str:
        """The message without the field name, e.g. ``Invalid value: "x": must be ...``."""
        words = ERROR_TYPE_WORDS[self.type]
        if self.type in _VALUE_OMITTED or self.bad_value is _OMIT:
            text = words
        else:
            text = f"{words}: {render_value(self.bad_value)}"
        if self.detail:
            text += f": {self.detail}"
        return text

    def __str__(self) -> str:
        return f"{self.field}: {self.error_body()}"

    def __repr__(self) -> str:
        return f"FieldError({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldError) and str(self) == str(other) \
            and self.type == other.type

    def __hash__(self) -> int:
        return hash((self.type, str(self)))

    # The constructors of upstream's field package.
    @classmethod
    def required(cls, path: Path | str, detail: str = "") -> FieldError:
        """A value that must be set is missing."""
        return cls(REQUIRED, path, "", detail)

    @classmethod
    def invalid(cls, path: Path | str, value: Any, detail: str) -> FieldError:
        """A value is malformed."""
        return cls(INVALID, path, value, detail)

    @classmethod
    def not_supported(cls, path: Path | str, value: Any, valid: Sequence[str]) -> FieldError:
        """A value is not one of an enumeration."""
        detail = ("supported values: " + ", ".join(go_quote(v) for v in valid)) if valid else ""
        return cls(NOT_SUPPORTED, path, value, detail)

    @classmethod
    def duplicate(cls, path: Path | str, value: Any) -> FieldError:
        """A value that must be unique is not."""
        return cls(DUPLICATE, path, value, "")

    @classmethod
    def forbidden(cls, path: Path | str, detail: str) -> FieldError:
        """A well-formed value that is not allowed here."""
        return cls(FORBIDDEN, path, "", detail)

    @classmethod
    def not_found(cls, path: Path | str, value: Any) -> FieldError:
        """A referenced value does not exist."""
        return cls(NOT_FOUND, path, value, "")

    @classmethod
    def too_long(cls, path: Path | str, max_length: int) -> FieldError:
        """A value is longer than ``max_length`` bytes (field.TooLong)."""
        if max_length < 0:
            detail = "value is too long"
        elif max_length == 1 and since(34):  # the singular arrived in v1.34
            detail = "may not be more than 1 byte"
        else:
            detail = f"may not be more than {max_length} bytes"
        return cls(TOO_LONG, path, "<value omitted>", detail)

    @classmethod
    def too_many(cls, path: Path | str, actual: int, max_items: int) -> FieldError:
        """A list has more than ``max_items`` items (field.TooMany)."""
        if max_items == 1 and since(34):  # the singular arrived in v1.34
            detail = "must have at most 1 item"
        elif max_items >= 0:
            detail = f"must have at most {max_items} items"
        else:
            detail = "has too many items"
        return cls(TOO_MANY, path, actual if actual >= 0 else _OMIT, detail)

    @classmethod
    def internal(cls, path: Path | str, err: object) -> FieldError:
        """Something went wrong that is not the user's input."""
        return cls(INTERNAL, path, None, str(err))


def aggregate(errors: Iterable[object]) -> str:
    """Join errors as utilerrors.NewAggregate prints them: one alone, several as ``[a, b]``."""
    seen: list[str] = []
    for err in errors:
        text = str(err)
        if text not in seen:
            seen.append(text)
    if len(seen) == 1:
        return seen[0]
    return "[" + ", ".join(seen) + "]" if seen else ""


# -- Status errors (apimachinery api/errors) ----------------------------------------

# metav1.StatusReason values.
REASON_UNKNOWN = ""
REASONS = ("Unauthorized", "Forbidden", "NotFound", "AlreadyExists", "Conflict", "Gone",
           "Invalid", "ServerTimeout", "StoreReadError", "Timeout", "TooManyRequests",
           "BadRequest", "MethodNotAllowed", "NotAcceptable", "RequestEntityTooLarge",
           "UnsupportedMediaType", "InternalError", "Expired", "ServiceUnavailable")

# k8s.io/apiserver/pkg/registry/generic/registry: storage.OptimisticLockErrorMsg
OPTIMISTIC_LOCK_ERROR = ("the object has been modified; please apply your changes "
                         "to the latest version and try again")


def qualified(name: str, group: str = "") -> str:
    """``resource.group`` as GroupResource.String() prints it: ``pods``, ``deployments.apps``."""
    return f"{name}.{group}" if group else name


# v1.NamespaceTerminatingCause: the cause of a create refused in a namespace being deleted.
NAMESPACE_TERMINATING_CAUSE = "NamespaceTerminating"


class StatusError(Exception):
    """An API error carried as a ``kind: Status`` object, as the API server returns it."""

    reason: str = REASON_UNKNOWN
    code: int = 500

    def __init__(self, message: str, *, reason: str | None = None, code: int | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if reason is not None:
            self.reason = reason
        if code is not None:
            self.code = code
        self.details = details

    def __str__(self) -> str:
        return self.message

    def has_cause(self, reason: str) -> bool:
        """errors.HasStatusCause: one of ``details.causes`` has this reason."""
        causes = (self.details or {}).get("causes") or ()
        return any(isinstance(c, dict) and c.get("reason") == reason for c in causes)

    @property
    def status(self) -> dict[str, Any]:
        """The ``kind: Status`` body, field for field as the API server encodes it."""
        body: dict[str, Any] = {"kind": "Status", "apiVersion": "v1", "metadata": {},
                                "status": "Failure"}
        if self.message:
            body["message"] = self.message
        if self.reason:
            body["reason"] = self.reason
        if self.details:
            body["details"] = self.details
        if self.code:
            body["code"] = self.code
        return body

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> StatusError:
        """Rebuild the error a ``kind: Status`` body describes (errors.FromObject)."""
        reason = str(status.get("reason") or "")
        klass = _BY_REASON.get(reason, StatusError)
        err = StatusError.__new__(klass)
        StatusError.__init__(err, str(status.get("message") or ""), reason=reason,
                             code=int(status.get("code") or 0), details=status.get("details"))
        if isinstance(err, Invalid):
            err.errors = []
        return err


def _details(name: str = "", group: str = "", kind: str = "", causes: list | None = None,
             retry_after: int = 0) -> dict[str, Any]:
    """A StatusDetails dict, empty fields left out as Go's omitempty does."""
    details: dict[str, Any] = {}
    for key, value in (("name", name), ("group", group), ("kind", kind), ("causes", causes),
                       ("retryAfterSeconds", retry_after)):
        if value:
            details[key] = value
    return details


class NotFound(StatusError):
    """404: ``pods "x" not found`` (errors.NewNotFound)."""

    reason, code = "NotFound", 404

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(f"{qualified(resource, group)} {go_quote(name)} not found",
                         details=_details(name, group, resource))


class AlreadyExists(StatusError):
    """409: ``pods "x" already exists`` (errors.NewAlreadyExists)."""

    reason, code = "AlreadyExists", 409

    def __init__(self, resource: str, name: str, group: str = "") -> None:
        super().__init__(f"{qualified(resource, group)} {go_quote(name)} already exists",
                         details=_details(name, group, resource))


class Conflict(StatusError):
    """409: ``Operation cannot be fulfilled on pods "x": ...`` (errors.NewConflict)."""

    reason, code = "Conflict", 409

    def __init__(self, resource: str, name: str, err: str = OPTIMISTIC_LOCK_ERROR,
                 group: str = "") -> None:
        target = f"{qualified(resource, group)} {go_quote(name)}"
        super().__init__(f"Operation cannot be fulfilled on {target}: {err}",
                         details=_details(name, group, resource))


class Invalid(StatusError):
    """422: ``Pod "x" is invalid: <field errors>`` (errors.NewInvalid)."""

    reason, code = "Invalid", 422

    def __init__(self, kind: str, name: str, errors: Sequence[FieldError], group: str = "") -> None:
        self.errors = list(errors)
        causes = [{k: v for k, v in (("reason", e.type), ("message", e.error_body()),
                                     ("field", e.field)) if v} for e in self.errors]
        head = f"{qualified(kind, group)} {go_quote(name)} is invalid"
        message = f"{head}: {aggregate(self.errors)}" if self.errors else head
        super().__init__(message, details=_details(name, group, kind, causes))


def forbidden_reason(user: str, verb: str, resource: str, *, group: str = "", namespace: str = "",
                     subresource: str = "", path: str = "") -> str:
    """Why RBAC said no, worded as the API server words it (responsewriters.forbiddenMessage)."""
    if not resource:
        return f"User {go_quote(user)} cannot {verb} path {go_quote(path)}"
    if subresource:
        resource = f"{resource}/{subresource}"
    if namespace:
        return (f"User {go_quote(user)} cannot {verb} resource {go_quote(resource)} in API group "
                f"{go_quote(group)} in the namespace {go_quote(namespace)}")
    return (f"User {go_quote(user)} cannot {verb} resource {go_quote(resource)} in API group "
            f"{go_quote(group)} at the cluster scope")


class Forbidden(StatusError):
    """403: ``pods is forbidden: User "u" cannot list ...`` (errors.NewForbidden)."""

    reason, code = "Forbidden", 403

    def __init__(self, resource: str, name: str, err: str, group: str = "") -> None:
        if not resource and not group:
            message = f"forbidden: {err}"
        elif not name:
            message = f"{qualified(resource, group)} is forbidden: {err}"
        else:
            message = f"{qualified(resource, group)} {go_quote(name)} is forbidden: {err}"
        super().__init__(message, details=_details(name, group, resource))

    @classmethod
    def for_request(cls, user: str, verb: str, resource: str, *, group: str = "",
                    namespace: str = "", name: str = "", subresource: str = "",
                    why: str = "") -> Forbidden:
        """The error RBAC's denial turns into (responsewriters.Forbidden)."""
        err = forbidden_reason(user, verb, resource, group=group, namespace=namespace,
                               subresource=subresource)
        if why:
            err += f": {why}"
        return cls(resource, name, err, group)


class Unauthorized(StatusError):
    """401: the request carried no valid credentials (errors.NewUnauthorized)."""

    reason, code = "Unauthorized", 401

    def __init__(self, message: str = "") -> None:
        super().__init__(message or "not authorized")


class Gone(StatusError):
    """410 reason Gone (errors.NewGone, deprecated upstream in favour of Expired)."""

    reason, code = "Gone", 410

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Expired(StatusError):
    """410 reason Expired: a resourceVersion too old to watch from (errors.NewResourceExpired)."""

    reason, code = "Expired", 410

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @classmethod
    def too_old(cls, requested: int, oldest: int) -> Expired:
        """The watch cache's words (apiserver storage/cacher watch_cache.go)."""
        return cls(f"too old resource version: {requested} ({oldest})")


class BadRequest(StatusError):
    """400: the request cannot be understood (errors.NewBadRequest)."""

    reason, code = "BadRequest", 400

    def __init__(self, message: str) -> None:
        super().__init__(message)


class MethodNotSupported(StatusError):
    """405: ``watch is not supported on resources of kind "bindings"``."""

    reason, code = "MethodNotAllowed", 405

    def __init__(self, resource: str, action: str, group: str = "") -> None:
        super().__init__(f"{action} is not supported on resources of kind "
                         f"{go_quote(qualified(resource, group))}",
                         details=_details("", group, resource))


class NotAcceptable(StatusError):
    """406: no media type in Accept can be served (handlers/negotiation errNotAcceptable)."""

    reason, code = "NotAcceptable", 406

    def __init__(self, accepted: Sequence[str]) -> None:
        super().__init__("only the following media types are accepted: " + ", ".join(accepted))


class UnsupportedMediaType(StatusError):
    """415: the body's Content-Type is unknown (handlers/negotiation errUnsupportedMediaType)."""

    reason, code = "UnsupportedMediaType", 415

    def __init__(self, accepted: Sequence[str]) -> None:
        super().__init__("the body of the request was in an unknown format - accepted media "
                         "types include: " + ", ".join(accepted))


class RequestEntityTooLarge(StatusError):
    """413: ``Request entity too large: ...`` (errors.NewRequestEntityTooLargeError)."""

    reason, code = "RequestEntityTooLarge", 413

    def __init__(self, message: str) -> None:
        super().__init__(f"Request entity too large: {message}")


class TooManyRequests(StatusError):
    """429: try again later (errors.NewTooManyRequests)."""

    reason, code = "TooManyRequests", 429

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(message, details=_details(retry_after=retry_after_seconds) or None)


class InternalError(StatusError):
    """500: ``Internal error occurred: ...`` (errors.NewInternalError)."""

    reason, code = "InternalError", 500

    def __init__(self, err: object) -> None:
        super().__init__(f"Internal error occurred: {err}",
                         details={"causes": [{"message": str(err)}]})


class ServiceUnavailable(StatusError):
    """503 (errors.NewServiceUnavailable)."""

    reason, code = "ServiceUnavailable", 503

    def __init__(self, message: str) -> None:
        super().__init__(message)


class Timeout(StatusError):
    """504: ``Timeout: ...`` (errors.NewTimeoutError)."""

    reason, code = "Timeout", 504

    def __init__(self, message: str, retry_after_seconds: int = 0) -> None:
        super().__init__(f"Timeout: {message}",
                         details=_details(retry_after=retry_after_seconds) or None)


_BY_REASON: dict[str, type[StatusError]] = {
    klass.reason: klass
    for klass in (NotFound, AlreadyExists, Conflict, Invalid, Forbidden, Unauthorized, Gone,
                  Expired, BadRequest, MethodNotSupported, NotAcceptable, UnsupportedMediaType,
                  RequestEntityTooLarge, TooManyRequests, InternalError, ServiceUnavailable,
                  Timeout)
}
