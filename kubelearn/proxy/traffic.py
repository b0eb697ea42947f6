"""Traffic: simulated clients, and what each of their requests meets on the way.

Nothing in a kubelearn container really listens, so requests are simulated too,
one at a time, on the cluster's virtual clock. A request goes the way a TCP
connection goes in a real cluster:

1. **resolve** -- a name (``web``) goes to the cluster DNS through the client
   pod's ``/etc/resolv.conf``: search path and ``ndots:5``
   (:mod:`kubelearn.proxy.dns`). An unknown name fails here (NXDOMAIN).
2. **route** -- the packet meets the *client node's* rules, as that node's
   kube-proxy last restored them (:mod:`kubelearn.proxy.dataplane`): a
   ClusterIP is DNATed to one backend, picked with the rules' probabilities
   (seeded); a Service with no endpoints is REJECTed; a NodePort on another
   node is routed there and meets *that* node's rules.
3. **deliver** -- the backend's node must be up, and something must listen on
   the pod's IP and port (:meth:`kubelearn.kubelet.runtime.Runtime.accepting`).

It fails the way a real connection fails: **refused** at once (a REJECT rule,
a pod that is gone, a port nothing listens on, a server that got SIGTERM);
a **timeout** when nothing answers at all (a node that lost power, a DROP
rule, an address that nothing owns, such as a ClusterIP port no Service
declares); **nxdomain** when DNS knows no such name.

**Connections, not packets, pick backends.** kube-proxy's rules act on a
connection's first packet; conntrack keeps every later packet of it on the
same backend. A client that opens a new connection per request spreads over
the endpoints (1/n each); one that keeps a pool of ``connections`` alive
(``keepalive=True``, HTTP keep-alive) sends all its requests to the backends
its connections picked when they opened -- the "one pod gets all the load"
question. A server that shuts down gracefully closes its idle connections,
and the client opens new ones (no error); a node that loses power closes
nothing, and the request times out.

The latencies come from a small model, kubelearn's own numbers, not upstream's:
:data:`SAME_NODE_DELAY` and :data:`CROSS_NODE_DELAY` one way per hop, a round
trip to open a connection, one for the request plus the server's time (drawn
from an exponential distribution, :data:`SERVICE_TIME` on average), and
:data:`CLIENT_TIMEOUT` for a request nothing answers. Each request is one row
of :meth:`Traffic.requests`: when, from which node, to what, the backend pod
and its node, the outcome and the latency.

    >>> web = cluster.traffic(to="web", rate=200)            # doctest: +SKIP
    >>> cluster.run(60)                                       # doctest: +SKIP
    >>> web.requests().outcome.value_counts()                 # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from kubelearn.proxy.dataplane import DNAT, DROP, REJECT, Route

if TYPE_CHECKING:  # pragma: no cover
    import simpy

    from kubelearn.cluster import Cluster
    from kubelearn.kubelet import Kubelet

# kubelearn's network model (not upstream numbers).
SAME_NODE_DELAY = 50e-6  # seconds one way, pod to pod through the node's bridge
CROSS_NODE_DELAY = 250e-6  # seconds one way, one hop across the nodes' network
SERVICE_TIME = 1e-3  # seconds the server takes to answer a request
CLIENT_TIMEOUT = 2.0  # seconds a client waits for an answer (wrk's default --timeout)
EXTERNAL_CLIENT_IP = "203.0.113.10"  # a client outside the cluster (TEST-NET-3, RFC 5737)
OUTSIDE = "outside"  # from_node for a client outside the cluster

OK, REFUSED, TIMEOUT, NXDOMAIN = "ok", "refused", "timeout", "nxdomain"


class Request(NamedTuple):
    """One request and what became of it."""

    time: float  # when it was sent (simulated seconds)
    client: str  # the client's node, or "outside"
    source: str  # the client's IP
    target: str  # what the client asked for: a name or ip:port
    service: str  # the Service port that routed it (``default/web:http``), or ""
    destination: str  # the backend's ip:port (after DNAT), or where it went
    pod: str  # the backend pod (namespace/name), or ""
    node: str  # the backend's node, or ""
    outcome: str  # ok, refused, timeout, nxdomain
    latency: float  # seconds until the answer, the refusal or the timeout
    connection: int  # which of the client's connections carried it
    reason: str  # why it failed, in words ("" when ok)
    seen_as: str  # the source address the backend saw: the client's, or a node's (SNAT)


class _Client:
    """One client: a pod on a node (an address from its range), or a machine outside."""

    __slots__ = ("node", "name", "ip", "connections")

    def __init__(self, node: Kubelet | None, ip: str, connections: int) -> None:
        self.node = node
        self.name = node.node_name if node is not None else OUTSIDE
        self.ip = ip
        self.connections: list[_Answer | None] = [None] * connections  # open ones


class _Answer(NamedTuple):
    """What one connection attempt met; an open connection keeps the one it succeeded with."""

    outcome: str
    latency: float  # seconds from the first packet to the answer (or give-up)
    service: str = ""
    destination: str = ""
    node: Kubelet | None = None  # the backend's node (None: the control plane machine)
    sandbox: Any = None  # the backend pod's sandbox (None: not a pod)
    rtt: float = 0.0  # a round trip to the backend, once connected
    reason: str = ""
    seen_as: str = ""
    port: int = 0  # the backend's port


class Traffic:
    """Clients sending ``rate`` requests a second to ``to``, until stopped.

    ``to`` is a Service name as a pod would dial it (``web``, ``web.shop``,
    ``web.shop.svc.cluster.local``), optionally with ``:port``, or an address
    ``ip:port`` (a ClusterIP, a pod IP, or a node IP with a NodePort). The port
    defaults to the Service's first port. ``from_node`` is where the clients
    run: a node name or a list of them (one client pod each), ``"outside"`` (a
    machine outside the cluster, which can reach only node addresses), or None
    for every node. The requests are spread over the clients in turn.
    """

    def __init__(self, cluster: Cluster, to: str, rate: float = 100.0, *,
                 from_node: str | Iterable[str] | None = None, namespace: str = "default",
                 port: int | None = None, keepalive: bool = False, connections: int = 2,
                 timeout: float = CLIENT_TIMEOUT, service_time: float = SERVICE_TIME,
                 duration: float | None = None, name: str | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, not {rate}")
        if connections < 1:
            raise ValueError(f"connections must be at least 1, not {connections}")
        self.cluster = cluster
        self.sim = cluster.sim
        self.to = str(to)
        self.rate = float(rate)
        self.namespace = namespace
        self.keepalive = keepalive
        self.timeout = float(timeout)
        self.service_time = float(service_time)
        self.name = name or self.to
        self.host, self.port = _split_target(self.to, port)
        self._address = _is_ip(self.host)
        if self.port is None:
            self.port = self._default_port()
        self._rng = cluster.sim.rng(f"traffic/{self.name}")
        self.clients = self._clients(from_node, connections)
        self._records: list[Request] = []  # only ever appended to
        self._frame: tuple[int, Any] | None = None  # requests() of the first n records
        self.started_at = self.sim.now
        self.stopped_at: float | None = None
        self._until = None if duration is None else self.sim.now + duration
        self._process: simpy.Process = self.sim.process(self._run())
        self.sim.record("traffic", "TrafficStarted", self.name,
                        f"{self.rate:g} requests/s to {self.to} from "
                        f"{', '.join(c.name for c in self.clients)}"
                        f"{' over kept-alive connections' if keepalive else ''}")

    def __repr__(self) -> str:
        state = "running" if self.stopped_at is None else f"stopped at {self.stopped_at:g}s"
        return f"Traffic({self.name!r}, {self.rate:g}/s, {len(self._records)} requests, {state})"

    # -- set-up ----------------------------------------------------------------------------------
    def _clients(self, from_node: str | Iterable[str] | None, connections: int) -> list[_Client]:
        kubelets = self.cluster.kubelets
        if from_node is None:
            names: list[str] = list(kubelets)
        elif isinstance(from_node, str):
            names = [from_node]
        else:
            names = list(from_node)
        if not names:
            raise ValueError("no nodes to run clients on")
        clients = []
        for name in names:
            if name == OUTSIDE:
                clients.append(_Client(None, EXTERNAL_CLIENT_IP, connections))
            elif name not in kubelets:
                raise ValueError(f"no node {name!r}; nodes: {', '.join(kubelets) or 'none'}")
            else:
                node = kubelets[name]
                clients.append(_Client(node, node.runtime.allocate_ip(), connections))
        return clients

    def _default_port(self) -> int:
        """The first port of the Service ``to`` names (80 if it names none)."""
        service, namespace = _service_of(self.host, self.namespace,
                                         self.cluster.dns.domain)
        if service:
            from kubelearn.api import NotFound

            try:
                svc = self.cluster.admin.get("services", service, namespace)
            except NotFound:
                return 80
            for port in (svc.get("spec") or {}).get("ports") or ():
                return int(port.get("port") or 80)
        return 80

    # -- running ---------------------------------------------------------------------------------
    def stop(self) -> None:
        """Stop sending; the clients' addresses go back to their nodes."""
        if self.stopped_at is not None:
            return
        self.stopped_at = self.sim.now
        if self._process.is_alive:
            self._process.interrupt()
        for client in self.clients:
            if client.node is not None:
                client.node.runtime.release_ip(client.ip)
        self.sim.record("traffic", "TrafficStopped", self.name,
                        f"{len(self._records)} requests sent")

    def _run(self) -> Generator[simpy.Event, Any, None]:
        """Send request k at ``start + k/rate``, on the virtual clock.

        Between two events of the simulation nothing in the cluster changes, so the
        requests due before the next event anywhere (``env.peek()``) are all sent
        when the first of them is due, each at its own time -- the same requests,
        the same answers, without a wake-up of the clock for each one.
        """
        import simpy

        env = self.sim.env
        interval = 1.0 / self.rate
        clients = self.clients
        n = len(clients)
        until = math.inf if self._until is None else self._until - 1e-9
        sent = 0
        start = env.now
        due = start
        try:
            while due < until:
                horizon = env.peek()
                while True:  # the request due now, then those due before anything else is
                    client = clients[sent % n]
                    node = client.node
                    if node is None or node.powered_on:  # a dead machine's client sends nothing
                        self._send(client, (sent // n) % len(client.connections), due)
                    sent += 1
                    # the k-th request at start + k/rate exactly: no drift from summing
                    due = start + sent * interval
                    if due >= horizon or due >= until:
                        break
                if due < until:
                    yield env.timeout(max(due - env.now, 0.0))
        except simpy.Interrupt:
            return
        self.stopped_at = self._until  # the duration is up

    def _send(self, client: _Client, slot: int, at: float) -> None:
        """One request from ``client`` at ``at``, on its connection ``slot``, recorded.

        Its latency: the time until the connection could carry it (DNS and a new
        connection's first round trip; nothing on one already open), then the
        request and the server's answer.
        """
        connection = client.connections[slot] if self.keepalive else None
        opened = None
        if connection is not None:
            opened = self._reuse(connection, at)
            if opened is None or opened[0].outcome != OK:  # closed by the server, or dead
                client.connections[slot] = None
        if opened is None:  # a new connection (the old one's server closed it: no error)
            opened = self._open(client, at)
            if opened[0].outcome == OK and self.keepalive:
                client.connections[slot] = opened[0]
        answer, latency = opened
        if answer.outcome == OK:
            latency += answer.rtt + self._serve()  # the request and its answer, on top
        node = answer.node.node_name if answer.node is not None else ""
        pod = answer.sandbox.pod if answer.sandbox is not None else ""
        self._records.append(Request(at, client.name, client.ip, self.to, answer.service,
                                     answer.destination, pod, node, answer.outcome,
                                     latency, slot, answer.reason, answer.seen_as))

    def _reuse(self, connection: _Answer, at: float) -> tuple[_Answer, float] | None:
        """A request on an open connection, and how long it waited for it (nothing, unless
        it hangs); None when the server has closed the connection gracefully."""
        node, sandbox = connection.node, connection.sandbox
        if node is not None:
            if not node.powered_on:  # nothing closes the connection: the request hangs
                return connection._replace(outcome=TIMEOUT, latency=self.timeout,
                                           reason=f"{node.node_name} is down"), self.timeout
            runtime = node.runtime
            if runtime.by_ip.get(sandbox.ip) is not sandbox \
                    or runtime.accepting(sandbox, connection.port, at) is None:
                return None
        return connection, 0.0  # no new connection to open

    def _serve(self) -> float:
        """How long the server takes to answer: exponential, :data:`SERVICE_TIME` on average."""
        return self._rng.expovariate(1.0 / self.service_time) if self.service_time else 0.0

    # -- one connection, hop by hop ------------------------------------------------------------
    def _open(self, client: _Client, at: float) -> tuple[_Answer, float]:
        """Resolve, route and deliver a new connection's first packet, at ``at``.

        What it met, and the seconds the client spent: the DNS queries and the
        answer's latency -- or just the timeout, which counts from the request's start.
        """
        dns_time = 0.0
        if self._address:
            ip = self.host
        else:
            ip, dns_time = self._resolve(client)
            if ip is None:
                return _Answer(NXDOMAIN, dns_time, reason=f"no DNS name {self.host}"), dns_time
        answer = self._route(client, ip, self.port, at)
        if answer.outcome == TIMEOUT:
            return answer, answer.latency
        return answer, answer.latency + dns_time

    def _resolve(self, client: _Client) -> tuple[str | None, float]:
        """The address a stub resolver in the client pod gets, and the time the queries took."""
        address, queries = self.cluster.dns.resolve(self.host, self.namespace)
        return address, 2 * CROSS_NODE_DELAY * queries  # each query a round trip to kube-dns

    def _route(self, client: _Client, ip: str, port: int, at: float) -> _Answer:
        """Send the first packet to ``ip:port`` from ``client``; what happens to it.

        Hop by hop: the client node's rules (none outside the cluster), then the
        machine that owns the address -- a node's own address meets that node's
        rules (a NodePort), then the pod the rules chose.
        """
        here = client.node
        seen = client.ip
        service = ""
        delay = 0.0  # one way, so far
        if here is not None:
            route = self.cluster.proxies[here.node_name].dataplane.route(
                ip, port, "TCP", src_ip=client.ip, rng=self._rng, now=at)
            if route.verdict in (REJECT, DROP):
                return self._blocked(route, f"{ip}:{port}", SAME_NODE_DELAY)
            if route.verdict == DNAT:
                service, (ip, port) = route.service or "", route.backend
                seen = route.source
        destination = f"{ip}:{port}"  # where the packet goes now (after a DNAT)
        network = self.cluster.network
        owner = network.owner(ip)
        if owner is None:
            served = network.serves(ip, port) if here is not None else None
            if served is None:  # nothing owns it (a ClusterIP port no rule took), or no route
                return _Answer(TIMEOUT, self.timeout, service, destination,
                               reason=f"nothing answers at {ip}")
            rtt = 2 * CROSS_NODE_DELAY  # the control plane machine
            if not served:
                return _Answer(REFUSED, rtt, service, destination,
                               reason=f"nothing listens on {ip}:{port}")
            return _Answer(OK, rtt, service, destination, rtt=rtt, seen_as=seen, port=port)
        if here is None and not network.is_node_ip(ip):  # outside: only nodes are routable
            return _Answer(TIMEOUT, self.timeout, service, destination,
                           reason=f"no route to {ip} from outside the cluster")
        hop, lost = self._hop(here, owner, ip, service, destination)
        if lost is not None:
            return lost
        delay += hop
        if not service and network.is_node_ip(ip):  # a node's address: its rules, a NodePort?
            route = self.cluster.proxies[owner.node_name].dataplane.route(
                ip, port, "TCP", src_ip=client.ip, rng=self._rng, now=at)
            if route.verdict in (REJECT, DROP):
                return self._blocked(route, destination, delay)
            if route.verdict != DNAT:
                return _Answer(REFUSED, 2 * delay, "", destination,
                               reason=f"nothing listens on {owner.node_name}:{port}")
            service, (ip, port) = route.service or "", route.backend
            destination, seen = f"{ip}:{port}", route.source
            via, owner = owner, network.owner(ip)
            hop, lost = self._hop(via, owner, ip, service, destination)
            if lost is not None:
                return lost
            delay += hop
        sandbox = owner.runtime.by_ip.get(ip)
        if sandbox is None:
            return _Answer(REFUSED, 2 * delay, service, destination, owner,
                           reason=f"no pod has {ip} any more")
        if owner.runtime.accepting(sandbox, port, at) is None:
            return _Answer(REFUSED, 2 * delay, service, destination, owner, sandbox,
                           reason=f"nothing listens on {sandbox.pod}:{port}")
        return _Answer(OK, 2 * delay, service, destination, owner, sandbox, 2 * delay,
                       seen_as=seen, port=port)

    def _hop(self, here: Kubelet | None, owner: Kubelet | None, ip: str, service: str,
             destination: str) -> tuple[float, _Answer | None]:
        """The packet goes from ``here`` to ``owner``: the one-way delay, or how it is lost."""
        if owner is None:
            return 0.0, _Answer(TIMEOUT, self.timeout, service, destination,
                                reason=f"nothing answers at {ip}")
        if not owner.powered_on:
            return 0.0, _Answer(TIMEOUT, self.timeout, service, destination,
                                reason=f"{owner.node_name} is down")
        return (SAME_NODE_DELAY if owner is here else CROSS_NODE_DELAY), None

    def _blocked(self, route: Route, destination: str, delay: float) -> _Answer:
        """A REJECT (refused at once: an ICMP port unreachable) or a DROP (nothing, ever)."""
        if route.verdict == REJECT:
            return _Answer(REFUSED, 2 * delay, route.service or "", destination,
                           reason=route.reason or "rejected")
        return _Answer(TIMEOUT, self.timeout, route.service or "", destination,
                       reason=route.reason or "dropped")

    # -- what happened ---------------------------------------------------------------------------
    @property
    def records(self) -> list[Request]:
        """Every request so far, oldest first (a copy)."""
        return list(self._records)

    def requests(self):  # -> pandas.DataFrame
        """Every request so far as a DataFrame, one row each (the fields of :class:`Request`)."""
        import pandas as pd

        # The lessons' tables and plots read the same requests many times: the frame is built
        # once per number of records (they are only appended), and each caller gets a copy.
        count = len(self._records)
        if self._frame is None or self._frame[0] != count:
            self._frame = (count, pd.DataFrame(self._records, columns=list(Request._fields)))
        return self._frame[1].copy()

    def summary(self):  # -> pandas.DataFrame
        """Requests per backend pod and outcome: how the load spread, and what failed."""
        frame = self.requests()
        if frame.empty:
            return frame
        frame = frame.assign(pod=frame.pod.where(frame.pod != "", "(none)"))
        table = frame.pivot_table(index="pod", columns="outcome", values="time",
                                  aggfunc="count", fill_value=0)
        table["share"] = table.sum(axis=1) / len(frame)
        return table


def _split_target(to: str, port: int | None) -> tuple[str, int | None]:
    """``host`` and the port from ``host[:port]`` (an explicit ``port`` argument wins)."""
    host, sep, tail = to.rpartition(":")
    if sep and tail.isdigit():
        return host, port if port is not None else int(tail)
    return to, port


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _service_of(host: str, namespace: str, domain: str) -> tuple[str, str]:
    """The Service and namespace a name means from a pod in ``namespace`` ("" if none)."""
    name = host.rstrip(".")
    suffix = f".svc.{domain}"
    if name.endswith(suffix):
        name = name[: -len(suffix)]
    parts = name.split(".")
    if len(parts) == 1:
        return parts[0], namespace
    if len(parts) == 2:
        return parts[0], parts[1]
    return "", namespace
