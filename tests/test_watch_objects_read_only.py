"""Nobody changes an object a watch sent: they are shared (decode_shared), so it must hold.

Objects the watch cache sends are shared by every watcher, and their small parts
(a toleration, a condition, labels) by every object that has an equal one. A
component that changed one in place would change it for everybody. Here every
dict the cache decodes refuses changes, and a cluster goes through a rollout,
scaling, a Service under traffic, preemption and a node failure: any in-place
change is a TypeError that surfaces as a SyncPanicked / HandlerPanicked record or
an exception.
"""

from __future__ import annotations

import copy

import pytest

import kubelearn as kl
from kubelearn.apiserver import storage, watch


class ReadOnlyDict(dict):
    """A dict that refuses every change; copies of it are plain dicts."""

    def _refuse(self, *args, **kwargs):
        raise TypeError(f"an object sent by a watch was changed in place: {dict(self)!r}"[:300])

    __setitem__ = __delitem__ = __ior__ = _refuse
    update = pop = popitem = clear = _refuse

    def setdefault(self, key, default=None):
        if key in self:
            return self[key]
        return self._refuse()

    def __copy__(self):
        return dict(self)

    def __deepcopy__(self, memo):
        return {copy.deepcopy(k, memo): copy.deepcopy(v, memo) for k, v in self.items()}

    def copy(self):
        return dict(self)


def freeze(value):
    """``value`` with every dict in it read-only."""
    if isinstance(value, dict):
        return ReadOnlyDict({k: freeze(v) for k, v in value.items()})
    if isinstance(value, list):
        return [freeze(v) for v in value]
    return value


def frozen_decode(kv, previous=None, written=None):
    return freeze(storage.decode_shared(kv, previous, written))


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 6
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
        resources: {requests: {cpu: 500m}}
        readinessProbe: {httpGet: {path: /, port: 80}, periodSeconds: 5}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: urgent}
value: 1000
"""


def test_no_component_changes_a_watched_object(monkeypatch):
    monkeypatch.setattr(watch, "decode_shared", frozen_decode)
    cluster = kl.Cluster(seed=3, nodes=3, node_cpu="2")
    cluster.apply(DEPLOYMENT)
    cluster.run(40)
    traffic = cluster.traffic(to="web", rate=20)
    cluster.admin.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:1.28"}]}}}}, patch_type="strategic")
    cluster.run(60)
    cluster.admin.scale("deployments", "web", 9)
    cluster.run(30)
    cluster.admin.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "urgent"},
                          "spec": {"priorityClassName": "urgent", "containers": [{
                              "name": "app", "image": "nginx:1.27",
                              "resources": {"requests": {"cpu": "1500m"}}}]}})
    cluster.run(30)
    cluster.stop_node("node-2")
    cluster.run(420)
    cluster.admin.delete("deployments", "web")
    cluster.run(60)
    records = cluster.sim.records
    panics = [r for r in records if r.reason in ("SyncPanicked", "HandlerPanicked")]
    assert panics == []
    assert traffic.requests() is not None
    evicted = [r for r in records if r.reason == "TaintManagerEviction"]
    preempted = [r for r in records if r.reason == "Preempted"]
    assert evicted and preempted  # the scenario went where it should
    with pytest.raises(TypeError):  # and the guard guards
        freeze({"a": {"b": "c"}})["a"]["b"] = "d"
