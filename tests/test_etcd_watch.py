"""Watch: live and replayed events, prev_kv, compaction, SimPy consumers, re-entrant writes."""

from __future__ import annotations

import pytest

from kubelearn.etcd import CompactedError, Event, InvalidArgumentError, KeyValue, Op, Store
from kubelearn.etcd.watch import Watcher
from kubelearn.sim import Simulation


@pytest.fixture
def store() -> Store:
    return Store(Simulation(seed=0))


def summary(events: list[Event]) -> list[tuple[str, str, int]]:
    return [(e.type, e.kv.key, e.kv.mod_revision) for e in events]


def test_watch_a_key_sees_puts_and_deletes(store):
    w = store.watch("/a")
    store.put("/a", "1")
    store.put("/b", "x")
    store.put("/a", "2")
    store.delete("/a")
    assert summary(w.events) == [("PUT", "/a", 2), ("PUT", "/a", 4), ("DELETE", "/a", 5)]
    assert w.events[1].kv == KeyValue("/a", b"2", 2, 4, 2, 0)
    # A DELETE carries a tombstone: the key and the deleting revision, nothing else.
    assert w.events[2].kv == KeyValue("/a", b"", 0, 5, 0, 0)
    assert all(e.prev_kv is None for e in w.events)  # not asked for


def test_prev_kv(store):
    w = store.watch("/a", prev_kv=True)
    store.put("/a", "1")
    store.put("/a", "2")
    store.delete("/a")
    assert [e.prev_kv for e in w.events] == [
        None,
        KeyValue("/a", b"1", 2, 2, 1, 0),
        KeyValue("/a", b"2", 2, 3, 2, 0),
    ]


def test_watch_prefix_and_range(store):
    by_prefix = store.watch("/p/", prefix=True)
    by_range = store.watch("/p/2", "/q")
    everything = store.watch("\0", "\0")
    for key in ["/p/1", "/p/2", "/p/3", "/q", "/o"]:
        store.put(key, "v")
    assert [e.kv.key for e in by_prefix.events] == ["/p/1", "/p/2", "/p/3"]
    assert [e.kv.key for e in by_range.events] == ["/p/2", "/p/3"]
    assert len(everything.events) == 5


def test_txn_events_come_in_op_order_with_one_revision(store):
    store.put("/a", "0")
    w = store.watch("/", prefix=True)
    store.txn([], [Op.put("/c", "1"), Op.delete("/a"), Op.put("/b", "1")])
    assert summary(w.events) == [("PUT", "/c", 3), ("DELETE", "/a", 3), ("PUT", "/b", 3)]


def test_watch_from_the_past_replays_then_follows(store):
    store.put("/a", "1")  # 2
    store.put("/b", "1")  # 3
    store.delete("/a")  # 4
    w = store.watch("/", prefix=True, start_revision=3, prev_kv=True)
    assert summary(w.events) == [("PUT", "/b", 3), ("DELETE", "/a", 4)]
    assert w.events[1].prev_kv == KeyValue("/a", b"1", 2, 2, 1, 0)
    store.put("/c", "1")
    assert summary(w.events)[-1] == ("PUT", "/c", 5)
    assert len(w.events) == 3  # no event twice


def test_watch_a_single_key_from_the_past(store):
    store.put("/a", "1")
    store.put("/b", "1")
    store.put("/a", "2")
    w = store.watch("/a", start_revision=1)
    assert summary(w.events) == [("PUT", "/a", 2), ("PUT", "/a", 4)]


def test_watch_from_a_future_revision_waits_for_it(store):
    w = store.watch("/a", start_revision=4)
    assert w.start_revision == 4
    store.put("/a", "1")  # 2
    store.put("/a", "2")  # 3
    store.put("/a", "3")  # 4
    assert summary(w.events) == [("PUT", "/a", 4)]


def test_start_revision_zero_means_from_the_next_write(store):
    store.put("/a", "1")
    w = store.watch("/a")
    assert w.start_revision == 3 and w.events == []


def test_watch_below_the_compaction_revision_fails(store):
    store.put("/a", "1")  # 2
    store.put("/a", "2")  # 3
    store.put("/a", "3")  # 4
    store.compact(3)
    with pytest.raises(CompactedError, match="required revision has been compacted") as err:
        store.watch("/a", start_revision=2)
    assert err.value.compact_revision == 3
    w = store.watch("/a", start_revision=3, prev_kv=True)  # the compaction revision is fine
    assert summary(w.events) == [("PUT", "/a", 3), ("PUT", "/a", 4)]
    # The version before revision 3 is compacted: etcd sends no prev_kv for it.
    assert w.events[0].prev_kv is None
    assert w.events[1].prev_kv.value == b"2"


def test_a_deletion_at_the_compaction_revision_is_not_replayed(store):
    # etcd compaction removes tombstones at or below the revision, so a watch
    # from exactly the compaction revision does not see that deletion (checked
    # against a real etcd in test_etcd_real.py).
    store.put("/a", "1")  # 2
    store.put("/b", "1")  # 3
    store.delete("/a")  # 4
    store.compact(4)
    w = store.watch("/", prefix=True, start_revision=4)
    assert w.events == []
    assert store.watch("/a", start_revision=4).events == []


