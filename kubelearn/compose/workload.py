"""One compose service as a Kubernetes Service and a Deployment (or a bare Pod).

Follows Kompose's pkg/transformer/kubernetes/kubernetes.go (Transform: a bare
Pod when nothing must restart it) and k8sutils.go (GetRestartPolicy), and its
loader, pkg/loader/compose/compose.go (normalizeServiceNames, ``unless-stopped``
as ``always``):

- :func:`service_names`: each service's Kubernetes name (:func:`normalize_name`);
- :func:`convert_service`: the Service (when the service has ports), and the
  Deployment or Pod around the container (:mod:`.container`) and its volumes
  (:mod:`.volumes`), labelled and selected by :data:`~.project.SELECTOR`;
- ``labels``, ``deploy.replicas``, ``restart``, ``hostname``,
  ``stop_grace_period``; ``depends_on`` and ``networks`` checked, then dropped
  with a warning.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from kubelearn.api.names import is_dns1035_label
from kubelearn.compose.container import container_for, parse_duration
from kubelearn.compose.ports import compose_ports, service_ports
from kubelearn.compose.project import SELECTOR, ComposeError, Notes, Project, scalar, type_name
from kubelearn.compose.reading import interpolate
from kubelearn.compose.volumes import pod_volumes

# Service keys converted (or deliberately dropped with a reason of their own) below.
_HANDLED = {
    "image", "build", "ports", "expose", "environment", "env_file", "command", "entrypoint",
    "volumes", "secrets", "configs", "healthcheck", "depends_on", "restart", "deploy",
    "networks", "container_name", "labels", "scale", "working_dir", "tmpfs", "hostname",
    "stdin_open", "tty", "stop_grace_period", "user", "privileged", "read_only", "cap_add",
    "cap_drop", "network_mode", "links", "profiles",
}


def normalize_name(name: str) -> str:
    """A compose service name as Kompose makes it a Kubernetes name (normalizeServiceNames):
    lower case, ``_`` and ``.`` replaced by ``-``."""
    return re.sub(r"[._]", "-", name).lower()


def service_names(services: Mapping, notes: Notes) -> dict[str, str]:
    names: dict[str, str] = {}
    for compose_name in services:
        new = normalize_name(str(compose_name))
        errors = is_dns1035_label(new)
        if errors:
            raise ComposeError(f"services.{compose_name}: the name {new!r} is not a valid "
                               f"Kubernetes Service name: {'; '.join(errors)}")
        if new in names.values():
            raise ComposeError(f"services.{compose_name}: becomes {new!r} in Kubernetes, like "
                               "another service: rename one of them")
        if new != compose_name:
            notes.warn(str(compose_name), "name", f"renamed to {new!r}: a Kubernetes name is "
                       "lower case letters, digits and '-'")
        names[str(compose_name)] = new
    return names


def convert_service(project: Project, compose_name: str, spec: Mapping
                    ) -> tuple[list[dict], dict]:
    """One service's Kubernetes Service (if it has ports) and its workload."""
    notes, name = project.notes, project.names[compose_name]
    where = f"services.{compose_name}"
    spec = interpolate(dict(spec), where, notes, compose_name)
    for key in spec:
        if key not in _HANDLED and not str(key).startswith("x-"):
            notes.warn(compose_name, key, "not converted: kubelearn gives it no Kubernetes "
                       "field")
    ports = compose_ports(spec, where, compose_name, notes)
    annotations = _labels(spec.get("labels"), f"{where}.labels")
    container = container_for(project, compose_name, name, spec, ports)
    volumes = pod_volumes(project, compose_name, name, spec, container)
    pod_spec: dict[str, Any] = {"containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    _pod_options(compose_name, spec, pod_spec, notes)
    _depends_on(project, compose_name, spec)
    _networks(project, compose_name, spec)
    labels = {SELECTOR: name}
    meta: dict[str, Any] = {"name": name, "labels": dict(labels)}
    if annotations:
        meta["annotations"] = annotations
    services = []
    if ports:
        services.append({"apiVersion": "v1", "kind": "Service", "metadata": dict(meta),
                         "spec": {"ports": service_ports(ports), "selector": dict(labels)}})
        if any(p.published for p in ports):
            notes.warn(compose_name, "ports", "a published port is reached from outside on the "
                       "host; a ClusterIP Service is reached only inside the cluster (Kompose: "
                       "the label kompose.service.type: nodeport makes it a NodePort)")
    else:
        notes.warn(compose_name, "ports", f"no ports or expose: no Service {name!r} is made, so "
                   "no other pod can reach it by name (Kompose does the same)")
    restart = _restart_policy(compose_name, spec, notes)
    pod_spec["restartPolicy"] = restart
    template_meta = {"labels": dict(labels)}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    if restart != "Always":  # Kompose's Transform: a bare Pod, as nothing must restart it
        return services, {"apiVersion": "v1", "kind": "Pod",
                          "metadata": {**meta, "labels": dict(labels)}, "spec": pod_spec}
    deploy = spec.get("deploy") or {}
    replicas = _replicas(compose_name, spec, deploy, notes)
    deploy_labels = _labels(deploy.get("labels"), f"{where}.deploy.labels")
    return services, {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {**meta, "labels": {**labels, **deploy_labels}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                 "template": {"metadata": template_meta, "spec": pod_spec}}}


def _labels(value: Any, path: str) -> dict[str, str]:
    """Compose labels (a map, or a list of ``key=value``) as strings."""
    if value is None:
        return {}
    if isinstance(value, list):
        out = {}
        for item in value:
            key, _, val = str(item).partition("=")
            out[key] = val
        return out
    if isinstance(value, Mapping):
        return {str(k): scalar(v) for k, v in value.items()}
    raise ComposeError(f"{path}: must be a map or a list, not {type_name(value)}")


def _replicas(compose_name: str, spec: Mapping, deploy: Mapping, notes: Notes) -> int:
    replicas = deploy.get("replicas", spec.get("scale", 1))
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise ComposeError(f"services.{compose_name}.deploy.replicas: must be a whole number "
                           f">= 0, not {replicas!r}")
    for key in deploy:
        if key not in ("replicas", "resources", "labels", "restart_policy"):
            notes.warn(compose_name, f"deploy.{key}", "not converted (Swarm placement and "
                       "update settings have other names in Kubernetes)")
    return replicas


def _restart_policy(compose_name: str, spec: Mapping, notes: Notes) -> str:
    """compose ``restart`` (or ``deploy.restart_policy.condition``) as a pod's restartPolicy
    (k8sutils.go GetRestartPolicy)."""
    restart = scalar(spec.get("restart"))
    policy = ((spec.get("deploy") or {}).get("restart_policy") or {})
    if policy.get("condition"):
        restart = str(policy["condition"])
    if restart == "unless-stopped":  # compose.go: "is not supported, convert it to 'always'"
        notes.warn(compose_name, "restart", "'unless-stopped' becomes Always: a Deployment's "
                   "pods always restart")
        return "Always"
    if restart in ("", "always", "any"):
        return "Always"
    if restart in ("no", "none"):
        notes.warn(compose_name, "restart", f"{restart!r}: a bare Pod with restartPolicy Never "
                   "instead of a Deployment (as Kompose); nothing replaces it if it dies or its "
                   "node fails. Remove 'restart' to get a Deployment")
        return "Never"
    if restart.partition(":")[0] == "on-failure":
        notes.warn(compose_name, "restart", f"{restart!r}: a bare Pod with restartPolicy "
                   "OnFailure instead of a Deployment (as Kompose); a retry count is not kept "
                   "(the kubelet backs off instead)")
        return "OnFailure"
    raise ComposeError(f"services.{compose_name}.restart: invalid restart policy {restart!r}: "
                       "use no, always, on-failure[:N] or unless-stopped")


def _pod_options(compose_name: str, spec: Mapping, pod_spec: dict, notes: Notes) -> None:
    if spec.get("hostname"):
        pod_spec["hostname"] = str(spec["hostname"])
    if spec.get("stop_grace_period") is not None:
        pod_spec["terminationGracePeriodSeconds"] = int(parse_duration(
            spec["stop_grace_period"], f"services.{compose_name}.stop_grace_period"))
    for key in ("user", "privileged", "read_only", "cap_add", "cap_drop", "links",
                "network_mode", "profiles"):
        if spec.get(key) is not None:
            notes.warn(compose_name, key, "not converted by kubelearn (Kompose maps user, "
                       "privileged, read_only and capabilities to a securityContext)"
                       if key not in ("links", "network_mode", "profiles") else
                       "not converted: pods reach each other through Services by name")


def _depends_on(project: Project, compose_name: str, spec: Mapping) -> None:
    value = spec.get("depends_on")
    if value is None:
        return
    if isinstance(value, list):
        deps = {str(d): {} for d in value}
    elif isinstance(value, Mapping):
        deps = {str(k): (v or {}) for k, v in value.items()}
    else:
        raise ComposeError(f"services.{compose_name}.depends_on: must be a list or a map")
    for dep, options in deps.items():
        if dep not in project.names:
            raise ComposeError(f"services.{compose_name}.depends_on: service {compose_name!r} "
                               f"depends on undefined service {dep!r}")
        condition = options.get("condition", "service_started") if isinstance(
            options, Mapping) else "service_started"
        project.notes.warn(compose_name, f"depends_on.{dep}", f"dropped ({condition}): "
                           "Kubernetes starts every pod at once, in no order. "
                           f"{project.names[compose_name]!r} must retry until "
                           f"{project.names[dep]!r} answers, and a readinessProbe on "
                           f"{project.names[dep]!r} keeps its Service from sending traffic "
                           "before it is ready")


def _networks(project: Project, compose_name: str, spec: Mapping) -> None:
    """A service's networks must be declared; each declared one is a warning (in convert)."""
    value = spec.get("networks")
    if value is None:
        return
    names = list(value) if isinstance(value, (list, Mapping)) else None
    if names is None:
        raise ComposeError(f"services.{compose_name}.networks: must be a list or a map")
    declared = project.section("networks")
    for net in names:
        if net != "default" and net not in declared:
            raise ComposeError(f"services.{compose_name}.networks: service {compose_name!r} "
                               f"refers to undefined network {net!r}")
