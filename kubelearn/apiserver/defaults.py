"""Defaults: the fields the API server fills in when a body leaves them out.

Upstream the codec applies these ``SetDefaults_*`` functions while it decodes
a request body, before admission (pkg/apis/core/v1/defaults.go,
pkg/apis/apps/v1/defaults.go, pkg/apis/rbac/v1/defaults.go,
pkg/apis/discovery/v1/defaults.go, pkg/apis/scheduling/v1/defaults.go), so a pod stored without
``restartPolicy`` comes back with ``restartPolicy: Always``. Defaulting runs on
every create, update and patch result; it only ever adds what is missing.

    >>> pod = {"kind": "Pod", "metadata": {},
    ...        "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
    >>> set_defaults(pod)
    >>> pod["spec"]["containers"][0]["imagePullPolicy"]
    'Always'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelearn.api.scheduling import PREEMPT_LOWER_PRIORITY

# v1.DefaultTerminationGracePeriodSeconds, v1.DefaultSchedulerName,
# v1.TerminationMessagePathDefault, v1.*VolumeSourceDefaultMode (0644).
TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_SCHEDULER = "default-scheduler"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
VOLUME_DEFAULT_MODE = 0o644  # 420
CLIENT_IP_AFFINITY_SECONDS = 10800  # v1.DefaultClientIPServiceAffinitySeconds (3 hours)
# apps/v1 SetDefaults_Deployment
DEPLOYMENT_MAX_SURGE = "25%"
DEPLOYMENT_MAX_UNAVAILABLE = "25%"
REVISION_HISTORY_LIMIT = 10
PROGRESS_DEADLINE_SECONDS = 600

RBAC_GROUP = "rbac.authorization.k8s.io"
_VOLUME_SOURCES_WITH_MODE = ("configMap", "secret", "projected", "downwardAPI")


def image_tag(image: str) -> str:
    """The tag of an image reference; ``latest`` when it has neither tag nor digest."""
    name, _, digest = image.partition("@")
    last = name.rpartition("/")[2]
    tag = last.rpartition(":")[2] if ":" in last else ""
    return tag or ("" if digest else "latest")


def default_pull_policy(image: str) -> str:
    """Always for ``:latest`` (or no tag), else IfNotPresent (SetDefaults_Container)."""
    return "Always" if image_tag(image) == "latest" else "IfNotPresent"


def _probe(probe: dict) -> None:
    """SetDefaults_Probe and SetDefaults_HTTPGetAction."""
    probe.setdefault("timeoutSeconds", 1)
    probe.setdefault("periodSeconds", 10)
    probe.setdefault("successThreshold", 1)
    probe.setdefault("failureThreshold", 3)
    http = probe.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")


def default_container(container: dict) -> None:
    """SetDefaults_Container, ContainerPort and the probes and env of one container."""
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = default_pull_policy(str(container.get("image") or ""))
    if not container.get("terminationMessagePath"):
        container["terminationMessagePath"] = TERMINATION_MESSAGE_PATH
    if not container.get("terminationMessagePolicy"):
        container["terminationMessagePolicy"] = "File"
    for port in container.get("ports") or ():
        if isinstance(port, dict) and not port.get("protocol"):
            port["protocol"] = "TCP"
    for name in ("livenessProbe", "readinessProbe", "startupProbe"):
        if isinstance(container.get(name), dict):
            _probe(container[name])
    for env in container.get("env") or ():
        source = env.get("valueFrom") if isinstance(env, dict) else None
        ref = source.get("fieldRef") if isinstance(source, dict) else None
        if isinstance(ref, dict) and not ref.get("apiVersion"):
            ref["apiVersion"] = "v1"  # SetDefaults_ObjectFieldSelector


def default_volume(volume: dict) -> None:
    """SetDefaults_Volume: no source means emptyDir; file modes default to 0644."""
    if not any(k != "name" for k in volume):
        volume["emptyDir"] = {}
    for source in _VOLUME_SOURCES_WITH_MODE:
        if isinstance(volume.get(source), dict) and volume[source].get("defaultMode") is None:
            volume[source]["defaultMode"] = VOLUME_DEFAULT_MODE
    projected = volume.get("projected")
    if isinstance(projected, dict):
        for src in projected.get("sources") or ():
            token = src.get("serviceAccountToken") if isinstance(src, dict) else None
            if isinstance(token, dict):
                token.setdefault("expirationSeconds", 3600)  # one hour
    if isinstance(volume.get("hostPath"), dict):
        volume["hostPath"].setdefault("type", "")


def default_pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec, and the defaults of its containers and volumes."""
    if not spec.get("dnsPolicy"):
        spec["dnsPolicy"] = "ClusterFirst"
    if not spec.get("restartPolicy"):
        spec["restartPolicy"] = "Always"
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = TERMINATION_GRACE_PERIOD_SECONDS
    if not spec.get("schedulerName"):
        spec["schedulerName"] = DEFAULT_SCHEDULER
    for field in ("containers", "initContainers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if isinstance(container, dict):
                default_container(container)
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict):
            default_volume(volume)


