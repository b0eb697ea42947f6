"""A container's environment, as the kubelet builds it just before it creates the container.

Upstream this is ``makeEnvironmentVariables`` (pkg/kubelet/kubelet_pods.go,
v1.32). For each start of a container the kubelet:

1. works out the **service links** of the pod's namespace (``getServiceEnvVarMap``):
   for every Service with a cluster IP, ``<NAME>_SERVICE_HOST``,
   ``<NAME>_SERVICE_PORT`` (one more per named port) and the docker-link
   style ``<NAME>_PORT``, ``<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]``
   (pkg/kubelet/envvars ``FromServices``). The ``kubernetes`` Service of the
   ``default`` namespace is always there (in-cluster clients find the API
   server through ``KUBERNETES_SERVICE_HOST``); the others only with
   ``enableServiceLinks`` (the default, true);
2. copies every key of each ``envFrom`` ConfigMap or Secret, with its
   ``prefix`` (since v1.30 no key is skipped: the RelaxedEnvironmentVariableValidation
   change took out the check, and its ``InvalidEnvironmentVariableNames`` event);
3. resolves each ``env`` entry in order: a ``value`` with ``$(VAR)`` expanded
   from the variables so far and the service links (:func:`expand`), or a
   ``valueFrom``: ``fieldRef`` (the downward API), ``resourceFieldRef``,
   ``configMapKeyRef``, ``secretKeyRef``; ``env`` wins over ``envFrom``;
4. appends the service links no entry above has set.

A ConfigMap or Secret that is missing (and not ``optional``), or a key not in
it, is an error: the container is not created, its status says
``CreateContainerConfigError``, and the pod's next sync tries again. The
environment is fixed once the container is created: a later change to a
ConfigMap reaches only containers started after it.

Upstream the result comes from two Go maps, so its order changes from one
start to the next; kubelearn keeps the order things were declared in
(``envFrom`` keys, then ``env``, then the service links sorted by Service).

    >>> expand("$(GREETING), $(WHO)!", {"GREETING": "hello"})
    'hello, $(WHO)!'
"""

from __future__ import annotations

import base64
import ipaddress
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from kubelearn.api.errors import go_quote
from kubelearn.api.names import is_label_key
from kubelearn.api.quantity import QuantityError, parse_quantity

# kubelet_pods.go masterServices and the namespace they live in (--master-service-namespace,
# default "default"): their variables go to every pod, service links or not.
MASTER_SERVICES = ("kubernetes",)
MASTER_SERVICE_NAMESPACE = "default"

# What a ConfigMap or Secret getter returns: the object's data, or None when it does not
# exist. Any other failure it raises as EnvError.
DataGetter = Callable[[str, str], Mapping[str, str] | None]


class EnvError(Exception):
    """Why the environment could not be made: the container's CreateContainerConfigError."""


