"""A node's kernel: the rules as last restored, conntrack and ``-m recent`` state, and routing.

kube-proxy only writes rules; the kernel's netfilter applies them to every new
connection. :class:`Dataplane` is that kernel for one node. It belongs to the
node, not to the kube-proxy process: when kube-proxy dies the last rules stay and
keep routing (stale, but working); when the machine reboots (:meth:`Dataplane.reset`)
they are gone until kube-proxy's next sync.

:meth:`Dataplane.route` is what happens to the first packet of a connection:

1. nat ``PREROUTING`` (from a pod or the outside) or ``OUTPUT`` (from the node
   itself) jumps to ``KUBE-SERVICES``; a rule for the destination ``ip:port`` jumps
   to the service's chain, or, for one of the node's own addresses, the last rule
   jumps to ``KUBE-NODEPORTS``;
2. the service's chains (``KUBE-EXT-``/``KUBE-FW-``/``KUBE-SVC-``/``KUBE-SVL-``) mark
   the packet for masquerade where the rules say so, check ``-m recent`` affinity
   lists, and pick an endpoint with the rules' ``--probability`` values;
3. the ``KUBE-SEP-`` chain DNATs to the endpoint (``verdict="DNAT"``);
4. a packet nothing DNATed meets the filter table: ``REJECT`` (``has no endpoints``:
   the client's connect fails at once, "connection refused"), ``DROP`` (``has no
   local endpoints``, or a blocked load-balancer source: the client waits and
   times out), ``ACCEPT`` (a health-check node port, served by the node);
5. otherwise no rule applies (``verdict="NO_RULE"``): the packet goes on unchanged --
   to a pod IP dialled directly, or, for a ClusterIP port no Service declares,
   nowhere: nothing owns a ClusterIP, so nobody answers (why ``ping`` of a ClusterIP
   gets no reply).

The rules are compiled when restored -- ``KUBE-SERVICES`` becomes a dict keyed by
``(ip, protocol, port)``, a run of ``-m statistic`` rules becomes one weighted
draw whose weights are exactly the rules' printed probabilities -- and the first
route between two addresses is remembered as a *plan* (the route each lottery
ticket leads to), so later routes are a dict lookup and one ``rng.random()``.

:meth:`Dataplane.connect` adds conntrack: an established connection keeps the
backend it got (the rules are not consulted again) until it is closed or idles
out; after each restore the stale UDP entries of removed endpoints are deleted,
as kube-proxy's conntrack cleanup does (pkg/proxy/conntrack CleanStaleEntries,
simplified: every UDP entry whose backend the service no longer reaches).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from kubelearn.proxy.iptables import (
    BUILTIN_CHAINS,
    FILTER,
    KUBE_EXTERNAL_SERVICES,
    KUBE_NODEPORTS,
    KUBE_PROXY_CANARY,
    KUBE_PROXY_FIREWALL,
    KUBE_SERVICES,
    MANGLE,
    NAT,
    Rule,
    RuleDiff,
    RuleSet,
    Table,
    diff,
    ensure_canary,
    ensure_jump_rules,
)

DNAT, ACCEPT, REJECT, DROP, NO_RULE = "DNAT", "ACCEPT", "REJECT", "DROP", "NO_RULE"
# KubeProxyConntrackConfiguration.tcpEstablishedTimeout, v1alpha1/defaults.go: 24h (kube-proxy
# sets nf_conntrack_tcp_timeout_established to it).
TCP_ESTABLISHED_TIMEOUT = 86400.0
# The kernel's nf_conntrack_udp_timeout default; kube-proxy leaves it alone unless
# conntrack.udpTimeout is set.
UDP_TIMEOUT = 30.0
_PROTOCOLS = {"TCP": "tcp", "UDP": "udp", "SCTP": "sctp", "tcp": "tcp", "udp": "udp",
              "sctp": "sctp"}
_FILTER_CHAINS = (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL)
# The filter chains a packet nothing DNATed may meet, in proxier_test.go's tracer order, and
# the built-in chains that jump to each (iptablesJumpChains).
_FILTER_HOOKS = ((KUBE_SERVICES, ("FORWARD", "OUTPUT")),
                 (KUBE_EXTERNAL_SERVICES, ("INPUT", "FORWARD")),
                 (KUBE_NODEPORTS, ("INPUT",)),
                 (KUBE_PROXY_FIREWALL, ("INPUT", "OUTPUT", "FORWARD")))


class Route(NamedTuple):
    """What the node does with a connection's first packet.

    ``backend`` is where the packet goes: the endpoint after DNAT, the original
    destination for ``NO_RULE`` and ``ACCEPT``, None for ``REJECT``/``DROP``.
    ``source`` is the address the backend sees: the node's IP when ``masquerade``
    (SNAT), else the client's. ``chains`` are the chains walked, in order;
    ``service`` the ``ns/name:port`` whose rule decided; ``reason`` that rule's
    comment (``default/web has no endpoints``...).
    """

    verdict: str
    backend: tuple[str, int] | None
    source: str
    masquerade: bool
    chains: tuple[str, ...]
    service: str | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        """The packet is on its way (DNAT, ACCEPT or NO_RULE); whether anyone answers at a
        ``NO_RULE`` address is another matter (see :meth:`Dataplane.is_service_address`)."""
        return self.backend is not None


def ip_int(ip: str) -> int:
    """Dotted IPv4 text as an integer."""
    try:
        a, b, c, d = (int(part) for part in ip.split("."))
    except ValueError:
        raise ValueError(f"{ip!r} is not an IPv4 address") from None
    return (a << 24) | (b << 16) | (c << 8) | d


_IP_INTS: dict[str, int] = {}


def _ip_int_cached(ip: str) -> int:
    value = _IP_INTS.get(ip)
    if value is None:
        if len(_IP_INTS) > 1 << 16:
            _IP_INTS.clear()
        value = _IP_INTS[ip] = ip_int(ip)
    return value


def _cidr(text: str) -> tuple[int, int]:
    """``10.244.0.0/16`` (or a bare address) as (network, mask) integers."""
    address, _, bits = text.partition("/")
    prefix = int(bits) if bits else 32
    mask = (0xFFFFFFFF << (32 - prefix)) & 0xFFFFFFFF
    return ip_int(address) & mask, mask


class _Packet:
    """One connection's first packet on its way through the chains."""

    __slots__ = ("src", "dst", "proto", "dport", "src_local", "dst_local", "mark", "chains",
                 "_src_int", "_dst_int", "now", "draw", "forced", "service", "comment",
                 "stateful")

    def __init__(self, src: str, dst: str, proto: str, dport: int, src_local: bool,
                 dst_local: bool, now: float, draw: Callable[[], float] | None,
                 forced: Callable[[list[float]], int] | None = None) -> None:
        self.src, self.dst, self.proto, self.dport = src, dst, proto, dport
        self.src_local, self.dst_local = src_local, dst_local
        self.mark = False
        self.chains: list[str] = []
        self._src_int = self._dst_int = -1
        self.now = now
        self.draw = draw
        self.forced = forced  # outcomes(): a choice per lottery instead of a draw
        self.service: str | None = None
        self.comment: str | None = None
        self.stateful = False  # it read or wrote -m recent lists: its route depends on history

    def choose(self, cumulative: list[float]) -> int:
        """Which ticket of a lottery wins: one uniform draw against the cumulative weights."""
        if self.forced is not None:
            return self.forced(cumulative)
        return bisect.bisect_right(cumulative, self.draw())

    @property
    def src_int(self) -> int:
        if self._src_int < 0:
            self._src_int = _ip_int_cached(self.src)
        return self._src_int

    @property
    def dst_int(self) -> int:
        if self._dst_int < 0:
            self._dst_int = _ip_int_cached(self.dst)
        return self._dst_int


