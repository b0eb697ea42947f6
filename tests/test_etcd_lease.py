"""Leases on the virtual clock: grant, attach, keepalive, expiry, revoke, time to live."""

from __future__ import annotations

import pytest

from kubelearn.etcd import (
    MIN_LEASE_TTL,
    Compare,
    InvalidArgumentError,
    Lease,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
    Op,
    Store,
)
from kubelearn.sim import Simulation


@pytest.fixture
def store() -> Store:
    return Store(Simulation(seed=0))


def test_lease_expires_on_the_virtual_clock_in_one_revision(store):
    lease = store.grant(5)
    assert lease.ttl == 5
    store.put("/a", "1", lease=lease.id)
    store.put("/b", "1", lease=lease.id)
    store.put("/c", "1")
    w = store.watch("/", prefix=True)
    store.sim.run(4.9)
    assert store.get("/a") is not None and store.revision == 4
    store.sim.run(0.2)  # now 5.1
    assert store.get("/a") is None and store.get("/b") is None
    assert store.get("/c") is not None
    assert store.revision == 5  # both keys went in one revision
    assert [(e.type, e.kv.key, e.kv.mod_revision) for e in w.events] == [
        ("DELETE", "/a", 5), ("DELETE", "/b", 5)]
    assert store.leases() == []
    expired = [r for r in store.sim.records if r.reason == "LeaseExpired"]
    assert len(expired) == 1 and expired[0].time == 5.0
    assert "2 key(s)" in expired[0].message


def test_expiry_happens_exactly_at_grant_plus_ttl(store):
    store.sim.run(0.3)
    lease = store.grant(7)
    store.put("/a", "1", lease=lease.id)
    store.sim.run(7.0)  # now 7.3: SimPy's run(until=t) stops before events at t
    assert store.get("/a") is not None
    store.sim.run(1e-6)
    assert store.get("/a") is None


def test_short_ttls_are_raised_to_the_minimum(store):
    assert MIN_LEASE_TTL == 2
    assert store.grant(1).ttl == 2
    assert store.grant(0).ttl == 2
    assert store.grant(-5).ttl == 2  # etcd raises it too rather than refusing


def test_too_large_ttl(store):
    with pytest.raises(LeaseTTLTooLargeError, match="etcdserver: too large lease TTL"):
        store.grant(9_000_000_001)


def test_grant_with_an_id(store):
    assert store.grant(10, lease_id=42) == Lease(42, 10)
    with pytest.raises(LeaseExistsError, match="etcdserver: lease already exists"):
        store.grant(10, lease_id=42)
    with pytest.raises(InvalidArgumentError):
        store.grant(10, lease_id=-1)


def test_lease_ids_are_seeded():
    ids = [Store(Simulation(seed=1)).grant(10).id for _ in range(2)]
    assert ids[0] == ids[1] and ids[0] > 0
    assert Store(Simulation(seed=2)).grant(10).id != ids[0]


def test_keepalive_extends(store):
    lease = store.grant(5)
    store.put("/a", "1", lease=lease.id)
    store.sim.run(4)
    assert store.keepalive(lease.id) == 5
    store.sim.run(4.5)  # now 8.5: past the first deadline, before the new one (9)
    assert store.get("/a") is not None
    assert store.time_to_live(lease.id).ttl == 0  # 0.5 s left, truncated as etcd does
    store.sim.run(0.6)
    assert store.get("/a") is None


def test_revoke_deletes_keys_now(store):
    lease = store.grant(100)
    store.put("/b", "1", lease=lease.id)
    store.put("/a", "1", lease=lease.id)
    w = store.watch("/", prefix=True)
    store.revoke(lease.id)
    assert store.revision == 4
    assert [e.kv.key for e in w.events] == ["/a", "/b"]  # sorted, one revision
    with pytest.raises(LeaseNotFoundError, match="etcdserver: requested lease not found"):
        store.revoke(lease.id)
    store.sim.run(200)  # the expiry process of a revoked lease does nothing
    assert store.revision == 4


def test_revoking_a_lease_without_keys_keeps_the_revision(store):
    lease = store.grant(10)
    store.put("/a", "1", lease=lease.id)
    store.delete("/a")  # detaches the key
    store.revoke(lease.id)
    assert store.revision == 3


def test_overwriting_a_key_without_lease_detaches_it(store):
    lease = store.grant(5)
    store.put("/a", "1", lease=lease.id)
    assert store.get("/a").lease == lease.id
    store.put("/a", "2")
    assert store.get("/a").lease == 0
    assert store.time_to_live(lease.id, keys=True).keys == []
    store.sim.run(6)
    assert store.get("/a").value == b"2"
    assert store.revision == 3  # the expiry deleted nothing: no new revision


def test_moving_a_key_to_another_lease(store):
    one, two = store.grant(5), store.grant(50)
    store.put("/a", "1", lease=one.id)
    store.put("/a", "2", lease=two.id)
    store.sim.run(10)
    assert store.get("/a").lease == two.id


def test_unknown_lease_is_refused_and_nothing_written(store):
    with pytest.raises(LeaseNotFoundError):
        store.put("/a", "1", lease=12345)
    with pytest.raises(LeaseNotFoundError):
        store.keepalive(12345)
    assert store.revision == 1 and store.get("/a") is None


def test_expired_lease_is_gone(store):
    lease = store.grant(2)
    store.sim.run(3)
    with pytest.raises(LeaseNotFoundError):
        store.keepalive(lease.id)
    with pytest.raises(LeaseNotFoundError):
        store.put("/a", "1", lease=lease.id)
    assert store.time_to_live(lease.id).ttl == -1


def test_time_to_live(store):
    lease = store.grant(30)
    store.put("/x", "1", lease=lease.id)
    store.put("/w", "1", lease=lease.id)
    store.sim.run(10.5)
    ttl = store.time_to_live(lease.id, keys=True)
    assert (ttl.id, ttl.ttl, ttl.granted_ttl, ttl.keys) == (lease.id, 19, 30, ["/w", "/x"])
    assert store.time_to_live(lease.id).keys == []
    missing = store.time_to_live(999)
    assert (missing.ttl, missing.granted_ttl) == (-1, 0)


def test_leases_lists_live_leases(store):
    a = store.grant(10, lease_id=7)
    b = store.grant(20, lease_id=3)
    assert store.leases() == [b, a]


def test_txn_put_with_a_lease_attaches(store):
    lease = store.grant(5)
    store.txn([Compare.version("/a") == 0], [Op.put("/a", "1", lease=lease.id)])
    store.sim.run(5.5)
    assert store.get("/a") is None


def test_a_watcher_callback_can_re_put_an_expired_key(store):
    """A kubelet-like owner recreates its key when the lease drops it."""
    def recreate(event):
        if event.type == "DELETE":
            fresh = store.grant(5)
            store.put("/node", "alive", lease=fresh.id)

    first = store.grant(5)
    store.put("/node", "alive", lease=first.id)
    store.watch("/node", callback=recreate)
    store.sim.run(5.5)
    kv = store.get("/node")
    assert kv is not None and kv.lease != first.id and kv.create_revision == 4
