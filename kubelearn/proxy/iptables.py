"""kube-proxy's iptables mode as data: chain names, rules, iptables-save text, and the generator.

The iptables proxier (pkg/proxy/iptables/proxier.go) keeps no routing table of
its own: each sync it writes text for ``iptables-restore`` and the kernel does
the rest. Here that text is data:

- a :class:`Rule` is one ``-A CHAIN ...`` line, its arguments as kube-proxy writes
  them (comments unquoted; :meth:`Rule.text` quotes one holding a space, as
  iptables-save does);
- a :class:`RuleSet` is tables of chains of rules -- either a node's kernel state
  (:meth:`RuleSet.save` prints it like ``iptables-save -t nat``, :meth:`RuleSet.frame`
  as a DataFrame) or one sync's ``iptables-restore`` input, which may declare
  chains to delete (``-X``); :meth:`RuleSet.restore` applies one to the other with
  ``--noflush`` semantics (a declared chain is flushed and refilled, others stay);
- :func:`sync_rules` is syncProxyRules' writing half, a pure function of the
  service ports, their endpoints, the node and the :class:`ProxyConfig`: per
  service port a ``KUBE-SVC-`` (Cluster policy), ``KUBE-SVL-`` (Local policy),
  ``KUBE-EXT-`` (external traffic), ``KUBE-FW-`` (loadBalancerSourceRanges) chain and a
  ``KUBE-SEP-`` chain per endpoint, ``-m statistic --mode random --probability
  1/(n-i)`` spreading new connections, ``-m recent`` pinning ClientIP affinity, the
  ``has no endpoints`` REJECT and ``has no local endpoints`` DROP filter rules;
- :func:`diff` compares two rule sets, like a diff of two iptables-save outputs.

Chain names are upstream's: the first 16 characters of the base32 (StdEncoding)
SHA-256 of ``ns/name:port`` + protocol (+ ``ip:port`` for an endpoint), so
``default/kubernetes:https`` over TCP is ``KUBE-SVC-NPX46M4PTMTKRN6Y`` here as on a
real node. Arguments come in upstream's order; real ``iptables-save`` would
reorder them (``-d``/``-s``/``-p`` first, ``/32`` added) -- kubelearn prints them as
kube-proxy wrote them, as proxier_test.go's expected tables do.

Read from v1.32-era pkg/proxy/iptables/proxier.go (contextual logging, nfacct,
``proxyutil.FullSyncPeriod``).
"""

from __future__ import annotations

import hashlib
import ipaddress
import shlex
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from kubelearn.proxy.servicemap import (
    Endpoint,
    ServicePort,
    ServicePortName,
    categorize_endpoints,
)

FILTER, NAT, MANGLE = "filter", "nat", "mangle"

# proxier.go: the chains kube-proxy owns.
KUBE_SERVICES = "KUBE-SERVICES"
KUBE_EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
KUBE_NODEPORTS = "KUBE-NODEPORTS"
KUBE_POSTROUTING = "KUBE-POSTROUTING"
KUBE_MARK_MASQ = "KUBE-MARK-MASQ"
KUBE_FORWARD = "KUBE-FORWARD"
KUBE_PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
KUBE_PROXY_CANARY = "KUBE-PROXY-CANARY"
KUBE_FIREWALL = "KUBE-FIREWALL"  # kubelet's chain; kube-proxy writes its localnet rule too
SVC_PREFIX, SVL_PREFIX, FW_PREFIX, EXT_PREFIX, SEP_PREFIX = (
    "KUBE-SVC-", "KUBE-SVL-", "KUBE-FW-", "KUBE-EXT-", "KUBE-SEP-")
SERVICE_CHAIN_PREFIXES = (SVC_PREFIX, SVL_PREFIX, SEP_PREFIX, FW_PREFIX, EXT_PREFIX)
# proxier.go largeClusterEndpointsThreshold: above this many endpoints, SEP rules lose their
# comments and stale chains are deleted only once per syncPeriod.
LARGE_CLUSTER_ENDPOINTS_THRESHOLD = 1000
# metrics.IPTablesCTStateInvalidDroppedNFAcctCounter / LocalhostNodePortAcceptedNFAcctCounter
NFACCT_CT_STATE_INVALID = "ct_state_invalid_dropped_pkts"
NFACCT_LOCALHOST_NODEPORTS = "localhost_nps_accepted_pkts"
# KubeProxyIPTablesConfiguration.masqueradeBit default, v1alpha1/defaults.go
MASQUERADE_BIT = 14
# The chains the kernel has before anyone adds one, with their policies.
BUILTIN_CHAINS = {FILTER: ("INPUT", "FORWARD", "OUTPUT"),
                  NAT: ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"),
                  MANGLE: ("PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING")}
TABLE_ORDER = (MANGLE, FILTER, NAT)


# -- chain names (proxier.go portProtoHash and friends) --------------------------------------

_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 StdEncoding


def _base32_16(digest: bytes) -> str:
    """``base32.StdEncoding.EncodeToString(digest)[:16]``: 16 characters, 5 bits each, so
    the first 80 bits (base64.b32encode of the whole digest is slow pure Python)."""
    bits = int.from_bytes(digest[:10], "big")
    return "".join(_BASE32[(bits >> shift) & 31] for shift in range(75, -1, -5))