class _Compiled:
    """One rule, parsed once: its matches as plain fields, its target and target options."""

    __slots__ = ("rule", "proto", "dport", "src", "dst", "src_exact", "dst_exact", "src_type",
                 "dst_type", "ctstate", "mark_match", "probability", "recent_check",
                 "recent_set", "target", "to_destination", "or_mark", "comment", "unsupported",
                 "bare")

    def __init__(self, rule: Rule) -> None:
        self.rule = rule
        self.proto = self.dport = self.src = self.dst = None
        self.src_exact = self.dst_exact = None  # (address, negated) for a single address
        self.src_type = self.dst_type = self.ctstate = self.mark_match = None
        self.probability = self.recent_check = self.recent_set = None
        self.target = self.to_destination = self.or_mark = self.comment = None
        self.unsupported = False
        self._parse(rule.args)
        # Nothing but destination, protocol and port: a dict keyed by them has matched it.
        self.bare = not (self.src or self.dst or self.src_exact or self.src_type
                         or self.dst_type or self.ctstate or self.mark_match
                         or self.recent_check or self.unsupported
                         or (self.dst_exact is not None and self.dst_exact[1]))

    def _parse(self, args: tuple[str, ...]) -> None:
        negate, i, n = False, 0, len(args)
        recent_name = seconds = None
        recent_mode = ""
        while i < n:
            token = args[i]
            value = args[i + 1] if i + 1 < n else ""
            step = 2
            if token == "!":
                negate, step = True, 1
            elif token in ("-m", "--mode", "--nfacct-name", "--random-fully", "--reap"):
                step = 1 if token in ("--random-fully", "--reap") else 2
            elif token == "--comment":
                self.comment = value
            elif token == "-p":
                self.proto = value
            elif token in ("-s", "-d"):
                self._address(token, value, negate)
            elif token == "--dport":
                self.dport = int(value)
            elif token in ("--src-type", "--dst-type"):
                setattr(self, "src_type" if token == "--src-type" else "dst_type",
                        (value, negate))
            elif token == "--probability":
                self.probability = float(value)
            elif token == "--name":
                recent_name = value
            elif token in ("--rcheck", "--set", "--update"):
                recent_mode, step = token, 1
            elif token == "--seconds":
                seconds = float(value)
            elif token == "--ctstate":
                self.ctstate = (set(value.split(",")), negate)
            elif token == "--mark":
                self.mark_match = (value, negate)
            elif token == "-j":
                self.target = value
            elif token == "--to-destination":
                address, _, port = value.rpartition(":")
                self.to_destination = (address, int(port))
            elif token in ("--or-mark", "--xor-mark"):
                self.or_mark = token == "--or-mark"
            else:
                self.unsupported = True  # a match kubelearn does not model never matches
                step = 1
            if token != "!":
                negate = False
            i += step
        if recent_mode == "--set":
            self.recent_set = recent_name
        elif recent_mode:
            self.recent_check = (recent_name, seconds if seconds is not None else float("inf"))

    def _address(self, flag: str, value: str, negate: bool) -> None:
        if "/" not in value or value.endswith("/32"):
            exact = (value.split("/")[0], negate)
            if flag == "-s":
                self.src_exact = exact
            else:
                self.dst_exact = exact
        else:
            network, mask = _cidr(value)
            if flag == "-s":
                self.src = (network, mask, negate)
            else:
                self.dst = (network, mask, negate)

    @property
    def plain_jump(self) -> bool:
        """Only a target (and maybe a comment and a --probability): a lottery ticket."""
        return not (self.proto or self.dport or self.src or self.dst or self.src_exact
                    or self.dst_exact or self.src_type or self.dst_type or self.ctstate
                    or self.mark_match or self.recent_check or self.recent_set
                    or self.unsupported) and self.target is not None

    def matches(self, p: _Packet, recent: dict[str, dict[str, float]]) -> bool:
        if self.unsupported or self.mark_match is not None:
            return False  # history (marks) is not modelled: as proxier_test's tracer
        if self.proto is not None and self.proto != p.proto:
            return False
        if self.dport is not None and self.dport != p.dport:
            return False
        if self.dst_exact is not None and (self.dst_exact[0] == p.dst) == self.dst_exact[1]:
            return False
        if self.src_exact is not None and (self.src_exact[0] == p.src) == self.src_exact[1]:
            return False
        if self.dst is not None and ((p.dst_int & self.dst[1]) == self.dst[0]) == self.dst[2]:
            return False
        if self.src is not None and ((p.src_int & self.src[1]) == self.src[0]) == self.src[2]:
            return False
        if self.src_type is not None and (p.src_local == (self.src_type[0] == "LOCAL")) \
                == self.src_type[1]:
            return False
        if self.dst_type is not None and (p.dst_local == (self.dst_type[0] == "LOCAL")) \
                == self.dst_type[1]:
            return False
        if self.ctstate is not None and ("NEW" in self.ctstate[0]) == self.ctstate[1]:
            return False  # a route is always a connection's first packet: state NEW
        if self.recent_check is not None:
            p.stateful = True
            return _recent_check(recent, self.recent_check, p)
        return True


