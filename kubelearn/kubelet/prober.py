"""Probes: the kubelet asks each container "are you started? alive? ready?".

A container may declare three probes (pkg/kubelet/prober):

- ``startupProbe`` -- until it succeeds the other two do not run; if it fails
  ``failureThreshold`` times in a row the container is killed and restarted
  (``Container web failed startup probe, will be restarted``);
- ``livenessProbe`` -- ``failureThreshold`` failures in a row and the container
  is killed and restarted (``...failed liveness probe, will be restarted``);
- ``readinessProbe`` -- decides the container's ``ready``; an unready pod is
  taken out of its Services' endpoints but never restarted.

A probe runs every ``periodSeconds`` (default 10) from ``initialDelaySeconds``
after the container started (default 0); ``successThreshold`` (1) successes
flip it to success, ``failureThreshold`` (3) failures to failure; each failure
is a Warning ``Unhealthy`` event (``Readiness probe failed: HTTP probe failed
with statuscode: 503``). ``timeoutSeconds`` (1) does not matter here: a
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

    __slots__ = ("kind", "spec", "period", "success_threshold", "failure_threshold", "base",
                 "next_at", "successes", "failures", "result")

    def __init__(self, kind: str, spec: Mapping[str, Any], started_at: float) -> None:
        self.kind = kind
        self.spec = spec
        get = lambda name: spec.get(name) if spec.get(name) is not None else DEFAULTS[name]  # noqa: E731
        self.period = float(get("periodSeconds")) or 10.0
        self.success_threshold = int(get("successThreshold"))
        self.failure_threshold = int(get("failureThreshold"))
        self.base = started_at + float(get("initialDelaySeconds"))
        self.next_at = self.base
        self.successes = 0
        self.failures = 0
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
        """The first tick of this probe's schedule at or after ``moment``."""
        if moment <= self.base:
            return self.base
        if moment == math.inf:
            return math.inf
        return self.base + math.ceil((moment - self.base) / self.period - 1e-9) * self.period

    def plan(self, now: float, ok: bool, container: Container) -> None:
        """Set the next run: one period on, or -- passing steadily -- the next change."""
        if self.kind == STARTUP and self.result:
            self.next_at = math.inf  # worker.go: a startup probe stops once it succeeded
            return
        self.next_at = now + self.period
        if ok and self.result:
            age = container.age(now)
            ahead = [c for c in container.behaviour.changes() if c > age + 1e-9]
            moment = container.started_at + ahead[0] if ahead else math.inf
            self.next_at = max(self.next_at, self.tick_after(moment))


def probes_for(container_spec: Mapping[str, Any], started_at: float) -> list[Probe]:
    """The probes a container declares, ready to run."""
    out = []
    for kind in (STARTUP, LIVENESS, READINESS):
        spec = container_spec.get(SPEC_FIELDS[kind])
        if isinstance(spec, Mapping):
            out.append(Probe(kind, spec, started_at))
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
