"""The API server on a real etcd: kl.Cluster(etcd=...) and kubelearn.etcd.remote.RemoteStore.

Most tests share one single-member etcd (Debian's etcd-server, found on PATH),
emptied before each test. The API server's storage and watch tests run here
a second time, on the real etcd (see ``BOTH_BACKENDS`` below for which, and
why the few others do not). The quorum test starts a 3-member cluster.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import test_apiserver_storage as storage_tests
import test_apiserver_watch as watch_tests

import kubelearn as kl
from kubelearn.api import StatusError, Timeout
from kubelearn.etcd import (
    CompactedError,
    EtcdError,
    InvalidArgumentError,
    Op,
    Store,
    UnavailableError,
)
from kubelearn.etcd.gateway import Gateway, LocalEtcd, free_port
from kubelearn.etcd.localcluster import LocalEtcdCluster
from kubelearn.etcd.remote import RemoteStore
from kubelearn.sim import Simulation

# CI installs etcd (.ci/run), so there a missing binary is a failure, not a skip.
if os.environ.get("CI") and not LocalEtcd.available():
    raise RuntimeError("CI must run the API server on a real etcd, but no etcd binary is on PATH")

pytestmark = [
    pytest.mark.etcd,
    pytest.mark.skipif(not LocalEtcd.available(),
                       reason="no etcd binary on PATH (apt-get install etcd-server)"),
]


@pytest.fixture(scope="module")
def real() -> Iterator[LocalEtcd]:
    """One real etcd for the whole module."""
    with LocalEtcd() as etcd:
        yield etcd


@pytest.fixture
def etcd_url(real: LocalEtcd) -> str:
    """The shared etcd, emptied: no keys, no leases (revisions keep counting up)."""
    client = real.client
    assert client is not None
    client.delete("\0", "\0")
    for lease in client.leases():
        client.revoke(lease.id)
    return real.url


@pytest.fixture
def cluster(etcd_url: str) -> Iterator[kl.Cluster]:
    """What the storage and watch tests' own ``cluster`` fixture gives, on the real etcd."""
    c = kl.Cluster(seed=0, etcd=etcd_url, controllers=watch_tests.QUIET_CONFIGMAPS)
    yield c
    c.etcd.close()


# The API server's storage and watch tests, run as they are on the real etcd (the
# `cluster` fixture above replaces theirs). Left out: the one that waits out an Event's
# 1 h lease in virtual time (a real etcd's lease counts real seconds: see
# test_leases_count_real_seconds below) and the ones that make no cluster of their own.
BOTH_BACKENDS = [
    *(getattr(storage_tests, name) for name in dir(storage_tests) if name.startswith("test_")
      and name not in ("test_events_live_on_an_etcd_lease", "test_same_seed_same_uids_and_names",
                       "test_decode_shared_equals_decode_and_shares_strings_and_small_objects")),
    *(getattr(watch_tests, name) for name in dir(watch_tests) if name.startswith("test_")),
]
for _test in BOTH_BACKENDS:
    globals()[f"{_test.__name__}_on_real_etcd"] = _test
del _test


def deployment(name: str = "web", replicas: int = 2) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}


def configmap(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
            "data": {"k": "v"}}


def contents(store) -> list[tuple]:
    """Every key under /registry/ with its revisions, version and value (lease ids differ)."""
    return [(kv.key, kv.create_revision, kv.mod_revision, kv.version, kv.value)
            for kv in store.range("/registry/", prefix=True).kvs]


def test_objects_land_under_the_upstream_keys_in_real_etcd(etcd_url):
    cluster = kl.Cluster(seed=0, nodes=1, etcd=etcd_url)
    cluster.apply(deployment())
    cluster.run(30)
    pods = cluster.admin.list("pods", "default")["items"]
    assert len(pods) == 2 and all(p["status"]["phase"] == "Running" for p in pods)
    # what `etcdctl get /registry/pods/default/<name>` shows: the JSON, no resourceVersion
    kv = Gateway(etcd_url).get(f"/registry/pods/default/{pods[0]['metadata']['name']}")
    stored = json.loads(kv.value)
    assert stored["metadata"]["uid"] == pods[0]["metadata"]["uid"]
    assert "resourceVersion" not in stored["metadata"]
    assert str(kv.mod_revision) == pods[0]["metadata"]["resourceVersion"]
    assert Gateway(etcd_url).get("/registry/minions/node-1") is not None


