"""Probes: the kubelet asks each container "are you started? alive? ready?".

A container may declare three probes (pkg/kubelet/prober):

- ``startupProbe`` -- until it succeeds the other two do not run; if it fails
  ``failureThreshold`` times in a row the container is killed and restarted
  (``Container web failed startup probe, will be restarted``);
- ``livenessProbe`` -- ``failureThreshold`` failures in a row and the container
  is killed and restarted (``...failed liveness probe, will be restarted``);
- ``readinessProbe`` -- decides the container's ``ready``; an unready pod is
  taken out of its Services' endpoints but never restarted.

Each probe of each container has a worker (pkg/kubelet/prober/worker.go, v1.32),
started when the kubelet first syncs the pod -- before the image pull -- and kept
for the pod's life: it ticks every ``periodSeconds`` (default 10) from then, across
container restarts, after a random part of one period when the kubelet itself
started less than a period before. A tick probes only a running container, not
before ``initialDelaySeconds`` (default 0) after its start, and liveness and
readiness only once the startup probe has passed. A readiness probe also runs at
once whenever the pod's status is written while a started container is not ready
(``manualTriggerCh``): here at the container's start and when its startup probe
passes; the kubelet's periodic resync of each pod (every minute upstream, which
would trigger it too) is not modelled.
``successThreshold`` (1) successes in a row flip a probe to success,
``failureThreshold`` (3) failures to failure, and the count runs on across
restarts; a liveness or startup failure kills the container and starts the count
again. Each failure is a Warning ``Unhealthy`` event (``Readiness probe failed:
HTTP probe failed with statuscode: 503``). ``timeoutSeconds`` (1) does not matter here: a
simulated process answers at once or not at all. Before any result a
readiness probe counts as failed, a liveness probe as passed.

What a probe sees comes from the container's :class:`~kubelearn.kubelet.behaviour.Behaviour`:
nothing listens until ``startup-seconds``; readiness also waits for ``ready-after``
and fails after ``fail-readiness-after``; both fail after ``fail-liveness-after``.
A ``tcpSocket`` probe only sees whether something listens -- it cannot tell a
sick app from a healthy one, as in real life.

Probes that keep passing are not re-run while nothing can change: the next run
is the first tick after the process's next change of behaviour. The outcome is
the same as running every tick, with no timers for the thousands of healthy pods.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from kubelearn.kubelet.runtime import Container

STARTUP, LIVENESS, READINESS = "Startup", "Liveness", "Readiness"
SPEC_FIELDS = {STARTUP: "startupProbe", LIVENESS: "livenessProbe", READINESS: "readinessProbe"}
# SetDefaults_Probe, pkg/apis/core/v1/defaults.go (v1.32): the API server fills them in; these
# cover a probe stored without. initialDelaySeconds has no defaulter: Go's zero value, 0.
DEFAULTS = {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1,
            "successThreshold": 1, "failureThreshold": 3}


class Probe:
    """One probe of one running container: its schedule, its streak, its result."""

    __slots__ = ("kind", "spec", "period", "success_threshold", "failure_threshold", "origin",
                 "base", "next_at", "successes", "failures", "result")

    def __init__(self, kind: str, spec: Mapping[str, Any], started_at: float,
                 origin: float | None = None, streak: tuple[int, int] = (0, 0)) -> None:
        self.kind = kind
        self.spec = spec
        self.period = period(spec)
        get = lambda name: spec.get(name) if spec.get(name) is not None else DEFAULTS[name]  # noqa: E731
        self.success_threshold = int(get("successThreshold"))
        self.failure_threshold = int(get("failureThreshold"))
        # The worker's ticker: its first tick (the container's start if no worker is given).
        self.origin = started_at if origin is None else origin
        # worker.go doProbe: no probe while int(age) < initialDelaySeconds, an integer.
        self.base = started_at + float(get("initialDelaySeconds"))
        # A readiness probe runs at once when the started container's status is written.
        immediate = kind == READINESS and self.base <= started_at
        self.next_at = self.base if immediate else self.tick_after(self.base)
        self.successes, self.failures = streak  # the worker's run of results goes on
        # prober/worker.go initialValue: readiness starts failed, liveness passed, startup unknown.
        self.result: bool | None = {READINESS: False, LIVENESS: True, STARTUP: None}[kind]

    def __repr__(self) -> str:
        return f"Probe({self.kind}, result={self.result}, next={self.next_at:g})"

    def observe(self, ok: bool) -> bool:
        """Count one outcome; True if the probe's result changed."""
        before = self.result
        if ok:
            self.successes += 1
            self.failures = 0
            if self.successes >= self.success_threshold:
                self.result = True
        else:
            self.failures += 1
            self.successes = 0
            if self.failures >= self.failure_threshold:
                self.result = False
        return self.result != before

    def tick_after(self, moment: float) -> float:
        """The worker's first tick at or after ``moment``."""
        if moment <= self.origin:
            return self.origin
        if moment == math.inf:
            return math.inf
        return self.origin + math.ceil((moment - self.origin) / self.period - 1e-9) * self.period

    def next_tick(self, now: float) -> float:
        """The worker's first tick after ``now``."""
        return self.tick_after(now + 1e-6)

    def plan(self, now: float, ok: bool, container: Container) -> None:
        """Set the next run: the next tick, or -- passing steadily -- the next change."""
        if self.kind == STARTUP and self.result:
            self.next_at = math.inf  # worker.go: a startup probe stops once it succeeded
            return
        self.next_at = self.next_tick(now)
        if ok and self.result:
            age = container.age(now)
            ahead = [c for c in container.behaviour.changes() if c > age + 1e-9]
            moment = container.started_at + ahead[0] if ahead else math.inf
            self.next_at = max(self.next_at, self.tick_after(moment))


