"""Leases: keys that vanish on their own unless someone keeps them alive.

A lease is granted with a TTL in seconds. Keys put with ``lease=id`` are
attached to it. A keepalive resets the countdown to the full TTL; when it
runs out on the virtual clock, the lease is revoked: its keys are deleted in
one write (one revision, one DELETE event per key), as etcd's lessor does
(lease/lessor.go Revoke).

Differences from a real server, on purpose: real etcd checks for expired
leases every 500 ms and revokes them through raft, so a key outlives its TTL
by up to a second or so; here it goes at exactly ``granted + ttl``.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, NamedTuple

from kubelearn.etcd.errors import (
    InvalidArgumentError,
    LeaseExistsError,
    LeaseNotFoundError,
    LeaseTTLTooLargeError,
)

if TYPE_CHECKING:  # pragma: no cover
    from kubelearn.sim import Simulation

# With the default --heartbeat-interval 100ms and --election-timeout 1000ms, etcd's
# minimum TTL is ceil(1.5 x election timeout) = 2s; shorter grants are raised to it
# (etcdserver/server.go minTTL, lease/lessor.go Grant).
MIN_LEASE_TTL = 2
# lease/lessor.go MaxLeaseTTL
MAX_LEASE_TTL = 9_000_000_000


class Lease(NamedTuple):
    """A granted lease: its id and the TTL it was granted with."""

    id: int
    ttl: int


class LeaseTimeToLive(NamedTuple):
    """A lease's remaining seconds (-1: no such lease), its granted TTL and its keys."""

    id: int
    ttl: int
    granted_ttl: int
    keys: list[str]


class _Grant:
    """The lessor's record of one lease: TTL, when it runs out, attached keys."""

    __slots__ = ("id", "ttl", "expiry", "keys")

    def __init__(self, lease_id: int, ttl: int, expiry: float) -> None:
        self.id = lease_id
        self.ttl = ttl
        self.expiry = expiry
        self.keys: set[str] = set()


def lease_name(lease_id: int) -> str:
    """A lease as etcdctl prints it: hexadecimal."""
    return f"lease/{lease_id:x}"


class Lessor:
    """Grants, renews and revokes leases on the virtual clock."""

    def __init__(self, sim: Simulation, delete_keys: Callable[[list[str]], int]) -> None:
        self.sim = sim
        self._delete_keys = delete_keys  # the store's "delete these keys in one revision"
        self._leases: dict[int, _Grant] = {}
        self._ids = sim.rng("etcd-lease-ids")

    def grant(self, ttl: int, lease_id: int = 0) -> Lease:
        """Create a lease of ``ttl`` seconds (at least MIN_LEASE_TTL); id 0 picks one."""
        ttl = _check_int(ttl, "ttl", allow_negative=True)
        lease_id = _check_int(lease_id, "lease_id")
        if ttl > MAX_LEASE_TTL:
            raise LeaseTTLTooLargeError()
        if lease_id == 0:
            lease_id = self._new_id()
        elif lease_id in self._leases:
            raise LeaseExistsError()
        ttl = max(ttl, MIN_LEASE_TTL)
        self._start(lease_id, ttl)
        return Lease(lease_id, ttl)

    def keepalive(self, lease_id: int) -> int:
        """Reset the countdown of a lease to its full TTL; returns the TTL."""
        grant = self._find(lease_id)
        grant.expiry = self.sim.now + grant.ttl
        return grant.ttl

    def revoke(self, lease_id: int) -> None:
        """End a lease now, deleting its keys in one revision."""
        grant = self._find(lease_id)
        deleted = self._end(grant)
        self.sim.record("etcd", "LeaseRevoked", lease_name(grant.id),
                        f"revoked: {deleted} key(s) deleted")

    def time_to_live(self, lease_id: int, keys: bool = False) -> LeaseTimeToLive:
        """Seconds left (truncated, as etcd reports them), or ttl -1 if there is no such lease."""
        lease_id = _check_int(lease_id, "lease_id")
        grant = self._leases.get(lease_id)
        if grant is None:
            return LeaseTimeToLive(lease_id, -1, 0, [])
        left = int(max(grant.expiry - self.sim.now, 0.0))
        return LeaseTimeToLive(lease_id, left, grant.ttl, sorted(grant.keys) if keys else [])

    def leases(self) -> list[Lease]:
        """Every live lease, by id."""
        return [Lease(g.id, g.ttl) for _, g in sorted(self._leases.items())]

    # -- used by the store -------------------------------------------------------
    def check(self, lease_id: int) -> None:
        """Raise LeaseNotFoundError unless ``lease_id`` is 0 or a live lease."""
        if lease_id and lease_id not in self._leases:
            raise LeaseNotFoundError()

    def attach(self, lease_id: int, key: str) -> None:
        """Tie ``key`` to a lease: it is deleted when the lease ends."""
        self._leases[lease_id].keys.add(key)

    def detach(self, lease_id: int, key: str) -> None:
        """Untie ``key`` from a lease (the key was overwritten or deleted)."""
        grant = self._leases.get(lease_id)
        if grant is not None:
            grant.keys.discard(key)

    def restore(self, lease_id: int, ttl: int, keys: list[str]) -> None:
        """Bring back a lease from a snapshot with a full TTL, as a new etcd leader does."""
        self._start(lease_id, ttl)
        self._leases[lease_id].keys.update(keys)

    # -- inside ------------------------------------------------------------------
    def _start(self, lease_id: int, ttl: int) -> None:
        """Record a lease and start its countdown on the virtual clock."""
        grant = _Grant(lease_id, ttl, self.sim.now + ttl)
        self._leases[lease_id] = grant
        self.sim.process(self._expire_when_due(grant))

    def _expire_when_due(self, grant: _Grant) -> Generator[Any, Any, None]:
        """Sleep until the lease runs out; a keepalive meanwhile means sleep again."""
        while self._leases.get(grant.id) is grant:
            left = grant.expiry - self.sim.now
            if left <= 0:
                deleted = self._end(grant)
                self.sim.record("etcd", "LeaseExpired", lease_name(grant.id),
                                f"TTL {grant.ttl}s ran out: {deleted} key(s) deleted")
                return
            yield self.sim.env.timeout(left)

    def _end(self, grant: _Grant) -> int:
        """Forget the lease and delete its keys, sorted, in one write (lessor.go Revoke)."""
        del self._leases[grant.id]
        return self._delete_keys(sorted(grant.keys))

    def _find(self, lease_id: int) -> _Grant:
        """The live lease ``lease_id`` or LeaseNotFoundError."""
        grant = self._leases.get(_check_int(lease_id, "lease_id"))
        if grant is None:
            raise LeaseNotFoundError()
        return grant

    def _new_id(self) -> int:
        """A fresh positive 63-bit lease id from the seeded generator."""
        while True:
            lease_id = self._ids.getrandbits(63)
            if lease_id and lease_id not in self._leases:
                return lease_id


def _check_int(value: object, what: str, allow_negative: bool = False) -> int:
    """``value`` if it is an int (and not negative, unless allowed), else raise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidArgumentError(f"{what} must be an int, not {type(value).__name__}")
    if value < 0 and not allow_negative:
        raise InvalidArgumentError(f"{what} must be >= 0, got {value}")
    return value
