"""An informer: list once, then watch from that list's resourceVersion (client-go, in small).

How every component learns about the cluster without polling: the first LIST
gives the current objects and a resourceVersion; a WATCH from that version
then brings every change after it. The informer keeps the latest version of
each object in a local store and calls ``on_add``, ``on_update(old, new)`` and
``on_delete`` for each change. If the watch ends (a timeout, or a ``410
Expired`` because the version was compacted away) it lists again and turns the
difference into the same calls -- client-go's Reflector and DeltaFIFO.

Several components may share one informer (client-go's ``SharedInformer``):
each adds its handlers with :meth:`Informer.add_event_handler`, and every
change is stored once and handed to each of them in turn.

Handlers run inside the watch event's delivery, that is inside someone else's
API call: they must not call the API server themselves. They update a cache or
a queue; a SimPy process acts later. A handler that raises (a bug, or an object
shaped as nobody expected) is logged with its traceback and recorded as
``HandlerPanicked``; the other handlers still get the change, and the writer
whose API call delivered it never sees the exception. (client-go's
processorListener recovers the same way -- ``utilruntime.HandleCrash``,
"Observed a panic" -- before crashing the process on purpose, which here would
stop the whole simulation.)

A ``transform`` may trim each object before it is stored and handed on, as
client-go's ``SharedInformer.SetTransform`` does (kube-scheduler drops
``managedFields`` that way): 150,000 pods are a lot of memory.

*Indexers* answer "which cached objects have this value?" without a scan, as
client-go's ``Indexer`` does: ``informer.add_indexers({"byNode": fn})``, where
``fn(obj)`` gives the object's index values, then ``informer.by_index("byNode",
"node-1")``. The ReplicaSet controller finds its pods by their controller's uid
this way instead of walking 10,000 cached pods on every sync.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.client import Client, Selector
    from kubelearn.sim import Simulation

log = logging.getLogger(__name__)

RELIST_DELAY = 1.0  # seconds before listing again after a watch ended (reflector backoff)

Handler = Callable[[Mapping[str, Any]], None]
IndexFunc = Callable[[Mapping[str, Any]], list[str]]
Transform = Callable[[Mapping[str, Any]], Mapping[str, Any]]
UpdateHandler = Callable[[Mapping[str, Any], Mapping[str, Any]], None]


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name`` (or ``name`` for a cluster-scoped object): MetaNamespaceKeyFunc."""
    meta = obj.get("metadata") or {}
    namespace = meta.get("namespace")
    return f"{namespace}/{meta.get('name', '')}" if namespace else meta.get("name", "")


