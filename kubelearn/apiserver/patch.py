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
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from kubelearn.api import BadRequest, StatusError, UnsupportedMediaType
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
SHORT_NAMES = {"json": JSON_PATCH, "merge": MERGE_PATCH, "strategic": STRATEGIC_MERGE_PATCH,
               "apply": APPLY_PATCH}

PRIMITIVE = "<primitive>"  # a list of scalars merged as a set (finalizers)

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


# -- JSON merge patch (RFC 7386) ----------------------------------------------------------------


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: merge ``patch`` into ``target`` (neither is changed)."""
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
            drop = value if isinstance(value, list) else []
            if isinstance(result.get(field), list):
                result[field] = [x for x in result[field] if x not in drop]
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
            result[field] = _reorder(result[field], order, merge_key(kind, (*path, field)))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def _merge_list(original: list, patch: list, path: tuple[str, ...], kind: str) -> list:
    key = merge_key(kind, path)
    if key is None:
        return copy.deepcopy(patch)
    if key == PRIMITIVE:
        return list(original) + [x for x in patch if x not in original]
    if any(isinstance(x, Mapping) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch
                if not (isinstance(x, Mapping) and x.get("$patch") == "replace")]
    result = list(original)
    for item in patch:
        if not isinstance(item, Mapping):
            raise BadRequest(f"unable to find api field in struct for the list item {item!r}: "
                             f"expected a map with merge key {key!r}")
        if key not in item:
            raise BadRequest(f"map: {json.dumps(item)} does not contain declared merge key: {key}")
        value = item[key]
        at = [i for i, o in enumerate(result) if isinstance(o, Mapping) and o.get(key) == value]
        if item.get("$patch") == "delete":
            result = [o for i, o in enumerate(result) if i not in at]
            continue
        if at:
            merged = _merge_map(result[at[0]], item, path, kind)
            if merged is None:
                del result[at[0]]
            else:
                result[at[0]] = merged
        else:
            merged = _merge_map({}, item, path, kind)
            if merged is not None:
                result.append(merged)
    return result


def _reorder(items: list, order: list, key: str | None) -> list:
    """$setElementOrder: items named in ``order`` first, in that order; the rest after."""
    def ident(x: Any) -> Any:
        if key and key != PRIMITIVE and isinstance(x, Mapping):
            return json.dumps(x.get(key), sort_keys=True)
        return json.dumps(x, sort_keys=True)

    rank = {ident(x): i for i, x in enumerate(order)}
    ranked = sorted((x for x in items if ident(x) in rank), key=lambda x: rank[ident(x)])
    return ranked + [x for x in items if ident(x) not in rank]


# -- JSON patch (RFC 6902) ----------------------------------------------------------------------


def _pointer(path: Any) -> list[str]:
    """The reference tokens of a JSON pointer."""
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise _unprocessable(f"JSON pointer must be empty or start with a \"/\": {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _unprocessable(message: str) -> StatusError:
    """422 for a patch that does not apply (NewGenericServerResponse 422)."""
    return StatusError(message, reason="Invalid", code=422)


def _walk(doc: Any, tokens: list[str], op: str, path: str) -> Any:
    """The node at ``tokens`` below ``doc``; 422 when the path is missing."""
    node = doc
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            raise _unprocessable(f"{op} operation does not apply: doc is missing path: "
                                 f"\"{path}\": missing value")
    return node


def _parent(doc: Any, tokens: list[str], op: str, path: str) -> tuple[Any, str]:
    return _walk(doc, tokens[:-1], op, path), tokens[-1]


def _get(doc: Any, path: str, op: str) -> Any:
    return _walk(doc, _pointer(path), op, path)


def _add(doc: Any, path: str, value: Any, op: str = "add") -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, op, path)
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise _unprocessable(f"{op} operation does not apply: doc is missing path: "
                                 f"\"{path}\": missing value")
    else:
        raise _unprocessable(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    return doc


def _remove(doc: Any, path: str, op: str = "remove") -> Any:
    tokens = _pointer(path)
    if not tokens:
        raise _unprocessable(f"{op} operation does not apply: doc is missing path: \"{path}\"")
    parent, last = _parent(doc, tokens, op, path)
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise _unprocessable(f"{op} operation does not apply: doc is missing path: "
                             f"\"{path}\": missing value")
    return doc


def json_patch(document: Any, operations: Any) -> Any:
    """RFC 6902: apply each operation in turn to a copy of ``document``."""
    if not isinstance(operations, list):
        raise BadRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(document)
    for operation in operations:
        if not isinstance(operation, Mapping) or not isinstance(operation.get("op"), str):
            raise BadRequest(f"Unexpected kind: {operation!r}")
        op, path = operation["op"], operation.get("path")
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            doc = _remove(doc, path)
        elif op == "replace":
            _get(doc, path, "replace")
            if not _pointer(path):
                doc = copy.deepcopy(operation.get("value"))
            else:
                parent, last = _parent(doc, _pointer(path), "replace", path)
                if isinstance(parent, list):
                    parent[int(last)] = copy.deepcopy(operation.get("value"))
                else:
                    parent[last] = copy.deepcopy(operation.get("value"))
        elif op in ("move", "copy"):
            source = operation.get("from")
            value = copy.deepcopy(_get(doc, source, op))
            if op == "move":
                doc = _remove(doc, source, op)
            doc = _add(doc, path, value, op)
        elif op == "test":
            if _get(doc, path, "test") != operation.get("value"):
                raise _unprocessable(f"testing value {path} failed: test failed")
        else:
            raise BadRequest(f"Unexpected kind: {op}")
    return doc


# -- applying a PATCH request -------------------------------------------------------------------


def parse_patch(body: Any) -> Any:
    """A PATCH body as JSON values of its own: text is parsed, dicts and lists go through
    JSON, as over HTTP (the caller's objects are never shared with the result)."""
    if isinstance(body, (bytes, bytearray)):
        body = bytes(body).decode("utf-8", "replace")
    if isinstance(body, str):
        try:
            return json.loads(body)
        except ValueError as err:
            raise BadRequest(f"error decoding patch: {err}") from None
    if body is None:
        raise BadRequest("the body of the request was empty: a patch is required")
    try:
        return json.loads(_to_json(body))
    except (TypeError, ValueError):
        return jsonable(body)


def apply_patch(original: Mapping[str, Any], body: Any, patch_type: str | None,
                kind: str) -> dict:
    """The object ``original`` becomes after a PATCH of ``patch_type`` (a new dict)."""
    patch_type = SHORT_NAMES.get(patch_type or "strategic", patch_type)
    if patch_type not in PATCH_TYPES:
        raise UnsupportedMediaType(PATCH_TYPES)
    patch = parse_patch(body)
    if patch_type == JSON_PATCH:
        result = json_patch(original, patch)
    elif not isinstance(patch, Mapping):
        raise BadRequest("json: cannot unmarshal array into Go value of type "
                         "map[string]interface {}")
    elif patch_type == MERGE_PATCH:
        result = _merge(original, patch)  # the patch is ours: parse_patch made it
    else:
        result = strategic_merge_patch(original, patch, kind)
    if not isinstance(result, dict):
        raise BadRequest("the patch did not produce an object")
    return result


# -- kubectl apply's patch ----------------------------------------------------------------------


def three_way_patch(last_applied: Mapping[str, Any] | None, new: Mapping[str, Any],
                    kind: str) -> dict:
    """The strategic merge patch ``kubectl apply`` sends: ``new``, plus deletions of what
    the last applied configuration had and ``new`` no longer has."""
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
                kept = {json.dumps(x.get(mkey)) for x in value if isinstance(x, Mapping)}
                items = [_diff_map(next((o for o in old if isinstance(o, Mapping)
                                         and o.get(mkey) == x.get(mkey)), {}), x, sub, kind)
                         if isinstance(x, Mapping) else x for x in value]
                for o in old:
                    if isinstance(o, Mapping) and json.dumps(o.get(mkey)) not in kept:
                        items.append({"$patch": "delete", mkey: o.get(mkey)})
                for item, x in zip(items, value, strict=False):
                    if isinstance(item, dict) and isinstance(x, Mapping):
                        item[mkey] = x.get(mkey)
                patch[key] = items
                patch[f"$setElementOrder/{key}"] = [{mkey: x.get(mkey)} for x in value
                                                    if isinstance(x, Mapping)]
            else:
                patch[key] = copy.deepcopy(value)
        else:
            patch[key] = copy.deepcopy(value)
    return patch
