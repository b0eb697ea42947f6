"""NodePorts: ``--service-node-port-range`` as a range of ports, each handed out once.

A port of kube-apiserver's pkg/registry/core/service/portallocator (v1.32,
``allocator.go`` and ``operation.go``) and of apimachinery's
``util/net.PortRange``. The default range is 30000-32767
(pkg/kubeapiserver/options DefaultServiceNodePortRange), 2768 ports.

``calculateRangeOffset`` splits it for ServiceNodePortStaticSubrange (GA in
v1.29): ``min(max(16, size / 32), 128)`` ports at the bottom (86 for the
default range: 30000-30085) are left for Services that ask for a port, and
dynamic allocation draws from the rest first.

A Service's ports are allocated in one :class:`PortAllocationOperation`:
ports taken during a create or update are given back if the request fails
later, and ports an update gives up are released only once it succeeded
(``ReleaseDeferred``). A dry-run operation takes nothing.

Errors carry upstream's words: :class:`NotInRange` ("provided port is not in
the valid range. The range of valid ports is 30000-32767"),
:class:`AlreadyAllocated` ("provided port is already allocated"),
:class:`RangeFull` ("range is full").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubelearn.apiserver.rangeallocation import AllocatorError

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.apiserver.allocator import AllocationBitmap
    from kubelearn.apiserver.rangeallocation import EtcdAllocator

DEFAULT_NODE_PORT_RANGE = "30000-32767"  # kubeapiserver options DefaultServiceNodePortRange
# calculateRangeOffset: min(max($min, rangeSize/$step), $max).
RANGE_OFFSET_MIN = 16
RANGE_OFFSET_MAX = 128
RANGE_OFFSET_STEP = 32
# operation.go: a dry run's AllocateNext answers a made-up port above this one.
DRY_RUN_PORT_BASE = 32768


class RangeFull(AllocatorError):
    """ErrFull."""

    def __init__(self) -> None:
        super().__init__("range is full")


class AlreadyAllocated(AllocatorError):
    """ErrAllocated."""

    def __init__(self) -> None:
        super().__init__("provided port is already allocated")


class NotInRange(AllocatorError):
    """ErrNotInRange."""

    def __init__(self, valid_ports: str) -> None:
        super().__init__("provided port is not in the valid range. The range of valid ports "
                         f"is {valid_ports}")


@dataclass(frozen=True)
class PortRange:
    """A range of ports ``base`` .. ``base + size - 1`` (util/net.PortRange)."""

    base: int
    size: int

    def __str__(self) -> str:
        return "" if self.size == 0 else f"{self.base}-{self.base + self.size - 1}"

    def contains(self, port: int) -> bool:
        return self.base <= port < self.base + self.size

    @classmethod
    def parse(cls, value: str) -> PortRange:
        """``30000-32767``, ``30000+2767`` or a single port (ParsePortRange)."""
        text = value.strip()
        match = re.fullmatch(r"(\d+)(?:([-+])(\d+))?", text)
        if not match or not text:
            raise ValueError(f"unable to parse port range: {value}: invalid port range")
        low = int(match.group(1))
        if match.group(2) is None:
            high = low
        elif match.group(2) == "-":
            high = int(match.group(3))
        else:
            high = low + int(match.group(3))
        if not (0 <= low <= 65535 and 0 <= high <= 65535) or high < low:
            raise ValueError(f"unable to parse port range: {value}: invalid port range")
        return cls(low, high - low + 1)


def calculate_range_offset(port_range: PortRange) -> int:
    """How many ports at the bottom are kept for static allocation (calculateRangeOffset)."""
    if port_range.size <= RANGE_OFFSET_MIN:  # "offset should always be smaller than the range"
        return 0
    return min(max(RANGE_OFFSET_MIN, port_range.size // RANGE_OFFSET_STEP), RANGE_OFFSET_MAX)


class PortAllocator:
    """The node port range over a bitmap (portallocator.PortAllocator)."""

    def __init__(self, port_range: PortRange, allocator: EtcdAllocator | AllocationBitmap) -> None:
        self.port_range = port_range
        self.allocator = allocator

    def __repr__(self) -> str:
        return f"PortAllocator({str(self.port_range)!r}, used={self.used()}/{self.port_range.size})"

    def allocate(self, port: int) -> None:
        """Reserve ``port``: NotInRange or AlreadyAllocated if it cannot be had."""
        if not self.port_range.contains(port):
            raise NotInRange(str(self.port_range))
        if not self.allocator.allocate(port - self.port_range.base):
            raise AlreadyAllocated()

    def allocate_next(self) -> int:
        """Reserve a free port (the random scan, upper band first); RangeFull if none."""
        offset = self.allocator.allocate_next()
        if offset is None:
            raise RangeFull()
        return self.port_range.base + offset

    def release(self, port: int) -> None:
        """Give ``port`` back; a port outside the range, or free, is a no-op."""
        if self.port_range.contains(port):
            self.allocator.release(port - self.port_range.base)

    def has(self, port: int) -> bool:
        """Whether ``port`` is taken."""
        return self.port_range.contains(port) and \
            self.allocator.has(port - self.port_range.base)

    def used(self) -> int:
        return self.allocator.used()

    def free(self) -> int:
        return self.allocator.free()

    def allocated(self) -> list[int]:
        """The taken ports, lowest first."""
        return [self.port_range.base + offset for offset in self.allocator.allocated()]


class PortAllocationOperation:
    """The ports one request takes and gives up, undone unless it commits (operation.go)."""

    def __init__(self, allocator: PortAllocator, dry_run: bool = False) -> None:
        self.allocator = allocator
        self.dry_run = dry_run
        self.allocated: list[int] = []
        self.release_deferred: list[int] = []
        self._should_rollback = True

    def allocate(self, port: int) -> None:
        """Take ``port`` now (a dry run only checks it is not taken already)."""
        if self.dry_run:
            # operation.go checks only Has(): a port outside the range passes a dry run.
            if self.allocator.has(port) or port in self.allocated:
                raise AlreadyAllocated()
        else:
            self.allocator.allocate(port)
        self.allocated.append(port)

    def allocate_next(self) -> int:
        """Take a free port now (a dry run makes one up: 32769, then one above the last)."""
        if self.dry_run:
            port = max(self.allocated, default=DRY_RUN_PORT_BASE) + 1
        else:
            port = self.allocator.allocate_next()
        self.allocated.append(port)
        return port

    def release_later(self, port: int) -> None:
        """Give ``port`` back if (and when) the operation commits (ReleaseDeferred)."""
        self.release_deferred.append(port)

    def commit(self) -> None:
        """The request succeeded: release what it gave up; keep what it took."""
        if not self.dry_run:
            self._release(self.release_deferred)
        self._should_rollback = False

    def finish(self) -> None:
        """The request is over: if it did not commit, give back what it took."""
        if self._should_rollback and not self.dry_run:
            self._release(self.allocated)
        self._should_rollback = False

    def _release(self, ports: list[int]) -> None:
        # "Even on error, we don't rollback": a port that cannot be released now is left
        # to the repair loop (operation.go Commit).
        for port in ports:
            try:
                self.allocator.release(port)
            except AllocatorError:
                continue
