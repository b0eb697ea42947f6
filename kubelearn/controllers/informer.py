"""The shape every controller has: informers feed a work queue, a worker syncs one key at a time.

This is how kube-controller-manager's controllers are built (client-go's
``SharedInformer`` and ``workqueue``):

1. An :class:`~kubelearn.scheduler.informer.Informer` per resource lists, then
   watches, and keeps a local cache (``informer.store``). Its handlers run
   inside the delivery of a watch event -- they never call the API server; they
   only decide *which object needs a look* and add its key to the queue.
2. A :class:`WorkQueue` holds each key at most once, however many events named
   it: ten pod events for one ReplicaSet become one sync.
3. A worker (a SimPy process) takes keys off the queue and calls the
   controller's ``sync(key)``, which reads the cache, compares what is with
   what should be, and calls the API server to close the gap. A sync that fails
   with an API error is retried later, waiting longer each time
   (``workqueue.DefaultControllerRateLimiter``: 5ms doubling up to 1000s).

A sync that fails *unexpectedly* -- a ``TypeError`` on an object shaped in a way
nobody planned for, i.e. a bug -- is a failed sync too: logged with its
traceback, recorded as ``SyncPanicked`` (so tests can insist there are none)
and retried like any other. Upstream a panic in a worker is caught by
``utilruntime.HandleCrash`` ("Observed a panic"), which then crashes
kube-controller-manager on purpose (``ReallyCrash``) so that it restarts
afresh; here there is nothing to restart, so the worker goes on, and one bad
object costs its own key, never the controller.

The informer is the scheduler's (kubelearn/scheduler/informer.py): one informer
for every component, as client-go has one. Inside the controller manager the
controllers *share* informers (:class:`SharedInformerFactory`, client-go's
``SharedInformerFactory``): one pod informer -- one watch, one cache of every
pod -- hands each change to the ReplicaSet controller, the taint eviction
controller, the garbage collector and the rest. Ten controllers, one copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from typing import Any

import simpy

from kubelearn.api import StatusError
from kubelearn.client import Client
from kubelearn.scheduler.informer import Informer, object_key
from kubelearn.sim import Simulation

__all__ = ["Informer", "SharedInformerFactory", "SyncError", "WorkQueue", "handle_crash",
           "object_key"]

log = logging.getLogger(__name__)

# client-go workqueue.DefaultItemBasedRateLimiter: NewItemExponentialFailureRateLimiter(5ms, 1000s)
RETRY_BASE_DELAY = 0.005
RETRY_MAX_DELAY = 1000.0


class SharedInformerFactory:
    """One informer per resource for everyone who asks (informers.SharedInformerFactory).

    ``factory.informer("pods").add_event_handler(...)`` in a controller's
    constructor; ``factory.start()`` once they are all built lists and watches
    each resource, in the order they were first asked for. An informer asked
    for after the start starts at once; a handler added to a running informer
    first gets the cached objects as adds (as client-go's does).
    """

    def __init__(self, sim: Simulation, client: Client) -> None:
        self.sim = sim
        self.client = client
        self.informers: dict[str, Informer] = {}
        self.started = False

    def __repr__(self) -> str:
        return f"SharedInformerFactory({', '.join(map(repr, self.informers.values()))})"

    def informer(self, resource: str) -> Informer:
        """The shared informer for ``resource`` (plural, e.g. ``"pods"``)."""
        informer = self.informers.get(resource)
        if informer is None:
            informer = self.informers[resource] = Informer(self.sim, self.client, resource)
            if self.started:
                informer.start()
        return informer

    def start(self) -> None:
        """Start every informer not yet running."""
        self.started = True
        for informer in list(self.informers.values()):
            if not informer.started:
                informer.start()


def handle_crash(sim: Simulation, component: str, obj: str, error: Exception,
                 doing: str = "") -> None:
    """utilruntime.HandleCrash, without the crash: log the traceback, record ``SyncPanicked``.

    For an exception nobody planned for (a bug, a malformed object) in one
    item of a controller's work; the caller goes on with the next item.
    """
    what = f"{doing}: " if doing else ""
    sim.record(component, "SyncPanicked", obj, f"{what}{type(error).__name__}: {error}")
    log.error("%s: Observed a panic: %s%s", component, what, obj, exc_info=error)


class SyncError(Exception):
    """A sync that failed for a reason of its own (a stale cache, a missing node): retry it."""


class WorkQueue:
    """Keys waiting for a sync, each at most once; one worker calls ``sync(key)`` for each.

    ``base_delay`` and ``max_delay`` shape the retry back-off (5ms doubling up to
    1000s unless a controller picks its own). ``max_retries``: after that many retries
    in a row a failing key is dropped until something adds it again, as the
    controllers' handleErr does with ``queue.NumRequeues(key) < maxRetries``; None
    retries for ever (the ReplicaSet controller, the garbage collector).
    """

    def __init__(self, sim: Simulation, name: str, sync: Callable[[str], Any], *,
                 base_delay: float = RETRY_BASE_DELAY, max_delay: float = RETRY_MAX_DELAY,
                 max_retries: int | None = None) -> None:
        self.sim = sim
        self.name = name  # the controller's name, for the records of failed syncs
        self.sync = sync
        self.base_delay = base_delay
        self.max_delay = max_delay
        self.max_retries = max_retries
        self._waiting: dict[str, None] = {}  # an ordered set: first added, first synced
        self._failures: dict[str, int] = {}
        self._wake: simpy.Event | None = None
        self._process: simpy.Process | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, key: str) -> None:
        """Ask for a sync of ``key`` (no-op if it is already waiting)."""
        if key in self._waiting:
            return
        self._waiting[key] = None
        if self._wake is not None and not self._wake.triggered:
            self._wake.succeed()

    def add_after(self, key: str, delay: float) -> None:
        """Ask for a sync of ``key`` in ``delay`` seconds."""
        self.sim.call_later(delay, lambda: self.add(key))

    def add_rate_limited(self, key: str) -> None:
        """Retry ``key`` later: 5ms, 10ms, 20ms... after each failure in a row."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        self.add_after(key, min(self.base_delay * 2 ** failures, self.max_delay))

    def forget(self, key: str) -> None:
        """The key synced fine: its next failure starts the back-off afresh."""
        self._failures.pop(key, None)

    def start(self) -> None:
        """Start the worker."""
        if self._process is None:
            self._process = self.sim.process(self._worker())

    def _worker(self) -> Generator[simpy.Event, Any, None]:
        while True:
            if not self._waiting:
                self._wake = self.sim.env.event()
                yield self._wake
                continue
            key = next(iter(self._waiting))
            del self._waiting[key]
            try:
                self.sync(key)
            except (StatusError, SyncError) as error:  # the API (or the sync) said no: later
                self.sim.record(self.name, "SyncFailed", key, str(error))
                log.info("%s: error syncing %s, retrying: %s", self.name, key, error)
                self.handle_err(key, error)
            except Exception as error:  # a bug, or an object nobody expected: log it, go on
                handle_crash(self.sim, self.name, key, error)
                self.handle_err(key, error)
            else:
                self.forget(key)

    def handle_err(self, key: str, error: Exception) -> None:
        """handleErr: retry under the rate limit, or drop the key after ``max_retries``."""
        if self.max_retries is None or self._failures.get(key, 0) < self.max_retries:
            self.add_rate_limited(key)
            return
        # "Retry budget exceeded, dropping service out of the queue" (endpointslice_controller.go)
        self.sim.record(self.name, "SyncDropped", key,
                        f"dropping {key} out of the queue after {self.max_retries} retries: "
                        f"{error}")
        log.error("%s: dropping %s out of the queue after %d retries: %s", self.name, key,
                  self.max_retries, error)
        self.forget(key)
