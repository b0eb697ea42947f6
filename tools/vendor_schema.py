"""Vendor the OpenAPI definitions of the kinds kubelearn serves into kubelearn/api.

Run from the repository root with upstream's v1.32 OpenAPI (Swagger 2.0) document
and git clones of k8s.io/api and k8s.io/apimachinery (both read at v0.32.0):

    python tools/vendor_schema.py swagger.json --api api.git --apimachinery apimachinery.git

``swagger.json`` is kubernetes' api/openapi-spec/swagger.json of release-1.32
(the same file ships as kubernetes/swagger.json.unprocessed in the tag v32.0.1
of kubernetes-client/python). The script keeps the definitions reachable from
every kind the API server decodes (kubelearn.apiserver.registry.RESOURCES,
plus Binding, Scale, Eviction and DeleteOptions) and, of each, only what decoding and
the served OpenAPI documents need: property types, formats, references, list
items, map values, the x-kubernetes list, map and patch extensions, and each
definition's ``required`` list -- openapi-gen marks a field required when its
Go json tag has no ``omitempty`` and its comment no ``+optional``
(kube-openapi pkg/generators/openapi.go hasOptionalTag), which is what
served with the OpenAPI documents (kubectl explain marks them). No
descriptions.

That list is not what Go writes, though: a ``+optional`` field without
``omitempty`` is written too, and so is every non-pointer struct field, omitempty
or not. So each definition also gets the extension key

    "x-kubelearn-go-written": {"<field>": <its zero value as Go writes it>, ...}

read from the Go struct definitions by ``tools/go_fields.py``: every field
encoding/json always writes, with what it writes when the field holds its zero
value -- ``""``, ``0``, ``false``, ``null`` (nil slice, map or pointer; a zero
metav1.Time), ``"0"`` (a zero Quantity), or ``{}`` for a struct, meaning that
struct's own zero form. Every other field is omitempty; those of a string,
integer or bool type (not a pointer) are listed under

    "x-kubelearn-go-omitted-zeros": ["<field>", ...]

as encoding/json leaves them out when they hold ``""``, ``0`` or ``false``; the
rest are pointers, slices and maps, left out when nil (a slice or map also when
empty). ``properties`` and ``x-kubelearn-go-written`` keep the struct's field
order, the order encoding/json writes the fields in. kubelearn.api.schema fills
the written fields in and drops the omitted ones. The result is
kubelearn/api/schema-v1.32.json, which kubelearn.api.schema reads at import.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from go_fields import written_fields  # tools/, beside this script

from kubelearn.apiserver.registry import RESOURCES

OUT = Path(__file__).resolve().parent.parent / "kubelearn" / "api" / "schema-v1.32.json"
REF = "#/definitions/"
KEPT = ("type", "format", "$ref", "items", "additionalProperties", "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-patch-strategy",
        "x-kubernetes-patch-merge-key", "x-kubernetes-preserve-unknown-fields")
# Decoded besides the served kinds: pods/binding, <workload>/scale, pods/eviction (a
# policy/v1beta1 Eviction has the same fields and is decoded as this one), a DELETE's body.
EXTRA_KINDS = (("", "v1", "Binding"), ("autoscaling", "v1", "Scale"), ("policy", "v1", "Eviction"))
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
WRITTEN = "x-kubelearn-go-written"
OMITTED_ZEROS = "x-kubelearn-go-omitted-zeros"
FIELD_ORDERED = ("properties", WRITTEN)  # kept in Go's struct order, not sorted


def compact(schema: dict[str, Any]) -> dict[str, Any]:
    """One property's schema with only the kept keys, references shortened."""
    out: dict[str, Any] = {}
    for key in KEPT:
        if key not in schema:
            continue
        value = schema[key]
        if key == "$ref":
            value = value.removeprefix(REF)
        elif key in ("items", "additionalProperties") and isinstance(value, dict):
            value = compact(value)
        out[key] = value
    return out


def references(schema: Any) -> list[str]:
    """The definitions a schema refers to."""
    if isinstance(schema, dict):
        found = [schema["$ref"].removeprefix(REF)] if "$ref" in schema else []
        return found + [r for v in schema.values() for r in references(v)]
    if isinstance(schema, list):
        return [r for v in schema for r in references(v)]
    return []


def kinds(definitions: dict[str, Any]) -> dict[str, str]:
    """kind -> definition name, for every kind decoded."""
    by_gvk = {(g["group"], g["version"], g["kind"]): name for name, d in definitions.items()
              for g in d.get("x-kubernetes-group-version-kind", ())}
    wanted = [(i.group, i.version, i.kind) for i in RESOURCES] + list(EXTRA_KINDS)
    out = {kind: by_gvk[(group, version, kind)] for group, version, kind in wanted}
    out["DeleteOptions"] = DELETE_OPTIONS
    return out


def vendor(swagger: dict[str, Any], clones: dict[str, Path]) -> dict[str, Any]:
    """The compact document: kinds and the definitions reachable from them, each with the
    fields its Go struct always writes (``clones``: "api" and "apimachinery" git dirs)."""
    definitions = swagger["definitions"]
    roots = kinds(definitions)
    kept: dict[str, Any] = {}
    stack = list(roots.values())
    while stack:
        name = stack.pop()
        if name in kept:
            continue
        source = definitions[name]
        entry = {k: source[k] for k in ("type", "format") if k in source}
        if "properties" in source:
            entry["properties"] = {p: compact(s) for p, s in source["properties"].items()}
            if source.get("required"):
                entry["required"] = list(source["required"])  # upstream's order: Go's
        kept[name] = entry
        stack.extend(references(source.get("properties", {})))
    for name, writing in written_fields(kept, clones).items():
        properties = kept[name]["properties"]
        kept[name]["properties"] = {field: properties[field] for field in writing.order}
        if writing.written:
            kept[name][WRITTEN] = writing.written
        if writing.omitted_zeros:
            kept[name][OMITTED_ZEROS] = writing.omitted_zeros
    return {"kinds": dict(sorted(roots.items())), "definitions": dict(sorted(kept.items()))}


def dump(value: Any) -> str:
    """Compact JSON, keys sorted."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def dump_definition(definition: dict[str, Any]) -> str:
    """A definition as compact JSON: keys sorted, but its fields in Go's struct order."""
    parts = []
    for key in sorted(definition):
        value = definition[key]
        text = ("{" + ",".join(f"{json.dumps(f)}:{dump(v)}" for f, v in value.items()) + "}"
                if key in FIELD_ORDERED else dump(value))
        parts.append(f"{json.dumps(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def write(document: dict[str, Any], path: Path) -> None:
    """One definition a line, keys sorted but fields in Go's order: small, and a readable
    diff when upstream moves."""
    lines = [f"{json.dumps(name)}:{dump_definition(d)}"
             for name, d in document["definitions"].items()]
    path.write_text('{"kinds":' + dump(document["kinds"]) + ',\n"definitions":{\n'
                    + ",\n".join(lines) + "\n}}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("swagger", type=Path, help="upstream's swagger.json (release-1.32)")
    parser.add_argument("--api", type=Path, required=True,
                        help="a git clone of k8s.io/api (with the tag v0.32.0)")
    parser.add_argument("--apimachinery", type=Path, required=True,
                        help="a git clone of k8s.io/apimachinery (with the tag v0.32.0)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    clones = {"api": args.api, "apimachinery": args.apimachinery}
    write(vendor(json.loads(args.swagger.read_text()), clones), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