@lru_cache(maxsize=1 << 16)
def port_proto_hash(service_port_name: str, protocol: str) -> str:
    """portProtoHash: base32(sha256(name + protocol))[:16]; the protocol lower-case."""
    return _base32_16(hashlib.sha256((service_port_name + protocol).encode()).digest())


def service_chain(service_port_name: str, protocol: str) -> str:
    """servicePortPolicyClusterChain: KUBE-SVC-, the endpoints for Cluster traffic policy."""
    return SVC_PREFIX + port_proto_hash(service_port_name, protocol)


def local_chain(service_port_name: str, protocol: str) -> str:
    """servicePortPolicyLocalChainName: KUBE-SVL-, this node's endpoints for Local policy."""
    return SVL_PREFIX + port_proto_hash(service_port_name, protocol)


def firewall_chain(service_port_name: str, protocol: str) -> str:
    """serviceFirewallChainName: KUBE-FW-, loadBalancerSourceRanges filtering."""
    return FW_PREFIX + port_proto_hash(service_port_name, protocol)


def external_chain(service_port_name: str, protocol: str) -> str:
    """serviceExternalChainName: KUBE-EXT-, where NodePort, external and LB traffic goes."""
    return EXT_PREFIX + port_proto_hash(service_port_name, protocol)


@lru_cache(maxsize=1 << 17)
def endpoint_chain(service_port_name: str, protocol: str, endpoint: str) -> str:
    """servicePortEndpointChainName: KUBE-SEP-, base32(sha256(name + protocol + ip:port))."""
    digest = hashlib.sha256((service_port_name + protocol + endpoint).encode()).digest()
    return SEP_PREFIX + _base32_16(digest)


def is_service_chain(chain: str) -> bool:
    """isServiceChainName: one of the per-service chains a sync may delete."""
    return chain.startswith(SERVICE_CHAIN_PREFIXES)


@lru_cache(maxsize=4096)
def probability(n: int) -> str:
    """computeProbability: ``1/n`` as ``%0.10f`` (cached, as the proxier precomputes them)."""
    return f"{1.0 / n:0.10f}"


# -- rules -------------------------------------------------------------------------------------

def _quote(token: str) -> str:
    return f'"{token}"' if (" " in token or not token) else token


class Rule(NamedTuple):
    """``-A <chain> <args...>``: the arguments as kube-proxy writes them, comments unquoted."""

    chain: str
    args: tuple[str, ...]

    def text(self) -> str:
        """The line as iptables-save prints it (a comment with a space in quotes)."""
        return " ".join(("-A", self.chain, *map(_quote, self.args)))

    def __str__(self) -> str:
        return self.text()

    def option(self, name: str) -> str | None:
        """The value after ``name`` (``--comment``, ``--to-destination``, ``-d``...), if any."""
        args = self.args
        for i in range(len(args) - 1):
            if args[i] == name:
                return args[i + 1]
        return None

    @property
    def target(self) -> str | None:
        """What ``-j`` jumps to, or None for a rule that only counts."""
        return self.option("-j")

    @property
    def comment(self) -> str | None:
        return self.option("--comment")

    @property
    def probability(self) -> float | None:
        value = self.option("--probability")
        return float(value) if value is not None else None

    @property
    def match(self) -> str:
        """The rule's matches: its arguments without the comment and the target."""
        out, args, i = [], self.args, 0
        while i < len(args):
            if args[i] == "-m" and i + 1 < len(args) and args[i + 1] == "comment":
                i += 4
            elif args[i] == "-j":
                break
            else:
                out.append(_quote(args[i]))
                i += 1
        return " ".join(out)


def comment_args(comment: str) -> tuple[str, ...]:
    return ("-m", "comment", "--comment", comment)


@dataclass
class Table:
    """One table: chains in declaration order, each a tuple of rules; chains to delete (-X)."""

    name: str
    chains: dict[str, tuple[Rule, ...]] = field(default_factory=dict)
    deleted: list[str] = field(default_factory=list)
    policies: dict[str, str] = field(default_factory=dict)  # built-in chain -> ACCEPT/DROP

    def rules(self) -> Iterator[Rule]:
        for rules in self.chains.values():
            yield from rules

    def __len__(self) -> int:
        return sum(len(r) for r in self.chains.values())

    def __bool__(self) -> bool:  # a table with no rules is still a table
        return True


_SAVE_ORDERS = ("iptables-save", "sorted")


