"""The RangeAllocation in etcd: an allocator's bitmap, written back on every change.

A port of kube-apiserver's pkg/registry/core/service/allocator/storage
(v1.32, ``storage.Etcd``). The API server keeps which ClusterIPs and which
NodePorts are taken in two etcd keys, each holding one ``RangeAllocation``
object -- ``range`` (``10.96.0.0/12``, ``30000-32767``) and ``data``, the
bitmap as bytes (base64 in JSON):

- ``/registry/ranges/serviceips`` (resource ``serviceipallocations``);
- ``/registry/ranges/servicenodeports`` (resource ``servicenodeportallocations``).

Every allocation and release is a read-modify-write of that key
(``tryUpdate`` inside ``GuaranteedUpdate``): read the stored object; if its
revision is not the one this API server last wrote or read, load the bitmap
from it first (another API server changed it, or this one just started);
apply the change to the bitmap; write the new bitmap back with a
compare-and-swap on the revision read, and start over if someone else wrote
in between. So several API servers over one etcd never hand out the same
item, and a restarted one agrees with what is stored.

Until the key exists (the repair controller creates it when the API server
starts, :mod:`kubelearn.apiserver.repair`) nothing can be allocated:
``cannot allocate resources of type serviceipallocations at this time``.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any, TypeVar

from kubelearn.api import Conflict
from kubelearn.etcd import Compare, Op

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Callable

    from kubelearn.apiserver.allocator import AllocationBitmap
    from kubelearn.etcd import KeyValue, Store

# pkg/registry/core/rest/storage_core.go: the keys (under the API server's /registry prefix)
# and the resources they are stored as.
SERVICE_IPS_KEY = "/registry/ranges/serviceips"
SERVICE_IPS_RESOURCE = "serviceipallocations"
NODE_PORTS_KEY = "/registry/ranges/servicenodeports"
NODE_PORTS_RESOURCE = "servicenodeportallocations"

T = TypeVar("T")
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class AllocatorError(Exception):
    """An allocator could not do what was asked; the message is upstream's."""


def range_allocation(range_spec: str, data: bytes) -> dict[str, Any]:
    """A RangeAllocation object (core/v1), as it is stored: ``range`` and base64 ``data``."""
    return {"kind": "RangeAllocation", "apiVersion": "v1",
            "metadata": {"creationTimestamp": None},
            "range": range_spec, "data": base64.b64encode(data).decode()}


def read_range_allocation(kv: KeyValue) -> tuple[str, bytes]:
    """``(range, data)`` of a stored RangeAllocation."""
    obj = json.loads(kv.value)
    return str(obj.get("range") or ""), base64.b64decode(obj.get("data") or "")


class EtcdAllocator:
    """An :class:`~kubelearn.apiserver.allocator.AllocationBitmap` kept in etcd (storage.Etcd)."""

    def __init__(self, bitmap: AllocationBitmap, store: Store, key: str, resource: str) -> None:
        self.bitmap = bitmap
        self.store = store
        self.key = key
        self.resource = resource
        self._last = 0  # the revision of the stored object the bitmap matches (e.last)

    def __repr__(self) -> str:
        return f"EtcdAllocator({self.key!r}, {self.bitmap!r})"

    @property
    def size(self) -> int:
        return self.bitmap.size

    @property
    def offset(self) -> int:
        return self.bitmap.offset

    # -- Interface: every change goes through tryUpdate ------------------------------------------
    def allocate(self, offset: int) -> bool:
        """Take item ``offset`` in etcd; False if it is taken (per the stored bitmap)."""
        return self._try_update(lambda: self.bitmap.allocate(offset))

    def allocate_next(self) -> int | None:
        """Take a free item (the bitmap's random scan) in etcd; None if the range is full."""
        return self._try_update(self.bitmap.allocate_next)

    def release(self, offset: int) -> None:
        """Give item ``offset`` back, in etcd."""
        self._try_update(lambda: self.bitmap.release(offset))

    def has(self, offset: int) -> bool:
        """Whether item ``offset`` is taken, as this API server last saw it."""
        return self.bitmap.has(offset)

    def free(self) -> int:
        return self.bitmap.free()

    def used(self) -> int:
        return self.bitmap.used()

    def allocated(self) -> list[int]:
        return self.bitmap.allocated()

    # -- RangeRegistry ---------------------------------------------------------------------------
    def get(self) -> tuple[str, bytes, int] | None:
        """The stored ``(range, data, revision)``, or None before the repair controller ran."""
        kv = self.store.get(self.key)
        if kv is None:
            return None
        range_spec, data = read_range_allocation(kv)
        return range_spec, data, kv.mod_revision

    def create_or_update(self, range_spec: str, data: bytes, revision: int) -> None:
        """Store a rebuilt bitmap (the repair controller's CreateOrUpdate).

        ``revision`` is that of the snapshot it was built from (0: there was
        none); if the stored object moved on since, or appeared meanwhile, this
        is a Conflict and the repair starts over.
        """
        kv = self.store.get(self.key)
        current = kv.mod_revision if kv is not None else 0
        if revision and current and revision != current:
            raise Conflict(self.resource, "", err="the provided resource version does not match")
        if not revision and current:
            raise Conflict(self.resource, "",
                           err="another caller has already initialized the resource")
        written = self._write(kv, range_allocation(range_spec, data))
        self.bitmap.restore(range_spec, data)
        self._last = written

    # -- GuaranteedUpdate ------------------------------------------------------------------------
    def _try_update(self, change: Callable[[], T]) -> T:
        """Read, bring the bitmap up to date, ``change`` it, write it back; again on a conflict.

        A change that changed nothing (the item was taken, the range is full)
        writes nothing.
        """
        while True:
            kv = self.store.get(self.key)
            if kv is None:
                raise AllocatorError(f"cannot allocate resources of type {self.resource} at "
                                     "this time")  # storage.go tryUpdate
            if kv.mod_revision != self._last:
                self.bitmap.restore(*read_range_allocation(kv))
            result = change()
            range_spec, data = self.bitmap.snapshot()
            try:
                self._last = self._write(kv, range_allocation(range_spec, data))
            except Conflict:
                self._last = 0  # someone wrote in between: reload, then redo the change
                continue
            return result

    def _write(self, kv: KeyValue | None, obj: dict[str, Any]) -> int:
        """Put ``obj`` at the key if it is still at ``kv``'s revision; the revision it has now.

        An unchanged value is not written (GuaranteedUpdate skips a no-op).
        """
        value = _dumps(obj).encode()
        if kv is not None and kv.value == value:
            return kv.mod_revision
        compare = [Compare.mod_revision(self.key) == kv.mod_revision] if kv is not None \
            else [Compare.version(self.key) == 0]
        resp = self.store.txn(compare, [Op.put(self.key, value)])
        if not resp.succeeded:
            raise Conflict(self.resource, "")
        return resp.revision
