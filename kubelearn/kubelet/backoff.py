"""Back-off: wait 10 s, then 20, 40 ... up to 300 s; forget after a long quiet spell.

A port of client-go's ``flowcontrol.Backoff`` (k8s.io/client-go/util/flowcontrol/
backoff.go), which the kubelet uses twice: for restarting crashed containers
(CrashLoopBackOff) and for pulling images that failed (ImagePullBackOff).
Each key (a pod's container, a pod's image) has a current delay and the time
it was last bumped:

- :meth:`Backoff.next` -- the first time, the initial delay; then double it,
  capped at the maximum. An entry older than twice the maximum (10 minutes
  with the kubelet's 300 s) starts over: a container that ran 10 minutes
  before crashing is restarted at once again;
- :meth:`Backoff.in_backoff_since` -- "is ``now - event`` still inside the delay?"
  (the container back-off measures from the container's exit);
- :meth:`Backoff.in_backoff_since_update` -- the same, measured from the last bump
  (the image back-off measures from the failed pull).

The kubelet makes no jitter here (``flowcontrol.NewBackOff``), so neither do we.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable

# Virtual times are floats; "10 s after" must not come out as 9.999999.
EPSILON = 1e-6


class Backoff:
    """Per-key exponential back-off on the virtual clock."""

    __slots__ = ("_clock", "initial", "maximum", "_entries")

    def __init__(self, clock: Callable[[], float], initial: float, maximum: float) -> None:
        self._clock = clock
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[Hashable, tuple[float, float]] = {}  # key -> (delay, last update)

    def _expired(self, event_time: float, last_update: float) -> bool:
        """hasExpired: quiet for more than twice the maximum delay."""
        return event_time - last_update > 2 * self.maximum

    def next(self, key: Hashable, event_time: float) -> float:
        """Bump ``key``'s delay (initial, then doubled, capped); returns the new delay."""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            delay = self.initial
        else:
            delay = min(entry[0] * 2, self.maximum)
        self._entries[key] = (delay, self._clock())
        return delay

    def get(self, key: Hashable) -> float:
        """The current delay of ``key`` (0 if it has none)."""
        entry = self._entries.get(key)
        return entry[0] if entry else 0.0

    def in_backoff_since(self, key: Hashable, event_time: float) -> bool:
        """IsInBackOffSince: is less than the delay gone since ``event_time``?"""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            return False
        return self._clock() - event_time < entry[0] - EPSILON

    def in_backoff_since_update(self, key: Hashable, event_time: float) -> bool:
        """IsInBackOffSinceUpdate: is less than the delay gone since the last bump?"""
        entry = self._entries.get(key)
        if entry is None or self._expired(event_time, entry[1]):
            return False
        return event_time - entry[1] < entry[0] - EPSILON

    def until(self, key: Hashable, since: float) -> float:
        """When the delay of ``key`` counted from ``since`` runs out."""
        return since + self.get(key)

    def forget(self, key: Hashable) -> None:
        """Drop ``key`` (its pod is gone)."""
        self._entries.pop(key, None)

    def gc(self) -> None:
        """Drop every entry quiet for more than twice the maximum (Backoff.GC)."""
        now = self._clock()
        for key in [k for k, (_, last) in self._entries.items() if self._expired(now, last)]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
