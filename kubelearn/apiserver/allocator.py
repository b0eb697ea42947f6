"""The bitmap under ClusterIPs and NodePorts: a range of offsets, allocated at random.

A port of kube-apiserver's pkg/registry/core/service/allocator/bitmap.go
(v1.32). A range of ``size`` items (IP addresses, ports) is a bitmap, bit
``i`` set when item ``i`` is taken -- upstream a ``big.Int``, here a Python
int, which is the same arbitrary-precision bit string.

:meth:`AllocationBitmap.allocate_next` is ``randomScanStrategyWithOffset``
(the ServiceIPStaticSubrange and ServiceNodePortStaticSubrange features, GA
since v1.26 and v1.29): the range is split at ``offset`` into a lower band,
kept for items a user asks for by value, and an upper band that dynamic
allocation tries first. It picks a random start in the upper band and scans
forward (wrapping inside the band) for a free bit; only when the upper band
is full does it scan the lower band the same way. With ``offset`` 0 this is
the plain random scan (``randomScanStrategy``).

:meth:`snapshot` and :meth:`restore` give and take the bitmap as
``big.Int.Bytes()`` does: big-endian, no leading zero bytes -- the ``data``
of the RangeAllocation the API server keeps in etcd
(:mod:`kubelearn.apiserver.rangeallocation`).
"""

from __future__ import annotations

import random


class AllocationBitmap:
    """A contiguous block of ``size`` items, each free or taken (allocator.AllocationBitmap)."""

    def __init__(self, size: int, range_spec: str, rng: random.Random, offset: int = 0) -> None:
        if not 0 <= offset <= size:
            raise ValueError(f"offset {offset} must be within the range size {size}")
        self.size = size  # upstream's max: how many items there are
        self.range_spec = range_spec  # RangeAllocation.range, e.g. "10.96.0.0/12"
        self.offset = offset  # where the band for dynamic allocation starts
        self._rng = rng
        self._bits = 0
        self._count = 0

    def __repr__(self) -> str:
        return f"AllocationBitmap({self.range_spec!r}, used={self._count}/{self.size})"

    # -- Interface -------------------------------------------------------------------------------
    def allocate(self, offset: int) -> bool:
        """Take item ``offset``; False if it was taken already."""
        if not 0 <= offset < self.size:
            raise ValueError(f"offset {offset} out of range [0,{self.size}]")  # bitmap.go
        if self.has(offset):
            return False
        self._bits |= 1 << offset
        self._count += 1
        return True

    def allocate_next(self) -> int | None:
        """Take a free item, chosen as randomScanStrategyWithOffset does; None if full."""
        found = self._scan()
        if found is None:
            return None
        self._bits |= 1 << found
        self._count += 1
        return found

    def release(self, offset: int) -> None:
        """Give item ``offset`` back; releasing a free item is a no-op."""
        if 0 <= offset < self.size and self.has(offset):
            self._bits &= ~(1 << offset)
            self._count -= 1

    def has(self, offset: int) -> bool:
        """Whether item ``offset`` is taken."""
        return offset >= 0 and (self._bits >> offset) & 1 == 1

    def free(self) -> int:
        """How many items are left."""
        return self.size - self._count

    def used(self) -> int:
        """How many items are taken."""
        return self._count

    def allocated(self) -> list[int]:
        """The taken offsets, lowest first (ForEach)."""
        bits, out, at = self._bits, [], 0
        while bits:
            if bits & 1:
                out.append(at)
            bits >>= 1
            at += 1
        return out

    # -- Snapshottable ---------------------------------------------------------------------------
    def snapshot(self) -> tuple[str, bytes]:
        """``(range, data)``: the bitmap as big.Int.Bytes() gives it (big-endian, no zeros)."""
        return self.range_spec, self._bits.to_bytes((self._bits.bit_length() + 7) // 8, "big")

    def restore(self, range_spec: str, data: bytes) -> None:
        """Load a snapshot; it must be of the same range."""
        if range_spec != self.range_spec:
            raise ValueError("the provided range does not match the current range")  # bitmap.go
        self._bits = int.from_bytes(data, "big")
        self._count = self._bits.bit_count()

    # -- randomScanStrategyWithOffset ------------------------------------------------------------
    def _scan(self) -> int | None:
        """A free offset: a random start in the upper band, scanning forward; then the lower."""
        if self._count >= self.size:
            return None
        upper = self.size - self.offset  # the band dynamic allocation prefers
        start = self._rng.randrange(upper)
        for i in range(upper):
            at = self.offset + (start + i) % upper
            if not self.has(at):
                return at
        start = self._rng.randrange(self.offset)  # the upper band is full: try the lower one
        for i in range(self.offset):
            at = (start + i) % self.offset
            if not self.has(at):
                return at
        return None
