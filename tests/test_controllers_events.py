"""A controller's events go through the one recorder every component shares (its correlator too)."""

from __future__ import annotations

import kubelearn as kl
from kubelearn.controllers.events import WARNING, EventRecorder


def test_the_same_controller_event_twice_is_one_event_with_count_2():
    cluster = kl.Cluster(seed=0, scheduler=False, controllers=())
    rs = cluster.admin.create({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
        "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}},
        "default")
    recorder = EventRecorder(cluster.sim, cluster.admin, "replicaset-controller")
    recorder.event(rs, WARNING, "FailedCreate", "Error creating: quota exceeded")
    cluster.run(30)
    recorder.event(rs, WARNING, "FailedCreate", "Error creating: quota exceeded")
    events = cluster.admin.list("events", "default")["items"]
    assert len(events) == 1
    event = events[0]
    assert event["count"] == 2
    assert event["firstTimestamp"] != event["lastTimestamp"]
    assert event["source"] == {"component": "replicaset-controller"}  # no host, as upstream
    assert event["involvedObject"]["uid"] == rs["metadata"]["uid"]
    records = cluster.events("replicaset-controller")
    assert list(records["object"]) == ["replicaset/default/web"] * 2
