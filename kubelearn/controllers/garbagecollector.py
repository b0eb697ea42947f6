"""The garbage collector: deleting an owner deletes what it owns (pkg/controller/garbagecollector).

A pod made by a ReplicaSet carries an ownerReference to it. Nobody deletes
the pods when the ReplicaSet goes -- the API server does not look at
ownerReferences. The garbage collector does, in two parts:

- the **graph builder** watches every monitored resource and keeps a graph:
  each object (by uid) with its owners, and each owner with its dependents.
  Its handlers only update the graph and queue uids to look at;
- two workers act on the queues, through the API server like anyone else:
  ``attempt_to_delete`` (is this object's owner gone? then delete it) and
  ``attempt_to_orphan`` (strip the ownerReferences, then let the owner go).

How an owner is deleted is the caller's ``propagationPolicy``; the API server
turns it into a finalizer that keeps the owner around while the collector works:

- ``Background`` (the default for ReplicaSets): the owner goes at once; its
  dependents find their owner gone and are deleted after it.
- ``Foreground``: the owner gets ``deletionTimestamp`` and the
  ``foregroundDeletion`` finalizer; dependents with ``blockOwnerDeletion`` are
  deleted first; when the last is gone the finalizer comes off and the owner goes.
- ``Orphan``: the owner gets the ``orphan`` finalizer; its dependents lose
  their ownerReference to it and stay; then the finalizer comes off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kubelearn.api import NotFound
from kubelearn.client import Client
from kubelearn.controllers.informer import SharedInformerFactory, WorkQueue
from kubelearn.sim import Simulation

COMPONENT = "garbage-collector"
FOREGROUND = "foregroundDeletion"  # metav1.FinalizerDeleteDependents
ORPHAN = "orphan"  # metav1.FinalizerOrphanDependents
# The resources whose objects the graph holds (upstream: every resource that supports
# list, watch and delete; here the ones that own or are owned so far).
MONITORED = ("deployments", "replicasets", "pods", "services", "endpointslices")


@dataclass
class Node:
    """One object in the graph: who it is, whom it belongs to, and its deletion state."""

    resource: str
    namespace: str | None
    name: str
    uid: str
    owners: list[dict] = field(default_factory=list)  # its ownerReferences
    being_deleted: bool = False  # deletionTimestamp set
    deleting_dependents: bool = False  # ...and the foregroundDeletion finalizer

    @property
    def ref(self) -> str:
        kind = self.resource.removesuffix("s")
        return f"{kind}/{self.namespace}/{self.name}" if self.namespace else f"{kind}/{self.name}"


class GarbageCollector:
    """The graph of owners and dependents, and the workers that delete and orphan."""

    def __init__(self, sim: Simulation, client: Client,
                 resources: tuple[str, ...] = MONITORED, *,
                 informers: SharedInformerFactory | None = None) -> None:
        self.sim = sim
        self.client = client
        self.nodes: dict[str, Node] = {}  # uid -> node
        self.dependents: dict[str, set[str]] = {}  # owner uid -> dependent uids
        self.attempt_to_delete = WorkQueue(sim, COMPONENT, self.attempt_to_delete_item)
        self.attempt_to_orphan = WorkQueue(sim, COMPONENT, self.orphan_dependents)
        self.informers = informers or SharedInformerFactory(sim, client)
        for resource in resources:  # the monitors: one shared informer per resource
            self.informers.informer(resource).add_event_handler(
                lambda obj, r=resource: self._observe(r, obj),
                lambda old, new, r=resource: self._observe(r, new),
                self._forget)

    def start(self) -> None:
        """Start the monitors (owners first) and the workers."""
        self.informers.start()
        self.attempt_to_delete.start()
        self.attempt_to_orphan.start()

    # -- the graph builder (processGraphChanges) -------------------------------------------------
    def _observe(self, resource: str, obj: Mapping[str, Any]) -> None:
        meta = obj["metadata"]
        uid = meta["uid"]
        old = self.nodes.get(uid)
        finalizers = meta.get("finalizers") or []
        node = Node(resource, meta.get("namespace"), meta["name"], uid,
                    list(meta.get("ownerReferences") or []),
                    bool(meta.get("deletionTimestamp")),
                    bool(meta.get("deletionTimestamp")) and FOREGROUND in finalizers)
        self.nodes[uid] = node
        before = {r["uid"] for r in old.owners} if old else set()
        after = {r["uid"] for r in node.owners}
        for owner in sorted(before - after):  # sets: sorted, so the queue order replays
            self.dependents.get(owner, set()).discard(uid)
            if owner in self.nodes and self.nodes[owner].deleting_dependents:
                self.attempt_to_delete.add(owner)  # one blocker fewer
        for owner in after - before:
            self.dependents.setdefault(owner, set()).add(uid)
        if any(owner not in self.nodes for owner in after):
            self.attempt_to_delete.add(uid)  # an owner never seen: check it exists
        if node.being_deleted and ORPHAN in finalizers:
            self.attempt_to_orphan.add(uid)
        if node.deleting_dependents:
            for dependent in sorted(self.dependents.get(uid, ())):
                self.attempt_to_delete.add(dependent)
            self.attempt_to_delete.add(uid)

    def _forget(self, obj: Mapping[str, Any]) -> None:
        uid = obj["metadata"]["uid"]
        node = self.nodes.pop(uid, None)
        if node is None:
            return
        for ref in node.owners:
            self.dependents.get(ref["uid"], set()).discard(uid)
            owner = self.nodes.get(ref["uid"])
            if owner is not None and owner.deleting_dependents:
                self.attempt_to_delete.add(owner.uid)
        for dependent in sorted(self.dependents.pop(uid, set())):
            self.attempt_to_delete.add(dependent)

    # -- attemptToDeleteItem -----------------------------------------------------------------------
    def attempt_to_delete_item(self, uid: str) -> None:
        """Delete an object whose owners are all gone (or all deleting in the foreground)."""
        node = self.nodes.get(uid)
        if node is None:
            return
        try:
            latest = self.client.get(node.resource, node.name, node.namespace)
        except NotFound:
            return  # its DELETED event is on the way
        meta = latest["metadata"]
        if meta.get("uid") != uid:
            return
        finalizers = meta.get("finalizers") or []
        if meta.get("deletionTimestamp"):
            if FOREGROUND in finalizers:
                self._process_deleting_dependents(node, latest)
            return  # being deleted: wait for it to go
        refs = meta.get("ownerReferences") or []
        if not refs:
            return
        solid, dangling, waiting = self._classify(node, refs)
        if solid:
            if dangling or waiting:  # drop the references that are gone or going
                self._remove_owner_refs(node, [r["uid"] for r in dangling + waiting])
            return
        if waiting and self.dependents.get(uid):
            policy = "Foreground"  # its own dependents go first, then it
        elif ORPHAN in finalizers:
            policy = "Orphan"
        elif FOREGROUND in finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        self.client.delete(node.resource, node.name, node.namespace, propagation_policy=policy,
                           preconditions={"uid": uid})
        why = "is being deleted in the foreground" if waiting else "is gone"
        owners = ", ".join(f"{r.get('kind')}/{r.get('name')}" for r in refs)
        self.sim.record(COMPONENT, "DeleteDependent", node.ref,
                        f"owner {owners} {why}; propagationPolicy={policy}")

    def _classify(self, node: Node, refs: list[dict]) -> tuple[list, list, list]:
        """classifyReferences: (solid, dangling, waiting for dependents' deletion)."""
        solid, dangling, waiting = [], [], []
        for ref in refs:
            try:
                resource = self.client.info(str(ref.get("kind"))).resource
                owner = self.client.get(resource, ref["name"], node.namespace
                                        if self.client.info(resource).namespaced else None)
            except NotFound:
                dangling.append(ref)
                continue
            meta = owner["metadata"]
            if meta.get("uid") != ref.get("uid"):
                dangling.append(ref)  # same name, another object: the owner is gone
            elif meta.get("deletionTimestamp") and FOREGROUND in (meta.get("finalizers") or []):
                waiting.append(ref)
            else:
                solid.append(ref)
        return solid, dangling, waiting

    def _process_deleting_dependents(self, node: Node, latest: Mapping[str, Any]) -> None:
        """processDeletingDependentsItem: delete the blockers, or let the owner go."""
        blocking = [self.nodes[d] for d in sorted(self.dependents.get(node.uid, ()))
                    if d in self.nodes
                    and any(r["uid"] == node.uid and r.get("blockOwnerDeletion")
                            for r in self.nodes[d].owners)]
        if not blocking:
            self._remove_finalizer(node, FOREGROUND)
            return
        for dependent in blocking:
            if not dependent.deleting_dependents:
                self.attempt_to_delete.add(dependent.uid)

    # -- attemptToOrphan ---------------------------------------------------------------------------
    def orphan_dependents(self, uid: str) -> None:
        """orphanDependents, then remove the ``orphan`` finalizer from the owner."""
        node = self.nodes.get(uid)
        if node is None:
            return
        for dependent in sorted(self.dependents.get(uid, ())):
            if dependent in self.nodes:
                self._remove_owner_refs(self.nodes[dependent], [uid])
                self.sim.record(COMPONENT, "OrphanDependent", self.nodes[dependent].ref,
                                f"ownerReference to {node.ref} removed")
        self._remove_finalizer(node, ORPHAN)

    # -- writes ------------------------------------------------------------------------------------
    def _remove_owner_refs(self, node: Node, owner_uids: list[str]) -> None:
        """GenerateDeleteOwnerRefStrategicMergeBytes: ``$patch: delete`` each reference."""
        patch = {"metadata": {"ownerReferences": [{"$patch": "delete", "uid": u}
                                                  for u in owner_uids], "uid": node.uid}}
        try:
            self.client.patch(node.resource, node.name, patch, node.namespace)
        except NotFound:
            return

    def _remove_finalizer(self, node: Node, finalizer: str) -> None:
        """removeFinalizer: write the object back without ``finalizer`` (it may then go)."""
        try:
            obj = self.client.get(node.resource, node.name, node.namespace)
        except NotFound:
            return
        finalizers = obj["metadata"].get("finalizers") or []
        if finalizer not in finalizers or obj["metadata"].get("uid") != node.uid:
            return
        obj["metadata"]["finalizers"] = [f for f in finalizers if f != finalizer]
        try:
            self.client.update(obj)  # a Conflict: the queue retries
        except NotFound:
            return
        self.sim.record(COMPONENT, "RemoveFinalizer", node.ref, f"finalizer {finalizer} removed")
