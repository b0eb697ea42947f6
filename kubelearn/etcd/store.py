"""The store: etcd's multi-version key-value store (mvcc) on the virtual clock.

Every write transaction — a put, a delete that deletes something, a txn with
at least one change, a lease revocation that deletes keys — moves the store
revision up by exactly one, and every key it touches gets a new version
stamped with that revision. Nothing is overwritten: old versions stay
readable (``revision=``) and replayable to watchers until :meth:`Store.compact`
drops them. This is server/mvcc/kvstore_txn.go in a few hundred lines.

Inside, three structures:

- ``_versions``: key -> every retained version of it, oldest first. A delete
  appends a *tombstone* (version 0), as etcd's keyIndex does.
- ``_keys``: the keys of ``_versions``, sorted lazily, when a range needs
  them (new keys are appended; the next range sorts).
- ``_log``: every change of every retained revision, oldest first (a
  version's ``mod_revision`` is the revision that wrote it) — what a watcher
  starting in the past is replayed from.
"""

from __future__ import annotations

import os
from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from operator import attrgetter
from typing import TYPE_CHECKING

from kubelearn.etcd.errors import (
    CompactedError,
    EmptyKeyError,
    FutureRevisionError,
    InvalidArgumentError,
    SnapshotError,
)
from kubelearn.etcd.kv import (
    ALL_KEYS_FROM,
    DeleteResponse,
    Event,
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
from kubelearn.etcd.lease import Lease, LeaseTimeToLive, Lessor
from kubelearn.etcd.snapshot import SnapshotData, read_snapshot, write_snapshot
from kubelearn.etcd.txn import Compare, Op, check_txn
from kubelearn.etcd.watch import Callback, Watcher, WatchHub

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.sim import Simulation

_MOD = attrgetter("mod_revision")

Change = tuple[KeyValue, "KeyValue | None"]  # (new version or tombstone, version it replaced)


class Store:
    """An etcd v3 key-value store: revisions, range, txn, watch, leases, compaction."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self._revision = 1  # a fresh etcd starts at revision 1
        self._compact_revision = 0
        self._versions: dict[str, list[KeyValue]] = {}
        self._keys: list[str] = []
        self._keys_sorted = True
        self._log: list[KeyValue] = []
        self._watches = WatchHub(sim.env)
        self._lessor = Lessor(sim, self._delete_keys)

    @property
    def revision(self) -> int:
        """The current store revision: the revision of the last write."""
        return self._revision

    @property
    def compact_revision(self) -> int:
        """The last compaction revision (0: never compacted); older revisions are gone."""
        return self._compact_revision

    def __repr__(self) -> str:
        return (f"Store(revision={self._revision}, compact_revision={self._compact_revision}, "
                f"keys={len(self._versions)}, watchers={len(self._watches)})")

    # -- reads ------------------------------------------------------------------
    def get(self, key: str, *, revision: int = 0) -> KeyValue | None:
        """The key-value of ``key`` now, or as of ``revision``; None if absent."""
        if not check_key(key):
            raise EmptyKeyError()
        at = self._resolve(check_revision(revision), self._revision)
        return self._kv_at(key, at)

    def range(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              revision: int = 0, limit: int = 0, keys_only: bool = False,
              count_only: bool = False) -> RangeResponse:
        """The key-values of a key, a ``[key, range_end)`` range or a prefix, in key order.

        ``count`` is how many keys match in all; with ``limit``, at most that
        many come back and ``more`` tells whether some were cut off.
        """
        keys = KeyRange.of(key, range_end, prefix)
        return self._range(keys, check_revision(revision), check_revision(limit, "limit"),
                           bool(keys_only), bool(count_only), self._revision)

    def history(self, key: str) -> list[KeyValue]:
        """Every retained version of ``key``, oldest first; a deletion is a version-0 tombstone.

        A tombstone has an empty value, ``create_revision`` and ``version`` 0
        and the deleting revision as ``mod_revision`` — what a DELETE event
        carries. Compaction drops all but the newest version at or below the
        compaction revision (and that one too if it is a tombstone).
        """
        check_key(key)
        return list(self._versions.get(key, ()))

    # -- writes -----------------------------------------------------------------
    def put(self, key: str, value: str | bytes, *, lease: int = 0,
            prev_kv: bool = False) -> PutResponse:
        """Write ``value`` to ``key``: one new revision, the key's version + 1."""
        if not check_key(key):
            raise EmptyKeyError()
        value = to_value(value)
        check_size(key, value)
        self._lessor.check(check_revision(lease, "lease"))
        changes: list[Change] = []
        prev = self._write_put(changes, key, value, lease)
        return PutResponse(self._commit(changes), prev if prev_kv else None)

    def delete(self, key: str, range_end: str | None = None, *, prefix: bool = False,
               prev_kv: bool = False) -> DeleteResponse:
        """Delete a key, range or prefix; one new revision if anything was deleted."""
        keys = KeyRange.of(key, range_end, prefix)
        changes: list[Change] = []
        prevs = self._write_deletes(changes, keys)
        return DeleteResponse(self._commit(changes), len(prevs), prevs if prev_kv else [])

    def txn(self, compare: Sequence[Compare] = (), success: Sequence[Op] = (),
            failure: Sequence[Op] = ()) -> TxnResponse:
        """If every compare holds run ``success``, else ``failure``: atomically, one revision.

        Ops see the writes of earlier ops in the same txn. A txn that writes
        nothing (only reads, or deletes of absent keys) keeps the revision.
        """
        check_txn(compare, success, failure)
        begin = self._revision
        succeeded = True
        for cmp in compare:  # all(...), without a generator per txn
            if not self._holds(cmp, begin):
                succeeded = False
                break
        ops = success if succeeded else failure
        for op in ops:  # refuse the whole txn before changing anything (apply.go checkRequests)
            kind = op.kind
            if kind == "put":
                if op.lease:
                    self._lessor.check(op.lease)
                check_size(op.range.key, op.value)
            elif kind == "range":
                self._resolve(op.revision, begin)
        changes: list[Change] = []
        responses: list[PutResponse | RangeResponse | DeleteResponse] = []
        for op in ops:
            kind = op.kind
            if kind == "put":
                prev = self._write_put(changes, op.range.key, op.value, op.lease)
                responses.append(PutResponse(begin + 1, prev if op.prev_kv else None))
            elif kind == "delete":
                prevs = self._write_deletes(changes, op.range)
                responses.append(DeleteResponse(begin + 1 if changes else begin, len(prevs),
                                                prevs if op.prev_kv else []))
            else:  # a read sees this txn's writes so far (storeTxnWrite.Range)
                view = begin + 1 if changes else begin
                responses.append(self._range(op.range, op.revision, op.limit, op.keys_only,
                                             op.count_only, view))
        return TxnResponse(self._commit(changes), succeeded, responses)

    def compact(self, revision: int) -> None:
        """Forget every version older than ``revision`` except each key's newest one.

        Reads and watches below ``revision`` then fail with CompactedError.
        """
        revision = check_revision(revision)
        if revision <= self._compact_revision:
            raise CompactedError(self._compact_revision)
        if revision > self._revision:
            raise FutureRevisionError()
        dropped = 0
        for key in list(self._versions):
            versions = self._versions[key]
            if versions[0].mod_revision > revision or (len(versions) == 1 and versions[0].version):
                continue  # nothing older than a version to keep
            keep = bisect_right(versions, revision, key=_MOD) - 1
            if not versions[keep].version:
                keep += 1  # the newest version at or below the revision is a tombstone
            dropped += keep
            if keep == len(versions):
                del self._versions[key]
            elif keep:
                self._versions[key] = versions[keep:]
        if len(self._keys) != len(self._versions):
            self._keys = [key for key in self._keys if key in self._versions]
        # The log keeps revisions from `revision` on, minus deletions at exactly
        # `revision`: etcd drops those tombstones too, so a watch from the
        # compaction revision does not see them.
        first = bisect_left(self._log, revision, key=_MOD)
        end = bisect_right(self._log, revision, first, key=_MOD)
        self._log = [kv for kv in self._log[first:end] if kv.version] + self._log[end:]
        self._compact_revision = revision
        self.sim.record("etcd", "Compacted", f"revision/{revision}",
                        f"dropped {dropped} old version(s); revisions below {revision} are gone")

    # -- watch ----------------------------------------------------------------------
    def watch(self, key: str, range_end: str | None = None, *, prefix: bool = False,
              start_revision: int = 0, prev_kv: bool = False,
              callback: Callback | None = None, keep: bool = True) -> Watcher:
        """Watch a key, range or prefix: past events from ``start_revision``, then live ones.

        ``start_revision`` 0 means "from the next write". Past events are
        delivered (and ``callback`` called) before this returns. A start below
        the compaction revision raises CompactedError — a real etcd instead
        sends one response with ``compact_revision`` and cancels the watch.
        ``keep=False`` (with a callback) does not keep ``watcher.events``: a
        long-lived watch that keeps its own window, like the API server's watch
        cache, would otherwise hold every value ever written past compaction.
        """
        keys = KeyRange.of(key, range_end, prefix)
        start = check_revision(start_revision, "start_revision")
        if callback is not None and not callable(callback):
            raise InvalidArgumentError(f"callback must be callable, not {type(callback).__name__}")
        if not keep and callback is None:
            raise InvalidArgumentError("a watch that keeps no events needs a callback")
        if 0 < start < self._compact_revision:
            raise CompactedError(self._compact_revision)
        current = self._revision
        replay = self._replay(keys, start, bool(prev_kv)) if 0 < start <= current else []
        return self._watches.add(keys, start or current + 1, max(start, current + 1),
                                 bool(prev_kv), callback, replay, keep=keep)

    # -- leases -------------------------------------------------------------------
    def grant(self, ttl: int, lease_id: int = 0) -> Lease:
        """Grant a lease of ``ttl`` seconds (raised to etcd's minimum, 2)."""
        return self._lessor.grant(ttl, lease_id)

    def keepalive(self, lease_id: int) -> int:
        """Renew a lease to its full TTL; returns the TTL."""
        return self._lessor.keepalive(lease_id)

    def revoke(self, lease_id: int) -> None:
        """End a lease now and delete its keys (one revision if it had any)."""
        self._lessor.revoke(lease_id)

    def time_to_live(self, lease_id: int, keys: bool = False) -> LeaseTimeToLive:
        """A lease's remaining seconds, granted TTL and (with ``keys=True``) its keys."""
        return self._lessor.time_to_live(lease_id, keys)

    def leases(self) -> list[Lease]:
        """Every live lease."""
        return self._lessor.leases()

    # -- snapshots ------------------------------------------------------------------
    def snapshot(self, path: str | os.PathLike) -> None:
        """Save the whole store (history, leases) to ``path``, atomically, with a checksum."""
        size = write_snapshot(path, self.snapshot_data())
        self.sim.record("etcd", "SnapshotSaved", os.fspath(path),
                        f"revision {self._revision}, {size} bytes")

    def snapshot_data(self) -> SnapshotData:
        """The whole store (history, leases) as data, in memory: what a snapshot file holds.

        A Raft member keeps its snapshot this way (kubelearn.etcd.raft).
        """
        first_logged = self._log[0].mod_revision if self._log else self._revision + 1
        older = sorted((kv for versions in self._versions.values() for kv in versions
                        if kv.mod_revision < first_logged), key=_MOD)
        logged = list(self._log)
        leases = [(lease.id, lease.ttl) for lease in self._lessor.leases()]
        return SnapshotData(self._revision, self._compact_revision, older + logged, leases)

    @classmethod
    def restore(cls, path: str | os.PathLike, sim: Simulation) -> Store:
        """A new store on ``sim`` from a snapshot file; leases restart with their full TTL."""
        return cls.from_snapshot_data(read_snapshot(path), sim, os.fspath(path))

    @classmethod
    def from_snapshot_data(cls, data: SnapshotData, sim: Simulation,
                           name: str = "in-memory snapshot") -> Store:
        """A new store on ``sim`` from :meth:`snapshot_data`; leases restart with their full TTL."""
        store = cls(sim)
        store._load(data, name)
        sim.record("etcd", "SnapshotRestored", name,
                   f"revision {data.revision}, {len(store._versions)} keys")
        return store

    def _load(self, data: SnapshotData, name: str) -> None:
        """Fill this fresh store from snapshot data, checking it makes sense."""
        def bad(why: str) -> SnapshotError:
            return SnapshotError(f"snapshot {name!r} has a valid checksum but invalid content: "
                                 f"{why}")

        if not 1 <= data.revision or data.compact_revision > data.revision:
            raise bad(f"revision {data.revision}, compact revision {data.compact_revision}")
        for kv in data.kvs:
            versions = self._versions.setdefault(kv.key, [])
            if kv.mod_revision > data.revision or (versions and
                                                   versions[-1].mod_revision >= kv.mod_revision):
                raise bad(f"version of {kv.key!r} at revision {kv.mod_revision} is out of order")
            versions.append(kv)
            if kv.mod_revision >= data.compact_revision:
                if self._log and self._log[-1].mod_revision > kv.mod_revision:
                    raise bad(f"revision {kv.mod_revision} comes after a later one")
                self._log.append(kv)
        self._keys = sorted(self._versions)
        self._revision = data.revision
        self._compact_revision = data.compact_revision
        leased: dict[int, list[str]] = {}
        for key in self._keys:
            latest = self._versions[key][-1]
            if latest.version and latest.lease:
                leased.setdefault(latest.lease, []).append(key)
        unknown = sorted(set(leased) - {lease_id for lease_id, _ in data.leases})
        if unknown:  # refused before any lease's countdown starts: nothing is restored
            raise bad(f"keys attached to unknown lease(s) {unknown}")
        for lease_id, ttl in data.leases:
            self._lessor.restore(lease_id, ttl, leased.pop(lease_id, []))

    # -- inside: reading ----------------------------------------------------------------
    def _resolve(self, revision: int, current: int) -> int:
        """The revision a read at ``revision`` (0: now) sees, or why it cannot (rangeKeys)."""
        if revision > current:
            raise FutureRevisionError()
        if revision == 0:
            return current
        if revision < self._compact_revision:
            raise CompactedError(self._compact_revision)
        return revision

    def _kv_at(self, key: str, revision: int) -> KeyValue | None:
        """The live version of ``key`` at ``revision``, or None if absent then."""
        versions = self._versions.get(key)
        if not versions:
            return None
        kv = versions[-1]
        if kv.mod_revision > revision:
            i = bisect_right(versions, revision, key=_MOD)
            if i == 0:
                return None
            kv = versions[i - 1]
        return kv if kv.version else None

    def _keys_in(self, keys: KeyRange) -> list[str]:
        """The known keys (live or tombstoned) in a range, in key order."""
        if keys.single:
            return [keys.key] if keys.key in self._versions else []
        if not self._keys_sorted:
            self._keys.sort()
            self._keys_sorted = True
        lo = bisect_left(self._keys, keys.key)
        if keys.end == ALL_KEYS_FROM:
            return self._keys[lo:]
        return self._keys[lo:bisect_left(self._keys, keys.end, lo)]

    def _range(self, keys: KeyRange, revision: int, limit: int, keys_only: bool,
               count_only: bool, current: int) -> RangeResponse:
        """A range read as seen from revision ``current``."""
        at = self._resolve(revision, current)
        kvs: list[KeyValue] = []
        count = 0
        for key in self._keys_in(keys):
            kv = self._kv_at(key, at)
            if kv is None:
                continue
            count += 1
            if count_only or (limit and count > limit):
                continue
            kvs.append(kv._replace(value=b"") if keys_only else kv)
        return RangeResponse(kvs, count, bool(limit) and count > limit, current)

    def _holds(self, cmp: Compare, revision: int) -> bool:
        """Whether a compare passes: for a range, every key in it must pass (applyCompare)."""
        keys = cmp.range
        if keys.end is None:  # keys.single, the usual case: no list of one key to build
            return cmp.holds(self._kv_at(keys.key, revision))
        found = [kv for key in self._keys_in(cmp.range)
                 if (kv := self._kv_at(key, revision)) is not None]
        if not found:
            return cmp.holds(None)
        return all(cmp.holds(kv) for kv in found)

    def _replay(self, keys: KeyRange, start: int, prev_kv: bool) -> list[Event]:
        """The past events of a range from revision ``start``, in revision order."""
        if keys.single:
            versions = self._versions.get(keys.key, [])
            past: Iterator[KeyValue] = iter(versions[bisect_left(versions, start, key=_MOD):])
        else:
            first = bisect_left(self._log, start, key=_MOD)
            past = (kv for kv in self._log[first:] if kv.key in keys)
        events = []
        for kv in past:
            prev = self._prev_of(kv) if prev_kv else None
            events.append(Event("PUT" if kv.version else "DELETE", kv, prev))
        return events

    def _prev_of(self, kv: KeyValue) -> KeyValue | None:
        """The version before ``kv`` as a watcher sees it: none if that revision is compacted."""
        before = kv.mod_revision - 1
        if before < self._compact_revision:
            return None  # etcd reads prev_kv at mod_revision - 1, which may be compacted
        return self._kv_at(kv.key, before)

    # -- inside: writing -----------------------------------------------------------
    def _write_put(self, changes: list[Change], key: str, value: bytes,
                   lease: int) -> KeyValue | None:
        """Append a new version of ``key`` at the next revision; returns the one it replaced."""
        revision = self._revision + 1
        versions = self._versions.get(key)
        prev = None
        if versions is None:
            versions = self._versions[key] = []
            self._keys.append(key)
            self._keys_sorted = False
        else:
            last = versions[-1]
            assert last.mod_revision < revision, f"{key}: revision going backwards"
            if last.version:
                prev = last
        if prev is None:
            kv = KeyValue(key, value, revision, revision, 1, lease)
        else:
            kv = KeyValue(key, value, prev.create_revision, revision, prev.version + 1, lease)
            if prev.lease:
                self._lessor.detach(prev.lease, key)
        if lease:
            self._lessor.attach(lease, key)
        versions.append(kv)
        changes.append((kv, prev))
        return prev

    def _write_deletes(self, changes: list[Change], keys: KeyRange) -> list[KeyValue]:
        """Append a tombstone for every live key in a range; returns what was deleted."""
        revision = self._revision + 1
        deleted = []
        for key in self._keys_in(keys):
            versions = self._versions[key]
            last = versions[-1]
            if not last.version:
                continue  # already deleted
            tombstone = KeyValue(key, b"", 0, revision, 0, 0)
            versions.append(tombstone)
            if last.lease:
                self._lessor.detach(last.lease, key)
            changes.append((tombstone, last))
            deleted.append(last)
        return deleted

    def _delete_keys(self, keys: list[str]) -> int:
        """Delete ``keys`` in one write (a lease revocation); returns how many went."""
        changes: list[Change] = []
        for key in keys:
            self._write_deletes(changes, KeyRange(key))
        self._commit(changes)
        return len(changes)

    def _commit(self, changes: list[Change]) -> int:
        """Finish a write: a new revision if anything changed, then tell the watchers."""
        if changes:
            self._revision += 1
            assert changes[0][0].mod_revision == self._revision, "revision going backwards"
            self._log.extend([kv for kv, _ in changes])
            self._watches.notify(changes)
        return self._revision
