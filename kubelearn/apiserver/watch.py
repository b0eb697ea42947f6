"""Watch: the API server's watch cache and the streams it feeds.

Upstream every resource has a *cacher* (k8s.io/apiserver/pkg/storage/cacher):
one etcd watch per resource, each change decoded once and fanned out to every
client watch that wants it. Here one etcd watch on ``/registry/`` feeds a
:class:`WatchCache` that, for each change:

- decodes the new value once and stamps ``metadata.resourceVersion`` with the
  etcd mod revision (a deletion carries the last state, stamped with the
  deleting revision) -- unless nobody watches the resource (Events, mostly):
  then it decodes nothing until a watcher comes and asks;
- remembers, per object, the labels and selectable fields a selector looks at
  (so a watcher can tell an object *entering* its selector, ADDED, from one
  *leaving* it, DELETED, as cache_watcher.go convertToWatchEvent does);
- offers the event only to the watchers indexed under its resource, its
  namespace, its name (a watch whose field selector names one object, such as
  ``metadata.name=node-1``: the cacher's ``namespacedName`` scopes) and -- for
  pods -- its ``spec.nodeName`` (the cacher's ``TriggerFunc``), so 5,000
  kubelets do not each filter every pod event, nor 5,000 kube-proxies every
  node's;
- keeps every object's current key-value, which is what kube-apiserver's own
  informers hold for its admission plugins' listers and the Node authorizer's
  graph: they read it here (:meth:`WatchCache.current`), not etcd; and what a
  GET or LIST with ``resourceVersion=0`` ("any version") is answered from
  (:meth:`WatchCache.list_current`), at the cache's :attr:`~WatchCache.revision`;
- keeps a window of recent events to replay to a watch that starts from an
  older resourceVersion; older than the window (or compacted in etcd) is the
  watch cache's ``too old resource version`` 410, sent as an ERROR event.

A :class:`WatchStream` is one client's watch. Event objects are shared by all
the watchers that receive them, as client-go informers share their cache:
treat them as read-only and copy before changing one.

Informers keep what they are sent -- the controller manager's pod informer
every pod of the cluster -- so the objects the cache sends share their strings
(:func:`~kubelearn.apiserver.storage.decode_shared`): a pod in an informer
then takes about half the memory.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import simpy

from kubelearn.api import Expired, FieldSelector, LabelSelector, selectable_fields
from kubelearn.api.manifest import ETCD_PREFIXES
from kubelearn.apiserver.storage import (
    decode,
    decode_shared,
    parse_resource_version,
    too_large,
)
from kubelearn.etcd import Event as EtcdEvent
from kubelearn.etcd import KeyValue

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.registry import Registry, ResourceInfo
    from kubelearn.etcd import Store
    from kubelearn.sim import Simulation

# cacher.go bookmarkFrequency: a watcher that allows bookmarks gets one about every minute.
BOOKMARK_FREQUENCY = 60.0
# watch_cache.go: defaultLowerBoundCapacity, defaultUpperBoundCapacity, eventFreshDuration.
HISTORY_LOWER_BOUND = 100
HISTORY_UPPER_BOUND = 100 * 1024
EVENT_FRESH_DURATION = 75.0
# How many objects, the ones changed last, the cache keeps as it decoded them, so that the
# next version of one shares what did not change (kubelearn's own number: more than a
# scheduler's queue holds between a pod's create and its binding in benchmarks/scheduler.py,
# 5,000 pods a batch). They are the objects the watchers were sent, which informers keep
# anyway: this costs the map, not copies.
RECENT_OBJECTS = 16_384
# The annotation on the bookmark ending a watch's initial events (InitialEventsAnnotationKey).
INITIAL_EVENTS_END = "k8s.io/initial-events-end"

Attrs = tuple[Mapping[str, Any], Mapping[str, str]]  # (labels, selectable fields)
Callback = Callable[[dict], object]
# The attributes of an object that changed while nobody watched its resource: not worked
# out then, but from the stored value if a watcher ever needs them.
UNDECODED: Attrs = ({}, {})


def attrs_of(obj: Mapping[str, Any]) -> Attrs:
    """What selectors look at: the object's labels and its selectable fields."""
    return (obj["metadata"].get("labels") or {}, selectable_fields(obj))


