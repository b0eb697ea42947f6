"""The root CA certificate publisher: a ``kube-root-ca.crt`` ConfigMap in every namespace.

A pod that talks to the API server (``https://kubernetes.default.svc``) must
be able to check the certificate it is shown. kube-controller-manager's
root-ca-cert-publisher (pkg/controller/certificates/rootcacertpublisher,
v1.32) therefore keeps, in every namespace, a ConfigMap named
``kube-root-ca.crt`` whose ``ca.crt`` is the cluster's CA certificate (the
one its ``--root-ca-file`` names; in kubeadm's cluster ``/etc/kubernetes/pki/ca.crt``).
Every pod mounts it: the ServiceAccount admission plugin adds it to the pod's
``kube-api-access-*`` projected volume (:mod:`kubelearn.apiserver.admission`).

It watches namespaces and ConfigMaps and syncs one namespace at a time
(``syncNamespace``):

- a namespace added, or updated while ``Active``: sync it;
- the ConfigMap deleted or changed by anyone: sync its namespace -- it is
  created again, or put back as it should be;
- the sync: no ConfigMap in the cache, create it; one whose ``data`` is not
  exactly ``{"ca.crt": <the CA>}`` or that lacks the description annotation:
  update it (other annotations and labels stay); otherwise nothing. A create
  into a namespace that is gone or terminating is not retried.

It runs as ``system:serviceaccount:kube-system:root-ca-cert-publisher``, whose
ClusterRole ``system:controller:root-ca-cert-publisher`` may only create and
update ConfigMaps (and record events); it reads them through the controller
manager's shared informers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kubelearn.api import NotFound, StatusError
from kubelearn.api.errors import NAMESPACE_TERMINATING_CAUSE
from kubelearn.client import Client
from kubelearn.controllers.informer import SharedInformerFactory, WorkQueue
from kubelearn.sim import Simulation

COMPONENT = "root-ca-cert-publisher"
# publisher.go RootCACertConfigMapName, DescriptionAnnotation and Description (v1.32).
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
CA_KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
DESCRIPTION = ("Contains a CA bundle that can be used to verify the kube-apiserver when using "
               "internal endpoints such as the internal service IP or kubernetes.default.svc. "
               "No other usage is guaranteed across distributions of Kubernetes clusters.")


class RootCACertPublisher:
    """Keeps ``kube-root-ca.crt`` (``ca.crt`` = ``root_ca``, PEM text) in every namespace."""

    def __init__(self, sim: Simulation, client: Client, root_ca: str, *,
                 informers: SharedInformerFactory | None = None) -> None:
        self.sim = sim
        self.client = client
        self.root_ca = root_ca
        # the controller's queue: workqueue.DefaultTypedControllerRateLimiter, retried for ever
        self.queue = WorkQueue(sim, COMPONENT, self.sync_namespace)
        self.informers = informers or SharedInformerFactory(sim, client)
        self.configmaps = self.informers.informer("configmaps")
        self.configmaps.add_event_handler(None, lambda _old, new: self._configmap_changed(new),
                                          self._configmap_changed)
        self.namespaces = self.informers.informer("namespaces")
        self.namespaces.add_event_handler(self._namespace_added, self._namespace_updated)

    def __repr__(self) -> str:
        return f"RootCACertPublisher({len(self.namespaces.store)} namespaces)"

    def start(self) -> None:
        """Start the informers and the worker."""
        self.informers.start()
        self.queue.start()

    # -- event handlers: which namespace needs a look ---------------------------------------------
    def _configmap_changed(self, cm: Mapping[str, Any]) -> None:
        """configMapUpdated and configMapDeleted: only ours matters."""
        meta = cm.get("metadata") or {}
        if meta.get("name") == ROOT_CA_CONFIGMAP:
            self.queue.add(str(meta.get("namespace") or ""))

    def _namespace_added(self, ns: Mapping[str, Any]) -> None:
        self.queue.add(ns["metadata"]["name"])

    def _namespace_updated(self, _old: Mapping[str, Any], ns: Mapping[str, Any]) -> None:
        if (ns.get("status") or {}).get("phase") == "Active":
            self.queue.add(ns["metadata"]["name"])

    # -- the sync ----------------------------------------------------------------------------------
    def wanted_data(self) -> dict[str, str]:
        """What ``data`` must be: the CA, and nothing else."""
        return {CA_KEY: self.root_ca}

    def sync_namespace(self, namespace: str) -> None:
        """syncNamespace: create the ConfigMap, or put its data and description back."""
        cm = self.configmaps.store.get(f"{namespace}/{ROOT_CA_CONFIGMAP}")
        if cm is None:
            self._create(namespace)
            return
        annotations = dict((cm.get("metadata") or {}).get("annotations") or {})
        if cm.get("data") == self.wanted_data() and annotations.get(DESCRIPTION_ANNOTATION):
            return
        updated = {**cm, "metadata": {**cm["metadata"], "annotations": {
            **annotations, DESCRIPTION_ANNOTATION: DESCRIPTION}}, "data": self.wanted_data()}
        self.client.update(updated, namespace)
        self.sim.record(COMPONENT, "ConfigMapUpdated", f"configmap/{namespace}/"
                        f"{ROOT_CA_CONFIGMAP}", "ca.crt and its description put back")

    def _create(self, namespace: str) -> None:
        try:
            self.client.create({
                "apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": ROOT_CA_CONFIGMAP,
                             "annotations": {DESCRIPTION_ANNOTATION: DESCRIPTION}},
                "data": self.wanted_data()}, namespace)
        except NotFound:
            return  # the namespace is gone: nothing to retry
        except StatusError as error:
            if error.has_cause(NAMESPACE_TERMINATING_CAUSE):
                return  # ... or going
            raise
        self.sim.record(COMPONENT, "ConfigMapCreated",
                        f"configmap/{namespace}/{ROOT_CA_CONFIGMAP}", "published the root CA")
