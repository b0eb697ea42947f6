"""Semantic equality: apimachinery's ``equality.Semantic.DeepEqual`` on JSON values.

Kubernetes compares objects with ``Semantic.DeepEqual`` (k8s.io/apimachinery
pkg/api/equality, over the forked reflect.DeepEqual of third_party/forked/golang)
wherever "did anything change?" matters: whether an update moves
``metadata.generation``, whether a controller's pod template is the one a
ReplicaSet already has. Unlike ``==`` on the JSON it treats a nil and an empty
slice or map as equal -- ``env: []`` sent by a client and the ``env`` that
storage left out are the same -- so a no-op update does not look like a change.

    >>> semantic_equal({"env": [], "ports": None}, {})
    True
    >>> semantic_equal({"replicas": 0}, {})
    False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def semantic(value: Any) -> Any:
    """``value`` with every null, empty list and empty map field dropped, at any depth."""
    if isinstance(value, Mapping):
        out = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if _nil_if_empty(v) is not None}
    if isinstance(value, tuple):  # several fields compared at once: each nil or empty alike
        return tuple(_nil_if_empty(semantic(v)) for v in value)
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value


def _nil_if_empty(value: Any) -> Any:
    """None for null, [] and {} (Go's nil and empty); any other value as it is."""
    return None if value is None or value == {} or value == [] else value


def semantic_equal(a: Any, b: Any) -> bool:
    """``Semantic.DeepEqual(a, b)``: equal once nil and empty are read alike (at the top too)."""
    return a == b or semantic({"": a}) == semantic({"": b})
