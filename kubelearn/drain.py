"""``kubectl drain`` and ``kubectl cordon``/``uncordon``, in Python, on the virtual clock.

Taking a node out for maintenance is two steps, both on the client side as in
kubectl (k8s.io/kubectl/pkg/drain, v1.32):

1. **cordon** -- ``spec.unschedulable: true`` on the Node, so the scheduler
   places nothing new there (NodeUnschedulable filter);
2. **evict** every pod bound to it through the Eviction API
   (``POST pods/<name>/eviction``, :mod:`kubelearn.apiserver.eviction`), never
   a plain delete: a PodDisruptionBudget that allows no disruption answers
   429, and drain tries that pod again 5 seconds later, until the budget's
   controller has seen a replacement become Ready elsewhere. Each evicted pod
   is then waited for until it is gone.

Before evicting, drain refuses what it cannot safely remove, as kubectl's
filters do: a pod no controller owns would not come back (``force=True``
deletes it anyway, with a warning), and a pod with an ``emptyDir`` volume
loses its data (``delete_emptydir_data=True``). Mirror pods are left alone;
finished pods (Succeeded, Failed) are removed without asking. kubelearn has
no DaemonSets, so ``--ignore-daemonsets`` has nothing to ignore.

:func:`drain` returns the lines kubectl prints, in order (its warnings and
retries included); where kubectl stops with ``error: ...`` it raises a
``BadRequest`` with kubectl's words. kubectl's ``--timeout`` defaults to no
limit; here ``timeout`` defaults to 300 virtual seconds, so a budget that never
allows a disruption does not run the clock for ever.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubelearn.api import BadRequest, NotFound, StatusError
from kubelearn.client import Client

# drain.go evictPods: a pod whose eviction was refused (429) is tried again after 5 s.
EVICTION_RETRY_SECONDS = 5.0
# drain.go waitForDelete: an evicted pod is looked for once a second until it is gone.
DELETE_POLL_SECONDS = 1.0
DEFAULT_TIMEOUT = 300.0  # virtual seconds (kubectl: 0, no limit)
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"  # corev1.MirrorPodAnnotationKey
# k8s.io/kubectl/pkg/drain/filters.go (v1.32), as kubectl v1.32 prints them
LOCAL_STORAGE_FATAL = "Pods with local storage (use --delete-emptydir-data to override)"
LOCAL_STORAGE_WARNING = "deleting Pods with local storage"
UNMANAGED_FATAL = "cannot delete Pods that declare no controller (use --force to override)"
UNMANAGED_WARNING = "deleting Pods that declare no controller"

Obj = Mapping[str, Any]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _key(pod: Obj) -> str:
    return f"{_meta(pod).get('namespace') or 'default'}/{_meta(pod).get('name', '')}"


# -- cordon --------------------------------------------------------------------------------------

def _set_unschedulable(client: Client, node: str, unschedulable: bool) -> str:
    """CordonHelper: patch ``spec.unschedulable`` unless it already is; kubectl's line."""
    current = client.get("nodes", node)
    word = "cordoned" if unschedulable else "uncordoned"
    if bool((current.get("spec") or {}).get("unschedulable")) == unschedulable:
        return f"node/{node} already {word}"
    client.patch("nodes", node, {"spec": {"unschedulable": unschedulable or None}})
    return f"node/{node} {word}"


def cordon(client: Client, node: str) -> str:
    """``kubectl cordon <node>``: the scheduler places nothing new on it."""
    return _set_unschedulable(client, node, True)


def uncordon(client: Client, node: str) -> str:
    """``kubectl uncordon <node>``: schedulable again."""
    return _set_unschedulable(client, node, False)


# -- which pods go --------------------------------------------------------------------------------

@dataclass
class PodDeletes:
    """The pods to evict, and what the filters warned about or refused, by message."""

    pods: list[Obj]
    warnings: dict[str, list[str]]
    errors: dict[str, list[str]]


def _finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def _controlled(pod: Obj) -> bool:
    return any(ref.get("controller") for ref in _meta(pod).get("ownerReferences") or ())


def _has_empty_dir(pod: Obj) -> bool:
    return any("emptyDir" in volume for volume in (pod.get("spec") or {}).get("volumes") or ())


def pods_for_deletion(client: Client, node: str, *, force: bool = False,
                      delete_emptydir_data: bool = False) -> PodDeletes:
    """GetPodsForDeletion: the node's pods through the mirror, local storage and controller
    filters; a filter that refuses a pod stops there."""
    listed = client.list("pods", None, field_selector=f"spec.nodeName={node}")["items"]
    out = PodDeletes([], {}, {})
    for pod in listed:
        if MIRROR_POD_ANNOTATION in (_meta(pod).get("annotations") or {}):
            continue  # the kubelet's own copy of a static pod: skipped, not an error
        verdict = _filter(pod, force, delete_emptydir_data)
        if verdict is None:
            out.pods.append(pod)
            continue
        fatal, message = verdict
        if fatal:
            out.errors.setdefault(message, []).append(_key(pod))
        else:
            out.warnings.setdefault(message, []).append(_key(pod))
            out.pods.append(pod)
    return out


