"""The cluster DNS: kubelearn's CoreDNS, turning ``redis`` into a Service's address.

A docker compose user's ``web`` container reached ``redis`` by name; in
Kubernetes the name is answered by the cluster DNS. kubeadm (v1.32) installs
CoreDNS v1.11.3 as the ``coredns`` Deployment in ``kube-system``, behind the
Service ``kube-system/kube-dns`` at the 10th address of the service CIDR,
**10.96.0.10** -- the address every kubelet writes into every pod's
``/etc/resolv.conf`` (:mod:`kubelearn.kubelet.dns`). Its configuration is the
Corefile kubeadm writes (cmd/kubeadm/app/phases/addons/dns/manifests.go)::

    .:53 {
        errors
        health {
           lameduck 5s
        }
        ready
        kubernetes cluster.local in-addr.arpa ip6.arpa {
           pods insecure
           fallthrough in-addr.arpa ip6.arpa
           ttl 30
        }
        prometheus :9153
        forward . /etc/resolv.conf {
           max_concurrent 1000
        }
        cache 30 {
           disable success cluster.local
           disable denial cluster.local
        }
        loop
        reload
        loadbalance
    }

What each line does here: ``kubernetes`` answers the cluster's names from
its informer caches, with TTL 30; ``pods insecure`` answers
``a-b-c-d.<ns>.pod.cluster.local`` from the name alone; ``fallthrough`` hands
reverse names it does not know to the next plugin; ``forward`` sends every
other name upstream -- here a small simulated internet (kubelearn has no
network), see ``upstream``; ``cache 30`` caps every answer's TTL to between 5
and 30 s and, since v1.32, no longer caches cluster.local answers, so a
changed Service is seen at once; ``loadbalance`` shuffles the order of A
records; ``prometheus`` is :attr:`ClusterDNS.responses` (a count per rcode, as
``coredns_dns_responses_total``). ``errors``, ``health``, ``ready``, ``loop``
and ``reload`` have nothing to do in a simulation.

What it answers -- the Kubernetes DNS specification (kubernetes/dns
docs/specification.md, schema 1.1.0) as the ``kubernetes`` plugin implements
it (coredns plugin/kubernetes, v1.11.3):

==============================================  ================================================
name                                            answer
==============================================  ================================================
``<svc>.<ns>.svc.cluster.local``                A: the ClusterIP; headless (``clusterIP:
                                                None``): the ready endpoints' addresses (all
                                                of them if ``publishNotReadyAddresses``); no
                                                ready endpoint: NXDOMAIN
``<hostname>.<svc>.<ns>.svc.cluster.local``     A: that endpoint (its ``hostname``, else its
                                                address with dashes: ``10-244-1-5``)
``_<port>._<proto>.<svc>.<ns>.svc...``          SRV ``0 <weight> <port> <target>`` per named
                                                port (headless: per endpoint), weight
                                                ``100 / n``
``<svc>`` of type ExternalName                  CNAME to ``externalName`` (and its addresses)
``a-b-c-d.<ns>.pod.cluster.local``              A: a.b.c.d
``d.c.b.a.in-addr.arpa``                        PTR: the Service (or endpoint) with that IP
anything else under cluster.local               NXDOMAIN (NOERROR with no records where the
                                                name exists: ``<ns>.svc.cluster.local``)
any other name                                  forwarded upstream
==============================================  ================================================

Like every component, it learns all this from the API server: a client as
ServiceAccount ``kube-system/coredns``, allowed by kubeadm's ClusterRole
``system:coredns`` (list/watch endpoints, services, pods, namespaces;
endpointslices), and informers on Services, EndpointSlices and Namespaces --
a name in a namespace that does not exist is NXDOMAIN. Pods are watched only
with ``pods verified``; ``pods insecure`` needs no pod at all. Until its
caches have synced, a name it cannot find is SERVFAIL rather than NXDOMAIN.

**One deliberate difference from kubeadm.** A real cluster runs CoreDNS as two
pods (Deployment ``coredns``), and ``kube-dns`` selects them (``selector:
k8s-app: kube-dns``): ``kubectl get endpointslices -n kube-system`` shows two
pod IPs, which kube-proxy's rules load-balance the pods' queries to.
kubelearn runs no add-on pods -- the scheduler, the controllers and the DNS
run beside the API server, on the control-plane machine (172.18.0.2) -- so
:func:`addon_manifests` gives ``kube-dns`` no selector and one endpoint, that
machine's address, written as the API server writes the ``kubernetes``
Service's. The Service, its ClusterIP, ports, labels, the ServiceAccount,
ClusterRole, ClusterRoleBinding and the Corefile ConfigMap are kubeadm's.

:meth:`ClusterDNS.lookup` is the other end: a program in a pod calling
``getaddrinfo("redis")``. glibc's stub resolver reads the pod's resolv.conf:
a name with fewer dots than ``ndots`` (5) is tried with each search domain
first and as given last; so ``redis`` from a pod in ``default`` is answered at
``redis.default.svc.cluster.local`` on the first try, and ``google.com`` costs
three NXDOMAINs before the query that works.

    >>> lookup = dns.lookup("redis", namespace="default")           # doctest: +SKIP
    >>> lookup.steps()                                              # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kubelearn.apiserver.endpointsreconciler import CONTROL_PLANE_IP, endpoints_for
from kubelearn.apiserver.server import SERVICE_CIDR
from kubelearn.client import Client
from kubelearn.controllers.informer import SharedInformerFactory
from kubelearn.kubelet.config import KubeletConfig
from kubelearn.kubelet.dns import Configurer
from kubelearn.sim import Simulation

COMPONENT = "coredns"
# kubeadm's add-on objects (cmd/kubeadm/app/phases/addons/dns/manifests.go, v1.32).
NAMESPACE = "kube-system"
SERVICE_NAME = "kube-dns"
SERVICE_ACCOUNT = "coredns"
CLUSTER_ROLE = "system:coredns"
CONFIG_MAP = "coredns"
# kubeadm's networking.dnsDomain default (constants.DefaultServiceDNSDomain).
CLUSTER_DOMAIN = "cluster.local"
# constants.GetDNSIP: the DNS Service gets the 10th address of the service CIDR.
DNS_IP_INDEX = 10
# The control-plane machine, where kubelearn runs the DNS (kind's first docker address).
CONTROL_PLANE_ADDRESS = CONTROL_PLANE_IP

# The Corefile's `ttl 30`; the plugin's own default is 5 (plugin/kubernetes defaultTTL).
TTL = 30
# `cache 30`: every answer's TTL is capped at 30 s, and raised to at least 5 s
# (plugin/cache computeTTL, minTTL = dnsutil.MinimalDefaultTTL).
CACHE_MAX_TTL = 30
CACHE_MIN_TTL = 5
# plugin/kubernetes DNSSchemaVersion, served as TXT dns-version.<zone> with TTL 28800.
DNS_SCHEMA_VERSION = "1.1.0"
DNS_VERSION_TTL = 28800
# plugin/backend_lookup.go SOA: refresh, retry, expire; its TTL is min(ttl, 300).
SOA_TIMERS = (7200, 1800, 86400)
REVERSE_ZONES = ("in-addr.arpa.", "ip6.arpa.")
# The simulated internet behind `forward`: names and addresses from the documentation ranges
# (RFC 5737), with a TTL of their own. Pass ClusterDNS(upstream=...) for others.
UPSTREAM_TTL = 300
DEFAULT_UPSTREAM = {"example.com": ("192.0.2.10",), "example.org": ("192.0.2.11",),
                    "google.com": ("203.0.113.14",), "pypi.org": ("203.0.113.26",),
                    "registry-1.docker.io": ("198.51.100.20", "198.51.100.21")}

# Answers kept for repeated queries; emptied by any change the informers bring.
MEMO_LIMIT = 10_000
# glibc: RES_MAXNDOTS caps the ndots option; without one, ndots is 1 (res_init.c).
RES_MAXNDOTS = 15
RES_DEFAULT_NDOTS = 1
MAXNS = 3  # glibc reads at most three nameservers
# RFC 1035 2.3.4: 63 octets a label, 255 a name on the wire.
MAX_LABEL = 63
MAX_NAME = 255

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, REFUSED = (
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "REFUSED")
# Not an rcode: no answer came back (connection refused; glibc's TRY_AGAIN).
UNREACHABLE = "UNREACHABLE"
QTYPES = frozenset({"A", "NS", "CNAME", "SOA", "PTR", "HINFO", "MX", "TXT", "AAAA", "SRV",
                    "NAPTR", "DS", "RRSIG", "NSEC", "DNSKEY", "SVCB", "HTTPS", "CAA", "ANY",
                    "AXFR", "IXFR"})
_GENERIC_TYPE = re.compile(r"TYPE\d{1,5}")

# plugin/kubernetes's name errors (IsNameError): NXDOMAIN, or fall through.
_NO_ITEMS = "no items found"
_NS_NOT_EXPOSED = "namespace is not exposed"
_INVALID_REQUEST = "invalid query name"


class Record(NamedTuple):
    """One resource record of an answer, as dig prints it."""

    name: str
    type: str
    ttl: int
    data: str

    def __str__(self) -> str:
        return f"{self.name}\t{self.ttl}\tIN\t{self.type}\t{self.data}"


class Answer(NamedTuple):
    """What the server said: an rcode and the answer section."""

    rcode: str
    records: tuple[Record, ...] = ()

    @property
    def addresses(self) -> list[str]:
        """The A and AAAA records' addresses, in order."""
        return [r.data for r in self.records if r.type in ("A", "AAAA")]


