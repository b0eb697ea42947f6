"""REST: how an HTTP request becomes a Request, and an answer becomes bytes.

The pure half of the HTTP front (no sockets, no threads; those are in
:mod:`kubelearn.apiserver.http`), each step as kube-apiserver's handlers take it
(k8s.io/apiserver/pkg/endpoints/handlers):

- :func:`route` -- the REST path and method to a
  :class:`~kubelearn.apiserver.request.Request`: ``/api/v1/namespaces/default/pods/web``
  and ``/apis/apps/v1/...``, cluster-scoped and namespaced, subresources,
  ``?watch=true`` and the legacy ``/watch/`` paths; HTTP methods to verbs
  (GET: get/list/watch, POST: create, PUT: update, PATCH: patch, DELETE:
  delete/deletecollection). No route: 404; a method the path does not take: 405.
- :func:`query_options` -- query parameters checked as the API server's
  parameter codec converts them (``limit=abc`` is a 400).
- :func:`decode_body` -- the body: JSON or YAML (protobuf for the few kinds
  kubectl sends so, :mod:`~kubelearn.apiserver.protobuf`), or a patch in a
  patch type the API server applies. Server-side apply's
  ``application/apply-patch+yaml`` is not one of them: a 415, which kubectl
  reports as "Server-side apply not available on the server".
- :func:`warning_headers` -- the warnings a request collected (unknown
  fields...) as ``Warning: 299 - "..."`` headers, deduplicated and truncated
  as the apiserver's warning recorder does;
- :func:`negotiate` -- the Accept header to an :class:`Answer`: JSON or YAML,
  optionally converted to a server-side ``Table`` (what ``kubectl get`` prints)
  or PartialObjectMetadata(List); :func:`convert` does the conversion and
  :func:`encode` the bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote

import yaml

from kubelearn.api import (
    BadRequest,
    NotAcceptable,
    NotFound,
    StatusError,
    UnsupportedMediaType,
    to_yaml,
)
from kubelearn.api.errors import FieldError, go_quote
from kubelearn.api.manifest import jsonable
from kubelearn.api.schema import TOO_DEEP
from kubelearn.apiserver import discovery, protobuf
from kubelearn.apiserver.patch import PATCH_TYPES  # json, merge, strategic: upstream's order
from kubelearn.apiserver.request import APPLY_PATCH, JSON_PATCH, MERGE_PATCH, Request

# k8s.io/apiserver/pkg/server/config.go: MaxRequestBodyBytes, 3 MiB by default
# (etcd's own limit is 1.5 MiB a value; the slack is for YAML and patches).
MAX_REQUEST_BODY_BYTES = 3 * 1024 * 1024

JSON = "application/json"
YAML = "application/yaml"
PROTOBUF = protobuf.MEDIA_TYPE
SERVED_MEDIA_TYPES = (JSON, YAML)
META_GROUP = "meta.k8s.io"
TABLE_VERSIONS = ("v1", "v1beta1")
INCLUDE_OBJECT = ("", "Metadata", "None", "Object")  # metav1.IncludeObjectPolicy

NOT_FOUND_MESSAGE = "the server could not find the requested resource"
METHOD_NOT_ALLOWED_MESSAGE = "the server does not allow this method on the requested resource"


class RouteNotFound(NotFound):
    """404 for a path no route serves, with upstream's words."""

    def __init__(self) -> None:
        StatusError.__init__(self, NOT_FOUND_MESSAGE, details={})


class MethodNotAllowed(StatusError):
    """405 for a method a path does not serve."""

    reason, code = "MethodNotAllowed", 405

    def __init__(self) -> None:
        super().__init__(METHOD_NOT_ALLOWED_MESSAGE, details={})


# -- routing ------------------------------------------------------------------------


class ResourceIndex:
    """The registry's resources by (group, version, plural), as the URL router needs them."""

    def __init__(self, resources: Any) -> None:
        self.resources = list(resources)
        self._by_path = {(i.group, i.version, i.resource): i for i in self.resources}

    def find(self, group: str, version: str, resource: str) -> Any | None:
        """The registry entry serving ``resource`` in ``group/version``, or None."""
        return self._by_path.get((group, version, resource))

    def groups(self) -> dict[str, list[str]]:
        """Named groups and their versions."""
        return discovery.group_versions(self.resources)