def test_simpy_process_reads_events_with_get(store):
    sim = store.sim
    w = store.watch("/a")
    seen = []

    def reader():
        while True:
            event = yield w.get()
            if event is None:
                return
            seen.append((sim.now, event.type, event.kv.value))

    def writer():
        yield sim.timeout(1)
        store.put("/a", "1")
        yield sim.timeout(1)
        store.put("/a", "2")
        store.delete("/a")
        yield sim.timeout(1)
        w.cancel()

    sim.process(reader())
    sim.process(writer())
    sim.run(10)
    assert seen == [(1.0, "PUT", b"1"), (2.0, "PUT", b"2"), (2.0, "DELETE", b"")]


def test_get_returns_events_delivered_before_the_call(store):
    store.put("/a", "1")
    w = store.watch("/a", start_revision=1)
    got = []

    def reader():
        got.append((yield w.get()))

    store.sim.process(reader())
    store.sim.run(1)
    assert got[0].kv.value == b"1"


def test_cancel_stops_events(store):
    w = store.watch("/a")
    store.put("/a", "1")
    w.cancel()
    store.put("/a", "2")
    assert len(w.events) == 1 and w.canceled
    w.cancel()  # twice is harmless


def test_callback_is_called_after_the_write(store):
    seen = []
    store.watch("/a", callback=lambda e: seen.append((e.kv.value, store.revision)))
    store.put("/a", "1")
    assert seen == [(b"1", 2)]  # the write is complete when the callback runs


def test_a_watch_that_keeps_nothing_still_calls_back(store):
    seen = []
    w = store.watch("/a", callback=seen.append, keep=False)
    store.put("/a", "1")
    store.put("/a", "2")
    assert [e.kv.value for e in seen] == [b"1", b"2"] and w.events == []
    with pytest.raises(InvalidArgumentError):
        store.watch("/a", keep=False)  # nothing would ever see its events


def test_callback_that_writes_does_not_reorder_events(store):
    # A "controller" that reacts to /in by writing /out; an observer watches both.
    def controller(event):
        if event.type == "PUT":
            store.put("/out", event.kv.value + b"!")

    store.watch("/in", callback=controller)
    observer = store.watch("/", prefix=True)
    late = store.watch("/in")  # registered after the controller: gets /in before /out
    store.put("/in", "a")
    store.put("/in", "b")
    assert summary(observer.events) == [("PUT", "/in", 2), ("PUT", "/out", 3),
                                        ("PUT", "/in", 4), ("PUT", "/out", 5)]
    assert store.get("/out").value == b"b!"
    assert summary(late.events) == [("PUT", "/in", 2), ("PUT", "/in", 4)]


def test_watch_created_inside_a_callback_sees_each_event_once(store):
    created: list[Watcher] = []

    def open_watch(event):
        if not created:
            store.put("/b", "from callback")  # rev 3, queued behind the current delivery
            created.append(store.watch("/", prefix=True, start_revision=1))

    store.watch("/a", callback=open_watch)
    store.put("/a", "1")  # 2
    store.put("/c", "1")  # 4
    assert summary(created[0].events) == [("PUT", "/a", 2), ("PUT", "/b", 3), ("PUT", "/c", 4)]


def test_callback_cancelling_another_watcher(store):
    victim = store.watch("/a")
    store.watch("/a", callback=lambda e: victim.cancel())
    store.put("/a", "1")  # victim was first: it gets this one
    store.put("/a", "2")
    assert len(victim.events) == 1


def test_a_failing_callback_does_not_starve_the_others(store):
    def broken(event):
        raise RuntimeError("boom")

    store.watch("/a", callback=broken)
    other = store.watch("/a")
    with pytest.raises(RuntimeError, match="boom"):
        store.put("/a", "1")
    assert store.get("/a").value == b"1"  # the write itself happened
    assert len(other.events) == 1
    with pytest.raises(RuntimeError):
        store.put("/a", "2")
    assert len(other.events) == 2


def test_watchers_of_other_keys_are_not_visited(store, monkeypatch):
    watchers = [store.watch(f"/k/{i}") for i in range(1000)]
    pushed = []
    original = Watcher._push

    def counting_push(self, event):
        pushed.append(self.id)
        original(self, event)

    monkeypatch.setattr(Watcher, "_push", counting_push)
    store.put("/k/500", "v")
    assert pushed == [watchers[500].id]
    assert store._watches._watchers_of("/k/7") == [watchers[7]]


def test_delivery_is_deterministic():
    def run() -> list:
        store = Store(Simulation(seed=3))
        log = []
        store.watch("/", prefix=True, callback=lambda e: log.append(("all", e)))
        store.watch("/x", callback=lambda e: log.append(("x", e)))
        rng = store.sim.rng("test")
        for _ in range(200):
            key = rng.choice(["/x", "/y", "/z"])
            if rng.random() < 0.3:
                store.delete(key)
            else:
                store.put(key, str(rng.random()))
        return log

    assert run() == run()


def test_watcher_repr(store):
    w = store.watch("/p/", prefix=True)
    assert "range_end='/p0'" in repr(w) and w.key == "/p/" and w.range_end == "/p0"