# -- the plugin's view of Services and EndpointSlices (plugin/kubernetes/object) ------------------

class _Port(NamedTuple):
    name: str
    protocol: str
    port: int  # -1: the object declares no port (the plugin's sentinel)


class _Service(NamedTuple):
    """object.Service: what the plugin keeps of a Service."""

    namespace: str
    name: str
    type: str
    cluster_ips: tuple[str, ...]
    ports: tuple[_Port, ...]
    external_name: str

    @property
    def headless(self) -> bool:
        return self.cluster_ips[:1] == ("None",)


class _Address(NamedTuple):
    ip: str
    hostname: str


class _Slice(NamedTuple):
    """object.Endpoints made from an EndpointSlice: its ready addresses and its ports."""

    service: str  # "<service>.<namespace>", the plugin's index
    addresses: tuple[_Address, ...]
    ports: tuple[_Port, ...]


class _Target(NamedTuple):
    """msg.Service: one thing a name resolves to -- an address or a name -- and where."""

    host: str
    port: int
    domain: str  # the FQDN SRV records point at for it


class _Request(NamedTuple):
    """parse.go recordRequest: the parts of a name under the zone."""

    port: str = ""
    protocol: str = ""
    endpoint: str = ""
    service: str = ""
    namespace: str = ""
    pod_or_svc: str = ""


