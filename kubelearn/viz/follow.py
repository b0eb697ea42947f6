"""One Deployment followed through every component, each step read from what was recorded.

``kubectl apply -f web.yaml`` sets off a chain no single component sees whole.
:func:`follow` puts it back together from the cluster's records, in order:

1. the API server's audit row for the request that created the Deployment;
2. the etcd write under ``/registry/deployments/<ns>/<name>`` (its create revision);
3. the watch event the API server sent for it (``ADDED``, with that revision as
   its resourceVersion), and who was watching Deployments (the audit log's watch rows);
4. the Deployment controller making a ReplicaSet (``ScalingReplicaSet``);
5. the ReplicaSet controller creating the pods (``SuccessfulCreate``);
6. the scheduler's choice for each pod (``Scheduled``);
7. each kubelet pulling the image and starting the container, then the pod ready;
8. the EndpointSlice controller listing the pods behind each Service that selects them;
9. each node's kube-proxy syncing its rules once the pods were ready, and the
   endpoint rules (DNAT) it has now;
10. the first request a pod served, if traffic was sent to the Service.

Everything comes from records a learner can read too: ``cluster.api.audit()``,
``cluster.etcd``, ``cluster.events()``, ``cluster.proxies[node].rules()`` and
``cluster.traffics``. Reading changes nothing: etcd is read directly, not
through the API server, so no audit row is added.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

import pandas as pd

from kubelearn.viz.architecture import component_of
from kubelearn.viz.interact import redrawn

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.cluster import Cluster
    from kubelearn.sim import Record

STEP_COLUMNS = ["time", "component", "step", "object", "what"]
KUBELET_STEPS = {"Pulling": "image pull", "Pulled": "image pulled", "Created": "container created",
                 "Started": "container started"}
TIME_DECIMALS = 2  # the simulation's steps are 10 ms or more: more digits say nothing
_ALL_READY = re.compile(r"(\d+)/(\d+)$")  # PodStatusUpdated's "Running 1/1": ready/containers
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # discovery/v1 LabelServiceName
_READY = re.compile(r"(\d+) ready")


def follow(cluster: Cluster, ref: str, namespace: str = "default") -> pd.DataFrame:
    """Every step from ``ref`` (``"deployment/web"`` or ``"web"``) being created to its
    first request served, one row each: time, component, step, object, what happened."""
    kind, _, name = ref.rpartition("/")
    if kind.lower() not in ("", "deployment", "deployments", "deploy"):
        raise ValueError(f"follow() follows a Deployment, not {kind!r}: try 'deployment/<name>'")
    key = f"/registry/deployments/{namespace}/{name}"
    stored = cluster.etcd.get(key)
    if stored is None:
        raise ValueError(f'deployment "{name}" not found in namespace "{namespace}" '
                         f"(no key {key} in etcd)")
    deployment = json.loads(stored.value)
    steps: list[tuple[float, str, str, str, str]] = []
    created_at = _request_steps(cluster, steps, deployment, stored.create_revision, key)
    records = cluster.sim.records
    steps += _controller_steps(records, namespace, name, created_at)
    pods = [s[3] for s in steps if s[2] == "pod created"]
    steps += _pod_steps(records, pods)
    services = _services_for(cluster, deployment)
    ready_at = _slice_steps(cluster, records, steps, namespace, services, created_at)
    steps += _proxy_steps(cluster, records, namespace, services, ready_at)
    steps += _first_request(cluster, namespace, services)
    order = {step: i for i, step in enumerate(dict.fromkeys(s[2] for s in steps))}
    steps.sort(key=lambda s: (s[0], order[s[2]]))
    frame = pd.DataFrame(steps, columns=STEP_COLUMNS)
    frame["time"] = frame["time"].round(TIME_DECIMALS)
    return frame


def _request_steps(cluster: Cluster, steps: list, deployment: dict, revision: int,
                   key: str) -> float:
    """The create request, its etcd write and its watch event; returns when it was made."""
    meta = deployment["metadata"]
    namespace, name = meta["namespace"], meta["name"]
    audit = cluster.api.audit_log.records
    # A create's audit row may carry no name (the name is in the body): match it by the
    # second of the Deployment's creationTimestamp instead.
    born = _seconds(cluster, meta.get("creationTimestamp"))
    create = next((row for row in audit if row.verb == "create" and row.code < 400
                   and row.resource == "deployments" and row.namespace == namespace
                   and (row.name == name or (not row.name and born is not None
                                             and born <= row.time < born + 1))), None)
    at = create.time if create is not None else 0.0
    who = create.user if create is not None else "?"
    obj = f"deployment/{namespace}/{name}"
    code = create.code if create is not None else "?"
    steps.append((at, "kube-apiserver", "request", obj,
                  f"create (POST) deployments by {who}: authenticated, authorized, admitted, "
                  f"valid, stored: code {code}"))
    steps.append((at, "etcd", "etcd write", key, f"created at revision {revision}"))
    watchers = sorted({component_of(row.user) for row in audit if row.verb == "watch"
                       and row.resource == "deployments" and row.time <= at and row.code < 400})
    steps.append((at, "kube-apiserver", "watch event", obj,
                  f"ADDED, resourceVersion {revision}, to the Deployment watchers: "
                  f"{', '.join(watchers) or 'nobody'}"))
    return at


def _seconds(cluster: Cluster, stamp: Any) -> float | None:
    """Simulated seconds of an RFC 3339 timestamp, or None."""
    from datetime import datetime

    if not isinstance(stamp, str):
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (when - cluster.sim.epoch).total_seconds()


def _controller_steps(records: list[Record], namespace: str, name: str,
                      since: float) -> list[tuple[float, str, str, str, str]]:
    """The Deployment controller's first ReplicaSet, and the pods its controller created."""
    obj = f"deployment/{namespace}/{name}"
    scaled = next((r for r in records if r.component == "deployment-controller"
                   and r.reason == "ScalingReplicaSet" and r.object == obj
                   and r.time >= since), None)
    if scaled is None:
        return []
    found = re.search(r"replica set (\S+)", scaled.message)
    replicaset = f"replicaset/{namespace}/{found.group(1)}" if found else ""
    steps = [(scaled.time, scaled.component, "ReplicaSet", replicaset, scaled.message)]
    for r in records:
        if r.component == "replicaset-controller" and r.reason == "SuccessfulCreate" \
                and r.object == replicaset:
            pod = r.message.removeprefix("Created pod: ")
            steps.append((r.time, r.component, "pod created", f"pod/{namespace}/{pod}",
                          r.message))
    return steps


