"""Field selectors: ``kubectl get pods --field-selector spec.nodeName=node-1``.

- :class:`FieldSelector` -- terms ANDed together, each ``field=value``,
  ``field==value`` or ``field!=value``; :meth:`FieldSelector.parse`,
  :meth:`~FieldSelector.matches` a dict of field values, ``str()`` canonical.
- :func:`selectable_fields` -- the fields an object offers to a selector, as each
  kind's registry strategy lists them (pods: ``spec.nodeName``, ``status.phase``...).
- :func:`escape_value` / :func:`unescape_value` -- ``\\,``, ``\\=`` and ``\\\\`` in values.

A port of k8s.io/apimachinery/pkg/fields/selector.go, and of the GetAttrs /
ToSelectableFields functions in pkg/registry/core/{pod,node,namespace,event,secret}
and pkg/registry/apps/replicaset.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api.manifest import is_namespaced
from kubelearn.api.selector import SelectorError

_OPERATORS = ("!=", "==", "=")  # fields termOperators, longest first


def escape_value(value: str) -> str:
    """Escape ``\\``, ``,`` and ``=`` so a value can sit in a selector (fields.EscapeValue)."""
    return value.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=")


def unescape_value(value: str) -> str:
    """Undo :func:`escape_value`; raise SelectorError on a bad escape (fields.UnescapeValue)."""
    if not any(c in value for c in "\\,="):
        return value
    out, slash = [], False
    for c in value:
        if slash:
            if c not in "\\,=":
                raise SelectorError(f"invalid field selector: invalid escape sequence: \\{c}")
            out.append(c)
            slash = False
        elif c == "\\":
            slash = True
        elif c in ",=":  # Go prints the rune as its number: "unescaped character in value: 61"
            raise SelectorError(f"invalid field selector: unescaped character in value: {ord(c)}")
        else:
            out.append(c)
    if slash:
        raise SelectorError("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


def _split_terms(text: str) -> list[str]:
    """Split on commas not escaped with a backslash (fields.splitTerms)."""
    if not text:
        return []
    terms, start, slash = [], 0, False
    for i, c in enumerate(text):
        if slash:
            slash = False
        elif c == "\\":
            slash = True
        elif c == ",":
            terms.append(text[start:i])
            start = i + 1
    terms.append(text[start:])
    return terms


class FieldSelector:
    """``field=value`` and ``field!=value`` terms ANDed together."""

    __slots__ = ("terms",)

    def __init__(self, terms: tuple[tuple[str, str, str], ...] = ()) -> None:
        self.terms = terms  # (field, "=" or "!=", value)

    @classmethod
    def everything(cls) -> FieldSelector:
        """The selector that matches everything."""
        return cls()

    @classmethod
    def parse(cls, text: str) -> FieldSelector:
        """Read ``metadata.name=x,spec.nodeName!=`` (fields.ParseSelector)."""
        if not isinstance(text, str):
            raise SelectorError(f"a field selector is a string, not {text!r}")
        terms = []
        for part in sorted(_split_terms(text)):
            if not part:
                continue
            for i in range(len(part)):
                op = next((o for o in _OPERATORS if part.startswith(o, i)), None)
                if op:
                    lhs, rhs = part[:i], part[i + len(op):]
                    break
            else:
                raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
            terms.append((lhs, "!=" if op == "!=" else "=", unescape_value(rhs)))
        return cls(tuple(terms))

    @classmethod
    def from_set(cls, fields: Mapping[str, str]) -> FieldSelector:
        """Select exactly these field values (fields.SelectorFromSet)."""
        return cls(tuple((f, "=", v) for f, v in sorted(fields.items())))

    def matches(self, fields: Mapping[str, Any]) -> bool:
        """True if every term holds; a missing field counts as ``""`` (fields.Set.Get)."""
        for field, op, value in self.terms:
            have = fields.get(field, "")
            if (have == value) != (op == "="):
                return False
        return True

    def empty(self) -> bool:
        """True if this selector does not restrict anything."""
        return not self.terms

    def requires_exact_match(self, field: str) -> str | None:
        """The one value ``field`` must have, if a ``=`` term pins it (RequiresExactMatch)."""
        for f, op, value in self.terms:
            if f == field and op == "=":
                return value
        return None

    def __str__(self) -> str:
        return ",".join(f"{f}{op}{escape_value(v)}" for f, op, v in self.terms)

    def __repr__(self) -> str:
        return f"FieldSelector({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FieldSelector) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)


def parse_field_selector(text: str) -> FieldSelector:
    """Parse a field selector string (fields.ParseSelector)."""
    return FieldSelector.parse(text)


def _bool(value: Any) -> str:
    return "true" if value is True else "false"  # strconv.FormatBool


def selectable_fields(obj: Mapping[str, Any]) -> dict[str, str]:
    """The fields ``obj`` offers to field selectors, as its kind's registry lists them."""
    def part(value: Any) -> Mapping[str, Any]:
        # dict and None first: an isinstance check against the Mapping ABC is slow, and this
        # runs per event (a Lease has no status)
        if type(value) is dict:
            return value
        return {} if value is None or not isinstance(value, Mapping) else value

    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else ""
    meta, spec, status = part(obj.get("metadata")), part(obj.get("spec")), part(obj.get("status"))
    fields = {"metadata.name": meta.get("name") or ""}  # generic.ObjectMetaFieldsSet
    if is_namespaced(kind):
        fields["metadata.namespace"] = meta.get("namespace") or ""
    if kind == "Pod":  # pkg/registry/core/pod/strategy.go ToSelectableFields
        pod_ips = status.get("podIPs") if isinstance(status.get("podIPs"), list) else []
        fields.update({
            "spec.nodeName": spec.get("nodeName") or "",
            "spec.restartPolicy": spec.get("restartPolicy") or "",
            "spec.schedulerName": spec.get("schedulerName") or "",
            "spec.serviceAccountName": spec.get("serviceAccountName") or "",
            "spec.hostNetwork": _bool(spec.get("hostNetwork")),
            "status.phase": status.get("phase") or "",
            "status.podIP": (part(pod_ips[0]).get("ip") or "") if pod_ips else "",
            "status.nominatedNodeName": status.get("nominatedNodeName") or ""})
    elif kind == "Node":  # pkg/registry/core/node/strategy.go
        fields["spec.unschedulable"] = _bool(spec.get("unschedulable"))
    elif kind == "Namespace":  # "name" too: a bug kept for compatibility upstream
        fields.update({"status.phase": status.get("phase") or "", "name": meta.get("name") or ""})
    elif kind == "Event":  # pkg/registry/core/event/strategy.go
        ref = part(obj.get("involvedObject"))
        for key in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion",
                    "fieldPath"):
            fields[f"involvedObject.{key}"] = ref.get(key) or ""
        fields.update({"reason": obj.get("reason") or "",
                       "reportingComponent": obj.get("reportingComponent") or "",
                       "source": part(obj.get("source")).get("component")
                       or obj.get("reportingComponent") or "",
                       "type": obj.get("type") or ""})
    elif kind == "Secret":
        fields["type"] = obj.get("type") or ""
    elif kind == "ReplicaSet":
        fields["status.replicas"] = str(status.get("replicas") or 0)
    return fields