def service_view(svc: Mapping[str, Any]) -> _Service:
    """object.ToService."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    ips = tuple(spec.get("clusterIPs") or (spec.get("clusterIP") or "",))
    ports = tuple(_Port(str(p.get("name") or ""), str(p.get("protocol") or ""),
                        int(p.get("port") or 0)) for p in spec.get("ports") or ())
    return _Service(str(meta.get("namespace") or ""), str(meta.get("name") or ""),
                    str(spec.get("type") or "ClusterIP"), ips or ("",),
                    ports or (_Port("", "", -1),), str(spec.get("externalName") or ""))


def slice_view(eps: Mapping[str, Any]) -> _Slice:
    """object.EndpointSliceToEndpoints: ready endpoints only (an unknown readiness is ready)."""
    meta = eps.get("metadata") or {}
    service = (meta.get("labels") or {}).get("kubernetes.io/service-name", "")
    ports = tuple(_Port(str(p.get("name") or ""), str(p.get("protocol") or ""),
                        -1 if p.get("port") is None else int(p["port"]))
                  for p in eps.get("ports") or ())
    addresses = []
    for endpoint in eps.get("endpoints") or ():
        if (endpoint.get("conditions") or {}).get("ready") is False:
            continue
        for ip in endpoint.get("addresses") or ():
            addresses.append(_Address(str(ip), str(endpoint.get("hostname") or "")))
    return _Slice(f"{service}.{meta.get('namespace') or ''}", tuple(addresses),
                  ports or (_Port("", "", -1),))


def endpoint_hostname(address: _Address) -> str:
    """endpointHostname: its hostname, else its IP with dashes (10-244-1-5)."""
    if address.hostname:
        return address.hostname
    return address.ip.replace(".", "-").replace(":", "-")


def _host_type(host: str) -> str:
    """msg.Service.HostType: an IPv4 address is A, IPv6 AAAA, anything else a CNAME target."""
    try:
        return "A" if ipaddress.ip_address(host).version == 4 else "AAAA"
    except ValueError:
        return "CNAME"


def _fqdn(name: str) -> str:
    return name if name.endswith(".") else name + "."


def _in_zone(name: str, zone: str) -> bool:
    """dns.IsSubDomain(zone, name), lower-case names with the trailing dot."""
    return name == zone or name.endswith("." + zone)


def name_problem(name: str) -> str:
    """Why ``name`` cannot go in a DNS query (RFC 1035 2.3.4), or ``""`` if it can."""
    if name in ("", "."):
        return ""
    labels = name.removesuffix(".").split(".")
    if any(not label for label in labels):
        return f"empty label in {name!r}"
    lengths = [len(label.encode()) for label in labels]
    if max(lengths) > MAX_LABEL:
        return f"label longer than {MAX_LABEL} octets"
    if sum(lengths) + len(lengths) + 1 > MAX_NAME:
        return f"name longer than {MAX_NAME} octets"
    return ""


def type_problem(qtype: Any) -> str:
    """Why ``qtype`` is no query type (``""`` if it is one): a mnemonic or ``TYPE<n>``."""
    if not isinstance(qtype, str):
        return "not a type"
    upper = qtype.upper()
    return "" if upper in QTYPES or _GENERIC_TYPE.fullmatch(upper) else f"no type {qtype!r}"


def parse_request(name: str, zone: str) -> tuple[_Request, str | None]:
    """parseRequest: ``[_port._proto.|endpoint.]service.namespace.(svc|pod).<zone>``."""
    base = name[:-len(zone)].removesuffix(".") if name != zone else ""
    if base in ("", "svc", "pod"):
        return _Request(), None  # NODATA for the apex and the two subtrees
    segs = base.split(".")
    pod_or_svc = segs.pop()
    if pod_or_svc not in ("svc", "pod"):
        return _Request(), _INVALID_REQUEST
    if not segs:
        return _Request(pod_or_svc=pod_or_svc), None
    namespace = segs.pop()
    service = segs.pop() if segs else ""
    if not segs:
        return _Request(service=service, namespace=namespace, pod_or_svc=pod_or_svc), None
    if len(segs) == 1:
        return _Request(endpoint=segs[0], service=service, namespace=namespace,
                        pod_or_svc=pod_or_svc), None
    if len(segs) == 2:
        return _Request(port=segs[0].removeprefix("_"), protocol=segs[1].removeprefix("_"),
                        service=service, namespace=namespace, pod_or_svc=pod_or_svc), None
    return _Request(), _INVALID_REQUEST  # too long to mean anything


def _match_port(request: _Request, port: _Port) -> bool:
    """matchPortAndProtocol: an empty part of the request matches anything."""
    return ((not request.port or request.port == port.name.lower())
            and (not request.protocol or request.protocol == port.protocol.lower()))


def reverse_address(name: str) -> str:
    """dnsutil.ExtractAddressFromReverse: 4.3.2.1.in-addr.arpa. -> 1.2.3.4 (or "")."""
    try:
        if name.endswith(".in-addr.arpa."):
            parts = name[:-len(".in-addr.arpa.")].split(".")
            return str(ipaddress.IPv4Address(".".join(reversed(parts))))
        if name.endswith(".ip6.arpa."):
            nibbles = "".join(reversed(name[:-len(".ip6.arpa.")].split(".")))
            if len(nibbles) != 32:
                return ""
            return str(ipaddress.IPv6Address(int(nibbles, 16)))
    except ValueError:
        pass
    return ""


def _cap_ttl(records: list[Record]) -> tuple[Record, ...]:
    """The cache plugin's reply: every record's TTL the message's lowest, kept within 5..30 s."""
    if not records:
        return ()
    ttl = min(max(min(r.ttl for r in records), CACHE_MIN_TTL), CACHE_MAX_TTL)
    return tuple(r if r.ttl == ttl else r._replace(ttl=ttl) for r in records)


# -- the stub resolver's side ---------------------------------------------------------------------

class ResolvConf(NamedTuple):
    """What glibc's resolver takes from /etc/resolv.conf (res_init.c)."""

    nameservers: tuple[str, ...]
    search: tuple[str, ...]
    ndots: int

    @classmethod
    def parse(cls, text: str) -> ResolvConf:
        """``nameserver`` lines (three at most), ``search``/``domain`` (the last wins), ndots."""
        nameservers: list[str] = []
        search: list[str] = []
        ndots = RES_DEFAULT_NDOTS
        for line in text.splitlines():
            fields = line.split()
            if not fields or fields[0][0] in "#;":
                continue
            if fields[0] == "nameserver" and len(fields) > 1 and len(nameservers) < MAXNS:
                nameservers.append(fields[1])
            elif fields[0] == "search":
                search = fields[1:]
            elif fields[0] == "domain" and len(fields) > 1:
                search = fields[1:2]
            elif fields[0] == "options":
                for option in fields[1:]:
                    if option.startswith("ndots:") and option[6:].isdigit():
                        ndots = min(int(option[6:]), RES_MAXNDOTS)
        return cls(tuple(nameservers), tuple(search), ndots)


class Query(NamedTuple):
    """One query the stub resolver sent (or could not send), and what came back."""

    name: str
    type: str
    server: str
    rcode: str
    answer: str
    answered_by: str  # the plugin that answered: kubernetes, forward; or upstream
    note: str = ""


