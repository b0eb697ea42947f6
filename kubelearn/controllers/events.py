"""A controller's events: a simulation record, and a core/v1 Event through the API server.

``kubectl describe rs web`` shows ``SuccessfulCreate  Created pod: web-x7k2p``
because the ReplicaSet controller created an ``Event`` object about the
ReplicaSet, as client-go's ``record.EventRecorder`` does (source.component
``replicaset-controller``). Events are best effort: one the API server refuses
is dropped. The record (``sim.record``) is what timelines read.

Every component shares one recorder, as every Kubernetes component uses
client-go's: the kubelet's (kubelearn/kubelet/events.py), with its correlator
(the same event again bumps ``count``: ``(x5 over 2m)``). This module only lets
a controller name the object itself rather than an ObjectReference.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.kubelet import events as record

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.client import Client
    from kubelearn.sim import Simulation

NORMAL, WARNING = record.NORMAL, record.WARNING


def object_ref(obj: Mapping[str, Any]) -> str:
    """``replicaset/default/web``: how records name an object."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind") or "").lower()
    namespace = meta.get("namespace")
    return f"{kind}/{namespace}/{meta.get('name')}" if namespace else f"{kind}/{meta.get('name')}"


def reference(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The ObjectReference an Event's involvedObject holds (reference.GetReference)."""
    meta = obj.get("metadata") or {}
    return {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
            "namespace": meta.get("namespace") or "default", "name": meta.get("name"),
            "uid": meta.get("uid"), "resourceVersion": meta.get("resourceVersion")}


class EventRecorder(record.EventRecorder):
    """Records a controller's events and posts them as Event objects."""

    def __init__(self, sim: Simulation, client: Client, component: str, *,
                 enabled: bool = True) -> None:
        super().__init__(sim, client, component, "", enabled=enabled)
        self.record_as = component

    def event(self, obj: Mapping[str, Any], event_type: str, reason: str,  # type: ignore[override]
              message: str) -> None:
        """Record ``reason`` about ``obj`` and (if enabled) post an Event for it."""
        super().event(reference(obj), event_type, reason, message, object_ref(obj))