def period(spec: Mapping[str, Any]) -> float:
    """A probe's ``periodSeconds``, the default where it has none."""
    value = spec.get("periodSeconds")
    return float(value if value is not None else DEFAULTS["periodSeconds"]) or 10.0


def probes_for(container_spec: Mapping[str, Any], started_at: float,
               origins: Mapping[str, float] | None = None,
               streaks: Mapping[str, tuple[int, int]] | None = None) -> list[Probe]:
    """The probes a container declares, ready to run on their workers' tickers
    (``origins``, by kind), with the runs of results the workers have seen (``streaks``)."""
    out = []
    for kind in (STARTUP, LIVENESS, READINESS):
        spec = container_spec.get(SPEC_FIELDS[kind])
        if isinstance(spec, Mapping):
            out.append(Probe(kind, spec, started_at, (origins or {}).get(kind),
                             (streaks or {}).get(kind, (0, 0))))
    return out


def _port(spec: Mapping[str, Any], container_spec: Mapping[str, Any], handler: str) -> Any:
    """The probe's port; a named port is looked up in the container's ports."""
    port = (spec.get(handler) or {}).get("port")
    if isinstance(port, str) and not port.isdigit():
        for p in container_spec.get("ports") or ():
            if p.get("name") == port:
                return p.get("containerPort")
    return port


def check(probe: Probe, container: Container, container_spec: Mapping[str, Any], now: float,
          pod_ip: str) -> tuple[bool, str]:
    """Run a probe against the simulated process: ``(passed, output)``."""
    behaviour = container.behaviour
    age = container.age(now)
    spec = probe.spec
    listening = behaviour.listening(age)
    if probe.kind == READINESS:
        healthy = behaviour.ready(age)
    else:
        healthy = listening and behaviour.live(age)
    if "tcpSocket" in spec:
        port = _port(spec, container_spec, "tcpSocket")
        if listening:
            return True, ""
        return False, f"dial tcp {pod_ip}:{port}: connect: connection refused"
    if "exec" in spec:
        command = " ".join(str(w) for w in (spec.get("exec") or {}).get("command") or [])
        if healthy:
            return True, ""
        return False, f'command "{command}" exited with 1'  # the simulated command's output
    if "grpc" in spec:
        port = (spec.get("grpc") or {}).get("port")
        if healthy:
            return True, ""
        if not listening:
            return False, f'timeout: failed to connect service "{pod_ip}:{port}" within 1s'
        return False, 'service unhealthy (responded with "NOT_SERVING")'
    http = spec.get("httpGet") or {}
    port = _port(spec, container_spec, "httpGet")
    scheme = str(http.get("scheme") or "HTTP").lower()
    host = http.get("host") or pod_ip
    url = f"{scheme}://{host}:{port}{http.get('path') or '/'}"
    if healthy:
        return True, ""
    if not listening:
        return False, f'Get "{url}": dial tcp {host}:{port}: connect: connection refused'
    code = 500 if not behaviour.live(age) else 503
    return False, f"HTTP probe failed with statuscode: {code}"