def _recent_check(recent: dict[str, dict[str, float]], check: tuple[str, float],
                  p: _Packet) -> bool:
    """``-m recent --rcheck --seconds N --reap``: the source was seen within N seconds."""
    name, seconds = check
    seen = recent.get(name)
    if not seen:
        return False
    at = seen.get(p.src)
    if at is None:
        return False
    if p.now - at > seconds:
        del seen[p.src]  # --reap
        return False
    return True


class _Lottery:
    """A run of ``-m statistic --mode random --probability p`` jumps: one weighted draw.

    Rule i is taken with probability p_i times the chance that none before it was;
    the closing unconditional rule takes what is left. With kube-proxy's
    ``1/(n-i)`` values that is 1/n each.
    """

    __slots__ = ("targets", "cumulative", "rules")

    def __init__(self, rules: list[_Compiled]) -> None:
        self.rules = rules
        self.targets = [r.target for r in rules]
        weights, left = [], 1.0
        for r in rules:
            p = 1.0 if r.probability is None else r.probability
            weights.append(left * p)
            left -= left * p
        if rules[-1].probability is not None:  # no closing rule: the rest falls through
            self.targets.append(None)
            weights.append(left)
        self.cumulative = []
        total = 0.0
        for w in weights:
            total += w
            self.cumulative.append(total)
        self.cumulative[-1] = 1.0


