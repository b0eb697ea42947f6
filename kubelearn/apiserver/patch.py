"""Patches: the three ways a PATCH request describes a change.

- JSON merge patch (RFC 7386, ``application/merge-patch+json``): maps merge,
  ``null`` deletes a key, anything else -- lists included -- replaces.
- Strategic merge patch (``application/strategic-merge-patch+json``, what
  ``kubectl apply`` and ``kubectl patch`` send by default): like a merge patch,
  but lists that upstream's Go types tag ``patchStrategy:"merge"`` merge item by
  item on their ``patchMergeKey`` -- containers by ``name``, container ports by
  ``containerPort``, service ports by ``port``, env by ``name``, volumes by
  ``name``, volumeMounts by ``mountPath``, conditions by ``type``,
  ownerReferences by ``uid``... -- with the directives ``$patch: delete`` and
  ``$patch: replace``, ``$setElementOrder/<list>``, ``$deleteFromPrimitiveList/<list>``
  and ``$retainKeys`` (k8s.io/apimachinery/pkg/util/strategicpatch).
- JSON patch (RFC 6902, ``application/json-patch+json``): a list of add,
  remove, replace, move, copy and test operations on JSON pointers.

:func:`apply_patch` applies any of them; a patch that cannot be read is a 400,
one that does not apply a 422 (apiserver endpoints/handlers/patch.go).
:func:`three_way_patch` builds the patch ``kubectl apply`` sends.

The work a patch asks for is bounded, since it is done under the cluster's lock: a JSON
patch may hold at most 10,000 operations and copy at most 3 MiB, and the object it builds
may not outgrow the request body limit; lists merge by key in one pass (an index of the
list, not a search per item); and no patch is followed deeper than :data:`MAX_PATCH_DEPTH`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from kubelearn.api import BadRequest, RequestEntityTooLarge, StatusError, UnsupportedMediaType
from kubelearn.api.manifest import jsonable
from kubelearn.apiserver.request import (
    APPLY_PATCH,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
)

# The patch types this server accepts, as the 415 lists them.
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH)
# An in-process patch becomes the server's own through JSON (json.dumps with options builds
# a new encoder per call, so one is made here).
_to_json = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
# A value as Go's json.Marshal writes it (UTF-8, no spaces): how a JSON patch's sizes count.
_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
SHORT_NAMES = {"json": JSON_PATCH, "merge": MERGE_PATCH, "strategic": STRATEGIC_MERGE_PATCH,
               "apply": APPLY_PATCH}

PRIMITIVE = "<primitive>"  # a list of scalars merged as a set (finalizers)

# maxJSONPatchOperations, k8s.io/apiserver pkg/endpoints/handlers/patch.go (v1.32): more is a 413.
MAX_JSON_PATCH_OPERATIONS = 10000
# JSONPatchMaxCopyBytes, k8s.io/apiserver pkg/server/config.go NewConfig (v1.32), which the
# server installs as evanphx/json-patch's AccumulatedCopySizeLimit: what all of a patch's
# `copy` operations may add, counted as the encoded length of each copied value.
JSON_PATCH_MAX_COPY_BYTES = 3 * 1024 * 1024
# Go's encoding/json refuses JSON nested more than 10000 deep ("exceeded max depth",
# scanner.go maxNestingDepth). Python follows nesting on its stack (1,000 frames), so a
# patch is held to far less -- still five times deeper than any built-in object.
MAX_PATCH_DEPTH = 100

# patchMergeKey of the fields of a container (core/v1 types.go).
_CONTAINER_LISTS = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath",
                    "volumeDevices": "devicePath", "resizePolicy": "resourceName"}
# patchMergeKey of the list fields of a PodSpec.
_POD_SPEC_LISTS = {"containers": "name", "initContainers": "name", "ephemeralContainers": "name",
                   "volumes": "name", "imagePullSecrets": "name", "hostAliases": "ip",
                   "topologySpreadConstraints": "topologyKey", "schedulingGates": "name",
                   "resourceClaims": "name"}
_POD_TEMPLATE_KINDS = {"Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job",
                       "ReplicationController", "PodTemplate"}


def merge_key(kind: str, path: tuple[str, ...]) -> str | None:
    """The patchMergeKey of the list at ``path`` (field names only) in a ``kind``, or None."""
    last = path[-1]
    if path == ("metadata", "ownerReferences"):
        return "uid"
    if path == ("metadata", "finalizers"):
        return PRIMITIVE
    if len(path) >= 2 and last == "conditions" and path[-2] == "status":
        return "type"
    pod_spec = ("spec",) if kind == "Pod" else ("spec", "template", "spec") \
        if kind in _POD_TEMPLATE_KINDS else None
    if pod_spec is not None:
        n = len(pod_spec)
        if path[:n] == pod_spec:
            rest = path[n:]
            if len(rest) == 1 and last in _POD_SPEC_LISTS:
                return _POD_SPEC_LISTS[last]
            if len(rest) == 2 and rest[0] in ("containers", "initContainers",
                                              "ephemeralContainers"):
                return _CONTAINER_LISTS.get(last)
    if kind == "Pod" and path in (("status", "podIPs"), ("status", "hostIPs")):
        return "ip"
    if kind == "Service" and path == ("spec", "ports"):
        return "port"
    if kind == "Node" and path == ("status", "addresses"):
        return "type"
    if kind == "Node" and path == ("spec", "podCIDRs"):
        return PRIMITIVE
    return None


def too_deep(value: Any, limit: int = MAX_PATCH_DEPTH) -> bool:
    """Whether maps and lists nest in the JSON value ``value`` more than ``limit`` deep
    (``{}`` is 1 deep). Walked with a stack of its own, so any depth is safe to ask about."""
    stack = [(value, 1)] if isinstance(value, (dict, list)) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        depth += 1
        for child in node.values() if isinstance(node, dict) else node:
            if isinstance(child, (dict, list)):
                stack.append((child, depth))
    return False


def _check_depth(patch: Any, text: str | None = None) -> None:
    """400 if ``patch`` nests deeper than MAX_PATCH_DEPTH; ``text``, its JSON, often answers
    at once: with no more brackets than that, nothing in it can nest deeper."""
    if text is not None and text.count("{") + text.count("[") <= MAX_PATCH_DEPTH:
        return
    if too_deep(patch):
        raise _depth_error()


def _depth_error() -> BadRequest:
    # Go's decoder says "invalid character '{' exceeded max depth"; ours stops at MAX_PATCH_DEPTH
    return BadRequest("error decoding patch: exceeded max depth")


def _ident(value: Any) -> Any:
    """A hashable stand-in for a JSON value, equal when the values are (``true`` is not 1):
    what lets a list be indexed by its merge key instead of searched once per patch item."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return (bool, value)
    if isinstance(value, (int, float)):
        return (float, value)
    return (dict, json.dumps(value, sort_keys=True, default=str))