class RuleSet:
    """Tables of chains of rules: a node's netfilter state, or one sync's restore input."""

    def __init__(self, tables: Mapping[str, Table] | None = None) -> None:
        self.tables: dict[str, Table] = dict(tables or {})

    def __repr__(self) -> str:
        sizes = ", ".join(f"{name}: {len(t)} rules" for name, t in self._ordered_tables())
        return f"RuleSet({sizes})"

    def __str__(self) -> str:
        return self.save()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:  # IPython shows the text
        printer.text(repr(self) if cycle else self.save())

    def __len__(self) -> int:
        return sum(len(t) for t in self.tables.values())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RuleSet):
            return NotImplemented
        mine = {n: (t.chains, t.deleted) for n, t in self.tables.items() if t.chains or t.deleted}
        theirs = {n: (t.chains, t.deleted) for n, t in other.tables.items()
                  if t.chains or t.deleted}
        return mine == theirs

    def table(self, name: str) -> Table:
        """The table ``name`` (an empty one if absent)."""
        table = self.tables.get(name)
        return table if table is not None else Table(name)

    def chain(self, name: str, table: str = NAT) -> tuple[Rule, ...]:
        """The rules of one chain (empty if there is no such chain)."""
        return self.table(table).chains.get(name, ())

    def rules(self, table: str | None = None) -> Iterator[tuple[str, Rule]]:
        """``(table, rule)`` for every rule, in iptables-save order."""
        for name, t in self._ordered_tables():
            if table is None or name == table:
                for rule in t.rules():
                    yield name, rule

    def _ordered_tables(self) -> list[tuple[str, Table]]:
        known = [(n, self.tables[n]) for n in TABLE_ORDER if n in self.tables]
        return known + [(n, t) for n, t in self.tables.items() if n not in TABLE_ORDER]

    # -- text ---------------------------------------------------------------------------------
    def save(self, table: str | None = None, *, order: str = "iptables-save") -> str:
        """The text ``iptables-save [-t table]`` prints (one table, or all of them).

        ``order="iptables-save"``: built-in chains first, then the others by name,
        rules grouped by chain -- what the kernel hands back. ``order="sorted"``:
        proxier_test.go's sortIPTablesRules, KUBE-NODEPORTS and KUBE-SERVICES first and
        their rules by service, as upstream's expected tables are written (for
        byte-for-byte comparisons).
        """
        if order not in _SAVE_ORDERS:
            raise ValueError(f"order must be one of {', '.join(_SAVE_ORDERS)}, not {order!r}")
        if table is not None and table not in self.tables:
            raise ValueError(f"no table {table!r}; tables: {', '.join(self.tables) or 'none'}")
        tables = [(n, t) for n, t in self._ordered_tables() if table is None or n == table]
        if order == "sorted":
            tables.sort(key=lambda item: item[0])
        lines: list[str] = []
        for _, t in tables:
            lines.extend(_table_lines(t, order))
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> RuleSet:
        """Read iptables-save / iptables-restore text back into a RuleSet."""
        tables: dict[str, Table] = {}
        current: Table | None = None
        building: dict[str, list[Rule]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                current = tables[line[1:]] = Table(line[1:])
                building = {}
                continue
            if current is None:
                raise ValueError(f"line {number}: {line!r} is outside a table")
            if line == "COMMIT":
                current.chains = {c: tuple(r) for c, r in building.items()}
                current = None
                continue
            if line.startswith(":"):
                name, policy = (line[1:].split() + ["-"])[:2]
                building.setdefault(name, [])
                if policy != "-":
                    current.policies[name] = policy
            elif line.startswith("-A "):
                tokens = shlex.split(line)
                if len(tokens) < 2:
                    raise ValueError(f"line {number}: no chain in {line!r}")
                building.setdefault(tokens[1], []).append(Rule(tokens[1], tuple(tokens[2:])))
            elif line.startswith("-X "):
                current.deleted.append(line.split()[1])
            else:
                raise ValueError(f"line {number}: cannot read {line!r}")
        if current is not None:
            raise ValueError(f"table {current.name!r} has no COMMIT")
        return cls(tables)

    # -- applying a restore -------------------------------------------------------------------
    def restore(self, restore_input: RuleSet) -> RuleSet:
        """The state after ``iptables-restore --noflush`` of ``restore_input`` onto this one.

        Each chain the input declares is flushed and refilled with the input's rules
        (a new one is created); ``-X`` deletes a chain; chains it does not mention keep
        their rules. Unchanged chains are shared with this rule set, not copied.
        """
        tables = dict(self.tables)
        for name, given in restore_input.tables.items():
            before = tables[name] if name in tables else Table(name)
            chains = dict(before.chains)
            chains.update(given.chains)
            for chain in given.deleted:
                if chain in BUILTIN_CHAINS.get(name, ()):
                    raise ValueError(f"cannot delete built-in chain {chain} of table {name}")
                chains.pop(chain, None)
            tables[name] = Table(name, chains, [], {**before.policies, **given.policies})
        return RuleSet(tables)

    # -- tables for people ----------------------------------------------------------------------
    def frame(self, table: str | None = None):  # -> pandas.DataFrame
        """One row a rule: table, chain, position, service, match, target, probability..."""
        import pandas as pd

        rows = []
        for name, t in self._ordered_tables():
            if table is not None and name != table:
                continue
            for chain, rules in t.chains.items():
                for position, rule in enumerate(rules, 1):
                    rows.append(_rule_row(name, chain, position, rule))
        return pd.DataFrame(rows, columns=FRAME_COLUMNS)


FRAME_COLUMNS = ["table", "chain", "position", "service", "match", "target", "probability",
                 "to_destination", "comment"]


def _service_of(comment: str | None) -> str | None:
    """The service port a kube-proxy comment is about: ``ns/name:port`` (or ``ns/name``)."""
    if not comment or "/" not in comment:
        return None
    words = comment.split()
    for word in words:
        if "/" in word and not word.startswith(("kubernetes", "KUBE-")):
            return word.rstrip(",")
    return None


def _rule_row(table: str, chain: str, position: int | None, rule: Rule) -> tuple:
    return (table, chain, position, _service_of(rule.comment), rule.match, rule.target,
            rule.probability, rule.option("--to-destination"), rule.comment)


def _table_lines(table: Table, order: str) -> list[str]:
    chains = list(table.chains)
    declared = chains + [c for c in table.deleted if c not in table.chains]
    if order == "sorted":
        declared.sort(key=_sorted_chain_key)
    else:
        builtins = BUILTIN_CHAINS.get(table.name, ())
        declared = [c for c in builtins if c in declared] + \
            sorted(c for c in declared if c not in builtins)
    lines = [f"*{table.name}"]
    for chain in declared:
        policy = table.policies.get(chain, "ACCEPT") \
            if chain in BUILTIN_CHAINS.get(table.name, ()) else "-"
        lines.append(f":{chain} {policy} [0:0]")
    for chain in declared:
        rules = table.chains.get(chain, ())
        if order == "sorted" and chain in (KUBE_NODEPORTS, KUBE_SERVICES):
            rules = _sorted_by_service(rules, last_rule_last=chain == KUBE_SERVICES)
        lines.extend(rule.text() for rule in rules)
    lines.extend(f"-X {chain}" for chain in declared if chain in table.deleted)
    lines.append("COMMIT")
    return lines


def _sorted_chain_key(chain: str) -> tuple:
    """sortIPTablesRules: KUBE-NODEPORTS, KUBE-SERVICES, other KUBE-* by name, then the rest."""
    if chain == KUBE_NODEPORTS:
        return (0, "")
    if chain == KUBE_SERVICES:
        return (1, "")
    return (2 if chain.startswith("KUBE-") else 3, chain)


def _sorted_by_service(rules: Iterable[Rule], last_rule_last: bool) -> list[Rule]:
    """orderByCommentServiceName: a stable sort on the comment up to the first space or colon."""
    def key(rule: Rule) -> tuple:
        comment = rule.comment
        if last_rule_last and comment and "must be the last rule" in comment:
            return (1, "")
        if comment is None:
            return (0, "")
        cut = min((i for i in (comment.find(" "), comment.find(":")) if i >= 0), default=None)
        return (0, comment[:cut])
    return sorted(rules, key=key)


# -- diffs -----------------------------------------------------------------------------------

class RuleDiff(NamedTuple):
    """What changed between two rule sets: rules and chains added and removed."""

    added: list[tuple[str, Rule]]
    removed: list[tuple[str, Rule]]
    chains_added: list[tuple[str, str]]
    chains_removed: list[tuple[str, str]]

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.chains_added or self.chains_removed)

    def __str__(self) -> str:
        lines = [f"-:{chain} ({table})" for table, chain in self.chains_removed]
        lines += [f"+:{chain} ({table})" for table, chain in self.chains_added]
        lines += [f"-{rule.text()}" for _, rule in self.removed]
        lines += [f"+{rule.text()}" for _, rule in self.added]
        return "\n".join(lines) + ("\n" if lines else "")

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self) or "(no change)")

    def frame(self):  # -> pandas.DataFrame
        """One row a changed rule: ``change`` (``+`` or ``-``) then the rule's columns."""
        import pandas as pd

        rows = [(sign, *_rule_row(table, rule.chain, None, rule))
                for sign, changes in (("-", self.removed), ("+", self.added))
                for table, rule in changes]
        return pd.DataFrame(rows, columns=["change", *FRAME_COLUMNS]).drop(columns="position")


