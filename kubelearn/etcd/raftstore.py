"""ReplicatedStore: the Store's interface, answered by a Raft group.

The API server calls its store synchronously — ``store.put(...)`` returns a
response at once — and knows nothing of members. :class:`ReplicatedStore`
keeps that contract on top of a :class:`~kubelearn.etcd.raft.RaftGroup`, the
way etcd's Go client (clientv3) hides the cluster behind one KV interface:

- It talks to one member, its *endpoint* (the first member up; when that one
  is down, the next), as a client pinned to an endpoint does.
- A write (put, delete, txn, compact, lease grant and revoke) is a proposal:
  it returns once the endpoint has applied the committed entry, with the
  response of the endpoint's store.
- A read (get, range, history, leases) is linearizable: the endpoint gets a
  ReadIndex from the leader, waits until it has applied that far, then reads
  its own store.
- A lease keepalive or time-to-live question is answered by the leader, which
  alone keeps lease deadlines.
- ``revision`` and ``compact_revision`` are the endpoint's own, without a
  round trip (a serializable read of the header).
- A watch is served from the endpoint's store, as etcd serves watches from the
  member a client is connected to; when the endpoint changes, the watch goes
  on from the next revision on the new one, as clientv3 resumes a watch.

Time, the design choice. Raft needs virtual time to pass — messages take
milliseconds, elections a second or more — but a synchronous call cannot wait
on the cluster's clock, which only moves between calls. So a call *drives the
group's own event queue* forward (messages, ticks, timeouts) until its request
is answered or etcd's request timeout (7 s) passes, and records how long that
took. The cluster's clock stands still during the call; the group's clock runs
ahead of it by the request's latency and keeps that lead (``group.offset``):
the cluster's next ``run(10)`` is ten seconds for the group too, and a
timeline of the group reads in its own time. Calls are therefore serialized,
like requests from one client connection waiting for each other. Watch events
are handed to watchers after the group has run, never while a member is in the
middle of applying an entry, so a watcher's callback may itself call the store.

    >>> from kubelearn.sim import Simulation
    >>> from kubelearn.etcd.raft import RaftGroup
    >>> sim = Simulation(0)
    >>> etcd = ReplicatedStore(RaftGroup(sim, members=3))
    >>> etcd.put("/registry/pods/default/web-0", b"{}").revision
    2
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from kubelearn.etcd.errors import (
    CompactedError,
    EmptyKeyError,
    InvalidArgumentError,
    UnavailableError,
)
from kubelearn.etcd.kv import (
    DeleteResponse,
    KeyRange,
    KeyValue,
    PutResponse,
    RangeResponse,
    TxnResponse,
    check_key,
    check_revision,
    check_size,
    to_value,
)
from kubelearn.etcd.lease import Lease, LeaseTimeToLive
from kubelearn.etcd.txn import Compare, Op, check_txn
from kubelearn.etcd.watch import Callback, Watcher, WatchHub

if TYPE_CHECKING:  # pragma: no cover
    import pandas

    from kubelearn.etcd.raft import Member, RaftGroup

REQUEST_COLUMNS = ["time", "start", "end", "latency", "member", "verb", "outcome"]


class ReplicatedStore:
    """The :class:`~kubelearn.etcd.store.Store` interface on a Raft group (see the module doc)."""

    def __init__(self, group: RaftGroup) -> None:
        self.group = group
        self.sim = group.sim
        self._hub = WatchHub(self.sim.env)
        self._lease_ids = self.sim.rng("etcd-lease-ids")  # the server picks a lease's id
        self._endpoint_name: str | None = None
        self._feed: Watcher | None = None
        self._feed_store: Any = None
        self._fed = 0  # the last revision handed to the watchers
        self._buffer: deque[tuple[KeyValue, KeyValue | None]] = deque()
        self._delivering = False
        self._requests: list[tuple] = []
        group.on_advance(self._deliver)
        self._attach_feed()

    def __repr__(self) -> str:
        return (f"ReplicatedStore(members={len(self.group.names)}, endpoint={self._endpoint_name}, "
                f"leader={self.group.leader}, revision={self.revision})")

    # -- the endpoint -----------------------------------------------------------------
    @property
    def endpoint(self) -> str | None:
        """The member this client talks to."""
        member = self._endpoint()
        return member.name if member else None

    def _endpoint(self) -> Member | None:
        member = self.group.members.get(self._endpoint_name or "")
        if member is None or not member.up:
            member = self.group.endpoint()
            self._endpoint_name = member.name if member else None
        return member

    def _call(self, kind: str, verb: str, args: tuple = (), kwargs: dict | None = None) -> Any:
        """Send one request to the endpoint and run the group until it is answered."""
        group = self.group
        group.advance()
        member = self._endpoint()
        start = group.now
        if member is None:  # nobody answers: the client waits out its deadline
            group.run_ahead(start + group.request_timeout)
            self._note(start, "", verb, UnavailableError())
            raise UnavailableError()
        request = group.wait(group.submit(kind, verb, args, kwargs, member=member.name))
        self._note(start, request.member, verb, request.error)
        if request.error is not None:
            raise request.error
        return request.result

    def _note(self, start: float, member: str, verb: str, error: Exception | None) -> None:
        end = self.group.now
        self._requests.append((self.sim.now, start, end, end - start, member, verb,
                               "ok" if error is None else str(error)))

    def requests(self) -> pandas.DataFrame:
        """Every request: cluster time, group start and end, latency (s), member, outcome."""
        import pandas as pd

        return pd.DataFrame(self._requests, columns=REQUEST_COLUMNS)

    # -- reads ------------------------------------------------------------------------
    @property
    def revision(self) -> int:
        """The endpoint's store revision (no round trip: what it has applied)."""
        return self._local().revision

    @property
    def compact_revision(self) -> int:
        """The endpoint's last compaction revision."""
        return self._local().compact_revision

    def _local(self) -> Any:
        self.group.advance()
        member = self._endpoint()
        if member is None:
            raise UnavailableError()
        return member.store

    def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key-value of ``key`` (or None), read linearizably."""
        return self._call("read", "get", (key,), {"revision": revision})

    def range(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              revision: int = 0, limit: int = 0, keys_only: bool = False,
              count_only: bool = False) -> RangeResponse:
        """A key, range or prefix, read linearizably (see Store.range)."""
        return self._call("read", "range", (key, range_end),
                          {"prefix": prefix, "revision": revision, "limit": limit,
                           "keys_only": keys_only, "count_only": count_only})

    def history(self, key: str) -> list[KeyValue]:
        """Every retained version of ``key``, read linearizably."""
        return self._call("read", "history", (key,))

    # -- writes: checked as etcd's gRPC layer does, then proposed ---------------------------
    def put(self, key: str, value: str | bytes, *, lease: int = 0,
            prev_kv: bool = False) -> PutResponse:
        """Write ``value`` to ``key`` through the log."""
        if not check_key(key):
            raise EmptyKeyError()
        value = to_value(value)
        check_size(key, value)
        check_revision(lease, "lease")
        return self._call("write", "put", (key, value), {"lease": lease, "prev_kv": bool(prev_kv)})

    def delete(self, key: str, range_end: str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete a key, range or prefix through the log."""
        KeyRange.of(key, range_end, prefix)
        return self._call("write", "delete", (key, range_end),
                          {"prefix": prefix, "prev_kv": bool(prev_kv)})

    def txn(self, compare: Sequence[Compare] = (), success: Sequence[Op] = (),
            failure: Sequence[Op] = ()) -> TxnResponse:
        """A transaction through the log: one entry, applied atomically on every member."""
        check_txn(compare, success, failure)
        return self._call("write", "txn", (tuple(compare), tuple(success), tuple(failure)))

    def compact(self, revision: int) -> None:
        """Compact every member's store at ``revision`` (compaction goes through Raft too)."""
        self._call("write", "compact", (check_revision(revision),))

    # -- leases ------------------------------------------------------------------------------
    def grant(self, ttl: int, lease_id: int = 0) -> Lease:
        """Grant a lease; the id is chosen here, before proposing, as etcd's server does."""
        if lease_id == 0:
            lease_id = self._lease_ids.getrandbits(63) or 1
        return self._call("write", "grant", (ttl, lease_id))

    def revoke(self, lease_id: int) -> None:
        """End a lease and delete its keys, through the log."""
        self._call("write", "revoke", (lease_id,))

    def keepalive(self, lease_id: int) -> int:
        """Renew a lease at the leader; returns the TTL."""
        return self._call("lease", "keepalive", (lease_id,))

    def time_to_live(self, lease_id: int, keys: bool = False) -> LeaseTimeToLive:
        """A lease's remaining seconds, as the leader counts them."""
        return self._call("lease", "time_to_live", (lease_id, bool(keys)))

    def leases(self) -> list[Lease]:
        """Every live lease, read linearizably."""
        return self._call("read", "leases")

    def snapshot(self, path: str | os.PathLike) -> None:
        """Save the endpoint's store to ``path`` (what ``etcdctl snapshot save`` does)."""
        self._local().snapshot(path)

    # -- watch --------------------------------------------------------------------------------
    def watch(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              start_revision: int = 0, prev_kv: bool = False,
              callback: Callback | None = None, keep: bool = True) -> Watcher:
        """Watch a key, range or prefix on the endpoint (see Store.watch)."""
        keys = KeyRange.of(key, range_end, prefix)
        start = check_revision(start_revision, "start_revision")
        if callback is not None and not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, not {type(callback).__name__}")
        if not keep and callback is None:
            raise InvalidArgumentError("a watch that keeps no events needs a callback")
        store = self._local()
        self._deliver()
        current = self._fed
        replay = []
        if 0 < start <= current:  # past events, from the endpoint's history
            probe = store.watch(key, range_end, prefix=prefix, start_revision=start,
                                prev_kv=prev_kv)
            replay = [event for event in probe.events if event.revision <= current]
            probe.cancel()
        return self._hub.add(keys, start or current + 1, max(start, current + 1), bool(prev_kv),
                             callback, replay, keep=keep)

    def _attach_feed(self) -> None:
        """Follow the endpoint's store: every change it applies goes to our watchers."""
        member = self._endpoint()
        if member is None or member.store is self._feed_store:
            return
        if self._feed is not None:
            self._feed.cancel()
        store = member.store
        if self._feed_store is None:
            self._fed = store.revision
        try:
            self._feed = store.watch("", prefix=True, start_revision=self._fed + 1,
                                     prev_kv=True, callback=self._buffer_event, keep=False)
        except CompactedError:  # the changes in between are gone; etcd cancels such a watch
            self.group.record(member, "WatchCompacted", self._fed,
                              f"revisions {self._fed + 1}..{store.compact_revision - 1} lost")
            self._fed = store.revision
            self._feed = store.watch("", prefix=True, start_revision=self._fed + 1,
                                     prev_kv=True, callback=self._buffer_event, keep=False)
        self._feed_store = store

    def _buffer_event(self, event: Any) -> None:
        self._fed = max(self._fed, event.kv.mod_revision)
        self._buffer.append((event.kv, event.prev_kv))

    def _deliver(self) -> None:
        """Hand buffered changes to the watchers (after the group ran, never during)."""
        self._attach_feed()
        if self._delivering:
            return
        self._delivering = True
        try:
            while self._buffer:
                self._hub.notify([self._buffer.popleft()])
        finally:
            self._delivering = False