# -- $(VAR) expansion (third_party/forked/golang/expansion) ----------------------------------------
def expand(text: str, *contexts: Mapping[str, str]) -> str:
    """``expansion.Expand`` with ``MappingFuncFor(*contexts)``: replace ``$(NAME)``.

    ``$$`` is a literal ``$``; a name no context knows stays as written, and so
    does anything that is not ``$(...)`` (``$NAME``, ``${NAME}``, an unclosed ``$(``).
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char != "$" or i + 1 == n:
            out.append(char)
            i += 1
            continue
        following = text[i + 1]
        if following == "$":  # an escaped operator
            out.append("$")
            i += 2
        elif following == "(":
            close = text.find(")", i + 2)
            if close < 0:  # incomplete reference: kept, and scanning goes on after "$("
                out.append("$(")
                i += 2
                continue
            name = text[i + 2:close]
            out.append(_lookup(name, contexts))
            i = close + 1
        else:  # "$x": not an expression
            out.append("$" + following)
            i += 2
    return "".join(out)


def _lookup(name: str, contexts: Sequence[Mapping[str, str]]) -> str:
    for context in contexts:
        if name in context:
            return context[name]
    return f"$({name})"


# -- service links (pkg/kubelet/envvars) ----------------------------------------------------------
def _env_name(name: str) -> str:
    """makeEnvVariableName: upper case, dashes to underscores."""
    return name.replace("-", "_").upper()


def _has_cluster_ip(service: Mapping[str, Any]) -> bool:
    """v1helper.IsServiceIPSet: a cluster IP that is neither empty nor ``None``."""
    ip = str(((service.get("spec") or {}).get("clusterIP")) or "")
    return ip not in ("", "None")


def _host_port(ip: str, port: int) -> str:
    """net.JoinHostPort: an IPv6 address in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def from_services(services: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """FromServices: the variables that tell a container where each Service is."""
    result: list[tuple[str, str]] = []
    for service in services:
        spec = service.get("spec") or {}
        ports = [p for p in spec.get("ports") or () if isinstance(p, Mapping)]
        if not _has_cluster_ip(service) or not ports:
            continue
        prefix, ip = _env_name(str(service["metadata"]["name"])), str(spec["clusterIP"])
        result.append((f"{prefix}_SERVICE_HOST", ip))
        result.append((f"{prefix}_SERVICE_PORT", str(ports[0].get("port"))))
        for port in ports:  # every named port (only the first may be unnamed)
            if port.get("name"):
                result.append((f"{prefix}_SERVICE_PORT_{_env_name(str(port['name']))}",
                               str(port.get("port"))))
        result += _link_variables(prefix, ip, ports)
    return result


def _link_variables(prefix: str, ip: str, ports: Sequence[Mapping[str, Any]]
                    ) -> list[tuple[str, str]]:
    """makeLinkVariables: docker links' ``<NAME>_PORT_<port>_<PROTO>...``."""
    result: list[tuple[str, str]] = []
    for i, port in enumerate(ports):
        protocol = str(port.get("protocol") or "TCP")
        number = port.get("port")
        url = f"{protocol.lower()}://{_host_port(ip, number)}"
        if i == 0:  # docker special-cases the first port
            result.append((f"{prefix}_PORT", url))
        base = f"{prefix}_PORT_{number}_{protocol.upper()}"
        result += [(base, url), (f"{base}_PROTO", protocol.lower()),
                   (f"{base}_PORT", str(number)), (f"{base}_ADDR", ip)]
    return result


def service_env(services: Iterable[Mapping[str, Any]], namespace: str,
                enable_service_links: bool = True) -> dict[str, str]:
    """getServiceEnvVarMap: the master services always; the namespace's own with service links.

    With service links, a Service of the pod's namespace named like a master
    service (a ``kubernetes`` Service in ``team-a``) takes its place.
    """
    chosen: dict[str, Mapping[str, Any]] = {}
    for service in services:
        if not _has_cluster_ip(service):
            continue
        meta = service.get("metadata") or {}
        name, ns = str(meta.get("name") or ""), meta.get("namespace")
        if ns == MASTER_SERVICE_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, service)
        elif ns == namespace and enable_service_links:
            chosen[name] = service
    return dict(from_services(chosen[name] for name in sorted(chosen)))


# -- the downward API: fieldRef (fieldpath.ExtractFieldPathAsString) -----------------------------
# ConvertDownwardAPIFieldLabel (pkg/apis/core/pods/helpers.go): the paths a pod field selector
# may name. Some of them the kubelet then cannot extract for an environment variable (the API
# server refuses those in env anyway).
FIELD_LABELS = ("metadata.annotations", "metadata.labels", "metadata.name",
                "metadata.namespace", "metadata.uid", "spec.nodeName", "spec.restartPolicy",
                "spec.serviceAccountName", "spec.schedulerName", "status.phase",
                "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")


def _split_subscript(path: str) -> tuple[str, str] | None:
    """SplitMaybeSubscriptedPath: ``metadata.labels['app']`` -> ``("metadata.labels", "app")``."""
    if not path.endswith("']"):
        return None
    head, sep, subscript = path[:-2].partition("['")
    return (head, subscript) if sep else None


def _format_map(values: Mapping[str, str]) -> str:
    """FormatMap: ``key="value"`` lines, sorted by key."""
    return "\n".join(f'{key}={go_quote(values[key])}' for key in sorted(values))


def _family_sorted(ips: Sequence[str], first_v6: bool) -> list[str]:
    """sortPodIPs: the valid IPs, the node's family first (one of each family at most)."""
    v4 = [ip for ip in ips if _version(ip) == 4][:1]
    v6 = [ip for ip in ips if _version(ip) == 6][:1]
    return v6 + v4 if first_v6 else v4 + v6


def _version(ip: str) -> int:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return 0