def diff(old: RuleSet, new: RuleSet) -> RuleDiff:
    """The rules and chains in ``new`` but not ``old`` and the other way round (as multisets)."""
    added: list[tuple[str, Rule]] = []
    removed: list[tuple[str, Rule]] = []
    chains_added: list[tuple[str, str]] = []
    chains_removed: list[tuple[str, str]] = []
    for name in sorted(set(old.tables) | set(new.tables), key=_table_rank):
        before, after = old.table(name).chains, new.table(name).chains
        chains_added += [(name, c) for c in after if c not in before]
        chains_removed += [(name, c) for c in before if c not in after]
        for chain in list(before) + [c for c in after if c not in before]:
            a, b = before.get(chain, ()), after.get(chain, ())
            if a is not b and a != b:
                removed += [(name, r) for r in _minus(a, b)]
                added += [(name, r) for r in _minus(b, a)]
    return RuleDiff(added, removed, chains_added, chains_removed)


def _minus(rules: tuple[Rule, ...], others: tuple[Rule, ...]) -> list[Rule]:
    """The rules of ``rules`` that ``others`` has no copy of left, in order (multiset minus)."""
    if not others:
        return list(rules)
    if not rules:
        return []
    left = Counter(others)
    out = []
    for rule in rules:
        if left[rule] > 0:
            left[rule] -= 1
        else:
            out.append(rule)
    return out


def _table_rank(name: str) -> tuple:
    return (TABLE_ORDER.index(name) if name in TABLE_ORDER else len(TABLE_ORDER), name)


# -- the chains kube-proxy hooks into the built-in ones (proxier.go iptablesJumpChains) ------