class Informer:
    """One resource kept in sync from the API server: a store and event handlers."""

    def __init__(self, sim: Simulation, client: Client, resource: str, *,
                 on_add: Handler | None = None, on_update: UpdateHandler | None = None,
                 on_delete: Handler | None = None, field_selector: Selector = None,
                 label_selector: Selector = None, transform: Transform | None = None) -> None:
        self.sim = sim
        self.client = client
        self.resource = resource
        self.handlers: list[tuple[Handler | None, UpdateHandler | None, Handler | None]] = []
        if on_add or on_update or on_delete:
            self.handlers.append((on_add, on_update, on_delete))
        self.field_selector = field_selector
        self.label_selector = label_selector
        self.transform = transform
        self.store: dict[str, Mapping[str, Any]] = {}
        self.indexers: dict[str, IndexFunc] = {}
        # index name -> index value -> the keys with that value (a dict as an ordered set)
        self.indices: dict[str, dict[str, dict[str, None]]] = {}
        # index name -> key -> the values its stored object gave, so an update computes only the new
        # (a tuple of strings: the collector stops tracking it, and there is one per object)
        self._indexed: dict[str, dict[str, tuple[str, ...]]] = {}
        self.resource_version = ""
        self.stream: Any = None
        self.relists = 0
        self._stopped = False
        self.started = False

    def __repr__(self) -> str:
        return f"Informer({self.resource}, {len(self.store)} objects)"

    def add_event_handler(self, on_add: Handler | None = None,
                          on_update: UpdateHandler | None = None,
                          on_delete: Handler | None = None) -> None:
        """Hand every change to these handlers too; if already running, replay the store as adds."""
        self.handlers.append((on_add, on_update, on_delete))
        if self.started and on_add is not None:
            for obj in list(self.store.values()):
                try:
                    on_add(obj)
                except Exception as error:
                    self._handler_panicked(on_add, obj, error)

    def add_indexers(self, indexers: Mapping[str, IndexFunc]) -> None:
        """Keep these indices of the store up to date (a name already there is kept)."""
        for name, index_func in indexers.items():
            if name in self.indexers:
                continue
            self.indexers[name] = index_func
            self.indices[name] = {}
            self._indexed[name] = {}
            for key, obj in self.store.items():
                self._reindex(name, key, obj)

    def by_index(self, name: str, value: str) -> list[Mapping[str, Any]]:
        """Indexer.ByIndex: the cached objects whose ``name`` index gives ``value``."""
        return [self.store[key] for key in self.indices[name].get(value, ())]

    def _put(self, key: str, obj: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        """Store ``obj`` under ``key`` (None: remove it), keeping the indices; returns the old."""
        if obj is None:
            old = self.store.pop(key, None)
        else:
            old = self.store.get(key)
            self.store[key] = obj
        for name in self.indexers:
            self._reindex(name, key, obj)
        return old

    def _reindex(self, name: str, key: str, new: Mapping[str, Any] | None) -> None:
        index, indexed = self.indices[name], self._indexed[name]
        before = indexed.get(key, ())
        after = tuple(self.indexers[name](new)) if new is not None else ()
        if after:
            indexed[key] = after
        elif before:
            del indexed[key]
        if before == after:
            return
        for value in before:
            if value not in after:
                keys = index[value]
                del keys[key]
                if not keys:
                    del index[value]
        for value in after:
            index.setdefault(value, {})[key] = None

    def start(self) -> None:
        """List, replay the list as changes, and watch from its resourceVersion."""
        self._stopped = False
        self.started = True
        listed = self.client.list(self.resource, field_selector=self.field_selector,
                                  label_selector=self.label_selector)
        self.resource_version = listed["metadata"]["resourceVersion"]
        items = listed["items"]
        if self.transform is not None:
            items = [self.transform(o) for o in items]
        fresh = {object_key(o): o for o in items}
        for key, old in list(self.store.items()):
            if key not in fresh:
                self._put(key, None)
                self._deleted(old)
        for key, obj in fresh.items():
            old = self._put(key, obj)
            if old is None:
                self._added(obj)
            elif old.get("metadata", {}).get("resourceVersion") != \
                    obj.get("metadata", {}).get("resourceVersion"):
                self._updated(old, obj)
        self.stream = self.client.watch(self.resource, resource_version=self.resource_version,
                                        field_selector=self.field_selector,
                                        label_selector=self.label_selector)
        self.stream.on_stop(self._watch_ended)
        self.stream.on_event(self._on_event)

    def stop(self) -> None:
        """Stop watching."""
        self._stopped = True
        if self.stream is not None:
            self.stream.stop()

    def _added(self, obj: Mapping[str, Any]) -> None:
        for on_add, _, _ in self.handlers:
            if on_add is not None:
                try:
                    on_add(obj)
                except Exception as error:
                    self._handler_panicked(on_add, obj, error)

    def _updated(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> None:
        for _, on_update, _ in self.handlers:
            if on_update is not None:
                try:
                    on_update(old, new)
                except Exception as error:
                    self._handler_panicked(on_update, new, error)

    def _deleted(self, obj: Mapping[str, Any]) -> None:
        for _, _, on_delete in self.handlers:
            if on_delete is not None:
                try:
                    on_delete(obj)
                except Exception as error:
                    self._handler_panicked(on_delete, obj, error)

    def _handler_panicked(self, handler: Callable, obj: Mapping[str, Any],
                          error: Exception) -> None:
        """Log and record a handler's exception; the change still goes to the others."""
        name = getattr(handler, "__qualname__", repr(handler))
        key = f"{self.resource}/{object_key(obj)}"
        self.sim.record("informer", "HandlerPanicked", key,
                        f"{name}: {type(error).__name__}: {error}")
        log.exception("Observed a panic in %s handling %s", name, key)

    def _on_event(self, event: Mapping[str, Any]) -> None:
        kind, obj = event["type"], event["object"]
        if kind in ("BOOKMARK", "ERROR"):
            if kind == "BOOKMARK":
                self.resource_version = obj["metadata"]["resourceVersion"]
            return
        self.resource_version = obj["metadata"]["resourceVersion"]
        if self.transform is not None:
            obj = self.transform(obj)
        key = object_key(obj)
        if kind == "DELETED":
            old = self._put(key, None)
            self._deleted(old if old is not None else obj)
            return
        old = self._put(key, obj)
        if old is None:
            self._added(obj)
        else:
            self._updated(old, obj)

    def _watch_ended(self) -> None:
        if self._stopped:
            return
        self.relists += 1
        self.sim.call_later(RELIST_DELAY, self.start)