def _compile_chain(rules: tuple[Rule, ...]) -> list:
    """A chain's rules as steps: compiled rules, with statistic runs folded into lotteries."""
    compiled = [_Compiled(r) for r in rules]
    steps: list = []
    i = 0
    while i < len(compiled):
        c = compiled[i]
        if c.probability is not None and c.plain_jump:
            run = [c]
            i += 1
            while i < len(compiled) and compiled[i].plain_jump:
                run.append(compiled[i])
                i += 1
                if run[-1].probability is None:
                    break
            steps.append(_Lottery(run))
            continue
        steps.append(c)
        i += 1
    return steps


class _IndexedChain:
    """A long entry chain (KUBE-SERVICES...) indexed by destination and port.

    Rules matching one ``ip:port`` go in ``by_dst``, rules matching a port on any
    address in ``by_port``, the rest (the NodePort catch-all) in ``rest``; each list
    already holds ``rest`` too, in chain order, so a lookup is one dict ``get``.
    """

    __slots__ = ("by_dst", "by_port", "rest", "addresses", "_dst_only", "_port_only")

    def __init__(self, rules: tuple[Rule, ...]) -> None:
        self.by_dst: dict[tuple, list[tuple[int, _Compiled]]] = {}
        self.by_port: dict[tuple, list[tuple[int, _Compiled]]] = {}
        self.rest: list[tuple[int, _Compiled]] = []
        for index, rule in enumerate(rules):
            c = _Compiled(rule)
            if c.dst_exact is not None and not c.dst_exact[1] and c.proto and c.dport:
                self.by_dst.setdefault((c.dst_exact[0], c.proto, c.dport), []).append((index, c))
            elif c.proto and c.dport:
                self.by_port.setdefault((c.proto, c.dport), []).append((index, c))
            else:
                self.rest.append((index, c))
        self.addresses = frozenset(ip for ip, _, _ in self.by_dst)
        self._dst_only = {k: sorted(v + self.rest, key=_first) for k, v in self.by_dst.items()}
        self._port_only = {k: sorted(v + self.rest, key=_first) for k, v in self.by_port.items()}

    def candidates(self, p: _Packet) -> list[tuple[int, _Compiled]]:
        """The rules that could match ``p``, in chain order."""
        found = self._dst_only.get((p.dst, p.proto, p.dport))
        by_port = self._port_only.get((p.proto, p.dport))
        if by_port is None:
            return found if found is not None else self.rest
        if found is None:
            return by_port
        return sorted(set(found) | set(by_port), key=_first)


def _first(item: tuple) -> int:
    return item[0]


