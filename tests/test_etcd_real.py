"""Our store against a real etcd: the same operations must give the same answers.

Each test starts a fresh one-member etcd (Debian's etcd-server, found on PATH)
on free loopback ports, talks to it through its JSON gateway
(kubelearn.etcd.gateway) and replays every operation on both, asserting that
revisions, versions, values, errors and watch events are identical.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator

import pytest

from kubelearn.etcd import (
    CompactedError,
    Compare,
    EtcdError,
    Event,
    LeaseNotFoundError,
    Op,
    Store,
)
from kubelearn.etcd.gateway import Gateway, LocalEtcd
from kubelearn.sim import Simulation

# CI installs etcd (.ci/run), so there a missing binary is a failure, not a skip.
if os.environ.get("CI") and not LocalEtcd.available():
    raise RuntimeError("CI must compare with a real etcd, but no etcd binary is on PATH")

pytestmark = [
    pytest.mark.etcd,
    pytest.mark.skipif(not LocalEtcd.available(),
                       reason="no etcd binary on PATH (apt-get install etcd-server)"),
]


@pytest.fixture
def real() -> Iterator[Gateway]:
    """A fresh real etcd for one test, stopped afterwards."""
    with LocalEtcd() as etcd:
        assert etcd.client is not None
        yield etcd.client


class Twin:
    """Runs every call on our store and on real etcd and asserts the answers match."""

    def __init__(self, ours: Store, theirs: Gateway) -> None:
        self.ours, self.theirs = ours, theirs

    def __getattr__(self, name: str):
        def both(*args, **kwargs):
            mine, my_error = self._call(self.ours, name, args, kwargs)
            real, real_error = self._call(self.theirs, name, args, kwargs)
            where = f"{name}{args}{kwargs}"
            assert type(my_error) is type(real_error), f"{where}: {my_error!r} vs {real_error!r}"
            if my_error is not None:
                assert str(real_error) in (str(my_error), "etcdserver: " + str(my_error)), where
                return my_error
            assert mine == real, f"{where}:\n ours: {mine}\n real: {real}"
            return mine
        return both

    @staticmethod
    def _call(target, name, args, kwargs):
        try:
            return getattr(target, name)(*args, **kwargs), None
        except EtcdError as err:
            return None, err


@pytest.fixture
def twin(real: Gateway) -> Twin:
    return Twin(Store(Simulation(seed=0)), real)


def test_kv_operations_match(twin):
    twin.get("/a")
    twin.put("/a", "1")
    twin.put("/a", "2", prev_kv=True)
    twin.put("/a", "2")  # same value: still a new revision
    twin.delete("/missing")  # deletes nothing: no new revision
    for key in ["/p/1", "/p/2", "/p/3", "/q/1", "/r", "/é", "/z", "/\U0001f600", "/A"]:
        twin.put(key, key.encode() * 2)
    twin.put("/bin", b"\x00\x01\xfe\xff")
    twin.range("/", prefix=True)
    twin.range("/", prefix=True, limit=3)
    twin.range("/p/", prefix=True, limit=3)  # exactly the count: more is false
    twin.range("/p/", prefix=True, count_only=True)
    twin.range("/p/", prefix=True, keys_only=True)
    twin.range("/p/2", "\0")
    twin.range("/p/2", "/q/1")
    twin.range("/q", "/p")  # end before key: empty
    twin.range("", prefix=True)
    twin.delete("/p/", prefix=True, prev_kv=True)
    twin.delete("/q/1", "/s", prev_kv=True)
    twin.delete("/q/1")
    twin.put("/a", "3")
    twin.delete("/a", prev_kv=True)
    twin.put("/a", "reborn")  # a new generation: create_revision moves, version 1
    for revision in range(1, twin.ours.revision + 1):
        twin.range("\0", "\0", revision=revision)
        twin.get("/a", revision=revision)
    twin.get("/a", revision=twin.ours.revision + 1)  # future revision error
    twin.put("", "x")  # empty key error
    twin.range("")
    twin.put("/a", "x", lease=424242)  # no such lease


def test_txns_match(twin):
    twin.put("/a", "1")
    twin.txn([Compare.version("/a") == 1],
             [Op.put("/b", "x"), Op.get("/a"), Op.put("/c", "y"), Op.delete("/a", prev_kv=True)])
    twin.txn([Compare.version("/a") == 1], [Op.put("/b", "x")], [Op.get("/b")])  # fails: read
    twin.txn([Compare.version("/new") == 0], [Op.put("/new", "1", prev_kv=True)])
    twin.txn([Compare.version("/new") == 0], [Op.put("/new", "2")], [Op.get("/new")])
    twin.txn([], [Op.get("/t"), Op.delete("/none"), Op.put("/t", "x"), Op.delete("/none"),
                  Op.get("/t")])
    twin.txn([], [Op.get("/t"), Op.delete("/none")])  # read-only: no revision
    twin.txn([], [Op.delete("/a", "/c"), Op.delete("/b", "/d")])
    for compare in [
        Compare.value("/t") == "x", Compare.value("/t") != "x", Compare.value("/t") < "y",
        Compare.value("/t") > "y", Compare.value("/nokey") != "x", Compare.version("/nokey") == 0,
        Compare.lease("/nokey") == 0, Compare.create_revision("/t") == 5,
        Compare.mod_revision("/t") < 5, Compare.mod_revision("/t") > 4,
        Compare.version("/", "\0") > 0, Compare.value("/", "\0") == "x",
    ]:
        twin.txn([compare], [Op.put("/hit", repr(compare))], [Op.get("/t")])
    twin.txn([], [Op.put("/d", "1"), Op.put("/d", "2")])  # duplicate key
    twin.txn([], [Op.put("/d/1", "1"), Op.delete("/d/", prefix=True)])
    twin.txn([], [], [Op.delete("/d"), Op.put("/d", "1")])  # the branch not taken is checked
    twin.txn([Compare.version(f"/x{i}") == 0 for i in range(129)])  # too many operations
    twin.txn([Compare.version(f"/x{i}") == 0 for i in range(128)], [Op.put("/ok128", "1")])
    twin.txn([], [Op.put("/l", "1"), Op.put("/m", "1", lease=77)])  # lease not found: nothing
    twin.txn([], [Op.put("/l", "1"), Op.get("/l", revision=twin.ours.revision + 1)])  # future
    twin.txn([], [Op.get("/", prefix=True, limit=2, revision=4)])
    twin.range("\0", "\0")


def _watch_both(ours: Store, theirs: Gateway, *args, **kwargs):
    """The same watch on both; returns (our watcher, the real stream)."""
    return ours.watch(*args, **kwargs), theirs.watch(*args, **kwargs)


def _same_events(mine: list[Event], stream, count: int | None = None) -> None:
    """The real stream delivers exactly our events (and nothing more, shortly after)."""
    count = len(mine) if count is None else count
    real = stream.next_events(count, timeout=5) if count else []
    real += stream.quiet_for(0.15)
    assert real == mine


def test_watches_match(twin, real):
    ours = twin.ours
    twin.put("/w/a", "1")  # 2
    twin.put("/w/b", "1")  # 3
    twin.put("/w/a", "2")  # 4
    twin.txn([], [Op.put("/w/c", "1"), Op.delete("/w/b"), Op.put("/x", "1")])  # 5
    twin.delete("/w/", prefix=True)  # 6
    twin.put("/w/a", "3")  # 7
    watches = [
        _watch_both(ours, real, "/w/", prefix=True, start_revision=1),
        _watch_both(ours, real, "/w/", prefix=True, start_revision=3, prev_kv=True),
        _watch_both(ours, real, "/w/a", start_revision=2, prev_kv=True),
        _watch_both(ours, real, "/w/b", "/x", start_revision=4, prev_kv=True),
        _watch_both(ours, real, "\0", "\0", start_revision=5),
        _watch_both(ours, real, "/w/a", start_revision=7),
        _watch_both(ours, real, "/w/a", start_revision=9, prev_kv=True),  # a future start
        _watch_both(ours, real, "/w/", prefix=True),  # from now on
    ]
    assert [len(mine.events) for mine, _ in watches] == [8, 7, 4, 3, 6, 1, 0, 0]
    for mine, stream in watches:
        _same_events(mine.events, stream)
    replayed = [len(mine.events) for mine, _ in watches]
    # Live events: a put, a txn, a prefix delete, a put.
    twin.put("/w/a", "4")  # 8
    twin.txn([Compare.version("/w/a") > 0], [Op.put("/w/d", "1"), Op.put("/x", "2"),
                                             Op.delete("/w/a")])  # 9
    twin.delete("/w/", prefix=True)  # 10
    twin.put("/w/a", "5")  # 11
    for (mine, stream), before in zip(watches, replayed, strict=True):
        _same_events(mine.events[before:], stream)
    for _, stream in watches:
        stream.close()


def test_compaction_matches(twin, real):
    ours = twin.ours
    twin.put("/c/a", "1")  # 2
    twin.put("/c/b", "1")  # 3
    twin.put("/c/a", "2")  # 4
    twin.delete("/c/b")  # 5: a deletion exactly at the compaction revision
    twin.put("/c/a", "3")  # 6
    twin.compact(5)
    twin.compact(5)  # already compacted
    twin.compact(4)
    twin.compact(99)  # future revision
    twin.get("/c/a", revision=4)  # compacted
    twin.get("/c/a", revision=5)  # the compaction revision itself still reads
    twin.range("/c/", prefix=True, revision=5)
    twin.txn([], [Op.get("/c/a", revision=3)])
    with pytest.raises(CompactedError):
        ours.watch("/c/", prefix=True, start_revision=4)
    stream = real.watch("/c/", prefix=True, start_revision=4)
    with pytest.raises(CompactedError) as err:
        stream.next_events(1, timeout=5)
    assert err.value.compact_revision == ours.compact_revision == 5
    stream.close()
    # From the compaction revision: the tombstone at 5 is gone, and prev_kv of
    # revision 5 would need revision 4 - compacted, so none.
    mine, theirs = _watch_both(ours, real, "/c/", prefix=True, start_revision=5, prev_kv=True)
    assert [(e.type, e.kv.mod_revision) for e in mine.events] == [("PUT", 6)]
    _same_events(mine.events, theirs)
    theirs.close()
    twin.put("/c/a", "4")  # 7
    twin.compact(7)
    twin.range("\0", "\0", revision=7)
    # A put at the compaction revision is replayed, without the (compacted) prev_kv.
    mine, theirs = _watch_both(ours, real, "/c/a", start_revision=7, prev_kv=True)
    assert [(e.kv.mod_revision, e.prev_kv) for e in mine.events] == [(7, None)]
    _same_events(mine.events, theirs)
    theirs.close()


def test_leases_match(twin, real):
    ours = twin.ours
    # An id chosen by the server: ids differ, the TTL raised to the minimum does not.
    assert ours.grant(1).ttl == real.grant(1).ttl == 2
    twin.grant(30, lease_id=1001)
    twin.grant(30, lease_id=1001)  # already exists
    twin.grant(9_000_000_001)  # too large
    twin.grant(0, lease_id=1002)
    twin.put("/l/a", "1", lease=1001)
    twin.put("/l/b", "1", lease=1001)
    twin.put("/l/c", "1", lease=1001)
    twin.put("/l/c", "2")  # detached from the lease
    twin.get("/l/a")
    mine, theirs = ours.time_to_live(1001, keys=True), real.time_to_live(1001, keys=True)
    assert (mine.granted_ttl, mine.keys) == (theirs.granted_ttl, theirs.keys) == (30, ["/l/a",
                                                                                      "/l/b"])
    assert 28 <= theirs.ttl <= mine.ttl == 30  # real time has passed on the real server
    twin.time_to_live(555)  # unknown: ttl -1
    twin.keepalive(1001)
    twin.keepalive(555)
    w_mine, w_real = _watch_both(ours, real, "/l/", prefix=True, prev_kv=True)
    twin.revoke(1001)  # both keys in one revision
    twin.revoke(1001)
    _same_events(w_mine.events, w_real, 2)
    twin.revoke(1002)  # a lease without keys: no revision
    twin.range("/l/", prefix=True)
    for side in (ours, real):
        assert not {1001, 1002} & {lease.id for lease in side.leases()}
    # Expiry: ttl 2 on both clocks; the real lessor checks every 500 ms.
    twin.grant(2, lease_id=2001)
    twin.put("/l/short", "1", lease=2001)
    ours.sim.run(2.001)
    deadline = time.monotonic() + 6
    while real.get("/l/short") is not None:
        assert time.monotonic() < deadline, "real etcd did not expire the lease"
        time.sleep(0.05)
    assert ours.get("/l/short") is None
    _same_events(w_mine.events[2:], w_real)
    assert real.revision == ours.revision
    with pytest.raises(LeaseNotFoundError):
        real.keepalive(2001)
    w_real.close()


def test_random_operations_match(twin, real):
    """Four hundred seeded random operations, every answer compared, then a full replay."""
    rng = random.Random(7)
    keys = ["/a", "/a/1", "/a/2", "/b", "/b/1", "/é", "/z"]
    twin.grant(60, lease_id=7)
    for _ in range(400):
        key = rng.choice(keys)
        roll = rng.random()
        rev = rng.randint(0, twin.ours.revision)
        if roll < 0.35:
            twin.put(key, rng.choice([b"", b"x", b"yy", b"\xff"]), prev_kv=rng.random() < 0.5,
                     lease=rng.choice([0, 0, 7]))
        elif roll < 0.5:
            twin.delete(key, prefix=rng.random() < 0.5, prev_kv=rng.random() < 0.5)
        elif roll < 0.7:
            twin.range(key, prefix=rng.random() < 0.5, revision=rev, limit=rng.choice([0, 1, 2]))
        elif roll < 0.95:
            other = rng.choice(keys)
            twin.txn([rng.choice([Compare.version(key) == rng.randint(0, 3),
                                  Compare.mod_revision(key) < rev,
                                  Compare.value(key) == b"x"])],
                     [Op.put(key, b"t"), Op.get(other, prefix=True)],
                     [Op.delete(other, prev_kv=True), Op.get(key, revision=rev)])
        elif rev > twin.ours.compact_revision:
            twin.compact(rev)
    start = twin.ours.compact_revision or 1
    mine, theirs = _watch_both(twin.ours, real, "\0", "\0", start_revision=start, prev_kv=True)
    assert len(mine.events) > 20
    _same_events(mine.events, theirs)
    theirs.close()
