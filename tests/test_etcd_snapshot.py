"""Snapshots: a round trip keeps everything; a damaged file is refused and changes nothing."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random

import pytest

from kubelearn.etcd import SnapshotError, Store
from kubelearn.sim import Simulation


def busy_store() -> Store:
    """A store with history, deletions, a txn, a compaction, leases and binary values."""
    store = Store(Simulation(seed=4))
    lease = store.grant(30, lease_id=99)
    for i in range(6):
        store.put(f"/registry/pods/default/web-{i % 3}", json.dumps({"n": i}))
    store.put("/registry/leases/node-1", b"\x00\xff binary", lease=lease.id)
    store.delete("/registry/pods/default/web-0")
    store.put("/registry/pods/default/web-0", "back")
    store.compact(5)
    store.delete("/registry/pods/default/web-1")
    store.put("/é", "unicode key")
    store.sim.run(10)
    return store


def everything(store: Store) -> dict:
    """All that a reader can observe, for comparing two stores."""
    first = max(store.compact_revision, 1)
    return {
        "revision": store.revision,
        "compact_revision": store.compact_revision,
        "ranges": [store.range("\0", "\0", revision=r) for r in range(first, store.revision + 1)],
        "histories": {k.key: store.history(k.key) for r in range(first, store.revision + 1)
                      for k in store.range("\0", "\0", revision=r).kvs},
        "replay": store.watch("\0", "\0", start_revision=first, prev_kv=True).events,
        "leases": store.leases(),
    }


def test_round_trip(tmp_path):
    store = busy_store()
    path = tmp_path / "etcd.snap"
    store.snapshot(path)
    restored = Store.restore(path, Simulation(seed=4))
    assert everything(restored) == everything(store)
    assert restored.get("/registry/leases/node-1").value == b"\x00\xff binary"
    assert [r.reason for r in store.sim.records][-1] == "SnapshotSaved"
    assert [r.reason for r in restored.sim.records] == ["SnapshotRestored"]


def test_restored_store_keeps_writing_from_its_revision(tmp_path):
    store = busy_store()
    store.snapshot(tmp_path / "s")
    restored = Store.restore(tmp_path / "s", Simulation())
    response = restored.put("/registry/pods/default/web-2", "new")
    assert response.revision == store.revision + 1
    assert restored.get("/registry/pods/default/web-2").version == (
        store.get("/registry/pods/default/web-2").version + 1)


def test_restored_leases_restart_with_full_ttl_and_still_expire(tmp_path):
    store = busy_store()  # lease 99 (30 s) was granted 10 s ago
    store.snapshot(tmp_path / "s")
    restored = Store.restore(tmp_path / "s", Simulation())
    ttl = restored.time_to_live(99, keys=True)
    assert (ttl.ttl, ttl.granted_ttl, ttl.keys) == (30, 30, ["/registry/leases/node-1"])
    restored.sim.run(29.9)
    assert restored.get("/registry/leases/node-1") is not None
    restored.sim.run(0.2)
    assert restored.get("/registry/leases/node-1") is None


def test_empty_store_round_trip(tmp_path):
    store = Store(Simulation())
    store.snapshot(tmp_path / "s")
    restored = Store.restore(tmp_path / "s", Simulation())
    assert restored.revision == 1 and restored.range("\0", "\0").count == 0


def test_snapshot_replaces_atomically_and_leaves_no_temp_files(tmp_path):
    path = tmp_path / "s"
    path.write_bytes(b"old contents")
    busy_store().snapshot(path)
    assert os.listdir(tmp_path) == ["s"]
    assert path.read_bytes().startswith(b"kubelearn-etcd-snapshot 1\n")


def test_snapshot_ends_with_its_checksum(tmp_path):
    busy_store().snapshot(tmp_path / "s")
    content = (tmp_path / "s").read_bytes()
    head, _, trailer = content.rstrip(b"\n").rpartition(b"\n")
    assert trailer == b"sha256 " + hashlib.sha256(head + b"\n").hexdigest().encode()


def _damaged(content: bytes) -> dict[str, bytes]:
    """Ways a snapshot file goes bad."""
    rng = random.Random(0)
    cases = {
        "empty": b"",
        "random bytes": bytes(rng.randrange(256) for _ in range(4096)),
        "random text": b"hello, I am not a snapshot\n",
        "header only": content.partition(b"\n")[0] + b"\n",
        "no checksum line": content.rpartition(b"sha256")[0],
        "last byte cut": content[:-1],
        "other format version": content.replace(b"snapshot 1", b"snapshot 9", 1),
    }
    for fraction in (0.1, 0.5, 0.9, 0.99):
        cases[f"truncated at {fraction:.0%}"] = content[: int(len(content) * fraction)]
    places = {"header": 5, "start": 30, "middle": len(content) // 2, "checksum": -20}
    for place, position in places.items():
        flipped = bytearray(content)
        flipped[position] ^= 0x01
        cases[f"bit flipped in the {place}"] = bytes(flipped)
    return cases


@pytest.mark.parametrize("case", list(_damaged(b"x" * 200)))
def test_damaged_snapshot_is_refused_and_nothing_changes(tmp_path, case):
    store = busy_store()
    good = tmp_path / "good"
    store.snapshot(good)
    content = good.read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(_damaged(content)[case])
    before = everything(store)
    sim = Simulation()
    with pytest.raises(SnapshotError) as err:
        Store.restore(bad, sim)
    message = str(err.value)
    assert "bad" in message and len(message) > 20
    assert everything(store) == before  # the live store is untouched
    assert sim.records == [] and sim.env.now == 0  # and nothing was restored into the new sim
    assert bad.read_bytes() == _damaged(content)[case]  # the file is not "repaired"
    assert good.read_bytes() == content


def test_messages_say_what_is_wrong(tmp_path):
    store = busy_store()
    path = tmp_path / "s"
    store.snapshot(path)
    content = path.read_bytes()
    checks = {
        b"": "is empty",
        b"PK\x03\x04 zip file": "is not a kubelearn etcd snapshot",
        content[: len(content) // 2]: "truncated",
        content.replace(b'"revision"', b'"revisioN"', 1): "corrupted",
    }
    for data, words in checks.items():
        path.write_bytes(data)
        with pytest.raises(SnapshotError, match=words):
            Store.restore(path, Simulation())


def _with_checksum(body: dict) -> bytes:
    """A well-formed file around ``body``, checksum and all (to test content checks)."""
    head = b"kubelearn-etcd-snapshot 1\n" + json.dumps(body).encode() + b"\n"
    return head + b"sha256 " + hashlib.sha256(head).hexdigest().encode() + b"\n"


@pytest.mark.parametrize("body", [
    {"revision": 3},
    {"revision": "3", "compact_revision": 0, "leases": [], "kvs": []},
    {"revision": 3, "compact_revision": 0, "leases": [], "kvs": [["/a", "!!", 2, 2, 1, 0]]},
    {"revision": 3, "compact_revision": 0, "leases": [], "kvs": [["/a", "", 2, 2]]},
    {"revision": 3, "compact_revision": 0, "leases": [],
     "kvs": [["/a", "", 2, 3, 1, 0], ["/a", "", 2, 2, 2, 0]]},
    {"revision": 2, "compact_revision": 0, "leases": [], "kvs": [["/a", "", 3, 3, 1, 0]]},
    {"revision": 2, "compact_revision": 5, "leases": [], "kvs": []},
    {"revision": 2, "compact_revision": 0, "leases": [], "kvs": [["/a", "", 2, 2, 1, 7]]},
    [1, 2, 3],
])
def test_checksummed_but_invalid_content_is_refused(tmp_path, body):
    path = tmp_path / "s"
    path.write_bytes(_with_checksum(body))
    with pytest.raises(SnapshotError, match="invalid content"):
        Store.restore(path, Simulation())


def test_missing_file(tmp_path):
    with pytest.raises(SnapshotError, match="cannot read snapshot"):
        Store.restore(tmp_path / "nope", Simulation())


# -- hostile content behind a valid checksum: refused whole, before anything is restored -------

def _body(kvs: list, leases: list | None = None) -> dict:
    return {"revision": 3, "compact_revision": 0, "leases": leases or [], "kvs": kvs}


def _refused(tmp_path, content: bytes) -> str:
    """Restore ``content``; it must be a SnapshotError and leave the new sim untouched."""
    path = tmp_path / "s"
    path.write_bytes(content)
    sim = Simulation()
    with pytest.raises(SnapshotError) as err:
        Store.restore(path, sim)
    assert sim.records == [] and sim.env.now == 0
    assert sim.env.peek() == float("inf")  # no lease countdown (or anything) was started
    return str(err.value)


@pytest.mark.parametrize("depth", [4, 50, 100_000])
def test_deep_nesting_is_refused_without_recursing(tmp_path, depth):
    deep = "[" * depth + "]" * depth
    head = (b'kubelearn-etcd-snapshot 1\n{"revision":3,"compact_revision":0,"leases":' +
            deep.encode() + b',"kvs":[]}\n')
    content = head + b"sha256 " + hashlib.sha256(head).hexdigest().encode() + b"\n"
    message = _refused(tmp_path, content)
    assert "invalid content" in message
    assert "nested more than 3 levels deep" in message


def test_nesting_inside_strings_does_not_count(tmp_path):
    store = Store(Simulation())
    store.put("/[[[[{{{{", '"\\[[[[[[[[[[ {{{{{{{{{{{"')
    store.snapshot(tmp_path / "s")
    restored = Store.restore(tmp_path / "s", Simulation())
    assert restored.get("/[[[[{{{{").value == store.get("/[[[[{{{{").value


@pytest.mark.parametrize("key, words", [
    ("", "key is not provided"),  # etcdserver: key is not provided, as a put says
    ("/registry/\ud800", "is not valid UTF-8"),
])
def test_keys_a_put_would_refuse_are_refused(tmp_path, key, words):
    message = _refused(tmp_path, _with_checksum(_body([["/ok", "", 2, 2, 1, 0],
                                                       [key, "", 3, 3, 1, 0]])))
    assert "invalid content" in message and words in message


def test_a_value_a_put_would_refuse_as_too_large_is_refused(tmp_path):
    value = base64.b64encode(b"x" * (1536 * 1024)).decode()
    message = _refused(tmp_path, _with_checksum(_body([["/big", value, 2, 2, 1, 0]])))
    assert "request is too large" in message


def test_nothing_of_a_refused_snapshot_is_restored(tmp_path):
    """A good lease and a key on an unknown one: refused before the good lease's countdown."""
    message = _refused(tmp_path, _with_checksum(_body([["/a", "", 2, 2, 1, 7]],
                                                      leases=[[5, 30]])))
    assert "unknown lease(s) [7]" in message
