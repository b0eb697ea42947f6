"""Events: what the kubelet tells the world -- a record, and a core/v1 Event through the API.

Every step a kubelet takes (Pulling, Pulled, Created, Started, Killing,
BackOff, Unhealthy, NodeReady...) becomes two things:

- a simulation record (``sim.record("kubelet/<node>", reason, "pod/<ns>/<name>",
  message)``) -- the timelines and plots read these;
- an ``Event`` object created through the API server, as client-go's
  ``record.EventRecorder`` does, so ``kubectl get events`` and ``kubectl
  describe`` show it. Like upstream's ``EventCorrelator``, the same event
  again (same object, reason and message) is not a new object: the kubelet
  PATCHes its ``count`` and ``lastTimestamp`` -- ``Back-off restarting failed
  container (x12 over 30m)``. Upstream's spam filter and "combined from similar
  events" aggregation are left out.

Creating Events costs API calls; pass ``enabled=False`` (``KubeletConfig(events=False)``)
for big runs -- the records stay.
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kubelearn.api import AlreadyExists, NotFound, StatusError

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.client import Client
    from kubelearn.sim import Simulation

NORMAL, WARNING = "Normal", "Warning"
# client-go tools/record events_cache.go maxLruCacheEntries.
MAX_LRU_CACHE_ENTRIES = 4096


class EventRecorder:
    """Records the kubelet's events, and (if enabled) posts them as Event objects."""

    def __init__(self, sim: Simulation, client: Client, component: str, host: str, *,
                 enabled: bool = True) -> None:
        self.sim = sim
        self.client = client
        self.component = component  # "kubelet" (source.component)
        self.host = host  # the node (source.host)
        self.record_as = f"{component}/{host}"  # the simulation record's component
        self.enabled = enabled
        self._seen: OrderedDict[tuple, tuple[str, str, int]] = OrderedDict()

    def event(self, ref: Mapping[str, Any], event_type: str, reason: str, message: str,
              obj: str | None = None) -> None:
        """Record ``reason`` about the object ``ref`` (an ObjectReference) and post it.

        ``obj`` names the object in the record (``pod/<ns>/<name>``; made from ``ref``
        if not given).
        """
        if obj is None:
            kind = str(ref.get("kind") or "").lower()
            namespace = ref.get("namespace")
            obj = f"{kind}/{namespace}/{ref.get('name')}" if namespace \
                else f"{kind}/{ref.get('name')}"
        if len(message) < 48:  # the same few words for thousands of pods: keep one copy
            message = sys.intern(message)
        self.sim.record(self.record_as, reason, obj, message)
        if self.enabled:
            self._post(ref, event_type, reason, message)

    def _post(self, ref: Mapping[str, Any], event_type: str, reason: str, message: str) -> None:
        now = self.sim.timestamp()
        key = (ref.get("kind"), ref.get("namespace"), ref.get("name"), ref.get("uid"),
               ref.get("fieldPath"), event_type, reason, message)
        seen = self._seen.get(key)
        if seen is not None:
            name, namespace, count = seen
            try:
                self.client.patch("events", name, {"count": count + 1, "lastTimestamp": now},
                                  namespace, patch_type="merge")
            except NotFound:  # expired (--event-ttl): start a new one
                del self._seen[key]
            except StatusError:
                return
            else:
                self._seen[key] = (name, namespace, count + 1)
                self._seen.move_to_end(key)
                return
        namespace = ref.get("namespace") or "default"
        for _ in range(64):  # a name taken by an Event someone else wrote: the next one
            name = f"{ref.get('name')}.{self.sim.unique_nanos():x}"
            try:
                self.client.create({
                    "apiVersion": "v1", "kind": "Event",
                    "metadata": {"name": name, "namespace": namespace},
                    "involvedObject": dict(ref), "reason": reason, "message": message,
                    "source": {"component": self.component,
                               **({"host": self.host} if self.host else {})},
                    "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                    "type": event_type, "eventTime": None,
                    "reportingComponent": self.component,
                    "reportingInstance": self.host}, namespace)
            except AlreadyExists:
                continue
            except StatusError:
                return  # upstream logs and drops an event it cannot write
            break
        else:
            return
        self._seen[key] = (name, namespace, 1)
        if len(self._seen) > MAX_LRU_CACHE_ENTRIES:
            self._seen.popitem(last=False)

    def forget(self, uid: str) -> None:
        """Drop the de-duplication entries of an object that is gone."""
        for key in [k for k in self._seen if k[3] == uid]:
            del self._seen[key]