def test_same_seed_same_history_on_both_backends():
    """Byte for byte and revision for revision: a fresh etcd starts at revision 1 as ours."""
    def scenario(etcd: str | None = None) -> tuple[list, int]:
        c = kl.Cluster(seed=3, nodes=2, etcd=etcd)
        c.apply(deployment(replicas=3))
        c.run(40)
        c.admin.patch("deployments", "web", {"spec": {"replicas": 1}})
        c.run(40)
        return contents(c.etcd), c.etcd.revision

    with LocalEtcd() as fresh:
        assert scenario(fresh.url) == scenario()


def test_a_write_by_someone_else_reaches_watchers_at_the_next_call(cluster, etcd_url):
    stream = cluster.admin.watch("configmaps", "default")
    outside = cluster.admin.create(configmap("mine"))
    obj = {**configmap("theirs"), "metadata": {"name": "theirs", "namespace": "default",
                                               "uid": "0000", "creationTimestamp": None}}
    Gateway(etcd_url).put("/registry/configmaps/default/theirs", json.dumps(obj))  # etcdctl put
    assert [e["object"]["metadata"]["name"] for e in stream.drain()] == ["mine"]
    cluster.admin.get("configmaps", "mine")  # any call: etcd's header says what happened since
    events = stream.drain()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "theirs")]
    assert int(events[0]["object"]["metadata"]["resourceVersion"]) == \
        int(outside["metadata"]["resourceVersion"]) + 1


def test_the_compactor_compacts_the_real_etcd(etcd_url):
    cluster = kl.Cluster(seed=0, etcd=etcd_url)
    old = cluster.admin.create(configmap("a"))["metadata"]["resourceVersion"]
    cluster.admin.patch("configmaps", "a", {"data": {"k": "2"}})
    cluster.run(601)  # round one records a revision, round two compacts at it
    assert cluster.compactor.compact_revision > int(old)
    assert cluster.etcd.compact_revision == cluster.compactor.compact_revision
    with pytest.raises(StatusError) as err:
        cluster.admin.list("configmaps", resource_version=old, limit=1)
    assert err.value.code == 410
    stream = cluster.admin.watch("configmaps", resource_version=old)
    assert [e["type"] for e in stream.drain()] == ["ERROR"]


def test_leases_count_real_seconds(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "web.1"},
                          "involvedObject": {"kind": "Pod", "name": "web",
                                             "namespace": "default"}})
    kv = cluster.etcd.get("/registry/events/default/web.1")
    assert cluster.etcd.time_to_live(kv.lease).granted_ttl == 3660  # --event-ttl 1h + 60s
    cluster.run(3661)  # an hour of virtual time, a fraction of a real second
    # The embedded store's lease would have ended (test_apiserver_storage); etcd's has not.
    assert [e["metadata"]["name"] for e in cluster.admin.list("events", "default")["items"]] \
        == ["web.1"]
    assert cluster.etcd.time_to_live(kv.lease).ttl > 3600


def test_an_etcd_that_does_not_answer_fails_fast_with_a_clear_message():
    refused = f"http://127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(UnavailableError, match=r"no etcd endpoint answers .*make etcd"):
        kl.Cluster(etcd=[refused])
    assert time.monotonic() - start < 2
    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(UnavailableError, match=f"etcd at {url} did not answer"):
            kl.Cluster(etcd=url)
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("bad", ["127.0.0.1:2379", "https://127.0.0.1:2379", [], [2379]])
def test_a_malformed_endpoint_is_a_clear_error(bad):
    with pytest.raises(InvalidArgumentError, match="http://"):
        kl.Cluster(etcd=bad)


def test_an_etcd_holding_objects_is_refused(cluster, etcd_url):
    with pytest.raises(EtcdError, match=r"already holds \d+ key\(s\) under /registry/"):
        kl.Cluster(etcd=etcd_url)


def test_etcd_going_away_is_a_504_and_the_cluster_recovers_when_it_returns():
    with LocalEtcdCluster(1) as etcd:
        cluster = kl.Cluster(seed=0, nodes=1, etcd=etcd.endpoints)
        cluster.apply(deployment(replicas=1))
        cluster.run(20)
        pods = cluster.admin.watch("pods", "default", resource_version="")
        pods.drain()
        etcd.stop_member(0)
        with pytest.raises(Timeout) as err:
            cluster.admin.create(configmap("while-down"))
        assert err.value.status == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "Timeout: request did not complete within requested timeout - "
                       "context deadline exceeded", "reason": "Timeout", "code": 504}
        cluster.run(30)  # every component's calls fail meanwhile: recorded, no traceback
        failed = cluster.events("kube-apiserver")
        assert (failed["reason"] == "EtcdRequestFailed").any()
        etcd.start_member(0)
        cluster.admin.create(configmap("after"))
        cluster.admin.delete("pods", cluster.admin.list("pods", "default")["items"][0]
                             ["metadata"]["name"], grace_period_seconds=0)
        cluster.run(20)  # the watch stream reopened where it stopped: the ReplicaSet sees it
        assert [e["type"] for e in pods.drain()][:2] == ["MODIFIED", "DELETED"]
        assert len(cluster.admin.list("pods", "default")["items"]) == 1
        cluster.etcd.close()