class Dataplane:
    """One node's netfilter state and the routing it does (see the module docstring).

    ``local_ips`` are the node's addresses besides ``node_ip`` (127.0.0.0/8 always
    counts); ``clock`` gives the virtual time (``lambda: sim.now``) for ``-m recent``
    and conntrack ages.
    """

    def __init__(self, node_name: str, node_ip: str, *, local_ips: Iterable[str] = (),
                 clock: Callable[[], float] | None = None) -> None:
        self.node_name = node_name
        self.node_ip = node_ip
        self.local_ips = frozenset({node_ip, *local_ips})
        self.clock = clock or (lambda: 0.0)
        self.state = RuleSet()
        self.recent: dict[str, dict[str, float]] = {}  # -m recent lists: name -> src -> seen
        self.conntrack: dict[tuple, list] = {}  # (proto, src, sport, dst, dport) -> [Route, seen]
        self.restores = 0
        self._nat: dict[str, list] = {}  # compiled nat chains, compiled when first walked
        self._sources: dict[str, tuple[Rule, ...]] = {}  # the nat chains as restored
        self._plans: dict[tuple, object] = {}  # route plans: a Route, or (weights, Routes)
        self._entry: dict[tuple[str, str], _IndexedChain] = {}
        self._entry_sources: dict[tuple[str, str], tuple[Rule, ...]] = {}
        self._hooks: frozenset[tuple[str, str, str]] = frozenset()  # (table, builtin, target)
        self._reach: dict[tuple, frozenset] | None = None

    def __repr__(self) -> str:
        return (f"Dataplane({self.node_name}, {len(self.state)} rules, "
                f"{len(self.conntrack)} connections)")

    # -- the rules --------------------------------------------------------------------------------
    @property
    def rules(self) -> RuleSet:
        """The rules as last restored (what ``iptables-save`` would print now)."""
        return self.state

    def restore(self, restore_input: RuleSet, *, ensure_jumps: bool = False) -> RuleDiff:
        """``iptables-restore --noflush``: apply one sync's input; what changed.

        ``ensure_jumps`` also ensures the hooks from the built-in chains (PREROUTING
        to KUBE-SERVICES...), as kube-proxy's full syncs do.
        """
        before = self.state
        after = before.restore(restore_input)
        if ensure_jumps:
            after = ensure_jump_rules(after)
        touched = {(name, c) for name, t in restore_input.tables.items()
                   for c in list(t.chains) + t.deleted}
        if ensure_jumps:
            touched |= {(name, c) for name, chains in BUILTIN_CHAINS.items() for c in chains}
        self._install(after)
        self.restores += 1
        self._clean_stale_udp()
        return diff(_subset(before, touched), _subset(after, touched))

    def ensure_canary(self) -> None:
        """iptables.Monitor creating its empty KUBE-PROXY-CANARY chains."""
        self._install(ensure_canary(self.state))

    @property
    def has_canary(self) -> bool:
        """The mangle table's canary chain is there (the Monitor's check)."""
        return KUBE_PROXY_CANARY in self.state.table(MANGLE).chains

    def flush(self) -> None:
        """Someone ran ``iptables -F; iptables -X`` in every table (a firewall reload)."""
        self._install(RuleSet({name: Table(name, {c: () for c in chains})
                               for name, chains in BUILTIN_CHAINS.items()}))

    def reset(self) -> None:
        """The machine rebooted: no rules, no conntrack entries, no recent lists."""
        self._install(RuleSet())
        self.recent.clear()
        self.conntrack.clear()

    def _install(self, state: RuleSet) -> None:
        """Make ``state`` the kernel's; keep what was compiled of chains that did not change."""
        self.state = state
        nat = state.table(NAT).chains
        old = self._sources
        self._nat = {name: steps for name, steps in self._nat.items()
                     if name in nat and (nat[name] is old.get(name) or nat[name] == old.get(name))}
        self._sources = dict(nat)
        entry, sources = {}, {}
        for table, chain in [(NAT, KUBE_SERVICES), (NAT, KUBE_NODEPORTS)] + \
                [(FILTER, c) for c in _FILTER_CHAINS]:
            rules = state.chain(chain, table)
            key = (table, chain)
            before = self._entry_sources.get(key)
            same = key in self._entry and (before is rules or before == rules)
            entry[key] = self._entry[key] if same else _IndexedChain(rules)
            sources[key] = rules
        self._entry, self._entry_sources = entry, sources
        hooks = set()
        for table in (NAT, FILTER):
            for builtin in BUILTIN_CHAINS[table]:
                for rule in state.chain(builtin, table):
                    if rule.target:
                        hooks.add((table, builtin, rule.target))
        self._hooks = frozenset(hooks)
        self._reach = None
        self._plans = {}

    def _chain(self, name: str) -> list | None:
        """A nat chain's compiled steps (compiled the first time it is walked)."""
        steps = self._nat.get(name)
        if steps is None:
            rules = self._sources.get(name)
            if rules is None:
                return None
            steps = self._nat[name] = _compile_chain(rules)
        return steps

    # -- routing ----------------------------------------------------------------------------------
    def is_service_address(self, ip: str) -> bool:
        """Some rule here catches this address (a ClusterIP, external or load-balancer IP).

        Nothing owns such an address: a connection to one of its ports that no rule
        DNATs (``NO_RULE``) gets no answer at all.
        """
        for key in ((NAT, KUBE_SERVICES), (FILTER, KUBE_SERVICES),
                    (FILTER, KUBE_EXTERNAL_SERVICES), (FILTER, KUBE_PROXY_FIREWALL)):
            indexed = self._entry.get(key)
            if indexed is not None and ip in indexed.addresses:
                return True
        return False

    def is_local(self, ip: str) -> bool:
        """``-m addrtype --*-type LOCAL``: one of this node's addresses (or 127.0.0.0/8)."""
        return ip in self.local_ips or ip.startswith("127.")

    def route(self, dst_ip: str, dst_port: int, protocol: str = "TCP", *, src_ip: str,
              rng: random.Random, local: bool | None = None, now: float | None = None
              ) -> Route:
        """What the node does with a new connection from ``src_ip`` to ``dst_ip:dst_port``.

        ``local``: sent by the node itself (nat OUTPUT) rather than arriving from a pod
        or the network (PREROUTING); by default, whether ``src_ip`` is the node's.
        ``rng`` is the caller's seeded generator: one draw per ``-m statistic`` run
        picks the endpoint.

        The first route between two addresses walks the chains and remembers the
        outcome of every lottery ticket (a *plan*); later ones are a dict lookup and
        the draw. Routes that read ``-m recent`` lists are walked every time, at
        ``now`` (default: the clock's time).
        """
        key = (dst_ip, dst_port, protocol, src_ip, local)
        plan = self._plans.get(key)
        if plan is not None:
            if plan.__class__ is Route:
                return plan
            cumulative, routes = plan
            return routes[bisect.bisect_right(cumulative, rng.random())]
        return self._plan_route(key, rng, now)

    def _plan_route(self, key: tuple, rng: random.Random, now: float | None = None) -> Route:
        dst_ip, dst_port, protocol, src_ip, local = key
        seen: list[tuple[list[float], int]] = []

        def draw_and_note(cumulative: list[float]) -> int:
            choice = bisect.bisect_right(cumulative, rng.random())
            seen.append((cumulative, choice))
            return choice

        route, stateful = self._route(dst_ip, dst_port, protocol, src_ip, local, None,
                                      draw_and_note, with_state=True, now=now)
        if stateful or len(seen) > 1:
            return route
        if len(self._plans) > 1 << 17:
            self._plans.clear()
        if not seen:
            self._plans[key] = route
            return route
        cumulative, chosen = seen[0]
        routes = [route if i == chosen else
                  self._route(dst_ip, dst_port, protocol, src_ip, local, None,
                              lambda _c, i=i: i)
                  for i in range(len(cumulative))]
        self._plans[key] = (cumulative, routes)
        return route

    def outcomes(self, dst_ip: str, dst_port: int, protocol: str = "TCP", *, src_ip: str,
                 local: bool | None = None) -> list[tuple[float, Route]]:
        """Every route the rules allow, with its probability (no draws, no state changed)."""
        results: list[tuple[float, Route]] = []
        stack: list[list[int]] = [[]]
        recent = self.recent
        self.recent = {k: dict(v) for k, v in recent.items()}
        try:
            while stack:
                forced = stack.pop()
                taken: list[tuple[int, list[float]]] = []

                def choose(cumulative: list[float], forced: list[int] = forced,
                           taken: list = taken) -> int:
                    i = forced[len(taken)] if len(taken) < len(forced) else 0
                    taken.append((i, cumulative))
                    return i

                route = self._route(dst_ip, dst_port, protocol, src_ip, local, None, choose)
                chance = 1.0
                for i, cumulative in taken:
                    chance *= cumulative[i] - (cumulative[i - 1] if i else 0.0)
                results.append((chance, route))
                for depth in range(len(forced), len(taken)):
                    prefix = [i for i, _ in taken[:depth]]
                    for other in range(1, len(taken[depth][1])):
                        stack.append(prefix + [other])
        finally:
            self.recent = recent
        return sorted(results, key=lambda item: (item[1].backend or ("", 0), -item[0]))

    def _route(self, dst_ip: str, dst_port: int, protocol: str, src_ip: str,
               local: bool | None, draw: Callable[[], float] | None,
               forced: Callable[[list[float]], int] | None, with_state: bool = False,
               now: float | None = None) -> Any:
        """Walk the chains; the Route (and, ``with_state``, whether it read -m recent)."""
        route = self._walk_all(dst_ip, dst_port, protocol, src_ip, local, draw, forced, now)
        return (route[0], route[1]) if with_state else route[0]

    def _walk_all(self, dst_ip: str, dst_port: int, protocol: str, src_ip: str,
                  local: bool | None, draw: Callable[[], float] | None,
                  forced: Callable[[list[float]], int] | None,
                  now: float | None = None) -> tuple[Route, bool]:
        proto = _PROTOCOLS.get(protocol) or protocol.lower()
        local_ips = self.local_ips
        src_local = src_ip in local_ips or src_ip.startswith("127.")
        if local is None:
            local = src_ip in local_ips
        p = _Packet(src_ip, dst_ip, proto, int(dst_port), src_local,
                    dst_ip in local_ips or dst_ip.startswith("127."),
                    self.clock() if now is None else now, draw, forced)
        hook = "OUTPUT" if local else "PREROUTING"
        p.chains.append(hook)
        if (NAT, hook, KUBE_SERVICES) in self._hooks:
            found = self._walk_entry(NAT, KUBE_SERVICES, p)
            if found is not None and found.to_destination is not None:
                return self._done(p, DNAT, found.to_destination), p.stateful
        for chain, hooks in _FILTER_HOOKS:  # what nothing DNATed meets in the filter table
            if chain == KUBE_NODEPORTS and not p.dst_local:
                continue  # hooked from INPUT only: packets for this node
            if not any((FILTER, hook, chain) in self._hooks for hook in hooks):
                continue
            found = self._walk_entry(FILTER, chain, p)
            if found is not None and found.target in (ACCEPT, REJECT, DROP):
                target = (dst_ip, int(dst_port)) if found.target == ACCEPT else None
                return self._done(p, found.target, target), p.stateful
        return self._done(p, NO_RULE, (dst_ip, int(dst_port))), p.stateful

    def _done(self, p: _Packet, verdict: str, backend: tuple[str, int] | None) -> Route:
        masquerade = p.mark and verdict == DNAT
        if verdict == NO_RULE:
            p.service = p.comment = None  # whatever matched on the way decided nothing
        return Route(verdict, backend, self.node_ip if masquerade else p.src, masquerade,
                     tuple(p.chains), p.service, p.comment)

    def _walk_entry(self, table: str, chain: str, p: _Packet) -> _Compiled | None:
        """Walk an indexed entry chain; the terminal rule reached (DNAT or a verdict)."""
        indexed = self._entry.get((table, chain))
        if indexed is None:
            return None
        p.chains.append(chain)
        for _, c in indexed.candidates(p):
            if not (c.bare and c.dport is not None) and not c.matches(p, self.recent):
                continue
            if c.comment:
                p.comment = c.comment  # the entry rule says which service this is
                word = c.comment.split(" ", 1)[0]
                p.service = word if "/" in word else p.service
            found = self._act(c, p, table)
            if found is _RETURN:
                return None
            if found is not None:
                return found
        return None

    def _walk(self, chain: str, p: _Packet) -> _Compiled | None:
        """Walk a nat chain; the DNAT rule it ends in, or None (it returned)."""
        steps = self._chain(chain)
        if steps is None:
            return None
        p.chains.append(chain)
        for step in steps:
            if step.__class__ is _Lottery:
                target = step.targets[p.choose(step.cumulative)]
                if target is not None:
                    found = self._walk(target, p)
                    if found is not None:
                        return found
                continue
            if not step.matches(p, self.recent):
                continue
            found = self._act(step, p, NAT)
            if found is not None:
                return found if found is not _RETURN else None
        return None

    def _act(self, c: _Compiled, p: _Packet, table: str) -> _Compiled | None:
        """Do what a matching rule says; a terminal rule, _RETURN, or None (go on)."""
        if c.recent_set is not None:
            p.stateful = True
            self.recent.setdefault(c.recent_set, {})[p.src] = p.now
        target = c.target
        if target is None:
            return None
        if target == "MARK":
            p.mark = p.mark or bool(c.or_mark)
            return None
        if target == "DNAT" or target in (ACCEPT, REJECT, DROP):
            return c
        if target == "RETURN":
            return _RETURN
        if (table, target) in self._entry:
            return self._walk_entry(table, target, p)
        if table == NAT and target in self._sources:
            return self._walk(target, p)
        return None

    # -- connections ------------------------------------------------------------------------------
    def connect(self, dst_ip: str, dst_port: int, protocol: str = "TCP", *, src_ip: str,
                src_port: int = 0, rng: random.Random, local: bool | None = None) -> Route:
        """A connection: an established one keeps its route; a new one is routed and tracked."""
        proto = _PROTOCOLS.get(protocol) or protocol.lower()
        key = (proto, src_ip, src_port, dst_ip, int(dst_port))
        now = self.clock()
        entry = self.conntrack.get(key)
        if entry is not None:
            if now - entry[1] <= _timeout(proto):
                entry[1] = now
                return entry[0]
            del self.conntrack[key]
        route = self.route(dst_ip, dst_port, proto, src_ip=src_ip, rng=rng, local=local)
        if route.ok:
            self.conntrack[key] = [route, now]
        return route

    def close(self, dst_ip: str, dst_port: int, protocol: str = "TCP", *, src_ip: str,
              src_port: int = 0) -> None:
        """The connection ended: forget its conntrack entry."""
        proto = _PROTOCOLS.get(protocol) or protocol.lower()
        self.conntrack.pop((proto, src_ip, src_port, dst_ip, int(dst_port)), None)

    def _clean_stale_udp(self) -> None:
        """Delete UDP entries DNATed to a backend their service no longer reaches."""
        stale = [key for key, (route, _) in self.conntrack.items()
                 if key[0] == "udp" and route.verdict == DNAT
                 and route.backend not in self.backends(key[3], key[4], "udp")]
        for key in stale:
            del self.conntrack[key]

    def backends(self, dst_ip: str, dst_port: int, protocol: str = "TCP") -> frozenset:
        """Every ``(ip, port)`` the nat rules can DNAT ``dst_ip:dst_port`` to, from anywhere."""
        proto = _PROTOCOLS.get(protocol) or protocol.lower()
        if self._reach is None:
            self._reach = {}
        key = (dst_ip, proto, int(dst_port))
        if key not in self._reach:
            found: set[tuple[str, int]] = set()
            entries = []
            services = self._entry.get((NAT, KUBE_SERVICES))
            if services is not None:
                entries += services.by_dst.get(key, [])
            nodeports = self._entry.get((NAT, KUBE_NODEPORTS))
            if nodeports is not None and self.is_local(dst_ip):
                entries += nodeports.by_port.get((proto, int(dst_port)), [])
            for _, c in entries:
                self._collect(c.target, found, set())
            self._reach[key] = frozenset(found)
        return self._reach[key]

    def _collect(self, chain: str | None, found: set, seen: set) -> None:
        if chain is None or chain in seen or chain not in self._sources:
            return
        seen.add(chain)
        for step in self._chain(chain):
            for c in (step.rules if step.__class__ is _Lottery else [step]):
                if c.to_destination is not None:
                    found.add(c.to_destination)
                self._collect(c.target, found, seen)


_RETURN = _Compiled(Rule("", ("-j", "RETURN")))


def _timeout(proto: str) -> float:
    return UDP_TIMEOUT if proto == "udp" else TCP_ESTABLISHED_TIMEOUT


def _subset(state: RuleSet, chains: set[tuple[str, str]]) -> RuleSet:
    """Only the given (table, chain) pairs of a rule set."""
    tables: dict[str, Table] = {}
    for table, chain in chains:
        rules = state.table(table).chains.get(chain)
        if rules is not None:
            tables.setdefault(table, Table(table)).chains[chain] = rules
    return RuleSet(tables)
