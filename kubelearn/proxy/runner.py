"""BoundedFrequencyRunner: run a function at most every minInterval and at least every maxInterval.

kube-proxy does not sync its rules on every change: its handlers call
:meth:`BoundedFrequencyRunner.run`, "as soon as possible", and the runner decides
when (pkg/util/async/bounded_frequency_runner.go, the one kube-proxy v1.32 uses):

- a token bucket (client-go flowcontrol's, over golang.org/x/time/rate) with
  ``1/minInterval`` tokens a second and room for ``burstRuns``; a run takes a token,
  and a request with none left waits until ``minInterval`` after the last run ended.
  The bucket starts full. Requests while a run is in progress, or while one is
  already waiting, are coalesced into one run;
- a timer: ``maxInterval`` after every run it runs again even if nobody asked.

The iptables proxier (proxier.go NewProxier) passes ``minSyncPeriod`` (1s),
``proxyutil.FullSyncPeriod`` (one hour) and ``burstSyncs = 2``: a burst of changes
gets two syncs straight away, then one a second; with nothing changing, one sync an
hour (full when the last full one is an hour old). ``syncPeriod`` (30s) is not the
runner's: it paces the iptables canary monitor and retries after a failed sync
(:meth:`retry_after`).

On the virtual clock the function may take time: it is a generator function whose
``yield``\\ s are SimPy events, and the loop waits for it, as Go's Loop is busy while
``fn`` runs. Times are counted in whole nanoseconds, like Go's durations, so a token
that is due is not missed by a rounding error.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import simpy

from kubelearn.sim import Simulation

_NS = 1_000_000_000
_LONG_AGO = 1 << 62


def _nanos(seconds: float) -> int:
    return round(seconds * _NS)


class TokenBucket:
    """rate.Limiter as client-go's tokenBucketRateLimiter uses it: TryAccept = AllowN(now, 1)."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = burst
        self.tokens = float(burst)  # a new limiter's bucket is full
        self.last: int | None = None  # nanoseconds of the last take

    def _tokens_at(self, now: int) -> float:
        if self.last is None:
            return float(self.burst)
        elapsed = max(0, now - self.last)
        # tokensFromDuration: whole seconds and the rest apart, as x/time/rate does
        gained = (elapsed // _NS) * self.qps + (elapsed % _NS) * self.qps / _NS
        return min(float(self.burst), self.tokens + gained)

    def try_accept(self, now: int) -> bool:
        """reserveN(now, 1, 0): take a token if the wait for one would be under a nanosecond."""
        tokens = self._tokens_at(now) - 1.0
        # durationFromTokens truncates to whole nanoseconds: a deficit worth less is no wait
        if tokens < 0 and int(-tokens / self.qps * _NS) > 0:
            return False
        self.tokens, self.last = tokens, now
        return True

    def wait_ns(self, now: int) -> int:
        """Nanoseconds until a token is there (0 if one is)."""
        missing = 1.0 - self._tokens_at(now)
        return 0 if missing <= 0 else math.ceil(missing / self.qps * _NS)


class BoundedFrequencyRunner:
    """Runs ``fn`` when asked, no more often than the bucket allows, at least every max_interval.

    ``fn`` is a generator function (it may ``yield`` SimPy events, taking virtual
    time) or a plain function. ``on_run(started, ended)`` is called after each run.
    """

    def __init__(self, sim: Simulation, name: str, fn: Callable[[], Any], min_interval: float,
                 max_interval: float, burst_runs: int, *,
                 on_run: Callable[[float, float], Any] | None = None) -> None:
        if max_interval < min_interval:
            # construct(): "maxInterval (%v) must be >= minInterval (%v)"
            raise ValueError(f"{name}: maxInterval ({max_interval}s) must be >= "
                             f"minInterval ({min_interval}s)")
        self.sim = sim
        self.name = name
        self.fn = fn
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.burst_runs = burst_runs
        self.on_run = on_run
        # NewBoundedFrequencyRunner: no limiter when minInterval is 0
        self.limiter = TokenBucket(1.0 / min_interval, burst_runs) if min_interval > 0 else None
        self.last_run: int = -_LONG_AGO  # nanoseconds when the last run ended (Go's zero time)
        self.runs: list[tuple[float, float]] = []  # (started, ended) of every run
        self._run_requested = False
        self._timer_at: int | None = None  # nanoseconds when the timer fires
        self._retry_at: int | None = None
        self._wake: simpy.Event | None = None
        self._generation = 0  # one per loop() call: a stopped loop's process ends
        self._timer_generation = 0  # one per timer reset: an old timer's tick is ignored
        self._stopped = True

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "looping"
        return f"BoundedFrequencyRunner({self.name}, {state}, {len(self.runs)} runs)"

    # -- the caller's side ------------------------------------------------------------------------
    def run(self) -> None:
        """Run: ask for a run as soon as possible (one pending request at most)."""
        self._run_requested = True
        self._poke()

    def retry_after(self, interval: float) -> None:
        """RetryAfter: make sure the function runs again no later than ``interval`` from now."""
        at = self._now() + _nanos(interval)
        if self._retry_at is not None and self._retry_at < at:
            return
        self._retry_at = at
        self._poke()

    def loop(self) -> simpy.Process:
        """Loop: start handling run requests and the timer (the timer set to maxInterval)."""
        self._generation += 1
        self._stopped = False
        self._set_timer(self._now() + _nanos(self.max_interval))
        return self.sim.process(self._loop(self._generation))

    def stop(self) -> None:
        """Stop looping (a run in progress finishes)."""
        self._stopped = True
        self._set_timer(None)
        self._poke()

    @property
    def running(self) -> bool:
        return not self._stopped

    # -- the loop ---------------------------------------------------------------------------------
    def _now(self) -> int:
        return _nanos(self.sim.now)

    def _poke(self) -> None:
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def _set_timer(self, at: int | None) -> None:
        """timer.Stop(); timer.Reset(d): a new deadline; a pending tick of the old one is void."""
        self._timer_at = at
        self._timer_generation += 1
        if at is None:
            return
        generation = self._timer_generation
        tick = self.sim.timeout(max(0, at - self._now()) / _NS)
        tick.callbacks.append(lambda _event: self._tick(generation))

    def _tick(self, generation: int) -> None:
        if generation == self._timer_generation:
            self._poke()

    def _loop(self, generation: int) -> Generator[simpy.Event, Any, None]:
        while not self._stopped and generation == self._generation:
            if self._run_requested:
                self._run_requested = False
                yield from self._try_run()
            elif self._timer_at is not None and self._now() >= self._timer_at:
                self._set_timer(None)
                yield from self._try_run()
            elif self._retry_at is not None:
                self._do_retry()
            else:
                self._wake = self.sim.env.event()
                yield self._wake
                self._wake = None

    def _do_retry(self) -> None:
        """doRetry: bring the timer forward to the retry time if that is sooner."""
        retry = self._retry_at - self._now()
        self._retry_at = None
        if self._timer_at is None or retry < self._timer_at - self._now():
            self._set_timer(self._now() + max(0, retry))

    def _try_run(self) -> Generator[simpy.Event, Any, None]:
        """tryRun: run if the bucket has a token, else set the timer for when it may."""
        now = self._now()
        if self.limiter is None or self.limiter.try_accept(now):
            started = self.sim.now
            result = self.fn()
            if result is not None and hasattr(result, "__next__"):
                yield from result
            self.last_run = self._now()
            self.runs.append((started, self.sim.now))
            if not self._stopped:
                self._set_timer(self.last_run + _nanos(self.max_interval))
            if self.on_run is not None:
                self.on_run(started, self.sim.now)
            return
        elapsed = now - self.last_run
        next_possible = _nanos(self.min_interval) - elapsed
        next_scheduled = self._timer_at - now if self._timer_at is not None else next_possible
        if next_possible < next_scheduled:
            next_scheduled = next_possible
        # Go would spin on a timer already due until the token arrives; wait for it instead.
        next_scheduled = max(next_scheduled, self.limiter.wait_ns(now))
        self._set_timer(now + next_scheduled)
