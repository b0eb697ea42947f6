"""A compose service's container: image, command, env, ports, probe and resources.

Follows Kompose's pkg/transformer/kubernetes/k8sutils.go and podspec.go
(GetContainerName, ConfigEnvs, FormatEnvName, configProbe, TranslatePodResource)
and its loader (pkg/loader/compose/compose.go parseHealthCheck):

- ``entrypoint`` -> ``command``, ``command`` -> ``args`` (a string split as a shell
  would);
- ``environment`` -> ``env`` sorted by name; each ``env_file`` -> a ConfigMap and
  ``envFrom``;
- ``healthcheck`` -> a livenessProbe, with Docker's defaults where the file leaves
  them out (moby daemon/health.go);
- ``deploy.resources`` -> limits and requests (:func:`memory_quantity`,
  :func:`cpu_quantity`); :func:`parse_duration` reads compose's Go durations.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from typing import Any

from kubelearn.compose.ports import Port
from kubelearn.compose.project import (
    SELECTOR,
    ComposeError,
    Notes,
    Project,
    read_file,
    scalar,
    type_name,
)

# A build-only service's image (Kompose uses the bare service name).
PLACEHOLDER_IMAGE = "placeholder/{service}:latest"
# moby daemon/health.go: a healthcheck's defaults when the compose file leaves them out.
DOCKER_HEALTH_INTERVAL = 30  # defaultProbeInterval
DOCKER_HEALTH_TIMEOUT = 30  # defaultProbeTimeout
DOCKER_HEALTH_RETRIES = 3  # defaultProbeRetries


def container_for(project: Project, compose_name: str, name: str, spec: Mapping,
                  ports: list[Port]) -> dict:
    notes, where = project.notes, f"services.{compose_name}"
    container: dict[str, Any] = {"name": _container_name(compose_name, name, spec, notes),
                                 "image": _image(compose_name, name, spec, notes)}
    for key, k8s in (("entrypoint", "command"), ("command", "args")):
        if spec.get(key) is not None:
            container[k8s] = _words(spec[key], f"{where}.{key}")
    env = _environment(spec.get("environment"), f"{where}.environment", compose_name, notes)
    if env:
        container["env"] = env
    env_from = _env_files(project, compose_name, name, spec)
    if env_from:
        container["envFrom"] = env_from
    container_ports = []
    for port in ports:
        entry = {"containerPort": port.target, "protocol": port.protocol}
        if entry not in container_ports:
            container_ports.append(entry)
    if container_ports:
        container["ports"] = container_ports
    probe = _probe(spec.get("healthcheck"), f"{where}.healthcheck", compose_name, notes)
    if probe:
        container["livenessProbe"] = probe
    resources = _resources(spec, where, compose_name, notes)
    if resources:
        container["resources"] = resources
    if spec.get("working_dir"):
        container["workingDir"] = str(spec["working_dir"])
    if spec.get("stdin_open"):
        container["stdin"] = True
    if spec.get("tty"):
        container["tty"] = True
    return container


def _container_name(compose_name: str, name: str, spec: Mapping, notes: Notes) -> str:
    """k8sutils.go GetContainerName: container_name if given (lower case, ``_`` -> ``-``)."""
    given = spec.get("container_name")
    if not given:
        return name
    new = str(given).lower().replace("_", "-")
    notes.warn(compose_name, "container_name", f"names the container {new!r} only: other pods "
               f"reach it by its Service name {name!r}, and each replica is a pod of its own")
    return new


def _image(compose_name: str, name: str, spec: Mapping, notes: Notes) -> str:
    image = spec.get("image")
    if spec.get("build") is not None:
        if image:
            notes.warn(compose_name, "build", f"not built: the cluster pulls {image!r}; build "
                       "and push it first (kompose convert --build)")
        else:
            image = PLACEHOLDER_IMAGE.format(service=name)
            notes.warn(compose_name, "build", f"no image: {image!r} is a placeholder. Build the "
                       "image, push it to a registry and put its name here (kubelearn's "
                       "simulated registry runs any image; a real cluster would fail to pull it)")
    return str(image)


def _words(value: Any, path: str) -> list[str]:
    """A compose command (a string, split as a shell would, or a list) as a list of words."""
    if isinstance(value, list):
        return [scalar(v) for v in value]
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise ComposeError(f"{path}: {err}") from None
    raise ComposeError(f"{path}: must be a string or a list, not {type_name(value)}")


def _environment(value: Any, path: str, compose_name: str, notes: Notes) -> list[dict]:
    """``environment`` (a map, or a list of ``KEY=value``) as env, sorted by name
    (k8sutils ConfigEnvs sorts it, transformer.EnvSort)."""
    if value is None:
        return []
    pairs: dict[str, Any] = {}
    if isinstance(value, list):
        for item in value:
            key, sep, val = str(item).partition("=")
            pairs[key] = val if sep else None
    elif isinstance(value, Mapping):
        pairs = {str(k): v for k, v in value.items()}
    else:
        raise ComposeError(f"{path}: must be a map or a list, not {type_name(value)}")
    for key, val in pairs.items():
        if val is None:
            notes.warn(compose_name, f"environment.{key}", "no value: compose passes the "
                       "machine's own value; here it is blank")
    return [{"name": k, "value": scalar(v)} for k, v in sorted(pairs.items())]


def _env_files(project: Project, compose_name: str, name: str, spec: Mapping) -> list[dict]:
    """Each ``env_file`` as a ConfigMap named after it (k8sutils FormatEnvName) and envFrom."""
    value = spec.get("env_file")
    if value is None:
        return []
    entries = value if isinstance(value, list) else [value]
    out = []
    for i, entry in enumerate(entries):
        path = entry.get("path") if isinstance(entry, Mapping) else entry
        required = entry.get("required", True) if isinstance(entry, Mapping) else True
        where = f"env_file[{i}]" if isinstance(value, list) else "env_file"
        text = read_file(project, compose_name, where, str(path), required)
        if text is None:
            continue
        cm_name = re.sub(r"[^a-zA-Z0-9]", "-", str(path).strip("./"))
        if cm_name.startswith("-"):
            cm_name = name + cm_name
        cm_name = cm_name.lower()[:63].strip("-")
        project.configmaps[cm_name] = {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": cm_name, "labels": {SELECTOR: name}},
            "data": _dotenv(text)}
        out.append({"configMapRef": {"name": cm_name}})
    return out


def _dotenv(text: str) -> dict[str, str]:
    """``KEY=value`` lines (comments, blanks and ``export`` skipped; quotes removed)."""
    data = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        key, _, val = line.partition("=")
        val = val.strip()
        if len(val) >= 2 and val[0] == val[-1] and val[0] in "'\"":
            val = val[1:-1]
        data[key.strip()] = val
    return data


_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_duration(value: Any, path: str) -> float:
    """A compose duration (Go's ``1m30s``, ``500ms``; a bare number is seconds) in seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = str(value).strip()
    if not text or _DURATION.sub("", text) != "":
        raise ComposeError(f"{path}: invalid duration {text!r} (like 30s, 1m30s or 500ms)")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _DURATION.findall(text))


