"""kube-proxy and the Service data path: what a request does after it leaves a client.

- :mod:`~kubelearn.proxy.dns` -- the cluster DNS (CoreDNS's ``kubernetes`` plugin as
  kubeadm configures it) and a pod's stub resolver: ``redis`` becomes
  ``redis.default.svc.cluster.local`` becomes a ClusterIP;
- :mod:`~kubelearn.proxy.proxier` -- kube-proxy in iptables mode, one per node: it
  watches Services and EndpointSlices and writes the node's rules, paced by
  :mod:`~kubelearn.proxy.runner` (upstream's BoundedFrequencyRunner);
- :mod:`~kubelearn.proxy.servicemap` -- how Services and EndpointSlices become
  service ports and endpoints (ready, serving, terminating; traffic policies);
- :mod:`~kubelearn.proxy.iptables` -- the rules as data: chain names as upstream
  hashes them, ``iptables-save`` text, DataFrames, diffs;
- :mod:`~kubelearn.proxy.dataplane` -- a node's kernel: the rules as last restored,
  conntrack and ``-m recent``, and what happens to a connection's first packet;
- :mod:`~kubelearn.proxy.network` -- which machine owns an address;
- :mod:`~kubelearn.proxy.traffic` -- simulated clients, and what each request meets.
"""

from kubelearn.proxy.dataplane import Dataplane, Route
from kubelearn.proxy.dns import ClusterDNS
from kubelearn.proxy.network import Network
from kubelearn.proxy.proxier import KubeProxy
from kubelearn.proxy.traffic import Request, Traffic

__all__ = ["ClusterDNS", "Dataplane", "KubeProxy", "Network", "Request", "Route", "Traffic"]