def go_bool(value: str) -> bool:
    """A query flag as the parameter codec reads it: only ``0`` and ``false`` are false."""
    return not (value == "0" or value.lower() == "false")


def query_option(query: Mapping[str, Any] | None, name: str) -> str:
    """A query option as a string ('' when absent; a bool in-process as "true"/"false")."""
    value = query.get(name) if query else None
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def query_flag(query: Mapping[str, Any] | None, name: str) -> bool | None:
    """A boolean query option: None when absent, else as the parameter codec reads it
    (runtime.Convert_Slice_string_To_bool, v1.32: ``?watch=``, ``=t`` and ``=yes`` are
    true; in-process callers may pass a bool)."""
    value = query.get(name) if query else None
    if value is None or isinstance(value, bool):
        return value
    return go_bool(str(value))


def route(method: str, path: str, query: dict[str, str], index: ResourceIndex) -> Request:
    """The Request a REST path and method stand for; RouteNotFound or MethodNotAllowed if none."""
    segments = path.strip("/").split("/")
    if segments[0] == "api" and len(segments) >= 2:
        group, version, rest = "", segments[1], segments[2:]
    elif segments[0] == "apis" and len(segments) >= 3:
        group, version, rest = segments[1], segments[2], segments[3:]
    else:
        raise RouteNotFound()
    rest = [unquote(s) for s in rest]
    if not rest or any(not s for s in rest):
        raise RouteNotFound()
    legacy_watch = rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
        if not rest:
            raise RouteNotFound()
    namespace: str | None = None
    nested = len(rest) >= 3 and rest[0] == "namespaces" and index.find(group, version, rest[2])
    if nested and nested.namespaced:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 3:
        raise RouteNotFound()
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else None
    subresource = rest[2] if len(rest) > 2 else None
    info = index.find(group, version, resource)
    if info is None:
        raise RouteNotFound()
    if info.namespaced and namespace is None and name is not None:
        raise RouteNotFound()  # /api/v1/pods/web: a namespaced object needs its namespace
    if subresource is not None and subresource not in info.subresources:
        raise RouteNotFound()
    verb = _verb(method, name, subresource, legacy_watch, query)
    if legacy_watch and name is not None:
        query = _name_selector(query, name)
        name = None
    return Request(verb=verb, resource=resource, group=group, version=version,
                   namespace=namespace, name=name, subresource=subresource, query=query)


def _verb(method: str, name: str | None, subresource: str | None, legacy_watch: bool,
          query: dict[str, str]) -> str:
    """The verb of an HTTP method on a collection or an object."""
    if legacy_watch:
        if method != "GET" or subresource:
            raise MethodNotAllowed()
        return "watch"
    if method == "GET":
        if name is not None:
            return "get"
        return "watch" if go_bool(query.get("watch", "false")) else "list"
    if method == "POST" and (name is None or subresource):
        return "create"
    if method == "PUT" and name is not None:
        return "update"
    if method == "PATCH" and name is not None:
        return "patch"
    if method == "DELETE" and not subresource:
        return "delete" if name is not None else "deletecollection"
    raise MethodNotAllowed()


def _name_selector(query: dict[str, str], name: str) -> dict[str, str]:
    """A legacy ``/watch/.../<name>`` becomes a watch with ``metadata.name=<name>`` (get.go)."""
    selector = query.get("fieldSelector", "")
    wanted = f"metadata.name={name}"
    if selector and wanted not in selector.split(","):
        raise BadRequest("fieldSelector metadata.name doesn't match requested name")
    return {**query, "fieldSelector": selector or wanted}


# -- query parameters -------------------------------------------------------------

INT_PARAMS = ("limit", "timeoutSeconds", "gracePeriodSeconds")
INT64_MIN, INT64_MAX = -(2 ** 63), 2 ** 63 - 1


def _parse_int(value: str) -> str | None:
    """Why strconv.ParseInt(value, 10, 64) fails, or None."""
    digits = value[1:] if value[:1] in "+-" else value
    if not digits or not (digits.isascii() and digits.isdigit()):
        return f"strconv.ParseInt: parsing {go_quote(value)}: invalid syntax"
    if not INT64_MIN <= int(value) <= INT64_MAX:
        return f"strconv.ParseInt: parsing {go_quote(value)}: value out of range"
    return None