class WatchStream:
    """One client's watch: ADDED/MODIFIED/DELETED/BOOKMARK/ERROR events, in order.

    Read it one of two ways: ``stream.on_event(callback)`` (called on the
    simulation's thread for every event; queued ones first) or, from a SimPy
    process, ``event = yield stream.get()`` (None once the stream stopped).
    ``stream.drain()`` hands over whatever is queued now.
    """

    def __init__(self, env: simpy.Environment, resource: str = "") -> None:
        self.resource = resource
        self.stopped = False
        self._env = env
        self._queue: deque[dict] = deque()
        self._callback: Callback | None = None
        self._waiter: simpy.Event | None = None
        self._on_stop: list[Callable[[], object]] = []
        self._detach: Callable[[], None] | None = None

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "open"
        return f"WatchStream({self.resource}, {state}, queued={len(self._queue)})"

    def on_event(self, callback: Callback) -> None:
        """Call ``callback(event)`` for every event: the queued ones now, in order, then live."""
        self._callback = callback
        while self._queue and self._callback is callback:
            callback(self._queue.popleft())

    def on_stop(self, callback: Callable[[], object]) -> None:
        """Call ``callback()`` once when the stream stops (a timeout, an error, stop())."""
        if self.stopped:
            callback()
        else:
            self._on_stop.append(callback)

    def get(self) -> simpy.Event:
        """A SimPy event firing with the next event (None once the stream has stopped)."""
        if self._queue:
            return self._env.event().succeed(self._queue.popleft())
        if self.stopped:
            return self._env.event().succeed(None)
        if self._waiter is None:
            self._waiter = self._env.event()
        return self._waiter

    def drain(self) -> list[dict]:
        """Every event queued so far, oldest first, taken off the queue."""
        out = list(self._queue)
        self._queue.clear()
        return out

    def stop(self) -> None:
        """End the watch: no more events; a process waiting in get() receives None."""
        if self.stopped:
            return
        self.stopped = True
        if self._detach is not None:
            self._detach()
            self._detach = None
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.succeed(None)
        callbacks, self._on_stop = self._on_stop, []
        for callback in callbacks:
            callback()

    def push(self, event: dict) -> None:
        """Deliver one event (the watch cache calls this)."""
        if self.stopped:
            return
        if self._callback is not None:
            self._callback(event)
        elif self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.succeed(event)
        else:
            self._queue.append(event)


class _Watcher:
    """A stream with its filter, as the cache indexes it."""

    __slots__ = ("id", "stream", "label", "field", "bucket", "bookmarks", "info", "active")

    def __init__(self, watcher_id: int, stream: WatchStream, info: ResourceInfo,
                 label: LabelSelector | None, field: FieldSelector | None,
                 bucket: tuple[str | None, str | None, str | None], bookmarks: bool) -> None:
        self.id = watcher_id
        self.stream = stream
        self.info = info
        self.label = label
        self.field = field
        self.bucket = bucket
        self.bookmarks = bookmarks
        self.active = True

    def passes(self, attrs: Attrs | None) -> bool:
        """True if an object with these attributes is one this watcher wants."""
        if attrs is None:
            return False
        if self.label is not None and not self.label.matches(attrs[0]):
            return False
        return self.field is None or self.field.matches(attrs[1])


