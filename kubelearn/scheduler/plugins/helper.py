"""Small helpers several plugins share, as in upstream's plugins/helper package.

- :func:`default_normalize_score` -- scale raw scores to 0..100, optionally reversed
  (:func:`default_normalize_columns`: the same for a numpy column of nodes);
- :func:`build_broken_linear_function` -- the piecewise-linear shape of
  RequestedToCapacityRatio (:func:`broken_linear_columns`: over a column);
- :func:`tolerates`, :func:`tolerations_tolerate_taint`,
  :func:`find_matching_untolerated_taint` -- taint and toleration matching
  (k8s.io/api core/v1 toleration.go, component-helpers scheduling/corev1);
- :func:`go_round` -- Go's math.Round (half away from zero; Python rounds half to even);
- :func:`field` -- read a nested field of a plain Kubernetes dict;
- :class:`NodeColumns` -- what the plugins' array forms (``filter_mask``, ``score_*``)
  read of the nodes: one entry per node, a numpy column per quantity.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from kubelearn.scheduler.framework import MAX_NODE_SCORE, NodeScore

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.api import LabelSelector, Requirement
    from kubelearn.scheduler.nodeinfo import NodeInfo

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


def field(obj: Any, *path: str) -> Any:
    """``obj[p0][p1]...``, or None where a step is missing or not a mapping."""
    for key in path:
        if type(obj) is not dict:  # the cheap tests first: most steps are dicts or missing
            if obj is None or not isinstance(obj, Mapping):
                return None
        obj = obj.get(key)
    return obj


def go_round(x: float) -> int:
    """Round half away from zero, as Go's math.Round does."""
    return int(math.copysign(math.floor(abs(x) + 0.5), x))


def default_normalize_score(max_priority: int, reverse: bool, scores: list[NodeScore]) -> None:
    """Scale scores to 0..max_priority by the highest; reverse to favour low raw scores.

    All zero gives all 0, or all max_priority when reversed (helper.DefaultNormalizeScore).
    """
    max_count = max((s.score for s in scores), default=0)
    max_count = max(max_count, 0)
    if max_count == 0:
        if reverse:
            for s in scores:
                s.score = max_priority
        return
    for s in scores:
        score = max_priority * s.score // max_count
        s.score = max_priority - score if reverse else score


def default_normalize_columns(scores: np.ndarray, reverse: bool,
                              max_priority: int = MAX_NODE_SCORE) -> np.ndarray:
    """:func:`default_normalize_score` for a column of nodes' raw int scores."""
    max_count = max(int(scores.max()) if len(scores) else 0, 0)
    if max_count == 0:
        return np.full_like(scores, max_priority) if reverse else scores
    normalized = max_priority * scores // max_count
    return max_priority - normalized if reverse else normalized


def build_broken_linear_function(shape: Sequence[tuple[int, int]]) -> Callable[[int], int]:
    """f(p) through the (utilization, score) points, flat beyond the ends.

    Integer arithmetic between points, as helper.BuildBrokenLinearFunction.
    """
    def f(p: int) -> int:
        for i, (utilization, score) in enumerate(shape):
            if p <= utilization:
                if i == 0:
                    return shape[0][1]
                u0, s0 = shape[i - 1]
                return s0 + _go_div((score - s0) * (p - u0), utilization - u0)
        return shape[-1][1]
    return f


def broken_linear_columns(shape: Sequence[tuple[int, int]]
                          ) -> Callable[[np.ndarray], np.ndarray]:
    """:func:`build_broken_linear_function` over a column of utilizations."""
    def f(p: np.ndarray) -> np.ndarray:
        out = np.full(len(p), shape[-1][1], dtype=np.int64)
        for i in range(len(shape) - 1, -1, -1):  # the smallest i with p <= u_i wins
            u, s = shape[i]
            if i == 0:
                value = np.full(len(p), shape[0][1], dtype=np.int64)
            else:
                u0, s0 = shape[i - 1]
                value = s0 + go_div_columns((s - s0) * (p - u0), u - u0)
            out = np.where(p <= u, value, out)
        return out
    return f


