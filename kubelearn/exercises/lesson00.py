"""Lesson 00 (the tour)'s exercises.

- ``00.1``: how many requests the scheduler sent to bind pods to nodes (a
  number the lesson does not print: the learner reads it off the audit log);
- ``00.2``: the learner's cluster, with ``web`` scaled to :data:`REPLICAS_00_2`
  and its EndpointSlice listing that many ready endpoints.

Both read the answer off a cluster: 00.1 off the audit log of a cluster run as
the lesson runs it, 00.2 off the learner's own cluster, through etcd (so
checking sends the API server no request).
"""

from __future__ import annotations

import functools
import json
from typing import Any

from kubelearn.exercises import CORRECT, exercise

# The lesson's compose file: a web server and its cache, as docker's own samples write them.
COMPOSE = """
services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
    depends_on:
      - redis
    deploy:
      replicas: 2
  redis:
    image: redis:7
    expose:
      - "6379"
"""

# -- 00.1: how many binding requests the scheduler sent -------------------------------------------

SCHEDULER_USER = "system:kube-scheduler"  # the scheduler's identity (kubelearn.apiserver.authn)
BINDING = "pods/binding"  # the subresource a scheduler binds through: POST .../pods/<name>/binding


def _scheduler_requests(cluster: Any) -> tuple[int, int]:
    """(every request, binding requests) the scheduler sent, from the audit log."""
    rows = [row for row in cluster.api.audit_log.records if row.user == SCHEDULER_USER]
    binds = sum(1 for row in rows if row.verb == "create" and row.resource == BINDING)
    return len(rows), binds


@functools.cache
def _lesson_counts() -> tuple[int, int, int]:
    """(scheduler requests, its bindings, pods) in a cluster running :data:`COMPOSE` as the
    lesson does: 30 s, then 2 s of traffic."""
    from kubelearn.cluster import Cluster
    from kubelearn.compose import convert

    cluster = Cluster(seed=0, nodes=3)
    cluster.apply(convert(COMPOSE))
    cluster.run(30)
    traffic = cluster.traffic(to="web", rate=10)
    cluster.run(2)
    traffic.stop()
    pods = len(cluster.etcd.range("/registry/pods/", prefix=True).kvs)
    return (*_scheduler_requests(cluster), pods)


@exercise("00.1")
def _check_bindings(answer: Any) -> str:
    if answer is None:
        return "Write your answer in answer_1 first: a number of requests, like 7."
    if isinstance(answer, bool) or not isinstance(answer, int):
        return f"Give a whole number of requests, like 7, not {answer!r}."
    every, binds, pods = _lesson_counts()
    if answer == binds:
        return CORRECT
    if answer == every:
        return ("Not yet: that is every request the scheduler sent -- lists, watches and "
                "Events too. Which of them bound a pod to a node? Look at the verb and the "
                "resource of its rows in cluster.api.audit().")
    if answer == every - binds or answer < 0:
        return ("Not yet. Filter cluster.api.audit() to the scheduler's user "
                f"({SCHEDULER_USER!r}) and look at the resource column: binding is a "
                "subresource of a pod.")
    if 0 < answer < binds:
        return ("Nearly: the scheduler placed more pods than that. Did you count only web's? "
                "Every pod the cluster ran went through it.")
    return ("Not yet. Filter cluster.api.audit() to the scheduler's user "
            f"({SCHEDULER_USER!r}): one kind of request there binds a pod to a node. How "
            "many are there?")


# -- 00.2: scale web to three --------------------------------------------------------------------

REPLICAS_00_2 = 3
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # discovery/v1 LabelServiceName


def _stored(cluster: Any, resource: str, namespace: str, name: str) -> dict | None:
    kv = cluster.etcd.get(f"/registry/{resource}/{namespace}/{name}")
    return None if kv is None else json.loads(kv.value)


def _ready_endpoints(cluster: Any, service: str, namespace: str = "default") -> tuple[int, int]:
    """(endpoints, ready endpoints) over the Service's EndpointSlices, read from etcd."""
    total = ready = 0
    for kv in cluster.etcd.range(f"/registry/endpointslices/{namespace}/", prefix=True).kvs:
        eps = json.loads(kv.value)
        if (eps["metadata"].get("labels") or {}).get(SERVICE_NAME_LABEL) != service:
            continue
        for endpoint in eps.get("endpoints") or []:
            total += 1
            ready += (endpoint.get("conditions") or {}).get("ready") is not False
    return total, ready


@exercise("00.2")
def _check_scaled(cluster: Any) -> str:
    from kubelearn.cluster import Cluster

    want = REPLICAS_00_2
    if cluster is None:
        return "Pass your cluster to the check: exercises.check(\"00.2\", cluster)."
    if not isinstance(cluster, Cluster):
        return (f"Pass the cluster itself (the kl.Cluster you made above), not a "
                f"{type(cluster).__name__}.")
    deployment = _stored(cluster, "deployments", "default", "web")
    if deployment is None:
        return ("This cluster has no Deployment web. Apply the converted compose file to it "
                "first: cluster.apply(kl.compose.convert(COMPOSE)).")
    replicas = (deployment.get("spec") or {}).get("replicas")
    if replicas != want:
        return (f"Not yet: the Deployment web asks for {replicas} replicas. Change the number "
                "of replicas it asks for -- kubectl scale does it, and so does a patch of its "
                "spec.")
    if _stored(cluster, "services/specs", "default", "web") is None:
        return "This cluster has no Service web: apply the whole converted compose file."
    total, ready = _ready_endpoints(cluster, "web")
    if ready == want and total == want:
        return CORRECT
    if total < want or ready < want:
        return (f"Nearly: web asks for {want} replicas, but its EndpointSlice lists {total} "
                f"endpoints, {ready} of them ready. Pods take a few seconds to be created, "
                "scheduled, pulled and started -- and time only moves when you run the cluster.")
    return (f"Not yet: web's EndpointSlice lists {total} endpoints, {ready} ready; it should "
            f"list {want}. Are old pods still stopping? Run the cluster a little longer.")
