"""ClusterIPs: the service CIDR as a range of addresses, each handed out once.

A port of kube-apiserver's pkg/registry/core/service/ipallocator (v1.32,
``bitmap.go`` and ``interfaces.go``). In v1.32 the MultiCIDRServiceAllocator
feature (ServiceCIDR and IPAddress objects) is beta and off by default
(pkg/features/kube_features.go: beta since 1.31, default false; on from
1.33), so ClusterIPs come from this bitmap allocator over
``--service-cluster-ip-range`` -- kubeadm's default ``10.96.0.0/12``.

Offsets count from the address after the network address: offset 0 is
``10.96.0.1`` (the ``kubernetes`` Service's), and the IPv4 broadcast address
is never handed out. ``calculateRangeOffset`` splits the range for
ServiceIPStaticSubrange: ``min(max(16, size / 16), 256)`` addresses at the
bottom (``10.96.0.1``-``10.96.1.0`` for a /12; none for a /28 or smaller) are
left for Services that ask for an address, and dynamic allocation draws from
the rest first.

Errors carry upstream's words: :class:`NotInRange` ("the provided IP
(10.200.0.1) is not in the valid range. The range of valid IPs is
10.96.0.0/12"), :class:`AlreadyAllocated` ("provided IP is already
allocated"), :class:`RangeFull` ("range is full").
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from kubelearn.apiserver.rangeallocation import AllocatorError

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.allocator import AllocationBitmap
    from kubelearn.apiserver.rangeallocation import EtcdAllocator

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# calculateRangeOffset: min(max($min, cidrSize/$step), $max).
RANGE_OFFSET_MIN = 16
RANGE_OFFSET_MAX = 256
RANGE_OFFSET_STEP = 16
IPV6_MAX_SIZE = 65536  # New: "Limit the max size, since the allocator keeps a bitmap of that size"


class RangeFull(AllocatorError):
    """ErrFull."""

    def __init__(self) -> None:
        super().__init__("range is full")


class AlreadyAllocated(AllocatorError):
    """ErrAllocated."""

    def __init__(self) -> None:
        super().__init__("provided IP is already allocated")


class NotInRange(AllocatorError):
    """ErrNotInRange: the address is outside the range (or its network or broadcast address)."""

    def __init__(self, ip: str, valid_range: str) -> None:
        super().__init__(f"the provided IP ({ip}) is not in the valid range. The range of valid "
                         f"IPs is {valid_range}")


def range_size(network: IPNetwork) -> int:
    """netutils.RangeSize: how many addresses the CIDR holds."""
    return network.num_addresses


def calculate_range_offset(network: IPNetwork) -> int:
    """How many addresses at the bottom are kept for static allocation (calculateRangeOffset)."""
    size = range_size(network)
    # "A /28 CIDR returns 16 addresses, but 2 of them, the network and broadcast addresses
    # are not available": no static band at all then.
    if size <= RANGE_OFFSET_MIN:
        return 0
    return min(max(RANGE_OFFSET_MIN, size // RANGE_OFFSET_STEP), RANGE_OFFSET_MAX)


def usable_size(network: IPNetwork) -> int:
    """Usable addresses: all but the network address (and IPv4's broadcast), IPv6 capped."""
    size = range_size(network)
    if network.version == 6:
        size = min(size, IPV6_MAX_SIZE)
    else:
        size -= 1  # the broadcast address
    return max(size - 1, 0)  # the network address


class ServiceIPRange:
    """The service CIDR's addresses over a bitmap (ipallocator.Range)."""

    def __init__(self, cidr: str, allocator: EtcdAllocator | AllocationBitmap) -> None:
        self.network: IPNetwork = ipaddress.ip_network(cidr)
        self.cidr = str(self.network)
        self.family = "IPv6" if self.network.version == 6 else "IPv4"
        self._base = int(self.network.network_address) + 1  # offset 0 is the ".1" address
        self.allocator = allocator

    def __repr__(self) -> str:
        return f"ServiceIPRange({self.cidr!r}, used={self.used()}/{self.allocator.size})"

    def ip_at(self, offset: int) -> str:
        """The address at ``offset``."""
        return str(ipaddress.ip_address(self._base + offset))

    def offset_of(self, ip: str) -> int | None:
        """The offset of ``ip``, or None if it is not a usable address of the range (contains)."""
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            return None
        if addr not in self.network:
            return None
        offset = int(addr) - self._base
        return offset if 0 <= offset < self.allocator.size else None

    def allocate(self, ip: str, *, dry_run: bool = False) -> None:
        """Reserve ``ip``: NotInRange or AlreadyAllocated if it cannot be had."""
        offset = self.offset_of(ip)
        if offset is None:
            raise NotInRange(ip, self.cidr)
        if dry_run:
            return  # bitmap.go: "Don't bother to check whether the IP is actually free"
        if not self.allocator.allocate(offset):
            raise AlreadyAllocated()

    def allocate_next(self, *, dry_run: bool = False) -> str:
        """Reserve a free address (the random scan, upper band first); RangeFull if none.

        A dry run allocates nothing and answers the network address, as upstream
        does ("Don't bother to find a free value").
        """
        if dry_run:
            return str(self.network.network_address)
        offset = self.allocator.allocate_next()
        if offset is None:
            raise RangeFull()
        return self.ip_at(offset)

    def release(self, ip: str, *, dry_run: bool = False) -> None:
        """Give ``ip`` back; an address outside the range, or free, is a no-op."""
        offset = self.offset_of(ip)
        if offset is not None and not dry_run:
            self.allocator.release(offset)

    def has(self, ip: str) -> bool:
        """Whether ``ip`` is taken."""
        offset = self.offset_of(ip)
        return offset is not None and self.allocator.has(offset)

    def used(self) -> int:
        return self.allocator.used()

    def free(self) -> int:
        return self.allocator.free()

    def allocated(self) -> list[str]:
        """The taken addresses, lowest first."""
        return [self.ip_at(offset) for offset in self.allocator.allocated()]