def field_value(selector: Mapping[str, Any], pod: Mapping[str, Any], pod_ips: Sequence[str],
                host_ips: Sequence[str]) -> str:
    """podFieldSelectorRuntimeValue: the value of one ``fieldRef``."""
    version = str(selector.get("apiVersion") or "v1")
    path = str(selector.get("fieldPath") or "")
    if version != "v1":
        raise EnvError(f"unsupported pod version: {version}")
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    split = _split_subscript(path)
    if split is not None:
        head, key = split
        if head not in ("metadata.annotations", "metadata.labels"):
            raise EnvError(f"field label does not support subscript: {path}")
        problems = is_label_key(key.lower() if head == "metadata.annotations" else key)
        if problems:
            raise EnvError(f"invalid key subscript in {path}: {';'.join(problems)}")
        source = meta.get("annotations" if head == "metadata.annotations" else "labels") or {}
        return str(source.get(key, ""))
    if path == "spec.host":  # old v1 clients' name for spec.nodeName
        path = "spec.nodeName"
    if path not in FIELD_LABELS:
        raise EnvError(f"field label not supported: {path}")
    first_v6 = bool(host_ips) and _version(host_ips[0]) == 6
    ips = _family_sorted(pod_ips, first_v6)
    simple = {
        "spec.nodeName": lambda: str(spec.get("nodeName") or ""),
        "spec.serviceAccountName": lambda: str(spec.get("serviceAccountName") or ""),
        "status.hostIP": lambda: host_ips[0] if host_ips else "",
        "status.hostIPs": lambda: ",".join(host_ips),
        "status.podIP": lambda: ips[0] if ips else "",
        "status.podIPs": lambda: ",".join(ips),
        "metadata.annotations": lambda: _format_map(meta.get("annotations") or {}),
        "metadata.labels": lambda: _format_map(meta.get("labels") or {}),
        "metadata.name": lambda: str(meta.get("name") or ""),
        "metadata.namespace": lambda: str(meta.get("namespace") or ""),
        "metadata.uid": lambda: str(meta.get("uid") or ""),
    }
    if path not in simple:  # spec.restartPolicy, spec.schedulerName, status.phase
        raise EnvError(f"unsupported fieldPath: {path}")
    return simple[path]()


# -- resourceFieldRef (pkg/api/v1/resource ExtractContainerResourceValue) -------------------------
_LIMITED = ("cpu", "memory", "ephemeral-storage")  # mergeContainerResourceLimits


def _with_default_limits(resources: Mapping[str, Any], allocatable: Mapping[str, Any]) -> dict:
    """defaultPodLimitsForDownwardAPI: a limit not set (or zero) reads as the node's allocatable."""
    limits = dict(resources.get("limits") or {})
    for name in _LIMITED:
        if (name not in limits or parse_quantity(str(limits[name])).is_zero()) \
                and name in allocatable:
            limits[name] = allocatable[name]
    return {"limits": limits, "requests": dict(resources.get("requests") or {})}


def resource_value(selector: Mapping[str, Any], container: Mapping[str, Any],
                   containers: Sequence[Mapping[str, Any]], allocatable: Mapping[str, Any]
                   ) -> str:
    """containerResourceRuntimeValue: a request or limit, divided by ``divisor``, rounded up."""
    name = str(selector.get("containerName") or "")
    if name:
        matches = [c for c in containers if c.get("name") == name]
        if not matches:
            raise EnvError(f"container {name} not found")
        container = matches[0]
    resources = _with_default_limits(container.get("resources") or {}, allocatable)
    resource = str(selector.get("resource") or "")
    kind, _, what = resource.partition(".")
    if kind not in ("limits", "requests") or not (what in _LIMITED
                                                   or what.startswith("hugepages-")):
        raise EnvError(f"unsupported container resource : {resource}")
    try:
        divisor = parse_quantity(str(selector.get("divisor") or "0"))
        if divisor.is_zero():
            divisor = parse_quantity("1")
        amount = parse_quantity(str(resources[kind].get(what) or "0"))
    except QuantityError as error:
        raise EnvError(str(error)) from None
    if what == "cpu":  # convertResourceCPUToString: in millicores, then rounded up
        return str(math.ceil(amount.milli_value() / divisor.milli_value()))
    return str(math.ceil(amount.value() / divisor.value()))


# -- the whole environment (makeEnvironmentVariables) ---------------------------------------------
def secret_data(secret: Mapping[str, Any]) -> dict[str, str]:
    """A Secret's ``data``, decoded: the API carries the bytes base64-encoded."""
    out = {}
    for key, value in (secret.get("data") or {}).items():
        out[str(key)] = base64.b64decode(str(value)).decode("utf-8", "replace")
    return out


