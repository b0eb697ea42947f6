"""The cluster: one simulation, one etcd, one API server, and a client per component.

    >>> import kubelearn as kl
    >>> cluster = kl.Cluster(seed=0)
    >>> _ = cluster.apply('''
    ... apiVersion: v1
    ... kind: Pod
    ... metadata: {name: web}
    ... spec: {containers: [{name: web, image: nginx}]}
    ... ''')
    >>> list(cluster.get("pods")["NAME"])
    ['web']

The API server (with its compactor) over etcd; the scheduler; the controller
manager's controllers on shared informers; the cluster DNS; a kubelet and a
kube-proxy per worker node. Each talks to the API server only, through a
:class:`~kubelearn.client.Client` with a bearer token for the identity it runs
as: the admin (``kubernetes-admin`` in ``system:masters``),
``system:kube-scheduler``, each controller's service account in
``kube-system``, ``kube-system:coredns``, ``system:node:<name>``,
``system:kube-proxy``. The API server authorizes each request as kubeadm's
``--authorization-mode=Node,RBAC`` does: a kubelet's first by the Node authorizer
(its own Node, its pods and what they use), then everyone's by RBAC
(``cluster.api.can_i(...)`` asks the same chain). Beside them, the data path: the
nodes' network (:mod:`kubelearn.proxy.network`) and the clients
:meth:`Cluster.traffic` starts. Everything runs on the virtual clock: time moves
only in :meth:`Cluster.run`. :meth:`Cluster.exec` runs a command in a pod's
container, as ``kubectl exec`` does; ``Cluster(etcd=...)`` and
``Cluster(etcd_members=...)`` put the objects in a real or a simulated etcd
cluster (see :class:`Cluster`).
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from kubelearn import drain, rollout
from kubelearn.api import BadRequest, InternalError, NotFound, StatusError
from kubelearn.api.errors import go_quote
from kubelearn.api.manifest import Source, read
from kubelearn.apiserver import authn
from kubelearn.apiserver.authn import TokenAuthenticator, UserInfo
from kubelearn.apiserver.compactor import COMPACTION_INTERVAL, Compactor
from kubelearn.apiserver.endpointsreconciler import CONTROL_PLANE_IP, SECURE_PORT
from kubelearn.apiserver.patch import three_way_patch
from kubelearn.apiserver.registry import ResourceInfo
from kubelearn.apiserver.server import APIServer
from kubelearn.client import Client
from kubelearn.controllers import (
    DeploymentController,
    DisruptionController,
    EndpointsController,
    EndpointSliceController,
    GarbageCollector,
    NodeLifecycleController,
    ReplicaSetController,
    RootCACertPublisher,
    TaintEvictionController,
)
from kubelearn.controllers.informer import SharedInformerFactory
from kubelearn.etcd import EtcdError, Store
from kubelearn.etcd.raft import RaftGroup
from kubelearn.etcd.raftstore import API_REQUEST_TIMEOUT, ReplicatedStore
from kubelearn.etcd.remote import RemoteStore
from kubelearn.kubelet import Kubelet, KubeletConfig
from kubelearn.kubelet.kubelet import CLUSTER_CIDR, node_network
from kubelearn.kubelet.runtime import CommandTerminated, ExecError
from kubelearn.proxy import ClusterDNS, Dataplane, KubeProxy, Network, Traffic
from kubelearn.proxy.dns import DNS_PORTS, addon_manifests, dns_ip
from kubelearn.scheduler import Scheduler
from kubelearn.sim import Simulation

# kubectl apply keeps the applied manifest here (kubectl's LastAppliedConfigAnnotation).
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

# Worker node settings (kubelearn.kubelet): each node-N gets a kubelet with these, and the
# zones in turn as topology.kubernetes.io/zone.
NODE_SETTINGS = {"node_cpu", "node_memory", "node_pods", "node_ephemeral_storage",
                 "node_bandwidth", "zones", "kubelet_config"}
DEFAULT_ZONES = ("zone-a", "zone-b", "zone-c")
# kube-controller-manager's node lifecycle flags (kubelearn.controllers.nodelifecycle), e.g.
# node_monitor_grace_period=40 for the default before v1.32.
NODE_LIFECYCLE_SETTINGS = {"node_monitor_period", "node_monitor_grace_period",
                           "node_startup_grace_period", "node_eviction_rate",
                           "secondary_node_eviction_rate", "unhealthy_zone_threshold",
                           "large_cluster_size_threshold"}

# What the control plane machine serves: the API server, and kubelearn's DNS (53, and 9153 for
# metrics) -- the kubernetes and kube-dns Services' endpoints.
CONTROL_PLANE_PORTS = frozenset({SECURE_PORT, *(port for _, port, _ in DNS_PORTS)})

# The identities a cluster starts with, by the short names cluster.client() accepts.
IDENTITIES = {
    "admin": authn.admin,
    "kube-scheduler": authn.scheduler,
    "kube-controller-manager": authn.controller_manager,
    "kube-proxy": authn.kube_proxy,
}
_ALIASES = {"scheduler": "kube-scheduler", "controller-manager": "kube-controller-manager",
            "proxy": "kube-proxy", authn.ADMIN_NAME: "admin",
            authn.KUBE_SCHEDULER: "kube-scheduler",
            authn.KUBE_CONTROLLER_MANAGER: "kube-controller-manager",
            authn.KUBE_PROXY: "kube-proxy"}


def enabled_controllers(flags: Iterable[str], known: Iterable[str]) -> set[str]:
    """The controllers a ``--controllers`` style list turns on: ``*`` all, ``-name`` not name."""
    known = list(known)
    flags = [flags] if isinstance(flags, str) else list(flags)
    unknown = {f.lstrip("-") for f in flags} - set(known) - {"*"}
    if unknown:
        raise ValueError(f"unknown controllers {sorted(unknown)}; known: {', '.join(known)}")
    on = set(known) if "*" in flags else set()
    on |= {f for f in flags if f in known}
    return on - {f[1:] for f in flags if f.startswith("-")}


class ApplyError(StatusError):
    """Several objects of one :meth:`Cluster.apply` failed; the others were applied.

    ``errors``: each failure, as the Kubernetes error it was (Invalid, NotFound...);
    ``applied``: the objects stored. Printed as kubectl prints an aggregate of
    errors (cmdutil.MultipleErrors): one a line, the API server's as kubectl's
    StandardErrorMessage words them (``Error from server (Invalid): ...``). Its
    reason is unknown ("", as errors.ReasonForError says of an aggregate), its
    code the first failure's.
    """

    def __init__(self, errors: list[StatusError], applied: list[dict], *,
                 client_side: Iterable[StatusError] = ()) -> None:
        local = {id(err) for err in client_side}
        lines = [str(err) if id(err) in local else _from_server(err) for err in errors]
        super().__init__("\n".join(lines), reason="", code=errors[0].code)
        self.errors = list(errors)
        self.applied = list(applied)


def _from_server(err: StatusError) -> str:
    """How kubectl prints an error the API server answered (cmd/util helpers.go)."""
    if err.reason == "Unauthorized":
        return f"error: You must be logged in to the server ({err.message})"
    if err.reason:
        return f"Error from server ({err.reason}): {err}"
    return f"Error from server: {err}"


class _ClientSide(Exception):
    """An error kubectl finds itself, before or without asking the API server."""

    def __init__(self, error: StatusError) -> None:
        super().__init__(str(error))
        self.error = error


def _meta_string(obj: dict, field: str) -> str:
    """``metadata.<field>`` as the unstructured accessors read it: "" unless a string."""
    meta = obj.get("metadata")
    value = meta.get(field) if isinstance(meta, dict) else None
    return value if isinstance(value, str) else ""


def _with_last_applied(obj: dict) -> dict:
    """A copy of ``obj`` carrying itself in the last-applied annotation, as kubectl's
    util.GetModifiedConfiguration makes it (without the annotation's old value)."""
    applied = json.loads(json.dumps(obj))
    if not isinstance(applied.get("metadata"), dict):  # metadata: null gets a map, as in Go
        applied["metadata"] = {}
    annotations = applied["metadata"].get("annotations")
    annotations = dict(annotations) if isinstance(annotations, dict) else {}
    annotations.pop(LAST_APPLIED, None)
    if annotations:
        applied["metadata"]["annotations"] = annotations
    else:
        applied["metadata"].pop("annotations", None)
    record = json.dumps(applied, separators=(",", ":"), sort_keys=True) + "\n"
    new = json.loads(json.dumps(applied))
    new["metadata"].setdefault("annotations", {})[LAST_APPLIED] = record
    return new


def _last_applied(live: dict) -> dict | None:
    """The manifest last applied to ``live`` (its annotation), the annotation put back in."""
    annotations = live["metadata"].get("annotations") or {}
    last = annotations.get(LAST_APPLIED)
    if not last:
        return None
    try:
        previous = json.loads(last)
    except ValueError:
        previous = None
    if not isinstance(previous, dict):  # strategicpatch.CreateThreeWayMergePatch
        raise _ClientSide(BadRequest("invalid JSON document"))  # mergepatch.ErrBadJSONDoc
    if not isinstance(previous.get("metadata"), dict):
        previous["metadata"] = {}
    if not isinstance(previous["metadata"].get("annotations"), dict):
        previous["metadata"]["annotations"] = {}
    previous["metadata"]["annotations"][LAST_APPLIED] = last
    return previous


def _prune_nulls(value: Any) -> None:
    """Drop every null-valued field of maps, at any depth (apply.go pruneNullsFromMap)."""
    if isinstance(value, dict):
        for key in [k for k, v in value.items() if v is None]:
            del value[key]
        for item in value.values():
            _prune_nulls(item)
    elif isinstance(value, list):
        for item in value:
            _prune_nulls(item)


# How many etcd members kl.Cluster(etcd_members=...) accepts (issue 15): odd sizes, as etcd's
# FAQ advises (etcd.io/docs/v3.5/faq, "Why an odd number of cluster members?"); 3 survives
# one member's loss, 5 two.
ETCD_MEMBERS = (3, 5)


def raft_store(sim: Simulation, members: Any, etcd: Any = None,
               timeout: float = API_REQUEST_TIMEOUT) -> ReplicatedStore:
    """The store of ``kl.Cluster(etcd_members=...)``: a Raft group with its leader elected.

    A new group has no leader; its members first wait out their randomized
    election timeouts (1 s to 2 s). That election runs here, on the group's
    own clock, before the API server writes anything: the cluster is usable at
    its second 0, and the group's clock is the election's length ahead
    (``group.offset``; see :mod:`kubelearn.etcd.raftstore` on time).
    """
    if etcd is not None:
        raise ValueError("etcd= stores objects in a real etcd cluster and etcd_members= in a "
                         "simulated one: give one of them")
    if type(members) is not int or members not in ETCD_MEMBERS:
        raise ValueError(f"etcd_members must be 3 or 5 (an odd-sized etcd cluster that "
                         f"survives the loss of 1 or 2 members), not {members!r}")
    group = RaftGroup(sim, members)
    store = ReplicatedStore(group, timeout=timeout)
    group.wait_for_leader()
    return store


class Cluster:
    """A Kubernetes control plane on a virtual clock: etcd, the API server, component clients.

    Settings: ``compaction_interval`` (seconds, 300 as kube-apiserver's
    ``--etcd-compaction-interval``; 0 turns the compactor off),
    ``audit_limit`` (keep only the newest audit rows),
    ``service_cidr`` (``"10.96.0.0/12"``, kube-apiserver's ``--service-cluster-ip-range``
    as kubeadm sets it) and ``service_node_port_range`` (``"30000-32767"``,
    ``--service-node-port-range``): where Services get their ClusterIPs and NodePorts,
    ``disable_admission_plugins`` (names, e.g. ``("TaintNodesByCondition",)``),
    ``epoch`` (the datetime of virtual second 0; ``kubelearn serve`` sets it to the
    moment serving starts, so kubectl's ages agree with the wall clock),
    ``scheduler_config`` (a KubeSchedulerConfiguration, YAML text or dict) and
    ``scheduler_plugins`` (``{"Name": PluginClass}``: a learner's plugins the config
    may enable); ``scheduler=False`` leaves the scheduler out. ``nodes`` worker
    nodes get a kubelet each (:meth:`add_node`), shaped by ``node_cpu`` ("4"),
    ``node_memory`` ("8Gi"), ``node_pods`` (110), ``node_ephemeral_storage``,
    ``node_bandwidth`` (MiB/s), ``zones`` (zone-a, zone-b, zone-c in turn) and
    ``kubelet_config`` (a :class:`~kubelearn.kubelet.KubeletConfig`). The node lifecycle
    controller takes kube-controller-manager's flags: ``node_monitor_period`` (5),
    ``node_monitor_grace_period`` (50; 40 before v1.32), ``node_startup_grace_period`` (60),
    ``node_eviction_rate`` (0.1), ``secondary_node_eviction_rate`` (0.01),
    ``unhealthy_zone_threshold`` (0.55), ``large_cluster_size_threshold`` (50).
    ``controllers`` picks the controllers that run, like kube-controller-manager's
    ``--controllers``: ``("*",)`` (default) all of nodelifecycle, tainteviction, replicaset,
    deployment, garbagecollector, endpoint, endpointslice, disruption and
    root-ca-cert-publisher; ``("*", "-replicaset")`` all but one; ``("nodelifecycle",)`` one.
    ``cluster.ca`` is the cluster's certificate authority (:mod:`kubelearn.apiserver.tls`):
    every namespace's ``kube-root-ca.crt`` ConfigMap carries it, and :meth:`serve` signs
    the API server's certificate with it.
    ``etcd`` (``"http://127.0.0.1:2379"`` or a list of endpoints) keeps the API server's
    objects in a real etcd cluster instead of the in-process store
    (:class:`~kubelearn.etcd.remote.RemoteStore`; ``make etcd`` starts one).
    ``etcd_members`` (3 or 5) runs etcd as a Raft group of that many members on the
    virtual clock (:class:`~kubelearn.etcd.raft.RaftGroup`, through
    :class:`~kubelearn.etcd.raftstore.ReplicatedStore`); ``cluster.etcd_members`` is the
    group, to crash, restart and partition members (``"etcd-1"``...). See
    :func:`raft_store` for when it is usable. ``request_timeout`` (seconds, 60 as
    kube-apiserver's ``--request-timeout``) is the deadline of the API server's etcd
    calls with either: a read that etcd cannot serve is retried until then.
    """

    def __init__(self, seed: int = 0, nodes: int = 0, **settings: Any) -> None:
        unknown = set(settings) - {"compaction_interval", "audit_limit",
                                   "disable_admission_plugins", "scheduler_config",
                                   "scheduler_plugins", "scheduler", "epoch", "controllers",
                                   "service_cidr", "service_node_port_range", "etcd",
                                   "etcd_members", "request_timeout"} \
            - NODE_SETTINGS \
            - NODE_LIFECYCLE_SETTINGS
        if unknown:
            raise TypeError(f"unknown cluster settings: {sorted(unknown)}")
        self.settings = settings
        self.sim = Simulation(seed, **({"epoch": settings["epoch"]} if "epoch" in settings else {}))
        self.etcd: Store | RemoteStore | ReplicatedStore = Store(self.sim)
        # The Raft group behind the store with etcd_members=3 or 5; None otherwise.
        self.etcd_members: RaftGroup | None = None
        timeout = settings.get("request_timeout", API_REQUEST_TIMEOUT)
        if settings.get("etcd_members") is not None:
            self.etcd = raft_store(self.sim, settings["etcd_members"], settings.get("etcd"),
                                   timeout)
            self.etcd_members = self.etcd.group
        elif settings.get("etcd") is not None:  # a real etcd cluster: it must answer, and be empty
            self.etcd = RemoteStore(self.sim, settings["etcd"], timeout=timeout)
            try:
                self.etcd.check_fresh()
            except BaseException:
                self.etcd.close()
                raise
        # Every token comes from `secrets`, not from the seed: a cluster may be served, and
        # a token that can reach a socket must not be computable (same seed, same history;
        # never the same credentials).
        self.authenticator = TokenAuthenticator()
        self.tokens: dict[str, str] = {}
        for name, identity in IDENTITIES.items():
            self.tokens[name] = self.authenticator.issue(identity())
        self.api = APIServer(self.sim, self.etcd, authenticator=self.authenticator,
                             audit_limit=settings.get("audit_limit"),
                             disable_admission_plugins=tuple(
                                 settings.get("disable_admission_plugins", ())),
                             **{k: settings[k] for k in ("service_cidr", "service_node_port_range")
                                if k in settings})
        self.compactor = Compactor(self.sim, self.etcd,
                                   settings.get("compaction_interval", COMPACTION_INTERVAL))
        self._clients: dict[str, Client] = {name: Client(self.api, token, user_agent=name)
                                            for name, token in self.tokens.items()}
        self.admin = self._clients["admin"]
        self.admin_token = self.tokens["admin"]
        # kube-scheduler: a client of the API server like any other (kubelearn.scheduler).
        self.scheduler: Scheduler | None = None
        if settings.get("scheduler", True):
            self.scheduler = Scheduler(self.sim, self._clients["kube-scheduler"],
                                       settings.get("scheduler_config"),
                                       plugins=settings.get("scheduler_plugins"))
            self.scheduler.explain_client = self.admin  # the learner asks explain()
        # kube-controller-manager (kubelearn.controllers), each controller under its own
        # service account as kubeadm runs them. So far the node lifecycle controller,
        # whose NoSchedule pass lifts the not-ready taint every new node is born with.
        # They share one set of informers (one watch and one cache per resource), listing
        # and watching as kube-controller-manager's own identity.
        # The cluster's CA (kubeadm's /etc/kubernetes/pki/ca.crt): one per process, made on
        # first use (kubelearn.apiserver.tls); serve() signs the API server's certificate with it.
        from kubelearn.apiserver.tls import cluster_ca  # cryptography: only when a cluster is made

        self.ca = cluster_ca()
        node_controller = self.client(authn.controller_user("node-controller"))
        self.informers = SharedInformerFactory(self.sim, self._clients["kube-controller-manager"])
        shared = {"informers": self.informers}
        factories: dict[str, Callable[[], Any]] = {
            "nodelifecycle": lambda: NodeLifecycleController(
                self.sim, node_controller, **shared,
                **{k: v for k, v in settings.items() if k in NODE_LIFECYCLE_SETTINGS}),
            # The taint manager runs as node-controller too (upstream: "taint-manager uses
            # existing cluster role from node-controller").
            "tainteviction": lambda: TaintEvictionController(self.sim, node_controller, **shared),
            "replicaset": lambda: ReplicaSetController(
                self.sim, self.client(authn.controller_user("replicaset-controller")), **shared),
            "deployment": lambda: DeploymentController(
                self.sim, self.client(authn.controller_user("deployment-controller")), **shared),
            "garbagecollector": lambda: GarbageCollector(
                self.sim, self.client(authn.controller_user("generic-garbage-collector")),
                **shared),
            "endpoint": lambda: EndpointsController(
                self.sim, self.client(authn.controller_user("endpoint-controller")), **shared),
            "endpointslice": lambda: EndpointSliceController(
                self.sim, self.client(authn.controller_user("endpointslice-controller")),
                **shared),
            "disruption": lambda: DisruptionController(
                self.sim, self.client(authn.controller_user("disruption-controller")), **shared),
            # --root-ca-file: the cluster's CA, the one `kubelearn serve` signs its certificate with
            "root-ca-cert-publisher": lambda: RootCACertPublisher(
                self.sim, self.client(authn.controller_user("root-ca-cert-publisher")),
                self.ca.pem.decode(), **shared),
        }
        enabled = enabled_controllers(settings.get("controllers", ("*",)), factories)
        self.controllers = {name: factories[name]() for name in factories if name in enabled}
        self.informers.start()
        for controller in self.controllers.values():
            controller.start()
        # The cluster DNS (kubelearn.proxy.dns): what kubeadm's addon phase creates, as the
        # admin, then the server itself, a client as kube-system:coredns like CoreDNS.
        service_cidr = self.api.services.cluster_ips.cidr
        self.dns_ip = dns_ip(service_cidr)
        for obj in addon_manifests(service_cidr):
            self.admin.create(obj)
        self.dns = ClusterDNS(self.sim, self.client(authn.service_account_user(
            "kube-system", "coredns")), service_ip=self.dns_ip)
        self.dns.start()
        # Worker nodes node-1..node-N, a kubelet and a kube-proxy each; see add_node.
        self.kubelets: dict[str, Kubelet] = {}
        self.proxies: dict[str, KubeProxy] = {}
        self.network = Network(self.kubelets, {CONTROL_PLANE_IP: CONTROL_PLANE_PORTS})
        self.traffics: list[Traffic] = []
        for _ in range(nodes):
            self.add_node()
        # One lock around every touch of the cluster when it is served over HTTP
        # (kubelearn.apiserver.serve): request threads and the clock's driver take it.
        self.lock = threading.RLock()

    def __repr__(self) -> str:
        try:
            revision = str(self.etcd.revision)
        except EtcdError as err:  # no etcd member answers: say so rather than fail to print
            revision = f"unknown ({err})"
        return f"Cluster(seed={self.sim.seed}, now={self.now:g}s, revision={revision})"

    # -- time ------------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulated seconds since the cluster started."""
        return self.sim.now

    def run(self, seconds: float) -> float:
        """Advance the virtual clock by ``seconds``; returns the new time."""
        return self.sim.run(seconds)

    # -- identities ------------------------------------------------------------------------------
    def client(self, user: str | UserInfo = "admin", groups: tuple[str, ...] = ()) -> Client:
        """A client acting as ``user``: a component (``"kube-scheduler"``...), or anyone.

        A new user name gets a token of its own (and, like any user, only what
        RBAC grants it): ``cluster.client("alice")``.
        """
        if isinstance(user, UserInfo):
            key, identity = user.name, user
        else:
            key = _ALIASES.get(user, user)
            if key in self._clients:
                return self._clients[key]
            identity = UserInfo(user, tuple(groups))
        if key not in self._clients:
            token = self.authenticator.issue(identity)
            self.tokens[key] = token
            self._clients[key] = Client(self.api, token, user_agent=key)
        return self._clients[key]

    # -- nodes -----------------------------------------------------------------------------------
    def add_node(self, name: str | None = None, **node: Any) -> Kubelet:
        """Start a kubelet for a new worker node (``node-<N>`` unless named); returns it.

        Keywords override the cluster's node settings: ``cpu``, ``memory``, ``pods``,
        ``ephemeral_storage``, ``bandwidth`` (MiB/s), ``zone``, ``labels``, ``config``.
        """
        index = len(self.kubelets) + 1
        while name is None and f"node-{index}" in self.kubelets:
            index += 1
        name = name or f"node-{index}"
        zones = self.settings.get("zones", DEFAULT_ZONES)
        internal_ip, pod_cidr = node_network(index)
        options: dict[str, Any] = {"internal_ip": internal_ip, "pod_cidr": pod_cidr,
                                   "zone": zones[(index - 1) % len(zones)] if zones else None}
        for setting in NODE_SETTINGS - {"zones"}:
            if setting in self.settings:
                options[setting.removeprefix("node_").removeprefix("kubelet_")] = \
                    self.settings[setting]
        options.update(node)
        config = options.get("config") or KubeletConfig()
        if config.cluster_dns != (self.dns_ip,):  # kubeadm sets clusterDNS from the CIDR
            options["config"] = dataclasses.replace(config, cluster_dns=(self.dns_ip,))
        kubelet = Kubelet(self.sim, self.client(authn.node_user(name)), name, **options)
        self.kubelets[name] = kubelet
        # kube-proxy (kubelearn.proxy): kubeadm runs it as a DaemonSet pod; kubelearn runs it
        # beside the kubelet, as system:kube-proxy. The node's kernel (its Dataplane) outlives
        # the process.
        dataplane = Dataplane(name, kubelet.node_ip, clock=lambda: self.sim.now)
        self.proxies[name] = KubeProxy(self.sim, self.client("kube-proxy"), name,
                                       node_ip=kubelet.node_ip, cluster_cidr=CLUSTER_CIDR,
                                       dataplane=dataplane)
        return kubelet

    def stop_node(self, name: str, *, power_off: bool = False) -> None:
        """Kill a node's kubelet: no more heartbeats or status.

        ``power_off``: the machine itself goes down -- its containers, its kube-proxy
        and its network with it; requests to its pods time out.
        """
        self.kubelets[name].stop(power_off=power_off)
        if power_off:
            self.proxies[name].stop(power_off=True)

    def start_node(self, name: str) -> None:
        """Bring a node back: the kubelet re-registers, heartbeats and resyncs its pods; a
        machine that lost power starts its kube-proxy again (a full sync of its rules)."""
        self.kubelets[name].start()
        if not self.proxies[name].running:
            self.proxies[name].start()

    # -- traffic (kubelearn.proxy.traffic) -------------------------------------------------------
    def traffic(self, to: str, rate: float = 100.0, **options: Any) -> Traffic:
        """Start clients sending ``rate`` requests a second to ``to`` (a Service name,
        ``ip:port``, or a node's ``ip:nodePort``); see :class:`~kubelearn.proxy.Traffic`.

        Options: ``from_node`` (a node, a list, ``"outside"``; default every node),
        ``namespace``, ``port``, ``keepalive`` and ``connections``, ``timeout``,
        ``duration``, ``name``. ``.stop()`` stops them; ``.requests()`` is every request.
        """
        traffic = Traffic(self, to, rate, **options)
        self.traffics.append(traffic)
        return traffic

    # -- kubectl, in Python ----------------------------------------------------------------------
    def apply(self, manifest: Source) -> list[dict]:
        """Create or update objects like ``kubectl apply``; returns them as stored.

        Like kubectl, a failure does not stop the others: every object that can
        be read and mapped to a resource is applied, and the failures are raised
        at the end -- one alone as itself (the API server's Invalid, BadRequest...),
        several as an :class:`ApplyError` that lists them all and keeps each one
        (``.errors``) and what was stored (``.applied``) (kubectl's apply.go
        collects them into utilerrors.NewAggregate). As kubectl's resource builder
        reads and maps every document first, the reading and mapping errors come
        first. A syntax error ends the stream where it is, as in kubectl.

        apply reads only an object's kind, apiVersion and name, as kubectl's
        accessors do (``metadata: null`` has no name); the API server decodes and
        validates the rest, so its errors are the ones the HTTP path gives.
        """
        items = read(manifest)
        errors: list[StatusError] = [item.error for item in items if item.error is not None]
        client_side = list(errors)
        mapped = []
        for item in items:
            if item.obj is not None:
                try:
                    mapped.append((item.obj, self._mapping(item.obj, item.source)))
                except StatusError as err:
                    errors.append(err)
                    client_side.append(err)
        stored = []
        for obj, info in mapped:
            try:
                stored.append(self._apply_one(obj, info))
            except _ClientSide as err:
                errors.append(err.error)
                client_side.append(err.error)
            except StatusError as err:
                errors.append(err)
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise ApplyError(errors, stored, client_side=client_side)
        return stored

    def _mapping(self, obj: dict, source: str) -> ResourceInfo:
        """The resource an object's kind and apiVersion map to (the RESTMapper's job)."""
        kind, api_version = str(obj["kind"]), str(obj["apiVersion"])
        info = self.api.registry.for_kind(api_version, kind)
        if info is None:  # cli-runtime resource/mapper.go infoForData, meta.NoKindMatchError
            name, namespace = _meta_string(obj, "name"), _meta_string(obj, "namespace")
            raise StatusError.from_status({
                "reason": "NotFound", "code": 404, "details": {"kind": kind, "name": name},
                "message": f"resource mapping not found for name: {go_quote(name)} namespace: "
                           f"{go_quote(namespace)} from {go_quote(source)}: no matches for kind "
                           f"{go_quote(kind)} in version {go_quote(api_version)}\n"
                           "ensure CRDs are installed first"})
        return info

    def _apply_one(self, obj: dict, info: ResourceInfo) -> dict:
        """kubectl apply.go applyOneObject: create it with the last-applied annotation, or
        patch it by the three-way merge of last applied, this manifest and the live object."""
        name = _meta_string(obj, "name")
        if not name:
            generate_name = _meta_string(obj, "generateName")
            if generate_name:  # kubectl apply.go
                raise _ClientSide(BadRequest(f"from {generate_name}: cannot use generate name "
                                             "with apply"))
            # client-go rest/request.go Name(""): kubectl's GET of the live object fails
            raise _ClientSide(BadRequest("resource name may not be empty"))
        namespace = (_meta_string(obj, "namespace") or "default") if info.namespaced else None
        new = _with_last_applied(obj)
        try:
            current = self.admin.get(info.resource, name, namespace)
        except NotFound:
            _prune_nulls(new)  # apply.go: a create drops nulls, as an update's patch would
            return self.admin.create(new, namespace)
        previous = _last_applied(current)
        patch = three_way_patch(previous, new, info.kind)
        return self.admin.patch(info.resource, name, patch, namespace)

    def get(self, resource: str, namespace: str | None = "default", wide: bool = False):
        """``kubectl get <resource>`` as a DataFrame (``namespace=None``: all namespaces)."""
        from kubelearn.apiserver import printers

        info = self.admin.info(resource)
        listed = self.admin.list(info.resource, namespace if info.namespaced else None)
        table = printers.table(info.resource, listed["items"], now=self.sim.timestamp(),
                               wide=wide, resource_version=listed["metadata"]["resourceVersion"])
        return printers.frame(table, wide, namespace=info.namespaced and namespace is None)

    def describe(self, kind: str, name: str, namespace: str = "default") -> str:
        """``kubectl describe <kind> <name>``."""
        from kubelearn.apiserver import describe as describing

        info = self.admin.info(kind)
        ns = namespace if info.namespaced else None
        obj = self.admin.get(info.resource, name, ns)
        events = self.admin.list("events", ns)["items"]
        extra: dict[str, Any] = {}
        if info.kind in ("ReplicaSet", "Node"):
            extra["pods"] = self.admin.list("pods", ns)["items"]
        if info.kind == "Deployment":
            extra["replica_sets"] = self.admin.list("replicasets", ns)["items"]
        if info.kind == "Service":
            extra["endpoint_slices"] = self.admin.list("endpointslices", ns)["items"]
        if info.kind == "Node":
            try:
                extra["lease"] = self.admin.get("leases", name, "kube-node-lease")
            except NotFound:
                extra["lease"] = None
        return describing.describe(obj, describing.events_for(obj, events),
                                   now=self.sim.timestamp(), **extra)

    def exec(self, pod: str, command: str | list[str], container: str | None = None,
             namespace: str = "default") -> str:
        """``kubectl exec <pod> -- <command>``: what the command prints (``env``, ``printenv``).

        The API server finds the pod's node and the node's kubelet runs the
        command in the container (the first one unless ``container`` is named).
        A simulated container has only ``env``, ``printenv`` and ``cat
        /etc/resolv.conf``: enough to see the environment its kubelet gave it when
        it started, and the DNS settings its sandbox holds. A command that runs and
        fails raises :class:`~kubelearn.kubelet.runtime.CommandTerminated` with its
        output and ``command terminated with exit code N``, as kubectl prints it.
        """
        obj = self.admin.get("pods", pod, namespace)
        spec, phase = obj.get("spec") or {}, (obj.get("status") or {}).get("phase")
        names = [c.get("name") for c in spec.get("containers") or ()]
        if container is not None and container not in names:
            raise BadRequest(f"container {container} is not valid for pod {pod}")
        if phase in ("Succeeded", "Failed"):  # kubectl checks this before it asks
            raise BadRequest(f"cannot exec into a container in a completed pod; current "
                             f"phase is {phase}")
        kubelet = self.kubelets.get(spec.get("nodeName") or "")
        if kubelet is None:
            raise BadRequest(f"pod {pod} does not have a host assigned")
        if not kubelet.running:
            raise StatusError(f"error dialing backend: dial tcp {kubelet.node_ip}:10250: "
                              "connect: connection refused")
        argv = command.split() if isinstance(command, str) else list(command)
        try:
            return kubelet.exec(pod, argv, container, namespace)
        except KeyError:
            raise BadRequest(f"unable to upgrade connection: pod {pod} not found") from None
        except CommandTerminated:
            raise  # it ran and failed: its output and exit code, as kubectl prints them
        except ExecError as error:
            if error.exit_code == 127:
                raise InternalError(f"error executing command in container: {error}") from None
            raise BadRequest(f"unable to upgrade connection: {error}") from None

    def delete(self, kind: str, name: str, namespace: str = "default", **options: Any) -> dict:
        """``kubectl delete <kind> <name>``: the deleted (or terminating) object or a Status."""
        info = self.admin.info(kind)
        return self.admin.delete(info.resource, name, namespace if info.namespaced else None,
                                 **options)

    # -- evictions, kubectl drain (kubelearn.drain) ---------------------------------------------
    def evict(self, pod: str, namespace: str = "default", **options: Any) -> dict:
        """Evict a pod through the Eviction API, as ``kubectl drain`` does for each of its pods.

        The pod goes (gracefully) only if its PodDisruptionBudget allows one more
        disruption; otherwise ``TooManyRequests`` (429) is raised and nothing changes.
        ``options``: ``grace_period_seconds``, ``preconditions``, ``dry_run``.
        """
        return self.admin.evict(pod, namespace, **options)

    def drain(self, node: str, **options: Any) -> str:
        """``kubectl drain <node>``: cordon it, evict its pods, wait until they are gone.

        Runs the virtual clock while pods terminate and refused evictions are
        retried; returns what kubectl prints. ``options``: ``force`` (delete pods no
        controller owns), ``delete_emptydir_data``, ``grace_period_seconds``,
        ``timeout`` (virtual seconds, 300). See :mod:`kubelearn.drain`.
        """
        return drain.drain(self.admin, node, run=self.run, now=lambda: self.sim.now, **options)

    def uncordon(self, node: str) -> str:
        """``kubectl uncordon <node>``: the scheduler may place pods there again."""
        return drain.uncordon(self.admin, node)

    # -- kubectl rollout (kubelearn.rollout) -----------------------------------------------------
    def rollout_status(self, name: str, namespace: str = "default") -> str:
        """``kubectl rollout status deployment/<name>``: one look, kubectl's message."""
        return rollout.status(self.admin, name, namespace)

    def rollout_history(self, name: str, namespace: str = "default"):  # -> pandas.DataFrame
        """``kubectl rollout history deployment/<name>``: REVISION and CHANGE-CAUSE."""
        return rollout.history(self.admin, name, namespace)

    def rollout_undo(self, name: str, to_revision: int | None = None,
                     namespace: str = "default") -> str:
        """``kubectl rollout undo deployment/<name> [--to-revision=N]``."""
        return rollout.undo(self.admin, name, to_revision, namespace)

    def rollout_pause(self, name: str, namespace: str = "default") -> str:
        """``kubectl rollout pause deployment/<name>``."""
        return rollout.pause(self.admin, name, namespace)

    def rollout_resume(self, name: str, namespace: str = "default") -> str:
        """``kubectl rollout resume deployment/<name>``."""
        return rollout.resume(self.admin, name, namespace)

    def rollout_restart(self, name: str, namespace: str = "default") -> str:
        """``kubectl rollout restart deployment/<name>``: restartedAt from the virtual clock."""
        return rollout.restart(self.admin, name, self.sim.timestamp(), namespace)

    # -- what happened ---------------------------------------------------------------------------
    def events(self, component: str | None = None):  # -> pandas.DataFrame
        """Every record the simulation kept (virtual time, component, reason, object, message)."""
        return self.sim.events(component)

    def audit(self):  # -> pandas.DataFrame
        """The API server's audit table: one row per request."""
        return self.api.audit()

    # -- kubectl, for real -----------------------------------------------------------------------
    def serve(self, **kw: Any):
        """Serve this cluster over HTTP for kubectl (:func:`kubelearn.apiserver.serve.serve`)."""
        from kubelearn.apiserver.serve import serve

        return serve(self, **kw)
