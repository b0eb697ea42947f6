"""The virtual clock: one SimPy environment, one seeded generator, one event record.

Every component of a cluster shares a single :class:`Simulation`. Time moves only
when someone calls :meth:`Simulation.run`; randomness comes only from the
generators handed out here, derived from one seed. Same seed, same history,
to the event.
"""

from __future__ import annotations

import gc
import math
import numbers
import random
import threading
from collections.abc import Callable, Generator
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

import simpy

# Virtual second 0 is this instant, so objects can carry real RFC 3339
# timestamps (creationTimestamp, lease renewTime) that replay identically.
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


class Record(NamedTuple):
    """One thing that happened: when, who, what kind, to what, in words."""

    time: float
    component: str
    reason: str
    object: str
    message: str


RECORD_COLUMNS = list(Record._fields)

# CPython's cyclic garbage collector makes a pass over the youngest objects after every
# 700 net allocations of containers, and every 100 passes (once the long-lived objects have
# grown by a quarter) a full one over every object. A run allocates dicts and lists by the
# million (objects, watch events, records) that reference counting frees at once and that
# hold no cycles, so the passes find next to nothing; in a
# cluster of thousands of objects they took a tenth of the run (lesson 04's 5,000 nodes:
# 2.3 s of 22 s of CPU, 0.7 s with this). While a simulation runs, the first threshold is
# this (the figure benchmarks/scheduler.py uses); the process's own setting is back when the
# run returns.
GC_THRESHOLD_WHILE_RUNNING = 50_000


class _FewerCollections:
    """A context in which the collector's first threshold is at least
    :data:`GC_THRESHOLD_WHILE_RUNNING`; runs may nest, or overlap in threads (a served
    cluster), and the setting found by the first one is put back by the last."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: tuple[int, ...] = gc.get_threshold()

    def __enter__(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._saved = gc.get_threshold()
                first, *rest = self._saved
                if 0 < first < GC_THRESHOLD_WHILE_RUNNING:  # 0: collection turned off, keep
                    gc.set_threshold(GC_THRESHOLD_WHILE_RUNNING, *rest)
            self._depth += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                gc.set_threshold(*self._saved)


_fewer_collections = _FewerCollections()


class Simulation:
    """A cluster's clock, randomness and memory of events."""

    def __init__(self, seed: int = 0, epoch: datetime = EPOCH) -> None:
        self.seed = seed
        self.epoch = epoch  # the instant of virtual second 0, for timestamps
        self.env = simpy.Environment()
        # True while run() runs: work done now is the cluster's own (a component's step),
        # not a call from the outside between runs (a learner's cell, a test).
        self.running = False
        self.random = random.Random(seed)
        self._records: list[Record] = []
        self._listeners: list[Callable[[Record], None]] = []
        # Per layout, the last (epoch, second) turned into text, and the text: thousands
        # of objects are stamped at one virtual instant, and strftime is not free.
        self._stamps: dict[str, tuple[datetime, float, str]] = {}
        self._last_nanos = 0  # the last unique_nanos() handed out

    # -- time ---------------------------------------------------------------
    @property
    def now(self) -> float:
        """Simulated seconds since the start."""
        return float(self.env.now)

    def run(self, seconds: float) -> float:
        """Advance the clock by ``seconds``, running everything due meanwhile.

        ``run(0)`` runs what is due now, without moving the clock.
        """
        if isinstance(seconds, bool) or not isinstance(seconds, numbers.Real):
            raise TypeError(f"seconds must be a number, not {type(seconds).__name__}")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError(f"cannot run for {seconds}s: give a finite number of seconds >= 0")
        running, self.running = self.running, True
        try:
            with _fewer_collections:
                if seconds == 0:
                    while self.env.peek() <= self.env.now:
                        self.env.step()
                else:
                    self.env.run(until=self.env.now + seconds)
        finally:
            self.running = running
        return self.now

    def unique_nanos(self) -> int:
        """Unix nanoseconds now, never the same twice in this simulation.

        An Event's name ends with the nanosecond its recorder made it
        (``<object>.<hex UnixNano>``, client-go). On a real clock two recorders
        practically never read the same nanosecond; on the virtual clock many
        components act at one instant, so each gets the next nanosecond free.
        """
        nanos = round((self.epoch.timestamp() + self.now) * 1e9)
        self._last_nanos = max(nanos, self._last_nanos + 1)
        return self._last_nanos

    def timestamp(self, at: float | None = None) -> str:
        """RFC 3339 time of virtual second ``at`` (default: now), as Kubernetes prints it."""
        return self._format(self.now if at is None else at, "%Y-%m-%dT%H:%M:%SZ")

    def micro_timestamp(self, at: float | None = None) -> str:
        """RFC 3339 with microseconds, the MicroTime format of Lease renewTime."""
        return self._format(self.now if at is None else at, "%Y-%m-%dT%H:%M:%S.%fZ")

    def _format(self, seconds: float, layout: str) -> str:
        """Virtual second ``seconds`` as text in ``layout``, remembering the last answer."""
        last = self._stamps.get(layout)
        if last is None or last[0] != self.epoch or last[1] != seconds:
            text = (self.epoch + timedelta(seconds=seconds)).strftime(layout)
            last = self._stamps[layout] = (self.epoch, seconds, text)
        return last[2]

    # -- scheduling work ----------------------------------------------------
    def process(self, generator: Generator[simpy.Event, Any, Any]) -> simpy.Process:
        """Start a SimPy process on this clock."""
        return self.env.process(generator)

    def timeout(self, delay: float) -> simpy.Timeout:
        """An event that fires ``delay`` simulated seconds from now."""
        return self.env.timeout(delay)

    def call_later(self, delay: float, callback: Callable[[], Any]) -> simpy.Process:
        """Run ``callback()`` once, ``delay`` simulated seconds from now."""

        def wait_then_call() -> Generator[simpy.Event, Any, None]:
            yield self.env.timeout(delay)
            callback()

        return self.env.process(wait_then_call())

    # -- randomness -----------------------------------------------------------
    def rng(self, name: str) -> random.Random:
        """A generator of its own for component ``name``, derived from the seed.

        Giving each component its own stream means adding a component does not
        change the random choices of the others.
        """
        return random.Random(f"{self.seed}:{name}")

    # -- records ----------------------------------------------------------------
    def record(self, component: str, reason: str, obj: str = "", message: str = "") -> Record:
        """Remember that ``component`` did ``reason`` to ``obj`` now."""
        entry = Record(self.now, component, reason, obj, message)
        self._records.append(entry)
        for listener in self._listeners:
            listener(entry)
        return entry

    def subscribe(self, listener: Callable[[Record], None]) -> None:
        """Call ``listener(record)`` for every record made from now on."""
        self._listeners.append(listener)

    @property
    def records(self) -> list[Record]:
        """Every record so far, oldest first (a copy)."""
        return list(self._records)

    def events(self, component: str | None = None):  # -> pandas.DataFrame
        """Every record so far as a DataFrame, optionally for one component."""
        import pandas as pd

        rows = self._records
        if component is not None:
            rows = [r for r in rows if r.component == component]
        return pd.DataFrame(rows, columns=RECORD_COLUMNS)
