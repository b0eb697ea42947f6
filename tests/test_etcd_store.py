"""The MVCC store: revisions, put, get, range, delete, txn, compaction, argument checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kubelearn.etcd import (
    CompactedError,
    Compare,
    DuplicateKeyError,
    EmptyKeyError,
    EtcdError,
    FutureRevisionError,
    InvalidArgumentError,
    KeyValue,
    LeaseNotFoundError,
    Op,
    RequestTooLargeError,
    Store,
    TooManyOpsError,
    prefix_end,
)
from kubelearn.sim import Simulation


@pytest.fixture
def store() -> Store:
    return Store(Simulation(seed=0))


# -- revisions, put, get ---------------------------------------------------------


def test_fresh_store_is_at_revision_1(store):
    assert store.revision == 1
    assert store.compact_revision == 0
    assert store.get("/a") is None
    assert store.range("/", prefix=True).kvs == []


def test_put_creates_then_overwrites(store):
    first = store.put("/a", "one")
    assert first.revision == 2 and first.prev_kv is None
    assert store.get("/a") == KeyValue("/a", b"one", 2, 2, 1, 0)
    second = store.put("/a", b"two", prev_kv=True)
    assert second.revision == 3
    assert second.prev_kv == KeyValue("/a", b"one", 2, 2, 1, 0)
    assert store.get("/a") == KeyValue("/a", b"two", 2, 3, 2, 0)
    assert store.revision == 3


def test_put_of_the_same_value_is_still_a_new_revision(store):
    store.put("/a", "x")
    store.put("/a", "x")
    assert store.revision == 3
    assert store.get("/a").version == 2


def test_values_are_bytes_and_str_is_utf8(store):
    store.put("/a", "héllo")
    assert store.get("/a").value == "héllo".encode()
    store.put("/b", bytearray(b"\x00\xff"))
    assert store.get("/b").value == b"\x00\xff"


def test_get_at_an_old_revision(store):
    store.put("/a", "1")  # rev 2
    store.put("/b", "x")  # rev 3
    store.put("/a", "2")  # rev 4
    store.delete("/a")  # rev 5
    assert store.get("/a", revision=2).value == b"1"
    assert store.get("/a", revision=3).value == b"1"
    assert store.get("/a", revision=4).value == b"2"
    assert store.get("/a", revision=5) is None
    assert store.get("/a", revision=1) is None
    assert store.get("/a") is None


def test_reading_a_future_revision_fails(store):
    store.put("/a", "1")
    with pytest.raises(FutureRevisionError, match="mvcc: required revision is a future revision"):
        store.get("/a", revision=3)
    with pytest.raises(FutureRevisionError):
        store.range("/", prefix=True, revision=99)


# -- delete ---------------------------------------------------------------------------


def test_delete_resets_version_and_recreate_starts_over(store):
    store.put("/a", "1")
    store.put("/a", "2")
    response = store.delete("/a", prev_kv=True)
    assert response.revision == 4 and response.deleted == 1
    assert response.prev_kvs == [KeyValue("/a", b"2", 2, 3, 2, 0)]
    assert store.get("/a") is None
    store.put("/a", "3")
    assert store.get("/a") == KeyValue("/a", b"3", 5, 5, 1, 0)


def test_delete_of_nothing_keeps_the_revision(store):
    store.put("/a", "1")
    response = store.delete("/missing")
    assert response.deleted == 0 and response.revision == 2
    store.delete("/a")
    assert store.delete("/a").revision == 3  # deleting a deleted key is nothing too
    assert store.revision == 3


def test_delete_prefix_and_range_in_one_revision(store):
    for key in ["/p/1", "/p/2", "/p/3", "/q/1", "/r/1"]:
        store.put(key, "v")
    response = store.delete("/p/", prefix=True, prev_kv=True)
    assert response.deleted == 3 and response.revision == 7
    assert [kv.key for kv in response.prev_kvs] == ["/p/1", "/p/2", "/p/3"]
    assert store.delete("/q", "/r").deleted == 1  # [/q, /r): /r/1 is outside
    assert store.get("/r/1") is not None
    assert store.delete("/", "\0").deleted == 1  # "\0": everything from "/"
    assert store.range("\0", "\0").count == 0


def test_prefix_delete_without_prev_kv_returns_no_values(store):
    store.put("/p/1", "v")
    assert store.delete("/p/", prefix=True).prev_kvs == []


# -- range --------------------------------------------------------------------------------


def test_range_is_in_bytewise_key_order(store):
    keys = ["/b", "/a", "/ä", "/Z", "/a/b", "/a0", "/\U0001f600", "/\u00ff"]
    for key in keys:
        store.put(key, key)
    got = [kv.key for kv in store.range("/", prefix=True).kvs]
    assert got == sorted(keys, key=lambda k: k.encode("utf-8"))


def test_range_limit_count_and_more(store):
    for i in range(5):
        store.put(f"/k/{i}", str(i))
    response = store.range("/k/", prefix=True, limit=2)
    assert [kv.key for kv in response.kvs] == ["/k/0", "/k/1"]
    assert response.count == 5 and response.more is True and response.revision == 6
    exact = store.range("/k/", prefix=True, limit=5)
    assert len(exact.kvs) == 5 and exact.more is False
    assert store.range("/k/", prefix=True).more is False


def test_range_keys_only_and_count_only(store):
    store.put("/k/1", "secret")
    store.put("/k/2", "secret")
    keys = store.range("/k/", prefix=True, keys_only=True)
    assert [kv.value for kv in keys.kvs] == [b"", b""]
    assert keys.kvs[0].mod_revision == 2
    counted = store.range("/k/", prefix=True, count_only=True)
    assert counted.kvs == [] and counted.count == 2


def test_range_end_semantics(store):
    for key in ["a", "b", "c", "d"]:
        store.put(key, key)
    assert [kv.key for kv in store.range("b", "d").kvs] == ["b", "c"]
    assert [kv.key for kv in store.range("b", "\0").kvs] == ["b", "c", "d"]
    assert [kv.key for kv in store.range("\0", "\0").kvs] == ["a", "b", "c", "d"]
    assert store.range("c", "a").kvs == []  # an end before the key is an empty range
    assert [kv.key for kv in store.range("b", "").kvs] == ["b"]  # empty end: one key
    assert [kv.key for kv in store.range("", prefix=True).kvs] == ["a", "b", "c", "d"]


def test_range_skips_deleted_keys_and_reads_history(store):
    store.put("/k/1", "a")  # 2
    store.put("/k/2", "b")  # 3
    store.delete("/k/1")  # 4
    assert [kv.key for kv in store.range("/k/", prefix=True).kvs] == ["/k/2"]
    old = store.range("/k/", prefix=True, revision=3)
    assert [kv.key for kv in old.kvs] == ["/k/1", "/k/2"]
    assert old.revision == 4  # the header revision is the store's, as in etcd


def test_prefix_end_matches_etcd_for_ascii():
    assert prefix_end("/registry/pods/") == "/registry/pods0"
    assert prefix_end("a") == "b"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") == "\0"


# -- txn ---------------------------------------------------------------------------------


def test_txn_create_if_absent(store):
    create = [Compare.version("/a") == 0], [Op.put("/a", "1")], [Op.get("/a")]
    first = store.txn(*create)
    assert first.succeeded and first.revision == 2
    second = store.txn(*create)
    assert not second.succeeded and second.revision == 2  # only a read: no new revision
    assert second.responses[0].kvs[0].value == b"1"


def test_txn_with_several_writes_is_one_revision(store):
    store.put("/a", "1")
    response = store.txn([], [Op.put("/b", "x"), Op.get("/a"), Op.put("/c", "y"),
                              Op.delete("/a", prev_kv=True)])
    assert response.revision == 3 and store.revision == 3
    assert store.get("/b").mod_revision == store.get("/c").mod_revision == 3
    put_b, get_a, put_c, delete_a = response.responses
    assert put_b.revision == 3 and put_c.revision == 3
    assert get_a.kvs[0].value == b"1" and get_a.revision == 3
    assert delete_a.deleted == 1 and delete_a.prev_kvs[0].value == b"1"


def test_txn_ops_see_earlier_writes_and_inner_revisions(store):
    # Real etcd answers each op from the txn's view so far (storeTxnWrite.Range).
    store.put("/t", "0")  # rev 2
    response = store.txn([], [Op.get("/t"), Op.delete("/none"), Op.put("/t", "1"),
                              Op.delete("/none"), Op.get("/t")])
    revisions = [r.revision for r in response.responses]
    assert revisions == [2, 2, 3, 3, 3]
    assert response.responses[4].kvs[0].value == b"1"


def test_txn_overlapping_deletes_count_each_key_once(store):
    store.put("b", "1")
    store.put("c", "1")
    response = store.txn([], [Op.delete("a", "c"), Op.delete("b", "d")])
    assert [r.deleted for r in response.responses] == [1, 1]
    assert response.revision == 4


@pytest.mark.parametrize("compare, expected", [
    (Compare.value("/a") == "1", True),
    (Compare.value("/a") == b"2", False),
    (Compare.value("/a") != "2", True),
    (Compare.value("/a") < "2", True),
    (Compare.value("/a") > "2", False),
    (Compare.version("/a") == 1, True),
    (Compare.version("/a") > 1, False),
    (Compare.create_revision("/a") == 2, True),
    (Compare.mod_revision("/a") < 3, True),
    (Compare.mod_revision("/a") != 2, False),
    (Compare.lease("/a") == 0, True),
    # a missing key: version, revisions and lease compare as 0 ...
    (Compare.version("/missing") == 0, True),
    (Compare.create_revision("/missing") == 0, True),
    (Compare.lease("/missing") == 0, True),
    # ... and any value compare fails, even "!=" (etcd applyCompare)
    (Compare.value("/missing") != "x", False),
    (Compare.value("/missing") == "", False),
    (Compare("/a", "MOD", "==", 2), True),
    (Compare("/a", "version", "GREATER", 0), True),
    (Compare("/a", "create_revision", "<", 2), False),
])
def test_compare(store, compare, expected):
    store.put("/a", "1")
    assert store.txn([compare]).succeeded is expected


def test_compare_over_a_range_needs_every_key(store):
    store.put("/r/1", "x")
    store.put("/r/2", "y")
    assert store.txn([Compare.version("/r/", prefix_end("/r/")) > 0]).succeeded
    assert not store.txn([Compare.value("/r/", prefix_end("/r/")) == "x"]).succeeded
    assert store.txn([Compare("/r/", "VERSION", "==", 1, prefix=True)]).succeeded


def test_all_compares_must_hold(store):
    store.put("/a", "1")
    response = store.txn([Compare.version("/a") == 1, Compare.value("/a") == "nope"],
                         [Op.put("/ok", "1")], [Op.put("/failed", "1")])
    assert not response.succeeded
    assert store.get("/failed") is not None and store.get("/ok") is None


@pytest.mark.parametrize("ops", [
    [Op.put("/a", "1"), Op.put("/a", "2")],
    [Op.put("/a/x", "1"), Op.delete("/a/", prefix=True)],
    [Op.delete("/a", "/b"), Op.put("/a/x", "1")],
    [Op.delete("/a"), Op.put("/a", "1")],
])
def test_txn_writing_a_key_twice_is_refused(store, ops):
    with pytest.raises(DuplicateKeyError, match="etcdserver: duplicate key given in txn request"):
        store.txn([], ops)
    with pytest.raises(DuplicateKeyError):
        store.txn([], [], ops)  # the failure branch is checked too, even if not taken
    assert store.revision == 1


def test_txn_put_and_delete_of_different_keys_is_fine(store):
    store.put("/b", "1")
    store.txn([], [Op.put("/a", "1"), Op.delete("/b"), Op.delete("/a0", "/a1")])
    assert store.get("/a") is not None and store.get("/b") is None


def test_txn_too_many_ops(store):
    ops = [Op.put(f"/k{i}", "v") for i in range(129)]
    with pytest.raises(TooManyOpsError, match="too many operations in txn request"):
        store.txn([], ops)
    assert store.txn([], ops[:128]).revision == 2


def test_txn_is_refused_whole_if_one_op_is_bad(store):
    store.put("/a", "1")
    store.put("/a", "2")
    store.compact(3)
    with pytest.raises(LeaseNotFoundError):
        store.txn([], [Op.put("/x", "1"), Op.put("/y", "1", lease=77)])
    with pytest.raises(CompactedError):
        store.txn([], [Op.put("/x", "1"), Op.get("/a", revision=2)])
    with pytest.raises(FutureRevisionError):
        store.txn([], [Op.put("/x", "1"), Op.get("/a", revision=4)])  # rev 4 is the txn's own
    assert store.get("/x") is None and store.revision == 3


# -- compaction ------------------------------------------------------------------------------


def test_compaction_drops_old_revisions(store):
    store.put("/a", "1")  # 2
    store.put("/a", "2")  # 3
    store.put("/b", "1")  # 4
    store.delete("/b")  # 5
    store.put("/c", "1")  # 6
    store.compact(5)
    assert store.compact_revision == 5
    with pytest.raises(CompactedError, match="mvcc: required revision has been compacted") as err:
        store.get("/a", revision=4)
    assert err.value.compact_revision == 5
    with pytest.raises(CompactedError):
        store.range("/", prefix=True, revision=2)
    assert store.get("/a", revision=5).value == b"2"  # the compaction revision itself is kept
    assert store.get("/b", revision=5) is None
    assert [kv.mod_revision for kv in store.history("/a")] == [3]
    assert store.history("/b") == []  # a key deleted at or before the revision is forgotten
    assert store.history("/c") == [KeyValue("/c", b"1", 6, 6, 1, 0)]
    assert store.range("/", prefix=True).count == 2


def test_compaction_keeps_history_above_the_revision(store):
    for i in range(5):
        store.put("/a", str(i))  # revisions 2..6
    store.compact(4)
    assert [kv.value for kv in store.history("/a")] == [b"2", b"3", b"4"]
    assert store.get("/a", revision=4).version == 3


def test_compacting_twice_or_ahead_fails(store):
    store.put("/a", "1")
    store.compact(2)  # compacting at the current revision is allowed
    with pytest.raises(CompactedError):
        store.compact(2)
    with pytest.raises(CompactedError):
        store.compact(1)
    with pytest.raises(FutureRevisionError):
        store.compact(3)
    with pytest.raises(CompactedError):
        Store(Simulation()).compact(0)  # as a fresh etcd: 0 is "already compacted"


def test_compaction_is_recorded(store):
    store.put("/a", "1")
    store.put("/a", "2")
    store.compact(3)
    records = [r for r in store.sim.records if r.reason == "Compacted"]
    assert len(records) == 1 and records[0].component == "etcd"
    assert "3" in records[0].object


def test_history_marks_deletions(store):
    store.put("/a", "1")
    store.delete("/a")
    store.put("/a", "2")
    assert store.history("/a") == [
        KeyValue("/a", b"1", 2, 2, 1, 0),
        KeyValue("/a", b"", 0, 3, 0, 0),
        KeyValue("/a", b"2", 4, 4, 1, 0),
    ]
    assert store.history("/never") == []


# -- argument checks ------------------------------------------------------------------------


@pytest.mark.parametrize("call", [
    lambda s: s.put(1, "x"),
    lambda s: s.put("/a", 1),
    lambda s: s.put("/a", "x", lease="7"),
    lambda s: s.put("/a", "x", lease=-1),
    lambda s: s.get("/a", revision=-1),
    lambda s: s.get("/a", revision="2"),
    lambda s: s.range("/a", limit=-1),
    lambda s: s.range("/a", "/b", prefix=True),
    lambda s: s.range(b"/a"),
    lambda s: s.range("/\ud800"),
    lambda s: s.compact(-1),
    lambda s: s.compact(None),
    lambda s: s.txn(["not a compare"]),
    lambda s: s.txn([], [("put", "/a")]),
    lambda s: s.txn(Compare.version("/a") == 0),
    lambda s: s.watch("/a", callback="nope"),
    lambda s: s.watch("/a", start_revision=-2),
    lambda s: Compare("/a", "COLOR", "==", 1),
    lambda s: Compare("/a", "VERSION", "~", 1),
    lambda s: Compare.version("/a") == "1",
    lambda s: s.grant("10"),
    lambda s: s.revoke(None),
])
def test_bad_arguments_raise_invalid_argument(store, call):
    with pytest.raises(InvalidArgumentError):
        call(store)
    assert store.revision == 1


@pytest.mark.parametrize("call", [
    lambda s: s.put("", "x"),
    lambda s: s.get(""),
    lambda s: s.range(""),
    lambda s: s.delete(""),
    lambda s: s.txn([Compare.version("") == 0]),
])
def test_empty_key_is_refused(store, call):
    with pytest.raises(EmptyKeyError, match="etcdserver: key is not provided"):
        call(store)


def test_every_error_is_an_etcd_error():
    for cls in (CompactedError, DuplicateKeyError, EmptyKeyError, FutureRevisionError,
                InvalidArgumentError, LeaseNotFoundError, RequestTooLargeError, TooManyOpsError):
        assert issubclass(cls, EtcdError)


def test_request_too_large(store):
    with pytest.raises(RequestTooLargeError, match="etcdserver: request is too large"):
        store.put("/big", b"x" * (1536 * 1024))
    store.put("/fits", b"x" * (1024 * 1024))
    assert store.revision == 2


def test_repr_is_informative(store):
    store.put("/a", "1")
    assert "revision=2" in repr(store)
    assert "Compare('/a': VERSION == 0)" == repr(Compare.version("/a") == 0)
    assert repr(Op.put("/a", "1")) == "Op.put('/a', value=b'1')"


# -- against a naive model ------------------------------------------------------------------

KEYS = st.sampled_from(["a", "a/1", "a/2", "b", "b/1", "é", "z"])
OPS = st.one_of(
    st.tuples(st.just("put"), KEYS, st.binary(max_size=3)),
    st.tuples(st.just("delete"), KEYS, st.none()),
    st.tuples(st.just("prefix"), KEYS, st.none()),
    st.tuples(st.just("txn"), KEYS, st.binary(max_size=3)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(OPS, max_size=25), st.integers(min_value=0, max_value=30))
def test_store_matches_a_naive_model(ops, compact_at):
    """Replay random writes on the store and on dict-per-revision snapshots; they must agree."""
    store = Store(Simulation())
    states: list[dict[str, KeyValue]] = [{}, {}]  # states[r]: the keys at revision r
    for kind, key, value in ops:
        state = dict(states[-1])
        rev = len(states)
        if kind == "put":
            store.put(key, value)
            old = state.get(key)
            state[key] = KeyValue(key, value, old.create_revision if old else rev, rev,
                                  old.version + 1 if old else 1, 0)
        elif kind == "delete":
            store.delete(key)
            state.pop(key, None)
        elif kind == "prefix":
            store.delete(key, prefix=True)
            state = {k: v for k, v in state.items() if not k.startswith(key)}
        else:  # put the key and delete its "/"-children if the key exists
            exists = key in state
            store.txn([Compare.version(key) > 0],
                      [Op.put(key, value), Op.delete(key + "/", prefix=True)])
            if exists:
                old = state[key]
                state[key] = KeyValue(key, value, old.create_revision, rev, old.version + 1, 0)
                state = {k: v for k, v in state.items() if not k.startswith(key + "/")}
        if state != states[-1] or kind == "put":
            states.append(state)
    assert store.revision == len(states) - 1
    if 0 < compact_at <= store.revision:
        store.compact(compact_at)
    for rev in range(max(1, store.compact_revision), store.revision + 1):
        want = sorted(states[rev].values(), key=lambda kv: kv.key.encode())
        assert store.range("\0", "\0", revision=rev).kvs == want
        for key in states[rev]:
            assert store.get(key, revision=rev) == states[rev][key]
