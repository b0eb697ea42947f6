"""The node lease: the kubelet's cheap, frequent heartbeat.

Each node has a ``Lease`` (``coordination.k8s.io/v1``) in the namespace
``kube-node-lease``, named after the node, owned by the Node object. The kubelet
renews it every ``0.25 x nodeLeaseDurationSeconds`` = 10 s by setting
``spec.renewTime`` (k8s.io/component-helpers/apimachinery/lease/controller.go).
The node lifecycle controller reads it: a node whose lease has not moved for the
grace period (50 s since v1.32) is marked ``Unknown``.

A lease is small -- far cheaper to write every 10 s than the node's status,
which is why the kubelet sends its full status only when something changed or
every 5 minutes. Like upstream, the renewal updates the lease it wrote last
(no GET), and only reads it again after a conflict.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from kubelearn.api import Conflict, NotFound, StatusError

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.kubelet.kubelet import Kubelet

NODE_LEASE_NAMESPACE = "kube-node-lease"  # v1.NamespaceNodeLease


class NodeLease:
    """Keeps one node's lease fresh while its kubelet runs."""

    def __init__(self, kubelet: Kubelet) -> None:
        self.kubelet = kubelet
        self.latest: dict | None = None  # the lease as last written
        self.renewals = 0

    def _new_lease(self, base: dict | None) -> dict:
        """newLease: holder, duration, renewTime now, and the Node as owner."""
        kubelet = self.kubelet
        lease = dict(base) if base else {
            "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": kubelet.node_name, "namespace": NODE_LEASE_NAMESPACE}}
        meta = dict(lease.get("metadata") or {})
        if not meta.get("ownerReferences") and kubelet.node_uid:
            meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node",
                                        "name": kubelet.node_name, "uid": kubelet.node_uid}]
        lease["metadata"] = meta
        lease["spec"] = {"holderIdentity": kubelet.node_name,
                         "leaseDurationSeconds": kubelet.config.node_lease_duration_seconds,
                         "renewTime": kubelet.sim.micro_timestamp()}
        return lease

    def renew(self) -> None:
        """One sync: update the lease we hold, else get-or-create it and update that."""
        client = self.kubelet.client
        try:
            if self.latest is not None:
                try:
                    self.latest = client.update(self._new_lease(self.latest))
                    return self._renewed()
                except (Conflict, NotFound):
                    self.latest = None
            try:
                current = client.get("leases", self.kubelet.node_name, NODE_LEASE_NAMESPACE)
            except NotFound:
                self.latest = client.create(self._new_lease(None))
                return self._renewed()
            self.latest = client.update(self._new_lease(current))
            self._renewed()
        except StatusError:
            self.latest = None  # upstream backs off and tries again next period

    def _renewed(self) -> None:
        kubelet = self.kubelet
        self.renewals += 1
        if kubelet.config.record_heartbeats:
            kubelet.sim.record(kubelet.recorder.record_as, "LeaseRenewed",
                               f"lease/{NODE_LEASE_NAMESPACE}/{kubelet.node_name}",
                               f"renewTime {self.latest['spec']['renewTime']}")

    def run(self, generation: int) -> Generator[simpy.Event, Any, None]:
        """Renew now and then every renew interval, while this run of the kubelet lasts."""
        kubelet = self.kubelet
        while kubelet.generation == generation:
            self.renew()
            yield kubelet.sim.timeout(kubelet.jittered(kubelet.config.node_lease_renew_interval))