def make_environment(pod: Mapping[str, Any], container: Mapping[str, Any], *,
                     services: Iterable[Mapping[str, Any]], config_map: DataGetter,
                     secret: DataGetter, pod_ips: Sequence[str] = (),
                     host_ips: Sequence[str] = (), allocatable: Mapping[str, Any] | None = None
                     ) -> list[tuple[str, str]]:
    """The container's environment, ``[(name, value), ...]``; raises :class:`EnvError`.

    ``config_map(namespace, name)`` and ``secret(namespace, name)`` return an
    object's data (None if it does not exist); each object is read once per call.
    """
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    namespace = str(meta.get("namespace") or "default")
    links = spec.get("enableServiceLinks")
    service_vars = service_env(services, namespace, True if links is None else bool(links))
    sources = _Sources(namespace, config_map, secret)
    env: dict[str, str] = {}
    for source in container.get("envFrom") or ():
        env.update(sources.env_from(source))
    for entry in container.get("env") or ():
        value = _resolve(entry, env, service_vars, sources, pod, container, pod_ips, host_ips,
                         allocatable or {})
        if value is not None:
            env[str(entry.get("name"))] = value
    return [*env.items(), *((k, v) for k, v in service_vars.items() if k not in env)]


def _resolve(entry: Mapping[str, Any], env: Mapping[str, str], service_vars: Mapping[str, str],
             sources: _Sources, pod: Mapping[str, Any], container: Mapping[str, Any],
             pod_ips: Sequence[str], host_ips: Sequence[str], allocatable: Mapping[str, Any]
             ) -> str | None:
    """One ``env`` entry's value (None: an optional source that is missing, so no variable)."""
    value = str(entry.get("value") or "")
    source = entry.get("valueFrom")
    if value or not isinstance(source, Mapping):
        return expand(value, env, service_vars) if value else value
    if isinstance(source.get("fieldRef"), Mapping):
        return field_value(source["fieldRef"], pod, pod_ips, host_ips)
    if isinstance(source.get("resourceFieldRef"), Mapping):
        containers = (pod.get("spec") or {}).get("containers") or ()
        return resource_value(source["resourceFieldRef"], container, containers, allocatable)
    if isinstance(source.get("configMapKeyRef"), Mapping):
        return sources.key(source["configMapKeyRef"], "configmap", "ConfigMap")
    if isinstance(source.get("secretKeyRef"), Mapping):
        return sources.key(source["secretKeyRef"], "secret", "Secret")
    return value


class _Sources:
    """The ConfigMaps and Secrets one container's environment reads, each fetched once."""

    def __init__(self, namespace: str, config_map: DataGetter, secret: DataGetter) -> None:
        self.namespace = namespace
        self.getters = {"configmap": config_map, "secret": secret}
        self.cache: dict[tuple[str, str], Mapping[str, str] | None] = {}

    def data(self, kind: str, name: str, optional: bool) -> Mapping[str, str] | None:
        """The object's data; None if it is missing and optional; else EnvError."""
        key = (kind, name)
        if key not in self.cache:
            self.cache[key] = self.getters[kind](self.namespace, name)
        data = self.cache[key]
        if data is None and not optional:
            # the kubelet's watch-based manager: NewNotFound(corev1.Resource("configmap"), name)
            raise EnvError(f'{kind} "{name}" not found')
        return data

    def env_from(self, source: Mapping[str, Any]) -> dict[str, str]:
        """One ``envFrom`` entry: every key of the object, ``prefix`` first."""
        for field, kind in (("configMapRef", "configmap"), ("secretRef", "secret")):
            ref = source.get(field)
            if isinstance(ref, Mapping):
                data = self.data(kind, str(ref.get("name") or ""), bool(ref.get("optional")))
                prefix = str(source.get("prefix") or "")
                return {prefix + k: v for k, v in (data or {}).items()}
        return {}

    def key(self, ref: Mapping[str, Any], kind: str, title: str) -> str | None:
        """One key of a ConfigMap or Secret (``configMapKeyRef``, ``secretKeyRef``)."""
        name, key, optional = str(ref.get("name") or ""), str(ref.get("key") or ""), \
            bool(ref.get("optional"))
        data = self.data(kind, name, optional)
        if data is None:
            return None
        if key not in data:
            if optional:
                return None
            raise EnvError(f"couldn't find key {key} in {title} {self.namespace}/{name}")
        return data[key]