# (table, chain jumped to, built-in chain, comment, extra matches); in upstream's order.
JUMP_CHAINS = (
    (FILTER, KUBE_EXTERNAL_SERVICES, "INPUT", "kubernetes externally-visible service portals",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_EXTERNAL_SERVICES, "FORWARD", "kubernetes externally-visible service portals",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_NODEPORTS, "INPUT", "kubernetes health check service ports", ()),
    (FILTER, KUBE_SERVICES, "FORWARD", "kubernetes service portals",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_SERVICES, "OUTPUT", "kubernetes service portals",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_FORWARD, "FORWARD", "kubernetes forwarding rules", ()),
    (FILTER, KUBE_PROXY_FIREWALL, "INPUT", "kubernetes load balancer firewall",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_PROXY_FIREWALL, "OUTPUT", "kubernetes load balancer firewall",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (FILTER, KUBE_PROXY_FIREWALL, "FORWARD", "kubernetes load balancer firewall",
     ("-m", "conntrack", "--ctstate", "NEW")),
    (NAT, KUBE_SERVICES, "OUTPUT", "kubernetes service portals", ()),
    (NAT, KUBE_SERVICES, "PREROUTING", "kubernetes service portals", ()),
    (NAT, KUBE_POSTROUTING, "POSTROUTING", "kubernetes postrouting rules", ()),
    # iptablesKubeletJumpChains: duplicates of kubelet's, no comment
    (FILTER, KUBE_FIREWALL, "INPUT", "", ()),
    (FILTER, KUBE_FIREWALL, "OUTPUT", "", ()),
)


def ensure_jump_rules(state: RuleSet) -> RuleSet:
    """A full sync's EnsureChain/EnsureRule(Prepend): the hooks from the built-in chains.

    Each missing jump is prepended, in upstream's order, so on a fresh node the last
    one ensured comes first. Chains and rules already there are left alone.
    """
    tables = {n: Table(n, dict(t.chains), [], dict(t.policies)) for n, t in state.tables.items()}
    for table, target, builtin, comment, extra in JUMP_CHAINS:
        t = tables.setdefault(table, Table(table))
        for chain in BUILTIN_CHAINS[table]:
            t.chains.setdefault(chain, ())
        t.chains.setdefault(target, ())
        rule = Rule(builtin, extra + (comment_args(comment) if comment else ()) + ("-j", target))
        if rule not in t.chains[builtin]:
            t.chains[builtin] = (rule,) + t.chains[builtin]
    return RuleSet(tables)


def ensure_canary(state: RuleSet) -> RuleSet:
    """iptables.Monitor: the empty KUBE-PROXY-CANARY chain in mangle, nat and filter."""
    tables = dict(state.tables)
    for name in (MANGLE, NAT, FILTER):
        t = tables[name] if name in tables else Table(name)
        if KUBE_PROXY_CANARY not in t.chains:
            chains = {c: () for c in BUILTIN_CHAINS[name]}
            chains.update(t.chains)
            chains[KUBE_PROXY_CANARY] = ()
            tables[name] = Table(name, chains, [], dict(t.policies))
    return RuleSet(tables)


# -- the generator (proxier.go syncProxyRules) ---------------------------------------------

@dataclass(frozen=True)
class ProxyConfig:
    """What a node's kube-proxy is configured with (KubeProxyConfiguration and the node).

    ``cluster_cidr`` is ``--cluster-cidr`` (kind's and kubeadm's 10.244.0.0/16): the
    LocalTrafficDetector by cluster CIDR that tells pod traffic from the rest; None
    leaves it out (no ``! -s`` masquerade rule, no pod short circuit).
    """

    node_name: str
    node_ip: str
    cluster_cidr: str | None = "10.244.0.0/16"
    masquerade_all: bool = False  # --masquerade-all
    masquerade_bit: int = MASQUERADE_BIT  # iptables.masqueradeBit
    localhost_nodeports: bool = True  # iptables.localhostNodePorts (default true)
    random_fully: bool = True  # the node's iptables supports --random-fully (>= 1.6.2)
    nfacct: bool = True  # the nfacct counters exist (they do on kind nodes)
    conntrack_tcp_liberal: bool = False  # sysctl nf_conntrack_tcp_be_liberal

    def __post_init__(self) -> None:
        try:
            if ipaddress.ip_address(self.node_ip).version != 4:
                raise ValueError
        except ValueError:
            raise ValueError(f"node_ip {self.node_ip!r} is not an IPv4 address") from None
        if self.cluster_cidr is not None:
            try:
                ipaddress.ip_network(self.cluster_cidr)
            except ValueError as error:
                raise ValueError(f"cluster_cidr {self.cluster_cidr!r}: {error}") from None

    @property
    def masquerade_mark(self) -> str:
        """``0x4000`` (kube-proxy writes ``%#08x``, 0x00004000; iptables-save prints this)."""
        return hex(1 << self.masquerade_bit)


class SyncResult(NamedTuple):
    """One sync's output: the restore input and what upstream's metrics would say of it."""

    restore: RuleSet
    total_endpoints: int
    large_cluster_mode: bool
    active_nat_chains: frozenset[str]
    deleted_chains: int
    cleaned_up: bool  # stale chains were looked for (lastIPTablesCleanup moves)
    no_local_endpoints_internal: int
    no_local_endpoints_external: int

    @property
    def lines(self) -> int:
        """Lines of iptables-restore input: chain declarations, rules, -X lines, table lines."""
        return sum(2 + len(t.chains) + len(t) + len(t.deleted)
                   for t in self.restore.tables.values())


class _Writer:
    """Collects rules per chain, in the order written (proxyutil.LineBuffer, per chain)."""

    __slots__ = ("chains", "discard")

    def __init__(self, discard: bool = False) -> None:
        self.chains: dict[str, list[Rule]] = {}
        self.discard = discard

    def declare(self, chain: str) -> None:
        if not self.discard:
            self.chains.setdefault(chain, [])

    def write(self, chain: str, *args: str) -> None:
        if not self.discard:
            rules = self.chains.get(chain)
            if rules is None:
                rules = self.chains[chain] = []
            rules.append(Rule(chain, args))

    def table(self, name: str, deleted: list[str] | None = None) -> Table:
        return Table(name, {c: tuple(r) for c, r in self.chains.items()}, deleted or [])


def _local_cidr_args(config: ProxyConfig, negate: bool) -> tuple[str, ...]:
    """LocalTrafficDetector by CIDR: IfLocal ``-s CIDR``, IfNotLocal ``! -s CIDR``."""
    if config.cluster_cidr is None:
        return ()
    return ("!", "-s", config.cluster_cidr) if negate else ("-s", config.cluster_cidr)


def sync_rules(svc_ports: Mapping[ServicePortName, ServicePort],
               endpoints: Mapping[ServicePortName, list[Endpoint]], config: ProxyConfig, *,
               node_labels: Mapping[str, str] | None = None, full: bool = True,
               changed: Iterable[str] = (), existing_nat_chains: Iterable[str] = (),
               cleanup_due: bool = True) -> SyncResult:
    """syncProxyRules' rules: the iptables-restore input for one sync (a pure function).

    ``full=False`` is a partial sync (MinimizeIPTablesRestore, GA in v1.28): the
    per-service chains are written only for the Services in ``changed``
    (``"ns/name"``). ``existing_nat_chains`` are the nat chains the kernel has now;
    stale service chains among them are deleted (``-X``), in large-cluster mode only
    when ``cleanup_due`` (once per syncPeriod).
    """
    changed = set(changed)
    filter_w, nat_w = _Writer(), _Writer()
    skipped = _Writer(discard=True)
    for chain in (KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS,
                  KUBE_PROXY_FIREWALL):
        filter_w.declare(chain)
    for chain in (KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ):
        nat_w.declare(chain)
    mark = config.masquerade_mark
    nat_w.write(KUBE_POSTROUTING, "-m", "mark", "!", "--mark", f"{mark}/{mark}", "-j", "RETURN")
    # "Clear the mark to avoid re-masquerading if the packet re-traverses the network stack."
    nat_w.write(KUBE_POSTROUTING, "-j", "MARK", "--xor-mark", mark)
    masq = (*comment_args("kubernetes service traffic requiring SNAT"), "-j", "MASQUERADE")
    nat_w.write(KUBE_POSTROUTING, *masq, *(("--random-fully",) if config.random_fully else ()))
    nat_w.write(KUBE_MARK_MASQ, "-j", "MARK", "--or-mark", mark)
    if config.localhost_nodeports:
        # The route_localnet hole (issue 90259) plugged, as kubelet also does.
        filter_w.declare(KUBE_FIREWALL)
        filter_w.write(KUBE_FIREWALL, *comment_args("block incoming localnet connections"),
                       "-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8", "-m", "conntrack",
                       "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP")

    total_endpoints = sum(len(endpoints.get(name, ())) for name in svc_ports)
    large = total_endpoints > LARGE_CLUSTER_ENDPOINTS_THRESHOLD
    active: set[str] = set()
    no_local = [0, 0]
    for name in sorted(svc_ports, key=lambda n: svc_ports[n].name_string):
        sp = svc_ports[name]
        chains = nat_w if full or sp.service in changed else skipped
        _service_rules(sp, endpoints.get(name, []), config, node_labels, large, filter_w,
                       nat_w, chains, active, no_local)

    deleted: list[str] = []
    cleaned = not large or cleanup_due
    if cleaned:
        for chain in sorted(set(existing_nat_chains) - active):
            if is_service_chain(chain):  # "Ignore chains that aren't ours."
                nat_w.declare(chain)  # the chain line flushes it; then -X removes it
                deleted.append(chain)
    # "Finally, tail-call to the nodePorts chain. This needs to be after all other
    # service portal rules." (--nodeport-addresses unset: every local address.)
    destinations = ("-m", "addrtype", "--dst-type", "LOCAL")
    if not config.localhost_nodeports:
        destinations += ("!", "-d", "127.0.0.0/8")
    nat_w.write(KUBE_SERVICES, *comment_args(
        "kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
        *destinations, "-j", KUBE_NODEPORTS)
    if not config.conntrack_tcp_liberal:
        nfacct = ("-m", "nfacct", "--nfacct-name", NFACCT_CT_STATE_INVALID) \
            if config.nfacct else ()
        filter_w.write(KUBE_FORWARD, "-m", "conntrack", "--ctstate", "INVALID", *nfacct,
                       "-j", "DROP")
    filter_w.write(KUBE_FORWARD, *comment_args("kubernetes forwarding rules"),
                   "-m", "mark", "--mark", f"{mark}/{mark}", "-j", "ACCEPT")
    filter_w.write(KUBE_FORWARD, *comment_args("kubernetes forwarding conntrack rule"),
                   "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
    restore = RuleSet({FILTER: filter_w.table(FILTER), NAT: nat_w.table(NAT, deleted)})
    return SyncResult(restore, total_endpoints, large, frozenset(active), len(deleted), cleaned,
                      no_local[0], no_local[1])


def _service_rules(sp: ServicePort, all_endpoints: list[Endpoint], config: ProxyConfig,
                   node_labels: Mapping[str, str] | None, large: bool, filter_w: _Writer,
                   nat_w: _Writer, chains: _Writer, active: set[str], no_local: list[int]) -> None:
    """One service port's rules: the KUBE-SERVICES entry points, then its own chains.

    Entry points (KUBE-SERVICES, KUBE-NODEPORTS, filter rules) are always written;
    the service's own chains go to ``chains``, which discards them in a partial sync
    of a Service that did not change.
    """
    protocol = sp.protocol.lower()
    name = sp.name_string
    cats = categorize_endpoints(all_endpoints, sp, config.node_name, node_labels)
    cluster_chain = service_chain(name, protocol)
    local = local_chain(name, protocol)
    uses_cluster = bool(cats.cluster) and sp.uses_cluster_endpoints
    uses_local = bool(cats.local) and sp.uses_local_endpoints
    internal_chain, has_internal = cluster_chain, cats.has_any
    if sp.internal_policy_local:
        internal_chain, has_internal = local, bool(cats.local) and cats.has_any
    external_policy_chain, has_external = cluster_chain, cats.has_any
    if sp.external_policy_local:
        external_policy_chain, has_external = local, bool(cats.local) and cats.has_any
    ext = external_chain(name, protocol)
    uses_ext = cats.has_any and sp.externally_accessible
    fw = firewall_chain(name, protocol)
    uses_fw = cats.has_any and bool(sp.load_balancer_vips) and bool(sp.load_balancer_source_ranges)
    lb_chain = fw if uses_fw else ext

    internal_target = external_target = internal_comment = external_comment = ""
    if not cats.has_any:
        internal_target = external_target = "REJECT"
        internal_comment = external_comment = f"{name} has no endpoints"
    else:
        if not has_internal:
            internal_target, internal_comment = "DROP", f"{name} has no local endpoints"
            no_local[0] += 1
        if not has_external:
            external_target, external_comment = "DROP", f"{name} has no local endpoints"
            no_local[1] += 1

    proto = ("-m", protocol, "-p", protocol)
    port = str(sp.port)
    # Capture the clusterIP.
    if has_internal:
        nat_w.write(KUBE_SERVICES, *comment_args(f"{name} cluster IP"), *proto,
                    "-d", sp.cluster_ip, "--dport", port, "-j", internal_chain)
    else:
        filter_w.write(KUBE_SERVICES, *comment_args(internal_comment), *proto,
                       "-d", sp.cluster_ip, "--dport", port, "-j", internal_target)
    # Capture externalIPs.
    for ip in sp.external_ips:
        if cats.has_any:
            nat_w.write(KUBE_SERVICES, *comment_args(f"{name} external IP"), *proto,
                        "-d", ip, "--dport", port, "-j", ext)
        if not has_external:
            filter_w.write(KUBE_EXTERNAL_SERVICES, *comment_args(external_comment), *proto,
                           "-d", ip, "--dport", port, "-j", external_target)
    # Capture load-balancer ingress.
    for ip in sp.load_balancer_vips:
        if cats.has_any:
            nat_w.write(KUBE_SERVICES, *comment_args(f"{name} loadbalancer IP"), *proto,
                        "-d", ip, "--dport", port, "-j", lb_chain)
        if uses_fw:
            filter_w.write(KUBE_PROXY_FIREWALL,
                           *comment_args(f"{name} traffic not accepted by {fw}"), *proto,
                           "-d", ip, "--dport", port, "-j", "DROP")
    if not has_external:
        for ip in sp.load_balancer_vips:
            filter_w.write(KUBE_EXTERNAL_SERVICES, *comment_args(external_comment), *proto,
                           "-d", ip, "--dport", port, "-j", external_target)
    # Capture nodeports.
    if sp.node_port:
        node_port = str(sp.node_port)
        if cats.has_any:
            if config.localhost_nodeports and config.nfacct:
                nat_w.write(KUBE_NODEPORTS, *comment_args(name), *proto, "-d", "127.0.0.0/8",
                            "--dport", node_port, "-m", "nfacct", "--nfacct-name",
                            NFACCT_LOCALHOST_NODEPORTS, "-j", ext)
            nat_w.write(KUBE_NODEPORTS, *comment_args(name), *proto, "--dport", node_port,
                        "-j", ext)
        if not has_external:
            filter_w.write(KUBE_EXTERNAL_SERVICES, *comment_args(external_comment),
                           "-m", "addrtype", "--dst-type", "LOCAL", *proto,
                           "--dport", node_port, "-j", external_target)
    # Capture healthCheckNodePorts: accepted whether or not this node has endpoints.
    if sp.health_check_node_port:
        filter_w.write(KUBE_NODEPORTS, *comment_args(f"{name} health check node port"),
                       "-m", "tcp", "-p", "tcp", "--dport", str(sp.health_check_node_port),
                       "-j", "ACCEPT")

    # Internal traffic: masquerade what does not come from a pod (or everything).
    if has_internal:
        match = (*comment_args(f"{name} cluster IP"), *proto, "-d", sp.cluster_ip,
                 "--dport", port)
        if config.masquerade_all:
            chains.write(internal_chain, *match, "-j", KUBE_MARK_MASQ)
        elif config.cluster_cidr is not None:
            # "you can establish a static route for your Service range, routing to any
            # node, and that node will bridge into the Service for you."
            chains.write(internal_chain, *match, *_local_cidr_args(config, negate=True),
                         "-j", KUBE_MARK_MASQ)
    if uses_ext:
        _external_rules(sp, config, chains, ext, cluster_chain, external_policy_chain,
                        has_external)
        active.add(ext)
    if uses_fw:
        _firewall_rules(sp, config, chains, fw, ext)
        active.add(fw)
    if uses_cluster:
        chains.declare(cluster_chain)
        active.add(cluster_chain)
        _endpoint_rules(chains, name, sp, cluster_chain, cats.cluster, large)
    if uses_local:
        chains.declare(local)
        active.add(local)
        _endpoint_rules(chains, name, sp, local, cats.local, large)
    for ep in cats.all_reachable:
        sep = endpoint_chain(name, protocol, ep.address)
        chains.declare(sep)
        active.add(sep)
        comment = () if large else comment_args(name)
        # Traffic that loops back to the pod it came from (hairpin) gets SNAT.
        chains.write(sep, *comment, "-s", ep.ip, "-j", KUBE_MARK_MASQ)
        recent = ("-m", "recent", "--name", sep, "--set") if sp.session_affinity_client_ip else ()
        chains.write(sep, *comment, *recent, *proto, "-j", "DNAT", "--to-destination",
                     ep.address)


def _external_rules(sp: ServicePort, config: ProxyConfig, chains: _Writer, ext: str,
                    cluster_chain: str, policy_chain: str, has_external: bool) -> None:
    """The KUBE-EXT- chain: masquerade (Cluster policy) or the short circuits (Local)."""
    name = sp.name_string
    chains.declare(ext)
    if not sp.external_policy_local:
        # Endpoints may be on another node: masquerade so replies come back through us.
        chains.write(ext, *comment_args(f"masquerade traffic for {name} external destinations"),
                     "-j", KUBE_MARK_MASQ)
    else:
        if config.cluster_cidr is not None:
            # Pods going to an external address are treated as if they went out to the
            # load balancer and came back: every endpoint, no policy, no masquerade.
            chains.write(ext, *comment_args(f"pod traffic for {name} external destinations"),
                         *_local_cidr_args(config, negate=False), "-j", cluster_chain)
        # The node itself would pick the LB IP (a local address) as source: masquerade.
        chains.write(ext, *comment_args(f"masquerade LOCAL traffic for {name} external "
                                        "destinations"),
                     "-m", "addrtype", "--src-type", "LOCAL", "-j", KUBE_MARK_MASQ)
        chains.write(ext, *comment_args(f"route LOCAL traffic for {name} external destinations"),
                     "-m", "addrtype", "--src-type", "LOCAL", "-j", cluster_chain)
    if has_external:
        chains.write(ext, "-j", policy_chain)


def _firewall_rules(sp: ServicePort, config: ProxyConfig, chains: _Writer, fw: str,
                    ext: str) -> None:
    """The KUBE-FW- chain: sources in loadBalancerSourceRanges go on; the rest fall through."""
    name = sp.name_string
    chains.declare(fw)
    head = comment_args(f"{name} loadbalancer IP")
    node_ip = ipaddress.ip_address(config.node_ip)
    allow_from_node = False
    for cidr in sp.load_balancer_source_ranges:
        chains.write(fw, *head, "-s", cidr, "-j", ext)
        allow_from_node = allow_from_node or node_ip in ipaddress.ip_network(cidr)
    if allow_from_node:
        # A VIP routed locally: a request from this node loops back with the VIP as source.
        for ip in sp.load_balancer_vips:
            chains.write(fw, *head, "-s", ip, "-j", ext)
    # Not DNATed here, so KUBE-PROXY-FIREWALL (filter) drops it.
    chains.write(fw, *comment_args(f"other traffic to {name} will be dropped by "
                                   "KUBE-PROXY-FIREWALL"))


def _endpoint_rules(chains: _Writer, name: str, sp: ServicePort, chain: str,
                    endpoints: list[Endpoint], large: bool) -> None:
    """writeServiceToEndpointRules: affinity checks first, then one rule per endpoint."""
    protocol = sp.protocol.lower()
    seps = [(ep, endpoint_chain(name, protocol, ep.address)) for ep in endpoints]
    if sp.session_affinity_client_ip:
        for ep, sep in seps:
            comment = () if large else comment_args(f"{name} -> {ep.address}")
            chains.write(chain, *comment, "-m", "recent", "--name", sep, "--rcheck",
                         "--seconds", str(sp.sticky_max_age_seconds), "--reap", "-j", sep)
    n = len(seps)
    for i, (ep, sep) in enumerate(seps):
        comment = () if large else comment_args(f"{name} -> {ep.address}")
        if i < n - 1:  # each rule a coin toss; the last one a sure thing
            chains.write(chain, *comment, "-m", "statistic", "--mode", "random",
                         "--probability", probability(n - i), "-j", sep)
        else:
            chains.write(chain, *comment, "-j", sep)