# -- JSON merge patch (RFC 7386) ----------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: merge ``patch`` into ``target`` (neither is changed)."""
    _check_depth(patch)
    return _merge(target, copy.deepcopy(patch))


def _merge(target: Any, patch: Any) -> Any:
    """merge_patch with a patch of one's own: its values go into the result uncopied."""
    if not isinstance(patch, Mapping):
        return patch
    result = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


# -- strategic merge patch ----------------------------------------------------------------------


def strategic_merge_patch(original: Mapping[str, Any], patch: Mapping[str, Any],
                          kind: str) -> dict:
    """Merge a strategic merge patch into ``original`` (neither is changed)."""
    _check_depth(patch)
    return _strategic(original, patch, kind)


def _strategic(original: Mapping[str, Any], patch: Mapping[str, Any], kind: str) -> dict:
    if not isinstance(patch, Mapping):
        raise BadRequest("couldn't get version/kind; json parse error: a strategic merge patch "
                         "is a JSON object")
    merged = _merge_map(original, patch, (), kind)
    return merged if merged is not None else {}


def _merge_map(original: Mapping[str, Any], patch: Mapping[str, Any], path: tuple[str, ...],
               kind: str) -> dict | None:
    directive = patch.get("$patch")
    if directive == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if directive == "delete":
        return None
    if directive not in (None, "merge"):
        raise StatusError(f"Unknown patch type: {directive} in map: {json.dumps(patch)}",
                          reason="Invalid", code=422)
    result = dict(original)
    orders: list[tuple[str, list]] = []
    for key, value in patch.items():
        if key in ("$patch", "$retainKeys"):
            continue
        if key.startswith("$setElementOrder/"):
            orders.append((key.partition("/")[2], value if isinstance(value, list) else []))
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.partition("/")[2]
            drop = {_ident(x) for x in value} if isinstance(value, list) else set()
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if _ident(x) not in drop]
            continue
        if value is None:
            result.pop(key, None)
            continue
        sub = (*path, key)
        if isinstance(value, Mapping):
            old = result.get(key)
            merged = _merge_map(old if isinstance(old, Mapping) else {}, value, sub, kind)
            if merged is None:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            old = result.get(key)
            result[key] = _merge_list(old if isinstance(old, list) else [], value, sub, kind)
        else:
            result[key] = value
    for field, order in orders:
        if isinstance(result.get(field), list):
            before = original.get(field)
            result[field] = _in_order(result[field], order, before if isinstance(before, list)
                                      else [], merge_key(kind, (*path, field)))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        keep = {k for k in retain if isinstance(k, str)}
        result = {k: v for k, v in result.items() if k in keep}
    return result