def _filter(pod: Obj, force: bool, delete_emptydir_data: bool) -> tuple[bool, str] | None:
    """localStorageFilter then unreplicatedFilter: None (go), or (fatal?, message)."""
    warning: tuple[bool, str] | None = None
    if _has_empty_dir(pod) and not _finished(pod):
        if not delete_emptydir_data:
            return True, LOCAL_STORAGE_FATAL
        warning = (False, LOCAL_STORAGE_WARNING)
    if _finished(pod) or _controlled(pod):
        return warning
    return (False, UNMANAGED_WARNING) if force else (True, UNMANAGED_FATAL)


# -- evict and wait ----------------------------------------------------------------------------

@dataclass
class _Eviction:
    """One pod's progress: evicted yet (else when to try), gone yet (else when to look)."""

    pod: Obj
    next_try: float  # virtual time of the next eviction attempt, or of the next look
    evicted: bool = False
    done: bool = False


def drain(client: Client, node: str, *, run: Callable[[float], Any], now: Callable[[], float],
          force: bool = False, delete_emptydir_data: bool = False,
          grace_period_seconds: int | None = None, timeout: float = DEFAULT_TIMEOUT) -> str:
    """``kubectl drain <node>``: cordon, then evict every pod and wait until each is gone.

    ``run(seconds)`` moves the virtual clock (``cluster.run``); ``now()`` reads it.
    Returns what kubectl prints; raises ``BadRequest`` where kubectl fails.
    """
    lines = [cordon(client, node)]
    found = pods_for_deletion(client, node, force=force,
                              delete_emptydir_data=delete_emptydir_data)
    if found.errors:
        errors = [f"cannot delete {message}: {', '.join(pods)}"
                  for message, pods in found.errors.items()]
        listed = errors[0] if len(errors) == 1 else f"[{', '.join(errors)}]"
        raise BadRequest(f'unable to drain node "{node}" due to error: {listed}, continuing '
                         "command...\nThere are pending nodes to be drained:\n " + node + "\n"
                         + "\n".join(errors))
    if found.warnings:
        lines.append("Warning: " + "; ".join(f"{message}: {', '.join(pods)}"
                                             for message, pods in found.warnings.items()))
    deadline = now() + timeout
    evictions = [_Eviction(pod, now()) for pod in found.pods]
    while not all(e.done for e in evictions):
        for eviction in evictions:
            _step(client, eviction, lines, now(), grace_period_seconds)
        if all(e.done for e in evictions):
            break
        if now() >= deadline:
            pending = next(e.pod for e in evictions if not e.done)
            raise BadRequest(f'unable to drain node "{node}" due to error: error when evicting '
                             f'pods/"{_meta(pending).get("name")}" -n '
                             f'"{_meta(pending).get("namespace")}": global timeout reached: '
                             f"{timeout:g}s, continuing command...")
        wake = min(e.next_try for e in evictions if not e.done)
        run(max(0.0, min(wake, deadline) - now()))
    lines.append(f"node/{node} drained")
    return "\n".join(lines)


def _step(client: Client, eviction: _Eviction, lines: list[str], at: float,
          grace_period_seconds: int | None) -> None:
    """One pod's turn: an eviction attempt when due, or a look whether it is gone yet."""
    if eviction.done or eviction.next_try > at:
        return
    meta = _meta(eviction.pod)
    name, namespace = meta.get("name", ""), meta.get("namespace") or "default"
    if not eviction.evicted:
        lines.append(f"evicting pod {namespace}/{name}")
        try:
            client.evict(name, namespace, grace_period_seconds=grace_period_seconds)
        except NotFound:
            eviction.done = True  # already gone
            return
        except StatusError as err:
            if err.code != 429:
                raise BadRequest(f'error when evicting pods/"{name}" -n "{namespace}": '
                                 f"{err}") from None
            lines.append(f'error when evicting pods/"{name}" -n "{namespace}" (will retry '
                         f"after 5s): {err}")
            eviction.next_try = at + EVICTION_RETRY_SECONDS
            return
        eviction.evicted = True
    try:  # waitForDelete: gone, or replaced by a pod of the same name
        current = client.get("pods", name, namespace)
    except NotFound:
        current = None
    if current is None or _meta(current).get("uid") != meta.get("uid"):
        lines.append(f"pod/{name} evicted")
        eviction.done = True
    else:
        eviction.next_try = at + DELETE_POLL_SECONDS
