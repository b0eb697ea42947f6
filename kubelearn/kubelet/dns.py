"""A pod's /etc/resolv.conf as the kubelet writes it (pkg/kubelet/network/dns).

Before the kubelet starts a pod's containers it works out the pod's DNS
settings (``Configurer.GetPodDNS``, dns.go) and hands them to the container
runtime, which writes them into the sandbox as ``/etc/resolv.conf``
(containerd's ``parseDNSOptions``: a ``search`` line, ``nameserver`` lines,
an ``options`` line). Which settings depends on the pod's ``dnsPolicy``:

============================  ===============================================================
``dnsPolicy``                 the pod's resolv.conf
============================  ===============================================================
``ClusterFirst`` (default)    ``nameserver`` the cluster DNS (``clusterDNS``, 10.96.0.10),
                              ``search <ns>.svc.<domain> svc.<domain> <domain>`` then the
                              node's own search domains, ``options ndots:5``; a
                              ``hostNetwork`` pod falls back to ``Default``
``ClusterFirstWithHostNet``   the same, ``hostNetwork`` or not
``Default``                   the node's file (the kubelet's ``resolvConf``) as it is
``None``                      nothing but the pod's ``dnsConfig``
============================  ===============================================================

Then the pod's ``spec.dnsConfig`` is merged in: its nameservers and searches
appended (duplicates dropped), its options override options of the same name.
Last, the limits libc resolvers can live with (pkg/apis/core/validation): at
most 3 nameservers, 32 search domains of at most 253 characters, 2048
characters in the search line. What does not fit is cut off, and the pod gets
a ``DNSConfigForming`` warning event saying what was applied.

    >>> config = Configurer(cluster_dns=["10.96.0.10"], cluster_domain="cluster.local")
    >>> pod = {"metadata": {"name": "web", "namespace": "default"}, "spec": {}}
    >>> print(config.get_pod_dns(pod).resolv_conf(), end="")
    search default.svc.cluster.local svc.cluster.local cluster.local
    nameserver 10.96.0.10
    options ndots:5

Upstream computes this whenever SyncPod creates a sandbox or starts
containers, so a pod in CrashLoopBackOff repeats its warning (``x9 over
...``); kubelearn's kubelet computes it once, when it admits the pod. The
runtime writes the file into the pod's sandbox, so it is there exactly while
the sandbox is, through kubelet restarts: ``kubelet.resolv_conf(pod_name)``, or
``cluster.exec(pod_name, "cat /etc/resolv.conf")`` as ``kubectl exec`` reads it.
The API server refuses a ``dnsConfig`` the resolver could not use (too many
nameservers or search domains, an option without a name: ``validate_pod_dns_config``
in :mod:`kubelearn.api.validation`), so every file written here is well formed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# dns.go defaultDNSOptions: what ClusterFirst pods get instead of the node's options.
DEFAULT_DNS_OPTIONS = ("ndots:5",)
# pkg/apis/core/validation MaxDNSNameservers (glibc's MAXNS).
MAX_DNS_NAMESERVERS = 3
# pkg/apis/core/validation MaxDNSSearchPaths and MaxDNSSearchListChars: 32 and 2048 since the
# ExpandedDNSConfig feature (GA in v1.28, gate removed in v1.30); 6 and 256 before.
MAX_DNS_SEARCH_PATHS = 32
MAX_DNS_SEARCH_LIST_CHARS = 2048
# apimachinery validation DNS1123SubdomainMaxLength: a longer search path is dropped ("some DNS
# resolvers (e.g. glibc 2.28) abort() on a search path exceeding 255 characters", dns.go).
DNS1123_SUBDOMAIN_MAX_LENGTH = 253
# KubeletConfiguration.resolvConf default (kubetypes.ResolvConfDefault).
RESOLV_CONF_DEFAULT = "/etc/resolv.conf"

# dns.go podDNSType.
POD_DNS_CLUSTER, POD_DNS_HOST, POD_DNS_NONE = "cluster", "host", "none"
# dns.go's event reasons and messages.
DNS_CONFIG_FORMING = "DNSConfigForming"
MISSING_CLUSTER_DNS = "MissingClusterDNS"
SEARCH_LIMITS_MESSAGE = ("Search Line limits were exceeded, some search paths have been omitted, "
                         "the applied search line is: {}")
NAMESERVER_LIMITS_MESSAGE = ("Nameserver limits were exceeded, some nameservers have been "
                             "omitted, the applied nameserver line is: {}")
MISSING_CLUSTER_DNS_MESSAGE = ('kubelet does not have ClusterDNS IP configured and cannot create '
                               'Pod using "ClusterFirst" policy. Falling back to "Default" policy.')

# Posts an event: (involved object reference, "Warning", reason, message).
EventSink = Callable[[Mapping[str, Any], str, str, str], None]


@dataclass(frozen=True)
class DNSConfig:
    """The CRI's DNSConfig: what the runtime writes into the pod's /etc/resolv.conf."""

    servers: tuple[str, ...] = ()
    searches: tuple[str, ...] = ()
    options: tuple[str, ...] = ()

    def resolv_conf(self) -> str:
        """The file, as containerd writes it (parseDNSOptions): search, nameservers, options."""
        lines = []
        if self.searches:
            lines.append("search " + " ".join(self.searches))
        lines += [f"nameserver {server}" for server in self.servers]
        if self.options:
            lines.append("options " + " ".join(self.options))
        return "".join(line + "\n" for line in lines)


def parse_resolv_conf(text: str) -> tuple[list[str], list[str], list[str], list[str]]:
    """parseResolvConf: nameservers (accumulate), searches and options (the last line wins).

    Returns ``(nameservers, searches, options, errors)``; a search domain's
    trailing dot is dropped so ``foo.`` and ``foo`` count once.
    """
    nameservers: list[str] = []
    searches: list[str] = []
    options: list[str] = []
    errors: list[str] = []
    for line in text.split("\n"):
        trimmed = line.strip()
        if trimmed.startswith("#"):
            continue
        fields = trimmed.split()
        if not fields:
            continue
        if fields[0] == "nameserver":
            if len(fields) >= 2:
                nameservers.append(fields[1])
            else:
                errors.append("nameserver list is empty ")
        elif fields[0] == "search":
            searches = [s.removesuffix(".") for s in fields[1:]]
        elif fields[0] == "options":
            options = fields[1:]
    return nameservers, searches, options, errors


def pod_dns_type(pod: Mapping[str, Any]) -> tuple[str, str | None]:
    """getPodDNSType: cluster, host or none (and an error for a policy the API should refuse)."""
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy")
    if policy == "None":
        return POD_DNS_NONE, None
    if policy == "ClusterFirstWithHostNet":
        return POD_DNS_CLUSTER, None
    if policy == "ClusterFirst":
        return (POD_DNS_HOST if spec.get("hostNetwork") else POD_DNS_CLUSTER), None
    if policy == "Default":
        return POD_DNS_HOST, None
    return POD_DNS_CLUSTER, f"invalid DNSPolicy={policy if policy is not None else ''}"


def omit_duplicates(values: Iterable[str]) -> list[str]:
    """omitDuplicates: the first of each, in order."""
    return list(dict.fromkeys(values))


def merge_dns_options(existing: Iterable[str], options: Iterable[Mapping[str, Any]]) -> list[str]:
    """mergeDNSOptions: the pod's ``dnsConfig.options`` override the ones of the same name.

    Upstream goes through a Go map, so its order varies from run to run; here
    the existing options keep their place and new ones follow in the pod's order.
    """
    merged: dict[str, str] = {}
    for option in existing:
        name, _, value = option.partition(":")
        merged[name] = value
    for option in options:
        value = option.get("value")
        merged[str(option.get("name") or "")] = "" if value is None else str(value)
    return [f"{name}:{value}" if value else name for name, value in merged.items()]


def append_dns_config(config: DNSConfig, pod_config: Mapping[str, Any]) -> DNSConfig:
    """appendDNSConfig: the pod's dnsConfig after what the policy gave, duplicates merged."""
    return DNSConfig(
        servers=tuple(omit_duplicates([*config.servers, *(pod_config.get("nameservers") or ())])),
        searches=tuple(omit_duplicates([*config.searches, *(pod_config.get("searches") or ())])),
        options=tuple(merge_dns_options(config.options, pod_config.get("options") or ())))