_GONE = object()  # the place of an item deleted while a list merges (dropped at the end)


def _merge_list(original: list, patch: list, path: tuple[str, ...], kind: str) -> list:
    key = merge_key(kind, path)
    if key is None:
        return copy.deepcopy(patch)
    if key == PRIMITIVE:
        return _union(original, patch)
    if any(isinstance(x, Mapping) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, Mapping) and x.get("$patch") == "replace")]
    result = list(original)
    # Where each merge key is in the list, found once: each patch item is then one look-up.
    places: dict[Any, list[int]] = {}
    for i, o in enumerate(result):
        if isinstance(o, Mapping):
            places.setdefault(_ident(o.get(key)), []).append(i)
    for item in patch:
        if not isinstance(item, Mapping):
            raise BadRequest(f"unable to find api field in struct for the list item {item!r}: "
                             f"expected a map with merge key {key!r}")
        if key not in item:
            raise BadRequest(f"map: {json.dumps(item)} does not contain declared merge key: {key}")
        ident = _ident(item[key])
        if item.get("$patch") == "delete":  # every item with that key goes
            for i in places.pop(ident, ()):
                result[i] = _GONE
        elif ident in places:
            i = places[ident][0]
            result[i] = _merge_map(result[i], item, path, kind)
        else:
            merged = _merge_map({}, item, path, kind)
            places[ident] = [len(result)]
            result.append(merged)
    named = [x for x in patch if x.get("$patch") is None]  # the directives name nothing
    return _in_order([o for o in result if o is not _GONE], named, original, key)


def _union(original: list, patch: list) -> list:
    """A list of scalars merged as a set: the original, then each new value once
    (strategicpatch's deduplicateScalars)."""
    seen = {_ident(x) for x in original}
    result = list(original)
    for x in patch:
        ident = _ident(x)
        if ident not in seen:
            seen.add(ident)
            result.append(x)
    return _in_order(result, patch, original, PRIMITIVE)