class _ResourceCache:
    """The watch cache of one resource: object attributes, watchers, recent history."""

    def __init__(self, info: ResourceInfo) -> None:
        self.info = info
        self.attrs: dict[str, Attrs] = {}
        self.kvs: dict[str, KeyValue] = {}  # every object's stored key-value, as it is now
        self.by_node: dict[str, set[str]] | None = {} if info.resource == "pods" else None
        # (namespace, name, node) -> the watchers scoped so; None: any
        self.buckets: dict[tuple[str | None, str | None, str | None], dict[int, _Watcher]] = {}
        # which of the three the buckets are scoped by: how many buckets of each kind, and the
        # kinds there are, in order ((False, False, False), unscoped, first)
        self._shape_counts: dict[tuple[bool, bool, bool], int] = {}
        self.shapes: list[tuple[bool, bool, bool]] = []
        # the recent events, oldest first, and (in step) when each came: two deques rather
        # than one of (time, event) pairs, so a change leaves no tuple for the collector
        self.history: deque[EtcdEvent] = deque()
        self.history_times: deque[float] = deque()
        self.trimmed = 0  # the revision of the newest event dropped from history
        self.changes = 0  # how many changes this resource has seen
        # key -> (mod revision, object as sent), the RECENT_OBJECTS changed last, oldest first
        self.recent: dict[str, tuple[int, dict]] = {}

    def previous(self, key: str, prev_kv: KeyValue | None) -> dict | None:
        """The object as the cache sent it last, if that is the version ``prev_kv`` holds
        (None if it is not, or no longer among the RECENT_OBJECTS)."""
        kept = self.recent.get(key) if prev_kv is not None else None
        return kept[1] if kept is not None and kept[0] == prev_kv.mod_revision else None

    def keep_recent(self, key: str, revision: int, obj: dict | None) -> None:
        """Remember ``obj`` as the newest (None: forget the key), dropping the oldest."""
        recent = self.recent
        recent.pop(key, None)
        if obj is None:
            return
        recent[key] = (revision, obj)
        if len(recent) > RECENT_OBJECTS:
            del recent[next(iter(recent))]

    def index(self, key: str, attrs: Attrs | None) -> None:
        """Remember (or, with None, forget) an object's attributes and node."""
        old = self.attrs.get(key)
        if attrs is None:
            self.attrs.pop(key, None)
        else:
            self.attrs[key] = attrs
        if self.by_node is not None:
            old_node = old[1].get("spec.nodeName", "") if old else None
            new_node = attrs[1].get("spec.nodeName", "") if attrs else None
            if old_node != new_node:
                if old_node is not None:
                    keys = self.by_node.get(old_node)
                    if keys is not None:
                        keys.discard(key)
                        if not keys:
                            del self.by_node[old_node]
                if new_node is not None:
                    self.by_node.setdefault(new_node, set()).add(key)

    def add_watcher(self, watcher: _Watcher) -> None:
        """File ``watcher`` under its bucket."""
        group = self.buckets.get(watcher.bucket)
        if group is None:
            group = self.buckets[watcher.bucket] = {}
            self._count_shape(watcher.bucket, 1)
        group[watcher.id] = watcher

    def remove_watcher(self, watcher: _Watcher) -> None:
        """Take ``watcher`` out of its bucket."""
        group = self.buckets.get(watcher.bucket)
        if group is not None:
            group.pop(watcher.id, None)
            if not group:
                del self.buckets[watcher.bucket]
                self._count_shape(watcher.bucket, -1)

    def _count_shape(self, bucket: tuple[str | None, str | None, str | None], step: int) -> None:
        shape = (bucket[0] is not None, bucket[1] is not None, bucket[2] is not None)
        count = self._shape_counts.get(shape, 0) + step
        if count:
            self._shape_counts[shape] = count
        else:
            del self._shape_counts[shape]
        if count in (0, 1):  # a kind came or went
            self.shapes = sorted(self._shape_counts)

    def remember(self, now: float, event: EtcdEvent) -> None:
        """Append to the history window, dropping what is stale (watch_cache.go resizing)."""
        history, times = self.history, self.history_times
        history.append(event)
        times.append(now)
        oldest = now - EVENT_FRESH_DURATION
        while len(history) > HISTORY_UPPER_BOUND or (
                len(history) > HISTORY_LOWER_BOUND and times[0] < oldest):
            times.popleft()
            self.trimmed = history.popleft().kv.mod_revision


