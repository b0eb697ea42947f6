"""Watch: initial events, replay, 410 on compacted starts, selectors, the node index, bookmarks."""

import pytest

import kubelearn as kl
from kubelearn.api import Timeout

# Watches of ConfigMaps see only the tests' own: the root CA publisher, which writes one into
# every namespace at second 0, is left out.
QUIET_CONFIGMAPS = ("*", "-root-ca-cert-publisher")


@pytest.fixture
def cluster():
    return kl.Cluster(seed=0, compaction_interval=0, controllers=QUIET_CONFIGMAPS)


def cm(name, labels=None, data="v"):
    meta = {"name": name}
    if labels is not None:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"k": data}}


def pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "c", "image": "nginx:1.25"}]}}


def kinds(stream):
    return [(e["type"], e["object"]["metadata"].get("name")) for e in stream.drain()]


def test_a_watch_without_resource_version_starts_with_the_current_objects(cluster):
    cluster.admin.create(cm("a"))
    cluster.admin.create(cm("b"))
    stream = cluster.admin.watch("configmaps", "default")
    cluster.admin.patch("configmaps", "a", {"data": {"k": "2"}})
    cluster.admin.delete("configmaps", "b")
    cluster.admin.create(cm("c"))
    events = stream.drain()
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"), ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b"), ("ADDED", "c")]
    deleted = events[3]["object"]
    # a DELETED event carries the last state, stamped with the deleting revision
    assert deleted["data"] == {"k": "v"}
    assert int(deleted["metadata"]["resourceVersion"]) > int(events[2]["object"]["metadata"][
        "resourceVersion"])
    revisions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events[2:]]
    assert revisions == sorted(revisions)


def test_a_watch_from_a_resource_version_replays_what_came_after(cluster):
    start = cluster.admin.create(cm("a"))["metadata"]["resourceVersion"]
    cluster.admin.patch("configmaps", "a", {"data": {"k": "2"}})
    cluster.admin.create(cm("b"))
    stream = cluster.admin.watch("configmaps", resource_version=start)
    assert kinds(stream) == [("MODIFIED", "a"), ("ADDED", "b")]
    now = cluster.admin.watch("configmaps", resource_version=str(cluster.etcd.revision))
    assert kinds(now) == []


def test_a_compacted_resource_version_is_an_error_event_410(cluster):
    old = cluster.admin.create(cm("a"))["metadata"]["resourceVersion"]
    for i in range(3):
        cluster.admin.patch("configmaps", "a", {"data": {"k": str(i)}})
    cluster.etcd.compact(cluster.etcd.revision)
    stream = cluster.admin.watch("configmaps", resource_version=old)
    events = stream.drain()
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert status["kind"] == "Status" and status["code"] == 410 and status["reason"] == "Expired"
    assert status["message"] == f"too old resource version: {old} ({cluster.etcd.revision - 1})"
    assert stream.stopped


def test_a_resource_version_from_the_future_is_a_timeout(cluster):
    with pytest.raises(Timeout):
        cluster.admin.watch("configmaps", resource_version=str(cluster.etcd.revision + 5))


def test_label_selectors_turn_leaving_into_deleted_and_entering_into_added(cluster):
    cluster.admin.create(cm("a", {"app": "web"}))
    stream = cluster.admin.watch("configmaps", label_selector="app=web")
    cluster.admin.create(cm("b", {"app": "db"}))
    cluster.admin.patch("configmaps", "a", {"metadata": {"labels": {"app": "db"}}})
    cluster.admin.patch("configmaps", "b", {"metadata": {"labels": {"app": "web"}}})
    cluster.admin.patch("configmaps", "b", {"data": {"k": "2"}})
    assert kinds(stream) == [("ADDED", "a"), ("DELETED", "a"), ("ADDED", "b"), ("MODIFIED", "b")]


def test_kubelets_only_see_the_pods_bound_to_their_node(cluster):
    node_1 = cluster.admin.watch("pods", field_selector="spec.nodeName=node-1")
    node_2 = cluster.admin.watch("pods", field_selector={"spec.nodeName": "node-2"})
    everything = cluster.admin.watch("pods")
    cluster.admin.create(pod("web"))
    cluster.admin.bind("web", "node-1")
    cluster.admin.delete("pods", "web")
    assert kinds(node_1) == [("ADDED", "web"), ("MODIFIED", "web")]
    assert kinds(node_2) == []
    assert kinds(everything) == [("ADDED", "web"), ("MODIFIED", "web"), ("MODIFIED", "web")]
    # the node index: each kubelet's watcher sits in its own bucket
    buckets = cluster.api.watch_cache._by_resource["pods"].buckets
    assert (None, None, "node-1") in buckets and (None, None, "node-2") in buckets