def _in_order(items: list, order: list, original: list, key: str | None) -> list:
    """``items`` (a merged list) in the order strategicpatch's normalizeElementOrder gives.

    The items named in ``order`` (the patch's list, or its ``$setElementOrder``) take
    that order; the others -- the server's own, like a volume admission added -- keep
    the order they had in ``original``. The two runs are then interleaved
    (mergeSortedSlice): a server-only item goes before a named one that came after it
    in ``original``; a named item that is new goes before the server-only items still
    waiting. So a container added by a patch lands after the named ones before it,
    not at the end: patching ``[web, log]`` with ``[web, new]`` gives
    ``[web, new, log]``.
    """
    def ident(x: Any) -> Any:
        if key and key != PRIMITIVE and isinstance(x, Mapping):
            return _ident(x.get(key))
        return _ident(x)

    rank: dict[Any, int] = {}
    for i, x in enumerate(order):
        rank.setdefault(ident(x), i)
    was: dict[Any, int] = {}
    for i, x in enumerate(original):
        was.setdefault(ident(x), i)
    named = sorted((x for x in items if ident(x) in rank), key=lambda x: rank[ident(x)])
    server = sorted((x for x in items if ident(x) not in rank),
                    key=lambda x: was.get(ident(x), len(original)))
    out: list = []
    i = 0
    for x in named:  # before each named item, the server-only ones that preceded it
        place = was.get(ident(x))
        while i < len(server) and place is not None and \
                was.get(ident(server[i]), len(original)) < place:
            out.append(server[i])
            i += 1
        out.append(x)
    return out + server[i:]