def default_pod(pod: dict) -> None:
    """SetDefaults_Pod: requests default to limits, service links on; then the PodSpec's."""
    spec = pod.get("spec")
    if not isinstance(spec, dict):
        return
    for field in ("containers", "initContainers"):
        for container in spec.get(field) or ():
            resources = container.get("resources") if isinstance(container, dict) else None
            if isinstance(resources, dict) and isinstance(resources.get("limits"), dict):
                requests = resources.setdefault("requests", {})
                if isinstance(requests, dict):
                    for name, value in resources["limits"].items():
                        requests.setdefault(name, value)
    if spec.get("enableServiceLinks") is None:
        spec["enableServiceLinks"] = True
    if spec.get("hostNetwork"):
        for field in ("containers", "initContainers"):
            for container in spec.get(field) or ():
                for port in container.get("ports") or ():
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    default_pod_spec(spec)


def _template(obj: dict) -> None:
    """The pod template inside a workload gets the PodSpec defaults (not SetDefaults_Pod)."""
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        default_pod_spec(template["spec"])


def default_deployment(deploy: dict) -> None:
    """apps/v1 SetDefaults_Deployment."""
    spec = deploy.get("spec")
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    strategy = spec.setdefault("strategy", {})
    if isinstance(strategy, dict):
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            rolling = strategy.get("rollingUpdate")
            if rolling is None:
                rolling = strategy["rollingUpdate"] = {}
            if isinstance(rolling, dict):
                rolling.setdefault("maxUnavailable", DEPLOYMENT_MAX_UNAVAILABLE)
                rolling.setdefault("maxSurge", DEPLOYMENT_MAX_SURGE)
    if spec.get("revisionHistoryLimit") is None:
        spec["revisionHistoryLimit"] = REVISION_HISTORY_LIMIT
    if spec.get("progressDeadlineSeconds") is None:
        spec["progressDeadlineSeconds"] = PROGRESS_DEADLINE_SECONDS
    _template(deploy)


def default_replicaset(rs: dict) -> None:
    """apps/v1 SetDefaults_ReplicaSet: one replica."""
    spec = rs.get("spec")
    if isinstance(spec, dict) and spec.get("replicas") is None:
        spec["replicas"] = 1
    _template(rs)


def default_service(svc: dict) -> None:
    """SetDefaults_Service: ClusterIP, no affinity, TCP, targetPort = port, traffic policies."""
    spec = svc.get("spec")
    if not isinstance(spec, dict):
        return
    if not spec.get("sessionAffinity"):
        spec["sessionAffinity"] = "None"
    if spec["sessionAffinity"] == "None":
        spec.pop("sessionAffinityConfig", None)
    elif spec["sessionAffinity"] == "ClientIP":
        config = spec.get("sessionAffinityConfig") or {}
        client_ip = config.get("clientIP") or {}
        if client_ip.get("timeoutSeconds") is None:
            spec["sessionAffinityConfig"] = {
                "clientIP": {"timeoutSeconds": CLIENT_IP_AFFINITY_SECONDS}}
    if not spec.get("type"):
        spec["type"] = "ClusterIP"
    for port in spec.get("ports") or ():
        if isinstance(port, dict):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            if port.get("targetPort") in (None, 0, ""):
                port["targetPort"] = port.get("port")
    kind = spec["type"]
    if kind in ("NodePort", "LoadBalancer") and not spec.get("externalTrafficPolicy"):
        spec["externalTrafficPolicy"] = "Cluster"
    if spec.get("internalTrafficPolicy") is None and kind in ("NodePort", "LoadBalancer",
                                                              "ClusterIP"):
        spec["internalTrafficPolicy"] = "Cluster"
    if kind == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is None:
        spec["allocateLoadBalancerNodePorts"] = True