def _probe(check: Any, path: str, compose_name: str, notes: Notes) -> dict | None:
    """A healthcheck as a livenessProbe (loader parseHealthCheck, podspec.go configProbe)."""
    if check is None:
        return None
    if not isinstance(check, Mapping):
        raise ComposeError(f"{path}: must be a map, not {type_name(check)}")
    test = check.get("test")
    if check.get("disable") or test == ["NONE"]:
        return None
    if isinstance(test, str):
        command = ["sh", "-c", test]
    elif isinstance(test, list) and test and test[0] == "CMD" and len(test) > 1:
        command = [scalar(w) for w in test[1:]]
    elif isinstance(test, list) and test and test[0] == "CMD-SHELL" and len(test) == 2:
        command = ["sh", "-c", scalar(test[1])]
    else:
        raise ComposeError(f"{path}.test: must be a string, [\"CMD\", ...], [\"CMD-SHELL\", "
                           f"\"...\"] or [\"NONE\"], not {test!r}")
    # Kompose truncates each duration to whole seconds (int32(parse.Seconds())).
    probe = {"exec": {"command": command},
             "periodSeconds": int(parse_duration(check.get("interval", DOCKER_HEALTH_INTERVAL),
                                                 f"{path}.interval")),
             "timeoutSeconds": int(parse_duration(check.get("timeout", DOCKER_HEALTH_TIMEOUT),
                                                  f"{path}.timeout")),
             "failureThreshold": check.get("retries", DOCKER_HEALTH_RETRIES)}
    if not isinstance(probe["failureThreshold"], int) or probe["failureThreshold"] < 1:
        raise ComposeError(f"{path}.retries: must be a whole number >= 1")
    if check.get("start_period") is not None:
        probe["initialDelaySeconds"] = int(parse_duration(check["start_period"],
                                                          f"{path}.start_period"))
    for key in ("interval", "timeout"):
        if key in check and 0 < parse_duration(check[key], path) < 1:
            notes.warn(compose_name, f"healthcheck.{key}", "under a second: Kubernetes counts "
                       "whole seconds, so it becomes 0 (then Kubernetes' default)")
    notes.warn(compose_name, "healthcheck", "became a livenessProbe (a failing check restarts "
               "the container). Compose's 'healthy' also gates depends_on: in Kubernetes that "
               "is a readinessProbe, which Kompose does not make from a healthcheck")
    return probe