@dataclass(repr=False)
class Lookup:
    """A program's lookup of one name: the answer and every query it took."""

    name: str
    type: str
    rcode: str
    records: tuple[Record, ...]
    queries: list[Query]
    resolv_conf: ResolvConf = field(repr=False)

    @property
    def addresses(self) -> list[str]:
        """The addresses found (what getaddrinfo would return)."""
        return [r.data for r in self.records if r.type in ("A", "AAAA")]

    @property
    def answered_as(self) -> str:
        """The name the answer was found under (``""`` if none was)."""
        return self.queries[-1].name if self.records else ""

    def __repr__(self) -> str:
        found = f"{self.answered_as} {self.addresses or [r.data for r in self.records]}" \
            if self.records else "nothing"
        return (f"Lookup({self.name!r} {self.type}: {self.rcode}, {found}, "
                f"{len(self.queries)} {'query' if len(self.queries) == 1 else 'queries'})")

    def steps(self):  # -> pandas.DataFrame
        """The queries in order: name, type, server, rcode, answer, answered_by, note."""
        import pandas as pd

        return pd.DataFrame(self.queries, columns=list(Query._fields))


# -- the server -----------------------------------------------------------------------------------

class ClusterDNS:
    """The cluster DNS server (CoreDNS with kubeadm's Corefile), a client of the API server.

    ``client`` should act as ``system:serviceaccount:kube-system:coredns``
    (:func:`addon_manifests` grants it ``system:coredns``). ``cluster_domain``
    is the ``kubernetes`` plugin's zone, ``ttl`` its ``ttl``; ``service_ip``
    the kube-dns ClusterIP pods are told to use (10.96.0.10) and ``address``
    the machine it runs on; ``upstream`` maps outside names to addresses (the
    simulated internet ``forward`` reaches). Call :meth:`start` to list and watch.
    """

    def __init__(self, sim: Simulation, client: Client, *, cluster_domain: str = CLUSTER_DOMAIN,
                 ttl: int = TTL, service_ip: str | None = None,
                 address: str = CONTROL_PLANE_ADDRESS,
                 upstream: Mapping[str, str | Iterable[str]] | None = None,
                 informers: SharedInformerFactory | None = None) -> None:
        self.sim = sim
        self.client = client
        self.domain = cluster_domain.strip(".").lower()
        self.zone = self.domain + "."
        self.zones = (self.zone, *REVERSE_ZONES)
        self.ttl = ttl
        self.service_ip = service_ip or dns_ip()
        self.address = address
        self.upstream = {name.strip(".").lower(): (addrs,) if isinstance(addrs, str)
                         else tuple(addrs)
                         for name, addrs in (DEFAULT_UPSTREAM if upstream is None
                                             else upstream).items()}
        self.synced = False
        self.modified = 0.0  # when the caches last changed (the SOA serial)
        self.responses: dict[str, int] = {}  # coredns_dns_responses_total, by rcode
        self._services: dict[str, _Service] = {}  # "<name>.<namespace>" -> the Service
        self._slices: dict[str, _Slice] = {}  # "<namespace>/<slice>" -> the slice
        self._by_service: dict[str, dict[str, _Slice]] = {}  # "<svc>.<ns>" -> its slices
        self._namespaces: set[str] = set()
        self._answers: dict[tuple[Any, Any], Answer] = {}
        # (name, namespace) -> the rcodes of the queries a lookup sent, and its answer
        self._resolved: dict[tuple[str, str], tuple[tuple[str, ...], Answer | None]] = {}
        self._resolv_confs: dict[str, ResolvConf] = {}  # by the file's text
        self._namespace_confs: dict[str, ResolvConf] = {}  # a ClusterFirst pod's, by namespace
        self._rng = sim.rng(COMPONENT)
        self._pods = Configurer(cluster_dns=(self.service_ip,), cluster_domain=self.domain,
                                host_resolv_conf=KubeletConfig().host_resolv_conf)
        self.informers = informers or SharedInformerFactory(sim, client)
        self.informers.informer("services").add_event_handler(
            self._put_service, lambda _old, new: self._put_service(new), self._drop_service)
        self.informers.informer("endpointslices").add_event_handler(
            self._put_slice, lambda _old, new: self._put_slice(new), self._drop_slice)
        self.informers.informer("namespaces").add_event_handler(
            self._put_namespace, lambda _old, new: self._put_namespace(new),
            self._drop_namespace)

    def __repr__(self) -> str:
        return (f"ClusterDNS({self.service_ip}, zone {self.domain}, "
                f"{len(self._services)} services, {sum(self.responses.values())} answers)")

    def start(self) -> None:
        """List and watch Services, EndpointSlices and Namespaces; then answer from the caches."""
        self.informers.start()
        self.synced = True
        self._changed()
        self.sim.record(COMPONENT, "Started", f"service/{NAMESPACE}/{SERVICE_NAME}",
                        f"serving {self.domain} on {self.service_ip}:53 "
                        f"({len(self._services)} services in {len(self._namespaces)} namespaces)")

    # -- the informers' handlers: keep the plugin's view ---------------------------------------
    def _changed(self) -> None:
        self._answers.clear()
        self._resolved.clear()
        self.modified = self.sim.now

    def _put_service(self, svc: Mapping[str, Any]) -> None:
        view = service_view(svc)
        self._services[f"{view.name}.{view.namespace}"] = view
        self._changed()

    def _drop_service(self, svc: Mapping[str, Any]) -> None:
        view = service_view(svc)
        self._services.pop(f"{view.name}.{view.namespace}", None)
        self._changed()

    def _put_slice(self, eps: Mapping[str, Any]) -> None:
        self._drop_slice(eps)
        key = f"{eps['metadata'].get('namespace')}/{eps['metadata'].get('name')}"
        view = self._slices[key] = slice_view(eps)
        self._by_service.setdefault(view.service, {})[key] = view

    def _drop_slice(self, eps: Mapping[str, Any]) -> None:
        key = f"{eps['metadata'].get('namespace')}/{eps['metadata'].get('name')}"
        old = self._slices.pop(key, None)
        if old is not None:
            mine = self._by_service.get(old.service, {})
            mine.pop(key, None)
            if not mine:
                self._by_service.pop(old.service, None)
        self._changed()

    def _put_namespace(self, ns: Mapping[str, Any]) -> None:
        self._namespaces.add(str(ns["metadata"].get("name")))
        self._changed()

    def _drop_namespace(self, ns: Mapping[str, Any]) -> None:
        self._namespaces.discard(str(ns["metadata"].get("name")))
        self._changed()

    # -- answering ------------------------------------------------------------------------------
    def query(self, name: str, qtype: str = "A") -> Answer:
        """One DNS query, as a client sends it to 10.96.0.10: an :class:`Answer`.

        ``name`` is absolute (``redis.default.svc.cluster.local``; the trailing
        dot is optional). A name no query can carry (a label over 63 octets,
        an empty label, over 255 octets) or an unknown type is FORMERR.
        """
        key = (name, qtype)
        try:
            answer = self._answers.get(key)
        except TypeError:  # not even hashable: certainly not a name
            key, answer = None, Answer(FORMERR)
        if answer is None:
            answer = self._resolve(name, qtype)
            if len(self._answers) >= MEMO_LIMIT:
                self._answers.clear()
            self._answers[key] = answer
        self.responses[answer.rcode] = self.responses.get(answer.rcode, 0) + 1
        if len(answer.records) > 1 and answer.rcode == NOERROR:
            return Answer(NOERROR, self._load_balance(answer.records))
        return answer

    def _resolve(self, name: Any, qtype: Any) -> Answer:
        if not isinstance(name, str) or type_problem(qtype) or name_problem(name):
            return Answer(FORMERR)
        qtype = qtype.upper()
        qname = _fqdn(name)
        lower = qname.lower()
        zone = max((z for z in self.zones if _in_zone(lower, z)), key=len, default=None)
        if zone is None:
            return self._forward(qname, lower, qtype)
        return self._kubernetes(qname, lower, zone, qtype)

    def _kubernetes(self, qname: str, lower: str, zone: str, qtype: str) -> Answer:
        """handler.go ServeDNS: the records for the type, or a name error."""
        records: list[Record] = []
        error: str | None = None
        if qtype in ("A", "AAAA"):
            records, error = self._address_records(qname, lower, zone, qtype, [])
        elif qtype == "SRV":
            records, error = self._srv(qname, lower, zone)
        elif qtype == "CNAME":
            targets, error = self._services_for(lower, zone, qtype)
            if targets and _host_type(targets[0].host) == "CNAME":
                records = [Record(qname, "CNAME", self.ttl, _fqdn(targets[0].host))]
        elif qtype == "TXT":
            records, error = self._txt(qname, lower, zone)
        elif qtype == "PTR":
            records, error = self._ptr(qname, lower, zone)
        elif qtype == "SOA":
            records = [self._soa()] if lower == zone else []
        elif qtype in ("AXFR", "IXFR"):
            return Answer(REFUSED)
        elif qtype == "NS" and lower == zone:
            records = [Record(qname, "NS", self.ttl, domain)
                       for domain in dict.fromkeys(t.domain for t in self._ns_targets())]
        else:  # a fake A lookup tells NODATA from NXDOMAIN
            _, error = self._address_records(qname, lower, zone, "A", [])
        if error is not None:
            if zone in REVERSE_ZONES:  # fallthrough in-addr.arpa ip6.arpa
                return self._forward(qname, lower, qtype)
            return Answer(NXDOMAIN if self.synced else SERVFAIL)
        return Answer(NOERROR, _cap_ttl(records))

    # -- plugin/kubernetes: from a name to Services, endpoints, pods ----------------------------
    def _records(self, lower: str, zone: str) -> tuple[list[_Target], str | None]:
        """Kubernetes.Records: parse the name, check the namespace, find pods or services."""
        request, error = parse_request(lower, zone)
        if error is not None:
            return [], error
        if not request.pod_or_svc:
            return [], None
        if zone in REVERSE_ZONES:
            return [], _NO_ITEMS
        if request.namespace not in self._namespaces:
            return [], _NS_NOT_EXPOSED
        if request.pod_or_svc == "pod":
            return self._find_pods(request, zone)
        return self._find_services(request, zone)

    def _find_pods(self, request: _Request, zone: str) -> tuple[list[_Target], str | None]:
        """findPods, ``pods insecure``: the address is read from the name, no pod is looked up."""
        name = request.service
        if not name:
            return [], None
        if name.count("-") == 3 and "--" not in name:
            ip = name.replace("-", ".")
        else:
            ip = name.replace("-", ":")
        try:
            ip = str(ipaddress.ip_address(ip))
        except ValueError:
            return [], _NO_ITEMS
        return [_Target(ip, 0, f"{name}.{request.namespace}.pod.{zone}")], None

    def _find_services(self, request: _Request, zone: str) -> tuple[list[_Target], str | None]:
        """findServices: ExternalName, endpoints (headless, or a named endpoint), ClusterIPs."""
        if not request.service:
            return [], None
        key = f"{request.service}.{request.namespace}"
        svc = self._services.get(key)
        if svc is None:
            return [], _NO_ITEMS
        domain = f"{svc.name}.{svc.namespace}.svc.{zone}"
        if svc.type == "ExternalName":
            if request.endpoint or request.port or request.protocol:
                return [], _NO_ITEMS
            if _host_type(svc.external_name) != "CNAME":
                return [], _NO_ITEMS
            return [_Target(svc.external_name, 0, domain)], None
        targets: list[_Target] = []
        if svc.headless or request.endpoint:
            for eps in self._by_service.get(key, {}).values():
                for address in eps.addresses:
                    hostname = endpoint_hostname(address)
                    if request.endpoint and request.endpoint != hostname.lower():
                        continue
                    targets += [_Target(address.ip, port.port, f"{hostname}.{domain}")
                                for port in eps.ports if _match_port(request, port)]
            return targets, (None if targets else _NO_ITEMS)
        matched = False
        for port in svc.ports:
            if _match_port(request, port):
                matched = True
                targets += [_Target(ip, port.port, domain) for ip in svc.cluster_ips]
        return targets, (None if matched else _NO_ITEMS)

    def _services_for(self, lower: str, zone: str, qtype: str) -> tuple[list[_Target], str | None]:
        """Kubernetes.Services: ns.dns.<zone>, then Records (SRV leaves out CNAME targets)."""
        if lower == f"ns.dns.{zone}":
            return self._ns_targets(), None
        targets, error = self._records(lower, zone)
        if qtype == "SRV":
            targets = [t for t in targets if _host_type(t.host) != "CNAME"]
        return targets, error

    def _ns_targets(self) -> list[_Target]:
        """nsAddrs: the Services whose endpoints are this machine, else the machine itself.

        Upstream that is kube-dns, whose endpoints are the CoreDNS pods. Here the
        machine also serves the API server, so ``kubernetes`` is left out.
        """
        targets = []
        for eps in self._slices.values():
            if eps.service == f"{SERVICE_NAME}.{NAMESPACE}" and any(
                    a.ip == self.address for a in eps.addresses):
                svc = self._services.get(eps.service)
                if svc is not None:
                    domain = f"{svc.name}.{svc.namespace}.svc.{self.zone}"
                    targets += [_Target(ip, 0, domain) for ip in svc.cluster_ips
                                if ip not in ("", "None")]
        return targets or [_Target(self.address, 0, f"ns.dns.{self.zone}")]

    # -- plugin/backend_lookup.go: from targets to records --------------------------------------
    def _address_records(self, qname: str, lower: str, zone: str, qtype: str,
                         previous: list[Record]) -> tuple[list[Record], str | None]:
        """A / AAAA: addresses (each once), CNAMEs followed inside the zone or upstream."""
        targets, error = self._services_for(lower, zone, qtype)
        if error is not None:
            return [], error
        records: list[Record] = []
        seen: set[str] = set()
        for target in targets:
            kind = _host_type(target.host)
            if kind == qtype and target.host not in seen:
                seen.add(target.host)
                records.append(Record(qname, qtype, self.ttl, target.host))
            elif kind == "CNAME":
                records += self._follow_cname(qname, lower, zone, qtype, target.host, previous)
        return records, None

    def _follow_cname(self, qname: str, lower: str, zone: str, qtype: str, host: str,
                      previous: list[Record]) -> list[Record]:
        """A CNAME and what its target resolves to (nothing if that loops or goes nowhere)."""
        target = _fqdn(host)
        if _in_zone(target.lower(), lower) or len(previous) > 7:
            return []  # x CNAME x (or a name under x) loops; more than 8 hops is enough
        cname = Record(qname, "CNAME", self.ttl, target)
        if any(r.name == cname.name and r.data == cname.data for r in previous):
            return []
        if _in_zone(target.lower(), zone):
            found, error = self._address_records(target, target.lower(), zone, qtype,
                                                 [*previous, cname])
            return [cname, *found] if error is None and found else []
        return [cname, *self._forward(target, target.lower(), qtype).records]

    def _srv(self, qname: str, lower: str, zone: str) -> tuple[list[Record], str | None]:
        """SRV: one per port (headless: per endpoint and port), weight 100/n, priority 0."""
        targets, error = self._services_for(lower, zone, "SRV")
        if error is not None:
            return [], error
        total = 100 * len(targets)  # every target weighs 100, ports of -1 included
        records, seen = [], set()
        for target in targets:
            if target.port == -1:
                continue
            weight = max(1, math.floor(100.0 / total * 100))
            if (target.domain, target.port) not in seen:
                seen.add((target.domain, target.port))
                records.append(Record(qname, "SRV", self.ttl,
                                      f"0 {weight} {target.port} {target.domain}"))
        return records, None

    def _txt(self, qname: str, lower: str, zone: str) -> tuple[list[Record], str | None]:
        """TXT: the schema version at dns-version.<zone>; NODATA where other records exist."""
        if lower == f"dns-version.{zone}":
            return [Record(qname, "TXT", DNS_VERSION_TTL, DNS_SCHEMA_VERSION)], None
        targets, _ = self._records(lower, zone)
        return [], (None if targets else _NO_ITEMS)

    def _ptr(self, qname: str, lower: str, zone: str) -> tuple[list[Record], str | None]:
        """PTR: the Service with that ClusterIP, else the endpoints with that address."""
        ip = reverse_address(lower)
        if not ip:
            _, error = self._records(lower, zone)
            return [], error
        names: list[str] = []
        for svc in self._services.values():
            if ip in svc.cluster_ips:
                names = [f"{svc.name}.{svc.namespace}.svc.{self.zone}"]
                break
        else:
            for eps in self._slices.values():
                service, _, namespace = eps.service.partition(".")
                names += [f"{endpoint_hostname(a)}.{service}.{namespace}.svc.{self.zone}"
                          for a in eps.addresses if a.ip == ip]
        records = [Record(qname, "PTR", self.ttl, name) for name in dict.fromkeys(names)]
        return records, (None if records else _NO_ITEMS)

    def _soa(self) -> Record:
        """The zone's SOA: serial the Unix time of the last change, minimum the TTL."""
        serial = int(self.sim.epoch.timestamp() + self.modified)
        refresh, retry, expire = SOA_TIMERS
        return Record(self.zone, "SOA", min(self.ttl, 300),
                      f"ns.dns.{self.zone} hostmaster.{self.zone} {serial} {refresh} {retry} "
                      f"{expire} {self.ttl}")

    # -- forward . /etc/resolv.conf -------------------------------------------------------------
    def _forward(self, qname: str, lower: str, qtype: str) -> Answer:
        """The forward plugin: the upstream resolver's answer, through ``cache 30``."""
        return self._upstream_answer(qname, lower, qtype, cached=True)

    def _upstream_answer(self, qname: str, lower: str, qtype: str, *,
                         cached: bool = False) -> Answer:
        """The simulated internet: its names' A/AAAA records, NXDOMAIN for any other name."""
        if lower == ".":
            return Answer(NOERROR)
        addresses = self.upstream.get(lower.removesuffix("."))
        if addresses is None:
            return Answer(NXDOMAIN)
        records = [Record(qname, qtype, UPSTREAM_TTL, a) for a in addresses
                   if qtype in ("A", "AAAA") and _host_type(a) == qtype]
        return Answer(NOERROR, _cap_ttl(records) if cached else tuple(records))

    # -- loadbalance ----------------------------------------------------------------------------
    def _load_balance(self, records: tuple[Record, ...]) -> tuple[Record, ...]:
        """loadbalance round_robin: CNAMEs, the rest, then the addresses in a random order."""
        addresses = [r for r in records if r.type in ("A", "AAAA")]
        if len(addresses) < 2:
            return records
        n = len(addresses)
        if n == 2:
            if self._rng.getrandbits(16) % 2 == 0:  # dns.Id()
                addresses.reverse()
        else:
            for j in range(n):
                p = j + self._rng.getrandbits(16) % (n - j)
                addresses[j], addresses[p] = addresses[p], addresses[j]
        cnames = [r for r in records if r.type == "CNAME"]
        rest = [r for r in records if r.type not in ("A", "AAAA", "CNAME")]
        return (*cnames, *rest, *addresses)

    # -- a program in a pod: the stub resolver --------------------------------------------------
    def resolv_conf_for(self, pod: Mapping[str, Any] | None = None,
                        namespace: str = "default", text: str | None = None) -> ResolvConf:
        """The resolver settings of ``text``, else of ``pod`` (as a kubelet would write them),
        else of a ClusterFirst pod in ``namespace``."""
        if text is None:
            if pod is None:
                conf = self._namespace_confs.get(namespace)  # the usual case: keep it at hand
                if conf is None:
                    pod = {"metadata": {"name": "", "namespace": namespace}, "spec": {}}
                    conf = self._namespace_confs[namespace] = self.resolv_conf_for(pod)
                return conf
            text = self._pods.get_pod_dns(pod).resolv_conf()
        conf = self._resolv_confs.get(text)
        if conf is None:
            conf = self._resolv_confs[text] = ResolvConf.parse(text)
        return conf

    def lookup(self, name: str, pod: Mapping[str, Any] | None = None,
               namespace: str = "default", qtype: str = "A", *,
               resolv_conf: str | None = None) -> Lookup:
        """What a program in a pod gets for ``name``: glibc's search rules over its resolv.conf.

        The pod's resolv.conf is ``resolv_conf`` (the text, e.g. from
        ``kubelet.resolv_conf(pod_name)``), else the one a kubelet writes for
        ``pod`` (a Pod object), else a ClusterFirst pod's in ``namespace``. A
        name with fewer dots than ``ndots`` is tried with each search domain,
        then as given (``res_search``); one ending in a dot only as given.
        The first answer with records wins; NXDOMAIN, NODATA and SERVFAIL go
        on to the next name. One type is asked at a time: getaddrinfo asks A
        and AAAA together, so a real pod sends twice the queries shown here.
        """
        conf = self.resolv_conf_for(pod, namespace, resolv_conf)
        queries: list[Query] = []
        if not isinstance(name, str) or not name or name == ".":
            return Lookup(str(name), str(qtype), FORMERR, (), queries, conf)

        def ask(candidate: str) -> Answer:
            return self._stub_query(candidate, qtype, conf, queries)

        dots = name.count(".")
        trailing = name.endswith(".")
        saved: Answer | None = None
        if dots >= conf.ndots or trailing:
            answer = ask(name)
            if _found(answer) or trailing or answer.rcode == UNREACHABLE:
                return self._finish(name, qtype, answer, queries, conf)
            saved = answer
        got_nodata = got_servfail = root_on_list = False
        answer = saved
        for domain in conf.search if not trailing else ():
            domain = domain.removeprefix(".")
            root_on_list = root_on_list or not domain
            answer = ask(f"{name}.{domain}" if domain else f"{name}.")
            if _found(answer) or answer.rcode == UNREACHABLE:
                return self._finish(name, qtype, answer, queries, conf)
            if answer.rcode == NOERROR:
                got_nodata = True  # NO_DATA: a wildcard of another type; keep trying
            elif answer.rcode == SERVFAIL:
                got_servfail = True
            elif answer.rcode != NXDOMAIN:
                break  # a negative answer we cannot search past: try the name as given
        if saved is None and not root_on_list:
            answer = ask(name)
            if _found(answer):
                return self._finish(name, qtype, answer, queries, conf)
        if saved is not None:
            rcode = saved.rcode
        elif got_nodata:
            rcode = NOERROR
        elif got_servfail:
            rcode = SERVFAIL
        else:
            rcode = answer.rcode if answer is not None else NXDOMAIN
        return Lookup(name, str(qtype), rcode, (), queries, conf)

    def resolve(self, name: str, namespace: str = "default") -> tuple[str | None, int]:
        """``lookup(name, namespace=namespace)``'s first address (None if none) and query count.

        The traffic simulator's path: the same queries and answers as :meth:`lookup`
        (each counted in :attr:`responses`; several addresses shuffled by
        ``loadbalance``), remembered until the caches change instead of walked again.
        """
        key = (name, namespace)
        memo = self._resolved.get(key)
        if memo is None:
            lookup = self.lookup(name, namespace=namespace)
            answer = Answer(lookup.rcode, lookup.records) if lookup.records else None
            rcodes = tuple(q.rcode for q in lookup.queries)
            if len(self._resolved) >= MEMO_LIMIT:
                self._resolved.clear()
            self._resolved[key] = (rcodes, answer)
            addresses = lookup.addresses
            return (addresses[0] if addresses else None), len(rcodes)
        rcodes, answer = memo
        for rcode in rcodes:
            self.responses[rcode] = self.responses.get(rcode, 0) + 1
        if answer is None:
            return None, len(rcodes)
        records = answer.records
        if len(records) > 1:
            records = self._load_balance(records)
        for record in records:
            if record.type in ("A", "AAAA"):
                return record.data, len(rcodes)
        return None, len(rcodes)

    def _finish(self, name: str, qtype: Any, answer: Answer, queries: list[Query],
                conf: ResolvConf) -> Lookup:
        return Lookup(name, str(qtype), answer.rcode, answer.records, queries, conf)

    def _stub_query(self, candidate: str, qtype: Any, conf: ResolvConf,
                    queries: list[Query]) -> Answer:
        """Send one query to the pod's first nameserver (or fail to), and note it."""
        server = conf.nameservers[0] if conf.nameservers else "127.0.0.1"
        fqdn = _fqdn(candidate)
        problem = name_problem(candidate) or type_problem(qtype)
        if problem:  # res_mkquery fails: nothing is sent (NO_RECOVERY)
            queries.append(Query(fqdn, str(qtype), "", FORMERR, "", "", f"not sent: {problem}"))
            return Answer(FORMERR)
        if server in (self.service_ip, self.address):
            answer = self.query(fqdn, qtype)
            answered_by = self._plugin_for(fqdn.lower(), answer)
        elif server.startswith("127.") or server == "::1":
            # --resolv-conf="" leaves pods pointing at themselves, where nothing listens.
            queries.append(Query(fqdn, str(qtype), server, UNREACHABLE, "", "",
                                 "connection refused: no DNS server in the pod"))
            return Answer(UNREACHABLE)
        else:
            answer = self._upstream_answer(fqdn, fqdn.lower(), str(qtype).upper())
            answered_by = "upstream"
        queries.append(Query(fqdn, str(qtype), server, answer.rcode,
                             ", ".join(r.data for r in answer.records), answered_by))
        return answer

    def _plugin_for(self, lower: str, answer: Answer) -> str:
        """Which of the Corefile's plugins answered: kubernetes or forward."""
        if answer.rcode == FORMERR:
            return ""
        if _in_zone(lower, self.zone):
            return "kubernetes"
        if any(_in_zone(lower, z) for z in REVERSE_ZONES) and any(
                r.type == "PTR" and r.data.endswith("." + self.zone) for r in answer.records):
            return "kubernetes"
        return "forward"