def query_options(raw_query: str) -> dict[str, str]:
    """The query string as {name: first value}, integers checked as the parameter codec does."""
    query: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True, errors="replace"):
        query.setdefault(key, value)  # url.Values.Get: the first value wins
    for key in INT_PARAMS:
        if key in query and query[key] != "":
            problem = _parse_int(query[key])
            if problem:
                raise BadRequest(problem)
    return query


# -- content negotiation ----------------------------------------------------------


class MediaType(NamedTuple):
    """One clause of an Accept header: ``application/json;as=Table;v=v1;g=meta.k8s.io``."""

    type: str
    params: dict[str, str]
    q: float


def media_types(header: str) -> list[MediaType]:
    """The clauses of an Accept header, most preferred first (by q, then by position)."""
    clauses = []
    for part in header.split(","):
        kind, *params = (p.strip() for p in part.split(";"))
        if not kind:
            continue
        values = {}
        for param in params:
            key, _, value = param.partition("=")
            values[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(values.pop("q", "1"))
        except ValueError:
            q = 1.0
        clauses.append(MediaType(kind.lower(), values, q))
    return sorted((c for c in clauses if c.q > 0), key=lambda c: -c.q)


class Answer(NamedTuple):
    """How to encode an answer: ``json`` or ``yaml``, optionally converted (``Table``...)."""

    encoding: str
    convert: str = ""  # "", "Table", "PartialObjectMetadata", "PartialObjectMetadataList"
    version: str = "v1"  # of the meta.k8s.io conversion


def negotiate(accept: str | None) -> Answer:
    """The answer format a resource request's Accept header asks for; 406 if none is served."""
    if not accept or not accept.strip():
        return Answer("json")
    for clause in media_types(accept):
        if clause.type in ("*/*", "application/*", JSON):
            encoding = "json"
        elif clause.type == YAML:
            encoding = "yaml"
        else:
            continue  # protobuf, CBOR, text/html...: not served here
        convert = clause.params.get("as", "")
        if not convert:
            return Answer(encoding)
        if (clause.params.get("g") == META_GROUP and clause.params.get("v") in TABLE_VERSIONS
                and convert in ("Table", "PartialObjectMetadata", "PartialObjectMetadataList")):
            return Answer(encoding, convert, clause.params["v"])
    raise NotAcceptable(SERVED_MEDIA_TYPES)


def wants_aggregated(accept: str | None) -> str:
    """The apidiscovery.k8s.io version an Accept header prefers for /api and /apis, or ''."""
    for clause in media_types(accept or ""):
        if clause.type in (JSON, "application/*", "*/*"):
            params = clause.params
            if not params.get("as"):
                return ""
            if (params.get("as") == "APIGroupDiscoveryList"
                    and params.get("g") == discovery.AGGREGATED_GROUP
                    and params.get("v") in discovery.AGGREGATED_VERSIONS):
                return params["v"]
    return ""


def encode(obj: Any, encoding: str = "json", *, pretty: bool = False) -> bytes:
    """An answer's bytes, as JSON (one line, newline-terminated) or YAML, in UTF-8."""
    if encoding == "yaml":
        try:
            text = to_yaml(obj)
        except RecursionError:  # deeper than PyYAML recurses: JSON is YAML too
            text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    elif pretty:
        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    else:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate from a "\ud800" escape: U+FFFD, as Go writes
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace").encode()


def content_type(encoding: str) -> str:
    """The Content-Type of an encoding."""
    return YAML if encoding == "yaml" else JSON


# -- warnings -----------------------------------------------------------------------

# k8s.io/apiserver pkg/endpoints/filters/warning.go: past 4 Ki runes of warning text in
# all, every warning is cut to 256 runes.
TRUNCATE_AT_TOTAL_RUNES = 4 * 1024
TRUNCATE_ITEM_RUNES = 256


def _warning_header(text: str) -> str | None:
    """``299 - "text"`` (apimachinery util/net NewWarningHeader); None for control characters."""
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 for ch in text):  # unicode.IsControl
        return None
    quoted = text.replace("\\", "\\\\").replace('"', '\\"')  # makeQuotedString
    return f'299 - "{quoted}"'