_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$", re.IGNORECASE)


def memory_quantity(value: Any, path: str) -> str:
    """A compose memory size (``50M``, ``1g``, bytes; binary units as docker's RAMInBytes)."""
    match = _MEMORY.match(str(value).strip())
    if not match:
        raise ComposeError(f"{path}: invalid size {value!r} (like 512m or 1g)")
    scale = 1024 ** "bkmgt".index(match.group(2).lower() or "b")
    size = int(float(match.group(1)) * scale)
    for suffix, unit in (("Ti", 1024 ** 4), ("Gi", 1024 ** 3), ("Mi", 1024 ** 2), ("Ki", 1024)):
        if size % unit == 0:
            return f"{size // unit}{suffix}"
    return str(size)


def cpu_quantity(value: Any, path: str) -> str:
    """compose ``cpus`` (``0.5``) as a CPU quantity (``500m``), as Kompose's milli-CPUs."""
    try:
        milli = int(float(value) * 1000)
    except (TypeError, ValueError):
        raise ComposeError(f"{path}: invalid cpus {value!r} (like 0.5)") from None
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def _resources(spec: Mapping, where: str, compose_name: str, notes: Notes) -> dict:
    """deploy.resources limits and reservations (k8sutils TranslatePodResource)."""
    resources = ((spec.get("deploy") or {}).get("resources") or {})
    out = {}
    for compose_key, k8s_key in (("limits", "limits"), ("reservations", "requests")):
        part = resources.get(compose_key) or {}
        values = {}
        if part.get("cpus") is not None:
            values["cpu"] = cpu_quantity(part["cpus"], f"{where}.deploy.resources."
                                         f"{compose_key}.cpus")
        if part.get("memory") is not None:
            values["memory"] = memory_quantity(part["memory"], f"{where}.deploy.resources."
                                               f"{compose_key}.memory")
        for key in part:
            if key not in ("cpus", "memory"):
                notes.warn(compose_name, f"deploy.resources.{compose_key}.{key}",
                           "not converted")
        if values:
            out[k8s_key] = values
    return out