class WatchCache:
    """Every resource's watch cache, fed by one etcd watch on ``/registry/``."""

    def __init__(self, sim: Simulation, store: Store, registry: Registry) -> None:
        self.sim = sim
        self.store = store
        self._caches: dict[str, _ResourceCache] = {}
        self._by_resource: dict[str, _ResourceCache] = {}
        for info in registry:
            if info.stored:
                cache = _ResourceCache(info)
                self._caches[ETCD_PREFIXES.get(info.resource, info.resource)] = cache
                self._by_resource[info.resource] = cache
        self._next_id = 0
        self._expected: tuple[str, bytes, dict | None] | None = None  # see expect()
        self._bookmark_heap: list[tuple[float, int, _Watcher]] = []
        self._waker_at: float | None = None
        self.started_at = store.revision
        warm_up = store.range("/registry/", prefix=True)  # start from what is there
        self.revision = warm_up.revision  # the newest revision the cache has seen
        for kv in warm_up.kvs:
            found = self._locate(kv.key)
            if found is not None:
                found[0].index(kv.key, attrs_of(decode(kv)))
                found[0].kvs[kv.key] = kv
        self._etcd_watch = store.watch("/registry/", prefix=True, prev_kv=True,
                                       callback=self._on_etcd_event, keep=False)

    # -- which resource a key belongs to ---------------------------------------------------------
    def _locate(self, key: str) -> tuple[_ResourceCache, str | None] | None:
        """The cache of the resource stored at ``key``, and the key's namespace."""
        rest = key[10:]  # after "/registry/"
        segment, _, tail = rest.partition("/")
        if segment == "services":
            sub, _, tail = tail.partition("/")
            segment = f"services/{sub}"
        cache = self._caches.get(segment)
        if cache is None:
            return None
        namespace = tail.partition("/")[0] if cache.info.namespaced else None
        return cache, namespace

    def current(self, key: str) -> KeyValue | None:
        """The object stored at ``key`` as the cache has it now, without asking etcd.

        What kube-apiserver's own informers give its admission plugins and the
        Node authorizer: every object, kept current by the watch. None if there
        is no such object (or ``key`` belongs to no resource served here).
        """
        found = self._locate(key)
        return found[0].kvs.get(key) if found is not None else None

    def list_current(self, info: ResourceInfo, namespace: str | None = None,
                     node: str | None = None) -> tuple[list[KeyValue], int]:
        """The current key-values of a resource (one namespace's; pods: one node's), in key
        order, and the cache's revision: what a list at ``resourceVersion=0`` is served from.

        No etcd read: kube-apiserver's cacher answers such a list (and a GET at
        "0") from its watch cache as it is, possibly a little behind etcd
        (cacher.go GetList and Get, v1.32), so it answers while etcd has no
        majority. ``node`` narrows pods by the cache's node index, the
        cacher's ``spec.nodeName`` indexer.
        """
        cache = self._by_resource[info.resource]
        if node is not None and cache.by_node is not None:
            keys = sorted(cache.by_node.get(node, ()))
        else:
            keys = sorted(cache.kvs)
        if namespace is not None and info.namespaced:
            prefix = _prefix_of(cache, namespace)
            keys = [key for key in keys if key.startswith(prefix)]
        return [cache.kvs[key] for key in keys], self.revision

    def keys_on_node(self, node: str) -> list[str]:
        """The etcd keys of the pods whose ``spec.nodeName`` is ``node``, sorted."""
        by_node = self._by_resource["pods"].by_node or {}
        return sorted(by_node.get(node, ()))

    def decoded(self, kv: KeyValue) -> dict | None:
        """The object stored as ``kv``, as the cache decoded and sent it (read-only), if it
        is among the ones changed last; else None."""
        found = self._locate(kv.key)
        return found[0].previous(kv.key, kv) if found is not None else None

    def expect(self, key: str | None, value: bytes = b"", written: dict | None = None) -> None:
        """The next change to ``key`` should write ``value``, the encoding of ``written``:
        if it does, take ``written`` instead of decoding ``value`` (None: expect nothing).

        For a writer that builds its object from :meth:`decoded` parts and hands it over
        (:meth:`Storage.bind`). A change that writes anything else is decoded as always.
        """
        self._expected = (key, value, written) if key is not None else None

    def changes(self, resource: str) -> int:
        """How many changes ``resource`` has seen (a cheap "has anything changed?")."""
        return self._by_resource[resource].changes

    # -- the fan-out -----------------------------------------------------------------------------
    def _on_etcd_event(self, event: EtcdEvent) -> None:
        """Decode one change once and offer it to the watchers indexed under it."""
        key = event.kv.key
        self.revision = max(self.revision, event.kv.mod_revision)
        found = self._locate(key)
        if found is None:
            return
        cache, namespace = found
        cache.changes += 1
        cache.remember(self.sim.now, event)
        if event.type == "PUT":
            cache.kvs[key] = event.kv
        else:
            cache.kvs.pop(key, None)
        prev_attrs = cache.attrs.get(key)
        if event.type == "PUT":
            if not cache.buckets and cache.by_node is None:
                cache.index(key, UNDECODED)
                cache.keep_recent(key, 0, None)
                return
            # What the previous version holds unchanged is taken from it, not walked again.
            expected, written = self._expected, None
            if expected is not None and expected[0] == key and expected[1] == event.kv.value:
                self._expected, written = None, expected[2]
            obj = decode_shared(event.kv, cache.previous(key, event.prev_kv), written)
            cache.keep_recent(key, event.kv.mod_revision, obj)
            attrs: Attrs | None = attrs_of(obj)
        else:
            obj, attrs = None, None
            cache.keep_recent(key, 0, None)
        cache.index(key, attrs)
        if not cache.buckets:
            return
        if prev_attrs is UNDECODED:
            prev_attrs = attrs_of(decode(event.prev_kv)) if event.prev_kv else None
        watchers = self._candidates(cache, namespace, key[key.rfind("/") + 1:], attrs,
                                    prev_attrs)
        if watchers:
            self._dispatch(watchers, event, obj, attrs, prev_attrs)

    @staticmethod
    def _candidates(cache: _ResourceCache, namespace: str | None, name: str,
                    attrs: Attrs | None, prev_attrs: Attrs | None) -> list[_Watcher]:
        """The watchers under this event's namespace, name and (pods) node buckets.

        Only the kinds of bucket that exist are looked in (most often only the
        unscoped one, the informers'), in the order of (namespace, name, node), each
        unscoped before scoped.
        """
        nodes: list[str] = []
        if cache.by_node is not None:
            for a in (attrs, prev_attrs):
                if a is not None:
                    node = a[1].get("spec.nodeName", "")
                    if node not in nodes:
                        nodes.append(node)
        found: list[_Watcher] = []
        buckets = cache.buckets
        for by_namespace, by_name, by_node in cache.shapes:
            if by_namespace and namespace is None:
                continue
            ns, scope = namespace if by_namespace else None, name if by_name else None
            for node in nodes if by_node else (None,):
                group = buckets.get((ns, scope, node))
                if group:
                    found.extend(group.values())
        return found

    @staticmethod
    def _dispatch(watchers: Iterable[_Watcher], event: EtcdEvent, obj: dict | None,
                  attrs: Attrs | None, prev_attrs: Attrs | None) -> None:
        """Turn one change into each watcher's ADDED, MODIFIED or DELETED (or nothing)."""
        made: dict[str, dict] = {}
        for watcher in watchers:
            if not watcher.active:
                continue
            now_in = obj is not None and watcher.passes(attrs)
            was_in = watcher.passes(prev_attrs)
            if now_in:
                kind = "MODIFIED" if was_in else "ADDED"
            elif was_in:
                kind = "DELETED"
            else:
                continue
            out = made.get(kind)
            if out is None:
                if kind == "DELETED":
                    out = {"type": kind, "object": _last_state(event)}
                else:
                    out = {"type": kind, "object": obj}
                made[kind] = out
            watcher.stream.push(out)

    # -- starting a watch ------------------------------------------------------------------------
    def watch(self, info: ResourceInfo, namespace: str | None = None, *,
              label: LabelSelector | None = None, field: FieldSelector | None = None,
              resource_version: str | None = None, bookmarks: bool = False,
              send_initial_events: bool | None = None,
              timeout: float | None = None) -> WatchStream:
        """Start a watch: initial or replayed events first, then live ones, as upstream.

        ``resource_version`` None, "" or "0": an ADDED event for every current
        object, then changes. A revision N: every change after N (a 410
        ERROR event if N is older than the cache remembers). ``send_initial_events``
        True: the current objects first whatever N, ended by a bookmark
        annotated ``k8s.io/initial-events-end``.
        """
        cache = self._by_resource[info.resource]
        stream = WatchStream(self.sim.env, info.resource)
        if label is not None and label.empty():
            label = None
        if field is not None and field.empty():
            field = None
        if namespace is None and field is not None:
            namespace = field.requires_exact_match("metadata.namespace")  # MatchesSingleNamespace
        name = (field.requires_exact_match("metadata.name") or None) if field is not None else None
        node = None
        if cache.by_node is not None and field is not None:
            node = field.requires_exact_match("spec.nodeName")
        watcher = _Watcher(self._next_id, stream, info, label, field, (namespace, name, node),
                           bookmarks)
        self._next_id += 1
        current = self.store.revision
        rv = _parse_rv(resource_version)
        if rv > current:
            raise too_large(rv, current)  # cacher.go waitUntilFreshAndBlock gives up
        initial = send_initial_events if send_initial_events is not None else rv == 0
        if initial:
            for obj in self._current(cache, namespace, node, watcher):
                stream.push({"type": "ADDED", "object": obj})
            if send_initial_events and bookmarks:
                stream.push(self._bookmark(info, current, initial_end=True))
        else:
            if rv == 0:  # sendInitialEvents=false from "" or "0": from now (watch_cache.go)
                rv = current
            boundary = max(cache.trimmed, self.store.compact_revision - 1, 0)
            if rv < boundary:
                stream.push({"type": "ERROR", "object": Expired.too_old(rv, boundary).status})
                stream.stop()
                return stream
            for event in self._replay(cache, rv, namespace, watcher):
                stream.push(event)
        cache.add_watcher(watcher)

        def detach() -> None:
            watcher.active = False
            cache.remove_watcher(watcher)

        stream._detach = detach
        if bookmarks:
            self._schedule_bookmark(watcher, self.sim.now + BOOKMARK_FREQUENCY)
        if timeout is not None and timeout > 0:
            self.sim.call_later(timeout, stream.stop)
        return stream

    def _current(self, cache: _ResourceCache, namespace: str | None, node: str | None,
                 watcher: _Watcher) -> list[dict]:
        """The current objects a new watcher wants, in key order (decoded for it)."""
        if node is not None and cache.by_node is not None:
            keys = sorted(cache.by_node.get(node, ()))
        else:
            keys = sorted(cache.attrs)
        if namespace is not None and cache.info.namespaced:
            prefix = _prefix_of(cache, namespace)
            keys = [k for k in keys if k.startswith(prefix)]
        out = []
        for key in keys:
            attrs = cache.attrs.get(key)
            if attrs is UNDECODED:
                kv = self.store.get(key)
                obj = decode_shared(kv) if kv is not None else None
                attrs = attrs_of(obj) if obj is not None else None
                if watcher.passes(attrs):
                    out.append(obj)
            elif watcher.passes(attrs):
                kv = self.store.get(key)
                if kv is not None:
                    out.append(decode_shared(kv))
        return out

    def _replay(self, cache: _ResourceCache, rv: int, namespace: str | None,
                watcher: _Watcher) -> list[dict]:
        """The events after revision ``rv`` from the history window, as this watcher sees them."""
        prefix = _prefix_of(cache, namespace) if namespace is not None else ""
        out = []
        for event in cache.history:
            if event.kv.mod_revision <= rv or not event.kv.key.startswith(prefix):
                continue
            obj = decode_shared(event.kv) if event.type == "PUT" else None
            prev = decode_shared(event.prev_kv) if event.prev_kv is not None else None
            now_in = obj is not None and watcher.passes(attrs_of(obj))
            was_in = prev is not None and watcher.passes(attrs_of(prev))
            if now_in:
                out.append({"type": "MODIFIED" if was_in else "ADDED", "object": obj})
            elif was_in:
                out.append({"type": "DELETED", "object": _last_state(event)})
        return out

    # -- bookmarks -------------------------------------------------------------------------------
    @staticmethod
    def _bookmark(info: ResourceInfo, revision: int, initial_end: bool = False) -> dict:
        """A BOOKMARK: an empty object of the kind carrying only a resourceVersion."""
        meta: dict[str, Any] = {"resourceVersion": str(revision)}
        if initial_end:
            meta["annotations"] = {INITIAL_EVENTS_END: "true"}
        return {"type": "BOOKMARK",
                "object": {"kind": info.kind, "apiVersion": info.api_version, "metadata": meta}}

    def _schedule_bookmark(self, watcher: _Watcher, due: float) -> None:
        heapq.heappush(self._bookmark_heap, (due, watcher.id, watcher))
        self._arm()

    def _arm(self) -> None:
        """Make sure one timer is set for the earliest bookmark due."""
        if not self._bookmark_heap:
            return
        due = self._bookmark_heap[0][0]
        if self._waker_at is None or due < self._waker_at:
            self._waker_at = due
            self.sim.call_later(max(0.0, due - self.sim.now), self._send_bookmarks)

    def _send_bookmarks(self) -> None:
        """Send every bookmark that is due and schedule each watcher's next one."""
        now = self.sim.now
        if self._waker_at is not None and self._waker_at <= now:
            self._waker_at = None
        heap = self._bookmark_heap
        revision = self.store.revision
        while heap and heap[0][0] <= now:
            _, _, watcher = heapq.heappop(heap)
            if not watcher.active or watcher.stream.stopped:
                continue
            watcher.stream.push(self._bookmark(watcher.info, revision))
            heapq.heappush(heap, (now + BOOKMARK_FREQUENCY, watcher.id, watcher))
        self._arm()


def _last_state(event: EtcdEvent) -> dict:
    """A DELETED event's object: the last state, stamped with the deleting revision."""
    assert event.prev_kv is not None, "the API server's etcd watch asks for prev_kv"
    obj = decode(event.prev_kv)
    obj["metadata"]["resourceVersion"] = str(event.kv.mod_revision)
    return obj


def _prefix_of(cache: _ResourceCache, namespace: str) -> str:
    """The etcd prefix of one namespace of a resource."""
    name = ETCD_PREFIXES.get(cache.info.resource, cache.info.resource)
    return f"/registry/{name}/{namespace}/"


def _parse_rv(resource_version: str | None) -> int:
    """A watch's resourceVersion as a number (0 for none), or the API server's 400."""
    if resource_version in (None, "", "0"):
        return 0
    return parse_resource_version(resource_version)