def warning_headers(warnings: list[str]) -> list[str]:
    """The ``Warning`` header values of a request's warnings, as the warning recorder adds
    them: each text once; past 4 Ki runes in all, every one cut to 256 runes, and none
    added once the cut ones fill 4 Ki."""
    written, truncating, kept, out = 0, False, [], []
    for text in dict.fromkeys(w for w in warnings if w):
        if truncating and written >= TRUNCATE_AT_TOTAL_RUNES:
            break
        kept.append(text)
        if truncating:
            text = text[:TRUNCATE_ITEM_RUNES]
        elif written + len(text) > TRUNCATE_AT_TOTAL_RUNES:  # replay what was added, cut
            truncating, written, out = True, 0, []
            for earlier in kept:
                header = _warning_header(earlier[:TRUNCATE_ITEM_RUNES])
                if header is not None:
                    written += len(earlier[:TRUNCATE_ITEM_RUNES])
                    out.append(header)
            continue
        header = _warning_header(text)
        if header is not None:
            written += len(text)
            out.append(header)
    return out


# -- request bodies ---------------------------------------------------------------

_GVK_STRUCT = ('struct { APIVersion string "json:\\"apiVersion,omitempty\\""; '
               'Kind string "json:\\"kind,omitempty\\"" }')


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid character '{name[0]}' looking for beginning of value")


def _parse_json(text: str) -> Any:
    """JSON as Go's encoding/json reads it (no NaN, no Infinity)."""
    return json.loads(text, parse_constant=_reject_constant)


def decode_body(raw: bytes, mime: str, verb: str) -> Any:
    """A request body decoded by its Content-Type; BadRequest or 415 if it cannot be."""
    if verb == "patch":
        if mime not in PATCH_TYPES:
            raise UnsupportedMediaType(PATCH_TYPES)
    elif mime == PROTOBUF and verb in ("create", "update"):
        return protobuf.decode(raw)  # only the few kinds kubectl sends so
    elif mime not in ("", JSON, YAML, "application/yml", "text/yaml", "*/*"):
        raise UnsupportedMediaType([JSON, YAML, PROTOBUF])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("the request body is not valid UTF-8") from None
    if verb == "patch":
        return _decode_patch(text, mime)
    if not text.strip():
        if verb in ("delete", "deletecollection"):
            return None
        raise BadRequest("couldn't get version/kind; json parse error: unexpected end of "
                         "JSON input")
    try:
        if mime in (YAML, "application/yml", "text/yaml"):
            body = jsonable(_bounded(yaml.safe_load(text)))
        else:
            body = _parse_json(text)
    except StatusError:
        raise
    except RecursionError:  # deeper than Python's parsers go: far past schema.MAX_DEPTH
        raise BadRequest(TOO_DEEP) from None
    except (ValueError, yaml.YAMLError, TypeError) as err:
        what = "yaml" if mime.endswith("yaml") or mime.endswith("yml") else "json"
        raise BadRequest(f"couldn't get version/kind; {what} parse error: "
                         f"{_first_line(err)}") from None
    if not isinstance(body, dict):
        kind = _json_kind(body)
        raise BadRequest(f"couldn't get version/kind; json parse error: json: cannot unmarshal "
                         f"{kind} into Go value of type {_GVK_STRUCT}")
    return body


def _decode_patch(text: str, mime: str) -> Any:
    """A patch body: a list of operations (json-patch) or an object (the others)."""
    try:
        if mime == APPLY_PATCH:
            patch = jsonable(_bounded(yaml.safe_load(text)))
        else:
            patch = _parse_json(text)
    except StatusError:
        raise
    except (ValueError, yaml.YAMLError, RecursionError, TypeError) as err:
        raise BadRequest(f"error decoding patch: {_first_line(err)}") from None
    if mime == JSON_PATCH:
        if not isinstance(patch, list):
            raise BadRequest(f"json: cannot unmarshal {_json_kind(patch)} into Go value of "
                             "type jsonpatch.Patch")
    elif not isinstance(patch, dict):
        if mime == APPLY_PATCH:
            raise BadRequest("error decoding YAML: error unmarshaling JSON: while decoding "
                             f"JSON: json: cannot unmarshal {_json_kind(patch)} into Go value "
                             "of type map[string]interface {}")
        raise BadRequest("Invalid JSON Patch" if mime == MERGE_PATCH else
                         f"json: cannot unmarshal {_json_kind(patch)} into Go value of type "
                         "map[string]interface {}")
    return patch


