"""The cluster network: which machine owns an address.

A flat layer-3 network, as every CNI plugin gives Kubernetes: each node has
its address on the nodes' network (``172.18.0.3``...) and routes its pod range
(``spec.podCIDR``, ``10.244.1.0/24``...), so any pod reaches any other pod by
its IP without NAT -- the Kubernetes network model. kubelearn's is kindnet's
shape: one route per node, to its pod range, through its address.

Beside the workers stands the control plane machine (``172.18.0.2``): the API
server listens there on 6443 and kubelearn's DNS on 53 and 9153, which is
where the ``kubernetes`` and ``kube-dns`` Services' endpoints point. It is
not a node (it runs no kubelet), so it has no pods and no rules; it just
answers on its ports.

The traffic simulator asks it where a packet goes next; the node it names
then decides what the packet meets there (its rules, its pods).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.kubelet import Kubelet


class Network:
    """The routes of a cluster's nodes: node addresses and pod ranges, to their kubelets."""

    def __init__(self, kubelets: Mapping[str, Kubelet],
                 machines: Mapping[str, frozenset[int]] | None = None) -> None:
        self.kubelets = kubelets  # the cluster's, so nodes added later are seen
        self.machines = dict(machines or {})  # other machines' addresses -> ports they serve
        self._seen = -1
        self._node_ips: dict[str, Kubelet] = {}
        self._ranges: dict[int, dict[int, Kubelet]] = {}  # prefix length -> network -> node
        self._owners: dict[str, Kubelet | None] = {}  # addresses looked up before

    def __repr__(self) -> str:
        return f"Network({len(self.kubelets)} nodes)"

    def _index(self) -> None:
        """Read the nodes' addresses and ranges again if nodes came since the last look."""
        if self._seen == len(self.kubelets):
            return
        self._node_ips, self._ranges, self._owners = {}, {}, {}
        for kubelet in self.kubelets.values():
            self._node_ips[kubelet.node_ip] = kubelet
            if kubelet.pod_cidr:
                net = ipaddress.ip_network(kubelet.pod_cidr)
                bits = net.max_prefixlen - net.prefixlen
                self._ranges.setdefault(bits, {})[int(net.network_address) >> bits] = kubelet
        self._seen = len(self.kubelets)

    def serves(self, ip: str, port: int) -> bool | None:
        """Does a machine that is not a node (the control plane) serve ``ip:port``?

        None when ``ip`` is no such machine's.
        """
        ports = self.machines.get(ip)
        return None if ports is None else port in ports

    def is_node_ip(self, ip: str) -> bool:
        """Is ``ip`` a node's own address?"""
        self._index()
        return ip in self._node_ips

    def owner(self, ip: str) -> Kubelet | None:
        """The node that owns ``ip``: its own address or one of its pod range; None if none."""
        self._index()
        try:
            return self._owners[ip]
        except KeyError:
            pass
        node = self._node_ips.get(ip)
        if node is None:
            try:
                value = int(ipaddress.IPv4Address(ip))
            except ValueError:
                value = None
            for bits, ranges in self._ranges.items():
                node = ranges.get(value >> bits) if value is not None else None
                if node is not None:
                    break
        if len(self._owners) < 65536:  # bounded: addresses are few, but callers may be odd
            self._owners[ip] = node
        return node