def test_a_three_member_cluster_keeps_writing_with_one_down_and_stops_with_two():
    with LocalEtcdCluster(3) as etcd:
        cluster = kl.Cluster(seed=0, etcd=etcd.endpoints)
        etcd.stop_member(0)  # the member the API server talks to: it moves to the next
        cluster.admin.create(configmap("two-of-three"))
        assert cluster.etcd.endpoint == etcd.endpoints[1]
        etcd.stop_member(1)  # one of three left: no majority, nothing commits
        with pytest.raises(StatusError) as err:
            cluster.admin.create(configmap("one-of-three"))
        # kube-apiserver passes etcd's error on as a 500 with an empty reason
        assert err.value.status == {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "etcdserver: request timed out", "code": 500}
        etcd.start_member(0)
        cluster.admin.create(configmap("majority-again"))
        names = {c["metadata"]["name"] for c in cluster.admin.list("configmaps")["items"]}
        # the timed-out write may have committed once the majority was back: a timeout
        # does not say "not written"
        assert {"two-of-three", "majority-again"} <= names
        cluster.etcd.close()


def test_remote_watches_replay_and_deliver_as_the_embedded_store_does():
    """Past events from a start revision, live ones after each write, compaction refused."""
    def history(store) -> tuple[list, list, list]:
        store.put("/a/1", "x")
        store.put("/a/2", "y")
        store.put("/b/1", "z")
        store.delete("/a/1")
        past = store.watch("/a/", prefix=True, start_revision=2, prev_kv=True)
        seen: list = []
        live = store.watch("/a", "/b", callback=seen.append, keep=False)
        store.put("/a/2", "y2")
        store.txn([], [Op.put("/a/3", "w"), Op.delete("/a/2")])
        assert live.events == []  # keep=False: only the callback saw them
        return past.events, seen, store.range("/a/", prefix=True).kvs

    with LocalEtcd() as fresh:  # a fresh etcd starts at revision 1, as ours
        remote = RemoteStore(Simulation(), fresh.url)
        assert history(remote) == history(Store(Simulation()))
        remote.compact(remote.revision - 1)
        with pytest.raises(CompactedError):
            remote.watch("/a/", prefix=True, start_revision=2)
        remote.close()


# -- what the embedded store has, through the v3 API --------------------------------------------

ETCDCTL = shutil.which("etcdctl")
if os.environ.get("CI") and ETCDCTL is None:  # .ci/run installs etcd-client
    raise RuntimeError("CI must run etcdctl against the real etcd, but it is not on PATH")
needs_etcdctl = pytest.mark.skipif(ETCDCTL is None,
                                   reason="no etcdctl on PATH (apt-get install etcd-client)")


def etcdctl(url: str, *args: str) -> str:
    """Run etcdctl (v3 API) against ``url``; its output."""
    return subprocess.run([ETCDCTL, f"--endpoints={url}", *args], check=True, text=True,
                          capture_output=True, env={**os.environ, "ETCDCTL_API": "3"},
                          timeout=30).stdout


def test_history_through_the_v3_api_matches_the_embedded_store():
    def steps(store) -> list[list]:
        store.put("/h/a", "1")
        store.put("/h/b", "x")
        store.put("/h/a", "2")
        store.delete("/h/a")
        store.put("/h/a", "3")
        seen = [store.history("/h/a"), store.history("/h/none")]
        store.compact(4)  # keeps the version current at 4 (a=2), drops a=1
        seen.append(store.history("/h/a"))
        store.compact(5)  # the tombstone at 5 goes too
        seen.append(store.history("/h/a"))
        return seen

    with LocalEtcd() as fresh:  # a fresh etcd starts at revision 1, as ours
        remote = RemoteStore(Simulation(), fresh.url)
        try:
            assert steps(remote) == steps(Store(Simulation()))
        finally:
            remote.close()