def fit_search_limits(searches: Sequence[str]) -> tuple[list[str], bool]:
    """formDNSSearchFitsLimits: at most 32 paths, none over 253 chars, a line of 2048 at most."""
    exceeded = False
    composed = list(searches)
    if len(composed) > MAX_DNS_SEARCH_PATHS:
        composed, exceeded = composed[:MAX_DNS_SEARCH_PATHS], True
    fitting = [s for s in composed if len(s) <= DNS1123_SUBDOMAIN_MAX_LENGTH]
    exceeded = exceeded or len(fitting) != len(composed)
    line = len(" ".join(fitting))
    if line > MAX_DNS_SEARCH_LIST_CHARS:
        cut = cut_length = 0  # drop domains from the end until the line fits
        for search in reversed(fitting):
            cut_length += len(search) + 1
            cut += 1
            if line - cut_length <= MAX_DNS_SEARCH_LIST_CHARS:
                break
        fitting, exceeded = fitting[:len(fitting) - cut], True
    return fitting, exceeded


def pod_ref(pod: Mapping[str, Any]) -> dict[str, Any]:
    """The ObjectReference a pod's events point at."""
    meta = pod.get("metadata") or {}
    return {"kind": "Pod", "namespace": meta.get("namespace") or "default",
            "name": meta.get("name"), "uid": meta.get("uid"), "apiVersion": "v1",
            "resourceVersion": meta.get("resourceVersion")}


