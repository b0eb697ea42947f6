"""RemoteStore: the API server's etcd is a real etcd cluster, reached over its JSON gateway.

``kl.Cluster(etcd="http://127.0.0.1:2379")`` (or a list of endpoints) gives the
API server a :class:`RemoteStore` instead of the in-process
:class:`~kubelearn.etcd.Store`. It has the same methods, types and errors --
it speaks through :class:`~kubelearn.etcd.gateway.Gateway` -- so the API
server cannot tell them apart, and every object lands under the same
``/registry/...`` key a real kube-apiserver uses::

    $ etcdctl get /registry/pods/default/web-0

Watches stay deterministic. The embedded store calls its watchers during the
write, before ``put`` returns; a real etcd sends the events on a stream, a
little later. So the RemoteStore keeps **one** etcd watch on the whole
keyspace, with ``prev_kv``, and after every answer from etcd -- whose header
carries etcd's current revision -- it reads that stream until everything up
to that revision has arrived, and hands it to its own watchers (the API
server's watch cache) in revision order. When a write returns, its watch
events have been delivered, exactly as with the embedded store. Changes made
by someone else (``etcdctl put``, a lease that expired) are delivered at the
next call, in order.

Real etcd lives in wall-clock time, the cluster in virtual time:

- leases count down in real seconds. An Event's 1 h lease does not end when
  ``cluster.run(3600)`` finishes in half a second, and the API server's 15 s
  master lease (``/registry/masterleases/...``) may end while a learner reads
  a cell: its DELETE event then arrives at the next call, and the endpoint
  reconciler writes the lease again on its next round;
- etcd's own timeouts are real too: a write that cannot reach a majority
  fails after about 7 s (``etcdserver: request timed out``) -- and may still
  commit later, when the majority is back: a timeout does not say "not
  written", in etcd as in any replicated store. A read that gets no read
  index fails the same way, and is tried again (below);
- every call has a real deadline, ``timeout`` seconds (default 60 s,
  kube-apiserver's ``--request-timeout``; ``kl.Cluster(request_timeout=2)``
  shortens it). Until then the store retries as Go's clientv3 does
  (client/v3/retry_interceptor.go, v3.5), 25 ms apart: a read, a lease grant
  or a lease question after an Unavailable error (``etcdserver: request timed
  out``), anything after a DeadlineExceeded one. Then it raises
  :class:`~kubelearn.etcd.UnavailableError` (``context deadline exceeded``).
  A deadline shorter than etcd's 7 s cuts a write short too;
- the compactor still runs every 5 virtual minutes; what etcd has compacted
  away is gone for real.

Failures: a connection refused moves on to the next endpoint, as clientv3's
balancer does; when none answers, or no answer comes before the deadline,
the call raises :class:`~kubelearn.etcd.UnavailableError`.
Errors etcd itself reports (``etcdserver: request timed out``) come through
as :class:`~kubelearn.etcd.EtcdError` with etcd's message. The API server
turns both into the Status errors kube-apiserver gives
(:func:`kubelearn.apiserver.server.status_of_etcd_error`). When etcd comes
back, the watch stream reopens where it stopped and the next call works.

What the embedded store has and the v3 API gives too: :meth:`RemoteStore.history`
(a key's retained versions: a read at the compaction revision, then a watch
replaying the rest) and :meth:`RemoteStore.snapshot` (Maintenance.Snapshot,
the file ``etcdctl snapshot save`` writes). What it does not: restoring a
snapshot into a running cluster -- etcd restores offline, into a new data
directory (:meth:`RemoteStore.restore` says how).

Like the gateway, this module reads the wall clock, for timeouts only.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from kubelearn.etcd.errors import (
    CompactedError,
    EmptyKeyError,
    EtcdError,
    InvalidArgumentError,
    UnavailableError,
)
from kubelearn.etcd.gateway import (
    CANCELED,
    DEADLINE_EXCEEDED,
    UNAVAILABLE,
    Gateway,
    GatewayWatch,
)
from kubelearn.etcd.kv import (
    DeleteResponse,
    Event,
    KeyRange,
    KeyValue,
    PutResponse,
    RangeResponse,
    TxnResponse,
    check_key,
    check_revision,
)
from kubelearn.etcd.lease import Lease, LeaseTimeToLive
from kubelearn.etcd.raftstore import API_REQUEST_TIMEOUT, RETRY_BACKOFF
from kubelearn.etcd.txn import Compare, Op
from kubelearn.etcd.watch import Callback, Watcher, WatchHub
from kubelearn.files import replace_file

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.sim import Simulation

T = TypeVar("T")

# How long kl.Cluster(etcd=...) waits for a first answer before giving up.
DIAL_TIMEOUT = 2.0
# How long one call may take, retries included: kube-apiserver's request deadline (the one
# caller here). Above etcd's own request timeout, 7 s when a member cannot commit
# (server/etcdserver/config.go ReqTimeout: 5 s + 2 x the 1 s election timeout), so a
# write's "etcdserver: request timed out" comes through.
REQUEST_TIMEOUT = API_REQUEST_TIMEOUT
# A replay of past events ends when the current revision has arrived -- or when the
# stream stays quiet this long (a compaction at the last revision drops its tombstone).
REPLAY_QUIET = 1.0
EVERYTHING = {"key": "AA==", "range_end": "AA=="}  # base64 "\0" .. "\0": the whole keyspace


def endpoints_of(etcd: str | Sequence[str]) -> list[str]:
    """``"http://host:port"`` or a list of them, checked; a clear error for anything else."""
    urls = [etcd] if isinstance(etcd, str) else list(etcd)
    if not urls:
        raise InvalidArgumentError("etcd needs at least one endpoint, e.g. http://127.0.0.1:2379")
    for url in urls:
        if not isinstance(url, str) or not url.startswith("http://") \
                or not url[7:].rstrip("/").rpartition(":")[2].isdigit():
            raise InvalidArgumentError(
                f"etcd endpoint {url!r} is not http://host:port (the JSON gateway speaks plain "
                "HTTP; TLS is not supported here)")
    return urls


class RemoteStore:
    """A real etcd cluster with :class:`~kubelearn.etcd.Store`'s methods and watch delivery."""

    def __init__(self, sim: Simulation, etcd: str | Sequence[str], *,
                 timeout: float = REQUEST_TIMEOUT, dial_timeout: float = DIAL_TIMEOUT) -> None:
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidArgumentError(f"timeout must be a number of seconds > 0, not {timeout!r}")
        self.sim = sim
        self.endpoints = endpoints_of(etcd)
        self.timeout = float(timeout)
        self._gateways = [Gateway(url, dial_timeout) for url in self.endpoints]
        self._current = 0  # the endpoint in use; a refused connection moves to the next
        self._watches = WatchHub(sim.env)
        self._pending: deque[Event] = deque()  # received from etcd, not yet delivered
        self._stream: GatewayWatch | None = None
        self._compact_revision = 0
        try:
            self._delivered = self._call(lambda gw: gw.revision,  # the first call fails fast
                                         timeout=dial_timeout)
        except UnavailableError as err:
            raise UnavailableError(f"{err}; is etcd running? `make etcd` starts a local "
                                   "cluster of three") from None
        for gateway in self._gateways:  # from now on, requests may take etcd's own time
            gateway.close()
            gateway.set_timeout(self.timeout)
        self._open_stream()

    @property
    def endpoint(self) -> str:
        """The endpoint requests go to now."""
        return self.endpoints[self._current]

    def __repr__(self) -> str:
        return (f"RemoteStore({self.endpoint}, delivered={self._delivered}, "
                f"watchers={len(self._watches)})")

    # -- the revision and the watch stream ------------------------------------------------------
    @property
    def revision(self) -> int:
        """etcd's current revision (one request), every event up to it delivered."""
        return self._caught_up(self._call(lambda gw: gw.revision, repeatable=True))

    @property
    def compact_revision(self) -> int:
        """The last revision compacted through this store (etcd 3.4 does not report it)."""
        return self._compact_revision

    def _caught_up(self, revision: int) -> int:
        """Deliver every event up to ``revision`` to the watchers, in order; return it."""
        while self._delivered < revision:
            if not self._pending:
                self._receive()
            at = self._pending[0].kv.mod_revision
            changes: list[tuple[KeyValue, KeyValue | None]] = []
            while self._pending and self._pending[0].kv.mod_revision == at:
                event = self._pending.popleft()
                changes.append((event.kv, event.prev_kv))
            self._delivered = at  # before notify: a watcher that writes catches up from here
            self._watches.notify(changes)
        return revision

    def _receive(self) -> None:
        """Wait for the next events on the stream, reopening it once if it broke."""
        for attempt in (1, 2):
            try:
                if self._stream is None:
                    self._open_stream()
                assert self._stream is not None
                self._pending.extend(self._stream.take(self.timeout))
                return
            except (OSError, EtcdError) as err:
                self._close_stream()
                if attempt == 2 or isinstance(err, TimeoutError):
                    raise UnavailableError(f"{UnavailableError.message}: the watch on etcd "
                                           f"delivered nothing for {self.timeout:g}s "
                                           f"({err})") from None

    def _open_stream(self) -> None:
        """Watch everything from the next undelivered revision, on an endpoint that answers."""
        request = {**EVERYTHING, "start_revision": self._delivered + 1, "prev_kv": True}
        self._pending.clear()  # the new stream sends them again
        self._stream = self._call(lambda gw: GatewayWatch(gw.host, gw.port, request,
                                                          self.timeout))

    def _close_stream(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        """Close the watch stream and the connections."""
        self._close_stream()
        for gateway in self._gateways:
            gateway.close()

    # -- calls, with failover -------------------------------------------------------------------
    def _call(self, request: Callable[[Gateway], T], *, repeatable: bool = False,
              timeout: float | None = None) -> T:
        """Run ``request`` until it succeeds or fails for good, by the deadline.

        The deadline is ``timeout`` seconds away (default: the store's ``timeout``).

        clientv3 tries again, 25 ms later, after a DeadlineExceeded or Canceled
        error from etcd (the member's own deadline), and -- if the call is
        ``repeatable`` (a read) -- after an Unavailable one (``etcdserver:
        request timed out``). A write that timed out is not repeated: it may
        have been applied (a create would then find its own object).
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                return self._once(request, deadline)
            except EtcdError as err:
                code = getattr(err, "grpc_code", 0)
                if code not in (CANCELED, DEADLINE_EXCEEDED) and \
                        not (repeatable and code == UNAVAILABLE):
                    raise
                if time.monotonic() + RETRY_BACKOFF >= deadline:
                    raise UnavailableError(f"{UnavailableError.message}: etcd at "
                                           f"{self.endpoint} kept answering {err} until the "
                                           f"{self.timeout:g} s deadline") from None
                time.sleep(RETRY_BACKOFF)

    def _once(self, request: Callable[[Gateway], T], deadline: float) -> T:
        """Run ``request`` on the current endpoint; on a refused connection, try the others.

        Only a refused connection moves on: the request never reached etcd. A
        timeout or a connection lost mid-request may have been applied, so it is
        not retried (a create would then find its own object and report a clash).
        """
        refused: list[str] = []
        for _ in self.endpoints:
            gateway = self._gateways[self._current]
            gateway.set_timeout(max(deadline - time.monotonic(), 0.001))
            try:
                return request(gateway)
            except ConnectionRefusedError:
                gateway.close()
                refused.append(self.endpoint)
                self._current = (self._current + 1) % len(self.endpoints)
            except (OSError, ValueError) as err:  # a timeout, a reset, a garbled answer
                gateway.close()
                raise UnavailableError(f"{UnavailableError.message}: etcd at {self.endpoint} "
                                       f"did not answer ({type(err).__name__}: {err})") from None
        raise UnavailableError(f"{UnavailableError.message}: no etcd endpoint answers "
                               f"(connection refused: {', '.join(refused)})")

    # -- reads --------------------------------------------------------------------------------
    def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key-value of ``key`` now, or as of ``revision``; None if absent."""
        kvs = self.range(key, revision=revision).kvs
        return kvs[0] if kvs else None

    def range(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              revision: int = 0, limit: int = 0, keys_only: bool = False,
              count_only: bool = False) -> RangeResponse:
        """A key, a ``[key, range_end)`` range or a prefix, in key order (as Store.range)."""
        KeyRange.of(key, range_end, prefix)  # our checks first: a clear error, no request
        check_revision(revision)
        check_revision(limit, "limit")
        resp = self._call(lambda gw: gw.range(key, range_end, prefix=prefix, revision=revision,
                                              limit=limit, keys_only=keys_only,
                                              count_only=count_only), repeatable=True)
        self._caught_up(resp.revision)
        return resp

    # -- writes -------------------------------------------------------------------------------
    def put(self, key: str, value: str | bytes, *, lease: int = 0,
            prev_kv: bool = False) -> PutResponse:
        """Write ``value`` to ``key``; its watch events are delivered before this returns."""
        if not check_key(key):
            raise EmptyKeyError()
        resp = self._call(lambda gw: gw.put(key, value, lease=lease, prev_kv=prev_kv))
        self._caught_up(resp.revision)
        return resp

    def delete(self, key: str, range_end: str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete a key, range or prefix (as Store.delete)."""
        KeyRange.of(key, range_end, prefix)
        resp = self._call(lambda gw: gw.delete(key, range_end, prefix=prefix, prev_kv=prev_kv))
        self._caught_up(resp.revision)
        return resp

    def txn(self, compare: Sequence[Compare] = (), success: Sequence[Op] = (),
            failure: Sequence[Op] = ()) -> TxnResponse:
        """If every compare holds run ``success``, else ``failure``: one etcd txn."""
        resp = self._call(lambda gw: gw.txn(compare, success, failure))
        self._caught_up(resp.revision)
        return resp

    def compact(self, revision: int) -> None:
        """Compact etcd at ``revision`` (physically: the data is gone when this returns)."""
        revision = check_revision(revision)
        self._call(lambda gw: gw.compact(revision))
        self._compact_revision = max(self._compact_revision, revision)
        self.sim.record("etcd", "Compacted", f"revision/{revision}",
                        f"revisions below {revision} are gone (real etcd at {self.endpoint})")

    # -- watch --------------------------------------------------------------------------------
    def watch(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              start_revision: int = 0, prev_kv: bool = False,
              callback: Callback | None = None, keep: bool = True) -> Watcher:
        """Watch a key, range or prefix, as Store.watch: past events first, then live ones.

        Live events come from the one stream this store keeps; past ones
        (``start_revision`` at or below the current revision) from a second,
        short-lived etcd watch that replays them -- or raises CompactedError.
        """
        keys = KeyRange.of(key, range_end, prefix)
        start = check_revision(start_revision, "start_revision")
        if callback is not None and not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, not {type(callback).__name__}")
        if not keep and callback is None:
            raise InvalidArgumentError("a watch that keeps no events needs a callback")
        current = self.revision
        replay = self._replay(keys, start, current, bool(prev_kv)) if 0 < start <= current else []
        return self._watches.add(keys, start or current + 1, max(start, current + 1),
                                 bool(prev_kv), callback, replay, keep=keep)

    def _replay(self, keys: KeyRange, start: int, current: int, prev_kv: bool) -> list[Event]:
        """The events of ``keys`` from ``start`` to ``current``, read from etcd's history."""
        request = {**EVERYTHING, "start_revision": start, "prev_kv": prev_kv}
        stream = self._call(lambda gw: GatewayWatch(gw.host, gw.port, request, self.timeout))
        events: list[Event] = []
        try:
            while not events or events[-1].kv.mod_revision < current:
                try:
                    events += stream.take(REPLAY_QUIET)
                except TimeoutError:
                    break  # nothing more is coming (see REPLAY_QUIET)
        finally:
            stream.close()
        return [e if prev_kv else e._replace(prev_kv=None) for e in events
                if e.kv.mod_revision <= current and e.kv.key in keys]

    # -- leases -------------------------------------------------------------------------------
    def grant(self, ttl: int, lease_id: int = 0) -> Lease:
        """Grant a lease of ``ttl`` real seconds."""
        return self._call(lambda gw: gw.grant(ttl, lease_id), repeatable=True)

    def keepalive(self, lease_id: int) -> int:
        """Renew a lease to its full TTL; returns the TTL."""
        return self._call(lambda gw: gw.keepalive(lease_id))

    def revoke(self, lease_id: int) -> None:
        """End a lease now; its keys' DELETE events are delivered before this returns."""
        self._call(lambda gw: gw.revoke(lease_id))
        self.revision  # noqa: B018 (catch up with the deletions)

    def time_to_live(self, lease_id: int, keys: bool = False) -> LeaseTimeToLive:
        """A lease's remaining real seconds, granted TTL and (``keys=True``) its keys."""
        return self._call(lambda gw: gw.time_to_live(lease_id, keys), repeatable=True)

    def leases(self) -> list[Lease]:
        """Every live lease (etcd does not report their TTLs here: 0)."""
        return self._call(lambda gw: gw.leases(), repeatable=True)

    # -- history and snapshots --------------------------------------------------------------------
    def history(self, key: str) -> list[KeyValue]:
        """Every retained version of ``key``, oldest first, as Store.history (tombstones too).

        The v3 API has no such call; it has the pieces. A watch from revision 1
        replays every change still kept, a deletion as a tombstone (empty value,
        version 0). Once etcd has compacted, the watch is refused with the
        compaction revision C: then the version current at C (a range at
        revision C) comes first, and the watch starts at C + 1 -- what the
        embedded store keeps after the same compaction.
        """
        keys = KeyRange.of(key)
        current = self.revision
        start, first = 1, []
        while True:
            try:
                events = self._replay(keys, start, current, False) if start <= current else []
                break
            except CompactedError as err:
                if err.compact_revision < start:
                    raise
                kv = self.get(key, revision=err.compact_revision)
                start, first = err.compact_revision + 1, ([kv] if kv is not None else [])
        return first + [event.kv for event in events]

    def snapshot(self, path: str | os.PathLike) -> int:
        """Save etcd's database to ``path`` (Maintenance.Snapshot), atomically; its size.

        The file is etcd's own, byte for byte what ``etcdctl snapshot save``
        writes (a bbolt database and its SHA-256), not the embedded store's
        text format: ``etcdctl snapshot status FILE`` reads it, and
        ``etcdctl snapshot restore`` turns it into a data directory.
        """
        data = self._call(lambda gw: gw.snapshot(), repeatable=True)
        replace_file(path, data)
        self.sim.record("etcd", "SnapshotSaved", os.fspath(path),
                        f"{len(data)} bytes from real etcd at {self.endpoint}")
        return len(data)

    @classmethod
    def restore(cls, path: str | os.PathLike, sim: Simulation) -> RemoteStore:
        """Not possible through the v3 API: a clear error that says how etcd restores.

        etcd restores a snapshot offline, into a new data directory per member,
        and the members start from those directories as a new cluster. No RPC
        loads a snapshot into a running one, so there is nothing to call here.
        """
        raise EtcdError(
            f"a running etcd cannot load snapshot {os.fspath(path)!r}: etcd's API has no restore "
            "call. Restore it offline, once per member: `etcdctl snapshot restore FILE "
            "--name NAME --data-dir NEW_DIR --initial-cluster ... --initial-advertise-peer-urls "
            "...` (`etcdutl snapshot restore` from etcd 3.5), then start each member on its new "
            "data directory and connect a new kl.Cluster(etcd=...) to them")

    # -- for kl.Cluster -------------------------------------------------------------------------
    def check_fresh(self, prefix: str = "/registry/") -> None:
        """Refuse an etcd that already holds objects: a new cluster bootstraps its own."""
        count = self.range(prefix, prefix=True, count_only=True).count
        if count:
            raise EtcdError(
                f"etcd at {', '.join(self.endpoints)} already holds {count} key(s) under "
                f"{prefix} (a cluster made earlier?); kubelearn bootstraps a new control plane "
                f"and needs them gone: restart `make etcd`, or delete them with "
                f"`etcdctl del --prefix {prefix}`")

