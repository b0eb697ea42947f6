"""ReplicatedStore: the Store's interface, answered by a Raft group.

The API server calls its store synchronously — ``store.put(...)`` returns a
response at once — and knows nothing of members. :class:`ReplicatedStore`
keeps that contract on top of a :class:`~kubelearn.etcd.raft.RaftGroup`, the
way etcd's Go client (clientv3) hides the cluster behind one KV interface:

- It talks to one member, its *endpoint* (the first member up; when that one
  is down, the next), as a client pinned to an endpoint does.
- Every call has a deadline, ``timeout`` seconds after it is sent: the
  caller's context. The default is kube-apiserver's request timeout, 60 s,
  since the API server is the one caller here. Until then the client retries
  what clientv3 retries (client/v3/retry_interceptor.go, v3.5): a read or a
  lease question that failed with an Unavailable error (``etcdserver: request
  timed out``: no read index in etcd's 7 s; a member that died under it), and
  any request whose member's own deadline ended it before a leader took it
  (:class:`~kubelearn.etcd.errors.DeadlineExceededError`), 25 ms apart. A
  write that entered Raft and timed out is not repeated: it may still commit.
  When the deadline passes the call raises
  :class:`~kubelearn.etcd.errors.UnavailableError` (``context deadline
  exceeded``). So while a majority is lost a write fails after etcd's 7 s with
  ``etcdserver: request timed out``, and a read only at the deadline.
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
is answered or its deadline passes, and records how long that took. The
cluster's clock stands still during the call; the group's clock runs ahead.
Who waited decides what happens to that lead:

- A call made **between the cluster's runs** -- a learner's cell, a test --
  is one after the other with the previous ones, as commands typed at a
  terminal are. It is sent at ``group.cluster_now`` (the cluster's time plus
  the lead kept so far), and the group keeps the lead it took
  (``group.offset``): the cluster's next ``run(10)`` is ten seconds for the
  group too. Three reads that each wait out a 60 s deadline, one after the
  other, put the group 180 s ahead, as they would keep a person at a
  terminal waiting 3 minutes.
- A call made **while the cluster runs** -- a controller's, a kubelet's -- is
  one of many concurrent clients'. It is sent at ``group.cluster_now`` too
  and has its full deadline from then, but the group keeps no lead from it:
  calls waiting at the same time wait *together*. However many fail while a
  majority is lost, the group's clock is never more than one deadline ahead of
  the cluster's. (A call sent while an earlier one has already run the group
  ahead joins it there, with what is left of its deadline.)

Watch events are handed to watchers after the group has run, never while a
member is in the middle of applying an entry, so a watcher's callback may
itself call the store.

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
    DeadlineExceededError,
    EmptyKeyError,
    EtcdError,
    InvalidArgumentError,
    RequestTimeoutError,
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
# kube-apiserver ends every request's context after --request-timeout, 60 s (server/config.go
# NewConfig RequestTimeout, v1.32); the etcd calls it makes for the request share that deadline.
API_REQUEST_TIMEOUT = 60.0
# clientv3 waits 25 ms between retries (client/v3/options.go defaultBackoffWaitBetween, v3.5;
# its 10 % jitter is left out: it would draw from the seeded generator).
RETRY_BACKOFF = 0.025
# The calls clientv3 repeats after an Unavailable error (client/v3/retry.go, v3.5: Range,
# LeaseTimeToLive, LeaseLeases are "repeatable"; so is LeaseGrant, but this client picks the
# lease ID before proposing, so a repeat could clash with its own first try: not repeated).
REPEATABLE = frozenset({"get", "range", "history", "leases", "time_to_live"})


class ReplicatedStore:
    """The :class:`~kubelearn.etcd.store.Store` interface on a Raft group (see the module doc)."""

    def __init__(self, group: RaftGroup, *, timeout: float = API_REQUEST_TIMEOUT) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidArgumentError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        self.group = group
        self.timeout = float(timeout)
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
        """Send one request, retried as clientv3 does, and run the group until it is answered.

        Raises the last error, or UnavailableError once the deadline passed.
        """
        group = self.group
        group.advance()
        sent = group.cluster_now
        deadline = sent + self.timeout
        member_name, result, error = "", None, None
        while True:
            member = self._endpoint()
            if member is None:  # nobody to connect to: gRPC waits for one until the deadline
                group.clock.run_until(deadline)
                error = UnavailableError()
                break
            request = group.submit(kind, verb, args, kwargs, member=member.name)
            member_name = request.member
            group.clock.run_while(lambda r=request: not r.done, until=deadline)
            if not request.done:  # the client gives up; a write may still commit later
                error = UnavailableError()
                break
            result, error = request.result, request.error
            if error is None or not self._repeats(verb, error):
                break
            if group.now + RETRY_BACKOFF >= deadline:  # the deadline ends the back-off
                group.clock.run_until(deadline)
                error = UnavailableError()
                break
            group.clock.run_until(group.now + RETRY_BACKOFF)
        group.settle(keep_lead=not self.sim.running)
        self._note(sent, member_name, verb, error)
        if error is not None:
            raise error
        return result

    @staticmethod
    def _repeats(verb: str, error: EtcdError) -> bool:
        """Whether clientv3 tries again after ``error`` (retry_interceptor.go, v3.5).

        Always after the member's own deadline (isContextError: "its the callCtx
        deadline ... try again"); after an Unavailable error only a repeatable call
        (isSafeRetryImmutableRPC): a write that reached Raft may have committed.
        """
        if isinstance(error, DeadlineExceededError):
            return True
        return verb in REPEATABLE and isinstance(error, (RequestTimeoutError, UnavailableError))

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