def go_div_columns(a: np.ndarray, b: int) -> np.ndarray:
    """Integer division truncating toward zero (Go's ``/``) of a column by b > 0."""
    return np.sign(a) * (np.abs(a) // b)


def _go_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Go's ``/`` on ints."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


# -- taints and tolerations --------------------------------------------------------------------

def tolerates(toleration: Mapping[str, Any], taint: Mapping[str, Any]) -> bool:
    """True if one toleration tolerates one taint (Toleration.ToleratesTaint).

    An empty effect matches every effect, an empty key with Exists every key; an
    empty operator means Equal.
    """
    effect = toleration.get("effect") or ""
    if effect and effect != (taint.get("effect") or ""):
        return False
    key = toleration.get("key") or ""
    if key and key != (taint.get("key") or ""):
        return False
    operator = toleration.get("operator") or ""
    if operator in ("", "Equal"):
        return (toleration.get("value") or "") == (taint.get("value") or "")
    return operator == "Exists"


def tolerations_tolerate_taint(tolerations: Iterable[Mapping[str, Any]],
                               taint: Mapping[str, Any]) -> bool:
    """True if any of the tolerations tolerates the taint."""
    return any(tolerates(t, taint) for t in tolerations)


DO_NOT_SCHEDULE_EFFECTS = (NO_SCHEDULE, NO_EXECUTE)  # the effects of do_not_schedule_taints


def do_not_schedule_taints(taint: Mapping[str, Any]) -> bool:
    """The taints that keep pods off a node: NoSchedule and NoExecute."""
    return taint.get("effect") in DO_NOT_SCHEDULE_EFFECTS


def find_matching_untolerated_taint(
        taints: Iterable[Mapping[str, Any]], tolerations: Iterable[Mapping[str, Any]],
        inclusion: Callable[[Mapping[str, Any]], bool] = do_not_schedule_taints,
) -> Mapping[str, Any] | None:
    """The first included taint no toleration tolerates, or None."""
    tolerations = list(tolerations)
    for taint in taints:
        if inclusion(taint) and not tolerations_tolerate_taint(tolerations, taint):
            return taint
    return None


def pod_tolerations(pod: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """spec.tolerations of a pod."""
    tolerations = field(pod, "spec", "tolerations")
    if not tolerations:  # most pods
        return []
    return [t for t in tolerations if type(t) is dict or isinstance(t, Mapping)]


# -- the nodes as columns ----------------------------------------------------------------------

class NodeColumns(Protocol):
    """The snapshot's nodes as the plugins' array forms read them.

    Every array has one entry per node, node ``i`` being ``snapshot.node_infos[i]``
    (NodeTree order). A plugin's ``filter_mask`` asks the same question as its
    ``filter`` does of one NodeInfo, of every node at once, through these. The
    vectorised scheduler keeps them as numpy columns updated as nodes and pods
    change (``vectorized.NodeArrays``); a test can build them from NodeInfos.
    """

    n: int  # the number of nodes

    def names(self) -> Sequence[str]:
        """Each node's name."""
        ...

    def label(self, key: str) -> tuple[np.ndarray, Sequence[str]]:
        """Each node's value of label ``key`` as a code, and the values the codes stand for.

        ``values[codes[i]]`` is node ``i``'s value; code -1: the node has no such label.
        """
        ...

    def label_matches(self, requirement: Requirement) -> np.ndarray:
        """Where ``requirement.matches(node's labels)`` holds."""
        ...

    def untolerated_taints(self, tolerations: Sequence[Mapping[str, Any]],
                           effects: Sequence[str] = DO_NOT_SCHEDULE_EFFECTS) -> np.ndarray:
        """How many of each node's taints with one of ``effects`` the tolerations leave."""
        ...

    def matching_pods(self, namespace: str, selector: LabelSelector) -> np.ndarray:
        """Per node: its pods of ``namespace`` that ``selector`` matches, not terminating."""
        ...

    def ports_in_use(self) -> np.ndarray:
        """Where some pod on the node uses a host port."""
        ...

    def node_info(self, i: int) -> NodeInfo:
        """Node ``i`` itself, for the few questions asked one node at a time."""
        ...