class Configurer:
    """dns.Configurer: one node's DNS settings for the pods it runs.

    ``cluster_dns`` and ``cluster_domain`` are KubeletConfiguration's
    ``clusterDNS`` and ``clusterDomain``; ``resolver_config`` its
    ``resolvConf`` (a path; ``""``: no file), and ``host_resolv_conf`` what
    that file on the (simulated) node says. ``events`` posts the warnings
    (the kubelet's event recorder); ``node_ref`` is the node's reference.
    """

    def __init__(self, *, cluster_dns: Iterable[str] = (), cluster_domain: str = "",
                 resolver_config: str = RESOLV_CONF_DEFAULT, host_resolv_conf: str = "",
                 node_ips: Iterable[str] = (), events: EventSink | None = None,
                 node_ref: Mapping[str, Any] | None = None) -> None:
        self.cluster_dns = tuple(cluster_dns)
        self.cluster_domain = cluster_domain
        self.resolver_config = resolver_config
        self.host_resolv_conf = host_resolv_conf
        self.node_ips = tuple(node_ips)
        self.events = events
        self.node_ref = node_ref or {"kind": "Node", "name": "", "uid": ""}
        self._host: DNSConfig | None = None
        # Pods of one namespace mostly share one config: keep one copy of each.
        self._shared: dict[DNSConfig, DNSConfig] = {}

    def _warn(self, ref: Mapping[str, Any], reason: str, message: str) -> None:
        if self.events is not None:
            self.events(ref, "Warning", reason, message)

    def host_dns_config(self) -> DNSConfig:
        """getHostDNSConfig: the node's resolv.conf, parsed (empty if there is none)."""
        if self._host is None:
            servers, searches, options, _ = parse_resolv_conf(
                self.host_resolv_conf if self.resolver_config else "")
            self._host = DNSConfig(tuple(servers), tuple(searches), tuple(options))
        return self._host

    def cluster_searches(self, host_searches: Iterable[str], namespace: str) -> list[str]:
        """generateSearchesForDNSClusterFirst: the namespace's, the cluster's, then the node's."""
        if not self.cluster_domain:
            return list(host_searches)
        domain = self.cluster_domain
        return omit_duplicates([f"{namespace}.svc.{domain}", f"svc.{domain}", domain,
                                *host_searches])

    def get_pod_dns(self, pod: Mapping[str, Any]) -> DNSConfig:
        """GetPodDNS: the policy's settings, the pod's dnsConfig merged in, cut to the limits."""
        config = self.host_dns_config()
        dns_type, _ = pod_dns_type(pod)  # an invalid policy: ClusterFirst (upstream logs it)
        meta = pod.get("metadata") or {}
        if dns_type == POD_DNS_NONE:
            config = DNSConfig()
        elif dns_type == POD_DNS_CLUSTER and self.cluster_dns:
            # The cluster DNS is the pod's only nameserver; it forwards what it cannot answer.
            config = DNSConfig(self.cluster_dns, tuple(self.cluster_searches(
                config.searches, str(meta.get("namespace") or ""))), DEFAULT_DNS_OPTIONS)
        else:
            if dns_type == POD_DNS_CLUSTER:  # no clusterDNS configured: fall back to Default
                self._warn(self.node_ref, MISSING_CLUSTER_DNS, MISSING_CLUSTER_DNS_MESSAGE)
                self._warn(pod_ref(pod), MISSING_CLUSTER_DNS,
                           f'pod: "{format_pod(pod)}". {MISSING_CLUSTER_DNS_MESSAGE}')
            if not self.resolver_config:
                # --resolv-conf="": "the nameserver on the local machine", no search.
                servers = tuple("::1" if ":" in ip else "127.0.0.1" for ip in self.node_ips)
                config = DNSConfig(servers or ("127.0.0.1",), (".",), config.options)
        dns_config = (pod.get("spec") or {}).get("dnsConfig")
        if isinstance(dns_config, Mapping):
            config = append_dns_config(config, dns_config)
        return self.fit_limits(config, pod)

    def fit_limits(self, config: DNSConfig, pod: Mapping[str, Any]) -> DNSConfig:
        """formDNSConfigFitsLimits: cut nameservers and searches, warning on the pod if cut."""
        servers = config.servers
        if len(servers) > MAX_DNS_NAMESERVERS:
            servers = servers[:MAX_DNS_NAMESERVERS]
            self._warn(pod_ref(pod), DNS_CONFIG_FORMING,
                       NAMESERVER_LIMITS_MESSAGE.format(" ".join(servers)))
        searches, exceeded = fit_search_limits(config.searches)
        if exceeded:
            self._warn(pod_ref(pod), DNS_CONFIG_FORMING,
                       SEARCH_LIMITS_MESSAGE.format(" ".join(searches)))
        fitted = DNSConfig(tuple(servers), tuple(searches), config.options)
        return self._shared.setdefault(fitted, fitted)


def format_pod(pod: Mapping[str, Any]) -> str:
    """format.Pod: ``name_namespace(uid)``."""
    meta = pod.get("metadata") or {}
    return f"{meta.get('name')}_{meta.get('namespace') or 'default'}({meta.get('uid') or ''})"

