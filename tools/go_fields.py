"""Which fields Go always writes, read from the Go struct definitions of k8s.io/api.

Called by ``tools/vendor_schema.py``. The API server answers every object
through encoding/json (after a protobuf round trip through etcd), and
encoding/json decides per struct field:

- a field whose json tag has no ``omitempty`` is always written, with its zero
  value when it holds one: ``""``, ``0``, ``false``, ``null`` for a nil slice,
  map or pointer (encodeState: ``if v.IsNil() { e.WriteString("null") }``);
- ``omitempty`` drops ``""``, ``0``, ``false``, a nil pointer, and a slice or map
  of length 0 (encoding/json isEmptyValue) -- but never a struct: isEmptyValue
  has no case for reflect.Struct, so a non-pointer struct field is always
  written, omitempty or not (a container's ``resources: {}``, a Service's
  ``status: {loadBalancer: {}}``);
- a struct with its own MarshalJSON writes what that method writes: metav1.Time
  and MicroTime ``null`` when zero (a pod template's ``creationTimestamp:
  null``), resource.Quantity ``"0"``, intstr.IntOrString ``0`` (see
  :data:`CUSTOM_ZEROS`);
- an embedded struct (``metav1.TypeMeta `json:",inline"```) lends its fields to
  the outer one.

The ``required`` lists of the OpenAPI document are only a proxy for the first
rule: openapi-gen leaves out every field marked ``+optional``, even one
without ``omitempty`` (Event's ``reportingComponent``, EndpointSlice's
``ports``), and knows nothing of the second.

:func:`written_fields` gives, per OpenAPI definition, each field Go always
writes and what it writes when the field holds its zero value, as JSON: ``""``,
``0``, ``false``, ``null``, ``"0"``, or ``{}`` for a struct, meaning that
struct's own zero form (its own always-written fields, filled the same way);
the omitempty fields that are plain strings, integers or bools (dropped when
``""``, ``0``, ``false``; the other omitempty fields are pointers, slices and
maps, dropped when nil); and the fields in struct order, the order encoding/json
writes them in.

The sources are read with ``git show <tag>:<path>`` from clones of
k8s.io/api and k8s.io/apimachinery at the modelled release (v0.32.0 =
Kubernetes v1.32). Only gofmt-formatted type declarations are read, which is
what those files are.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TAG = "v0.32.0"  # k8s.io/api and k8s.io/apimachinery of Kubernetes v1.32
# OpenAPI definition prefix -> the clone holding its Go package (the rest is its folder).
REPOS = {"io.k8s.api.": "api", "io.k8s.apimachinery.": "apimachinery"}
# Go import path prefix -> the clone.
IMPORT_ROOTS = {"k8s.io/api/": "api", "k8s.io/apimachinery/": "apimachinery"}

# What the types with their own MarshalJSON write for their zero value (all value
# receivers, so a field of the type uses them), k8s.io/apimachinery v0.32.0:
CUSTOM_ZEROS: dict[str, Any] = {
    "pkg/apis/meta/v1.Time": None,        # time.go: if t.IsZero() { return []byte("null") }
    "pkg/apis/meta/v1.MicroTime": None,   # micro_time.go: the same
    "pkg/apis/meta/v1.FieldsV1": None,    # helpers.go: if f.Raw == nil { return "null" }
    "pkg/apis/meta/v1.Duration": "0s",    # duration.go: d.Duration.String()
    "pkg/api/resource.Quantity": "0",     # quantity.go: the zero Quantity, canonical: "0"
    "pkg/util/intstr.IntOrString": 0,     # intstr.go: Type Int (0), IntVal 0
}
TYPE_DECL = re.compile(r"^type (\w+) (struct \{|.+)$", re.M)
FIELD = re.compile(r"^\s*(?:(\w+)\s+)?([^\s`]+)\s*(?:`([^`]*)`)?\s*(?://.*)?$")
JSON_TAG = re.compile(r'json:"([^"]*)"')
MARSHALLER = re.compile(r"^func \(\w+ \*?(\w+)\) MarshalJSON\(", re.M)
BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.S)
IMPORT = re.compile(r'^\s*(?:(\w+)\s+)?"([^"]+)"', re.M)


@dataclass
class GoField:
    """One field of a Go struct as encoding/json sees it."""

    go_type: str        # as written: "*PodSecurityContext", "[]Container", "metav1.Time"
    json_name: str      # "" for an embedded struct without a name (inlined)
    omitempty: bool
    embedded: bool


@dataclass
class GoPackage:
    """The type declarations of one Go package, and the packages it imports by name."""

    structs: dict[str, list[GoField]]
    others: dict[str, str]          # non-struct named types: "PodPhase" -> "string"
    marshallers: set[str]           # types with a MarshalJSON method
    imports: dict[str, str]         # "metav1" -> "k8s.io/apimachinery/pkg/apis/meta/v1"


class GoSource:
    """Go packages read from the clones of k8s.io/api and k8s.io/apimachinery at ``tag``."""

    def __init__(self, clones: dict[str, Path], tag: str = TAG) -> None:
        self.clones, self.tag = clones, tag
        self.packages: dict[tuple[str, str], GoPackage] = {}

    def _git(self, repo: str, *args: str) -> str:
        return subprocess.run(["git", "-C", str(self.clones[repo]), *args], check=True,
                              capture_output=True, text=True).stdout

    def package(self, repo: str, folder: str) -> GoPackage:
        key = (repo, folder)
        if key not in self.packages:
            names = self._git(repo, "ls-tree", "--name-only", f"{self.tag}:{folder}").split()
            texts = [self._git(repo, "show", f"{self.tag}:{folder}/{name}") for name in names
                     if name.endswith(".go") and not name.endswith("_test.go")
                     and "generated" not in name]
            self.packages[key] = parse_package(texts)
        return self.packages[key]


def parse_package(texts: list[str]) -> GoPackage:
    """The struct types, other named types, MarshalJSON methods and imports of Go files."""
    package = GoPackage({}, {}, set(), {})
    for text in texts:
        text = BLOCK_COMMENT.sub("", text)
        for alias, path in _imports(text):
            package.imports[alias] = path
        package.marshallers.update(MARSHALLER.findall(text))
        for match in TYPE_DECL.finditer(text):
            name, rest = match.groups()
            if rest == "struct {":
                package.structs[name] = _struct_fields(text, match.end())
            else:
                package.others[name] = rest.split("//")[0].strip()
    return package


def _imports(text: str) -> list[tuple[str, str]]:
    block = re.search(r"^import \((.*?)^\)", text, re.M | re.S)
    lines = block.group(1) if block else "\n".join(re.findall(r"^import (.*)$", text, re.M))
    return [(alias or path.rsplit("/", 1)[-1], path) for alias, path in IMPORT.findall(lines)]


def _struct_fields(text: str, start: int) -> list[GoField]:
    """The fields of the struct whose body starts at ``start`` (gofmt: one a line, ``}`` alone)."""
    fields = []
    for line in text[start:].split("\n")[1:]:
        if line.startswith("}"):
            return fields
        stripped = line.strip()
        if not stripped or stripped.startswith("//"):
            continue
        match = FIELD.match(line)
        if match is None:
            raise ValueError(f"cannot read Go struct field: {line!r}")
        name, go_type, tag = match.groups()
        tag_match = JSON_TAG.search(tag or "")
        json_name, _, options = (tag_match.group(1) if tag_match else "").partition(",")
        if json_name == "-" or (name and not name[0].isupper()):
            continue  # not encoded
        embedded = name is None
        if not embedded and not json_name:
            json_name = name  # no tag: encoding/json uses the Go name
        fields.append(GoField(go_type, json_name, "omitempty" in options.split(","), embedded))
    raise ValueError("unterminated struct")


def _locate(definition: str) -> tuple[str, str, str]:
    """``io.k8s.api.core.v1.Pod`` -> ("api", "core/v1", "Pod")."""
    for prefix, repo in REPOS.items():
        if definition.startswith(prefix):
            *path, name = definition[len(prefix):].split(".")
            return repo, "/".join(path), name
    raise ValueError(f"no Go package known for {definition}")


class WrittenFields:
    """Resolves the fields each Go struct writes, following embedded structs across packages."""

    def __init__(self, source: GoSource) -> None:
        self.source = source

    def _resolve(self, repo: str, folder: str, go_type: str) -> tuple[str, str, str]:
        """The package and name a type expression (without ``*``/``[]``) refers to."""
        if "." not in go_type:
            return repo, folder, go_type
        alias, name = go_type.split(".")
        path = self.source.package(repo, folder).imports[alias]
        for root, other in IMPORT_ROOTS.items():
            if path.startswith(root):
                return other, path[len(root):], name
        raise ValueError(f"{go_type}: import {path} is outside k8s.io/api and apimachinery")

    def fields(self, repo: str, folder: str, name: str) -> dict[str, tuple[GoField, str, str]]:
        """JSON name -> (the field, the package it is declared in), embedded ones inlined."""
        out: dict[str, tuple[GoField, str, str]] = {}
        for field in self.source.package(repo, folder).structs[name]:
            if field.embedded and not field.json_name:  # inline: its fields are promoted
                inner = self._resolve(repo, folder, field.go_type.lstrip("*"))
                out.update(self.fields(*inner))
            else:
                out[field.json_name] = (field, repo, folder)
        return out

    def zero(self, field: GoField, repo: str, folder: str,
             schema: dict[str, Any]) -> tuple[Any, bool]:
        """What encoding/json writes for ``field`` holding its zero value, and whether the
        field is a struct (which omitempty never drops); ``schema``: its OpenAPI property."""
        go_type = field.go_type
        if go_type.startswith(("*", "[]", "map[")):
            return None, False  # nil pointer, slice or map: null
        target = self._resolve(repo, folder, go_type)
        key = f"{target[1]}.{target[2]}"
        if key in CUSTOM_ZEROS:
            return CUSTOM_ZEROS[key], True
        package = self.source.package(target[0], target[1])
        if target[2] in package.marshallers:
            raise ValueError(f"{key} has its own MarshalJSON: add its zero to CUSTOM_ZEROS")
        if target[2] in package.structs:
            return {}, True  # the struct's own zero form
        underlying = package.others.get(target[2], go_type)
        if underlying.startswith(("[]", "map[")):
            return None, False  # a named slice or map (ResourceList): nil
        zeros = {"string": "", "integer": 0, "number": 0, "boolean": False}
        if schema.get("type") not in zeros:
            raise ValueError(f"no zero value known for {go_type} ({schema})")
        return zeros[schema["type"]], False

    def written(self, definition: str, properties: dict[str, Any]) -> GoWriting:
        """How encoding/json writes ``definition``'s fields (see :class:`GoWriting`)."""
        repo, folder, name = _locate(definition)
        fields = self.fields(repo, folder, name)
        if set(fields) != set(properties):
            raise ValueError(f"{definition}: Go fields {sorted(set(fields) ^ set(properties))}"
                             " differ from OpenAPI's")
        out = GoWriting(list(fields), {}, [])
        for json_name, (field, field_repo, field_folder) in fields.items():
            zero, is_struct = self.zero(field, field_repo, field_folder, properties[json_name])
            if is_struct or not field.omitempty:
                out.written[json_name] = zero
            elif zero is not None:  # omitempty "", 0 or false: a value, not a pointer
                out.omitted_zeros.append(json_name)
        return out


@dataclass
class GoWriting:
    """How encoding/json writes one struct's fields.

    ``order``: the JSON names in struct order, the order encoding/json writes them;
    ``written``: the fields always written -> their zero value as written;
    ``omitted_zeros``: the omitempty fields of a string, integer or bool type (not a
    pointer to one), which encoding/json leaves out when they hold ``""``, ``0`` or
    ``false``. Every other field is omitempty and a pointer, slice or map: left out
    when nil (a slice or map also when empty), written as it is otherwise -- a
    pointer to ``0`` is ``0`` (a Deployment's ``replicas: 0``).
    """

    order: list[str]
    written: dict[str, Any]
    omitted_zeros: list[str]


def written_fields(definitions: dict[str, Any], clones: dict[str, Path],
                   tag: str = TAG) -> dict[str, GoWriting]:
    """Per OpenAPI definition with properties, how Go writes its fields (see module doc)."""
    resolver = WrittenFields(GoSource(clones, tag))
    return {name: resolver.written(name, d["properties"])
            for name, d in definitions.items() if "properties" in d}