def _pod_steps(records: list[Record], pods: list[str]) -> list[tuple[float, str, str, str, str]]:
    """For each pod: the scheduler's choice, then its kubelet's pull, start and readiness.

    A pod is ready when its kubelet first reports all its containers ready
    (``PodStatusUpdated`` "Running 1/1"); with no readiness probe, that is as
    soon as the container has started."""
    wanted = set(pods)
    steps = []
    ready: set[str] = set()
    for r in records:
        if r.object not in wanted:
            continue
        if r.component == "kube-scheduler" and r.reason == "Scheduled":
            steps.append((r.time, r.component, "scheduled", r.object, r.message))
        elif r.component.startswith("kubelet/") and r.reason in KUBELET_STEPS:
            steps.append((r.time, r.component, KUBELET_STEPS[r.reason], r.object, r.message))
        elif r.component.startswith("kubelet/") and r.reason == "PodStatusUpdated" \
                and r.object not in ready and _all_ready(r.message):
            ready.add(r.object)
            steps.append((r.time, r.component, "pod ready", r.object,
                          f"status {r.message} sent to the API server (pods/status)"))
    return steps


def _all_ready(message: str) -> bool:
    """True if a PodStatusUpdated message says every container is ready ("Running 2/2")."""
    found = _ALL_READY.search(message)
    return found is not None and found.group(1) == found.group(2) != "0"


def _services_for(cluster: Cluster, deployment: dict) -> list[str]:
    """The Services of the Deployment's namespace whose selector its pods' labels match."""
    namespace = deployment["metadata"]["namespace"]
    labels = ((deployment.get("spec") or {}).get("template") or {}).get("metadata") or {}
    labels = labels.get("labels") or {}
    names = []
    for kv in cluster.etcd.range(f"/registry/services/specs/{namespace}/", prefix=True).kvs:
        svc = json.loads(kv.value)
        selector = (svc.get("spec") or {}).get("selector") or {}
        if selector and all(labels.get(k) == v for k, v in selector.items()):
            names.append(svc["metadata"]["name"])
    return names