# go-yaml refuses a document whose aliases expand it beyond reason ("billion
# laughs"); a body of 3 MiB never honestly holds more values than this.
MAX_YAML_VALUES = 1_000_000


def _bounded(document: Any) -> Any:
    """``document`` if its aliases do not expand it past MAX_YAML_VALUES values, else 400."""
    budget, stack = MAX_YAML_VALUES, [document]
    while stack:
        value = stack.pop()
        budget -= 1
        if budget < 0:
            raise BadRequest("error converting YAML to JSON: yaml: document contains "
                             "excessive aliasing")
        if isinstance(value, dict):
            stack.extend(value.values())
            stack.extend(value.keys())
        elif isinstance(value, list):
            stack.extend(value)
    return document


def _first_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    return text.splitlines()[0] if text else text


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


# -- Table and metadata conversion -------------------------------------------------


def partial_metadata(obj: dict[str, Any], version: str) -> dict[str, Any]:
    """An object cut to its metadata (meta.AsPartialObjectMetadata)."""
    return {"kind": "PartialObjectMetadata", "apiVersion": f"{META_GROUP}/{version}",
            "metadata": obj.get("metadata", {})}


def _is_list(result: dict[str, Any]) -> bool:
    return isinstance(result.get("items"), list) and str(result.get("kind", "")).endswith("List")


def _with_type(obj: dict[str, Any], info: Any) -> dict[str, Any]:
    """``obj`` with kind and apiVersion set, as items of a list lack them."""
    if obj.get("kind") and obj.get("apiVersion"):
        return obj
    return {"kind": info.kind,
            "apiVersion": discovery.group_version(info.group, info.version), **obj}


def table_options(query: dict[str, str]) -> str:
    """The ``includeObject`` of a Table request, checked (ValidateTableOptions)."""
    include = query.get("includeObject", "")
    if include not in INCLUDE_OBJECT:
        error = FieldError.not_supported("includeObject", include, INCLUDE_OBJECT)
        raise BadRequest(f"Unable to convert to Table as requested: {error}")
    return include


def convert(result: dict[str, Any], answer: Answer, info: Any, query: dict[str, str],
            table: Callable[..., dict[str, Any]], now: str, *, headers: bool = True) -> Any:
    """The answer converted as Accept asked (Table, PartialObjectMetadata[List]); Status as is."""
    if not answer.convert or result.get("kind") == "Status":
        return result
    items = result["items"] if _is_list(result) else [result]
    if answer.convert == "PartialObjectMetadata":
        if _is_list(result):
            raise NotAcceptable(["you requested PartialObjectMetadata, but the requested "
                                 "object is a list"])
        return partial_metadata(result, answer.version)
    if answer.convert == "PartialObjectMetadataList":
        if not _is_list(result):
            raise NotAcceptable(["you requested PartialObjectMetadataList, but the requested "
                                 "object is not a list"])
        return {"kind": "PartialObjectMetadataList", "apiVersion": f"{META_GROUP}/{answer.version}",
                "metadata": result.get("metadata", {}),
                "items": [partial_metadata(i, answer.version) for i in items]}
    include = table_options(query)
    # a Scale (deployments/x/scale) is not a Deployment: the default columns for it
    kind = info.kind if _is_list(result) else result.get("kind") or info.kind
    resource = info.resource if kind == info.kind else str(kind)
    out = table(resource, items, now=now, wide=True, include_object="None")
    out["apiVersion"] = f"{META_GROUP}/{answer.version}"
    meta = result.get("metadata", {}) if _is_list(result) else {
        "resourceVersion": result.get("metadata", {}).get("resourceVersion", "")}
    out["metadata"] = {k: v for k, v in meta.items()
                       if k in ("resourceVersion", "continue", "remainingItemCount")}
    for row, obj in zip(out.get("rows", []), items, strict=False):
        if include == "Object":
            row["object"] = _with_type(obj, info)
        elif include == "None":
            row["object"] = None
        else:
            row["object"] = partial_metadata(obj, answer.version)
    if not headers:  # a watch's later events carry rows only (watchEmbeddedEncoder NoHeaders)
        out["columnDefinitions"] = None
    return out