def _found(answer: Answer) -> bool:
    """res_query's success: NOERROR and at least one answer record."""
    return answer.rcode == NOERROR and bool(answer.records)


# -- what kubeadm's addon phase creates ------------------------------------------------------------

def dns_ip(service_cidr: str = SERVICE_CIDR) -> str:
    """GetDNSIP: the 10th address of the service CIDR (the first CIDR if there are two)."""
    cidr = service_cidr.split(",")[0].strip()
    try:
        network = ipaddress.ip_network(cidr, strict=False)
    except ValueError as error:
        raise ValueError(f"unable to get internal Kubernetes Service IP from the given service "
                         f"CIDR ({service_cidr}): {error}") from None
    if network.num_addresses <= DNS_IP_INDEX:
        raise ValueError("unable to get internal Kubernetes Service IP from the given service "
                         f"CIDR: can't generate IP with index {DNS_IP_INDEX} from subnet. subnet "
                         f'too small. subnet: "{network}"')
    return str(network.network_address + DNS_IP_INDEX)


def corefile(cluster_domain: str = CLUSTER_DOMAIN) -> str:
    """kubeadm's Corefile (v1.32), for the ``coredns`` ConfigMap."""
    return (".:53 {\n    errors\n    health {\n       lameduck 5s\n    }\n    ready\n"
            f"    kubernetes {cluster_domain} in-addr.arpa ip6.arpa {{\n"
            "       pods insecure\n       fallthrough in-addr.arpa ip6.arpa\n       ttl 30\n"
            "    }\n    prometheus :9153\n    forward . /etc/resolv.conf {\n"
            "       max_concurrent 1000\n    }\n    cache 30 {\n"
            f"       disable success {cluster_domain}\n       disable denial {cluster_domain}\n"
            "    }\n    loop\n    reload\n    loadbalance\n}\n")