def _slice_steps(cluster: Cluster, records: list[Record], steps: list, namespace: str,
                 services: list[str], since: float) -> float | None:
    """The EndpointSlice controller's writes for those Services; returns when the first
    slice first listed a ready endpoint (None: never)."""
    slices = set()
    for kv in cluster.etcd.range(f"/registry/endpointslices/{namespace}/", prefix=True).kvs:
        eps = json.loads(kv.value)
        labels = eps["metadata"].get("labels") or {}
        if labels.get(SERVICE_NAME_LABEL) in services:
            slices.add(f"endpointslice/{namespace}/{eps['metadata']['name']}")
    ready_at = None
    for r in records:
        if r.component == "endpoint-slice-controller" and r.object in slices and r.time >= since:
            steps.append((r.time, r.component, "EndpointSlice", r.object, r.message))
            found = _READY.search(r.message)
            if ready_at is None and found and int(found.group(1)) > 0:
                ready_at = r.time
    return ready_at


def _proxy_steps(cluster: Cluster, records: list[Record], namespace: str, services: list[str],
                 ready_at: float | None) -> list[tuple[float, str, str, str, str]]:
    """Each node's first kube-proxy sync after the pods were ready, and its endpoint rules."""
    if ready_at is None:
        return []
    steps = []
    for node, proxy in cluster.proxies.items():
        component = f"kube-proxy/{node}"
        synced = next((r for r in records if r.component == component
                       and r.reason == "SyncProxyRules" and r.time >= ready_at), None)
        if synced is None:
            continue
        rules = proxy.rules().frame()
        dnat = rules[(rules["target"] == "DNAT") & rules["service"].map(
            lambda s: _of_services(s, namespace, services))]
        to = ", ".join(dnat["to_destination"].astype(str)) or "none"
        steps.append((synced.time, component, "proxy rules", f"node/{node}",
                      f"rules synced; DNAT now to {to}"))
    return steps


def _of_services(service_port: Any, namespace: str, services: list[str]) -> bool:
    """True if ``"<ns>/<svc>:<port>"`` names a port of one of ``services``."""
    if not isinstance(service_port, str):
        return False
    ns_name = service_port.partition(":")[0]
    return any(ns_name == f"{namespace}/{svc}" for svc in services)


def _first_request(cluster: Cluster, namespace: str,
                   services: list[str]) -> list[tuple[float, str, str, str, str]]:
    """The first request answered through one of ``services``, if any traffic was sent."""
    first = None
    for traffic in cluster.traffics:
        for request in traffic.records:
            if request.outcome == "ok" and _of_services(request.service, namespace, services):
                if first is None or request.time < first.time:
                    first = request
                break  # records are in time order: the first ok one is this traffic's first
    if first is None:
        return []
    return [(first.time, "traffic", "first request", f"pod/{first.pod}",
             f"{first.client} ({first.source}) -> {first.service} -> {first.destination}: "
             f"answered in {first.latency * 1000:.1f} ms")]


def follow_stepper(steps: pd.DataFrame) -> Any:
    """A slider over :func:`follow`'s rows: one step at a time, with who acted and on what.

    The step is plain text above the slider, so a saved lesson shows the first
    one without a kernel (:func:`~kubelearn.viz.interact.redrawn`)."""
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=1, min=1, max=max(len(steps), 1), description="step",
                               continuous_update=False)
    return redrawn(lambda step: _step_text(steps, step), {"step": slider})


def _step_text(steps: pd.DataFrame, number: int) -> str:
    """Step ``number`` (from 1) of a :func:`follow` table, in words."""
    if steps.empty:
        return "nothing to follow yet"
    row = steps.iloc[min(max(number, 1), len(steps)) - 1]
    return (f"step {number} of {len(steps)}, t = {row['time']:g} s\n"
            f"{row['component']} -- {row['step']}\n  on {row['object']}\n  {row['what']}")


def template_pod(cluster: Cluster, deployment: str, name: str,
                 namespace: str = "default") -> dict:
    """A pod made from a Deployment's template, as its ReplicaSet would make one, named
    ``name`` -- for asking the scheduler where one more would go. Read with a GET."""
    template = cluster.admin.get("deployments", deployment, namespace)["spec"]["template"]
    meta = {**(template.get("metadata") or {}), "name": name, "namespace": namespace}
    return {"metadata": meta, "spec": template["spec"]}
