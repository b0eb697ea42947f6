"""Watch: every change to a key range, in revision order, from any retained revision.

A :class:`Watcher` is one etcd watch. It receives :class:`~kubelearn.etcd.kv.Event`
objects in revision order, with no gaps: first the past events from its
``start_revision`` (replayed from the store's history), then every new change
as it is written. Read them three ways:

- ``watcher.events`` — every event delivered so far (kept until the watcher goes,
  unless it was started with ``keep=False``);
- ``callback(event)`` — called for each event, right after the write;
- ``event = yield watcher.get()`` — from a SimPy process.

The :class:`WatchHub` finds the watchers of a change without asking all of
them, like etcd's watcherGroup (server/mvcc/watcher_group.go): watchers of one
key sit in a dict by key, watchers of a range or prefix in a dict by range, so
a put to ``/a`` never visits the 1,000 watchers of other single keys.

Delivery is deterministic and never re-entrant: a write queues its events and
the hub drains the queue in order. A callback that writes to the store only
queues more events, delivered after the current ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable

import simpy

from kubelearn.etcd.kv import ALL_KEYS_FROM, Event, KeyRange, KeyValue

Callback = Callable[[Event], object]


class Watcher:
    """One watch on a key range: its events, in revision order."""

    def __init__(self, hub: WatchHub, watch_id: int, keys: KeyRange, start_revision: int,
                 next_revision: int, prev_kv: bool, callback: Callback | None,
                 keep: bool = True) -> None:
        self.id = watch_id
        self.range = keys
        self.start_revision = start_revision
        self.prev_kv = prev_kv
        self.callback = callback
        self.events: list[Event] = []
        self.keep = keep
        self.canceled = False
        self._hub = hub
        self._next = next_revision  # live events below this were replayed (or not wanted)
        self._read = 0  # how many events get() has handed out
        self._waiter: simpy.Event | None = None

    @property
    def key(self) -> str:
        """The watched key (the start of the range)."""
        return self.range.key

    @property
    def range_end(self) -> str | None:
        """The end of the watched range (None: one key)."""
        return self.range.end

    def get(self) -> simpy.Event:
        """A SimPy event that fires with the next event not yet taken (None once canceled).

        Meant for one consuming process, like a Go channel with one reader.
        """
        env = self._hub.env
        if self._read < len(self.events):
            self._read += 1
            return env.event().succeed(self.events[self._read - 1])
        if self.canceled:
            return env.event().succeed(None)  # like reading a closed Go channel
        if self._waiter is None:
            self._waiter = env.event()
        return self._waiter

    def cancel(self) -> None:
        """Stop watching; a process waiting in get() receives None."""
        if self.canceled:
            return
        self.canceled = True
        self._hub.remove(self)
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            waiter.succeed(None)

    def _push(self, event: Event) -> None:
        """Hand one event to this watcher's list, waiting process and callback."""
        if self.keep:
            self.events.append(event)
        if self._waiter is not None:
            waiter, self._waiter = self._waiter, None
            self._read += 1
            waiter.succeed(event)
        if self.callback is not None:
            self.callback(event)

    def __repr__(self) -> str:
        end = f", range_end={self.range.end!r}" if self.range.end else ""
        state = ", canceled" if self.canceled else ""
        return (f"Watcher(id={self.id}, key={self.range.key!r}{end}, "
                f"events={len(self.events)}{state})")


class WatchHub:
    """All the watchers of a store, indexed by key and by range, and the delivery queue."""

    def __init__(self, env: simpy.Environment) -> None:
        self.env = env
        self._by_key: dict[str, list[Watcher]] = {}
        self._by_range: dict[KeyRange, list[Watcher]] = {}
        # _by_range flattened to (first key, range end, watchers); None after a watcher comes
        # or goes, rebuilt on the next write. Every write is checked against every watched
        # range, so the check is two string comparisons inline, not KeyRange.__contains__.
        self._ranges: list[tuple[str, str, list[Watcher]]] | None = []
        self._queue: deque[tuple[Watcher | None, list]] = deque()
        self._draining = False
        self._next_id = 0

    def __len__(self) -> int:
        """How many watchers are active."""
        return sum(map(len, self._by_key.values())) + sum(map(len, self._by_range.values()))

    def add(self, keys: KeyRange, start_revision: int, next_revision: int, prev_kv: bool,
            callback: Callback | None, replay: list[Event], keep: bool = True) -> Watcher:
        """Register a watcher and deliver its ``replay`` of past events first."""
        watcher = Watcher(self, self._next_id, keys, start_revision, next_revision, prev_kv,
                          callback, keep)
        self._next_id += 1
        index = self._by_key if keys.single else self._by_range
        index.setdefault(keys.key if keys.single else keys, []).append(watcher)
        self._ranges = None
        if replay:
            self._queue.append((watcher, replay))
            self._drain()
        return watcher

    def remove(self, watcher: Watcher) -> None:
        """Forget a watcher; it gets no further events."""
        keys = watcher.range
        index = self._by_key if keys.single else self._by_range
        slot = keys.key if keys.single else keys
        group = index.get(slot, [])  # type: ignore[call-overload]
        if watcher in group:
            group.remove(watcher)
            if not group:
                del index[slot]  # type: ignore[arg-type]
            self._ranges = None

    def notify(self, changes: list[tuple[KeyValue, KeyValue | None]]) -> None:
        """Queue the changes of one committed revision and deliver them."""
        if not (self._by_key or self._by_range):
            return  # nobody is watching: the common case, kept cheap
        self._queue.append((None, changes))
        self._drain()

    def _drain(self) -> None:
        """Deliver queued events in order; a write made by a callback waits its turn."""
        if self._draining:
            return
        self._draining = True
        failure: BaseException | None = None
        try:
            while self._queue:
                target, batch = self._queue.popleft()
                try:
                    if target is not None:
                        for event in batch:  # a new watcher's replay of past events
                            if not target.canceled:
                                target._push(event)
                    else:
                        self._deliver(batch)
                except Exception as err:  # a failing callback must not stall the others
                    failure = failure or err
        finally:
            self._draining = False
        if failure is not None:
            raise failure

    def _deliver(self, changes: Iterable[tuple[KeyValue, KeyValue | None]]) -> None:
        """Offer each change to the watchers of its key and of every range holding it."""
        failure: Exception | None = None
        for kv, prev in changes:
            watchers = self._watchers_of(kv.key)
            if not watchers:
                continue
            kind = "PUT" if kv.version else "DELETE"
            with_prev = Event(kind, kv, prev)
            bare = with_prev if prev is None else None  # made when a watcher wants it
            revision = kv.mod_revision
            for watcher in watchers:
                if watcher.canceled or revision < watcher._next:
                    continue
                if not watcher.prev_kv and bare is None:
                    bare = Event(kind, kv, None)
                try:
                    watcher._push(with_prev if watcher.prev_kv else bare)
                except Exception as err:
                    failure = failure or err
        if failure is not None:
            raise failure

    def _watchers_of(self, key: str) -> list[Watcher]:
        """The watchers interested in ``key``, in a fixed order (key watchers first)."""
        found = list(self._by_key.get(key, ()))
        ranges = self._ranges
        if ranges is None:
            ranges = self._ranges = [(keys.key, keys.end, group)  # type: ignore[misc]
                                     for keys, group in self._by_range.items()]
        for start, end, group in ranges:
            if start <= key and (end == ALL_KEYS_FROM or key < end):  # key in KeyRange(start, end)
                found += group  # a copy: a callback may add or cancel watchers meanwhile
        return found