def test_a_watch_of_one_object_by_name_is_offered_only_that_objects_events(cluster):
    """The cacher's namespacedName scopes: kube-proxy watches its own Node (metadata.name)."""
    mine = cluster.admin.watch("configmaps", field_selector="metadata.name=a")
    also = cluster.admin.watch("configmaps", "default", field_selector={"metadata.name": "a"})
    cluster.admin.create(cm("a", {"app": "web"}))
    cluster.admin.create(cm("b", {"app": "web"}))
    cluster.admin.patch("configmaps", "b", {"data": {"k": "2"}})
    cluster.admin.delete("configmaps", "a")
    assert kinds(mine) == kinds(also) == [("ADDED", "a"), ("DELETED", "a")]
    buckets = cluster.api.watch_cache._by_resource["configmaps"].buckets
    assert (None, "a", None) in buckets and ("default", "a", None) in buckets
    # b's changes were offered to neither: no watcher under a name-"b" or unscoped bucket
    assert not any(scope[1] == "b" for scope in buckets)


def test_a_new_kubelet_watch_lists_its_node_from_the_index(cluster):
    for i in range(4):
        cluster.admin.create(pod(f"p{i}"))
        cluster.admin.bind(f"p{i}", f"node-{i % 2}")
    stream = cluster.admin.watch("pods", field_selector="spec.nodeName=node-1")
    assert kinds(stream) == [("ADDED", "p1"), ("ADDED", "p3")]
    listed = cluster.admin.list("pods", field_selector="spec.nodeName=node-0")
    assert [p["metadata"]["name"] for p in listed["items"]] == ["p0", "p2"]


def test_each_change_is_decoded_once_and_shared(cluster):
    first, second = (cluster.admin.watch("configmaps", "default") for _ in range(2))
    cluster.admin.create(cm("a"))
    assert first.drain()[0]["object"] is second.drain()[0]["object"]


def test_bookmarks_every_minute_only_when_asked(cluster):
    with_bookmarks = cluster.admin.watch("configmaps", "default", allow_bookmarks=True)
    without = cluster.admin.watch("configmaps", "default")
    cluster.run(59)
    # v1.32 defaults a watch from "" to a watch-list (SetListOptionsDefaults, WatchList on):
    # its initial events (none here) end with the annotated bookmark, then nothing till 60s
    assert [e["object"]["metadata"].get("annotations") for e in with_bookmarks.drain()] == [
        {"k8s.io/initial-events-end": "true"}]
    cluster.admin.create(cm("a"))
    cluster.run(2)  # the first bookmark is due 60s after the watch started
    events = with_bookmarks.drain()
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    # The bookmark carries etcd's revision as it went out at t=60; since then only the API
    # server's master lease (renewed every 10s) was written.
    rv = events[1]["object"]["metadata"]["resourceVersion"]
    assert events[1]["object"] == {"kind": "ConfigMap", "apiVersion": "v1",
                                   "metadata": {"resourceVersion": rv}}
    later = {kv.key for kv in cluster.etcd.range("/", prefix=True).kvs
             if kv.mod_revision > int(rv)}
    assert later <= {"/registry/masterleases/172.18.0.2"}
    cluster.run(120)
    assert [e["type"] for e in with_bookmarks.drain()] == ["BOOKMARK", "BOOKMARK"]
    assert [e["type"] for e in without.drain()] == ["ADDED"]


def test_send_initial_events_ends_with_an_annotated_bookmark(cluster):
    cluster.admin.create(cm("a"))
    stream = cluster.admin.watch("configmaps", "default", allow_bookmarks=True,
                                 send_initial_events=True, resource_version="")
    events = stream.drain()
    assert [e["type"] for e in events] == ["ADDED", "BOOKMARK"]
    assert events[1]["object"]["metadata"]["annotations"] == {
        "k8s.io/initial-events-end": "true"}


def test_callbacks_get_queued_events_first_then_live_ones(cluster):
    cluster.admin.create(cm("a"))
    stream = cluster.admin.watch("configmaps", "default")
    seen = []
    stream.on_event(lambda e: seen.append((e["type"], e["object"]["metadata"]["name"])))
    cluster.admin.create(cm("b"))
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    stream.stop()
    cluster.admin.create(cm("c"))
    assert seen == [("ADDED", "a"), ("ADDED", "b")]
    assert stream.stopped


def test_a_simpy_process_reads_a_stream_with_get(cluster):
    stream = cluster.admin.watch("configmaps", "default")
    got = []

    def reader():
        while True:
            event = yield stream.get()
            if event is None:
                return
            got.append((cluster.now, event["type"], event["object"]["metadata"]["name"]))

    cluster.sim.process(reader())
    cluster.sim.call_later(5, lambda: cluster.admin.create(cm("a")))
    cluster.sim.call_later(7, stream.stop)
    cluster.run(10)
    assert got == [(5.0, "ADDED", "a")]


def test_timeout_seconds_ends_the_watch(cluster):
    stream = cluster.admin.watch("configmaps", timeout_seconds=30)
    stopped = []
    stream.on_stop(lambda: stopped.append(cluster.now))
    cluster.run(31)
    assert stream.stopped and stopped == [30.0]


def test_namespaces_scope_a_watch(cluster):
    cluster.admin.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "dev"}})
    stream = cluster.admin.watch("configmaps", "dev")
    cluster.admin.create(cm("in-default"))
    cluster.admin.create({**cm("in-dev"), "metadata": {"name": "in-dev", "namespace": "dev"}})
    assert kinds(stream) == [("ADDED", "in-dev")]
