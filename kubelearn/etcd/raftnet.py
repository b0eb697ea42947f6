"""The ground a Raft group stands on: its own clock and a network that can fail.

- :class:`RaftClock` is the group's event queue: callbacks due at virtual
  times, run in (time, order of scheduling) order, so the same seed replays
  the same history. It follows the cluster's clock (see raft.py for how the
  two relate) but can run ahead of it while a request waits for a commit.
- :class:`Network` carries messages between members: a latency per link, a
  probability of losing each message (drawn from the group's seeded
  generator), and partitions — sets of members that cannot reach each other.
  A message to a member that is down, or across a partition, is dropped.

Nothing here knows Raft: a message is any object with ``frm`` and ``to``.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Iterable
from typing import Any

from kubelearn.etcd.errors import InvalidArgumentError

# One-way delay of a message between two members, in seconds. Our choice, not
# upstream's: members of a control plane usually share a LAN, where a round
# trip takes a millisecond or a few. etcd's tuning guide asks for a heartbeat
# interval near the round-trip time (docs: "Tuning", heartbeat interval).
DEFAULT_LATENCY = 0.002


class RaftClock:
    """The group's event queue: ``at(time, callback, *args)``, then run."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self._queue: list[tuple[float, int, Callable[..., Any], tuple]] = []
        self._order = 0  # ties at one instant run in the order they were scheduled

    def at(self, time: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` at virtual ``time`` (not before now)."""
        self._order += 1
        heapq.heappush(self._queue, (max(time, self.now), self._order, callback, args))

    def after(self, delay: float, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` ``delay`` seconds from now."""
        # at()'s body, not a call to it: every tick and every message comes through here
        self._order += 1
        heapq.heappush(self._queue, (max(self.now + delay, self.now), self._order, callback, args))

    def run_until(self, time: float) -> None:
        """Run everything due up to ``time``, then stand at ``time`` (never backwards)."""
        queue, pop = self._queue, heapq.heappop
        while queue and queue[0][0] <= time:  # _step()'s body: every event runs here
            self.now, _, callback, args = pop(queue)
            callback(*args)
        self.now = max(self.now, time)

    def run_while(self, waiting: Callable[[], bool], until: float | None = None) -> None:
        """Run events one by one while ``waiting()`` holds (and something is due).

        With ``until``, no event after that time runs, and if ``waiting()``
        still holds the clock stands at ``until`` (a caller's deadline).
        """
        queue = self._queue
        while waiting() and queue and (until is None or queue[0][0] <= until):
            self._step()
        if until is not None and waiting():
            self.now = max(self.now, until)

    def _step(self) -> None:
        """Run the next event: the clock jumps to its time."""
        self.now, _, callback, args = heapq.heappop(self._queue)
        callback(*args)


class Network:
    """Links between members with latency, loss and partitions, on a :class:`RaftClock`."""

    def __init__(self, clock: RaftClock, rng: random.Random, members: Iterable[str],
                 latency: float = DEFAULT_LATENCY, loss: float = 0.0) -> None:
        self.clock = clock
        self.rng = rng
        self.members = list(members)
        self.latency = check_seconds(latency, "latency")
        self.loss = check_probability(loss)
        self._link_latency: dict[tuple[str, str], float] = {}
        self._side: dict[str, int] = {}  # member -> partition side; absent: everyone's side
        self._deliver: dict[str, Callable[[Any], None]] = {}
        self.sent = 0
        self.dropped = 0

    def attach(self, member: str, deliver: Callable[[Any], None]) -> None:
        """Hand messages for ``member`` to ``deliver(message)``."""
        self._deliver[member] = deliver

    # -- faults -----------------------------------------------------------------
    def set_latency(self, a: str, b: str, seconds: float) -> None:
        """The one-way delay between ``a`` and ``b``, both ways."""
        seconds = check_seconds(seconds, "latency")
        for pair in ((a, b), (b, a)):
            self._check_member(pair[0])
            self._link_latency[pair] = seconds

    def set_loss(self, probability: float) -> None:
        """The chance that any one message is lost."""
        self.loss = check_probability(probability)

    def partition(self, *sides: Iterable[str]) -> list[list[str]]:
        """Split the members into ``sides`` that cannot reach each other.

        Members named in no side form one more side together.
        """
        groups = [list(side) for side in sides]
        named = [m for side in groups for m in side]
        for member in named:
            self._check_member(member)
        if len(set(named)) != len(named):
            raise InvalidArgumentError(f"a member may be on one side only: {groups}")
        rest = [m for m in self.members if m not in named]
        if rest:
            groups.append(rest)
        self._side = {member: i for i, side in enumerate(groups) for member in side}
        return groups

    def heal(self) -> None:
        """Every member can reach every other again."""
        self._side = {}

    def connected(self, a: str, b: str) -> bool:
        """Whether a message from ``a`` can reach ``b`` (ignoring loss)."""
        return self._side.get(a, -1) == self._side.get(b, -1)

    # -- messages -----------------------------------------------------------------
    def send(self, message: Any) -> None:
        """Put ``message`` on the wire: it arrives after the link's latency, or never."""
        self.sent += 1
        frm, to = message.frm, message.to
        # no partition (self._side empty): every link is up, no need to ask connected()
        if ((self._side and not self.connected(frm, to))
                or (self.loss and self.rng.random() < self.loss)):
            self.dropped += 1
            return
        delay = self._link_latency.get((frm, to), self.latency)
        self.clock.after(delay, self._arrive, message)

    def _arrive(self, message: Any) -> None:
        if self._side and not self.connected(message.frm, message.to):  # cut while in flight
            self.dropped += 1
            return
        self._deliver[message.to](message)

    def _check_member(self, member: str) -> None:
        if member not in self.members:
            raise InvalidArgumentError(f"no member named {member!r}; members are {self.members}")


def check_seconds(value: object, what: str) -> float:
    """A non-negative number of seconds, or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise InvalidArgumentError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return float(value)


def check_probability(value: object) -> float:
    """A probability in [0, 1], or a clear error."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InvalidArgumentError(f"message loss must be a probability in [0, 1], not {value!r}")
    return float(value)