# The kube-dns Service's ports (kubeadm's CoreDNSService).
DNS_PORTS = (("dns", 53, "UDP"), ("dns-tcp", 53, "TCP"), ("metrics", 9153, "TCP"))


def addon_manifests(service_cidr: str = SERVICE_CIDR, *, cluster_domain: str = CLUSTER_DOMAIN,
                    address: str = CONTROL_PLANE_ADDRESS) -> list[dict[str, Any]]:
    """What kubeadm's ``addon/coredns`` phase creates, less the Deployment; to apply as admin.

    The ServiceAccount ``coredns``, the ConfigMap with the Corefile, the
    ClusterRole and ClusterRoleBinding ``system:coredns``, and the Service
    ``kube-dns`` at the 10th address of ``service_cidr`` -- with no selector,
    and an Endpoints and an EndpointSlice holding ``address``, the machine
    kubelearn runs the DNS on (see the module docstring), shaped as the API
    server writes the ``kubernetes`` Service's
    (:func:`kubelearn.apiserver.endpointsreconciler.endpoints_for`).
    """
    meta = {"namespace": NAMESPACE}
    ports = [{"name": n, "port": p, "protocol": proto} for n, p, proto in DNS_PORTS]
    endpoints, endpoint_slice = endpoints_for(NAMESPACE, SERVICE_NAME, [address], ports)
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": SERVICE_ACCOUNT, **meta}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": CONFIG_MAP, **meta},
         "data": {"Corefile": corefile(cluster_domain)}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": CLUSTER_ROLE},
         "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods",
                                                     "namespaces"], "verbs": ["list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": CLUSTER_ROLE},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": CLUSTER_ROLE},
         "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT,
                       "namespace": NAMESPACE}]},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": SERVICE_NAME, **meta,
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true",
                                 "kubernetes.io/name": "CoreDNS"},
                      "annotations": {"prometheus.io/port": "9153",
                                      "prometheus.io/scrape": "true"}},
         "spec": {"clusterIP": dns_ip(service_cidr),
                  "ports": [{**p, "targetPort": p["port"]} for p in ports]}},
        endpoints,
        endpoint_slice,
    ]
