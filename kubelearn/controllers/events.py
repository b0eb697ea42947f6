"""A controller's events: a simulation record, and a core/v1 Event through the API server.

``kubectl describe rs web`` shows ``SuccessfulCreate  Created pod: web-x7k2p``
because the ReplicaSet controller created an ``Event`` object about the
ReplicaSet, as client-go's ``record.EventRecorder`` does (source.component
``replicaset-controller``). Events are best effort: one the API server refuses
is dropped. The record (``sim.record``) is what timelines read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api import StatusError
from kubelearn.client import Client
from kubelearn.sim import EPOCH, Simulation

NORMAL, WARNING = "Normal", "Warning"
_EPOCH_SECONDS = EPOCH.timestamp()


def object_ref(obj: Mapping[str, Any]) -> str:
    """``replicaset/default/web``: how records name an object."""
    meta = obj.get("metadata") or {}
    kind = str(obj.get("kind") or "").lower()
    namespace = meta.get("namespace")
    return f"{kind}/{namespace}/{meta.get('name')}" if namespace else f"{kind}/{meta.get('name')}"


class EventRecorder:
    """Records a controller's events and posts them as Event objects."""

    def __init__(self, sim: Simulation, client: Client, component: str, *,
                 enabled: bool = True) -> None:
        self.sim = sim
        self.client = client
        self.component = component
        self.enabled = enabled
        self._last_nanos = 0

    def event(self, obj: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        """Record ``reason`` about ``obj`` and (if enabled) post an Event for it."""
        self.sim.record(self.component, reason, object_ref(obj), message)
        if not self.enabled:
            return
        meta = obj.get("metadata") or {}
        namespace = meta.get("namespace") or "default"
        now = self.sim.timestamp()
        try:
            self.client.create({
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"{meta.get('name')}.{self._nanos():x}",
                             "namespace": namespace},
                "involvedObject": {"apiVersion": obj.get("apiVersion"), "kind": obj.get("kind"),
                                   "namespace": namespace, "name": meta.get("name"),
                                   "uid": meta.get("uid"),
                                   "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message, "type": event_type,
                "source": {"component": self.component},
                "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                "reportingComponent": self.component}, namespace)
        except StatusError:
            return  # upstream logs and drops an event it cannot write

    def _nanos(self) -> int:
        """Unix nanoseconds now, never the same twice (names are ``<object>.<hex nanos>``)."""
        nanos = max(int(round((_EPOCH_SECONDS + self.sim.now) * 1e9)), self._last_nanos + 1)
        self._last_nanos = nanos
        return nanos