@needs_etcdctl
def test_a_snapshot_through_the_v3_api_is_the_file_etcdctl_saves(etcd_url, tmp_path):
    remote = RemoteStore(Simulation(), etcd_url)
    try:
        remote.put("/registry/configmaps/default/a", "1")
        revision = remote.revision
        size = remote.snapshot(tmp_path / "etcd.db")
    finally:
        remote.close()
    assert size == (tmp_path / "etcd.db").stat().st_size > 0
    status = json.loads(etcdctl(etcd_url, "snapshot", "status", str(tmp_path / "etcd.db"),
                                "-w", "json"))
    assert status["revision"] == revision  # etcdctl checked its SHA-256 to read it
    etcdctl(etcd_url, "snapshot", "save", str(tmp_path / "etcdctl.db"))
    assert (tmp_path / "etcdctl.db").read_bytes() == (tmp_path / "etcd.db").read_bytes()


def test_restoring_a_snapshot_into_a_running_etcd_is_a_clear_error(tmp_path):
    with pytest.raises(EtcdError, match=r"etcd's API has no restore call.*etcdctl snapshot "
                                        r"restore"):
        RemoteStore.restore(tmp_path / "etcd.db", Simulation())


@needs_etcdctl
def test_etcdctl_shows_what_the_api_server_stored(etcd_url):
    cluster = kl.Cluster(seed=0, etcd=etcd_url)
    try:
        created = cluster.admin.create({"apiVersion": "v1", "kind": "Pod",
                                        "metadata": {"name": "web-0"},
                                        "spec": {"containers": [{"name": "web",
                                                                 "image": "nginx:1.27"}]}})
        value = etcdctl(etcd_url, "get", "/registry/pods/default/web-0", "--print-value-only")
        stored = json.loads(value)
        assert stored["metadata"]["uid"] == created["metadata"]["uid"]
        assert stored["spec"]["containers"][0]["image"] == "nginx:1.27"
        keys = etcdctl(etcd_url, "get", "/registry/namespaces/", "--prefix", "--keys-only")
        assert "/registry/namespaces/default" in keys.split()
    finally:
        cluster.etcd.close()


def test_the_cluster_is_torn_down_at_once_as_lesson_02_leaves_it():
    """Lesson 02 stops two members, restarts one, then tears the cluster down: killed, not
    asked, since asked a leader may first wait 5 s to hand over to a member just gone."""
    etcd = LocalEtcdCluster(3).start()
    processes = [m.process for m in etcd.members]
    etcd.stop_member(0)
    etcd.stop_member(1)
    etcd.start_member(0)
    processes.append(etcd.members[0].process)
    sent = time.monotonic()
    etcd.stop()
    assert time.monotonic() - sent < 2
    assert [p.returncode for p in processes[2:]] == [-9, -9]  # SIGKILL
    assert etcd.members == [] and etcd.log() == ""


def test_without_a_majority_a_short_request_timeout_ends_reads_and_writes():
    """kl.Cluster(request_timeout=2), kube-apiserver's --request-timeout: under etcd's 7 s."""
    with LocalEtcdCluster(3) as etcd:
        cluster = kl.Cluster(seed=0, etcd=etcd.endpoints, request_timeout=2)
        cluster.admin.create(configmap("before"))
        etcd.stop_member(1)
        etcd.stop_member(2)
        sent = time.monotonic()
        with pytest.raises(Timeout) as err:  # etcd's 7 s come later than the 2 s deadline
            cluster.admin.create(configmap("during"))
        assert 1.9 < time.monotonic() - sent < 4
        assert err.value.status["message"] == ("Timeout: request did not complete within "
                                               "requested timeout - context deadline exceeded")
        sent = time.monotonic()
        with pytest.raises(Timeout) as err:
            cluster.admin.get("configmaps", "before")
        assert 1.9 < time.monotonic() - sent < 4
        assert err.value.status == {
            "metadata": {}, "status": "Failure",
            "message": "Timeout: request did not complete within the allotted timeout",
            "reason": "Timeout", "details": {}, "code": 504}
        etcd.start_member(1)
        assert cluster.admin.get("configmaps", "before")["metadata"]["name"] == "before"
        cluster.etcd.close()


def test_a_read_is_retried_while_etcd_answers_request_timed_out():
    with LocalEtcdCluster(3) as etcd:
        remote = RemoteStore(Simulation(), etcd.endpoints[0], timeout=9)
        remote.put("/a", "1")
        etcd.stop_member(1)
        etcd.stop_member(2)
        sent = time.monotonic()
        with pytest.raises(UnavailableError, match="^context deadline exceeded: "):
            remote.get("/a")  # "request timed out" after 7 s; a second try, cut off at 9 s
        assert 8.9 < time.monotonic() - sent < 11
        remote.close()