def default_namespace(ns: dict) -> None:
    """SetDefaults_Namespace: the ``kubernetes.io/metadata.name`` label."""
    meta = ns.get("metadata")
    if isinstance(meta, dict) and meta.get("name"):
        labels = meta.get("labels")
        if not isinstance(labels, dict):
            labels = meta["labels"] = {}
        labels["kubernetes.io/metadata.name"] = meta["name"]


def default_node(node: dict) -> None:
    """SetDefaults_NodeStatus: allocatable defaults to capacity."""
    status = node.get("status")
    if isinstance(status, dict) and status.get("allocatable") is None \
            and status.get("capacity") is not None:
        status["allocatable"] = dict(status["capacity"])


def default_endpoints(ep: dict) -> None:
    """SetDefaults_Endpoints: ports are TCP unless they say otherwise."""
    for subset in ep.get("subsets") or ():
        for port in (subset or {}).get("ports") or ():
            if isinstance(port, dict) and not port.get("protocol"):
                port["protocol"] = "TCP"


def default_endpointslice(eps: dict) -> None:
    """discovery/v1 SetDefaults_EndpointPort: TCP and an empty name."""
    for port in eps.get("ports") or ():
        if isinstance(port, dict):
            if not port.get("protocol"):
                port["protocol"] = "TCP"
            port.setdefault("name", "")


def default_binding(binding: dict) -> None:
    """rbac/v1 SetDefaults_Subject and the roleRef's API group of a (Cluster)RoleBinding."""
    ref = binding.get("roleRef")
    if isinstance(ref, dict) and not ref.get("apiGroup"):
        ref["apiGroup"] = RBAC_GROUP
    for subject in binding.get("subjects") or ():
        if isinstance(subject, dict) and not subject.get("apiGroup"):
            if subject.get("kind") in ("User", "Group"):
                subject["apiGroup"] = RBAC_GROUP
            elif subject.get("kind") == "ServiceAccount":
                subject["apiGroup"] = ""


def default_secret(secret: dict) -> None:
    """SetDefaults_Secret: Opaque."""
    if not secret.get("type"):
        secret["type"] = "Opaque"


def default_persistent_volume_claim(pvc: dict) -> None:
    """SetDefaults_PersistentVolumeClaim(Spec): volumeMode Filesystem, phase Pending."""
    spec = pvc.get("spec")
    if isinstance(spec, dict) and not spec.get("volumeMode"):
        spec["volumeMode"] = "Filesystem"
    status = pvc.setdefault("status", {})
    if isinstance(status, dict) and not status.get("phase"):
        status["phase"] = "Pending"


def default_priority_class(pc: dict) -> None:
    """SetDefaults_PriorityClass (scheduling/v1/defaults.go): preemptionPolicy
    PreemptLowerPriority when unset (an empty string is left for validation to refuse)."""
    if pc.get("preemptionPolicy") is None:
        pc["preemptionPolicy"] = PREEMPT_LOWER_PRIORITY


DEFAULTERS: dict[str, Callable[[dict], None]] = {
    "Pod": default_pod, "Deployment": default_deployment, "ReplicaSet": default_replicaset,
    "Service": default_service, "Namespace": default_namespace, "Node": default_node,
    "Endpoints": default_endpoints, "EndpointSlice": default_endpointslice,
    "RoleBinding": default_binding, "ClusterRoleBinding": default_binding,
    "Secret": default_secret, "PersistentVolumeClaim": default_persistent_volume_claim,
    "PriorityClass": default_priority_class,
}


def set_defaults(obj: dict[str, Any]) -> None:
    """Fill in every default ``obj``'s kind has, in place."""
    defaulter = DEFAULTERS.get(obj.get("kind", ""))
    if defaulter is not None:
        defaulter(obj)