# -- JSON patch (RFC 6902) ----------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    """The reference tokens of a JSON pointer."""
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _unprocessable(f"JSON pointer must be empty or start with a \"/\": {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _unprocessable(message: str) -> StatusError:
    """422 for a patch that does not apply (NewGenericServerResponse 422)."""
    return StatusError(message, reason="Invalid", code=422)


def _missing(op: str, path: str, value: bool = True) -> StatusError:
    tail = ": missing value" if value else ""
    return _unprocessable(f"{op} operation does not apply: doc is missing path: \"{path}\"{tail}")


def _index(token: str) -> int:
    """A reference token as a list index: ASCII digits (RFC 6901), else -1 (no such index).
    int() alone would read "\u0661" and fail on "\u00b2" or on thousands of digits."""
    if token.isascii() and token.isdigit() and len(token) < 10:
        return int(token)
    return -1


def _walk(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    """The node at ``tokens`` below ``doc``; 422 when the path is missing."""
    node = doc
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and 0 <= _index(token) < len(node):
            node = node[_index(token)]
        else:
            raise _missing(op, path)
    return node


def _encoded(value: Any) -> str:
    """``value`` as compact JSON; one nested too deep to encode is a 422."""
    try:
        return _compact(value)
    except RecursionError:
        raise _unprocessable("the patched object is nested too deep: exceeded max depth") from None


def _bytes(text: str) -> int:
    """The length of ``text`` in UTF-8 (a lone surrogate, which Go writes as U+FFFD, is 3)."""
    return len(text.encode("utf-8", "surrogatepass"))


def _size(value: Any) -> int:
    """The bytes ``value`` takes in JSON."""
    return _bytes(_encoded(value))


def _entry_size(key: str | None) -> int:
    """What a map entry adds besides its value (``"key":`` and a comma), or a list item's comma."""
    return 1 if key is None else _bytes(_encoded(key)) + 2


class _JSONPatch:
    """A JSON patch being applied: the document so far, how big it is, how much was copied.

    Each operation costs about what it adds or takes away, never the whole document: the
    size is kept up to date from the encoded length of what goes in and out, so a document
    that would outgrow the request body limit stops at the operation that outgrows it, and
    copying stops at the accumulated copy limit, as evanphx/json-patch stops it upstream."""

    def __init__(self, document: Any, max_bytes: int) -> None:
        text = _encoded(document)
        self.doc = json.loads(text)  # a copy of our own
        self.size = _bytes(text)
        self.copied = 0
        self.max_bytes = max_bytes

    def apply(self, operations: list) -> Any:
        for operation in operations:
            if not isinstance(operation, Mapping) or not isinstance(operation.get("op"), str):
                raise BadRequest(f"Unexpected kind: {operation!r}")
            op, path = operation["op"], operation.get("path")
            if op in ("add", "replace"):
                text = _encoded(operation.get("value"))
                self.put(path, json.loads(text), _bytes(text), op, replace=op == "replace")
            elif op == "remove":
                self.take(path, op, sized=True)
            elif op == "move":  # the value moves whole: its size is already counted
                self.put(path, self.take(operation.get("from"), op, sized=False), None, op)
            elif op == "copy":
                self.copy(operation.get("from"), path)
            elif op == "test":
                if _walk(self.doc, _pointer(path), op, path) != operation.get("value"):
                    raise _unprocessable(f"testing value {path} failed: test failed")
            else:
                raise BadRequest(f"Unexpected kind: {op}")
            if self.size > self.max_bytes:
                raise RequestEntityTooLarge(f"limit is {self.max_bytes}")
        if too_deep(self.doc):
            raise _unprocessable(f"the patched object is nested more than {MAX_PATCH_DEPTH} "
                                 "levels deep: exceeded max depth")
        return self.doc

    def put(self, path: Any, value: Any, size: int | None, op: str,
            replace: bool = False) -> None:
        """Add ``value`` (``size`` bytes; None: counted already) at ``path``, or replace
        what is there."""
        tokens = _pointer(path)
        if replace:
            _walk(self.doc, tokens, op, path)  # what is replaced must be there
        if not tokens:
            self.doc, self.size = value, _size(value) if size is None else size
            return
        parent = _walk(self.doc, tokens[:-1], op, path)
        last = tokens[-1]
        if isinstance(parent, dict):
            grown = -_size(parent[last]) if last in parent else _entry_size(last)
            parent[last] = value
        elif isinstance(parent, list):
            index = len(parent) if last == "-" else _index(last)
            if replace and 0 <= index < len(parent):
                grown = -_size(parent[index])
                parent[index] = value
            elif not replace and 0 <= index <= len(parent):
                grown = _entry_size(None)
                parent.insert(index, value)
            else:
                raise _missing(op, path)
        else:
            raise _missing(op, path, value=False)
        self.size += grown + (size or 0)

    def take(self, path: Any, op: str, sized: bool) -> Any:
        """Remove the value at ``path`` and return it (``sized``: count what it took)."""
        tokens = _pointer(path)
        if not tokens:
            raise _missing(op, path, value=False)
        parent = _walk(self.doc, tokens[:-1], op, path)
        last = tokens[-1]
        if isinstance(parent, dict) and last in parent:
            value, entry = parent.pop(last), _entry_size(last)
        elif isinstance(parent, list) and 0 <= _index(last) < len(parent):
            value, entry = parent.pop(_index(last)), _entry_size(None)
        else:
            raise _missing(op, path)
        self.size -= entry + (_size(value) if sized else 0)
        return value

    def copy(self, source: Any, path: Any) -> None:
        """Copy the value at ``source`` to ``path``, adding up what copies cost."""
        text = _encoded(_walk(self.doc, _pointer(source), "copy", source))
        size = _bytes(text)
        self.copied += size
        if self.copied > JSON_PATCH_MAX_COPY_BYTES:
            # AccumulatedCopySizeError, evanphx/json-patch v4 errors.go
            raise _unprocessable(f"Unable to complete the copy, the accumulated size increase "
                                 f"of copy is {self.copied}, exceeding the limit "
                                 f"{JSON_PATCH_MAX_COPY_BYTES}")
        self.put(path, json.loads(text), size, "copy")


def json_patch(document: Any, operations: Any) -> Any:
    """RFC 6902: apply each operation in turn to a copy of ``document``."""
    _check_depth(operations)
    return _json_patch(document, operations)


def _json_patch(document: Any, operations: Any) -> Any:
    from kubelearn.apiserver.rest import MAX_REQUEST_BODY_BYTES  # rest imports this module

    if not isinstance(operations, list):
        raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    if len(operations) > MAX_JSON_PATCH_OPERATIONS:
        raise RequestEntityTooLarge(f"The allowed maximum operations in a JSON patch is "
                                    f"{MAX_JSON_PATCH_OPERATIONS}, got {len(operations)}")
    return _JSONPatch(document, MAX_REQUEST_BODY_BYTES).apply(operations)


# -- applying a PATCH request -------------------------------------------------------------------


def parse_patch(body: Any) -> Any:
    """A PATCH body as JSON values of its own: text is parsed, dicts and lists go through
    JSON, as over HTTP (the caller's objects are never shared with the result)."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            patch = json.loads(body)
        except ValueError as err:
            raise BadRequest(f"error decoding patch: {err}") from None
        except RecursionError:
            raise _depth_error() from None
        _check_depth(patch, body)
        return patch
    if body is None:
        raise BadRequest("the body of the request was empty: a patch is required")
    text = None
    try:
        try:
            text = _to_json(body)
            patch = json.loads(text)
        except (TypeError, ValueError):
            patch = jsonable(body)
    except RecursionError:
        raise _depth_error() from None
    _check_depth(patch, text)
    return patch


def apply_patch(original: Mapping[str, Any], body: Any, patch_type: str | None,
                kind: str) -> dict:
    """The object ``original`` becomes after a PATCH of ``patch_type`` (a new dict)."""
    patch_type = SHORT_NAMES.get(patch_type or "strategic", patch_type)
    if patch_type not in PATCH_TYPES:
        raise UnsupportedMediaType(PATCH_TYPES)
    patch = parse_patch(body)  # of our own, and no deeper than MAX_PATCH_DEPTH
    if patch_type == JSON_PATCH:
        result = _json_patch(original, patch)
    elif not isinstance(patch, Mapping):
        raise BadRequest("json: cannot unmarshal array into Go value of type "
                         "map[string]interface {}")
    elif patch_type == MERGE_PATCH:
        result = _merge(original, patch)  # the patch is ours: parse_patch made it
    else:
        result = _strategic(original, patch, kind)
    if not isinstance(result, dict):
        raise BadRequest("the patch did not produce an object")
    return result


# -- kubectl apply's patch ----------------------------------------------------------------------


def three_way_patch(last_applied: Mapping[str, Any] | None, new: Mapping[str, Any],
                    kind: str) -> dict:
    """The strategic merge patch ``kubectl apply`` sends: ``new``, plus deletions of what
    the last applied configuration had and ``new`` no longer has."""
    _check_depth(new)  # the diff follows ``new`` as deep as it goes
    return _diff_map(last_applied or {}, new, (), kind)


def _diff_map(last: Mapping[str, Any], new: Mapping[str, Any], path: tuple[str, ...],
              kind: str) -> dict:
    patch: dict[str, Any] = {}
    for key in last:
        if key not in new:
            patch[key] = None
    for key, value in new.items():
        old = last.get(key)
        sub = (*path, key)
        if isinstance(value, Mapping) and isinstance(old, Mapping):
            patch[key] = _diff_map(old, value, sub, kind)
        elif isinstance(value, list) and isinstance(old, list):
            mkey = merge_key(kind, sub)
            if mkey and mkey != PRIMITIVE:
                patch[key], patch[f"$setElementOrder/{key}"] = _diff_list(old, value, sub,
                                                                          kind, mkey)
            else:
                patch[key] = copy.deepcopy(value)
        else:
            patch[key] = copy.deepcopy(value)
    return patch


def _diff_list(last: list, new: list, path: tuple[str, ...], kind: str,
               key: str) -> tuple[list, list]:
    """A list merged on ``key``: each new item's own patch, a delete for each item gone,
    and the order of the new list ($setElementOrder). The last list is indexed by key once."""
    before: dict[Any, Mapping] = {}
    for o in last:
        if isinstance(o, Mapping):
            before.setdefault(_ident(o.get(key)), o)
    items: list[Any] = []
    for x in new:
        if isinstance(x, Mapping):
            item = _diff_map(before.get(_ident(x.get(key)), {}), x, path, kind)
            item[key] = x.get(key)
            items.append(item)
        else:
            items.append(x)
    kept = {_ident(x.get(key)) for x in new if isinstance(x, Mapping)}
    items += [{"$patch": "delete", key: o.get(key)} for o in last
              if isinstance(o, Mapping) and _ident(o.get(key)) not in kept]
    return items, [{key: x.get(key)} for x in new if isinstance(x, Mapping)]
